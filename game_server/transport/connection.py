"""The SockJS connection: hands each message to its protocol peer and sends what comes back.

It parses nothing itself. The peer never raises, but a bug here must not abort the connection
either (sockjs-tornado drops a connection whose on_message raises), so everything is caught.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sockjs.tornado import SockJSConnection

from game_server.protocol import Hub, Peer
from game_server.transport.lean_websocket import websocket_frame
from game_server.transport.sockjs_fixes import WebSocketTransport

log = logging.getLogger(__name__)


class GameConnection(SockJSConnection):
    """One SockJS session. `hub` is set on a subclass made by `connection_class`."""

    hub: Hub
    peer: Peer | None = None

    def on_open(self, info: Any) -> None:
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

    def on_close(self) -> None:
        if self.peer is not None:
            self.peer.disconnected()

    def _send_text(self, text: str) -> None:
        if self.is_closed:
            return
        session = self.session
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
        session = self.session
        return len(getattr(session, "send_queue", "")) if session is not None else 0

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


def connection_class(hub: Hub) -> type[GameConnection]:
    """A GameConnection subclass bound to `hub` (sockjs-tornado instantiates the class)."""
    return type("BoundGameConnection", (GameConnection,), {"hub": hub})
