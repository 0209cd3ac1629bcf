"""Lean SockJS client links for the load generator: raw asyncio protocols, no task per message.

`game_server.client.GameClient` is built for tests: it runs a reader task per connection, a
future per request and Tornado's WebSocket client (a future per read). At thousands of
connections and tens of thousands of messages per second that costs more CPU than the server
under test, so the generator speaks SockJS itself:

- `WebSocketLink`: SockJS over a raw WebSocket (`/<prefix>/<server>/<session>/websocket`).
  Frames are parsed straight out of `data_received`; client frames are masked with the all-zero
  key (allowed by RFC 6455: the mask bit is set and the server still unmasks, so the server's
  work is the same, but the generator skips the XOR).
- `XhrLink`: SockJS over HTTP, two keep-alive TCP connections per session: one for receiving
  (`xhr_streaming`, re-opened when the server ends it, or `xhr` long polling) and one for
  `xhr_send` (one request in flight; messages queued meanwhile go out together in the next
  request, as sockjs-client does).

A link calls its handler's `opened()`, `message(text)` for every SockJS message (the inner
text, not parsed) and `closed(reason)` once. It never raises into the handler.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import string
from typing import Any, Callable, Protocol

try:
    import orjson

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value)

    _loads = orjson.loads
except ImportError:  # pragma: no cover - the stdlib fallback keeps the smoke test runnable
    import json

    def _dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    _loads = json.loads

TRANSPORTS = ("websocket", "xhr-streaming", "xhr-polling")
_ALPHABET = string.ascii_lowercase + string.digits


class Handler(Protocol):
    def opened(self) -> None: ...
    def message(self, text: str) -> None: ...
    def closed(self, reason: str) -> None: ...


def session_path(prefix: str) -> str:
    """A fresh SockJS session path under `prefix`: /prefix/<server>/<session>."""
    session = "".join(random.choices(_ALPHABET, k=16))
    return f"{prefix}/{random.randrange(1000):03d}/{session}"


class _SockJSFrames:
    """Shared SockJS frame handling: o, h, a[...], c[...]."""

    handler: Handler
    is_closed: bool = False

    def _frame(self, frame: bytes) -> None:
        kind = frame[:1]
        if kind == b"a":
            handler = self.handler
            for text in _loads(frame[1:]):
                handler.message(text)
        elif kind == b"h":
            pass
        elif kind == b"o":
            self.handler.opened()
        elif kind == b"c":
            self._finish(f"closed by server {frame[1:].decode(errors='replace')}")
            self.close()

    def _finish(self, reason: str) -> None:
        if not self.is_closed:
            self.is_closed = True
            self.handler.closed(reason)

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class WebSocketLink(asyncio.Protocol, _SockJSFrames):
    """SockJS over a raw WebSocket connection."""

    def __init__(self, host: str, port: int, prefix: str, handler: Handler) -> None:
        self.host, self.port = host, port
        self.path = session_path(prefix) + "/websocket"
        self.handler = handler
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._upgraded = False
        self._fragments: list[bytes] = []

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: self, self.host, self.port)

    # --- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                         ).encode())

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(f"connection lost ({exc})" if exc else "connection lost")

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if not self._upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status_line = bytes(buffer[:buffer.find(b"\r\n")])
            if b" 101 " not in status_line + b" ":
                self._finish(f"handshake refused: {status_line.decode(errors='replace')}")
                self.close()
                return
            del buffer[:end + 4]
            self._upgraded = True
        pos, size = 0, len(buffer)
        while size - pos >= 2:
            first, second = buffer[pos], buffer[pos + 1]
            length, head = second & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buffer[pos + 2:pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buffer[pos + 2:pos + 10], "big"), 10
            if size - pos < head + length:
                break
            payload = bytes(buffer[pos + head:pos + head + length])
            pos += head + length
            opcode = first & 0x0F
            if opcode == 1 or opcode == 0:
                if not first & 0x80:
                    self._fragments.append(payload)
                    continue
                if self._fragments:
                    payload = b"".join(self._fragments) + payload
                    self._fragments = []
                self._frame(payload)
            elif opcode == 8:
                self._finish("websocket closed by server")
                self.close()
                break
            elif opcode == 9:
                self._write(0x8A, payload)
        del buffer[:pos]

    # --- sending -------------------------------------------------------------------------

    def send(self, text: str) -> None:
        """Send one SockJS message (a JSON array of one string, as sockjs-client does)."""
        if not self.is_closed and self.transport is not None:
            self._write(0x81, _dumps([text]))

    def _write(self, first: int, payload: bytes) -> None:
        length = len(payload)
        if length < 126:
            head = bytes((first, 0x80 | length))
        elif length < 65536:
            head = bytes((first, 0x80 | 126)) + length.to_bytes(2, "big")
        else:
            head = bytes((first, 0x80 | 127)) + length.to_bytes(8, "big")
        self.transport.write(head + b"\0\0\0\0" + payload)

    def close(self) -> None:
        self.is_closed = True
        if self.transport is not None:
            self.transport.abort()


class _HttpConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection doing one request at a time.

    The response body is handed to `on_body(chunk)` as it arrives (chunked, Content-Length
    or until close), then `on_done(status)` is called; status 0 means the connection failed.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self._buffer = bytearray()
        self._on_body: Callable[[bytes], None] | None = None
        self._on_done: Callable[[int], None] | None = None
        self._state = "idle"
        self._status = 0
        self._remaining = 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._state == "until_close":
            self._done(self._status)
        elif self._state != "idle":
            self._done(0)

    def request(self, head: bytes, body: bytes, on_body: Callable[[bytes], None],
                on_done: Callable[[int], None]) -> None:
        self._on_body, self._on_done = on_body, on_done
        self._state, self._status = "head", 0
        self.transport.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def _done(self, status: int) -> None:
        self._state = "idle"
        on_done, self._on_done = self._on_done, None
        if on_done is not None:
            on_done(status)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while buffer:
            state = self._state
            if state == "head":
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
                del buffer[:end + 4]
                self._status = int(head[0].split(" ", 2)[1])
                headers = {}
                for line in head[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                if self._status in (204, 304) or 100 <= self._status < 200:
                    self._done(self._status)  # no body, whatever the headers say
                elif headers.get("transfer-encoding", "").lower() == "chunked":
                    self._state = "chunk_size"
                elif "content-length" in headers:
                    self._remaining = int(headers["content-length"])
                    self._state = "length"
                    if self._remaining == 0:
                        self._done(self._status)
                else:
                    self._state = "until_close"
            elif state == "length":
                part = bytes(buffer[:self._remaining])
                del buffer[:len(part)]
                self._remaining -= len(part)
                self._on_body(part)
                if self._remaining == 0:
                    self._done(self._status)
            elif state == "chunk_size":
                end = buffer.find(b"\r\n")
                if end < 0:
                    return
                size = int(bytes(buffer[:end]).split(b";")[0], 16)
                del buffer[:end + 2]
                if size == 0:
                    self._state = "trailer"
                else:
                    self._remaining, self._state = size, "chunk"
            elif state == "chunk":
                part = bytes(buffer[:self._remaining])
                del buffer[:len(part)]
                self._remaining -= len(part)
                self._on_body(part)
                if self._remaining == 0:
                    self._state = "chunk_end"
            elif state == "chunk_end":
                if len(buffer) < 2:
                    return
                del buffer[:2]
                self._state = "chunk_size"
            elif state == "trailer":
                end = buffer.find(b"\r\n")
                if end < 0:
                    return
                del buffer[:end + 2]
                if end == 0:
                    self._done(self._status)
            elif state == "until_close":
                self._on_body(bytes(buffer))
                buffer.clear()
            else:  # idle: bytes nobody asked for
                buffer.clear()


class XhrLink(_SockJSFrames):
    """SockJS over xhr-streaming or xhr-polling, with xhr_send for sending."""

    def __init__(self, host: str, port: int, prefix: str, handler: Handler,
                 streaming: bool) -> None:
        self.host, self.port = host, port
        self.path = session_path(prefix)
        self.handler = handler
        self.streaming = streaming
        self._receiver: _HttpConnection | None = None
        self._sender: _HttpConnection | None = None
        self._outbox: list[str] = []
        self._sending = False
        self._partial = b""
        self._head = {}

    def _request_head(self, what: str) -> bytes:
        head = self._head.get(what)
        if head is None:
            head = self._head[what] = (
                f"POST {self.path}/{what} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                "Content-Type: text/plain;charset=UTF-8\r\n").encode()
        return head

    async def _open(self) -> _HttpConnection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(_HttpConnection, self.host, self.port)
        return connection

    async def connect(self) -> None:
        self._receiver = await self._open()
        self._sender = await self._open()
        self._receive()

    # --- receiving -----------------------------------------------------------------------

    def _receive(self) -> None:
        if self.is_closed:
            return
        if self._receiver.lost:
            asyncio.ensure_future(self._reopen_receiver())
            return
        self._partial = b""
        self._receiver.request(self._request_head("xhr_streaming" if self.streaming else "xhr"),
                               b"", self._on_body, self._on_received)

    async def _reopen_receiver(self) -> None:
        try:
            self._receiver = await self._open()
        except OSError as error:
            self._finish(f"cannot reconnect: {error}")
            return
        self._receive()

    def _on_body(self, chunk: bytes) -> None:
        data = self._partial + chunk
        *frames, self._partial = data.split(b"\n")
        for frame in frames:
            if frame and not (frame[0] == 104 and len(frame) > 1):  # skip the 'hhh…' prelude
                self._frame(frame)
            if self.is_closed:
                return

    def _on_received(self, status: int) -> None:
        if self.is_closed:
            return
        if status != 200:
            self._finish(f"receive request failed (HTTP {status or 'connection lost'})")
            self.close()
            return
        self._receive()

    # --- sending -------------------------------------------------------------------------

    def send(self, text: str) -> None:
        if self.is_closed:
            return
        self._outbox.append(text)
        if not self._sending:
            self._flush()

    def _flush(self) -> None:
        if not self._outbox or self.is_closed:
            self._sending = False
            return
        if self._sender.lost:
            self._sending = True
            asyncio.ensure_future(self._reopen_sender())
            return
        batch, self._outbox = self._outbox, []
        self._sending = True
        self._sender.request(self._request_head("xhr_send"), _dumps(batch), _ignore,
                             self._on_sent)

    async def _reopen_sender(self) -> None:
        try:
            self._sender = await self._open()
        except OSError as error:
            self._finish(f"cannot reconnect: {error}")
            return
        self._flush()

    def _on_sent(self, status: int) -> None:
        if status not in (200, 204):
            if status == 0:
                # The server closed an idle keep-alive connection as we sent; the batch is
                # lost. Report it instead of guessing whether the server read it.
                self._finish("xhr_send connection lost")
            else:
                self._finish(f"xhr_send failed (HTTP {status})")
            self.close()
            return
        self._flush()

    def close(self) -> None:
        self.is_closed = True
        for connection in (self._receiver, self._sender):
            if connection is not None and connection.transport is not None:
                connection.transport.abort()


def _ignore(chunk: bytes) -> None:
    pass


def make_link(transport: str, host: str, port: int, prefix: str, handler: Handler) -> Any:
    """A link of the named transport (one of TRANSPORTS); call `await link.connect()`."""
    if transport == "websocket":
        return WebSocketLink(host, port, prefix, handler)
    if transport in ("xhr-streaming", "xhr-polling"):
        return XhrLink(host, port, prefix, handler, streaming=transport == "xhr-streaming")
    raise ValueError(f"unknown transport {transport!r}; use one of {', '.join(TRANSPORTS)}")
