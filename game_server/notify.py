"""Notifications pushed to connected players: the wire format, and publishing one.

Any back-end code (the main site, a cron job, another service) tells players something through
the game servers: a notification is a ``kind`` (what it is, for the client to switch on) and
``data`` (any JSON), for one user or for everyone. Every game server forwards it to the
connections of that user it has (all of them), or to every signed-in connection, as the
protocol's ``{"msg": "notify", "kind", "data"}`` (docs/protocol.md, "notify").

Delivery is Redis PUBLISH/SUBSCRIBE: whoever is connected now gets it. A notification for a
user who is offline (or published while a server is cut off from Redis) is dropped, not kept
for later; anything that must survive belongs in the database, with the notification as a hint.

Channels (``P`` is ``GAME_REDIS_PREFIX``, default ``"game:"``, the directory's namespace):

- ``P notify:user:<user id>``: for one user (the id as a decimal integer);
- ``P notify:all``: for every signed-in user.

The message on a channel is UTF-8 JSON, ``{"kind": str, "data": any}``; ``kind`` is 1 to 40
characters ``a-z 0-9 _ . -``, and ``data`` encodes to at most 4 KiB of JSON (`MAX_DATA_BYTES`).
Fields other than these two are ignored (a newer publisher may add some).

Publishing (`make_publisher`):

- with ``GAME_REDIS_URL`` set: straight to Redis (`RedisPublisher`), reaching every server;
- without it (one server, ``make play``): to the local game server's admin endpoint,
  ``POST http://127.0.0.1:<GAME_ADMIN_PORT>/notify`` (`HttpPublisher`), which hands it to the
  server's in-process broker (game_server/broker.py).

Code running inside a game server uses its broker (``Server.broker``), which has the same
``publish``. Scripts can call the synchronous `publish`.

Edge layer: imports the standard library, orjson and (for `RedisPublisher`) redis; nothing of
the game server.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

__all__ = [
    "ADMIN_HOST",
    "DEFAULT_ADMIN_PORT",
    "DEFAULT_PREFIX",
    "KIND_PATTERN",
    "MAX_DATA_BYTES",
    "HttpPublisher",
    "Notification",
    "NotifyUnavailable",
    "Publisher",
    "RedisPublisher",
    "all_channel",
    "make_publisher",
    "parse_request",
    "publish",
    "user_channel",
    "user_of_channel",
    "user_pattern",
]

#: Namespace of every Redis key and channel of a service (GAME_REDIS_PREFIX).
DEFAULT_PREFIX = "game:"
#: What a kind may be: 1 to 40 of lower-case letters, digits, `_`, `.` and `-`.
KIND_PATTERN = re.compile(r"[a-z0-9_.-]{1,40}\Z")
#: The most bytes `data` may take as compact UTF-8 JSON.
MAX_DATA_BYTES = 4096
#: Largest user id (as in game_server/tokens.py: 0 <= uid < 2**63).
MAX_USER_ID = 2**63 - 1
#: The admin endpoint listens on this address only.
ADMIN_HOST = "127.0.0.1"
DEFAULT_ADMIN_PORT = 8081
#: Seconds a publisher waits for Redis or the admin endpoint.
TIMEOUT = 5.0

_NOTIFY = "notify:"


class NotifyUnavailable(Exception):
    """The notification could not be handed over: Redis or the game server cannot be reached
    (the message says which and how to fix it). Nothing was sent; trying again is safe."""


# --- channels ----------------------------------------------------------------------------


def user_channel(user_id: int, prefix: str = DEFAULT_PREFIX) -> str:
    """The channel of one user's notifications.

    >>> user_channel(42)
    'game:notify:user:42'
    """
    return f"{prefix}{_NOTIFY}user:{_user_id(user_id)}"


def all_channel(prefix: str = DEFAULT_PREFIX) -> str:
    """The channel of notifications for everyone.

    >>> all_channel("test:")
    'test:notify:all'
    """
    return f"{prefix}{_NOTIFY}all"


def user_pattern(prefix: str = DEFAULT_PREFIX) -> str:
    """The PSUBSCRIBE pattern of every user's channel; glob characters of the prefix are
    escaped, so it matches this prefix only.

    >>> user_pattern("a*b:")
    'a\\\\*b:notify:user:*'
    """
    return re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + f"{_NOTIFY}user:*"


def user_of_channel(channel: str, prefix: str = DEFAULT_PREFIX) -> int | None:
    """The user a channel is for; None for the channel of everyone.

    >>> user_of_channel("game:notify:user:7"), user_of_channel("game:notify:all")
    (7, None)

    Raises:
        ValueError: not a notification channel of this prefix, or a user id that is not a
            decimal integer in range.
    """
    if channel == all_channel(prefix):
        return None
    head = f"{prefix}{_NOTIFY}user:"
    if not channel.startswith(head):
        raise ValueError(f"{channel[:80]!r} is not a notification channel")
    text = channel[len(head):]
    if not re.fullmatch(r"(0|[1-9][0-9]{0,18})", text) or int(text) > MAX_USER_ID:
        raise ValueError(f"{channel[:80]!r} does not end in a user id")
    return int(text)


def _user_id(user_id: Any) -> int:
    if isinstance(user_id, bool) or not isinstance(user_id, int) \
            or not 0 <= user_id <= MAX_USER_ID:
        raise ValueError(f"user must be an integer 0 to 2**63-1 (or null for everyone), "
                         f"not {_short(user_id)}")
    return user_id


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --- the notification --------------------------------------------------------------------


@dataclass(frozen=True)
class Notification:
    """One notification: `kind`, `data`, and the user it is for (None: everyone).

    Creating one checks it, so every Notification can be sent:

    >>> Notification("message", {"text": "Server restarts at 18:00"}).payload()
    b'{"kind":"message","data":{"text":"Server restarts at 18:00"}}'

    Raises:
        ValueError: a kind outside `KIND_PATTERN`, data that is not JSON (NaN, a set, keys that
            are not strings, integers beyond 64 bits, nesting deeper than 250) or longer than
            `MAX_DATA_BYTES` encoded, or a user id out of range.
    """

    kind: str
    data: Any = None
    user_id: int | None = None
    _payload: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not KIND_PATTERN.match(self.kind):
            raise ValueError(f"kind must be 1 to 40 characters a-z, 0-9, '_', '.' or '-', "
                             f"not {_short(self.kind)}")
        if self.user_id is not None:
            _user_id(self.user_id)
        encoded = _encode_data(self.data)
        payload = b'{"kind":"' + self.kind.encode("ascii") + b'","data":' + encoded + b"}"
        object.__setattr__(self, "_payload", payload)

    def payload(self) -> bytes:
        """The message published on the channel: ``{"kind", "data"}`` as compact JSON."""
        return self._payload

    def channel(self, prefix: str = DEFAULT_PREFIX) -> str:
        """The channel to publish on."""
        if self.user_id is None:
            return all_channel(prefix)
        return user_channel(self.user_id, prefix)

    def message(self) -> dict[str, Any]:
        """What a client gets: the protocol's `notify` message."""
        return {"msg": "notify", "kind": self.kind, "data": self.data}

    @classmethod
    def parse(cls, payload: bytes | str, user_id: int | None = None) -> Notification:
        """Read a message from a channel (`user_id` from the channel's name).

        >>> Notification.parse(b'{"kind": "invite", "data": {"room": "Vq3xK9"}}', 7)
        Notification(kind='invite', data={'room': 'Vq3xK9'}, user_id=7)

        Raises:
            ValueError: not UTF-8 JSON, not an object, `kind` or `data` missing, or they fail
                the checks of the constructor.
        """
        try:
            message = json.loads(payload)
        except (ValueError, RecursionError):
            # UnicodeDecodeError is a ValueError; RecursionError: nesting too deep to parse.
            raise ValueError("the message is not UTF-8 JSON") from None
        if not isinstance(message, dict):
            raise ValueError("the message must be a JSON object {\"kind\", \"data\"}")
        missing = [name for name in ("kind", "data") if name not in message]
        if missing:
            raise ValueError(f"the message has no {' and no '.join(missing)}")
        return cls(message["kind"], message["data"], user_id)


def _encode_data(data: Any) -> bytes:
    """`data` as compact JSON, checked to be what every part of the path can carry."""
    try:
        # json first: it refuses NaN and infinities, which orjson would turn into null.
        json.dumps(data, allow_nan=False)
        # orjson: the encoder of the game server's delivery. It refuses what json lets pass
        # and a client could not read back the same: integers beyond 64 bits, keys that are
        # not strings, nesting deeper than it supports.
        encoded = orjson.dumps(data)
    except (TypeError, ValueError, RecursionError) as error:
        raise ValueError(f"data must be plain JSON: {str(error)[:80] or type(error).__name__}") \
            from None
    if len(encoded) > MAX_DATA_BYTES:
        raise ValueError(f"data is {len(encoded)} bytes of JSON; at most {MAX_DATA_BYTES} "
                         f"are allowed")
    return encoded


def parse_request(body: bytes) -> Notification:
    """The admin endpoint's request body: JSON ``{"user": id or null, "kind", "data"}``.

    ``user`` is required (null is everyone), so that a forgotten field never notifies every
    player.

    Raises:
        ValueError: the body is not such an object; the text says what is wrong.
    """
    try:
        request = json.loads(body)
    except (ValueError, RecursionError):
        raise ValueError("the body must be JSON: {\"user\": id or null, \"kind\": ..., "
                         "\"data\": ...}") from None
    if not isinstance(request, dict):
        raise ValueError("the body must be a JSON object {\"user\", \"kind\", \"data\"}")
    unknown = sorted(set(request) - {"user", "kind", "data"})
    if unknown:
        raise ValueError(f"unknown field {_short(unknown[0])}")
    missing = [name for name in ("user", "kind", "data") if name not in request]
    if missing:
        raise ValueError(f"missing field {missing[0]!r}"
                         + (" (null for everyone)" if missing[0] == "user" else ""))
    return Notification(request["kind"], request["data"], request["user"])


# --- publishers --------------------------------------------------------------------------


class Publisher(Protocol):
    """What publishes notifications: `make_publisher`'s publishers and the game server's
    brokers."""

    async def publish(self, kind: str, data: Any, *, user_id: int | None = None) -> None:
        """Send `data` of `kind` to the user's connections (None: every signed-in one).

        Raises:
            ValueError: a bad kind, data or user id (see `Notification`).
            NotifyUnavailable: it could not be handed over.
        """
        ...

    async def close(self) -> None:
        """Release connections; the publisher is unusable afterwards."""
        ...


#: What "Redis is unreachable" looks like from redis-py (filled in on first use).
def _redis_unavailable() -> tuple[type[BaseException], ...]:
    import redis.exceptions

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class RedisPublisher:
    """PUBLISH to Redis: every game server sharing the URL and prefix gets it.

    Nothing connects until the first `publish`.
    """

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX,
                 timeout: float = TIMEOUT) -> None:
        import redis.asyncio
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.prefix = prefix
        # One immediate retry replaces a pooled connection that went stale (a Redis restart).
        self._redis = redis.asyncio.Redis.from_url(
            url, protocol=2, socket_connect_timeout=min(timeout, 1.0), socket_timeout=timeout,
            retry=Retry(NoBackoff(), 1))
        options = self._redis.connection_pool.connection_kwargs
        # For messages: never the URL, which may hold a password.
        self.where = (options.get("path")
                      or f"{options.get('host', '?')}:{options.get('port', '?')}")

    def __repr__(self) -> str:
        return f"RedisPublisher({self.where!r}, prefix={self.prefix!r})"

    async def publish(self, kind: str, data: Any, *, user_id: int | None = None) -> None:
        await self.send(Notification(kind, data, user_id))

    async def send(self, notification: Notification) -> int:
        """Publish a checked notification; returns how many game servers heard it."""
        try:
            return await self._redis.publish(notification.channel(self.prefix),
                                             notification.payload())
        except _redis_unavailable() as error:
            raise NotifyUnavailable(f"Redis at {self.where} (GAME_REDIS_URL) is unavailable: "
                                    f"{error}") from error

    async def close(self) -> None:
        await self._redis.aclose()


class HttpPublisher:
    """POST to the admin endpoint of the game server on this machine (no Redis: one server).

    Its `publish` runs the blocking request on a thread; `send_sync` is the same for scripts.
    """

    def __init__(self, port: int = DEFAULT_ADMIN_PORT, *, host: str = ADMIN_HOST,
                 timeout: float = TIMEOUT) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"HttpPublisher({self.host!r}, {self.port})"

    async def publish(self, kind: str, data: Any, *, user_id: int | None = None) -> None:
        notification = Notification(kind, data, user_id)
        await asyncio.to_thread(self.send_sync, notification)

    async def close(self) -> None:
        pass

    def send_sync(self, notification: Notification) -> None:
        """POST a checked notification and wait for the server's answer.

        Raises:
            NotifyUnavailable: no game server answers there (or it failed).
            ValueError: the game server refused the notification (its reason).
        """
        if not self.port:
            raise NotifyUnavailable(
                "GAME_ADMIN_PORT is 0 and GAME_REDIS_URL is unset: there is no way to reach a "
                "game server (set one of them)")
        where = f"{self.host}:{self.port}"
        body = (b'{"user":' + json.dumps(notification.user_id).encode("ascii")
                + b"," + notification.payload()[1:])
        request = urllib.request.Request(
            f"http://{where}/notify", data=body, method="POST",
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            reason = _error_text(error)
            if error.code == 400:
                raise ValueError(reason) from None
            raise NotifyUnavailable(f"the game server at {where} (GAME_ADMIN_PORT) answered "
                                    f"{error.code}: {reason}") from None
        except (urllib.error.URLError, OSError) as error:
            cause = getattr(error, "reason", error)
            if isinstance(cause, ConnectionRefusedError):
                raise NotifyUnavailable(f"no game server listening on {where} "
                                        f"(GAME_ADMIN_PORT)") from None
            raise NotifyUnavailable(f"cannot reach the game server at {where} "
                                    f"(GAME_ADMIN_PORT): {cause}") from None


def _error_text(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read())["error"])
    except Exception:  # noqa: BLE001 - not our server, or not JSON: say what we know
        return str(error.reason)


def make_publisher(config: Any) -> RedisPublisher | HttpPublisher:
    """The publisher for a `game_server.config.Config` (or anything with `redis_url`,
    `redis_prefix` and `admin_port`): Redis when ``GAME_REDIS_URL`` is set, else the local
    game server's admin endpoint (``GAME_ADMIN_PORT``).

    Never connects here: a game server that cannot be reached makes `publish` raise
    `NotifyUnavailable`. Call ``await publisher.close()`` when done.
    """
    redis_url = getattr(config, "redis_url", "")
    if redis_url:
        return RedisPublisher(redis_url, prefix=getattr(config, "redis_prefix", DEFAULT_PREFIX)
                              or DEFAULT_PREFIX)
    return HttpPublisher(getattr(config, "admin_port", DEFAULT_ADMIN_PORT))


def publish(kind: str, data: Any, *, user_id: int | None = None, config: Any = None) -> None:
    """Publish one notification and return when it has been handed over: for scripts and
    other synchronous code (not from a running event loop: use a publisher's `publish`).
    `config` defaults to the ``GAME_*`` environment variables.

    >>> publish("message", {"text": "Back in 5 minutes"})  # doctest: +SKIP

    Raises:
        ValueError: a bad kind, data or user id.
        NotifyUnavailable: Redis or the game server cannot be reached.
    """
    if config is None:
        from game_server.config import Config

        config = Config.from_env(os.environ)
    notification = Notification(kind, data, user_id)
    publisher = make_publisher(config)
    if isinstance(publisher, HttpPublisher):
        publisher.send_sync(notification)
        return

    async def once() -> None:
        try:
            await publisher.send(notification)
        finally:
            await publisher.close()

    asyncio.run(once())
