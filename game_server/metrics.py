"""Prometheus metrics: what an operator watches on `/metrics`.

The protocol layer calls the few methods of `Metrics` (or of protocol.hub's `NoMetrics`, which
does nothing) on its hot path; each is a dictionary lookup and an addition. Gauges that would cost something
to keep up to date (rooms by status, send queues, the move log's commits) are computed only
when Prometheus scrapes.

Metrics:

| name | type | labels | meaning |
|---|---|---|---|
| `game_connections` | gauge | transport | open SockJS connections |
| `game_authenticated_connections` | gauge | | connections that signed in |
| `game_rooms` | gauge | status | rooms waiting, playing, finished |
| `game_moves_total` | counter | kind | accepted moves by game (`crazy_eights`, `hearts`; bots included) |
| `game_room_changes_total` | counter | | changes of any room (each one seq step) |
| `game_state_messages_total` | counter | | `state` messages sent |
| `game_move_seconds` | histogram | | from receiving a move to sending its state |
| `game_errors_total` | counter | code | `error` messages sent, by code |
| `game_send_queue_bytes` | gauge | stat (max, total) | bytes waiting to be sent, per connection (SockJS session queue and socket write buffer) |
| `game_send_queue_full_total` | counter | | connections closed because more than `max_output_bytes` waited for them |
| `game_commits_total` | counter | | move-log transactions committed |
| `game_commit_failures_total` | counter | | move-log transactions that failed |
| `game_committed_actions_total` | counter | | actions committed |
| `game_commit_seconds_total` | counter | | time spent committing |
| `game_commit_batch_actions` | gauge | stat (last, max_calls) | group-commit batch sizes |
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from game_server.protocol.hub import NoMetrics

#: Latency buckets in seconds: a move should reach every member within a few milliseconds.
MOVE_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


class Metrics(NoMetrics):
    """The server's metrics in their own registry (so tests can make several)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._connections = Gauge("game_connections", "Open SockJS connections",
                                  ["transport"], registry=r)
        self._authenticated = Gauge("game_authenticated_connections",
                                    "Connections that signed in", registry=r)
        self._moves = Counter("game_moves", "Accepted moves", ["kind"], registry=r)
        self._changes = Counter("game_room_changes", "Changes of any room", registry=r)
        self._states = Counter("game_state_messages", "state messages sent", registry=r)
        self._move_seconds = Histogram("game_move_seconds",
                                       "From receiving a move to sending its state",
                                       buckets=MOVE_BUCKETS, registry=r)
        self._errors = Counter("game_errors", "error messages sent", ["code"], registry=r)
        self._send_queue_full = Counter(
            "game_send_queue_full", "Connections closed because too much output waited for "
            "them", registry=r)
        self._by_transport: dict[str, Any] = {}
        self._by_code: dict[str, Any] = {}
        self._by_kind: dict[str, Any] = {}

    def watch(self, *, rooms: Callable[[], Iterable[str]] | None = None,
              send_queues: Callable[[], Iterable[int]] | None = None,
              commits: Callable[[], Any] | None = None) -> None:
        """Compute these at scrape time: room statuses, send-queue sizes, move-log stats."""
        self.registry.register(_ScrapeTime(rooms, send_queues, commits))

    def connection_opened(self, transport: str) -> None:
        self._gauge(transport).inc()

    def connection_closed(self, transport: str, authenticated: bool) -> None:
        self._gauge(transport).dec()
        if authenticated:
            self._authenticated.dec()

    def signed_in(self) -> None:
        self._authenticated.inc()

    def send_queue_full(self) -> None:
        """A connection was closed because its client did not read (transport/connection)."""
        self._send_queue_full.inc()

    def error(self, code: str) -> None:
        _child(self._by_code, self._errors, code).inc()

    def changes(self, count: int) -> None:
        self._changes.inc(count)

    def states_sent(self, count: int) -> None:
        self._states.inc(count)

    def moved(self, kind: str) -> None:
        _child(self._by_kind, self._moves, kind).inc()

    def move_seconds(self, seconds: float) -> None:
        self._move_seconds.observe(seconds)

    def _gauge(self, transport: str):
        return _child(self._by_transport, self._connections, transport or "?")


def _child(cache: dict[str, Any], metric: Any, label: str) -> Any:
    """The metric's child for `label`, looked up once (prometheus-client's `labels` is slow)."""
    child = cache.get(label)
    if child is None:
        child = cache[label] = metric.labels(label)
    return child


class _ScrapeTime:
    """A collector for what is cheaper to compute when scraped than to keep up to date."""

    def __init__(self, rooms, send_queues, commits) -> None:
        self._rooms, self._send_queues, self._commits = rooms, send_queues, commits

    def collect(self):
        if self._rooms is not None:
            counts = {"waiting": 0, "playing": 0, "finished": 0}
            for status in self._rooms():
                counts[status] = counts.get(status, 0) + 1
            family = GaugeMetricFamily("game_rooms", "Rooms by status", labels=["status"])
            for status, count in counts.items():
                family.add_metric([status], count)
            yield family
        if self._send_queues is not None:
            sizes = list(self._send_queues())
            family = GaugeMetricFamily("game_send_queue_bytes",
                                       "Bytes waiting to be sent, per connection", labels=["stat"])
            family.add_metric(["max"], max(sizes, default=0))
            family.add_metric(["total"], sum(sizes))
            yield family
        if self._commits is not None:
            stats = self._commits()
            yield CounterMetricFamily("game_commits", "Move-log transactions committed",
                                      value=stats.batches)
            yield CounterMetricFamily("game_commit_failures", "Move-log transactions failed",
                                      value=stats.failed_batches)
            yield CounterMetricFamily("game_committed_actions", "Actions committed",
                                      value=stats.actions)
            yield CounterMetricFamily("game_commit_seconds", "Time spent committing",
                                      value=stats.commit_seconds)
            family = GaugeMetricFamily("game_commit_batch_actions", "Group-commit batch sizes",
                                       labels=["stat"])
            family.add_metric(["last"], stats.last_batch_actions)
            family.add_metric(["max_calls"], stats.max_batch_calls)
            yield family

