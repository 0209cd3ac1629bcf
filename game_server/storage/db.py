"""Database engines and sessions: one place that knows how to connect to SQLite and PostgreSQL.

Edge layer: imports SQLAlchemy only, nothing from the layers above.

SQLite (the embedded default, ``sqlite:///game.db``) gets foreign keys switched on, WAL for file
databases (readers do not block the writer), ``check_same_thread`` off so executor threads can
use pooled connections, and real transactions: SQLAlchemy emits ``BEGIN`` itself instead of the
``sqlite3`` module's legacy mode, which would run SELECT and DDL outside any transaction.
PostgreSQL URLs without a driver use psycopg2 (SQLAlchemy 2.1 would otherwise pick psycopg 3).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

__all__ = ["is_sqlite", "make_engine", "normalize_url", "session_factory"]


def normalize_url(url: str | URL) -> URL:
    """Parse a database URL, choosing psycopg2 for ``postgresql://`` and ``postgres://``.

    Raises:
        sqlalchemy.exc.ArgumentError: the URL cannot be parsed.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed


def make_engine(url: str | URL, *, sqlite_foreign_keys: bool = True, **options: Any) -> Engine:
    """Create an engine for a SQLite or PostgreSQL URL with this project's settings.

    ``sqlite_foreign_keys=False`` is for migrations only: Alembic's batch mode recreates SQLite
    tables, which must not cascade or fail on foreign keys half way. Other keyword arguments go
    to :func:`sqlalchemy.create_engine`.

    Raises:
        sqlalchemy.exc.ArgumentError: the URL cannot be parsed.
        ValueError: the database is neither SQLite nor PostgreSQL.
    """
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    options.setdefault("pool_pre_ping", True)
    if backend == "sqlite":
        return _make_sqlite_engine(parsed, sqlite_foreign_keys, options)
    if backend == "postgresql":
        return create_engine(parsed, **options)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:// or postgresql:// URLs")


def _make_sqlite_engine(url: URL, foreign_keys: bool, options: dict[str, Any]) -> Engine:
    in_memory = _is_sqlite_memory(url)
    connect_args = dict(options.pop("connect_args", {}))
    connect_args.setdefault("check_same_thread", False)
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
                # WAL is durable at commit with synchronous=FULL; NORMAL could lose the last
                # commits on power loss, and the move log must not.
                cursor.execute("PRAGMA synchronous = FULL")
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
