"""Fixtures for the directory tests: one suite, run on both implementations.

- `backend` yields a :class:`LocalBackend` or a :class:`RedisBackend`. Each makes directories
  that share one namespace (`backend.directory(...)`: one per game server) and lets time pass
  (`await backend.pass_time(seconds)`: a fake clock for Local, real sleep for Redis, whose
  expiry is Redis' own).
- The Redis backend uses the machine's Redis at REDIS_URL (default redis://127.0.0.1:6379/0)
  with a unique key prefix per test, and deletes its keys afterwards. Without a reachable Redis
  those cases are skipped with the reason, unless GAME_REQUIRE_REDIS=1 (as in CI): then they
  fail.
- `redis_process` starts a test-owned ``redis-server`` on a free port, which the test may stop
  and start again; the machine's Redis is never touched.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import pytest
import redis
import redis.asyncio

from redis_process import RedisProcess

from game_server.directory import LocalDirectory, LocalState, RedisDirectory

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def _require_redis(reason: str) -> None:
    """Fail (GAME_REQUIRE_REDIS=1) or skip the current test, saying why."""
    if os.environ.get("GAME_REQUIRE_REDIS") == "1":
        pytest.fail(f"GAME_REQUIRE_REDIS=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_problem() -> str | None:
    """None if the machine's Redis answers, else why not."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        return f"Redis at {REDIS_URL} is unreachable ({error}); start it or set REDIS_URL"
    finally:
        client.close()
    return None


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class LocalBackend:
    name = "local"

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.state = LocalState()
        self.made: list[LocalDirectory] = []

    def directory(self, *, ttl: float = 5.0, seat_ttl: float = 3600.0) -> LocalDirectory:
        made = LocalDirectory(ttl=ttl, seat_ttl=seat_ttl, clock=self.clock, state=self.state)
        self.made.append(made)
        return made

    async def pass_time(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await asyncio.sleep(0)

    async def cleanup(self) -> None:
        for made in self.made:
            await made.close()


class RedisBackend:
    name = "redis"

    def __init__(self, url: str = REDIS_URL) -> None:
        self.url = url
        self.prefix = f"test:{uuid.uuid4().hex}:"
        self.made: list[RedisDirectory] = []

    def directory(self, *, ttl: float = 5.0, seat_ttl: float = 3600.0,
                  **options) -> RedisDirectory:
        made = RedisDirectory(self.url, prefix=self.prefix, ttl=ttl, seat_ttl=seat_ttl,
                              **options)
        self.made.append(made)
        return made

    async def pass_time(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def keys(self) -> list[str]:
        client = redis.asyncio.Redis.from_url(self.url, decode_responses=True)
        try:
            return [key async for key in client.scan_iter(match=self.prefix + "*")]
        finally:
            await client.aclose()

    async def cleanup(self) -> None:
        for made in self.made:
            await made.close()
        client = redis.asyncio.Redis.from_url(self.url, decode_responses=True)
        try:
            keys = [key async for key in client.scan_iter(match=self.prefix + "*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


@pytest.fixture(params=["local", "redis"])
async def backend(request: pytest.FixtureRequest, redis_problem: str | None):
    """Each implementation in turn, as a factory of directories sharing one namespace."""
    if request.param == "local":
        made: LocalBackend | RedisBackend = LocalBackend()
    else:
        if redis_problem:
            _require_redis(redis_problem)
        made = RedisBackend()
    yield made
    await made.cleanup()


@pytest.fixture
async def redis_backend(redis_problem: str | None):
    """The Redis backend alone, for tests of Redis' own key layout."""
    if redis_problem:
        _require_redis(redis_problem)
    made = RedisBackend()
    yield made
    await made.cleanup()


@pytest.fixture
async def redis_process(tmp_path: Path):
    """A started, test-owned redis-server; stopped after the test whatever happened."""
    executable = shutil.which("redis-server")
    if executable is None:
        _require_redis("redis-server is not installed (apt-get install redis-server)")
    server = RedisProcess(executable, tmp_path)
    await server.start()
    yield server
    server.stop()
