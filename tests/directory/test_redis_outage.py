"""RedisDirectory when Redis goes away and comes back, and when it does not answer.

These use a redis-server of the test's own (or a socket that never answers); the machine's
Redis is never stopped.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from game_server.directory import DirectoryUnavailable, RedisDirectory, ServerInfo

INFO = ServerInfo("game-1", "/g/game-1/sockjs", players=1, rooms=1, connections=2)
ROOMS = [{"id": "r1", "status": "playing", "created": 1.0}]


def calls(directory: RedisDirectory):
    """One call of every coroutine method."""
    return {
        "beat": lambda: directory.beat(INFO, ROOMS),
        "servers": directory.servers,
        "room_list": directory.room_list,
        "locate": lambda: directory.locate("r1"),
        "place": lambda: directory.place("game-1"),
        "claim_seat": lambda: directory.claim_seat(1, "r1"),
        "release_seat": lambda: directory.release_seat(1, "r1"),
        "seat_of": lambda: directory.seat_of(1),
        "notify_lobby": directory.notify_lobby,
    }


async def test_calls_fail_fast_while_redis_is_down_and_work_once_it_is_back(redis_process):
    directory = RedisDirectory(redis_process.url, prefix="outage:", connect_timeout=0.5,
                               timeout=0.5)
    other = RedisDirectory(redis_process.url, prefix="outage:")
    notices: list[float] = []
    arrived = asyncio.Event()

    def notice() -> None:
        notices.append(time.monotonic())
        arrived.set()

    try:
        directory.on_lobby_change(notice)
        await asyncio.wait_for(directory.listening(), 2)
        await directory.beat(INFO, ROOMS)
        assert await directory.claim_seat(1, "r1") is None  # the script is now cached
        await arrived.wait()
        arrived.clear()
        notices.clear()

        redis_process.stop()
        for name, call in calls(directory).items():
            started = time.monotonic()
            with pytest.raises(DirectoryUnavailable):
                await call()
            assert time.monotonic() - started < 2.0, name
        await asyncio.sleep(0.2)  # the subscription notices the outage, and keeps retrying
        assert not notices

        await redis_process.start()  # same port, empty: no data, no scripts
        await asyncio.wait_for(directory.listening(), 3)
        await arrived.wait()  # after resubscribing, one refresh for the notices it missed
        arrived.clear()
        await directory.beat(INFO, ROOMS)
        assert [server.id for server in await directory.servers()] == ["game-1"]
        assert await directory.locate("r1") == "game-1"
        assert await directory.claim_seat(1, "r2") is None  # NOSCRIPT handled
        assert await directory.claim_seat(1, "r3") == "r2"
        started = time.monotonic()
        await other.notify_lobby()
        await asyncio.wait_for(arrived.wait(), 1)
        assert time.monotonic() - started < 1.0
    finally:
        await directory.close()
        await other.close()
    assert [task for task in asyncio.all_tasks()
            if task is not asyncio.current_task() and not task.done()] == []


async def test_the_subscription_waits_out_an_outage_at_start(redis_process):
    redis_process.stop()
    directory = RedisDirectory(redis_process.url, prefix="outage:")
    arrived = asyncio.Event()
    try:
        directory.on_lobby_change(arrived.set)
        await asyncio.sleep(0.3)
        await redis_process.start()
        await asyncio.wait_for(directory.listening(), 3)
        arrived.clear()
        await directory.notify_lobby()
        await asyncio.wait_for(arrived.wait(), 1)
    finally:
        await directory.close()


async def test_a_redis_that_never_answers_times_out():
    """A peer that accepts connections but never replies: a partition, not a refusal."""
    held: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    directory = RedisDirectory(f"redis://127.0.0.1:{port}/0", connect_timeout=0.3,
                               timeout=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(DirectoryUnavailable, match="127.0.0.1"):
            await directory.servers()
        assert time.monotonic() - started < 2.0
    finally:
        await directory.close()
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_unavailable_does_not_leak_the_password(redis_process):
    redis_process.stop()
    directory = RedisDirectory(f"redis://:s3cret@127.0.0.1:{redis_process.port}/0")
    try:
        with pytest.raises(DirectoryUnavailable) as raised:
            await directory.seat_of(1)
        assert "s3cret" not in str(raised.value)
    finally:
        await directory.close()
