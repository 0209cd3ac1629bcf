"""Whole games through the protocol hub: two people and a bot to `finished`, with a spectator;
seq per room; `re` only on the mover's own replies; no message to anyone ever holding another
player's cards; and a new deal in the same room."""

from __future__ import annotations

from typing import Any

import pytest

from game_server.rules import Card, hand_points
from hub_fakes import ANN, BOB, CID, GUS, Client, Net, move_for

#: Events after which the game on the server is exactly what the message shows (a join or a
#: bot added may be followed by the start in the same request).
SETTLED_EVENTS = {"start", "put", "take", "connect", "disconnect", "replace", "reclaim",
                  "watch", "unwatch"}


def guard_hidden_cards(net: Net, client: Client) -> None:
    """Check each state `client` receives against the game on the server at that moment."""

    def check(text: str, message: dict[str, Any]) -> None:
        if message["msg"] != "state" or message["table"]["status"] != "playing":
            return
        if message.get("event", {}).get("type") not in SETTLED_EVENTS:
            return
        table = net.hub.lobby.get(message["room"])
        players = [s.number for s in table.seats if s is not None]
        you = message["table"]["you"]
        for index, seat in enumerate(players):
            hand = [str(card) for card in table.game.hand(index)]
            if seat == you:
                assert message["table"]["hand"] == hand
            else:
                shown = [card for card in hand if f'"{card}"' in text]
                assert not shown, f"seat {seat}'s cards {shown} sent to {client}"

    client.checks.append(check)


async def _login(net: Net, user: int) -> Client:
    client = await net.login(user)
    guard_hidden_cards(net, client)
    return client


def _consecutive(client: Client, room: str) -> list[int]:
    seqs = [m["seq"] for m in client.states(room) if "event" in m]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"{client}: {seqs}"
    return seqs


@pytest.mark.parametrize("seed", [1, 7, 2024])
async def test_two_people_and_a_bot_play_to_the_end(nets, seed: int) -> None:
    net = nets(seed=seed)
    ann, bob, gus = await _login(net, ANN), await _login(net, BOB), await _login(net, GUS)
    room = await net.create(ann, seats=3, name="Full game", bots=1)
    await net.join(gus, room, **{"as": "spectator"})
    await net.join(bob, room)
    await net.settle()
    assert ann.view["status"] == "playing"

    requests = 0
    while ann.view["status"] == "playing":
        mover = next(p for p in (ann, bob) if p.my_turn)
        other = bob if mover is ann else ann
        requests += 1
        mover.mark()
        other.mark()
        mover.send({**move_for(mover.view), "id": requests})
        await net.settle()
        replies = mover.new()
        assert replies[0]["msg"] == "state" and replies[0]["re"] == requests
        assert all("re" not in m for m in replies[1:]), "later states (bots) carry no re"
        assert all("re" not in m for m in other.new())
        assert requests < 500, "the game does not end"

    for client in (ann, bob, gus):
        assert client.view["status"] == "finished"
    ann_seqs, bob_seqs, gus_seqs = (_consecutive(c, room) for c in (ann, bob, gus))
    assert ann_seqs[0] == 1 and ann_seqs[-1] == net.table(room).seq
    assert bob_seqs == ann_seqs[-len(bob_seqs):] and gus_seqs == ann_seqs[-len(gus_seqs):]

    final = gus.view
    assert "hand" not in final
    for client in (ann, bob):
        view = client.view
        for key in ("winner", "scores", "hands", "seats", "pile", "deck", "owner"):
            assert view[key] == final[key]
        assert view["hand"] == final["hands"][view["you"]]
    winner = final["winner"]
    hands = final["hands"]
    assert [e["cards"] for e in final["seats"]] == [len(h) for h in hands]
    others = sum(hand_points(Card.from_str(c) for c in h) for s, h in enumerate(hands)
                 if s != winner)
    if not hands[winner]:  # the winner went out: the others' penalty points
        assert final["scores"][winner] == others
    assert all(score == 0 for s, score in enumerate(final["scores"]) if s != winner)
    # Nothing more happens by itself.
    net.mark()
    await net.settle()
    assert all(c.new() == [] for c in (ann, bob, gus))


async def test_three_people_a_bot_and_a_spectator_never_see_each_others_cards(nets) -> None:
    net = nets(seed=99)
    ann, bob, cid, gus = [await _login(net, u) for u in (ANN, BOB, CID, GUS)]
    room = await net.create(ann, seats=4, bots=1)
    await net.join(gus, room, **{"as": "spectator"})
    await net.join(bob, room)
    await net.join(cid, room)
    await net.play([ann, bob, cid])
    assert gus.view["status"] == "finished"
    for client in (ann, bob, cid, gus):
        _consecutive(client, room)
    assert all("hand" not in s["table"] for s in gus.states())


async def test_a_new_game_in_the_room_moves_the_deal_one_seat_on(net: Net) -> None:
    ann, bob = await net.login(ANN), await net.login(BOB)
    room = await net.create(ann, seats=2, bots=1)
    await net.play([ann])
    assert ann.view["status"] == "finished"
    seq = ann.state["seq"]
    await net.join(bob, room, **{"as": "spectator"})
    for dealer in (1, 0):
        ann.request("start", id=f"deal-{dealer}")
        await net.settle()
        start = next(m for m in ann.states() if m.get("re") == f"deal-{dealer}")
        assert start["event"] == {"type": "start", "dealer": dealer}
        assert start["seq"] > seq
        view = start["table"]
        assert view["status"] == "playing" and len(view["hand"]) == 7
        assert view["turn"] == 1 - dealer  # the player after the dealer starts
        assert not {"winner", "scores", "hands"} & set(view)
        bob.request("start")
        await net.settle()
        assert bob.last["msg"] == "error" and bob.last["code"] == "not_a_player"
        await net.play([ann])
        assert ann.view["status"] == "finished"
        seq = ann.state["seq"]
    _consecutive(ann, room)
