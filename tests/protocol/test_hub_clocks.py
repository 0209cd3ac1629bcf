"""Turn clocks through the protocol hub, on an injected clock: `create` with `clock`, the
clock in every view (checked against its schema by the fake clients), a timeout's events, and
`back`. Timers are fired by hand after moving the fake clock, never by waiting."""

from __future__ import annotations

from hub_fakes import ANN, BOB, FakeClock, Net

CLOCK = {"move": 10, "bank": 20}


async def _clocked(nets, clock: FakeClock) -> tuple[Net, object, object, str]:
    net = nets(clock=clock)
    ann, bob = await net.login(ANN), await net.login(BOB)
    ann.request("create", id="c", game="crazy_eights", name="Clocked", seats=2, clock=CLOCK)
    await net.settle()
    assert ann.last["msg"] == "state" and ann.last["re"] == "c", ann.last
    room = ann.room
    await net.join(bob, room)
    return net, ann, bob, room


async def test_the_view_shows_the_running_clock_in_server_time(nets) -> None:
    clock = FakeClock(now=1_733_250_000.0)
    net, ann, bob, room = await _clocked(nets, clock)
    view = bob.view
    seat = view["to_act"][0]
    assert view["clock"] == {"move": 10, "bank": 20, "now": 1_733_250_000.0, "away": [],
                             "running": [{"seat": seat, "deadline": 1_733_250_010.0,
                                          "bank": 20}]}
    assert ("clock", room, seat) in net.hub.timers.pending()
    summary = next(r for r in (await net.hub.room_list())["rooms"] if r["id"] == room)
    assert "quick" not in summary


async def test_a_timeout_moves_for_the_seat_and_back_unmarks_an_away_seat(nets) -> None:
    clock = FakeClock(now=5000.0)
    net, ann, bob, room = await _clocked(nets, clock)
    table = net.table(room)
    by_seat = {ann.seat: ann, bob.seat: bob}
    for round_ in range(2):
        # Whoever is to act lets their clock run out; the other plays at once.
        seat = table.to_act()[0]
        slow = by_seat[seat]
        if round_ == 1:
            assert slow is first
        first = slow
        while table.to_act() != [seat]:
            mover = by_seat[table.to_act()[0]]
            mover.move({"type": "take"})
            await net.settle()
        deadline = table.clock_deadlines()[seat]
        clock.now = deadline
        net.mark()
        net.hub._fire(("clock", room, seat))  # the timer, fired on the fake clock
        await net.settle()
        events = [m["event"] for m in slow.new() if m["msg"] == "state"]
        timeout = next(e for e in events if e["type"] == "timeout")
        assert timeout == {"type": "timeout", "seat": seat, "away": round_ == 1}
        assert events[events.index(timeout) - 1]["seat"] == seat  # the bot's move before it
        if round_ == 0:
            # Let the other seat act so the slow one's clock runs again.
            other = by_seat[1 - seat]
            while table.status.value == "playing" and seat not in table.to_act():
                other.move({"type": "take"})
                await net.settle()
    assert slow.view["clock"]["away"] == [slow.seat]
    slow.request("back", id="b")
    await net.settle()
    state = slow.state
    assert state["re"] == "b" and state["event"] == {"type": "back", "seat": slow.seat}
    assert state["table"]["clock"]["away"] == []
    assert [a.kind for a in table.history].count("timeout@1") == 2


async def test_bad_clocks_and_back_outside_a_room_are_refused(nets) -> None:
    net = nets(clock=FakeClock())
    ann = await net.login(ANN)
    for clock in ({"move": 2, "bank": 10}, {"move": 10}, {"move": 10, "bank": 10, "x": 1},
                  {"move": "10", "bank": 10}):
        ann.request("create", id="c", game="crazy_eights", name="Bad", clock=clock)
        await net.settle()
        assert ann.last["msg"] == "error" and ann.last["code"] == "bad_message", ann.last
        assert "clock" in ann.last["text"]
    ann.request("back", id="b")
    await net.settle()
    assert ann.last["code"] == "not_in_room"
    assert len(net.hub.lobby) == 0
