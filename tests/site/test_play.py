"""Play and POST /token: the site hands the web client game tokens for the signed-in user."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from game_server import tokens
from game_server.storage.users import UserStore

from site_helpers import CLIENT_URL


def user_id(running_site, name: str) -> int:
    return UserStore(running_site.site.users.engine).by_name(name).id


async def test_play_opens_the_web_client_with_a_token_for_the_user(running_site):
    browser = await running_site.signed_up("Ada")
    response = await browser.get("/play")
    assert response.code == 302
    location = response.headers["Location"]
    assert location.startswith(CLIENT_URL + "#token=")
    token = urlsplit(location).fragment.removeprefix("token=")
    assert tokens.read_token(running_site.keyring, token) == user_id(running_site, "Ada")
    assert response.headers["Cache-Control"] == "no-store"


async def test_play_signed_out_asks_to_sign_in_and_comes_back(running_site):
    await running_site.signed_up("Ada")
    browser = running_site.browser()
    response = await browser.get("/play")
    assert response.code == 302 and response.headers["Location"] == "/signin?next=%2Fplay"
    form = await browser.get(response.headers["Location"])
    assert 'name="next" value="/play"' in form.body.decode()
    signed_in = await browser.submit("/signin", {"name": "Ada", "password": "correct horse",
                                                 "next": "/play"})
    assert signed_in.headers["Location"] == "/play"
    assert (await browser.get("/play")).headers["Location"].startswith(CLIENT_URL + "#token=")


async def test_token_gives_the_signed_in_user_a_fresh_token(running_site):
    browser = await running_site.signed_up("Ada")
    # As the web client does it: the _xsrf cookie's value in the X-XSRFToken header.
    response = await browser.request("POST", "/token", body="",
                                     headers={"X-XSRFToken": browser.cookies["_xsrf"]})
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.body)
    assert tokens.read_token(running_site.keyring, body["token"]) == user_id(running_site, "Ada")
    assert body["user"] == {"id": user_id(running_site, "Ada"), "name": "Ada"}


async def test_token_refuses_a_request_without_the_xsrf_header(running_site):
    browser = await running_site.signed_up("Ada")
    response = await browser.request("POST", "/token", body="")
    assert response.code == 403
    assert "X-XSRFToken" in json.loads(response.body)["error"]
    wrong = await browser.request("POST", "/token", body="",
                                  headers={"X-XSRFToken": "2|abcd|abcd|1"})
    assert wrong.code == 403


async def test_token_refuses_when_no_one_is_signed_in(running_site):
    browser = running_site.browser()
    xsrf = await browser.xsrf()
    response = await browser.request("POST", "/token", body="", headers={"X-XSRFToken": xsrf})
    assert response.code == 401
    assert json.loads(response.body) == {"error": "not signed in: sign in on the site"}


async def test_only_the_web_client_may_read_tokens_across_origins(running_site):
    browser = await running_site.signed_up("Ada")
    headers = {"X-XSRFToken": browser.cookies["_xsrf"]}
    client = await browser.request("POST", "/token", body="",
                                   headers={**headers, "Origin": "http://client.test:8080"})
    assert client.headers["Access-Control-Allow-Origin"] == "http://client.test:8080"
    assert client.headers["Access-Control-Allow-Credentials"] == "true"
    other = await browser.request("POST", "/token", body="",
                                  headers={**headers, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    # The client reads why it got no token, too.
    signed_out = running_site.browser()
    xsrf = await signed_out.xsrf()
    refused = await signed_out.request("POST", "/token", body="", headers={
        "X-XSRFToken": xsrf, "Origin": "http://client.test:8080"})
    assert refused.code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == "http://client.test:8080"
    # The browser's preflight for the X-XSRFToken header.
    preflight = await browser.request("OPTIONS", "/token", headers={
        "Origin": "http://client.test:8080", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-xsrftoken"})
    assert preflight.code == 204
    assert preflight.headers["Access-Control-Allow-Headers"] == "X-XSRFToken"
    assert preflight.headers["Access-Control-Allow-Methods"] == "POST"
