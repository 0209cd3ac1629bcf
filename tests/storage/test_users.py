"""UserStore and AsyncUserStore against a migrated SQLite and PostgreSQL database."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import DataError, IntegrityError

from game_server.storage import (
    AsyncUserStore,
    InvalidName,
    NameTaken,
    UserInfo,
    UserStore,
    clean_name,
    migrate,
    session_factory,
)
from game_server.storage.models import User


@pytest.fixture
def store(database_url: str, engine: Engine) -> UserStore:
    migrate.upgrade(database_url)
    return UserStore(engine)


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Ada", "Ada"),
        ("  Ada Lovelace\t", "Ada Lovelace"),
        ("x", "x"),
        ("a" * 40, "a" * 40),
        (" " + "b" * 40 + " ", "b" * 40),
        ("Zoë", "Zoë"),
        ("Zoe\u0308", "Zoë"),  # combining diaeresis: stored composed (NFC)
        ("李小龍", "李小龍"),
        ("player 2", "player 2"),
        ("007 agent", "007 agent"),
        ("٤٢", "٤٢"),  # Arabic-Indic digits are not ids
        ("👩‍👩‍👧", "👩‍👩‍👧"),  # emoji joined by U+200D stays allowed
    ],
)
def test_clean_name_accepts(given, stored):
    assert clean_name(given) == stored


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\t\n", "empty"),
        ("a" * 41, "at most 40"),
        ("Ada\x00", "U+0000"),
        ("Ada\nBob", "U+000A"),
        ("Ada\x7f", "U+007F"),
        ("Ada\x9b", "U+009B"),
        ("Ada\u202eboB", "U+202E"),
        ("Ada\u2028Bob", "U+2028"),
        ("Ada\ud800", "U+D800"),
        ("42", "only digits"),
        (" 0007 ", "only digits"),
        (None, "text"),
        (42, "text"),
    ],
)
def test_clean_name_rejects(name, message):
    with pytest.raises(InvalidName, match=re.escape(message)):
        clean_name(name)
    assert issubclass(InvalidName, ValueError)


# --- UserStore ------------------------------------------------------------------------------


def test_add_and_get(store):
    ada = store.add("Ada")
    bob = store.add("  Bob ")
    assert ada == UserInfo(ada.id, "Ada")
    assert bob.name == "Bob"
    assert isinstance(ada.id, int) and ada.id != bob.id
    assert store.get(ada.id) == ada
    assert store.get(bob.id) == bob
    assert store.by_name("Ada") == ada
    assert store.by_name(" Bob") == bob


def test_user_info_is_a_small_frozen_value(store):
    ada = store.add("Ada")
    assert type(ada) is UserInfo
    assert {f.name for f in dataclasses.fields(ada)} == {"id", "name"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        ada.name = "Eve"
    assert {ada, store.get(ada.id)} == {ada}


def test_add_duplicate_is_a_value_error(store):
    store.add("Ada")
    with pytest.raises(NameTaken, match="taken"):
        store.add("Ada")
    with pytest.raises(ValueError):
        store.add(" Ada  ")


def test_duplicate_after_normalisation(store):
    store.add("Zoë")
    with pytest.raises(NameTaken):
        store.add("Zoe\u0308")
    assert store.by_name("Zoe\u0308").name == "Zoë"


def test_names_are_case_sensitive(store):
    assert store.add("ada").id != store.add("Ada").id


@pytest.mark.parametrize("name", ["", "a" * 41, "bad\x01name", "123"])
def test_add_invalid_name(store, name):
    with pytest.raises(InvalidName):
        store.add(name)


def test_forty_characters_fit_the_column(store):
    long_name = "é" * 40  # 40 characters, 80 bytes in UTF-8
    assert store.get(store.add(long_name).id).name == long_name


def test_missing_users(store):
    ada = store.add("Ada")
    assert store.get(ada.id + 1000) is None
    assert store.get(0) is None
    assert store.get(-1) is None
    assert store.get(2**31) is None  # beyond the column's range: no database error
    assert store.get(2**70) is None
    assert store.by_name("Bob") is None
    assert store.by_name("") is None
    assert store.by_name("x" * 100) is None


def test_get_rejects_non_integers(store):
    with pytest.raises(TypeError):
        store.get("1")
    with pytest.raises(TypeError):
        store.get(True)


def test_get_or_create(store):
    first = store.get_or_create("Ada")
    assert store.get_or_create(" Ada ") == first
    assert store.get(first.id) == first
    with pytest.raises(InvalidName):
        store.get_or_create("")


def test_get_or_create_under_a_race(store):
    # Many threads ask for the same new name at once: exactly one user results.
    barrier = threading.Barrier(8)

    def create(_: int) -> UserInfo:
        barrier.wait(timeout=10)
        return store.get_or_create("Racer")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = set(pool.map(create, range(8)))
    assert len(results) == 1
    assert store.by_name("Racer") in results


def test_find_by_id_or_name(store):
    ada = store.add("Ada")
    assert store.find(str(ada.id)) == ada
    assert store.find(f" {ada.id} ") == ada
    assert store.find("Ada") == ada
    assert store.find(" Ada ") == ada
    assert store.find("999999") is None
    assert store.find("99999999999999999999999") is None
    assert store.find("Nobody") is None
    assert store.find("") is None
    assert store.find(f"#{ada.id}") is None  # not decimal: a name, and no one has it


def test_created_at_is_aware_utc(store, engine):
    before = datetime.now(UTC)
    ada = store.add("Ada")
    after = datetime.now(UTC)
    with session_factory(engine)() as session:
        row = session.get(User, ada.id)
        assert row.created_at.tzinfo is UTC
        assert before - timedelta(seconds=1) <= row.created_at <= after + timedelta(seconds=1)


def test_naive_datetimes_are_refused(store, engine):
    with session_factory(engine)() as session:
        session.add(User(name="Naive", created_at=datetime(2026, 1, 1)))
        with pytest.raises(Exception, match="naive datetime"):
            session.commit()


def test_database_refuses_bad_names_written_around_the_store(store, engine):
    # SQLite has only the CHECK constraint; PostgreSQL also the VARCHAR(40) length.
    now = datetime.now(UTC)
    for name in ("", "x" * 41):
        with pytest.raises((IntegrityError, DataError)):
            with engine.begin() as connection:
                connection.execute(insert(User).values(name=name, created_at=now))
    with engine.connect() as connection:
        assert connection.execute(select(User.id)).all() == []


# --- AsyncUserStore -------------------------------------------------------------------------


class RecordingStore(UserStore):
    """A UserStore that notes the thread each call ran on."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.threads: list[int] = []

    def add(self, name):
        self.threads.append(threading.get_ident())
        return super().add(name)

    def get(self, user_id):
        self.threads.append(threading.get_ident())
        return super().get(user_id)

    def by_name(self, name):
        self.threads.append(threading.get_ident())
        return super().by_name(name)

    def find(self, name_or_id):
        self.threads.append(threading.get_ident())
        return super().find(name_or_id)


@pytest.fixture
def recording_store(database_url: str, engine: Engine) -> RecordingStore:
    migrate.upgrade(database_url)
    return RecordingStore(engine)


async def test_async_store_runs_off_the_event_loop_thread(recording_store):
    users = AsyncUserStore(recording_store)
    try:
        loop_thread = threading.get_ident()
        ada = await users.add("Ada")
        assert await users.get(ada.id) == ada
        assert await users.by_name("Ada") == ada
        assert await users.find(str(ada.id)) == ada
        assert await users.get_or_create("Ada") == ada
        bob = await users.get_or_create("Bob")
        assert bob.name == "Bob" and bob.id != ada.id
        assert recording_store.threads  # every method was recorded
        assert all(thread != loop_thread for thread in recording_store.threads)
    finally:
        users.close()


async def test_async_store_errors_arrive_as_the_same_exceptions(store):
    users = AsyncUserStore(store)
    try:
        await users.add("Ada")
        with pytest.raises(NameTaken):
            await users.add("Ada")
        with pytest.raises(InvalidName):
            await users.add("")
        assert await users.get(12345) is None
    finally:
        users.close()


async def test_async_store_uses_the_given_executor(recording_store):
    executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="given")
    names: list[str] = []
    original = recording_store.get

    def get(user_id):
        names.append(threading.current_thread().name)
        return original(user_id)

    recording_store.get = get
    users = AsyncUserStore(recording_store, executor)
    try:
        assert await users.get(1) is None
        assert names and names[0].startswith("given")
        users.close()  # not ours to shut down
        assert await users.get(2) is None
    finally:
        executor.shutdown()


async def test_slow_database_does_not_block_the_loop(store):
    class SlowStore(UserStore):
        def get(self, user_id):
            time.sleep(0.3)
            return super().get(user_id)

    users = AsyncUserStore(SlowStore(store.engine))
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        assert await users.get(1) is None
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        users.close()
    assert ticks >= 10
