"""`quick_play` through the protocol hub, on an injected clock: two players land in one room,
the room is marked in the room list, and after the wait (its timer fired by hand on the fake
clock) bots fill the empty seats and the game starts, with the quick-play clock running."""

from __future__ import annotations

from hub_fakes import ANN, BOB, CID, FakeClock


async def test_quick_play_seats_players_together_and_bots_fill_the_rest(nets) -> None:
    clock = FakeClock(now=2000.0)
    net = nets(clock=clock, quick_play_wait=20.0)
    ann, bob, cid = await net.login(ANN), await net.login(BOB), await net.login(CID)
    ann.request("quick_play", id="q", game="crazy_eights")
    await net.settle()
    assert ann.last["msg"] == "state" and ann.last["re"] == "q", ann.last
    room = ann.room
    assert ann.view["clock"]["move"] == 30 and ann.view["clock"]["running"] == []
    bob.request("quick_play", id="q", game="crazy_eights")
    await net.settle()
    assert bob.room == room and bob.view["status"] == "waiting"
    cid.request("room_list", id="l")
    await net.settle()
    (summary,) = [r for r in cid.last["rooms"] if r["id"] == room]
    assert summary["quick"] is True and summary["players"] == 2
    assert ("fill", room) in net.hub.timers.pending()
    clock.now += 20.0
    net.hub._fire(("fill", room))
    await net.settle()
    view = ann.view
    assert view["status"] in ("playing", "finished")
    seats = [entry for entry in view["seats"] if entry is not None]
    assert [entry["bot"] for entry in seats] == [False, False, True, True]
    names = [entry["user"]["name"] for entry in seats]
    assert len(set(names)) == 4
    if view["status"] == "playing":
        assert view["clock"]["running"] or all(
            s in view["clock"]["away"] or seats[s]["bot"] for s in view["to_act"])


async def test_quick_play_for_an_unknown_game_is_refused(nets) -> None:
    net = nets(clock=FakeClock())
    ann = await net.login(ANN)
    ann.request("quick_play", id="q", game="chess")
    await net.settle()
    assert ann.last["msg"] == "error" and ann.last["code"] == "bad_message"
    assert "chess" in ann.last["text"] and len(net.hub.lobby) == 0
