"""The move log's asynchronous PostgreSQL connection (`storage.pg_async`): round trips driven
by the event loop, refused statements, lost and silent servers."""

from __future__ import annotations

import threading
import time

import psycopg2
import pytest

from game_server.storage import make_engine
from game_server.storage.db import connect_params, round_trip_deadline
from game_server.storage.pg_async import AsyncConnection

from storage_helpers import Proxy


@pytest.fixture
def params(postgres_url) -> dict:
    engine = make_engine(postgres_url, timeout=2.5)
    try:
        yield connect_params(engine)
    finally:
        engine.dispose()


async def test_statements_run_on_the_loop_thread_with_the_engines_settings(params):
    connection = await AsyncConnection.open(params, deadline=2.5)
    try:
        threads = {thread.name for thread in threading.enumerate()}
        rows = await connection.query(b"SELECT 1; SHOW statement_timeout; SHOW search_path")
        assert rows[0][0].startswith("test_")  # the last statement's rows: the test's schema
        assert await connection.query(b"SHOW statement_timeout") == [("2500ms",)]
        assert await connection.query(b"SELECT %(a)s + 1", {"a": 41}) == [(42,)]
        assert await connection.query(b"SET application_name = 'x'") == []
        assert {thread.name for thread in threading.enumerate()} == threads
    finally:
        connection.close()
    assert connection.closed


async def test_a_refused_statement_leaves_the_connection_usable(params):
    connection = await AsyncConnection.open(params)
    try:
        with pytest.raises(psycopg2.errors.DivisionByZero):
            await connection.query(b"BEGIN; SELECT 1 / 0; COMMIT")
        assert not connection.closed
        await connection.query(b"ROLLBACK")
        assert await connection.query(b"SELECT 2") == [(2,)]
        with pytest.raises(psycopg2.DataError, match="NUL"):
            connection.mogrify(b"SELECT %s", ("a\x00b",))
    finally:
        connection.close()


async def test_a_silent_server_fails_the_round_trip_within_the_deadline(params):
    proxy = Proxy(params["host"], int(params.get("port", 5432)))
    try:
        connection = await AsyncConnection.open({**params, "port": proxy.port}, deadline=0.5)
        proxy.freeze()
        started = time.monotonic()
        with pytest.raises(psycopg2.OperationalError, match="within 0.5 s"):
            await connection.query(b"SELECT 1")
        assert time.monotonic() - started < 0.5 + 1.0
        assert connection.closed  # what the server did is unknown: the connection is gone
        started = time.monotonic()
        with pytest.raises(psycopg2.OperationalError, match="within 0.5 s"):
            await AsyncConnection.open({**params, "port": proxy.port}, deadline=0.5)
        assert time.monotonic() - started < 0.5 + 1.0
    finally:
        proxy.stop()


async def test_a_lost_server_fails_at_once_and_closes_the_connection(params):
    proxy = Proxy(params["host"], int(params.get("port", 5432)))
    try:
        connection = await AsyncConnection.open({**params, "port": proxy.port})
        proxy.down()
        with pytest.raises(psycopg2.OperationalError):
            await connection.query(b"SELECT 1")
        assert connection.closed
    finally:
        proxy.stop()


def test_the_deadline_and_parameters_come_from_the_engine(postgres_url):
    timed = make_engine(postgres_url, timeout=1.5)
    plain = make_engine(postgres_url)
    try:
        assert round_trip_deadline(timed) == 1.5 and round_trip_deadline(plain) is None
        params = connect_params(timed)
        assert "statement_timeout=1500" in params["options"]
        assert "search_path" in params["options"]  # the URL's own options are kept
        assert "connection_factory" not in params
    finally:
        timed.dispose()
        plain.dispose()
    with pytest.raises(ValueError):
        connect_params(make_engine("sqlite://"))
