"""The move log: every accepted change of a room, committed before anyone is told about it.

Edge layer. Tables live in memory; this log is what survives a crash. :meth:`MoveLog.record`
resolves only once the actions are committed, so the caller sends the resulting ``state`` only
after that, and :meth:`MoveLog.load_open_rooms` gives a restarted server every room it hosted
with the actions that rebuild it (``Table.replay``).

Group commit: calls are queued, and one writer commits everything queued so far in one
transaction. Calls made in the same event-loop iteration, or while the writer is busy with the
previous batch, share the next transaction; so under load the cost per action stays small, and
the event loop never waits for the database. On PostgreSQL the writer is a task on the event
loop with an asynchronous psycopg2 connection of its own (``pg_async``): no thread, so no
hand-off of the GIL and no cross-thread wake-up per batch; each round trip has the engine's
deadline (GAME_DB_TIMEOUT) as a loop timer. A batch costs two round trips, ``BEGIN`` with the
fencing ``SELECT ... FOR UPDATE``, then every other statement with the ``COMMIT`` (the moves in
one multi-row ``INSERT``), and one more per game dealt in it (``INSERT ... RETURNING id``). Its
SQL is compiled once from SQLAlchemy Core statements on the models. On SQLite the writer is a thread of its own with a SQLAlchemy
connection (SQLite's driver has no asynchronous mode). When the database is away (a lost
connection, a timeout), every call of the batch raises :class:`LogUnavailable` and none of it is
stored; the next batch tries again (the database may be back by then). When the database
refuses what the batch writes (an integrity or data error, a value the driver cannot send),
the batch is written again room by room: the rooms whose rows can never be stored are refused
(:class:`RowRefused`, one warning each) and the others are committed, so one client's bad row
never fails another room's moves.

Layering: the log stores and returns the tables layer's ``Action`` and ``Player`` values (plain
frozen dataclasses from ``game_server.tables.table``, which imports only the rules layer). That
is the one import from a layer above; it keeps the log's interface the table's own journal.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, any_, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.sql.expression import Executable

from game_server.tables import Action, Player, RoomMoved, Table

from .db import connect_params, round_trip_deadline
from .pg_async import AsyncConnection
from .models import (
    GAME_KIND_MAX_LENGTH,
    ROOM_ID_MAX_LENGTH,
    ROOM_NAME_MAX_LENGTH,
    SERVER_ID_MAX_LENGTH,
    Game,
    GameSeat,
    Move,
    Room,
    UTCDateTime,
    utc_now,
)

__all__ = ["LogStats", "LogUnavailable", "MoveLog", "RoomInfo", "RowRefused"]

log = logging.getLogger(__name__)

_MIN_SEATS, _MAX_SEATS = 1, 10

_SEATS = GameSeat.__table__
_SET_SCORE = (
    update(_SEATS)
    .where(_SEATS.c.game_id == bindparam("g_game"), _SEATS.c.seat == bindparam("g_seat"))
    .values(score=bindparam("g_score"))
)
# SQLite: take the write lock with the transaction's first statement. A transaction that read
# first and writes later fails at once with SQLITE_BUSY (no waiting) if another connection
# wrote in between, e.g. a user signing up; with the lock taken first it waits its turn.
_SQLITE_WRITE_LOCK = text("UPDATE rooms SET seats = seats WHERE 0")
# Top-level packages whose exceptions are the database's verdict on a value, not our bug.
_DATABASE_MODULES = frozenset({"sqlalchemy", "psycopg2", "psycopg", "sqlite3"})


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """What the log keeps about a room besides its actions: enough to rebuild its `Table`.

    Raises:
        ValueError: (constructor) a field does not fit the ``rooms`` table.
    """

    id: str
    name: str
    game: str
    seats: int

    @classmethod
    def of(cls, table: Table) -> RoomInfo:
        """The room of a live table."""
        return cls(table.id, table.name, table.game_kind, len(table.seats))

    def __post_init__(self) -> None:
        if not 1 <= len(self.id) <= ROOM_ID_MAX_LENGTH:
            raise ValueError(f"a room id has 1-{ROOM_ID_MAX_LENGTH} characters: {self.id!r}")
        if len(self.name) > ROOM_NAME_MAX_LENGTH:
            raise ValueError(f"a room name has at most {ROOM_NAME_MAX_LENGTH} characters")
        if not 1 <= len(self.game) <= GAME_KIND_MAX_LENGTH:
            raise ValueError(f"a game kind has 1-{GAME_KIND_MAX_LENGTH} characters")
        if isinstance(self.seats, bool) or not _MIN_SEATS <= self.seats <= _MAX_SEATS:
            raise ValueError(f"a room has {_MIN_SEATS}-{_MAX_SEATS} seats, not {self.seats!r}")


class LogUnavailable(Exception):
    """The move log could not commit; nothing of the batch is stored."""


class RowRefused(LogUnavailable):
    """The database can never store this room's change (a value it refuses, a broken foreign
    key); the other rooms of the batch were committed without it."""

    #: The log has logged the refusal (one line); the hub's commit driver does not again.
    logged = True


@dataclass(frozen=True, slots=True)
class LogStats:
    """Group-commit counters since the log was made (a snapshot; cheap to take).

    A *call* is one :meth:`MoveLog.record` or :meth:`MoveLog.close_room`; a *batch* is one
    transaction holding every call queued when the writer took it.
    """

    #: Batches committed, and batches whose commit failed. After a refused row the batch is
    #: written again room by room: each room's transaction counts as a batch of its own.
    batches: int = 0
    failed_batches: int = 0
    #: Calls and actions committed (failed ones are not counted).
    calls: int = 0
    actions: int = 0
    #: The last committed batch.
    last_batch_calls: int = 0
    last_batch_actions: int = 0
    last_commit_seconds: float = 0.0
    #: The largest batch so far, in calls, and the time spent in committed transactions.
    max_batch_calls: int = 0
    commit_seconds: float = 0.0
    #: Transactions tried, committed or not: one per batch, and one per part of a batch
    #: written again after a refused row.
    transactions: int = 0


@dataclass(eq=False, slots=True)
class _Request:
    """One queued call: actions of a room to record, or a room to close."""

    room_id: str
    room: RoomInfo | None  # None: close the room
    actions: tuple[Action, ...]
    at: datetime
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


@dataclass(slots=True)
class _Batch:
    """What one transaction created, remembered once it commits."""

    rooms: set[str] = field(default_factory=set)
    games: dict[tuple[str, int], int] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)


class MoveLog:
    """The durable move log of one server (``server_id``). It writes from the event loop on
    PostgreSQL (psycopg2) and on a thread of its own on SQLite.

    ``clock`` gives the aware UTC time stamped on rows (``created_at``, ``started_at``,
    ``finished_at``): the time of the call, not of the commit. Call :meth:`close` at shutdown.

    Raises:
        ValueError: (constructor) ``server_id`` is empty or longer than 64 characters.
    """

    def __init__(self, engine: Engine, server_id: str, *,
                 clock: Callable[[], datetime] = utc_now) -> None:
        if not 1 <= len(server_id) <= SERVER_ID_MAX_LENGTH:
            raise ValueError(f"a server id has 1-{SERVER_ID_MAX_LENGTH} characters")
        self._engine = engine
        self._server_id = server_id
        self._clock = clock
        self._cond = threading.Condition()
        # Guarded by _cond:
        self._queue: list[_Request] = []
        self._signalled = False
        self._waking: set[asyncio.AbstractEventLoop] = set()
        self._closing = False
        self._stats = LogStats()
        # Writer thread only: rows known to be committed, so they are not looked up again.
        self._known_rooms: set[str] = set()
        self._game_ids: dict[tuple[str, int], int] = {}
        self._failing = False
        self._last_cause: str | None = None
        # Guarded by _cond: the epoch this server holds each room at (migration 0004). A
        # commit for a room whose row no longer carries this server and epoch is refused.
        self._epochs: dict[str, int] = {}
        self._connection: Connection | None = None  # the writer thread's own (SQLite)
        self._thread: threading.Thread | None = None
        # PostgreSQL: the writer is a task on the loop of the first call; its connection.
        self._on_loop = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg2"
        self._pg: AsyncConnection | None = None
        self._writing = False  # guarded by _cond: the writer task is running
        self._task: asyncio.Task[None] | None = None
        if not self._on_loop:
            self._thread = threading.Thread(target=self._run, name="game-movelog", daemon=True)
            self._thread.start()

    @property
    def server_id(self) -> str:
        return self._server_id

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def stats(self) -> LogStats:
        """Group-commit counters (see :class:`LogStats`)."""
        with self._cond:
            return self._stats

    @property
    def queued(self) -> int:
        """Calls waiting for the writer (not counting the batch being written)."""
        with self._cond:
            return len(self._queue)

    # --- the event loop's side ---------------------------------------------------------

    async def record(self, table: Table, actions: Iterable[Action]) -> None:
        """Append a room's actions to the log; return once they are committed.

        The first call for a room also stores the room. An action that deals a game stores
        the game and its seats; one that ends a game stores the result. Calls for one room
        must come in ``seq`` order. If the awaiting task is cancelled the actions may still
        be committed.

        Raises:
            LogUnavailable: the commit failed (nothing of this call is stored), or the log is
                closed. Calls for the same room that were already queued behind a failed one
                fail too: they were made on top of actions that are not stored.
        """
        actions = tuple(actions)
        if not actions:
            return
        room = RoomInfo.of(table)
        await self._submit(room.id, room, actions)

    async def close_room(self, room_id: str) -> None:
        """Mark the room closed (it is not reloaded at start-up), and its game abandoned if
        one is still being played; return once committed.

        Raises:
            LogUnavailable: the commit failed, or the log is closed.
        """
        await self._submit(room_id, None, ())

    def _submit(self, room_id: str, room: RoomInfo | None,
                actions: tuple[Action, ...]) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        request = _Request(room_id, room, actions, self._clock(), loop, loop.create_future())
        with self._cond:
            if self._closing:
                raise LogUnavailable("the move log is closed")
            self._queue.append(request)
            # Wake the writer at the end of this loop iteration, so that every call made in
            # the iteration joins the same batch.
            if loop not in self._waking:
                self._waking.add(loop)
                loop.call_soon(self._wake, loop)
        return request.future

    def _wake(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._cond:
            self._waking.discard(loop)
            if self._on_loop:
                if self._writing or not self._queue:
                    return
                self._writing = True
            else:
                self._signalled = True
                self._cond.notify()
                return
        self._task = loop.create_task(self._drain(), name="game-movelog")

    def close(self) -> None:
        """Commit what is queued, then stop the writer. Later calls raise
        :class:`LogUnavailable`. The engine is the caller's to dispose of.

        On SQLite this waits for the writer thread. On PostgreSQL, called on the event loop
        while a batch is being written or calls are queued, it returns at once and the writer
        commits them (the loop must keep running for that) before it closes its connection.
        """
        with self._cond:
            self._closing = True
            self._cond.notify()
            idle = not self._writing and not self._queue
        if self._thread is not None:
            if self._thread is not threading.current_thread():
                self._thread.join()
        elif idle:
            self._drop_connection(broken=False)

    def hold(self, room_id: str, epoch: int) -> None:
        """This server hosts `room_id` at `epoch` (after a start-up, a takeover or a
        hand-over): its commits are fenced by it."""
        with self._cond:
            self._epochs[room_id] = epoch

    def epoch(self, room_id: str) -> int | None:
        with self._cond:
            return self._epochs.get(room_id)

    # --- start-up ----------------------------------------------------------------------

    def load_open_rooms(self) -> list[tuple[RoomInfo, list[Action]]]:
        """Every open room of this server with its actions in ``seq`` order, rebuilt exactly
        as they were recorded, each held at its epoch. Synchronous: for start-up, before the
        server takes requests.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the database cannot be read.
        """
        return self._load((Room.server_id == self._server_id) & (Room.status == "open"))

    def load_room(self, room_id: str) -> tuple[RoomInfo, list[Action]] | None:
        """One open room this server hosts (its row names this server: after a takeover or a
        hand-over), with its actions, held at its epoch; None if there is no such room.
        Synchronous (run it in an executor).

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the database cannot be read.
        """
        found = self._load((Room.id == room_id) & (Room.server_id == self._server_id)
                           & (Room.status == "open"))
        return found[0] if found else None

    def _load(self, where: Any) -> list[tuple[RoomInfo, list[Action]]]:
        with self._engine.connect() as connection:
            rooms = connection.execute(
                select(Room.id, Room.name, Room.game, Room.seats, Room.epoch)
                .where(where)
                .order_by(Room.created_at, Room.id)
            ).all()
            rows = connection.execute(
                select(Move.room_id, Move.seq, Move.kind, Move.seat, Move.user_id, Move.data,
                       Game.number)
                .join(Room, Room.id == Move.room_id)
                .outerjoin(Game, Game.id == Move.game_id)
                .where(where)
                .order_by(Move.room_id, Move.seq)
            ).all()
        actions: dict[str, list[Action]] = {room.id: [] for room in rooms}
        for row in rows:
            # A room opened between the two queries is left for the next load.
            if row.room_id in actions:
                actions[row.room_id].append(_action_from_row(row))
        with self._cond:
            for room in rooms:
                self._epochs[room.id] = room.epoch
        return [(RoomInfo(room.id, room.name, room.game, room.seats), actions[room.id])
                for room in rooms]

    # --- the writer: batches, failures, isolation -----------------------------------------

    def _drop_connection(self, broken: bool = True) -> None:
        """Let go of the writer's connection; a `broken` one is not returned to the pool."""
        pg, self._pg = self._pg, None
        if pg is not None:
            pg.close()
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                if broken:
                    connection.invalidate()
                connection.close()
            except Exception:  # noqa: BLE001 - it is being thrown away
                log.debug("move log: closing the writer's connection failed", exc_info=True)

    def _run(self) -> None:
        """The writer thread (SQLite)."""
        while True:
            with self._cond:
                while not self._signalled and not self._closing:
                    self._cond.wait()
                batch, self._queue = self._queue, []
                self._signalled = False
                if not batch and self._closing:
                    self._drop_connection(broken=False)
                    return
            if batch:
                # Nothing in a SQLite transaction waits for the loop: the coroutine runs to
                # its end here, on this thread.
                _run_now(self._write(batch))
            with self._cond:
                # Calls made while the batch was written form the next batch, at once.
                if self._queue:
                    self._signalled = True

    async def _drain(self) -> None:
        """The writer task (PostgreSQL): write batches until nothing is queued."""
        batch: list[_Request] = []
        try:
            while True:
                with self._cond:
                    # Calls made while the batch was written form the next batch, at once.
                    batch, self._queue = self._queue, []
                    if not batch:
                        self._writing = False
                        closing = self._closing
                        break
                await self._write(batch)
        except BaseException:
            # Cancelled (the loop is being shut down): nothing more is written; the callers
            # still waiting are told so.
            self._drop_connection()
            with self._cond:
                self._writing = False
                rest, self._queue = self._queue, []
            for request in [*batch, *rest]:
                _resolve(request, LogUnavailable("the move log was stopped"))
            raise
        if closing:
            self._drop_connection(broken=False)

    async def _write(self, batch: list[_Request]) -> None:
        started = time.perf_counter()
        try:
            created, fenced = await self._transaction(batch)
        except Exception as error:  # noqa: BLE001 - sorted out below
            if _transient(error):
                # The database is away or stuck: every call fails, and retrying room by
                # room would only wait once per room.
                self._drop_connection()
                self._failed(batch, error, time.perf_counter() - started)
            else:
                await self._isolate(batch, error)
            return
        self._committed(batch, created, fenced, time.perf_counter() - started)

    async def _transaction(self, batch: list[_Request]) -> tuple[_Batch, set[str]]:
        """Write `batch` in one transaction; returns what it created and the fenced rooms.

        Raises:
            Exception: the transaction failed and was rolled back.
        """
        with self._cond:
            self._stats = dataclasses.replace(self._stats,
                                              transactions=self._stats.transactions + 1)
        if self._on_loop:
            return await self._pg_transaction(batch)
        created = _Batch()
        # The writer keeps one connection: no pool checkout and no liveness ping per batch.
        # A connection failure drops it; the next batch connects afresh.
        if self._connection is None:
            self._connection = self._engine.connect()
        connection = self._connection
        with connection.begin():
            if connection.dialect.name == "sqlite":
                connection.execute(_SQLITE_WRITE_LOCK)
            fenced = self._write_batch(connection, batch, created)
        return created, fenced

    async def _isolate(self, batch: list[_Request], error: Exception) -> None:
        """The batch failed because of what it writes (a row the database refuses), not
        because the database is away: write it again in parts, each room's calls together,
        halving the parts that fail until the rooms whose rows can never be stored are alone;
        those are refused, every other room is committed. One user's bad row must not fail
        everyone's moves (issue 12). Halving, rather than one transaction per room, keeps
        the cost of a bad row to about 2·log2(rooms) transactions, so a client that sends
        bad rows on purpose cannot make the log commit room by room."""
        rooms: dict[str, list[_Request]] = {}
        for request in batch:
            rooms.setdefault(request.room_id, []).append(request)
        parts = [(list(rooms.values()), error)]  # (rooms' calls, why they failed together)
        while parts:
            groups, failure = parts.pop(0)
            if len(groups) == 1:
                self._refused(groups[0], failure)
                continue
            half = len(groups) // 2
            halves = [groups[:half], groups[half:]]
            for index, part in enumerate(halves):
                calls = [request for group in part for request in group]
                started = time.perf_counter()
                try:
                    created, fenced = await self._transaction(calls)
                except Exception as again:  # noqa: BLE001 - sorted out below
                    if _transient(again):
                        # The database went away meanwhile: the rest fails as in any outage.
                        self._drop_connection()
                        unwritten = [request for rest in halves[index:] + [p for p, _ in parts]
                                     for group in rest for request in group]
                        self._failed(unwritten, again, time.perf_counter() - started)
                        return
                    parts.append((part, again))
                    continue
                self._committed(calls, created, fenced, time.perf_counter() - started)

    def _committed(self, batch: list[_Request], created: _Batch, fenced: set[str],
                   seconds: float) -> None:
        self._known_rooms |= created.rooms
        self._game_ids.update(created.games)
        for room_id in created.closed:
            self._forget(room_id)
        actions = sum(len(request.actions) for request in batch)
        with self._cond:
            old = self._stats
            self._stats = dataclasses.replace(
                old,
                batches=old.batches + 1,
                calls=old.calls + len(batch),
                actions=old.actions + actions,
                last_batch_calls=len(batch),
                last_batch_actions=actions,
                last_commit_seconds=seconds,
                max_batch_calls=max(old.max_batch_calls, len(batch)),
                commit_seconds=old.commit_seconds + seconds,
            )
        if self._failing:
            self._failing, self._last_cause = False, None
            log.info("move log: commits succeed again")
        if fenced:
            log.warning("move log: room(s) %s are hosted by another server now; their "
                        "changes were refused", ", ".join(sorted(fenced)))
            with self._cond:
                for room_id in fenced:
                    self._epochs.pop(room_id, None)
        for request in batch:
            _resolve(request, RoomMoved(request.room_id) if request.room_id in fenced else None)

    def _fence(self, connection: Connection, batch: list[_Request]) -> set[str]:
        """The rooms of the batch this server may no longer write: their row names another
        host or a later epoch than the one held (another server took them over). On
        PostgreSQL the rows stay locked to the end of the transaction, so a takeover cannot
        slip in between this check and the commit; SQLite's write lock does the same."""
        room_ids = sorted({request.room_id for request in batch})
        query = select(Room.id, Room.server_id, Room.epoch).where(Room.id.in_(room_ids))
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()
        return self._fenced(connection.execute(query).all(), room_ids)

    def _fenced(self, rows: Iterable[Any], room_ids: list[str]) -> set[str]:
        """The fenced rooms among `room_ids`, given their rows' (id, server_id, epoch)."""
        rows = list(rows)
        fenced = set()
        with self._cond:
            for room_id, server_id, epoch in rows:
                # A room this server hosts without holding an epoch yet (a start-up that did
                # not say) is held at the row's.
                if server_id == self._server_id:
                    self._epochs.setdefault(room_id, epoch)
                if server_id != self._server_id or epoch != self._epochs.get(room_id):
                    fenced.add(room_id)
            for room_id in set(room_ids) - {row[0] for row in rows}:
                # A room without a row is new: this server creates it, at epoch 1.
                self._epochs.setdefault(room_id, 1)
        return fenced

    def _write_batch(self, connection: Connection, batch: list[_Request],
                     created: _Batch) -> set[str]:
        """Write the batch but the calls of fenced rooms; returns those rooms."""
        fenced = self._fence(connection, batch)
        moves: list[dict[str, Any]] = []
        finished: list[tuple[int, dict[str, Any], datetime]] = []
        for request in batch:
            room_id, at = request.room_id, request.at
            if room_id in fenced:
                continue
            if request.room is None:
                connection.execute(
                    update(Room)
                    .where(Room.id == room_id, Room.status == "open")
                    .values(status="closed", closed_at=at)
                )
                # A game the room's people left unfinished will never end: it is abandoned,
                # not shown as running for ever.
                connection.execute(
                    update(Game)
                    .where(Game.room_id == room_id, Game.status == "playing")
                    .values(status="abandoned", finished_at=at)
                )
                created.closed.add(room_id)
                continue
            if room_id not in self._known_rooms and room_id not in created.rooms:
                self._insert_room(connection, request.room, at)
                created.rooms.add(room_id)
            for action in request.actions:
                if action.started is not None:
                    number = action.started["number"]
                    created.games[(room_id, number)] = self._insert_game(
                        connection, room_id, request.room.game, action.started, at)
                game_id = None
                if action.game:
                    game_id = self._game_id(connection, room_id, action.game, created)
                if action.finished is not None:
                    number = action.finished["number"]
                    finished.append(
                        (self._game_id(connection, room_id, number, created), action.finished, at))
                moves.append(_move_row(room_id, action, game_id, at))
        if moves:
            connection.execute(insert(Move), moves)
        for game_id, result, at in finished:
            connection.execute(
                update(Game)
                .where(Game.id == game_id)
                .values(status="finished", finished_at=at, winner=result["winner"],
                        detail=result["detail"])
            )
            scores = [{"g_game": game_id, "g_seat": seat, "g_score": score}
                      for seat, score in enumerate(result["scores"]) if score is not None]
            if scores:
                connection.execute(_SET_SCORE, scores)
        return fenced

    def _insert_room(self, connection: Connection, room: RoomInfo, at: datetime) -> None:
        values = {"id": room.id, "name": room.name, "game": room.game, "seats": room.seats,
                  "server_id": self._server_id, "status": "open", "created_at": at}
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        # Upsert-safe: a room stored before (by an earlier run of this server) stays as is.
        connection.execute(
            dialect.insert(Room).values(**values).on_conflict_do_nothing(index_elements=["id"])
        )

    def _insert_game(self, connection: Connection, room_id: str, kind: str,
                     started: dict[str, Any], at: datetime) -> int:
        game_id = connection.execute(
            insert(Game).values(
                room_id=room_id, number=started["number"], game=kind,
                server_id=self._server_id, seed=started["seed"], dealer=started["dealer"],
                status="playing", started_at=at,
            )
        ).inserted_primary_key[0]
        connection.execute(insert(GameSeat), [
            {"game_id": game_id, "seat": seat["seat"], "user_id": seat["user"],
             "bot": bool(seat["bot"]), "score": None}
            for seat in started["seats"]
        ])
        return game_id

    def _game_id(self, connection: Connection, room_id: str, number: int,
                 created: _Batch) -> int:
        key = (room_id, number)
        game_id = created.games.get(key) or self._game_ids.get(key)
        if game_id is None:
            game_id = connection.execute(
                select(Game.id).where(Game.room_id == room_id, Game.number == number)
            ).scalar_one_or_none()
            if game_id is None:
                raise ValueError(f"room {room_id}: game {number} was never started in the log")
            created.games[key] = game_id
        return game_id

    # --- PostgreSQL, from the event loop ------------------------------------------------

    async def _pg_connection(self) -> AsyncConnection:
        """The writer's connection, opened on the running loop if there is none (or it
        belongs to a loop that is gone)."""
        loop = asyncio.get_running_loop()
        if self._pg is not None and (self._pg.closed or self._pg.loop is not loop):
            self._drop_connection()
        if self._pg is None:
            params = connect_params(self._engine)
            # The writer shows in pg_stat_activity under its own name.
            params.setdefault("application_name", f"game-movelog {self._server_id}")
            deadline = round_trip_deadline(self._engine)
            if deadline is None and "connect_timeout" in params:
                connect_deadline: float | None = float(params["connect_timeout"])
            else:
                connect_deadline = deadline
            self._pg = await AsyncConnection.open(params, deadline=deadline,
                                                  connect_deadline=connect_deadline)
        return self._pg

    async def _pg_transaction(self, batch: list[_Request]) -> tuple[_Batch, set[str]]:
        """`_transaction` on PostgreSQL: the same statements as `_write_batch`, in two round
        trips (the fence, then the rest), three when the batch starts games (their ids are
        needed by their seats and moves), and one more per game whose id is not known (after
        a restart or a takeover)."""
        sql = _pg_sql()
        connection = await self._pg_connection()
        created = _Batch()
        room_ids = sorted({request.room_id for request in batch})
        try:
            fenced = self._fenced(
                await connection.query(sql.fence.bind(connection, p_ids=room_ids)), room_ids)
            script: list[bytes] = []  # statements for the next round trip
            await self._pg_insert_games(connection, script, batch, fenced, created)
            moves: list[bytes] = []
            finished: list[tuple[int, dict[str, Any], datetime]] = []
            for request in batch:
                room_id, at = request.room_id, _utc(request.at)
                if room_id in fenced:
                    continue
                if request.room is None:
                    script.append(sql.close_room.bind(connection, p_room=room_id, p_at=at))
                    # A game the room's people left unfinished is abandoned.
                    script.append(sql.abandon_games.bind(connection, p_room=room_id, p_at=at))
                    created.closed.add(room_id)
                    continue
                self._pg_insert_room(connection, script, request, created)
                for action in request.actions:
                    game_id = None
                    if action.game:
                        game_id = await self._pg_game_id(
                            connection, script, room_id, action.game, created)
                    if action.finished is not None:
                        number = action.finished["number"]
                        finished.append((await self._pg_game_id(
                            connection, script, room_id, number, created), action.finished, at))
                    row = _move_row(room_id, action, game_id, at)
                    row["data"] = json.dumps(row["data"])
                    moves.append(sql.insert_moves.row(connection, row))
            if moves:
                script.append(sql.insert_moves.rows(moves))
            for game_id, result, at in finished:
                script.append(sql.finish_game.bind(
                    connection, p_game=game_id, p_at=at, p_winner=result["winner"],
                    p_detail=json.dumps(result["detail"])))
                script.extend(sql.set_score.bind(connection, g_game=game_id, g_seat=seat,
                                                 g_score=score)
                              for seat, score in enumerate(result["scores"])
                              if score is not None)
            script.append(b"COMMIT")
            await connection.query(b";\n".join(script))
        except Exception:
            await self._pg_rollback(connection)
            raise
        except BaseException:
            self._drop_connection()
            raise
        return created, fenced

    async def _pg_rollback(self, connection: AsyncConnection) -> None:
        """End a failed transaction; a connection that cannot is dropped."""
        if connection.closed:
            self._drop_connection()
            return
        try:
            await connection.query(b"ROLLBACK")
        except Exception:  # noqa: BLE001 - the transaction's own error is the one to report
            log.debug("move log: rollback failed; the connection is dropped", exc_info=True)
            self._drop_connection()

    def _pg_insert_room(self, connection: AsyncConnection, script: list[bytes],
                        request: _Request, created: _Batch) -> None:
        """Queue the insert of the request's room in `script` if the log does not hold it."""
        room = request.room
        if room is None or room.id in self._known_rooms or room.id in created.rooms:
            return
        script.append(_pg_sql().insert_room.bind(
            connection, p_id=room.id, p_name=room.name, p_game=room.game, p_seats=room.seats,
            p_server=self._server_id, p_at=_utc(request.at)))
        created.rooms.add(room.id)

    async def _pg_insert_games(self, connection: AsyncConnection, script: list[bytes],
                               batch: list[_Request], fenced: set[str],
                               created: _Batch) -> None:
        """Insert every game the batch starts (and the rooms they are in) in one round trip,
        sending what `script` holds first; their seats join `script`. One statement for all
        of them: a round trip per game kept every move of the batch waiting behind the
        others' (hundreds of milliseconds when many games start at once)."""
        sql = _pg_sql()
        games: list[bytes] = []
        seats: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for request in batch:
            if request.room is None or request.room_id in fenced:
                continue
            for action in request.actions:
                if action.started is None:
                    continue
                self._pg_insert_room(connection, script, request, created)
                started = action.started
                games.append(sql.insert_games.row(connection, {
                    "p_room": request.room_id, "p_number": started["number"],
                    "p_game": request.room.game, "p_server": self._server_id,
                    "p_seed": started["seed"], "p_dealer": started["dealer"],
                    "p_at": _utc(request.at)}))
                seats[(request.room_id, started["number"])] = started["seats"]
        if not games:
            return
        script.append(sql.insert_games.rows(games))
        rows = await connection.query(b";\n".join(script))
        script.clear()
        for game_id, room_id, number in rows:
            created.games[(room_id, number)] = game_id
        script.append(sql.insert_seats.rows([
            sql.insert_seats.row(connection, {
                "p_game": created.games[key], "p_seat": seat["seat"], "p_user": seat["user"],
                "p_bot": bool(seat["bot"])})
            for key, game_seats in seats.items() for seat in game_seats]))

    async def _pg_game_id(self, connection: AsyncConnection, script: list[bytes],
                          room_id: str, number: int, created: _Batch) -> int:
        key = (room_id, number)
        game_id = created.games.get(key) or self._game_ids.get(key)
        if game_id is None:
            script.append(_pg_sql().game_id.bind(connection, p_room=room_id, p_number=number))
            rows = await connection.query(b";\n".join(script))
            script.clear()
            if not rows:
                raise ValueError(f"room {room_id}: game {number} was never started in the log")
            game_id = created.games[key] = rows[0][0]
        return game_id

    def _forget(self, room_id: str) -> None:
        self._known_rooms.discard(room_id)
        for key in [key for key in self._game_ids if key[0] == room_id]:
            del self._game_ids[key]

    def _failed(self, batch: list[_Request], error: Exception, seconds: float) -> None:
        # Calls queued behind a failed call of the same room build on actions that are not
        # stored: refuse them as well, before the writer gets to them.
        rooms = {request.room_id for request in batch if request.room is not None}
        with self._cond:
            behind = [r for r in self._queue if r.room is not None and r.room_id in rooms]
            if behind:
                self._queue = [r for r in self._queue if r not in behind]
            old = self._stats
            self._stats = LogStats(**{**_fields(old), "failed_batches": old.failed_batches + 1})
        self._report(error, len(batch) + len(behind), seconds)
        for request in [*batch, *behind]:
            _resolve(request, error)

    def _refused(self, calls: list[_Request], error: Exception) -> None:
        """Refuse one room's calls whose rows the database can never take (and the calls of
        the room queued behind them), with one line in the log: a client can cause this at
        will, so no traceback. A bug of ours (an exception raised by our own code rather
        than by the database or its driver) keeps its traceback."""
        room_id = calls[0].room_id
        with self._cond:
            behind = [r for r in self._queue if r.room is not None and r.room_id == room_id]
            if behind:
                self._queue = [r for r in self._queue if r not in behind]
            old = self._stats
            self._stats = LogStats(**{**_fields(old), "failed_batches": old.failed_batches + 1})
        count = len(calls) + len(behind)
        if _raised_by_database(error):
            log.warning("move log: room %s: %d call(s) refused, the database cannot store "
                        "them: %s", room_id, count, _first_line(error))
        else:
            log.error("move log: room %s: %d call(s) refused by a bug", room_id, count,
                      exc_info=error)
        refusal = RowRefused(f"the move log cannot store this change: {_first_line(error)}")
        refusal.__cause__ = error
        for request in [*calls, *behind]:
            _resolve(request, refusal)

    def _report(self, error: Exception, calls: int, seconds: float) -> None:
        """Log the cause once: a warning when commits start failing or the cause changes."""
        cause = _first_line(error)
        if not self._failing or cause != self._last_cause:
            log.warning("move log: commit failed after %.3f s, %d call(s) refused: %s",
                        seconds, calls, cause)
        else:
            log.debug("move log: commit failed again, %d call(s) refused: %s", calls, cause)
        self._failing, self._last_cause = True, cause


_T = TypeVar("_T")


def _run_now(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine that never waits for anything (the SQLite writer's) to its end, here.

    Raises:
        RuntimeError: it waited for something after all.
    """
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("the SQLite writer waited for the event loop")


_PSYCOPG2 = postgresql.psycopg2.dialect()
_UTC_TYPE = UTCDateTime()


def _utc(at: datetime) -> datetime:
    """A row's time as the models store it (aware, UTC).

    Raises:
        ValueError: `at` is naive.
    """
    return _UTC_TYPE.process_bind_param(at, _PSYCOPG2)


class _Sql:
    """A Core statement compiled once for psycopg2: its SQL, and the values it binds itself
    (its literals); the caller gives the named bind parameters."""

    def __init__(self, statement: Executable, prefix: str = "") -> None:
        compiled = statement.compile(dialect=_PSYCOPG2)
        self.text = (prefix + str(compiled)).encode()
        self.defaults = {name: value for name, value in compiled.params.items()
                         if value is not None}

    def bind(self, connection: AsyncConnection, **values: Any) -> bytes:
        """The statement with its values, as the server receives it.

        Raises:
            psycopg2.DataError: a value psycopg2 cannot send.
        """
        return connection.mogrify(self.text, {**self.defaults, **values})


_VALUES_ROW = re.compile(rb" VALUES (\((?:%\(\w+\)s|[^()%])*\))")


class _Rows:
    """A single-row ``INSERT ... VALUES (...)`` compiled once for psycopg2, written for many
    rows at once: one statement, one parse on the server."""

    def __init__(self, statement: Executable) -> None:
        sql = _Sql(statement)
        # The row: "(" placeholders ("%(name)s", with a cast or not) and commas ")".
        found = _VALUES_ROW.search(sql.text)
        if found is None:
            raise ValueError(f"not a single-row INSERT: {sql.text!r}")
        self.head = sql.text[:found.start(1)]
        self.template, self.tail = found.group(1), sql.text[found.end(1):]
        self.defaults = sql.defaults

    def row(self, connection: AsyncConnection, values: dict[str, Any]) -> bytes:
        """One row's ``(...)``.

        Raises:
            psycopg2.DataError: a value psycopg2 cannot send.
        """
        return connection.mogrify(self.template, {**self.defaults, **values})

    def rows(self, rows: list[bytes]) -> bytes:
        return self.head + b", ".join(rows) + self.tail


@dataclass(frozen=True, slots=True)
class _PgStatements:
    fence: _Sql
    close_room: _Sql
    abandon_games: _Sql
    insert_room: _Sql
    insert_games: _Rows
    insert_seats: _Rows
    game_id: _Sql
    insert_moves: _Rows
    finish_game: _Sql
    set_score: _Sql


@functools.cache
def _pg_sql() -> _PgStatements:
    """The PostgreSQL writer's statements: what `MoveLog._write_batch` and its helpers run,
    with every name taken from the models."""
    p = bindparam
    return _PgStatements(
        # One round trip begins the transaction and locks the batch's rooms (fencing).
        fence=_Sql(select(Room.id, Room.server_id, Room.epoch)
                   .where(Room.id == any_(p("p_ids"))).with_for_update(), prefix="BEGIN;\n"),
        close_room=_Sql(update(Room).where(Room.id == p("p_room"), Room.status == "open")
                        .values(status="closed", closed_at=p("p_at"))),
        abandon_games=_Sql(update(Game)
                           .where(Game.room_id == p("p_room"), Game.status == "playing")
                           .values(status="abandoned", finished_at=p("p_at"))),
        insert_room=_Sql(postgresql.insert(Room).values(
            id=p("p_id"), name=p("p_name"), game=p("p_game"), seats=p("p_seats"),
            server_id=p("p_server"), epoch=Room.__table__.c.epoch.default.arg, status="open",
            created_at=p("p_at")).on_conflict_do_nothing(index_elements=["id"])),
        insert_games=_Rows(insert(Game).values(
            room_id=p("p_room"), number=p("p_number"), game=p("p_game"),
            server_id=p("p_server"), seed=p("p_seed"), dealer=p("p_dealer"), status="playing",
            started_at=p("p_at")).returning(Game.id, Game.room_id, Game.number)),
        insert_seats=_Rows(insert(GameSeat).values(
            game_id=p("p_game"), seat=p("p_seat"), user_id=p("p_user"), bot=p("p_bot"))),
        game_id=_Sql(select(Game.id).where(Game.room_id == p("p_room"),
                                           Game.number == p("p_number"))),
        insert_moves=_Rows(insert(Move)),
        finish_game=_Sql(update(Game).where(Game.id == p("p_game")).values(
            status="finished", finished_at=p("p_at"), winner=p("p_winner"),
            detail=p("p_detail"))),
        set_score=_Sql(_SET_SCORE),
    )


def _resolve(request: _Request, error: Exception | None) -> None:
    """Finish the call's future: at once on its own loop, else through that loop."""
    failure = None
    if isinstance(error, (RoomMoved, LogUnavailable)):
        failure = error
    elif error is not None:
        failure = LogUnavailable(f"the move log could not commit: {_first_line(error)}")
        failure.__cause__ = error

    def settle() -> None:
        if request.future.done():  # the caller was cancelled
            return
        if failure is None:
            request.future.set_result(None)
        else:
            request.future.set_exception(failure)

    try:
        on_its_loop = asyncio.get_running_loop() is request.loop
    except RuntimeError:  # the writer thread
        on_its_loop = False
    if on_its_loop:
        settle()
        return
    try:
        request.loop.call_soon_threadsafe(settle)
    except RuntimeError:
        pass  # the loop is closed: nobody is waiting any more


def _transient(error: BaseException) -> bool:
    """Whether a failed transaction says nothing about the rows it wrote: the database is
    away, stuck or too busy (connection lost, timeouts, SQLITE_BUSY, a pool timeout), so the
    same rows may well commit later. Integrity and data errors, and values the driver refuses
    before sending them (psycopg2: a NUL in a string), are the rows' own."""
    if isinstance(error, (IntegrityError, DataError)):
        return False
    if isinstance(error, SQLAlchemyError):
        return True
    # The PostgreSQL writer's own connection raises psycopg2's errors as they are.
    psycopg2 = sys.modules.get("psycopg2")
    if psycopg2 is not None and isinstance(error, psycopg2.Error):
        return not isinstance(error, (psycopg2.IntegrityError, psycopg2.DataError))
    return False


def _raised_by_database(error: BaseException) -> bool:
    """Whether the database or its driver raised `error` (rather than our own code): a
    SQLAlchemy error, or an exception from a frame of SQLAlchemy or the driver (psycopg2
    raises a plain ValueError for a NUL in a string)."""
    if isinstance(error, SQLAlchemyError):
        return True
    if type(error).__module__.split(".")[0] in _DATABASE_MODULES:
        return True
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    if traceback is None:
        return False
    module = traceback.tb_frame.f_globals.get("__name__", "")
    return module.split(".")[0] in _DATABASE_MODULES


def _first_line(error: BaseException) -> str:
    orig = getattr(error, "orig", None)
    text_ = str(orig if orig is not None else error).strip()
    return (text_.splitlines() or [type(error).__name__])[0]


def _fields(stats: LogStats) -> dict[str, Any]:
    return {name: getattr(stats, name) for name in LogStats.__slots__}


def _move_row(room_id: str, action: Action, game_id: int | None,
              at: datetime) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if action.user is not None:
        data["user"] = action.user.name
    if action.move is not None:
        data["move"] = action.move
    if action.seeds:
        data["seeds"] = list(action.seeds)
    if action.salts:
        data["salts"] = list(action.salts)
    if action.started is not None:
        data["started"] = action.started
    if action.finished is not None:
        data["finished"] = action.finished
    if action.options is not None:
        data["options"] = action.options
    if action.clock is not None:
        data["clock"] = action.clock
    if action.bot_name is not None:
        data["bot_name"] = action.bot_name
    return {"room_id": room_id, "seq": action.seq, "game_id": game_id, "kind": action.kind,
            "seat": action.seat, "user_id": action.user.id if action.user else None,
            "data": data, "created_at": at}


def _action_from_row(row: Any) -> Action:
    data = row.data
    user = Player(row.user_id, data["user"]) if "user" in data else None
    return Action.stored(row.kind, seq=row.seq, game=row.number or 0, user=user, seat=row.seat,
                         move=data.get("move"), seeds=tuple(data.get("seeds", ())),
                         started=data.get("started"), finished=data.get("finished"),
                         options=data.get("options"), clock=data.get("clock"),
                         bot_name=data.get("bot_name"),
                         salts=tuple(data.get("salts", ())))
