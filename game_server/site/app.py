"""The main web site: sign-up, sign-in, "Play", profiles and invitations (Tornado, templates).

Routes:

- ``GET /``: the home page ("Play" when signed in, else links to sign in and sign up);
- ``GET|POST /signup``, ``GET|POST /signin``, ``POST /signout``;
- ``GET /play``: a fresh game token, handed to the web client in a redirect to
  ``GAME_CLIENT_URL#token=...``;
- ``POST /token``: ``{"token": ...}`` for the signed-in user, for the web client when its own
  token has expired (XSRF header required; cross-origin only from ``GAME_CLIENT_URL``'s origin);
- ``GET /profile`` (one's own), ``GET /users/<id>``: finished games and the leaderboard;
- ``POST /users/<id>/invite``: a notification inviting that user to the viewer's table.

The session is a Tornado signed cookie holding the user id (``HttpOnly``, ``SameSite=Lax``,
``Secure`` with ``GAME_SECURE_COOKIES=on``); every POST carries Tornado's XSRF token. Database
calls and password hashing run on thread pools, never on the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import signal
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

import tornado.httpserver
import tornado.web

from game_server import tokens
from game_server.config import Config
from game_server.rules import GAMES
from game_server.storage.db import is_sqlite, make_engine
from game_server.storage.history import GameHistory
from game_server.storage.users import (
    InvalidName,
    NameTaken,
    UserInfo,
    UserStore,
    clean_name,
    name_key,
)

from .auth import Auth
from .limiter import SignInLimits, WindowLimiter
from .passwords import PasswordHasher, WeakPassword

__all__ = ["Publisher", "Site", "make_app", "make_site", "serve"]

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "session"
#: A session lasts this long after signing in; signing in again starts a new one.
SESSION_DAYS = 30
#: Invitations one user may send in INVITE_WINDOW seconds.
INVITE_LIMIT, INVITE_WINDOW = 20, 10 * 60
#: Sign-ups from one address in SIGNUP_WINDOW seconds: each costs a password hash, and a
#: flood of new users would crowd the leaderboard. Generous for a school or office network.
SIGNUP_LIMIT, SIGNUP_WINDOW = 30, 60 * 60
#: Finished games and leaderboard rows shown on a profile.
PROFILE_GAMES, LEADERBOARD_ROWS = 20, 10


class Publisher(Protocol):
    """Sends a notification to one user's connections (``user_id``) or to everyone
    (``game_server.notify.make_publisher``)."""

    async def publish(self, kind: str, data: Any, *, user_id: int | None = None) -> None: ...


@dataclass
class Site:
    """What the handlers use. Build it with :func:`make_site`; :meth:`close` at the end."""

    users: UserStore
    auth: Auth
    history: GameHistory
    keyring: tokens.Keyring
    client_url: str
    cookie_secret: str
    publisher: Publisher | None = None
    secure_cookies: bool = False
    limits: SignInLimits | None = None
    invites: WindowLimiter | None = None
    signups: WindowLimiter | None = None
    #: Database calls; password hashing (a few at a time: each takes 32 MiB).
    database: Executor | None = None
    hashing: Executor | None = None
    #: The clock tokens are issued by.
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self._owned: list[Executor] = []
        if self.limits is None:
            self.limits = SignInLimits()
        if self.invites is None:
            self.invites = WindowLimiter(INVITE_LIMIT, INVITE_WINDOW)
        if self.signups is None:
            self.signups = WindowLimiter(SIGNUP_LIMIT, SIGNUP_WINDOW)
        if self.database is None:
            self.database = ThreadPoolExecutor(
                max_workers=1 if is_sqlite(self.users.engine) else 4,
                thread_name_prefix="site-db")
            self._owned.append(self.database)
        if self.hashing is None:
            self.hashing = ThreadPoolExecutor(max_workers=2, thread_name_prefix="site-hash")
            self._owned.append(self.hashing)

    @property
    def client_origin(self) -> str | None:
        """The web client's origin (``http://localhost:8080``), if it is on another site."""
        parts = urlsplit(self.client_url)
        return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None

    def client_link(self, token: str) -> str:
        """The web client's URL handing it ``token`` in the fragment (never sent to servers)."""
        parts = urlsplit(self.client_url)
        return urlunsplit(parts._replace(fragment="token=" + token))

    def close(self) -> None:
        """Stop the thread pools this site made and let go of the database."""
        for executor in self._owned:
            executor.shutdown(wait=True)
        self.users.engine.dispose()


def make_site(config: Config, *, publisher: Publisher | None,
              keyring: tokens.Keyring | None = None, cookie_secret: str | None = None,
              hasher: PasswordHasher | None = None, **options: Any) -> Site:
    """A site on ``config``'s database, token keys and settings.

    ``keyring`` and ``cookie_secret`` default to the configured ones (``GAME_TOKEN_KEYS``,
    ``GAME_SITE_SECRET``; in dev mode generated into local files); ``options`` go to
    :class:`Site` (``limits``, ``clock``...).

    Raises:
        ConfigError: the token keys or the cookie secret are missing or malformed.
    """
    from game_server.config import site_secret
    from game_server.server import keyring_for

    # GAME_DB_TIMEOUT: a hung database fails calls like a refusing one (0: no deadline).
    engine = make_engine(config.database_url, timeout=config.db_timeout or None)
    users = UserStore(engine)
    return Site(users=users, auth=Auth(users, hasher or PasswordHasher()),
                history=GameHistory(engine), keyring=keyring or keyring_for(config),
                client_url=config.client_url,
                cookie_secret=cookie_secret or site_secret(config),
                publisher=publisher, secure_cookies=config.secure_cookies, **options)


# --- handlers ---------------------------------------------------------------------------


class PageError(tornado.web.HTTPError):
    """A refusal with a message for the person (``text``); ``log_message`` stays in the log."""

    def __init__(self, status: int, text: str, log_message: str | None = None) -> None:
        super().__init__(status, log_message)
        self.text = text


_STATUS_TEXT = {
    400: "The request could not be understood.",
    401: "Sign in first.",
    403: "This form has expired or did not come from this site: go back, reload the page "
         "and try again.",
    404: "There is no such page.",
    405: "This page cannot be used that way.",
    429: "Too many attempts: wait a little and try again.",
}


class Page(tornado.web.RequestHandler):
    """A page of the site: knows the signed-in user (``current_user``, a ``UserInfo``)."""

    site: Site

    def initialize(self, site: Site) -> None:
        self.site = site

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy",
                        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "same-origin")
        self.set_header("Cache-Control", "no-store")

    async def prepare(self) -> None:
        self.current_user = await self._session_user()

    async def _session_user(self) -> UserInfo | None:
        value = self.get_signed_cookie(SESSION_COOKIE, max_age_days=SESSION_DAYS)
        if value is None or not value.isdigit() or len(value) > 10:
            return None
        # The user may be gone (a database restored from a backup): then no one is signed in.
        return await self.database(self.site.users.get, int(value))

    async def database(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a storage call on the site's database threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.site.database,
                                          functools.partial(method, *args, **kwargs))

    async def hashing(self, method: Callable[..., Any], *args: Any) -> Any:
        """Run a call that hashes a password on the site's hashing threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.site.hashing, functools.partial(method, *args))

    def start_session(self, user: UserInfo) -> None:
        self.set_signed_cookie(SESSION_COOKIE, str(user.id), expires_days=SESSION_DAYS,
                               httponly=True, samesite="Lax", secure=self.site.secure_cookies)

    def next_url(self) -> str:
        """Where to go after signing in: a path on this site (never another site), or home."""
        target = self.get_argument("next", "/")
        if not target.startswith("/") or target.startswith(("//", "/\\")):
            return "/"
        return target

    def require_user(self) -> UserInfo | None:
        """The signed-in user; if there is none, redirect to the sign-in page and return None."""
        if self.current_user is None:
            self.redirect("/signin?" + urlencode({"next": self.request.uri}))
        return self.current_user

    def page(self, template: str, *, status: int = 200, **values: Any) -> None:
        self.set_status(status)
        self.render(template, **values)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        text = getattr(error, "text", None) or _STATUS_TEXT.get(
            status_code, "Something went wrong on our side. Please try again later.")
        self.render("error.html", status=status_code, text=text)


class HomePage(Page):
    def get(self) -> None:
        self.page("home.html")


class SignUpPage(Page):
    def get(self) -> None:
        if self.current_user is not None:
            self.redirect(self.next_url())
            return
        self.page("signup.html", name="", error=None, next=self.next_url())

    async def post(self) -> None:
        name = self.get_body_argument("name", "")
        password = self.get_body_argument("password", "")
        address = self.request.remote_ip or "unknown"
        if self.site.signups.retry_after(address):
            self._refuse(429, name, "Too many sign-ups from your network lately. Try again "
                                    "in an hour.")
            return
        self.site.signups.add(address)
        try:
            user = await self.hashing(self.site.auth.sign_up, name, password)
        except NameTaken as error:
            like = f" (as “{error.holder}”)" if error.holder else ""
            self._refuse(409, name, f"This name is taken{like}. Choose another.")
            return
        except (InvalidName, WeakPassword) as error:
            self._refuse(400, name, _sentence(str(error)))
            return
        log.info("user %d signed up", user.id)
        self.start_session(user)
        self.redirect(self.next_url(), status=303)

    def _refuse(self, status: int, name: str, error: str) -> None:
        self.page("signup.html", status=status, name=name, error=error, next=self.next_url())


class SignInPage(Page):
    def get(self) -> None:
        if self.current_user is not None:
            self.redirect(self.next_url())
            return
        self.page("signin.html", name="", error=None, next=self.next_url())

    async def post(self) -> None:
        name = self.get_body_argument("name", "")
        password = self.get_body_argument("password", "")
        key = _limit_key(name)
        address = self.request.remote_ip or "unknown"
        wait = self.site.limits.retry_after(key, address)
        if wait:
            minutes = max(1, -(-wait // 60))
            self.set_header("Retry-After", str(wait))
            self.page("signin.html", status=429, name=name, next=self.next_url(),
                      error=f"Too many failed sign-ins for this name or from your network. "
                            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.")
            return
        user = await self.hashing(self.site.auth.sign_in, name, password)
        if user is None:
            self.site.limits.failed(key, address)
            self.page("signin.html", status=400, name=name, next=self.next_url(),
                      error="Wrong name or password.")
            return
        self.site.limits.succeeded(key)
        self.start_session(user)
        self.redirect(self.next_url(), status=303)


class SignOutPage(Page):
    def post(self) -> None:
        self.clear_cookie(SESSION_COOKIE)
        self.redirect("/", status=303)


class PlayPage(Page):
    """Opens the web client signed in: a fresh token in the fragment of its URL."""

    def get(self) -> None:
        user = self.require_user()
        if user is None:
            return
        token = tokens.issue_token(self.site.keyring, user.id, clock=self.site.clock)
        self.redirect(self.site.client_link(token))


class TokenEndpoint(Page):
    """``POST /token``: a fresh game token for the signed-in user, as JSON.

    The web client calls it when the game server refuses its token (``invalid_token``),
    with the site's cookies and the ``_xsrf`` cookie's value in an ``X-XSRFToken`` header:
    without that header the answer is 403, when no one is signed in 401 (both: sign in on
    the site again). Browsers let only the web client's own origin read the answer.
    """

    def initialize(self, site: Site) -> None:
        super().initialize(site)
        self._allow_client()

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Vary", "Origin")
        if hasattr(self, "site"):  # not yet when the handler is being made
            # Again after an error cleared the headers: the client must read the error too.
            self._allow_client()

    def _allow_client(self) -> None:
        origin = self.request.headers.get("Origin")
        if origin is not None and origin == self.site.client_origin:
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Access-Control-Allow-Credentials", "true")

    def options(self) -> None:
        # The CORS preflight of the client's fetch (a custom header makes one).
        if "Access-Control-Allow-Origin" in self._headers:
            self.set_header("Access-Control-Allow-Methods", "POST")
            self.set_header("Access-Control-Allow-Headers", "X-XSRFToken")
            self.set_header("Access-Control-Max-Age", "600")
        self.set_status(204)

    def post(self) -> None:
        if self.current_user is None:
            raise PageError(401, "not signed in: sign in on the site")
        token = tokens.issue_token(self.site.keyring, self.current_user.id,
                                   clock=self.site.clock)
        self.write({"token": token, "user": {"id": self.current_user.id,
                                             "name": self.current_user.name}})

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        text = getattr(error, "text", None) or {
            403: "missing or wrong XSRF token: send the _xsrf cookie's value in X-XSRFToken",
        }.get(status_code, self._reason)
        self.finish({"error": text})


class ProfilePage(Page):
    """A user's finished games and the leaderboard; on someone else's, an invitation form."""

    async def get(self, user_id: str | None = None) -> None:
        if user_id is None:
            me = self.require_user()
            if me is None:
                return
            user = me
        else:
            user = await self.database(self.site.users.get, _user_id(user_id))
            if user is None:
                raise PageError(404, "There is no such user.")
        viewer = self.current_user
        games = await self.database(self.site.history.user_games, user.id,
                                    limit=PROFILE_GAMES)
        leaders = await self.database(self.site.history.leaderboard, limit=LEADERBOARD_ROWS)
        room = None
        if viewer is not None and viewer.id != user.id:
            room = await self.database(self.site.users.seated_room, viewer.id)
        finished = [game for game in games["games"] if game["status"] == "finished"]
        self.page("profile.html", user=user, own=viewer is not None and viewer.id == user.id,
                  games=finished, leaders=leaders, room=room,
                  can_invite=self.site.publisher is not None,
                  invited=self.get_query_argument("invited", None) == "1",
                  game_title=_game_title)


class InviteAction(Page):
    """Invite a user to the viewer's table: a ``notify`` of kind ``invite`` to that user."""

    async def post(self, user_id: str) -> None:
        viewer = self.current_user
        if viewer is None:
            raise PageError(401, "Sign in to invite players to your table.")
        guest = await self.database(self.site.users.get, _user_id(user_id))
        if guest is None:
            raise PageError(404, "There is no such user.")
        if guest.id == viewer.id:
            raise PageError(400, "You are already at your table.")
        if self.site.publisher is None:
            raise PageError(404, "Invitations are switched off on this site.")
        room = await self.database(self.site.users.seated_room, viewer.id)
        if room is None:
            raise PageError(409, "You are not seated at a table. Take a seat in a room "
                                 "first, then invite players to it.")
        if self.site.invites.retry_after(viewer.id):
            raise PageError(429, "You have sent many invitations lately. Wait a few minutes "
                                 "before sending more.")
        self.site.invites.add(viewer.id)
        data = {"room": room.id, "game": room.game,
                "from": {"id": viewer.id, "name": viewer.name}}
        try:
            await self.site.publisher.publish("invite", data, user_id=guest.id)
        except Exception as error:  # noqa: BLE001 - the broker's failures are many and alike
            log.warning("invitation from user %d to user %d not sent: %r", viewer.id,
                        guest.id, error)
            raise PageError(503, "The invitation could not be sent just now. Try again in "
                                 "a moment.") from None
        self.redirect(f"/users/{guest.id}?invited=1", status=303)


def _user_id(text: str) -> int:
    number = int(text)
    if not 0 < number < 2**31:
        raise PageError(404, "There is no such user.")
    return number


def _limit_key(name: str) -> str:
    """The name as the sign-in limit counts it: its loose key, or the raw text if invalid."""
    try:
        return name_key(clean_name(name))
    except InvalidName:
        return name[:100]


def _game_title(game: str) -> str:
    rules = GAMES.get(game)
    return rules.title if rules is not None else game


def _sentence(text: str) -> str:
    """A library message ("a user name cannot be empty") as a sentence for a person."""
    text = text.strip()
    if not text:
        return text
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


# --- the application ----------------------------------------------------------------------


def make_app(site: Site, **settings: Any) -> tornado.web.Application:
    """The site's Tornado application; ``settings`` are added to Tornado's (``debug``...)."""
    options = {"site": site}
    return tornado.web.Application(
        [
            (r"/", HomePage, options),
            (r"/signup", SignUpPage, options),
            (r"/signin", SignInPage, options),
            (r"/signout", SignOutPage, options),
            (r"/play", PlayPage, options),
            (r"/token", TokenEndpoint, options),
            (r"/profile", ProfilePage, options),
            (r"/users/([0-9]{1,12})", ProfilePage, options),
            (r"/users/([0-9]{1,12})/invite", InviteAction, options),
        ],
        template_path=str(HERE / "templates"),
        static_path=str(HERE / "static"),
        cookie_secret=site.cookie_secret,
        xsrf_cookies=True,
        # Not HttpOnly: the web client reads this cookie to send it back in X-XSRFToken.
        xsrf_cookie_kwargs={"samesite": "Lax", "secure": site.secure_cookies},
        login_url="/signin",
        **settings,
    )


async def serve(config: Config) -> None:
    """Run the site on ``config.site_port`` until SIGINT or SIGTERM.

    Raises:
        ConfigError: token keys or the cookie secret are missing or malformed.
    """
    from game_server.notify import make_publisher

    publisher = make_publisher(config)
    site = make_site(config, publisher=publisher)
    # Behind nginx (GAME_TRUST_PROXY=on) the client's address comes in X-Real-IP /
    # X-Forwarded-For, which the per-address limit on failed sign-ins needs; without a proxy
    # those headers are the client's own words and are ignored.
    http = tornado.httpserver.HTTPServer(make_app(site), xheaders=config.trust_proxy)
    http.listen(config.site_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    mode = " (dev mode: local secret and token key)" if config.dev else ""
    print(f"Card-table site listening on http://localhost:{config.site_port}/{mode}; "
          f"Play opens {config.client_url}", flush=True)
    await stop.wait()
    log.info("shutting down")
    http.stop()
    await http.close_all_connections()
    close = getattr(publisher, "close", None)
    if close is not None:
        result = close()
        if inspect.isawaitable(result):
            await result
    site.close()
