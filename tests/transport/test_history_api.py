"""The history API against a real server: finished games, a user's games, the leaderboard."""

from __future__ import annotations

import json

from tornado.httpclient import AsyncHTTPClient

from sockjs_helpers import check_all, create_room, play_to_end, signed_in, until_state


async def get(server, path):
    response = await AsyncHTTPClient().fetch(server.url + path, raise_error=False)
    return response.code, json.loads(response.body)


async def test_a_finished_game_is_revealed_and_a_running_one_is_not(game_server):
    ann = await signed_in(game_server, "Ann")
    bob = await signed_in(game_server, "Bob")
    ann_id = (await game_server.user("Ann"))[0]
    room = await create_room(ann, "history", 3)
    await bob.request({"msg": "join", "room": room})
    await ann.request({"msg": "add_bot"})
    await until_state(ann, lambda s: s["table"]["status"] == "playing")

    code, page = await get(game_server, f"/api/users/{ann_id}/games")
    assert code == 200
    (running,) = page["games"]
    assert running["status"] == "playing" and running["score"] is None
    code, body = await get(game_server, f"/api/games/{running['id']}")
    assert code == 409 and "still being played" in body["error"]

    finals = await play_to_end([ann, bob], room)
    final = finals[0]["table"]
    game, result = final["game_state"], final["result"]
    code, record = await get(game_server, f"/api/games/{running['id']}")
    assert code == 200
    assert record["game"] == "crazy_eights" and record["players"] == final["players"]
    assert record["status"] == "finished" and record["winner"] == result["winner"]
    assert record["detail"] == result["detail"]
    assert [seat["score"] for seat in record["seats"]] == result["scores"]
    # Every hand, as dealt and at the end, in game order.
    assert record["final"]["hands"] == game["hands"]
    assert record["final"]["players"] == final["players"]
    assert len(record["deal"]["hands"]) == 3 and all(
        len(hand) == 5 for hand in record["deal"]["hands"])
    moves = [move for move in record["moves"] if move["kind"] == "move"]
    assert moves and all(move["event"]["type"] == move["move"]["type"] for move in moves)
    takes = [move for move in moves if move["move"]["type"] == "take"]
    assert all("card" in move["event"] for move in takes), "the cards taken are revealed"
    for client in (ann, bob):
        check_all(client)
        await client.close()

    code, board = await get(game_server, "/api/leaderboard")
    assert code == 200
    winner = final["seats"][result["winner"]]["user"]
    leaders = {row["user"]["name"]: row for row in board["leaders"]}
    assert set(leaders) == {"Ann", "Bob"}
    if winner["id"] is not None:
        assert leaders[winner["name"]]["wins"] == 1


async def test_bad_requests_get_clear_errors(game_server):
    assert (await get(game_server, "/api/games/999999"))[0] == 404
    code, body = await get(game_server, "/api/leaderboard?since=yesterday")
    assert code == 400 and "since" in body["error"]
    code, body = await get(game_server, "/api/users/1/games?limit=0")
    assert code == 400 and "limit" in body["error"]
    code, body = await get(game_server, "/api/users/1/games?before=x")
    assert code == 400 and "before" in body["error"]
    code, body = await get(game_server, "/api/users/5/games")
    assert code == 200 and body == {"games": [], "next": None}
