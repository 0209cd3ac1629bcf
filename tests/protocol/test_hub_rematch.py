"""Rematch over the protocol (docs/protocol.md, "Rematch"): both people ask after a game and
the next game is dealt to the same seats, with the running totals in the view; asking during a
game is refused; every message checked against its schema by the `nets` fixture."""

from __future__ import annotations

from hub_fakes import ANN, BOB, Net


async def test_both_people_ask_and_the_next_game_is_dealt(net: Net) -> None:
    ann, bob = await net.login(ANN), await net.login(BOB)
    room = await net.create(ann, seats=3, bots=1)
    await net.join(bob, room)
    ann.request("rematch", id="early")
    await net.settle()
    assert ann.last["msg"] == "error" and ann.last["code"] == "game_started"
    await net.play([ann, bob])
    first = ann.view["result"]["scores"]
    seats = ann.view["seats"]
    bob.request("rematch", id="r1")
    await net.settle()
    assert bob.last["re"] == "r1" and bob.last["event"] == {"type": "rematch", "seat": 2}
    assert ann.view["rematch"] == [2] and ann.view["status"] == "finished"
    ann.request("rematch", id="r2")
    await net.settle()
    assert ann.view["status"] == "playing" and ann.view["seats"] == seats
    assert "totals" not in ann.view  # from the second game on
    assert "rematch" not in ann.view and "deck_commit" in ann.view
    await net.play([ann, bob])
    second = bob.view["result"]["scores"]
    assert bob.view["totals"] == {"games": 2, "scores": [
        None if a is None else a + b for a, b in zip(first, second)]}
