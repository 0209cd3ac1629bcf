"""Users: a synchronous store over SQLAlchemy and an asyncio wrapper that never blocks the loop.

Edge layer. Callers get :class:`UserInfo` values, never ORM objects, so nothing outside this
package holds a session or lazy-loads on the IOLoop. The protocol layer uses
:class:`AsyncUserStore`; the command line and tests may use :class:`UserStore` directly.

User names are normalised by :func:`clean_name` before they are stored or looked up: Unicode
NFC, surrounding whitespace trimmed, 1-40 characters, no control characters, and not only the
digits 0-9 (``game-server token 42`` means the user with id 42, so such a name could never be
named on the command line).
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from .db import is_sqlite, session_factory
from .models import USER_NAME_MAX_LENGTH, User

__all__ = [
    "AsyncUserStore",
    "InvalidName",
    "NameTaken",
    "UserInfo",
    "UserStore",
    "clean_name",
]

T = TypeVar("T")

# The ``users.id`` column is a 32-bit INTEGER on PostgreSQL; larger ids cannot exist, and
# asking for them would be a database error rather than "no such user".
_MAX_ID = 2**31 - 1
_DECIMAL_ID = re.compile(r"[0-9]+")
# Characters that can make a name display as something else (bidirectional overrides and
# isolates) or break lines, besides the Unicode "Cc" control characters and lone surrogates.
_DISGUISING = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class InvalidName(ValueError):
    """A user name breaks the naming rules; the message says which."""


class NameTaken(ValueError):
    """Another user already has this name."""


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user as the rest of the server sees one."""

    id: int
    name: str


def clean_name(name: str) -> str:
    """Return the stored form of a user name: NFC, trimmed, checked.

    >>> clean_name("  Ada ")
    'Ada'

    Raises:
        InvalidName: empty, longer than 40 characters, control characters, only digits.
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
    for char in name:
        if unicodedata.category(char) in ("Cc", "Cs") or char in _DISGUISING:
            raise InvalidName(
                f"a user name cannot contain U+{ord(char):04X} "
                "(a control, line-break or text-direction character)"
            )
    if _DECIMAL_ID.fullmatch(name):
        raise InvalidName("a user name cannot be only digits: it would read as a user id")
    return name


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

    def add(self, name: str) -> UserInfo:
        """Create a user and return it with its new id.

        Raises:
            InvalidName: the name breaks the rules in :func:`clean_name`.
            NameTaken: another user has this name (after normalisation).
        """
        name = clean_name(name)
        user = User(name=name)
        try:
            with self._sessions.begin() as session:
                session.add(user)
        except IntegrityError:
            # The name was checked above, so the unique constraint is what failed.
            raise NameTaken(f"the user name {name!r} is taken") from None
        return UserInfo(user.id, user.name)

    def get(self, user_id: int) -> UserInfo | None:
        """The user with this id, or ``None``."""
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            raise TypeError(f"a user id is an int, not {type(user_id).__name__}")
        if not 0 < user_id <= _MAX_ID:
            return None
        with self._sessions() as session:
            user = session.get(User, user_id)
            return None if user is None else UserInfo(user.id, user.name)

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
        """See :meth:`UserStore.get`."""
        return await self._run(self._store.get, user_id)

    async def by_name(self, name: str) -> UserInfo | None:
        """See :meth:`UserStore.by_name`."""
        return await self._run(self._store.by_name, name)

    async def get_or_create(self, name: str) -> UserInfo:
        """See :meth:`UserStore.get_or_create`."""
        return await self._run(self._store.get_or_create, name)

    async def find(self, name_or_id: str) -> UserInfo | None:
        """See :meth:`UserStore.find`."""
        return await self._run(self._store.find, name_or_id)

    def close(self) -> None:
        """Wait for running calls and stop the executor, if this store created it."""
        if self._owns_executor:
            self._executor.shutdown(wait=True)
