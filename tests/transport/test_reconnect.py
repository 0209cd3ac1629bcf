"""Disconnects, rejoins, the grace period and leaving, against a real server."""

from __future__ import annotations

import asyncio

from game_server.client import GameClient

from sockjs_helpers import (check_all, create_room, latest_state, play_to_end,
                            signed_in, start_duel, until_state)


async def test_a_dropped_player_gets_the_seat_and_hand_back(game_server):
    ann, bob, room = await start_duel(game_server)
    before = latest_state(bob, room)
    await bob.close()

    gone = await until_state(ann, lambda s: s["event"] == {"type": "disconnect", "seat": 1})
    assert gone["table"]["seats"][1]["connected"] is False
    assert gone["seq"] == before["seq"] + 1

    _, token = await game_server.user("Bob")
    again = await GameClient.connect(game_server.url, transport="xhr-polling")
    await again.auth(token)
    back = await again.request({"msg": "join", "room": room})
    assert back["event"] == {"type": "connect", "seat": 1}
    assert back["seq"] == gone["seq"] + 1
    assert back["table"]["you"] == 1
    # The same game, as Bob left it: his hand, the pile, whose turn.
    assert back["table"]["game_state"] == before["table"]["game_state"]
    assert back["table"]["to_act"] == before["table"]["to_act"]
    # A second join while connected changes nothing but answers with the state.
    same = await again.request({"msg": "join", "room": room})
    assert same["seq"] == back["seq"] and "event" not in same
    await play_to_end([ann, again], room)
    for client in (ann, again):
        check_all(client)
        await client.close()


async def test_when_the_grace_period_ends_a_bot_finishes_the_game(game_server_factory):
    server = await game_server_factory(grace_seconds=0.3)
    ann, bob, room = await start_duel(server)
    await bob.close()
    replaced = await until_state(ann, lambda s: s["event"]["type"] == "replace")
    assert replaced["event"] == {"type": "replace", "seat": 1, "reason": "timeout"}
    assert replaced["table"]["seats"][1]["bot"] is True
    assert replaced["table"]["seats"][1]["user"]["name"] == "Bob"
    finals = await play_to_end([ann], room)
    assert finals[0]["table"]["status"] == "finished"
    # Bob comes back and takes his seat over from the bot.
    again = await signed_in(server, "Bob")
    back = await again.request({"msg": "join", "room": room})
    assert back["event"] == {"type": "reclaim", "seat": 1}
    assert back["table"]["seats"][1]["bot"] is False
    for client in (ann, again):
        check_all(client)
        await client.close()


async def test_leaving_a_game_hands_the_seat_to_a_bot_at_once(game_server):
    ann, bob, room = await start_duel(game_server)
    left = await bob.request({"msg": "leave"})
    assert left == {"msg": "left", "room": room, "re": left["re"]}
    replaced = await until_state(ann, lambda s: s["event"]["type"] == "replace")
    assert replaced["event"] == {"type": "replace", "seat": 1, "reason": "left"}
    # Bob is free to sit elsewhere now.
    other = await bob.request({"msg": "create", "game": "crazy_eights", "name": "next",
                               "seats": 2})
    assert other["table"]["you"] == 0
    await play_to_end([ann], room)
    for client in (ann, bob):
        check_all(client)
        await client.close()


async def test_joining_elsewhere_from_a_waiting_room_leaves_it_first(game_server):
    ann = await signed_in(game_server, "Ann")
    bob = await signed_in(game_server, "Bob")
    first = await create_room(ann, "one", 3)
    await bob.request({"msg": "join", "room": first})
    second = await create_room(bob, "two", 3)
    left = await bob.wait_for(lambda m: m.get("msg") == "left")
    assert left["room"] == first
    freed = await until_state(ann, lambda s: s["event"] == {"type": "leave", "seat": 1})
    assert freed["table"]["seats"][1] is None
    rooms = (await ann.request({"msg": "room_list"}))["rooms"]
    assert {r["id"]: r["players"] for r in rooms} == {first: 1, second: 1}
    for client in (ann, bob):
        check_all(client)
        await client.close()


async def test_the_lobby_gets_room_list_pushes(game_server):
    ann = await signed_in(game_server, "Ann")
    watcher = await signed_in(game_server, "Walt")
    room = await create_room(ann, "new", 2)
    pushed = await watcher.wait_for(
        lambda m: m.get("msg") == "room_list" and "re" not in m and m["rooms"], timeout=3)
    assert pushed["rooms"][0]["id"] == room and pushed["rooms"][0]["status"] == "waiting"
    for client in (ann, watcher):
        await client.close()


async def test_a_disconnected_spectator_stops_watching(game_server):
    ann, bob, room = await start_duel(game_server)
    eve = await signed_in(game_server, "Eve")
    watching = await eve.request({"msg": "join", "room": room, "as": "spectator"})
    assert watching["table"]["spectators"] == 1 and "hand" not in watching["table"]["game_state"]
    await eve.close()
    gone = await until_state(ann, lambda s: s["event"] == {"type": "unwatch"})
    assert gone["table"]["spectators"] == 0
    await asyncio.gather(ann.close(), bob.close())
