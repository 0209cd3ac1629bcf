"""Limits on repeated attempts: failed sign-ins per name and per address, invitations per user.

In memory, per site process: a restart forgets them, and with several site processes each
counts its own (an attacker gets that many times the limit; still far too few guesses). The
clock is passed in (``time.monotonic`` by default) so tests need no sleeping.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable

__all__ = ["SignInLimits", "WindowLimiter"]


class WindowLimiter:
    """At most ``limit`` events per key in any ``window`` seconds (a sliding window).

    Only the times of the last ``limit`` events of a key are kept, and keys whose events are
    all older than the window are dropped once there are more than ``max_keys``, so memory
    stays bounded whatever arrives.
    """

    def __init__(self, limit: int, window: float, *,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a limit needs at least one event in a positive window")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._events: dict[Hashable, deque[float]] = {}

    def retry_after(self, key: Hashable) -> float:
        """Seconds until ``key`` may have another event; 0 if it may now."""
        events = self._events.get(key)
        if events is None or len(events) < self.limit:
            return 0.0
        return max(0.0, events[0] + self.window - self._clock())

    def add(self, key: Hashable) -> None:
        """Count one event for ``key`` now."""
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= self._max_keys:
                self._forget_old()
            events = self._events[key] = deque(maxlen=self.limit)
        events.append(self._clock())

    def clear(self, key: Hashable) -> None:
        """Forget the events of ``key``."""
        self._events.pop(key, None)

    def _forget_old(self) -> None:
        horizon = self._clock() - self.window
        for key in [key for key, events in self._events.items() if events[-1] <= horizon]:
            del self._events[key]
        # Still full of recent keys (a flood from many addresses): drop the oldest entries
        # rather than grow without bound.
        while len(self._events) >= self._max_keys:
            del self._events[next(iter(self._events))]


class SignInLimits:
    """Failed sign-ins: at most ``per_name`` per name and ``per_address`` per client address
    in ``window`` seconds (by default 5 and 20 in 15 minutes).

    While either limit is reached, every sign-in for that name or from that address is
    refused before the password is checked, even a right one: otherwise the answers would
    still tell a guesser when they are right. A successful sign-in clears the name's count.
    Names are counted by their loose key (``"ADA"`` counts for ``"Ada"``).
    """

    def __init__(self, *, per_name: int = 5, per_address: int = 20, window: float = 15 * 60,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.names = WindowLimiter(per_name, window, clock=clock)
        self.addresses = WindowLimiter(per_address, window, clock=clock)

    def retry_after(self, name_key: str, address: str) -> int:
        """Whole seconds until this name may try again from this address; 0: now."""
        return math.ceil(max(self.names.retry_after(name_key),
                             self.addresses.retry_after(address)))

    def failed(self, name_key: str, address: str) -> None:
        """Count a failed sign-in (wrong password, unknown name)."""
        self.names.add(name_key)
        self.addresses.add(address)

    def succeeded(self, name_key: str) -> None:
        """Forget the name's failures after a successful sign-in."""
        self.names.clear(name_key)
