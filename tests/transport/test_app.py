"""The HTTP side of the application: the web client, /config.json, /dev/login."""

from __future__ import annotations

import json

import tornado.httpserver
import tornado.testing
from tornado.httpclient import AsyncHTTPClient

from game_server.client import GameClient, dev_login
from game_server.rules import catalogue
from game_server.transport.app import make_metrics_app


async def get(server, path, **options):
    return await AsyncHTTPClient().fetch(server.url + path, raise_error=False, **options)


async def scrape(server) -> str:
    """The server's /metrics, from a metrics listener of its own (GAME_METRICS_ADDRESS)."""
    http = tornado.httpserver.HTTPServer(make_metrics_app(server.server.metrics.registry))
    sock, port = tornado.testing.bind_unused_port()
    http.add_sockets([sock])
    try:
        response = await AsyncHTTPClient().fetch(f"http://127.0.0.1:{port}/metrics")
        return response.body.decode()
    finally:
        http.stop()


async def test_config_tells_the_client_about_the_server(game_server_factory):
    plain = await game_server_factory()
    dev = await game_server_factory(dev=True)
    assert json.loads((await get(plain, "/config.json")).body) == {
        "dev": False, "server": "test-1", "protocol": 2, "games": catalogue(), "site_url": ""}
    assert json.loads((await get(dev, "/config.json")).body)["dev"] is True


async def test_dev_login_exists_only_in_dev_mode(game_server_factory):
    plain = await game_server_factory()
    response = await get(plain, "/dev/login", method="POST", body='{"name": "Ann"}',
                         headers={"Content-Type": "application/json"})
    assert response.code == 404


async def test_dev_login_creates_the_user_once_and_the_token_works(game_server_factory):
    dev = await game_server_factory(dev=True)
    token, user = await dev_login(dev.url, "Ann")
    again_token, again = await dev_login(dev.url, "  Ann ")
    assert again == user and again_token != token
    form = await get(dev, "/dev/login", method="POST", body="name=Bob")
    assert json.loads(form.body)["user"]["name"] == "Bob"
    client = await GameClient.connect(dev.url)
    welcome = await client.auth(token)
    assert welcome["user"] == user
    await client.close()


async def test_dev_login_refuses_bad_names_with_a_reason(game_server_factory):
    dev = await game_server_factory(dev=True)
    for body in ('{"name": ""}', '{"name": "' + "x" * 41 + '"}', '{"nom": "Ann"}', "not json",
                 '{"name": 5}'):
        response = await get(dev, "/dev/login", method="POST", body=body,
                             headers={"Content-Type": "application/json"})
        assert response.code == 400, body
        assert json.loads(response.body)["error"]


async def test_the_web_client_and_sockjs_client_are_served(game_server):
    index = await get(game_server, "/")
    assert index.code == 200 and b"<html" in index.body.lower()
    vendor = await get(game_server, "/vendor/sockjs.min.js")
    assert vendor.code == 200 and b"SockJS" in vendor.body
    # npm's files are not published.
    assert (await get(game_server, "/node_modules/sockjs-client/package.json")).code == 404
    assert (await get(game_server, "/package.json")).code == 404
    assert (await get(game_server, "/../pyproject.toml")).code in (403, 404)


async def test_metrics_count_connections_moves_errors_and_commits(game_server):
    from sockjs_helpers import create_room, play_to_end, signed_in

    ann = await signed_in(game_server, "Ann")
    room = await create_room(ann, "m", 2)
    await ann.request({"msg": "add_bot"})
    try:
        await ann.request({"msg": "start"})
    except Exception:
        pass  # game_started: counted as an error
    await play_to_end([ann], room)
    text = await scrape(game_server)
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    assert values['game_connections{transport="websocket"}'] == 1
    assert values["game_authenticated_connections"] == 1
    assert values['game_rooms{status="finished"}'] == 1
    assert values['game_errors_total{code="game_started"}'] == 1
    # Moves are counted by game, the bot's included.
    moves = values['game_moves_total{kind="crazy_eights"}']
    assert moves >= 2
    assert 'game_moves_total{kind="hearts"}' not in values
    assert values["game_move_seconds_count"] >= 1
    assert values["game_committed_actions_total"] >= moves
    assert values["game_commits_total"] >= 1
    assert values["game_state_messages_total"] >= moves
    await ann.close()


async def test_with_metrics_off_there_is_no_metrics_page_and_play_goes_on(game_server_factory):
    from sockjs_helpers import create_room, play_to_end, signed_in

    server = await game_server_factory(metrics=False)
    assert server.server.metrics is None
    assert (await get(server, "/metrics")).code == 404
    ann = await signed_in(server, "Ann")
    room = await create_room(ann, "quiet", 2)
    await ann.request({"msg": "add_bot"})
    await play_to_end([ann], room)
    await ann.close()
