"""The four load modes: fixed, ramp, idle and storm. Each returns a plain dict of results.

Every mode starts its target itself (bench.targets), drives it from this process (pinned to
the generator's core) and stops it. All loops are bounded: each step has a deadline, and a run
ends after its duration (or the ramp's last step) whatever the server does.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from dataclasses import dataclass
from typing import Any

from bench import targets
from bench.load import EchoPlayer, GamePlayer, Run, Table, Window
from bench.wire import TRANSPORTS

HOST = "127.0.0.1"


@dataclass
class Options:
    target: str = "game"
    mode: str = "fixed"
    clients: int = 1000
    seats: int = 4
    pace: float = 2.0
    duration: float = 20.0
    transport: str = "websocket"
    warmup: float = 3.0
    # ramp
    start_rate: float = 2000.0
    step_factor: float = 1.3
    step_seconds: float = 5.0
    drain: float = 2.0
    max_rate: float = 200_000.0
    p99_limit_ms: float = 50.0
    min_delivery: float = 0.95
    # setup
    setup_concurrency: int = 100
    connect_timeout: float = 30.0
    server_cpu: int | None = 0
    generator_cpu: int | None = 1
    database_url: str | None = None
    profile: str | None = None  # fixed mode: py-spy raw (collapsed) stacks of the server
    quiet: bool = False

    def transport_for(self, index: int) -> str:
        """The transport of the index-th connection: `mixed` cycles through all three."""
        if self.transport == "mixed":
            return TRANSPORTS[index % len(TRANSPORTS)]
        return self.transport

    def log(self, text: str) -> None:
        if not self.quiet:
            print(f"[bench {self.target} {self.mode}] {text}", flush=True)


def loadavg() -> float | None:
    """The machine's 1-minute load average: other work on a shared machine shows here."""
    try:
        with open("/proc/loadavg") as file:
            return float(file.read().split()[0])
    except OSError:
        return None


def percentile(sorted_values: Any, fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (nan when empty)."""
    if not len(sorted_values):
        return math.nan
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def summarize(window: Window) -> dict[str, Any]:
    values = sorted(window.latencies)
    seconds = max(1e-9, window.closed_at - window.opened_at)
    achieved = window.states / seconds
    result = {
        "label": window.label,
        "seconds": round(seconds, 2),
        "target_rate": round(window.target_rate, 1) if window.target_rate else None,
        "moves": window.moves,
        "states": window.states,
        "state_msgs_per_s": round(achieved, 1),
        "delivery": round(achieved / window.target_rate, 4) if window.target_rate else None,
        "mean_state_bytes": round(window.state_bytes / window.states) if window.states else 0,
        "samples": len(values),
        "p50_ms": round(percentile(values, 0.50) * 1000, 2),
        "p90_ms": round(percentile(values, 0.90) * 1000, 2),
        "p99_ms": round(percentile(values, 0.99) * 1000, 2),
        "max_ms": round(values[-1] * 1000, 2) if values else math.nan,
        "lost": window.lost,
        "errors": dict(window.errors),
        "server_cpu": round(window.server_cpu, 3),
        "generator_cpu": round(window.generator_cpu, 3),
        "server_rss_mb": round(window.server_rss_max / 2**20, 1),
    }
    return result


class Meter:
    """Server and generator CPU over a window, and the server's peak RSS while it is open."""

    def __init__(self, server: targets.Server) -> None:
        self.stats = server.stats
        self.rss_max = 0
        self._task: asyncio.Task | None = None

    def begin(self, window: Window) -> None:
        window.opened_at = time.perf_counter()
        self._server0 = self.stats.cpu_seconds()
        self._generator0 = time.process_time()
        self.rss_max = self.stats.rss_bytes()
        self._task = asyncio.ensure_future(self._sample())

    async def _sample(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            self.rss_max = max(self.rss_max, self.stats.rss_bytes())

    def end(self, window: Window) -> None:
        window.closed_at = time.perf_counter()
        seconds = window.closed_at - window.opened_at
        window.server_cpu = (self.stats.cpu_seconds() - self._server0) / seconds
        window.generator_cpu = (time.process_time() - self._generator0) / seconds
        self.rss_max = max(self.rss_max, self.stats.rss_bytes())
        window.server_rss_max = self.rss_max
        if self._task is not None:
            self._task.cancel()


# --- setting up tables -------------------------------------------------------------------

async def _bounded(coroutines: list, limit: int) -> list:
    semaphore = asyncio.Semaphore(limit)

    async def one(coroutine: Any) -> Any:
        async with semaphore:
            return await coroutine

    return await asyncio.gather(*(one(c) for c in coroutines), return_exceptions=True)


async def _game_table(run: Run, table: Table, tokens: list[str], options: Options,
                      server: targets.Server) -> None:
    players = [GamePlayer(run, token) for token in tokens]
    table.players = players
    for player in players:
        player.table = table
    owner, others = players[0], players[1:]
    timeout = options.connect_timeout
    await asyncio.wait_for(owner.connect(options.transport_for(0), HOST, server.port,
                                         server.prefix), timeout)
    await asyncio.wait_for(owner.auth(), timeout)
    state = await asyncio.wait_for(owner.request(
        {"msg": "create", "game": "crazy_eights", "name": table.name, "seats": options.seats}),
        timeout)
    table.room = state["room"]

    async def sit(player: GamePlayer, seat: int) -> None:
        await player.connect(options.transport_for(seat), HOST, server.port, server.prefix)
        await player.auth()
        await player.request({"msg": "join", "room": table.room})

    # One at a time, so each player's first state is its own join (no gaps to explain).
    for seat, player in enumerate(others, 1):
        await asyncio.wait_for(sit(player, seat), timeout)


async def _echo_table(run: Run, table: Table, options: Options, server: targets.Server) -> None:
    players = [EchoPlayer(run, table, seat) for seat in range(options.seats)]
    table.players = players
    table.room = table.name
    for seat, player in enumerate(players):
        await asyncio.wait_for(
            player.connect(options.transport_for(seat), HOST, server.port, server.prefix),
            options.connect_timeout)
        await asyncio.wait_for(player.join(), options.connect_timeout)
    # The peer has no game: seat 0 moves first.
    table.schedule(players[0], 1)


async def seat_everyone(run: Run, options: Options, server: targets.Server) -> dict[str, Any]:
    """Connect, authenticate and seat every client; returns setup figures."""
    count = options.clients // options.seats
    started = time.perf_counter()
    jobs = []
    for index in range(count):
        table = Table(run, f"bench-{index:05d}")
        run.tables.append(table)
        if server.target == "game":
            tokens = server.tokens[index * options.seats:(index + 1) * options.seats]
            jobs.append(_game_table(run, table, tokens, options, server))
        else:
            jobs.append(_echo_table(run, table, options, server))
    results = await _bounded(jobs, options.setup_concurrency)
    failures = [r for r in results if isinstance(r, BaseException)]
    seconds = time.perf_counter() - started
    if failures:
        kinds: dict[str, int] = {}
        for failure in failures:
            key = f"{type(failure).__name__}: {failure}"[:120]
            kinds[key] = kinds.get(key, 0) + 1
        raise RuntimeError(f"{len(failures)} of {count} tables could not be set up: {kinds}")
    options.log(f"{count} tables of {options.seats} seated in {seconds:.1f} s")
    return {"tables": count, "clients": count * options.seats, "setup_seconds": round(seconds, 1)}


def _close_all(run: Run) -> None:
    for table in run.tables:
        for player in table.players:
            player.close()


# --- fixed and ramp ----------------------------------------------------------------------

async def _measure(run: Run, meter: Meter, label: str, rate: float, seconds: float,
                   drain: float) -> dict[str, Any]:
    window = Window(label, rate)
    run.window = window
    meter.begin(window)
    await asyncio.sleep(seconds)
    meter.end(window)
    run.window = None
    # States of moves sent in the window keep arriving for a little while; what has not
    # arrived `drain` seconds after the window closed is counted lost.
    await asyncio.sleep(drain)
    run.sweep_lost(older_than=drain)
    return summarize(window)


def _members(run: Run) -> int:
    return sum(len(table.players) for table in run.tables)


async def fixed(options: Options) -> dict[str, Any]:
    server = await targets.start(options.target, clients=options.clients, cpu=options.server_cpu,
                                 database_url=options.database_url)
    run = Run(options.pace)
    try:
        setup = await seat_everyone(run, options, server)
        meter = Meter(server)
        rate = _members(run) / options.pace
        run.go()
        await asyncio.sleep(options.warmup)
        options.log(f"measuring {options.duration:.0f} s at pace {options.pace} s "
                    f"({rate:.0f} state msgs/s offered)")
        spy = _start_py_spy(server, options) if options.profile else None
        result = await _measure(run, meter, "fixed", rate, options.duration, drain=options.drain)
        if spy is not None:
            await asyncio.get_running_loop().run_in_executor(None, spy.wait)
            from bench.profile import top_entries
            result["profile"] = top_entries(options.profile)
        return _finish(run, server, options, setup, {"window": result})
    finally:
        run.going = False
        server.stop()
        _close_all(run)


def _start_py_spy(server: targets.Server, options: Options) -> Any:
    """py-spy samples the server (all threads, without stopping it) during the window."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(server.process.pid), "--duration",
         str(int(options.duration)), "--rate", "200", "--nonblocking", "--threads",
         "--format", "raw", "--output", options.profile],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def ramp(options: Options) -> dict[str, Any]:
    """Raise the offered rate by `step_factor` per step until p99 or delivery fails."""
    server = await targets.start(options.target, clients=options.clients, cpu=options.server_cpu,
                                 database_url=options.database_url)
    members = (options.clients // options.seats) * options.seats
    rate = options.start_rate
    run = Run(members / rate)
    steps: list[dict[str, Any]] = []
    try:
        setup = await seat_everyone(run, options, server)
        meter = Meter(server)
        run.go()
        await asyncio.sleep(options.warmup)
        best: dict[str, Any] | None = None
        retried = False
        while rate <= options.max_rate:
            window = Window(f"{rate:.0f}/s", rate)
            run.window = window
            meter.begin(window)
            await asyncio.sleep(options.step_seconds)
            meter.end(window)
            run.window = None
            # The tables go on at this pace while the window's last states drain. A failed
            # step is measured once more at the same rate before the ramp stops: on a shared
            # machine one stall of another process can spoil a single p99.
            await asyncio.sleep(options.drain)
            run.sweep_lost(older_than=options.drain)
            step = summarize(window)
            steps.append(step)
            ok = (step["p99_ms"] <= options.p99_limit_ms
                  and (step["delivery"] or 0) >= options.min_delivery
                  and not step["errors"] and not step["lost"])
            step["ok"] = ok
            options.log(f"offered {rate:8.0f}/s achieved {step['state_msgs_per_s']:8.0f}/s "
                        f"p50 {step['p50_ms']:6.1f} p99 {step['p99_ms']:7.1f} ms "
                        f"server cpu {step['server_cpu']:.2f} generator cpu "
                        f"{step['generator_cpu']:.2f} {'ok' if ok else 'LIMIT'}"
                        f"{' (again)' if retried else ''}")
            if not ok:
                if retried or step["errors"] or step["lost"]:
                    break
                retried = True
                continue
            retried = False
            best = step
            rate *= options.step_factor
            run.pace = members / rate
        extra = {
            "steps": steps,
            "max_sustained_msgs_per_s": best["state_msgs_per_s"] if best else 0.0,
            "best_step": best,
            "limit_step": steps[-1] if steps and steps[-1] is not best else None,
            "retried_steps": sum(1 for step in steps if not step["ok"]) - (
                1 if steps and not steps[-1]["ok"] else 0),
        }
        return _finish(run, server, options, setup, extra)
    finally:
        run.going = False
        server.stop()
        _close_all(run)


def _finish(run: Run, server: targets.Server, options: Options, setup: dict[str, Any],
            extra: dict[str, Any]) -> dict[str, Any]:
    result = {
        "target": options.target, "mode": options.mode, "transport": options.transport,
        "clients": setup["clients"], "seats": options.seats, **setup,
        "loadavg_end": loadavg(),
        "errors": dict(run.errors), "seq_gaps": run.seq_gaps,
        "closed_unexpectedly": run.closed_unexpectedly,
        "moves_total": run.moves_total, "states_total": run.states_total,
        "games_started": run.games_started, "games_finished": run.games_finished,
        "server_error_lines": len(server.error_lines()),
        **extra,
    }
    lines = server.error_lines()
    if lines:
        result["server_errors_sample"] = lines[:5]
    return result


# --- idle and storm ----------------------------------------------------------------------

async def _open_one(run: Run, server: targets.Server, options: Options, index: int) -> Any:
    """Open one connection and authenticate it (game) or join a room (peers)."""
    if server.target == "game":
        player = GamePlayer(run, server.tokens[index])
        await player.connect(options.transport_for(index), HOST, server.port, server.prefix)
        await player.auth()
    else:
        table = Table(run, f"idle-{index // options.seats:05d}")
        player = EchoPlayer(run, table, index % options.seats)
        await player.connect(options.transport_for(index), HOST, server.port, server.prefix)
        await player.join()
    return player


async def _open_many(run: Run, server: targets.Server, options: Options,
                     limit: int | None) -> tuple[list, list[float], dict[str, int], float]:
    loop = asyncio.get_running_loop()
    durations: list[float] = []
    failures: dict[str, int] = {}
    players: list = []
    semaphore = asyncio.Semaphore(limit) if limit else None

    async def one(index: int) -> None:
        if semaphore is not None:
            await semaphore.acquire()
        began = loop.time()
        try:
            player = await asyncio.wait_for(_open_one(run, server, options, index),
                                            options.connect_timeout)
        except Exception as error:  # a refusal, a reset, a timeout: counted, not raised
            key = "timeout" if isinstance(error, asyncio.TimeoutError) else \
                type(error).__name__
            failures[key] = failures.get(key, 0) + 1
        else:
            durations.append(loop.time() - began)
            players.append(player)
        finally:
            if semaphore is not None:
                semaphore.release()

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(options.clients)))
    return players, durations, failures, time.perf_counter() - started


async def idle(options: Options) -> dict[str, Any]:
    """Open N authenticated connections; memory per connection and time to open them."""
    server = await targets.start(options.target, clients=options.clients, cpu=options.server_cpu,
                                 database_url=options.database_url)
    run = Run(1.0)
    players: list = []
    try:
        await asyncio.sleep(1.0)
        stats = server.stats
        rss_before = stats.rss_bytes()
        cpu_before = stats.cpu_seconds()
        players, durations, failures, seconds = await _open_many(
            run, server, options, options.setup_concurrency)
        await asyncio.sleep(3.0)  # let buffers and lazy allocations settle
        rss_after = stats.rss_bytes()
        opened = len(players)
        durations.sort()
        result = {
            "target": options.target, "mode": "idle", "transport": options.transport,
            "loadavg_end": loadavg(),
            "clients": options.clients, "opened": opened, "failures": failures,
            "open_seconds": round(seconds, 2),
            "opens_per_s": round(opened / seconds, 1) if seconds else None,
            "open_p50_ms": round(percentile(durations, 0.5) * 1000, 1),
            "open_p99_ms": round(percentile(durations, 0.99) * 1000, 1),
            "server_rss_before_mb": round(rss_before / 2**20, 1),
            "server_rss_after_mb": round(rss_after / 2**20, 1),
            "kib_per_connection": round((rss_after - rss_before) / 1024 / opened, 2)
            if opened else None,
            "server_cpu_seconds": round(stats.cpu_seconds() - cpu_before, 2),
            "errors": dict(run.errors), "server_error_lines": len(server.error_lines()),
        }
        options.log(f"{opened}/{options.clients} open in {seconds:.1f} s, "
                    f"{result['kib_per_connection']} KiB per connection")
        return result
    finally:
        server.stop()
        for player in players:
            player.close()


async def storm(options: Options) -> dict[str, Any]:
    """N clients connect and authenticate all at once: time until all are in, refusals."""
    server = await targets.start(options.target, clients=options.clients, cpu=options.server_cpu,
                                 database_url=options.database_url)
    run = Run(1.0)
    players: list = []
    try:
        await asyncio.sleep(1.0)
        cpu_before = server.stats.cpu_seconds()
        generator_before = time.process_time()
        players, durations, failures, seconds = await _open_many(run, server, options, None)
        generator_seconds = time.process_time() - generator_before
        durations.sort()
        opened = len(players)
        result = {
            "target": options.target, "mode": "storm", "transport": options.transport,
            "loadavg_end": loadavg(),
            "clients": options.clients, "opened": opened,
            "refused": options.clients - opened, "failures": failures,
            "all_in_seconds": round(durations[-1], 2) if durations else None,
            "wall_seconds": round(seconds, 2),
            "open_p50_ms": round(percentile(durations, 0.5) * 1000, 1),
            "open_p99_ms": round(percentile(durations, 0.99) * 1000, 1),
            "server_cpu_seconds": round(server.stats.cpu_seconds() - cpu_before, 2),
            "generator_cpu_seconds": round(generator_seconds, 2),
            "server_rss_mb": round(server.stats.rss_bytes() / 2**20, 1),
            "errors": dict(run.errors), "server_error_lines": len(server.error_lines()),
        }
        options.log(f"{opened}/{options.clients} in after {result['all_in_seconds']} s; "
                    f"failures {failures}")
        return result
    finally:
        server.stop()
        for player in players:
            player.close()


MODES = {"fixed": fixed, "ramp": ramp, "idle": idle, "storm": storm}


def median_of(values: list[float]) -> float:
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(values) if values else math.nan
