"""Fixtures for database tests: every test runs on SQLite and on PostgreSQL, each in a fresh,
empty database of its own.

SQLite: a file in the test's tmp_path. PostgreSQL: a uniquely named schema in the database of
``TEST_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``), selected through
``search_path`` and dropped afterwards, so concurrent runs never see each other's tables and
only the right to create schemas in one database is needed.

Without a reachable PostgreSQL the PostgreSQL cases are skipped with the reason, unless
``GAME_REQUIRE_POSTGRES=1`` (as in CI): then they fail.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from game_server.storage import UserStore, make_engine, migrate, normalize_url
from game_server.tables import Player

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _postgres_base_url() -> URL:
    return normalize_url(os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine | str]:
    """An engine on the PostgreSQL test database, or the reason it cannot be reached."""
    url = _postgres_base_url()
    engine = make_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as error:
        engine.dispose()
        first_line = str(error.orig or error).strip().splitlines()[0]
        yield (
            f"PostgreSQL at {url.render_as_string(hide_password=True)} is unreachable "
            f"({first_line}); start it or set TEST_DATABASE_URL to run these tests"
        )
        return
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_admin: Engine | str) -> Iterator[str]:
    """The URL of a new, empty schema that is dropped after the test."""
    if isinstance(postgres_admin, str):
        if os.environ.get("GAME_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"GAME_REQUIRE_POSTGRES=1 but {postgres_admin}", pytrace=False)
        pytest.skip(postgres_admin)
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with postgres_admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = postgres_admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with postgres_admin.begin() as connection:
        # An engine a test forgot to dispose of must not hang the run.
        connection.execute(text("SET LOCAL lock_timeout = '10s'"))
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A URL of an empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'game.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on ``database_url``, disposed of after the test."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


# --- the move log and game history ---------------------------------------------------------
# Helpers shared by test_movelog.py and test_history.py live in storage_helpers.py next to this
# file; with --import-mode=importlib its folder must be on sys.path to import it.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def migrated(database_url: str, engine: Engine) -> Engine:
    """``engine`` on a database migrated to the newest revision."""
    migrate.upgrade(database_url)
    return engine


@pytest.fixture
def players(migrated: Engine) -> list[Player]:
    """Ann, Bob, Cid and Dan as users of the database, as tables see them."""
    store = UserStore(migrated)
    return [Player(user.id, user.name) for user in map(store.add, ("Ann", "Bob", "Cid", "Dan"))]
