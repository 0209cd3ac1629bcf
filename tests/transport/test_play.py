"""Whole games against a real server over SockJS: WebSocket, xhr-streaming, xhr-polling."""

from __future__ import annotations

import json

import pytest

from game_server.protocol.peer import Peer

from sockjs_helpers import check_all, create_room, play_to_end, signed_in

TRANSPORTS = ["websocket", "xhr-streaming", "xhr-polling"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_two_players_and_a_bot_play_to_the_end(game_server, transport):
    ann = await signed_in(game_server, "Ann", transport)
    bob = await signed_in(game_server, "Bob", transport)
    created = await ann.request({"msg": "create", "game": "crazy_eights",
                                 "name": "Ann's table", "seats": 3})
    room = created["room"]
    assert created["table"]["you"] == 0 and created["seq"] == 1
    joined = await bob.request({"msg": "join", "room": room})
    assert joined["table"]["you"] == 1
    await ann.request({"msg": "add_bot"})  # fills the room: the game starts by itself

    finals = await play_to_end([ann, bob], room)

    for state in finals:
        table = state["table"]
        game, result = table["game_state"], table["result"]
        assert table["status"] == "finished" and table["players"] == [0, 1, 2]
        assert result["winner"] in (0, 1, 2) and result["winner"] == game["winner"]
        assert result["scores"] == game["scores"] and result["scores"][result["winner"]] >= 0
        assert len(game["hands"]) == 3
        if not result["detail"]["blocked"]:
            assert game["hands"][game["winner"]] == []
    for client in (ann, bob):
        check_all(client)
        seqs = [m["seq"] for m in client.received if m.get("msg") == "state"]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "seq must rise by one"
        assert client.transport == transport
        await client.close()


async def test_no_message_ever_shows_another_players_hand(game_server, monkeypatch):
    """Every message the server sends is checked, as it is sent, against the real hands."""
    hub = game_server.hub
    leaks: list[str] = []
    checked = [0]
    original_send = Peer.send

    def checking_send(peer, message):
        text = message if isinstance(message, str) else json.dumps(message)
        if '"msg":"state"' in text.replace(" ", ""):
            state = json.loads(text)
            table = hub.lobby.get(state["room"])
            view = state["table"]  # in protocol 3 a patch: only what changed
            if (table is not None and table.game is not None
                    and view.get("status", table.status.value) == "playing"):
                mine = view["you"] if "you" in view else table.seat_of(peer.user.id)
                assert mine is None or table.seat_of(peer.user.id) == mine
                for index, seat in enumerate(table.players):
                    if seat == mine:
                        continue
                    for card in table.game.secret(index):
                        if f'"{card}"' in text:
                            leaks.append(f"{card} of seat {seat} sent to {peer!r}")
                checked[0] += 1
        original_send(peer, message)

    monkeypatch.setattr(Peer, "send", checking_send)
    ann = await signed_in(game_server, "Ann")
    bob = await signed_in(game_server, "Bob")
    eve = await signed_in(game_server, "Eve")
    room = await create_room(ann, "t", 3)
    await bob.request({"msg": "join", "room": room})
    await eve.request({"msg": "join", "room": room, "as": "spectator"})
    await ann.request({"msg": "add_bot"})
    await play_to_end([ann, bob], room)

    assert leaks == []
    assert checked[0] > 20
    for message in eve.received:
        if message.get("msg") == "state":
            assert message["table"]["you"] is None
            assert "hand" not in (message["table"]["game_state"] or {})
    for client in (ann, bob, eve):
        check_all(client)
        await client.close()
