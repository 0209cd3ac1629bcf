"""The server side of RFC 6455 framing, made cheaper than Tornado's for many small messages.

Tornado 6.6 reads every incoming frame with a chain of coroutines (`_receive_frame_loop` ->
`_receive_frame` -> three `read_bytes` futures per frame) that stays suspended for the whole
life of the connection, inside the request handler's own coroutines. Under load that read path
was the largest Tornado entry of the server's profile, and an idle connection kept six
suspended coroutines, their task and futures alive (docs/performance.md).

`LeanProtocol` reads with one callback per read instead: whatever the socket holds (up to
`READ_SIZE`) is appended to a buffer and every complete frame in it is handled at once, so the
handler's coroutines finish after the handshake. What a frame means is unchanged: messages,
pings, pongs and close frames go to Tornado's own `_handle_message`, with the same checks as
Tornado's `_receive_frame` (reserved bits, control-frame size and fragmentation, continuation
order, `max_message_size` -> close 1009, counted over the fragments of a message before
the next fragment's payload is buffered). Beyond Tornado's checks it refuses unmasked client
frames (RFC 6455 5.1: the server must close, 1002), and it hands on at most one data message
per event-loop iteration: the rest of a read waits for the next iteration, and no new read is
made until the buffer is handled, so one connection sending many frames at once cannot keep
the loop from the others. Compression is never negotiated by this server (the connection
would take Tornado's stock reader).

`websocket_frame` builds the other direction: a server frame, made once per message for all
its recipients (see `sockjs_fixes.WebSocketTransport.send_frame`).
"""

from __future__ import annotations

import logging
import struct
from asyncio import Future
from tornado.iostream import StreamClosedError
from tornado.util import _websocket_mask
from tornado.websocket import WebSocketProtocol13

from game_server.transport.socket_stream import SocketStream, can_take_over

log = logging.getLogger(__name__)

#: Bytes asked of the socket per read (Tornado's own read chunk size).
READ_SIZE = 65536

_FIN, _RSV, _OPCODE, _MASKED, _LENGTH = 0x80, 0x70, 0x0F, 0x80, 0x7F

#: What `_next_frame` returns after handing on a whole data message.
_MESSAGE = object()


def websocket_frame(payload: bytes) -> bytes:
    """An unmasked, uncompressed, final WebSocket text frame (RFC 6455 5.2) holding `payload`."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size <= 0xFFFF:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


class LeanProtocol(WebSocketProtocol13):
    """Tornado's RFC 6455 protocol with a callback-driven frame reader (see the module)."""

    _buffer: bytearray
    _closed_reported = False

    #: Whether to move the socket to a `SocketStream` after the handshake (the router
    #: setting `socket_takeover`, GAME_SOCKET_TAKEOVER); off: read through the IOStream.
    take_over = True

    async def _receive_frame_loop(self) -> None:
        # Called by Tornado at the end of the handshake; returns once the socket is read from
        # a callback, so nothing waits per connection.
        self._buffer = bytearray()
        if self.take_over and can_take_over(self.stream):
            own = SocketStream(self, getattr(self.handler.server, "socket_streams", None))
            try:
                sock = own.take_over(self.stream)
                self.stream = own
                await own.attach(sock)
            except Exception:  # noqa: BLE001 - the socket is gone; Tornado's stream is unusable
                log.exception("taking over a WebSocket's socket failed")
                self.client_terminated = self.server_terminated = True
                self._report_closed()
            return
        self._read()

    def received(self, data: bytes) -> None:
        """Bytes from the socket (a SocketStream, or an IOStream read)."""
        self._wire_bytes_in += len(data)
        self._buffer += data
        self._handle_buffer()

    def lost(self) -> None:
        """The socket is closed (a SocketStream's end)."""
        self._lost()

    def _read(self) -> None:
        stream = self.stream
        if type(stream) is SocketStream:
            stream.resume()
            return
        try:
            future = stream.read_bytes(READ_SIZE, partial=True)
        except StreamClosedError:
            self._lost()
            return
        future.add_done_callback(self._on_read)

    def _hold(self) -> None:
        """Read nothing more until `_read` (no read is pending on an IOStream here)."""
        stream = self.stream
        if type(stream) is SocketStream:
            stream.pause()

    def _abort(self) -> None:
        stream = self.stream
        if type(stream) is SocketStream:
            stream.abort()  # at once, not after what is still queued
        super()._abort()

    def _on_read(self, future: Future[bytes]) -> None:
        try:
            data = future.result()
        except BaseException as error:  # noqa: BLE001 - closed, cancelled at shutdown, a bug
            if not isinstance(error, StreamClosedError):
                log.debug("websocket read failed", exc_info=True)
            self._lost()
            return
        self.received(data)

    def _handle_buffer(self) -> None:
        """Handle every complete frame in the buffer, then read again (or report the end)."""
        try:
            while not self.client_terminated:
                handled = self._next_frame()
                if handled is None:
                    break
                if isinstance(handled, Future):
                    # An on_message coroutine: the next frame waits for it, as in Tornado.
                    self._hold()
                    handled.add_done_callback(lambda _: self._handle_buffer())
                    return
                if handled is _MESSAGE and self._buffer and not self.client_terminated:
                    # One message per loop iteration for this connection (docs/security.md).
                    self._hold()
                    self.stream.io_loop.add_callback(self._handle_buffer)
                    return
        except Exception:  # noqa: BLE001 - a bug must not leave the connection hanging
            log.exception("websocket frame handling failed")
            self._abort()
        if self.client_terminated:
            self._report_closed()
        else:
            self._read()

    def _next_frame(self) -> Future[None] | bool | object | None:
        """Take one whole frame off the buffer and handle it.

        Returns None when the buffer holds no whole frame yet, the future of an on_message
        coroutine, `_MESSAGE` when a data message was handed on, or True.
        """
        buffer = self._buffer
        available = len(buffer)
        if available < 2:
            return None
        first, second = buffer[0], buffer[1]
        final = first & _FIN
        opcode = first & _OPCODE
        control = opcode & 0x8
        length = second & _LENGTH
        if first & _RSV or (control and length >= 126):
            # Unknown extensions, or a control frame of 126+ bytes.
            self._abort()
            return True
        if not second & _MASKED:
            # RFC 6455 5.1: "a server MUST close the connection upon receiving a frame that
            # is not masked" (1002, protocol error).
            self.close(1002, "client frames must be masked")
            self._abort()
            return True
        start = 2
        if length == 126:
            if available < 4:
                return None
            length = int.from_bytes(buffer[2:4], "big")
            start = 4
        elif length == 127:
            if available < 10:
                return None
            length = int.from_bytes(buffer[2:10], "big")
            start = 10
        fragments = self._fragmented_message_buffer
        # A data frame counts with the fragments before it (a control frame inside a
        # fragmented message is a message of its own), and is refused before its payload is
        # buffered, like Tornado.
        assembled = len(fragments) if fragments is not None and not control else 0
        if length + assembled > self.params.max_message_size:
            self.close(1009, "message too big")
            self._abort()
            return True
        if available < start + 4:
            return None
        mask = bytes(buffer[start:start + 4])
        start += 4
        end = start + length
        if available < end:
            return None
        payload = _websocket_mask(mask, bytes(buffer[start:end]))
        del buffer[:end]

        if control:
            if not final:
                self._abort()  # control frames must not be fragmented
                return True
        elif opcode == 0:  # continuation
            if fragments is None:
                self._abort()  # nothing to continue
                return True
            fragments.extend(payload)
            if final:
                opcode = self._fragmented_message_opcode
                payload = bytes(fragments)
                self._fragmented_message_buffer = None
        else:  # the first frame of a message
            if fragments is not None:
                self._abort()  # the previous message is not finished
                return True
            if not final:
                self._fragmented_message_opcode = opcode
                self._fragmented_message_buffer = bytearray(payload)
        if final:
            handled = self._handle_message(opcode, payload)
            if handled is not None:
                return handled
            if not control:
                return _MESSAGE
        return True

    def _lost(self) -> None:
        self._abort()
        self._report_closed()

    def _report_closed(self) -> None:
        # What Tornado's loop does when it ends, once.
        if not self._closed_reported:
            self._closed_reported = True
            self.handler.on_ws_connection_close(self.close_code, self.close_reason)

