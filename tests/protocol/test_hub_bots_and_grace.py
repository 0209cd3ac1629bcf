"""Bots, disconnects, rejoins and grace periods through the protocol hub.

Bots move at once (bot_delay 0); the grace period is a few hundredths of a second where a test
waits for it to end, and long where it must not. Timers run on the hub's clock, so a test that
measures a delay gives the hub the real one (the default fake clock jumps a second a reading).
"""

from __future__ import annotations

import asyncio
import time

from hub_fakes import ANN, BOB, GUS, Client, Net, move_for, until

GRACE = 0.05


async def _game(net: Net, *, watcher: bool = False) -> tuple[Client, Client, str]:
    """Ann (seat 0), a bot (seat 1) and Bob (seat 2) playing; the turn is a person's."""
    ann, bob = await net.login(ANN), await net.login(BOB)
    room = await net.create(ann, seats=3, bots=1)
    await net.join(bob, room)
    await net.settle()
    assert ann.view["status"] == "playing"
    net.mark()
    return ann, bob, room


def _seqs(client: Client, room: str) -> list[int]:
    return [m["seq"] for m in client.states(room) if "event" in m]


async def test_bots_move_by_themselves_and_their_states_carry_no_re(net: Net) -> None:
    ann = await net.login(ANN)
    ann.request("create", id="c", game="crazy_eights", name="Bots", seats=3)
    ann.request("add_bot", id="b1")
    ann.request("add_bot", id="b2")  # fills the room: the game starts, seat 1 moves first
    await net.settle()
    states = ann.states()
    events = [(s["event"]["type"], s.get("re")) for s in states]
    assert events[:4] == [("join", "c"), ("add_bot", "b1"), ("add_bot", "b2"), ("start", "b2")]
    bot_moves = states[4:]
    assert bot_moves, "the bot after the dealer moves at once"
    for state in bot_moves:
        event = state["event"]
        assert event["type"] == "move" and event["seat"] in (1, 2)
        assert event["move"]["type"] in ("put", "take")
        assert "re" not in state
        assert "card" not in event["move"] or event["move"]["type"] == "put"
    assert [s["seq"] for s in states] == list(range(1, len(states) + 1))
    assert ann.my_turn or ann.view["status"] == "finished"


async def test_a_move_answers_the_mover_with_re_and_the_others_without(net: Net) -> None:
    ann, bob, room = await _game(net)
    gus = await net.login(GUS)
    await net.join(gus, room, **{"as": "spectator"})
    mover = ann if ann.my_turn else bob
    other = bob if mover is ann else ann
    net.mark()
    mover.move({"type": "take"}, id="t1")
    await net.settle()
    to_mover, to_other, to_gus = mover.new()[0], other.new()[0], gus.new()[0]
    assert to_mover["re"] == "t1"
    assert "re" not in to_other and "re" not in to_gus
    assert to_mover["seq"] == to_other["seq"] == to_gus["seq"]
    assert to_mover["event"]["seat"] == to_other["event"]["seat"] == mover.seat
    # Only the taker is told which card it was.
    assert to_mover["event"]["move"]["card"] in to_mover["table"]["game_state"]["hand"]
    assert to_other["event"]["move"] == to_gus["event"]["move"]
    assert "card" not in to_other["event"]["move"]
    assert {**to_other["event"]["move"], "card": to_mover["event"]["move"]["card"]} == (
        to_mover["event"]["move"])


async def test_a_take_sent_as_protocol_1s_take_is_the_same_move(net: Net) -> None:
    # take.json allows protocol 1's optional `"from": "deck"`; the alias must accept it.
    ann, bob, room = await _game(net)
    gus = await net.login(GUS)
    await net.join(gus, room, **{"as": "spectator"})
    mover = ann if ann.my_turn else bob
    net.mark()
    mover.send({"msg": "take", "from": "deck", "id": "t1"})
    await net.settle()
    to_mover, to_gus = mover.new()[0], gus.new()[0]
    assert to_mover["re"] == "t1" and to_mover["event"]["type"] == "move"
    assert to_mover["event"]["move"]["type"] == "take"
    assert to_mover["event"]["move"]["card"] in to_mover["table"]["game_state"]["hand"]
    assert "card" not in to_gus["event"]["move"]


async def test_leave_during_a_game_hands_the_seat_to_a_bot_at_once(net: Net) -> None:
    ann, bob, room = await _game(net)
    bob.request("leave", id="go")
    await net.settle()
    assert bob.new() == [{"msg": "left", "room": room, "re": "go"}]
    replace = ann.new()[0]
    assert replace["event"] == {"type": "replace", "seat": 2, "reason": "left"}
    entry = replace["table"]["seats"][2]
    assert entry["bot"] is True and entry["user"] == {"id": BOB, "name": "Bob"}
    # The game goes on: Ann against two bots, to the end.
    await net.play([ann])
    assert ann.view["status"] == "finished"
    moves_by_2 = [s for s in ann.states() if s.get("event", {}).get("seat") == 2
                  and s["event"]["type"] == "move"]
    assert moves_by_2 and all("re" not in s for s in moves_by_2)
    assert not bob.unread("state"), "someone who left is told nothing more of the room"


async def test_a_disconnect_keeps_the_seat_and_a_new_connection_gets_it_back(net: Net) -> None:
    ann, bob, room = await _game(net)
    hand = bob.hand
    seq = bob.state["seq"]
    bob.peer.disconnected()
    await net.settle()
    (state,) = ann.new()
    assert state["event"] == {"type": "disconnect", "seat": 2}
    assert state["seq"] == seq + 1
    assert state["table"]["seats"][2]["connected"] is False
    assert state["table"]["seats"][2]["bot"] is False
    again = await net.login(BOB)
    again.request("join", id="back", room=room)
    await net.settle()
    (state,) = again.new()
    assert state["re"] == "back" and state["event"] == {"type": "connect", "seat": 2}
    assert state["seq"] == seq + 2
    assert state["table"]["you"] == 2 and state["table"]["game_state"]["hand"] == hand
    assert state["table"]["seats"][2]["connected"] is True
    (to_ann,) = ann.new()
    assert to_ann["seq"] == seq + 2 and "re" not in to_ann
    # Bob plays on from the new connection.
    await net.play([ann, again])
    assert again.view["status"] == "finished"
    assert bob.new() == []


async def test_a_disconnect_in_a_waiting_room_and_a_rejoin(net: Net) -> None:
    ann, bob = await net.login(ANN), await net.login(BOB)
    room = await net.create(ann, seats=3)
    await net.join(bob, room)
    net.mark()
    bob.peer.disconnected()
    await net.settle()
    assert [m["event"] for m in ann.new()] == [{"type": "disconnect", "seat": 1}]
    again = await net.login(BOB)
    await net.join(again, room)
    assert again.state["event"] == {"type": "connect", "seat": 1}
    assert again.view["you"] == 1


async def test_a_page_reload_resumes_without_a_change(net: Net) -> None:
    ann, bob, room = await _game(net)
    seq = bob.state["seq"]
    # The new page connects and joins before the old connection is noticed to be gone.
    reloaded = await net.login(BOB)
    reloaded.request("join", id="resume", room=room)
    await net.settle()
    (state,) = reloaded.new()
    assert state["re"] == "resume" and state["seq"] == seq and "event" not in state
    assert state["table"]["game_state"]["hand"] == bob.hand
    assert ann.new() == []
    bob.peer.disconnected()
    await net.settle()
    assert ann.new() == [], "the seat is still connected through the new page"
    assert reloaded.view["seats"][2]["connected"] is True
    await net.play([ann, reloaded])
    assert reloaded.view["status"] == "finished"


async def test_grace_over_during_a_game_hands_the_seat_to_a_bot(nets) -> None:
    net = nets(grace_seconds=GRACE)
    ann, bob, room = await _game(net)
    bob.peer.disconnected()
    await until(lambda: any(m.get("event", {}).get("type") == "replace" for m in ann.unread()),
                what="the bot taking over")
    await net.settle()
    states = ann.new()
    assert [s["event"]["type"] for s in states[:2]] == ["disconnect", "replace"]
    assert states[1]["event"] == {"type": "replace", "seat": 2, "reason": "timeout"}
    assert "re" not in states[1]
    entry = states[1]["table"]["seats"][2]
    assert entry["bot"] is True and entry["user"]["id"] == BOB
    await net.play([ann])
    assert ann.view["status"] == "finished"
    seqs = _seqs(ann, room)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


async def test_grace_over_while_waiting_frees_the_seat(nets) -> None:
    net = nets(grace_seconds=GRACE)
    ann, bob = await net.login(ANN), await net.login(BOB)
    room = await net.create(ann, seats=3)
    await net.join(bob, room)
    net.mark()
    bob.peer.disconnected()
    await until(lambda: len(ann.unread("state")) == 2, what="the seat freed")
    disconnect, leave = ann.new()
    assert disconnect["event"] == {"type": "disconnect", "seat": 1}
    assert leave["event"] == {"type": "leave", "seat": 1}
    assert leave["table"]["seats"][1] is None


async def test_a_rejoin_within_the_grace_period_keeps_the_seat(nets) -> None:
    grace = 0.5
    net = nets(grace_seconds=grace, clock=time.monotonic)
    ann, bob, room = await _game(net)
    bob.peer.disconnected()
    await net.settle()
    again = await net.login(BOB)
    await net.join(again, room)
    await asyncio.sleep(grace * 1.5)  # past the end of the grace period
    await net.settle()
    events = [m["event"]["type"] for m in ann.states() if "event" in m]
    assert "replace" not in events
    assert again.view["seats"][2]["bot"] is False


async def test_a_player_who_left_takes_the_seat_back_by_joining(net: Net) -> None:
    ann, bob, room = await _game(net)
    bob.request("leave")
    await net.settle()
    again = await net.login(BOB)
    again.request("join", id="mine", room=room)
    await net.settle()
    reclaim = [m for m in again.new() if m.get("re") == "mine"]
    assert reclaim[0]["event"] == {"type": "reclaim", "seat": 2}
    assert reclaim[0]["table"]["seats"][2]["bot"] is False
    table = net.table(room)
    assert reclaim[0]["table"]["players"] == table.players == [0, 1, 2]
    assert reclaim[0]["table"]["game_state"]["hand"] == [str(c) for c in table.game.hand(2)]


async def test_after_the_grace_period_the_player_can_take_the_seat_back(nets) -> None:
    net = nets(grace_seconds=GRACE)
    ann, bob, room = await _game(net)
    bob.peer.disconnected()
    await until(lambda: any(m.get("event", {}).get("type") == "replace" for m in ann.unread()),
                what="the bot taking over")
    await net.settle()
    again = await net.login(BOB)
    again.request("join", id="back", room=room)
    await net.settle()
    mine = [m for m in again.new() if m.get("re") == "back"]
    assert mine and mine[0]["event"] == {"type": "reclaim", "seat": 2}


async def test_when_the_last_person_leaves_a_game_the_room_closes(net: Net) -> None:
    ann = await net.login(ANN)
    gus = await net.login(GUS)
    room = await net.create(ann, seats=2, bots=1)
    await net.join(gus, room, **{"as": "spectator"})
    net.mark()
    ann.request("leave")
    await net.settle()
    assert ann.new()[-1] == {"msg": "left", "room": room}
    assert gus.new()[-1] == {"msg": "left", "room": room}
    assert net.hub.lobby.get(room) is None


async def test_a_spectator_whose_connection_drops_stops_watching(net: Net) -> None:
    ann, bob, room = await _game(net)
    gus = await net.login(GUS)
    await net.join(gus, room, **{"as": "spectator"})
    net.mark()
    gus.peer.disconnected()
    await net.settle()
    (state,) = ann.new()
    assert state["event"] == {"type": "unwatch"} and state["table"]["spectators"] == 0


async def test_bots_wait_the_bot_delay(nets) -> None:
    delay = 0.1
    net = nets(bot_delay=delay, clock=time.monotonic)
    ann = await net.login(ANN)
    room = await net.create(ann, seats=2)
    net.mark()
    loop = asyncio.get_running_loop()
    started = loop.time()
    ann.request("add_bot")  # fills the room; the bot (seat 1) moves first
    await net.settle()
    assert [m["event"]["type"] for m in ann.new()] == ["add_bot", "start"]
    await until(lambda: ann.unread("state"), what="the bot's move")
    assert loop.time() - started >= delay * 0.9, "the bot waits"
    (move,) = ann.new()
    assert move["event"]["type"] == "move" and move["event"]["seat"] == 1
    assert move["room"] == room


async def test_two_connections_of_one_player_both_follow_the_room(net: Net) -> None:
    ann, bob, room = await _game(net)
    second = await net.login(BOB)
    second.request("join", id="2nd", room=room)
    await net.settle()
    assert second.last["re"] == "2nd" and second.last["table"]["you"] == 2
    assert ann.new() == []
    # A move from either connection reaches both; only the sender's copy has re.
    mover = ann if ann.my_turn else second
    net.mark()
    mover.send({**move_for(mover.view, alias=mover is second), "id": "mv"})
    await net.settle()
    first_copy, second_copy = bob.new()[0], second.new()[0]
    assert first_copy["seq"] == second_copy["seq"]
    assert first_copy["table"] == second_copy["table"]
    assert ("re" in second_copy) == (mover is second) and "re" not in first_copy
    # Leaving from one connection takes both out of the room.
    net.mark()
    bob.request("leave", id="out")
    await net.settle()
    assert bob.new()[-1] == {"msg": "left", "room": room, "re": "out"}
    assert second.new()[-1] == {"msg": "left", "room": room}
    replace = [m for m in ann.new() if m.get("event", {}).get("type") == "replace"]
    assert replace[0]["event"] == {"type": "replace", "seat": 2, "reason": "left"}
