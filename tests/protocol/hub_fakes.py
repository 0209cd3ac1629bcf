"""Fake edges and fake connections for driving a protocol `Hub` without sockets.

Like h11's `ConnectionPair`: a `Net` wires any number of `Client`s to one hub. A client's
`send` callable records every message the server sends it, and checks each one on the way in
(valid UTF-8 text, JSON, its server-to-client schema with the game's own payloads, no seq
going back, a move's private details only to the player they belong to, no hand for a
spectator), so no test can forget; the `net` fixture fails the test if any check failed.
`guard_hidden_cards` adds a check against the game on the server.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any, Callable

from game_server.protocol import Hub, HubSettings
from game_server.protocol.schema import check_server
from game_server.rules import GAMES
from game_server.tables import Lobby, Player

#: The protocol version the fake clients speak.
PROTOCOL = 2
#: The users the fake user store knows, by id.
USERS = {1: "Ann", 2: "Bob", 3: "Cid", 4: "Dee", 5: "Eve", 6: "Fay", 7: "Gus"}
ANN, BOB, CID, DEE, EVE, FAY, GUS = range(1, 8)
#: A user id the fake token reader accepts but the fake user store does not know.
UNKNOWN_USER = 999
SEED = 1234
BAD_TOKEN = "not-a-token"

#: Fields of a game's move events that only some receivers may get: (game, move type) ->
#: field -> who: "mover" (only the player who moved) or "player" (any player, never a
#: spectator). Crazy Eights names a card taken only to the taker; in Hearts the cards chosen
#: go only to the passer, and each player is told the cards they received.
PRIVATE_EVENT_FIELDS: dict[tuple[str, str], dict[str, str]] = {
    ("crazy_eights", "take"): {"card": "mover"},
    ("hearts", "pass"): {"cards": "mover", "received": "player"},
}
#: Fields of a game view only a player's own view may have.
PRIVATE_VIEW_FIELDS = ("hand", "passing", "received")


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
    no test is ever rate limited by accident. Every game is dealt from `seed`.

    The hub's timers (bot delays, grace periods) run on the same clock: the default fake clock
    jumps a second at every reading, so a delay under a second passes at once. A test that
    measures a delay passes a real clock (`clock=time.monotonic`)."""
    options = {"server_id": "test-hub", "bot_delay": 0.0, "grace_seconds": 30.0, **settings}
    return Hub(read_token=read_token, load_user=load_user, settings=HubSettings(**options),
               lobby=Lobby(seeds=lambda: seed),
               clock=clock if clock is not None else FakeClock(step=1.0))


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
            check_server(message)  # the message's schema, and the game's for its payloads
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
        you = table.get("you")
        move = event.get("move") if event.get("type") == "move" else None
        if isinstance(move, dict):
            private = PRIVATE_EVENT_FIELDS.get((table.get("game"), move.get("type")), {})
            for field, who in private.items():
                if field not in move:
                    continue
                if (who == "mover" and event.get("seat") != you) or you is None:
                    self.problems.append(f"{field} of a {move.get('type')} by seat "
                                         f"{event.get('seat')} sent to seat {you}: {message}")
        state = table.get("game_state")
        if you is None and isinstance(state, dict):
            shown = [field for field in PRIVATE_VIEW_FIELDS if field in state]
            if shown:
                self.problems.append(f"a spectator got {shown}: {message}")

    def _close(self, code: int, reason: str) -> None:
        self.closes.append((code, reason))

    # --- sending -------------------------------------------------------------------------------

    def send(self, message: dict[str, Any] | str) -> None:
        """Hand one SockJS message to the peer: a dict is encoded as JSON, text goes as is."""
        self.peer.receive(message if isinstance(message, str) else json.dumps(message))

    def request(self, msg: str, id: str | int | None = None, **fields: Any) -> None:
        """Send `{"msg": msg, **fields}` (with `id` if given). An `auth` names protocol 2
        unless `fields` has a `protocol` of its own; send a dict to leave it out."""
        message: dict[str, Any] = {"msg": msg}
        if msg == "auth" and "protocol" not in fields:
            message["protocol"] = PROTOCOL
        message.update(fields)
        if id is not None:
            message["id"] = id
        self.send(message)

    def move(self, move: dict[str, Any], id: str | int | None = None) -> None:
        """Send a game move: `{"msg": "move", "move": move}`."""
        self.request("move", id=id, move=move)

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
        """The table view of the last state."""
        return self.state["table"]

    @property
    def game(self) -> dict[str, Any] | None:
        """The game's own view (`game_state`) of the last state."""
        return self.view["game_state"]

    @property
    def hand(self) -> list[str] | None:
        """This player's cards in the last state (None for a spectator or before a deal)."""
        game = self.game
        return game.get("hand") if game is not None else None

    @property
    def room(self) -> str:
        return self.state["room"]

    @property
    def seat(self) -> int | None:
        return self.view["you"]

    @property
    def player(self) -> int | None:
        """This client's player number in the game (game order), or None."""
        view = self.view
        return view["players"].index(view["you"]) if view["you"] in view["players"] else None

    @property
    def my_turn(self) -> bool:
        """True if the last state says this client's seat may move now."""
        view = self.view
        return (view["status"] == "playing" and view["you"] is not None
                and view["you"] in view["to_act"])

    def errors(self) -> list[dict[str, Any]]:
        return self.of("error")

    @property
    def closed(self) -> bool:
        return bool(self.closes)


def crazy_eights_move(state: dict[str, Any]) -> dict[str, Any]:
    """A legal Crazy Eights move for the player whose game view this is: a matching card
    that is not an eight, else an eight naming the suit held most (ties: the first held),
    else take. Deterministic, unlike choices that go through a set."""
    top, suit, hand = state["pile"][-1], state["suit"], state["hand"]
    for card in hand:
        if card[0] != "8" and (card[1] == suit or card[0] == top[0]):
            return {"type": "put", "card": card}
    for card in hand:
        if card[0] == "8":
            counts = Counter(c[1] for c in hand if c[0] != "8")
            named = counts.most_common(1)[0][0] if counts else suit
            return {"type": "put", "card": card, "suit": named}
    return {"type": "take"}


def move_for(view: dict[str, Any], alias: bool = False) -> dict[str, Any]:
    """The message a client sends to make a legal move from its table `view`, asked when it
    may act: `{"msg": "move", "move": ...}`, or with `alias` protocol 1's `take`/`put`
    (Crazy Eights only). Crazy Eights moves come from `crazy_eights_move`, other games' from
    the game's own `move_from_view`."""
    game, state = view["game"], view["game_state"]
    if game == "crazy_eights":
        move = crazy_eights_move(state)
    else:
        move = GAMES[game].move_from_view(state)
    assert move is not None, f"no move from {state}"
    if alias:
        assert move["type"] in GAMES[game].MOVE_MESSAGES, f"{game} has no alias for {move}"
        return {"msg": move["type"], **{k: v for k, v in move.items() if k != "type"}}
    return {"msg": "move", "move": move}


def guard_hidden_cards(hub: Hub, client: Client) -> None:
    """Check each state `client` receives against the game on the server at that moment: it
    holds no card only another player may see (their hand, a pass they chose), except the
    cards this client passed itself (the receiver of a pass holds them now) and the card its
    event plays; and a state that is the room's latest shows the client's hand exactly as
    the server has it."""
    known: dict[str, set[str]] = {}  # per room, the cards this client passed this deal

    def check(text: str, message: dict[str, Any]) -> None:
        if message["msg"] != "state":
            return
        room = message["room"]
        view = message["table"]
        you = view["you"]
        event = message.get("event") or {}
        move = event.get("move") or {}
        passed = known.setdefault(room, set())
        if event.get("type") == "start" or "next_deal" in move:
            passed.clear()
        if move.get("type") == "pass" and event.get("seat") == you:
            passed.update(move.get("cards", ()))
        # A card played is public; when the play ended the deal, it may already be in a hand
        # of the next deal, which this state does not show.
        public = {move["card"]} if move.get("type") in ("put", "play") else set()
        state = view["game_state"] or {}
        passed.update(state.get("passing") or ())
        table = hub.lobby.get(room)
        if table is None or table.game is None or view["status"] != "playing":
            return  # after the end, every hand may be shown
        mine = table.player_of(you) if view["players"] == table.players else None
        for index, seat in enumerate(table.players):
            if index == mine:
                continue
            secret = {str(card) for card in table.game.secret(index)} - passed - public
            shown = sorted(card for card in secret if f'"{card}"' in text)
            assert not shown, f"seat {seat}'s cards {shown} sent to {client} (seat {you})"
        if message["seq"] == table.seq and mine is not None:
            assert state.get("hand") == [str(card) for card in table.game.hand(mine)], (
                f"{client} was shown {state.get('hand')}")

    client.checks.append(check)


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

    async def create(self, owner: Client, seats: int | None = 3, name: str = "Table",
                     bots: int = 0, game: str = "crazy_eights") -> str:
        """`owner` creates a room of `game` (`seats` None: the game's default) and adds
        `bots` bots; returns the room's id."""
        fields: dict[str, Any] = {"game": game, "name": name}
        if seats is not None:
            fields["seats"] = seats
        owner.request("create", **fields)
        await self.settle()
        assert owner.last["msg"] == "state", owner.last
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
                   limit: int = 5000, alias: bool = False) -> int:
        """Let the people play (bots play by themselves) until the game ends or `until_done`;
        `alias` sends Crazy Eights moves as protocol 1's `take`/`put`. Returns the number of
        moves the people made."""
        await self.settle()
        for moves in range(limit):
            if until_done is not None and until_done():
                return moves
            mover = next((p for p in players if p.my_turn), None)
            if mover is None:
                status = players[0].view["status"]
                assert status != "playing" or until_done is not None, "no one can move"
                return moves
            mover.send(move_for(mover.view, alias=alias))
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
    """Everything an error must leave as it was: every room's seq, status, owner, spectators,
    committed actions and the view of every seat and of a spectator; which room each
    connection is in; and the timers set."""
    rooms = {}
    for table in hub.lobby:
        seats = [None] + [s.number for s in table.seats if s is not None]
        rooms[table.id] = (table.seq, table.status, table.owner, sorted(table.spectators),
                           len(table.history) + len(table.journal),
                           {seat: table.view_for(seat) for seat in seats})
    where = {}
    for conn in hub.peers:
        room = hub.engine.room_of(conn)
        where[conn] = room.id if room is not None else None
    return {"rooms": rooms, "connections": where,
            "timers": sorted(map(repr, hub.timers.pending()))}
