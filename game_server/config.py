"""Settings from environment variables, so docker-compose and CI can configure the server.

Every setting has one environment variable; `game-server serve --help` lists them with their
defaults. Secrets may come from files instead (GAME_TOKEN_KEYS_FILE, GAME_SITE_SECRET_FILE,
GAME_DATABASE_PASSWORD_FILE: Docker's convention, used by docker-compose.yml); in dev mode the
development key files are read and written too.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

DEV_KEY_FILE = ".game-dev-keys"
DEV_SITE_SECRET_FILE = ".game-dev-site-secret"

#: (variable, default, description) for every setting; the CLI prints this table.
ENVIRONMENT: tuple[tuple[str, str, str], ...] = (
    ("GAME_DATABASE_URL", "sqlite:///game.db",
     "SQLAlchemy database URL (SQLite embedded by default, postgresql://... in production)"),
    ("GAME_DATABASE_PASSWORD_FILE", "(none)", "a file holding the PostgreSQL password (one "
     "trailing newline ignored), put into GAME_DATABASE_URL, which must then have none"),
    ("GAME_DB_TIMEOUT", "5", "seconds the database may take to answer a connect, a statement "
     "or a commit (SQLite: to free its write lock) before the call fails and players get "
     "`unavailable`; 0: wait for ever"),
    ("GAME_TOKEN_KEYS", "(none)",
     "comma-separated kid:key pairs (key: 32 bytes, base64); the first issues tokens, all "
     "verify. Required unless --dev, which generates one into ./" + DEV_KEY_FILE),
    ("GAME_TOKEN_KEYS_FILE", "(none)", "a file holding GAME_TOKEN_KEYS (one trailing newline "
     "ignored), instead of the variable; setting both is an error"),
    ("GAME_PORT", "8080", "TCP port to listen on (--port overrides it)"),
    ("GAME_SERVER_ID", "the host name", "this server's id, sent in welcome and used to find "
     "the games it hosts"),
    ("GAME_BOT_DELAY", "0.6", "seconds a bot waits before it moves"),
    ("GAME_GRACE_SECONDS", "60", "seconds a disconnected player's seat is kept before a bot "
     "takes over"),
    ("GAME_SIGN_IN_SECONDS", "10", "a connection that has not signed in (a good auth) this "
     "many seconds after opening is closed (4003, Sign-in timed out); 0: never"),
    ("GAME_ROOMS_PER_USER", "3", "rooms a user may have opened that still wait for players "
     "(more: too_many_rooms); 0: no cap"),
    ("GAME_QUICK_PLAY_WAIT", "20", "seconds a quick-play room waits for players before bots "
     "fill its empty seats and the game starts"),
    ("GAME_EVENT_LOOP", "uvloop", "uvloop: run on uvloop (libuv; faster sockets and "
     "callbacks); asyncio: Python's own event loop"),
    ("GAME_SOCKET_TAKEOVER", "on", "on: after a WebSocket handshake the server reads and writes "
     "the socket through an asyncio protocol of its own (docs/performance.md); off: through "
     "Tornado's IOStream"),
    ("GAME_METRICS", "on", "on: count Prometheus metrics and serve them at /metrics on "
     "GAME_METRICS_ADDRESS; off: neither"),
    ("GAME_METRICS_ADDRESS", "127.0.0.1:9090", "host:port of the separate listener that serves "
     "/metrics (never the public port); 0.0.0.0:9090 to let Prometheus on another machine or "
     "container scrape it. Several servers on one machine need one port each"),
    ("GAME_TRUST_PROXY", "off", "on: the server runs behind a trusted proxy (nginx) that sets "
     "X-Real-IP / X-Forwarded-For; client addresses (logs, GAME_CONNECTIONS_PER_ADDRESS) are "
     "taken from them. Off: those headers are ignored, as anyone can send them"),
    ("GAME_HTTP_TIMEOUT", "10", "seconds a client has to send a request's headers, and again "
     "its body; a connection idle that long between requests is closed (against slowloris)"),
    ("GAME_CONNECTIONS_PER_ADDRESS", "64", "open connections allowed from one client address "
     "(with GAME_TRUST_PROXY, the forwarded one); more are refused. 0: no cap"),
    ("GAME_REDIS_URL", "(none)", "redis://host:port/db of the directory shared by several game "
     "servers; unset: this server is the only one (no Redis needed)"),
    ("GAME_REDIS_PREFIX", "game:", "prefix of every Redis key and channel of the directory "
     "(servers of one service share it; two services may share one Redis with different "
     "prefixes)"),
    ("GAME_PUBLIC_URL", "/sockjs", "the SockJS base URL players reach this server at, as given "
     "to them in redirects (behind nginx: /g/<server id>/sockjs)"),
    ("GAME_HEARTBEAT_TTL", "5", "seconds after its last heartbeat a server counts as dead and "
     "its rooms are taken over"),
    ("GAME_DRAIN_SECONDS", "30", "on SIGTERM, at most this long to hand every room to another "
     "live server before exiting"),
    ("GAME_ADMIN_PORT", "8081", "TCP port of the local admin endpoint (POST /notify, used by "
     "`game-server notify` without GAME_REDIS_URL), on 127.0.0.1 only; 0: off. Several servers "
     "on one machine need one port each, or 0"),
    ("GAME_SITE_URL", "(none)", "the main site's base URL ending in / (https://site.example/, "
     "or / when one nginx serves both); the web client POSTs <url>token for a fresh token "
     "when its own has expired (another origin must allow it with CORS and credentials)"),
    ("GAME_SERVER_ORIGINS", "(none)", "the other game servers' origins (http://host:port, "
     "space-separated; a port may be *) when players reach them at another origin than this "
     "one (an absolute GAME_PUBLIC_URL): the web client's Content-Security-Policy lets it "
     "connect to them and frame their SockJS pages. Behind one nginx: not needed"),
    ("GAME_SITE_PORT", "8000", "TCP port of the main site, `game-server site` (--port "
     "overrides it)"),
    ("GAME_SITE_SECRET", "(none)", "the main site's cookie secret (at least 32 random "
     "characters, e.g. from `game-server keygen`); changing it signs everyone out. Required "
     "for `game-server site` unless --dev, which generates one into ./" + DEV_SITE_SECRET_FILE),
    ("GAME_SITE_SECRET_FILE", "(none)", "a file holding GAME_SITE_SECRET (one trailing "
     "newline ignored), instead of the variable; setting both is an error"),
    ("GAME_CLIENT_URL", "http://localhost:8080/", "the web client's URL; the site's Play "
     "opens it with a token (<url>#token=...)"),
    ("GAME_SECURE_COOKIES", "off", "on: the site's cookies are Secure (sent over HTTPS "
     "only); turn on whenever the site is served over TLS"),
)


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Config:
    database_url: str = field(default="sqlite:///game.db", repr=False)  # may hold a password
    db_timeout: float = 5.0  # 0: no deadline
    token_keys: str = ""
    port: int = 8080
    server_id: str = field(default_factory=socket.gethostname)
    bot_delay: float = 0.6
    grace_seconds: float = 60.0
    sign_in_seconds: float = 10.0
    rooms_per_user: int = 3
    quick_play_wait: float = 20.0
    event_loop: str = "uvloop"
    socket_takeover: bool = True
    metrics: bool = True
    metrics_address: tuple[str, int] = ("127.0.0.1", 9090)
    trust_proxy: bool = False
    http_timeout: float = 10.0
    connections_per_address: int = 64
    redis_url: str = ""
    redis_prefix: str = "game:"
    public_url: str = "/sockjs"
    heartbeat_ttl: float = 5.0
    drain_seconds: float = 30.0
    admin_port: int = 8081
    site_url: str = ""
    server_origins: tuple[str, ...] = ()
    site_port: int = 8000
    site_secret: str = field(default="", repr=False)  # kept out of logs and tracebacks
    client_url: str = "http://localhost:8080/"
    secure_cookies: bool = False
    dev: bool = False

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, *, dev: bool = False,
                 port: int | None = None, site_port: int | None = None) -> "Config":
        """Read the settings; `port` and `site_port` (from the command line) win over
        GAME_PORT and GAME_SITE_PORT.

        Raises:
            ConfigError: a value cannot be parsed.
        """
        env = os.environ if environ is None else environ
        default = cls()
        return cls(
            database_url=_database_url(env, default.database_url),
            db_timeout=_number(env, "GAME_DB_TIMEOUT", float, default.db_timeout),
            token_keys=_secret(env, "GAME_TOKEN_KEYS").strip(),
            port=port if port is not None else _number(env, "GAME_PORT", int, default.port),
            server_id=env.get("GAME_SERVER_ID") or default.server_id,
            bot_delay=_number(env, "GAME_BOT_DELAY", float, default.bot_delay),
            grace_seconds=_number(env, "GAME_GRACE_SECONDS", float, default.grace_seconds),
            sign_in_seconds=_number(env, "GAME_SIGN_IN_SECONDS", float,
                                    default.sign_in_seconds),
            rooms_per_user=_number(env, "GAME_ROOMS_PER_USER", int, default.rooms_per_user),
            quick_play_wait=_number(env, "GAME_QUICK_PLAY_WAIT", float,
                                    default.quick_play_wait),
            event_loop=_choice(env, "GAME_EVENT_LOOP", ("uvloop", "asyncio"),
                               default.event_loop),
            socket_takeover=_switch(env, "GAME_SOCKET_TAKEOVER", default.socket_takeover),
            metrics=_switch(env, "GAME_METRICS", default.metrics),
            metrics_address=_address(env, "GAME_METRICS_ADDRESS", default.metrics_address),
            trust_proxy=_switch(env, "GAME_TRUST_PROXY", default.trust_proxy),
            http_timeout=_positive(env, "GAME_HTTP_TIMEOUT", default.http_timeout),
            connections_per_address=_number(env, "GAME_CONNECTIONS_PER_ADDRESS", int,
                                            default.connections_per_address),
            redis_url=env.get("GAME_REDIS_URL", "").strip(),
            redis_prefix=env.get("GAME_REDIS_PREFIX") or default.redis_prefix,
            public_url=env.get("GAME_PUBLIC_URL") or default.public_url,
            heartbeat_ttl=_number(env, "GAME_HEARTBEAT_TTL", float, default.heartbeat_ttl),
            drain_seconds=_number(env, "GAME_DRAIN_SECONDS", float, default.drain_seconds),
            admin_port=_port(env, "GAME_ADMIN_PORT", default.admin_port),
            site_url=env.get("GAME_SITE_URL", "").strip(),
            server_origins=tuple(env.get("GAME_SERVER_ORIGINS", "").replace(",", " ").split()),
            site_port=site_port if site_port is not None else _port(
                env, "GAME_SITE_PORT", default.site_port),
            site_secret=_secret(env, "GAME_SITE_SECRET").strip(),
            client_url=env.get("GAME_CLIENT_URL", "").strip() or default.client_url,
            secure_cookies=_switch(env, "GAME_SECURE_COOKIES", default.secure_cookies),
            dev=dev,
        )


def _number(env, name: str, kind: type, default):
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"{name} must be a {kind.__name__}, not {text!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative, not {text!r}")
    return value


def _port(env, name: str, default: int) -> int:
    value = _number(env, name, int, default)
    if value > 65535:
        raise ConfigError(f"{name} must be a TCP port, 0 to 65535, not {value}")
    return value


def _positive(env, name: str, default: float) -> float:
    value = _number(env, name, float, default)
    if not value > 0:
        raise ConfigError(f"{name} must be more than 0, not {value}")
    return value


def _address(env, name: str, default: tuple[str, int]) -> tuple[str, int]:
    """host:port, [v6 host]:port or :port (every interface)."""
    text = env.get(name, "").strip()
    if not text:
        return default
    host, _, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not _ or not port.isascii() or not port.isdigit() or not 0 < int(port) <= 65535:
        raise ConfigError(f"{name} must be host:port (127.0.0.1:9090, [::1]:9090, :9090), "
                          f"not {text!r}")
    return host, int(port)


_SWITCH = {"on": True, "1": True, "true": True, "yes": True,
           "off": False, "0": False, "false": False, "no": False}


def _switch(env, name: str, default: bool) -> bool:
    text = env.get(name, "").strip().lower()
    if not text:
        return default
    if text not in _SWITCH:
        raise ConfigError(f"{name} must be on or off, not {text!r}")
    return _SWITCH[text]


def _choice(env, name: str, choices: tuple[str, ...], default: str) -> str:
    text = env.get(name, "").strip().lower()
    if not text:
        return default
    if text not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {text!r}")
    return text


def _read_secret_file(name: str, path: str) -> str:
    """The secret in the file `path` that the variable `name` (an X_FILE) names, without one
    trailing newline (`echo` and editors add one).

    Raises:
        ConfigError: the file cannot be read, or is empty.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"{name}={path}: cannot read the file ({reason})") from None
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise ConfigError(f"{name}={path}: the file is empty")
    return text


def _secret(env, name: str) -> str:
    """The value of `name`, or of the file `name`_FILE names: Docker's convention for secrets
    (the official postgres image reads POSTGRES_PASSWORD_FILE the same way). Empty counts as
    unset, as compose's ${VAR:-} gives an empty string.

    Raises:
        ConfigError: both are set, or the file cannot be read.
    """
    value = env.get(name, "")
    path = env.get(f"{name}_FILE", "").strip()
    if not path:
        return value
    if value.strip():
        raise ConfigError(f"{name} and {name}_FILE are both set: give the secret in one of "
                          f"them only")
    return _read_secret_file(f"{name}_FILE", path)


def _database_url(env, default: str) -> str:
    """GAME_DATABASE_URL, with the password of GAME_DATABASE_PASSWORD_FILE put in if set (the
    file docker-compose.yml's postgres service reads as POSTGRES_PASSWORD_FILE).

    Raises:
        ConfigError: the URL has a password too, is not PostgreSQL's, or the file cannot be
            read.
    """
    url = env.get("GAME_DATABASE_URL") or default
    path = env.get("GAME_DATABASE_PASSWORD_FILE", "").strip()
    if not path:
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("GAME_DATABASE_URL is not a database URL") from None
    if not parsed.get_backend_name().startswith("postgres"):
        raise ConfigError("GAME_DATABASE_PASSWORD_FILE is set but GAME_DATABASE_URL is not a "
                          "postgresql:// URL")
    if parsed.password is not None:
        raise ConfigError("GAME_DATABASE_URL has a password and GAME_DATABASE_PASSWORD_FILE is "
                          "set: give the password in one of them only")
    password = _read_secret_file("GAME_DATABASE_PASSWORD_FILE", path)
    return parsed.set(password=password).render_as_string(hide_password=False)


def dev_token_keys(directory: Path | None = None) -> str:
    """Return the development key ring, creating it in a git-ignored file the first time.

    Only for `serve --dev`: production must set GAME_TOKEN_KEYS.
    """
    from game_server.tokens import generate_key

    path = (directory or Path.cwd()) / DEV_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    keys = f"1:{generate_key()}"
    path.write_text(keys + "\n")
    path.chmod(0o600)
    log.warning("GAME_TOKEN_KEYS is not set: generated a development key into %s "
                "(tokens made with it only work on this machine)", path)
    return keys


#: The shortest cookie secret accepted: shorter ones could be guessed.
MIN_SITE_SECRET_LENGTH = 32


def site_secret(config: Config, directory: Path | None = None) -> str:
    """The main site's cookie secret: GAME_SITE_SECRET, or in dev mode a generated one kept in
    a git-ignored file (so sessions survive restarts).

    Raises:
        ConfigError: no secret outside dev mode, or one too short to be safe.
    """
    secret = config.site_secret
    if not secret:
        if not config.dev:
            raise ConfigError("GAME_SITE_SECRET is not set. Set it to a long random string "
                              "(`game-server keygen` prints one) or run `game-server site "
                              "--dev` for local use.")
        import secrets

        path = (directory or Path.cwd()) / DEV_SITE_SECRET_FILE
        if path.exists():
            return path.read_text().strip()
        secret = secrets.token_urlsafe(32)
        path.write_text(secret + "\n")
        path.chmod(0o600)
        log.warning("GAME_SITE_SECRET is not set: generated a development secret into %s",
                    path)
        return secret
    if len(secret) < MIN_SITE_SECRET_LENGTH:
        raise ConfigError(f"GAME_SITE_SECRET must be at least {MIN_SITE_SECRET_LENGTH} "
                          f"characters long, not {len(secret)}")
    return secret
