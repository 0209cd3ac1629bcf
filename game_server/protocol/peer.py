"""One client connection's protocol state: text in, checks in order, messages out.

`Peer.receive(text)` runs the checks in the order the protocol promises (rate, size, JSON,
schema, authentication, then the handler's room, seat and game-rule checks) and turns every
client mistake into an `error` message. It knows nothing of Tornado or SockJS: the transport
gives it a `send(text)` and a `close(code, reason)` callable.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable

from game_server.protocol.delivery import encode
from game_server.protocol.errors import ProtocolError
from game_server.protocol.handlers import MOVE_ALIASES
from game_server.protocol.ratelimit import RateLimit
from game_server.protocol.schema import SchemaViolation, check_client, check_move

if TYPE_CHECKING:
    from game_server.protocol.hub import Hub
    from game_server.tables import Player

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4096
MAX_INVALID_TOKENS = 5

#: SockJS close codes the server uses (4000-4999 are for applications).
CLOSE_INVALID_TOKENS = (4001, "Too many invalid tokens")
CLOSE_FLOOD = (4002, "Too many messages")
CLOSE_SIGN_IN = (4003, "Sign-in timed out")


#: The protocol versions this server speaks; `auth` must name one. 3 is 2 with each state's
#: table sent as a patch against the last one (docs/protocol.md, "Protocol 3").
PROTOCOLS = (2, 3)
#: The version every client may speak, which /config.json names; 3 is chosen in `auth`.
PROTOCOL = PROTOCOLS[0]
_OLD_PROTOCOL = (
    "This server speaks protocol 2 and 3 (docs/protocol.md): send {\"msg\": \"auth\", "
    "\"protocol\": 2, \"token\": ...}. Protocol 1 clients need the changes listed there "
    "under 'From protocol 1 to 2'.")


#: Integer ids must be exact JavaScript numbers (Number.MAX_SAFE_INTEGER), as the schema says;
#: a larger one could not even be encoded (orjson stops at 64 bits).
MAX_SAFE_INTEGER = 2**53 - 1


def request_id(message: Any) -> str | int | None:
    """The request's `id` if it is one the reply can echo as `re`.

    >>> request_id({"id": 7}), request_id({"id": 2**64}), request_id({"id": True})
    (7, None, None)
    >>> request_id({"id": "\\ud800"}) is None  # a lone surrogate cannot be sent back
    True
    """
    if not isinstance(message, dict):
        return None
    value = message.get("id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else None
    if isinstance(value, str) and 0 < len(value) <= 64 and _is_text(value):
        return value
    return None


def _is_text(value: str) -> bool:
    """False for a string with a lone surrogate (from a JSON escape): it cannot be sent back
    as UTF-8, so such an id is not echoed (the error would be lost)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _RateLimited:
    """A refused message, waiting in line so its error keeps its place among the replies."""

    __slots__ = ("re",)

    def __init__(self, re: str | int | None) -> None:
        self.re = re


def _peek_id(text: Any) -> str | int | None:
    """The id of a refused message, so the client can match the error (small ones only)."""
    if not isinstance(text, str) or len(text) > MAX_MESSAGE_BYTES // 4:
        return None
    try:
        return request_id(json.loads(text))
    except ValueError:
        return None


def _is_unicode(message: Any) -> bool:
    """False if a JSON escape produced a lone surrogate, which cannot be sent on as UTF-8."""
    try:
        json.dumps(message, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Peer:
    """A connected client. Its `user` is set once `auth` succeeds."""

    def __init__(self, hub: "Hub", id: int, send: Callable[[str], None],
                 close: Callable[[int, str], None], transport: str = "") -> None:
        self.hub = hub
        #: The connection's number in the room engine.
        self.id = id
        #: The timer of the next fresh token (`Hub.refresh_token_later`).
        self.token_timer: asyncio.TimerHandle | None = None
        #: The timer that closes the connection if it has not signed in by then
        #: (`Hub.connect`); None once signed in or closed.
        self.sign_in_timer: asyncio.TimerHandle | None = None
        self.transport = transport
        self.user: Player | None = None
        self.closed = False
        self._send = send
        self._close = close
        self._limit = RateLimit(hub.clock)
        self._invalid_tokens = 0
        #: While a handler waits (a user lookup, a commit), later messages wait here, in order.
        self._waiting: deque[str] | None = None
        self._task: asyncio.Task | None = None
        #: Bytes waiting in the transport to be sent to this client (set by the hub).
        self.queued: Callable[[], int] = lambda: 0
        #: The protocol version the client named in `auth` (2 until it signed in).
        self.protocol = 2
        #: Protocol 3: the room and the table (as its JSON text) of the last state sent,
        #: which the client holds and the next state's table patches (protocol/delivery.py);
        #: None: it holds none. Text, not the table's objects: thousands of tables held for
        #: seconds each would fill the garbage collector's young generation and lengthen
        #: every collection's pause; a str and a bytes are never tracked by it.
        self.held_room: str | None = None
        self.held_table: bytes | None = None

    def __repr__(self) -> str:
        who = self.user.name if self.user else "anonymous"
        return f"<Peer {who} via {self.transport or '?'}>"

    def forget_held(self) -> None:
        """Protocol 3: the client holds no table (the next state is sent whole)."""
        self.held_room = self.held_table = None

    # --- from the transport --------------------------------------------------------------

    def receive(self, text: Any) -> None:
        """Handle one SockJS message. Never raises."""
        if self.closed:
            return
        if not self._limit.allow():
            if self._limit.flooding:
                # Refusals already in line are answered; the rest is dropped with the close.
                for item in self._waiting or ():
                    if isinstance(item, _RateLimited):
                        self.error(ProtocolError("rate_limited"), item.re)
                self.close(*CLOSE_FLOOD)
            elif self._waiting is not None:
                # Keep replies in the order of the requests.
                self._waiting.append(_RateLimited(_peek_id(text)))
            else:
                self.error(ProtocolError("rate_limited"), _peek_id(text))
            return
        if self._waiting is not None:
            self._waiting.append(text)
            return
        self._process(text)

    def bad_frame(self) -> None:
        """The transport got a frame that is not valid JSON at the SockJS level."""
        if not self.closed and self._limit.allow():
            self.error(ProtocolError("bad_json", "The SockJS frame is not valid JSON."))

    def disconnected(self) -> None:
        """The connection is gone; the seat is kept for the grace period."""
        if self.closed:
            return
        self.closed = True
        self._waiting = None
        try:
            self.hub.disconnected(self)
        except Exception:
            log.exception("error while handling the disconnect of %r", self)

    # --- to the client -------------------------------------------------------------------

    def send(self, message: dict[str, Any] | str) -> None:
        if self.closed:
            return
        if (self.held_room is not None and not isinstance(message, str)
                and message.get("msg") == "left"):
            self.forget_held()
        try:
            text = message if isinstance(message, str) else encode(message)
        except Exception:
            # A bug (a value JSON cannot hold): this message is lost, the connection stays.
            log.exception("cannot encode a %s message for %r", message.get("msg"), self)
            return
        try:
            self._send(text)
        except Exception:
            log.debug("send to %r failed", self, exc_info=True)

    def reply(self, message: dict[str, Any], re: str | int | None) -> None:
        if re is not None:
            message = {**message, "re": re}
        self.send(message)

    def error(self, error: ProtocolError, re: str | int | None = None) -> None:
        self.hub.metrics.error(error.code)
        self.reply({"msg": "error", "code": error.code, "text": error.text}, re)

    def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        try:
            self._close(code, reason)
        finally:
            self.disconnected()

    # --- checks, in the protocol's order ------------------------------------------------

    def _process(self, text: Any) -> None:
        if isinstance(text, _RateLimited):
            self.error(ProtocolError("rate_limited"), text.re)
            return
        message: Any = None
        try:
            if not isinstance(text, str):
                raise ProtocolError("bad_json", "Each SockJS message must be a JSON string.")
            try:
                size = len(text.encode("utf-8"))
            except UnicodeEncodeError:
                # A lone surrogate (from a JSON escape in the SockJS frame): not text at all.
                size = len(text.encode("utf-8", "surrogatepass"))
                if size <= MAX_MESSAGE_BYTES:
                    raise ProtocolError("bad_json", "The message is not valid Unicode.") from None
            if size > MAX_MESSAGE_BYTES:
                raise ProtocolError("too_large")
            try:
                message = json.loads(text)
            except (ValueError, RecursionError):
                # RecursionError: nesting too deep for the parser, e.g. 2,000 "[" in a row.
                raise ProtocolError("bad_json") from None
            if "\\u" in text and not _is_unicode(message):
                raise ProtocolError("bad_json", "The message is not valid Unicode.")
            try:
                check_client(message)
            except SchemaViolation as violation:
                raise ProtocolError("bad_message", str(violation)) from None
            kind = message["msg"]
            if kind == "auth" and message.get("protocol") not in PROTOCOLS:
                raise ProtocolError("bad_message", _OLD_PROTOCOL)
            if kind != "auth" and self.user is None:
                raise ProtocolError("auth_required")
            if kind == "move":
                self._check_move(message["move"])
            re = request_id(message)
            started = time.perf_counter() if kind == "move" or kind in MOVE_ALIASES else None
            self._run(self.hub.handle(self, kind, message, re), re, started)
        except ProtocolError as error:
            self.error(error, request_id(message))
        except Exception:
            log.exception("internal error handling a message from %r", self)
            self.error(ProtocolError("internal"), request_id(message))

    def _check_move(self, move: Any) -> None:
        """A move's payload must match the schema of the game played in this room (without a
        room, the engine answers `not_in_room`)."""
        game = self.hub.game_of(self)
        if game is not None:
            try:
                check_move(game, move)
            except SchemaViolation as violation:
                raise ProtocolError("bad_message", str(violation)) from None

    def _run(self, handler: Any, re: str | int | None, started: float | None) -> None:
        """Run a handler's coroutine; later messages of this connection wait for it."""
        self._waiting = deque()
        task = asyncio.ensure_future(handler)
        self._task = task
        task.add_done_callback(lambda task: self._finished(
            None if task.cancelled() else task.exception(), re, task.cancelled(), started))

    def _finished(self, error: BaseException | None, re: str | int | None,
                  cancelled: bool = False, started: float | None = None) -> None:
        self._task = None
        if started is not None and error is None and not cancelled:
            # A move's state has been sent to everyone by now.
            self.hub.metrics.move_seconds(time.perf_counter() - started)
        if isinstance(error, ProtocolError):
            self.error(error, re)
        elif error is not None and not cancelled:
            log.error("internal error handling a message from %r", self, exc_info=error)
            self.error(ProtocolError("internal"), re)
        self.release()

    # --- authentication ------------------------------------------------------------------

    def stop_sign_in_timer(self) -> None:
        """Signed in, or closed: the sign-in deadline no longer applies."""
        if self.sign_in_timer is not None:
            self.sign_in_timer.cancel()
            self.sign_in_timer = None

    def sign_in_expired(self) -> None:
        """The sign-in deadline passed: a connection that never signed in costs the server a
        session and a socket for nothing, so it is closed."""
        self.sign_in_timer = None
        if self.user is None and not self.closed:
            self.close(*CLOSE_SIGN_IN)

    def token_refused(self, re: str | int | None) -> None:
        self._invalid_tokens += 1
        self.error(ProtocolError("invalid_token"), re)
        if self._invalid_tokens >= MAX_INVALID_TOKENS:
            self.close(*CLOSE_INVALID_TOKENS)

    def release(self) -> None:
        """Process the messages that waited for the last handler, in order."""
        waiting, self._waiting = self._waiting, None
        while waiting and not self.closed and self._waiting is None:
            self._process(waiting.popleft())
        if waiting and self._waiting is not None:
            self._waiting.extendleft(reversed(waiting))
