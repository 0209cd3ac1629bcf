"""Resume without gaps: a client that reconnects with `join` + `since` (the last `seq` it saw)
gets the events it missed, in order, each as its seat sees it, then a fresh `state`; when the
room no longer keeps the change after `since`, the `state` alone (docs/protocol.md,
"Resuming").

Two players (and a bot) play Crazy Eights or Hearts while a spectator watches; one player's
connection drops at a random point (several seeds), the game goes on, and it comes back with
`since`. The event log rebuilt from what it received is compared with that of a connection of
the same seat that never dropped.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from game_server.tables import Table
from game_server.tables import table as table_module
from hub_fakes import ANN, BOB, CID, Client, Net, PRIVATE_EVENT_FIELDS, move_for

SEEDS = range(6)
GAMES = {"crazy_eights": 3, "hearts": 4}  # game -> seats (the rest filled with bots)


def events(messages: list[dict[str, Any]], room: str) -> list[tuple[int, dict[str, Any]]]:
    """The (seq, event) of every change a client was told of: states with an event, and the
    events a resume sent."""
    return [(m["seq"], m["event"]) for m in messages
            if m["msg"] in ("state", "event") and m.get("room") == room and "event" in m]


def never_another_seats_secrets(log: list[tuple[int, dict[str, Any]]], game: str,
                                seat: int) -> None:
    for seq, event in log:
        move = event.get("move") if event.get("type") == "move" else None
        if not isinstance(move, dict):
            continue
        for field, who in PRIVATE_EVENT_FIELDS.get((game, move.get("type")), {}).items():
            if field in move and who == "mover":
                assert event["seat"] == seat, f"seq {seq}: seat {event['seat']}'s {field}"


async def step(net: Net, players: list[Client]) -> bool:
    """One move by a person who may move now (bots move by themselves); False if none can."""
    mover = next((p for p in players if not p.peer.closed and p.my_turn), None)
    if mover is None:
        return False
    mover.send(move_for(mover.view))
    await net.settle()
    assert mover.last["msg"] != "error", mover.last
    return True


async def setup(net: Net, game: str) -> tuple[str, Client, Client, Client]:
    ann, bob, cid = await net.login(ANN), await net.login(BOB), await net.login(CID)
    room = await net.create(ann, seats=GAMES[game], game=game, bots=GAMES[game] - 2)
    await net.join(cid, room, **{"as": "spectator"})
    await net.join(bob, room)  # the last seat: the game starts
    assert ann.view["status"] == "playing"
    return room, ann, bob, cid


@pytest.mark.parametrize("game", sorted(GAMES))
@pytest.mark.parametrize("seed", SEEDS)
async def test_a_second_connection_that_drops_and_resumes_sees_what_the_first_saw(
        nets, game: str, seed: int) -> None:
    """The seat never goes away (its other connection stays), so the resumed log must equal
    the other connection's exactly."""
    rng = random.Random(seed)
    net = nets(grace_seconds=1e6)
    room, ann, bob, cid = await setup(net, game)
    twin = await net.login(ANN)  # Ann's second connection, the one that drops
    await net.join(twin, room)
    for _ in range(rng.randrange(0, 12)):
        if not await step(net, [ann, bob]):
            break
    before = list(twin.messages)
    last = twin.state["seq"]
    twin.peer.disconnected()
    await net.settle()
    for _ in range(rng.randrange(1, 12)):
        if not await step(net, [ann, bob]):
            break
    back = await net.login(ANN)
    back.request("join", id="r", room=room, since=last)
    await net.settle()

    replies = [m for m in back.messages if m.get("re") == "r"]
    assert replies and replies[-1]["msg"] == "state", replies
    assert all(m["msg"] == "event" for m in replies[:-1]), replies
    assert replies[-1]["seq"] == net.table(room).seq  # the fresh state comes last
    assert replies[-1]["table"] == ann.view
    rebuilt = events(before, room) + events(back.messages, room)
    joined = twin.states(room)[0]["seq"]  # a rejoin while connected: no event
    expected = [(seq, event) for seq, event in events(ann.messages, room) if seq > joined]
    assert rebuilt == expected
    never_another_seats_secrets(rebuilt, game, ann.seat)


@pytest.mark.parametrize("game", sorted(GAMES))
@pytest.mark.parametrize("seed", SEEDS)
async def test_a_player_whose_only_connection_drops_resumes_without_gap_or_repeat(
        nets, game: str, seed: int) -> None:
    """The seat is disconnected meanwhile; the resumed log runs from the first state to the
    last without a gap or a repeat, says what Bob's and the spectator's say (the public part),
    and names no card of another seat."""
    rng = random.Random(seed)
    net = nets(grace_seconds=1e6)
    room, ann, bob, cid = await setup(net, game)
    for _ in range(rng.randrange(0, 12)):
        if not await step(net, [ann, bob]):
            break
    before = list(ann.messages)
    last = max(seq for seq, _ in events(before, room))
    ann.peer.disconnected()
    await net.settle()
    for _ in range(rng.randrange(1, 12)):
        if not await step(net, [bob]):  # the game goes on until Ann is to move
            break
    back = await net.login(ANN)
    back.request("join", id="r", room=room, since=last)
    await net.settle()

    assert back.state["seq"] == net.table(room).seq
    assert back.state["event"] == {"type": "connect", "seat": ann.seat}
    rebuilt = events(before, room) + events(back.messages, room)
    seqs = [seq for seq, _ in rebuilt]
    assert seqs == list(range(seqs[0], seqs[-1] + 1))  # no gap, no repeat, in order
    assert seqs[-1] == net.table(room).seq
    missed = [seq for seq, _ in events(back.messages, room)]
    assert missed[0] == last + 1
    seat = ann.seat
    never_another_seats_secrets(rebuilt, game, seat)
    # The public events are those everyone else got; Ann's own moves keep her private parts.
    watched = dict(events(cid.messages, room))
    for seq, event in rebuilt:
        if seq not in watched:
            continue  # before the spectator came
        if event.get("type") == "move" and event["move"] != watched[seq]["move"]:
            assert event["seat"] == seat or game == "hearts", (seq, event, watched[seq])
            assert {k: v for k, v in event.items() if k != "move"} == {
                k: v for k, v in watched[seq].items() if k != "move"}
        else:
            assert event == watched[seq], seq


async def test_a_gap_older_than_the_room_keeps_gets_the_state_alone(
        nets, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_module, "RECENT_CHANGES", 4)
    net = nets(grace_seconds=1e6)
    room, ann, bob, cid = await setup(net, "crazy_eights")
    last = ann.state["seq"]
    ann.peer.disconnected()
    await net.settle()
    while net.table(room).seq < last + 6 and await step(net, [bob]):
        pass
    if net.table(room).seq < last + 6:  # Ann is to move: more changes by watching
        for _ in range(6):
            cid.peer.disconnected()
            await net.settle()
            cid = await net.login(CID)
            await net.join(cid, room, **{"as": "spectator"})
    assert net.table(room).seq >= last + 6
    back = await net.login(ANN)
    back.request("join", id="r", room=room, since=last)
    await net.settle()
    replies = [m for m in back.messages if m.get("re") == "r"]
    assert [m["msg"] for m in replies] == ["state"]
    assert replies[0]["seq"] == net.table(room).seq
    assert replies[0]["table"]["game_state"]["hand"] == net.table(room).view_for(
        ann.seat)["game_state"]["hand"]

    # And a `since` that is current, or ahead of the room, is a plain rejoin.
    again = await net.login(ANN)
    again.request("join", id="s", room=room, since=net.table(room).seq + 50)
    await net.settle()
    assert [m["msg"] for m in again.messages if m.get("re") == "s"] == ["state"]


async def test_a_room_rebuilt_from_its_move_log_keeps_the_same_events(nets) -> None:
    """After a restart (or a takeover) the room is replayed from the log: a resume there
    gets the same events as before."""
    net = nets(grace_seconds=1e6)
    room, ann, bob, cid = await setup(net, "hearts")
    for _ in range(6):
        if not await step(net, [ann, bob]):
            break
    table = net.table(room)
    rebuilt = Table.replay(table.id, table.name, table.game_kind, len(table.seats),
                           table.history + table.journal)
    assert rebuilt.seq == table.seq
    for since in (0, 1, table.seq // 2, table.seq - 1):
        for user in (ANN, BOB, None):
            assert rebuilt.events_since(since, user) == table.events_since(since, user)
    assert table.events_since(table.seq - 3, ANN) != []
