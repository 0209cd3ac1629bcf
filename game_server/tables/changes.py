"""The values a table's changes are made of: a room's `Status`, one `Change`, and `TableError`.

Imports only the standard library.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Change", "RoomMoved", "Status", "TableError"]


class Status(str, enum.Enum):
    """A room's life: waiting for players, a game in progress, the last game over."""

    WAITING = "waiting"
    PLAYING = "playing"
    FINISHED = "finished"


class TableError(Exception):
    """A request the table refuses; `code` is a protocol error code. Nothing has changed."""

    def __init__(self, code: str, text: str | None = None) -> None:
        self.code = code
        self.text = text
        super().__init__(f"{code}: {text}" if text else code)


@dataclass
class Change:
    """One change of a room: the new seq, the event, and the view for each member.

    `views` has an entry per seat played by a connected person and `None` for spectators.
    `private` holds per-seat versions of the event (a card taken is named only to the taker).
    `released`: in a room whose spectators are kept behind (tables/watching.py), the older
    changes they get now instead of this one, as (seq, event, spectator's view), oldest first;
    None: they get this one.
    """

    seq: int
    event: dict[str, Any]
    views: dict[int | None, dict[str, Any]]
    private: dict[int, dict[str, Any]] = field(default_factory=dict)
    released: list[tuple[int, dict[str, Any], dict[str, Any]]] | None = None

    def event_for(self, seat: int | None) -> dict[str, Any]:
        """The event as the member in `seat` (None: a spectator) sees it."""
        return self.private.get(seat, self.event) if seat is not None else self.event


class RoomMoved(Exception):
    """A move log refused a room's commit because another server hosts the room now (it took
    the room over while this one was frozen or cut off). Nothing of the commit is stored."""

    def __init__(self, room_id: str) -> None:
        self.room_id = room_id
        super().__init__(f"room {room_id} is hosted by another server now")
