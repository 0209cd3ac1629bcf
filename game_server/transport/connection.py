"""The SockJS connection: hands each message to its protocol peer and sends what comes back.

It parses nothing itself. The peer never raises, but a bug here must not abort the connection
either (sockjs-tornado drops a connection whose on_message raises), so everything is caught.

It also bounds what waits to be sent to its client (`limits.MAX_OUTPUT_BYTES`, the router
setting `max_output_bytes`): the SockJS session's queue and the socket's write buffer
together. A client that does not read is closed with `limits.CLOSE_OUTPUT_FULL` once a send
would pass the cap, and counted in `game_send_queue_full_total`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sockjs.tornado import SockJSConnection
from tornado.websocket import WebSocketHandler

from game_server.protocol import Hub, Peer
from game_server.protocol.errors import ProtocolError
from game_server.transport.lean_websocket import websocket_frame
from game_server.transport.limits import CLOSE_OUTPUT_FULL, MAX_OUTPUT_BYTES
from game_server.transport.socket_stream import SocketStream
from game_server.transport.sockjs_fixes import WebSocketTransport

log = logging.getLogger(__name__)


class GameConnection(SockJSConnection):
    """One SockJS session. `hub` is set on a subclass made by `connection_class`."""

    hub: Hub
    peer: Peer | None = None
    max_output: int = MAX_OUTPUT_BYTES

    def on_open(self, info: Any) -> None:
        self.max_output = self.session.server.settings.get("max_output_bytes",
                                                           MAX_OUTPUT_BYTES)
        self.peer = self.hub.connect(self._send_text, self._close,
                                     transport=self.session.transport_name,
                                     queued=self._queued)

    def on_message(self, message: Any) -> None:
        try:
            self.peer.receive(message)
        except Exception:
            log.exception("unexpected error in on_message")

    def on_bad_frame(self) -> None:
        """Called by sockjs_fixes when a SockJS frame is not valid JSON."""
        if self.peer is not None:
            self.peer.bad_frame()

    def on_refused(self, code: str, text: str) -> None:
        """Called by sockjs_fixes when part of the input is refused before the peer saw it
        (a body over the size limit, the messages of a frame past the cap)."""
        if self.peer is not None and not self.peer.closed:
            self.peer.error(ProtocolError(code, text))

    def on_close(self) -> None:
        if self.peer is not None:
            self.peer.disconnected()

    def _send_text(self, text: str) -> None:
        if self.is_closed:
            return
        if self._queued() + len(text) > self.max_output:
            self._output_full()
            return
        session = self.session
        if not session.send_expects_json:
            # The raw WebSocket endpoint: one protocol message per WebSocket message (its
            # session has no send_jsonified).
            session.send_message(text)
            return
        handler = session.handler
        # A WebSocket with nothing queued in the session gets the frame built once for all
        # recipients (sockjs_fixes fix 7); anything else goes the stock way, which queues
        # while no transport is attached and keeps the order of queued messages.
        if (isinstance(handler, WebSocketTransport) and handler.active
                and not session.send_queue and handler.send_frame(_frame(text))):
            session.stats.on_pack_sent(1)
            return
        session.send_jsonified(_sockjs_string(text))

    def _queued(self) -> int:
        """Bytes waiting to be sent to this client: in the session's queue (text made of
        JSON with ASCII escapes, so one byte a character) and in the socket's write buffer."""
        session = self.session
        if session is None:
            return 0
        return len(getattr(session, "send_queue", "")) + _unsent(session.handler)

    def _output_full(self) -> None:
        """Close a connection whose client does not read what it is sent."""
        session = self.session
        self.hub.metrics.send_queue_full()
        log.info("closing %r: more than %d bytes wait to be sent to it", self.peer,
                 self.max_output)
        if hasattr(session, "send_queue"):
            session.send_queue = ""  # what the client has not read is dropped
        handler = session.handler
        if handler is not None and not isinstance(handler, WebSocketHandler):
            # An HTTP response the client is not reading: a close frame cannot follow it.
            # The session keeps the reason for the client's next poll, if it comes.
            handler._detach()
            session.close(*CLOSE_OUTPUT_FULL)
            connection = handler.request.connection
            if connection is not None and connection.stream is not None:
                connection.stream.close()
            return
        # A WebSocket: the close frame is queued after what waits; Tornado drops the socket
        # if the client has not answered the close within 5 seconds.
        session.close(*CLOSE_OUTPUT_FULL)

    def _close(self, code: int, reason: str) -> None:
        session = self.session
        if session is not None and not session.is_closed:
            session.close(code, reason)


class _LastMessage:
    """What the last message sent becomes on the wire, made once for all its recipients.

    The hub sends the same text object to every member who shares a view, one after the other,
    so remembering the last one saves escaping (and framing) it again for each.
    """

    text: str | None = None
    escaped: str = ""  # the text as a JSON string, for a SockJS `a[...]` frame
    frame: bytes | None = None  # the WebSocket frame of `a[<escaped>]`, made when first asked

    def of(self, text: str) -> _LastMessage:
        if self.text is not text:
            self.text, self.escaped, self.frame = text, json.dumps(text), None
        return self


_last = _LastMessage()


def _sockjs_string(text: str) -> str:
    """`text` as a JSON string for a SockJS frame."""
    return _last.of(text).escaped


def _frame(text: str) -> bytes:
    """The WebSocket frame of the SockJS message frame `a["..."]` holding `text`."""
    last = _last.of(text)
    if last.frame is None:
        last.frame = websocket_frame(b"a[" + last.escaped.encode("utf-8") + b"]")
    return last.frame


def _unsent(handler: Any) -> int:
    """Bytes in the write buffer of the socket behind a transport handler (Tornado 6.6's
    IOStream keeps them in `_write_buffer`; Tornado is pinned for fix 7 already)."""
    if handler is None:
        return 0
    ws = getattr(handler, "ws_connection", None)
    if ws is not None:
        stream = ws.stream
        if type(stream) is SocketStream:
            return stream.unsent()
    else:
        connection = getattr(handler.request, "connection", None)
        stream = getattr(connection, "stream", None)
    buffer = getattr(stream, "_write_buffer", None)
    return len(buffer) if buffer is not None else 0


def connection_class(hub: Hub) -> type[GameConnection]:
    """A GameConnection subclass bound to `hub` (sockjs-tornado instantiates the class)."""
    return type("BoundGameConnection", (GameConnection,), {"hub": hub})
