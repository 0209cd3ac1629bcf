"""The HTTP server under the application: the limits on connections that do nothing.

- Timeouts: a client has GAME_HTTP_TIMEOUT seconds to send a request's head, and as long
  again for its body; a keep-alive connection idle that long is closed (Tornado's
  `idle_connection_timeout` also bounds the wait for a head; without it, 300 half-sent
  requests stayed open for an hour).
- A cap on open connections per client address (GAME_CONNECTIONS_PER_ADDRESS). Without a
  trusted proxy the address is the TCP peer's and the connection past the cap is closed as
  it is accepted, before any byte is read. Behind a trusted proxy (GAME_TRUST_PROXY) the
  peer is the proxy, which also reuses its connections for several clients: each
  connection counts for the client of its latest request (X-Real-IP, else the last
  X-Forwarded-For address), and a request past the cap is answered 429 and its connection
  closed.
- Out of file descriptors, `accept()` fails with EMFILE while the connection stays queued,
  so the listening socket stays readable: Tornado's accept handler raised on every turn of
  the loop (113,037 tracebacks in 20 s). Here accepting pauses for `ACCEPT_PAUSE` seconds
  at a time, with one warning per minute, until a descriptor is free again.

Transport layer: Tornado only. Relies on `TCPServer`'s `_sockets`, `_handlers` and
`_handle_connection` (Tornado is pinned to 6.6, and tests/transport/test_http_limits.py
covers each of them).
"""

from __future__ import annotations

import errno
import logging
import socket
import time
from typing import Any, Callable, Iterable

import tornado.httpserver
from tornado import httputil, netutil
from tornado.ioloop import IOLoop
from tornado.iostream import IOStream

from game_server.transport.limits import MAX_BODY_BYTES

log = logging.getLogger(__name__)

#: Largest request head, request line and headers together (Tornado's default: 64 KiB).
#: SockJS requests carry a few hundred bytes; nginx's own default limit is 8 KiB per line.
MAX_HEADER_SIZE = 16 * 1024
#: Seconds accepting pauses after accept() failed for want of a descriptor.
ACCEPT_PAUSE = 0.5
#: Seconds between two warnings of the same kind (refused connections, out of descriptors).
WARNING_INTERVAL = 60.0
#: Connections accepted per readiness of the listening socket (Tornado's own figure).
_ACCEPTS_PER_CALL = 128
#: accept() errors that mean "no descriptor or buffer now", not a broken socket.
_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class _Throttled:
    """A warning logged at most once per `WARNING_INTERVAL`, with how often it happened."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last = float("-inf")
        self._count = 0

    def due(self) -> int:
        """Count one occurrence; when a warning is due now, how many there were since the
        last one, else 0."""
        self._count += 1
        now = self._clock()
        if now - self._last < WARNING_INTERVAL:
            return 0
        self._last = now
        count, self._count = self._count, 0
        return count


class AddressCounts:
    """Open connections per client address, at most `limit` each."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.counts: dict[str, int] = {}

    def acquire(self, address: str) -> bool:
        count = self.counts.get(address, 0)
        if count >= self.limit:
            return False
        self.counts[address] = count + 1
        return True

    def release(self, address: str) -> None:
        count = self.counts.get(address, 0) - 1
        if count > 0:
            self.counts[address] = count
        else:
            self.counts.pop(address, None)


def forwarded_address(headers: httputil.HTTPHeaders, peer: str) -> str:
    """The client's address as a trusted proxy gives it (Tornado's `xheaders` rule):
    X-Real-IP, else the last address of X-Forwarded-For, else the peer's."""
    address = headers.get("X-Forwarded-For", peer).split(",")[-1].strip()
    address = headers.get("X-Real-Ip", address).strip()
    return address if netutil.is_valid_ip(address) else peer


class GameHTTPServer(tornado.httpserver.HTTPServer):
    """`HTTPServer(app, trust_proxy=False, per_address=64, timeout=10.0)`: see the module."""

    def initialize(self, request_callback: Any, *, trust_proxy: bool = False,
                   per_address: int = 0, timeout: float | None = None,
                   **kwargs: Any) -> None:
        kwargs.setdefault("max_header_size", MAX_HEADER_SIZE)
        # No route takes more than the protocol's bodies (the SockJS handlers refuse larger
        # ones with 413 themselves; elsewhere, e.g. /dev/login, Tornado closes the connection).
        kwargs.setdefault("max_body_size", MAX_BODY_BYTES)
        super().initialize(request_callback, xheaders=trust_proxy,
                           idle_connection_timeout=timeout, body_timeout=timeout, **kwargs)
        self.trust_proxy = trust_proxy
        self.per_address = AddressCounts(per_address) if per_address > 0 else None
        #: The address each counted connection counts for.
        self._counted: dict[IOStream, str] = {}
        self._refused = _Throttled()
        self._starved = _Throttled()

    # --- accepting -----------------------------------------------------------------------

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        for sock in sockets:
            self._sockets[sock.fileno()] = sock
            self._handlers[sock.fileno()] = self._accept_quietly(sock)

    def _accept_quietly(self, sock: socket.socket) -> Callable[[], None]:
        """Tornado's `add_accept_handler`, except that running out of descriptors pauses
        accepting instead of raising on every turn of the loop. Returns the remover."""
        io_loop = IOLoop.current()
        # failed: accept() failed since it last worked, and a warning said so.
        state: dict[str, Any] = {"removed": False, "timer": None, "failed": False}

        def accept(fd: Any, events: int) -> None:
            for _ in range(_ACCEPTS_PER_CALL):
                if state["removed"]:
                    return
                try:
                    connection, address = sock.accept()
                except BlockingIOError:
                    return
                except ConnectionAbortedError:
                    continue
                except OSError as error:
                    if error.errno not in _OUT_OF_DESCRIPTORS:
                        raise
                    pause(error)
                    return
                if state["failed"]:
                    state["failed"] = False
                    log.info("accepting connections again")
                self._handle_connection(connection, address)

        def pause(error: OSError) -> None:
            count = self._starved.due()
            if count:
                state["failed"] = True
                log.warning("out of file descriptors (%s, %d time(s)): new connections wait "
                            "in the queue, accepting again every %.1f s until some close; "
                            "raise the open-files limit (ulimit -n) if this is the normal "
                            "load", error.strerror, count, ACCEPT_PAUSE)
            io_loop.remove_handler(sock)
            state["timer"] = io_loop.call_later(ACCEPT_PAUSE, resume)

        def resume() -> None:
            state["timer"] = None
            if not state["removed"]:
                io_loop.add_handler(sock, accept, IOLoop.READ)

        def remove() -> None:
            state["removed"] = True
            if state["timer"] is not None:
                io_loop.remove_timeout(state["timer"])
            else:
                io_loop.remove_handler(sock)

        io_loop.add_handler(sock, accept, IOLoop.READ)
        return remove

    # --- counting connections per address --------------------------------------------------

    def handle_stream(self, stream: IOStream, address: Any) -> None:
        if self.per_address is not None:
            if not self.trust_proxy:
                peer = address[0] if isinstance(address, tuple) else str(address)
                if not self._count(stream, peer):
                    stream.close()
                    return
            self._release_on_close(stream)
        super().handle_stream(stream, address)

    def start_request(self, server_conn: object, request_conn: httputil.HTTPConnection
                      ) -> httputil.HTTPMessageDelegate:
        delegate = super().start_request(server_conn, request_conn)
        if self.per_address is not None and self.trust_proxy:
            return _CountedRequest(self, delegate, request_conn)
        return delegate

    def _count(self, stream: IOStream, address: str) -> bool:
        """Count `stream` for `address` (instead of the address it counted for); False,
        with the connection counted as before, when `address` is at the cap."""
        assert self.per_address is not None
        before = self._counted.get(stream)
        if before == address:
            return True
        if not self.per_address.acquire(address):
            count = self._refused.due()
            if count:
                hint = "" if self.trust_proxy else (
                    "; behind a proxy, set GAME_TRUST_PROXY=on to count its clients apart")
                log.warning("refused %d connection(s) over the cap of %d per address "
                            "(GAME_CONNECTIONS_PER_ADDRESS), the latest from %s%s", count,
                            self.per_address.limit, address, hint)
            return False
        if before is not None:
            self.per_address.release(before)
        self._counted[stream] = address
        return True

    def _release_on_close(self, stream: IOStream) -> None:
        # `close_fd` runs once, when the stream closes for any reason, also after a
        # WebSocket upgrade detached it from the HTTP connection (`on_close` runs then). A
        # WebSocket whose socket the server takes over (socket_stream.py) calls
        # `release_address` when that socket closes instead.
        close_fd = stream.close_fd

        def release() -> None:
            address = self._counted.pop(stream, None)
            if address is not None and self.per_address is not None:
                self.per_address.release(address)

        def closed() -> None:
            try:
                close_fd()
            finally:
                release()

        stream.close_fd = closed  # type: ignore[method-assign]
        stream.release_address = release  # type: ignore[attr-defined]


class _CountedRequest(httputil.HTTPMessageDelegate):
    """Behind a trusted proxy: count the connection for the request's client, or answer 429
    and close it."""

    def __init__(self, server: GameHTTPServer, delegate: httputil.HTTPMessageDelegate,
                 connection: httputil.HTTPConnection) -> None:
        self.server = server
        self.delegate = delegate
        self.connection = connection
        self.refused = False

    def headers_received(self, start_line: Any, headers: httputil.HTTPHeaders) -> Any:
        stream = self.connection.stream  # type: ignore[attr-defined]
        peer = self.connection.context.remote_ip  # type: ignore[attr-defined]
        if self.server._count(stream, forwarded_address(headers, peer)):
            return self.delegate.headers_received(start_line, headers)
        self.refused = True
        body = b"Too many connections from your address\n"
        # Finishing before the body is read makes Tornado close the connection afterwards.
        self.connection.write_headers(
            httputil.ResponseStartLine("HTTP/1.1", 429, "Too Many Requests"),
            httputil.HTTPHeaders({"Content-Type": "text/plain; charset=UTF-8",
                                  "Content-Length": str(len(body)), "Connection": "close"}),
            body)
        self.connection.finish()
        return None

    def data_received(self, chunk: bytes) -> Any:
        return None if self.refused else self.delegate.data_received(chunk)

    def finish(self) -> None:
        if not self.refused:
            self.delegate.finish()

    def on_connection_close(self) -> None:
        if not self.refused:
            self.delegate.on_connection_close()
