"""Database deadlines (issue 12, item 6): a database that hangs (silent, not refusing) fails a
commit or a sign-in within GAME_DB_TIMEOUT (plus a little), as one that refuses would, and
the server goes on once it answers again.

PostgreSQL is put behind a TCP proxy that goes silent: it accepts and forwards, then
forwards nothing and closes nothing. Its kernel still acknowledges every byte, so TCP
keepalives and ``tcp_user_timeout`` cannot tell; only a deadline on each round trip can."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from game_server.config import ENVIRONMENT, Config, ConfigError
from game_server.storage import (
    AsyncUserStore,
    LogUnavailable,
    MoveLog,
    UserStore,
    make_engine,
    migrate,
    normalize_url,
)
from game_server.tables import Action, Player

from storage_helpers import Proxy, new_table

TIMEOUT = 1.0
#: What a failure may take beyond the deadline: thread hand-overs, a loaded test machine.
SLACK = 1.5


def sit(seq: int, player: Player) -> Action:
    return Action(seq=seq, kind="sit@1", game=0, user=player)


def watch(seq: int, player: Player) -> Action:
    return Action(seq=seq, kind="watch@1", game=0, user=player)


async def timed(awaitable) -> tuple[float, BaseException | None]:
    """How long `awaitable` took, and what it raised (a hang shows as TimeoutError)."""
    started = time.monotonic()
    try:
        await asyncio.wait_for(awaitable, TIMEOUT + 10)
    except (Exception, asyncio.TimeoutError) as error:  # noqa: BLE001 - returned
        return time.monotonic() - started, error
    return time.monotonic() - started, None


async def test_a_silent_postgresql_fails_commits_and_sign_ins_within_the_deadline(
        postgres_url, caplog):
    caplog.set_level(logging.WARNING)
    migrate.upgrade(postgres_url)
    url = normalize_url(postgres_url)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    engine = make_engine(url.set(host="127.0.0.1", port=proxy.port), timeout=TIMEOUT)
    users = AsyncUserStore(UserStore(engine))
    log = MoveLog(engine, "server-t")
    try:
        ann = await users.add("Ann")
        ann = Player(ann.id, ann.name)
        table = new_table("room-hung", 2)
        await log.record(table, [sit(1, ann)])

        proxy.freeze()
        # A commit on the writer's open connection, then one that must connect afresh.
        for seq in (2, 3):
            seconds, error = await timed(log.record(table, [watch(seq, ann)]))
            assert isinstance(error, LogUnavailable), error
            assert seconds < TIMEOUT + SLACK
        # Another user's sign-in looks the user up: it fails in time too.
        seconds, error = await timed(users.get(ann.id))
        assert isinstance(error, OperationalError), error
        assert seconds < TIMEOUT + SLACK

        proxy.thaw()
        # The database answers again: the next commit and sign-in go through.
        await asyncio.wait_for(log.record(table, [watch(2, ann)]), 10)
        assert (await asyncio.wait_for(users.get(ann.id), 10)).name == "Ann"
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM moves")).scalar_one() == 2
    finally:
        proxy.stop()
        log.close()
        users.close()
        engine.dispose()
    assert not [r for r in caplog.records if r.exc_info], "no tracebacks"


def test_postgresql_sessions_carry_the_statement_timeout(postgres_url):
    engine = make_engine(postgres_url, timeout=2.5)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "2500ms"
            # The test's own options (its search_path) are kept.
            assert connection.execute(text("SHOW search_path")).scalar_one().startswith("test_")
    finally:
        engine.dispose()


def test_sqlite_waits_for_the_write_lock_no_longer_than_the_deadline(tmp_path):
    url = f"sqlite:///{tmp_path / 'game.db'}"
    migrate.upgrade(url)
    engine = make_engine(url, timeout=0.3)
    holder = make_engine(url)
    locked = holder.connect()
    try:
        locked.exec_driver_sql("UPDATE rooms SET seats = seats WHERE 0")  # BEGIN; write lock
        started = time.monotonic()
        with pytest.raises(OperationalError, match="locked"):
            UserStore(engine).add("Ann")
        assert time.monotonic() - started < 0.3 + SLACK
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 300
    finally:
        locked.close()
        holder.dispose()
        engine.dispose()


def test_without_a_timeout_nothing_is_set(tmp_path):
    # Migrations and tools may run long statements: no deadline unless asked for.
    engine = make_engine(f"sqlite:///{tmp_path / 'game.db'}", timeout=None)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 5000
    finally:
        engine.dispose()


def test_the_setting():
    assert Config().db_timeout == 5.0
    assert Config.from_env({"GAME_DB_TIMEOUT": "2.5"}).db_timeout == 2.5
    assert Config.from_env({"GAME_DB_TIMEOUT": "0"}).db_timeout == 0  # 0: no deadlines
    with pytest.raises(ConfigError, match="GAME_DB_TIMEOUT"):
        Config.from_env({"GAME_DB_TIMEOUT": "soon"})
    assert "GAME_DB_TIMEOUT" in {name for name, _, _ in ENVIRONMENT}


async def test_the_server_uses_the_setting(game_server_factory):
    running = await game_server_factory(db_timeout=0.25)
    with running.server.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 250
