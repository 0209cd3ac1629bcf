"""The load tool's garbage-collection probe (`--gc`, bench/gc_log.py): what it writes from
inside a Python process, how a window's collections are summed, and that the game server
started by the tool carries it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import gc_log, targets  # noqa: E402
from bench.generators import Meter  # noqa: E402


def _python(code: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, check=True,
                   timeout=60)


def test_probe_logs_each_collection_with_its_generation(tmp_path: Path) -> None:
    log = tmp_path / "gc.log"
    _python("import gc; gc.collect(0); gc.collect(1); gc.collect()", gc_log.environment(log))
    lines = [line.split() for line in log.read_text().splitlines()]
    generations = "".join(fields[1] for fields in lines)
    assert "012" in generations  # the three asked for, in order (start-up and exit add more)
    young, middle, full = lines[generations.index("012"):][:3]
    assert abs(float(young[0]) - time.time()) < 60
    assert all(float(fields[2]) >= 0 and int(fields[3]) >= 0 for fields in lines)
    assert int(young[4]) >= 0  # a young collection counts its objects
    assert middle[4] == full[4] == "-1"  # older ones do not


def test_probe_still_runs_the_next_sitecustomize(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    marker = tmp_path / "marker"
    (other / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    env = gc_log.environment(tmp_path / "gc.log")
    env["PYTHONPATH"] += os.pathsep + str(other)
    _python("pass", env)
    assert marker.read_text() == "ran"


def test_without_the_variable_the_probe_writes_nothing(tmp_path: Path) -> None:
    env = gc_log.environment(tmp_path / "gc.log")
    del env["BENCH_GC_LOG"]
    _python("import gc; gc.collect()", env)
    assert not (tmp_path / "gc.log").exists()


def test_a_window_sums_the_collections_that_ended_in_it(tmp_path: Path) -> None:
    log = tmp_path / "gc.log"
    log.write_text("99.0 0 50.0 3 40000\n"      # before the window
                   "100.5 0 12.5 0 20000\n"
                   "101.0 1 60.25 7 -1\n"
                   "101.5 0 30.0 1 45000\n"
                   "102.0 2 700.0 9 -1\n"
                   "102.5 0 4.0\n"              # being written as it was read
                   "103.5 0 80.0 0 50000\n")    # after the window
    assert gc_log.summarize(log, 100.0, 103.0) == {
        "gen0": {"count": 2, "total_ms": 42.5, "max_ms": 30.0, "max_young_objects": 45000},
        "gen1": {"count": 1, "total_ms": 60.2, "max_ms": 60.2},
        "gen2": {"count": 1, "total_ms": 700.0, "max_ms": 700.0},
    }
    assert gc_log.summarize(tmp_path / "missing.log", 0, 1) == {}


@pytest.mark.timeout(90)
def test_game_server_started_with_gc_reports_its_collections() -> None:
    async def scenario() -> dict:
        server = await targets.start("game", clients=4, cpu=None, gc=True)
        try:
            meter = Meter(server.stats, server.gc_log)
            meter._wall0 = 0.0  # from the server's start: it collects once when set up
            meter._cpu0, meter.opened_at = 0.0, time.perf_counter()
            meter.end()
            return meter.gc
        finally:
            meter.stop()
            server.stop()

    summary = asyncio.run(scenario())
    assert summary["gen2"]["count"] >= 1
