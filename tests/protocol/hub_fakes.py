"""Fake edges and fake connections for driving a protocol `Hub` without sockets.

Like h11's `ConnectionPair`: a `Net` wires any number of `Client`s to one hub. A client's
`send` callable records every message the server sends it, and checks each one on the way in
(valid UTF-8 text, JSON, its server-to-client schema, no seq going back, a take's card only to
the taker), so no test can forget; the `net` fixture fails the test if any check failed.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any, Callable

from game_server.protocol import Hub, HubSettings
from game_server.protocol.schema import check_server
from game_server.tables import Lobby, Player

#: The users the fake user store knows, by id.
USERS = {1: "Ann", 2: "Bob", 3: "Cid", 4: "Dee", 5: "Eve", 6: "Fay", 7: "Gus"}
ANN, BOB, CID, DEE, EVE, FAY, GUS = range(1, 8)
#: A user id the fake token reader accepts but the fake user store does not know.
UNKNOWN_USER = 999
SEED = 1234
BAD_TOKEN = "not-a-token"


def token_for(user_id: int) -> str:
    return f"token-{user_id}"


def read_token(token: str) -> int:
    """The fake token reader: `token-<id>` means user <id>; anything else raises."""
    prefix, _, number = token.partition("-")
    if prefix != "token" or not number.isdigit():
        raise ValueError("invalid token")
    return int(number)


async def load_user(user_id: int) -> Player | None:
    """The fake user store: asynchronous, like the real one."""
    await asyncio.sleep(0)
    name = USERS.get(user_id)
    return Player(user_id, name) if name is not None else None


class FakeClock:
    """A clock for the rate limit. Each reading advances it by `step` seconds."""

    def __init__(self, now: float = 1000.0, step: float = 0.0) -> None:
        self.now = now
        self.step = step

    def __call__(self) -> float:
        now = self.now
        self.now += self.step
        return now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_hub(*, clock: Callable[[], float] | None = None, seed: int = SEED,
             **settings: Any) -> Hub:
    """A hub with fake edges. Bots move at once; by default the clock runs fast enough that
    no test is ever rate limited by accident. Every game is dealt from `seed`."""
    options = {"server_id": "test-hub", "bot_delay": 0.0, "grace_seconds": 30.0, **settings}
    lobby = Lobby(seeds=lambda: seed)
    hub = Hub(read_token=read_token, load_user=load_user, settings=HubSettings(**options),
              lobby=lobby, clock=clock if clock is not None else FakeClock(step=1.0))
    # Hub drops a lobby that is empty (test_hub_edges.py shows it); keep ours so that deals
    # follow `seed` and runs repeat exactly.
    hub.lobby = lobby
    return hub


class Client:
    """One fake connection to the hub, recording what it is sent."""

    def __init__(self, hub: Hub, name: str = "") -> None:
        self.hub = hub
        self.name = name
        self.messages: list[dict[str, Any]] = []
        self.closes: list[tuple[int, str]] = []
        self.problems: list[str] = []
        self.user_id: int | None = None
        self._seen = 0
        self._seq: dict[str, int] = {}
        #: Extra checks run on every message as it arrives: `check(text, message)`.
        self.checks: list[Callable[[str, dict[str, Any]], None]] = []
        self.peer = hub.connect(self._record, self._close, transport="fake")

    def __repr__(self) -> str:
        return f"<Client {self.name or '?'}>"

    # --- the edges the peer calls ------------------------------------------------------------

    def _record(self, text: str) -> None:
        try:
            assert isinstance(text, str), f"sent {type(text).__name__}, not text"
            text.encode("utf-8")  # SockJS carries UTF-8 text
            message = json.loads(text)
        except Exception as error:  # noqa: BLE001 - recorded, the test fails at teardown
            self.problems.append(f"unreadable message {text[:120]!r}: {error!r}")
            return
        try:
            check_server(message)
        except Exception as error:  # noqa: BLE001
            self.problems.append(f"{error} in {text[:300]}")
        self._check_state(message)
        for check in self.checks:
            try:
                check(text, message)
            except Exception as error:  # noqa: BLE001
                self.problems.append(f"{error!r} in {text[:300]}")
        self.messages.append(message)

    def _check_state(self, message: dict[str, Any]) -> None:
        if message.get("msg") != "state":
            return
        room, seq = message.get("room"), message.get("seq")
        last = self._seq.get(room)
        if last is not None and isinstance(seq, int):
            if "event" in message and seq <= last:
                self.problems.append(f"seq went from {last} to {seq} in {room}")
            if "event" not in message and seq < last:
                self.problems.append(f"seq went back from {last} to {seq} in {room}")
        if isinstance(seq, int):
            self._seq[room] = max(seq, last or 0)
        event, table = message.get("event") or {}, message.get("table") or {}
        if event.get("type") == "take" and "card" in event and event.get("seat") != table.get("you"):
            self.problems.append(f"a take by another seat names its card: {message}")
        if table.get("you") is None and "hand" in table:
            self.problems.append(f"a spectator got a hand: {message}")

    def _close(self, code: int, reason: str) -> None:
        self.closes.append((code, reason))

    # --- sending -------------------------------------------------------------------------------

    def send(self, message: dict[str, Any] | str) -> None:
        """Hand one SockJS message to the peer: a dict is encoded as JSON, text goes as is."""
        self.peer.receive(message if isinstance(message, str) else json.dumps(message))

    def request(self, msg: str, id: str | int | None = None, **fields: Any) -> None:
        message: dict[str, Any] = {"msg": msg, **fields}
        if id is not None:
            message["id"] = id
        self.send(message)

    # --- reading -------------------------------------------------------------------------------

    def mark(self) -> None:
        """Forget what was received so far, for `new()`."""
        self._seen = len(self.messages)

    def new(self) -> list[dict[str, Any]]:
        """Messages received since the last `mark()` (or `new()`), and mark."""
        fresh = self.messages[self._seen:]
        self._seen = len(self.messages)
        return fresh

    def unread(self, msg: str | None = None) -> list[dict[str, Any]]:
        """Messages received since the last mark (of one kind), without marking."""
        return [m for m in self.messages[self._seen:] if msg is None or m["msg"] == msg]

    def of(self, msg: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["msg"] == msg]

    @property
    def last(self) -> dict[str, Any]:
        return self.messages[-1]

    def states(self, room: str | None = None) -> list[dict[str, Any]]:
        return [m for m in self.messages
                if m["msg"] == "state" and (room is None or m["room"] == room)]

    @property
    def state(self) -> dict[str, Any]:
        """The last state received."""
        states = self.states()
        assert states, f"{self} got no state"
        return states[-1]

    @property
    def view(self) -> dict[str, Any]:
        return self.state["table"]

    @property
    def room(self) -> str:
        return self.state["room"]

    @property
    def seat(self) -> int | None:
        return self.view["you"]

    @property
    def my_turn(self) -> bool:
        view = self.view
        return view["status"] == "playing" and view["you"] is not None and view["turn"] == view["you"]

    def errors(self) -> list[dict[str, Any]]:
        return self.of("error")

    @property
    def closed(self) -> bool:
        return bool(self.closes)


def move_for(view: dict[str, Any]) -> dict[str, Any]:
    """A legal move for the seat whose view this is, as a client would choose it."""
    top, suit, hand = view["pile"][-1], view["suit"], view["hand"]
    for card in hand:
        if card[0] != "8" and (card[1] == suit or card[0] == top[0]):
            return {"msg": "put", "card": card}
    for card in hand:
        if card[0] == "8":
            counts = Counter(c[1] for c in hand if c[0] != "8")
            named = counts.most_common(1)[0][0] if counts else suit
            return {"msg": "put", "card": card, "suit": named}
    return {"msg": "take"}


async def until(condition: Callable[[], Any], timeout: float = 2.0, what: str = "") -> None:
    """Let the event loop run until `condition()` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    spins = 0
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        spins += 1
        await asyncio.sleep(0 if spins < 50 else 0.002)


class Net:
    """Any number of clients wired to one hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.clients: list[Client] = []

    def connect(self, name: str = "") -> Client:
        client = Client(self.hub, name)
        self.clients.append(client)
        return client

    async def login(self, user_id: int) -> Client:
        client = self.connect(USERS.get(user_id, str(user_id)))
        client.request("auth", token=token_for(user_id))
        await until(lambda: client.of("welcome") or client.errors(), what="welcome")
        assert client.of("welcome"), client.messages
        client.user_id = user_id
        await self.settle()
        client.mark()
        return client

    async def settle(self) -> None:
        """Let the loop run until no client receives anything more (bots done, lookups done)."""
        quiet = 0
        count = self._count()
        while quiet < 5:
            await asyncio.sleep(0)
            now = self._count()
            quiet = quiet + 1 if now == count else 0
            count = now

    def _count(self) -> int:
        return sum(len(c.messages) + len(c.closes) for c in self.clients)

    def mark(self) -> None:
        for client in self.clients:
            client.mark()

    async def create(self, owner: Client, seats: int = 3, name: str = "Table",
                     bots: int = 0) -> str:
        owner.request("create", game="crazy_eights", name=name, seats=seats)
        await self.settle()
        room = owner.room
        for _ in range(bots):
            owner.request("add_bot")
            await self.settle()
        return room

    async def join(self, client: Client, room: str, **fields: Any) -> None:
        client.request("join", room=room, **fields)
        await self.settle()
        assert client.last["msg"] == "state", client.last

    async def play(self, players: list[Client], until_done: Callable[[], bool] | None = None,
                   limit: int = 2000) -> None:
        """Let the people play (bots play by themselves) until the game ends or `until_done`."""
        await self.settle()
        for _ in range(limit):
            if until_done is not None and until_done():
                return
            mover = next((p for p in players if p.my_turn), None)
            if mover is None:
                status = players[0].view["status"]
                assert status != "playing" or until_done is not None, "no one can move"
                return
            mover.send(move_for(mover.view))
            await self.settle()
            assert mover.last["msg"] != "error", mover.last
        raise AssertionError("the game did not end")

    def problems(self) -> list[str]:
        return [f"{c}: {p}" for c in self.clients for p in c.problems]

    def table(self, room: str):
        table = self.hub.lobby.get(room)
        assert table is not None, f"no room {room}"
        return table


def snapshot(hub: Hub) -> dict[str, Any]:
    """Every room's seq and every view of it, to check that nothing changed."""
    rooms = {}
    for table in hub.lobby:
        seats = [None] + [s.number for s in table.seats if s is not None]
        rooms[table.id] = (table.seq, table.status, table.owner, sorted(table.spectators),
                           {seat: table.view_for(seat) for seat in seats})
    return rooms
