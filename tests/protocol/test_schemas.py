"""The protocol's JSON Schemas (schema/) and their checker (game_server/protocol/schema.py).

The messages (schema/client/, schema/server/, schema/defs.json) and each registered game's own
payloads (schema/games/<game>/{move,view,event}.json): `check_server` checks a state's
`game_state` and a move event's `move` against the game's schemas, `check_move` a move's payload.

Also checks every example in docs/protocol.md, so the documentation cannot drift from the
schemas. Convention for the documentation: every ```json block is one complete message. Its
direction comes from its `msg` when only one direction has that name; for a name both directions
use (`room_list`), the nearest non-blank line above the block must be `<!-- client -->` or
`<!-- server -->`. Such a marker may also stand above any other block, and must then be right.
A `move` example must be a move of one of the registered games.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import pytest
from jsonschema import Draft202012Validator

from game_server.protocol.errors import ERROR_CODES
from game_server.protocol.schema import (
    CLIENT_TYPES,
    SCHEMA_BASE,
    SCHEMA_DIR,
    SERVER_TYPES,
    SchemaViolation,
    check_client,
    check_move,
    check_server,
    game_schema,
)
from game_server.rules import GAMES, catalogue

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL_MD = ROOT / "docs" / "protocol.md"
SCHEMA_FILES = sorted(SCHEMA_DIR.rglob("*.json"))
MESSAGE_FILES = [p for p in SCHEMA_FILES if p.parent.name in ("client", "server")]
GAME_FILES = [p for p in SCHEMA_FILES if p.parent.parent.name == "games"]
#: Server messages that are never a reply to a request, so never carry `re`: a fresh sign-in
#: token comes by itself every few minutes; notify when a site or an operator sends one.
PUSHED_ONLY = {"token", "notify"}
#: A game's payloads: what a client sends (move), what a receiver sees (view), what a move did
#: (event).
GAME_PARTS = ("move", "view", "event")
#: The only objects whose fields a schema leaves open: a game's payloads inside the messages,
#: each checked against the game's own schema (game_state, move) or kept as the game wrote it
#: (a result's detail). (file, property) pairs.
OPEN_OBJECTS = {("defs.json", "game_state"), ("defs.json", "move"), ("defs.json", "detail"),
                ("client/move.json", "move")}


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _subschemas(schema: Any):
    """Every schema object nested in `schema` (the keyword values that are schemas, and more)."""
    if isinstance(schema, dict):
        yield schema
        for value in schema.values():
            yield from _subschemas(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _subschemas(item)


def _violation(check, message: Any) -> SchemaViolation:
    with pytest.raises(SchemaViolation) as caught:
        check(message)
    return caught.value


# --- The files themselves ----------------------------------------------------------------------


def test_the_files_are_the_specified_messages_and_each_games_payloads():
    names = {p.relative_to(SCHEMA_DIR).as_posix() for p in SCHEMA_FILES}
    client = {"auth", "room_list", "create", "join", "add_bot", "start", "move", "leave"}
    # Turn clocks and quick play (docs/protocol.md, "Turn clocks", "Quick play").
    client |= {"back", "quick_play"}
    # Chat (docs/protocol.md, "Chat"): said, and the owner's mute.
    client |= {"chat", "mute"}
    # Rematch (docs/protocol.md, "Rematch").
    client |= {"rematch"}
    # Protocol 1's names of Crazy Eights moves, still accepted: each game lists its own.
    aliases = {name for game in GAMES.values() for name in game.MOVE_MESSAGES}
    assert aliases == {"take", "put"}
    # token: a fresh sign-in token, pushed; redirect: "ask another server" (several servers);
    # notify: a notification from outside the game (game_server/notify.py).
    # event: a change missed, in reply to a join with `since` (resuming).
    server = {"welcome", "room_list", "state", "event", "left", "error", "token", "redirect",
              "notify"}
    server |= {"chat"}
    assert names == (
        {"defs.json"}
        | {f"client/{n}.json" for n in client | aliases}
        | {f"server/{n}.json" for n in server}
        | {f"games/{game}/{part}.json" for game in GAMES for part in GAME_PARTS}
    )
    assert CLIENT_TYPES == client | aliases
    assert SERVER_TYPES == server


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.relative_to(SCHEMA_DIR).as_posix())
def test_schema_file_is_valid_2020_12(path: Path):
    schema = _load(path)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_BASE + path.relative_to(SCHEMA_DIR).as_posix()


def _named_subschemas(schema: Any, name: str | None = None):
    """(property name or None, schema object) for every schema object nested in `schema`."""
    if isinstance(schema, dict):
        yield name, schema
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                for prop, sub in value.items():
                    yield from _named_subschemas(sub, prop)
            else:
                yield from _named_subschemas(value, None if key != "anyOf" else name)
    elif isinstance(schema, list):
        for item in schema:
            yield from _named_subschemas(item, name)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.relative_to(SCHEMA_DIR).as_posix())
def test_every_object_rejects_unknown_fields(path: Path):
    file = path.relative_to(SCHEMA_DIR).as_posix()
    for name, sub in _named_subschemas(_load(path)):
        kind = sub.get("type")
        if kind == "object" or (isinstance(kind, list) and "object" in kind):
            if (file, name) in OPEN_OBJECTS and sub == {"type": "object"}:
                continue  # a game's payload: its own schema (or none) decides
            assert sub.get("additionalProperties") is False, (name, sub)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.relative_to(SCHEMA_DIR).as_posix())
def test_every_ref_points_into_the_schema_folder(path: Path):
    schema = _load(path)
    for sub in _subschemas(schema):
        ref = sub.get("$ref")
        if not isinstance(ref, str):
            continue
        uri, fragment = urldefrag(urljoin(schema["$id"], ref))
        assert uri.startswith(SCHEMA_BASE), ref
        target = _load(SCHEMA_DIR / uri.removeprefix(SCHEMA_BASE))
        for part in fragment.lstrip("/").split("/") if fragment else []:
            target = target[part]
        assert isinstance(target, dict), ref


def test_compiled_validators_need_no_ref_lookups():
    # schema.py inlines every $ref once at load, so checking a message never resolves one.
    from game_server.protocol import schema

    for validator in [*schema._CLIENT.values(), *schema._SERVER.values(),
                      *schema._GAMES.values()]:
        assert '"$ref"' not in json.dumps(validator.schema)


def test_refs_outside_the_folder_are_never_fetched(tmp_path: Path):
    from referencing.exceptions import Unresolvable

    from game_server.protocol import schema

    (tmp_path / "client").mkdir()
    (tmp_path / "client" / "ping.json").write_text(json.dumps({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_BASE + "client/ping.json",
        "type": "object",
        "properties": {"msg": {"const": "ping"}, "x": {"$ref": "https://example.com/x.json"}},
        "additionalProperties": False,
    }))
    with pytest.raises(Unresolvable):
        schema._load(tmp_path)


@pytest.mark.parametrize(
    "path", MESSAGE_FILES, ids=lambda p: p.relative_to(SCHEMA_DIR).as_posix()
)
def test_message_schema_shape(path: Path):
    schema = _load(path)
    assert schema["type"] == "object"
    assert schema["properties"]["msg"] == {"const": path.stem}
    assert "msg" in schema["required"]
    if path.parent.name == "server" and path.stem in PUSHED_ONLY:
        assert "re" not in schema["properties"]
        return
    optional = "id" if path.parent.name == "client" else "re"
    assert schema["properties"][optional] == {"$ref": "../defs.json#/$defs/request_id"}
    assert optional not in schema["required"]


@pytest.mark.parametrize(
    "path", GAME_FILES, ids=lambda p: p.relative_to(SCHEMA_DIR).as_posix()
)
def test_game_payload_schema_shape(path: Path):
    # A payload is an object of the game's own fields; moves and events say their type.
    schema = _load(path)
    assert path.stem in GAME_PARTS and path.parent.name in GAMES
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert "msg" not in schema["properties"]
    if path.stem in ("move", "event"):
        assert "type" in schema["required"]
    assert game_schema(path.parent.name, path.stem)["title"] == schema["title"]


def test_the_schemas_accept_every_registered_game():
    for name, game in GAMES.items():
        check_client({"msg": "create", "game": name, "name": "x"})
        for seats in (game.MIN_PLAYERS, game.DEFAULT_SEATS, game.MAX_PLAYERS):
            check_client({"msg": "create", "game": name, "name": "x", "seats": seats})
    check_server({"msg": "welcome", "user": {"id": 1, "name": "a"}, "server": "s",
                  "protocol": 2, "games": catalogue()})


def test_error_codes_are_exactly_those_of_errors_py():
    schema = _load(SCHEMA_DIR / "server" / "error.json")
    assert schema["properties"]["code"]["enum"] == list(ERROR_CODES)
    for code in ERROR_CODES:
        check_server({"msg": "error", "code": code, "text": ERROR_CODES[code]})
    _violation(check_server, {"msg": "error", "code": "oops", "text": "x"})


# --- Examples ----------------------------------------------------------------------------------

ANN = {"seat": 0, "user": {"id": 7, "name": "Ann"}, "bot": False, "connected": True}
BOT_2 = {"seat": 2, "user": {"id": None, "name": "Bot 2"}, "bot": True, "connected": True}
BO = {"seat": 3, "user": {"id": 9, "name": "Bo"}, "bot": False, "connected": False}

#: A Crazy Eights game between seats 0, 2 and 3 (players 0, 1 and 2), seen by Ann (seat 0).
TABLE_PLAYING: dict[str, Any] = {
    "game": "crazy_eights",
    "status": "playing",
    "owner": 0,
    "seats": [ANN, None, BOT_2, BO],
    "spectators": 1,
    "you": 0,
    "players": [0, 2, 3],
    "to_act": [2],
    "game_state": {"hand": ["2C", "TH", "8S", "KD", "AD"], "cards": [5, 5, 4],
                   "pile": ["9H", "QH"], "deck": 33, "turn": 1, "suit": "H"},
}

TABLE_WAITING: dict[str, Any] = {
    "game": "crazy_eights",
    "status": "waiting",
    "owner": 0,
    "seats": [ANN, None],
    "spectators": 0,
    "you": 0,
    "players": [],
    "to_act": [],
    "game_state": None,
}

TABLE_FINISHED: dict[str, Any] = {
    **TABLE_PLAYING,
    "status": "finished",
    "to_act": [],
    "game_state": {"hand": [], "cards": [0, 3, 2], "pile": ["9H", "QH", "QD"], "deck": 33,
                   "turn": 0, "suit": "D", "winner": 0, "scores": [66, 0, 0],
                   "hands": [[], ["KS", "8C", "3D"], ["4H", "JC"]], "blocked": False},
    # The result is by seat: seat 1 took no part in the game.
    "result": {"winner": 0, "scores": [66, None, 0, 0], "detail": {"blocked": False}},
}

TABLE_SPECTATOR: dict[str, Any] = {
    **TABLE_PLAYING,
    "you": None,
    "game_state": {k: v for k, v in TABLE_PLAYING["game_state"].items() if k != "hand"},
}

HEARTS_SEATS = [ANN, {**BOT_2, "seat": 1, "user": {"id": None, "name": "Bot 1"}}, BOT_2,
                {**BO, "connected": True}]

#: Hearts, the first deal's pass: Ann (player 0) and two bots have chosen, Bo has not.
TABLE_HEARTS_PASS: dict[str, Any] = {
    "game": "hearts",
    "status": "playing",
    "owner": 0,
    "seats": HEARTS_SEATS,
    "spectators": 0,
    "you": 0,
    "players": [0, 1, 2, 3],
    "to_act": [3],
    "game_state": {"hand": ["8C", "3D", "6D", "7D", "TD", "3H", "8H", "3S", "4S", "5S"],
                   "cards": [10, 10, 10, 13], "deal": 1, "dealer": 0, "pass": "left",
                   "phase": "pass", "passed": [True, True, True, False],
                   "passing": ["KD", "AH", "QS"], "trick": [], "leader": None,
                   "last_trick": None, "hearts_broken": False, "taken": [0, 0, 0, 0],
                   "totals": [0, 0, 0, 0], "turn": None},
}

#: Hearts, the first trick: player 2 led 2C, player 3 followed; Ann (player 0) is to play.
TABLE_HEARTS_PLAY: dict[str, Any] = {
    **TABLE_HEARTS_PASS,
    "to_act": [0],
    "game_state": {"hand": ["8C", "3D", "6D", "7D", "3H", "8H", "TH", "JH", "3S", "4S", "5S",
                            "QS", "AS"],
                   "cards": [13, 13, 12, 12], "deal": 1, "dealer": 0, "pass": "left",
                   "phase": "play", "received": ["TH", "JH", "AS"],
                   "trick": [{"player": 2, "card": "2C"}, {"player": 3, "card": "7C"}],
                   "leader": 2, "last_trick": None, "hearts_broken": False,
                   "taken": [0, 0, 0, 0], "totals": [0, 0, 0, 0], "turn": 0},
}

TABLE_HEARTS_OVER: dict[str, Any] = {
    **TABLE_HEARTS_PASS,
    "status": "finished",
    "to_act": [],
    "game_state": {"hand": [], "cards": [0, 0, 0, 0], "deal": 11, "dealer": 2,
                   "pass": "across", "phase": "over", "trick": [], "leader": None,
                   "last_trick": {"plays": [{"player": 0, "card": "QC"},
                                            {"player": 1, "card": "TS"},
                                            {"player": 2, "card": "JH"},
                                            {"player": 3, "card": "3D"}], "winner": 0},
                   "hearts_broken": True, "taken": [4, 0, 22, 0], "totals": [43, 52, 118, 73],
                   "turn": None, "winner": 0, "scores": [43, 52, 118, 73]},
    "result": {"winner": 0, "scores": [43, 52, 118, 73], "detail": {"deals": 11, "tied": []}},
}

TABLE_HEARTS_SPECTATOR: dict[str, Any] = {
    **TABLE_HEARTS_PLAY,
    "you": None,
    "game_state": {k: v for k, v in TABLE_HEARTS_PLAY["game_state"].items()
                   if k not in ("hand", "received")},
}


def _state(table: dict[str, Any] = TABLE_PLAYING, **fields: Any) -> dict[str, Any]:
    return {"msg": "state", "room": "r7Kq2xYz", "seq": 12, "table": table, **fields}


def _table(base: dict[str, Any] = TABLE_PLAYING, **changes: Any) -> dict[str, Any]:
    """A copy of `base`; a change to `...` removes the field."""
    table = copy.deepcopy(base)
    for key, value in changes.items():
        if value is ...:
            del table[key]
        else:
            table[key] = value
    return table


def _game(base: dict[str, Any] = TABLE_PLAYING, **changes: Any) -> dict[str, Any]:
    """A copy of `base` whose game_state has `changes` (`...` removes the field)."""
    return _table(base, game_state=_table(base["game_state"], **changes))


def _move(seat: int = 0, **move: Any) -> dict[str, Any]:
    return {"type": "move", "seat": seat, "move": move}


VALID_CLIENT = [
    {"msg": "auth", "protocol": 2, "token": "AQBtT3Jr..."},
    {"msg": "auth", "protocol": 2, "token": "x", "id": 1},
    # A protocol 1 sign-in still has a valid shape: the server answers it with bad_message
    # saying what changed, not with a schema error about the missing field.
    {"msg": "auth", "token": "x"},
    {"msg": "room_list"},
    {"msg": "room_list", "id": "lobby-1"},
    {"msg": "create", "game": "crazy_eights", "name": "Friday game", "seats": 4},
    {"msg": "create", "game": "crazy_eights", "name": " x ", "seats": 2, "id": 0},
    {"msg": "create", "game": "crazy_eights", "name": "n" * 40, "seats": 7, "id": -5},
    {"msg": "create", "game": "hearts", "name": "Hearts night"},
    {"msg": "create", "game": "hearts", "name": "Hearts night", "seats": 4, "id": "h"},
    # The schema knows no game's seat range; the server checks it (bad_message).
    {"msg": "create", "game": "hearts", "name": "x", "seats": 3},
    {"msg": "create", "game": "crazy_eights", "name": "x", "seats": 10},
    {"msg": "join", "room": "r7Kq2xYz"},
    {"msg": "join", "room": "abc_-9", "as": "player"},
    {"msg": "join", "room": "A" * 32, "as": "spectator", "id": "x" * 64},
    {"msg": "add_bot"},
    {"msg": "start", "id": 3},
    {"msg": "rematch"}, {"msg": "rematch", "id": "again"},
    {"msg": "move", "move": {"type": "take"}},
    {"msg": "move", "move": {"type": "put", "card": "8S", "suit": "D"}, "id": 5},
    {"msg": "move", "move": {"type": "pass", "cards": ["2C", "QS", "AH"]}, "id": "p"},
    {"msg": "move", "move": {"type": "play", "card": "QS"}},
    # The message schema leaves the payload to the game of the sender's room.
    {"msg": "move", "move": {}},
    {"msg": "take"},
    {"msg": "take", "from": "deck", "id": 4},
    {"msg": "put", "card": "QH"},
    {"msg": "put", "card": "8S", "suit": "D", "id": 5},
    # The schema allows an eight without a suit: that is a game rule (illegal_move).
    {"msg": "put", "card": "8S"},
    {"msg": "put", "card": "2C", "suit": "H"},
    {"msg": "leave"},
    {"msg": "create", "game": "crazy_eights", "name": "Timed", "clock": {"move": 30, "bank": 60}},
    {"msg": "create", "game": "hearts", "name": "x", "clock": {"move": 5, "bank": 0}, "id": 1},
    {"msg": "quick_play", "game": "crazy_eights"},
    {"msg": "quick_play", "game": "hearts", "id": "q"},
    {"msg": "back"},
    {"msg": "back", "id": 9},
]

#: (game, a move payload its schema accepts)
VALID_MOVES = [
    ("crazy_eights", {"type": "take"}),
    ("crazy_eights", {"type": "put", "card": "QH"}),
    ("crazy_eights", {"type": "put", "card": "8S", "suit": "D"}),
    ("crazy_eights", {"type": "put", "card": "8S"}),  # a rule (illegal_move), not a shape
    ("hearts", {"type": "pass", "cards": ["2C", "QS", "AH"]}),
    ("hearts", {"type": "play", "card": "QS"}),
]

WELCOME = {"msg": "welcome", "user": {"id": 42, "name": "Ann"}, "server": "eu-1", "protocol": 2,
           "games": [{"name": "crazy_eights", "title": "Crazy Eights", "min": 2, "max": 7,
                      "seats": 4},
                     {"name": "hearts", "title": "Hearts", "min": 4, "max": 4, "seats": 4}]}

VALID_SERVER = [
    WELCOME,
    {**WELCOME, "re": "a"},
    {**WELCOME, "games": []},
    {"msg": "room_list", "rooms": []},
    {"msg": "room_list", "re": 2, "rooms": [
        {"id": "r7Kq2xYz", "name": "Friday game", "game": "crazy_eights", "seats": 4,
         "players": 3, "spectators": 0, "status": "waiting"},
        {"id": "b00000", "name": "x", "game": "hearts", "seats": 4, "players": 4,
         "spectators": 12, "status": "finished"},
    ]},
    {"msg": "left", "room": "r7Kq2xYz"},
    {"msg": "left", "room": "r7Kq2xYz", "re": 9},
    {"msg": "error", "code": "not_your_turn", "text": "It is not your turn.", "re": "p1"},
    _state(),
    _state(re=3),
    _state(TABLE_WAITING, seq=1, event={"type": "join", "seat": 0}),
    _state(TABLE_FINISHED, event=_move(0, type="put", card="QD")),
    _state(TABLE_SPECTATOR, event={"type": "watch"}),
    _state(TABLE_SPECTATOR, event=_move(3, type="take")),
    _state(_table(owner=None)),
    _state(_table(_game(TABLE_FINISHED, blocked=True),
                  result={"winner": 0, "scores": [66, None, 0, 0], "detail": {"blocked": True}})),
    _state(TABLE_HEARTS_PASS),
    _state(TABLE_HEARTS_PASS, event=_move(0, type="pass", cards=["KD", "AH", "QS"])),
    _state(TABLE_HEARTS_PASS, event=_move(2, type="pass")),
    _state(TABLE_HEARTS_PLAY, event=_move(3, type="play", card="7C")),
    _state(TABLE_HEARTS_PLAY, event=_move(3, type="pass", exchanged=True,
                                          received=["TH", "JH", "AS"])),
    _state(TABLE_HEARTS_SPECTATOR, event=_move(3, type="pass", exchanged=True)),
    _state(TABLE_HEARTS_OVER, event=_move(3, type="play", card="3D",
                                          trick={"winner": 0, "points": 1},
                                          deal={"number": 11, "points": [4, 0, 22, 0],
                                                "totals": [43, 52, 118, 73], "moon": None})),
    _state(_table(TABLE_HEARTS_PLAY, to_act=[1]),
           event=_move(0, type="play", card="QH", trick={"winner": 1, "points": 26},
                       deal={"number": 2, "points": [26, 0, 26, 26], "totals": [30, 12, 40, 51],
                             "moon": 1},
                       next_deal={"number": 3, "pass": "across"})),
] + [
    _state(event=event)
    for event in [
        {"type": "join", "seat": 1},
        {"type": "leave", "seat": 1},
        {"type": "add_bot", "seat": 6},
        {"type": "add_bot", "seat": 9},
        {"type": "replace", "seat": 3, "reason": "left"},
        {"type": "replace", "seat": 3, "reason": "timeout"},
        {"type": "reclaim", "seat": 3},
        {"type": "connect", "seat": 3},
        {"type": "disconnect", "seat": 3},
        {"type": "watch"},
        {"type": "unwatch"},
        {"type": "start", "dealer": 3},
        _move(0, type="put", card="QH"),
        _move(0, type="put", card="8C", suit="H"),
        _move(0, type="put", card="QH", passes=[2, 1]),
        _move(0, type="take"),
        _move(0, type="take", card="5S"),
        _move(0, type="take", card="5S", reshuffled=True),
        _move(2, type="take", reshuffled=True),
        _move(2, type="take", passes=[0]),
    ]
]


@pytest.mark.parametrize("message", VALID_CLIENT, ids=lambda m: m["msg"])
def test_valid_client_message(message):
    check_client(message)


@pytest.mark.parametrize("game, move", VALID_MOVES, ids=lambda v: v if isinstance(v, str) else None)
def test_valid_move_payload(game, move):
    check_move(game, move)
    check_client({"msg": "move", "move": move})


@pytest.mark.parametrize("message", VALID_SERVER, ids=lambda m: m["msg"])
def test_valid_server_message(message):
    check_server(message)


# (message, field named in the violation, words in its text)
INVALID_CLIENT = [
    # missing required field
    ({"msg": "auth"}, "token", "token: missing"),
    ({"msg": "create", "game": "crazy_eights", "seats": 4}, "name", "name: missing"),
    ({"msg": "create", "name": "x", "seats": 4}, "game", "game: missing"),
    ({"msg": "join"}, "room", "room: missing"),
    ({"msg": "put"}, "card", "card: missing"),
    ({"msg": "move"}, "move", "move: missing"),
    ({"msg": "quick_play"}, "game", "game: missing"),
    ({"msg": "create", "game": "hearts", "name": "x", "clock": {"move": 30}}, "clock.bank",
     "clock.bank: missing"),
    ({"msg": "create", "game": "hearts", "name": "x", "clock": {"move": 4, "bank": 0}},
     "clock.move", "clock.move: 4 is less than the minimum of 5"),
    ({"msg": "create", "game": "hearts", "name": "x", "clock": {"move": 30, "bank": 1.5}},
     "clock.bank", "clock.bank: must be an integer, not 1.5"),
    ({"msg": "back", "seat": 1}, None, "unknown field 'seat'"),
    # wrong type
    ({"msg": "auth", "token": 5}, "token", "token: must be a string, not 5"),
    ({"msg": "auth", "protocol": "2", "token": "t"}, "protocol",
     "protocol: must be an integer, not the string '2'"),
    ({"msg": "auth", "protocol": 2.0, "token": "t"}, "protocol",
     "protocol: must be an integer, not 2.0"),
    ({"msg": "create", "game": "crazy_eights", "name": "x", "seats": "4"}, "seats",
     "seats: must be an integer, not the string '4'"),
    ({"msg": "create", "game": "crazy_eights", "name": "x", "seats": 4.0}, "seats",
     "seats: must be an integer, not 4.0"),
    ({"msg": "create", "game": "crazy_eights", "name": "x", "seats": True}, "seats",
     "seats: must be an integer, not true"),
    ({"msg": "create", "game": 3, "name": "x"}, "game", "game: must be a string, not 3"),
    ({"msg": "put", "card": ["QH"]}, "card", "card: must be a string, not an array"),
    ({"msg": "take", "id": 1.5}, "id", "id: must be a string or an integer, not 1.5"),
    ({"msg": "take", "id": None}, "id", "id: must be a string or an integer, not null"),
    ({"msg": "take", "id": {}}, "id", "id: must be a string or an integer, not an object"),
    ({"msg": "move", "move": ["take"]}, "move", "move: must be an object, not an array"),
    ({"msg": "move", "move": "take"}, "move", "move: must be an object, not the string 'take'"),
    ({"msg": "move", "move": None}, "move", "move: must be an object, not null"),
    # extra field
    ({"msg": "put", "card": "QH", "colour": "red"}, None, "unknown field 'colour'"),
    ({"msg": "room_list", "room": "r7Kq2xYz"}, None, "unknown field 'room'"),
    ({"msg": "leave", "re": 1}, None, "unknown field 're'"),
    ({"msg": "take", "from": "deck", "card": "QH"}, None, "unknown field 'card'"),
    ({"msg": "move", "move": {"type": "take"}, "type": "take"}, None, "unknown field 'type'"),
    ({"msg": "move", "move": {"type": "take"}, "room": "r7Kq2xYz"}, None,
     "unknown field 'room'"),
    # bad values
    ({"msg": "put", "card": "1H"}, "card", "card: '1H' is not a valid card code"),
    ({"msg": "put", "card": "qh"}, "card", "card: 'qh' is not a valid card code"),
    ({"msg": "put", "card": "QHX"}, "card", "card: 'QHX' is not a valid card code"),
    ({"msg": "put", "card": "QH\n"}, "card", "card: 'QH\\n' is not a valid card code"),
    ({"msg": "put", "card": "10H"}, "card", "is not a valid card code"),
    ({"msg": "put", "card": "8S", "suit": "X"}, "suit", "suit: 'X' is not one of 'C', 'D', 'H', 'S'"),
    ({"msg": "put", "card": "8S", "suit": "s"}, "suit", "suit: 's' is not one of"),
    ({"msg": "join", "room": "abc"}, "room", "room: 'abc' is not a valid room id"),
    ({"msg": "join", "room": "QH"}, "room", "is not a valid room id"),
    ({"msg": "join", "room": "a" * 33}, "room", "is not a valid room id"),
    ({"msg": "join", "room": "abc def"}, "room", "is not a valid room id"),
    ({"msg": "join", "room": "abcdef\n"}, "room", "is not a valid room id"),
    ({"msg": "join", "room": "r7Kq2xYz", "as": "ghost"}, "as",
     "as: 'ghost' is not one of 'player', 'spectator'"),
    ({"msg": "create", "game": "crazy_eights", "name": "x", "seats": 11}, "seats",
     "seats: 11 is greater than the maximum of 10"),
    ({"msg": "create", "game": "crazy_eights", "name": "x", "seats": 0}, "seats",
     "seats: 0 is less than the minimum of 1"),
    ({"msg": "create", "game": "Poker!", "name": "x", "seats": 4}, "game",
     "game: 'Poker!' is not a valid game name"),
    ({"msg": "create", "game": "", "name": "x"}, "game", "game: '' is not a valid game name"),
    ({"msg": "create", "game": "hearts\n", "name": "x"}, "game", "is not a valid game name"),
    ({"msg": "create", "game": "g" * 33, "name": "x"}, "game", "is not a valid game name"),
    ({"msg": "create", "game": "crazy_eights", "name": "", "seats": 4}, "name",
     "name: must not be empty"),
    ({"msg": "create", "game": "crazy_eights", "name": "   ", "seats": 4}, "name",
     "needs a character that is not a space"),
    ({"msg": "create", "game": "crazy_eights", "name": "\t\n", "seats": 4}, "name",
     "is not a valid room name"),
    ({"msg": "create", "game": "crazy_eights", "name": "n" * 41, "seats": 4}, "name",
     "name: must be at most 40 characters long"),
    ({"msg": "auth", "token": ""}, "token", "token: must not be empty"),
    ({"msg": "auth", "token": "t" * 1025}, "token", "token: must be at most 1024 characters long"),
    ({"msg": "take", "from": "pile"}, "from", "from: must be 'deck', not 'pile'"),
    ({"msg": "start", "id": ""}, "id", "id: must not be empty"),
    ({"msg": "start", "id": "i" * 65}, "id", "id: must be at most 64 characters long"),
]


@pytest.mark.parametrize(
    "message, field, words", INVALID_CLIENT, ids=[f"{m['msg']}-{w[:30]}" for m, _, w in INVALID_CLIENT]
)
def test_invalid_client_message(message, field, words):
    violation = _violation(check_client, message)
    assert words in violation.text
    assert violation.field == field
    assert str(violation) == violation.text


# (game, move payload, field named in the violation, words in its text): the path starts
# with `move`, as the client wrote it in its message.
INVALID_MOVES = [
    ("crazy_eights", {}, "move.type", "move.type: missing"),
    ("crazy_eights", {"type": "dance"}, "move.type",
     "move.type: 'dance' is not one of 'take', 'put'"),
    ("crazy_eights", {"type": "play", "card": "QH"}, "move.type", "is not one of"),
    ("crazy_eights", {"type": "put", "card": "QX"}, "move.card",
     "move.card: 'QX' is not a valid card code"),
    ("crazy_eights", {"type": "put", "card": "8S", "suit": "X"}, "move.suit",
     "move.suit: 'X' is not one of 'C', 'D', 'H', 'S'"),
    ("crazy_eights", {"type": "put", "card": "QH", "colour": "red"}, "move",
     "move: unknown field 'colour'"),
    ("crazy_eights", {"type": "put", "card": 12}, "move.card", "move.card: must be a string"),
    ("hearts", {}, "move.type", "move.type: missing"),
    ("hearts", {"type": "take"}, "move.type", "move.type: 'take' is not one of 'pass', 'play'"),
    ("hearts", {"type": "play"}, "move.card", "move.card: missing"),
    ("hearts", {"type": "play", "card": "1S"}, "move.card", "move.card: '1S' is not a valid card"),
    ("hearts", {"type": "pass"}, "move.cards", "move.cards: missing"),
    ("hearts", {"type": "pass", "cards": ["2C"]}, "move.cards",
     "move.cards: must have at least 3 items"),
    ("hearts", {"type": "pass", "cards": ["2C", "3C", "4C", "5C"]}, "move.cards",
     "move.cards: must have at most 3 items"),
    ("hearts", {"type": "pass", "cards": ["2C", "2C", "4C"]}, "move.cards",
     "move.cards: must not repeat an item"),
    ("hearts", {"type": "pass", "cards": ["2C", "3C", "XX"]}, "move.cards[2]",
     "move.cards[2]: 'XX' is not a valid card code"),
    ("hearts", {"type": "pass", "cards": ["2C", "3C", "4C"], "card": "5C"}, "move.card",
     "move.card: not allowed in a pass (use cards)"),
    ("hearts", {"type": "play", "card": "QS", "cards": ["2C", "3C", "4C"]}, "move.cards",
     "move.cards: not allowed in a play (use card)"),
    ("hearts", {"type": "play", "card": "QS", "seat": 1}, "move",
     "move: unknown field 'seat'"),
    ("chess", {"type": "play", "card": "QS"}, None, "no move schema for the game 'chess'"),
]


@pytest.mark.parametrize("game, move, field, words", INVALID_MOVES,
                         ids=[f"{g}-{w[:30]}" for g, _, _, w in INVALID_MOVES])
def test_invalid_move_payload(game, move, field, words):
    violation = _violation(lambda value: check_move(game, value), move)
    assert words in violation.text
    assert violation.field == field
    assert str(violation) == violation.text


INVALID_SERVER = [
    ({k: v for k, v in WELCOME.items() if k != "protocol"}, "protocol", "protocol: missing"),
    ({**WELCOME, "protocol": 1}, "protocol", "protocol: 1 is not one of 2, 3"),
    ({k: v for k, v in WELCOME.items() if k != "games"}, "games", "games: missing"),
    ({**WELCOME, "games": [{"name": "hearts", "title": "Hearts", "min": 4, "max": 4}]},
     "games[0].seats", "games[0].seats: missing"),
    ({**WELCOME, "games": [{"name": "Hearts", "title": "Hearts", "min": 4, "max": 4,
                            "seats": 4}]}, "games[0].name", "is not a valid game name"),
    ({**WELCOME, "user": {"id": None, "name": "a"}}, "user.id",
     "user.id: must be an integer, not null"),
    ({**WELCOME, "user": {"id": 1, "name": "a", "token": "t"}}, "user",
     "user: unknown field 'token'"),
    ({"msg": "room_list", "rooms": [{"id": "r7Kq2xYz", "name": "n", "game": "crazy_eights",
      "seats": 4, "players": 11, "spectators": 0, "status": "waiting"}]},
     "rooms[0].players", "rooms[0].players: 11 is greater than the maximum of 10"),
    ({"msg": "room_list", "rooms": [{"id": "r7Kq2xYz", "name": "n", "game": "crazy_eights",
      "seats": 4, "players": 1, "spectators": 0, "status": "over"}]},
     "rooms[0].status", "'over' is not one of 'waiting', 'playing', 'finished'"),
    ({"msg": "left"}, "room", "room: missing"),
    ({"msg": "left", "room": "r7Kq2xYz", "re": True}, "re", "re: must be a string or an integer"),
    ({"msg": "error", "code": "room_full"}, "text", "text: missing"),
    ({"msg": "error", "code": "nope", "text": "x"}, "code", "code: 'nope' is not one of"),
    # state: the table
    ({"msg": "state", "room": "r7Kq2xYz", "table": TABLE_PLAYING}, "seq", "seq: missing"),
    (_state(seq=0), "seq", "seq: 0 is less than the minimum of 1"),
    (_state(room="xy"), "room", "is not a valid room id"),
    (_state(table=_table(players=...)), "table.players", "table.players: missing"),
    (_state(table=_table(to_act=...)), "table.to_act", "table.to_act: missing"),
    (_state(table=_table(game_state=...)), "table.game_state", "table.game_state: missing"),
    (_state(table=_table(colour=1)), "table", "table: unknown field 'colour'"),
    # Protocol 1's fields are gone from the table: the game's own view holds them.
    (_state(table=_table(hand=["QH"])), "table", "table: unknown field 'hand'"),
    (_state(table=_table(turn=0)), "table", "table: unknown field 'turn'"),
    (_state(table=_table(seats=[])), "table.seats", "table.seats: must have at least 1 item"),
    (_state(table=_table(seats=[None] * 11)), "table.seats",
     "table.seats: must have at most 10 items"),
    (_state(table=_table(seats=[None, "Ann"])), "table.seats[1]",
     "table.seats[1]: must be null or an object, not the string 'Ann'"),
    (_state(table=_table(seats=[None, {"seat": 1, "user": {"id": 2, "name": "b"}, "bot": False}])),
     "table.seats[1].connected", "table.seats[1].connected: missing"),
    (_state(table=_table(seats=[{**ANN, "cards": 5}])), "table.seats[0]",
     "table.seats[0]: unknown field 'cards'"),
    (_state(table=_table(seats=[None, {"seat": 10, "user": {"id": 2, "name": "b"},
                                       "bot": False, "connected": True}])),
     "table.seats[1].seat", "table.seats[1].seat: 10 is greater than the maximum of 9"),
    (_state(table=_table(players=[0, 0, "2"])), "table.players[2]",
     "table.players[2]: must be an integer"),
    (_state(table=_table(to_act=[])), "table.to_act",
     "table.to_act: must have at least 1 item"),
    (_state(table=_table(game_state=None)), "table.game_state",
     "table.game_state: must be an object, not null"),
    (_state(table=_table(TABLE_WAITING, to_act=[0])), "table.to_act",
     "table.to_act: must have at most 0 items"),
    (_state(table=_table(TABLE_WAITING, game_state=TABLE_PLAYING["game_state"])),
     "table.game_state", "table.game_state: must be null"),
    (_state(table=_table(TABLE_WAITING, game="Crazy Eights")), "table.game",
     "is not a valid game name"),
    # The result comes with the end of the game, and only then.
    (_state(table=_table(result=TABLE_FINISHED["result"])), "table.result",
     "table.result: not allowed before the game is finished"),
    (_state(table=_table(TABLE_FINISHED, result=...)), "table.result", "table.result: missing"),
    (_state(table=_table(TABLE_FINISHED, result={"winner": 0, "scores": [1, "x"],
                                                 "detail": {}})),
     "table.result.scores[1]", "table.result.scores[1]: must be an integer or null"),
    (_state(table=_table(TABLE_FINISHED, result={"winner": None, "scores": [1],
                                                 "detail": {}})),
     "table.result.winner", "table.result.winner: must be an integer, not null"),
    # state: the game's own view, checked against schema/games/<game>/view.json
    (_state(table=_game(turn=...)), "table.game_state.turn", "table.game_state.turn: missing"),
    (_state(table=_game(pile=...)), "table.game_state.pile", "table.game_state.pile: missing"),
    (_state(table=_game(hand=["QH", "1H"])), "table.game_state.hand[1]",
     "table.game_state.hand[1]: '1H' is not a valid card code"),
    (_state(table=_game(pile=["QH", "QH"])), "table.game_state.pile",
     "table.game_state.pile: must not repeat an item"),
    (_state(table=_game(deck=-1)), "table.game_state.deck",
     "table.game_state.deck: -1 is less than the minimum of 0"),
    (_state(table=_game(suit="8")), "table.game_state.suit",
     "table.game_state.suit: '8' is not one of"),
    (_state(table=_game(turn=None)), "table.game_state.turn",
     "table.game_state.turn: must be an integer, not null"),
    (_state(table=_game(colour="red")), "table.game_state",
     "table.game_state: unknown field 'colour'"),
    # The end of a game of Crazy Eights: winner, scores, hands and blocked together, and only
    # then.
    (_state(table=_game(winner=0)), "table.game_state.scores", "table.game_state.scores: missing"),
    (_state(table=_game(scores=[0, 0, 0])), "table.game_state.scores",
     "table.game_state.scores: not allowed before the game is over"),
    (_state(table=_game(TABLE_FINISHED, hands=...)), "table.game_state.hands",
     "table.game_state.hands: missing"),
    (_state(table=_game(TABLE_FINISHED, scores=[1, "x", 0])), "table.game_state.scores[1]",
     "table.game_state.scores[1]: must be an integer"),
    # Hearts views
    (_state(table=_game(TABLE_HEARTS_PASS, passed=...)), "table.game_state.passed",
     "table.game_state.passed: missing"),
    (_state(table=_game(TABLE_HEARTS_PLAY, passed=[True] * 4)), "table.game_state.passed",
     "table.game_state.passed: not allowed outside the pass phase"),
    (_state(table=_game(TABLE_HEARTS_PASS, turn=0)), "table.game_state.turn",
     "table.game_state.turn: must be null, not 0"),
    (_state(table=_game(TABLE_HEARTS_PLAY, passing=["2C", "3C", "4C"])),
     "table.game_state.passing", "table.game_state.passing: not allowed after the exchange"),
    (_state(table=_game(TABLE_HEARTS_SPECTATOR, received=["TH", "JH", "AS"])),
     "table.game_state.received", "table.game_state.received: not allowed for a spectator"),
    (_state(table=_game(TABLE_HEARTS_PLAY, winner=0)), "table.game_state.winner",
     "table.game_state.winner: not allowed before the match is over"),
    (_state(table=_game(TABLE_HEARTS_OVER, scores=...)), "table.game_state.scores",
     "table.game_state.scores: missing"),
    (_state(table=_game(TABLE_HEARTS_PLAY, cards=[13, 13, 12])), "table.game_state.cards",
     "table.game_state.cards: must have at least 4 items"),
    (_state(table=_game(TABLE_HEARTS_PLAY, trick=[{"player": 4, "card": "2C"}])),
     "table.game_state.trick[0].player",
     "table.game_state.trick[0].player: 4 is greater than the maximum of 3"),
    # events
    (_state(event={"type": "dance", "seat": 0}), "event.type", "event.type: 'dance' is not one of"),
    (_state(event={"seat": 0}), "event.type", "event.type: missing"),
    (_state(event="put"), "event", "event: must be an object"),
    # Protocol 1's move events are gone: a move is {"type": "move", "seat", "move"}.
    (_state(event={"type": "put", "seat": 0}), "event.type", "event.type: 'put' is not one of"),
    (_state(event={"type": "take", "seat": 0}), "event.type", "event.type: 'take' is not one of"),
    (_state(event={"type": "move", "seat": 0}), "event.move", "event.move: missing"),
    (_state(event={"type": "move", "move": {"type": "take"}}), "event.seat",
     "event.seat: missing"),
    (_state(event={"type": "move", "seat": 0, "move": "take"}), "event.move",
     "event.move: must be an object"),
    (_state(event={**_move(0, type="take"), "card": "QH"}), "event",
     "event: unknown field 'card'"),
    (_state(event={"type": "join", "seat": 10}), "event.seat",
     "10 is greater than the maximum of 9"),
    (_state(event={"type": "join", "seat": 1, "card": "QH"}), "event", "unknown field 'card'"),
    (_state(event={"type": "join", "seat": 1, "move": {}}), "event", "unknown field 'move'"),
    (_state(event={"type": "watch", "seat": 1}), "event", "event: unknown field 'seat'"),
    (_state(event={"type": "start", "seat": 1}), "event.dealer", "event.dealer: missing"),
    (_state(event={"type": "replace", "seat": 1}), "event.reason", "event.reason: missing"),
    (_state(event={"type": "replace", "seat": 1, "reason": "bored"}), "event.reason",
     "'bored' is not one of 'left', 'timeout'"),
    # a move event's payload, checked against schema/games/<game>/event.json
    (_state(event=_move(0, type="dance")), "event.move.type",
     "event.move.type: 'dance' is not one of"),
    (_state(event=_move(0, type="take", colour="red")), "event.move",
     "event.move: unknown field 'colour'"),
    (_state(event=_move(0, type="take", suit="H")), "event.move.suit",
     "event.move.suit: not allowed in a take"),
    (_state(event=_move(0, type="take", reshuffled=False)), "event.move.reshuffled",
     "event.move.reshuffled: must be true, not false"),
    (_state(event=_move(0, type="put")), "event.move.card", "event.move.card: missing"),
    (_state(event=_move(0, type="put", card="8C")), "event.move.suit",
     "event.move.suit: missing"),
    (_state(event=_move(0, type="put", card="QC", suit="H")), "event.move.suit",
     "event.move.suit: not allowed unless the card is an eight"),
    (_state(event=_move(0, type="put", card="QC", passes=[])), "event.move.passes",
     "event.move.passes: must have at least 1 item"),
    (_state(event=_move(0, type="put", card="QC", passes=["1"])), "event.move.passes[0]",
     "must be an integer"),
    (_state(TABLE_HEARTS_PLAY, event=_move(0, type="put", card="QC")), "event.move.type",
     "event.move.type: 'put' is not one of 'pass', 'play'"),
    (_state(TABLE_HEARTS_PLAY, event=_move(0, type="play")), "event.move.card",
     "event.move.card: missing"),
    (_state(TABLE_HEARTS_PASS, event=_move(0, type="pass", card="QC")), "event.move.card",
     "event.move.card: not allowed in a pass"),
    (_state(TABLE_HEARTS_PLAY, event=_move(0, type="pass", received=["2C", "3C", "4C"])),
     "event.move.exchanged", "event.move.exchanged: missing"),
    (_state(TABLE_HEARTS_PLAY, event=_move(0, type="play", card="QC",
                                           deal={"number": 1, "points": [0, 0, 0, 26],
                                                 "totals": [0, 0, 0, 26], "moon": None})),
     "event.move", "event.move: "),  # a deal ends with a trick: `deal` needs `trick`
]


@pytest.mark.parametrize(
    "message, field, words", INVALID_SERVER, ids=[f"{m['msg']}-{w[:30]}" for m, _, w in INVALID_SERVER]
)
def test_invalid_server_message(message, field, words):
    violation = _violation(check_server, message)
    assert words in violation.text
    assert violation.field == field


# --- Texts for people --------------------------------------------------------------------------


@pytest.mark.parametrize("message", [None, [], "auth", 5, [{"msg": "auth"}]])
def test_not_an_object(message):
    violation = _violation(check_client, message)
    assert violation.text == "message must be a JSON object"
    assert violation.field is None


@pytest.mark.parametrize(
    "message, text",
    [
        ({}, "msg: missing"),
        ({"token": "t"}, "msg: missing"),
        ({"msg": 1}, "msg: must be a string, not an integer"),
        ({"msg": None}, "msg: must be a string, not null"),
        ({"msg": "dance"}, "msg: unknown message type 'dance'"),
        # Names of the other direction are unknown too.
        ({"msg": "welcome"}, "msg: unknown message type 'welcome'"),
        ({"msg": "state", "room": "r7Kq2xYz"}, "msg: unknown message type 'state'"),
    ],
)
def test_msg_field(message, text):
    violation = _violation(check_client, message)
    assert violation.text == text
    assert violation.field == "msg"


def test_server_names_are_checked_as_server_messages():
    assert _violation(check_server, {"msg": "put", "card": "QH"}).text == (
        "msg: unknown message type 'put'"
    )


LONG = "Z" * 5000


@pytest.mark.parametrize(
    "message",
    [
        {"msg": LONG},
        {"msg": "leave", LONG: 1},
        {"msg": "put", "card": LONG},
        {"msg": "join", "room": LONG},
        {"msg": "join", "room": "r7Kq2xYz", "as": LONG},
        {"msg": "take", "from": LONG},
        {"msg": "create", "game": LONG, "name": "x", "seats": 3},
        {"msg": "create", "game": "crazy_eights", "name": "x", "seats": [LONG] * 3},
        {"msg": "create", "game": "crazy_eights", "name": "x", "seats": 10**400},
    ],
    ids=lambda m: "-".join(k[:8] for k in m),
)
def test_texts_never_repeat_much_of_the_input(message):
    text = _violation(check_client, message).text
    assert "Z" * 41 not in text
    assert len(text) < 200


def test_the_token_is_never_repeated():
    token = "s3cr3t-t0ken-" * 100
    assert "s3cr3t" not in _violation(check_client, {"msg": "auth", "token": token}).text
    assert "s3cr3t" not in _violation(check_client, {"msg": "auth", "token": token, "x": 1}).text


def test_several_unknown_fields_are_counted():
    text = _violation(check_client, {"msg": "leave", "a": 1, "b": 2, "c": 3}).text
    assert text == "unknown field 'a' (and 2 more)"


# --- docs/protocol.md ----------------------------------------------------------------------------

_FENCE = re.compile(r"^```json[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_MARKER = re.compile(r"^<!--\s*(client|server)\s*-->$")


def _doc_examples() -> list[tuple[int, str | None, str]]:
    """(line number, direction marker or None, JSON text) of every ```json block."""
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    examples = []
    for match in _FENCE.finditer(text):
        before = [line.strip() for line in text[: match.start()].splitlines() if line.strip()]
        marker = _MARKER.match(before[-1]) if before else None
        line = text.count("\n", 0, match.start()) + 1
        examples.append((line, marker.group(1) if marker else None, match.group(1)))
    return examples


DOC_EXAMPLES = _doc_examples()


def test_the_documentation_has_examples_of_every_message():
    seen = {"client": set(), "server": set()}
    for _, marker, text in DOC_EXAMPLES:
        message = json.loads(text)
        seen[_direction(marker, message)].add(message["msg"])
    assert seen == {"client": set(CLIENT_TYPES), "server": set(SERVER_TYPES)}


def _direction(marker: str | None, message: dict[str, Any]) -> str:
    name = message.get("msg")
    if marker is not None:
        return marker
    assert not (name in CLIENT_TYPES and name in SERVER_TYPES), (
        f"{name!r} exists in both directions: put <!-- client --> or <!-- server --> above it"
    )
    return "client" if name in CLIENT_TYPES else "server"


def _games_of_move(move: Any) -> list[str]:
    """The registered games whose move schema accepts `move`."""
    games = []
    for game in sorted(GAMES):
        try:
            check_move(game, move)
        except SchemaViolation:
            continue
        games.append(game)
    return games


@pytest.mark.parametrize(
    "line, marker, text", DOC_EXAMPLES, ids=[f"protocol.md:{line}" for line, _, _ in DOC_EXAMPLES]
)
def test_documented_example_matches_its_schema(line, marker, text):
    message = json.loads(text)
    direction = _direction(marker, message)
    # A state's game_state and move event are checked against the game's schemas too.
    (check_client if direction == "client" else check_server)(message)
    if direction == "client" and message["msg"] == "move":
        assert _games_of_move(message["move"]), (
            f"protocol.md:{line}: not a move of any game: {message['move']}")


def test_the_documentation_shows_every_game():
    """A state of each registered game (its game_state) and a move of each."""
    states, moves = set(), set()
    for _, marker, text in DOC_EXAMPLES:
        message = json.loads(text)
        direction = _direction(marker, message)
        if direction == "server" and message["msg"] == "state":
            # A protocol 3 patch has no `game`: it shows the changes, not a game's view.
            if message["table"].get("game_state") is not None and "game" in message["table"]:
                states.add(message["table"]["game"])
        elif direction == "client" and message["msg"] == "move":
            moves.update(_games_of_move(message["move"]))
    assert states == set(GAMES), "a game without an example of its view"
    assert moves == set(GAMES), "a game without an example of its moves"


def test_the_documentation_examples_speak_protocol_2():
    for line, marker, text in DOC_EXAMPLES:
        message = json.loads(text)
        if message["msg"] in ("auth", "welcome"):
            assert message.get("protocol") == 2, f"protocol.md:{line}: {text}"


def test_the_documentation_names_every_error_code():
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    for code in ERROR_CODES:
        assert f"`{code}`" in text, code
