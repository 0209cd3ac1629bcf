"""SQLAlchemy models: the database tables, and nothing else.

Edge layer: imports SQLAlchemy only. Callers outside ``game_server.storage`` never see these
classes; the stores (``users.py``, later the game store) return small frozen values instead.

Conventions, for the tables that follow ``users`` (games, seats, moves, ...):
- table names are plural nouns (``users``, ``games``); model classes singular (``User``, ``Game``);
- primary keys are ``id``; foreign keys are ``<singular>_id`` (``game_id``, ``user_id``);
- times are ``<verb>_at`` columns of :class:`UTCDateTime`: timezone-aware UTC in Python,
  ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL;
- constraints and indexes are named by :data:`NAMING_CONVENTION`, so migrations can drop and
  alter them by name on every database (Alembic's batch mode on SQLite needs the names).
Any change here needs an Alembic revision in ``migrations/versions/``; a test fails on drift.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Dialect, MetaData, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["NAMING_CONVENTION", "USER_NAME_MAX_LENGTH", "Base", "UTCDateTime", "User", "utc_now"]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

USER_NAME_MAX_LENGTH = 40


def utc_now() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, stored in UTC and always read back timezone-aware.

    PostgreSQL keeps the zone (``TIMESTAMP WITH TIME ZONE``); SQLite has no such type and
    returns naive values, which are UTC because only UTC is ever written.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: use timezone-aware UTC times")
        value = value.astimezone(UTC)
        # SQLite stores the text as given; a naive UTC text compares and sorts correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base for every table; ``Base.metadata`` is what Alembic compares against."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    """A person who can sit at a table. Names are unique and checked in ``users.py``."""

    __tablename__ = "users"
    __table_args__ = (
        # A last line of defence for rows written by other tools; users.py checks more.
        CheckConstraint(
            f"length(name) BETWEEN 1 AND {USER_NAME_MAX_LENGTH}", name="name_length"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(USER_NAME_MAX_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, name={self.name!r})"
