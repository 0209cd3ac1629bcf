"""Committing the engine's actions to the move log, before anything is sent.

The move log is an edge passed in: `record(table, actions)` and `close_room(room_id)` each
return None (nothing to wait for: `MemoryLog`) or an awaitable that finishes once committed and
raises if the commit failed (`storage.movelog.MoveLog`). An error with a true `logged`
attribute was logged by the move log itself and is not logged again here.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable

from game_server.tables.changes import RoomMoved
from game_server.tables.requests import Commit

__all__ = ["MemoryLog", "commit"]

log = logging.getLogger(__name__)


class MemoryLog:
    """A move log that keeps nothing: for tests and tools that need no durability."""

    def record(self, table: Any, actions: list[Any]) -> Awaitable[None] | None:
        return None

    def close_room(self, room_id: str) -> Awaitable[None] | None:
        return None


async def commit(move_log: Any, commits: list[Commit]) -> dict[int, Exception]:
    """Hand every commit to the move log (in order: the log keeps one room's calls in order),
    then wait for them all. Returns the commits that failed, by token, with the error
    (`tables.RoomMoved` when another server hosts the room now); nothing of those is
    stored."""
    waiting: list[tuple[Commit, Awaitable[None]]] = []
    failed: dict[int, Exception] = {}
    for item in commits:
        try:
            if item.actions:
                pending = move_log.record(item.room, item.actions)
                if pending is not None:
                    waiting.append((item, pending))
            if item.close:
                pending = move_log.close_room(item.room.id)
                if pending is not None:
                    waiting.append((item, pending))
        except Exception as error:  # a log that refuses at once (closed)
            _report(item, error)
            failed[item.token] = error
    for item, pending in waiting:
        try:
            await pending
        except Exception as error:
            if item.token not in failed:
                _report(item, error)
                failed[item.token] = error
    return failed


def _report(item: Commit, error: Exception) -> None:
    if isinstance(error, RoomMoved):
        return  # the hub says what happens next
    if getattr(error, "logged", False):
        # The log has said why already, in one line (`storage.movelog.RowRefused`: a row
        # the database refuses, which a client can cause at will): do not say it twice.
        log.debug("room %s: %d change(s) refused (%s)", item.room.id, len(item.actions), error)
        return
    log.warning("room %s: move log unavailable (%s); %d change(s) refused",
                item.room.id, error, len(item.actions))
