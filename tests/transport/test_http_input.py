"""Odd input on the HTTP routes gets a clean 4xx with a clear message, never a 500 or a
traceback (issue 12, item 12). Any ERROR log fails these tests (tests/conftest.py)."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import AsyncHTTPClient


async def fetch(server, path):
    return await AsyncHTTPClient().fetch(server.url + path, raise_error=False)


@pytest.mark.parametrize("path", ["/%00", "/%00.html", "/css/%00.css", "/js/a%00b.js",
                                  "/index.html%00"])
async def test_a_nul_byte_in_a_path_is_a_400_not_a_500(game_server, path):
    response = await fetch(game_server, path)
    assert response.code == 400, response.body
    assert b"Traceback" not in response.body and b"null byte" not in response.body


@pytest.mark.parametrize("query", [
    "until=9999-12-31", "until=9999-12-31T23:30:00-05:00",
    "since=0001-01-01T00:00:00+01:00", "until=0001-01-01T00:30:00%2B01:00"])
async def test_leaderboard_bounds_out_of_range_are_a_400(game_server, query):
    response = await fetch(game_server, f"/api/leaderboard?{query}")
    assert response.code == 400, response.body
    name = query.split("=")[0]
    assert json.loads(response.body)["error"].startswith(f"{name} must be")


@pytest.mark.parametrize("query", ["before=²", "before=%C2%B2", "limit=%D9%A3",
                                   "before=-1", "limit=5a", "before=" + "9" * 5000])
async def test_user_games_numbers_must_be_plain_digits(game_server, query):
    response = await fetch(game_server, f"/api/users/1/games?{query}")
    assert response.code == 400, response.body
    error = json.loads(response.body)["error"]
    assert "invalid literal" not in error and "must be" in error, error


async def test_plain_numbers_still_work(game_server):
    response = await fetch(game_server, "/api/users/1/games?before=5&limit=3")
    assert response.code == 200
    assert json.loads(response.body) == {"games": [], "next": None}
    response = await fetch(game_server, "/api/leaderboard?since=2026-01-01&until=9999-12-30")
    assert response.code == 200
