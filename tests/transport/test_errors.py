"""Every error code, triggered over a real SockJS WebSocket; an error never changes a room."""

from __future__ import annotations

import asyncio
import json

import pytest

from game_server.client import GameClient, ServerError
from game_server.protocol import handlers

from sockjs_helpers import check_all, latest_state, play_to_end, signed_in, start_duel, wait_closed


TAKE = {"msg": "move", "move": {"type": "take"}}


async def refused(client: GameClient, message: dict) -> str:
    with pytest.raises(ServerError) as error:
        await client.request(message)
    return error.value.code


async def test_frames_and_messages_that_are_not_json(game_server):
    client = await signed_in(game_server, "Ann")
    client.send_raw("{this is not a SockJS frame")
    error = await client.wait_for(lambda m: m.get("msg") == "error")
    assert error["code"] == "bad_json" and "re" not in error
    client.send_raw(json.dumps(["{not json either"]))
    error = await client.wait_for(lambda m: m.get("msg") == "error")
    assert error["code"] == "bad_json"
    # The connection is still open and working.
    assert (await client.request({"msg": "room_list"}))["msg"] == "room_list"
    check_all(client)
    await client.close()


async def test_schema_and_size_errors(game_server):
    client = await signed_in(game_server, "Ann")
    with pytest.raises(ServerError) as error:
        await client.request({"msg": "create", "game": "crazy_eights", "name": "x",
                              "seats": 11})
    assert error.value.code == "bad_message" and "seats" in error.value.text
    with pytest.raises(ServerError) as error:
        await client.request({"msg": "create", "game": "crazy_eights", "name": "x",
                              "seats": 9})
    assert error.value.code == "bad_message" and "2 to 7 players, not 9" in error.value.text
    with pytest.raises(ServerError) as error:
        await client.request({"msg": "create", "game": "go_fish", "name": "x"})
    assert error.value.code == "bad_message" and "'go_fish'" in error.value.text
    with pytest.raises(ServerError) as error:
        await client.request({"msg": "room_list", "colour": "red"})
    assert error.value.code == "bad_message" and "colour" in error.value.text
    # Over 4 KiB of UTF-8 (1,500 three-byte characters are 4,500 bytes but 1,500 chars).
    # It is refused unread, so the error cannot carry the request's id.
    client.drain()
    client.send({"msg": "auth", "token": "€" * 1500, "id": "big"})
    error = await client.wait_for(lambda m: m.get("msg") == "error")
    assert error["code"] == "too_large" and "re" not in error
    check_all(client)
    await client.close()


async def test_room_and_seat_errors(game_server):
    ann, bob, room = await start_duel(game_server)
    eve = await signed_in(game_server, "Eve")
    assert await refused(eve, {"msg": "join", "room": "nosuchroom"}) == "no_such_room"
    assert await refused(eve, {"msg": "leave"}) == "not_in_room"
    assert await refused(eve, TAKE) == "not_in_room"
    assert await refused(eve, {"msg": "take"}) == "not_in_room"
    assert await refused(eve, {"msg": "join", "room": room}) == "game_started"
    await eve.request({"msg": "join", "room": room, "as": "spectator"})
    assert await refused(eve, TAKE) == "not_a_player"
    assert await refused(eve, {"msg": "take"}) == "not_a_player"
    assert await refused(eve, {"msg": "add_bot"}) == "not_a_player"
    assert await refused(bob, {"msg": "start"}) == "not_owner"
    assert await refused(ann, {"msg": "add_bot"}) == "game_started"
    assert await refused(ann, {"msg": "start"}) == "game_started"
    with pytest.raises(ServerError) as busy:
        await ann.request({"msg": "create", "game": "hearts", "name": "again"})
    assert busy.value.code == "already_in_room"
    assert room in busy.value.text and "duel" in busy.value.text, "the text names the room"
    for client in (ann, bob, eve):
        check_all(client)
        await client.close()


async def test_game_rule_errors_change_nothing(game_server):
    ann, bob, room = await start_duel(game_server)
    state = latest_state(ann, room)
    table = state["table"]
    mover, waiter = (ann, bob) if table["to_act"] == [0] else (bob, ann)
    mine = latest_state(mover, room)["table"]["game_state"]
    others = latest_state(waiter, room)["table"]["game_state"]
    seq = state["seq"]

    def put(card: str, **more: str) -> dict:
        return {"msg": "move", "move": {"type": "put", "card": card, **more}}

    assert await refused(waiter, put(others["hand"][0])) == "not_your_turn"
    assert await refused(waiter, {"msg": "put", "card": others["hand"][0]}) == "not_your_turn"
    held = set(mine["hand"])
    missing = next(f"{r}{s}" for r in "23456789TJQKA" for s in "CDHS"
                   if f"{r}{s}" not in held)
    assert await refused(mover, put(missing)) == "not_in_hand"
    top, suit = mine["pile"][-1], mine["suit"]
    unplayable = [c for c in mine["hand"] if c[0] != "8" and c[1] != suit and c[0] != top[0]]
    if unplayable:
        assert await refused(mover, put(unplayable[0])) == "illegal_move"
    eights = [c for c in mine["hand"] if c[0] == "8"]
    if eights:
        assert await refused(mover, {"msg": "put", "card": eights[0]}) == "illegal_move"
    plain = [c for c in mine["hand"] if c[0] != "8" and (c[1] == suit or c[0] == top[0])]
    if plain:
        code = await refused(mover, put(plain[0], suit="H"))
        assert code == "illegal_move"
    assert await refused(mover, {"msg": "move", "move": {"type": "put", "card": "QX"}}) == (
        "bad_message")
    # Nothing changed: the next state anyone gets still follows the last seq.
    after = await mover.request(TAKE)
    assert after["seq"] == seq + 1
    assert after["event"]["move"]["card"] in after["table"]["game_state"]["hand"]
    for client in (ann, bob):
        check_all(client)
        await client.close()


async def test_moves_after_the_end_and_a_full_finished_room(game_server):
    ann, bob, room = await start_duel(game_server)
    await play_to_end([ann, bob], room)
    assert await refused(ann, {"msg": "take"}) == "game_finished"
    assert await refused(ann, TAKE) == "game_finished"
    carol = await signed_in(game_server, "Carol")
    assert await refused(carol, {"msg": "join", "room": room}) == "room_full"
    await ann.request({"msg": "leave"})
    # A finished room with a free seat takes a new player; the owner starts a new game.
    joined = await carol.request({"msg": "join", "room": room})
    assert joined["table"]["you"] == 0
    # Ann owned the room; ownership passed to Bob, the lowest seat a person still plays.
    assert joined["table"]["owner"] == 1
    assert await refused(carol, {"msg": "start"}) == "not_owner"
    started = await bob.request({"msg": "start"})
    assert started["table"]["status"] == "playing"
    # The deal moved one seat on: seat 0 dealt the first game, seat 1 deals this one.
    assert started["event"] == {"type": "start", "dealer": 1}
    for client in (ann, bob, carol):
        check_all(client)
        await client.close()


async def test_start_needs_two_players(game_server):
    ann = await signed_in(game_server, "Ann")
    await ann.request({"msg": "create", "game": "crazy_eights", "name": "solo", "seats": 3})
    assert await refused(ann, {"msg": "start"}) == "game_not_started"
    assert await refused(ann, TAKE) == "game_not_started"
    await ann.request({"msg": "leave"})
    await ann.request({"msg": "create", "game": "hearts", "name": "three", "seats": 4})
    await ann.request({"msg": "add_bot"})
    await ann.request({"msg": "add_bot"})  # 3 of 4: Hearts needs all four
    with pytest.raises(ServerError) as error:
        await ann.request({"msg": "start"})
    assert error.value.code == "game_not_started" and "4 players" in error.value.text
    with pytest.raises(ServerError) as error:
        await ann.request({"msg": "create", "game": "hearts", "name": "x", "seats": 3})
    assert error.value.code == "bad_message"
    assert error.value.text == "Hearts is played with 4 to 4 players, not 3"
    await ann.close()


async def test_rate_limit_then_close_for_flooding(game_server_factory, monkeypatch):
    server = await game_server_factory()
    client = await signed_in(server, "Ann")
    for _ in range(60):
        client.send({"msg": "room_list"})
    await asyncio.sleep(0.2)
    codes = [m.get("code") for m in client.drain() if m.get("msg") == "error"]
    assert "rate_limited" in codes
    assert client.close_reason is None
    # Keep flooding for more than 3 s: the server closes the connection with a reason.
    loop = asyncio.get_running_loop()
    end = loop.time() + 4.5
    while client.close_reason is None and loop.time() < end:
        try:
            client.send({"msg": "room_list"})
        except Exception:
            break
        await asyncio.sleep(0.01)
    await wait_closed(client)
    assert client.close_reason == (4002, "Too many messages")


async def test_a_bug_is_logged_and_answered_internal(game_server, monkeypatch, expected_errors):
    client = await signed_in(game_server, "Ann")
    state = await client.request({"msg": "create", "game": "crazy_eights", "name": "t",
                                  "seats": 2})

    def broken(hub, peer, message, re):
        raise RuntimeError("a bug")

    monkeypatch.setitem(handlers.HANDLERS, "add_bot", broken)
    assert await refused(client, {"msg": "add_bot"}) == "internal"
    assert [r.getMessage() for r in expected_errors] == [
        "internal error handling a message from <Peer Ann via websocket>"]
    assert expected_errors[0].exc_info[0] is RuntimeError
    # The connection and the room are as they were.
    assert (await client.request({"msg": "room_list"}))["rooms"][0]["id"] == state["room"]
    await client.close()


async def test_user_lookup_failure_is_unavailable(game_server, monkeypatch, expected_errors):
    _, token = await game_server.user("Ann")

    async def down(user_id):
        raise ConnectionError("database is down")

    monkeypatch.setattr(game_server.server.users, "get", down)
    client = await GameClient.connect(game_server.url)
    assert await refused(client, {"msg": "auth", "protocol": 2, "token": token}) == "unavailable"
    assert "user lookup failed" in expected_errors[0].getMessage()
    await client.close()
