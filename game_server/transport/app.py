"""The Tornado application: SockJS under /sockjs, the web client at /, and small JSON routes.

Routes:
- `/sockjs/...`: the game protocol over every SockJS transport.
- `/config.json`: what the web client needs to know ({dev, server, protocol, games, site_url}).
- `/dev/login` (only with --dev): create or find a user by name and hand out a token.
- `/api/...`: the history of finished games (docs/api.md).
- `/vendor/sockjs.min.js`: the sockjs-client copy installed by npm in web_client/.
- `/...`: the files of web_client/ (index.html at /).

Every response carries security headers (`SecurityHeaders`), and SockJS session ids, which
are bearer credentials on the HTTP transports, never reach the logs (`RedactSessions`).

Two other applications are served on listeners of their own (game_server/server.py), never
on the public port: `make_metrics_app` (`/metrics` for Prometheus, on GAME_METRICS_ADDRESS)
and `make_admin_app` (`POST /notify` for operators and scripts on this machine
(game_server/notify.py), on 127.0.0.1 only).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

import tornado.httputil
import tornado.web
from tornado.web import GZipContentEncoding

from game_server.notify import Notification, NotifyUnavailable, parse_request
from game_server.protocol import PROTOCOL_VERSION, Hub
from game_server.rules import catalogue
from game_server.transport.connection import connection_class
from game_server.transport.sockjs_fixes import make_router

log = logging.getLogger(__name__)

WEB_CLIENT = Path(__file__).resolve().parents[2] / "web_client"
SOCKJS_CLIENT = WEB_CLIENT / "node_modules" / "sockjs-client" / "dist"
SOCKJS_PREFIX = "/sockjs"
SOCKJS_URL = "/vendor/sockjs.min.js"


@dataclass(frozen=True)
class DevLogin:
    """What `/dev/login` needs: find-or-create a user by name, and seal a token for them.

    `login(name)` returns (user id, user name) and raises ValueError for a bad name.
    """

    login: Callable[[str], Awaitable[tuple[int, str]]]
    issue_token: Callable[[int], str]


def make_app(hub: Hub, *, dev_login: DevLogin | None = None,
             sockjs_settings: dict[str, Any] | None = None, history: Any = None,
             web_client: Path = WEB_CLIENT, site_url: str = "",
             server_origins: tuple[str, ...] = ()) -> tornado.web.Application:
    """Build the application around a hub. `dev_login` enables /dev/login (serve --dev);
    `history` (a storage.history.GameHistory) enables the /api/ routes; `site_url`
    (GAME_SITE_URL) tells the web client where to ask for a fresh token; `server_origins`
    (GAME_SERVER_ORIGINS) are the other game servers' origins, which the web client's
    policy lets it reach."""
    RedactSessions.install()
    router = make_router(connection_class(hub), SOCKJS_PREFIX, sockjs_settings or {},
                         sockjs_url=SOCKJS_URL)
    if site_url and not site_url.endswith("/"):
        site_url += "/"  # the client asks site_url + "token"
    config = {"dev": dev_login is not None, "server": hub.settings.server_id,
              "protocol": PROTOCOL_VERSION,
              "games": catalogue(), "site_url": site_url}
    routes: list[Any] = list(router.urls)
    routes.append((r"/config\.json", ConfigHandler, {"config": config}))
    if dev_login is not None:
        routes.append((r"/dev/login", DevLoginHandler, {"dev_login": dev_login}))
    if history is not None:
        from game_server.transport.api import api_routes
        routes.extend(api_routes(history))
    routes.append((r"/vendor/(sockjs(?:\.min)?\.js(?:\.map)?)", tornado.web.StaticFileHandler,
                   {"path": str(web_client / "node_modules" / "sockjs-client" / "dist")}))
    routes.append((r"/(.*)", WebClientHandler,
                   {"path": str(web_client), "default_filename": "index.html"}))
    app = tornado.web.Application(routes, log_function=log_request)
    app.add_transform(CompressOutsideSockJS)
    app.add_transform(SecurityHeaders.for_site(site_url, server_origins))
    app.sockjs_router = router
    return app


def make_metrics_app(registry: Any) -> tornado.web.Application:
    """`/metrics` (Prometheus's text format) alone, for a listener of its own: the numbers
    tell an attacker how busy the server is and which errors it gives, so they are never
    on the public port."""
    return tornado.web.Application([(r"/metrics", MetricsHandler, {"registry": registry})],
                                   log_function=log_request)


#: The web client's Content-Security-Policy: its own scripts, styles and connections only
#: (no inline script, no eval, no plug-ins), and no framing. `img-src data:` is the icon in
#: index.html. `connect-src 'self'` covers SockJS's XHRs and, in CSP 3, its same-origin
#: WebSocket; GAME_SITE_URL's origin is added when it is another one (a fresh token), and
#: the other game servers' origins (GAME_SERVER_ORIGINS) to connect-src, frame-src (the
#: iframe transports), script-src and form-action (jsonp-polling: replies are scripts,
#: sends are form posts) when players reach them at other origins.
_WEB_CLIENT_POLICY = ("default-src 'self'; script-src 'self'{frames}; style-src 'self'; "
                      "img-src 'self' data:; connect-src 'self'{site}{servers}; "
                      "frame-src 'self'{frames}; object-src 'none'; "
                      "base-uri 'none'; form-action 'self'{frames}; frame-ancestors 'none'")
#: SockJS's pages (the iframe page, htmlfile) are framed by the web client's page on the same
#: origin, and run inline script: only framing by another origin is refused.
_SOCKJS_POLICY = "frame-ancestors 'self'{servers}"


class CompressOutsideSockJS(GZipContentEncoding):
    """Tornado's gzip for the web client's files and the API, never for SockJS responses.

    A compressed xhr_streaming or eventsource response holds a zlib stream for as long as it
    is open: about 240 KB per connection (measured with tracemalloc after a soak, 78 open
    streams held 18.5 MB), which idle players would pay for hours. Polls and sends are a
    few hundred bytes, not worth a compressor each. sockjs-node compresses none of them.
    """

    def __init__(self, request: tornado.httputil.HTTPServerRequest) -> None:
        super().__init__(request)
        self._sockjs = request.path.startswith(SOCKJS_PREFIX + "/")

    def transform_first_chunk(self, status_code: int, headers: tornado.httputil.HTTPHeaders,
                              chunk: bytes, finishing: bool
                              ) -> tuple[int, tornado.httputil.HTTPHeaders, bytes]:
        if self._sockjs:
            return status_code, headers, chunk
        return super().transform_first_chunk(status_code, headers, chunk, finishing)

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        if self._sockjs:
            return chunk
        return super().transform_chunk(chunk, finishing)


class SecurityHeaders(tornado.web.OutputTransform):
    """Security headers on every response of the public application (unless a handler set
    its own): `Content-Security-Policy`, `X-Frame-Options` (for browsers without CSP's
    `frame-ancestors`), `X-Content-Type-Options: nosniff` (no guessing a script or page out of
    a JSON or text reply) and `Referrer-Policy: no-referrer` (a URL with a token in its
    fragment or a room in its query never leaves in a Referer)."""

    web_client_policy = _WEB_CLIENT_POLICY.format(site="", servers="", frames="")
    sockjs_policy = _SOCKJS_POLICY.format(servers="")
    #: SockJS pages: X-Frame-Options only knows one origin; none is sent when other
    #: origins may frame them (CSP's frame-ancestors decides).
    sockjs_frame_options: str | None = "SAMEORIGIN"

    @classmethod
    def for_site(cls, site_url: str, server_origins: tuple[str, ...] = ()
                 ) -> type["SecurityHeaders"]:
        """The transform for a server whose web client asks `site_url` for tokens and may
        be sent to the game servers at `server_origins`."""
        parts = urlsplit(site_url)
        site = (f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "")
        if not site and not server_origins:
            return cls
        frames = "".join(f" {origin}" for origin in server_origins)
        # The same hosts over WebSocket (ws: for http:, wss: for https:).
        sockets = "".join(f" {'ws' + origin[4:]}" for origin in server_origins
                          if origin.startswith(("http://", "https://")))
        return type("SecurityHeaders", (cls,), {
            "web_client_policy": _WEB_CLIENT_POLICY.format(
                site=site, servers=frames + sockets, frames=frames),
            "sockjs_policy": _SOCKJS_POLICY.format(servers=frames),
            "sockjs_frame_options": None if server_origins else "SAMEORIGIN"})

    def __init__(self, request: tornado.httputil.HTTPServerRequest) -> None:
        self._sockjs = request.path.startswith(SOCKJS_PREFIX + "/")

    def transform_first_chunk(self, status_code: int, headers: tornado.httputil.HTTPHeaders,
                              chunk: bytes, finishing: bool
                              ) -> tuple[int, tornado.httputil.HTTPHeaders, bytes]:
        if self._sockjs:
            wanted = (("Content-Security-Policy", self.sockjs_policy),)
            if self.sockjs_frame_options is not None:
                wanted += (("X-Frame-Options", self.sockjs_frame_options),)
        else:
            wanted = (("Content-Security-Policy", self.web_client_policy),
                      ("X-Frame-Options", "DENY"))
        for name, value in (*wanted, ("X-Content-Type-Options", "nosniff"),
                            ("Referrer-Policy", "no-referrer")):
            if name not in headers:
                headers[name] = value
        return status_code, headers, chunk


#: The session segment of a SockJS URL: /sockjs/<server>/<session>/<transport>.
_SESSION_IN_PATH = re.compile(r"(/sockjs/[^/?#\s]+/)[^/?#\s]+(?=/)")


class RedactSessions(logging.Filter):
    """Replace the session id in SockJS paths by `***` in Tornado's log records.

    On the HTTP transports (xhr, xhr_streaming, eventsource, jsonp, htmlfile) whoever knows a
    session id can read and send that connection's messages: the ids are bearer credentials
    and stay out of log files, at every level. Installed on the loggers that print request
    paths: the access log, Tornado's and sockjs-tornado's warnings, handler exceptions.
    """

    LOGGERS = ("tornado.access", "tornado.general", "tornado.application")

    @classmethod
    def install(cls) -> None:
        """Add the filter to each logger once (make_app may run several times)."""
        for name in cls.LOGGERS:
            logger = logging.getLogger(name)
            if not any(isinstance(f, cls) for f in logger.filters):
                logger.addFilter(cls())

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/sockjs/" in message:
            redacted = _SESSION_IN_PATH.sub(r"\1***", message)
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


def log_request(handler: tornado.web.RequestHandler) -> None:
    """Tornado's access log, except that SockJS's 500s for client mistakes are warnings.

    The SockJS protocol answers a broken xhr_send body or a missing callback with HTTP 500;
    those are a client's fault, not the server's, and must not look like server errors.
    """
    status = handler.get_status()
    sockjs = type(handler).__module__.startswith(("sockjs.", "game_server.transport.sockjs_fixes"))
    # A real exception in a handler is logged apart, with its traceback, by tornado.application.
    sockjs_client_error = status == 500 and sockjs
    if status < 400:
        # Every poll and send of the HTTP transports is a request, and a page load is dozens:
        # at INFO the log would grow with every message and every visitor (and cost time on
        # the hot path). GAME_LOG_LEVEL=DEBUG shows them.
        level = logging.DEBUG
    elif status < 500 or sockjs_client_error:
        level = logging.WARNING
    else:
        level = logging.ERROR
    access = logging.getLogger("tornado.access")
    if access.isEnabledFor(level):
        request = handler.request
        access.log(level, "%d %s %.2fms", status, handler._request_summary(),
                   1000.0 * request.request_time())


class MetricsHandler(tornado.web.RequestHandler):
    """Prometheus text format of the server's metrics (game_server/metrics.py)."""

    def initialize(self, registry: Any) -> None:
        self.registry = registry

    def get(self) -> None:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.write(generate_latest(self.registry))


class ConfigHandler(tornado.web.RequestHandler):
    def initialize(self, config: dict[str, Any]) -> None:
        self.config = config

    def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.write(self.config)


class DevLoginHandler(tornado.web.RequestHandler):
    """POST a `name` (JSON or form): the user is created if needed; returns {token, user}."""

    def initialize(self, dev_login: DevLogin) -> None:
        self.dev_login = dev_login

    def check_xsrf_cookie(self) -> None:
        pass

    async def post(self) -> None:
        self.set_header("Cache-Control", "no-store")
        name = self._name()
        if name is None:
            self._refuse("Send a name, as JSON {\"name\": ...} or a form field.")
            return
        try:
            user_id, user_name = await self.dev_login.login(name)
        except ValueError as error:
            self._refuse(str(error))
            return
        self.write({"token": self.dev_login.issue_token(user_id),
                    "user": {"id": user_id, "name": user_name}})

    def _name(self) -> str | None:
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            try:
                body = json.loads(self.request.body or b"null")
            except ValueError:
                return None
            name = body.get("name") if isinstance(body, dict) else None
        else:
            name = self.get_body_argument("name", None)
        return name if isinstance(name, str) else None

    def _refuse(self, text: str) -> None:
        self.set_status(400)
        self.write({"error": text})


#: Host headers the admin endpoint answers (a web page that resolved its own name to 127.0.0.1,
#: "DNS rebinding", sends its own name and is refused).
_ADMIN_HOSTS = ("127.0.0.1", "localhost")


def make_admin_app(publish: Callable[[Notification], Awaitable[None]]) -> tornado.web.Application:
    """The local admin application: `POST /notify` with JSON {"user": id or null, "kind",
    "data"} publishes a notification (`publish`, the server's broker) and answers 202; a bad
    request gets 400 and {"error": text}. Bind it to 127.0.0.1 only."""
    return tornado.web.Application([(r"/notify", NotifyHandler, {"publish": publish})],
                                   log_function=log_request)


class NotifyHandler(tornado.web.RequestHandler):
    """`POST /notify`: for operators and scripts on this machine, never for browsers.

    Listening on 127.0.0.1 keeps other machines out; a web page open in a browser on this
    machine could still send a request, so the endpoint insists on what a page cannot send
    without the browser asking us first (a preflight this server never answers): a JSON
    content type and no `Origin`; and on a local `Host`, against DNS rebinding.
    """

    def initialize(self, publish: Callable[[Notification], Awaitable[None]]) -> None:
        self.publish = publish

    def check_xsrf_cookie(self) -> None:
        pass

    async def post(self) -> None:
        self.set_header("Cache-Control", "no-store")
        host = self.request.host_name
        if "Origin" in self.request.headers or host not in _ADMIN_HOSTS:
            self._answer(403, "this endpoint is for programs on this machine, not web pages")
            return
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            self._answer(415, "send JSON with Content-Type: application/json")
            return
        try:
            notification = parse_request(self.request.body)
        except ValueError as error:
            self._answer(400, str(error))
            return
        try:
            await self.publish(notification)
        except NotifyUnavailable as error:
            log.warning("notification not published: %s", error)
            self._answer(503, str(error))
            return
        self._answer(202, None)

    def _answer(self, status: int, error: str | None) -> None:
        self.set_status(status)
        self.write({"error": error} if error is not None else {"accepted": True})


class WebClientHandler(tornado.web.StaticFileHandler):
    """The web client's files; its node_modules and npm files are not published."""

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        if "\x00" in absolute_path:
            # `GET /%00`: os.path.realpath raises ValueError (a 500 with a traceback).
            raise tornado.web.HTTPError(400, reason="No NUL character in a path")
        # Paths outside the root are refused by the base class (403).
        relative = Path(os.path.relpath(absolute_path, os.path.abspath(root)))
        if relative.parts[:1] == ("node_modules",) or relative.name.startswith("package"):
            raise tornado.web.HTTPError(404)
        return super().validate_absolute_path(root, absolute_path)

    def post(self, path: str) -> None:
        # No such resource (e.g. /dev/login without --dev), rather than "method not allowed".
        raise tornado.web.HTTPError(404)

    def set_extra_headers(self, path: str) -> None:
        # The client is small and changes with the server: always revalidate.
        self.set_header("Cache-Control", "no-cache")
