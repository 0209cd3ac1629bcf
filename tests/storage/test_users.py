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
from sqlalchemy import Engine, insert, inspect, select, text
from sqlalchemy.exc import DataError, IntegrityError

from game_server.storage import (
    AsyncUserStore,
    InvalidName,
    NameTaken,
    UserInfo,
    UserStore,
    clean_name,
    make_engine,
    migrate,
    session_factory,
)
from game_server.storage.models import User
from game_server.storage.users import Credentials, SeatedRoom, name_key


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
        self.batches: list[list[int]] = []

    def add(self, name):
        self.threads.append(threading.get_ident())
        return super().add(name)

    def get(self, user_id):
        self.threads.append(threading.get_ident())
        return super().get(user_id)

    def get_many(self, user_ids):
        self.threads.append(threading.get_ident())
        self.batches.append(sorted(user_ids))
        return super().get_many(user_ids)

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
    original = recording_store.get_many

    def get_many(user_ids):
        names.append(threading.current_thread().name)
        return original(user_ids)

    recording_store.get_many = get_many
    users = AsyncUserStore(recording_store, executor)
    try:
        assert await users.get(1) is None
        assert names and names[0].startswith("given")
        users.close()  # not ours to shut down
        assert await users.get(2) is None
    finally:
        executor.shutdown()


async def test_lookups_of_one_moment_share_one_query(recording_store):
    # A burst of sign-ins: every id asked for in the same loop iteration in one query.
    users = AsyncUserStore(recording_store)
    try:
        added = [await users.add(f"Burst{n}") for n in range(30)]
        recording_store.batches.clear()
        wanted = [user.id for user in added] + [added[0].id, 999_999]
        found = await asyncio.gather(*(users.get(user_id) for user_id in wanted))
        assert found == added + [added[0], None]
        assert recording_store.batches == [sorted(set(wanted))]
        # The next moment's lookups are a batch of their own.
        assert await users.get(added[1].id) == added[1]
        assert recording_store.batches[1:] == [[added[1].id]]
    finally:
        users.close()


async def test_a_failed_batch_fails_each_lookup_and_a_cancelled_one_spares_the_others(store):
    class FailingOnce(UserStore):
        failed = False

        def get_many(self, user_ids):
            if not self.failed:
                self.failed = True
                raise RuntimeError("database gone")
            return super().get_many(user_ids)

    users = AsyncUserStore(FailingOnce(store.engine))
    try:
        ada = await users.add("Ada")
        results = await asyncio.gather(users.get(ada.id), users.get(2),
                                       return_exceptions=True)
        assert [type(r) for r in results] == [RuntimeError, RuntimeError]
        first, second = asyncio.ensure_future(users.get(ada.id)), \
            asyncio.ensure_future(users.get(ada.id))
        await asyncio.sleep(0)
        first.cancel()
        assert await second == ada
        assert first.cancelled()
        with pytest.raises(TypeError):
            await users.get("1")
    finally:
        users.close()


async def test_slow_database_does_not_block_the_loop(store):
    class SlowStore(UserStore):
        def get_many(self, user_ids):
            time.sleep(0.3)
            return super().get_many(user_ids)

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


# --- names compared loosely, passwords (the main site) --------------------------------------


@pytest.mark.parametrize("name", [
    "Ada\u200bBob",  # zero-width space
    "Ada\u200cBob",  # zero-width non-joiner
    "Ada\u200dBob",  # zero-width joiner between letters
    "Ada\u200e",  # left-to-right mark
    "\ufeffAda",  # byte order mark
    "Ada\u00ad",  # soft hyphen
    "Ada\u2060",  # word joiner
    "Ada\u2066x\u2069",  # bidirectional isolate
    "\u3164",  # Hangul filler: a letter that shows nothing
    "Ada\ufe0f",  # emoji presentation after a letter: invisible
    "Ada\ue000",  # private use
])
def test_clean_name_refuses_invisible_characters(name):
    with pytest.raises(InvalidName, match=r"cannot contain U\+[0-9A-F]{4} \(an invisible"):
        clean_name(name)


@pytest.mark.parametrize("name", ["❤️ fan", "1️⃣ player", "👁️‍🗨️", "Zoë"])
def test_clean_name_keeps_emoji_sequences(name):
    assert clean_name(name) == name


@pytest.mark.parametrize(("one", "other"), [
    ("Ada", "ADA"), ("Ada", "ａｄａ"), ("Straße", "STRASSE"), ("Ada Lovelace", "ada  lovelace"),
    ("❤ fan", "❤️ fan"), ("Zoë", "ZOE\u0308"), ("ﬁona", "Fiona"),
])
def test_name_key_makes_look_alikes_equal(one, other):
    assert name_key(one) == name_key(other)


def test_name_key_keeps_different_names_apart():
    assert len({name_key(name) for name in ("Ada", "Adа", "Ada1", "A da")}) == 4  # Cyrillic а


def test_a_user_with_a_password_holds_the_name_in_every_spelling(store):
    ada = store.add("Ada", password_hash="scrypt$hash")
    for variant in ("ada", "ADA", "Ａｄａ", "Ada"):
        with pytest.raises(NameTaken, match="taken") as caught:
            store.add(variant, password_hash="scrypt$other")
        assert caught.value.holder in (None, "Ada")
    # Signing in finds the user in any spelling, with the hash.
    for variant in ("Ada", "ada", " ＡＤＡ "):
        assert store.credentials(variant) == Credentials(ada, "scrypt$hash")
    assert "scrypt$hash" not in repr(store.credentials("Ada"))


def test_dev_users_may_look_alike_but_only_the_first_holds_the_name(store):
    # The --dev sign-in (no password) keeps names case-sensitive, as before.
    first = store.add("bob")
    second = store.get_or_create("Bob")
    assert second.id != first.id
    assert store.credentials("BOB") == Credentials(first, None)  # no password: no sign-in
    with pytest.raises(NameTaken, match="'bob' is too much like it") as caught:
        store.add("BOB", password_hash="scrypt$hash")
    assert caught.value.holder == "bob"


def test_credentials_of_nobody(store):
    assert store.credentials("Nobody") is None
    assert store.credentials("") is None
    assert store.credentials("x" * 100) is None


def test_set_password_hash(store):
    ada = store.add("Ada", password_hash="scrypt$old")
    assert store.set_password_hash(ada.id, "scrypt$new")
    assert store.credentials("Ada").password_hash == "scrypt$new"
    assert not store.set_password_hash(ada.id + 100, "scrypt$new")
    with pytest.raises(ValueError):
        store.set_password_hash(ada.id, "x" * 256)


def test_sign_ups_of_look_alikes_at_once_leave_one_user(store):
    barrier = threading.Barrier(6)
    names = ["Racer", "RACER", "racer", "Ｒacer", "rAcer", "RaCeR"]

    def sign_up(name: str) -> UserInfo | None:
        barrier.wait(timeout=10)
        try:
            return store.add(name, password_hash="scrypt$hash")
        except NameTaken:
            return None

    with ThreadPoolExecutor(max_workers=6) as pool:
        created = [user for user in pool.map(sign_up, names) if user is not None]
    assert len(created) == 1


# --- the open room a user is seated in (invitations) -----------------------------------------


async def test_seated_room_follows_the_move_log(database_url, migrated, players):
    from game_server.storage import MoveLog
    from storage_helpers import Clock, commit, new_table

    ann, bob, cid, dan = players
    store = UserStore(migrated)
    clock = Clock()
    log = MoveLog(migrated, "server-a", clock=clock)
    try:
        first = new_table("r1", 3, name="First")
        first.sit(ann)
        first.sit(bob)
        first.leave(bob)
        await commit(log, first)
        clock.advance(minutes=1)  # Ann sits down in r2 after r1
        hearts = new_table("r2", 4, name="Hearts night", game="hearts")
        hearts.sit(ann)
        hearts.watch(cid)
        hearts.sit(dan)
        await commit(log, hearts)
        closed = new_table("r3", 3, name="Closed")
        closed.sit(dan)
        await commit(log, closed)
        await log.close_room("r3")

        assert store.seated_room(ann.id) == SeatedRoom("r2", "Hearts night", "hearts")
        assert store.seated_room(bob.id) is None  # left
        assert store.seated_room(cid.id) is None  # only watching
        assert store.seated_room(dan.id) == SeatedRoom("r2", "Hearts night", "hearts")
        hearts.leave(dan)
        await commit(log, hearts)
        assert store.seated_room(dan.id) is None  # the room they sat in last is closed
        assert store.seated_room(999) is None
    finally:
        log.close()


# --- migration 0005 ---------------------------------------------------------------------------


def _run_sql(url: str, sql: str, **params) -> list:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql), params)
            return result.all() if result.returns_rows else []
    finally:
        engine.dispose()


def test_0005_gives_each_name_key_to_its_oldest_user_and_goes_back(database_url):
    migrate.upgrade(database_url, "0004")
    for name in ("Ada", "ada", "Bob", "ＡＤＡ"):
        _run_sql(database_url, "INSERT INTO users (name, created_at) VALUES (:name, :at)",
                 name=name, at=datetime(2026, 1, 1, tzinfo=UTC))
    migrate.upgrade(database_url, "0005")
    rows = _run_sql(database_url, "SELECT name, name_key, password_hash FROM users ORDER BY id")
    assert [tuple(row) for row in rows] == [
        ("Ada", "ada", None), ("ada", None, None), ("Bob", "bob", None), ("ＡＤＡ", None, None)]
    engine = make_engine(database_url)
    try:
        store = UserStore(engine)
        assert store.credentials("ADA").user.name == "Ada"
        with pytest.raises(NameTaken):
            store.add("BOB", password_hash="scrypt$hash")
        assert store.add("Cid", password_hash="scrypt$hash").name == "Cid"
    finally:
        engine.dispose()

    migrate.downgrade(database_url, "0004")
    engine = make_engine(database_url)
    try:
        columns = {column["name"] for column in inspect(engine).get_columns("users")}
        assert columns == {"id", "name", "created_at"}
        indexes = {index["name"] for index in inspect(engine).get_indexes("users")}
        assert "ix_users_name_key" not in indexes
    finally:
        engine.dispose()
    names = [row.name for row in _run_sql(database_url, "SELECT name FROM users ORDER BY id")]
    assert names == ["Ada", "ada", "Bob", "ＡＤＡ", "Cid"]
    migrate.upgrade(database_url)  # and up again
