"""Users: a synchronous store over SQLAlchemy and an asyncio wrapper that never blocks the loop.

Edge layer. Callers get :class:`UserInfo` values, never ORM objects, so nothing outside this
package holds a session or lazy-loads on the IOLoop. The protocol layer uses
:class:`AsyncUserStore`; the command line and tests may use :class:`UserStore` directly.

User names are normalised by :func:`clean_name` before they are stored or looked up: Unicode
NFC, surrounding whitespace trimmed, 1-40 characters, no control, format (zero-width,
text-direction) or other invisible characters, and not only the digits 0-9 (``game-server token
42`` means the user with id 42, so such a name could never be named on the command line).

Names are stored as typed (NFC) and compared exactly by :meth:`UserStore.by_name`. For the main
site they are also compared loosely, by :func:`name_key` (NFKC, case folded): the first user of
each key holds it (``users.name_key``, unique), and a user with a password must hold theirs, so
no one can sign up as "ADA" or "Ａｄａ" once "Ada" exists. The --dev sign-in may still create
such look-alikes; they get no key and no password.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import IntegrityError

from game_server.names import PRESENTATION as _PRESENTATION
from game_server.names import disguising as _disguising

from .db import is_sqlite, session_factory
from .models import PASSWORD_HASH_MAX_LENGTH, USER_NAME_MAX_LENGTH, Move, Room, User

__all__ = [
    "AsyncUserStore",
    "Credentials",
    "InvalidName",
    "NameTaken",
    "SeatedRoom",
    "UserInfo",
    "UserStore",
    "clean_name",
    "name_key",
]

T = TypeVar("T")

# The ``users.id`` column is a 32-bit INTEGER on PostgreSQL; larger ids cannot exist, and
# asking for them would be a database error rather than "no such user".
_MAX_ID = 2**31 - 1
_DECIMAL_ID = re.compile(r"[0-9]+")
# The characters a name may not hold are game_server/names.py's rule, shared with room names.
_NO_PRESENTATION = {ord(char): None for char in _PRESENTATION}
# The user actions of the move log that seat a user, or take the seat away (any version).
_SEAT_KINDS = {"sit": True, "leave": False, "expire": False}


class InvalidName(ValueError):
    """A user name breaks the naming rules; the message says which."""


class NameTaken(ValueError):
    """Another user already has this name; ``holder`` is that user's name when it is spelled
    differently (another case or width), else ``None``."""

    def __init__(self, message: str, *, holder: str | None = None) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user as the rest of the server sees one."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user and the hash of their password (``None``: the user cannot sign in with one)."""

    user: UserInfo
    password_hash: str | None

    def __repr__(self) -> str:
        # Even a hash is kept out of logs and tracebacks.
        return f"Credentials(user={self.user!r}, password_hash=...)"


@dataclass(frozen=True, slots=True)
class SeatedRoom:
    """An open room where a user holds a seat: its id, its name and the game played in it."""

    id: str
    name: str
    game: str


def clean_name(name: str) -> str:
    """Return the stored form of a user name: NFC, trimmed, checked.

    >>> clean_name("  Ada ")
    'Ada'

    Raises:
        InvalidName: empty, longer than 40 characters, control, format (zero-width,
            text-direction) or other invisible characters, only digits.
    """
    if not isinstance(name, str):
        raise InvalidName(f"a user name must be text, not {type(name).__name__}")
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise InvalidName("a user name cannot be empty")
    if len(name) > USER_NAME_MAX_LENGTH:
        raise InvalidName(
            f"a user name has at most {USER_NAME_MAX_LENGTH} characters, this one {len(name)}"
        )
    for index, char in enumerate(name):
        if _disguising(name, index):
            raise InvalidName(
                f"a user name cannot contain U+{ord(char):04X} (an invisible, control, "
                "line-break or text-direction character)"
            )
    if _DECIMAL_ID.fullmatch(name):
        raise InvalidName("a user name cannot be only digits: it would read as a user id")
    return name


def name_key(name: str) -> str:
    """A name as the site compares it: NFKC, case folded, emoji presentation selectors
    dropped, inner whitespace collapsed.

    Two names with the same key are "the same name" for sign-up and sign-in (Unicode's
    NFKC_Casefold, near enough: compatibility forms and case do not count).

    >>> name_key("ＡＤＡ") == name_key("ada") == name_key(" Ada ")
    True
    >>> name_key("Straße") == name_key("STRASSE")
    True
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    # "❤" and "❤️" (with the emoji presentation selector) are the same name.
    return " ".join(folded.translate(_NO_PRESENTATION).split())


class UserStore:
    """Users in the database, synchronously: every method runs one short transaction.

    Thread-safe: each call uses its own session, so an executor may run calls in parallel.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)

    @property
    def engine(self) -> Engine:
        return self._engine

    def add(self, name: str, *, password_hash: str | None = None) -> UserInfo:
        """Create a user and return it with its new id.

        Without a password hash, only an identical name (after NFC) counts as taken, as for
        the --dev sign-in; the user holds the name's :func:`name_key` if no one does yet.
        With one (a user of the main site), any name with the same key counts as taken.

        Raises:
            InvalidName: the name breaks the rules in :func:`clean_name`.
            NameTaken: another user has this name (after normalisation), or, with a
                password hash, a name with the same key.
            ValueError: the password hash is longer than the column.
        """
        name = clean_name(name)
        if password_hash is not None and not 0 < len(password_hash) <= PASSWORD_HASH_MAX_LENGTH:
            raise ValueError(f"a password hash has 1-{PASSWORD_HASH_MAX_LENGTH} characters")
        key = name_key(name)
        holder = self._key_holder(key)
        if holder is not None and (password_hash is not None or holder == name):
            raise self._taken(name, holder)
        try:
            return self._insert(name, key if holder is None else None, password_hash)
        except IntegrityError:
            pass
        # Another user took the name or its key since we looked (the unique indexes decide).
        holder = self._key_holder(key)
        if password_hash is not None or holder is None or holder == name:
            raise self._taken(name, holder) from None
        try:
            # A look-alike of the key's holder: allowed without a password, without the key.
            return self._insert(name, None, None)
        except IntegrityError:
            raise self._taken(name, None) from None

    def _insert(self, name: str, key: str | None, password_hash: str | None) -> UserInfo:
        user = User(name=name, name_key=key, password_hash=password_hash)
        with self._sessions.begin() as session:
            session.add(user)
        return UserInfo(user.id, user.name)

    def _key_holder(self, key: str) -> str | None:
        """The name of the user holding this key, or ``None``."""
        with self._sessions() as session:
            return session.scalars(select(User.name).where(User.name_key == key)).one_or_none()

    @staticmethod
    def _taken(name: str, holder: str | None) -> NameTaken:
        if holder is None or holder == name:
            return NameTaken(f"the user name {name!r} is taken")
        return NameTaken(f"the user name {name!r} is taken: {holder!r} is too much like it",
                         holder=holder)

    def get(self, user_id: int) -> UserInfo | None:
        """The user with this id, or ``None``."""
        if not _stored_id(user_id):
            return None
        with self._sessions() as session:
            user = session.get(User, user_id)
            return None if user is None else UserInfo(user.id, user.name)

    def get_many(self, user_ids: Iterable[int]) -> dict[int, UserInfo]:
        """The users with these ids, by id, in one query (ids of no user are left out).

        Raises:
            TypeError: an id is not an int.
        """
        wanted = set()
        for user_id in user_ids:
            if _stored_id(user_id):
                wanted.add(user_id)
        if not wanted:
            return {}
        with self.engine.connect() as connection:
            rows = connection.execute(select(User.id, User.name).where(User.id.in_(wanted)))
            return {row.id: UserInfo(row.id, row.name) for row in rows}

    def by_name(self, name: str) -> UserInfo | None:
        """The user with this name (normalised as when it was added), or ``None``."""
        try:
            name = clean_name(name)
        except InvalidName:
            return None
        with self._sessions() as session:
            user = session.scalars(select(User).where(User.name == name)).one_or_none()
            return None if user is None else UserInfo(user.id, user.name)

    def get_or_create(self, name: str) -> UserInfo:
        """The user with this name, created first if there is none (safe against races).

        Raises:
            InvalidName: the name breaks the rules in :func:`clean_name`.
        """
        name = clean_name(name)
        found = self.by_name(name)
        if found is not None:
            return found
        try:
            return self.add(name)
        except NameTaken:
            # Another thread or process created it between our lookup and insert.
            found = self.by_name(name)
            if found is None:  # pragma: no cover - renamed or deleted in the meantime
                raise
            return found

    def find(self, name_or_id: str) -> UserInfo | None:
        """Look a user up by decimal id (``"42"``) or else by name, as the command line does."""
        text = name_or_id.strip()
        if _DECIMAL_ID.fullmatch(text):
            return self.get(int(text))
        return self.by_name(text)

    def credentials(self, name: str) -> Credentials | None:
        """The user holding this name's :func:`name_key` ("ada" finds "Ada") and their
        password hash, for signing in; ``None`` if no user holds it or the name is invalid."""
        try:
            key = name_key(clean_name(name))
        except InvalidName:
            return None
        with self._sessions() as session:
            user = session.scalars(select(User).where(User.name_key == key)).one_or_none()
            if user is None:
                return None
            return Credentials(UserInfo(user.id, user.name), user.password_hash)

    def set_password_hash(self, user_id: int, password_hash: str) -> bool:
        """Store a new password hash for a user (after a password change, or to raise the
        hash's parameters); ``False`` if there is no such user.

        Raises:
            ValueError: the hash is empty or longer than the column.
        """
        if not 0 < len(password_hash) <= PASSWORD_HASH_MAX_LENGTH:
            raise ValueError(f"a password hash has 1-{PASSWORD_HASH_MAX_LENGTH} characters")
        if self.get(user_id) is None:
            return False
        with self._sessions.begin() as session:
            result = session.execute(
                update(User).where(User.id == user_id).values(password_hash=password_hash))
            return result.rowcount == 1

    def seated_room(self, user_id: int) -> SeatedRoom | None:
        """The open room where the user last sat down and still holds the seat, or ``None``.

        Read from the move log, in the database, so any game server's rooms count: a user
        holds a seat in a room (``rooms.status`` open) when their last ``sit``, ``leave`` or
        ``expire`` action there is a ``sit``. A seat a bot plays for them after they left
        or timed out does not count.
        """
        if self.get(user_id) is None:
            return None
        kinds = [condition for name in _SEAT_KINDS
                 for condition in (Move.kind == name, Move.kind.like(f"{name}@%"))]
        with self._sessions() as session:
            rows = session.execute(
                select(Move.room_id, Move.kind, Move.seq, Move.created_at, Room.name, Room.game)
                .join(Room, Room.id == Move.room_id)
                .where(Room.status == "open", Move.user_id == user_id, or_(*kinds))
                .order_by(Move.room_id, Move.seq)
            ).all()
        last: dict[str, Any] = {}
        for row in rows:
            last[row.room_id] = row  # in seq order: the last one stays
        seated = [row for row in last.values() if _SEAT_KINDS[row.kind.partition("@")[0]]]
        if not seated:
            return None
        newest = max(seated, key=lambda row: (row.created_at, row.room_id))
        return SeatedRoom(newest.room_id, newest.name, newest.game)


def _stored_id(user_id: int) -> bool:
    """Whether `user_id` can be a stored user's id (positive, within the column's range).

    Raises:
        TypeError: it is not an int.
    """
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise TypeError(f"a user id is an int, not {type(user_id).__name__}")
    return 0 < user_id <= _MAX_ID


class AsyncUserStore:
    """The methods of :class:`UserStore` as coroutines, run on a thread pool.

    The database is never touched on the event loop thread. Without an ``executor`` the store
    makes its own: one thread for SQLite (one writer at a time anyway), four for PostgreSQL;
    :meth:`close` shuts down an executor the store made. A cancelled call still finishes in its
    thread (an ``add`` may still create the user).
    """

    def __init__(self, store: UserStore, executor: Executor | None = None) -> None:
        self._store = store
        self._owns_executor = executor is None
        if executor is None:
            executor = ThreadPoolExecutor(
                max_workers=1 if is_sqlite(store.engine) else 4,
                thread_name_prefix="game-storage",
            )
        self._executor = executor
        #: Ids asked for by `get` in this loop iteration, and who waits for each.
        self._wanted: dict[int, list[asyncio.Future[UserInfo | None]]] = {}

    @property
    def store(self) -> UserStore:
        """The synchronous store underneath."""
        return self._store

    async def _run(self, method: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, method, *args)

    async def add(self, name: str) -> UserInfo:
        """See :meth:`UserStore.add`."""
        return await self._run(self._store.add, name)

    async def get(self, user_id: int) -> UserInfo | None:
        """See :meth:`UserStore.get`.

        The ids asked for in one event-loop iteration are looked up together, in one query
        (:meth:`UserStore.get_many`): a burst of sign-ins costs one round trip per batch, not
        one ORM session per player. A failed query fails every call of its batch.
        """
        _stored_id(user_id)  # a wrong type fails this caller only, not its batch
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not self._wanted:
            loop.call_soon(self._look_up, loop)
        self._wanted.setdefault(user_id, []).append(future)
        return await future

    def _look_up(self, loop: asyncio.AbstractEventLoop) -> None:
        wanted, self._wanted = self._wanted, {}
        done = loop.run_in_executor(self._executor, self._store.get_many, list(wanted))

        def settle(done: asyncio.Future[dict[int, UserInfo]]) -> None:
            error = None if done.cancelled() else done.exception()
            found = {} if error is not None or done.cancelled() else done.result()
            for user_id, futures in wanted.items():
                for future in futures:
                    if future.done():
                        continue  # the caller was cancelled
                    if error is not None:
                        future.set_exception(error)
                    elif done.cancelled():
                        future.cancel()
                    else:
                        future.set_result(found.get(user_id))

        done.add_done_callback(settle)

    async def by_name(self, name: str) -> UserInfo | None:
        """See :meth:`UserStore.by_name`."""
        return await self._run(self._store.by_name, name)

    async def get_or_create(self, name: str) -> UserInfo:
        """See :meth:`UserStore.get_or_create`."""
        return await self._run(self._store.get_or_create, name)

    async def find(self, name_or_id: str) -> UserInfo | None:
        """See :meth:`UserStore.find`."""
        return await self._run(self._store.find, name_or_id)

    async def seated_room(self, user_id: int) -> SeatedRoom | None:
        """See :meth:`UserStore.seated_room`."""
        return await self._run(self._store.seated_room, user_id)

    def close(self) -> None:
        """Wait for running calls and stop the executor, if this store created it."""
        if self._owns_executor:
            self._executor.shutdown(wait=True)
