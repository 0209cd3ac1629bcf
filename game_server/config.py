"""Settings from environment variables, so docker-compose and CI can configure the server.

Every setting has one environment variable; `game-server serve --help` lists them with their
defaults. Nothing here reads files except the development key file, and only in dev mode.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

DEV_KEY_FILE = ".game-dev-keys"

#: (variable, default, description) for every setting; the CLI prints this table.
ENVIRONMENT: tuple[tuple[str, str, str], ...] = (
    ("GAME_DATABASE_URL", "sqlite:///game.db",
     "SQLAlchemy database URL (SQLite embedded by default, postgresql://... in production)"),
    ("GAME_TOKEN_KEYS", "(none)",
     "comma-separated kid:key pairs (key: 32 bytes, base64); the first issues tokens, all "
     "verify. Required unless --dev, which generates one into ./" + DEV_KEY_FILE),
    ("GAME_PORT", "8080", "TCP port to listen on (--port overrides it)"),
    ("GAME_SERVER_ID", "the host name", "this server's id, sent in welcome and used to find "
     "the games it hosts"),
    ("GAME_BOT_DELAY", "0.6", "seconds a bot waits before it moves"),
    ("GAME_GRACE_SECONDS", "60", "seconds a disconnected player's seat is kept before a bot "
     "takes over"),
    ("GAME_METRICS", "on", "on: count and serve Prometheus metrics at /metrics; off: neither"),
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
)


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Config:
    database_url: str = "sqlite:///game.db"
    token_keys: str = ""
    port: int = 8080
    server_id: str = field(default_factory=socket.gethostname)
    bot_delay: float = 0.6
    grace_seconds: float = 60.0
    metrics: bool = True
    redis_url: str = ""
    redis_prefix: str = "game:"
    public_url: str = "/sockjs"
    heartbeat_ttl: float = 5.0
    drain_seconds: float = 30.0
    dev: bool = False

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, *, dev: bool = False,
                 port: int | None = None) -> "Config":
        """Read the settings; `port` (from the command line) wins over GAME_PORT.

        Raises:
            ConfigError: a value cannot be parsed.
        """
        env = os.environ if environ is None else environ
        default = cls()
        return cls(
            database_url=env.get("GAME_DATABASE_URL") or default.database_url,
            token_keys=env.get("GAME_TOKEN_KEYS", "").strip(),
            port=port if port is not None else _number(env, "GAME_PORT", int, default.port),
            server_id=env.get("GAME_SERVER_ID") or default.server_id,
            bot_delay=_number(env, "GAME_BOT_DELAY", float, default.bot_delay),
            grace_seconds=_number(env, "GAME_GRACE_SECONDS", float, default.grace_seconds),
            metrics=_switch(env, "GAME_METRICS", default.metrics),
            redis_url=env.get("GAME_REDIS_URL", "").strip(),
            redis_prefix=env.get("GAME_REDIS_PREFIX") or default.redis_prefix,
            public_url=env.get("GAME_PUBLIC_URL") or default.public_url,
            heartbeat_ttl=_number(env, "GAME_HEARTBEAT_TTL", float, default.heartbeat_ttl),
            drain_seconds=_number(env, "GAME_DRAIN_SECONDS", float, default.drain_seconds),
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


_SWITCH = {"on": True, "1": True, "true": True, "yes": True,
           "off": False, "0": False, "false": False, "no": False}


def _switch(env, name: str, default: bool) -> bool:
    text = env.get(name, "").strip().lower()
    if not text:
        return default
    if text not in _SWITCH:
        raise ConfigError(f"{name} must be on or off, not {text!r}")
    return _SWITCH[text]


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
