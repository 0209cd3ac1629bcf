"""The load generator as one or several processes, and how their measurements are merged.

A mode (bench/modes.py) drives `Generators`: it seats tables, releases them, changes the pace,
parks tables, and measures windows. Behind it are `--generators N` shards, each a
`LocalGenerator` that owns a disjoint share of the tables (table `i` belongs to shard
`i % N`) and plays them on its own event loop:

- N = 1: the shard runs in this process, as the tool always did.
- N > 1: each shard is a worker process (multiprocessing, spawn) pinned to one of the cores
  the server does not use (round robin), driven over a pipe one command at a time. Commands
  that start something (release the tables, open a window) carry a wall-clock time a little
  ahead, so every process starts it at the same moment.

A window's results are merged exactly: the latency samples of all shards are concatenated
before percentiles are taken, counts and errors are summed, and the generator's CPU is kept
per process and as the busiest core's total (the sum of the processes pinned to it). When that
reaches `GENERATOR_LIMIT` of a core at the step that decides a result, the result says
`generator_limited`: the generator, not the server, may have been the limit.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.gc_log import summarize as summarize_gc
from bench.load import EchoPlayer, GamePlayer, Run, Table, Window
from bench.targets import Address, pin_self, raise_open_files

if TYPE_CHECKING:
    from bench.modes import Options

HOST = "127.0.0.1"

#: A generator process (or core) this busy, in cores, at the deciding step may be the limit.
GENERATOR_LIMIT = 0.8

#: Seconds ahead of now that a command to worker processes names as its common start.
_LEAD = 0.5

#: A table to seat: its global index and, for the game, the tokens of its seats.
TableSpec = tuple[int, "list[str] | None"]


def generator_cores(options: Options) -> list[int | None]:
    """The core each generator process is pinned to (None: not pinned).

    One process: `--generator-cpu`. Several: every core but the server's, round robin (all
    of them share the one core left on a two-core machine).
    """
    count = options.generators
    if options.generator_cpu is None:
        return [None] * count
    if count == 1:
        return [options.generator_cpu]
    cores = [core for core in range(os.cpu_count() or 1) if core != options.server_cpu]
    cores = cores or [options.generator_cpu]
    return [cores[index % len(cores)] for index in range(count)]


# --- one shard -----------------------------------------------------------------------------

async def _bounded(coroutines: list, limit: int) -> list:
    semaphore = asyncio.Semaphore(max(1, limit))

    async def one(coroutine: Any) -> Any:
        async with semaphore:
            return await coroutine

    return await asyncio.gather(*(one(c) for c in coroutines), return_exceptions=True)


async def _game_table(table: Table, tokens: list[str], options: Options,
                      address: Address) -> None:
    run = table.run
    players = [GamePlayer(run, token) for token in tokens]
    table.players = players
    for player in players:
        player.table = table
    owner, others = players[0], players[1:]
    timeout = options.connect_timeout
    await asyncio.wait_for(owner.connect(options.transport_for(0), HOST, address.port,
                                         address.prefix), timeout)
    await asyncio.wait_for(owner.auth(), timeout)
    state = await asyncio.wait_for(owner.request(
        {"msg": "create", "game": "crazy_eights", "name": table.name, "seats": options.seats}),
        timeout)
    table.room = state["room"]

    async def sit(player: GamePlayer, seat: int) -> None:
        await player.connect(options.transport_for(seat), HOST, address.port, address.prefix)
        await player.auth()
        await player.request({"msg": "join", "room": table.room})

    # One at a time, so each player's first state is its own join (no gaps to explain).
    for seat, player in enumerate(others, 1):
        await asyncio.wait_for(sit(player, seat), timeout)


async def _echo_table(table: Table, options: Options, address: Address) -> None:
    run = table.run
    players = [EchoPlayer(run, table, seat) for seat in range(options.seats)]
    table.players = players
    table.room = table.name
    for seat, player in enumerate(players):
        await asyncio.wait_for(
            player.connect(options.transport_for(seat), HOST, address.port, address.prefix),
            options.connect_timeout)
        await asyncio.wait_for(player.join(), options.connect_timeout)
    # The peer has no game: seat 0 moves first (once the table is released).
    table.schedule(players[0], 1)


def _loop_time_of(wall: float | None) -> float | None:
    """The event loop's time at wall-clock time `wall` (None: now)."""
    if wall is None:
        return None
    return asyncio.get_running_loop().time() + (wall - time.time())


async def _sleep_until(wall: float | None) -> None:
    if wall is not None:
        await asyncio.sleep(max(0.0, wall - time.time()))


class LocalGenerator:
    """One shard: its tables, played on the running event loop."""

    def __init__(self, options: Options, address: Address, setup_concurrency: int) -> None:
        self.options = options
        self.address = address
        self.setup_concurrency = setup_concurrency
        self.run = Run(options.pace, options.protocol)

    async def seat(self, specs: list[TableSpec]) -> dict[str, Any]:
        """Connect, authenticate and seat the tables of `specs`; they stay held. A table
        that could not be seated is closed and forgotten; the failures are counted by kind."""
        run = self.run
        started = time.perf_counter()
        tables, jobs = [], []
        for index, tokens in specs:
            table = Table(run, f"bench-{index:05d}", index)
            tables.append(table)
            if self.address.target == "game":
                jobs.append(_game_table(table, tokens or [], self.options, self.address))
            else:
                jobs.append(_echo_table(table, self.options, self.address))
        results = await _bounded(jobs, self.setup_concurrency)
        failures: dict[str, int] = {}
        seated = 0
        for table, outcome in zip(tables, results):
            if isinstance(outcome, BaseException):
                key = f"{type(outcome).__name__}: {outcome}"[:120]
                failures[key] = failures.get(key, 0) + 1
                for player in table.players:
                    player.close()
            else:
                run.tables.append(table)
                seated += 1
        return {"seated": seated, "failures": failures,
                "seconds": time.perf_counter() - started}

    async def play(self, limit: int | None, at: float | None) -> int:
        """Tables with an index below `limit` (None: all) play, released from wall-clock
        time `at` spread over one pace; the others are parked. Returns how many play."""
        run = self.run
        playing = [t for t in run.tables if limit is None or t.index < limit]
        for table in run.tables:
            if limit is not None and table.index >= limit and not table.held:
                table.hold()
        run.go(playing, _loop_time_of(at))
        return len(playing)

    async def set_pace(self, pace: float) -> None:
        self.run.pace = pace

    async def measure(self, label: str, rate: float | None, at: float | None, seconds: float,
                      drain: float) -> Window:
        """Open a window at wall-clock time `at` for `seconds`, then wait `drain` and count
        what has not arrived as lost. The window carries this process's CPU."""
        run = self.run
        await _sleep_until(at)
        window = Window(label, rate)
        window.opened_at = time.perf_counter()
        cpu_before = time.process_time()
        run.window = window
        await asyncio.sleep(seconds)
        run.window = None
        window.closed_at = time.perf_counter()
        window.generator_cpu = (time.process_time() - cpu_before) / max(
            1e-9, window.closed_at - window.opened_at)
        # States of moves sent in the window keep arriving for a little while; what has not
        # arrived `drain` seconds after the window closed is counted lost.
        await asyncio.sleep(drain)
        run.sweep_lost(older_than=drain)
        return window

    async def totals(self) -> dict[str, Any]:
        run = self.run
        return {"errors": dict(run.errors), "seq_gaps": run.seq_gaps,
                "closed_unexpectedly": run.closed_unexpectedly,
                "moves_total": run.moves_total, "states_total": run.states_total,
                "states_patched": run.states_patched,
                "games_started": run.games_started, "games_finished": run.games_finished}

    async def close(self) -> None:
        self.run.going = False
        for table in self.run.tables:
            table.hold()
            for player in table.players:
                player.close()


# --- worker processes ----------------------------------------------------------------------

def _worker(connection: Any, options: Options, address: Address, core: int | None,
            setup_concurrency: int) -> None:
    """A generator process: run the commands read from `connection` on a LocalGenerator."""
    raise_open_files()
    pin_self(core)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        generator = LocalGenerator(options, address, setup_concurrency)
        with ThreadPoolExecutor(1) as reader:
            while True:
                try:
                    name, args = await loop.run_in_executor(reader, connection.recv)
                except EOFError:
                    await generator.close()
                    return
                try:
                    result = await getattr(generator, name)(*args)
                except Exception as error:  # reported to the parent, which raises it
                    connection.send(("error", f"{type(error).__name__}: {error}"))
                else:
                    connection.send(("ok", result))
                if name == "close":
                    return

    if options.use_uvloop:
        try:
            import uvloop
            uvloop.run(serve())
            return
        except ImportError:
            pass
    asyncio.run(serve())


class _LocalShard:
    def __init__(self, generator: LocalGenerator) -> None:
        self.generator = generator

    async def call(self, name: str, *args: Any) -> Any:
        return await getattr(self.generator, name)(*args)

    def stop(self) -> None:
        pass


class _ProcessShard:
    def __init__(self, options: Options, address: Address, core: int | None,
                 setup_concurrency: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, theirs = context.Pipe()
        self.process = context.Process(
            target=_worker, args=(theirs, options, address, core, setup_concurrency),
            daemon=True)
        self.process.start()
        theirs.close()
        self._reader = ThreadPoolExecutor(1)

    async def call(self, name: str, *args: Any) -> Any:
        self.connection.send((name, args))
        try:
            status, value = await asyncio.get_running_loop().run_in_executor(
                self._reader, self.connection.recv)
        except EOFError:
            raise RuntimeError(f"generator process {self.process.pid} exited "
                               f"(code {self.process.exitcode})") from None
        if status != "ok":
            raise RuntimeError(f"generator process {self.process.pid}: {value}")
        return value

    def stop(self) -> None:
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.connection.close()
        self._reader.shutdown(wait=False, cancel_futures=True)


class Generators:
    """All the shards of the generator, driven together; see the module docstring."""

    def __init__(self, options: Options, address: Address) -> None:
        self.options = options
        self.count = max(1, options.generators)
        self.cores = generator_cores(options)
        concurrency = math.ceil(options.setup_concurrency / self.count)
        if self.count == 1:
            self.shards: list[Any] = [_LocalShard(LocalGenerator(options, address,
                                                                 concurrency))]
        else:
            self.shards = [_ProcessShard(options, address, core, concurrency)
                           for core in self.cores]
        self.lead = 0.0 if self.count == 1 else _LEAD

    async def _all(self, name: str, *args: Any) -> list[Any]:
        return list(await asyncio.gather(*(shard.call(name, *args) for shard in self.shards)))

    async def seat(self, specs: list[TableSpec]) -> dict[str, Any]:
        """Seat the tables of `specs`, each in its shard (index mod N), all shards at once."""
        started = time.perf_counter()
        shares: list[list[TableSpec]] = [[] for _ in self.shards]
        for spec in specs:
            shares[spec[0] % self.count].append(spec)
        replies = await asyncio.gather(*(shard.call("seat", share)
                                         for shard, share in zip(self.shards, shares)))
        failures: dict[str, int] = {}
        for reply in replies:
            for key, count in reply["failures"].items():
                failures[key] = failures.get(key, 0) + count
        return {"seated": sum(reply["seated"] for reply in replies), "failures": failures,
                "seconds": time.perf_counter() - started}

    async def play(self, limit: int | None = None) -> int:
        """Tables with an index below `limit` (None: all) play from a common start; the
        others are parked. Returns how many tables play."""
        at = time.time() + self.lead
        return sum(await self._all("play", limit, at))

    async def set_pace(self, pace: float) -> None:
        await self._all("set_pace", pace)

    async def measure(self, label: str, rate: float | None, seconds: float, drain: float,
                      meter: Meter) -> dict[str, Any]:
        """One window on every shard at once, with the server measured over the same time;
        the merged summary (see `merge`)."""
        at = time.time() + self.lead

        async def server_side() -> None:
            await _sleep_until(at)
            meter.begin()
            await asyncio.sleep(seconds)
            meter.end()

        windows, _ = await asyncio.gather(
            self._all("measure", label, rate, at, seconds, drain), server_side())
        return merge(windows, meter, self.cores)

    async def totals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for reply in await self._all("totals"):
            for key, value in reply.items():
                if key == "errors":
                    errors = merged.setdefault("errors", {})
                    for code, count in value.items():
                        errors[code] = errors.get(code, 0) + count
                else:
                    merged[key] = merged.get(key, 0) + value
        return merged

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self._all("close"), 10)
        except Exception:  # a worker that died or hangs is stopped below all the same
            pass
        finally:
            for shard in self.shards:
                shard.stop()


# --- measuring and merging -----------------------------------------------------------------

class Meter:
    """The server's CPU over a window and its peak RSS (sampled every 0.5 s while running);
    with `gc_log`, its garbage collections in the window (bench/gc_log.py)."""

    def __init__(self, stats: Any, gc_log: Path | None = None) -> None:
        self.stats = stats
        self.gc_log = gc_log
        self.gc: dict[str, Any] | None = None
        self.rss_max = 0  # peak since `begin`
        self.rss_step_max = 0  # peak since `reset_step`
        self.cpu = 0.0
        self.opened_at = self.closed_at = 0.0
        self._task: asyncio.Task | None = asyncio.ensure_future(self._sample())

    async def _sample(self) -> None:
        while True:
            self._note_rss()
            await asyncio.sleep(0.5)

    def _note_rss(self) -> None:
        try:
            rss = self.stats.rss_bytes()
        except OSError:  # the server has exited
            return
        self.rss_max = max(self.rss_max, rss)
        self.rss_step_max = max(self.rss_step_max, rss)

    def reset_step(self) -> None:
        self.rss_step_max = 0
        self._note_rss()

    def begin(self) -> None:
        self.opened_at = time.perf_counter()
        self._wall0 = time.time()
        self._cpu0 = self.stats.cpu_seconds()
        self.rss_max = 0
        self._note_rss()

    def end(self) -> None:
        self.closed_at = time.perf_counter()
        self.cpu = (self.stats.cpu_seconds() - self._cpu0) / max(
            1e-9, self.closed_at - self.opened_at)
        self._note_rss()
        if self.gc_log is not None:
            self.gc = summarize_gc(self.gc_log, self._wall0, time.time())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


def percentile(sorted_values: Any, fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (nan when empty)."""
    if not len(sorted_values):
        return math.nan
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def generator_load(per_process: list[float], cores: list[int | None]) -> float:
    """The busiest core's generator CPU: the sum of the processes pinned to it (an unpinned
    process counts on its own)."""
    per_core: dict[Any, float] = {}
    for index, (cpu, core) in enumerate(zip(per_process, cores)):
        key = core if core is not None else f"unpinned-{index}"
        per_core[key] = per_core.get(key, 0.0) + cpu
    return max(per_core.values(), default=0.0)


def merge(windows: list[Window], meter: Meter, cores: list[int | None]) -> dict[str, Any]:
    """The summary of one window measured by every shard: samples concatenated before the
    percentiles, counts summed, server figures from `meter`, generator CPU per process and
    for the busiest core."""
    first = windows[0]
    values = sorted(sample for window in windows for sample in window.latencies)
    seconds = max(1e-9, meter.closed_at - meter.opened_at)
    states = sum(window.states for window in windows)
    state_bytes = sum(window.state_bytes for window in windows)
    errors: dict[str, int] = {}
    for window in windows:
        for code, count in window.errors.items():
            errors[code] = errors.get(code, 0) + count
    achieved = states / seconds
    per_process = [window.generator_cpu for window in windows]
    return {
        "label": first.label,
        "seconds": round(seconds, 2),
        "target_rate": round(first.target_rate, 1) if first.target_rate else None,
        "moves": sum(window.moves for window in windows),
        "states": states,
        "states_per_process": [window.states for window in windows],
        "state_msgs_per_s": round(achieved, 1),
        "delivery": round(achieved / first.target_rate, 4) if first.target_rate else None,
        "mean_state_bytes": round(state_bytes / states) if states else 0,
        "samples": len(values),
        "p50_ms": round(percentile(values, 0.50) * 1000, 2),
        "p90_ms": round(percentile(values, 0.90) * 1000, 2),
        "p99_ms": round(percentile(values, 0.99) * 1000, 2),
        "max_ms": round(values[-1] * 1000, 2) if values else math.nan,
        "lost": sum(window.lost for window in windows),
        "errors": errors,
        "server_cpu": round(meter.cpu, 3),
        "generator_cpu": round(generator_load(per_process, cores), 3),
        "generator_cpu_per_process": [round(cpu, 3) for cpu in per_process],
        "server_rss_mb": round(meter.rss_max / 2**20, 1),
        **({"server_gc": meter.gc} if meter.gc is not None else {}),
    }


def limited(step: dict[str, Any] | None) -> bool:
    """Whether the generator may have been the limit at this step (see GENERATOR_LIMIT)."""
    if not step:
        return False
    busiest = max([step.get("generator_cpu") or 0.0]
                  + list(step.get("generator_cpu_per_process") or []))
    return busiest >= GENERATOR_LIMIT
