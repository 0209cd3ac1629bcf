"""Hostile input at the protocol layer (issue 12): numbers JavaScript cannot hold, a recipient
whose send fails, nesting deep enough to exhaust the parser's stack, room names that disguise
themselves, and connections that never sign in. Each gets an error or a close, never a
traceback, and never hurts another connection's game."""

from __future__ import annotations

import asyncio
import sys

import pytest

from game_server.protocol import delivery, schema
from game_server.protocol.peer import CLOSE_SIGN_IN, MAX_MESSAGE_BYTES
from game_server.rules import GAMES
from hub_fakes import ANN, BOB, Net, until

#: The largest integer a JavaScript number holds exactly (Number.MAX_SAFE_INTEGER).
SAFE = 2**53 - 1


# --- item 4: integers a client cannot have meant, and a fan-out that one recipient cannot stop


@pytest.mark.parametrize("value", [2**64, -(2**64), 2**53, -(2**53), 10**400])
async def test_an_id_outside_the_safe_range_is_refused_and_the_connection_keeps_answering(
        net: Net, value: int) -> None:
    ann = await net.login(ANN)
    for msg in ("room_list", "create"):
        ann.send(f'{{"msg": "{msg}", "game": "hearts", "name": "x", "id": {value}}}'
                 if msg == "create" else f'{{"msg": "{msg}", "id": {value}}}')
        await net.settle()
        (error,) = ann.new()
        assert error["msg"] == "error" and error["code"] == "bad_message", error
        assert "re" not in error and error["text"].startswith("id:"), error
    assert len(net.hub.lobby) == 0
    ann.request("room_list", id=SAFE)
    await net.settle()
    assert ann.new() == [{"msg": "room_list", "rooms": [], "re": SAFE}]
    ann.request("room_list", id=-SAFE)
    await net.settle()
    assert ann.new()[0]["re"] == -SAFE


async def test_a_protocol_number_outside_the_safe_range_is_refused(net: Net) -> None:
    client = net.connect()
    client.send('{"msg": "auth", "protocol": %d, "token": "token-1", "id": 1}' % 2**64)
    await net.settle()
    (error,) = client.messages
    assert error["code"] == "bad_message" and error["text"].startswith("protocol:"), error


async def test_a_recipient_whose_send_fails_stops_neither_the_others_nor_the_bot(
        net: Net) -> None:
    ann, bob = await net.login(ANN), await net.login(BOB)
    room = await net.create(ann, seats=3, bots=1)

    def broken(text: str) -> None:
        raise OSError("connection reset")

    bob.peer._send = broken
    net.mark()
    bob.request("join", id="j", room=room)  # fills the room: it deals, and the bot (seat 1)
    await net.settle()                      # is the first to play
    events = [(s["event"]["type"], s["event"].get("seat")) for s in ann.new()]
    assert events == [("join", 2), ("start", None), ("move", 1)], events
    assert not bob.states()
    assert net.table(room).seq == 5


async def test_a_message_that_cannot_be_encoded_for_one_recipient_reaches_the_others(
        net: Net, monkeypatch: pytest.MonkeyPatch, expected_errors: list) -> None:
    """A bug that makes one recipient's copy unencodable is logged; the others get theirs and
    the bot is still scheduled."""
    ann, bob = await net.login(ANN), await net.login(BOB)
    room = await net.create(ann, seats=3, bots=1)
    encode = delivery.encode

    def fragile(message: dict) -> str:
        if message.get("re") == "poison":
            raise TypeError("Integer exceeds 64-bit range")
        return encode(message)

    monkeypatch.setattr(delivery, "encode", fragile)
    net.mark()
    bob.request("join", id="poison", room=room)
    await net.settle()
    events = [(s["event"]["type"], s["event"].get("seat")) for s in ann.new()]
    assert events == [("join", 2), ("start", None), ("move", 1)], events
    # Bob's own copies of the join and the start carry his id: those two are lost.
    assert [s["event"]["type"] for s in bob.new()] == ["move"]
    assert [record.getMessage() for record in expected_errors] == 2 * [
        f"cannot encode a state message for connection {bob.peer.id}"]


# --- item 12: nesting deep enough to exhaust the parser's or the validator's stack


def _deep(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


DEEP_MESSAGES = [
    _deep(MAX_MESSAGE_BYTES // 2 - 1),
    "{" + '"a":{' * 680 + "}" * 681,
    '{"msg": "room_list", "id": %s}' % _deep(990),
    '{"msg": "move", "move": {"type": "put", "card": %s}}' % _deep(990, '"QH"'),
    '{"msg": "move", "move": {"type": %s}}' % _deep(990, '"take"'),
    '{"msg": "move", "move": {"type": "take", "x": %s}}' % _deep(990),
    '{"msg": "create", "game": "hearts", "name": %s}' % _deep(990, '"n"'),
    '{"msg": %s}' % _deep(990, '"auth"'),
    '{"msg": "auth", "protocol": 2, "token": %s}' % _deep(990, '"t"'),
    # A \u escape makes the peer check the message for lone surrogates, re-encoding it.
    '{"msg": "room_list", "id": %s}' % _deep(990, '"\\u0041"'),
    '{"msg": "room_list", "id": %s}' % _deep(990, '"\\ud800"'),
]


@pytest.mark.parametrize("text", DEEP_MESSAGES, ids=lambda text: text[:24])
@pytest.mark.parametrize("stack", [0, 300, 600, 850])
async def test_deep_nesting_is_an_error_not_a_crash(nets, text: str, stack: int) -> None:
    """Answered with bad_json or bad_message wherever the nesting is and however deep the
    caller's own stack already is (the transport calls in from Tornado's frames)."""
    net = nets()
    ann = await net.login(ANN)
    await net.create(ann, seats=3, bots=1)
    sys.setrecursionlimit(1000)  # what the server runs with

    def nest(levels: int) -> None:
        if levels:
            nest(levels - 1)
        else:
            ann.send(text)

    net.mark()
    nest(stack)
    await net.settle()
    (error,) = [message for message in ann.new() if message["msg"] == "error"]
    assert error["msg"] == "error" and error["code"] in ("bad_json", "bad_message"), error
    assert not ann.closed
    # The connection still works.
    ann.request("room_list", id="after")
    await net.settle()
    assert ann.last["re"] == "after"


async def test_a_deeply_nested_sockjs_message_that_is_not_text_is_bad_json(net: Net) -> None:
    """The SockJS frame parser may hand over any JSON value as a message."""
    ann = await net.login(ANN)
    nested: list = []
    for _ in range(5000):
        nested = [nested]
    ann.peer.receive(nested)
    await net.settle()
    assert [m["code"] for m in ann.new()] == ["bad_json"]


# --- item 10: room names


@pytest.mark.parametrize("name", [
    "a\u202eb",        # RIGHT-TO-LEFT OVERRIDE
    "a\u2066b",        # LEFT-TO-RIGHT ISOLATE
    "a\u200bb",        # ZERO WIDTH SPACE
    "a\u200fb",        # RIGHT-TO-LEFT MARK
    "a\ufeffb",        # ZERO WIDTH NO-BREAK SPACE
    "a\u0000b",        # NUL
    "a\nb",            # newline
    "a\rb",
    "a\tb",
    "a\u001b[31mb",    # ESC
    "a\u0085b",        # NEXT LINE
    "a\u2028b",        # LINE SEPARATOR
    "a\u00adb",        # SOFT HYPHEN
    "\u3164",          # HANGUL FILLER: looks like nothing
])
async def test_a_room_name_with_control_format_or_bidi_characters_is_refused(
        net: Net, name: str) -> None:
    ann = await net.login(ANN)
    ann.request("create", id="c", game="hearts", name=name)
    await net.settle()
    (error,) = ann.new()
    assert error["code"] == "bad_message" and error["re"] == "c", error
    assert error["text"].startswith("name:"), error
    assert len(net.hub.lobby) == 0


async def test_a_room_name_is_normalised_nfkc_and_trimmed(net: Net) -> None:
    ann = await net.login(ANN)
    # FULLWIDTH letters and a ligature read as plain ones; an emoji with ZWJ stays.
    ann.request("create", id="c", game="hearts",
                name="  \uff26\ufb01ne \U0001f469\u200d\U0001f4bb ")
    await net.settle()
    room = ann.last["room"]
    assert net.table(room).name == "Ffine \U0001f469\u200d\U0001f4bb"


async def test_a_room_name_that_grows_past_the_limit_when_normalised_is_refused(
        net: Net) -> None:
    ann = await net.login(ANN)
    ann.request("create", id="c", game="hearts", name="\ufdfa" * 3)  # 18 characters each
    await net.settle()
    assert ann.last["code"] == "bad_message" and ann.last["text"].startswith("name:")


# --- item 7: a deadline to sign in


async def test_a_connection_that_does_not_sign_in_in_time_is_closed(nets) -> None:
    net = nets(sign_in_seconds=0.05)
    idle, talker, signed = net.connect(), net.connect(), await net.login(ANN)
    talker.send('{"msg": "room_list"}')  # not a sign-in
    await until(lambda: idle.closed and talker.closed, what="the sign-in deadline")
    assert idle.closes == talker.closes == [CLOSE_SIGN_IN]
    assert talker.messages[0]["code"] == "auth_required"
    await asyncio.sleep(0.1)
    assert not signed.closed
    assert set(net.hub.peers) == {signed.peer.id}


async def test_a_sign_in_deadline_of_zero_is_off(nets) -> None:
    net = nets(sign_in_seconds=0.0)
    idle = net.connect()
    await asyncio.sleep(0.05)
    assert not idle.closed


async def test_a_closed_connection_leaves_no_sign_in_timer(nets) -> None:
    net = nets(sign_in_seconds=30.0)
    client = net.connect()
    assert client.peer.sign_in_timer is not None
    client.peer.disconnected()
    assert client.peer.sign_in_timer is None
    ann = await net.login(ANN)
    assert ann.peer.sign_in_timer is None



def test_every_integer_a_client_sends_is_bounded_to_the_safe_range() -> None:
    """Every integer in a client message or a game's move (ids, seats, the protocol number)
    has bounds within ±(2^53-1), so nothing a client sends can break the JSON encoder."""
    found = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            types = node.get("type")
            if types == "integer" or (isinstance(types, list) and "integer" in types):
                found.append(where)
                assert -SAFE <= node.get("minimum", -SAFE - 1) and \
                    node.get("maximum", SAFE + 1) <= SAFE, f"{where} is unbounded: {node}"
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{index}]")

    for name in schema.CLIENT_TYPES:
        walk(schema._CLIENT[name].schema, name)
    for game in GAMES:
        walk(schema.game_schema(game, "move"), f"{game}/move")
    assert {where.split(".")[0] for where in found} >= {"auth", "create", "room_list"}
