"""Per-connection rate limit: a token bucket, and the rule for closing a flooding connection."""

from __future__ import annotations

from typing import Callable

BURST = 40
PER_SECOND = 20.0
#: A connection still flooding this many seconds after its first refused message is closed.
FLOOD_CLOSE_SECONDS = 3.0
#: A flood is over once no message has been refused for this long.
FLOOD_QUIET_SECONDS = 1.0


class RateLimit:
    """Allows bursts of `burst` messages and `per_second` sustained.

    >>> now = [0.0]
    >>> limit = RateLimit(clock=lambda: now[0], burst=2, per_second=1)
    >>> [limit.allow() for _ in range(3)]
    [True, True, False]
    >>> now[0] = 1.0
    >>> limit.allow()
    True
    """

    def __init__(self, clock: Callable[[], float], burst: int = BURST,
                 per_second: float = PER_SECOND,
                 flood_close: float = FLOOD_CLOSE_SECONDS) -> None:
        self._clock = clock
        self._burst = float(burst)
        self._rate = per_second
        self._flood_close = flood_close
        self._tokens = float(burst)
        self._last = clock()
        self._flood_since: float | None = None
        self._last_refused = float("-inf")

    def allow(self) -> bool:
        """Take one token; False when the bucket is empty (the message is refused)."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        if self._flood_since is None or now - self._last_refused > FLOOD_QUIET_SECONDS:
            self._flood_since = now
        self._last_refused = now
        return False

    @property
    def flooding(self) -> bool:
        """True once the connection has kept exceeding the rate for FLOOD_CLOSE_SECONDS.

        Sending faster than the sustained rate refuses some messages every second, so a flood
        is a run of refusals with no quiet second between them.
        """
        now = self._clock()
        return (self._flood_since is not None
                and now - self._last_refused <= FLOOD_QUIET_SECONDS
                and now - self._flood_since >= self._flood_close)
