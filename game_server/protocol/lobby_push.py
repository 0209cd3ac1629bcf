"""Pushing the room list to connections in the lobby when rooms change, at most once a
second however many rooms change."""

from __future__ import annotations

import asyncio
from typing import Callable

__all__ = ["ROOM_LIST_PUSH_SECONDS", "RoomListPush"]

#: Connections in the lobby get the room list at most this often when rooms change.
ROOM_LIST_PUSH_SECONDS = 1.0


class RoomListPush:
    """Calls `push()` once, `ROOM_LIST_PUSH_SECONDS` after the first change since the last
    push."""

    def __init__(self, push: Callable[[], None]) -> None:
        self._push = push
        self._timer: asyncio.TimerHandle | None = None

    def changed(self) -> None:
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(ROOM_LIST_PUSH_SECONDS, self._due)

    def _due(self) -> None:
        self._timer = None
        self._push()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
