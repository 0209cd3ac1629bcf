"""Quick play across two game servers (the in-process directory and SQLite of
test_hosting.py): a player on the other server is sent, by a `redirect`, to the waiting
quick-play room with the most players, wherever it is hosted, and sits in it there; and a
room with a turn clock taken over by the other server keeps its deadlines."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_hosting import TTL, servers  # noqa: E402,F401 - the two servers' fixture


async def test_quick_play_finds_the_room_on_the_other_server(servers) -> None:  # noqa: F811
    one, two, clock = servers
    ann = await one.client(1)
    reply = await ann.send(msg="quick_play", game="crazy_eights")
    assert reply["msg"] == "state", reply
    room = reply["room"]
    assert one.hub.lobby.get(room).quick
    await one.hosting.beat()  # the directory hears of the room
    listed = [r for r in (await two.hub.room_list())["rooms"] if r["id"] == room]
    assert listed and listed[0]["quick"] is True and listed[0]["server"] == "game-1"
    # Bob, on the other server, is sent to Ann's room rather than given one of his own.
    bob = await two.client(2)
    reply = await bob.send(msg="quick_play", game="crazy_eights")
    assert reply["msg"] == "redirect", reply
    assert (reply["room"], reply["server"]) == (room, "game-1")
    assert len(two.hub.lobby) == 0
    # Following the redirect, he sends quick_play again where the room is, and sits in it.
    bob = await one.client(2)
    reply = await bob.send(msg="quick_play", game="crazy_eights")
    assert reply["msg"] == "state" and reply["room"] == room, reply
    assert one.hub.lobby.get(room).taken == 2
    # Another game has no waiting quick room anywhere: one is opened.
    cid = await two.client(3)
    reply = await cid.send(msg="quick_play", game="hearts")
    assert reply["msg"] in ("state", "redirect"), reply
    if reply["msg"] == "state":
        assert reply["room"] != room and reply["table"]["game"] == "hearts"


async def test_a_taken_over_room_keeps_its_turn_clocks(servers) -> None:  # noqa: F811
    one, two, clock = servers
    ann = await one.client(1)
    state = await ann.send(msg="create", game="crazy_eights", name="Timed", seats=2,
                           clock={"move": 30, "bank": 60})
    room = state["room"]
    bob = await one.client(2)
    await bob.send(msg="join", room=room)
    await one.hub.flush(5.0)
    before = one.hub.lobby.get(room).clock_deadlines()
    assert before
    # game-1 dies; game-2 replays the room from the log: the same deadlines, not new ones.
    clock.now += TTL + 1
    await two.hosting.beat()
    taken = two.hub.lobby.get(room)
    assert taken is not None and taken.clock_deadlines() == before
    seat, at = next(iter(before.items()))
    assert two.hub.engine.deadline(("clock", room, seat)) == at
