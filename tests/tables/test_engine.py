"""The room engine (game_server/tables/engine.py) with plain calls: no event loop, no timers,
no database. Time is a float the tests advance; commits are reported by hand (`Driver`).

Every test runs for each registered game, in a room of the game's usual size (4 seats).
"""

from __future__ import annotations

import copy

import pytest
from engine_helpers import SETTINGS, USERS, Driver, deliveries_by_conn, seats_of, states
from table_helpers import views

from game_server.rules import GAMES
from game_server.tables import Table
from game_server.tables.engine import RETRY_SECONDS
from game_server.tables.requests import (Commit, Create, Deadline, Disconnect, Effects, Join,
                                         Leave, Move, RoomList, SignIn, Start)

pytestmark = pytest.mark.parametrize("game", sorted(GAMES))


def seat_of(driver: Driver, conn: int) -> int | None:
    return driver.view(conn)["you"]


def attempt(view: dict) -> dict:
    """A move of the game's own kind for the player whose view this is, whether or not the
    player may act (to try a move out of turn)."""
    state = view["game_state"]
    if view["game"] == "crazy_eights":
        return {"type": "take"}
    if state["phase"] == "pass":
        return {"type": "pass", "cards": state["hand"][:3]}
    return {"type": "play", "card": state["hand"][0]}


# --- signing in, creating, joining ------------------------------------------------------------


def test_create_commits_the_creators_seat_then_delivers_the_state_with_re(game):
    driver = Driver()
    # Before signing in, nothing can be done.
    fx = driver.handle(Create(1, "x", game))
    assert fx.error.code == "auth_required" and not fx.commits and not fx.deliveries
    assert driver.handle(SignIn(1, USERS[1])) == Effects()  # signing in changes no room
    assert driver.engine.lobby_connections() == [1]
    fx = driver.handle(Create(1, "  My room ", game, re="c-1"))
    assert fx.error is None
    table = driver.engine.room_of(1)
    assert table.name == "My room" and table.game_kind == game
    assert len(table.seats) == GAMES[game].DEFAULT_SEATS  # no size given: the game's own
    (commit,) = fx.commits
    assert commit == Commit(table, commit.token, commit.actions, close=False)
    assert [a.kind for a in commit.actions] == ["sit@1"]
    assert commit.actions[0].user == USERS[1]
    (delivery,) = fx.deliveries
    assert delivery.conn == 1 and delivery.room == table.id  # sent once the commit succeeded
    message = delivery.message
    assert message["re"] == "c-1"
    assert (message["msg"], message["room"], message["seq"]) == ("state", table.id, 1)
    assert message["event"] == {"type": "join", "seat": 0}
    view = message["table"]
    assert (view["game"], view["status"], view["owner"], view["you"]) == (game, "waiting", 0, 0)
    assert view["game_state"] is None and view["to_act"] == []
    assert fx.room_list_changed and fx.deadlines == []


def test_a_refused_create_changes_nothing(game):
    driver = Driver()
    driver.sign_in(1)
    for seats in (GAMES[game].MIN_PLAYERS - 1, GAMES[game].MAX_PLAYERS + 1):
        fx = driver.handle(Create(1, "x", game, seats, re="c"))
        assert fx.error.code == "bad_message" and str(seats) in fx.error.text
        assert not fx.commits and not fx.deliveries
    assert driver.engine.room_of(1) is None and len(driver.engine.lobby) == 0


def test_join_fills_the_room_and_the_game_deals(game):
    driver = Driver()
    seats = seats_of(game)
    table = driver.full_room(game, people=seats - 1)
    assert table.status.value == "waiting"
    driver.sign_in(seats)
    fx = driver.handle(Join(seats, table.id, re="j"))
    assert fx.error is None
    (commit,) = fx.commits
    (action,) = commit.actions  # the join, which dealt: one action with the seed
    assert action.kind == "sit@2" and action.seeds == (table.seed,)
    assert action.started["number"] == 1
    received = deliveries_by_conn(fx)
    assert set(received) == set(range(1, seats + 1))
    for conn, messages in received.items():
        join, start = states(messages)
        assert join["event"] == {"type": "join", "seat": seats - 1}
        assert start["event"]["type"] == "start"
        assert start["seq"] == join["seq"] + 1 == table.seq
        # Both changes answer the join: the joiner's copies carry its re.
        assert [m.get("re") for m in (join, start)] == (["j", "j"] if conn == seats else
                                                        [None, None])
        view = start["table"]
        assert view["status"] == "playing" and view["you"] == conn - 1
        assert view["to_act"] and view["to_act"] == table.to_act()
        assert view["players"] == list(range(seats))
        assert view["game_state"]["hand"]


def test_joining_a_running_game_is_refused_but_watching_it_is_not(game):
    driver = Driver()
    table = driver.full_room(game, people=seats_of(game))
    driver.sign_in(9, USERS[8])
    fx = driver.handle(Join(9, table.id, re="late"))
    assert fx.error.code == "game_started" and not fx.commits and not fx.deliveries
    assert driver.engine.room_of(9) is None
    fx = driver.handle(Join(9, table.id, spectator=True, re="watch"))
    assert [a.kind for a in fx.commits[0].actions] == ["watch@1"]
    assert driver.view(9)["you"] is None
    assert driver.handle(Join(9, "room-none")).error.code == "no_such_room"


# --- moves and refusals -----------------------------------------------------------------------


def idle_person(driver: Driver, table, people: range) -> int:
    """A person's connection who may not act now; people to act move until there is one."""
    for _ in range(10):
        acting = set(table.to_act())
        idle = [conn for conn in people if seat_of(driver, conn) not in acting]
        if idle:
            return idle[0]
        driver.play_for(next(c for c in people if seat_of(driver, c) in acting))
    raise AssertionError("everyone keeps acting")


def test_a_move_out_of_turn_is_refused_and_changes_nothing(game):
    driver = Driver()
    seats = seats_of(game)
    table = driver.full_room(game, people=seats)
    conn = idle_person(driver, table, range(1, seats + 1))
    before = views(table)
    fx = driver.handle(Move(conn, attempt(driver.view(conn)), re="m"))
    assert fx.error.code == "not_your_turn"
    assert fx.commits == [] and fx.deliveries == []
    assert views(table) == before and table.journal == []


def test_a_move_outside_a_room_or_by_a_spectator_is_refused(game):
    driver = Driver()
    table = driver.full_room(game, people=seats_of(game), spectators=1)
    watcher = seats_of(game) + 1
    before = views(table)
    driver.sign_in(9, USERS[8])
    for conn, code in ((9, "not_in_room"), (watcher, "not_a_player")):
        move = attempt(driver.view(1))
        fx = driver.handle(Move(conn, move, re="m"))
        assert fx.error.code == code, code
        assert fx.commits == [] and fx.deliveries == []
    assert driver.handle(Move(1, {"type": "no such move"})).error.code == "bad_message"
    assert views(table) == before


def test_a_move_is_committed_then_delivered_to_everyone(game):
    driver = Driver()
    seats = seats_of(game)
    table = driver.full_room(game, people=seats, spectators=1)
    conn = next(c for c in range(1, seats + 1) if seat_of(driver, c) in table.to_act())
    seq = table.seq
    fx = driver.play_for(conn)
    (commit,) = fx.commits
    (action,) = commit.actions
    assert action.kind == "move@1" and action.seat == conn - 1 and action.seq == seq + 1
    received = deliveries_by_conn(fx)
    assert set(received) == set(range(1, seats + 2))
    for other, messages in received.items():
        (message,) = messages
        assert message["seq"] == seq + 1
        assert message["event"]["type"] == "move" and message["event"]["seat"] == conn - 1
        assert ("re" in message) is (other == conn)


# --- bots -------------------------------------------------------------------------------------


def test_bots_move_on_their_timer_until_a_person_must_act(game):
    driver = Driver()
    table = driver.full_room(game, people=1, bots=seats_of(game) - 1)
    assert table.status.value == "playing"
    key = ("bot", table.id)
    # The deal leaves a bot to act (Crazy Eights: seat 1, after the dealer; Hearts: every
    # seat passes): its move waits bot_delay.
    assert table.bots_to_act()
    assert driver.deadlines == {key: driver.now + SETTINGS.bot_delay}
    timers = 0
    while driver.deadlines:
        before = table.seq
        bots = table.bots_to_act()
        fx = driver.fire(key)
        timers += 1
        # One timer moves every bot that may act now, each its own action and change.
        actions = [a for c in fx.commits for a in c.actions]
        assert [a.seat for a in actions] == bots
        assert all(a.kind == "move@1" for a in actions)
        assert [m["seq"] for m in states(driver.inbox[1][-len(bots):])] == list(
            range(before + 1, table.seq + 1))
        if table.bots_to_act():
            assert fx.deadlines == [Deadline(key, driver.now + SETTINGS.bot_delay)]
        assert timers < 50
    assert 0 in table.to_act()
    assert table.bots_to_act() == [] and driver.engine.deadline(key) is None
    assert 0 in driver.view(1)["to_act"]


def test_a_whole_game_with_bots_and_one_person(game):
    driver = Driver()
    table = driver.full_room(game, people=1, bots=seats_of(game) - 1, spectators=1)
    for _ in range(5000):
        view = driver.view(1)
        if view["status"] == "finished":
            break
        if 0 in view["to_act"]:
            fx = driver.play_for(1)
            assert fx.error is None, fx.error
        else:
            assert driver.fire_next() is not None, "nobody acts"
    else:
        raise AssertionError("the game did not finish")
    final = driver.view(1)
    assert final == table.view_for(0)
    assert final["result"]["winner"] in range(seats_of(game))
    assert driver.view(2) == table.view_for(None)  # the spectator saw the end too
    # Every change was committed, in order, and the log rebuilds the room.
    assert table.journal == []
    assert [a.seq for a in table.history] == sorted({a.seq for a in table.history})
    again = Table.replay(table.id, table.name, table.game_kind, len(table.seats),
                         table.history)
    assert views(again) == views(table)
    # The person got every change exactly once.
    seqs = [m["seq"] for m in states(driver.inbox[1])]
    assert seqs == list(range(1, table.seq + 1))


# --- disconnects, grace, rejoining ---------------------------------------------------------


def test_a_disconnect_marks_the_seat_and_sets_the_grace_deadline(game):
    driver = Driver()
    table = driver.full_room(game, people=2, bots=seats_of(game) - 2)
    fx = driver.handle(Disconnect(2))
    key = ("grace", table.id, USERS[2].id)
    assert Deadline(key, driver.now + SETTINGS.grace_seconds) in fx.deadlines
    assert [a.kind for c in fx.commits for a in c.actions] == ["disconnect@1"]
    (message,) = deliveries_by_conn(fx)[1]
    assert message["event"] == {"type": "disconnect", "seat": 1}
    assert message["table"]["seats"][1]["connected"] is False
    assert 2 not in deliveries_by_conn(fx)
    assert table.seats[1].human and not table.seats[1].connected


def test_when_the_grace_period_ends_a_bot_takes_the_seat(game):
    driver = Driver()
    table = driver.full_room(game, people=2, bots=seats_of(game) - 2)
    driver.handle(Disconnect(2))
    key = ("grace", table.id, USERS[2].id)
    driver.deadlines.pop(("bot", table.id), None)  # bots wait: only the grace timer fires
    fx = driver.fire(key)
    assert [a.kind for c in fx.commits for a in c.actions] == ["expire@1"]
    (message,) = states(deliveries_by_conn(fx)[1])
    assert message["event"] == {"type": "replace", "seat": 1, "reason": "timeout"}
    entry = message["table"]["seats"][1]
    assert entry["bot"] is True and entry["user"]["id"] == USERS[2].id
    assert table.seats[1].bot


def test_rejoining_cancels_the_grace_deadline(game):
    driver = Driver()
    table = driver.full_room(game, people=2, bots=seats_of(game) - 2)
    hand = driver.view(2)["game_state"]["hand"]
    driver.handle(Disconnect(2))
    key = ("grace", table.id, USERS[2].id)
    assert driver.engine.deadline(key) is not None
    driver.now += SETTINGS.grace_seconds / 2
    driver.sign_in(12, USERS[2])  # a new connection of the same user
    fx = driver.handle(Join(12, table.id, re="back"))
    assert fx.error is None
    assert Deadline(key, None) in fx.deadlines and driver.engine.deadline(key) is None
    assert [a.kind for c in fx.commits for a in c.actions] == ["sit@1"]
    (message,) = states(deliveries_by_conn(fx)[12])
    assert message["event"] == {"type": "connect", "seat": 1} and message["re"] == "back"
    assert message["table"]["you"] == 1
    assert message["table"]["game_state"]["hand"] == hand
    assert table.seats[1].connected and table.seats[1].human


# --- failed commits ---------------------------------------------------------------------------


def test_a_failed_commit_rolls_the_room_back_with_what_was_pipelined_on_it(game):
    driver = Driver()
    seats = seats_of(game)
    table = driver.full_room(game, people=seats, spectators=1)
    before = views(table)
    history = table.history
    driver.hold = True
    # Two moves, the second made on top of the first before either is committed (its player
    # has not seen the first yet: the move is the bot's choice in the room as it is).
    moves = []
    for _ in range(2):
        seat = table.to_act()[0]
        moves.append((seat + 1, table.rules.move_to_json(
            table.game.bot_move(table.player_of(seat)))))
        assert driver.handle(Move(*moves[-1])).error is None
    assert len(driver.held) == 2 and len(table.journal) == 2
    one, two = driver.held
    fx = driver.fail(one)  # the move log refuses the second one too
    assert views(table) == before
    assert table.journal == [] and table.history == history
    # The room's timers try again shortly; nothing is committed or sent for the rollback.
    assert Deadline(("sync", table.id), driver.now + RETRY_SECONDS) in fx.deadlines
    assert fx.commits == [] and fx.deliveries == []
    # The later commit was undone with the first: its result does not matter any more.
    driver.engine.committed(table.id, two.token)
    assert driver.engine.commit_failed(table.id, two.token, driver.now).commits == []
    assert views(table) == before
    # Everyone still has the last state that was committed.
    for conn in range(1, seats + 2):
        assert driver.view(conn) == table.view_for(None if conn > seats else conn - 1)
    # The room works on: the same moves again, committed this time.
    driver.hold = False
    for conn, move in moves:
        assert driver.handle(Move(conn, move)).error is None
    assert len(table.history) == len(history) + 2 and table.journal == []


def test_a_failed_commit_of_a_join_puts_the_joiner_out_again(game):
    driver = Driver()
    table = driver.full_room(game, people=2)
    before = views(table)
    driver.sign_in(3)
    driver.hold = True
    driver.join(3, table)
    (commit,) = driver.held
    fx = driver.fail(commit)
    assert views(table) == before
    assert driver.engine.room_of(3) is None
    assert {"msg": "left", "room": table.id} in deliveries_by_conn(fx)[3]


def test_a_room_whose_creation_was_never_committed_is_dropped(game):
    driver = Driver(hold=True)
    driver.sign_in(1)
    table = driver.create(1, game)
    (commit,) = driver.held
    fx = driver.fail(commit)
    assert driver.engine.lobby.get(table.id) is None
    assert driver.engine.room_of(1) is None
    assert fx.room_list_changed


# --- closing rooms ----------------------------------------------------------------------------


@pytest.mark.parametrize("playing", [False, True])
def test_the_room_closes_when_its_last_person_leaves(game, playing):
    driver = Driver()
    bots = seats_of(game) - 1 if playing else 0
    table = driver.full_room(game, people=1, bots=bots, spectators=1)
    assert (table.status.value == "playing") is playing
    fx = driver.handle(Leave(1, re="bye"))
    (commit,) = fx.commits
    assert commit.close is True and commit.room is table
    assert [a.kind for a in commit.actions] == ["leave@1"]
    received = deliveries_by_conn(fx)
    assert received[1] == [{"msg": "left", "room": table.id, "re": "bye"}]
    # The spectator sees the leave, then is told the room is gone.
    *seen, last = received[2]
    assert last == {"msg": "left", "room": table.id}
    assert [m["event"]["type"] for m in seen] == ["replace" if playing else "leave"]
    assert driver.engine.lobby.get(table.id) is None
    assert driver.engine.room_of(1) is None and driver.engine.room_of(2) is None
    assert not any(key[1] == table.id for key in driver.deadlines)
    assert driver.engine.room_list()["rooms"] == []


def test_a_spectator_leaving_does_not_close_the_room(game):
    driver = Driver()
    table = driver.full_room(game, people=2, spectators=1)
    fx = driver.handle(Leave(3, re="bye"))
    assert [c.close for c in fx.commits] == [False]
    assert [a.kind for c in fx.commits for a in c.actions] == ["unwatch@1"]
    assert deliveries_by_conn(fx)[3] == [{"msg": "left", "room": table.id, "re": "bye"}]
    assert driver.engine.lobby.get(table.id) is table


# --- deliveries -------------------------------------------------------------------------------


def test_every_member_gets_one_state_per_change_with_only_its_own_hand(game):
    driver = Driver()
    seats = seats_of(game)
    table = driver.full_room(game, people=seats - 1, bots=1, spectators=2)
    members = range(1, seats + 2)
    seen = {conn: len(driver.inbox[conn]) for conn in members}
    for _ in range(30):
        start = table.seq
        acting = [c for c in range(1, seats) if seat_of(driver, c) in table.to_act()]
        fx = driver.play_for(acting[0]) if acting else driver.fire_next()
        received = deliveries_by_conn(fx)
        changes = table.seq - start
        for conn in members:
            messages = states(received[conn])
            assert [m["seq"] for m in messages] == list(range(start + 1, table.seq + 1))
            assert len(messages) == changes
            for message in messages:
                view = message["table"]
                state = view["game_state"]
                if conn > seats - 1:  # a spectator
                    assert view["you"] is None and "hand" not in state
                else:
                    player = table.players.index(conn - 1)
                    assert view["you"] == conn - 1
                    assert len(state["hand"]) == state["cards"][player]
                    if message["seq"] == table.seq and table.status.value == "playing":
                        # Its own hand, as it is now (the other hands: test_hidden_cards.py).
                        assert state["hand"] == [str(c) for c in table.game.hand(player)]
        if table.status.value != "playing":
            break
    # Nothing but states was sent, and nothing twice.
    for conn in members:
        sent = driver.inbox[conn][seen[conn]:]
        assert all(m["msg"] == "state" for m in sent)
        assert len({m["seq"] for m in sent}) == len(sent)


def test_equal_views_share_one_message_object(game):
    driver = Driver()
    table = driver.full_room(game, people=2, spectators=2)
    fx = driver.handle(Join(3, table.id, spectator=True, re="again"))
    # Already watching: nothing changes; the state is sent again, to that connection only.
    assert fx.commits == [] and [d.conn for d in fx.deliveries] == [3]
    assert fx.deliveries[0].message["re"] == "again"
    driver.sign_in(5)
    fx = driver.join(5, table, spectator=True)
    messages = {d.conn: d.message for d in fx.deliveries}
    assert messages[3] is messages[4]  # the two spectators
    assert messages[5] is not messages[3] and messages[5]["re"] == "join-5"
    assert {**messages[5]} == {**copy.deepcopy(messages[3]), "re": "join-5"}


# --- the room list ----------------------------------------------------------------------------


def test_the_room_list(game):
    driver = Driver()
    driver.sign_in(1)
    driver.sign_in(2)
    fx = driver.handle(RoomList(1, re="list"))
    assert [d.message for d in fx.deliveries] == [{"msg": "room_list", "rooms": [], "re": "list"}]
    assert fx.commits == [] and not fx.room_list_changed
    table = driver.create(1, game)
    assert driver.engine.lobby_connections() == [2]
    fx = driver.handle(RoomList(2))
    (delivery,) = fx.deliveries
    assert delivery.message == {"msg": "room_list", "rooms": [
        {"id": table.id, "name": f"{game} room", "game": game, "seats": seats_of(game),
         "players": 1, "spectators": 0, "status": "waiting", "owner_name": USERS[1].name}]}
    fx = driver.handle(Start(1))
    assert fx.error.code == "game_not_started"  # one player is not enough for either game
