"""Quick play in the room engine, on the driver's injected clock: the waiting quick-play room
with the most players is chosen (or one is opened, with a turn clock), bots fill its empty
seats after the wait, and the one-room rule and the cap on waiting rooms hold."""

from __future__ import annotations

from engine_helpers import SETTINGS, Driver

from game_server.tables import EngineSettings, Table
from game_server.tables.requests import Create, Join, QuickPlay, Recover

WAIT = SETTINGS.quick_play_wait


def quick(driver: Driver, conn: int, game: str = "crazy_eights") -> Table:
    fx = driver.handle(QuickPlay(conn, game, re=f"q{conn}"))
    assert fx.error is None, fx.error
    assert driver.state(conn)["re"] == f"q{conn}"
    return driver.engine.room_of(conn)


def test_quick_play_opens_a_marked_room_with_a_clock_then_fills_it_with_bots():
    driver = Driver()
    driver.sign_in(1)
    table = quick(driver, 1)
    assert table.quick and table.clock is not None
    assert table.clock.settings.to_json() == {"move": 30.0, "bank": 60.0}
    assert table.history[0].kind == "open@1"
    assert table.history[0].options == {"clock": {"move": 30.0, "bank": 60.0}, "quick": True}
    assert driver.engine.room_list()["rooms"][0]["quick"] is True
    assert driver.deadlines[("fill", table.id)] == driver.now + WAIT
    driver.fire(("fill", table.id))
    assert table.status.value == "playing" and table.taken == len(table.seats)
    assert [s.bot for s in table.seats] == [False] + [True] * (len(table.seats) - 1)
    # The filled room replays the same (bots added in the owner's name).
    again = Table.replay(table.id, table.name, table.game_kind, len(table.seats),
                         table.history)
    assert again.quick and again.status.value == "playing"
    assert "quick" not in [room.get("quick") for room in driver.engine.room_list()["rooms"]
                           if room["status"] == "waiting"]


def test_quick_play_joins_the_waiting_room_with_the_most_players():
    driver = Driver()
    for conn in range(1, 6):
        driver.sign_in(conn)
    first = quick(driver, 1)
    # A second quick room, opened while the first one was... full of one player: Bob joins
    # the first (most players: 1 vs none), Cid too.
    assert quick(driver, 2) is first
    assert quick(driver, 3) is first
    assert first.taken == 3
    # A plain room is never a quick-play room.
    fx = driver.handle(Create(4, "plain", "crazy_eights", 2))
    assert fx.error is None
    plain = driver.engine.room_of(4)
    assert not plain.quick and "quick" not in plain.summary()
    # Another game: its own quick room.
    hearts = quick(driver, 5, "hearts")
    assert hearts is not first and hearts.game_kind == "hearts"
    # The fourth player fills the room: it starts at once, the fill timer does nothing.
    assert quick(driver, 4) is first
    assert first.status.value == "playing"
    assert plain.id not in [t.id for t in driver.engine.lobby]  # Dee left her plain room
    driver.fire(("fill", first.id))
    assert first.taken == 4 and all(not s.bot for s in first.seats)


def test_quick_play_prefers_the_fullest_room():
    driver = Driver()
    for conn in range(1, 5):
        driver.sign_in(conn)
    small = quick(driver, 1)
    # Bob's own quick room (opened while none was waiting: fake it by filling Ann's view).
    fx = driver.handle(Create(2, "x", "crazy_eights", 4))
    assert fx.error is None
    big = driver.engine.room_of(2)
    big.quick = True
    assert driver.handle(Join(3, big.id)).error is None
    assert quick(driver, 4) is big  # two players beat one
    assert small.taken == 1


def test_quick_play_again_keeps_the_seat_and_respects_the_one_room_rule():
    driver = Driver()
    driver.sign_in(1)
    table = quick(driver, 1)
    commits = len(driver.commits)
    assert quick(driver, 1) is table and table.taken == 1
    assert len(driver.commits) == commits  # nothing changed
    driver.fire(("fill", table.id))  # now playing
    driver.sign_in(9, driver.engine._conns[1].user)  # Ann on another connection
    fx = driver.handle(QuickPlay(9, "crazy_eights"))
    assert fx.error.code == "already_in_room"


def test_quick_play_counts_towards_the_rooms_per_user():
    driver = Driver(settings=EngineSettings(bot_delay=0.5, grace_seconds=30.0,
                                            rooms_per_user=1))
    driver.sign_in(1)
    driver.sign_in(2)
    assert driver.handle(Create(1, "mine", "hearts")).error is None
    assert driver.handle(Join(2, driver.engine.room_of(1).id)).error is None
    # Ann sits in a room she opened that waits for players, with Bob: a quick room would be
    # her second.
    fx = driver.handle(QuickPlay(1, "crazy_eights"))
    assert fx.error.code == "too_many_rooms"
    fx = driver.handle(QuickPlay(1, "no_such_game"))
    assert fx.error.code == "bad_message"


def test_a_recovered_quick_room_waits_again_then_fills():
    driver = Driver()
    driver.sign_in(1)
    table = quick(driver, 1)
    again = Table.replay(table.id, table.name, table.game_kind, len(table.seats),
                         table.history)
    other = Driver(now=driver.now + 500)
    other.handle(Recover((again,)))
    assert other.deadlines[("fill", again.id)] == other.now + WAIT
    other.fire(("fill", again.id))
    assert again.status.value == "playing"
