"""The fast path of check_client and check_move (game_server/protocol/schema.py): fastjsonschema
first, jsonschema when it does not accept.

The fast path may only ever accept what jsonschema accepts, and with the schemas as they are it
should accept every valid message (else it buys nothing). So on every message here, from the
documentation, the corpora of test_schemas.py, hand-made mutations and Hypothesis, these tests
check that the fast path accepts exactly when jsonschema does, and that check_client gives the
same result, or the same SchemaViolation text and field, as the jsonschema path alone. The same
for the move payloads of the games whose move schema has a fast validator.
"""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from game_server.protocol import schema
from game_server.protocol.schema import CLIENT_TYPES, SchemaViolation, check_client, check_move
from game_server.rules import GAMES
from test_schemas import (DOC_EXAMPLES, INVALID_CLIENT, INVALID_MOVES, VALID_CLIENT, VALID_MOVES,
                          _direction)


def _reference(message: Any) -> tuple[str, str | None] | None:
    """What the jsonschema path alone says: None for valid, else (text, field)."""
    try:
        schema._check(message, schema._CLIENT)
    except SchemaViolation as violation:
        return violation.text, violation.field
    return None


def _checked(message: Any) -> tuple[str, str | None] | None:
    """What check_client says, in the same form."""
    try:
        check_client(message)
    except SchemaViolation as violation:
        assert str(violation) == violation.text
        return violation.text, violation.field
    return None


def _assert_agree(message: Any) -> None:
    snapshot = copy.deepcopy(message)
    reference = _reference(message)
    fast = isinstance(message, dict) and schema._accepted_fast(message)
    assert fast == (reference is None), (message, reference)
    assert _checked(message) == reference, message
    # Neither path changes the message (fastjsonschema could fill in defaults).
    assert message == snapshot


# --- Which types have the fast path ------------------------------------------------------------


def test_every_client_type_has_a_fast_validator():
    # If a schema change takes one away, say why in schema.py and change this test.
    assert set(schema._FAST_CLIENT) == CLIENT_TYPES
    for name in CLIENT_TYPES:
        assert schema._fast_obstacle(schema._CLIENT[name].schema) is None, name


_OBJECT = {"type": "object", "properties": {"msg": {"const": "x"}}, "additionalProperties": False}


@pytest.mark.parametrize(
    "extra, words",
    [
        # 2020-12 keywords fastjsonschema does not know, and would ignore:
        ({"unevaluatedProperties": False}, "unevaluatedProperties"),
        ({"dependentRequired": {"msg": ["id"]}}, "dependentRequired"),
        ({"properties": {"msg": {"type": "array", "prefixItems": [{"type": "string"}]}}},
         "prefixItems"),
        ({"properties": {"msg": {"$ref": "#/$defs/x"}}}, "$ref"),
        # Known to both, but not checked to mean the same:
        ({"properties": {"msg": {"type": "string", "format": "email"}}}, "format"),
        ({"allOf": [{"required": ["msg"]}]}, "allOf"),
        ({"properties": {"msg": {"items": {"type": "string"}}}}, "items"),
        ({"properties": {"msg": {"default": "x"}}}, "default"),
        ({"properties": {"msg": False}}, "boolean subschema"),
        ({"additionalProperties": {"type": "string"}}, "additionalProperties"),
        ({"properties": {"a-b": {"type": "string"}}}, "property name"),
        ({"properties": {"msg": {"pattern": "^a$|^b$"}}}, "pattern"),
        ({"properties": {"msg": {"pattern": "^a\\\\$"}}}, "pattern"),
        ({"properties": {"msg": {"enum": [["x"]]}}}, "enum"),
        ({"$id": "https://card-table.invalid/schema/x.json"} | {"properties": {"msg": {
            "$id": "https://card-table.invalid/schema/y.json"}}}, "$id"),
    ],
)
def test_schemas_with_other_keywords_get_no_fast_validator(extra, words):
    definition = _OBJECT | extra
    Draft202012Validator.check_schema(definition)
    reason = schema._fast_obstacle(definition)
    assert reason is not None and words in reason
    assert schema._fast_validators({"x": SimpleNamespace(schema=definition)}) == {}


def test_a_schema_with_only_the_listed_keywords_gets_one():
    definition = _OBJECT | {"properties": {
        "msg": {"const": "x", "title": "t"},
        "n": {"type": ["integer", "null"], "minimum": 1, "maximum": 3},
        "s": {"type": "string", "minLength": 1, "maxLength": 3, "pattern": "^a+$"},
        "e": {"enum": ["a", 1, None, True]},
    }, "required": ["msg"]}
    assert schema._fast_obstacle(definition) is None
    assert set(schema._fast_validators({"x": SimpleNamespace(schema=definition)})) == {"x"}


# --- Where the two libraries differ ------------------------------------------------------------


@pytest.mark.parametrize(
    "message, text, field",
    [
        # fastjsonschema counts 2.0 as an integer; this project does not.
        ({"msg": "take", "id": 2.0}, "id: must be a string or an integer, not 2.0", "id"),
        ({"msg": "create", "game": "crazy_eights", "name": "x", "seats": 4.0},
         "seats: must be an integer, not 4.0", "seats"),
        ({"msg": "create", "game": "crazy_eights", "name": "x", "seats": True},
         "seats: must be an integer, not true", "seats"),
        ({"msg": "start", "id": False}, "id: must be a string or an integer, not false", "id"),
        # A final `$` is the end of the string (ECMA-262), not "before a final newline".
        ({"msg": "put", "card": "TH\n"},
         "card: 'TH\\n' is not a valid card code (rank 2-9, T, J, Q, K or A, then suit C, D, H"
         ' or S, e.g. "TH")', "card"),
        ({"msg": "join", "room": "r7Kq2xYz\n"},
         "room: 'r7Kq2xYz\\n' is not a valid room id (6 to 32 characters: letters, digits, '_'"
         " or '-')", "room"),
    ],
)
def test_differences_are_decided_by_jsonschema(message, text, field):
    assert not schema._accepted_fast(message)
    with pytest.raises(SchemaViolation) as caught:
        check_client(message)
    assert (caught.value.text, caught.value.field) == (text, field)
    _assert_agree(message)


def test_the_fast_validators_use_the_same_regular_expressions():
    # fastjsonschema rewrites `$` itself; it must come out as schema._compile's.
    patterns = {
        sub["pattern"]
        for validator in schema._CLIENT.values()
        for sub in validator.schema["properties"].values()
        if "pattern" in sub
    }
    assert patterns == {"^[2-9TJQKA][CDHS]$", "^[A-Za-z0-9_-]{6,32}$", "\\S",
                        "^[a-z][a-z0-9_]{0,31}$"}
    for name, fast in schema._FAST_CLIENT.items():
        for pattern, compiled in fast.__globals__["REGEX_PATTERNS"].items():
            assert compiled.pattern == schema._compile(pattern).pattern, (name, pattern)


def test_a_fast_validator_that_raises_falls_back(monkeypatch):
    def broken(message):
        raise RuntimeError("broken")

    monkeypatch.setitem(schema._FAST_CLIENT, "put", broken)
    check_client({"msg": "put", "card": "QH"})
    with pytest.raises(SchemaViolation, match="not a valid card code"):
        check_client({"msg": "put", "card": "QX"})


def test_valid_messages_do_not_reach_jsonschema(monkeypatch):
    # The point of the fast path: jsonschema only runs to explain a rejection.
    calls = []
    monkeypatch.setattr(schema, "_check", lambda *args: calls.append(args))
    for message in VALID_CLIENT:
        check_client(message)
    assert calls == []
    check_client({"msg": "take", "id": 2.0})
    assert len(calls) == 1


# --- Corpora -----------------------------------------------------------------------------------

DOC_CLIENT = [
    message
    for _, marker, text in DOC_EXAMPLES
    if _direction(marker, message := json.loads(text)) == "client"
]

LONG = "Z" * 5000
HUGE = 10**400

HAND_MADE: list[Any] = [
    None, [], "auth", 5, {}, {"msg": None}, {"msg": 1}, {"msg": ["put"]}, {"msg": {"a": 1}},
    {"msg": "dance"}, {"msg": "state"}, {"msg": LONG}, {"msg": "put\n", "card": "QH"},
    {"msg": "leave", LONG: 1}, {"msg": "leave", 1: 1}, {"msg": "leave", None: 1},
    {"msg": "put", "card": LONG}, {"msg": "join", "room": LONG}, {"msg": "take", "from": LONG},
    {"msg": "create", "game": "crazy_eights", "name": "x", "seats": HUGE},
    {"msg": "create", "game": "crazy_eights", "name": "x", "seats": -HUGE},
    {"msg": "create", "game": "crazy_eights", "name": "x", "seats": 7, "id": HUGE},
    {"msg": "create", "game": "crazy_eights", "name": "x", "seats": [LONG] * 3},
    {"msg": "create", "game": "crazy_eights", "name": "x", "seats": float("nan")},
    {"msg": "create", "game": "crazy_eights", "name": "x", "seats": float("inf")},
    {"msg": "create", "game": "crazy_eights", "name": "x\n", "seats": 2},
    {"msg": "create", "game": "crazy_eights", "name": "\u00a0", "seats": 2},
    {"msg": "create", "game": "crazy_eights", "name": "\U0001f0a1" * 40, "seats": 2},
    {"msg": "create", "game": "crazy_eights", "name": "\U0001f0a1" * 41, "seats": 2},
    {"msg": "create", "game": "crazy_eights\n", "name": "x", "seats": 2},
    {"msg": "auth", "token": "t" * 1024}, {"msg": "auth", "token": "t" * 1025},
    {"msg": "auth", "token": "t", "id": "i" * 64}, {"msg": "auth", "token": "t", "id": "\n"},
    {"msg": "put", "card": "QH", "suit": None}, {"msg": "put", "card": "QH", "suit": "H\n"},
    {"msg": "put", "card": "\nQH"}, {"msg": "put", "card": "QH\r"}, {"msg": "put", "card": "QH$"},
    {"msg": "put", "card": "QH", "suit": True}, {"msg": "put", "card": True},
    {"msg": "join", "room": "abcdef", "as": None}, {"msg": "join", "room": "abcde\u0661"},
    {"msg": "join", "room": "abcdef", "as": "player\n"}, {"msg": "take", "from": "deck\n"},
    {"msg": "take", "from": None}, {"msg": "take", "id": 0}, {"msg": "take", "id": -1},
    {"msg": "take", "id": ""}, {"msg": "take", "id": []}, {"msg": "take", "id": ("a",)},
    {"msg": "room_list", "id": 1, "re": 1}, {"msg": "leave", "a": 1, "b": 2, "c": 3},
]

# Each valid message with one field changed, removed or added.
_REPLACEMENTS = [None, True, False, 0, 1, 2.0, 2.5, -1, HUGE, "", "x", "\n", LONG, [], {}, ["x"]]


def _mutations(message: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, value in message.items():
        out.append({k: v for k, v in message.items() if k != key})
        out += [message | {key: replacement} for replacement in _REPLACEMENTS]
        if isinstance(value, str):
            out += [message | {key: value + "\n"}, message | {key: value + " "},
                    message | {key: value.lower()}, message | {key: value * 40}]
        if isinstance(value, int) and not isinstance(value, bool):
            out += [message | {key: float(value)}, message | {key: value + 1},
                    message | {key: value - 1}, message | {key: bool(value)},
                    message | {key: str(value)}]
    out += [message | {extra: 1} for extra in ("re", "room", "card", "colour", "")]
    return out


CORPUS: list[Any] = [
    *DOC_CLIENT,
    *VALID_CLIENT,
    *(message for message, _, _ in INVALID_CLIENT),
    *HAND_MADE,
    *(mutated for message in [*VALID_CLIENT, *DOC_CLIENT] for mutated in _mutations(message)),
]


def test_the_corpus_covers_every_type_valid_and_invalid():
    for name in CLIENT_TYPES:
        ofs = [m for m in CORPUS if isinstance(m, dict) and m.get("msg") == name]
        assert any(_reference(m) is None for m in ofs), name
        assert sum(_reference(m) is not None for m in ofs) >= 20, name
    assert len(DOC_CLIENT) >= len(CLIENT_TYPES)


@pytest.mark.parametrize("message", CORPUS, ids=lambda m: repr(m)[:60])
def test_fast_path_agrees_with_jsonschema(message):
    _assert_agree(message)


# --- Hypothesis --------------------------------------------------------------------------------

_TEXT = st.text(max_size=70)
_GOOD: dict[str, st.SearchStrategy[Any]] = {
    "card": st.from_regex(r"[2-9TJQKA][CDHS]", fullmatch=True),
    "suit": st.sampled_from("CDHS"),
    # Integers a JavaScript number holds exactly: the schemas refuse the others.
    "id": st.one_of(st.text(min_size=1, max_size=64),
                    st.integers(-(2**53 - 1), 2**53 - 1)),
    "token": st.text(min_size=1, max_size=1024),
    "game": st.one_of(st.sampled_from(sorted(GAMES)),
                      st.from_regex(r"[a-z][a-z0-9_]{0,31}", fullmatch=True)),
    # A room name needs a character that is not a space somewhere.
    "name": st.tuples(st.text(max_size=20), st.sampled_from("Ab7é"), st.text(max_size=19))
              .map("".join),
    "seats": st.integers(1, 10),
    "protocol": st.integers(-(2**53 - 1), 2**53 - 1),
    # The message schema asks only for an object: the game's schema checks the rest.
    "move": st.one_of(st.sampled_from([move for _, move in VALID_MOVES]),
                      st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)),
    "room": st.from_regex(r"[A-Za-z0-9_-]{6,32}", fullmatch=True),
    "as": st.sampled_from(["player", "spectator"]),
    "since": st.integers(0, 2**53 - 1),
    "from": st.just("deck"),
    "clock": st.fixed_dictionaries({"move": st.integers(5, 600), "bank": st.integers(0, 3600)}),
    "text": _TEXT,
    "user_id": st.integers(0, 2**53 - 1),
    "spectator_chat": st.booleans(),
    "spectators": st.sampled_from(["none", "public", "delayed"]),
    "spectator_delay": st.integers(1, 20),
}
_WILD: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63, max_value=10**500),
    st.integers(-10, 10).map(float),
    st.floats(),
    _TEXT,
    _TEXT.map(lambda text: text + "\n"),
    st.sampled_from(["QH", "QH\n", "8S", "r7Kq2xYz", "deck", "player", "crazy_eights", " "]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _fields(name: str) -> list[str]:
    return [key for key in schema._CLIENT[name].schema["properties"] if key != "msg"]


@st.composite
def _messages(draw: st.DrawFn, name: str) -> dict[str, Any]:
    required = set(schema._CLIENT[name].schema["required"])
    message: dict[str, Any] = {"msg": name}
    for key in _fields(name):
        if key in required or draw(st.booleans()):
            message[key] = draw(_GOOD[key])
    # Then at most a few of: a field made wild, a field dropped, a field added.
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["wild", "drop", "add", "newline"]))
        keys = list(message)
        if not keys:
            action = "add"
        if action == "wild":
            message[draw(st.sampled_from(keys))] = draw(_WILD)
        elif action == "drop":
            del message[draw(st.sampled_from(keys))]
        elif action == "add":
            key = draw(st.one_of(st.sampled_from(["re", "room", "card", "id", "msg"]), _TEXT))
            message[key] = draw(st.one_of(_WILD, *_GOOD.values()))
        else:
            key = draw(st.sampled_from(keys))
            if isinstance(message[key], str):
                message[key] += "\n"
    return message


@pytest.mark.parametrize("name", sorted(CLIENT_TYPES))
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fast_path_agrees_with_jsonschema_on_generated_messages(name, data):
    _assert_agree(data.draw(_messages(name)))


@pytest.mark.parametrize("name", sorted(CLIENT_TYPES))
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_generated_valid_messages_take_the_fast_path(name, data):
    required = set(schema._CLIENT[name].schema["required"])
    message = {"msg": name} | {
        key: data.draw(_GOOD[key])
        for key in _fields(name)
        if key in required or data.draw(st.booleans())
    }
    assert _reference(message) is None
    assert schema._accepted_fast(message)


# --- Move payloads -----------------------------------------------------------------------------


def _move_reference(game: str, move: Any) -> tuple[str, str | None] | None:
    """What the jsonschema path alone says of a move payload."""
    try:
        schema._check_part(game, "move", move, ["move"])
    except SchemaViolation as violation:
        return violation.text, violation.field
    return None


def _move_fast(game: str, move: Any) -> bool:
    fast = schema._FAST_MOVES.get(f"{game}/move")
    if fast is None or type(move) is not dict:
        return False
    if not schema._FAST_VALUE_TYPES.issuperset(map(type, move.values())):
        return False
    try:
        fast(move)
    except Exception:
        return False
    return True


def _assert_move_agree(game: str, move: Any) -> None:
    snapshot = copy.deepcopy(move)
    reference = _move_reference(game, move)
    fast = _move_fast(game, move)
    if schema._FAST_MOVES.get(f"{game}/move") is not None and isinstance(move, dict) and (
            schema._FAST_VALUE_TYPES.issuperset(map(type, move.values()))):
        assert fast == (reference is None), (game, move, reference)
    else:
        assert not fast
    try:
        check_move(game, move)
        checked = None
    except SchemaViolation as violation:
        checked = violation.text, violation.field
    assert checked == reference, (game, move)
    assert move == snapshot


def test_a_game_has_a_fast_move_validator_exactly_when_its_schema_allows():
    for game in GAMES:
        validator = schema._GAMES[f"{game}/move"]
        assert (f"{game}/move" in schema._FAST_MOVES) == (
            schema._fast_obstacle(validator.schema) is None), game
    # Crazy Eights keeps its move schema plain for it (its field combinations are the game's).
    assert "crazy_eights/move" in schema._FAST_MOVES


_MOVE_CORPUS: list[tuple[str, Any]] = [
    *VALID_MOVES,
    *((game, move) for game, move, _, _ in INVALID_MOVES if game in GAMES),
    *((game, move) for game in GAMES for _, move in VALID_MOVES),
    *((game, mutated) for game, move in VALID_MOVES for mutated in _mutations(move)),
    *((game, value) for game in GAMES for value in (
        None, [], "take", 5, {"type": None}, {"type": "take", "from": "deck"},
        {"type": "take", "from": "pile"}, {"type": "put", "card": "QH\n"},
        {"type": "put", "card": "QH", "suit": "H\n"}, {"type": "put", "card": "QH", 1: 2})),
]


@pytest.mark.parametrize("game, move", _MOVE_CORPUS, ids=lambda v: repr(v)[:50])
def test_fast_move_path_agrees_with_jsonschema(game, move):
    _assert_move_agree(game, move)


_MOVE_FIELDS = st.sampled_from(["type", "card", "suit", "cards", "from", "x"])
_MOVE_VALUES = st.one_of(_WILD, _GOOD["card"], _GOOD["suit"],
                         st.sampled_from(["take", "put", "pass", "play", "deck"]),
                         st.lists(_GOOD["card"], max_size=4))


@pytest.mark.parametrize("game", sorted(GAMES))
@settings(max_examples=300, deadline=None)
@given(move=st.dictionaries(_MOVE_FIELDS, _MOVE_VALUES, max_size=4))
def test_fast_move_path_agrees_with_jsonschema_on_generated_moves(game, move):
    _assert_move_agree(game, move)
