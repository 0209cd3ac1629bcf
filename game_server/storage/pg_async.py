"""PostgreSQL from the event loop: one psycopg2 asynchronous connection, no thread.

Edge layer: imports psycopg2 and asyncio only.

In psycopg2's asynchronous mode (``psycopg2.connect(..., async_=1)``) connecting and
``cursor.execute`` return at once; ``connection.poll()`` then says whether libpq waits to read
or to write its socket, and the loop's ``add_reader``/``add_writer`` call back when it can. So a
round trip costs the event loop one wake-up and no thread hand-off.

Every round trip (connecting included) may have a deadline, kept by a loop timer: a database
that stays silent fails the round trip within it with ``psycopg2.OperationalError``, and the
connection is closed, since what the server did with the query is unknown. The server-side
``statement_timeout`` and TCP keepalives come from the connection parameters, as for the
blocking connections (``db.connect_params``).

Connecting is asynchronous too, except libpq's lookup of a host *name*, which blocks the loop
for as long as the resolver takes (once per connection: at the first commit and after a
failure); a ``hostaddr`` in the parameters avoids it.

An asynchronous connection is always in autocommit mode: a transaction is an explicit
``BEGIN`` ... ``COMMIT``. One round trip may carry several statements separated by ``;`` (the
simple query protocol); the result is the last statement's, and after a failed statement the
rest are skipped and the transaction must be rolled back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg2
import psycopg2.extensions as extensions

__all__ = ["AsyncConnection"]


class AsyncConnection:
    """One asynchronous psycopg2 connection, used from the event loop that opened it.

    ``deadline`` (seconds, or None for none) bounds each round trip. A connection that failed
    a round trip is closed (``closed`` is true); open a new one.
    """

    def __init__(self, raw: Any, loop: asyncio.AbstractEventLoop,
                 deadline: float | None) -> None:
        self._raw = raw
        self._cursor: Any = None  # made once connected: psycopg2 refuses one before
        self._loop = loop
        self._deadline = deadline
        # The descriptor the loop watches and for what (a poll state), while it does.
        self._watched: tuple[int, int, asyncio.Future[None]] | None = None
        self._late = False  # the current round trip's deadline passed

    @classmethod
    async def open(cls, params: Mapping[str, Any], *, deadline: float | None = None,
                   connect_deadline: float | None = None) -> AsyncConnection:
        """Connect with ``psycopg2.connect(**params)`` on the running loop. The connection
        setup has `connect_deadline` if given, else `deadline` (libpq's ``connect_timeout``
        does not apply in asynchronous mode); each later round trip has `deadline`.

        Raises:
            psycopg2.OperationalError: the server refused or did not answer in time.
        """
        loop = asyncio.get_running_loop()
        raw = psycopg2.connect(**params, async_=1)
        connection = cls(raw, loop, deadline if connect_deadline is None else connect_deadline)
        try:
            await connection._wait()
            connection._cursor = raw.cursor()
        except BaseException:
            connection.close()
            raise
        connection._deadline = deadline
        return connection

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def closed(self) -> bool:
        return bool(self._raw.closed)

    def mogrify(self, sql: bytes, params: Mapping[str, Any] | Sequence[Any]) -> bytes:
        """`sql` with `params` bound, as the server will receive it (no round trip).

        Raises:
            psycopg2.DataError: a value psycopg2 cannot send (a NUL in a string).
        """
        try:
            return self._cursor.mogrify(sql, params)
        except ValueError as error:
            raise psycopg2.DataError(str(error)) from error

    async def query(self, sql: bytes,
                    params: Mapping[str, Any] | Sequence[Any] | None = None) -> list[tuple]:
        """Run `sql` (one or more statements) in one round trip; the last statement's rows
        (none for a statement that returns no rows).

        Raises:
            psycopg2.Error: the server refused a statement (the rest were skipped), the
                connection was lost, or no answer came within the deadline (the connection
                is closed then).
        """
        if params is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, params)
        await self._wait()
        return self._cursor.fetchall() if self._cursor.description is not None else []

    def close(self) -> None:
        """Close the connection; an open transaction is rolled back by the server."""
        self._unwatch()
        if not self._raw.closed:
            self._raw.close()

    async def _wait(self) -> None:
        """Poll until the current operation is done, waiting on the socket in between."""
        raw, loop = self._raw, self._loop
        timer = None
        self._late = False
        try:
            while True:
                state = raw.poll()
                if state == extensions.POLL_OK:
                    return
                ready = loop.create_future()
                self._watch(state, ready)
                if timer is None and self._deadline is not None:
                    timer = loop.call_later(self._deadline, self._expire)
                if self._late:  # the deadline passed while an answer was being read
                    raise _Silent
                try:
                    await ready
                finally:
                    self._unwatch()
        except _Silent:
            self.close()
            raise psycopg2.OperationalError(
                f"the database did not answer within {self._deadline:g} s "
                "(GAME_DB_TIMEOUT)") from None
        except psycopg2.DatabaseError as error:
            # A statement the server refused leaves the connection usable (after a
            # rollback); a lost connection does not, nor one whose query was cancelled.
            if isinstance(error, psycopg2.OperationalError):
                self.close()
            raise
        except BaseException:
            # Lost or cancelled half way: the connection's state is unknown.
            self.close()
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def _watch(self, state: int, ready: asyncio.Future[None]) -> None:
        fd = self._raw.fileno()
        if state == extensions.POLL_READ:
            self._loop.add_reader(fd, _set, ready)
        elif state == extensions.POLL_WRITE:
            self._loop.add_writer(fd, _set, ready)
        else:
            raise psycopg2.OperationalError(f"unexpected poll state {state!r}")
        self._watched = (fd, state, ready)

    def _unwatch(self) -> None:
        watched, self._watched = self._watched, None
        if watched is None or self._loop.is_closed():
            return
        fd, state, _ = watched
        if state == extensions.POLL_READ:
            self._loop.remove_reader(fd)
        else:
            self._loop.remove_writer(fd)

    def _expire(self) -> None:
        """The deadline of a round trip passed: fail its wait."""
        self._late = True
        if self._watched is not None:
            ready = self._watched[2]
            if not ready.done():
                ready.set_exception(_Silent())


class _Silent(Exception):
    """The deadline passed with no answer."""


def _set(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)
