"""Properties of the protocol layer under random input (issue 12, "Properties and soak").

A Hypothesis state machine drives one `Hub` through in-memory connections (no sockets): three
users who play (Ann with two connections), one who watches, and one connection that never
signed in. Each step is one input on one connection: a schema-shaped message of any client type
(`auth`, `room_list`, `create`, `join`, `leave`, `start`, `add_bot`, `move` with each game's
move shapes, protocol 1's `take`/`put`), often spoilt (wrong types, integers past 2^53, deep
nesting, unknown fields, NUL, RLO, lone surrogates escaped in JSON, emoji), or raw framing
garbage (text that is not JSON, JSON that is not an object, values that are not text); or a
run of legal moves. Every run starts from a room of a registered game (`rules.GAMES`) in one of
the states lobby (no room), waiting, playing and finished.

After every input the machine checks:
- every message any connection got is valid UTF-8 JSON and matches its server schema, with the
  game's payloads (hub_fakes.Client), and nothing was logged at ERROR;
- the input got an answer: framing garbage `bad_json`, more than 4 KiB `too_large`, a message
  its schema refuses (jsonschema, independently of the fast path) `bad_message`, anything but
  `auth` before signing in `auth_required`; no answer is ever `internal`; an error echoes the
  request's `id` as `re` when it has a usable one;
- on an error, the sender got that one error and no other connection got anything, and no room,
  membership or timer changed (hub_fakes.snapshot);
- table invariants: seat counts, each card exactly once (Crazy Eights: deck, pile and hands;
  Hearts: hands, trick and tricks taken), a user seated in person in one room at most, and every
  connection in a room was told the room's current `seq` with exactly the view its seat may see
  (`Table.view_for`), never another seat's cards (hub_fakes.guard_hidden_cards).

Bounded for the default suite: Hearts matches end after one deal (MATCH_POINTS patched to 1),
30 examples of up to 20 steps (about 5-15 s); no example database is written (`database=None`).
A failure prints the steps, each input as sent and what its sender got.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from game_server.protocol import lobby_push, schema
from game_server.protocol.errors import ERROR_CODES
from game_server.protocol.peer import MAX_MESSAGE_BYTES, request_id
from game_server.rules import FULL_DECK, GAMES, hearts
from hub_fakes import (ANN, BAD_TOKEN, BOB, CID, DEE, UNKNOWN_USER, Client, Net, guard_hidden_cards,
                       make_hub, move_for, snapshot, token_for)

#: Passing takes seconds; shrinking a failure to its minimal example can take a minute or two.
pytestmark = pytest.mark.timeout(600)

SAFE = 2**53 - 1
CARDS = [str(card) for card in FULL_DECK]
GAME_NAMES = sorted(GAMES)

#: The connections, by index: the machine's steps name them by these numbers.
CONNECTIONS = ("ann", "ann2", "bob", "cid", "dee (spectator)", "anon")
ANON = CONNECTIONS.index("anon")
SPECTATOR = CONNECTIONS.index("dee (spectator)")
USER_OF = {0: ANN, 1: ANN, 2: BOB, 3: CID, 4: DEE}

#: Placeholders a generated message may hold, filled in when it is sent: "@room0" is the first
#: room of the lobby (a room id that does not exist if there are fewer), "@card3" the sender's
#: fourth card (any card if it holds fewer). Steps stay readable and reproducible.
ROOM_REFS = [f"@room{i}" for i in range(3)]
CARD_REFS = [f"@card{i}" for i in range(8)]

# --- values ------------------------------------------------------------------------------------

UNICODE_EDGES = ["\x00", "\u202e", "\u200b", "\ud800", "\udfff", "\U0001f0a1", "\U0001f469\u200d"
                 "\U0001f4bb", "\ufeff", "\n", "\x1b[31m", "\u0085", "\uffff", "e\u0301"]


def _deep(depth: int, inner: Any = 1) -> Any:
    value = inner
    for _ in range(depth):
        value = [value]
    return value


def _odd_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=12),
        st.lists(st.sampled_from(UNICODE_EDGES + ["a", " ", "QH"]), min_size=1, max_size=6)
          .map("".join),
        st.just("Z" * 5000),
    )


WILD: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(),
    st.sampled_from([0, -1, 4.0, 2.5, SAFE, SAFE + 1, -SAFE - 1, 2**63, 2**64, -(2**64),
                     10**400, float("nan"), float("inf")]),
    st.integers(),
    _odd_text(),
    st.sampled_from(CARDS[:3] + ["8S", "QX", "deck", "player", "spectator", "take", "put",
                                 "pass", "play", *ROOM_REFS, *CARD_REFS]),
    st.integers(1, 700).map(_deep),
    st.lists(st.sampled_from(CARD_REFS + CARDS[:4]), max_size=4),
    st.dictionaries(st.sampled_from(["type", "card", "x", "msg", ""]), st.integers(), max_size=2),
)

IDS = st.one_of(st.integers(-SAFE, SAFE), st.text(min_size=1, max_size=64))
CARD = st.one_of(st.sampled_from(CARD_REFS), st.sampled_from(CARDS))
SUIT = st.sampled_from("CDHS")
NAME = st.one_of(st.sampled_from(["Table", "Friday game", "  \uff26\ufb01ne  ", "\u3164",
                                  "\U0001f0a1" * 40]),
                 _odd_text().map(lambda text: text[:40]))


def _move(game: str) -> st.SearchStrategy[dict[str, Any]]:
    if game == "crazy_eights":
        return st.one_of(
            st.just({"type": "take"}), st.just({"type": "take", "from": "deck"}),
            st.builds(lambda card: {"type": "put", "card": card}, CARD),
            st.builds(lambda card, suit: {"type": "put", "card": card, "suit": suit}, CARD, SUIT))
    if game == "hearts":
        return st.one_of(
            st.builds(lambda card: {"type": "play", "card": card}, CARD),
            st.lists(CARD, min_size=3, max_size=3, unique=True)
              .map(lambda cards: {"type": "pass", "cards": cards}))
    raise AssertionError(f"no move shapes for {game}: add them here")


ANY_MOVE = st.one_of(*(_move(game) for game in GAME_NAMES))

SHAPES: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "auth": st.builds(lambda token: {"msg": "auth", "protocol": 2, "token": token},
                      st.one_of(st.sampled_from([token_for(u) for u in (ANN, BOB, CID, DEE,
                                                                        UNKNOWN_USER)]
                                                + [BAD_TOKEN]), st.text(min_size=1))),
    "room_list": st.just({"msg": "room_list"}),
    "create": st.builds(
        lambda game, name, seats: {"msg": "create", "game": game, "name": name,
                                   **({"seats": seats} if seats is not None else {})},
        st.sampled_from(GAME_NAMES + ["chess"]), NAME, st.one_of(st.none(), st.integers(1, 10))),
    "join": st.builds(lambda room, as_: {"msg": "join", "room": room,
                                         **({"as": as_} if as_ else {})},
                      st.sampled_from(ROOM_REFS), st.sampled_from([None, "player", "spectator"])),
    "leave": st.just({"msg": "leave"}),
    "start": st.just({"msg": "start"}),
    "add_bot": st.just({"msg": "add_bot"}),
    "back": st.just({"msg": "back"}),
    "rematch": st.just({"msg": "rematch"}),
    "quick_play": st.builds(lambda game: {"msg": "quick_play", "game": game},
                            st.sampled_from(GAME_NAMES + ["chess"])),
    "move": ANY_MOVE.map(lambda move: {"msg": "move", "move": move}),
    "take": st.sampled_from([{"msg": "take"}, {"msg": "take", "from": "deck"}]),
    "put": st.builds(lambda card, suit: {"msg": "put", "card": card,
                                         **({"suit": suit} if suit else {})},
                     CARD, st.one_of(st.none(), SUIT)),
    "chat": st.builds(lambda text: {"msg": "chat", "text": text},
                      st.one_of(st.sampled_from(["gg", " ", "\u202e\u2066", "x" * 201]),
                                _odd_text())),
    "mute": st.builds(lambda user: {"msg": "mute", "user_id": user},
                      st.sampled_from([ANN, BOB, CID, DEE, UNKNOWN_USER, 0])),
}
assert set(SHAPES) == schema.CLIENT_TYPES, "a client message type has no shape here"


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    """A message of a client type, with an id or not, then spoilt 0 to 3 times."""
    message = dict(draw(st.one_of(*SHAPES.values())))
    if draw(st.booleans()):
        message["id"] = draw(IDS)
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
        action = draw(st.sampled_from(["wild", "wild", "drop", "add", "nest_move"]))
        keys = list(message)
        if action == "wild" and keys:
            message[draw(st.sampled_from(keys))] = draw(WILD)
        elif action == "drop" and keys:
            del message[draw(st.sampled_from(keys))]
        elif action == "nest_move" and isinstance(message.get("move"), dict):
            message["move"] = {**message["move"], draw(st.sampled_from(["x", "card", "cards"])):
                               draw(WILD)}
        else:
            message[draw(st.sampled_from(["re", "room", "card", "seq", "x", "\u202e",
                                          "id"]))] = draw(WILD)
    return message


RAW: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["", "{", "}", "null", "[]", "[{}]", "1", "-0", "1e999", '"auth"', "true",
                     '{"msg": "room_list"', '{"msg": "room_list"}}', "{'msg': 'room_list'}",
                     '{"msg": "room_list", "msg": "leave"}', '{"msg": "\\ud800"}',
                     '{"msg": "room_list", "id": "\\udfff"}', '{"msg": "room_list"}\x00',
                     '\ufeff{"msg": "room_list"}', '{"msg": "room_list", "id": NaN}',
                     '{"msg": "create", "game": "hearts", "name": "x", "seats": 4e0}',
                     "[" * 3000 + "]" * 3000, "{" * 2000, "x" * (MAX_MESSAGE_BYTES + 1),
                     '{"msg": "room_list", "id": "' + "\u00e9" * 2100 + '"}']),
    st.text(max_size=30),
    st.builds(json.dumps, st.one_of(st.none(), st.integers(), st.text(max_size=8),
                                    st.lists(st.integers(), max_size=3))),
    st.sampled_from([None, 7, ["room_list"], {"msg": "room_list"}, b'{"msg": "room_list"}']),
)

# --- what the server must answer ----------------------------------------------------------------

#: Codes only the checks before a handler give.
FRAMING = {"bad_json", "too_large"}


def _expected(text: Any, signed_in: bool, game: str | None) -> tuple[set[str] | None, Any]:
    """The error codes the peer must answer with before any handler runs (None: the message
    reaches a handler), and the `re` its error must carry. Worked out without the peer's code
    path: the size, json, and jsonschema alone (not the fast validator)."""
    if not isinstance(text, str):
        return {"bad_json"}, None
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_MESSAGE_BYTES:
        return {"too_large"}, None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return {"bad_json"}, None
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return {"bad_json"}, None
    re = request_id(message)  # None unless an id the reply can echo
    try:
        json.dumps(message, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return {"bad_json"}, re
    except RecursionError:
        return {"bad_json", "bad_message"}, re
    try:
        schema._check(message, schema._CLIENT)
    except schema.SchemaViolation:
        return {"bad_message"}, re
    except RecursionError:
        return {"bad_json", "bad_message"}, re
    kind = message["msg"]
    if kind == "auth" and message.get("protocol") != 2:
        return {"bad_message"}, re
    if kind != "auth" and not signed_in:
        return {"auth_required"}, re
    if kind == "move" and game is not None:
        try:
            schema.check_move(game, message["move"])
        except schema.SchemaViolation:
            return {"bad_message"}, re
    return None, re


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# --- the machine -------------------------------------------------------------------------------


class ProtocolMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._saved = (lobby_push.ROOM_LIST_PUSH_SECONDS, hearts.MATCH_POINTS)
        # No room list pushed between steps (it would land in a later step's input), and a
        # Hearts match of one deal so that "finished" is reached in a bounded test.
        lobby_push.ROOM_LIST_PUSH_SECONDS = 3600.0
        hearts.MATCH_POINTS = 1
        self.errors = _ErrorLog()
        logging.getLogger().addHandler(self.errors)
        self.loop = asyncio.new_event_loop()
        self.net = Net(make_hub(sign_in_seconds=0.0))
        self.clients: list[Client] = []
        self.steps = 0

        async def connect() -> None:
            for index, name in enumerate(CONNECTIONS):
                if index == ANON:
                    client = self.net.connect("anon")
                else:
                    client = await self.net.login(USER_OF[index])
                    client.name = name
                guard_hidden_cards(self.net.hub, client)
                self.clients.append(client)

        self.loop.run_until_complete(connect())
        self._check_clean()

    def teardown(self) -> None:
        try:
            self.net.hub.stop_timers()
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.close()
        finally:
            logging.getLogger().removeHandler(self.errors)
            lobby_push.ROOM_LIST_PUSH_SECONDS, hearts.MATCH_POINTS = self._saved

    # --- helpers ---------------------------------------------------------------------------

    def _rooms(self) -> list[str]:
        return [table.id for table in self.net.hub.lobby]

    def _fill(self, value: Any, client: Client) -> Any:
        """The message with its placeholders filled in for `client`."""
        if isinstance(value, dict):
            return {self._fill(k, client) if isinstance(k, str) else k: self._fill(v, client)
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self._fill(v, client) for v in value]
        if isinstance(value, str) and value in ROOM_REFS:
            rooms = self._rooms()
            index = ROOM_REFS.index(value)
            return rooms[index] if index < len(rooms) else "noSuchRoom"
        if isinstance(value, str) and value in CARD_REFS:
            index = CARD_REFS.index(value)
            hand = (client.hand if client.states() and client.view["game_state"] else None) or []
            return hand[index] if index < len(hand) else CARDS[(7 * index) % 52]
        return value

    def _feed(self, index: int, text: Any) -> None:
        """One input on connection `index`, then every check."""
        client = self.clients[index]
        hub = self.net.hub
        self.steps += 1
        note(f"step {self.steps}: {CONNECTIONS[index]} <- {text!r:.300}")
        if client.peer.closed:
            return
        table = hub.engine.room_of(client.peer.id)
        codes, re = _expected(text, client.peer.user is not None,
                              table.game_kind if table is not None else None)
        before = snapshot(hub)
        counts = [len(c.messages) for c in self.clients]

        async def go() -> None:
            client.peer.receive(text)
            await self.net.settle()

        self.loop.run_until_complete(go())
        got = [c.messages[n:] for c, n in zip(self.clients, counts)]
        mine = got[index]
        note(f"  answered {mine!r:.400}")
        self._check_clean()
        errors = [m for m in mine if m["msg"] == "error"]
        assert not [m for m in errors if m["code"] == "internal"], mine
        if not client.peer.closed:
            assert mine, f"no answer to {text!r:.200}"
        if codes is not None:
            assert len(errors) == 1 and errors[0]["code"] in codes, (codes, mine)
        else:
            assert not [m for m in errors if m["code"] in FRAMING | {"auth_required"}], mine
        if errors:
            (error,) = errors
            assert mine == [error], f"an error and more: {mine}"
            assert error.get("re") == re, (re, error)
            assert error["code"] in ERROR_CODES
            others = {CONNECTIONS[i]: g for i, g in enumerate(got) if i != index and g}
            assert not others, f"others got messages for a refused input: {others}"
            after = snapshot(hub)
            if client.peer.closed:  # refused five times: the connection is gone, nothing else
                before["connections"].pop(client.peer.id, None)
            assert after == before, "a refused input changed something"
        elif re is not None and codes is None:
            assert any(m.get("re") == re for m in mine), (re, mine)
        self._check_tables()

    def _send(self, index: int, message: Any, ascii_only: bool = True) -> None:
        client = self.clients[index]
        filled = self._fill(message, client)
        try:
            text = json.dumps(filled, ensure_ascii=ascii_only)
        except (ValueError, RecursionError):
            text = repr(filled)
        self._feed(index, text)

    def _check_clean(self) -> None:
        problems = self.net.problems()
        assert not problems, "\n".join(problems[:5])
        logged = [f"{r.name}: {r.getMessage()}" for r in self.errors.records]
        assert not logged, "ERROR logged:\n" + "\n".join(logged[:5])

    def _check_tables(self) -> None:
        hub = self.net.hub
        seated: dict[int, list[str]] = {}
        for table in hub.lobby:
            rules = GAMES[table.game_kind]
            assert rules.MIN_PLAYERS <= len(table.seats) <= rules.MAX_PLAYERS, table
            assert table.summary()["players"] == table.taken <= len(table.seats)
            assert table.humans > 0, f"{table} has no person and is open"
            numbers = [seat.number for seat in table.seats if seat is not None]
            assert numbers == [i for i, seat in enumerate(table.seats) if seat is not None]
            assert table.owner is None or (table.seats[table.owner] is not None
                                           and table.seats[table.owner].human), table
            status = table.status.value
            assert (table.game is None) == (status == "waiting"), table
            if status == "playing":
                assert len(table.players) >= rules.MIN_PLAYERS and table.to_act(), table
                assert not table.game.is_finished, table
            if status == "finished":
                assert table.game.outcome() is not None, table
            if table.game is not None:
                self._check_cards(table)
            for seat in table.seats:
                if seat is not None and seat.player is not None and seat.human:
                    seated.setdefault(seat.player.id, []).append(table.id)
        for user, rooms in seated.items():
            assert len(rooms) == 1, f"user {user} plays in {rooms}"
        for index, client in enumerate(self.clients):
            peer = client.peer
            table = hub.engine.room_of(peer.id)
            if peer.closed or table is None:
                continue
            states = client.states(table.id)
            assert states, f"{CONNECTIONS[index]} is in {table.id} but got no state"
            last = states[-1]
            assert last["seq"] == table.seq, (CONNECTIONS[index], last["seq"], table)
            playing = hub.engine._conns[peer.id].playing
            seat = table.seat_of(peer.user.id) if playing else None
            assert last["table"]["you"] == seat, (CONNECTIONS[index], last["table"]["you"], seat)
            # Exactly what this seat may see: its own hand, no one else's.
            assert last["table"] == table.view_for(seat), CONNECTIONS[index]

    @staticmethod
    def _check_cards(table: Any) -> None:
        game = table.game
        if table.game_kind == "crazy_eights":
            cards = [*game._deck, *game._pile, *(c for hand in game._hands for c in hand)]
            assert Counter(cards) == Counter(FULL_DECK), f"cards in {table}: {Counter(cards)}"
        elif table.game_kind == "hearts":
            cards = [*(c for hand in game._hands for c in hand), *(c for _, c in game._trick),
                     *(c for taken in game._taken for c in taken),
                     *(c for chosen in game._passes if chosen is not None for c in chosen)]
            if not game.is_finished:
                assert Counter(cards) == Counter(FULL_DECK), f"cards in {table}"
        for player in range(len(table.players)):
            assert set(game.hand(player)) <= set(FULL_DECK)

    def _play(self, limit: int) -> bool:
        """People whose turn it is make legal moves (bots move by themselves). Returns True
        when no one here may move any more."""
        for step in range(limit):
            movers = [i for i, c in enumerate(self.clients)
                      if not c.peer.closed and self.net.hub.engine.room_of(c.peer.id)
                      and c.states() and c.state["room"] == self.net.hub.engine.room_of(
                          c.peer.id).id and c.my_turn]
            if not movers:
                return True
            index = movers[step % len(movers)]
            view = self.clients[index].view
            alias = view["game"] == "crazy_eights" and step % 3 == 0
            message = {**move_for(view, alias=alias), "id": f"m{step}"}
            self._feed(index, json.dumps(message))
            assert self.clients[index].last["msg"] == "state", self.clients[index].last
        return False

    # --- rules -----------------------------------------------------------------------------

    @initialize(game=st.sampled_from(GAME_NAMES),
                stage=st.sampled_from(["lobby", "waiting", "playing", "finished"]),
                extra_seat=st.booleans())
    def set_up(self, game: str, stage: str, extra_seat: bool) -> None:
        """Ann opens a room of `game` (unless `lobby`), Bob sits down, Dee watches; then bots
        fill it (`playing`), and the game is played out (`finished`)."""
        if stage == "lobby":
            return
        rules = GAMES[game]
        seats = min(rules.MIN_PLAYERS + 1 + extra_seat, rules.MAX_PLAYERS)
        self._feed(0, json.dumps({"msg": "create", "game": game, "name": "Table",
                                  "seats": seats, "id": "c"}))
        room = self._rooms()[0]
        self._feed(2, json.dumps({"msg": "join", "room": room, "id": "j"}))
        self._feed(SPECTATOR, json.dumps({"msg": "join", "room": room, "as": "spectator"}))
        if stage == "waiting":
            return
        for _ in range(seats - 2):
            self._feed(0, json.dumps({"msg": "add_bot"}))
        assert self.net.hub.lobby.get(room).status.value == "playing"
        if stage == "finished":
            self.finish()

    @rule(index=st.integers(0, len(CONNECTIONS) - 1), message=messages(),
          ascii_only=st.booleans())
    def send(self, index: int, message: dict[str, Any], ascii_only: bool) -> None:
        self._send(index, message, ascii_only)

    @rule(index=st.integers(0, len(CONNECTIONS) - 1), raw=RAW)
    def send_raw(self, index: int, raw: Any) -> None:
        self._feed(index, raw)

    @rule(moves=st.integers(1, 12))
    def play(self, moves: int) -> None:
        self._play(moves)

    @rule()
    def finish(self) -> None:
        """Play every room on until its game ends (or only people who left may move)."""
        assert self._play(400), "a game did not end in 400 moves"

    @precondition(lambda self: self.clients[ANON].peer.closed)
    @rule()
    def reconnect_anonymous(self) -> None:
        async def connect() -> Client:
            client = self.net.connect("anon")
            guard_hidden_cards(self.net.hub, client)
            return client

        self.clients[ANON] = self.loop.run_until_complete(connect())


ProtocolMachine.TestCase.settings = settings(
    max_examples=30, stateful_step_count=20, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large],
)
TestProtocolProperties = ProtocolMachine.TestCase


# --- found by the machine ----------------------------------------------------------------------


async def test_an_id_with_a_lone_surrogate_is_not_echoed(net: Net) -> None:
    """A string id with a lone surrogate (a JSON escape) cannot be sent back as UTF-8: echoing
    it as `re` lost the error and logged a traceback. The error comes without `re`."""
    ann = await net.login(ANN)
    for text in ('{"msg": "room_list", "id": "\\udfff"}', '{"msg": "room_list", "id": "a\\ud800"}',
                 '{"msg": "nope", "id": "\\ud800"}'):
        ann.send(text)
        await net.settle()
        (error,) = ann.new()
        assert error["msg"] == "error" and error["code"] in ("bad_json", "bad_message"), error
        assert "re" not in error, error
