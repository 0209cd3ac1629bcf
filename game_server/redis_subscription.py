"""One Redis pub/sub subscription that lives as long as its task: the directory's lobby notices
and the broker's notifications both run on it.

`subscribe_forever` subscribes, waits for Redis to confirm (until then a message can be
missed), hands every message to a callback, PINGs a connection that has been silent for a
while and gives up on it when even that gets no answer (a partition sends no RST), and
subscribes again after any failure with a back-off from 50 ms to one second. An outage is
logged once (WARNING) and its end once (INFO); a bug in a callback is logged with its
traceback and the subscription carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio
import redis.exceptions

__all__ = ["UNAVAILABLE", "subscribe_forever"]

#: What "Redis is unreachable" looks like from redis-py. ReadOnlyError: a replica reached
#: during a failover, which also passes.
UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
               redis.exceptions.ReadOnlyError, OSError)

#: Retry back-off bounds (s), and how long a silent connection may stay silent before a PING
#: checks it.
RETRY_FIRST = 0.05
RETRY_MAX = 1.0
PING_EVERY = 5.0


async def subscribe_forever(client: redis.asyncio.Redis, *, channels: Sequence[str] = (),
                            patterns: Sequence[str] = (),
                            on_message: Callable[[dict[str, Any]], None],
                            subscribed: asyncio.Event, what: str, where: str,
                            timeout: float, logger: logging.Logger,
                            on_restored: Callable[[], None] | None = None) -> None:
    """Deliver each message (`message` or `pmessage`) of `channels` and `patterns` to
    `on_message` until cancelled. `subscribed` is set while the subscription is confirmed;
    `on_restored` runs after an outage (what was published meanwhile is lost). `what` and
    `where` name the subscription and the Redis in the lines written to `logger`."""
    delay = RETRY_FIRST
    outage = False
    while True:
        pubsub = client.pubsub()
        try:
            if channels:
                await pubsub.subscribe(*channels)
            if patterns:
                await pubsub.psubscribe(*patterns)
            await _confirmed(pubsub, len(channels) + len(patterns), timeout)
            subscribed.set()
            delay = RETRY_FIRST
            if outage:
                logger.info("%s to Redis at %s restored", what, where)
                outage = False
                if on_restored is not None:
                    on_restored()
            await _read(pubsub, on_message, timeout)
        except UNAVAILABLE as error:
            subscribed.clear()
            if not outage:
                logger.warning("%s to Redis at %s lost (%s); retrying", what, where, error)
                outage = True
        except Exception:
            # A bug, not an outage: say so loudly, and keep the subscription alive.
            subscribed.clear()
            logger.exception("%s to Redis at %s failed", what, where)
        finally:
            with contextlib.suppress(*UNAVAILABLE):
                await pubsub.aclose()
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_MAX)


async def _confirmed(pubsub: Any, expected: int, timeout: float) -> None:
    """Wait until Redis confirmed every SUBSCRIBE and PSUBSCRIBE."""
    deadline = time.monotonic() + timeout
    while expected and time.monotonic() < deadline:
        message = await pubsub.get_message(timeout=timeout)
        if message is not None and message.get("type") in ("subscribe", "psubscribe"):
            expected -= 1
    if expected:
        raise redis.exceptions.TimeoutError("SUBSCRIBE was not confirmed")


async def _read(pubsub: Any, on_message: Callable[[dict[str, Any]], None],
                timeout: float) -> None:
    heard = time.monotonic()
    pinged = False
    while True:
        message = await pubsub.get_message(timeout=timeout)
        now = time.monotonic()
        if message is not None:
            heard, pinged = now, False
            if message.get("type") in ("message", "pmessage"):
                on_message(message)
        elif now - heard > PING_EVERY + 2 * timeout and pinged:
            raise redis.exceptions.TimeoutError("no answer to PING on the subscription")
        elif now - heard > PING_EVERY and not pinged:
            await pubsub.ping()
            pinged = True
