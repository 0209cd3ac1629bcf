"""What a restart reads back from the move log (SQLite) of a room with a spectator policy, deck
commitments and rematch requests: the replayed room is the room it was, with the same
commitment, the same policy and the same requests; and a finished match's salts and later deal
seeds reach the history record."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from game_server.storage import MoveLog, UserStore, make_engine, migrate
from game_server.storage.history import GameHistory
from game_server.storage.models import Game
from game_server.tables import Player, Table


def _people(engine):
    store = UserStore(engine)
    return [Player(user.id, user.name) for user in map(store.add, ("Ann", "Bob", "Cid"))]


async def _commit(log: MoveLog, table: Table) -> None:
    actions = list(table.journal)
    await log.record(table, actions)
    table.committed(len(actions))


def _play_out(table: Table) -> None:
    while table.status.value == "playing":
        if table.bots_to_act():
            table.play_bots()
        else:
            seat = table.to_act()[0]
            table.play(table.seats[seat].player, table.game.bot_move(table.player_of(seat)))


async def test_a_restart_in_the_middle_of_asking_for_a_rematch(tmp_path):
    url = f"sqlite:///{tmp_path / 'rounds.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    ann, bob, cid = _people(engine)
    log = MoveLog(engine, "server-r")
    try:
        seeds = itertools.count(9)
        table = Table("room-rounds", "rounds", "crazy_eights", 3, seeds=lambda: next(seeds))
        table.open(ann, {"spectators": "delayed", "spectator_delay": 2})
        table.sit(bob)
        table.watch(cid)
        table.add_bot(ann)  # fills the room: the deal, with its commitment
        await _commit(log, table)
        _play_out(table)
        table.rematch(bob)
        await _commit(log, table)
        rooms = log.load_open_rooms()
    finally:
        log.close()
        engine.dispose()
    (info, actions), = rooms
    replayed = Table.replay(info.id, info.name, info.game, info.seats, actions)
    for seat in (None, 0, 1):
        assert replayed.view_for(seat) == table.view_for(seat)
    assert replayed.view_for(0)["rematch"] == [1] and "deck_reveals" in replayed.view_for(0)
    assert replayed.spectator_state() == table.spectator_state()
    assert replayed.summary() == table.summary()
    assert replayed.summary()["spectator_policy"] == "delayed"
    # The rest of the requests after the restart deal the rematch.
    replayed.rematch(ann)
    assert replayed.status.value == "playing" and replayed.games_played == 2


async def test_a_hearts_match_record_has_every_salt_and_later_seed(tmp_path):
    url = f"sqlite:///{tmp_path / 'hearts.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    ann, _, _ = _people(engine)
    log = MoveLog(engine, "server-h")
    try:
        seeds = itertools.count(3)
        table = Table("room-hearts", "hearts", "hearts", 4, seeds=lambda: next(seeds))
        table.sit(ann)
        for _ in range(3):
            table.add_bot(ann)
        _play_out(table)
        await _commit(log, table)
        with engine.connect() as connection:
            game_id = connection.execute(select(Game.id)).scalar_one()
        record = GameHistory(engine).game_record(game_id)
    finally:
        log.close()
        engine.dispose()
    reveals = table.view_for(None)["deck_reveals"]
    assert record["salts"] == [r["salt"] for r in reveals] and len(reveals) >= 2
    assert record["deal_seeds"] == list(range(4, 4 + len(reveals) - 1))
    assert record["seed"] == 3
