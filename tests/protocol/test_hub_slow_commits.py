"""The hub with a move log that commits slowly: changes wait for the commit, in order, and a
connection that goes away meanwhile is not left behind as connected."""

from __future__ import annotations

import asyncio
import json

from game_server.protocol import Hub, HubSettings
from game_server.tables import Player

USERS = {1: Player(1, "Ann"), 2: Player(2, "Bob")}


class SlowLog:
    """Each record waits until the test lets it through. Like the real move log, it commits
    the calls in order: a record finishes only after the one before it (the hub relies on
    that to send a room's states in seq order)."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        self.recorded: list = []
        self._last: asyncio.Future | None = None

    async def _wait(self, previous, actions):
        if previous is not None:
            await previous
        await self.gate.wait()
        self.recorded.extend(actions)

    def record(self, table, actions):
        self._last = asyncio.ensure_future(self._wait(self._last, list(actions)))
        return self._last

    def close_room(self, room_id):
        return None


async def make(log):
    async def load_user(user_id):
        return USERS.get(user_id)

    hub = Hub(read_token=int, load_user=load_user, move_log=log,
              settings=HubSettings(bot_delay=0, grace_seconds=60))
    boxes = {}
    peers = {}
    for user_id in USERS:
        boxes[user_id] = []
        peers[user_id] = hub.connect(boxes[user_id].append, lambda code, reason: None, "test")
        peers[user_id].receive(json.dumps({"msg": "auth", "protocol": 2,
                                           "token": str(user_id)}))
    await asyncio.sleep(0.01)
    return hub, peers, {k: (lambda box=box: [json.loads(m) for m in box]) for k, box in boxes.items()}


async def test_nothing_is_sent_before_the_commit_and_then_in_order():
    log = SlowLog()
    hub, peers, got = await make(log)
    log.gate.clear()
    peers[1].receive(json.dumps({"msg": "create", "id": 1, "game": "crazy_eights",
                                 "name": "slow", "seats": 2}))
    peers[1].receive(json.dumps({"msg": "add_bot", "id": 2}))
    await asyncio.sleep(0.05)
    assert [m["msg"] for m in got[1]()] == ["welcome", "room_list"], "nothing before commit"
    log.gate.set()
    await asyncio.sleep(0.05)
    states = [m for m in got[1]() if m["msg"] == "state"]
    assert [s["seq"] for s in states][:3] == [1, 2, 3]
    assert [s.get("re") for s in states][:3] == [1, 2, 2]
    # One action per request; an action records the seq after its last change (3: the
    # add_bot filled the room, so the same action also dealt).
    assert [a.seq for a in log.recorded][:2] == [1, 3]


async def test_a_connection_lost_during_the_commit_leaves_its_seat_disconnected():
    log = SlowLog()
    hub, peers, got = await make(log)
    peers[1].receive(json.dumps({"msg": "create", "game": "crazy_eights", "name": "r",
                                 "seats": 3}))
    await asyncio.sleep(0.02)
    room = [m for m in got[1]() if m["msg"] == "state"][-1]["room"]
    log.gate.clear()
    peers[2].receive(json.dumps({"msg": "join", "room": room}))
    await asyncio.sleep(0.02)
    peers[2].disconnected()  # gone while its join is being committed
    log.gate.set()
    await asyncio.sleep(0.05)
    table = hub.lobby.get(room)
    assert table.seats[1] is not None and table.seats[1].connected is False
    last = [m for m in got[1]() if m["msg"] == "state"][-1]
    assert last["event"] == {"type": "disconnect", "seat": 1}
