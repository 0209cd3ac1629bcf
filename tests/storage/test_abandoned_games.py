"""A game whose room closes before the game ends is `abandoned` (issue 12, item 13): in the
history it does not stay `playing` for ever, it reveals nothing, and it ranks no one."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from game_server.storage import GameHistory, MoveLog
from game_server.storage.models import Game
from game_server.tables import Player

from storage_helpers import Clock, commit, new_table, play, step


async def test_closing_a_room_abandons_its_running_game(migrated: Engine,
                                                       players: list[Player]):
    ann, bob = players[:2]
    clock = Clock(datetime(2026, 3, 1, 10, tzinfo=UTC))
    log = MoveLog(migrated, "server-a", clock=clock)
    try:
        done = new_table("room-done", 2, first_seed=11)
        done.sit(ann)
        done.add_bot(ann)
        await commit(log, done)
        await play(log, done)
        assert done.status.value == "finished"

        running = new_table("room-left", 2, first_seed=12)
        running.sit(bob)
        running.add_bot(bob)
        for _ in range(3):
            step(running)
        await commit(log, running)
        assert running.status.value == "playing"
        clock.advance(minutes=5)
        await log.close_room("room-left")
        await log.close_room("room-done")  # a finished game stays finished
    finally:
        log.close()

    with migrated.connect() as connection:
        games = {row.room_id: row for row in connection.execute(
            select(Game.id, Game.room_id, Game.status, Game.finished_at, Game.winner))}
    assert games["room-done"].status == "finished"
    left = games["room-left"]
    assert (left.status, left.winner) == ("abandoned", None)
    assert left.finished_at == clock.now

    history = GameHistory(migrated)
    record = history.game_record(left.id)
    assert record["status"] == "abandoned" and record["finished_at"] is not None
    assert "seed" not in record and "moves" not in record  # nothing is revealed
    [game] = history.user_games(bob.id)["games"]
    assert (game["status"], game["score"], game["won"]) == ("abandoned", None, None)
    assert {row["user"]["id"] for row in history.leaderboard()} == {ann.id}
