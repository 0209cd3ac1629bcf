"""Rematches (tables/rematch.py): after a game every person seated asks, and the next game is
dealt to the same seats; the owner can `start` it anyway; a room of one-deal games adds up the
scores of its rematches (Hearts keeps its own match totals); the votes are in the move log, so a
replayed room has them."""

from __future__ import annotations

import itertools

import pytest

from game_server.rules import GAMES
from game_server.tables import Table, TableError
from table_helpers import ANN, BOB, CID, DEE, play_out


def finished(game: str = "crazy_eights", people=(ANN, BOB, CID)) -> Table:
    seeds = itertools.count(40)
    table = Table("room-again", "again", game, GAMES[game].DEFAULT_SEATS,
                  seeds=lambda: next(seeds))
    for person in people:
        table.sit(person)
    while table.status.value == "waiting":
        table.add_bot(ANN)
    play_out(table)
    assert table.status.value == "finished"
    return table


def test_the_next_game_is_dealt_once_every_person_asked():
    table = finished()
    seats = [s.entry() for s in table.seats]
    first = table.view_for(None)["result"]["scores"]
    changes = table.rematch(BOB)
    assert [c.event for c in changes] == [{"type": "rematch", "seat": 1}]
    assert table.view_for(0)["rematch"] == [1] and table.status.value == "finished"
    assert table.rematch(BOB) == []  # asked already
    table.rematch(ANN)  # the owner asks like everyone
    assert table.status.value == "finished" and table.view_for(2)["rematch"] == [0, 1]
    changes = table.rematch(CID)  # the last person: the deal follows in the same action
    assert [c.event["type"] for c in changes] == ["rematch", "start"]
    assert table.status.value == "playing" and table.games_played == 2
    assert [s.entry() for s in table.seats] == seats and "rematch" not in table.view_for(0)
    assert table.journal[-1].kind == "rematch@1" and table.journal[-1].started["number"] == 2
    # Crazy Eights is one deal: the room adds up the games of the same people (shown from
    # the second one on).
    assert "totals" not in table.view_for(None)
    play_out(table)
    second = table.view_for(None)["result"]["scores"]
    assert table.view_for(None)["totals"] == {
        "games": 2, "scores": [a + b for a, b in zip(first, second)]}


def test_the_owner_can_start_without_waiting_for_everyone():
    table = finished()
    table.rematch(BOB)
    table.start(ANN)
    assert table.status.value == "playing" and "rematch" not in table.view_for(None)


def test_rematch_is_refused_during_a_game_before_one_and_to_spectators():
    seeds = itertools.count(1)
    table = Table("room-x", "x", "crazy_eights", 2, seeds=lambda: next(seeds))
    table.sit(ANN)
    with pytest.raises(TableError) as caught:
        table.rematch(ANN)
    assert caught.value.code == "game_not_started"
    table.sit(BOB)
    with pytest.raises(TableError) as caught:
        table.rematch(ANN)
    assert caught.value.code == "game_started"
    table.watch(DEE)
    play_out(table)
    with pytest.raises(TableError) as caught:
        table.rematch(DEE)
    assert caught.value.code == "not_a_player"


def test_totals_start_again_when_other_people_sit_down():
    table = finished()
    table.leave(CID)
    table.sit(DEE)
    for person in (ANN, BOB, DEE):
        table.rematch(person)
    assert table.status.value == "playing" and table._totals is None
    play_out(table)
    assert table._totals_games == 1 and "totals" not in table.view_for(None)


def test_a_vote_of_someone_who_left_does_not_count_for_who_sits_there_next():
    table = finished()
    table.rematch(CID)
    table.leave(CID)
    table.sit(DEE)  # takes Cid's seat
    table.rematch(ANN)
    table.rematch(BOB)
    assert table.status.value == "finished" and table.view_for(0)["rematch"] == [0, 1]
    table.rematch(DEE)
    assert table.status.value == "playing"


def test_hearts_keeps_its_own_match_totals():
    table = finished("hearts", people=(ANN,))
    table.rematch(ANN)  # the only person: the next match begins
    assert table.status.value == "playing" and "totals" not in table.view_for(None)


def test_the_votes_and_the_rematch_replay():
    table = finished()
    table.rematch(BOB)
    table.committed()
    replayed = Table.replay(table.id, table.name, table.game_kind, len(table.seats),
                            table.history)
    assert replayed.view_for(0) == table.view_for(0)
    table.rematch(ANN)
    table.rematch(CID)
    table.committed()
    replayed = Table.replay(table.id, table.name, table.game_kind, len(table.seats),
                            table.history)
    assert replayed.view_for(1) == table.view_for(1)
    assert replayed.seed == table.seed and replayed.games_played == 2
