"""Fixtures shared by every test.

- Any ERROR log record fails the test that caused it, unless the test asks for the
  `expected_errors` fixture and checks what was logged (like Tornado's ExpectLog).
- `game_server_factory` starts the real application on an unused port, with a throwaway
  SQLite database and a fresh token key, inside the test's event loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
import tornado.httpserver
import tornado.testing

from game_server import tokens
from game_server.config import Config
from game_server.server import Server, build
from game_server.storage.migrate import upgrade


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def _fail_on_error_logs(request: pytest.FixtureRequest):
    handler = _ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    request.node._error_records = handler.records
    yield
    root.removeHandler(handler)
    if "expected_errors" not in request.fixturenames and handler.records:
        lines = "\n".join(f"{r.name}: {r.getMessage()}" for r in handler.records[:5])
        pytest.fail(f"unexpected ERROR log records:\n{lines}", pytrace=False)


@pytest.fixture
def expected_errors(request: pytest.FixtureRequest) -> list[logging.LogRecord]:
    """The ERROR records logged during the test; the test asserts on them."""
    return request.node._error_records


@dataclass
class RunningServer:
    server: Server
    http: tornado.httpserver.HTTPServer
    port: int
    keys: str
    database_url: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hub(self):
        return self.server.hub

    def token(self, user_id: int, **options: Any) -> str:
        return tokens.issue_token(self.server.keyring, user_id, **options)

    async def user(self, name: str) -> tuple[int, str]:
        """Create a user and return (id, token)."""
        info = await self.server.users.get_or_create(name)
        return info.id, self.token(info.id)


@pytest.fixture
async def game_server_factory(tmp_path):
    """Start real servers: `await factory(bot_delay=0, grace_seconds=60, dev=True)`."""
    running: list[RunningServer] = []

    async def start(**settings: Any) -> RunningServer:
        database_url = f"sqlite:///{tmp_path}/game-{len(running)}.db"
        upgrade(database_url)
        keys = tokens.generate_keyring_entry(1)
        sockjs_settings = settings.pop("sockjs_settings", None)
        config = Config(database_url=database_url, token_keys=keys, port=0,
                        server_id="test-1", **{"bot_delay": 0.0, **settings})
        server = build(config, sockjs_settings=sockjs_settings)
        sock, port = tornado.testing.bind_unused_port()
        http = tornado.httpserver.HTTPServer(server.app)
        http.add_sockets([sock])
        result = RunningServer(server, http, port, keys, database_url)
        running.append(result)
        return result

    yield start
    for item in running:
        item.http.stop()
        await item.http.close_all_connections()
        item.server.close()
        item.server.app.sockjs_router._sessions_cleanup.stop()


@pytest.fixture
async def game_server(game_server_factory) -> RunningServer:
    """One real server with bots that move at once and a 60 s grace period."""
    return await game_server_factory()
