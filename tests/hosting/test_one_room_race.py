"""The one-room rule across two servers sharing a directory (issue 12, item 5): a user's
requests on both servers at once end with the user in one seat, because the seat is claimed
in the directory before the user sits down, and released when the sit-down fails.

Uses tests/hosting/test_hosting.py's two in-process servers."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from test_hosting import Server, servers, settle  # noqa: E402,F401  (a fixture, used by name)


def seated(user: int, *among: Server) -> list[str]:
    return [table.id for server in among for table in server.hub.lobby
            if table.is_seated(user)]


async def test_parallel_joins_on_two_servers_end_with_one_seat(servers) -> None:
    a, b, _ = servers
    bob, cid = await a.client(2), await b.client(3)
    on_a = (await bob.send(msg="create", game="crazy_eights", name="On A", seats=2))["room"]
    on_b = (await cid.send(msg="create", game="crazy_eights", name="On B", seats=2))["room"]
    await settle(a, b)
    ann_a, ann_b = await a.client(1), await b.client(1)
    replies = await asyncio.gather(ann_a.send(msg="join", room=on_a),
                                   ann_b.send(msg="join", room=on_b))
    await settle(a, b)
    assert len(seated(1, a, b)) == 1, replies
    assert sorted(reply["msg"] for reply in replies) == ["error", "state"], replies
    error = next(reply for reply in replies if reply["msg"] == "error")
    assert error["code"] == "already_in_room"
    playing = [t for s in (a, b) for t in s.hub.lobby if t.status.value == "playing"]
    assert len(playing) == 1
    # The loser's claim was released, the winner's stands.
    room = seated(1, a, b)[0]
    host = "game-1" if a.hub.lobby.get(room) else "game-2"
    assert await a.directory.seat_of(1) == f"{room}@{host}"


async def test_a_user_seated_on_one_server_cannot_sit_down_on_another(servers) -> None:
    """Even while the room waits for players (the heartbeat claimed only running games)."""
    a, b, _ = servers
    ann = await a.client(1)
    mine = (await ann.send(msg="create", game="crazy_eights", name="Mine", seats=3))["room"]
    cid = await b.client(3)
    theirs = (await cid.send(msg="create", game="crazy_eights", name="Theirs", seats=2))["room"]
    ann_on_b = await b.client(1)
    reply = await ann_on_b.send(msg="join", room=theirs)
    assert reply["msg"] == "error" and reply["code"] == "already_in_room", reply
    assert mine in reply["text"]
    reply = await ann_on_b.send(msg="create", game="hearts", name="Second")
    assert reply["code"] == "already_in_room", reply
    # Once she leaves, the seat is free everywhere, at once.
    assert (await ann.send(msg="leave"))["msg"] == "left"
    reply = await ann_on_b.send(msg="join", room=theirs)
    assert reply["msg"] == "state", reply
    assert seated(1, a, b) == [theirs]


async def test_thirty_parallel_creates_on_two_servers_leave_one_room(servers) -> None:
    a, b, _ = servers
    conns = [await (a if n % 2 else b).client(1) for n in range(30)]
    replies = await asyncio.gather(*(
        conn.send(msg="create", game="hearts", name=f"Room {n}") for n, conn in enumerate(conns)))
    await settle(a, b)
    assert len(seated(1, a, b)) == 1, [reply.get("code", reply["msg"]) for reply in replies]
    assert len(a.hub.lobby) + len(b.hub.lobby) == 1
    assert {reply.get("code") for reply in replies if reply["msg"] == "error"} <= {
        "already_in_room"}


async def test_a_refused_sit_down_releases_the_claim(servers) -> None:
    a, b, _ = servers
    ann, bob = await a.client(1), await a.client(2)
    full = (await ann.send(msg="create", game="crazy_eights", name="Full", seats=2))["room"]
    await ann.send(msg="add_bot")
    cid = await b.client(3)
    reply = await cid.send(msg="join", room=full)  # redirected: the room is on A
    cid_on_a = await a.client(3)
    reply = await cid_on_a.send(msg="join", room=full)
    assert reply["code"] == "game_started", reply
    assert await a.directory.seat_of(3) is None
    assert bob is not None
