"""The load tool's capacity mode and its generator as several processes, for CI.

Both run against `game-server serve` in a subprocess on a throwaway SQLite database, as the
smoke test does. They check the mechanism (steps, players kept connected, results merged
across processes without losing a state), never a timing: the p99 criterion is relaxed so a
busy CI machine cannot fail them.
"""

from __future__ import annotations

import sys
from array import array
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.__main__ import run_once  # noqa: E402
from bench.generators import Meter, limited, merge  # noqa: E402
from bench.load import Window  # noqa: E402
from bench.modes import Options  # noqa: E402


def _window(latencies_ms: list[float], states: int, cpu: float) -> Window:
    window = Window("step", 100.0)
    window.latencies = array("d", [ms / 1000 for ms in latencies_ms])
    window.states = states
    window.moves = len(latencies_ms)
    window.generator_cpu = cpu
    return window


def test_windows_of_several_processes_merge_into_one_distribution() -> None:
    meter = Meter.__new__(Meter)  # a stand-in with the server's figures, no sampling
    meter.opened_at, meter.closed_at, meter.cpu, meter.rss_max = 0.0, 2.0, 0.5, 2**20
    meter.gc = None
    # One process saw 99 fast samples, the other one slow sample: the merged p99 is the
    # p99 of all 100, not a mix of the two processes' percentiles.
    quick = _window([1.0] * 99, states=150, cpu=0.5)
    slow = _window([80.0], states=50, cpu=0.4)
    step = merge([quick, slow], meter, cores=[1, 1])
    assert step["samples"] == 100 and step["moves"] == 100
    assert step["p99_ms"] == 1.0 and step["max_ms"] == 80.0
    assert step["states"] == 200 and step["states_per_process"] == [150, 50]
    assert step["state_msgs_per_s"] == 100.0 and step["delivery"] == 1.0
    # Both processes share core 1: together they kept it 0.9 busy, so the generator may
    # have been the limit although neither process reached 0.8.
    assert step["generator_cpu_per_process"] == [0.5, 0.4]
    assert step["generator_cpu"] == 0.9 and limited(step)
    assert not limited(merge([quick, slow], meter, cores=[1, 2]))


@pytest.mark.timeout(90)
def test_generator_as_two_processes_merges_every_state() -> None:
    options = Options(target="game", mode="fixed", clients=120, seats=4, pace=0.2,
                      duration=3.0, warmup=0.5, drain=3.0, generators=2,
                      server_cpu=None, generator_cpu=None, quiet=True)
    result = run_once(options)
    window = result["window"]
    assert result["generator_processes"] == 2
    assert result["clients"] == 120 and result["tables"] == 30
    assert result["errors"] == {} and result["seq_gaps"] == 0
    assert result["closed_unexpectedly"] == 0
    assert result["server_error_lines"] == 0, result.get("server_errors_sample")
    # Each process played its share of the tables, and the window is their sum.
    assert len(window["states_per_process"]) == 2 and min(window["states_per_process"]) > 0
    assert window["states"] == sum(window["states_per_process"])
    assert len(window["generator_cpu_per_process"]) == 2
    assert window["lost"] == 0 and window["moves"] > 0
    assert window["samples"] == 4 * window["moves"]
    assert result["states_total"] >= window["states"]


@pytest.mark.timeout(120)
def test_capacity_mode_adds_tables_step_by_step_and_reports_the_largest_passing_count() -> None:
    options = Options(target="game", mode="capacity", clients=200, max_clients=400,
                      growth=1.5, seats=4, pace=1.0, step_seconds=2.0, warmup=0.5, drain=2.0,
                      p99_limit_ms=5000.0, capacity_delivery=0.9, time_limit=80.0,
                      server_cpu=None, generator_cpu=None, quiet=True)
    result = run_once(options)
    steps = result["steps"]
    assert result["errors"] == {} and result["closed_unexpectedly"] == 0
    assert result["server_error_lines"] == 0, result.get("server_errors_sample")
    assert [step["players"] for step in steps] == [200, 300, 400]
    assert all(step["ok"] for step in steps), steps
    assert result["capacity_players"] == 400 and result["stopped"] == "reached --max-clients"
    # Players stay connected from step to step: each step seats only the new tables.
    assert [step["new_players"] for step in steps] == [200, 100, 100]
    for step in steps:
        assert step["samples"] == 4 * step["moves"] > 0
        assert step["lost"] == 0
        assert step["server_rss_mb"] > 0
        assert {"p50_ms", "p99_ms", "max_ms", "server_cpu", "generator_cpu"} <= set(step)
    assert result["generator_processes"] == 1


@pytest.mark.timeout(90)
def test_players_speaking_protocol_3_merge_patches_and_play_games_to_the_end() -> None:
    options = Options(target="game", mode="fixed", clients=80, seats=4, pace=0.1,
                      duration=4.0, warmup=0.5, drain=3.0, protocol=3,
                      server_cpu=None, generator_cpu=None, quiet=True)
    try:
        result = run_once(options)
    except RuntimeError as error:
        if "bad_message" in str(error):
            pytest.skip(f"this server does not speak protocol 3: {error}")
        raise
    window = result["window"]
    # A patch for a room without a whole table first would count as `patch_without_table`;
    # a move chosen from a badly merged table would be refused (`illegal_move` and friends).
    assert result["errors"] == {} and result["seq_gaps"] == 0
    assert result["server_error_lines"] == 0, result.get("server_errors_sample")
    assert result["states_patched"] > 0
    assert window["lost"] == 0 and window["samples"] == 4 * window["moves"] > 0
    assert result["games_finished"] >= 1


def test_a_game_variant_names_its_settings_and_nothing_else_takes_any():
    from bench.targets import split_target

    assert split_target("sockjs-node") == ("sockjs-node", {})
    assert split_target("game+GAME_EVENT_LOOP=asyncio+checkout=/tmp/base+protocol=2") == (
        "game", {"GAME_EVENT_LOOP": "asyncio", "checkout": "/tmp/base", "protocol": "2"})
    for wrong in ("gaem", "sockjs-node+GAME_X=1", "game+PATH=/bin", "game+GAME_X"):
        with pytest.raises(ValueError):
            split_target(wrong)
