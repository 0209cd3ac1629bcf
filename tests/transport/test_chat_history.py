"""Chat against a real server: players and spectators apart during the game, and the room's
chat in the history API once the game is over (never before)."""

from __future__ import annotations

import asyncio
import json

import pytest
from tornado.httpclient import AsyncHTTPClient

from game_server.client import ServerError
from sockjs_helpers import check_all, create_room, play_to_end, signed_in, until_state


async def get(server, path):
    response = await AsyncHTTPClient().fetch(server.url + path, raise_error=False)
    return response.code, json.loads(response.body)


async def test_room_chat_is_in_the_history_after_the_game_and_not_before(game_server):
    ann = await signed_in(game_server, "Ann")
    bob = await signed_in(game_server, "Bob")
    cid = await signed_in(game_server, "Cid")
    ann_id = (await game_server.user("Ann"))[0]
    room = await create_room(ann, "chatty", 2)
    await cid.request({"msg": "join", "room": room, "as": "spectator"})
    hello = await ann.chat("hello \u202eall\n")
    assert hello["text"] == "hello all" and hello["to"] == "all" and hello["room"] == room
    await cid.wait_for(lambda m: m.get("msg") == "chat" and m["text"] == "hello all")

    await bob.request({"msg": "join", "room": room})
    await until_state(ann, lambda s: s["table"]["status"] == "playing")
    assert (await ann.chat("good luck"))["to"] == "players"
    assert (await cid.chat("<img src=x onerror=alert(1)>"))["to"] == "spectators"
    with pytest.raises(ServerError) as refused:
        await cid.chat("x" * 201)
    assert refused.value.code == "chat_too_long"

    # While the game runs its record is closed, chat included.
    code, page = await get(game_server, f"/api/users/{ann_id}/games")
    (running,) = page["games"]
    code, body = await get(game_server, f"/api/games/{running['id']}")
    assert code == 409 and "chat" not in body

    await play_to_end([ann, bob], room)
    assert (await bob.chat("gg"))["to"] == "all"
    await asyncio.get_running_loop().run_in_executor(
        None, game_server.hub.chat.chat_log.flush)
    code, record = await get(game_server, f"/api/games/{running['id']}")
    assert code == 200
    said = [(line["from"]["name"], line["text"], line["to"]) for line in record["chat"]]
    assert said == [("Ann", "hello all", "all"), ("Ann", "good luck", "players"),
                    ("Cid", "<img src=x onerror=alert(1)>", "spectators"),
                    ("Bob", "gg", "all")]
    assert all(line["at"].endswith("Z") and isinstance(line["seq"], int)
               for line in record["chat"])

    # The players never heard the spectator during the game.
    heard = {client: [m["text"] for m in client.received if m.get("msg") == "chat"]
             for client in (ann, bob, cid)}
    assert "<img src=x onerror=alert(1)>" not in heard[ann] + heard[bob]
    assert "good luck" not in heard[cid] and "gg" in heard[cid]

    # Between games the owner's mute holds to the end of the next game.
    cid_id = (await game_server.user("Cid"))[0]
    state = await ann.mute(cid_id)
    assert state["event"] == {"type": "mute", "user_id": cid_id}
    assert state["table"]["muted"] == [cid_id]
    with pytest.raises(ServerError) as refused:
        await cid.chat("hello?")
    assert refused.value.code == "muted"
    for client in (ann, bob, cid):
        check_all(client)
        await client.close()
