"""The Tornado application: SockJS under /sockjs, the web client at /, and small JSON routes.

Routes:
- `/sockjs/...`: the game protocol over every SockJS transport.
- `/config.json`: what the web client needs to know ({dev, server, protocol, games, site_url}).
- `/dev/login` (only with --dev): create or find a user by name and hand out a token.
- `/api/...`: the history of finished games (docs/api.md).
- `/metrics`: Prometheus metrics (game_server/metrics.py lists them).
- `/vendor/sockjs.min.js`: the sockjs-client copy installed by npm in web_client/.
- `/...`: the files of web_client/ (index.html at /).

`make_admin_app` builds the other, local application: `POST /notify` for operators and scripts
on this machine (game_server/notify.py), served on 127.0.0.1 only (game_server/server.py).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

import tornado.web

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
             metrics: Any = None, web_client: Path = WEB_CLIENT,
             site_url: str = "") -> tornado.web.Application:
    """Build the application around a hub. `dev_login` enables /dev/login (serve --dev);
    `history` (a storage.history.GameHistory) enables the /api/ routes; `site_url`
    (GAME_SITE_URL) tells the web client where to ask for a fresh token."""
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
    if metrics is not None:
        routes.append((r"/metrics", MetricsHandler, {"registry": metrics.registry}))
    routes.append((r"/vendor/(sockjs(?:\.min)?\.js(?:\.map)?)", tornado.web.StaticFileHandler,
                   {"path": str(web_client / "node_modules" / "sockjs-client" / "dist")}))
    routes.append((r"/(.*)", WebClientHandler,
                   {"path": str(web_client), "default_filename": "index.html"}))
    app = tornado.web.Application(routes, compress_response=True, log_function=log_request)
    app.sockjs_router = router
    return app


def log_request(handler: tornado.web.RequestHandler) -> None:
    """Tornado's access log, except that SockJS's 500s for client mistakes are warnings.

    The SockJS protocol answers a broken xhr_send body or a missing callback with HTTP 500;
    those are a client's fault, not the server's, and must not look like server errors.
    """
    status = handler.get_status()
    sockjs = type(handler).__module__.startswith(("sockjs.", "game_server.transport.sockjs_fixes"))
    # A real exception in a handler is logged apart, with its traceback, by tornado.application.
    sockjs_client_error = status == 500 and sockjs
    if status < 400 and sockjs:
        # Every poll and send of the HTTP transports is a request: at INFO the log would grow
        # with every message (and cost time on the hot path).
        level = logging.DEBUG
    elif status < 400:
        level = logging.INFO
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
