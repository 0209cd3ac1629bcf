"""Helpers for the move log and history tests: real tables played by bots (`Game.bot_move` for
the people too), their actions recorded in a MoveLog, a probe into the log's writer, and a TCP
proxy that can cut a database off or make it go silent."""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

from game_server.storage import MoveLog, RoomInfo
from game_server.storage.pg_async import AsyncConnection
from game_server.tables import Table


def new_table(room_id: str, seats: int, first_seed: int = 1000, name: str = "",
              game: str = "crazy_eights") -> Table:
    seeds = itertools.count(first_seed)
    return Table(room_id, name or f"room {room_id}", game, seats, seeds=lambda: next(seeds))


def room_info(table: Table) -> RoomInfo:
    return RoomInfo.of(table)


def views(table: Table) -> list[Any]:
    """Everything anyone in the room can see, and the seq."""
    return [table.seq, table.status, table.owner, table.view_for(None)] + [
        table.view_for(seat.number) for seat in table.seats if seat is not None]


async def commit(log: MoveLog, table: Table) -> None:
    """Record the table's journal and mark it committed, as the hub does."""
    actions = list(table.journal)
    await log.record(table, actions)
    table.committed(len(actions))


def step(table: Table) -> bool:
    """Make the next moves: every bot's that may act, else the first person's to act, chosen
    by the bot's strategy."""
    if table.status.value != "playing":
        return False
    if table.bots_to_act():
        table.play_bots()
    else:
        seat = table.seats[table.to_act()[0]]
        table.play(seat.player, table.game.bot_move(table.player_of(seat.number)))
    return True


async def play(log: MoveLog, table: Table, moves: int = 10_000, every: int = 1) -> None:
    """Up to `moves` moves, committing after every `every` of them and at the end."""
    for count in range(1, moves + 1):
        if not step(table):
            break
        if count % every == 0:
            await commit(log, table)
    await commit(log, table)


class Clock:
    """A settable clock for the move log's time stamps."""

    def __init__(self, start: datetime = datetime(2026, 3, 1, 12, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class Proxy:
    """A TCP proxy to a server (a database, Redis) that can fail in the two ways a network
    does: cut off (`down`, then `up`) or silent (`freeze`, then `thaw`).

    While down it closes every open connection and every new one at once, as a server that
    went away would look to the client. While frozen it accepts connections and reads what
    either side sends but forwards nothing, with no FIN or RST: a hung server, or a network
    partition, as the client sees it (the kernel still acknowledges every byte, so TCP
    keepalives and `tcp_user_timeout` notice nothing). `thaw` forwards what was held back and
    goes on.
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.is_up = True
        self.flowing = threading.Event()
        self.flowing.set()
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        #: Connections accepted so far (frozen ones included).
        self.accepted = 0
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.is_up:
                client.close()
                continue
            self.accepted += 1
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        # While frozen, a new connection is accepted and then hears nothing.
        while not self.flowing.wait(0.05):
            if self.stopped or not self.is_up:
                client.close()
                return
        try:
            server = socket.create_connection(self.target, timeout=5)
            server.settimeout(None)
        except OSError:
            client.close()
            return
        with self.lock:
            self.sockets |= {client, server}
        threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()
        threading.Thread(target=self._pipe, args=(server, client), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while not self.flowing.wait(0.05):  # frozen: hold it back
                    if self.stopped:
                        return
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        with self.lock:
            self.sockets.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def down(self) -> None:
        self.is_up = False
        with self.lock:
            open_sockets = list(self.sockets)
        for sock in open_sockets:
            self._close(sock)

    def up(self) -> None:
        self.is_up = True

    def freeze(self) -> None:
        self.flowing.clear()

    def thaw(self) -> None:
        self.flowing.set()

    def stop(self) -> None:
        self.stopped = True
        self.thaw()
        self.down()
        self.listener.close()


class WriterProbe:
    """Sees the move log's transactions and can hold or break them, whichever writer the
    database gets: on SQLite SQLAlchemy's engine events (on the writer thread), on PostgreSQL
    the round trips of the log's asynchronous connection (on the event loop).

    `begins` and `commits` list the thread each transaction began and was sent to commit on.
    """

    def __init__(self, engine: Engine, monkeypatch: Any) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.begins: list[str] = []
        self.commits: list[str] = []
        #: Called with each statement's text before it is sent; may raise.
        self.before: list[Callable[[str], None]] = []
        self._holds: list[tuple[str, _Gate]] = []
        if self.sqlite:
            event.listen(engine, "begin", lambda connection: self._seen("begin"))
            event.listen(engine, "commit", lambda connection: self._seen("commit"))
            event.listen(engine, "before_cursor_execute", self._sqlite_statement)
        else:
            query = AsyncConnection.query
            probe = self

            async def watched(connection: AsyncConnection, sql: bytes, params: Any = None):
                text = sql.decode()
                if text.startswith("BEGIN"):
                    await probe._async_seen("begin")
                for check in probe.before:
                    try:
                        check(text)
                    except psycopg2.OperationalError:
                        connection.close()  # as when the connection is really lost
                        raise
                if text.endswith("COMMIT"):
                    await probe._async_seen("commit")
                return await query(connection, sql, params)

            monkeypatch.setattr(AsyncConnection, "query", watched)

    def hold(self, at: str) -> _Gate:
        """Hold the next transaction at its begin or its commit until the gate opens."""
        gate = _Gate()
        self._holds.append((at, gate))
        return gate

    def lose_connection(self, when: Callable[[str], bool]) -> None:
        """The connection is lost before the first statement for which `when` is true."""

        def check(statement: str) -> None:
            if when(statement):
                self.before.remove(check)
                if self.sqlite:
                    raise OperationalError(statement, {}, Exception(
                        "server closed the connection unexpectedly"))
                raise psycopg2.OperationalError("server closed the connection unexpectedly")

        self.before.append(check)

    def _sqlite_statement(self, conn, cursor, statement, *args) -> None:
        for check in list(self.before):
            check(statement)

    def _record(self, what: str) -> _Gate | None:
        (self.begins if what == "begin" else self.commits).append(
            threading.current_thread().name)
        for index, (at, gate) in enumerate(self._holds):
            if at == what:
                del self._holds[index]
                return gate
        return None

    def _seen(self, what: str) -> None:
        gate = self._record(what)
        if gate is not None:
            gate.busy.set()
            assert gate.thread_gate.wait(10)

    async def _async_seen(self, what: str) -> None:
        gate = self._record(what)
        if gate is not None:
            gate.busy.set()
            await asyncio.wait_for(gate.loop_gate.wait(), 10)


class _Gate:
    """Where a held transaction waits: `busy` once it waits, `release()` lets it go on."""

    def __init__(self) -> None:
        self.busy = threading.Event()
        self.thread_gate = threading.Event()
        self.loop_gate = asyncio.Event()

    def release(self) -> None:
        self.thread_gate.set()
        self.loop_gate.set()
