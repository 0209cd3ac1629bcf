"""game_server/broker.py: the in-process broker, and the Redis subscription every game server
holds once: delivery by channel, malformed messages, outages."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis.asyncio

from game_server import broker as broker_module
from game_server.broker import LocalBroker, RedisBroker, make_broker
from game_server.config import Config
from game_server.notify import Notification, NotifyUnavailable


class Inbox:
    """A `deliver` callable that keeps what it is given."""

    def __init__(self) -> None:
        self.got: list[Notification] = []
        self._arrived = asyncio.Event()

    def __call__(self, notification: Notification) -> None:
        self.got.append(notification)
        self._arrived.set()

    async def wait(self, count: int, timeout: float = 2.0) -> list[Notification]:
        async with asyncio.timeout(timeout):
            while len(self.got) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.got


def test_make_broker_is_local_without_redis():
    assert isinstance(make_broker(Config(), print), LocalBroker)
    assert isinstance(make_broker(Config(redis_url="redis://127.0.0.1:1/0"), print), RedisBroker)


# --- in process ---------------------------------------------------------------------------


async def test_local_broker_delivers_later_and_a_copy():
    inbox = Inbox()
    broker = LocalBroker(inbox)
    data = {"text": "hello", "list": [1]}
    await broker.publish("message", data, user_id=3)
    assert inbox.got == []  # never inside the publisher's call, as with Redis
    data["list"].append(2)  # the caller's later change is not sent
    await broker.publish("message", "to all")
    assert await inbox.wait(2) == [Notification("message", {"text": "hello", "list": [1]}, 3),
                                   Notification("message", "to all")]


async def test_local_broker_refuses_bad_notifications_at_once():
    broker = LocalBroker(Inbox())
    with pytest.raises(ValueError, match="kind"):
        await broker.publish("", {})
    with pytest.raises(ValueError, match="at most 4096"):
        await broker.publish("message", "x" * 5000)
    with pytest.raises(ValueError, match="user must be"):
        await broker.publish("message", {}, user_id=-1)


async def test_a_failing_delivery_is_logged_and_the_next_goes_through(expected_errors):
    inbox = Inbox()

    def deliver(notification: Notification) -> None:
        if notification.kind == "boom":
            raise RuntimeError("bug")
        inbox(notification)

    broker = LocalBroker(deliver)
    await broker.publish("boom", 1)
    await broker.publish("message", 2)
    assert [note.data for note in await inbox.wait(1)] == [2]
    assert [record.getMessage() for record in expected_errors] == [
        "delivering a 'boom' notification failed"]


# --- Redis --------------------------------------------------------------------------------


@pytest.fixture
async def brokers(redis_url, prefix):
    """brokers(prefix=...) -> (a started RedisBroker, its Inbox); closed afterwards."""
    made: list[RedisBroker] = []

    async def make(prefix: str = prefix, url: str = redis_url) -> tuple[RedisBroker, Inbox]:
        inbox = Inbox()
        broker = RedisBroker(url, inbox, prefix=prefix)
        made.append(broker)
        broker.start()
        await asyncio.wait_for(broker.listening(), 3)
        return broker, inbox

    yield make
    for broker in made:
        await broker.close()


async def raw_publish(url: str, channel: str, payload: bytes | str) -> int:
    client = redis.asyncio.Redis.from_url(url)
    try:
        return await client.publish(channel, payload)
    finally:
        await client.aclose()


async def test_every_server_gets_each_notification_with_its_user(brokers, prefix):
    first, first_inbox = await brokers()
    second, second_inbox = await brokers()
    await first.publish("invite", {"room": "Vq3xK9_pL2wT"}, user_id=12)
    await second.publish("message", {"text": "hi"})
    expected = [Notification("invite", {"room": "Vq3xK9_pL2wT"}, 12),
                Notification("message", {"text": "hi"}, None)]
    assert await first_inbox.wait(2) == expected
    assert await second_inbox.wait(2) == expected


async def test_a_server_hears_its_own_prefix_only(brokers, prefix, redis_url):
    # A prefix with glob characters: the pattern must not match other prefixes.
    star = prefix[:-1] + "*:"
    broker, inbox = await brokers(star)
    _, other_inbox = await brokers(prefix[:-1] + "x:")
    await raw_publish(redis_url, prefix[:-1] + "x:notify:user:1",
                      b'{"kind": "message", "data": "not for star"}')
    await raw_publish(redis_url, prefix[:-1] + "x:notify:all",
                      b'{"kind": "message", "data": "not for star either"}')
    await broker.publish("message", "for star", user_id=2)
    assert [note.data for note in await inbox.wait(1)] == ["for star"]
    await other_inbox.wait(2)
    await asyncio.sleep(0.05)
    assert [note.data for note in inbox.got] == ["for star"]


async def test_malformed_messages_are_dropped_with_one_warning(brokers, prefix, redis_url,
                                                               caplog):
    broker, inbox = await brokers()
    caplog.set_level(logging.WARNING, logger="game_server.broker")
    for channel, payload in [
        (prefix + "notify:all", b"not json"),
        (prefix + "notify:user:7", b'{"kind": "Bad Kind", "data": 1}'),
        (prefix + "notify:user:abc", b'{"kind": "message", "data": 1}'),
        (prefix + "notify:all", b"\xff\xfe"),
        (prefix + "notify:all", b'{"kind": "message", "data": "' + b"x" * 5000 + b'"}'),
    ]:
        await raw_publish(redis_url, channel, payload)
    await broker.publish("message", "after", user_id=7)
    assert await inbox.wait(1) == [Notification("message", "after", 7)]
    warnings = [record.getMessage() for record in caplog.records
                if record.name == "game_server.broker"]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"dropped a malformed notification on {prefix}notify:all: "
                                  "the message is not UTF-8 JSON")


async def test_later_warnings_count_what_was_dropped(brokers, prefix, redis_url, caplog,
                                                     monkeypatch):
    broker, inbox = await brokers()
    caplog.set_level(logging.WARNING, logger="game_server.broker")
    for payload in (b"1", b"2", b"3"):
        await raw_publish(redis_url, prefix + "notify:all", payload)
    await broker.publish("message", "marker")
    await inbox.wait(1)
    monkeypatch.setattr(broker_module, "_WARN_EVERY", 0.0)
    await raw_publish(redis_url, prefix + "notify:all", b"4")
    await broker.publish("message", "marker")
    await inbox.wait(2)
    warnings = [record.getMessage() for record in caplog.records
                if record.name == "game_server.broker"]
    assert len(warnings) == 2
    # "2" and "3" went unreported; "4" is the one this warning is about.
    assert warnings[1].endswith("(2 more dropped since the last warning)")


async def test_the_subscription_comes_back_after_an_outage(redis_process, caplog):
    caplog.set_level(logging.INFO, logger="game_server.broker")
    inbox = Inbox()
    broker = RedisBroker(redis_process.url, inbox, prefix="outage:", timeout=0.5)
    try:
        broker.start()
        await asyncio.wait_for(broker.listening(), 3)
        await broker.publish("message", "before", user_id=1)
        await inbox.wait(1)

        redis_process.stop()
        with pytest.raises(NotifyUnavailable, match="Redis at 127.0.0.1"):
            await broker.publish("message", "during", user_id=1)
        await asyncio.sleep(0.2)  # the listener notices, and keeps retrying

        await redis_process.start()  # same port, nothing remembered
        await asyncio.wait_for(broker.listening(), 3)
        await broker.publish("message", "after", user_id=1)
        assert [note.data for note in await inbox.wait(2)] == ["before", "after"]
    finally:
        await broker.close()
    messages = [(record.levelname, record.getMessage()) for record in caplog.records
                if record.name == "game_server.broker"]
    assert [level for level, _ in messages] == ["WARNING", "INFO"], messages
    assert "subscription to Redis at 127.0.0.1" in messages[0][1]
    assert "restored" in messages[1][1]
    assert not [task for task in asyncio.all_tasks() if "subscription" in task.get_name()]


async def test_closing_stops_the_listener(brokers):
    broker, _ = await brokers()
    await broker.close()
    assert not [task for task in asyncio.all_tasks() if "subscription" in task.get_name()]
