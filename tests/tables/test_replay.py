"""Rooms rebuilt from their actions (the move log) equal the live rooms, and rebuild works."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from table_helpers import views

from game_server.rules import GAMES
from game_server.rules.crazy_eights import Take
from game_server.tables import KINDS, Action, Player, Table
from game_server.tables.actions import UnknownKind

ANN, BOB, CID, DAN = (Player(1, "Ann"), Player(2, "Bob"), Player(3, "Cid"), Player(4, "Dan"))


def new_table(seats: int = 4, game: str = "crazy_eights") -> Table:
    seeds = itertools.count(1000)
    return Table("room-replay", "replayed", game, seats, seeds=lambda: next(seeds))


def commit(table: Table, check: bool = True) -> None:
    """Mark the journal committed and (`check`) assert the replayed room equals the live one."""
    table.committed()
    if check:
        again = Table.replay(table.id, table.name, table.game_kind, len(table.seats),
                             table.history)
        assert views(again) == views(table)


def play_some(table: Table, moves: int, check_every: int = 1) -> None:
    """Up to `moves` rounds of moves (the bots', else a person's from their view as a scripted
    client chooses it), committing after each and checking the replay after every
    `check_every` of them and at the end of the game."""
    for count in range(moves):
        if table.status.value != "playing":
            commit(table)
            return
        if table.bots_to_act():
            table.play_bots()
        else:
            seat = table.seats[table.to_act()[0]]
            wire = table.rules.move_from_view(table.view_for(seat.number)["game_state"])
            table.play(seat.player, table.rules.parse_move(wire))
        commit(table, check=count % check_every == 0)


def test_every_kind_of_action_replays_to_the_same_room():
    table = new_table(4)
    # A room with a turn clock (open@1), so that timeouts and `back` are recorded too.
    for step in (lambda: table.open(ANN, {"clock": {"move": 30, "bank": 60}}),
                 lambda: table.sit(BOB), lambda: table.watch(DAN),
                 lambda: table.sit(CID), lambda: table.leave(CID),
                 lambda: table.set_connected(BOB, False), lambda: table.set_connected(BOB, True),
                 lambda: table.add_bot(ANN), lambda: table.start(ANN),
                 lambda: table.mute(ANN, DAN)):
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
    table.rematch(BOB)  # Bob, the one person left, asks: a second game with a new seed
    commit(table)
    # Bob lets his clock run out twice: he is away, the bot plays for him; then he is back.
    while 1 not in table.clock.away:
        assert table.status.value == "playing"
        if 1 in table.clock_deadlines():
            table.now = table.clock_deadlines()[1]
            table.time_out(1)
            commit(table)
        else:
            play_some(table, 1)
    table.back(BOB)
    commit(table)
    assert [a.seeds for a in table.history if a.seeds] == [(1000,), (1001,)]
    # Every kind was recorded, each with its version.
    # (A kind that dealt is at version 2: DEALING_KINDS.)
    assert {a.kind.replace("@2", "@1") for a in table.history} == set(KINDS.values())


@pytest.mark.parametrize("game", sorted(GAMES))
def test_a_whole_game_of_each_game_replays_to_the_same_room(game):
    table = new_table(4, game)
    table.sit(ANN)
    table.watch(DAN)
    table.add_bot(ANN)
    table.sit(BOB)
    table.add_bot(ANN)  # fills the room and deals
    commit(table)
    play_some(table, 5000, check_every=50)  # a Hearts match is several hundred moves
    assert table.status.value == "finished"
    # Each bot move is an action of its own.
    moves = [a for a in table.history if a.name == "move"]
    # (move@2: a move that dealt a match's next deal, with its seed and salt.)
    assert all(a.kind in ("move@1", "move@2") and a.seat is not None and a.move for a in moves)
    assert len(moves) == table.seq - 6


def test_rebuild_undoes_what_was_not_committed():
    table = new_table(2)
    table.sit(ANN)
    table.sit(BOB)  # fills the room: join and the deal, one action
    commit(table)
    before = views(table)
    table.play(ANN if table.to_act() == [0] else BOB, Take())
    assert views(table) != before and len(table.journal) == 1
    table.rebuild()
    assert views(table) == before and table.journal == []


def test_rebuild_can_keep_the_first_actions_of_the_journal():
    table = new_table(2)
    table.sit(ANN)
    commit(table)
    table.watch(DAN)
    kept = views(table)
    table.sit(BOB)  # deals
    table.play(ANN if table.to_act() == [0] else BOB, Take())
    assert len(table.journal) == 3
    table.rebuild(keep=1)
    assert views(table) == kept
    assert [a.kind for a in table.journal] == ["watch@1"]
    assert [a.kind for a in table.history] == ["sit@1"]
    table.committed()
    assert [a.kind for a in table.history] == ["sit@1", "watch@1"]


def test_actions_say_which_game_began_and_ended():
    table = new_table(2)
    table.sit(ANN)
    (action,) = table.journal
    assert action.kind == "sit@1" and action.name == "sit"
    assert action.user == ANN and action.started is None
    table.committed()
    table.add_bot(ANN)
    (action,) = table.journal
    assert action.seeds == (1000,)
    assert action.started == {"number": 1, "seed": 1000, "dealer": 0, "seats": [
        {"seat": 0, "user": 1, "bot": False}, {"seat": 1, "user": None, "bot": True}]}
    table.committed()
    table.leave(ANN)  # the bot plays on; the room has no person left, but the table finishes
    play_some(table, 3000)
    finished = [a.finished for a in table.history if a.finished]
    assert len(finished) == 1 and finished[0]["number"] == 1
    assert finished[0]["winner"] in (0, 1)
    assert set(finished[0]) == {"number", "winner", "scores", "detail"}
    assert finished[0]["detail"] == table.view_for(None)["result"]["detail"]
    assert finished[0]["scores"] == table.view_for(None)["result"]["scores"]


def test_a_log_that_does_not_match_is_refused():
    table = new_table(2)
    table.sit(ANN)
    table.committed()
    broken = [dataclasses.replace(table.history[0], seq=7)]
    with pytest.raises(ValueError, match="seq"):
        Table.replay(table.id, table.name, table.game_kind, 2, broken)


def test_stored_kinds_are_read_with_their_version_and_unknown_ones_refused():
    assert Action.stored("sit", seq=1, game=0, user=ANN).kind == "sit@1"
    assert Action.stored("move@1", seq=5, game=1, seat=0, move={"type": "take"}).kind == "move@1"
    for kind in ("sit@9", "play", "move@3", "watch@2", "take", ""):
        with pytest.raises(UnknownKind):
            Action.stored(kind, seq=1, game=0)
    # A kind that reached replay without Action.stored is refused there too.
    table = new_table(2)
    with pytest.raises(ValueError, match="no replay for kind"):
        Table.replay(table.id, table.name, table.game_kind, 2,
                     [Action(seq=1, kind="sit@9", game=0, user=ANN)])


def test_after_a_rebuild_new_games_still_get_fresh_seeds():
    table = new_table(2)
    table.sit(ANN)
    table.committed()
    table.add_bot(ANN)  # deals with seed 1000, then the commit fails
    table.rebuild()
    assert table.status.value == "waiting"
    table.add_bot(ANN)
    assert table.journal[0].seeds == (1001,)


def test_a_replayed_room_deals_later_games_from_the_given_seeds():
    table = new_table(2)
    table.sit(ANN)
    table.add_bot(ANN)
    table.committed()
    play_some(table, 3000)
    again = Table.replay(table.id, table.name, table.game_kind, 2, table.history,
                         seeds=lambda: 77)
    assert again.journal == [] and again.history == table.history
    again.start(ANN)
    assert again.journal[0].seeds == (77,)
