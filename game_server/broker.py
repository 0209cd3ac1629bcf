"""The game server's side of notifications: one subscription per server, handing each
notification to the hub, which sends it to the user's connections here.

Edge layer, like the directory: `game_server/server.py` builds one broker per server with
`make_broker` and gives it `deliver(notification)` (the hub's `notify`). The wire format and
the publishers are in `game_server/notify.py`.

- `LocalBroker` (no ``GAME_REDIS_URL``: one server, ``make play``): `publish` hands the
  notification to this server's hub, on the event loop's next turn, as Redis would.
- `RedisBroker`: one pub/sub connection per server, subscribed to ``P notify:all`` and to the
  pattern ``P notify:user:*``, whatever the number of connections; `publish` is a Redis PUBLISH
  (every server gets it, this one included).

Both have `publish(kind, data, *, user_id=None)` (and `send(notification)`), so code running
in the server (and the local admin endpoint, ``POST /notify``) notifies users the same way with
or without Redis.

Why a connection of its own rather than the directory's lobby subscription: the directory's
notices are hints without data whose callbacks take no arguments, and its reader is private to
it. Notifications carry data that must be checked and routed by channel; a second connection
per server costs Redis nothing worth counting, keeps a flood of notifications from delaying
lobby notices, and lets each reconnect and report on its own. It follows the directory's
recipe: confirmed subscription, a PING after silence (a partition sends no RST), and retries
with back-off from 50 ms to 1 s.

Failure: a message on the channels that is not a notification (not JSON, a bad kind, data too
large, a channel that names no user) is dropped with a WARNING (at most one a minute, counting
the others), and the listener goes on. While Redis is unreachable nothing is delivered, and
what was published meanwhile is lost (PUBLISH keeps nothing): one WARNING when the
subscription is lost, one INFO when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Callable

import redis.asyncio

from game_server.notify import (DEFAULT_PREFIX, Notification, RedisPublisher, all_channel,
                                user_of_channel, user_pattern)
from game_server.redis_subscription import subscribe_forever

__all__ = ["LocalBroker", "RedisBroker", "make_broker"]

log = logging.getLogger(__name__)

Deliver = Callable[[Notification], Any]

#: Subscription: socket timeouts (s), as the directory's.
_TIMEOUT = 1.0
_CONNECT_TIMEOUT = 0.5
#: At most one warning about malformed messages this often (s); the others are counted.
_WARN_EVERY = 60.0



def _hand_over(deliver: Deliver, notification: Notification) -> None:
    try:
        deliver(notification)
    except Exception:
        # A bug in delivery must not stop the listener (or the next notification).
        log.exception("delivering a %r notification failed", notification.kind)


class LocalBroker:
    """The in-process broker: notifications reach this server's connections only."""

    def __init__(self, deliver: Deliver) -> None:
        self._deliver = deliver

    def __repr__(self) -> str:
        return "LocalBroker()"

    def start(self) -> None:
        """Nothing to listen to."""

    async def listening(self) -> None:
        """Always listening."""

    async def publish(self, kind: str, data: Any, *, user_id: int | None = None) -> None:
        """Deliver on the loop's next turn, never inside the caller's call; the data goes
        through its JSON form, so a caller that changes it afterwards changes nothing sent.

        Raises:
            ValueError: a bad kind, data or user id (see `Notification`).
        """
        await self.send(Notification(kind, data, user_id))

    async def send(self, notification: Notification) -> None:
        """`publish` for a notification already made."""
        copy = Notification.parse(notification.payload(), notification.user_id)
        asyncio.get_running_loop().call_soon(_hand_over, self._deliver, copy)

    async def close(self) -> None:
        pass


class RedisBroker:
    """One subscription to the notification channels of `prefix`, delivering each notification
    to `deliver`; `publish` goes to Redis.

    Nothing connects until `start()` (the listener) or `publish`; the constructor never fails
    on an unreachable Redis.
    """

    def __init__(self, url: str, deliver: Deliver, *, prefix: str = DEFAULT_PREFIX,
                 timeout: float = _TIMEOUT, connect_timeout: float = _CONNECT_TIMEOUT) -> None:
        self._deliver = deliver
        self._prefix = prefix
        self._timeout = timeout
        self._publisher = RedisPublisher(url, prefix=prefix)
        self._where = self._publisher.where
        # Bytes, not decoded text: a message that is not UTF-8 must be a warning here, not a
        # decoding error inside redis-py's reader. RESP2 for the PONG (see directory.py).
        self._redis = redis.asyncio.Redis.from_url(
            url, protocol=2, socket_connect_timeout=connect_timeout, socket_timeout=timeout)
        self._channel = all_channel(prefix)
        self._pattern = user_pattern(prefix)
        self._reader: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._closed = False
        self._malformed = 0
        self._warned_at: float | None = None

    def __repr__(self) -> str:
        return f"RedisBroker({self._where!r}, prefix={self._prefix!r})"

    async def publish(self, kind: str, data: Any, *, user_id: int | None = None) -> None:
        """PUBLISH to every game server of the service.

        Raises:
            ValueError: a bad kind, data or user id (see `Notification`).
            NotifyUnavailable: Redis cannot be reached.
        """
        await self.send(Notification(kind, data, user_id))

    async def send(self, notification: Notification) -> None:
        """`publish` for a notification already made."""
        await self._publisher.send(notification)

    def start(self) -> None:
        """Start listening (once); needs a running event loop."""
        if self._reader is None and not self._closed:
            self._reader = asyncio.get_running_loop().create_task(
                self._listen(), name=f"{self!r} subscription")

    async def listening(self) -> None:
        """Wait until notifications published from now on are delivered (the subscription
        is confirmed). Waits as long as Redis is unreachable: use a timeout."""
        await self._subscribed.wait()

    async def close(self) -> None:
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        self._subscribed.clear()
        await self._redis.aclose()
        await self._publisher.close()

    # --- the subscription -------------------------------------------------------------------

    async def _listen(self) -> None:
        """Deliver notifications until cancelled; subscribe again after any failure."""
        await subscribe_forever(
            self._redis, channels=[self._channel], patterns=[self._pattern],
            on_message=lambda message: self._received(message["channel"], message["data"]),
            subscribed=self._subscribed, what="notification subscription", where=self._where,
            timeout=self._timeout, logger=log)

    def _received(self, channel: bytes | str, data: bytes | str) -> None:
        name = channel.decode("utf-8", "replace") if isinstance(channel, bytes) else channel
        try:
            notification = Notification.parse(data, user_of_channel(name, self._prefix))
        except ValueError as error:
            self._warn_malformed(name, error)
            return
        _hand_over(self._deliver, notification)

    def _warn_malformed(self, channel: str, error: ValueError) -> None:
        """One warning a minute at most: a publisher with a bug must not flood the log."""
        self._malformed += 1
        now = time.monotonic()
        if self._warned_at is not None and now - self._warned_at < _WARN_EVERY:
            return
        others = self._malformed - 1
        log.warning("dropped a malformed notification on %s: %s%s", channel[:120], error,
                    f" ({others} more dropped since the last warning)" if others else "")
        self._malformed = 0
        self._warned_at = now


def make_broker(config: Any, deliver: Deliver) -> LocalBroker | RedisBroker:
    """The broker for a `game_server.config.Config`: Redis when ``GAME_REDIS_URL`` is set."""
    if config.redis_url:
        return RedisBroker(config.redis_url, deliver, prefix=config.redis_prefix)
    return LocalBroker(deliver)
