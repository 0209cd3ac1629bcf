"""game_server/client.py's support of turn clocks and quick play: the time a seat has left,
read from a view, and the command line's --clock and --quick."""

from __future__ import annotations

import pytest

from game_server import client


def test_time_left_reads_the_view_in_server_time():
    table = {"clock": {"move": 30, "bank": 60, "now": 1000.0, "away": [],
                       "running": [{"seat": 2, "deadline": 1020.0, "bank": 41.0}]}}
    assert client.time_left(table, 2) == 61.0
    assert client.time_left(table, 0) is None
    assert client.time_left({}, 2) is None


def test_the_command_line_passes_a_clock_or_quick_play(monkeypatch):
    calls = []

    async def fake_play(url, name, bots, game, clock=None, quick=False, **others):
        calls.append((bots, game, clock, quick))

    monkeypatch.setattr(client, "play_against_bots", fake_play)
    assert client.main(["--clock", "30,60", "--bots", "1"]) == 0
    assert client.main(["--quick", "--game", "hearts"]) == 0
    assert calls == [(1, "crazy_eights", {"move": 30, "bank": 60}, False),
                     (3, "hearts", None, True)]
    with pytest.raises(SystemExit):
        client.main(["--clock", "thirty"])
