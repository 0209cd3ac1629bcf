"""Who hosts each room, in the database: the source of truth when several game servers run.

Edge layer. `rooms.server_id` names the server that hosts an open room and `rooms.epoch`
counts the changes of host (migration 0004). Every change of host is a compare-and-set on
(server_id, epoch), so of several servers that try to take one room over at once exactly one
succeeds, and the move log (`movelog.MoveLog`) refuses commits from a server whose epoch is
old. Synchronous: callers on the event loop run these in an executor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select, update

from .models import Room

__all__ = ["Host", "RoomHosts", "UNHOSTED"]

#: The server id of a room its host gave up without naming the next one (a drain with no
#: other server alive): any server that starts may take it.
UNHOSTED = "-"


@dataclass(frozen=True, slots=True)
class Host:
    """An open room and who hosts it, at which epoch."""

    room_id: str
    server_id: str
    epoch: int


class RoomHosts:
    """Reads and moves the hosts of open rooms."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def host(self, room_id: str) -> Host | None:
        """The host of an open room, or None (no such room, or closed)."""
        with self._engine.connect() as connection:
            row = connection.execute(
                select(Room.id, Room.server_id, Room.epoch)
                .where(Room.id == room_id, Room.status == "open")
            ).one_or_none()
        return Host(row.id, row.server_id, row.epoch) if row is not None else None

    def hosts(self, room_ids: Iterable[str]) -> dict[str, Host]:
        """The hosts of those of `room_ids` that are open rooms in the database."""
        ids = sorted(set(room_ids))
        if not ids:
            return {}
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(Room.id, Room.server_id, Room.epoch)
                .where(Room.id.in_(ids), Room.status == "open")
            ).all()
        return {row.id: Host(row.id, row.server_id, row.epoch) for row in rows}

    def open_servers(self) -> set[str]:
        """The ids of the servers that host open rooms (dead ones included)."""
        with self._engine.connect() as connection:
            return set(connection.execute(
                select(Room.server_id).where(Room.status == "open").distinct()).scalars())

    def hosted_by(self, server_ids: Iterable[str]) -> list[Host]:
        """The open rooms hosted by any of `server_ids`, oldest first."""
        ids = sorted(set(server_ids))
        if not ids:
            return []
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(Room.id, Room.server_id, Room.epoch)
                .where(Room.server_id.in_(ids), Room.status == "open")
                .order_by(Room.created_at, Room.id)
            ).all()
        return [Host(row.id, row.server_id, row.epoch) for row in rows]

    def move(self, host: Host, to_server: str) -> int | None:
        """Give the room to `to_server` if it is still hosted as `host` says; returns the new
        epoch, or None if someone else moved it first (or it closed)."""
        with self._engine.begin() as connection:
            moved = connection.execute(
                update(Room)
                .where(Room.id == host.room_id, Room.server_id == host.server_id,
                       Room.epoch == host.epoch, Room.status == "open")
                .values(server_id=to_server, epoch=host.epoch + 1)
            ).rowcount
        return host.epoch + 1 if moved == 1 else None
