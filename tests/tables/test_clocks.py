"""Turn clocks (game_server/tables/clock.py) in the room engine, on the driver's injected
clock: deadlines, the time bank, timeouts played by the bot, away seats, and clocks that go on
from where they were after a replay (restart or takeover)."""

from __future__ import annotations

import pytest
from engine_helpers import Driver
from table_helpers import views

from game_server.rules import GAMES
from game_server.tables import Table
from game_server.tables.requests import Back, Create, Join, Recover, Timer

CLOCK = {"move": 30, "bank": 60}


def clocked_room(driver: Driver, game: str = "crazy_eights", people: int = 2,
                 seats: int | None = None, clock: dict | None = None) -> Table:
    """A room with a turn clock and `people` people (connections 1..people), dealt once
    full."""
    for conn in range(1, people + 1):
        driver.sign_in(conn)
    seats = seats or people
    fx = driver.handle(Create(1, "clocked", game, seats, re="c", clock=clock or CLOCK))
    assert fx.error is None, fx.error
    table = driver.engine.room_of(1)
    for conn in range(2, people + 1):
        assert driver.handle(Join(conn, table.id)).error is None
    return table


def conn_to_act(driver: Driver, table: Table) -> int:
    seat = table.to_act()[0]
    return next(conn for conn in range(1, 9) if table.seat_of(conn) == seat)


def clock_key(table: Table, seat: int) -> tuple:
    return ("clock", table.id, seat)


def test_a_room_without_a_clock_has_none():
    driver = Driver()
    driver.full_room("crazy_eights", people=2, bots=2)
    table = driver.engine.room_of(1)
    assert "clock" not in driver.view(1)
    assert not [key for key in driver.deadlines if key[0] == "clock"]
    assert [a.kind for a in table.history][:1] == ["sit@1"]
    assert all(a.clock is None for a in table.history)


def test_the_clock_runs_for_the_seat_to_act_and_shows_its_deadline_in_server_time():
    driver = Driver()
    table = clocked_room(driver)
    opened = table.history[0]
    assert opened.kind == "open@1" and opened.options == {"clock": CLOCK}
    assert opened.clock == {"at": 1000.0}
    view = driver.view(1)
    seat = table.to_act()[0]
    assert view["clock"] == {"move": 30, "bank": 60, "now": 1000.0, "away": [],
                             "running": [{"seat": seat, "deadline": 1030.0, "bank": 60}]}
    # The timer is set where the move time and the whole bank are used up.
    assert driver.deadlines[clock_key(table, seat)] == 1090.0
    other = 1 - seat
    assert clock_key(table, other) not in driver.deadlines


def test_a_slow_move_spends_the_bank_and_is_logged_with_its_time_and_bank():
    driver = Driver()
    table = clocked_room(driver)
    seat = table.to_act()[0]
    conn = conn_to_act(driver, table)
    driver.now += 45.0  # 15 s over the move time
    fx = driver.play_for(conn)
    assert fx.error is None
    action = table.history[-1]
    assert action.kind == "move@1" and action.clock == {"at": 1045.0, "bank": 45.0}
    assert table.clock.bank(seat) == 45.0
    running = driver.view(1)["clock"]["running"]
    # Whoever acts now has a fresh move time from 1045.
    assert all(entry["deadline"] == 1075.0 for entry in running)
    for entry in running:
        assert driver.deadlines[clock_key(table, entry["seat"])] == 1075.0 + entry["bank"]
    if seat not in table.to_act():
        assert clock_key(table, seat) not in driver.deadlines
    # A quick move costs nothing.
    conn = conn_to_act(driver, table)
    mover = table.to_act()[0]
    before = table.clock.bank(mover)
    driver.now += 5.0
    driver.play_for(conn)
    assert table.clock.bank(mover) == before


def test_a_timeout_makes_the_bots_move_and_two_in_a_row_mark_the_seat_away():
    driver = Driver()
    table = clocked_room(driver)
    seat = table.to_act()[0]
    fx = driver.fire(clock_key(table, seat))
    assert fx.error is None
    kinds = [a.kind for a in table.history]
    assert kinds[-1] == "timeout@1" and table.history[-1].seat == seat
    assert table.history[-1].move is not None
    events = [m.get("event") for m in driver.inbox[1][-2:]]
    assert events[0]["type"] == "move" and events[0]["seat"] == seat
    assert events[1] == {"type": "timeout", "seat": seat, "away": False}
    assert table.clock.bank(seat) == 0.0 and table.clock.timeouts[seat] == 1
    # Play on until the seat's clock runs again, and let it run out again: away.
    while seat not in table.clock_deadlines():
        other = conn_to_act(driver, table)
        driver.now += 1.0
        driver.play_for(other)
    assert driver.deadlines[clock_key(table, seat)] == driver.now + 30.0  # no bank left
    driver.fire(clock_key(table, seat))
    assert driver.view(1)["clock"]["away"] == [seat]
    assert table.history[-1].kind == "timeout@1"
    # Away: the bot plays the seat at bot pace, its clock does not run.
    while seat not in table.to_act():
        driver.now += 1.0
        driver.play_for(conn_to_act(driver, table))
    assert clock_key(table, seat) not in driver.deadlines
    assert ("bot", table.id) in driver.deadlines
    assert table.bots_to_act() == [seat]
    driver.fire(("bot", table.id))
    assert table.history[-1].kind == "move@1" and table.history[-1].seat == seat
    # `back` brings the player back: their clock runs again when they may act.
    conn = next(c for c in (1, 2) if table.seat_of(c) == seat)
    fx = driver.handle(Back(conn, re="b"))
    assert fx.error is None
    assert driver.state(conn)["event"] == {"type": "back", "seat": seat}
    assert driver.state(conn)["re"] == "b"
    assert driver.view(conn)["clock"]["away"] == []
    assert table.clock.timeouts[seat] == 0
    # `back` when not away only answers the state.
    fx = driver.handle(Back(conn, re="b2"))
    assert fx.error is None and not fx.commits
    assert driver.state(conn)["re"] == "b2" and "event" not in driver.state(conn)


def test_an_away_players_own_move_brings_them_back():
    driver = Driver()
    table = clocked_room(driver)
    seat = table.to_act()[0]
    table.clock.away.add(seat)  # as after two timeouts
    conn = conn_to_act(driver, table)
    driver.play_for(conn)
    assert [a.kind for a in table.history[-2:]] == ["move@1", "back@1"]
    assert seat not in table.clock.away


def test_a_timer_that_fires_early_or_late_for_a_stale_turn_does_nothing_wrong():
    driver = Driver()
    table = clocked_room(driver)
    seat = table.to_act()[0]
    # Early: set again for the real deadline.
    fx = driver.handle(Timer(clock_key(table, seat)))
    assert not fx.commits
    assert any(d.key == clock_key(table, seat) and d.at == 1090.0 for d in fx.deadlines)
    # For a seat whose clock no longer runs: nothing.
    other = 1 - seat
    fx = driver.handle(Timer(clock_key(table, other)))
    assert not fx.commits and fx.error is None


def test_several_clocks_run_at_once_in_hearts_pass():
    driver = Driver()
    table = clocked_room(driver, "hearts", people=4)
    running = driver.view(1)["clock"]["running"]
    assert [entry["seat"] for entry in running] == table.to_act() == [0, 1, 2, 3]
    driver.now += 10.0
    driver.play_for(1)  # seat 0 passes: its clock stops, the others run on
    running = {e["seat"]: e for e in driver.view(2)["clock"]["running"]}
    assert sorted(running) == [1, 2, 3] and running[1]["deadline"] == 1030.0
    assert clock_key(table, 0) not in driver.deadlines


def test_out_of_bounds_clocks_are_refused():
    driver = Driver()
    driver.sign_in(1)
    for clock in ({"move": 1, "bank": 60}, {"move": 30, "bank": -1}, {"move": 30},
                  {"move": True, "bank": 0}):
        fx = driver.handle(Create(1, "x", "crazy_eights", 2, clock=clock))
        assert fx.error.code == "bad_message" and not fx.commits
    assert len(driver.engine.lobby) == 0


def test_after_a_restart_the_clocks_go_on_from_where_they_were():
    driver = Driver()
    table = clocked_room(driver)
    seat = table.to_act()[0]
    driver.now += 50.0
    driver.play_for(conn_to_act(driver, table))  # 20 s of the bank spent
    mover = seat
    later = table.to_act()[0]
    driver.now += 12.0  # the next seat has thought 12 s when the server stops
    deadline = table.clock_deadlines()[later]
    # A new server replays the log at a later time, and hosts the room again.
    replayed = Table.replay(table.id, table.name, table.game_kind, len(table.seats),
                            table.history)
    assert replayed.clock.bank(mover) == 40.0
    assert replayed.clock_deadlines() == {later: deadline}
    assert views(replayed) == views(table)
    other = Driver(now=driver.now + 100.0)
    fx = other.handle(Recover((replayed,)))
    assert fx.error is None
    # The deadline is the old one (already past): the timer fires at once, not 90 s later.
    assert other.deadlines[clock_key(replayed, later)] == deadline
    other.now = max(other.now, deadline)
    other.deadlines[clock_key(replayed, later)] = other.now
    other.fire(clock_key(replayed, later))
    assert replayed.history[-1].kind == "timeout@1"
    assert replayed.history[-1].clock["at"] == driver.now + 100.0


def test_replaying_timeouts_and_away_gives_the_same_clocks():
    driver = Driver()
    table = clocked_room(driver)
    for _ in range(12):
        if table.status.value != "playing":
            break
        key = min((k for k in driver.deadlines), key=lambda k: driver.deadlines[k])
        driver.fire(key)
    replayed = Table.replay(table.id, table.name, table.game_kind, len(table.seats),
                            table.history)
    assert replayed.clock == table.clock
    assert views(replayed) == views(table)


@pytest.mark.parametrize("game", sorted(GAMES))
def test_every_game_plays_to_the_end_on_timeouts_alone(game):
    driver = Driver()
    people = GAMES[game].MIN_PLAYERS
    table = clocked_room(driver, game, people=people, clock={"move": 5, "bank": 0})
    for _ in range(2000):
        if table.status.value != "playing":
            break
        driver.fire_next()
    assert table.status.value == "finished"
    assert "timeout@1" in {a.kind for a in table.history}


def test_a_failed_commit_puts_the_clocks_back_as_they_were():
    driver = Driver()
    table = clocked_room(driver)
    seat = table.to_act()[0]
    before = table.clock_deadlines()
    driver.hold = True
    driver.now += 40.0
    driver.play_for(conn_to_act(driver, table))
    assert table.clock_deadlines() != before
    (commit,) = driver.held
    driver.fail(commit)
    # The move was undone: the mover's clock runs from where it was, its bank untouched.
    assert table.clock_deadlines() == before and table.clock.bank(seat) == 60
    assert driver.deadlines[clock_key(table, seat)] == before[seat]
    assert [key for key in driver.deadlines if key[0] == "clock"] == [clock_key(table, seat)]


def test_a_refused_clock_leaves_the_creators_other_room_alone():
    driver = Driver()
    table = clocked_room(driver, people=1, seats=2)  # Ann waits in a room of her own
    fx = driver.handle(Create(1, "again", "crazy_eights", 2, clock={"move": 1, "bank": 0}))
    assert fx.error.code == "bad_message" and not fx.commits
    assert driver.engine.room_of(1) is table and table.is_seated(1)
