"""Helpers for the move log and history tests: real tables played by bots (`Game.bot_move` for
the people too), their actions recorded in a MoveLog, and a TCP proxy that can cut a database
off."""

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
    """A TCP proxy to a database server that can be cut off (`down`) and restored (`up`).

    While down it closes every open connection and every new one at once, as a server that
    went away would look to the client.
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.is_up = True
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
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
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets |= {client, server}
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
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

    def stop(self) -> None:
        self.stopped = True
        self.down()
        self.listener.close()
