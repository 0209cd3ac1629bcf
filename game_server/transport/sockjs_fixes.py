"""Every change this project makes to sockjs-tornado 1.0.7, in one place.

sockjs-tornado is old and unmaintained; rather than edit the installed package, the router's
handlers are swapped for the small subclasses below. Each fixes one observed defect and has a
test in tests/transport/: test_sockjs_fixes.py (fixes 1-8), test_limits.py and
test_lean_websocket_limits.py (9, 10), test_raw_websocket.py (11) and
test_sockjs_conformance.py (11-14):

1. A WebSocket frame that is not valid JSON made sockjs-tornado log a traceback and drop the
   connection. Here the connection gets a `bad_json` error and stays open.
2. A broken xhr_send / jsonp_send body answered "Broken JSON encoding." (HTTP 500, as the SockJS
   protocol wants) but the application never learned of it. It still answers 500, and the
   connection also gets a `bad_json` error on its stream.
3. htmlfile stripped `_` and `.` from the callback name, and sockjs-client 1.6 sends names like
   `_jp.a1b2c3`, so iframe-htmlfile failed. Here `[A-Za-z0-9_.]` is allowed (still escaped).
4. jsonp echoed the callback name into JavaScript unchecked (a reflected XSS). Here it must match
   the same pattern, else the request is refused (500, as for a missing callback).
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
9. Limits (docs/security.md, `limits.py`): request bodies and WebSocket messages of at most
   `MAX_BODY_BYTES` (Tornado reads 100 MB bodies and 10 MiB messages by default, and one
   88 MB xhr_send froze every room for seconds), refused before they are read; at most
   `MAX_MESSAGES_PER_FRAME` messages handled per SockJS frame.
10. A write that fails after it was queued (the wrapper task of Tornado's `write_message`)
   stops the heartbeat at once and closes the session, like a write that fails at once (fix
   5); before, the task's error was never retrieved and the heartbeat ran until on_close.
11. The raw WebSocket endpoint (`/websocket`, no SockJS framing) gets fixes 5, 8, 9 and 10,
   and closes with the session's code and reason (as sockjs-node does) instead of none.
12. Conformance with the SockJS protocol as sockjs-node 0.3.24 serves it (tests in
   test_sockjs_conformance.py): `no-transform` in every `Cache-Control` that forbids caching
   (a proxy that recompresses a stream can hold it back), JSONP responses prefixed with
   `/**/` (a defence against content sniffing), EventSource's `text/event-stream` without a
   charset, a bare 405 (an `Allow` header, no body, no content type) for anything but
   GET on a WebSocket URL, `invalid "callback" parameter` for a callback name that is
   refused (a missing one is `"callback" parameter required`), and the current iframe page
   (sockjs-client loaded first, then `SockJS.bootstrap_iframe()`; the old page relied on
   the `_sockjs_onload` hook).
13. A session closed as it opened over xhr or jsonp wrote its open frame and its close frame
   into one response declared 2 bytes long (`HTTPOutputError`; the next poll hung). A polling
   response carries one frame: a later close frame (or heartbeat) is not written to it, and
   the next poll gets the close frame from the closed session, as sockjs-node does.
14. An HTTP/1.0 streaming response (xhr_streaming, eventsource, htmlfile) has no length and
   no chunks, so only closing the connection ends it; with `Connection: keep-alive` Tornado 6
   kept it open (sockjs-tornado's `no_keep_alive` is a Tornado 2 attribute) and the client
   waited forever after `response_limit`. Here such a connection is closed at the end.
15. Speed, not a defect: xhr_streaming writes each pack as one HTTP chunk straight to the
   socket when nothing else waits to be written on it, instead of `RequestHandler.write`,
   `flush` and a future per message (the stock path, still taken for HTTP/1.0, TLS, or
   while part of an earlier write waits); what the socket does not take goes to the
   stream's own buffer, in order. It reads HTTP1Connection's `_chunking_output`.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from typing import Any, Callable
from urllib.parse import unquote_plus

from sockjs.tornado import SockJSRouter, basehandler, proto, static, transports
from sockjs.tornado.transports import (eventsource, htmlfile, jsonp, rawwebsocket, websocket,
                                       xhr, xhrstreaming)
from tornado.iostream import IOStream, StreamClosedError
from tornado.web import RequestHandler, stream_request_body
from tornado.websocket import WebSocketClosedError, WebSocketProtocol, WebSocketProtocol13

from game_server.transport.lean_websocket import LeanProtocol
from game_server.transport.limits import MAX_BODY_BYTES, MAX_MESSAGES_PER_FRAME
from game_server.transport.socket_stream import SocketStream

log = logging.getLogger(__name__)

#: Callback names sockjs-client sends, e.g. "_jp.a1b2c3"; anything else is refused.
CALLBACK = re.compile(r"^[A-Za-z0-9_.]{1,64}$")

#: Fix 12: sockjs-node's header for responses that must not be cached.
NOT_CACHED = "no-store, no-cache, no-transform, must-revalidate, max-age=0"


def _bad_frame(session: Any) -> None:
    """Tell the session's connection that a frame was not valid JSON."""
    conn = getattr(session, "conn", None)
    handler = getattr(conn, "on_bad_frame", None)
    if handler is not None:
        handler()


def _refused(session: Any, code: str, text: str) -> None:
    """Tell the session's connection that part of its input was refused (an `error`)."""
    conn = getattr(session, "conn", None)
    handler = getattr(conn, "on_refused", None)
    if handler is not None:
        handler(code, text)


def _decode_frame(session: Any, data: str) -> list | None:
    """The messages in a SockJS frame, or None (and the connection told) if it is broken."""
    try:
        messages = proto.json_decode(data)
    except (ValueError, RecursionError):  # deep nesting too: an error, never a crash
        _bad_frame(session)
        return None
    return messages if isinstance(messages, list) else [messages]


def _deliver(session: Any, messages: list) -> None:
    """Hand a frame's messages to the session, at most MAX_MESSAGES_PER_FRAME (fix 9)."""
    dropped = len(messages) - MAX_MESSAGES_PER_FRAME
    if dropped > 0:
        messages = messages[:MAX_MESSAGES_PER_FRAME]
    session.on_messages(messages)
    if dropped > 0:
        _refused(session, "rate_limited",
                 f"A SockJS frame may hold at most {MAX_MESSAGES_PER_FRAME} messages; "
                 f"the other {dropped} were dropped.")


class _WebSocketLimits:
    """Fixes 5, 8, 9 and 10 for both WebSocket endpoints (mixed into their handlers)."""

    session: Any
    server: Any
    ws_connection: Any

    @property
    def max_message_size(self) -> int:
        # Fix 9: Tornado's check (and LeanProtocol's) closes with 1009 past this size.
        return MAX_BODY_BYTES

    def get_websocket_protocol(self) -> WebSocketProtocol | None:
        """Fix 8: the lean frame reader, unless compression is on (never, on Tornado 6)."""
        protocol = super().get_websocket_protocol()  # type: ignore[misc]
        if type(protocol) is WebSocketProtocol13 and protocol.params.compression_options is None:
            lean = LeanProtocol(self, False, protocol.params)
            lean.take_over = self.server.settings.get("socket_takeover", True)
            return lean
        return protocol

    async def _execute(self, transforms: Any, *args: Any, **kwargs: Any) -> None:
        if self.request.method != "GET":  # type: ignore[attr-defined]
            # Fix 12: a bare 405, as sockjs-node answers (stock: an HTML page's type).
            self._transforms = transforms
            self.set_status(405)  # type: ignore[attr-defined]
            self.set_header("Allow", "GET")  # type: ignore[attr-defined]
            self.clear_header("Content-Type")  # type: ignore[attr-defined]
            self.finish()  # type: ignore[attr-defined]
            return
        await super()._execute(transforms, *args, **kwargs)  # type: ignore[misc]

    def send_pack(self, message: str, binary: bool = False) -> None:
        try:
            future = self.write_message(message, binary)  # type: ignore[attr-defined]
        except (IOError, WebSocketClosedError):
            self._write_failed()
            return
        future.add_done_callback(self._written)

    def _written(self, future: Any) -> None:
        # Fix 10: a write that failed after it was queued (the socket was reset).
        if future.cancelled() or future.exception() is not None:
            self._write_failed()

    def _write_failed(self) -> None:
        # Fix 5: stop the heartbeat and close the session once, from the loop.
        session = self.session
        stop = getattr(session, "stop_heartbeat", None)
        if stop is not None:
            stop()
        self.server.io_loop.add_callback(self.on_close)  # type: ignore[attr-defined]


class WebSocketTransport(_WebSocketLimits, websocket.WebSocketTransport):
    """Fixes 1, 5, 7, 8, 9, 10 and 12."""

    def send_frame(self, frame: bytes) -> bool:
        """Send a whole frame from `lean_websocket.websocket_frame` (fix 7).

        Returns False, having sent nothing, when this connection needs the stock path
        (`send_pack`): compression negotiated, TLS, or the connection closing or closed.
        """
        protocol = self.ws_connection
        if protocol is None or protocol.is_closing() or protocol._compressor is not None:
            return False
        stream = protocol.stream
        if type(stream) is SocketStream:
            try:
                stream.write_frame(frame)
            except StreamClosedError:
                self._write_failed()
            return True
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
            _deliver(self.session, messages)


class RawWebSocketTransport(_WebSocketLimits, rawwebsocket.RawWebSocketTransport):
    """Fixes 11 and 12: the raw endpoint, one protocol message per WebSocket message."""

    def session_closed(self) -> None:
        # The session's close code and reason, as sockjs-node sends them; stock: none.
        session = self.session
        code, reason = session.get_close_reason() if session is not None else (3000, "Go away!")
        try:
            self.close(code, reason)
        except IOError:
            pass
        finally:
            self._detach()


class _BoundedBody:
    """Fix 9 for the SockJS handlers that take a POST: a body over MAX_BODY_BYTES is refused
    with 413 as soon as its Content-Length (or, chunked, its first chunks) shows it, and the
    connection is closed after the answer, so the rest is never read. The session's connection
    also gets a `too_large` error. Mixed in before a handler made with `stream_request_body`.
    """

    request: Any
    path_kwargs: dict[str, Any]
    _finished: bool

    def prepare(self) -> None:
        super().prepare()  # type: ignore[misc]
        self.request.body = b""
        length = self.request.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            self._refuse_body()

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return
        if len(self.request.body) + len(chunk) > MAX_BODY_BYTES:
            self._refuse_body()
            return
        # At most two pieces: Tornado delivers a body in chunks of 64 KiB.
        self.request.body += chunk

    def on_connection_close(self) -> None:
        super().on_connection_close()  # type: ignore[misc]
        # sockjs-tornado's BaseHandler does not call Tornado's, which ends the wait for a
        # body that will never come.
        RequestHandler.on_connection_close(self)  # type: ignore[arg-type]

    def _refuse_body(self) -> None:
        session = self.server.get_session(self.path_kwargs.get("session_id"))  # type: ignore
        _refused(session, "too_large",
                 f"A SockJS request body may be at most {MAX_BODY_BYTES} bytes.")
        self.set_status(413)  # type: ignore[attr-defined]
        self.set_header("Content-Type", "text/plain; charset=UTF-8")  # type: ignore
        self.set_header("Connection", "close")  # type: ignore[attr-defined]
        self.finish("Payload too large.")  # type: ignore[attr-defined]


@stream_request_body
class XhrPollingTransport(_BoundedBody, xhr.XhrPollingTransport):
    """Fix 9: a poll carries no body worth reading. Fix 13: one frame per response."""

    def send_pack(self, message: str, binary: bool = False) -> None:
        if not self.active:
            # Fix 13: this poll's response is already written; a close frame stays in the
            # closed session for the next poll (a heartbeat is not needed).
            return
        super().send_pack(message, binary)


class _EndsByClosing:
    """Fix 14, mixed into the streaming transports."""

    request: Any

    def initialize(self, server: Any) -> None:
        super().initialize(server)  # type: ignore[misc]
        if self.request.version != "HTTP/1.1":
            # Tornado announces Keep-Alive to a 1.0 client that asked for it, and keeps the
            # connection open after the response, unless told otherwise (Tornado is pinned).
            self.request.headers["Connection"] = "close"
            self.request.connection._disconnect_on_finish = True


@stream_request_body
class XhrStreamingTransport(_BoundedBody, _EndsByClosing, xhrstreaming.XhrStreamingTransport):
    """Fix 9: the streaming request carries no body worth reading. Fix 14. Fix 15."""

    def send_pack(self, message: str, binary: bool = False) -> None:
        # Fix 15: the chunk written straight to the socket when nothing else waits on it.
        if binary or not self._send_chunk((message + "\n").encode("utf-8")):
            super().send_pack(message, binary)
            return
        # As the stock path does: inactive until the next iteration, so that what is sent
        # meanwhile waits in the session's queue and leaves as one pack (and the pack being
        # flushed is not sent again from inside `session.flush`).
        self.active = False
        self.notify_sent(len(message))
        self.server.io_loop.add_callback(self.send_complete)

    def _send_chunk(self, data: bytes) -> bool:
        """Write `data` as one chunk of the response; False, having sent nothing, when the
        stock path must take it (no chunked response, TLS, something still being written)."""
        connection = self.request.connection
        stream = getattr(connection, "stream", None)
        if (type(stream) is not IOStream or stream.closed() or stream.writing()
                or self._write_buffer or not connection._chunking_output):
            return False
        chunk = b"%x\r\n%b\r\n" % (len(data), data)
        try:
            sent = stream.socket.send(chunk)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            return False  # reset or broken: the stock path closes the session its own way
        if sent < len(chunk):
            stream.write(chunk[sent:])  # in order: nothing else was waiting
        return True


@stream_request_body
class XhrSendHandler(_BoundedBody, xhr.XhrSendHandler):
    """Fixes 2 and 9 for xhr_send."""

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
        _deliver(session, messages)
        self.set_status(204)
        self.set_header("Content-Type", "text/plain; charset=UTF-8")


@stream_request_body
class JSONPSendHandler(_BoundedBody, jsonp.JSONPSendHandler):
    """Fixes 2 and 9 for jsonp_send: a broken body is reported on the stream, and a frame's
    messages are capped."""

    def post(self, session_id: str) -> None:
        self.preflight()
        self.handle_session_cookie()
        self.disable_cache()
        session = self._get_session(session_id)
        if session is None or session.is_closed:
            self.set_status(404)
            return
        data = self.request.body.decode("utf-8", "replace")
        ctype = self.request.headers.get("Content-Type", "").lower()
        if ctype == "application/x-www-form-urlencoded":
            data = unquote_plus(data[2:]) if data.startswith("d=") else ""
        if not data:
            self.set_status(500)
            self.write("Payload expected.")
            return
        messages = _decode_frame(session, data)
        if messages is None:
            self.set_status(500)
            self.write("Broken JSON encoding.")
            return
        _deliver(session, messages)
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.write("ok")


def _callback_error(callback: str | None) -> str:
    """Fix 12: sockjs-node's texts for a missing and for a refused callback name."""
    return '"callback" parameter required' if not callback else 'invalid "callback" parameter'


class HtmlFileTransport(_EndsByClosing, htmlfile.HtmlFileTransport):
    """Fix 3: keep `_` and `.` in the callback name. Fix 14."""

    def get(self, session_id: str) -> None:
        # The response stays open for streaming (what the stock @asynchronous did).
        self._auto_finish = False
        self.preflight()
        self.handle_session_cookie()
        self.disable_cache()
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        callback = self.get_argument("c", None, strip=False)
        if not callback or not CALLBACK.match(callback):
            self.write(_callback_error(callback))
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
    """Fix 4: the callback name must be a plain JavaScript property path. Fix 12: `/**/`.
    Fix 13: one frame per response."""

    def get(self, session_id: str) -> None:
        callback = self.get_argument("c", None, strip=False)
        if callback and not CALLBACK.match(callback):
            self.set_status(500)
            self.write(_callback_error(callback))
            return
        super().get(session_id)

    def send_pack(self, message: str, binary: bool = False) -> None:
        if not self.active:
            return  # fix 13, as for xhr
        self.active = False
        try:
            body = "/**/%s(%s);\r\n" % (self.callback, proto.json_encode(message))
            self.set_header("Content-Type", "application/javascript; charset=UTF-8")
            self.set_header("Content-Length", len(body))
            self.set_header("Etag", "dummy")
            self.write(body)
            self.flush().add_done_callback(self.send_complete)
        except IOError:
            # The client went away; close its session instead of raising.
            self.session.delayed_close()


class EventSourceTransport(_EndsByClosing, eventsource.EventSourceTransport):
    """Fix 12: `text/event-stream` without a charset, as the EventSource standard names it.
    Fix 14."""

    def set_header(self, name: str, value: Any) -> None:
        if name == "Content-Type" and str(value).startswith("text/event-stream"):
            value = "text/event-stream"
        super().set_header(name, value)


#: Fix 12: the iframe page as sockjs-node serves it (`%s`: the sockjs-client URL).
IFRAME_PAGE = """<!DOCTYPE html>
<html>
<head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
  <script src="%s"></script>
  <script>
    document.domain = document.domain;
    SockJS.bootstrap_iframe();
  </script>
</head>
<body>
  <h2>Don't panic!</h2>
  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>
</body>
</html>"""


class IFrameHandler(static.IFrameHandler):
    """Fix 12: the current iframe page (with the stock ETag and caching)."""

    def get(self) -> None:
        data = (IFRAME_PAGE % html.escape(self.server.settings["sockjs_url"])).encode()
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if etag in self.request.headers.get("If-None-Match", ""):
            self.clear()
            self.clear_header("Content-Type")
            self.set_status(304)
            return
        self.enable_cache()
        self.set_header("Etag", etag)
        self.write(data)


class _NotCached:
    """Fix 12, mixed into every SockJS handler that forbids caching."""

    def disable_cache(self) -> None:
        self.set_header("Cache-Control", NOT_CACHED)  # type: ignore[attr-defined]


def _fixed(handler: type) -> type:
    """The class the router uses for a stock handler class."""
    handler = REPLACEMENTS.get(handler, handler)
    if issubclass(handler, basehandler.BaseHandler):
        # Same name and module, so the access log treats it as a SockJS handler (app.py).
        handler = type(handler.__name__, (_NotCached, handler), {"__module__": __name__})
    return handler


#: Stock handler class -> the fixed one.
REPLACEMENTS: dict[type, type] = {
    transports.WebSocketTransport: WebSocketTransport,
    transports.RawWebSocketTransport: RawWebSocketTransport,
    transports.XhrPollingTransport: XhrPollingTransport,
    transports.XhrStreamingTransport: XhrStreamingTransport,
    transports.XhrSendHandler: XhrSendHandler,
    transports.JSONPSendHandler: JSONPSendHandler,
    transports.HtmlFileTransport: HtmlFileTransport,
    transports.JSONPTransport: JSONPTransport,
    transports.EventSourceTransport: EventSourceTransport,
    static.IFrameHandler: IFrameHandler,
}


def close_streams(router: Any) -> None:
    """Drop every WebSocket socket the router's connections took over (server shutdown)."""
    for stream in list(getattr(router, "socket_streams", ())):
        stream.abort()


def make_router(connection: Callable, prefix: str, settings: dict[str, Any],
                sockjs_url: str) -> SockJSRouter:
    """A SockJSRouter with the fixed handlers and sockjs-client served by this server (fix 6)."""
    router = SockJSRouter(connection, prefix, {**settings, "sockjs_url": sockjs_url})
    #: The WebSocket sockets taken over from Tornado (socket_stream.py), which Tornado's
    #: `close_all_connections` no longer knows of: `close_streams` ends them.
    router.socket_streams = set()
    router._transport_urls = [(pattern, _fixed(handler), kwargs)
                              for pattern, handler, kwargs in router.urls]
    return router
