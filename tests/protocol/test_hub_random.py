"""Random sessions against one hub: several users with one or two connections each create,
join, watch, leave, add bots, start, play (legal and illegal moves), send garbage, drop
connections and come back, while grace periods run out.

After every step the test checks what must always hold:
- no message is ever an `internal` error, nothing is logged as an ERROR, and every message
  matches its schema (the recording clients check that);
- every connection in a room has been told the room's current seq, and the last view it got
  is exactly what the table shows it now (so nothing visible changed without a state);
- a user plays in person in at most one room; a room with no person in it is closed;
- no state ever shows one player another player's cards (checked against the server's game).
"""

from __future__ import annotations

import random

import pytest

from hub_fakes import USERS, Client, Net, move_for
from test_hub_game import guard_hidden_cards

#: Grace periods that end at the next turn of the event loop, or never: either way the
#: session plays out the same on every run, however slow the machine.
GRACES = [0.0, 3600.0]
GARBAGE = ["{", "[]", '{"msg":"put","card":"XX"}', '{"msg":"join","room":"ab"}',
           '{"msg":"auth","token":"token-1"}', '{"msg":"nope"}', "x" * 5000]


class Session:
    def __init__(self, net: Net, rng: random.Random) -> None:
        self.net = net
        self.rng = rng
        self.connections: dict[int, list[Client]] = {user: [] for user in list(USERS)[:5]}
        self.log: list[str] = []

    async def connect(self, user: int) -> Client:
        client = await self.net.login(user)
        guard_hidden_cards(self.net, client)
        self.connections[user].append(client)
        return client

    def rooms(self) -> list[str]:
        return [table.id for table in self.net.hub.lobby]

    async def step(self) -> None:
        rng = self.rng
        user = rng.choice(list(self.connections))
        clients = self.connections[user]
        if not clients or (len(clients) < 2 and rng.random() < 0.05):
            await self.connect(user)
            self.log.append(f"{user} connects")
            return
        client = rng.choice(clients)
        action = rng.choices(
            ["create", "join", "watch", "leave", "add_bot", "start", "move", "bad_move",
             "garbage", "drop", "room_list"],
            weights=[3, 6, 2, 2, 3, 3, 40, 3, 1, 2, 1])[0]
        self.log.append(f"{user} {action}")
        rooms = self.rooms()
        if action == "create":
            client.request("create", id="c", game="crazy_eights", name=f"Room of {user}",
                           seats=rng.randint(2, 4))
        elif action in ("join", "watch") and rooms:
            fields = {"as": "spectator"} if action == "watch" else {}
            client.request("join", id="j", room=rng.choice(rooms + ["nosuchroom"]), **fields)
        elif action in ("leave", "add_bot", "start", "room_list"):
            client.request(action, id=action)
        elif action == "move":
            # Someone whose turn it is plays a legal move (else this client tries to take).
            movers = [c for cs in self.connections.values() for c in cs
                      if c.peer.room is not None and c.peer.playing and c.states()
                      and c.room == c.peer.room.id and c.my_turn]
            if movers:
                mover = rng.choice(movers)
                mover.send({**move_for(mover.view), "id": "m"})
            else:
                client.request("take", id="t")
        elif action == "bad_move":
            hand = client.view.get("hand") if client.states() else None
            card = rng.choice(hand) if hand else rng.choice(["QH", "8S", "2C"])
            client.request("put", id="b", card=card, **({"suit": "H"} if rng.random() < .5 else {}))
        elif action == "garbage":
            client.send(rng.choice(GARBAGE))
        elif action == "drop":
            clients.remove(client)
            client.peer.disconnected()
        await self.net.settle()

    def check(self) -> None:
        hub = self.net.hub
        for client in self.net.clients:
            internal = [m for m in client.errors() if m["code"] == "internal"]
            assert not internal, (client, self.log[-10:])
        seated: dict[int, list[str]] = {}
        for table in hub.lobby:
            assert table.humans > 0, f"room {table.id} has no person but is open"
            for seat in table.seats:
                if seat is not None and seat.player is not None and seat.human:
                    seated.setdefault(seat.player.id, []).append(table.id)
        for user, rooms in seated.items():
            assert len(rooms) == 1, f"user {user} plays in {rooms}: {self.log[-10:]}"
        for client in self.net.clients:
            peer = client.peer
            if peer.closed or peer.room is None:
                continue
            table = peer.room
            assert hub.lobby.get(table.id) is table, "a connection in a closed room"
            states = client.states(table.id)
            assert states, f"{client} is in {table.id} but got no state"
            last = states[-1]
            assert last["seq"] == table.seq, (client, last["seq"], table.seq, self.log[-10:])
            seat = table.seat_of(peer.user.id) if peer.playing else None
            assert last["table"] == table.view_for(seat), (
                f"{client} was not told of a change: {self.log[-10:]}")


@pytest.mark.parametrize("seed", range(8))
async def test_random_sessions_keep_every_promise(nets, seed: int) -> None:
    net = nets(grace_seconds=GRACES[seed % 2], seed=seed)
    session = Session(net, random.Random(seed))
    for user in session.connections:
        await session.connect(user)
    for _ in range(250):
        await session.step()
        session.check()
    # The session did play: games were dealt and cards put.
    events = [m["event"]["type"] for c in net.clients for m in c.states() if "event" in m]
    assert events.count("start") >= 2 and events.count("put") > 20

