"""Database engines and sessions: one place that knows how to connect to SQLite and PostgreSQL.

Edge layer: imports SQLAlchemy only, nothing from the layers above.

SQLite (the embedded default, ``sqlite:///game.db``) gets foreign keys switched on, WAL for file
databases (readers do not block the writer), ``check_same_thread`` off so executor threads can
use pooled connections, and real transactions: SQLAlchemy emits ``BEGIN`` itself instead of the
``sqlite3`` module's legacy mode, which would run SELECT and DDL outside any transaction.
PostgreSQL URLs without a driver use psycopg2 (SQLAlchemy 2.1 would otherwise pick psycopg 3).

Durability of the embedded default: WAL with ``synchronous=NORMAL``. A commit is written to the
WAL file but not synced to the disk; the WAL is synced at each checkpoint. So a committed move
survives a killed or crashed server process (the operating system still holds the write and
the next open replays the WAL), but a power cut or a kernel crash may lose the last commits
(never corrupt the database). ``FULL`` would sync the WAL at every commit: on a shared or slow
disk that sync is part of every move's latency. Production runs PostgreSQL, whose commits are
synced (its own ``synchronous_commit``).

Deadlines (``timeout``, the server's GAME_DB_TIMEOUT): a database that hangs must fail a call
as quickly as one that refuses, or every move, room list and sign-in queued behind the call
waits with it. On PostgreSQL each round trip (connecting, a statement, the commit) must be
answered within the deadline: the server cancels a statement that runs longer
(``statement_timeout``), and the client gives up on a connection that stays silent (a wait
callback with a deadline, below; the connection is closed and the call raises
``OperationalError``). TCP keepalives and ``tcp_user_timeout`` cannot do the latter alone: a
hung server's kernel still acknowledges every byte. On SQLite the deadline is the busy
timeout: how long a writer waits for another's lock.
"""

from __future__ import annotations

import math
import select
import time
import weakref
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

__all__ = [
    "connect_params",
    "is_sqlite",
    "make_engine",
    "normalize_url",
    "round_trip_deadline",
    "session_factory",
]

#: What make_engine gave each PostgreSQL engine's connections: the ``connect_args`` (besides
#: the URL's) and the deadline, for code that connects without the pool (`connect_params`).
_POSTGRESQL_SETTINGS: weakref.WeakKeyDictionary[Engine, tuple[dict[str, Any], float | None]] = (
    weakref.WeakKeyDictionary())


def normalize_url(url: str | URL) -> URL:
    """Parse a database URL, choosing psycopg2 for ``postgresql://`` and ``postgres://``.

    Raises:
        sqlalchemy.exc.ArgumentError: the URL cannot be parsed.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed


def make_engine(url: str | URL, *, sqlite_foreign_keys: bool = True,
                timeout: float | None = None, **options: Any) -> Engine:
    """Create an engine for a SQLite or PostgreSQL URL with this project's settings.

    ``timeout`` (seconds) is the deadline of every round trip to the database (see the
    module's docstring); ``None`` sets none, for migrations and tools that may run long
    statements. ``sqlite_foreign_keys=False`` is for migrations only: Alembic's batch mode
    recreates SQLite tables, which must not cascade or fail on foreign keys half way. Other
    keyword arguments go to :func:`sqlalchemy.create_engine`.

    Raises:
        sqlalchemy.exc.ArgumentError: the URL cannot be parsed.
        ValueError: the database is neither SQLite nor PostgreSQL, or ``timeout`` is not
            positive.
    """
    if timeout is not None and not timeout > 0:
        raise ValueError(f"a database timeout is a positive number of seconds, not {timeout!r}")
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    options.setdefault("pool_pre_ping", True)
    if backend == "sqlite":
        return _make_sqlite_engine(parsed, sqlite_foreign_keys, timeout, options)
    if backend == "postgresql":
        if timeout is not None:
            parsed, options = _postgresql_deadlines(parsed, timeout, options)
        engine = create_engine(parsed, **options)
        _POSTGRESQL_SETTINGS[engine] = (dict(options.get("connect_args", {})), timeout)
        return engine
    raise ValueError(f"unsupported database {backend!r}: use sqlite:// or postgresql:// URLs")


def _postgresql_deadlines(url: URL, timeout: float,
                          options: dict[str, Any]) -> tuple[URL, dict[str, Any]]:
    """The URL and engine options that give every round trip to PostgreSQL `timeout`."""
    import psycopg2.extensions

    connect_args = dict(options.pop("connect_args", {}))
    milliseconds = max(1, round(timeout * 1000))
    # Cancelled by the server: a statement (and a lock wait) running longer.
    server_options = f"-c statement_timeout={milliseconds}"
    given = connect_args.pop("options", None) or url.query.get("options")
    if given:
        server_options = f"{given} {server_options}"
    connect_args["options"] = server_options
    url = url.difference_update_query(["options"])
    # libpq counts whole seconds, at least 2; the wait callback below holds to `timeout`.
    connect_args.setdefault("connect_timeout", max(2, math.ceil(timeout)))
    # A peer that vanished (no acknowledgements at all) is noticed on idle and busy
    # connections alike.
    connect_args.setdefault("keepalives", 1)
    connect_args.setdefault("keepalives_idle", max(1, math.ceil(timeout)))
    connect_args.setdefault("keepalives_interval", 1)
    connect_args.setdefault("keepalives_count", 3)
    if psycopg2.extensions.libpq_version() >= 120000:
        connect_args.setdefault("tcp_user_timeout", milliseconds)
    # Heard nothing within the deadline: the wait callback gives up on the connection.
    connect_args["connection_factory"] = _deadline_connection(timeout)
    _install_wait_callback()
    options["connect_args"] = connect_args
    # A call that waits for a pooled connection waits no longer than for the database.
    options.setdefault("pool_timeout", timeout)
    return url, options


def connect_params(engine: Engine) -> dict[str, Any]:
    """The keyword arguments of ``psycopg2.connect`` for a connection like the pooled ones of
    a PostgreSQL `engine` (its URL, and the ``connect_args`` make_engine gave it: deadlines,
    keepalives, server options), without a ``connection_factory``: for a connection made
    outside the pool, such as the move log's asynchronous one.

    Raises:
        ValueError: the engine is not PostgreSQL.
    """
    if engine.dialect.name != "postgresql":
        raise ValueError(f"not a PostgreSQL engine: {engine.dialect.name}")
    _, params = engine.dialect.create_connect_args(engine.url)
    connect_args, _ = _POSTGRESQL_SETTINGS.get(engine, ({}, None))
    params = {**params, **connect_args}
    params.pop("connection_factory", None)
    return params


def round_trip_deadline(engine: Engine) -> float | None:
    """The deadline (seconds) of each round trip of `engine`'s connections: the ``timeout``
    given to make_engine, None without one (and for SQLite, whose deadline is the busy
    timeout)."""
    return _POSTGRESQL_SETTINGS.get(engine, ({}, None))[1]


_DEADLINE_CONNECTIONS: dict[float, type] = {}


def _deadline_connection(timeout: float) -> type:
    """A psycopg2 connection class whose round trips the wait callback limits to `timeout`."""
    import psycopg2.extensions

    if timeout not in _DEADLINE_CONNECTIONS:
        _DEADLINE_CONNECTIONS[timeout] = type(
            "DeadlineConnection", (psycopg2.extensions.connection,),
            {"deadline": timeout, "__module__": __name__})
    return _DEADLINE_CONNECTIONS[timeout]


def _install_wait_callback() -> None:
    """Make psycopg2 wait for the server through `_wait` (its "green" mode), once per process.

    The callback is global to psycopg2; connections without a deadline (not made by an engine
    with a ``timeout``) wait as long as it takes, as psycopg2 itself would. It serves the
    blocking connections (the pool's, used from executor threads: sign-ins, room hosting,
    history); asynchronous connections (``async_=1``, the move log's) never call it, they are
    polled by the event loop with deadlines of their own (``pg_async``).
    """
    import psycopg2.extensions

    if psycopg2.extensions.get_wait_callback() is not _wait:
        psycopg2.extensions.set_wait_callback(_wait)


def _wait(connection: Any) -> None:
    """Wait for the server to answer one round trip, at most the connection's `deadline`.

    Raises:
        psycopg2.OperationalError: no answer in time; psycopg2 closes the connection (its state
            is unknown), and SQLAlchemy counts that as a disconnect and drops it from the pool.
    """
    import psycopg2
    import psycopg2.extensions as extensions

    limit = getattr(connection, "deadline", None)
    end = None if limit is None else time.monotonic() + limit
    while True:
        try:
            state = connection.poll()
            if state == extensions.POLL_OK:
                return
            if state == extensions.POLL_READ:
                events = select.POLLIN
            elif state == extensions.POLL_WRITE:
                events = select.POLLOUT
            else:
                raise psycopg2.OperationalError(f"unexpected poll state {state!r}")
            remaining = None if end is None else max(0.0, end - time.monotonic())
            # poll(), not select(): a busy server's descriptors go past FD_SETSIZE.
            poller = select.poll()
            poller.register(connection.fileno(), events)
            ready = poller.poll(None if remaining is None else math.ceil(remaining * 1000))
        except KeyboardInterrupt:
            connection.cancel()  # as psycopg2.extras.wait_select: let the server stop
            continue
        if not ready:
            raise psycopg2.OperationalError(
                f"the database did not answer within {limit:g} s (GAME_DB_TIMEOUT)")


def _make_sqlite_engine(url: URL, foreign_keys: bool, timeout: float | None,
                        options: dict[str, Any]) -> Engine:
    in_memory = _is_sqlite_memory(url)
    connect_args = dict(options.pop("connect_args", {}))
    connect_args.setdefault("check_same_thread", False)
    if timeout is not None:
        # The busy timeout: how long a writer waits for another connection's write lock.
        connect_args.setdefault("timeout", timeout)
    if in_memory:
        # Every new connection to ":memory:" would be a new, empty database: share one.
        options.setdefault("poolclass", StaticPool)
    engine = create_engine(url, connect_args=connect_args, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: pysqlite issues no BEGIN of its own, so PRAGMAs run
        # outside a transaction here and _on_begin below decides where transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                # No sync per commit: a killed process loses nothing, a power cut may lose
                # the last commits (the module's docstring says why this trade).
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


def _is_sqlite_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or url.query.get("mode") == "memory"


def is_sqlite(engine: Engine) -> bool:
    """Whether the engine talks to SQLite (one writer at a time) rather than PostgreSQL."""
    return engine.dialect.name == "sqlite"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A ``sessionmaker`` bound to ``engine``; loaded objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
