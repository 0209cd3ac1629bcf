"""The local admin endpoint, POST /notify on 127.0.0.1:GAME_ADMIN_PORT: what it accepts, what it
refuses and why, and where it listens."""

from __future__ import annotations

import json
import logging
import socket

import pytest
from tornado.httpclient import AsyncHTTPClient

from game_server.client import GameClient
from game_server.server import start_admin


@pytest.fixture
async def admin(game_server, unused_port):
    """(the running game server, the admin endpoint's base URL)."""
    port = unused_port()
    http = start_admin(port, game_server.server.broker)
    assert http is not None
    yield game_server, f"http://127.0.0.1:{port}"
    http.stop()
    await http.close_all_connections()


async def post(url: str, body: bytes | str, content_type: str = "application/json", **headers):
    return await AsyncHTTPClient().fetch(
        url + "/notify", method="POST", body=body, raise_error=False,
        headers={"Content-Type": content_type, **headers})


async def signed_in(server, name: str) -> tuple[int, GameClient]:
    user_id, token = await server.user(name)
    client = await GameClient.connect(server.url)
    await client.auth(token)
    return user_id, client


async def test_a_notification_posted_reaches_the_user(admin):
    server, url = admin
    ann_id, ann = await signed_in(server, "Ann")
    bob_id, bob = await signed_in(server, "Bob")
    try:
        invite = {"room": "Vq3xK9_pL2wT", "game": "hearts", "from": {"id": bob_id, "name": "Bob"}}
        response = await post(url, json.dumps({"user": ann_id, "kind": "invite",
                                               "data": invite}))
        assert response.code == 202, response.body
        got = await ann.wait_for(lambda m: m.get("msg") == "notify", 5)
        assert got == {"msg": "notify", "kind": "invite", "data": invite}

        response = await post(url, '{"user": null, "kind": "message", "data": {"text": "hi"}}')
        assert response.code == 202
        for client in (ann, bob):
            got = await client.wait_for(lambda m: m.get("msg") == "notify", 5)
            assert got == {"msg": "notify", "kind": "message", "data": {"text": "hi"}}
        assert [m["kind"] for m in bob.received if m["msg"] == "notify"] == ["message"]
    finally:
        await ann.close()
        await bob.close()


@pytest.mark.parametrize("body, words", [
    (b"{not json", "the body must be JSON"),
    (b'{"user": 1, "kind": "Invite!", "data": {}}', "kind must be 1 to 40 characters"),
    (json.dumps({"user": 1, "kind": "message", "data": "x" * 5000}).encode(),
     "data is 5002 bytes of JSON; at most 4096 are allowed"),
    (b'{"kind": "message", "data": {}}', "missing field 'user' (null for everyone)"),
    (b'{"user": 1, "kind": "message", "data": NaN}', "data must be plain JSON"),
])
async def test_bad_requests_get_400_and_the_reason(admin, body, words):
    server, url = admin
    response = await post(url, body)
    assert response.code == 400
    assert words in json.loads(response.body)["error"]


async def test_browsers_are_kept_out(admin):
    _, url = admin
    body = '{"user": null, "kind": "message", "data": 1}'
    # A page can send text/plain without asking first: refused.
    assert (await post(url, body, content_type="text/plain")).code == 415
    # Any cross-origin request from a page carries Origin.
    assert (await post(url, body, Origin="https://evil.example")).code == 403
    # DNS rebinding: a page whose own name resolved to 127.0.0.1 sends that name.
    assert (await post(url, body, Host="evil.example")).code == 403
    assert (await post(url, body, Host="localhost")).code == 202


async def test_only_post_notify_is_served(admin):
    _, url = admin
    response = await AsyncHTTPClient().fetch(url + "/notify", raise_error=False)
    assert response.code == 405
    response = await AsyncHTTPClient().fetch(url + "/config.json", raise_error=False)
    assert response.code == 404


async def test_it_listens_on_127_0_0_1_only(admin):
    _, url = admin
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    # Another loopback address reaches a socket bound to every address (0.0.0.0), not this one.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", port), timeout=2).close()


async def test_a_port_in_use_is_one_warning_and_no_endpoint(game_server, caplog):
    caplog.set_level(logging.WARNING, logger="game_server.server")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert start_admin(port, game_server.server.broker) is None
    warnings = [record.getMessage() for record in caplog.records
                if record.name == "game_server.server"]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"no local admin endpoint: cannot listen on 127.0.0.1:{port}")
    assert "GAME_ADMIN_PORT" in warnings[0]


async def test_port_0_turns_it_off(game_server):
    assert start_admin(0, game_server.server.broker) is None
