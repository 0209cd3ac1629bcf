"""The protocol's JSON Schemas: loaded once from the repository's `schema/` folder, checked on use.

Every message has its own schema file, `schema/client/<msg>.json` or `schema/server/<msg>.json`,
with shared definitions in `schema/defs.json`. At import this module reads them all, checks each
against the JSON Schema 2020-12 meta-schema, resolves their `$ref`s through a `referencing`
registry built from the files (never the network), inlining them, and compiles one validator per
message.
`check_client` and `check_server` pick the validator by the message's `msg` field, so a message
is never tried against every schema.

Client messages also get a fastjsonschema validator, generated from the same inlined schema, for
the common case: most messages are valid, and fastjsonschema accepts one about ten times faster
than jsonschema. It may only accept: whatever it rejects (or chokes on) goes through jsonschema,
which stays the reference and writes every error text. A message type gets the fast validator
only if its schema uses nothing whose meaning differs between the two (see `_fast_obstacle`).

Part of the protocol layer: imports only the standard library, jsonschema, referencing and
fastjsonschema.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = [
    "CLIENT_TYPES",
    "SERVER_TYPES",
    "SCHEMA_BASE",
    "SCHEMA_DIR",
    "SchemaViolation",
    "check_client",
    "check_move",
    "check_server",
    "game_schema",
]

#: The top-level `schema/` folder of the repository (this file is game_server/protocol/schema.py).
SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schema"

#: Every schema's `$id` is this base plus its path under SCHEMA_DIR. The host is reserved
#: (RFC 6761 `.invalid`), so nothing can ever be fetched from it.
SCHEMA_BASE = "https://card-table.invalid/schema/"

# At most this many characters of the client's own input go back in an error text.
_ECHO_LIMIT = 40


class SchemaViolation(Exception):
    """A message does not match its schema.

    `text` says, for a person, which field is wrong and how; `field` is that field's path
    (`"seats"`, `"table.seats[2].user"`), or None when the message as a whole is wrong.
    """

    def __init__(self, text: str, field: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.field = field


# --- The validator class ---------------------------------------------------------------------


def _is_integer(checker: object, instance: object) -> bool:
    # JSON Schema counts 2.0 as an integer, but json.loads gives a float, and a float where
    # the server counts seats or cards would fail deep inside a handler instead of here.
    return isinstance(instance, int) and not isinstance(instance, bool)


@functools.lru_cache(maxsize=None)
def _compile(pattern: str) -> re.Pattern[str]:
    # Schema patterns are ECMA-262 regular expressions, in which a final `$` matches only at
    # the very end of the string. Python's `$` also matches before a final newline, which
    # would let "TH\n" pass as a card code; `\Z` is the ECMA meaning.
    if pattern.endswith("$"):
        backslashes = len(pattern[:-1]) - len(pattern[:-1].rstrip("\\"))
        if backslashes % 2 == 0:
            pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(
    validator: Any, pattern: str, instance: object, schema: Mapping[str, Any]
) -> Iterable[ValidationError]:
    if validator.is_type(instance, "string") and not _compile(pattern).search(instance):
        yield ValidationError(f"does not match {pattern!r}")


_Validator = validators.extend(
    Draft202012Validator,
    validators={"pattern": _pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


# --- Loading -----------------------------------------------------------------------------------


def _load(directory: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read, check and compile every schema file under `directory`.

    Returns the client and the server validators, each a dict from message name to validator.

    Raises:
        jsonschema.exceptions.SchemaError: a file is not a valid 2020-12 schema.
        ValueError: a file's `$id` or `msg` does not match its path.
    """
    documents: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.rglob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(contents)
        uri = SCHEMA_BASE + path.relative_to(directory).as_posix()
        if contents.get("$id") != uri:
            raise ValueError(f"{path}: $id must be {uri!r}")
        documents[uri] = contents

    registry: Registry = Registry().with_resources(
        (uri, Resource.from_contents(contents, default_specification=DRAFT202012))
        for uri, contents in documents.items()
    ).crawl()

    found: dict[str, dict[str, Any]] = {"client": {}, "server": {}, "games": {}}
    for uri, contents in documents.items():
        direction, _, file_name = uri.removeprefix(SCHEMA_BASE).partition("/")
        if direction not in found:
            continue  # defs.json: definitions only, not a message.
        name = file_name.removesuffix(".json")
        if direction == "games":
            # games/<game>/<part>.json: a game's move, view or event payload.
            found["games"][name] = _Validator(_bundle(contents, registry.resolver(uri)),
                                              registry=registry)
            continue
        if contents.get("properties", {}).get("msg") != {"const": name}:
            raise ValueError(f"{uri}: properties.msg must be {{'const': {name!r}}}")
        bundled = _bundle(contents, registry.resolver(uri))
        found[direction][name] = _Validator(bundled, registry=registry)
    return found["client"], found["server"], found["games"]


def _bundle(node: Any, resolver: Any, depth: int = 0) -> Any:
    """A copy of `node` with every `$ref` replaced by what it points to.

    The schemas are not recursive, so this ends; validating without `$ref` lookups is about
    four times faster with jsonschema 4.x. The refs are resolved through the registry, so they
    mean exactly what they mean in the files.
    """
    if depth > 32:
        raise ValueError("$ref nesting too deep (a recursive schema?)")
    if isinstance(node, list):
        return [_bundle(item, resolver, depth) for item in node]
    if not isinstance(node, dict):
        return node
    copied = {key: _bundle(value, resolver, depth) for key, value in node.items() if key != "$ref"}
    if "$ref" not in node:
        return copied
    resolved = resolver.lookup(node["$ref"])
    target = _bundle(resolved.contents, resolved.resolver, depth + 1)
    if isinstance(target, dict):
        # A whole file as the target: its identity must not become the including schema's.
        target = {k: v for k, v in target.items() if k not in ("$id", "$schema")}
    # Keywords beside a $ref apply as well as the target (2020-12); none of ours have any.
    return {**copied, "allOf": [target, *copied.get("allOf", [])]} if copied else target


_CLIENT, _SERVER, _GAMES = _load(SCHEMA_DIR)

#: Names of the messages a client may send.
CLIENT_TYPES: frozenset[str] = frozenset(_CLIENT)
#: Names of the messages the server sends.
SERVER_TYPES: frozenset[str] = frozenset(_SERVER)


# --- The fast path for valid client messages ---------------------------------------------------
#
# fastjsonschema generates Python code for drafts 04 to 07; a 2020-12 `$schema` is read as draft 07
# (2.22's "draft 2019" code only adds two formats). For the keywords below, and for messages whose
# values are plain str, int, bool or None, it accepts exactly what jsonschema with _Validator
# accepts:
#
# - integer: fastjsonschema (draft 06+) counts 2.0 as an integer, _is_integer does not; bool is
#   no integer for either. A message with any float value (or any value that is not a plain
#   scalar: a list, an object, a subclass) never takes the fast path, see `_FAST_VALUE_TYPES`.
# - pattern: fastjsonschema turns every `$` not right after a backslash into `\Z` and searches,
#   which is what _compile does to a final `$`; a pattern with a `$` anywhere else does not
#   qualify, so both use the same regular expression.
# - const, enum: compared by type as well as value in both (True is not 1), for scalars.
# - Anything else, format and 2020-12's own keywords (unevaluatedProperties, prefixItems,
#   dependentRequired, $dynamicRef...) included: fastjsonschema ignores or reads differently some
#   of these, so a schema that uses any keyword not listed keeps jsonschema alone.

_FAST_KEYWORDS = frozenset(
    {"type", "properties", "required", "additionalProperties", "const", "enum", "pattern",
     "minLength", "maxLength", "minimum", "maximum"}
)
_FAST_ANNOTATIONS = frozenset({"title", "description", "$comment", "examples"})
_FAST_VALUE_TYPES = frozenset({str, int, bool, type(None)})


def _fast_obstacle(schema: Any, top: bool = True) -> str | None:
    """Why fastjsonschema might not accept exactly what jsonschema accepts for `schema` (an
    inlined message schema), or None if it will, for messages with plain scalar values."""
    if not isinstance(schema, dict):
        return "a boolean subschema"
    for keyword, value in schema.items():
        if keyword in _FAST_ANNOTATIONS or (top and keyword in ("$schema", "$id")):
            continue
        if keyword not in _FAST_KEYWORDS:
            return f"keyword {keyword!r}"
        if keyword == "properties":
            for name, subschema in value.items():
                # fastjsonschema makes a variable name of each property name.
                if not (name.isascii() and name.isidentifier()):
                    return f"property name {name!r}"
                if obstacle := _fast_obstacle(subschema, top=False):
                    return obstacle
        elif keyword == "additionalProperties" and value is not False:
            return "additionalProperties other than false"
        elif keyword == "pattern" and ("$" in value[:-1] or value.endswith("\\$")):
            return f"pattern {value!r} (a '$' that is not a plain final one)"
        elif keyword in ("const", "enum"):
            if not all(
                item is None or isinstance(item, (str, int, float))
                for item in (value if keyword == "enum" else [value])
            ):
                return f"{keyword} with a value that is not a scalar"
    return None


def _fast_validators(by_name: Mapping[str, Any]) -> dict[str, Any]:
    """A fastjsonschema function per message whose schema qualifies (see `_fast_obstacle`)."""
    found = {}
    for name, validator in by_name.items():
        if _fast_obstacle(validator.schema) is not None:
            continue
        try:
            # (detailed_exceptions=False would only speed up rejections, and fastjsonschema
            # 2.22.3 cannot generate a `const` check with it.)
            found[name] = fastjsonschema.compile(
                validator.schema, use_default=False, use_formats=False  # never change the message
            )
        except fastjsonschema.JsonSchemaDefinitionException:
            continue
    return found


# Every client message type has one today (tests/protocol/test_schema_fast.py says so).
_FAST_CLIENT = _fast_validators(_CLIENT)
# Game move payloads (games/<game>/move) whose schema qualifies, by "<game>/move".
_FAST_MOVES = _fast_validators({name: v for name, v in _GAMES.items() if name.endswith("/move")})


def _opaque_objects(validator: Any) -> frozenset[str]:
    """Properties whose schema is exactly ``{"type": "object"}`` (a game's payload, checked on
    its own): for them a dict value is as plain as a scalar, since both validators check only
    that it is an object."""
    return frozenset(name for name, sub in validator.schema.get("properties", {}).items()
                     if sub == {"type": "object"})


_FAST_OPAQUE = {name: _opaque_objects(_CLIENT[name]) for name in _FAST_CLIENT}


# --- Checking ----------------------------------------------------------------------------------


def check_client(message: object) -> None:
    """Check a message from a client (already parsed from JSON) against its schema.

    Raises:
        SchemaViolation: the message is not an object, has no known `msg`, or breaks its
            schema; the text names the field and the problem.
    """
    if type(message) is dict and _accepted_fast(message):
        return
    _check(message, _CLIENT)


def _plain_object(value: dict[Any, Any]) -> bool:
    """An object of plain scalar values (`create`'s `clock`): as plain as a scalar for the fast
    path, since the schema of a nested object passed `_fast_obstacle` like the message's own."""
    return all(type(key) is str and type(item) in _FAST_VALUE_TYPES
               for key, item in value.items())


def _accepted_fast(message: dict[Any, Any]) -> bool:
    """True if the fast validator of the message's type accepts it: jsonschema would as well.
    False says nothing: the message may still be valid, and jsonschema must decide."""
    name = message.get("msg")
    if type(name) is not str:
        return False
    fast = _FAST_CLIENT.get(name)
    if fast is None:
        return False
    opaque = _FAST_OPAQUE[name]
    for key, value in message.items():
        if type(value) not in _FAST_VALUE_TYPES and not (
                type(value) is dict and (key in opaque or _plain_object(value))):
            return False
    try:
        fast(message)
    except Exception:  # a rejection, or anything worse: jsonschema decides
        return False
    return True


def check_move(game: str, move: object) -> None:
    """Check a move's payload (the `move` of a `move` message) against the schema of the game
    played in the sender's room, ``schema/games/<game>/move.json``.

    Raises:
        SchemaViolation: the payload breaks the game's schema; the field path starts with
            ``move``.
    """
    fast = _FAST_MOVES.get(f"{game}/move")
    if (fast is not None and type(move) is dict
            and _FAST_VALUE_TYPES.issuperset(map(type, move.values()))):
        try:
            fast(move)
            return
        except Exception:  # a rejection, or anything worse: jsonschema decides
            pass
    _check_part(game, "move", move, ["move"])


def check_server(message: object) -> None:
    """Check a message the server is about to send against its schema; for a `state` with a
    whole table, also its game's payloads against the game's schemas (``view.json`` for
    `table.game_state`, ``event.json`` for a move event's `move`). A protocol 3 patch has no
    `game` to pick them by: check the table it makes once merged.

    Raises:
        SchemaViolation: as for `check_client`.
    """
    _check(message, _SERVER)
    if message.get("msg") == "state":
        table = message["table"]
        if "game" not in table:
            return  # a protocol 3 patch: its payloads are checked once merged, by the client
        if table.get("game_state") is not None:
            _check_part(table["game"], "view", table["game_state"], ["table", "game_state"])
        event = message.get("event")
        if event is not None and event.get("type") == "move":
            _check_part(table["game"], "event", event["move"], ["event", "move"])


def game_schema(game: str, part: str) -> dict[str, Any]:
    """The inlined schema of one of a game's payloads ("move", "view" or "event").

    Raises:
        KeyError: the game has no such schema file.
    """
    return _GAMES[f"{game}/{part}"].schema


def _check_part(game: str, part: str, value: object, path: list[str | int]) -> None:
    validator = _GAMES.get(f"{game}/{part}")
    if validator is None:
        raise SchemaViolation(f"no {part} schema for the game {_show(game)}")
    error = best_match(validator.iter_errors(value))
    if error is not None:
        error.path.extendleft(reversed(path))
        field, text = _explain(error)
        raise SchemaViolation(text, field)


def _check(message: object, by_name: Mapping[str, Any]) -> None:
    if not isinstance(message, dict):
        raise SchemaViolation("message must be a JSON object")
    if "msg" not in message:
        raise SchemaViolation("msg: missing", "msg")
    name = message["msg"]
    if not isinstance(name, str):
        raise SchemaViolation(f"msg: must be a string, not {_kind(name)}", "msg")
    validator = by_name.get(name)
    if validator is None:
        raise SchemaViolation(f"msg: unknown message type {_show(name)}", "msg")
    error = best_match(validator.iter_errors(message))
    if error is not None:
        field, text = _explain(error)
        raise SchemaViolation(text, field)


# --- Error texts -------------------------------------------------------------------------------


def _explain(error: ValidationError) -> tuple[str | None, str]:
    """Return (field, text) for one validation error, in words a client developer can act on.

    jsonschema's own messages repeat the whole offending value; these quote at most
    _ECHO_LIMIT characters of it.
    """
    path = list(error.absolute_path)
    field = _field(path)
    keyword = error.validator
    value = error.validator_value
    instance = error.instance

    if keyword == "required":
        missing = next(name for name in value if name not in instance)
        name = _field([*path, missing])
        return name, f"{name}: missing"
    if keyword == "additionalProperties":
        known = error.schema.get("properties", {})
        extra = [key for key in instance if key not in known]
        more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
        prefix = f"{field}: " if field else ""
        return field, f"{prefix}unknown field {_show(extra[0])}{more}"

    if keyword == "not" and value == {}:
        # The schemas forbid a known field in some cases with {"description": ..., "not": {}};
        # the description says when, e.g. "for a spectator".
        text = f"not allowed {error.schema.get('description', 'here')}"
    elif keyword is None:  # a `false` subschema (jsonschema leaves its field out of the path)
        text = "not allowed here"
    elif keyword == "type":
        text = f"must be {_types(value)}, not {_kind(instance, with_value=True)}"
    elif keyword in ("enum", "const"):
        choices = value if keyword == "enum" else [value]
        if len(choices) == 1:
            text = f"must be {_show(choices[0])}, not {_show(instance)}"
        else:
            text = f"{_show(instance)} is not one of {', '.join(map(_show, choices))}"
    elif keyword == "minimum":
        text = f"{_show(instance)} is less than the minimum of {value}"
    elif keyword == "maximum":
        text = f"{_show(instance)} is greater than the maximum of {value}"
    elif keyword == "minLength":
        text = "must not be empty" if value == 1 else f"must be at least {value} characters long"
    elif keyword == "maxLength":
        text = f"must be at most {value} characters long"
    elif keyword == "pattern":
        what = error.schema.get("title")
        text = (
            f"{_show(instance)} is not a valid {what}"
            if what
            else f"{_show(instance)} does not match {value}"
        )
    elif keyword == "minItems":
        text = f"must have at least {value} item{'s' if value != 1 else ''}"
    elif keyword == "maxItems":
        text = f"must have at most {value} item{'s' if value != 1 else ''}"
    elif keyword == "uniqueItems":
        text = "must not repeat an item"
    elif keyword in ("anyOf", "oneOf"):
        kinds = [e.validator_value for e in error.context if e.validator == "type" and not e.path]
        if kinds and len(kinds) == len(error.context):
            text = f"must be {_types(kinds)}, not {_kind(instance, with_value=True)}"
        else:
            text = "matches none of the allowed forms"
    else:
        text = f"fails the schema's {keyword!r} rule"
    return field, f"{field or 'message'}: {text}"


def _field(path: Iterable[str | int]) -> str | None:
    """`['table', 'seats', 2, 'user']` -> `'table.seats[2].user'`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text or None


_ARTICLES = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _types(expected: object) -> str:
    """`'integer'` -> 'an integer'; `['integer', 'null']` -> 'an integer or null'."""
    names: list[str] = []
    for item in expected if isinstance(expected, list) else [expected]:
        for name in item if isinstance(item, list) else [item]:
            if name not in names:
                names.append(name)
    return " or ".join(_ARTICLES.get(name, name) for name in names)


def _kind(instance: object, with_value: bool = False) -> str:
    """The JSON type of a value: 'a string', 'an object', 'null'; with_value adds a short
    rendering of scalars: "the string 'x'", '2.5'."""
    if instance is None or isinstance(instance, bool):
        return json.dumps(instance) if with_value else "a boolean" if instance is not None else "null"
    if isinstance(instance, (int, float)):
        if with_value:
            return _show(instance)
        return "an integer" if isinstance(instance, int) else "a number"
    if isinstance(instance, str):
        return f"the string {_show(instance)}" if with_value else "a string"
    if isinstance(instance, (list, tuple)):
        return "an array"
    if isinstance(instance, dict):
        return "an object"
    return type(instance).__name__


def _show(value: object) -> str:
    """A short, quoted rendering of a value, never more than _ECHO_LIMIT characters of it."""
    if isinstance(value, str):
        if len(value) > _ECHO_LIMIT:
            return repr(value[: _ECHO_LIMIT - 1]) + "…"
        return repr(value)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        # Also avoids int-to-str's 4300-digit limit.
        return str(value) if value.bit_length() <= 128 else "a very large integer"
    if isinstance(value, float):
        return repr(value)
    return _kind(value)
