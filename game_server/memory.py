"""Giving memory back to the system once a crowd of connections has left.

After a load the server's RSS stayed near its peak although the connections' objects were
gone (bench/soak.py, docs/security.md): closed connections leave reference cycles that the
collector, tuned for rare full collections (server.tune_gc), does not visit while the server
is quiet, and glibc keeps the freed pages of its heap. When the open connections fall to half
of their peak, one full collection and `malloc_trim(0)` hand most of it back (150 clients for
40 s: end RSS 94 MiB without, 88 MiB with, against a warm baseline of 79 MiB).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import time
from typing import Callable

log = logging.getLogger(__name__)

#: Seconds between looks at the number of open connections.
CHECK_SECONDS = 5.0
#: Below this peak there is too little to give back to be worth a full collection.
MIN_PEAK = 20


def malloc_trim() -> Callable[[], None] | None:
    """glibc's `malloc_trim(0)` (release free heap pages), or None where libc has none."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None
    if trim is None:
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


class MemoryReturn:
    """Call `check()` every CHECK_SECONDS: when the open connections have fallen to half of
    their peak since the last return (a peak of at least MIN_PEAK), collect and trim."""

    def __init__(self, connections: Callable[[], int],
                 trim: Callable[[], None] | None = malloc_trim()) -> None:
        self._connections = connections
        self._trim = trim
        self.peak = 0

    def check(self) -> bool:
        """Returns whether memory was given back now."""
        open_now = self._connections()
        self.peak = max(self.peak, open_now)
        if self.peak < MIN_PEAK or open_now > self.peak // 2:
            return False
        started = time.perf_counter()
        gc.collect()
        if self._trim is not None:
            self._trim()
        log.debug("returned memory after %d of %d connections closed in %.1f ms",
                  self.peak - open_now, self.peak, (time.perf_counter() - started) * 1000)
        self.peak = open_now
        return True
