"""A WebSocket's socket after the handshake, driven by an asyncio protocol instead of an IOStream.

Tornado and sockjs-tornado keep the HTTP side: the handshake, `/info`, the iframe page, every
other transport. Once a WebSocket handshake is answered, `SocketStream.take_over` removes the
socket from Tornado's IOLoop and hands it to the event loop's own transport
(`loop.connect_accepted_socket`; on uvloop a libuv TCP handle). From then on:

- bytes arrive in `data_received` and go straight to the frame reader
  (`lean_websocket.LeanProtocol.received`): no read future, no callback chain per read;
- frames to send are queued per connection and written with one `transport.write` per
  connection per event-loop iteration (`write_frame`), however many the hub sent it in that
  iteration; the queues of all connections are flushed by one callback per iteration;
- reading pauses while the frame reader holds back the rest of a read (one data message per
  connection per iteration, docs/security.md) and resumes when it asks again.

The object also answers the part of Tornado's `IOStream` that `WebSocketProtocol13` and
sockjs-tornado use after the handshake (`write`, `close`, `closed`, `writing`, `io_loop`,
`set_nodelay`), so closing handshakes, pings and the stock write path work unchanged.

A socket is taken over only when Tornado holds nothing of it: no bytes waiting to be written
(the handshake's answer, what `open` sent) and no TLS. Bytes Tornado had already read past the
handshake are handed on first. It reads two IOStream attributes (`_read_buffer`,
`_read_buffer_size`) and `IOLoop.remove_handler`, which is why Tornado is pinned to 6.6.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, Callable, Protocol

from tornado.ioloop import IOLoop
from tornado.iostream import IOStream, StreamClosedError

log = logging.getLogger(__name__)


class FrameReader(Protocol):
    """What the stream hands its bytes and its end to (`lean_websocket.LeanProtocol`)."""

    def received(self, data: bytes) -> None: ...

    def lost(self) -> None: ...


def can_take_over(stream: Any) -> bool:
    """Whether `stream` is a plain TCP IOStream with nothing left to write."""
    return (type(stream) is IOStream and not stream.closed() and not stream.writing()
            and stream.socket is not None)


class _Flusher:
    """Writes every stream's queued frames once per event-loop iteration."""

    def __init__(self) -> None:
        self.pending: list[SocketStream] = []
        self.scheduled = False

    def add(self, stream: SocketStream) -> None:
        self.pending.append(stream)
        if not self.scheduled:
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self.scheduled = False
        pending, self.pending = self.pending, []
        for stream in pending:
            stream.flush()


_flusher = _Flusher()


class SocketStream(asyncio.Protocol):
    """The socket of one WebSocket connection after the handshake (see the module)."""

    transport: asyncio.Transport | None = None

    def __init__(self, reader: FrameReader, registry: set[SocketStream] | None = None) -> None:
        self._reader = reader
        #: The open streams of one server (`sockjs_fixes.close_streams` ends them).
        self._registry = registry
        self._out: list[bytes] = []
        self._out_bytes = 0
        self._queued = False  # in the flusher's list this iteration
        self._closed = False
        self._lost = False
        self._paused = False
        self._done: asyncio.Future[None] | None = None
        self.io_loop = IOLoop.current()

    def take_over(self, stream: IOStream) -> socket.socket:
        """Take `stream`'s socket (see `can_take_over`) away from Tornado; `attach` it next.

        The IOStream is left without its socket and must not be used again. Bytes it had
        read but not handed on are passed to the reader first, once attached. The reader
        must use this stream from now on: the transport may deliver bytes before `attach`
        returns.
        """
        sock = stream.socket
        self._unread = bytes(stream._read_buffer[:stream._read_buffer_size])
        stream.io_loop.remove_handler(sock.fileno())
        stream._state = None
        stream.socket = None  # the transport owns (and closes) the socket from here
        stream._closed = True  # so that nothing closes it again
        # GameHTTPServer's count of connections per address, released when the socket closes.
        self._on_closed = getattr(stream, "release_address", None)
        return sock

    async def attach(self, sock: socket.socket) -> None:
        """Drive `sock` (from `take_over`) with this protocol on the running loop."""
        await asyncio.get_running_loop().connect_accepted_socket(lambda: self, sock)

    _unread = b""
    _on_closed: Callable[[], None] | None = None

    # --- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self._registry is not None:
            self._registry.add(self)
        if self._out and not self._queued:
            self._queued = True
            _flusher.add(self)
        if self._unread:
            unread, self._unread = self._unread, b""
            self._reader.received(unread)

    def data_received(self, data: bytes) -> None:
        self._reader.received(data)

    def eof_received(self) -> bool:
        return False  # close the transport: a WebSocket ends with a close frame or not at all

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = self._closed = True
        if self._registry is not None:
            self._registry.discard(self)
        self._out.clear()
        self._out_bytes = 0
        if self._on_closed is not None:
            self._on_closed()
        self._reader.lost()

    # --- what the frame reader and the transport handler call ------------------------------

    def write_frame(self, frame: bytes) -> None:
        """Queue a whole frame; it is written with the others of this iteration.

        Raises:
            StreamClosedError: the connection is closed or closing.
        """
        if self._closed:
            raise StreamClosedError()
        self._out.append(frame)
        self._out_bytes += len(frame)
        if not self._queued and self.transport is not None:
            self._queued = True
            _flusher.add(self)

    def flush(self) -> None:
        self._queued = False
        out = self._out
        if not out or self.transport is None or self._lost:
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        self._out_bytes = 0
        self.transport.write(data)

    def unsent(self) -> int:
        """Bytes queued here or in the transport's buffer, not yet taken by the kernel."""
        transport = self.transport
        held = transport.get_write_buffer_size() if transport is not None and not self._lost else 0
        return self._out_bytes + held

    def pause(self) -> None:
        """Stop reading until `resume` (the reader holds back part of what it has)."""
        if not self._paused and self.transport is not None and not self._lost:
            self._paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self._paused and not self._lost:
            self._paused = False
            self.transport.resume_reading()

    def abort(self) -> None:
        """Drop the connection now: what the kernel takes at once of the queue is sent (a
        close frame just written, as an IOStream would), the rest is dropped."""
        if self.transport is not None and not self._lost:
            self.flush()
            self.transport.abort()
        self._closed = True
        self._out.clear()
        self._out_bytes = 0

    # --- the part of IOStream that WebSocketProtocol13 and sockjs-tornado use ---------------

    def write(self, data: bytes) -> asyncio.Future[None]:
        """IOStream.write: queue `data`; the future is done at once (the transport buffers).

        Raises:
            StreamClosedError: the connection is closed or closing.
        """
        self.write_frame(data)
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
            self._done.set_result(None)
        return self._done

    @property
    def lost(self) -> bool:
        """Whether the socket is closed (`connection_lost` has run)."""
        return self._lost

    def writing(self) -> bool:
        return self.unsent() > 0

    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """IOStream.close: end the connection after writing what is queued."""
        if self._closed:
            return
        self.flush()
        self._closed = True
        if self.transport is not None and not self._lost:
            self.transport.close()
            if self.transport.get_write_buffer_size():
                # A peer that does not read would keep a closing transport for ever.
                self.io_loop.call_later(5, self.abort)

    def set_nodelay(self, value: bool) -> None:
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if value else 0)
