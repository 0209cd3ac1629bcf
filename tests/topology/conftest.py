"""Fixtures for the topology tests: three game servers behind nginx, as in production.

- `cluster` is a :class:`cluster.Cluster` (not started: the test calls ``await
  cluster.start()``, or starts some servers only): three `game-server serve --dev` processes
  on a fresh PostgreSQL database of the test's own (made from a database migrated once per
  session with `game-server migrate`, dropped afterwards), a test-owned `redis-server` on a
  free port, and nginx with deploy/nginx.conf.template rendered for their ports. After the
  test, every server's log must hold no ERROR line beyond `cluster.allowed_errors`
  (patterns); a failed test prints the tail of every log.
- Needs: PostgreSQL at TEST_DATABASE_URL's server (trust auth), `redis-server`, and nginx
  at /usr/sbin/nginx. A missing one skips these tests with the reason, or fails them when
  CI=true (or GAME_REQUIRE_POSTGRES=1 / GAME_REQUIRE_REDIS=1 / GAME_REQUIRE_NGINX=1).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

HERE = Path(__file__).resolve().parent
# The helpers beside this file (cluster.py, players.py) are imported by name, like the
# folders listed in pyproject's pythonpath.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from cluster import NGINX, Cluster, Database, RedisServer, game_server_command  # noqa: E402

from game_server.storage import make_engine, normalize_url  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _missing(what: str, reason: str) -> None:
    """Fail in CI (or when GAME_REQUIRE_<WHAT>=1), else skip, saying why."""
    required = (os.environ.get("CI") == "true"
                or os.environ.get(f"GAME_REQUIRE_{what.upper()}") == "1")
    if required:
        pytest.fail(f"{reason} (required: CI=true or GAME_REQUIRE_{what.upper()}=1)",
                    pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.topology_failed = report.failed


@pytest.fixture(scope="session")
def nginx_executable() -> str:
    if not os.access(NGINX, os.X_OK):
        _missing("nginx", f"nginx is not installed at {NGINX} (apt-get install nginx)")
    return NGINX


@pytest.fixture(scope="session")
def redis_executable() -> str:
    executable = shutil.which("redis-server")
    if executable is None:
        _missing("redis", "redis-server is not installed (apt-get install redis-server)")
    return executable


@pytest.fixture(scope="session")
def postgres_admin_engine() -> Iterator[Engine | str]:
    """An AUTOCOMMIT engine on the PostgreSQL server of TEST_DATABASE_URL (to create and drop
    databases), or why it cannot be reached."""
    url = normalize_url(os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL)
    engine = make_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as error:
        engine.dispose()
        first = str(error.orig or error).strip().splitlines()[0]
        yield (f"PostgreSQL at {url.render_as_string(hide_password=True)} is unreachable "
               f"({first})")
        return
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(postgres_admin_engine) -> Iterator[tuple[Engine, str]]:
    """A database migrated by `game-server migrate`, that each test's database copies."""
    if isinstance(postgres_admin_engine, str):
        _missing("postgres", postgres_admin_engine)
    name = f"topology_template_{uuid.uuid4().hex[:12]}"
    with postgres_admin_engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = postgres_admin_engine.url.set(database=name).render_as_string(hide_password=False)
        env = {key: value for key, value in os.environ.items() if not key.startswith("GAME_")}
        migrate = subprocess.run([*game_server_command(), "migrate"], capture_output=True,
                                 text=True, env={**env, "GAME_DATABASE_URL": url}, timeout=120)
        assert migrate.returncode == 0, f"game-server migrate failed:\n{migrate.stderr}"
        yield postgres_admin_engine, name
    finally:
        with postgres_admin_engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def token_keys() -> str:
    """One key ring for every server, from `game-server keygen`."""
    keygen = subprocess.run([*game_server_command(), "keygen"], capture_output=True,
                            text=True, check=True, timeout=60)
    return keygen.stdout.strip()


async def _clients_done(timeout: float = 5.0) -> None:
    """Let the clients' tasks (an xhr-streaming request still open, say) end by themselves
    now that the servers are gone: cancelled when the loop closes, Tornado's HTTP client
    would log an error for each."""
    current = asyncio.current_task()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(task.done() or task is current for task in asyncio.all_tasks()):
            return
        await asyncio.sleep(0.05)


@pytest.fixture
async def cluster(request, tmp_path: Path, migrated_template, redis_executable: str,
                  nginx_executable: str, token_keys: str):
    """Three game servers behind nginx (not started yet: `await cluster.start()`)."""
    admin, template = migrated_template
    redis_server = RedisServer(redis_executable, tmp_path)
    await redis_server.start_and_wait()
    database = Database(admin, f"topology_{uuid.uuid4().hex[:16]}", template)
    made = Cluster(tmp_path, database, redis_server, token_keys, nginx_executable)
    made.allowed_errors = []
    try:
        yield made
    finally:
        failed = getattr(request.node, "topology_failed", False)
        made.close()
        redis_server.stop()
        database.drop()
        await _clients_done()
        if failed:
            print(f"\n===== logs of the processes (under {tmp_path}) =====\n{made.report()}")
    if not failed:
        unexpected = made.unexpected_errors(made.allowed_errors)
        if unexpected:
            print(made.report())
            pytest.fail("unexpected ERROR lines in the servers' logs:\n"
                        + "\n".join(unexpected[:20]), pytrace=False)
