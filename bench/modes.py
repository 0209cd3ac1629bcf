"""The load modes: fixed, ramp, capacity, idle and storm. Each returns a plain dict of results.

Every mode starts its target itself (bench.targets) and stops it. Fixed, ramp and capacity
drive it through `bench.generators.Generators` (one process, or `--generators N` processes on
the cores the server does not use); idle and storm from this process. All loops are bounded:
each step has a deadline, and a run ends after its duration, the ramp's last step or the
capacity search's time limit, whatever the server does.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from dataclasses import dataclass
from typing import Any

from bench import targets
from bench.generators import GENERATOR_LIMIT, Generators, Meter, limited, percentile
from bench.load import EchoPlayer, GamePlayer, Run, Table
from bench.wire import TRANSPORTS

HOST = "127.0.0.1"

#: Capacity mode: the bisection stops when the failing count is within this fraction (or one
#: table) of the passing one.
CAPACITY_RESOLUTION = 0.05


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
    # capacity
    max_clients: int = 30_000
    growth: float = 1.25
    capacity_delivery: float = 0.99  # a step passes with at least this delivery
    time_limit: float = 900.0
    # generator
    generators: int = 1
    protocol: int = 3  # what the web client and game_server.client speak
    use_uvloop: bool = True
    # setup
    setup_concurrency: int = 100
    connect_timeout: float = 30.0
    server_cpu: int | None = 0
    generator_cpu: int | None = 1
    database_url: str | None = None
    profile: str | None = None  # fixed mode: py-spy raw (collapsed) stacks of the server
    gc: bool = False  # game: log the server's garbage collections (bench/gc_log.py)
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


# --- fixed and ramp ----------------------------------------------------------------------

def _specs(server: targets.Server, options: Options, first: int, count: int,
           tokens: list[str] | None = None) -> list[tuple[int, list[str] | None]]:
    """Tables first .. first+count-1 with their seats' tokens (game; from `tokens`, which
    starts at table `first`, or from those issued at start)."""
    seats = options.seats
    if server.target != "game":
        return [(index, None) for index in range(first, first + count)]
    if tokens is None:
        tokens = server.tokens[first * seats:(first + count) * seats]
    return [(first + n, tokens[n * seats:(n + 1) * seats]) for n in range(count)]


async def seat_everyone(generators: Generators, server: targets.Server,
                        options: Options) -> dict[str, Any]:
    """Connect, authenticate and seat every client; returns setup figures.

    Raises:
        RuntimeError: a table could not be set up.
    """
    count = options.clients // options.seats
    setup = await generators.seat(_specs(server, options, 0, count))
    if setup["failures"]:
        raise RuntimeError(f"{count - setup['seated']} of {count} tables could not be set up: "
                           f"{setup['failures']}")
    options.log(f"{count} tables of {options.seats} seated in {setup['seconds']:.1f} s")
    return {"tables": count, "clients": count * options.seats,
            "setup_seconds": round(setup["seconds"], 1)}


async def fixed(options: Options) -> dict[str, Any]:
    server = await targets.start(options.target, clients=options.clients, cpu=options.server_cpu,
                                 database_url=options.database_url, gc=options.gc)
    generators = meter = None
    try:
        generators = Generators(options, server.address)
        meter = Meter(server.stats, server.gc_log)
        setup = await seat_everyone(generators, server, options)
        rate = setup["clients"] / options.pace
        await generators.play()
        await asyncio.sleep(generators.lead + options.warmup)
        options.log(f"measuring {options.duration:.0f} s at pace {options.pace} s "
                    f"({rate:.0f} state msgs/s offered)")
        spy = _start_py_spy(server, options) if options.profile else None
        result = await generators.measure("fixed", rate, options.duration, options.drain, meter)
        if spy is not None:
            await asyncio.get_running_loop().run_in_executor(None, spy.wait)
            from bench.profile import top_entries
            result["profile"] = top_entries(options.profile)
        return await _finish(generators, server, options, setup, {"window": result}, result)
    finally:
        await _teardown(generators, meter, server)


async def _teardown(generators: Generators | None, meter: Meter | None,
                    server: targets.Server) -> None:
    if meter is not None:
        meter.stop()
    server.stop()
    if generators is not None:
        await generators.close()


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


def _log_step(options: Options, step: dict[str, Any], ok: bool, again: bool,
              first: str) -> None:
    options.log(f"{first} achieved {step['state_msgs_per_s']:8.0f}/s "
                f"p50 {step['p50_ms']:6.1f} p99 {step['p99_ms']:7.1f} ms "
                f"server cpu {step['server_cpu']:.2f} generator cpu "
                f"{step['generator_cpu']:.2f} {'ok' if ok else 'LIMIT'}"
                f"{' (again)' if again else ''}")


async def ramp(options: Options) -> dict[str, Any]:
    """Raise the offered rate by `step_factor` per step until p99 or delivery fails."""
    server = await targets.start(options.target, clients=options.clients, cpu=options.server_cpu,
                                 database_url=options.database_url, gc=options.gc)
    members = (options.clients // options.seats) * options.seats
    rate = options.start_rate
    options.pace = members / rate
    steps: list[dict[str, Any]] = []
    generators = meter = None
    try:
        generators = Generators(options, server.address)
        meter = Meter(server.stats, server.gc_log)
        setup = await seat_everyone(generators, server, options)
        await generators.play()
        await asyncio.sleep(generators.lead + options.warmup)
        best: dict[str, Any] | None = None
        retried = False
        while rate <= options.max_rate:
            # The tables go on at this pace while the window's last states drain. A failed
            # step is measured once more at the same rate before the ramp stops: on a shared
            # machine one stall of another process can spoil a single p99.
            step = await generators.measure(f"{rate:.0f}/s", rate, options.step_seconds,
                                            options.drain, meter)
            steps.append(step)
            ok = (step["p99_ms"] <= options.p99_limit_ms
                  and (step["delivery"] or 0) >= options.min_delivery
                  and not step["errors"] and not step["lost"])
            step["ok"] = ok
            _log_step(options, step, ok, retried, f"offered {rate:8.0f}/s")
            if not ok:
                if retried or step["errors"] or step["lost"]:
                    break
                retried = True
                continue
            retried = False
            best = step
            rate *= options.step_factor
            await generators.set_pace(members / rate)
        limit_step = steps[-1] if steps and steps[-1] is not best else None
        extra = {
            "steps": steps,
            "max_sustained_msgs_per_s": best["state_msgs_per_s"] if best else 0.0,
            "best_step": best,
            "limit_step": limit_step,
            "retried_steps": sum(1 for step in steps if not step["ok"]) - (
                1 if steps and not steps[-1]["ok"] else 0),
        }
        return await _finish(generators, server, options, setup, extra, limit_step or best)
    finally:
        await _teardown(generators, meter, server)


async def _finish(generators: Generators, server: targets.Server, options: Options,
                  setup: dict[str, Any], extra: dict[str, Any],
                  deciding: dict[str, Any] | None) -> dict[str, Any]:
    """The result of a run: setup, totals over all generator processes, `extra`, and whether
    the generator may have been the limit at the `deciding` step."""
    totals = await generators.totals()
    result = {
        "target": options.target, "mode": options.mode, "transport": options.transport,
        "protocol": (options.protocol if targets.split_target(options.target)[0] == "game"
                     else None),
        "clients": setup["clients"], "seats": options.seats, **setup,
        "loadavg_end": loadavg(),
        **totals,
        "server_error_lines": len(server.error_lines()),
        **generator_fields(generators, deciding),
        **extra,
    }
    lines = server.error_lines()
    if lines:
        result["server_errors_sample"] = lines[:5]
    return result


def generator_fields(generators: Generators | None,
                     deciding: dict[str, Any] | None) -> dict[str, Any]:
    """`generator_processes`, their cores, and `generator_limited` with a warning when the
    generator's CPU at the deciding step reached GENERATOR_LIMIT of a core."""
    fields: dict[str, Any] = {
        "generator_processes": generators.count if generators else 1,
        "generator_cores": generators.cores if generators else None,
        "generator_limited": limited(deciding),
    }
    if fields["generator_limited"]:
        fields["warnings"] = [
            f"generator CPU reached {GENERATOR_LIMIT} of a core at the deciding step "
            f"({deciding.get('label')}: busiest core {deciding.get('generator_cpu')}, per "
            f"process {deciding.get('generator_cpu_per_process')}): the load generator, "
            "not the server, may have been the limit; run it as more processes "
            "(--generators) on cores the server does not use"]
    return fields


# --- capacity ----------------------------------------------------------------------------

async def capacity(options: Options) -> dict[str, Any]:
    """The largest number of players at a fixed pace that still meets the criterion (p99 <=
    `p99_limit_ms`, no error, nothing lost, delivery >= `capacity_delivery`).

    Steps of growing player counts (x `growth`, up to `max_clients`), each measured for
    `step_seconds` once its players are seated and playing; players stay connected from step
    to step (each step seats only the new tables). After the first failing step the count is
    bisected between the last passing and the failing one; tables above a bisection step's
    count are parked (connected, not moving). A step that failed on p99 or delivery alone is
    measured once more. No step starts that is not expected to end within `time_limit`
    seconds of the start.
    """
    started = time.monotonic()
    deadline = started + options.time_limit
    seats = options.seats
    limit = targets.raise_open_files()
    per_client = 1 if options.transport == "websocket" else 2
    # The server holds every connection in one process: its open-files limit caps the count.
    max_tables = max(1, min(options.max_clients, (limit - 200) // per_client) // seats)
    tables = min(max_tables, max(1, round(options.clients / seats)))
    server = await targets.start(options.target, clients=max_tables * seats,
                                 cpu=options.server_cpu, database_url=options.database_url,
                                 tokens=0, gc=options.gc)
    steps: list[dict[str, Any]] = []
    generators = meter = None
    seated = 0  # tables seated so far (indices 0 .. seated-1, less any that failed)
    seat_rate: float | None = None  # players seated per second, for the time estimate
    passing: dict[str, Any] | None = None  # the step with the most players that passed
    failing: dict[str, Any] | None = None  # the step with the fewest players that failed
    low, high = 0, None  # tables: largest passing, smallest failing
    stopped = "reached --max-clients"
    try:
        generators = Generators(options, server.address)
        meter = Meter(server.stats, server.gc_log)
        first = True
        while True:
            new = max(0, tables - seated)
            estimate = (new * seats / (seat_rate or 200.0) + generators.lead + options.pace
                        + 1.0 + options.step_seconds + options.drain)
            if not first and time.monotonic() + estimate > deadline:
                stopped = "time limit"
                break
            meter.reset_step()
            setup: dict[str, Any] = {"seated": 0, "failures": {}, "seconds": 0.0}
            if new:
                tokens = server.issue_tokens(seated * seats, new * seats) \
                    if server.target == "game" else None
                try:
                    setup = await asyncio.wait_for(
                        generators.seat(_specs(server, options, seated, new, tokens)),
                        max(10.0, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    stopped = "time limit (while seating)"
                    break
                seated = tables
                if setup["seated"]:
                    seat_rate = setup["seated"] * seats / max(0.1, setup["seconds"])
                options.log(f"{setup['seated']} tables seated in {setup['seconds']:.1f} s"
                            + (f", failures {setup['failures']}" if setup["failures"] else ""))
            playing = await generators.play(tables)
            players = playing * seats
            settle = options.pace + 1.0
            await asyncio.sleep(generators.lead + (max(options.warmup, settle) if first
                                                   else settle))
            first = False
            again = False
            while True:
                step = await generators.measure(f"{players} players", players / options.pace,
                                                options.step_seconds, options.drain, meter)
                step.update(players=players, tables=playing, again=again,
                            new_players=setup["seated"] * seats,
                            setup_seconds=round(setup["seconds"], 1),
                            setup_failures=setup["failures"],
                            server_rss_step_peak_mb=round(meter.rss_step_max / 2**20, 1),
                            elapsed_s=round(time.monotonic() - started, 1))
                quality = (step["p99_ms"] <= options.p99_limit_ms
                           and (step["delivery"] or 0) >= options.capacity_delivery)
                clean = not step["errors"] and not step["lost"] and not setup["failures"]
                step["ok"] = ok = quality and clean
                steps.append(step)
                _log_step(options, step, ok, again, f"{players:6d} players "
                          f"rss {step['server_rss_mb']:6.0f} MB")
                if ok or again or not clean or time.monotonic() + options.step_seconds \
                        + options.drain > deadline:
                    break
                again = True  # p99 or delivery alone: measure once more
            if ok:
                low, passing = tables, step
            else:
                high, failing = tables, step
            if high is None:
                if tables >= max_tables:
                    break
                tables = min(max_tables, max(tables + 1, round(tables * options.growth)))
                continue
            if low == 0:
                stopped = "the first step failed"
                break
            if high - low <= max(1, math.ceil(low * CAPACITY_RESOLUTION)):
                stopped = "bisected"
                break
            tables = (low + high) // 2
        extra = {
            "pace": options.pace,
            "criterion": {"p99_ms_max": options.p99_limit_ms, "errors": 0, "lost": 0,
                          "delivery_min": options.capacity_delivery},
            "capacity_players": passing["players"] if passing else 0,
            "max_clients": max_tables * seats,
            "open_files_limit": limit,
            "stopped": stopped,
            "seconds_total": round(time.monotonic() - started, 1),
            "best_step": passing,
            "limit_step": failing,
            "steps": steps,
        }
        setup_figures = {"clients": seated * seats, "tables": seated}
        options.log(f"capacity {extra['capacity_players']} players ({stopped}) after "
                    f"{extra['seconds_total']:.0f} s")
        return await _finish(generators, server, options, setup_figures, extra,
                             failing or passing)
    finally:
        await _teardown(generators, meter, server)


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
    run = Run(1.0, options.protocol)
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
            "generator_processes": 1,
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
    run = Run(1.0, options.protocol)
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
            "generator_processes": 1,
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


MODES = {"fixed": fixed, "ramp": ramp, "capacity": capacity, "idle": idle,
         "storm": storm}


def median_of(values: list[float]) -> float:
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(values) if values else math.nan
