"""The move log: every accepted change of a room, committed before anyone is told about it.

Edge layer. Tables live in memory; this log is what survives a crash. :meth:`MoveLog.record`
resolves only once the actions are committed, so the caller sends the resulting ``state`` only
after that, and :meth:`MoveLog.load_open_rooms` gives a restarted server every room it hosted
with the actions that rebuild it (``Table.replay``).

Group commit: calls are queued, and one dedicated writer thread commits everything queued so
far in one transaction. Calls made in the same event-loop iteration, or while the writer is busy
with the previous batch, share the next transaction; so under load the cost per action stays
small, and the event loop never waits for the database. When the database is away (a lost
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
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from game_server.tables import Action, Player, RoomMoved, Table

from .models import (
    GAME_KIND_MAX_LENGTH,
    ROOM_ID_MAX_LENGTH,
    ROOM_NAME_MAX_LENGTH,
    SERVER_ID_MAX_LENGTH,
    Game,
    GameSeat,
    Move,
    Room,
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
    """The durable move log of one server (``server_id``), writing on a thread of its own.

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
        self._connection: Connection | None = None  # the writer thread's own
        # Guarded by _cond: the epoch this server holds each room at (migration 0004). A
        # commit for a room whose row no longer carries this server and epoch is refused.
        self._epochs: dict[str, int] = {}
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
            self._signalled = True
            self._cond.notify()

    def close(self) -> None:
        """Commit what is queued, then stop the writer thread. Later calls raise
        :class:`LogUnavailable`. The engine is the caller's to dispose of."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not threading.current_thread():
            self._thread.join()

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

    # --- the writer thread -------------------------------------------------------------

    def _drop_connection(self, broken: bool = True) -> None:
        """Let go of the writer's connection; a `broken` one is not returned to the pool."""
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                if broken:
                    connection.invalidate()
                connection.close()
            except Exception:  # noqa: BLE001 - it is being thrown away
                log.debug("move log: closing the writer's connection failed", exc_info=True)

    def _run(self) -> None:
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
                self._write(batch)
            with self._cond:
                # Calls made while the batch was written form the next batch, at once.
                if self._queue:
                    self._signalled = True

    def _write(self, batch: list[_Request]) -> None:
        started = time.perf_counter()
        try:
            created, fenced = self._transaction(batch)
        except Exception as error:  # noqa: BLE001 - sorted out below
            if _transient(error):
                # The database is away or stuck: every call fails, and retrying room by
                # room would only wait once per room.
                self._drop_connection()
                self._failed(batch, error, time.perf_counter() - started)
            else:
                self._isolate(batch, error)
            return
        self._committed(batch, created, fenced, time.perf_counter() - started)

    def _transaction(self, batch: list[_Request]) -> tuple[_Batch, set[str]]:
        """Write `batch` in one transaction; returns what it created and the fenced rooms.

        Raises:
            Exception: the transaction failed and was rolled back.
        """
        created = _Batch()
        # The writer keeps one connection: no pool checkout and no liveness ping per batch
        # (a round trip each on PostgreSQL). A connection failure drops it; the next batch
        # connects afresh.
        if self._connection is None:
            self._connection = self._engine.connect()
        connection = self._connection
        with connection.begin():
            if connection.dialect.name == "sqlite":
                connection.execute(_SQLITE_WRITE_LOCK)
            fenced = self._write_batch(connection, batch, created)
        return created, fenced

    def _isolate(self, batch: list[_Request], error: Exception) -> None:
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
                    created, fenced = self._transaction(calls)
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
            self._stats = LogStats(
                batches=old.batches + 1,
                failed_batches=old.failed_batches,
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
        rows = connection.execute(query).all()
        fenced = set()
        with self._cond:
            for row in rows:
                # A room this server hosts without holding an epoch yet (a start-up that did
                # not say) is held at the row's.
                if row.server_id == self._server_id:
                    self._epochs.setdefault(row.id, row.epoch)
                if row.server_id != self._server_id or row.epoch != self._epochs.get(row.id):
                    fenced.add(row.id)
            for room_id in set(room_ids) - {row.id for row in rows}:
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


def _resolve(request: _Request, error: Exception | None) -> None:
    """Finish the call's future on its own loop (from the writer thread)."""
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
    return isinstance(error, SQLAlchemyError)


def _raised_by_database(error: BaseException) -> bool:
    """Whether the database or its driver raised `error` (rather than our own code): a
    SQLAlchemy error, or an exception from a frame of SQLAlchemy or the driver (psycopg2
    raises a plain ValueError for a NUL in a string)."""
    if isinstance(error, SQLAlchemyError):
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
