"""Authentication against a real server over SockJS WebSocket."""

from __future__ import annotations

import base64
import time

import pytest

from game_server import tokens
from game_server.client import GameClient, ServerError
from game_server.rules import catalogue

from sockjs_helpers import check_all, wait_closed


async def test_good_token_gets_welcome_then_room_list(game_server):
    user_id, token = await game_server.user("Ann")
    client = await GameClient.connect(game_server.url)
    welcome = await client.auth(token)
    fresh = welcome.pop("token", None)  # a fresh sign-in token, where the server issues them
    assert fresh is None or (isinstance(fresh, str) and fresh != token)
    assert welcome == {"msg": "welcome", "user": {"id": user_id, "name": "Ann"},
                       "server": "test-1", "protocol": 3, "games": catalogue(), "re": 1}
    room_list = await client.next_message()  # the welcome itself
    assert room_list["msg"] == "welcome"
    room_list = await client.next_message()
    assert room_list["msg"] == "room_list" and room_list["rooms"] == []
    check_all(client)
    await client.close()


def _tampered(token: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[20] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize("kind", ["tampered", "expired", "wrong_key", "garbage", "truncated",
                                  "unknown_user"])
async def test_bad_tokens_are_refused_without_detail(game_server, kind):
    user_id, good = await game_server.user("Ann")
    other = tokens.parse_keys(tokens.generate_keyring_entry(1))
    token = {
        "tampered": lambda: _tampered(good),
        "expired": lambda: game_server.token(user_id, clock=lambda: time.time() - 700),
        "wrong_key": lambda: tokens.issue_token(other, user_id),
        "garbage": lambda: "not a token at all",
        "truncated": lambda: good[:30],
        "unknown_user": lambda: game_server.token(999_999),
    }[kind]()
    client = await GameClient.connect(game_server.url)
    with pytest.raises(ServerError) as refused:
        await client.auth(token)
    assert refused.value.code == "invalid_token"
    assert refused.value.text == "The sign-in token is not valid."
    # The connection stays usable: a good token still works afterwards.
    welcome = await client.auth(good)
    assert welcome["user"]["id"] == user_id
    check_all(client)
    await client.close()


async def test_a_protocol_1_client_is_told_to_speak_protocol_2(game_server):
    _, token = await game_server.user("Ann")
    client = await GameClient.connect(game_server.url, transport="xhr-polling")
    with pytest.raises(ServerError) as refused:
        await client.request({"msg": "auth", "token": token})  # protocol 1's sign-in
    assert refused.value.code == "bad_message"
    assert "protocol 2" in refused.value.text
    assert client.close_reason is None
    welcome = await client.auth(token)
    assert welcome["protocol"] == 3  # GameClient speaks protocol 3 by default
    check_all(client)
    await client.close()


async def test_five_invalid_tokens_close_the_connection_with_a_reason(game_server):
    client = await GameClient.connect(game_server.url)
    for attempt in range(4):
        with pytest.raises(ServerError):
            await client.auth(f"bad-{attempt}")
    client.send({"msg": "auth", "protocol": 2, "token": "bad-5", "id": "last"})
    error = await client.wait_for(lambda m: m.get("re") == "last")
    assert error["code"] == "invalid_token"
    await wait_closed(client)
    assert client.close_reason == (4001, "Too many invalid tokens")
    await client.close()


async def test_messages_before_auth_are_refused(game_server):
    client = await GameClient.connect(game_server.url)
    with pytest.raises(ServerError) as refused:
        await client.request({"msg": "room_list"})
    assert refused.value.code == "auth_required"
    _, token = await game_server.user("Ann")
    await client.auth(token)
    with pytest.raises(ServerError) as again:
        await client.auth(token)
    assert again.value.code == "already_authenticated"
    await client.close()
