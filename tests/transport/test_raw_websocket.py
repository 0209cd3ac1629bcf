"""The raw WebSocket endpoint (`/sockjs/websocket`): one protocol message per WebSocket
message, no SockJS framing. Non-browser clients use it (issue 12, item 8)."""

from __future__ import annotations

import asyncio
import json

from tornado.websocket import websocket_connect

from game_server.client import choose

from sockjs_helpers import create_room, latest_state, signed_in, until_state


async def raw_connect(server):
    return await websocket_connect(f"ws://127.0.0.1:{server.port}/sockjs/websocket")


async def read(ws, predicate=lambda m: True, timeout: float = 5.0) -> dict:
    """The next message that satisfies `predicate`."""
    while True:
        text = await asyncio.wait_for(ws.read_message(), timeout)
        assert text is not None, f"closed: {ws.close_code} {ws.close_reason}"
        message = json.loads(text)
        if predicate(message):
            return message


async def raw_signed_in(server, name: str):
    _, token = await server.user(name)
    ws = await raw_connect(server)
    ws.write_message(json.dumps({"msg": "auth", "protocol": 2, "token": token, "id": 1}))
    welcome = await read(ws)
    assert welcome["msg"] == "welcome" and welcome["re"] == 1, welcome
    return ws


async def test_raw_websocket_signs_in_lists_rooms_and_plays(game_server):
    ws = await raw_signed_in(game_server, "Raw")
    ws.write_message(json.dumps({"msg": "room_list", "id": 2}))
    rooms = await read(ws, lambda m: m.get("re") == 2)
    assert rooms["msg"] == "room_list"
    ann = await signed_in(game_server, "Ann")
    room = await create_room(ann, "duel", 2)
    ws.write_message(json.dumps({"msg": "join", "room": room, "id": 3}))
    joined = await read(ws, lambda m: m.get("re") == 3)
    assert joined["msg"] == "state" and joined["table"]["you"] == 1
    state = await read(ws, lambda m: m.get("msg") == "state"
                       and m["table"]["status"] == "playing")
    assert "hand" in state["table"]["game_state"]
    await until_state(ann, lambda s: s["table"]["status"] == "playing")
    # Play: Ann moves until it is the raw client's turn, then it moves itself.
    for _ in range(20):
        if choose(state["table"]) is not None:
            break
        await until_state(ann, lambda s: s["seq"] >= state["seq"])
        await ann.request(choose(latest_state(ann, room)["table"]))
        seq = state["seq"]
        state = await read(ws, lambda m: m.get("msg") == "state" and m["seq"] > seq)
    ws.write_message(json.dumps({**choose(state["table"]), "id": 4}))
    moved = await read(ws, lambda m: m.get("re") == 4)
    assert moved["msg"] == "state" and moved["event"]["type"] == "move"
    assert moved["event"]["seat"] == 1
    ws.close()
    gone = await until_state(ann, lambda s: s["event"] == {"type": "disconnect", "seat": 1})
    assert gone["table"]["seats"][1]["connected"] is False
    await ann.close()


async def test_raw_websocket_mistakes_are_answered(game_server):
    ws = await raw_connect(game_server)
    ws.write_message("not json")
    error = await read(ws)
    assert error["msg"] == "error" and error["code"] == "bad_json"
    ws.write_message(json.dumps({"msg": "room_list", "id": 9}))
    error = await read(ws)
    assert error == {**error, "code": "auth_required", "re": 9}
    ws.close()
