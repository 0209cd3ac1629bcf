"""docs/api.md against the real server (issue 12, item 13): each example's fields are the
fields the HTTP API serves, so the page cannot drift from `transport/api.py` unnoticed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tornado.httpclient import AsyncHTTPClient

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def examples() -> list[Any]:
    text = API_DOC.read_text()
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.S)]


def example_request(path: str) -> str:
    """The request line the page shows above an example of `path`."""
    [found] = re.findall(rf"`GET ({re.escape(path)}\?[^`]*)`:", API_DOC.read_text())
    return found


async def get(server, path: str) -> tuple[int, Any]:
    response = await AsyncHTTPClient().fetch(server.url + path, raise_error=False)
    return response.code, json.loads(response.body)


async def test_the_leaderboard_example_has_the_fields_served(game_server):
    board = next(e for e in examples() if isinstance(e, dict) and "leaders" in e)
    code, served = await get(game_server, example_request("/api/leaderboard"))
    assert code == 200
    assert set(served) == set(board)
    # What was asked comes back as given; the doc's example says the same.
    assert {key: served[key] for key in ("since", "until", "game")} == {
        key: board[key] for key in ("since", "until", "game")}


async def test_the_user_games_example_has_the_fields_served(game_server):
    page = next(e for e in examples() if isinstance(e, dict) and "games" in e)
    user_id, _ = await game_server.user("Ann")
    code, served = await get(game_server, f"/api/users/{user_id}/games?limit=2")
    assert code == 200 and set(served) == set(page)


async def test_an_unknown_game_is_a_404_with_an_error_text(game_server):
    code, body = await get(game_server, "/api/games/424242")
    assert code == 404 and set(body) == {"error"}


async def test_an_abandoned_game_is_listed_as_such_and_reveals_nothing(game_server):
    from game_server.tables import Player

    from storage_helpers import commit, new_table, step

    user_id, _ = await game_server.user("Ann")
    log = game_server.server.move_log
    table = new_table("room-gone", 2, first_seed=5)
    table.sit(Player(user_id, "Ann"))
    table.add_bot(Player(user_id, "Ann"))
    step(table)
    await commit(log, table)
    await log.close_room("room-gone")  # everyone left before the end
    code, page = await get(game_server, f"/api/users/{user_id}/games")
    [game] = page["games"]
    assert (game["status"], game["score"], game["won"]) == ("abandoned", None, None)
    assert game["finished_at"] is not None
    code, body = await get(game_server, f"/api/games/{game['id']}")
    assert code == 409 and "abandoned" in body["error"] and set(body) == {"error"}
