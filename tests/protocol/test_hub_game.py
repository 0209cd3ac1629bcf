"""Whole games of Crazy Eights through the protocol hub: two people and a bot to `finished`,
with a spectator; seq per room; `re` only on the mover's own replies; no message to anyone ever
holding another player's cards; moves sent as `move` and as protocol 1's `take`/`put`; and a
new deal in the same room. (test_hub_games.py plays every registered game.)"""

from __future__ import annotations

import pytest

from game_server.rules import Card
from game_server.rules.crazy_eights import hand_points
from hub_fakes import ANN, BOB, CID, GUS, Client, Net, guard_hidden_cards, move_for


async def _login(net: Net, user: int) -> Client:
    client = await net.login(user)
    guard_hidden_cards(net.hub, client)
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
    assert "hand" not in final["game_state"]
    assert final["players"] == [0, 1, 2] and final["to_act"] == []
    for client in (ann, bob):
        view = client.view
        for key in ("result", "seats", "owner", "players", "to_act"):
            assert view[key] == final[key], key
        mine = dict(view["game_state"])
        assert mine.pop("hand") == final["game_state"]["hands"][client.player]
        assert mine == final["game_state"]
    game, result = final["game_state"], final["result"]
    # The result names seats, the game state players (here the same numbers: seats 0-2 play).
    assert result["winner"] == final["players"][game["winner"]]
    assert result["scores"] == game["scores"]
    assert result["detail"] == {"blocked": game["blocked"]}
    winner = game["winner"]
    hands = game["hands"]
    assert game["cards"] == [len(h) for h in hands]
    others = sum(hand_points(Card.from_str(c) for c in h) for s, h in enumerate(hands)
                 if s != winner)
    if not hands[winner]:  # the winner went out: the others' penalty points
        assert game["scores"][winner] == others and not game["blocked"]
    assert all(score == 0 for s, score in enumerate(game["scores"]) if s != winner)
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
    # Protocol 1's `take` and `put` still play a whole game.
    await net.play([ann, bob, cid], alias=True)
    assert gus.view["status"] == "finished"
    for client in (ann, bob, cid, gus):
        _consecutive(client, room)
    assert all(s["table"]["game_state"] is None or "hand" not in s["table"]["game_state"]
               for s in gus.states())


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
        assert view["status"] == "playing" and len(view["game_state"]["hand"]) == 7
        assert view["to_act"] == [1 - dealer]  # the player after the dealer starts
        assert view["game_state"]["turn"] == 1 - dealer
        assert "result" not in view
        assert not {"winner", "scores", "hands", "blocked"} & set(view["game_state"])
        bob.request("start")
        await net.settle()
        assert bob.last["msg"] == "error" and bob.last["code"] == "not_a_player"
        await net.play([ann])
        assert ann.view["status"] == "finished"
        seq = ann.state["seq"]
    _consecutive(ann, room)
