"""When the load tool's tables move: each on a grid of its own, one pace apart.

A run releases its tables spread over one pace so the offered load is even. These tests drive
`bench.load.Table` on a clock of their own (no sockets, no sleeping) and check that the spread
survives what happens in real runs: a table's first state arriving after its slot, and a stall
of the server delaying some tables' states for a while.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.load import Run, Table  # noqa: E402

PACE = 1.0


class _Clock:
    """The parts of an event loop a Table uses: time() and call_at(), run by hand."""

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[list[Any]] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], None]) -> "_Timer":
        timer = _Timer(when, callback)
        self._timers.append([when, timer])
        return timer

    def advance(self, to: float) -> None:
        """Run every timer due by `to` in order, with the clock at its time."""
        while True:
            due = sorted((entry for entry in self._timers if entry[0] <= to and
                          not entry[1].cancelled), key=lambda entry: entry[0])
            if not due:
                break
            when, timer = due[0]
            self._timers.remove(due[0])
            self.now = max(self.now, when)
            timer.callback()
        self.now = to


class _Timer:
    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class _Player:
    """Moves whenever the table lets it, and records when."""

    def __init__(self, clock: _Clock) -> None:
        self.clock = clock
        self.moved_at: list[float] = []

    def move(self, expected_seq: int, *rest: Any) -> bool:
        self.moved_at.append(self.clock.now)
        return True


def _table(index: int = 0) -> tuple[Table, _Player, _Clock]:
    clock = _Clock()
    run = Run.__new__(Run)  # the counters Table touches, on the hand-run clock
    run.pace, run.loop, run.going, run.window = PACE, clock, True, None
    run.moves_total = 0
    table = Table(run, f"t{index}", index)
    player = _Player(clock)
    table.players = [player]
    return table, player, clock


def _state_arrives(table: Table, player: _Player, seq: int) -> None:
    table.schedule(player, seq)


def test_a_table_whose_first_state_arrives_after_its_slot_keeps_its_grid() -> None:
    table, player, clock = _table()
    table.release(0.3)  # its slot: 0.3 s into the pace; no state yet
    clock.advance(0.5)
    _state_arrives(table, player, 1)  # late by 0.2 s: it moves at once
    clock.advance(0.5)
    assert player.moved_at == [0.5]
    _state_arrives(table, player, 2)  # the next move is due on the grid: 1.3, not 1.5
    clock.advance(3.0)
    assert player.moved_at == pytest.approx([0.5, 1.3])


def test_tables_delayed_by_one_stall_go_back_to_their_own_slots() -> None:
    # Ten tables spread over the pace; a stall holds every state until 0.55 s, so the
    # tables due before then all move at 0.55. Their next moves are spread again.
    first, second = [], []
    for index in range(10):
        table, player, clock = _table(index)
        slot = index / 10
        table.release(slot)
        stalled = slot < 0.55
        if not stalled:
            _state_arrives(table, player, 1)
        clock.advance(0.55)
        if stalled:
            _state_arrives(table, player, 1)  # the stall ends
        clock.advance(1.0)
        _state_arrives(table, player, 2)
        clock.advance(3.0)
        first.append(player.moved_at[0])
        second.append(player.moved_at[1])
    assert first == pytest.approx([0.55] * 6 + [0.6, 0.7, 0.8, 0.9])
    assert second == pytest.approx([1.0 + index / 10 for index in range(10)])


def test_a_table_more_than_a_pace_behind_starts_a_new_grid_instead_of_catching_up() -> None:
    table, player, clock = _table()
    table.release(0.0)
    clock.advance(2.5)
    _state_arrives(table, player, 1)  # 2.5 paces late
    clock.advance(2.5)
    _state_arrives(table, player, 2)
    clock.advance(10.0)
    # One move at 2.5, the next a pace later: not three moves at once to make up the slots.
    assert player.moved_at == [2.5, 3.5]


def test_a_parked_table_resumes_on_the_slot_it_is_released_at() -> None:
    table, player, clock = _table()
    table.release(0.0)
    _state_arrives(table, player, 1)
    clock.advance(0.0)
    _state_arrives(table, player, 2)
    table.hold()
    clock.advance(5.0)
    table.release(7.25)
    clock.advance(10.0)
    assert player.moved_at == [0.0, 7.25]
