"""Helpers for the move log and history tests: real tables played by bots (`Game.bot_move` for
the people too), their actions recorded in a MoveLog, and a TCP proxy that can cut a database
off or make it go silent."""

from __future__ import annotations

import itertools
import socket
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from game_server.storage import MoveLog, RoomInfo
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
