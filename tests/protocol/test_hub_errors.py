"""Every error code of errors.py that the protocol layer can produce, through a `Hub`.

Each scenario is played in the same small world of rooms. For every one the framework checks
what the protocol promises of an error: exactly one `error` message with the code (and `re`
when the request could be read), nothing sent to anyone else, every room's seq and every view
unchanged, the connection still open, and no ERROR logged except for `internal` and
`unavailable`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Awaitable, Callable

import pytest

from game_server.protocol import ERROR_CODES, handlers
from game_server.protocol.peer import MAX_MESSAGE_BYTES
from game_server.rules import Card, CrazyEights
from hub_fakes import (ANN, BAD_TOKEN, BOB, CID, DEE, EVE, FAY, GUS, PROTOCOL, Client,
                       FakeClock, Net, snapshot, token_for)


@dataclass
class World:
    """Rooms in every state, and people in every position.

    g: playing, 3 seats: Ann (0, owner), a bot (1), Bob (2); Cid watches.
    w: waiting, 3 seats: Dee (0, owner), Eve (1).
    f: finished, 2 seats: Fay (0, owner), a bot (1).
    Gus is in the lobby.
    """

    net: Net
    clock: FakeClock
    monkeypatch: pytest.MonkeyPatch
    ann: Client
    bob: Client
    cid: Client
    dee: Client
    eve: Client
    fay: Client
    gus: Client
    g: str
    w: str
    f: str

    @property
    def mover(self) -> Client:
        """Whichever of Ann and Bob has the turn in g."""
        return self.ann if self.ann.my_turn else self.bob

    @property
    def waiter(self) -> Client:
        return self.bob if self.ann.my_turn else self.ann


async def build_world(net: Net, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> World:
    ann, bob, cid, dee, eve, fay, gus = [await net.login(uid)
                                         for uid in (ANN, BOB, CID, DEE, EVE, FAY, GUS)]
    g = await net.create(ann, seats=3, name="Playing", bots=1)
    await net.join(bob, g)
    await net.join(cid, g, **{"as": "spectator"})
    w = await net.create(dee, seats=3, name="Waiting")
    await net.join(eve, w)
    f = await net.create(fay, seats=2, name="Finished", bots=1)
    await net.play([fay])
    await net.settle()
    world = World(net, clock, monkeypatch, ann, bob, cid, dee, eve, fay, gus, g, w, f)
    assert ann.view["status"] == "playing" and (ann.my_turn or bob.my_turn)
    assert dee.view["status"] == "waiting" and fay.view["status"] == "finished"
    net.mark()
    return world


Scenario = Callable[[World], Awaitable[tuple[Client, Any]]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(code: str):
    def register(function: Scenario) -> Scenario:
        SCENARIOS[code] = function
        return function
    return register


@scenario("bad_json")
async def _(w: World):
    return w.gus, '{"msg": "room_list", "id": "req"'


@scenario("bad_message")
async def _(w: World):
    return w.mover, {"msg": "move", "move": {"type": "put", "card": "ZZ"}}


@scenario("too_large")
async def _(w: World):
    return w.mover, json.dumps({"msg": "move", "move": {"type": "put", "card": "QH"},
                                "id": "req", "note": "x" * MAX_MESSAGE_BYTES})


@scenario("auth_required")
async def _(w: World):
    return w.net.connect("anonymous"), {"msg": "join", "room": w.g}


@scenario("invalid_token")
async def _(w: World):
    return w.net.connect("stranger"), {"msg": "auth", "protocol": PROTOCOL, "token": BAD_TOKEN}


@scenario("already_authenticated")
async def _(w: World):
    return w.gus, {"msg": "auth", "protocol": PROTOCOL, "token": token_for(GUS)}


@scenario("unavailable")
async def _(w: World):
    async def broken(user_id: int):
        raise OSError("user store unreachable")

    w.monkeypatch.setattr(w.net.hub, "load_user", broken)
    return w.net.connect("newcomer"), {"msg": "auth", "protocol": PROTOCOL,
                                       "token": token_for(GUS)}


@scenario("no_such_room")
async def _(w: World):
    return w.gus, {"msg": "join", "room": "no-such-room"}


@scenario("room_full")
async def _(w: World):
    return w.gus, {"msg": "join", "room": w.f}


@scenario("not_in_room")
async def _(w: World):
    return w.gus, {"msg": "leave"}


@scenario("already_in_room")
async def _(w: World):
    return w.ann, {"msg": "create", "game": "crazy_eights", "name": "Another", "seats": 2}


@scenario("too_many_rooms")
async def _(w: World):
    # Dee opened w, which Eve keeps waiting; with a cap of one room she cannot open another.
    engine = w.net.hub.engine
    w.monkeypatch.setattr(engine, "settings", replace(engine.settings, rooms_per_user=1))
    return w.dee, {"msg": "create", "game": "hearts", "name": "Another"}


@scenario("not_owner")
async def _(w: World):
    return w.eve, {"msg": "add_bot"}


TAKE = {"msg": "move", "move": {"type": "take"}}


@scenario("not_a_player")
async def _(w: World):
    return w.cid, TAKE


@scenario("game_started")
async def _(w: World):
    return w.gus, {"msg": "join", "room": w.g}


@scenario("game_not_started")
async def _(w: World):
    return w.dee, TAKE


@scenario("game_finished")
async def _(w: World):
    return w.fay, {"msg": "take"}  # protocol 1's name of the move: the same answers


@scenario("not_your_turn")
async def _(w: World):
    return w.waiter, TAKE


@scenario("not_in_hand")
async def _(w: World):
    # The top card of the pile is in no one's hand.
    return w.mover, {"msg": "move", "move": {"type": "put", "card": w.mover.game["pile"][-1]}}


@scenario("illegal_move")
async def _(w: World):
    hand = w.mover.hand
    plain = [card for card in hand if card[0] != "8"]
    if plain:  # only an eight names a suit
        return w.mover, {"msg": "move", "move": {"type": "put", "card": plain[0], "suit": "H"}}
    return w.mover, {"msg": "put", "card": hand[0]}  # an eight needs a suit


@scenario("rate_limited")
async def _(w: World):
    w.clock.step = 0.0  # time stands still: the burst is all there is
    for _ in range(45):
        w.gus.request("room_list")
    w.gus.mark()
    return w.gus, {"msg": "room_list"}


@scenario("chat_empty")
async def _(w: World):
    return w.gus, {"msg": "chat", "text": " \u202e\u2066 \n"}


@scenario("chat_too_long")
async def _(w: World):
    return w.cid, {"msg": "chat", "text": "x" * 201}


@scenario("chat_rate_limited")
async def _(w: World):
    w.clock.step = 0.0  # time stands still: five messages fill the window
    for n in range(5):
        w.gus.request("chat", text=f"hello {n}")
    return w.gus, {"msg": "chat", "text": "one too many"}


@scenario("muted")
async def _(w: World):
    w.ann.request("mute", user_id=CID)
    return w.cid, {"msg": "chat", "text": "the bot holds an eight"}


@scenario("not_a_member")
async def _(w: World):
    return w.ann, {"msg": "mute", "user_id": GUS}


@scenario("no_spectators")
async def _(w: World):
    # Dee leaves her waiting room and opens one nobody may watch (spectator policies).
    w.dee.request("create", game="crazy_eights", name="Private", seats=2, spectators="none")
    await w.net.settle()
    assert w.dee.last["msg"] == "state", w.dee.last
    return w.gus, {"msg": "join", "room": w.dee.room, "as": "spectator"}


@scenario("internal")
async def _(w: World):
    def broken(hub, peer, message, re):
        raise ZeroDivisionError("bug in a handler")

    w.monkeypatch.setitem(handlers.HANDLERS, "move", broken)
    return w.mover, TAKE


#: Codes answered before the message could be read, so without `re`.
NO_RE = {"bad_json", "too_large"}
#: Codes that log an ERROR with its traceback.
LOGGED = {"internal", "unavailable"}


def test_every_error_code_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(ERROR_CODES)


@pytest.mark.parametrize("code", sorted(SCENARIOS))
async def test_error(code: str, nets, expected_errors, monkeypatch) -> None:
    clock = FakeClock(step=1.0)
    net = nets(clock=clock)
    world = await build_world(net, clock, monkeypatch)
    client, message = await SCENARIOS[code](world)
    await net.settle()
    net.mark()
    before = snapshot(net.hub)
    if isinstance(message, dict):
        message = json.dumps({**message, "id": "req"})
    client.send(message)
    await net.settle()

    replies = client.new()
    assert len(replies) == 1, replies
    (reply,) = replies
    assert reply["msg"] == "error" and reply["code"] == code, reply
    assert reply["text"]
    if code in NO_RE:
        assert "re" not in reply
    else:
        assert reply["re"] == "req"
    for other in net.clients:
        if other is not client:
            assert other.new() == [], f"{other} was told something"
    assert snapshot(net.hub) == before, "an error changed a room"
    assert not client.closed, "an error closed the connection"
    assert all(not c.closed for c in net.clients)
    if code in LOGGED:
        assert len(expected_errors) == 1
        assert expected_errors[0].exc_info is not None, "logged with its traceback"
    else:
        assert expected_errors == []


# --- more ways to the same codes -------------------------------------------------------------


@pytest.fixture
async def world(nets, monkeypatch) -> World:
    clock = FakeClock(step=1.0)
    return await build_world(nets(clock=clock), clock, monkeypatch)


def _variants(w: World) -> list[tuple[Client, dict[str, Any], str]]:
    put_any = {"msg": "move", "move": {"type": "put", "card": "QH"}}
    return [
        (w.gus, {"msg": "take"}, "not_in_room"),
        (w.gus, put_any, "not_in_room"),
        (w.gus, {"msg": "put", "card": "QH"}, "not_in_room"),
        (w.gus, {"msg": "add_bot"}, "not_in_room"),
        (w.gus, {"msg": "start"}, "not_in_room"),
        (w.cid, {"msg": "add_bot"}, "not_a_player"),
        (w.cid, {"msg": "start"}, "not_a_player"),
        (w.cid, put_any, "not_a_player"),
        (w.cid, {"msg": "put", "card": "QH"}, "not_a_player"),
        (w.eve, {"msg": "start"}, "not_owner"),
        (w.bob, {"msg": "add_bot"}, "not_owner"),
        (w.ann, {"msg": "start"}, "game_started"),
        (w.ann, {"msg": "add_bot"}, "game_started"),
        (w.eve, {"msg": "join", "room": w.g}, "game_started"),
        (w.eve, put_any, "game_not_started"),
        (w.fay, put_any, "game_finished"),
        (w.fay, {"msg": "take"}, "game_finished"),
        (w.fay, {"msg": "add_bot"}, "room_full"),
        (w.dee, {"msg": "join", "room": w.f}, "room_full"),
        (w.bob, {"msg": "join", "room": w.w}, "already_in_room"),
        (w.ann, {"msg": "join", "room": w.f, "as": "spectator"}, "already_in_room"),
        (w.waiter, {"msg": "move", "move": {"type": "put", "card": w.waiter.hand[0]}},
         "not_your_turn"),
        (w.waiter, {"msg": "put", "card": w.waiter.hand[0]}, "not_your_turn"),
        (w.gus, {"msg": "join", "room": "abcdef"}, "no_such_room"),
        # Games and seat counts the lobby refuses, from someone in no room.
        (w.gus, {"msg": "create", "game": "chess", "name": "x"}, "bad_message"),
        (w.gus, {"msg": "create", "game": "hearts", "name": "x", "seats": 3}, "bad_message"),
        (w.gus, {"msg": "create", "game": "crazy_eights", "name": "x", "seats": 8},
         "bad_message"),
        # A move the game's schema refuses, and one of another game.
        (w.mover, {"msg": "move", "move": {"type": "put", "card": "QX"}}, "bad_message"),
        (w.mover, {"msg": "move", "move": {"type": "play", "card": "QH"}}, "bad_message"),
    ]


async def test_more_ways_to_each_error_change_nothing(world: World) -> None:
    net = world.net
    for client, message, code in _variants(world):
        before = snapshot(net.hub)
        net.mark()
        client.send({**message, "id": 5})
        await net.settle()
        replies = client.new()
        assert [(r["msg"], r.get("code"), r.get("re")) for r in replies] == [
            ("error", code, 5)], (client, message, replies)
        assert all(other.new() == [] for other in net.clients)
        assert snapshot(net.hub) == before, (client, message)
        assert not client.closed


async def test_an_eight_without_a_suit_and_a_card_that_does_not_match(world: World) -> None:
    net = world.net
    table = net.table(world.g)
    mover = world.mover
    player = table.players.index(mover.seat)
    hands = [[Card.from_str("2S"), Card.from_str("9S")], [Card.from_str("3S")],
             [Card.from_str("4S")]]
    hands[player] = [Card.from_str(c) for c in ("8C", "3D", "KH")]
    table.game = CrazyEights.from_position(hands=hands, pile=[Card.from_str("TH")],
                                           deck=[Card.from_str("2C")], turn=player)
    before = snapshot(net.hub)
    net.mark()
    mover.move({"type": "put", "card": "8C"}, id=1)
    mover.request("put", id=2, card="3D")
    mover.move({"type": "put", "card": "KH", "suit": "S"}, id=3)
    await net.settle()
    assert [(m["code"], m["re"]) for m in mover.new()] == [
        ("illegal_move", 1), ("illegal_move", 2), ("illegal_move", 3)]
    assert snapshot(net.hub) == before


async def test_take_with_nothing_to_take_is_an_illegal_move(world: World) -> None:
    net = world.net
    table = net.table(world.g)
    mover = world.mover
    player = table.players.index(mover.seat)
    hands = [[Card.from_str("2S")], [Card.from_str("3S")], [Card.from_str("4S")]]
    hands[player] = [Card.from_str("QH"), Card.from_str("5C")]
    table.game = CrazyEights.from_position(hands=hands, pile=[Card.from_str("TH")], deck=[],
                                           turn=player)
    before = snapshot(net.hub)
    net.mark()
    mover.move({"type": "take"}, id="t")
    mover.request("take", id="t1")
    await net.settle()
    assert [(m["code"], m["re"]) for m in mover.new()] == [("illegal_move", "t"),
                                                           ("illegal_move", "t1")]
    assert snapshot(net.hub) == before


async def test_a_spectator_may_not_manage_or_play_even_in_a_waiting_room(world: World) -> None:
    net = world.net
    await net.join(world.gus, world.w, **{"as": "spectator"})
    net.mark()
    before = snapshot(net.hub)
    for message in ({"msg": "add_bot"}, {"msg": "start"}, {"msg": "take"}, TAKE):
        world.gus.send(message)
    await net.settle()
    assert [m["code"] for m in world.gus.new()] == ["not_a_player"] * 4
    assert snapshot(net.hub) == before


async def test_a_create_the_lobby_refuses_costs_no_seat(world: World) -> None:
    # Dee owns the waiting room w, Eve sits in it. A create the lobby refuses (a game it does
    # not run, a seat count the game is not played with) must change nothing: like any
    # refused request, it may not first take them out of their room.
    net = world.net
    for client, message in [
        (world.dee, {"msg": "create", "game": "chess", "name": "x"}),
        (world.eve, {"msg": "create", "game": "hearts", "name": "x", "seats": 3}),
    ]:
        before = snapshot(net.hub)
        net.mark()
        client.send({**message, "id": "c"})
        await net.settle()
        assert [(m["msg"], m.get("code")) for m in client.new()] == [("error", "bad_message")]
        assert all(other.new() == [] for other in net.clients), "someone was told a change"
        assert snapshot(net.hub) == before, f"{client} lost the seat in {world.w}"
