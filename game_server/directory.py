"""The directory: which game servers are alive, which rooms each hosts, and where each user plays.

Edge layer, like storage: the server is given a :class:`Directory` and never learns which one.

- :class:`LocalDirectory` keeps everything in this process. It is the default when
  ``GAME_REDIS_URL`` is unset: one server behaves exactly as before and needs no Redis.
- :class:`RedisDirectory` keeps it in Redis (``redis.asyncio``, hiredis parser), so several
  servers behave as one service. Each room lives on one server; Redis is only the directory and
  the event bus, PostgreSQL stays the source of truth. Everything here can be rebuilt from the
  servers' next heartbeats, except seats (see below).

Both implementations pass the same test suite (``tests/directory``).

Heartbeat and expiry
    Every server calls :meth:`Directory.beat` about once a second with its :class:`ServerInfo`
    and the summaries of the rooms it hosts. The server's entry is written with the TTL
    (``ttl``, default 5 s, i.e. about five missed beats), and its existence is what "live"
    means: readers ignore the rooms of a server whose entry expired, so a server that dies
    takes its rooms out of the lobby with it, with nobody having to clean up.

    A beat costs the same however many rooms the server hosts (docs/scaling.md measured the
    per-room cost as the heartbeat's largest): only the first ``ROOM_LIST_LIMIT`` summaries in
    lobby order are published (a merged room list never needs more of any one server), and
    only when they changed; a room's ``room:`` key is written when the room arrives and then
    every ``full_refresh`` seconds, with a TTL of several of those. A beat that finds its own
    entry gone (a Redis that lost its data, or this server was silent past the TTL) rewrites
    everything at once, so Redis is complete again one beat later.

Seats
    :meth:`Directory.claim_seat` records ``user -> room`` so that a user plays at one table at a
    time across all servers. The directory treats the room as an opaque string; the game
    servers (``game_server.hosting``) claim ``<room id>@<server id>`` before they seat anyone,
    and take over a claim they may override (their own room, a dead server's) with
    ``replacing``, atomically. Entries live ``seat_ttl`` (default 1 hour) after their last claim,
    so a crashed server cannot lock a user out for longer than that. A Redis restart forgets
    seats; the tables (and PostgreSQL) still know who plays where, and a server re-claims seats
    as players act.

Lobby-change notices
    A beat whose room summaries differ from the previous beat's, a beat that notices that another
    server has expired (its rooms just left the lobby), and :meth:`Directory.notify_lobby`
    publish one notice on one channel. Every directory's :meth:`Directory.on_lobby_change`
    callbacks run on its event loop for every notice, its own included. Notices are hints
    ("fetch the room list again"), not data: they carry nothing a callback needs, so a lost or
    duplicated notice costs a refresh at most. After the Redis subscription has been lost and
    restored, the callbacks run once, since notices may have been missed meanwhile.

Redis keys (``P`` is the constructor's ``prefix``, default ``"game:"``)

- ``P server:<server id>`` (string, PX ``ttl``): the :class:`ServerInfo` as JSON. Its
  existence is what "live" means.
- ``P rooms:<server id>`` (string, PX ``4 full_refresh``): that server's first
  ``ROOM_LIST_LIMIT`` room summaries in lobby order, a JSON array.
- ``P room:<room id>`` (string, PX ``4 full_refresh``): the id of the server hosting the room
  (trusted only while that server is live).
- ``P servers`` (sorted set, no TTL): server ids scored by the time of their last beat (in
  ms, Redis' own clock, so the servers' clocks do not matter); the index that ``servers()``
  and ``room_list()`` enumerate (no SCAN). Members silent for ``max(60 s, 12 ttl)`` are pruned
  by the next beat of any server.
- ``P seat:<user id>`` (string, PX ``seat_ttl``): the room the user plays in, as claimed
  (``<room id>@<server id>`` from game servers).
- ``P lobby`` (pub/sub channel): lobby-change notices; the payload (the publishing server's
  id, or empty) is informative only.

Liveness is decided by ``server:<id>`` alone (Redis' own expiry); the index only says which
keys to look at. A beat's writes (``server:``, ``rooms:`` when it changed, the new ``room:``
keys) go in one MULTI/EXEC, so readers never see a server without its rooms. A room that
leaves a server's beat has its ``room:`` key deleted only if it still names that server (a
compare-and-delete script), so a room handed over to another server is not unmapped. Seats are
claimed and released by Lua scripts on their one key, so two servers claiming the same user at
once cannot both win.

Redis Cluster: the beat's MULTI/EXEC spans several keys, so ``server:<id>`` and
``rooms:<id>`` would need a hash tag per server (``P server:{<id>}``, ``P rooms:{<id>}``),
and the ``room:<room id>`` keys and the ``servers`` index (all in other slots) would have to be
written outside that transaction; ``servers()``/``room_list()`` MGETs would be split per slot
by the cluster client. The seat scripts touch one key each and need nothing. The channel works
as is (or as a sharded channel with SPUBLISH).

Failure
    When Redis is unreachable, every :class:`RedisDirectory` call raises
    :class:`DirectoryUnavailable` within about ``2 * (connect_timeout + timeout)`` (one
    immediate retry, so a connection that went stale while Redis restarted is replaced
    transparently); a refused connection fails at once. Nothing needs restarting afterwards:
    the connection pool reconnects on the next call, and the subscription task retries with a
    backoff of up to one second.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import redis.asyncio
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from game_server.redis_subscription import UNAVAILABLE, subscribe_forever

__all__ = [
    "DEFAULT_PREFIX",
    "DEFAULT_SEAT_TTL",
    "DEFAULT_TTL",
    "ROOM_LIST_LIMIT",
    "Directory",
    "DirectoryUnavailable",
    "LocalDirectory",
    "LocalState",
    "RedisDirectory",
    "ServerInfo",
    "choose_server",
    "make_directory",
    "merge_room_lists",
]

log = logging.getLogger(__name__)

#: Seconds a heartbeat keeps a server (and its rooms) alive.
DEFAULT_TTL = 5.0
#: Seconds a seat claim lasts after the last claim.
DEFAULT_SEAT_TTL = 3600.0
#: Namespace of every Redis key and channel.
DEFAULT_PREFIX = "game:"
#: Most rooms a room list returns (as the lobby's own room list).
ROOM_LIST_LIMIT = 100
#: Lobby order: joinable rooms first, then watchable, then over. Unknown statuses go last.
STATUS_ORDER = {"waiting": 0, "playing": 1, "finished": 2}
#: Seconds between two beats that rewrite every ``room:`` key of a server.
DEFAULT_FULL_REFRESH = 30.0

#: Redis socket timeouts (seconds): a call on an unreachable Redis fails instead of hanging.
DEFAULT_CONNECT_TIMEOUT = 0.5
DEFAULT_TIMEOUT = 1.0
#: Index members silent this long are pruned (never less than 12 TTLs).
_PRUNE_AFTER = 60.0
#: A drain request (`game-server drain ID`) lapses after this long.
_DRAIN_TTL_MS = 600_000

LobbyCallback = Callable[[], None]


class DirectoryUnavailable(Exception):
    """The directory cannot be reached now (Redis down or silent). Retry later; nothing needs
    restarting.

    The call may or may not have taken effect (the reply can be what was lost). Every call is
    safe to repeat: a beat rewrites the server's whole state, and claiming the same room again
    only refreshes the claim.
    """


@dataclass(frozen=True)
class ServerInfo:
    """One game server as the directory sees it.

    `url` is the public SockJS base URL of that server (e.g. ``/g/game-2/sockjs``), which
    clients use to reach the room it hosts.
    """

    id: str
    url: str
    players: int
    rooms: int
    connections: int
    draining: bool = False

    @property
    def load(self) -> tuple[int, int, int]:
        """How busy the server is, to compare servers: smaller is less loaded.

        Compared as a tuple: players first (they cost moves, bots and fan-out), then rooms,
        then connections (spectators and lobby watchers are the cheapest). A tuple rather than
        one weighted number, so no count can ever outweigh a more important one.

        >>> ServerInfo("a", "/a", players=3, rooms=9, connections=9).load
        (3, 9, 9)
        """
        return (self.players, self.rooms, self.connections)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> ServerInfo:
        """Parse :meth:`to_json`'s output; fields this version does not know are ignored, so
        servers of two versions can share a directory during a rolling upgrade."""
        data = json.loads(text)
        names = {item.name for item in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in data.items() if name in names})


@runtime_checkable
class Directory(Protocol):
    """Where the game servers, their rooms and the users' seats are, shared by all servers.

    All methods but :meth:`on_lobby_change` are coroutines. Any of them may raise
    :class:`DirectoryUnavailable` (only :class:`RedisDirectory` does).
    """

    async def beat(self, info: ServerInfo, rooms: list[dict[str, Any]]) -> None:
        """The heartbeat, about once a second: (re)register `info` and publish the summaries of
        the rooms this server hosts, all for the directory's TTL.

        Each room summary is a dict with at least ``id``, ``status`` ("waiting", "playing" or
        "finished") and ``created`` (a float, newer is larger); the rest is passed on as is and
        must be JSON-serialisable. Records each room's host for :meth:`locate`. Publishes a
        lobby-change notice if the summaries differ from the previous beat's, or if another
        server has expired since.
        """
        ...

    async def servers(self) -> list[ServerInfo]:
        """The live servers (heartbeat not expired), in id order."""
        ...

    async def room_list(self, limit: int = ROOM_LIST_LIMIT) -> list[dict[str, Any]]:
        """At most `limit` room summaries from all live servers, each with ``"server"`` (its
        host's id) added, in lobby order: waiting, then playing, then finished; newest first
        (by ``created``) within each."""
        ...

    async def locate(self, room_id: str) -> str | None:
        """The id of the live server hosting the room, or None."""
        ...

    async def place(self, prefer: str) -> ServerInfo | None:
        """The least-loaded (:attr:`ServerInfo.load`) live server that is not draining, to host
        a new room; ties go to `prefer` (the server asking). None if there is none."""
        ...

    async def claim_seat(self, user_id: int, room_id: str,
                         replacing: str | None = None) -> str | None:
        """Atomically record that the user plays in `room_id`, unless they already play in
        another room (other than `replacing`, which this claim takes over): then return that
        room's id and change nothing. Returns None when the claim holds (claiming the same
        room again refreshes its expiry)."""
        ...

    async def release_seat(self, user_id: int, room_id: str) -> None:
        """Forget the user's seat if it is still in `room_id` (a newer claim elsewhere stays)."""
        ...

    async def update_seats(self, claims: Sequence[tuple[int, str]],
                           releases: Sequence[tuple[int, str]]) -> list[str | None]:
        """`release_seat` for each ``(user, room)`` of `releases`, then `claim_seat` for each
        of `claims`, in one round trip; returns the claims' results in order. Each claim and
        release is atomic on its own, not the batch."""
        ...

    async def seat_of(self, user_id: int) -> str | None:
        """The room the user plays in, or None."""
        ...

    def on_lobby_change(self, callback: LobbyCallback) -> None:
        """Run `callback()` on the event loop whenever any server publishes a lobby-change
        notice. Call it from the event loop's thread; listening starts at once if the loop
        runs, else with the next coroutine call. Exceptions from the callback are logged."""
        ...

    async def listening(self) -> None:
        """Wait until notices published from now on reach the callbacks (the subscription is
        established). Returns at once if no callback is registered. Waits as long as the
        directory is unreachable: use a timeout."""
        ...

    async def request_drain(self, server_id: str) -> None:
        """Ask the server `server_id` to drain (`game-server drain ID`); it sees the request at
        its next heartbeat. The request lapses after 10 minutes."""
        ...

    async def drain_requested(self, server_id: str) -> bool:
        """Whether someone asked `server_id` to drain."""
        ...

    async def notify_lobby(self) -> None:
        """Publish a lobby-change notice now (to every directory, this one included)."""
        ...

    async def close(self) -> None:
        """Stop background tasks and close connections. The directory is unusable afterwards;
        the server's entries expire on their own."""
        ...


# --- shared logic --------------------------------------------------------------------------


def merge_room_lists(per_server: Iterable[tuple[str, Sequence[dict[str, Any]]]],
                     limit: int = ROOM_LIST_LIMIT) -> list[dict[str, Any]]:
    """Merge each server's room summaries into one lobby-ordered list of at most `limit`.

    >>> merge_room_lists([("a", [{"id": "r1", "status": "playing", "created": 1.0}]),
    ...                   ("b", [{"id": "r2", "status": "waiting", "created": 0.0}])])
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'id': 'r2', 'status': 'waiting', 'created': 0.0, 'server': 'b'},
     {'id': 'r1', 'status': 'playing', 'created': 1.0, 'server': 'a'}]
    """
    rooms = [{**room, "server": server_id}
             for server_id, summaries in per_server for room in summaries]
    return lobby_first(rooms, limit)


def lobby_first(rooms: Iterable[dict[str, Any]], limit: int = ROOM_LIST_LIMIT
                ) -> list[dict[str, Any]]:
    """The first `limit` of `rooms` in lobby order: waiting, playing, finished; newest first.
    The order is total, so the first `limit` of each server's rooms hold the first `limit` of
    all of them: a server publishes no more than that."""
    ordered = sorted(rooms, key=lambda room: (
        STATUS_ORDER.get(room.get("status"), len(STATUS_ORDER)),
        -float(room.get("created") or 0.0)))
    return ordered[:max(limit, 0)]


def choose_server(servers: Iterable[ServerInfo], prefer: str) -> ServerInfo | None:
    """The least-loaded server that is not draining; ties go to `prefer`, then to the smaller
    id (so every server picks the same one)."""
    candidates = [server for server in servers if not server.draining]
    if not candidates:
        return None
    return min(candidates, key=lambda server: (server.load, server.id != prefer, server.id))


def _run_callbacks(callbacks: Sequence[LobbyCallback]) -> None:
    for callback in list(callbacks):
        try:
            callback()
        except Exception:
            # A subscriber's bug must not silence the others or stop the subscription.
            log.exception("lobby-change callback %r failed", callback)


# --- in-process ----------------------------------------------------------------------------


@dataclass
class LocalState:
    """The in-process stand-in for Redis. Directories given the same state see each other, as
    servers sharing one Redis do (tests use this for two "servers" in one process); they must
    share one clock too. Values are ``(value, expires at)``."""

    servers: dict[str, tuple[ServerInfo, float]] = dataclasses.field(default_factory=dict)
    rooms: dict[str, tuple[list[dict[str, Any]], float]] = dataclasses.field(
        default_factory=dict)
    hosts: dict[str, tuple[str, float]] = dataclasses.field(default_factory=dict)
    seats: dict[int, tuple[str, float]] = dataclasses.field(default_factory=dict)
    drains: dict[str, float] = dataclasses.field(default_factory=dict)
    listeners: list[LocalDirectory] = dataclasses.field(default_factory=list)

    def sweep(self, now: float) -> None:
        """Drop everything expired at `now` (Redis does this by itself)."""
        for table in (self.servers, self.rooms, self.hosts, self.seats):
            for key in [key for key, (_, expires) in table.items() if expires <= now]:
                del table[key]


class LocalDirectory:
    """The directory of one process: dicts with expiry times from an injectable clock.

    Never raises :class:`DirectoryUnavailable`. Coroutines never suspend, so every call is
    atomic with respect to the others on the loop.
    """

    def __init__(self, *, ttl: float = DEFAULT_TTL, seat_ttl: float = DEFAULT_SEAT_TTL,
                 clock: Callable[[], float] = time.monotonic,
                 state: LocalState | None = None) -> None:
        self._ttl = ttl
        self._seat_ttl = seat_ttl
        self._clock = clock
        self._state = LocalState() if state is None else state
        self._callbacks: list[LobbyCallback] = []
        self._last_rooms: list[dict[str, Any]] = []
        self._hosted: set[str] = set()
        self._live: set[str] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"LocalDirectory(ttl={self._ttl!r}, seat_ttl={self._seat_ttl!r})"

    def _alive(self, entry: tuple[Any, float] | None) -> Any:
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the directory is closed")

    async def beat(self, info: ServerInfo, rooms: list[dict[str, Any]]) -> None:
        self._check_open()
        state = self._state
        now = self._clock()
        state.sweep(now)
        expires = now + self._ttl
        summaries = [dict(room) for room in lobby_first(rooms)]
        room_ids = {room["id"] for room in rooms}
        state.servers[info.id] = (info, expires)
        state.rooms[info.id] = (summaries, expires)
        for room_id in room_ids:
            state.hosts[room_id] = (info.id, expires)
        for room_id in self._hosted - room_ids:
            if self._alive(state.hosts.get(room_id)) == info.id:
                del state.hosts[room_id]
        self._hosted = room_ids
        live = set(state.servers)
        lost = self._live is not None and bool(self._live - live)
        self._live = live
        changed = summaries != self._last_rooms
        self._last_rooms = summaries
        if changed or lost:
            self._publish()

    async def servers(self) -> list[ServerInfo]:
        self._check_open()
        found = (self._alive(entry) for entry in self._state.servers.values())
        return sorted((info for info in found if info is not None), key=lambda info: info.id)

    async def room_list(self, limit: int = ROOM_LIST_LIMIT) -> list[dict[str, Any]]:
        self._check_open()
        state = self._state
        per_server = [(server_id, self._alive(state.rooms.get(server_id)) or [])
                      for server_id, entry in state.servers.items() if self._alive(entry)]
        return merge_room_lists(per_server, limit)

    async def locate(self, room_id: str) -> str | None:
        self._check_open()
        server_id = self._alive(self._state.hosts.get(room_id))
        if server_id is None or self._alive(self._state.servers.get(server_id)) is None:
            return None
        return server_id

    async def place(self, prefer: str) -> ServerInfo | None:
        return choose_server(await self.servers(), prefer)

    async def claim_seat(self, user_id: int, room_id: str,
                         replacing: str | None = None) -> str | None:
        self._check_open()
        current = self._alive(self._state.seats.get(user_id))
        if current is not None and current not in (room_id, replacing):
            return current
        self._state.seats[user_id] = (room_id, self._clock() + self._seat_ttl)
        return None

    async def release_seat(self, user_id: int, room_id: str) -> None:
        self._check_open()
        if self._alive(self._state.seats.get(user_id)) == room_id:
            del self._state.seats[user_id]

    async def update_seats(self, claims: Sequence[tuple[int, str]],
                           releases: Sequence[tuple[int, str]]) -> list[str | None]:
        for user_id, room_id in releases:
            await self.release_seat(user_id, room_id)
        return [await self.claim_seat(user_id, room_id) for user_id, room_id in claims]

    async def seat_of(self, user_id: int) -> str | None:
        self._check_open()
        return self._alive(self._state.seats.get(user_id))

    def on_lobby_change(self, callback: LobbyCallback) -> None:
        self._check_open()
        self._callbacks.append(callback)
        if self not in self._state.listeners:
            self._state.listeners.append(self)

    async def listening(self) -> None:
        self._check_open()

    async def notify_lobby(self) -> None:
        self._check_open()
        self._publish()

    async def request_drain(self, server_id: str) -> None:
        self._check_open()
        self._state.drains[server_id] = self._clock() + _DRAIN_TTL_MS / 1000

    async def drain_requested(self, server_id: str) -> bool:
        self._check_open()
        return self._alive((True, self._state.drains.get(server_id, 0.0))) is True

    def _publish(self) -> None:
        # Like a Redis notice, callbacks run later on the loop, never inside the caller's call.
        loop = asyncio.get_running_loop()
        for directory in self._state.listeners:
            loop.call_soon(directory._deliver)

    def _deliver(self) -> None:
        if not self._closed:
            _run_callbacks(self._callbacks)

    async def close(self) -> None:
        self._closed = True
        self._callbacks.clear()
        with contextlib.suppress(ValueError):
            self._state.listeners.remove(self)


# --- Redis ---------------------------------------------------------------------------------

#: Returns the room the user already plays in, or nil after claiming (or refreshing) the seat;
#: a claim of ARGV[3] (if given) is taken over.
_CLAIM_SEAT = """
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] and current ~= ARGV[3] then
    return current
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"""

#: Adds ARGV[1] to the index scored by Redis' clock (ms), prunes members silent for ARGV[2] ms,
#: and returns the members left.
_INDEX = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""

#: Deletes the key if it still holds ARGV[1]: releasing a seat, unmapping a room that left.
_DELETE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

#: What "Redis is unreachable" looks like from redis-py (the subscription's definition).
_UNAVAILABLE = UNAVAILABLE


class RedisDirectory:
    """The directory in Redis, shared by every server that uses the same URL and prefix.

    Nothing connects until the first call; the constructor never fails on an unreachable Redis.
    """

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *,
                 prefix: str = DEFAULT_PREFIX, ttl: float = DEFAULT_TTL,
                 seat_ttl: float = DEFAULT_SEAT_TTL,
                 connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
                 timeout: float = DEFAULT_TIMEOUT,
                 full_refresh: float = DEFAULT_FULL_REFRESH) -> None:
        self._prefix = prefix
        self._ttl_ms = max(1, round(ttl * 1000))
        self._full_refresh = full_refresh
        # `rooms:` and `room:` keys outlive several full refreshes; readers trust them only
        # while the server's own entry is alive.
        self._keep_ms = max(self._ttl_ms, round(4 * full_refresh * 1000))
        self._refreshed_at: float | None = None
        self._seat_ttl_ms = max(1, round(seat_ttl * 1000))
        self._prune_ms = round(max(_PRUNE_AFTER, 12 * ttl) * 1000)
        self._timeout = timeout
        # redis-py 8's default retries 10 times with backoff up to 10 s, which is what
        # "hanging" looks like to a player; one immediate retry only replaces a stale pooled
        # connection (Redis restarted) before failing.
        # RESP2: redis-py 8.1 with RESP3 and decoded responses parses the PONG a subscribed
        # connection gets as a message of type "P"; with RESP2 it is a "pong" message.
        self._redis = redis.asyncio.Redis.from_url(
            url, decode_responses=True, protocol=2, socket_connect_timeout=connect_timeout,
            socket_timeout=timeout, retry=Retry(NoBackoff(), 1))
        options = self._redis.connection_pool.connection_kwargs
        # For messages: never the URL, which may hold a password.
        self._where = (options.get("path")
                       or f"{options.get('host', '?')}:{options.get('port', '?')}")
        self._claim_seat = self._redis.register_script(_CLAIM_SEAT)
        self._delete_if = self._redis.register_script(_DELETE_IF)
        self._channel = prefix + "lobby"
        self._callbacks: list[LobbyCallback] = []
        self._reader: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._last_rooms: list[dict[str, Any]] = []
        self._hosted: set[str] = set()
        self._live: set[str] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"RedisDirectory({self._where!r}, prefix={self._prefix!r})"

    # Key names: see the module docstring.
    def _server_key(self, server_id: str) -> str:
        return f"{self._prefix}server:{server_id}"

    def _rooms_key(self, server_id: str) -> str:
        return f"{self._prefix}rooms:{server_id}"

    def _room_key(self, room_id: str) -> str:
        return f"{self._prefix}room:{room_id}"

    def _seat_key(self, user_id: int) -> str:
        return f"{self._prefix}seat:{int(user_id)}"

    @property
    def _index_key(self) -> str:
        return self._prefix + "servers"

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Check the directory is open, start listening if needed, and turn Redis' failures
        into DirectoryUnavailable."""
        if self._closed:
            raise RuntimeError("the directory is closed")
        self._start_listening()
        try:
            yield
        except _UNAVAILABLE as error:
            raise DirectoryUnavailable(f"Redis at {self._where} is unavailable: {error}") \
                from error

    async def _live_ids(self, candidates: list[str]) -> list[str]:
        """The ids among `candidates` whose heartbeat has not expired."""
        if not candidates:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for server_id in candidates:
                pipe.exists(self._server_key(server_id))
            found = await pipe.execute()
        return [server_id for server_id, exists in zip(candidates, found) if exists]

    async def beat(self, info: ServerInfo, rooms: list[dict[str, Any]]) -> None:
        with self._guard():
            summaries = [dict(room) for room in lobby_first(rooms)]
            room_ids = {room["id"] for room in rooms}
            now = time.monotonic()
            full = (self._refreshed_at is None
                    or now - self._refreshed_at >= self._full_refresh)
            try:
                results = await self._write_beat(info, summaries, room_ids, full)
                if results[0] is None and not full:
                    # This server's entry was gone: Redis lost its data, or this server was
                    # silent past the TTL. Everything again, now.
                    full = True
                    results = await self._write_beat(info, summaries, room_ids, full)
            except BaseException:
                self._refreshed_at = None  # what was written is unknown: all of it next time
                raise
            if full:
                self._refreshed_at = now
            self._hosted = room_ids
            live = set(await self._live_ids(results[-1]))
            lost = self._live is not None and bool(self._live - live)
            self._live = live
            changed = summaries != self._last_rooms
            if changed or lost:
                await self._redis.publish(self._channel, info.id)
            # Only after the notice went out: a failed beat publishes on the next one.
            self._last_rooms = summaries

    async def _write_beat(self, info: ServerInfo, summaries: list[dict[str, Any]],
                          room_ids: set[str], full: bool) -> list[Any]:
        """One MULTI/EXEC: the server's entry (its previous value first in the results), its
        summaries when they changed, the `room:` keys of rooms new here (all when `full`), the
        compare-and-delete of rooms gone, and the index (its members last)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._server_key(info.id), info.to_json(), px=self._ttl_ms, get=True)
            if full or summaries != self._last_rooms:
                pipe.set(self._rooms_key(info.id), json.dumps(summaries, separators=(",", ":")),
                         px=self._keep_ms)
            for room_id in (room_ids if full else room_ids - self._hosted):
                pipe.set(self._room_key(room_id), info.id, px=self._keep_ms)
            # EVAL, not EVALSHA: short scripts, and no NOSCRIPT inside MULTI after a
            # Redis restart.
            for room_id in self._hosted - room_ids:
                pipe.eval(_DELETE_IF, 1, self._room_key(room_id), info.id)
            pipe.eval(_INDEX, 1, self._index_key, info.id, self._prune_ms)
            return await pipe.execute()

    async def servers(self) -> list[ServerInfo]:
        with self._guard():
            ids = await self._redis.zrange(self._index_key, 0, -1)
            if not ids:
                return []
            values = await self._redis.mget([self._server_key(server_id) for server_id in ids])
            found = [ServerInfo.from_json(value) for value in values if value is not None]
            return sorted(found, key=lambda info: info.id)

    async def room_list(self, limit: int = ROOM_LIST_LIMIT) -> list[dict[str, Any]]:
        with self._guard():
            ids = await self._redis.zrange(self._index_key, 0, -1)
            if not ids:
                return []
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.mget([self._server_key(server_id) for server_id in ids])
                pipe.mget([self._rooms_key(server_id) for server_id in ids])
                infos, room_lists = await pipe.execute()
            per_server = [(server_id, json.loads(summaries))
                          for server_id, info, summaries in zip(ids, infos, room_lists)
                          if info is not None and summaries is not None]
            return merge_room_lists(per_server, limit)

    async def locate(self, room_id: str) -> str | None:
        with self._guard():
            server_id = await self._redis.get(self._room_key(room_id))
            if server_id is None or not await self._redis.exists(self._server_key(server_id)):
                return None
            return server_id

    async def place(self, prefer: str) -> ServerInfo | None:
        return choose_server(await self.servers(), prefer)

    async def claim_seat(self, user_id: int, room_id: str,
                         replacing: str | None = None) -> str | None:
        with self._guard():
            # (A room id is never empty: "" replaces nothing.)
            return await self._claim_seat(keys=[self._seat_key(user_id)],
                                          args=[room_id, self._seat_ttl_ms, replacing or ""])

    async def release_seat(self, user_id: int, room_id: str) -> None:
        with self._guard():
            await self._delete_if(keys=[self._seat_key(user_id)], args=[room_id])

    async def update_seats(self, claims: Sequence[tuple[int, str]],
                           releases: Sequence[tuple[int, str]]) -> list[str | None]:
        # One pipeline: Redis runs a script in about 5 µs of its CPU when pipelined, 40 µs
        # one call at a time (docs/scaling.md).
        if not claims and not releases:
            return []
        with self._guard():
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id, room_id in releases:
                    await self._delete_if(keys=[self._seat_key(user_id)], args=[room_id],
                                          client=pipe)
                for user_id, room_id in claims:
                    await self._claim_seat(keys=[self._seat_key(user_id)],
                                           args=[room_id, self._seat_ttl_ms, ""], client=pipe)
                results = await pipe.execute()
            return [result or None for result in results[len(releases):]]

    async def seat_of(self, user_id: int) -> str | None:
        with self._guard():
            return await self._redis.get(self._seat_key(user_id))

    async def notify_lobby(self) -> None:
        with self._guard():
            await self._redis.publish(self._channel, "")

    async def request_drain(self, server_id: str) -> None:
        with self._guard():
            await self._redis.set(f"{self._prefix}drain:{server_id}", "1", px=_DRAIN_TTL_MS)

    async def drain_requested(self, server_id: str) -> bool:
        with self._guard():
            return bool(await self._redis.exists(f"{self._prefix}drain:{server_id}"))

    # --- the subscription ---------------------------------------------------------------

    def on_lobby_change(self, callback: LobbyCallback) -> None:
        if self._closed:
            raise RuntimeError("the directory is closed")
        self._callbacks.append(callback)
        self._start_listening()

    async def listening(self) -> None:
        with self._guard():
            if self._reader is not None:
                await self._subscribed.wait()

    def _start_listening(self) -> None:
        """One subscription per directory, however many callbacks; it needs a running loop."""
        if self._reader is not None or not self._callbacks or self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._reader = loop.create_task(self._listen(), name=f"{self!r} lobby subscription")

    async def _listen(self) -> None:
        """Read lobby-change notices until cancelled; resubscribe after any failure. Notices
        published during an outage are lost: the callbacks run once when it ends."""
        await subscribe_forever(
            self._redis, channels=[self._channel],
            on_message=lambda message: _run_callbacks(self._callbacks),
            subscribed=self._subscribed, what="lobby subscription", where=self._where,
            timeout=self._timeout, logger=log,
            on_restored=lambda: _run_callbacks(self._callbacks))

    async def close(self) -> None:
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        self._subscribed.clear()
        await self._redis.aclose()


def make_directory(redis_url: str | None = None, **options: Any) -> Directory:
    """The directory for a ``GAME_REDIS_URL`` value: :class:`RedisDirectory` if it is set,
    else :class:`LocalDirectory`. `options` are passed on (``ttl``, ``seat_ttl``, and for Redis
    ``prefix``, ``connect_timeout``, ``timeout``)."""
    if redis_url:
        return RedisDirectory(redis_url, **options)
    local = {name: value for name, value in options.items() if name in ("ttl", "seat_ttl")}
    return LocalDirectory(**local)
