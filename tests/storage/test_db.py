"""make_engine and session_factory: connection settings for SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, inspect, insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from game_server.storage import is_sqlite, make_engine, normalize_url, session_factory
from game_server.storage.models import User


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@db/game", "postgresql+psycopg2"),
        ("postgres://u@db/game", "postgresql+psycopg2"),
        ("postgresql+psycopg2://u@db/game", "postgresql+psycopg2"),
        ("sqlite:///game.db", "sqlite"),
    ],
)
def test_postgres_urls_use_psycopg2(url, driver):
    assert normalize_url(url).drivername == driver


def test_unsupported_database():
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        make_engine("mysql://u@db/game")


def test_sqlite_file_settings(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'game.db'}")
    try:
        assert is_sqlite(engine)
        assert engine.pool._pre_ping
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            # The durability the docs promise: no sync per commit (1 = NORMAL, 2 = FULL).
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1
        # Pooled connections may be used by another thread (an executor).
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        errors: list[BaseException] = []

        def use() -> None:
            try:
                with engine.connect() as connection:
                    connection.exec_driver_sql("SELECT 1")
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        thread = threading.Thread(target=use)
        thread.start()
        thread.join()
        assert errors == []
    finally:
        engine.dispose()


def test_sqlite_transactions_cover_ddl(tmp_path):
    # pysqlite's legacy mode would run CREATE TABLE outside any transaction.
    engine = make_engine(f"sqlite:///{tmp_path / 'game.db'}")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE TABLE t (a INTEGER)")
            connection.rollback()
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_sqlite_memory_database_is_shared(tmp_path):
    engine = make_engine("sqlite://")
    try:
        assert isinstance(engine.pool, StaticPool)
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (a INTEGER)")
        assert inspect(engine).get_table_names() == ["t"]
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced(engine):
    metadata = MetaData()
    parent = Table("parent", metadata, Column("id", Integer, primary_key=True))
    child = Table(
        "child",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("parent_id", Integer, ForeignKey("parent.id"), nullable=False),
    )
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(parent).values(id=1))
        connection.execute(insert(child).values(id=1, parent_id=1))
    with pytest.raises(IntegrityError):
        with engine.begin() as connection:
            connection.execute(insert(child).values(id=2, parent_id=99))


def test_pre_ping_is_on(engine):
    assert engine.pool._pre_ping
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1


def test_session_factory_keeps_objects_readable_after_commit(engine):
    User.metadata.create_all(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        user = User(name="Ada")
        session.add(user)
    assert user.name == "Ada" and user.id is not None  # no refresh needed after commit
