"""The engine's deadlines as asyncio timers: one timer per key, set, replaced or cancelled as the
engine says, and reported back to it when it fires.

The engine keeps its own time (`now` passed in); this driver converts a deadline to a delay with
the same clock, so a test with a fake clock and a real loop sees the same order of events.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Hashable, Iterable

from game_server.tables.requests import Deadline

__all__ = ["Timers"]


class Timers:
    """Runs `fire(key)` when the deadline set for `key` comes."""

    def __init__(self, fire: Callable[[Hashable], None], clock: Callable[[], float]) -> None:
        self._fire = fire
        self._clock = clock
        self._handles: dict[Hashable, asyncio.TimerHandle] = {}

    def apply(self, deadlines: Iterable[Deadline]) -> None:
        for deadline in deadlines:
            old = self._handles.pop(deadline.key, None)
            if old is not None:
                old.cancel()
            if deadline.at is not None:
                delay = max(0.0, deadline.at - self._clock())
                loop = asyncio.get_running_loop()
                self._handles[deadline.key] = loop.call_later(delay, self._due, deadline.key)

    def _due(self, key: Hashable) -> None:
        self._handles.pop(key, None)
        self._fire(key)

    def pending(self) -> list[Hashable]:
        """The keys of the timers set now (for tests and shutdown)."""
        return list(self._handles)

    def stop(self) -> None:
        """Cancel every timer (server shutdown)."""
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
