"""The HTTP side of the application: the web client, /config.json, /dev/login."""

from __future__ import annotations

import json

from tornado.httpclient import AsyncHTTPClient

from game_server.client import GameClient, dev_login


async def get(server, path, **options):
    return await AsyncHTTPClient().fetch(server.url + path, raise_error=False, **options)


async def test_config_tells_the_client_about_the_server(game_server_factory):
    plain = await game_server_factory()
    dev = await game_server_factory(dev=True)
    assert json.loads((await get(plain, "/config.json")).body) == {
        "dev": False, "server": "test-1", "protocol": 1}
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
