"""game_server/notify.py: what a notification may be, its channels, and the publishers'
failures as a caller sees them."""

from __future__ import annotations

import json
import re

import pytest

from game_server.config import Config
from game_server.notify import (MAX_DATA_BYTES, HttpPublisher, Notification, NotifyUnavailable,
                                RedisPublisher, all_channel, make_publisher, parse_request,
                                publish, user_channel, user_of_channel, user_pattern)


# --- channels ------------------------------------------------------------------------------


def test_channels_live_in_the_services_prefix():
    assert user_channel(42) == "game:notify:user:42"
    assert all_channel() == "game:notify:all"
    assert user_channel(7, "prod:") == "prod:notify:user:7"
    assert Notification("message", None, 7).channel("prod:") == "prod:notify:user:7"
    assert Notification("message", None).channel("prod:") == "prod:notify:all"


def test_a_channel_names_its_user_or_everyone():
    assert user_of_channel("game:notify:user:42") == 42
    assert user_of_channel("game:notify:user:0") == 0
    assert user_of_channel(f"game:notify:user:{2**63 - 1}") == 2**63 - 1
    assert user_of_channel("game:notify:all") is None
    assert user_of_channel("p:notify:all", "p:") is None


@pytest.mark.parametrize("channel", [
    "game:notify:user:", "game:notify:user:abc", "game:notify:user:-1", "game:notify:user:07",
    "game:notify:user:1.5", "game:notify:user:1 ", f"game:notify:user:{2**63}",
    "game:notify:users:1", "other:notify:user:1", "game:notify:all:x", "game:lobby",
])
def test_other_channels_are_refused(channel):
    with pytest.raises(ValueError):
        user_of_channel(channel)


def test_the_users_pattern_matches_this_prefix_only():
    assert user_pattern() == "game:notify:user:*"
    # Glob characters of a prefix are escaped, so "a*" does not listen to "abc:".
    assert user_pattern("a*[x]?\\:") == "a\\*\\[x\\]\\?\\\\:notify:user:*"


def test_user_ids_are_those_of_tokens():
    for bad in (-1, 2**63, True, "7", 7.0, None):
        with pytest.raises(ValueError, match="user must be an integer"):
            user_channel(bad)  # type: ignore[arg-type]


# --- the notification ----------------------------------------------------------------------


def test_payload_is_the_kind_and_the_data_as_compact_json():
    note = Notification("invite", {"room": "Vq3xK9_pL2wT", "from": {"id": 1, "name": "Åsa"}}, 5)
    assert json.loads(note.payload()) == {"kind": "invite", "data": {
        "room": "Vq3xK9_pL2wT", "from": {"id": 1, "name": "Åsa"}}}
    assert b" " not in note.payload()
    assert note.message() == {"msg": "notify", "kind": "invite", "data": note.data}
    assert Notification.parse(note.payload(), 5) == note


@pytest.mark.parametrize("data", [None, 0, -2**63, 2**64 - 1, 1.5, "", "x", [], {}, [1, [2, [3]]],
                                  {"text": "<b>hi</b> & \u2603"}])
def test_any_json_is_data(data):
    note = Notification("message", data)
    assert Notification.parse(note.payload()).data == data


@pytest.mark.parametrize("kind", ["a", "invite", "room.closed", "x-1_2", "z" * 40, "0"])
def test_good_kinds(kind):
    assert Notification(kind).kind == kind


@pytest.mark.parametrize("kind", ["", "Invite", "in vite", "z" * 41, "inv\u00eete", "a/b",
                                  "a\n", 5, None])
def test_bad_kinds_are_refused_with_the_rule(kind):
    with pytest.raises(ValueError, match="kind must be 1 to 40 characters"):
        Notification(kind)


def test_data_is_at_most_4_kib_of_json():
    text = "x" * (MAX_DATA_BYTES - 2)  # the quotes make it exactly 4096 bytes
    Notification("message", text)
    with pytest.raises(ValueError, match="data is 4097 bytes of JSON; at most 4096"):
        Notification("message", text + "x")
    # Counted in UTF-8 bytes, not characters.
    with pytest.raises(ValueError, match="at most 4096"):
        Notification("message", "é" * 2048)


@pytest.mark.parametrize("data", [float("nan"), float("inf"), {1: "x"}, {"a": {2, 3}},
                                  2**64, -2**63 - 1, object(), b"bytes"])
def test_data_that_is_not_plain_json_is_refused(data):
    with pytest.raises(ValueError, match="data must be plain JSON"):
        Notification("message", data)


def test_data_nested_deeper_than_delivery_can_encode_is_refused():
    deep: list = []
    for _ in range(300):
        deep = [deep]
    with pytest.raises(ValueError, match="data must be plain JSON"):
        Notification("message", deep)


@pytest.mark.parametrize("payload, words", [
    (b"not json", "not UTF-8 JSON"),
    (b"\xff\xfe{}", "not UTF-8 JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"kind": "x"}', "has no data"),
    (b'{"data": 1}', "has no kind"),
    (b"{}", "has no kind and no data"),
    (b'{"kind": "X", "data": 1}', "kind must be"),
    (b'{"kind": "x", "data": NaN}', "plain JSON"),
    (b'{"kind": "x", "data": 99999999999999999999999}', "plain JSON"),
    (b"[" * 5000 + b"]" * 5000, "not UTF-8 JSON"),
    (b'{"kind": "x", "data": "' + b"y" * MAX_DATA_BYTES + b'"}', "at most 4096"),
])
def test_parse_refuses_what_is_not_a_notification(payload, words):
    with pytest.raises(ValueError, match=words):
        Notification.parse(payload, 1)


def test_parse_ignores_fields_a_newer_publisher_adds():
    note = Notification.parse(b'{"kind": "x", "data": 1, "expires": 99}')
    assert note == Notification("x", 1)


# --- the admin endpoint's request ---------------------------------------------------------


def test_admin_request_names_the_user_or_null():
    assert parse_request(b'{"user": 3, "kind": "invite", "data": {}}') == \
        Notification("invite", {}, 3)
    assert parse_request(b'{"user": null, "kind": "message", "data": "hi"}') == \
        Notification("message", "hi", None)


@pytest.mark.parametrize("body, words", [
    (b"", "must be JSON"),
    (b"{", "must be JSON"),
    (b'"x"', "must be a JSON object"),
    (b'{"kind": "message", "data": 1}', "missing field 'user' (null for everyone)"),
    (b'{"user": 1, "data": 1}', "missing field 'kind'"),
    (b'{"user": 1, "kind": "message"}', "missing field 'data'"),
    (b'{"user": 1, "kind": "message", "data": 1, "users": [2]}', "unknown field 'users'"),
    (b'{"user": "1", "kind": "message", "data": 1}', "user must be an integer"),
    (b'{"user": true, "kind": "message", "data": 1}', "user must be an integer"),
])
def test_admin_request_refusals_say_what_is_wrong(body, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        parse_request(body)


# --- publishers ---------------------------------------------------------------------------


def test_make_publisher_picks_redis_when_it_is_configured():
    redis_publisher = make_publisher(Config(redis_url="redis://127.0.0.1:1/0",
                                            redis_prefix="p:"))
    assert isinstance(redis_publisher, RedisPublisher) and redis_publisher.prefix == "p:"
    local = make_publisher(Config(admin_port=9999))
    assert isinstance(local, HttpPublisher) and (local.host, local.port) == ("127.0.0.1", 9999)


async def test_publishers_check_before_sending_anything(unused_port):
    # Nothing listens on these: a check that ran after connecting would say so instead.
    for publisher in (HttpPublisher(unused_port()), RedisPublisher("redis://127.0.0.1:1/0")):
        with pytest.raises(ValueError, match="kind must be"):
            await publisher.publish("Bad Kind", {})
        await publisher.close()


async def test_http_publisher_without_a_server_says_which_port(unused_port):
    port = unused_port()
    with pytest.raises(NotifyUnavailable,
                       match=f"no game server listening on 127.0.0.1:{port} \\(GAME_ADMIN_PORT\\)"):
        await HttpPublisher(port).publish("message", {"text": "hi"}, user_id=1)


def test_without_redis_or_admin_port_there_is_no_way_to_publish():
    with pytest.raises(NotifyUnavailable, match="GAME_ADMIN_PORT is 0 and GAME_REDIS_URL"):
        publish("message", {}, config=Config(admin_port=0))


async def test_redis_publisher_without_redis_names_the_address_not_the_url(unused_port):
    port = unused_port()
    publisher = RedisPublisher(f"redis://:secret@127.0.0.1:{port}/0", timeout=0.5)
    try:
        with pytest.raises(NotifyUnavailable, match=f"Redis at 127.0.0.1:{port}") as caught:
            await publisher.publish("message", 1, user_id=1)
        assert "secret" not in str(caught.value)
    finally:
        await publisher.close()


async def test_redis_publisher_publishes_on_the_users_channel(redis_url, prefix):
    import redis.asyncio

    listener = redis.asyncio.Redis.from_url(redis_url)
    pubsub = listener.pubsub()
    publisher = RedisPublisher(redis_url, prefix=prefix)
    try:
        await pubsub.subscribe(prefix + "notify:user:8", prefix + "notify:all")
        for _ in range(2):
            assert (await pubsub.get_message(timeout=2))["type"] == "subscribe"
        await publisher.publish("invite", {"room": "Vq3xK9_pL2wT"}, user_id=8)
        await publisher.publish("message", {"text": "hi"})
        got = []
        while len(got) < 2:
            message = await pubsub.get_message(timeout=2)
            assert message is not None, got
            if message["type"] == "message":
                got.append((message["channel"].decode(), json.loads(message["data"])))
        assert got == [(prefix + "notify:user:8", {"kind": "invite",
                                                   "data": {"room": "Vq3xK9_pL2wT"}}),
                       (prefix + "notify:all", {"kind": "message", "data": {"text": "hi"}})]
    finally:
        await pubsub.aclose()
        await listener.aclose()
        await publisher.close()
