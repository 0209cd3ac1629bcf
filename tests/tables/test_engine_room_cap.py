"""The cap on rooms per user (issue 12, item 5): a user can keep only so many rooms that they
opened waiting in the lobby at once, so that one user cannot crowd the lobby's list."""

from __future__ import annotations

from dataclasses import replace

from engine_helpers import SETTINGS, USERS, Driver

from game_server.tables import Status
from game_server.tables.requests import Create, Join, Leave, SignIn


def test_a_user_keeps_at_most_the_cap_of_waiting_rooms_they_opened() -> None:
    driver = Driver(settings=replace(SETTINGS, rooms_per_user=2))
    driver.sign_in(1)
    opened = []
    for guest in (2, 3):
        fx = driver.handle(Create(1, f"Room {guest}", "crazy_eights", 3))
        assert fx.error is None
        opened.append(driver.engine.room_of(1))
        driver.sign_in(guest)
        assert driver.handle(Join(guest, opened[-1].id)).error is None
    # Ann left the first room for the second; Bob kept it open. Both wait, both hers.
    assert [table.status for table in opened] == [Status.WAITING, Status.WAITING]
    before = driver.engine.room_of(1)
    fx = driver.handle(Create(1, "Third", "crazy_eights", 3, re="c"))
    assert fx.error.code == "too_many_rooms" and "2" in fx.error.text
    assert not fx.commits and not fx.deliveries
    assert driver.engine.room_of(1) is before and len(driver.engine.lobby) == 2
    # A room that started no longer waits in the lobby: it does not count.
    for guest in (4, 5):
        driver.sign_in(guest)
        assert driver.handle(Join(guest, opened[0].id)).error is None
    assert opened[0].status is Status.PLAYING
    assert driver.handle(Create(1, "Third", "crazy_eights", 3)).error is None


def test_the_room_a_creator_is_alone_in_does_not_count() -> None:
    """Creating again from a room one sits in alone closes that room: the cap is not hit."""
    driver = Driver(settings=replace(SETTINGS, rooms_per_user=1))
    driver.sign_in(1)
    for name in ("One", "Two", "Three"):
        assert driver.handle(Create(1, name, "hearts")).error is None
    assert [table.name for table in driver.engine.lobby] == ["Three"]
    assert driver.handle(Leave(1)).error is None
    assert driver.handle(Create(1, "Four", "hearts")).error is None


def test_the_default_cap_is_three() -> None:
    assert SETTINGS.rooms_per_user == 3
    driver = Driver()
    driver.handle(SignIn(1, USERS[1]))
    for guest in (2, 3, 4):
        assert driver.handle(Create(1, "r", "crazy_eights", 3)).error is None
        driver.sign_in(guest)
        driver.handle(Join(guest, driver.engine.room_of(1).id))
    assert driver.handle(Create(1, "r", "crazy_eights", 3)).error.code == "too_many_rooms"
