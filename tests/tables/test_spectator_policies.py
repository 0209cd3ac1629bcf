"""Spectator policies at the room engine (tables/watching.py): `none` refuses spectators,
`public` shows every change as it happens, `delayed` keeps spectators `spectator_delay` moves
behind; no spectator ever gets a hand while a game runs; a spectator arriving late gets the
public log of the game; the room list shows the policy; a replayed room keeps it all."""

from __future__ import annotations

import json

import pytest

from game_server.rules import GAMES
from game_server.tables import Table
from game_server.tables.requests import AddBot, Create, Join, Move
from engine_helpers import Driver, states

ANN, BOB, CID, DEE = 1, 2, 3, 4


def room(driver: Driver, game: str, policy: str | None, delay: int | None = None,
         people: int = 2) -> Table:
    """Ann opens a room of `game` with the policy; Cid watches from the start; Bob (when
    `people` is 2) and bots fill it, which deals."""
    for conn in (ANN, BOB, CID, DEE):
        driver.sign_in(conn)
    extra = {} if policy is None else {"spectators": policy}
    if delay is not None:
        extra["spectator_delay"] = delay
    fx = driver.handle(Create(ANN, "watched", game, GAMES[game].DEFAULT_SEATS, re="c", **extra))
    assert fx.error is None, fx.error
    table = driver.engine.room_of(ANN)
    if policy != "none":
        driver.join(CID, table, spectator=True)
    if people == 2:
        driver.join(BOB, table)
    while table.status.value == "waiting":
        assert driver.handle(AddBot(ANN)).error is None
    return table


def play_until(driver: Driver, table: Table, moves: int | None = None) -> None:
    """The people play what their views suggest and the bots' timers fire, until `moves` more
    moves were made (None: the end of the game)."""
    target = None if moves is None else _moves(table) + moves
    for _ in range(5000):
        if table.status.value != "playing" or (target is not None and _moves(table) >= target):
            return
        person = next((conn for conn in (ANN, BOB) if driver.engine.room_of(conn) is table
                       and table.seat_of(conn) in table.to_act()
                       and not table.seats[table.seat_of(conn)].bot), None)
        if person is not None:
            assert driver.play_for(person).error is None
        else:
            driver.fire_next()
    raise AssertionError("the game did not end")


def _moves(table: Table) -> int:
    return sum(event["type"] == "move" for _, event in table.public_log())


def hands_in(message: dict) -> bool:
    state = (message.get("table") or {}).get("game_state") or {}
    return "hand" in state or ("hands" in state and message["table"]["status"] == "playing")


def test_none_refuses_spectators_and_changes_nothing():
    driver = Driver()
    table = room(driver, "crazy_eights", "none")
    seq, commits = table.seq, len(driver.commits)
    fx = driver.handle(Join(DEE, table.id, spectator=True, re="w"))
    assert fx.error.code == "no_spectators"
    assert not fx.deliveries and not fx.commits and table.seq == seq
    assert len(driver.commits) == commits and table.spectators == set()
    assert driver.engine.room_list()["rooms"][0]["spectator_policy"] == "none"
    assert table.view_for(0)["spectator_policy"] == "none"
    # Players still play; the policy is not about them.
    play_until(driver, table, 4)


def test_bad_policies_are_refused():
    driver = Driver()
    driver.sign_in(ANN)
    for extra in ({"spectators": "secret"}, {"spectators": "delayed", "spectator_delay": 0},
                  {"spectators": "delayed", "spectator_delay": 21},
                  {"spectators": "public", "spectator_delay": 3}):
        fx = driver.handle(Create(ANN, "x", "crazy_eights", 2, re="c", **extra))
        assert fx.error.code == "bad_message", extra
        assert driver.engine.room_of(ANN) is None and not fx.commits


@pytest.mark.parametrize("game", sorted(GAMES))
@pytest.mark.parametrize("policy", [None, "public", "delayed"])
def test_a_spectator_never_gets_a_hand_while_the_game_runs(game, policy):
    driver = Driver()
    table = room(driver, game, policy, people=2 if game == "crazy_eights" else 1)
    play_until(driver, table, 60 if game == "hearts" else 6)
    assert table.status.value == "playing"
    # Dee arrives late, mid-game.
    driver.join(DEE, table, spectator=True)
    play_until(driver, table)
    for conn in (CID, DEE):
        got = driver.inbox[conn]
        running = [m for m in got if (m.get("table") or {}).get("status") == "playing"]
        assert running and not any(hands_in(m) for m in running)
        # Events are the public ones: no private version (a card taken, cards passed).
        for message in got:
            event = (message.get("event") or {}).get("move") or {}
            assert not (event.get("type") == "take" and "card" in event)
            assert not (event.get("type") == "pass" and "cards" in event)
    # After the game the reveal is everyone's: the finished view opens the deals.
    assert "deck_reveals" in driver.view(CID) and driver.view(CID)["status"] == "finished"


def test_public_spectators_see_every_change_as_it_happens():
    driver = Driver()
    table = room(driver, "crazy_eights", None)
    play_until(driver, table, 5)
    assert driver.state(CID)["seq"] == table.seq
    assert driver.view(CID) == table.view_for(None)
    assert "spectator_policy" not in driver.engine.room_list()["rooms"][0]  # public
    assert "spectator_policy" not in table.view_for(None)


def test_delayed_spectators_are_kept_behind_in_order_and_catch_up_at_the_end():
    driver = Driver()
    table = room(driver, "crazy_eights", "delayed", delay=3)
    summary = driver.engine.room_list()["rooms"][0]
    assert (summary["spectator_policy"], summary["spectator_delay"]) == ("delayed", 3)
    log: dict[int, dict] = {}
    for _ in range(40):
        play_until(driver, table, 1)
        log.update(table.public_log())
        if table.status.value != "playing":
            break
        seen = driver.state(CID)["seq"]
        # At least 3 moves were made after what the spectator sees, and fewer after the
        # change that follows it: they are exactly 3 moves behind.
        after = [seq for seq in log if seq > seen]
        moves_after = sum(log[seq]["type"] == "move" for seq in after)
        # (In the first moves of the game: the room before the deal, no move shown yet.)
        assert moves_after >= min(3, _moves(table))
        assert sum(log[seq]["type"] == "move" for seq in after[1:]) < 3
        assert seen < table.seq
    seqs = [m["seq"] for m in states(driver.inbox[CID])]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    # Every change reaches the spectator, with the event everyone was told then.
    first = min(log)
    for message in states(driver.inbox[CID]):
        if message["seq"] >= first and "event" in message:
            assert message["event"] == log[message["seq"]]
    play_until(driver, table)
    last = driver.state(CID)
    assert last["seq"] == table.seq and last["table"]["status"] == "finished"
    assert last["table"] == table.view_for(None)
    assert [m["seq"] for m in states(driver.inbox[CID])][-5:] == list(
        range(table.seq - 4, table.seq + 1))


def test_a_late_spectator_gets_the_public_log_then_the_state():
    driver = Driver()
    table = room(driver, "crazy_eights", None)
    play_until(driver, table, 8)
    before = table.seq
    driver.inbox[DEE].clear()
    driver.join(DEE, table, spectator=True)
    got = driver.inbox[DEE]
    events, state = got[:-1], got[-1]
    assert all(m["msg"] == "event" for m in events) and state["msg"] == "state"
    assert events[0]["event"]["type"] == "start"
    assert [m["seq"] for m in events] == list(range(events[0]["seq"], before + 1))
    assert [(m["seq"], m["event"]) for m in events] == table.public_log(before)
    assert state["seq"] == before + 1 and state["event"] == {"type": "watch"}
    assert events[-1]["re"] == "join-4" and state["re"] == "join-4"


def test_a_late_spectator_of_a_delayed_room_gets_nothing_newer_than_the_delay_allows():
    driver = Driver()
    table = room(driver, "crazy_eights", "delayed", delay=4)
    play_until(driver, table, 9)
    driver.inbox[DEE].clear()
    driver.join(DEE, table, spectator=True)
    got = driver.inbox[DEE]
    state = got[-1]
    assert state["msg"] == "state" and state["re"] == "join-4"
    assert state["seq"] == driver.state(CID)["seq"] < table.seq
    assert state["table"] == driver.view(CID)
    assert all(m["seq"] <= state["seq"] for m in got)
    moves_seen = sum(m["event"]["type"] == "move" for m in got if m["msg"] == "event")
    assert moves_seen == _moves(table) - 4


def test_a_delayed_room_replays_with_its_policy_and_what_spectators_see():
    driver = Driver()
    table = room(driver, "hearts", "delayed", delay=5, people=1)
    play_until(driver, table, 30)
    table.committed()
    replayed = Table.replay(table.id, table.name, table.game_kind, len(table.seats),
                            table.history)
    assert (replayed.spectator_policy, replayed.spectator_delay) == ("delayed", 5)
    assert replayed.spectator_state() == table.spectator_state()
    assert replayed.public_log() == table.public_log()
    assert json.dumps(replayed.summary(), sort_keys=True) == json.dumps(table.summary(),
                                                                        sort_keys=True)
