"""The table model (game_server/tables/table.py): seats, spectators, seq, views, lifecycle.

Plain pytest on tables built in the test, with a fixed seeds callable so every deal is known.
Whole games are played with the rules' bot strategy for every seat, and every view of every
change is checked for hidden information.

Views (protocol 2): the table's own fields, ``players`` (the seat of each game player) and
``to_act`` (seats), and ``game_state``, the game's view with players numbered in game order;
``result`` (winner and scores by seat) once a game is finished.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest
from table_helpers import ANN, BOB, CID, DEE, EVE, PEOPLE, step

from game_server.rules import Card, CrazyEights, RulesError, Suit
from game_server.rules.crazy_eights import Put, Take
from game_server.tables import Change, Player, Status, Table, TableError
from game_server.tables.seating import bot_name

SEED = 20240601
EVENT_TYPES = {"join", "leave", "add_bot", "replace", "reclaim", "connect", "disconnect",
               "watch", "unwatch", "start", "move"}


def C(code: str) -> Card:
    return Card.from_str(code)


def make_table(seats: int = 3, seed: int = SEED, room_id: str = "room-0001") -> Table:
    return Table(room_id, "Test room", "crazy_eights", seats, seeds=lambda: seed)


class Recorder:
    """Applies table calls and checks the seq rule on every change they return."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.changes: list[Change] = []

    def __call__(self, changes: list[Change]) -> list[Change]:
        for change in changes:
            expected = (self.changes[-1].seq if self.changes else change.seq - 1) + 1
            assert change.seq == expected, "seq must go up by exactly one per change"
            assert change.event["type"] in EVENT_TYPES
            self.changes.append(change)
        if changes:
            assert self.table.seq == changes[-1].seq
        return changes


def seat_order(table: Table) -> list[int]:
    """Room seat of each game player: the occupied seats in order, as dealt."""
    order = [s.number for s in table.seats if s is not None]
    assert table.players == order
    return order


def hand_of(table: Table, seat: int) -> list[str]:
    return [str(card) for card in table.game.hand(seat_order(table).index(seat))]


def turn_seat(table: Table) -> int:
    (seat,) = table.to_act()
    assert seat == seat_order(table)[table.game.turn]
    return seat


def state(view: dict[str, Any]) -> dict[str, Any]:
    """The game's part of a view."""
    return view["game_state"]


def cards_in(view: dict[str, Any], event: dict[str, Any]) -> set[str]:
    """Every card code a member is shown, apart from the finished game's `hands`."""
    shown = set(state(view).get("hand", [])) | set(state(view)["pile"])
    move = event.get("move", {})
    if "card" in move:
        shown.add(move["card"])
    return shown


def check_views(table: Table, change: Change) -> None:
    """Hidden information in one change, checked right after it was made."""
    seated = {s.number for s in table.seats if s is not None and s.player is not None}
    assert set(change.views) == seated | {None}
    spectator = change.views[None]
    assert spectator["you"] is None
    assert "hand" not in spectator, "a spectator never gets a hand"
    hands = ({number: hand_of(table, number) for number in seat_order(table)}
             if table.status is Status.PLAYING else {})
    assert "hand" not in (spectator["game_state"] or {}), "a spectator never gets a hand"
    for seat, view in change.views.items():
        assert view["status"] == table.status.value
        if seat is not None:
            assert view["you"] == seat
        for entry in view["seats"]:
            assert entry is None or "cards" not in entry  # counts are in game_state
        if table.status is Status.PLAYING:
            assert "result" not in view
            assert not {"winner", "scores", "hands"} & set(state(view))
            assert view["players"] == seat_order(table)
            assert view["to_act"] == table.to_act()
            if seat is not None:
                assert state(view)["hand"] == hands[seat]
            others = {card for other, hand in hands.items() if other != seat for card in hand}
            leaked = cards_in(view, change.event_for(seat)) & others
            assert not leaked, f"view for {seat} shows another player's cards {leaked}"
            assert state(view)["cards"] == [len(hands[number]) for number in seat_order(table)]
        elif table.status is Status.FINISHED:
            outcome = table.game.outcome()
            order = seat_order(table)
            assert view["to_act"] == []
            result = view["result"]
            assert result["winner"] == order[outcome.winner]
            assert result["detail"] == dict(outcome.detail)
            assert len(result["scores"]) == len(table.seats)
            assert state(view)["winner"] == outcome.winner
            assert state(view)["scores"] == list(outcome.scores)
            for index, number in enumerate(order):
                assert result["scores"][number] == outcome.scores[index]
                assert state(view)["hands"][index] == [
                    str(c) for c in table.game.final_hands()[index]]
    # A take names the card only to the taker.
    if change.event["type"] == "move" and change.event["move"]["type"] == "take":
        taker = change.event["seat"]
        assert "card" not in change.event["move"]
        for seat in change.views:
            event = change.event_for(seat)
            if seat == taker:
                assert event["move"]["card"] in state(change.views[seat])["hand"]
            else:
                assert "card" not in event["move"]


def play_out(table: Table, record: Recorder, limit: int = 3000) -> list[Change]:
    """Play the running game to its end, checking every view of every change."""
    changes: list[Change] = []
    for _ in range(limit):
        if table.status is not Status.PLAYING:
            return changes
        new = record(step(table))
        assert len(new) == 1, "a move is one change (one Crazy Eights player acts at a time)"
        check_views(table, new[0])
        changes += new
    raise AssertionError("the game did not finish")


def full_table(seats: int = 3, seed: int = SEED) -> tuple[Table, Recorder]:
    """A running game with a person in every seat."""
    table = make_table(seats, seed)
    record = Recorder(table)
    for person in PEOPLE[:seats]:
        record(table.sit(person))
    assert table.status is Status.PLAYING
    return table, record


def snapshot(table: Table) -> tuple:
    views = {seat: table.view_for(seat) for seat in [None, *range(len(table.seats))]
             if seat is None or table.seats[seat] is not None}
    game = table.game
    hands = None if game is None else [game.hand(p) for p in range(game.players)]
    return table.seq, table.status, table.owner, views, hands, sorted(table.spectators)


# --- seats and seq -----------------------------------------------------------------------


def test_a_new_table_is_waiting_with_empty_seats() -> None:
    table = make_table(4)
    assert table.seq == 0
    assert table.status is Status.WAITING
    view = table.view_for(None)
    assert view == {"game": "crazy_eights", "status": "waiting", "owner": None,
                    "seats": [None, None, None, None], "spectators": 0, "you": None,
                    "players": [], "to_act": [], "game_state": None}


@pytest.mark.parametrize("game, seats", [("poker", 3), ("crazy_eights", 1), ("crazy_eights", 8),
                                         ("hearts", 3), ("hearts", 5)])
def test_a_table_refuses_unknown_games_and_seat_counts(game: str, seats: int) -> None:
    with pytest.raises(TableError) as error:
        Table("room-0001", "x", game, seats, seeds=lambda: 1)
    assert error.value.code == "bad_message"


def test_people_take_the_lowest_free_seat_and_the_first_owns_the_room() -> None:
    table = make_table(4)
    record = Recorder(table)
    record(table.sit(ANN))
    record(table.sit(BOB))
    record(table.sit(CID))
    assert [s.player for s in table.seats[:3]] == [ANN, BOB, CID]
    assert table.owner == 0
    record(table.leave(BOB))
    assert table.seats[1] is None
    (change,) = record(table.sit(DEE))
    assert change.event == {"type": "join", "seat": 1}
    assert table.seats[1].player == DEE
    assert table.owner == 0
    assert [c.seq for c in record.changes] == [1, 2, 3, 4, 5]


def test_seq_goes_up_by_exactly_one_per_change() -> None:
    table = make_table(4)
    record = Recorder(table)
    record(table.sit(ANN))
    record(table.watch(EVE))
    record(table.add_bot(ANN))
    record(table.sit(BOB))
    record(table.set_connected(BOB, False))
    record(table.set_connected(BOB, True))
    record(table.unwatch(EVE))
    record(table.start(ANN))
    record(step(table))
    record(table.leave(BOB))
    record(table.sit(BOB))
    assert [c.seq for c in record.changes] == list(range(1, 12))
    assert [c.event["type"] for c in record.changes] == [
        "join", "watch", "add_bot", "join", "disconnect", "connect", "unwatch", "start",
        record.changes[8].event["type"], "replace", "reclaim"]
    assert table.seq == 11


def test_requests_that_change_nothing_make_no_change() -> None:
    table = make_table(3)
    record = Recorder(table)
    record(table.sit(ANN))
    record(table.watch(EVE))
    before = snapshot(table)
    assert table.sit(ANN) == []  # already seated and connected
    assert table.watch(EVE) == []  # already watching
    assert table.unwatch(DEE) == []  # never watched
    assert table.set_connected(ANN, True) == []
    assert table.set_connected(DEE, False) == []
    assert table.expire(ANN) == []  # still connected: no grace period to end
    assert table.expire(DEE) == []
    assert snapshot(table) == before


def test_a_seq_given_to_the_table_continues() -> None:
    table = Table("room-0001", "x", "crazy_eights", 2, seeds=lambda: 1, seq=41)
    (change,) = table.sit(ANN)
    assert change.seq == 42


def test_a_join_that_fills_the_room_is_two_changes_join_then_start() -> None:
    table = make_table(3)
    record = Recorder(table)
    record(table.sit(ANN))
    record(table.sit(BOB))
    changes = record(table.sit(CID))
    assert [c.event for c in changes] == [{"type": "join", "seat": 2},
                                          {"type": "start", "dealer": 0}]
    assert [c.seq for c in changes] == [3, 4]
    join, start = changes
    # The join is shown as it was: the seat taken, the game not yet dealt.
    assert join.views[2]["status"] == "waiting"
    assert join.views[2]["game_state"] is None and join.views[2]["players"] == []
    assert start.views[2]["status"] == "playing"
    assert len(start.views[2]["game_state"]["hand"]) == 5
    assert start.views[2]["players"] == [0, 1, 2]
    assert start.views[2]["to_act"] == [1]  # the player after the dealer
    assert table.status is Status.PLAYING


def test_a_bot_that_fills_the_room_is_two_changes_add_bot_then_start() -> None:
    table = make_table(2)
    record = Recorder(table)
    record(table.sit(ANN))
    changes = record(table.add_bot(ANN))
    assert [c.event["type"] for c in changes] == ["add_bot", "start"]
    assert table.status is Status.PLAYING
    entry = table.view_for(0)["seats"][1]
    assert entry == {"seat": 1, "user": {"id": None, "name": bot_name(table.id, 1)},
                     "bot": True, "connected": True}
    assert table.view_for(0)["game_state"]["cards"] == [7, 7]  # two players: seven each


def test_a_spectator_who_sits_down_stops_watching_in_the_same_change() -> None:
    table = make_table(3)
    record = Recorder(table)
    record(table.sit(ANN))
    record(table.watch(BOB))
    assert table.view_for(None)["spectators"] == 1
    (change,) = record(table.sit(BOB))
    assert change.event == {"type": "join", "seat": 1}
    assert change.views[1]["spectators"] == 0
    assert table.spectators == set()


# --- views -------------------------------------------------------------------------------


def test_while_waiting_no_one_sees_a_game_state() -> None:
    table = make_table(3)
    table.sit(ANN)
    (change,) = table.watch(EVE)
    assert change.views[0]["game_state"] is None
    assert change.views[0]["you"] == 0
    assert change.views[None]["game_state"] is None
    assert change.views[None]["spectators"] == 1
    assert change.views[None]["to_act"] == [] and change.views[None]["players"] == []


def test_a_seat_sees_its_own_hand_and_only_counts_of_the_others() -> None:
    table, _ = full_table(3)
    hands = {seat: hand_of(table, seat) for seat in range(3)}
    assert all(len(hand) == 5 for hand in hands.values())
    for seat in range(3):
        view = table.view_for(seat)
        assert view["you"] == seat
        assert view["game_state"]["hand"] == hands[seat]
        assert view["game_state"]["cards"] == [5, 5, 5]
        text = repr(view)
        for other in range(3):
            if other != seat:
                assert not any(card in text for card in hands[other])
    spectator = table.view_for(None)
    assert "hand" not in spectator["game_state"] and spectator["you"] is None
    assert not any(card in repr(spectator) for hand in hands.values() for card in hand)
    game_state = spectator["game_state"]
    assert game_state["deck"] == 52 - 15 - len(game_state["pile"])
    assert game_state["suit"] == game_state["pile"][-1][1]


@pytest.mark.parametrize("seats", [2, 3, 4, 5, 6, 7])
@pytest.mark.parametrize("seed", [0, 1, 2, 99])
def test_no_view_of_a_whole_game_shows_another_players_cards(seats: int, seed: int) -> None:
    table = make_table(seats, seed)
    record = Recorder(table)
    # People in the even seats, bots in the odd ones, a spectator watching.
    record(table.sit(ANN))
    record(table.watch(Player(99, "Watcher")))
    people = iter(PEOPLE[1:])
    for number in range(1, seats):
        for change in record(table.add_bot(ANN) if number % 2 else table.sit(next(people))):
            if change.event["type"] == "start":
                check_views(table, change)
    if table.status is Status.WAITING:
        (change,) = record(table.start(ANN))
        check_views(table, change)
    changes = play_out(table, record)
    assert table.status is Status.FINISHED
    final = changes[-1]
    for view in final.views.values():
        assert {"winner", "scores", "hands", "blocked"} <= set(view["game_state"])
        assert {"winner", "scores", "detail"} == set(view["result"])
        assert sum(len(hand) for hand in view["game_state"]["hands"]) == sum(
            view["game_state"]["cards"])
    # Every card is somewhere: hands, pile and deck hold the 52.
    game = table.game
    assert sum(game.card_counts()) + len(game.pile) + game.deck_size == 52


def test_once_finished_every_view_has_winner_scores_and_hands() -> None:
    table, record = full_table(3)
    play_out(table, record)
    outcome = table.game.outcome()
    for seat in [None, 0, 1, 2]:
        view = table.view_for(seat)
        assert view["status"] == "finished"
        # Every seat plays: game player = seat.
        assert view["result"] == {"winner": outcome.winner, "scores": list(outcome.scores),
                                  "detail": {"blocked": outcome.detail["blocked"]}}
        assert view["game_state"]["winner"] == outcome.winner
        assert view["game_state"]["scores"] == list(outcome.scores)
        assert view["game_state"]["hands"] == [
            [str(c) for c in hand] for hand in table.game.final_hands()]
    assert "hand" not in table.view_for(None)["game_state"]


def test_a_take_names_the_card_only_in_the_takers_private_event() -> None:
    table, record = full_table(2)
    # Ann (seat 0) may take; Bob has the turn after the deal (seat 0 dealt).
    assert turn_seat(table) == 1
    before = set(hand_of(table, 1))
    (change,) = record(table.play(BOB, Take()))
    taken = (set(hand_of(table, 1)) - before).pop()
    public = {"type": "move", "seat": 1, "move": {"type": "take"}}
    assert change.event == public
    assert change.event_for(1) == {"type": "move", "seat": 1,
                                   "move": {"type": "take", "card": taken}}
    assert change.event_for(0) == public
    assert change.event_for(None) == public
    assert taken in change.views[1]["game_state"]["hand"]
    assert taken not in repr(change.views[0]) and taken not in repr(change.views[None])
    assert change.views[0]["game_state"]["cards"] == [7, 8]
    check_views(table, change)


def test_a_put_names_the_card_and_the_suit_named_with_an_eight() -> None:
    table, record = full_table(2)
    table.game = CrazyEights.from_position(
        hands=[[C("8S"), C("QH"), C("2C")], [C("4D"), C("5D")]],
        pile=[C("TH")], deck=[C("2S"), C("7C")], turn=0)
    (change,) = record(table.play(ANN, Put(C("8S"), Suit.DIAMONDS)))
    assert change.event == {"type": "move", "seat": 0,
                            "move": {"type": "put", "card": "8S", "suit": "D"}}
    assert change.private == {}
    assert change.views[None]["game_state"]["suit"] == "D"
    assert change.views[None]["game_state"]["pile"][-1] == "8S"
    assert change.views[None]["game_state"]["turn"] == 1
    assert change.views[None]["to_act"] == [1]


def test_a_take_that_leaves_no_one_able_to_move_ends_the_game() -> None:
    table, record = full_table(2)
    # Ann takes the last card; no one can follow clubs and nothing can be taken: the game
    # ends, and Bob, with fewer penalty points (13 against 15), wins the difference.
    table.game = CrazyEights.from_position(
        hands=[[C("4D"), C("5D")], [C("3H"), C("KS")]],
        pile=[C("TC")], deck=[C("6H")], turn=0)
    (change,) = record(table.play(ANN, Take()))
    assert table.status is Status.FINISHED
    assert change.event == {"type": "move", "seat": 0, "move": {"type": "take"}}
    for view in change.views.values():
        assert view["status"] == "finished"
        assert view["to_act"] == []
        assert view["result"] == {"winner": 1, "scores": [0, 2], "detail": {"blocked": True}}
        assert view["game_state"]["hands"] == [["4D", "5D", "6H"], ["3H", "KS"]]
        assert view["game_state"]["blocked"] is True


def test_a_take_after_which_turns_pass_lists_the_passed_seats() -> None:
    table, record = full_table(2)
    # Ann takes the last card and still cannot follow clubs; the pile is only its top card,
    # so nothing can be reshuffled: her turn passes by itself to Bob.
    table.game = CrazyEights.from_position(
        hands=[[C("4D"), C("5D")], [C("3C"), C("KS")]],
        pile=[C("TC")], deck=[C("6H")], turn=0)
    (change,) = record(table.play(ANN, Take()))
    assert table.game.turn == 1
    assert change.event_for(0)["move"]["card"] == "6H"
    # When turns pass by themselves the event lists the passed players (in game order; here
    # seat = player) in passes.
    assert change.event["move"].get("passes") == [0]


def test_views_and_events_number_players_in_game_order_and_map_them_to_seats() -> None:
    # Seats 0 and 2 play, seat 1 is empty: game player 1 is seat 2.
    table = make_table(3)
    record = Recorder(table)
    record(table.sit(ANN))
    record(table.sit(BOB))
    record(table.sit(CID))
    play_out(table, record)
    record(table.leave(BOB))
    record(table.start(ANN))
    assert table.players == [0, 2]
    table.game = CrazyEights.from_position(
        hands=[[C("4D"), C("5D")], [C("3C"), C("KS")]],
        pile=[C("TC")], deck=[C("6H")], turn=0)
    assert table.to_act() == [0]
    (change,) = record(table.play(ANN, Take()))
    assert change.event == {"type": "move", "seat": 0,
                            "move": {"type": "take", "passes": [0]}}
    for seat, view in change.views.items():
        assert view["players"] == [0, 2]
        assert view["to_act"] == [2]  # game player 1
        assert view["game_state"]["turn"] == 1
        assert view["game_state"]["cards"] == [3, 2]
    assert set(change.views) == {None, 0, 2}
    assert change.views[2]["game_state"]["hand"] == ["3C", "KS"]
    (change,) = record(table.play(CID, Put(C("3C"))))
    assert change.event["seat"] == 2
    assert change.views[None]["to_act"] == [0]


# --- leaving, disconnecting, grace, reclaiming ---------------------------------------------


def test_leave_while_waiting_frees_the_seat() -> None:
    table = make_table(3)
    record = Recorder(table)
    record(table.sit(ANN))
    record(table.sit(BOB))
    (change,) = record(table.leave(BOB))
    assert change.event == {"type": "leave", "seat": 1}
    assert table.seats[1] is None
    assert change.views[None]["seats"][1] is None
    assert table.seat_of(BOB.id) is None
    assert 1 not in change.views


def test_leave_during_a_game_hands_the_seat_to_a_bot_at_once() -> None:
    table, record = full_table(3)
    hand = hand_of(table, 1)
    (change,) = record(table.leave(BOB))
    assert change.event == {"type": "replace", "seat": 1, "reason": "left"}
    entry = change.views[None]["seats"][1]
    assert entry["bot"] is True and entry["connected"] is True
    assert entry["user"] == {"id": BOB.id, "name": BOB.name}
    assert table.is_seated(BOB.id) is False
    assert hand_of(table, 1) == hand
    # It is Bob's turn (seat 0 dealt): the bot moves for him now.
    assert table.bots_to_act() == [1]
    (move,) = record(table.play_bots())
    assert move.event["seat"] == 1
    with pytest.raises(TableError) as error:
        table.play(BOB, Take())
    assert error.value.code == "not_a_player"


def test_a_spectator_leaving_stops_watching() -> None:
    table = make_table(3)
    record = Recorder(table)
    record(table.sit(ANN))
    record(table.watch(EVE))
    (change,) = record(table.leave(EVE))
    assert change.event == {"type": "unwatch"}
    assert change.views[None]["spectators"] == 0


def test_a_disconnect_keeps_the_seat_and_a_reconnect_restores_it() -> None:
    table, record = full_table(3)
    hand = hand_of(table, 2)
    (change,) = record(table.set_connected(CID, False))
    assert change.event == {"type": "disconnect", "seat": 2}
    assert change.views[0]["seats"][2]["connected"] is False
    assert table.is_seated(CID.id)
    (change,) = record(table.sit(CID))
    assert change.event == {"type": "connect", "seat": 2}
    assert change.views[2]["seats"][2]["connected"] is True
    assert change.views[2]["game_state"]["hand"] == hand


def test_grace_over_during_a_game_hands_the_seat_to_a_bot() -> None:
    table, record = full_table(3)
    record(table.set_connected(CID, False))
    (change,) = record(table.expire(CID))
    assert change.event == {"type": "replace", "seat": 2, "reason": "timeout"}
    entry = change.views[0]["seats"][2]
    assert entry["bot"] is True and entry["user"]["id"] == CID.id
    assert table.seats[2] is not None
    assert table.expire(CID) == []


def test_grace_over_while_waiting_frees_the_seat() -> None:
    table = make_table(3)
    record = Recorder(table)
    record(table.sit(ANN))
    record(table.sit(BOB))
    record(table.set_connected(BOB, False))
    (change,) = record(table.expire(BOB))
    assert change.event == {"type": "leave", "seat": 1}
    assert table.seats[1] is None


def test_the_same_user_reclaims_a_seat_from_the_bot() -> None:
    table, record = full_table(3)
    record(table.play(BOB, Take()))  # Bob's turn stays with him
    record(table.leave(CID))
    hand = hand_of(table, 2)
    # Someone else cannot have it; the game has started.
    with pytest.raises(TableError) as error:
        table.sit(DEE)
    assert error.value.code == "game_started"
    (change,) = record(table.sit(CID))
    assert change.event == {"type": "reclaim", "seat": 2}
    assert table.seats[2].bot is False and table.seats[2].player == CID
    assert change.views[2]["game_state"]["hand"] == hand
    assert change.views[2]["seats"][2]["bot"] is False


def test_the_same_user_reclaims_a_seat_after_the_grace_period() -> None:
    table, record = full_table(2)
    record(table.set_connected(ANN, False))
    record(table.expire(ANN))
    (change,) = record(table.sit(ANN))
    assert change.event == {"type": "reclaim", "seat": 0}
    assert table.is_seated(ANN.id)


def test_ownership_passes_to_the_lowest_seat_a_person_plays() -> None:
    table = make_table(5)
    record = Recorder(table)
    record(table.sit(ANN))
    record(table.add_bot(ANN))  # seat 1: a bot, never an owner
    record(table.sit(BOB))  # seat 2
    record(table.sit(CID))  # seat 3
    (change,) = record(table.leave(ANN))
    assert table.owner == 2
    assert change.views[None]["owner"] == 2
    record(table.leave(BOB))
    assert table.owner == 3
    with pytest.raises(TableError) as error:
        table.add_bot(DEE)
    assert error.value.code == "not_a_player"
    record(table.add_bot(CID))  # the new owner may
    assert table.seats[0].bot is True


def test_ownership_passes_when_the_owner_leaves_a_game() -> None:
    table, record = full_table(3)
    (change,) = record(table.leave(ANN))
    assert table.owner == 1 and change.views[1]["owner"] == 1
    record(table.set_connected(BOB, False))
    assert table.owner == 1  # a disconnected person still plays the seat
    (change,) = record(table.expire(BOB))
    assert table.owner == 2 and change.views[None]["owner"] == 2


# --- permissions and errors ----------------------------------------------------------------


def _code(call, *args) -> str:
    with pytest.raises((TableError, RulesError)) as error:
        call(*args)
    return error.value.code


def test_add_bot_and_start_permissions() -> None:
    table = make_table(4)
    record = Recorder(table)
    record(table.sit(ANN))
    record(table.sit(BOB))
    record(table.watch(EVE))
    before = snapshot(table)
    assert _code(table.add_bot, BOB) == "not_owner"
    assert _code(table.start, BOB) == "not_owner"
    assert _code(table.add_bot, DEE) == "not_a_player"
    assert _code(table.start, DEE) == "not_a_player"
    assert _code(table.add_bot, EVE) == "not_a_player"  # a spectator
    assert _code(table.start, EVE) == "not_a_player"
    assert snapshot(table) == before
    record(table.start(ANN))
    before = snapshot(table)
    assert _code(table.add_bot, ANN) == "game_started"
    assert _code(table.start, ANN) == "game_started"
    assert _code(table.sit, DEE) == "game_started"
    assert snapshot(table) == before


def test_start_needs_two_seated() -> None:
    table = make_table(3)
    table.sit(ANN)
    before = snapshot(table)
    assert _code(table.start, ANN) == "game_not_started"
    assert snapshot(table) == before


def test_start_with_free_seats_deals_to_the_seated_only() -> None:
    table = make_table(4)
    record = Recorder(table)
    record(table.sit(ANN))
    record(table.add_bot(ANN))
    (change,) = record(table.start(ANN))
    assert change.event == {"type": "start", "dealer": 0}
    view = change.views[0]
    assert view["status"] == "playing"
    assert view["players"] == [0, 1]
    assert view["game_state"]["cards"] == [7, 7]
    assert _code(table.sit, BOB) == "game_started"


def test_room_full_for_a_bot_or_a_person_when_every_seat_is_taken() -> None:
    table, record = full_table(2)
    play_out(table, record)
    before = snapshot(table)
    assert _code(table.add_bot, ANN) == "room_full"
    assert _code(table.sit, CID) == "room_full"
    assert snapshot(table) == before


def test_play_errors_change_nothing() -> None:
    table = make_table(2)
    record = Recorder(table)
    record(table.sit(ANN))
    assert _code(table.play, ANN, Take()) == "game_not_started"
    record(table.sit(BOB))
    table.game = CrazyEights.from_position(
        hands=[[C("QH"), C("3C"), C("8S")], [C("4D"), C("5D")]],
        pile=[C("TH")], deck=[C("2S"), C("7C")], turn=0)
    record(table.watch(EVE))
    before = snapshot(table)
    assert _code(table.play, BOB, Take()) == "not_your_turn"
    assert _code(table.play, ANN, Put(C("4D"))) == "not_in_hand"
    assert _code(table.play, ANN, Put(C("3C"))) == "illegal_move"
    assert _code(table.play, ANN, Put(C("8S"))) == "illegal_move"  # an eight names a suit
    assert _code(table.play, ANN, Put(C("QH"), Suit.CLUBS)) == "illegal_move"
    assert _code(table.play, EVE, Take()) == "not_a_player"
    assert _code(table.play, DEE, Take()) == "not_a_player"
    assert snapshot(table) == before
    assert table.journal[-1].kind == "watch@1"  # nothing refused was recorded
    # (Table.check is gone: a move is checked once, by play. A legal one, on a copy:)
    copy.deepcopy(table).play(ANN, Put(C("QH")))
    assert snapshot(table) == before


def test_take_with_nothing_to_take_is_an_illegal_move() -> None:
    table, record = full_table(2)
    table.game = CrazyEights.from_position(
        hands=[[C("QH"), C("3C")], [C("4D")]], pile=[C("TH")], deck=[], turn=0)
    before = snapshot(table)
    assert _code(table.play, ANN, Take()) == "illegal_move"
    assert snapshot(table) == before


def test_no_moves_once_the_game_is_finished() -> None:
    table, record = full_table(2)
    play_out(table, record)
    before = snapshot(table)
    assert _code(table.play, ANN, Take()) == "game_finished"
    assert _code(table.play, BOB, Put(C("2C"))) == "game_finished"
    assert table.play_bots() == []
    assert table.bots_to_act() == [] and table.to_act() == []
    assert snapshot(table) == before


def test_leave_after_the_game_frees_the_seat() -> None:
    table, record = full_table(3)
    play_out(table, record)
    (change,) = record(table.leave(CID))
    assert change.event == {"type": "leave", "seat": 2}
    assert table.seats[2] is None


# --- a new game in the same room -------------------------------------------------------------


@pytest.mark.parametrize("seats", [2, 3])
def test_a_new_game_after_the_end_moves_the_deal_one_seat_on(seats: int) -> None:
    seeds = itertools.count(5)
    table = Table("room-0001", "x", "crazy_eights", seats, seeds=lambda: next(seeds))
    record = Recorder(table)
    for person in PEOPLE[:seats]:
        record(table.sit(person))
    assert record.changes[-1].event == {"type": "start", "dealer": 0}
    assert table.view_for(None)["game_state"]["turn"] == 1
    for game in range(1, seats + 2):
        play_out(table, record)
        (change,) = record(table.start(ANN))
        dealer = game % seats
        assert change.event == {"type": "start", "dealer": dealer}
        assert table.game.dealer == dealer
        view = change.views[0]
        assert view["status"] == "playing"
        # The player after the dealer starts.
        assert view["game_state"]["turn"] == (dealer + 1) % seats
        assert view["to_act"] == [(dealer + 1) % seats]
        assert "result" not in view
        assert not {"winner", "scores", "hands"} & set(view["game_state"])
        size = 7 if seats == 2 else 5
        assert view["game_state"]["cards"] == [size] * seats
        check_views(table, change)


def test_a_new_game_is_started_by_the_owner_only() -> None:
    table, record = full_table(2)
    play_out(table, record)
    assert _code(table.start, BOB) == "not_owner"
    assert _code(table.start, DEE) == "not_a_player"


def test_the_deal_moves_one_seat_on_from_the_last_dealer_when_seats_change() -> None:
    table = make_table(4)
    record = Recorder(table)
    for person in (ANN, BOB, CID):
        record(table.sit(person))
    record(table.start(ANN))  # seats 0, 1, 2: seat 0 deals
    assert record.changes[-1].event == {"type": "start", "dealer": 0}
    play_out(table, record)
    record(table.leave(ANN))  # seat 0 is free now; Bob (seat 1) owns the room
    (change,) = record(table.start(BOB))
    # The deal moves one seat on from seat 0: to seat 1.
    assert change.event == {"type": "start", "dealer": 1}
    play_out(table, record)
    (change,) = record(table.start(BOB))
    assert change.event == {"type": "start", "dealer": 2}


def test_the_deal_moves_one_seat_on_past_a_new_player() -> None:
    table = make_table(4)
    record = Recorder(table)
    for person in (ANN, BOB):
        record(table.sit(person))
    record(table.start(ANN))  # seat 0 deals
    play_out(table, record)
    record(table.sit(CID))  # seat 2
    (change,) = record(table.start(ANN))
    assert change.event == {"type": "start", "dealer": 1}
    play_out(table, record)
    (change,) = record(table.start(ANN))
    assert change.event == {"type": "start", "dealer": 2}
    play_out(table, record)
    record(table.sit(DEE))  # seat 3, after this game's dealer
    (change,) = record(table.start(ANN))
    assert change.event == {"type": "start", "dealer": 3}
