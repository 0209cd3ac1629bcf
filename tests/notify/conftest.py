"""Fixtures for the notification tests (game_server/notify.py, broker.py, the admin endpoint).

- `redis_url`: the machine's Redis (REDIS_URL, default redis://127.0.0.1:6379/0), and
  `prefix`: a key prefix of the test's own, so tests never hear each other; nothing is written
  there but PUBLISH. Without a reachable Redis those tests are skipped with the reason, unless
  GAME_REQUIRE_REDIS=1 (as in CI): then they fail.
- `unused_port()`: a free TCP port on 127.0.0.1.
- `redis_process`: a redis-server of the test's own on a free port, which the test may stop and
  start again (outages); the machine's Redis is never stopped.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
import redis

from redis_process import RedisProcess, free_port

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def _require_redis(reason: str) -> None:
    if os.environ.get("GAME_REQUIRE_REDIS") == "1":
        pytest.fail(f"GAME_REQUIRE_REDIS=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def unused_port():
    """unused_port() -> a TCP port nothing listens on now, on 127.0.0.1."""
    return free_port


@pytest.fixture(scope="session")
def _redis_problem() -> str | None:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        return f"Redis at {REDIS_URL} is unreachable ({error}); start it or set REDIS_URL"
    finally:
        client.close()
    return None


@pytest.fixture
def redis_url(_redis_problem: str | None) -> str:
    if _redis_problem:
        _require_redis(_redis_problem)
    return REDIS_URL


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex}:"


@pytest.fixture
async def redis_process(tmp_path: Path):
    executable = shutil.which("redis-server")
    if executable is None:
        _require_redis("redis-server is not installed (apt-get install redis-server)")
    server = RedisProcess(executable, tmp_path)
    await server.start()
    yield server
    server.stop()
