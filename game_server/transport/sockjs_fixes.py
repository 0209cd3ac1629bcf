"""Every change this project makes to sockjs-tornado 1.0.7, in one place.

sockjs-tornado is old and unmaintained; rather than edit the installed package, the router's
handlers are swapped for the small subclasses below. Each fixes one observed defect and has a
test in tests/transport/test_sockjs_fixes.py:

1. A WebSocket frame that is not valid JSON made sockjs-tornado log a traceback and drop the
   connection. Here the connection gets a `bad_json` error and stays open.
2. A broken xhr_send / jsonp_send body answered "Broken JSON encoding." (HTTP 500, as the SockJS
   protocol wants) but the application never learned of it. It still answers 500, and the
   connection also gets a `bad_json` error on its stream.
3. htmlfile stripped `_` and `.` from the callback name, and sockjs-client 1.6 sends names like
   `_jp.a1b2c3`, so iframe-htmlfile failed. Here `[A-Za-z0-9_.]` is allowed (still escaped).
4. jsonp echoed the callback name into JavaScript unchecked (a reflected XSS). Here it must match
   the same pattern, else the request is refused like a missing callback.
5. A heartbeat (or any send) that reaches a WebSocket that is already closing raised
   WebSocketClosedError out of the timer, which Tornado logs as an error (upstream PR #125;
   only IOError was caught). Here such a write stops the heartbeat and closes the session
   once. The window is narrow (between the close handshake and on_close), so its test guards
   the behaviour around closes rather than reproducing the race.
6. The iframe page loads sockjs-client from `sockjs_url`, a CDN by default that is unreachable
   for many users: `make_router` points it at the copy the server serves.
7. Speed, not a defect: `WebSocketTransport.send_frame` writes a WebSocket frame built once
   per message (for all its recipients) straight to the socket when nothing else is waiting
   to be sent on it. Tornado's `write_message` builds the frame per recipient and makes a
   future and a task for every write, which was a fifth of the event loop's time under load
   (docs/performance.md). What the socket does not take at once goes to the stream's own
   buffer, so bytes stay in order; compressed, TLS or closing connections take the stock path.
   It reads two IOStream attributes (`socket`, `writing()`) and the protocol's `_compressor`,
   which is why Tornado is pinned to 6.6.
8. Speed, not a defect: incoming WebSocket frames are read by `lean_websocket.LeanProtocol`,
   one callback per read handling every whole frame received, instead of Tornado's chain of
   coroutines and three futures per frame; idle connections keep no coroutine suspended.
"""

from __future__ import annotations

import html
import json
import logging
import re
from typing import Any, Callable
from urllib.parse import unquote_plus

from sockjs.tornado import SockJSRouter, proto, transports
from sockjs.tornado.transports import htmlfile, jsonp, websocket, xhr
from tornado.iostream import IOStream, StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketProtocol, WebSocketProtocol13

from game_server.transport.lean_websocket import LeanProtocol

log = logging.getLogger(__name__)

#: Callback names sockjs-client sends, e.g. "_jp.a1b2c3"; anything else is refused.
CALLBACK = re.compile(r"^[A-Za-z0-9_.]{1,64}$")


def _bad_frame(session: Any) -> None:
    """Tell the session's connection that a frame was not valid JSON."""
    conn = getattr(session, "conn", None)
    handler = getattr(conn, "on_bad_frame", None)
    if handler is not None:
        handler()


def _decode_frame(session: Any, data: str) -> list | None:
    """The messages in a SockJS frame, or None (and the connection told) if it is broken."""
    try:
        messages = proto.json_decode(data)
    except ValueError:
        _bad_frame(session)
        return None
    return messages if isinstance(messages, list) else [messages]


class WebSocketTransport(websocket.WebSocketTransport):
    """Fixes 1, 5, 7 and 8."""

    def get_websocket_protocol(self) -> WebSocketProtocol | None:
        """Fix 8: the lean frame reader, unless compression is on (never, on Tornado 6)."""
        protocol = super().get_websocket_protocol()
        if type(protocol) is WebSocketProtocol13 and protocol.params.compression_options is None:
            return LeanProtocol(self, False, protocol.params)
        return protocol

    def send_frame(self, frame: bytes) -> bool:
        """Send a whole frame from `lean_websocket.websocket_frame` (fix 7).

        Returns False, having sent nothing, when this connection needs the stock path
        (`send_pack`): compression negotiated, TLS, or the connection closing or closed.
        """
        protocol = self.ws_connection
        if protocol is None or protocol.is_closing() or protocol._compressor is not None:
            return False
        stream = protocol.stream
        if type(stream) is not IOStream or stream.closed():
            return False
        if not stream.writing():
            try:
                sent = stream.socket.send(frame)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                # Reset or broken: the stock path lets Tornado close the stream its own way.
                return False
            if sent == len(frame):
                return True
            frame = frame[sent:]
        try:
            stream.write(frame)
        except StreamClosedError:
            self._write_failed()
        return True

    def on_message(self, message: Any) -> None:
        # SockJS ignores empty frames.
        if not message or not self.session:
            return
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        messages = _decode_frame(self.session, message)
        if messages is not None:
            self.session.on_messages(messages)

    def send_pack(self, message: str, binary: bool = False) -> None:
        try:
            self.write_message(message, binary)
        except (IOError, WebSocketClosedError):
            self._write_failed()

    def _write_failed(self) -> None:
        # Fix 5: stop the heartbeat and close the session once, from the loop.
        session = self.session
        if session is not None:
            session.stop_heartbeat()
        self.server.io_loop.add_callback(self.on_close)


class XhrSendHandler(xhr.XhrSendHandler):
    """Fix 2 for xhr_send."""

    def post(self, session_id: str) -> None:
        self.preflight()
        self.handle_session_cookie()
        self.disable_cache()
        session = self._get_session(session_id)
        if session is None or session.is_closed:
            self.set_status(404)
            return
        data = self.request.body
        if not data:
            self.set_status(500)
            self.write("Payload expected.")
            return
        messages = _decode_frame(session, data.decode("utf-8", "replace"))
        if messages is None:
            self.set_status(500)
            self.write("Broken JSON encoding.")
            return
        session.on_messages(messages)
        self.set_status(204)
        self.set_header("Content-Type", "text/plain; charset=UTF-8")


class JSONPSendHandler(jsonp.JSONPSendHandler):
    """Fix 2 for jsonp_send: a broken body is reported before the stock handler answers 500."""

    def post(self, session_id: str) -> None:
        session = self._get_session(session_id)
        if session is not None and not session.is_closed:
            data = self.request.body.decode("utf-8", "replace")
            ctype = self.request.headers.get("Content-Type", "").lower()
            if ctype == "application/x-www-form-urlencoded" and data.startswith("d="):
                data = unquote_plus(data[2:])
            if data:
                try:
                    json.loads(data)
                except ValueError:
                    _bad_frame(session)
        super().post(session_id)


class HtmlFileTransport(htmlfile.HtmlFileTransport):
    """Fix 3: keep `_` and `.` in the callback name."""

    def get(self, session_id: str) -> None:
        # The response stays open for streaming (what the stock @asynchronous did).
        self._auto_finish = False
        self.preflight()
        self.handle_session_cookie()
        self.disable_cache()
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        callback = self.get_argument("c", None)
        if not callback or not CALLBACK.match(callback):
            self.write('"callback" parameter required')
            self.set_status(500)
            self.finish()
            return
        self.write(htmlfile.HTMLFILE_HEAD % html.escape(callback))
        self.flush()
        if not self._attach_session(session_id):
            self.finish()
            return
        if self.session:
            self.session.flush()


class JSONPTransport(jsonp.JSONPTransport):
    """Fix 4: the callback name must be a plain JavaScript property path."""

    def get(self, session_id: str) -> None:
        callback = self.get_argument("c", None)
        if callback and not CALLBACK.match(callback):
            self.set_status(500)
            self.write('"callback" parameter required')
            return
        super().get(session_id)


#: Stock handler class -> the fixed one.
REPLACEMENTS: dict[type, type] = {
    transports.WebSocketTransport: WebSocketTransport,
    transports.XhrSendHandler: XhrSendHandler,
    transports.JSONPSendHandler: JSONPSendHandler,
    transports.HtmlFileTransport: HtmlFileTransport,
    transports.JSONPTransport: JSONPTransport,
}


def make_router(connection: Callable, prefix: str, settings: dict[str, Any],
                sockjs_url: str) -> SockJSRouter:
    """A SockJSRouter with the fixed handlers and sockjs-client served by this server (fix 6)."""
    router = SockJSRouter(connection, prefix, {**settings, "sockjs_url": sockjs_url})
    router._transport_urls = [
        (pattern, REPLACEMENTS.get(handler, handler), kwargs)
        for pattern, handler, kwargs in router.urls
    ]
    return router
