"""Revision 0006 (issue 12, items 9 and 13): user ids are never given twice, and games whose
room closed while they ran are `abandoned`, not `playing` for ever.

A sign-in token names a user by id. SQLite gives a new row the largest id plus one unless the
table is AUTOINCREMENT, so without it the token of a deleted user signs in as the next user
made; PostgreSQL's sequences never go back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DataError, IntegrityError

from game_server.storage import UserStore, make_engine, migrate

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
CLOSED_AT = datetime(2026, 3, 1, 13, tzinfo=UTC)


def _execute(url: str, sql: str, **params) -> list:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql), params)
            return result.all() if result.returns_rows else []
    finally:
        engine.dispose()


def _delete_user(url: str, user_id: int) -> None:
    _execute(url, "DELETE FROM users WHERE id = :id", id=user_id)


def test_a_deleted_users_id_is_never_given_to_another_user(database_url):
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    try:
        store = UserStore(engine)
        ada = store.add("Ada")
        _delete_user(database_url, ada.id)
        bob = store.add("Bob")
        assert bob.id != ada.id
        assert store.get(ada.id) is None  # Ada's token names no one now
        # Also when the deleted user is not the newest but the newest goes too.
        cid = store.add("Cid")
        _delete_user(database_url, cid.id)
        assert store.add("Dan").id > cid.id
    finally:
        engine.dispose()


def _rooms_and_games(url: str) -> None:
    """At 0005: a closed room with a running game and a finished one, and an open room with
    a running game."""
    for room, status, closed_at in (("room-closed", "closed", CLOSED_AT),
                                    ("room-open", "open", None)):
        _execute(url, "INSERT INTO rooms (id, name, game, seats, server_id, status, created_at, "
                      "closed_at) VALUES (:id, 'x', 'crazy_eights', 2, 's1', :status, :at, "
                      ":closed_at)", id=room, status=status, at=AT, closed_at=closed_at)
    for game_id, room, number, status in ((1, "room-closed", 1, "finished"),
                                          (2, "room-closed", 2, "playing"),
                                          (3, "room-open", 1, "playing")):
        _execute(url, "INSERT INTO games (id, room_id, number, game, server_id, seed, dealer, "
                      "status, started_at, finished_at, winner) VALUES (:id, :room, :number, "
                      "'crazy_eights', 's1', 7, 0, :status, :at, :finished_at, :winner)",
                 id=game_id, room=room, number=number, status=status, at=AT,
                 finished_at=AT if status == "finished" else None,
                 winner=0 if status == "finished" else None)


def _games(url: str) -> list[tuple]:
    rows = _execute(url, "SELECT id, status, finished_at FROM games ORDER BY id")
    return [(row.id, row.status, row.finished_at is not None) for row in rows]


def test_0006_up_and_down(database_url):
    migrate.upgrade(database_url, "0005")
    for name in ("Ada", "Bob"):
        _execute(database_url, "INSERT INTO users (name, created_at) VALUES (:name, :at)",
                 name=name, at=AT)
    _rooms_and_games(database_url)
    # Before 0006 a game cannot be abandoned.
    with pytest.raises((IntegrityError, DataError)):  # PostgreSQL: too long for varchar(8)
        _execute(database_url, "UPDATE games SET status = 'abandoned' WHERE id = 3")

    migrate.upgrade(database_url, "0006")
    # The running game of the closed room is abandoned when the room closed; the others stay.
    assert _games(database_url) == [(1, "finished", True), (2, "abandoned", True),
                                    (3, "playing", False)]
    [(finished_at,)] = _execute(database_url, "SELECT finished_at FROM games WHERE id = 2")
    finished_at = finished_at if isinstance(finished_at, datetime) else datetime.fromisoformat(
        finished_at).replace(tzinfo=UTC)
    assert finished_at == CLOSED_AT
    # Users keep their ids, and ids are not given again.
    users = _execute(database_url, "SELECT id, name FROM users ORDER BY id")
    assert [tuple(row) for row in users] == [(1, "Ada"), (2, "Bob")]
    _delete_user(database_url, 2)
    engine = make_engine(database_url)
    try:
        assert UserStore(engine).add("Cid").id == 3
        if database_url.startswith("sqlite"):
            with engine.connect() as connection:
                sql = connection.execute(text(
                    "SELECT sql FROM sqlite_master WHERE name = 'users'")).scalar_one()
            assert "AUTOINCREMENT" in sql.upper()
        indexes = {index["name"] for index in inspect(engine).get_indexes("users")}
        assert "ix_users_name_key" in indexes
    finally:
        engine.dispose()

    migrate.downgrade(database_url, "0005")
    assert migrate.current(database_url) == "0005"
    # Abandoned games are running ones again, as 0005 knew them.
    assert _games(database_url) == [(1, "finished", True), (2, "playing", False),
                                    (3, "playing", False)]
    users = _execute(database_url, "SELECT id, name FROM users ORDER BY id")
    assert [tuple(row) for row in users] == [(1, "Ada"), (3, "Cid")]
    if database_url.startswith("sqlite"):
        [(sql,)] = _execute(database_url, "SELECT sql FROM sqlite_master WHERE name = 'users'")
        assert "AUTOINCREMENT" not in sql.upper()
    migrate.upgrade(database_url)  # and up again
    assert _games(database_url)[1] == (2, "abandoned", True)
