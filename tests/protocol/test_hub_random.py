"""Random sessions against one hub: several users with one or two connections each create
Crazy Eights rooms, join, watch, leave, add bots, start, play (legal and illegal moves of both
games, `move` and protocol 1's `take`/`put`), send garbage, drop connections and come back,
while grace periods run out; two more users play a Hearts match with two bots alongside.

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

from hub_fakes import FAY, GUS, USERS, Client, Net, guard_hidden_cards, move_for

#: Grace periods that end at the next turn of the event loop, or never: either way the
#: session plays out the same on every run, however slow the machine.
GRACES = [0.0, 3600.0]
GARBAGE = ["{", "[]", '{"msg":"put","card":"XX"}', '{"msg":"join","room":"ab"}',
           '{"msg":"auth","token":"token-1"}', '{"msg":"auth","protocol":2,"token":"token-1"}',
           '{"msg":"move","move":{"type":"put","card":"XX"}}', '{"msg":"move","move":[]}',
           '{"msg":"move","move":{"type":"pass","cards":["2C","3C","4C"]}}',
           '{"msg":"nope"}', "x" * 5000]


class Session:
    def __init__(self, net: Net, rng: random.Random) -> None:
        self.net = net
        self.rng = rng
        self.connections: dict[int, list[Client]] = {user: [] for user in list(USERS)[:5]}
        #: Connections that only make moves when it is their turn (not picked for actions).
        self.movers: list[Client] = []
        self.log: list[str] = []

    async def connect(self, user: int) -> Client:
        client = await self.net.login(user)
        guard_hidden_cards(self.net.hub, client)
        self.connections[user].append(client)
        return client

    async def connect_mover(self, user: int) -> Client:
        client = await self.net.login(user)
        guard_hidden_cards(self.net.hub, client)
        self.movers.append(client)
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
            # None: the game's usual size; 1, 8 and a Hearts room of 3: refused.
            game, seats = rng.choice([("crazy_eights", None), ("crazy_eights", 1),
                                      ("crazy_eights", 2), ("crazy_eights", 3),
                                      ("crazy_eights", 4), ("crazy_eights", 8), ("hearts", 3)])
            client.request("create", id="c", game=game, name=f"Room of {user}",
                           **({"seats": seats} if seats is not None else {}))
        elif action in ("join", "watch") and rooms:
            fields = {"as": "spectator"} if action == "watch" else {}
            client.request("join", id="j", room=rng.choice(rooms + ["nosuchroom"]), **fields)
        elif action in ("leave", "add_bot", "start", "room_list"):
            client.request(action, id=action)
        elif action == "move":
            # Someone whose turn it is plays a legal move (else this client tries to take).
            movers = [c for cs in self.connections.values() for c in cs if self._may_move(c)]
            others = [c for c in self.movers if self._may_move(c)]
            if others and (not movers or rng.random() < 0.25):
                movers = others
            if movers:
                mover = rng.choice(movers)
                # Now and then as protocol 1's `take`/`put`.
                alias = mover.view["game"] == "crazy_eights" and rng.random() < 0.2
                mover.send({**move_for(mover.view, alias=alias), "id": "m"})
            else:
                client.move({"type": "take"}, id="t")
        elif action == "bad_move":
            hand = (client.hand if client.states() else None) or []
            card = rng.choice(hand) if hand else rng.choice(["QH", "8S", "2C"])
            move = rng.choice([
                {"type": "put", "card": card, **({"suit": "H"} if rng.random() < .5 else {})},
                {"type": "play", "card": card},
                {"type": "pass", "cards": (hand + ["2C", "3C", "4C"])[:3]},
                {"type": "pass", "cards": [card, card, card]},
            ])
            if move["type"] == "put" and rng.random() < 0.5:
                client.request("put", id="b", **{k: v for k, v in move.items() if k != "type"})
            else:
                client.move(move, id="b")
        elif action == "garbage":
            client.send(rng.choice(GARBAGE))
        elif action == "drop":
            clients.remove(client)
            client.peer.disconnected()
        await self.net.settle()

    def _may_move(self, client: Client) -> bool:
        return (self._playing_in(client) and client.room == self._room_of(client)
                and client.my_turn)

    def _room_of(self, client: Client) -> str | None:
        table = self.net.hub.engine.room_of(client.peer.id)
        return table.id if table is not None else None

    def _playing_in(self, client: Client) -> bool:
        """True if the client's connection holds a seat (not a spectator) in its room."""
        table = self.net.hub.engine.room_of(client.peer.id)
        return (table is not None and client.user_id is not None
                and table.is_seated(client.user_id) and bool(client.states())
                and client.view["you"] is not None)

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
            table = hub.engine.room_of(peer.id)
            if peer.closed or table is None:
                continue
            assert hub.lobby.get(table.id) is table, "a connection in a closed room"
            states = client.states(table.id)
            assert states, f"{client} is in {table.id} but got no state"
            last = states[-1]
            assert last["seq"] == table.seq, (client, last["seq"], table.seq, self.log[-10:])
            # The last view says which seat the connection plays (None: it watches).
            seat = last["table"]["you"]
            if seat is not None:
                assert table.seat_of(peer.user.id) == seat, (client, self.log[-10:])
            assert last["table"] == table.view_for(seat), (
                f"{client} was not told of a change: {self.log[-10:]}")


@pytest.mark.parametrize("seed", range(8))
async def test_random_sessions_keep_every_promise(nets, seed: int) -> None:
    net = nets(grace_seconds=GRACES[seed % 2], seed=seed)
    session = Session(net, random.Random(seed))
    for user in session.connections:
        await session.connect(user)
    # Besides, Fay and Gus play a Hearts match with two bots from the start (a room of four
    # seldom fills by chance), so that several players act at once; they only ever move.
    fay, gus = await session.connect_mover(FAY), await session.connect_mover(GUS)
    hearts = await net.create(fay, seats=None, game="hearts", bots=2)
    await net.join(gus, hearts)
    assert fay.view["status"] == "playing"
    for _ in range(250):
        await session.step()
        session.check()
    # The session did play: games were dealt and cards put.
    events = {(m["room"], m["seq"]): (m["table"]["game"], m["event"]) for c in net.clients
              for m in c.states() if "event" in m}
    starts = [game for game, event in events.values() if event["type"] == "start"]
    moves = [game for game, event in events.values() if event["type"] == "move"]
    assert "crazy_eights" in starts and "hearts" in starts
    assert moves.count("crazy_eights") >= 5 and moves.count("hearts") > 20

