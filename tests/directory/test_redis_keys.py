"""RedisDirectory's own promises: its key layout, expiry, pruning, and a silent subscription.

The layout is documented in game_server/directory.py; these tests keep the two in step.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import redis.asyncio

import game_server.directory as directory_module
import game_server.redis_subscription as redis_subscription
from game_server.directory import RedisDirectory, ServerInfo

INFO = ServerInfo("game-1", "/g/game-1/sockjs", players=2, rooms=2, connections=3)
ROOMS = [{"id": "r1", "status": "waiting", "created": 2.0},
         {"id": "r2", "status": "playing", "created": 1.0}]


@contextlib.asynccontextmanager
async def raw(url: str):
    client = redis.asyncio.Redis.from_url(url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


async def test_every_key_is_namespaced_and_expires(redis_backend):
    a = redis_backend.directory(ttl=2.0, seat_ttl=60.0)
    await a.beat(INFO, ROOMS)
    await a.claim_seat(5, "r1")
    prefix = redis_backend.prefix
    assert set(await redis_backend.keys()) == {
        f"{prefix}server:game-1", f"{prefix}rooms:game-1", f"{prefix}room:r1",
        f"{prefix}room:r2", f"{prefix}servers", f"{prefix}seat:5"}
    async with raw(redis_backend.url) as client:
        assert 0 < await client.pttl(prefix + "server:game-1") <= 2000
        # Rooms outlive a few full refreshes (30 s by default); readers trust them only while
        # the server's own entry lives.
        for key in ("rooms:game-1", "room:r1", "room:r2"):
            assert 60_000 < await client.pttl(prefix + key) <= 120_000, key
        assert 50_000 < await client.pttl(prefix + "seat:5") <= 60_000
        assert await client.pttl(prefix + "servers") == -1  # pruned by beats instead
        assert await client.get(prefix + "room:r1") == "game-1"


async def test_a_beat_writes_only_what_changed(redis_backend):
    """The heartbeat's cost does not grow with the rooms a server hosts: a beat with nothing
    new writes the server's entry and the index, not a key per room."""
    a = redis_backend.directory(ttl=2.0)
    many = [{"id": f"r{number}", "status": "playing", "created": float(number)}
            for number in range(300)]
    await a.beat(INFO, many)
    async with raw(redis_backend.url) as client:
        before = await client.info("commandstats")
        await a.beat(INFO, many)
        after = await client.info("commandstats")
        calls = after["cmdstat_set"]["calls"] - before["cmdstat_set"]["calls"]
        assert calls == 1  # the server's entry only
        await a.beat(INFO, many + [{"id": "new", "status": "waiting", "created": 999.0}])
        again = await client.info("commandstats")
        # the entry, the summaries (a new first room), the new room's key
        assert again["cmdstat_set"]["calls"] - after["cmdstat_set"]["calls"] == 3
        published = json.loads(await client.get(redis_backend.prefix + "rooms:game-1"))
        assert len(published) == directory_module.ROOM_LIST_LIMIT
        assert published[0]["id"] == "new"
    assert await a.locate("r5") == "game-1"
    assert await a.locate("new") == "game-1"


async def test_a_redis_that_lost_its_data_is_complete_after_one_beat(redis_backend):
    a = redis_backend.directory(ttl=2.0)
    await a.beat(INFO, ROOMS)
    async with raw(redis_backend.url) as client:
        await client.delete(*await redis_backend.keys())
    await a.beat(INFO, ROOMS)
    assert await a.locate("r1") == "game-1"
    assert await a.locate("r2") == "game-1"
    assert [room["id"] for room in await a.room_list()] == ["r1", "r2"]


async def test_other_prefixes_are_other_directories(redis_backend):
    a = redis_backend.directory()
    elsewhere = RedisDirectory(redis_backend.url, prefix=redis_backend.prefix + "other:")
    try:
        await a.beat(INFO, ROOMS)
        await a.claim_seat(5, "r1")
        assert await elsewhere.servers() == []
        assert await elsewhere.room_list() == []
        assert await elsewhere.claim_seat(5, "r9") is None
    finally:
        await elsewhere.close()


async def test_a_beat_prunes_servers_silent_for_long(redis_backend):
    a = redis_backend.directory()
    async with raw(redis_backend.url) as client:
        await client.zadd(redis_backend.prefix + "servers", {"ghost": 0, "recent": 1e15})
        await a.beat(INFO, [])
        assert await client.zrange(redis_backend.prefix + "servers", 0, -1) == ["game-1",
                                                                               "recent"]
    assert [server.id for server in await a.servers()] == ["game-1"]


async def test_one_subscription_per_directory(redis_backend):
    a = redis_backend.directory()
    for _ in range(3):
        a.on_lobby_change(lambda: None)
    await asyncio.wait_for(a.listening(), 2)
    async with raw(redis_backend.url) as client:
        channel = redis_backend.prefix + "lobby"
        assert await client.pubsub_numsub(channel) == [(channel, 1)]


class FreezingProxy:
    """A TCP proxy to a port. `freeze()` makes the connections open now silent in both
    directions, with no FIN or RST, as a network partition would; later connections work."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.links: list[dict] = []
        self.handlers: set[asyncio.Task] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    def freeze(self) -> None:
        for link in self.links:
            link["frozen"] = True

    async def _accept(self, reader, writer) -> None:
        self.handlers.add(asyncio.current_task())
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        link = {"frozen": False, "writers": (writer, up_writer)}
        self.links.append(link)
        await asyncio.gather(self._pump(reader, up_writer, link),
                             self._pump(up_reader, writer, link))

    async def _pump(self, reader, writer, link) -> None:
        try:
            while data := await reader.read(65536):
                if not link["frozen"]:
                    writer.write(data)
                    await writer.drain()
        except ConnectionError:
            pass
        if not link["frozen"]:
            writer.close()

    async def close(self) -> None:
        self.server.close()
        for link in self.links:
            for writer in link["writers"]:
                writer.close()
        await asyncio.wait_for(asyncio.gather(*self.handlers, return_exceptions=True), 2)
        await self.server.wait_closed()


async def test_a_silent_subscription_is_replaced(redis_process, monkeypatch):
    """Redis stops answering on the subscription's connection without closing it: a PING
    goes unanswered, the directory subscribes again and refreshes once."""
    monkeypatch.setattr(redis_subscription, "PING_EVERY", 0.3)
    proxy = FreezingProxy(redis_process.port)
    port = await proxy.start()
    directory = RedisDirectory(f"redis://127.0.0.1:{port}/0", prefix="silent:", timeout=0.2)
    other = RedisDirectory(redis_process.url, prefix="silent:")
    calls = 0
    arrived = asyncio.Event()

    def notice() -> None:
        nonlocal calls
        calls += 1
        arrived.set()

    try:
        directory.on_lobby_change(notice)
        await asyncio.wait_for(directory.listening(), 2)
        await asyncio.sleep(0.8)  # PINGs answered: the subscription stays
        assert calls == 0 and len(proxy.links) == 1
        proxy.freeze()
        await asyncio.wait_for(arrived.wait(), 3)  # resubscribed: one refresh
        arrived.clear()
        assert calls == 1 and len(proxy.links) >= 2
        await other.notify_lobby()
        await asyncio.wait_for(arrived.wait(), 1)
    finally:
        await directory.close()
        await other.close()
        await proxy.close()
