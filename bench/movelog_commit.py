"""Micro-benchmark of the move log's commits: many rooms record moves at once.

    python -m bench.movelog_commit run [--rooms 200] [--moves 40] [--pace 0] [--impl FILE]
    python -m bench.movelog_commit compare --before FILE [--rounds 3]
    python -m bench.movelog_commit sqlite-sync [--commits 300] [--rounds 3]

`run` makes a throwaway schema in the database (default: PostgreSQL on 127.0.0.1:5432, db
``test``), migrates it, and lets ``--rooms`` rooms each record ``--moves`` moves one after the
other (each awaits its commit, as the hub does), all rooms at once; with ``--pace`` a room
waits that long between two moves. The log is built on an engine with the server's deadline
(GAME_DB_TIMEOUT 5 s), as `game_server.server` builds it. It prints one JSON object:

- ``rows_per_second``: committed moves per second of wall time; ``commits_per_second``:
  transactions per second; ``mean_batch``: calls per transaction (group commit);
- ``cpu_us_per_row``: the process's CPU time (every thread: user + system) per committed move;
- ``latency_p50_ms``, ``latency_p99_ms``: from a call of ``record`` to its return (queued,
  batched, committed, resolved on the loop);
- ``switches_per_batch``: the process's context switches (voluntary + involuntary, every
  thread, from ``getrusage``) per committed transaction. A thread that waits for the GIL, a
  condition or a socket gives up the CPU: a voluntary switch. A writer thread costs at least a
  wake-up of the writer and a wake-up of the loop (``call_soon_threadsafe``) per batch, plus a
  hand-off each time the loop and the writer both want the GIL; a writer on the loop blocks
  only in the loop's own ``epoll_wait``. Switches per batch are therefore the count of GIL and
  thread hand-offs per commit, plus the loop's waits for the database; ``threads`` says how
  many threads the process had while recording.

``--impl FILE`` loads the move log from another copy of ``movelog.py`` (an older version),
as the module ``game_server.storage._movelog_bench``, to compare. `compare` alternates runs of
the copy given with ``--before`` and of the current code, each in a fresh process, and prints
the medians.

`sqlite-sync` times single-row commits to a SQLite file in WAL mode with ``synchronous=FULL``
(a sync of the WAL per commit) and ``NORMAL`` (no sync per commit; the embedded default, see
``game_server.storage.db``), alternating, and prints the median, p99 and largest latency of
each round, in milliseconds. The file is made in the working directory: run it on the disk
whose latency matters.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _move_log_class(impl: str | None) -> type:
    if impl is None:
        from game_server.storage.movelog import MoveLog
        return MoveLog
    import game_server.storage  # noqa: F401 - the copy's relative imports need the package

    spec = importlib.util.spec_from_file_location("game_server.storage._movelog_bench", impl)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.MoveLog


async def _record(log: Any, rooms: int, moves: int, pace: float, prefix: str,
                  latencies: list[float] | None = None) -> float:
    from game_server.tables import Action, Player, Table

    player = Player(1, "bench")
    clock = time.perf_counter

    async def room(number: int) -> None:
        table = Table(f"{prefix}-{number:05}", f"room {number}", "crazy_eights", 4,
                      seeds=lambda: 1)
        for seq in range(1, moves + 1):
            called = clock()
            await log.record(table, [Action(seq=seq, kind="watch@1", game=0, user=player)])
            if latencies is not None:
                latencies.append(clock() - called)
            if pace:
                await asyncio.sleep(pace)

    started = time.perf_counter()
    await asyncio.gather(*(room(n) for n in range(rooms)))
    return time.perf_counter() - started


def run(url: str, rooms: int, moves: int, pace: float, impl: str | None) -> dict[str, Any]:
    from sqlalchemy import text

    from game_server.storage import UserStore, make_engine, migrate

    admin = make_engine(url)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    is_postgres = admin.dialect.name == "postgresql"
    if is_postgres:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        target = admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
        target = target.render_as_string(hide_password=False)
    else:
        # A fresh file next to the one named: every run starts empty.
        target = admin.url.set(database=f"{admin.url.database}.{schema}").render_as_string()
    try:
        migrate.upgrade(target)
        engine = make_engine(target, timeout=5.0)
        UserStore(engine).add("bench")
        log = _move_log_class(impl)(engine, "bench-server")
        threads: list[int] = []
        latencies: list[float] = []

        async def session() -> tuple[Any, float, Any, float]:
            # One warm-up commit: the writer's connection is open before the clock starts.
            await _record(log, 1, 1, 0.0, "warm")
            before, usage, cpu = log.stats, resource.getrusage(resource.RUSAGE_SELF), \
                time.process_time()
            threads.append(threading.active_count())
            seconds = await _record(log, rooms, moves, pace, "bench", latencies)
            cpu = time.process_time() - cpu
            return before, seconds, usage, cpu

        try:
            before, seconds, usage, cpu = asyncio.run(session())
            after = resource.getrusage(resource.RUSAGE_SELF)
            stats = log.stats
        finally:
            log.close()
            engine.dispose()
    finally:
        if is_postgres:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{admin.url.database}.{schema}{suffix}").unlink(missing_ok=True)
        admin.dispose()
    rows = stats.actions - before.actions
    batches = stats.batches - before.batches
    switches = ((after.ru_nvcsw - usage.ru_nvcsw) + (after.ru_nivcsw - usage.ru_nivcsw))
    return {
        "impl": impl or "current",
        "rooms": rooms, "moves": moves, "pace": pace,
        "seconds": round(seconds, 3),
        "rows": rows,
        "batches": batches,
        "failed_batches": stats.failed_batches - before.failed_batches,
        "rows_per_second": round(rows / seconds, 1),
        "commits_per_second": round(batches / seconds, 1),
        "mean_batch": round((stats.calls - before.calls) / max(1, batches), 2),
        "cpu_us_per_row": round(cpu / max(1, rows) * 1e6, 1),
        "cpu_share": round(cpu / seconds, 3),
        "voluntary_switches": after.ru_nvcsw - usage.ru_nvcsw,
        "involuntary_switches": after.ru_nivcsw - usage.ru_nivcsw,
        "switches_per_batch": round(switches / max(1, batches), 2),
        "threads": threads[0] if threads else None,
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 2),
        "latency_p99_ms": round(sorted(latencies)[int(len(latencies) * 0.99)] * 1000, 2),
    }


def compare(args: argparse.Namespace) -> None:
    results: dict[str, list[dict[str, Any]]] = {"before": [], "current": []}
    for round_ in range(args.rounds):
        for name in ("before", "current"):
            command = [sys.executable, "-m", "bench.movelog_commit", "run",
                       "--database-url", args.database_url, "--rooms", str(args.rooms),
                       "--moves", str(args.moves), "--pace", str(args.pace)]
            if name == "before":
                command += ["--impl", args.before]
            output = subprocess.run(command, check=True, capture_output=True, text=True,
                                    timeout=120).stdout
            result = json.loads(output)
            results[name].append(result)
            print(f"round {round_ + 1} {name}: {json.dumps(result)}", file=sys.stderr)
    keys = ("rows_per_second", "commits_per_second", "mean_batch", "latency_p50_ms",
            "latency_p99_ms", "cpu_us_per_row", "cpu_share", "switches_per_batch", "threads")
    print("| metric | before | current |")
    print("|---|---|---|")
    for key in keys:
        medians = [statistics.median(r[key] for r in results[name])
                   for name in ("before", "current")]
        print(f"| {key} | {medians[0]:g} | {medians[1]:g} |")


def sqlite_sync(commits: int, rounds: int) -> None:
    import os
    import sqlite3

    for round_ in range(rounds):
        for mode in ("FULL", "NORMAL"):
            path = f"movelog-bench-{uuid.uuid4().hex[:8]}.db"
            connection = sqlite3.connect(path, isolation_level=None)
            try:
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute(f"PRAGMA synchronous = {mode}")
                connection.execute("CREATE TABLE moves (id INTEGER PRIMARY KEY, data TEXT)")
                latencies = []
                for _ in range(commits):
                    started = time.perf_counter()
                    connection.execute("BEGIN")
                    connection.execute("INSERT INTO moves (data) VALUES (?)", ("x" * 200,))
                    connection.execute("COMMIT")
                    latencies.append((time.perf_counter() - started) * 1000)
            finally:
                connection.close()
                for suffix in ("", "-wal", "-shm"):
                    if os.path.exists(path + suffix):
                        os.remove(path + suffix)
            latencies.sort()
            print(f"round {round_ + 1} synchronous={mode}: median "
                  f"{statistics.median(latencies):.3f} ms, p99 "
                  f"{latencies[int(len(latencies) * 0.99)]:.3f} ms, max {latencies[-1]:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.movelog_commit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    sync = commands.add_parser("sqlite-sync")
    sync.add_argument("--commits", type=int, default=300)
    sync.add_argument("--rounds", type=int, default=3)
    for name in ("run", "compare"):
        sub = commands.add_parser(name)
        sub.add_argument("--database-url", default=DEFAULT_URL)
        sub.add_argument("--rooms", type=int, default=200)
        sub.add_argument("--moves", type=int, default=40, help="moves per room")
        sub.add_argument("--pace", type=float, default=0.0,
                         help="seconds a room waits between two moves (0: none)")
        if name == "run":
            sub.add_argument("--impl", help="a copy of movelog.py to load instead")
        else:
            sub.add_argument("--before", required=True, help="the copy of movelog.py to compare")
            sub.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.command == "sqlite-sync":
        sqlite_sync(args.commits, args.rounds)
    elif args.command == "run":
        print(json.dumps(run(args.database_url, args.rooms, args.moves, args.pace, args.impl)))
    else:
        compare(args)


if __name__ == "__main__":
    main()
