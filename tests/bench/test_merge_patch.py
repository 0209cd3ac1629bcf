"""The load generator's JSON Merge Patch (protocol 3 states), against RFC 7396's examples."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.load import merge_patch  # noqa: E402

# RFC 7396, appendix A: (original, patch, result).
RFC_7396_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize("original, patch, result", RFC_7396_EXAMPLES)
def test_rfc_7396_appendix_a(original: object, patch: object, result: object) -> None:
    assert merge_patch(copy.deepcopy(original), patch) == result


def test_rfc_7396_section_3_example() -> None:
    original = {"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"},
                "tags": ["example", "sample"], "content": "This will be unchanged"}
    patch = {"title": "Hello!", "phoneNumber": "+01-123-456-7890",
             "author": {"familyName": None}, "tags": ["example"]}
    assert merge_patch(original, patch) == {
        "title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"],
        "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890"}


def test_the_patch_is_left_as_it_was() -> None:
    # The player keeps the merged table and patches it again later: sharing the patch's
    # objects would let a later patch change an earlier message.
    patch = {"a": {"b": {"c": 1, "d": None}}}
    kept = copy.deepcopy(patch)
    table = merge_patch({"x": 1}, patch)
    merge_patch(table, {"a": {"b": {"c": 2}}})
    assert patch == kept
    assert table == {"x": 1, "a": {"b": {"c": 2}}}


def test_a_protocol_3_player_keeps_the_whole_table_per_room() -> None:
    import asyncio

    import orjson

    from bench.load import GamePlayer, Run, Table

    async def play() -> tuple[GamePlayer, Run]:
        run = Run(1.0, protocol=3)
        player = GamePlayer(run, "token")
        table = Table(run, "t")
        table.players = [player]
        player.table = table
        whole = {"you": 1, "owner": 0, "status": "waiting", "to_act": [],
                 "seats": [{"user": "ann"}, {"user": "bo"}], "game_state": {"pile": ["QH"]}}
        for message in (
                {"msg": "state", "room": "r1", "seq": 1, "full": True, "table": whole},
                {"msg": "state", "room": "r1", "seq": 2,
                 "table": {"seats": [{"user": "ann"}], "game_state": {"pile": None}}},
                {"msg": "state", "room": "r2", "seq": 3, "table": {"status": "waiting"}}):
            player.message(orjson.dumps(message).decode())
        return player, run

    player, run = asyncio.run(play())
    assert player.tables["r1"] == {"you": 1, "owner": 0, "status": "waiting", "to_act": [],
                                   "seats": [{"user": "ann"}], "game_state": {}}
    # A patch for a room the connection holds no table of is the server's mistake.
    assert "r2" not in player.tables
    assert run.errors == {"patch_without_table": 1}
