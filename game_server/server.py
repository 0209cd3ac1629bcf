"""Composition: build the hub, the storage and the application from a `Config`, and run them.

This is the one place that knows every layer; everything else receives what it needs.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from typing import Any

import tornado.httpserver
import tornado.web

from game_server import tokens
from game_server.config import Config, ConfigError, dev_token_keys
from game_server.protocol import Hub, HubSettings
from game_server.storage.db import make_engine
from game_server.storage.users import AsyncUserStore, UserStore
from game_server.tables import Player
from game_server.transport.app import DevLogin, make_app

log = logging.getLogger(__name__)


@dataclass
class Server:
    config: Config
    hub: Hub
    app: tornado.web.Application
    users: AsyncUserStore
    keyring: tokens.Keyring

    def close(self) -> None:
        self.hub.stop_timers()
        self.users.close()


def keyring_for(config: Config) -> tokens.Keyring:
    """The token keys: GAME_TOKEN_KEYS, or in dev mode a generated local key.

    Raises:
        ConfigError: no keys outside dev mode, or malformed keys.
    """
    text = config.token_keys
    if not text:
        if not config.dev:
            raise ConfigError("GAME_TOKEN_KEYS is not set. Generate a key with "
                              "`game-server keygen` and set GAME_TOKEN_KEYS=1:<key> "
                              "(or run `game-server serve --dev` for local play).")
        text = dev_token_keys()
    try:
        return tokens.parse_keys(text)
    except ValueError as error:
        raise ConfigError(f"GAME_TOKEN_KEYS: {error}") from None


def build(config: Config, sockjs_settings: dict[str, Any] | None = None) -> Server:
    """Everything the server needs, wired together (no socket is opened)."""
    keyring = keyring_for(config)
    users = AsyncUserStore(UserStore(make_engine(config.database_url)))

    async def load_user(user_id: int) -> Player | None:
        user = await users.get(user_id)
        return Player(user.id, user.name) if user is not None else None

    hub = Hub(read_token=lambda token: tokens.read_token(keyring, token),
              load_user=load_user,
              settings=HubSettings(server_id=config.server_id, bot_delay=config.bot_delay,
                                   grace_seconds=config.grace_seconds))
    dev_login = None
    if config.dev:
        async def login(name: str) -> tuple[int, str]:
            user = await users.get_or_create(name)
            return user.id, user.name

        dev_login = DevLogin(login=login,
                             issue_token=lambda user_id: tokens.issue_token(keyring, user_id))
    app = make_app(hub, dev_login=dev_login, sockjs_settings=sockjs_settings)
    return Server(config, hub, app, users, keyring)


async def serve(config: Config) -> None:
    """Listen on config.port until SIGINT or SIGTERM."""
    server = build(config)
    http = tornado.httpserver.HTTPServer(server.app, xheaders=True)
    http.listen(config.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    mode = " (dev mode: sign in with any name)" if config.dev else ""
    print(f"Card-table server {config.server_id} listening on "
          f"http://localhost:{config.port}/{mode}", flush=True)
    await stop.wait()
    log.info("shutting down")
    http.stop()
    server.close()
