"""The protocol's JSON Schemas (schema/) and their checker (game_server/protocol/schema.py).

Also checks every example in docs/protocol.md, so the documentation cannot drift from the
schemas. Convention for the documentation: every ```json block is one complete message. Its
direction comes from its `msg` when only one direction has that name; for a name both directions
use (`room_list`), the nearest non-blank line above the block must be `<!-- client -->` or
`<!-- server -->`. Such a marker may also stand above any other block, and must then be right.
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
    check_server,
)

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL_MD = ROOT / "docs" / "protocol.md"
SCHEMA_FILES = sorted(SCHEMA_DIR.rglob("*.json"))


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


def test_the_files_are_the_specified_messages():
    names = {p.relative_to(SCHEMA_DIR).as_posix() for p in SCHEMA_FILES}
    client = {"auth", "room_list", "create", "join", "add_bot", "start", "take", "put", "leave"}
    server = {"welcome", "room_list", "state", "left", "error"}
    assert names == (
        {"defs.json"}
        | {f"client/{n}.json" for n in client}
        | {f"server/{n}.json" for n in server}
    )
    assert CLIENT_TYPES == client
    assert SERVER_TYPES == server


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.relative_to(SCHEMA_DIR).as_posix())
def test_schema_file_is_valid_2020_12(path: Path):
    schema = _load(path)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_BASE + path.relative_to(SCHEMA_DIR).as_posix()


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.relative_to(SCHEMA_DIR).as_posix())
def test_every_object_rejects_unknown_fields(path: Path):
    for sub in _subschemas(_load(path)):
        kind = sub.get("type")
        if kind == "object" or (isinstance(kind, list) and "object" in kind):
            assert sub.get("additionalProperties") is False, sub


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

    for validator in [*schema._CLIENT.values(), *schema._SERVER.values()]:
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
    "path", [p for p in SCHEMA_FILES if p.parent != SCHEMA_DIR], ids=lambda p: p.stem
)
def test_message_schema_shape(path: Path):
    schema = _load(path)
    assert schema["type"] == "object"
    assert schema["properties"]["msg"] == {"const": path.stem}
    assert "msg" in schema["required"]
    optional = "id" if path.parent.name == "client" else "re"
    assert schema["properties"][optional] == {"$ref": "../defs.json#/$defs/request_id"}
    assert optional not in schema["required"]


def test_error_codes_are_exactly_those_of_errors_py():
    schema = _load(SCHEMA_DIR / "server" / "error.json")
    assert schema["properties"]["code"]["enum"] == list(ERROR_CODES)
    for code in ERROR_CODES:
        check_server({"msg": "error", "code": code, "text": ERROR_CODES[code]})
    _violation(check_server, {"msg": "error", "code": "oops", "text": "x"})


# --- Examples ----------------------------------------------------------------------------------

TABLE_PLAYING: dict[str, Any] = {
    "game": "crazy_eights",
    "status": "playing",
    "owner": 0,
    "seats": [
        {"seat": 0, "user": {"id": 7, "name": "Ann"}, "bot": False, "cards": 5, "connected": True},
        None,
        {"seat": 2, "user": {"id": None, "name": "Bot 2"}, "bot": True, "cards": 5,
         "connected": True},
        {"seat": 3, "user": {"id": 9, "name": "Bo"}, "bot": False, "cards": 4,
         "connected": False},
    ],
    "spectators": 1,
    "you": 0,
    "hand": ["2C", "TH", "8S", "KD", "AD"],
    "pile": ["9H", "QH"],
    "deck": 33,
    "turn": 2,
    "suit": "H",
}

TABLE_WAITING: dict[str, Any] = {
    "game": "crazy_eights",
    "status": "waiting",
    "owner": 0,
    "seats": [
        {"seat": 0, "user": {"id": 7, "name": "Ann"}, "bot": False, "cards": 0, "connected": True},
        None,
    ],
    "spectators": 0,
    "you": 0,
    "hand": [],
    "pile": [],
    "deck": 0,
    "turn": None,
    "suit": None,
}

TABLE_FINISHED: dict[str, Any] = {
    **TABLE_PLAYING,
    "status": "finished",
    "hand": [],
    "winner": 0,
    "scores": [66, None, 0, 0],
    "hands": [[], None, ["KS", "8C", "3D"], ["4H", "JC"]],
}

TABLE_SPECTATOR: dict[str, Any] = {
    key: value for key, value in TABLE_PLAYING.items() if key != "hand"
} | {"you": None}


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


VALID_CLIENT = [
    {"msg": "auth", "token": "AQBtT3Jr..."},
    {"msg": "auth", "token": "x", "id": 1},
    {"msg": "room_list"},
    {"msg": "room_list", "id": "lobby-1"},
    {"msg": "create", "game": "crazy_eights", "name": "Friday game", "seats": 4},
    {"msg": "create", "game": "crazy_eights", "name": " x ", "seats": 2, "id": 0},
    {"msg": "create", "game": "crazy_eights", "name": "n" * 40, "seats": 7, "id": -5},
    {"msg": "join", "room": "r7Kq2xYz"},
    {"msg": "join", "room": "abc_-9", "as": "player"},
    {"msg": "join", "room": "A" * 32, "as": "spectator", "id": "x" * 64},
    {"msg": "add_bot"},
    {"msg": "start", "id": 3},
    {"msg": "take"},
    {"msg": "take", "from": "deck", "id": 4},
    {"msg": "put", "card": "QH"},
    {"msg": "put", "card": "8S", "suit": "D", "id": 5},
    # The schema allows an eight without a suit: that is a game rule (illegal_move).
    {"msg": "put", "card": "8S"},
    {"msg": "put", "card": "2C", "suit": "H"},
    {"msg": "leave"},
]

VALID_SERVER = [
    {"msg": "welcome", "user": {"id": 42, "name": "Ann"}, "server": "eu-1", "protocol": 1},
    {"msg": "welcome", "user": {"id": 42, "name": "Ann"}, "server": "eu-1", "protocol": 1,
     "re": "a"},
    {"msg": "room_list", "rooms": []},
    {"msg": "room_list", "re": 2, "rooms": [
        {"id": "r7Kq2xYz", "name": "Friday game", "game": "crazy_eights", "seats": 4,
         "players": 3, "spectators": 0, "status": "waiting"},
        {"id": "b00000", "name": "x", "game": "crazy_eights", "seats": 7, "players": 7,
         "spectators": 12, "status": "finished"},
    ]},
    {"msg": "left", "room": "r7Kq2xYz"},
    {"msg": "left", "room": "r7Kq2xYz", "re": 9},
    {"msg": "error", "code": "not_your_turn", "text": "It is not your turn.", "re": "p1"},
    _state(),
    _state(re=3),
    _state(TABLE_WAITING, seq=1, event={"type": "join", "seat": 0}),
    _state(TABLE_FINISHED, event={"type": "put", "seat": 0, "card": "QD"}),
    _state(TABLE_SPECTATOR, event={"type": "watch"}),
    _state(TABLE_SPECTATOR, event={"type": "take", "seat": 3}),
    _state(_table(TABLE_FINISHED, turn=None, suit=None)),
    _state(_table(owner=None, hand=...)),
] + [
    _state(event=event)
    for event in [
        {"type": "join", "seat": 1},
        {"type": "leave", "seat": 1},
        {"type": "add_bot", "seat": 6},
        {"type": "replace", "seat": 3, "reason": "left"},
        {"type": "replace", "seat": 3, "reason": "timeout"},
        {"type": "reclaim", "seat": 3},
        {"type": "connect", "seat": 3},
        {"type": "disconnect", "seat": 3},
        {"type": "watch"},
        {"type": "unwatch"},
        {"type": "start", "dealer": 3},
        {"type": "put", "seat": 0, "card": "QH"},
        {"type": "put", "seat": 0, "card": "8C", "suit": "H"},
        {"type": "put", "seat": 0, "card": "QH", "passes": [2, 3]},
        {"type": "take", "seat": 0},
        {"type": "take", "seat": 0, "card": "5S"},
        {"type": "take", "seat": 0, "card": "5S", "reshuffled": True},
        {"type": "take", "seat": 2, "reshuffled": True},
    ]
]


@pytest.mark.parametrize("message", VALID_CLIENT, ids=lambda m: m["msg"])
def test_valid_client_message(message):
    check_client(message)


@pytest.mark.parametrize("message", VALID_SERVER, ids=lambda m: m["msg"])
def test_valid_server_message(message):
    check_server(message)


# (message, field named in the violation, words in its text)
INVALID_CLIENT = [
    # missing required field
    ({"msg": "auth"}, "token", "token: missing"),
    ({"msg": "create", "game": "crazy_eights", "name": "x"}, "seats", "seats: missing"),
    ({"msg": "join"}, "room", "room: missing"),
    ({"msg": "put"}, "card", "card: missing"),
    # wrong type
    ({"msg": "auth", "token": 5}, "token", "token: must be a string, not 5"),
    ({"msg": "create", "game": "crazy_eights", "name": "x", "seats": "4"}, "seats",
     "seats: must be an integer, not the string '4'"),
    ({"msg": "create", "game": "crazy_eights", "name": "x", "seats": 4.0}, "seats",
     "seats: must be an integer, not 4.0"),
    ({"msg": "create", "game": "crazy_eights", "name": "x", "seats": True}, "seats",
     "seats: must be an integer, not true"),
    ({"msg": "put", "card": ["QH"]}, "card", "card: must be a string, not an array"),
    ({"msg": "take", "id": 1.5}, "id", "id: must be a string or an integer, not 1.5"),
    ({"msg": "take", "id": None}, "id", "id: must be a string or an integer, not null"),
    ({"msg": "take", "id": {}}, "id", "id: must be a string or an integer, not an object"),
    # extra field
    ({"msg": "put", "card": "QH", "colour": "red"}, None, "unknown field 'colour'"),
    ({"msg": "room_list", "room": "r7Kq2xYz"}, None, "unknown field 'room'"),
    ({"msg": "leave", "re": 1}, None, "unknown field 're'"),
    ({"msg": "take", "from": "deck", "card": "QH"}, None, "unknown field 'card'"),
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
    ({"msg": "create", "game": "crazy_eights", "name": "x", "seats": 9}, "seats",
     "seats: 9 is greater than the maximum of 7"),
    ({"msg": "create", "game": "crazy_eights", "name": "x", "seats": 1}, "seats",
     "seats: 1 is less than the minimum of 2"),
    ({"msg": "create", "game": "poker", "name": "x", "seats": 4}, "game",
     "game: must be 'crazy_eights', not 'poker'"),
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


INVALID_SERVER = [
    ({"msg": "welcome", "user": {"id": 1, "name": "a"}, "server": "s"}, "protocol",
     "protocol: missing"),
    ({"msg": "welcome", "user": {"id": 1, "name": "a"}, "server": "s", "protocol": 2},
     "protocol", "protocol: must be 1, not 2"),
    ({"msg": "welcome", "user": {"id": None, "name": "a"}, "server": "s", "protocol": 1},
     "user.id", "user.id: must be an integer, not null"),
    ({"msg": "welcome", "user": {"id": 1, "name": "a", "token": "t"}, "server": "s",
      "protocol": 1}, "user", "user: unknown field 'token'"),
    ({"msg": "room_list", "rooms": [{"id": "r7Kq2xYz", "name": "n", "game": "crazy_eights",
      "seats": 4, "players": 8, "spectators": 0, "status": "waiting"}]},
     "rooms[0].players", "rooms[0].players: 8 is greater than the maximum of 7"),
    ({"msg": "room_list", "rooms": [{"id": "r7Kq2xYz", "name": "n", "game": "crazy_eights",
      "seats": 4, "players": 1, "spectators": 0, "status": "over"}]},
     "rooms[0].status", "'over' is not one of 'waiting', 'playing', 'finished'"),
    ({"msg": "left"}, "room", "room: missing"),
    ({"msg": "left", "room": "r7Kq2xYz", "re": True}, "re", "re: must be a string or an integer"),
    ({"msg": "error", "code": "room_full"}, "text", "text: missing"),
    ({"msg": "error", "code": "nope", "text": "x"}, "code", "code: 'nope' is not one of"),
    # state
    ({"msg": "state", "room": "r7Kq2xYz", "table": TABLE_PLAYING}, "seq", "seq: missing"),
    (_state(seq=0), "seq", "seq: 0 is less than the minimum of 1"),
    (_state(room="xy"), "room", "is not a valid room id"),
    (_state(table=_table(turn=...)), "table.turn", "table.turn: missing"),
    (_state(table=_table(pile=...)), "table.pile", "table.pile: missing"),
    (_state(table=_table(colour=1)), "table", "table: unknown field 'colour'"),
    (_state(table=_table(seats=[None])), "table.seats", "table.seats: must have at least 2 items"),
    (_state(table=_table(seats=[None] * 8)), "table.seats", "table.seats: must have at most 7"),
    (_state(table=_table(seats=[None, "Ann"])), "table.seats[1]",
     "table.seats[1]: must be null or an object, not the string 'Ann'"),
    (_state(table=_table(seats=[None, {"seat": 1, "user": {"id": 2, "name": "b"}, "bot": False,
                                       "cards": 3}])),
     "table.seats[1].connected", "table.seats[1].connected: missing"),
    (_state(table=_table(seats=[None, {"seat": 7, "user": {"id": 2, "name": "b"}, "bot": False,
                                       "cards": 3, "connected": True}])),
     "table.seats[1].seat", "table.seats[1].seat: 7 is greater than the maximum of 6"),
    (_state(table=_table(hand=["QH", "1H"])), "table.hand[1]",
     "table.hand[1]: '1H' is not a valid card code"),
    (_state(table=_table(pile=["QH", "QH"])), "table.pile", "table.pile: must not repeat an item"),
    (_state(table=_table(deck=-1)), "table.deck", "table.deck: -1 is less than the minimum of 0"),
    (_state(table=_table(suit="8")), "table.suit", "table.suit: '8' is not one of"),
    (_state(table=_table(turn=None)), "table.turn", "table.turn: must be an integer, not null"),
    (_state(table=_table(TABLE_WAITING, turn=0)), "table.turn", "table.turn: must be null, not 0"),
    (_state(table=_table(TABLE_WAITING, suit="H")), "table.suit", "table.suit: must be null"),
    # Hidden information: a spectator never gets a hand.
    (_state(table=_table(TABLE_SPECTATOR, hand=["QH"])), "table.hand",
     "table.hand: not allowed for a spectator"),
    # The end of the game: winner, scores and hands together, and only then.
    (_state(table=_table(winner=0)), "table.winner",
     "table.winner: not allowed before the game is finished"),
    (_state(table=_table(TABLE_FINISHED, hands=...)), "table.hands", "table.hands: missing"),
    (_state(table=_table(TABLE_FINISHED, scores=[1, "x", 0, 0])), "table.scores[1]",
     "table.scores[1]: must be an integer or null"),
    (_state(table=_table(TABLE_FINISHED, winner=None)), "table.winner",
     "table.winner: must be an integer, not null"),
    # events
    (_state(event={"type": "dance", "seat": 0}), "event.type", "event.type: 'dance' is not one of"),
    (_state(event={"seat": 0}), "event.type", "event.type: missing"),
    (_state(event="put"), "event", "event: must be an object"),
    (_state(event={"type": "take", "seat": 0, "colour": "red"}), "event",
     "event: unknown field 'colour'"),
    (_state(event={"type": "take", "seat": 0, "suit": "H"}), "event", "event: unknown field 'suit'"),
    (_state(event={"type": "take", "seat": 0, "reshuffled": False}), "event.reshuffled",
     "event.reshuffled: must be true, not false"),
    (_state(event={"type": "take"}), "event.seat", "event.seat: missing"),
    (_state(event={"type": "join", "seat": 9}), "event.seat", "9 is greater than the maximum of 6"),
    (_state(event={"type": "join", "seat": 1, "card": "QH"}), "event", "unknown field 'card'"),
    (_state(event={"type": "watch", "seat": 1}), "event", "event: unknown field 'seat'"),
    (_state(event={"type": "start", "seat": 1}), "event.dealer", "event.dealer: missing"),
    (_state(event={"type": "replace", "seat": 1}), "event.reason", "event.reason: missing"),
    (_state(event={"type": "replace", "seat": 1, "reason": "bored"}), "event.reason",
     "'bored' is not one of 'left', 'timeout'"),
    (_state(event={"type": "put", "seat": 0}), "event.card", "event.card: missing"),
    (_state(event={"type": "put", "seat": 0, "card": "8C"}), "event.suit", "event.suit: missing"),
    (_state(event={"type": "put", "seat": 0, "card": "QC", "suit": "H"}), "event.suit",
     "event.suit: not allowed unless the card is an eight"),
    (_state(event={"type": "put", "seat": 0, "card": "QC", "passes": []}), "event.passes",
     "event.passes: must have at least 1 item"),
    (_state(event={"type": "put", "seat": 0, "card": "QC", "passes": ["1"]}), "event.passes[0]",
     "must be an integer"),
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


@pytest.mark.parametrize(
    "line, marker, text", DOC_EXAMPLES, ids=[f"protocol.md:{line}" for line, _, _ in DOC_EXAMPLES]
)
def test_documented_example_matches_its_schema(line, marker, text):
    message = json.loads(text)
    direction = _direction(marker, message)
    (check_client if direction == "client" else check_server)(message)


def test_the_documentation_names_every_error_code():
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    for code in ERROR_CODES:
        assert f"`{code}`" in text, code
