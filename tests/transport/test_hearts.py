"""A whole Hearts match against a real server over SockJS: two people and two bots, each person
choosing moves from what they see (`Hearts.move_from_view`, through
`game_server.client.choose`), over WebSocket and over xhr-polling; then the history API
reveals it. And a spectator who never sees a card in anyone's hand.

Bots move 10 ms after their turn comes, so a match of a dozen deals takes seconds; the match is
bounded in time all the same.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from tornado.httpclient import AsyncHTTPClient

from game_server.client import GameClient
from game_server.rules import GAMES

from sockjs_helpers import (check_all, create_room, latest_state, play_to_end, signed_in,
                            until_state)

#: A whole match, over the slowest transport, on a busy machine.
MATCH_SECONDS = 150

pytestmark = pytest.mark.timeout(MATCH_SECONDS + 60)


def _states(client: GameClient, room: str) -> list[dict]:
    return [m for m in client.received if m.get("msg") == "state" and m["room"] == room]


@pytest.mark.parametrize("transport", ["websocket", "xhr-polling"])
async def test_two_people_and_two_bots_play_a_hearts_match(game_server_factory, transport):
    server = await game_server_factory(bot_delay=0.01)
    ann = await signed_in(server, "Ann", transport)
    bob = await signed_in(server, "Bob", transport)
    welcome = next(m for m in ann.received if m.get("msg") == "welcome")
    assert {"name": "hearts", "title": "Hearts", "min": 4, "max": 4, "seats": 4} in (
        welcome["games"])
    room = await create_room(ann, "Hearts night", None, game="hearts")
    joined = await bob.request({"msg": "join", "room": room})
    assert joined["table"]["game"] == "hearts" and len(joined["table"]["seats"]) == 4
    await ann.request({"msg": "add_bot"})
    filled = await ann.request({"msg": "add_bot"})  # the fourth seat: the match starts
    assert filled["event"] == {"type": "add_bot", "seat": 3}
    started = await until_state(ann, lambda s: s.get("event", {}).get("type") == "start")
    assert started["table"]["to_act"] == [0, 1, 2, 3], "everyone passes at once"
    assert started["table"]["game_state"]["phase"] == "pass"

    loop = asyncio.get_running_loop()
    began = loop.time()
    finals = await play_to_end([ann, bob], room, timeout=MATCH_SECONDS, max_moves=5000)
    seconds = loop.time() - began

    for client, final in zip((ann, bob), finals):
        table = final["table"]
        game, result = table["game_state"], table["result"]
        assert table["status"] == "finished" and table["to_act"] == []
        assert table["players"] == [0, 1, 2, 3]
        assert game["phase"] == "over" and game["hand"] == []
        assert max(game["scores"]) >= 100, "a match goes on until someone reaches 100"
        assert result["winner"] == table["players"][game["winner"]]
        assert result["scores"] == game["scores"]
        assert min(game["scores"]) == game["scores"][game["winner"]]
        assert result["detail"]["deals"] == game["deal"] >= 1
        assert client.transport == transport
        check_all(client)
        states = _states(client, room)
        seqs = [m["seq"] for m in states]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "seq rises by one"
        # The deals followed one another to the last one.
        deals = [m["event"]["move"]["next_deal"] for m in states
                 if m.get("event", {}).get("type") == "move"
                 and "next_deal" in m["event"]["move"]]
        assert [d["number"] for d in deals] == list(range(2, game["deal"] + 1))
    assert finals[0]["table"]["result"] == finals[1]["table"]["result"]
    # The other seats' moves came from the bots, never as a reply to a person.
    bot_moves = [m for m in _states(ann, room) if m.get("event", {}).get("type") == "move"
                 and m["event"]["seat"] in (2, 3)]
    assert bot_moves and all("re" not in m for m in bot_moves)
    assert seconds < MATCH_SECONDS
    await _check_history(server, room, finals[0]["table"], _states(ann, room))
    for client in (ann, bob):
        await client.close()


async def _check_history(server, room: str, final: dict, states: list[dict]) -> None:
    """The history API reveals the finished match: every move as played, each pass with its
    cards, the exchanges with everyone's, and the same end."""
    http = AsyncHTTPClient()
    ann_id = (await server.user("Ann"))[0]
    page = json.loads((await http.fetch(f"{server.url}/api/users/{ann_id}/games")).body)
    (entry,) = [game for game in page["games"] if game["room"] == room]
    record = json.loads((await http.fetch(f"{server.url}/api/games/{entry['id']}")).body)
    result = final["result"]
    assert record["game"] == "hearts" and record["status"] == "finished"
    assert record["winner"] == result["winner"] and record["detail"] == result["detail"]
    assert [seat["score"] for seat in record["seats"]] == result["scores"]
    assert record["players"] == final["players"]
    assert record["final"]["phase"] == "over" and record["final"]["hands"] == [[]] * 4
    moves = [m for m in record["moves"] if m["kind"] == "move"]
    seen = [m["event"] for m in states if m.get("event", {}).get("type") == "move"]
    assert [(m["seat"], m["move"]["type"]) for m in moves] == [
        (event["seat"], event["move"]["type"]) for event in seen]
    for move, event in zip(moves, seen):
        if move["move"]["type"] == "play":
            assert move["event"] == event["move"], "a play is the same for everyone"
        else:
            assert sorted(move["event"]["cards"]) == sorted(move["move"]["cards"])
            assert move["event"]["exchanged"] == event["move"].get("exchanged", False)
            if move["event"]["exchanged"]:
                assert len(move["event"]["passes"]) == 4


async def test_a_spectator_watches_a_hearts_match_without_seeing_a_card_in_hand(
        game_server_factory):
    server = await game_server_factory(bot_delay=0.01)
    ann = await signed_in(server, "Ann")
    eve = await signed_in(server, "Eve", "xhr-polling")
    room = await create_room(ann, "Watched", None, game="hearts")
    await eve.request({"msg": "join", "room": room, "as": "spectator"})
    for _ in range(3):
        await ann.request({"msg": "add_bot"})
    # The first deal's pass, then three tricks: enough to see the exchange and some play.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        table = latest_state(ann, room)["table"]
        if table["game_state"]["phase"] == "play" and table["game_state"]["cards"][0] <= 10:
            break
        assert loop.time() < deadline, "the match does not go on"
        if 0 in table["to_act"]:
            move = GAMES["hearts"].move_from_view(table["game_state"])
            await ann.request({"msg": "move", "move": move})
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    watched = _states(eve, room)
    assert any(m.get("event", {}).get("move", {}).get("exchanged") for m in watched)
    for message in watched:
        assert message["table"]["you"] is None
        state = message["table"]["game_state"] or {}
        assert not {"hand", "passing", "received"} & set(state)
        move = message.get("event", {}).get("move", {})
        assert not {"cards", "received"} & set(move), move
    check_all(eve)
    check_all(ann)
    await asyncio.gather(ann.close(), eve.close())
