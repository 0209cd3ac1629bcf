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

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    TypeDecorator,
    text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "CHAT_TEXT_MAX_LENGTH",
    "GAME_KIND_MAX_LENGTH",
    "MOVE_KIND_MAX_LENGTH",
    "NAMING_CONVENTION",
    "PASSWORD_HASH_MAX_LENGTH",
    "ROOM_ID_MAX_LENGTH",
    "ROOM_NAME_MAX_LENGTH",
    "SERVER_ID_MAX_LENGTH",
    "USER_NAME_MAX_LENGTH",
    "Base",
    "ChatMessage",
    "Game",
    "GameSeat",
    "Move",
    "Room",
    "UTCDateTime",
    "User",
    "utc_now",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

USER_NAME_MAX_LENGTH = 40
PASSWORD_HASH_MAX_LENGTH = 255
ROOM_ID_MAX_LENGTH = 32
ROOM_NAME_MAX_LENGTH = 40
GAME_KIND_MAX_LENGTH = 32
SERVER_ID_MAX_LENGTH = 64
MOVE_KIND_MAX_LENGTH = 16


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
    """A person who can sit at a table. Names are unique and checked in ``users.py``.

    ``name_key`` is the name compared loosely (``users.name_key``: NFKC, case folded): the
    first user of each key holds it, so a unique index keeps "Ada" and "ADA" from both
    signing up on the site, while the older --dev sign-in may still create such look-alikes
    (they get no key). ``password_hash`` is set for users who sign in on the main site
    (``game_server.site.passwords``); users made by --dev sign-in have none.
    """

    __tablename__ = "users"
    __table_args__ = (
        # A last line of defence for rows written by other tools; users.py checks more.
        CheckConstraint(
            f"length(name) BETWEEN 1 AND {USER_NAME_MAX_LENGTH}", name="name_length"
        ),
        # A unique index, not a constraint: NULLs (look-alike --dev users) may repeat.
        Index("ix_users_name_key", "name_key", unique=True),
        # Ids are never given twice (migration 0006): a token names its user by id, so a
        # deleted user's token must not sign in as a later user. SQLite would otherwise reuse
        # the largest id; PostgreSQL's sequence never goes back.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(USER_NAME_MAX_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    name_key: Mapped[str | None] = mapped_column(Text())
    password_hash: Mapped[str | None] = mapped_column(String(PASSWORD_HASH_MAX_LENGTH))

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, name={self.name!r})"


class Room(Base):
    """A room some server hosted: open until the server closes it.

    A server that restarts reloads its open rooms (``server_id``, ``status``) from the move log.
    """

    __tablename__ = "rooms"
    __table_args__ = (
        CheckConstraint("seats BETWEEN 1 AND 10", name="seats_range"),
        CheckConstraint("status IN ('open', 'closed')", name="status_value"),
        # Start-up asks for "the open rooms of this server"; server_id leads, so the index
        # also serves any query by server alone.
        Index("ix_rooms_server_id_status", "server_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(ROOM_ID_MAX_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(ROOM_NAME_MAX_LENGTH))
    game: Mapped[str] = mapped_column(String(GAME_KIND_MAX_LENGTH))
    seats: Mapped[int]
    server_id: Mapped[str] = mapped_column(String(SERVER_ID_MAX_LENGTH))
    #: Goes up by one at each takeover; a server's commits are fenced by the epoch it holds.
    epoch: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    status: Mapped[str] = mapped_column(String(8), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"Room(id={self.id!r}, name={self.name!r}, status={self.status!r})"


class Game(Base):
    """One game dealt in a room: the ``number``-th of the room. ``id`` is its public id.

    ``seed`` must never leave the server unless ``status`` is ``'finished'`` (not while it is
    ``'playing'``, nor once ``'abandoned'``: its room closed before it ended). ``dealer`` and
    ``winner`` are room seats.
    """

    __tablename__ = "games"
    __table_args__ = (
        UniqueConstraint("room_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        # Abandoned: the room closed before the game ended (migration 0006).
        CheckConstraint("status IN ('playing', 'finished', 'abandoned')", name="status_value"),
        # The leaderboard: finished games in a period. Status leads, so "running games" is
        # served too.
        Index("ix_games_status_finished_at", "status", "finished_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id"))
    number: Mapped[int]
    game: Mapped[str] = mapped_column(String(GAME_KIND_MAX_LENGTH))
    server_id: Mapped[str] = mapped_column(String(SERVER_ID_MAX_LENGTH))
    seed: Mapped[int] = mapped_column(BigInteger)
    dealer: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="playing")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    winner: Mapped[int | None]
    #: The game's own account of its end (`rules.Outcome.detail`), e.g. {"blocked": true}.
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"Game(id={self.id!r}, room_id={self.room_id!r}, number={self.number!r})"


class GameSeat(Base):
    """A seat of a game: who played it (no user for a plain bot) and, at the end, the score."""

    __tablename__ = "game_seats"
    __table_args__ = (
        # A user's games, newest first (keyset pagination on game_id): user_id leads, so the
        # index serves every lookup by user as well.
        Index("ix_game_seats_user_id_game_id", "user_id", "game_id"),
    )

    game_id: Mapped[int] = mapped_column(
        ForeignKey("games.id"), primary_key=True, autoincrement=False
    )
    seat: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    bot: Mapped[bool] = mapped_column(default=False)
    score: Mapped[int | None]

    def __repr__(self) -> str:
        return f"GameSeat(game_id={self.game_id!r}, seat={self.seat!r}, user_id={self.user_id!r})"


class Move(Base):
    """The move log: every accepted change of a room (an ``Action``), in ``seq`` order.

    Not only card moves: joins, leaves, connects, bots and deals too, since replaying all of
    them rebuilds the room. ``game_id`` is the game the action belongs to (none before the
    room's first deal). ``data`` holds the rest of the action (user name, move, seeds, what
    began or ended) and includes seeds: it is never shown to anyone as it is.
    """

    __tablename__ = "moves"

    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    game_id: Mapped[int | None] = mapped_column(ForeignKey("games.id"), index=True)
    kind: Mapped[str] = mapped_column(String(MOVE_KIND_MAX_LENGTH))
    seat: Mapped[int | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)

    def __repr__(self) -> str:
        return f"Move(room_id={self.room_id!r}, seq={self.seq!r}, kind={self.kind!r})"


CHAT_TEXT_MAX_LENGTH = 200


class ChatMessage(Base):
    """Room chat, kept with the history of the game it belongs to (migration 0007).

    ``game`` is that game's number in the room: talk before the room's first deal belongs to
    its first game, talk after a game to that game. The history API shows a game's chat only
    once the game is finished. ``seq`` is the room's seq when it was said (it places the
    message among the moves); ``audience`` is who heard it: ``all``, ``players`` or
    ``spectators`` (while a game runs they talk apart). ``name`` is the sender's name then.
    """

    __tablename__ = "chat_messages"
    __table_args__ = (
        CheckConstraint("audience IN ('all', 'players', 'spectators')", name="audience_value"),
        # A game's chat: by room and game number, in the order it was said.
        Index("ix_chat_messages_room_id_game", "room_id", "game"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id"))
    game: Mapped[int]
    seq: Mapped[int]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(USER_NAME_MAX_LENGTH))
    text: Mapped[str] = mapped_column(String(CHAT_TEXT_MAX_LENGTH))
    audience: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)

    def __repr__(self) -> str:
        return f"ChatMessage(room_id={self.room_id!r}, game={self.game!r}, id={self.id!r})"
