"""Turn clocks through the real move log (SQLite and PostgreSQL): a room's options and the
clock fields of its actions are stored and read back, so the room replayed after a restart
has the same banks, timeouts, away seats and deadlines; its clocks are not restarted."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from game_server.storage import MoveLog
from game_server.tables import Player, Table

from storage_helpers import commit, new_table, views

pytestmark = pytest.mark.timeout(60)


async def test_the_clocks_replay_from_the_log_where_they_were(migrated: Engine,
                                                              players: list[Player]) -> None:
    log = MoveLog(migrated, "server-a")
    try:
        ann, bob = players[:2]
        table = new_table("clocked-room", 2)
        table.now = 1000.0
        table.open(ann, {"clock": {"move": 10, "bank": 30}})
        table.now = 1001.5
        table.sit(bob)  # deals
        await commit(log, table)
        first = table.to_act()[0]
        # The first player thinks 25 s (15 s of the bank), the second times out.
        table.now = 1026.5
        mover = table.seats[first].player
        table.play(mover, table.game.bot_move(table.player_of(first)))
        second = table.to_act()[0]
        table.now = table.clock_deadlines()[second]
        table.time_out(second)
        await commit(log, table)
        assert table.clock.bank(first) == 15.0 and table.clock.timeouts[second] == 1
        (info, actions), = log.load_open_rooms()
        assert actions[0].kind == "open@1"
        assert actions[0].options == {"clock": {"move": 10, "bank": 30}}
        assert [a.clock["at"] for a in actions] == [a.clock["at"] for a in table.history]
        again = Table.replay(info.id, info.name, info.game, info.seats, actions)
        assert again.clock == table.clock
        assert again.clock_deadlines() == table.clock_deadlines()
        assert views(again) == views(table)
    finally:
        log.close()
