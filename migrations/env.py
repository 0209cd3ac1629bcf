"""Alembic environment for the game server's database.

Used both by ``game_server.storage.migrate`` (``game-server migrate``, tests) and by developers
running ``alembic`` from the repository root with ``alembic.ini``. The database URL is the
Config's ``sqlalchemy.url`` when set, else ``GAME_DATABASE_URL``, else ``sqlite:///game.db``.
A caller may also hand over an open connection as ``config.attributes["connection"]``.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.pool import NullPool

from game_server.storage.db import make_engine, normalize_url
from game_server.storage.models import Base

DEFAULT_URL = "sqlite:///game.db"

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None:
    # Only when run through alembic.ini; the server's own logging stays as the server set it.
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    return (
        config.get_main_option("sqlalchemy.url")
        or os.environ.get("GAME_DATABASE_URL")
        or DEFAULT_URL
    )


def run_migrations_offline() -> None:
    """Print the SQL (``alembic upgrade head --sql``) instead of running it."""
    url = normalize_url(database_url())
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.get_backend_name() == "sqlite",
        transactional_ddl=True if url.get_backend_name() == "sqlite" else None,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    options = {}
    if sqlite:
        # SQLite cannot ALTER most things: batch mode copies the table instead. The engine
        # emits BEGIN itself (see storage/db.py), so DDL is transactional and a failed
        # upgrade leaves nothing half done.
        options = {"render_as_batch": True, "transactional_ddl": True}
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        **options,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            # Foreign keys are off while tables are copied; check nothing was left dangling.
            problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise RuntimeError(f"migration broke foreign keys: {problems[:5]!r}")


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    # Foreign keys off on SQLite: batch mode drops and recreates tables, which would cascade.
    engine = make_engine(database_url(), sqlite_foreign_keys=False, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
