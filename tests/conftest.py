"""Fixtures shared by every test.

- Any ERROR log record fails the test that caused it, unless the test asks for the
  `expected_errors` fixture and checks what was logged (like Tornado's ExpectLog).
- `game_server_factory` starts the real application on an unused port, with a throwaway
  SQLite database and a fresh token key, inside the test's event loop.
- `database_url` runs a test on SQLite and on PostgreSQL, each in a fresh, empty database of
  its own. SQLite: a file in the test's tmp_path. PostgreSQL: a uniquely named schema in the
  database of TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test), selected
  through search_path and dropped afterwards, so concurrent runs never see each other's
  tables. Without a reachable PostgreSQL those cases are skipped with the reason, unless
  GAME_REQUIRE_POSTGRES=1 (as in CI): then they fail.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import tornado.httpserver
import tornado.testing
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from game_server import tokens
from game_server.config import Config
from game_server.server import Server, build
from game_server.storage import make_engine, normalize_url
from game_server.storage.migrate import upgrade


#: Test folders whose tests start browsers, nginx, Redis servers or server processes and time
#: what they see: under `make test` (pytest-xdist, two workers) they run one after another on
#: one worker, while the other worker takes the rest, so they never compete with each other.
HEAVY_FOLDERS = ("browser", "topology", "bench")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests = config.rootpath / "tests"
    for item in items:
        try:
            folder = item.path.relative_to(tests).parts[0]
        except ValueError:
            continue
        if folder in HEAVY_FOLDERS:
            item.add_marker(pytest.mark.xdist_group("heavy"))


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


# --- databases ---------------------------------------------------------------------------

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _postgres_base_url() -> URL:
    return normalize_url(os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine | str]:
    """An engine on the PostgreSQL test database, or the reason it cannot be reached."""
    url = _postgres_base_url()
    engine = make_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as error:
        engine.dispose()
        first_line = str(error.orig or error).strip().splitlines()[0]
        yield (
            f"PostgreSQL at {url.render_as_string(hide_password=True)} is unreachable "
            f"({first_line}); start it or set TEST_DATABASE_URL to run these tests"
        )
        return
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_admin: Engine | str) -> Iterator[str]:
    """The URL of a new, empty schema that is dropped after the test."""
    if isinstance(postgres_admin, str):
        if os.environ.get("GAME_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"GAME_REQUIRE_POSTGRES=1 but {postgres_admin}", pytrace=False)
        pytest.skip(postgres_admin)
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with postgres_admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = postgres_admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with postgres_admin.begin() as connection:
        # An engine a test forgot to dispose of must not hang the run.
        connection.execute(text("SET LOCAL lock_timeout = '10s'"))
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A URL of an empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'game.db'}"
    return request.getfixturevalue("postgres_url")
