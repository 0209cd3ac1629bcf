"""When the move log cannot commit, moves are refused with `unavailable` and nothing changes;
play resumes once the database is back."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import OperationalError

from game_server.client import ServerError, choose
from game_server.storage.movelog import MoveLog

from sockjs_helpers import (check_all, create_room, latest_state, play_to_end,
                            signed_in, until_state)


@pytest.fixture
def database_down(monkeypatch):
    """A switch: while `down[0]` is True every commit of the move log fails."""
    down = [False]
    original = MoveLog._write_batch

    def failing(self, connection, batch, created):
        if down[0]:
            raise OperationalError("INSERT", {}, ConnectionError("database is unreachable"))
        return original(self, connection, batch, created)

    monkeypatch.setattr(MoveLog, "_write_batch", failing)
    return down


async def test_moves_are_refused_while_the_database_is_down(game_server_factory,
                                                            database_down):
    server = await game_server_factory(bot_delay=0.05)
    ann = await signed_in(server, "Ann")
    room = await create_room(ann, "fragile", 2)
    await ann.request({"msg": "add_bot"})
    state = await until_state(ann, lambda s: s["table"]["status"] == "playing"
                              and s["table"]["to_act"] == [0])
    before = latest_state(ann, room)

    database_down[0] = True
    with pytest.raises(ServerError) as refused:
        await ann.request(choose(state["table"]))
    assert refused.value.code == "unavailable"
    with pytest.raises(ServerError) as refused:
        await ann.request({"msg": "take"})  # protocol 1's name of the move: the same
    assert refused.value.code == "unavailable"
    with pytest.raises(ServerError) as refused:
        await ann.request({"msg": "move", "move": {"type": "take"}})
    assert refused.value.code == "unavailable"
    # The room is exactly as everyone last saw it.
    assert server.hub.lobby.get(room).seq == before["seq"]
    assert server.hub.lobby.get(room).view_for(0) == before["table"]
    # A new room cannot be created either, and leaves nothing behind.
    bob = await signed_in(server, "Bob")
    with pytest.raises(ServerError) as refused:
        await bob.request({"msg": "create", "game": "crazy_eights", "name": "x", "seats": 2})
    assert refused.value.code == "unavailable"
    assert [r["id"] for r in (await bob.request({"msg": "room_list"}))["rooms"]] == [room]

    database_down[0] = False
    after = await ann.request(choose(state["table"]))
    assert after["seq"] == before["seq"] + 1
    await play_to_end([ann], room)
    for client in (ann, bob):
        check_all(client)
        await client.close()


async def test_bots_wait_for_the_database_and_go_on(game_server_factory, database_down):
    server = await game_server_factory(bot_delay=1.0)
    ann = await signed_in(server, "Ann")
    room = await create_room(ann, "bots", 3)
    await ann.request({"msg": "add_bot"})
    await ann.request({"msg": "add_bot"})  # the room is full: the game starts
    started = await until_state(ann, lambda s: s["table"]["status"] == "playing")
    # Ann (seat 0) deals the first game, so the bot in seat 1 moves first, 1 s later.
    assert started["table"]["status"] == "playing" and started["table"]["to_act"] == [1]
    database_down[0] = True
    seq = server.hub.lobby.get(room).seq
    await asyncio.sleep(2.5)
    assert server.hub.lobby.get(room).seq == seq, "no bot move while nothing can be saved"
    assert latest_state(ann, room)["seq"] == seq
    database_down[0] = False
    # The bot tries again (once a second) and its move reaches Ann.
    moved = await until_state(ann, lambda s: s["seq"] > seq, timeout=10)
    assert moved["seq"] == seq + 1 and moved["event"]["seat"] == 1
    assert moved["event"]["type"] == "move"
    check_all(ann)
    await ann.close()
