"""Fixtures for database tests. `database_url` (SQLite and PostgreSQL, each test in a fresh
empty database of its own) lives in tests/conftest.py, since the server tests use it too."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from game_server.storage import UserStore, make_engine, migrate
from game_server.tables import Player

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
