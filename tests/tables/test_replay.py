"""Rooms rebuilt from their actions (the move log) equal the live rooms, and rollback works."""

from __future__ import annotations

import itertools

import pytest

from game_server.rules import Take
from game_server.tables import Player, Table

ANN, BOB, CID, DAN = (Player(1, "Ann"), Player(2, "Bob"), Player(3, "Cid"), Player(4, "Dan"))


def new_table(seats: int = 4) -> Table:
    seeds = itertools.count(1000)
    return Table("room-replay", "replayed", "crazy_eights", seats, seeds=lambda: next(seeds))


def views(table: Table) -> list:
    return [table.seq, table.status, table.owner, table.view_for(None)] + [
        table.view_for(s.number) for s in table.seats if s is not None]


def commit(table: Table) -> None:
    table.committed()
    again = Table.replay(table.id, table.name, table.game_kind, len(table.seats), table.history)
    assert views(again) == views(table)


def play_some(table: Table, moves: int) -> None:
    for _ in range(moves):
        if table.status.value != "playing":
            return
        if table.bot_to_move() is not None:
            table.play_bot()
        else:
            seat = table.seats[table.view_for(None)["turn"]]
            view = table.view_for(seat.number)
            top = view["pile"][-1]
            card = next((c for c in view["hand"]
                         if c[0] != "8" and (c[1] == view["suit"] or c[0] == top[0])), None)
            from game_server.rules import Card, Put
            table.play(seat.player, Put(Card.from_str(card)) if card else Take())
        commit(table)


def test_every_kind_of_action_replays_to_the_same_room():
    table = new_table(4)
    for step in (lambda: table.sit(ANN), lambda: table.sit(BOB), lambda: table.watch(DAN),
                 lambda: table.sit(CID), lambda: table.leave(CID),
                 lambda: table.set_connected(BOB, False), lambda: table.set_connected(BOB, True),
                 lambda: table.add_bot(ANN), lambda: table.start(ANN)):
        assert step()
        commit(table)
    play_some(table, 15)
    table.set_connected(BOB, False)
    commit(table)
    table.expire(BOB)  # a bot takes Bob's seat
    commit(table)
    play_some(table, 10)
    table.sit(BOB)  # reclaim
    commit(table)
    table.leave(ANN)  # a bot plays on for Ann
    commit(table)
    play_some(table, 3000)
    assert table.status.value == "finished"
    table.unwatch(DAN)
    commit(table)
    table.start(BOB)  # Bob owns the room now; a second game with a new seed
    commit(table)
    assert [a.seeds for a in table.history if a.seeds] == [(1000,), (1001,)]


def test_rollback_undoes_what_was_not_committed():
    table = new_table(2)
    table.sit(ANN)
    table.sit(BOB)  # fills the room: join and the deal, one action
    commit(table)
    before = views(table)
    table.play(ANN if table.view_for(None)["turn"] == 0 else BOB, Take())
    assert views(table) != before and len(table.journal) == 1
    table.rollback()
    assert views(table) == before and table.journal == []


def test_actions_say_which_game_began_and_ended():
    table = new_table(2)
    table.sit(ANN)
    (action,) = table.take_journal()
    assert action.kind == "sit" and action.user == ANN and action.started is None
    table.committed()
    table.add_bot(ANN)
    (action,) = table.take_journal()
    assert action.seeds == (1000,)
    assert action.started == {"number": 1, "seed": 1000, "dealer": 0, "seats": [
        {"seat": 0, "user": 1, "bot": False}, {"seat": 1, "user": None, "bot": True}]}
    table.committed()
    table.leave(ANN)  # the bot plays on; the room has no person left, but the table finishes
    play_some(table, 3000)
    finished = [a.finished for a in table.history if a.finished]
    assert len(finished) == 1 and finished[0]["number"] == 1
    assert finished[0]["winner"] in (0, 1)


def test_a_log_that_does_not_match_is_refused():
    table = new_table(2)
    table.sit(ANN)
    table.committed()
    broken = [table.history[0].__class__(**{**table.history[0].__dict__, "seq": 7})]
    with pytest.raises(ValueError, match="seq"):
        Table.replay(table.id, table.name, table.game_kind, 2, broken)


def test_after_a_rollback_new_games_still_get_fresh_seeds():
    table = new_table(2)
    table.sit(ANN)
    table.committed()
    table.add_bot(ANN)  # deals with seed 1000, then the commit fails
    table.rollback()
    assert table.status.value == "waiting"
    table.add_bot(ANN)
    assert table.take_journal()[0].seeds == (1001,)


def test_a_replayed_room_deals_later_games_from_the_given_seeds():
    table = new_table(2)
    table.sit(ANN)
    table.add_bot(ANN)
    table.committed()
    play_some(table, 3000)
    again = Table.replay(table.id, table.name, table.game_kind, 2, table.history,
                         seeds=lambda: 77)
    again.start(ANN)
    assert again.take_journal()[0].seeds == (77,)
