"""One connection's protocol state (game_server/protocol/peer.py): the checks in order (size,
JSON, schema, authentication, then the handlers' room/seat and game-rule checks), sign-in,
the rate limit, and bugs turned into `internal` errors. No sockets: JSON text goes in through
`Peer.receive`, and fake `send`/`close` callables record what comes out.
"""

from __future__ import annotations

import json
import logging

import pytest

from game_server.protocol import handlers
from game_server.protocol.peer import MAX_MESSAGE_BYTES
from game_server.rules import catalogue
from game_server.tables import Table
from hub_fakes import (ANN, BAD_TOKEN, BOB, CID, GUS, UNKNOWN_USER, FakeClock, Net, move_for,
                       snapshot, token_for)

# --- sign-in -------------------------------------------------------------------------------


async def test_auth_replies_welcome_then_room_list_both_with_re(net: Net) -> None:
    client = net.connect()
    client.request("auth", id="a1", token=token_for(ANN))
    await net.settle()
    assert client.messages == [
        {"msg": "welcome", "user": {"id": ANN, "name": "Ann"}, "server": "test-hub",
         "protocol": 2, "games": catalogue(), "re": "a1"},
        {"msg": "room_list", "rooms": [], "re": "a1"},
    ]
    assert [game["name"] for game in client.messages[0]["games"]] == ["crazy_eights", "hearts"]
    assert not client.closed


async def test_messages_sent_during_the_user_lookup_wait_and_run_in_order(net: Net) -> None:
    client = net.connect()
    client.request("auth", id=1, token=token_for(ANN))
    client.request("room_list", id=2)
    client.request("create", id=3, game="crazy_eights", name="Early", seats=2)
    assert client.messages == []  # the lookup has not finished yet
    await net.settle()
    assert [(m["msg"], m.get("re")) for m in client.messages] == [
        ("welcome", 1), ("room_list", 1), ("room_list", 2), ("state", 3)]


async def test_messages_after_a_refused_lookup_need_authentication(net: Net) -> None:
    client = net.connect()
    client.request("auth", id=1, token=token_for(UNKNOWN_USER))
    client.request("room_list", id=2)
    await net.settle()
    assert [(m["msg"], m.get("code"), m.get("re")) for m in client.messages] == [
        ("error", "invalid_token", 1), ("error", "auth_required", 2)]


@pytest.mark.parametrize("token", [BAD_TOKEN, "token-", "token-12x", token_for(UNKNOWN_USER)])
async def test_a_bad_token_or_an_unknown_user_is_invalid_token(net: Net, token: str) -> None:
    client = net.connect()
    client.request("auth", id="t", token=token)
    await net.settle()
    assert client.messages == [{"msg": "error", "code": "invalid_token",
                                "text": client.messages[0]["text"], "re": "t"}]
    assert token not in client.messages[0]["text"]
    assert not client.closed
    client.request("room_list")
    await net.settle()
    assert client.last["code"] == "auth_required"


async def test_the_fifth_invalid_token_closes_the_connection(net: Net) -> None:
    client = net.connect()
    for attempt in range(4):
        token = BAD_TOKEN if attempt % 2 else token_for(UNKNOWN_USER)
        client.request("auth", id=attempt, token=token)
        await net.settle()
        assert client.last["code"] == "invalid_token" and client.last["re"] == attempt
        assert not client.closed, "four invalid tokens do not close the connection"
    client.request("auth", id=4, token=BAD_TOKEN)
    await net.settle()
    assert [m.get("code") for m in client.messages] == ["invalid_token"] * 5
    assert len(client.closes) == 1
    code, reason = client.closes[0]
    assert 4000 <= code <= 4999 and reason
    # A closed connection handles nothing more.
    client.request("auth", token=token_for(ANN))
    await net.settle()
    assert len(client.messages) == 5 and len(client.closes) == 1


async def test_a_good_token_after_four_bad_ones_signs_in(net: Net) -> None:
    client = net.connect()
    for _ in range(4):
        client.request("auth", token=BAD_TOKEN)
    client.request("auth", id="ok", token=token_for(BOB))
    await net.settle()
    assert client.of("welcome")[0]["user"] == {"id": BOB, "name": "Bob"}
    assert not client.closed


async def test_a_second_auth_is_already_authenticated(net: Net) -> None:
    client = await net.login(ANN)
    client.request("auth", id="again", token=token_for(BOB))
    await net.settle()
    assert client.new() == [{"msg": "error", "code": "already_authenticated",
                             "text": client.last["text"], "re": "again"}]
    client.request("create", game="crazy_eights", name="Mine", seats=2)
    await net.settle()
    assert client.view["seats"][0]["user"]["id"] == ANN  # still Ann


async def test_a_protocol_1_auth_is_refused_naming_protocol_2(net: Net) -> None:
    client = net.connect()
    # Protocol 1's sign-in had no `protocol` field; a client that names another version is
    # refused the same way, and so is one that sends the version as a string.
    for number, message in enumerate([
            {"msg": "auth", "token": token_for(ANN)},
            {"msg": "auth", "protocol": 1, "token": token_for(ANN)},
            {"msg": "auth", "protocol": 4, "token": token_for(ANN)}]):
        client.send({**message, "id": number})
    client.send({"msg": "auth", "protocol": "2", "token": token_for(ANN), "id": "s"})
    await net.settle()
    replies = client.new()
    assert [(m["msg"], m["code"], m["re"]) for m in replies] == [
        ("error", "bad_message", 0), ("error", "bad_message", 1), ("error", "bad_message", 2),
        ("error", "bad_message", "s")]
    for reply in replies[:3]:
        assert "protocol 2" in reply["text"] and '"protocol": 2' in reply["text"], reply
    assert "protocol" in replies[3]["text"]
    assert not client.closed, "a protocol 1 client is told why, not cut off"
    assert not client.of("welcome")
    # Still unauthenticated; the right auth then signs in on the same connection.
    client.request("room_list", id="before")
    client.request("auth", id="ok", token=token_for(ANN))
    await net.settle()
    assert [(m["msg"], m.get("code"), m.get("re")) for m in client.new()] == [
        ("error", "auth_required", "before"), ("welcome", None, "ok"),
        ("room_list", None, "ok")]


@pytest.mark.parametrize("message", [
    {"msg": "room_list"},
    {"msg": "create", "game": "crazy_eights", "name": "x", "seats": 2},
    {"msg": "join", "room": "abcdefgh"},
    {"msg": "add_bot"}, {"msg": "start"}, {"msg": "take"}, {"msg": "put", "card": "QH"},
    {"msg": "move", "move": {"type": "take"}}, {"msg": "leave"},
])
async def test_everything_but_auth_needs_authentication(net: Net, message: dict) -> None:
    client = net.connect()
    client.send({**message, "id": 7})
    await net.settle()
    assert [(m["msg"], m["code"], m["re"]) for m in client.messages] == [
        ("error", "auth_required", 7)]
    assert len(net.hub.lobby) == 0


async def test_a_failing_user_lookup_is_reported_and_logged(net: Net, expected_errors) -> None:
    async def broken(user_id: int):
        raise ConnectionError("database is down")

    real = net.hub.load_user
    net.hub.load_user = broken
    client = net.connect()
    client.request("auth", id="x", token=token_for(ANN))
    await net.settle()
    assert [(m["msg"], m["code"], m["re"]) for m in client.messages] == [
        ("error", "unavailable", "x")]
    assert "database" not in client.last["text"]
    assert len(expected_errors) == 1 and expected_errors[0].exc_info is not None
    assert not client.closed
    net.hub.load_user = real
    client.request("auth", token=token_for(ANN))
    await net.settle()
    assert client.of("welcome")


# --- size, JSON, schema, in that order -------------------------------------------------------


def _padded(target_bytes: int, filler: str) -> str:
    """A room_list message with an unknown `pad` field, exactly `target_bytes` of UTF-8."""
    head, tail = '{"msg":"room_list","pad":"', '"}'
    room = target_bytes - len((head + tail).encode())
    size = len(filler.encode())
    text = head + filler * (room // size) + "a" * (room % size) + tail
    assert len(text.encode("utf-8")) == target_bytes
    return text


@pytest.mark.parametrize("filler", ["a", "é", "€", "🂡"])
async def test_too_large_counts_utf8_bytes(net: Net, filler: str) -> None:
    client = net.connect()
    client.send(_padded(MAX_MESSAGE_BYTES, filler))
    client.send(_padded(MAX_MESSAGE_BYTES + 1, filler))
    await net.settle()
    codes = [m["code"] for m in client.messages]
    # 4096 bytes pass the size check (and fail the schema: `pad` is not a field); 4097 do not.
    assert codes == ["bad_message", "too_large"]
    if filler != "a":
        assert len(_padded(MAX_MESSAGE_BYTES + 1, filler)) < MAX_MESSAGE_BYTES


async def test_check_order_size_then_json_then_schema_then_authentication(net: Net) -> None:
    client = net.connect()
    oversized_garbage = "{" * (MAX_MESSAGE_BYTES + 1)
    oversized_unknown = json.dumps({"msg": "dance", "id": "big", "x": "y" * MAX_MESSAGE_BYTES})
    client.send(oversized_garbage)
    client.send(oversized_unknown)
    client.send('{"msg": "room_list", "id": "x"')  # bad JSON
    client.send(json.dumps({"msg": "put", "card": "1X", "id": "s"}))  # schema, unauthenticated
    client.send(json.dumps({"msg": "put", "card": "QH", "id": "a"}))  # valid, unauthenticated
    # A move's payload needs a room to say which game's schema it must match: unauthenticated,
    # only the message's own schema is checked.
    client.send(json.dumps({"msg": "move", "move": {"type": "put", "card": "1X"}, "id": "m"}))
    client.send(json.dumps({"msg": "move", "move": "take", "id": "n"}))
    await net.settle()
    assert [(m["code"], m.get("re")) for m in client.messages] == [
        ("too_large", None), ("too_large", None), ("bad_json", None), ("bad_message", "s"),
        ("auth_required", "a"), ("auth_required", "m"), ("bad_message", "n")]
    assert "card" in client.messages[3]["text"]
    assert "move" in client.messages[6]["text"]
    assert not client.closed


@pytest.mark.parametrize("text", ["", "nope", "{'msg': 'auth'}", '{"msg": "room_list",}',
                                  '{"msg": "room_list"} x', "\x00"])
async def test_bad_json(net: Net, text: str) -> None:
    client = await net.login(ANN)
    client.send(text)
    await net.settle()
    assert [(m["msg"], m["code"]) for m in client.new()] == [("error", "bad_json")]
    assert "re" not in client.last and not client.closed


@pytest.mark.parametrize("value", [None, b'{"msg": "room_list"}', 42, ["x"]])
async def test_a_message_that_is_not_text_is_bad_json(net: Net, value: object) -> None:
    client = await net.login(ANN)
    client.peer.receive(value)
    await net.settle()
    assert [m["code"] for m in client.new()] == ["bad_json"]


async def test_a_bad_sockjs_frame_is_bad_json(net: Net) -> None:
    client = net.connect()
    client.peer.bad_frame()
    await net.settle()
    assert [m["code"] for m in client.messages] == ["bad_json"]
    assert not client.closed


@pytest.mark.parametrize("message, field", [
    ({"msg": "create", "game": "crazy_eights", "name": "x", "seats": 11}, "seats"),
    ({"msg": "create", "game": "crazy_eights", "name": "x", "seats": 0}, "seats"),
    ({"msg": "create", "game": "crazy_eights", "name": "x", "seats": 2.5}, "seats"),
    ({"msg": "create", "game": "crazy_eights", "name": "", "seats": 2}, "name"),
    ({"msg": "create", "game": "crazy_eights", "name": "x" * 41, "seats": 2}, "name"),
    ({"msg": "create", "game": "Crazy Eights", "name": "x", "seats": 2}, "game"),
    ({"msg": "create", "name": "x", "seats": 2}, "game"),
    ({"msg": "room_list", "colour": "red"}, "colour"),
    ({"msg": "auth", "protocol": "2", "token": "t"}, "protocol"),
    ({"msg": "move"}, "move"),
    ({"msg": "move", "move": ["take"]}, "move"),
    ({"msg": "move", "type": "take"}, "move"),
    ({"msg": "join", "room": "ab"}, "room"),
    ({"msg": "join", "room": "abcdefgh", "as": "referee"}, "as"),
    ({"msg": "put", "card": "1X"}, "card"),
    ({"msg": "put", "card": "QH", "suit": "X"}, "suit"),
    ({"msg": "put"}, "card"),
    ({"msg": "take", "from": "pile"}, "from"),
    ({"msg": "auth"}, "token"),
    ({"msg": "dance"}, "msg"),
    ({"card": "QH"}, "msg"),
    ({"msg": 3}, "msg"),
    ({"msg": "room_list", "id": True}, "id"),
    ({"msg": "room_list", "id": ""}, "id"),
])
async def test_bad_message_names_the_field(net: Net, message: dict, field: str) -> None:
    client = await net.login(ANN)
    client.send(message)
    await net.settle()
    (reply,) = client.new()
    assert reply["code"] == "bad_message"
    assert field in reply["text"], reply["text"]
    assert len(net.hub.lobby) == 0


@pytest.mark.parametrize("text", ["[]", '"room_list"', "3", "null", "true"])
async def test_json_that_is_not_an_object_is_bad_message(net: Net, text: str) -> None:
    client = await net.login(ANN)
    client.send(text)
    await net.settle()
    assert [m["code"] for m in client.new()] == ["bad_message"]


async def test_a_schema_error_echoes_a_valid_id(net: Net) -> None:
    client = await net.login(ANN)
    client.send({"msg": "create", "game": "crazy_eights", "name": "x", "seats": 0, "id": 12})
    client.send({"msg": "create", "game": "crazy_eights", "name": "x", "seats": 0, "id": []})
    await net.settle()
    first, second = client.new()
    assert first["code"] == second["code"] == "bad_message"
    assert first["re"] == 12
    assert "re" not in second


async def test_text_that_is_not_unicode_is_refused_before_it_reaches_anyone(net: Net) -> None:
    ann = await net.login(ANN)
    gus = await net.login(GUS)
    # A JSON escape for half a surrogate pair: valid JSON syntax, but no Unicode text, so it
    # cannot be sent on to anyone as UTF-8 (the room list carries room names).
    ann.send(r'{"msg":"create","game":"crazy_eights","name":"\ud800 room","seats":2}')
    await net.settle()
    assert ann.last["msg"] == "error" and ann.last["code"] in {"bad_message", "bad_json"}
    gus.request("room_list")
    await net.settle()
    assert gus.last["msg"] == "room_list"


async def test_a_large_message_with_a_lone_surrogate_is_a_client_error(net: Net) -> None:
    client = await net.login(ANN)
    client.send('{"msg":"room_list","pad":"' + "\ud800" * 1100 + '"}')
    await net.settle()
    (reply,) = client.new()
    assert reply["code"] in {"too_large", "bad_json", "bad_message"}, reply


# --- room and seat before game rules ------------------------------------------------------


async def test_room_and_seat_are_checked_before_the_game_rules(net: Net) -> None:
    ann, bob, cid = await net.login(ANN), await net.login(BOB), await net.login(CID)
    room = await net.create(ann, seats=2)
    await net.join(cid, room, **{"as": "spectator"})
    net.mark()
    # Nothing is in the hands yet, no one has a turn: still the room/seat answer comes first.
    bob.request("put", id=1, card="QH")
    cid.request("put", id=2, card="QH")
    ann.request("put", id=3, card="QH")
    await net.settle()
    assert (bob.last["code"], cid.last["code"], ann.last["code"]) == (
        "not_in_room", "not_a_player", "game_not_started")
    for client in (bob, cid, ann):
        client.move({"type": "put", "card": "QH"}, id=4)
    await net.settle()
    assert (bob.last["code"], cid.last["code"], ann.last["code"]) == (
        "not_in_room", "not_a_player", "game_not_started")


# --- errors keep the connection -------------------------------------------------------------


async def test_errors_never_close_the_connection(net: Net) -> None:
    client = net.connect()
    client.send("{")
    client.request("room_list")
    client.send("x" * (MAX_MESSAGE_BYTES + 1))
    client.send({"msg": "nope"})
    client.request("auth", token=token_for(ANN))
    await net.settle()
    for message in ["{", {"msg": "nope"}, {"msg": "leave"}, {"msg": "take"},
                    {"msg": "move", "move": {"type": "take"}},
                    {"msg": "join", "room": "abcdefgh"}, {"msg": "start"},
                    {"msg": "auth", "protocol": 2, "token": BAD_TOKEN},
                    {"msg": "auth", "token": token_for(ANN)}]:
        client.send(message)
    await net.settle()
    assert len(client.errors()) == 13
    assert not client.closed
    client.request("room_list", id="still")
    await net.settle()
    assert client.last == {"msg": "room_list", "rooms": [], "re": "still"}


# --- rate limit -------------------------------------------------------------------------------


async def test_bursts_of_40_then_20_per_second(nets, clock: FakeClock) -> None:
    net = nets(clock=clock)
    client = await net.login(ANN)  # one message
    for n in range(39):
        client.request("room_list", id=n)
    await net.settle()
    assert [m["msg"] for m in client.new()] == ["room_list"] * 39
    client.request("create", id="over", game="crazy_eights", name="x", seats=2)
    await net.settle()
    assert client.new() == [{"msg": "error", "code": "rate_limited",
                             "text": client.last["text"], "re": "over"}]
    assert len(net.hub.lobby) == 0, "a refused message is not handled"
    clock.advance(1.0)  # 20 more
    for n in range(21):
        client.request("room_list", id=n)
    await net.settle()
    replies = client.new()
    assert [m["msg"] for m in replies] == ["room_list"] * 20 + ["error"]
    assert replies[-1]["code"] == "rate_limited"
    clock.advance(0.06)  # one more (0.05 s is one token, give or take rounding)
    client.request("room_list")
    await net.settle()
    assert client.last["msg"] == "room_list"
    assert not client.closed


async def test_20_messages_a_second_are_never_limited(nets, clock: FakeClock) -> None:
    net = nets(clock=clock)
    client = await net.login(ANN)
    for _ in range(300):
        clock.advance(0.05)
        client.request("room_list")
    await net.settle()
    assert not client.errors() and len(client.new()) == 300


async def test_a_connection_that_keeps_flooding_for_3_seconds_more_is_closed(
        nets, clock: FakeClock) -> None:
    net = nets(clock=clock)
    client = await net.login(ANN)
    for _ in range(39):
        client.request("room_list")
    start = clock.now
    # Flood at 100 messages a second for 5 seconds: five times the sustained rate.
    closed_at = None
    while clock.now < start + 5.0:
        client.request("room_list")
        if client.closed and closed_at is None:
            closed_at = clock.now
        clock.advance(0.01)
    await net.settle()
    limited = [m for m in client.messages if m.get("code") == "rate_limited"]
    assert limited, "flooding is answered rate_limited first"
    assert closed_at is not None, "a connection that keeps flooding is closed"
    assert start + 3.0 <= closed_at <= start + 3.2
    code, reason = client.closes[0]
    assert 4000 <= code <= 4999 and reason


# --- bugs ---------------------------------------------------------------------------------


async def _game_for_ann(net: Net) -> tuple:
    ann = await net.login(ANN)
    room = await net.create(ann, seats=2, bots=1)
    await net.settle()
    assert ann.my_turn
    net.mark()
    return ann, room


async def test_a_handler_that_raises_answers_internal_and_logs_it(
        net: Net, expected_errors, monkeypatch: pytest.MonkeyPatch) -> None:
    ann, room = await _game_for_ann(net)
    before = snapshot(net.hub)

    def broken(hub, peer, message, re):
        raise RuntimeError("handler bug")

    with monkeypatch.context() as patch:
        patch.setitem(handlers.HANDLERS, "move", broken)
        ann.move({"type": "put", "card": ann.hand[0]}, id="p")
        await net.settle()
    assert ann.new() == [{"msg": "error", "code": "internal", "text": ann.last["text"],
                          "re": "p"}]
    assert "handler bug" not in ann.last["text"]
    assert snapshot(net.hub) == before
    assert not ann.closed
    assert len(expected_errors) == 1
    record = expected_errors[0]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert "handler bug" in str(record.exc_info[1])
    # The connection goes on working.
    ann.send({**move_for(ann.view), "id": "next"})
    await net.settle()
    (reply,) = [m for m in ann.new() if m.get("re") == "next"]
    assert reply["msg"] == "state" and reply["seq"] == before["rooms"][room][0] + 1


async def test_a_table_bug_answers_internal_and_leaves_the_table_unchanged(
        net: Net, expected_errors, monkeypatch: pytest.MonkeyPatch) -> None:
    ann, room = await _game_for_ann(net)
    before = snapshot(net.hub)

    def broken(self, player, move):
        raise KeyError("table bug")

    monkeypatch.setattr(Table, "play", broken)
    ann.move({"type": "take"}, id=9)
    ann.request("take", id=10)
    await net.settle()
    assert [(m["msg"], m["code"], m["re"]) for m in ann.new()] == [("error", "internal", 9),
                                                                   ("error", "internal", 10)]
    assert snapshot(net.hub) == before
    assert len(expected_errors) == 2 and expected_errors[0].exc_info is not None


async def test_a_closed_connection_handles_nothing(net: Net) -> None:
    client = await net.login(ANN)
    client.peer.disconnected()
    client.request("room_list")
    client.peer.bad_frame()
    await net.settle()
    assert client.new() == []
    assert client.peer not in net.hub.peers


@pytest.mark.parametrize("text", ["[" * 2048 + "]" * 2048,
                                  '{"msg":"room_list","x":' + "[" * 2000 + "]" * 2000 + "}"])
async def test_deeply_nested_json_under_4_kib_is_a_client_error(net: Net, text: str) -> None:
    # Within the size limit, but deeper than the JSON decoder goes: the client's mistake, so
    # an error code for the client, not `internal` (which logs a traceback for a server bug).
    assert len(text.encode()) <= MAX_MESSAGE_BYTES
    client = await net.login(ANN)
    client.send(text)
    await net.settle()
    (reply,) = client.new()
    assert reply["code"] in {"bad_json", "bad_message"}, reply
