"""The one-room rule under concurrency on one server (issue 12, item 5): requests of one user on
several connections, sent at once, end with the user in one seat; a user's parallel creates
open at most the cap of rooms."""

from __future__ import annotations

import asyncio

from hub_fakes import ANN, BOB, CID, DEE, Net


def seats_of(net: Net, user_id: int) -> list[str]:
    return [table.id for table in net.hub.lobby if table.is_seated(user_id)]


async def test_parallel_joins_of_one_user_on_two_connections_end_with_one_seat(
        net: Net) -> None:
    bob, cid = await net.login(BOB), await net.login(CID)
    first = await net.create(bob, seats=2)
    second = await net.create(cid, seats=2)
    ann_1, ann_2 = await net.login(ANN), await net.login(ANN)
    ann_1.request("join", id="a", room=first)
    ann_2.request("join", id="b", room=second)
    await net.settle()
    assert len(seats_of(net, ANN)) == 1
    replies = sorted((ann_1.new() + ann_2.new()), key=lambda m: m["msg"])
    codes = {reply.get("code") for reply in replies if reply["msg"] == "error"}
    assert codes == {"already_in_room"}, replies
    assert sum(table.status.value == "playing" for table in net.hub.lobby) == 1


async def test_thirty_parallel_creates_of_one_user_leave_at_most_the_cap_of_rooms(
        net: Net) -> None:
    conns = [await net.login(ANN) for _ in range(30)]
    for number, conn in enumerate(conns):
        conn.request("create", id=number, game="crazy_eights", name=f"Room {number}")
    await net.settle()
    assert len(seats_of(net, ANN)) == 1
    assert len(net.hub.lobby) <= net.hub.engine.settings.rooms_per_user


async def test_parallel_creates_kept_open_by_guests_stop_at_the_cap(net: Net) -> None:
    """Rooms a user opened and others keep waiting count against the user's cap."""
    ann = await net.login(ANN)
    guests = [await net.login(user) for user in (BOB, CID, DEE)]
    for guest in guests:
        room = await net.create(ann, seats=3)
        await net.join(guest, room)
    ann.request("create", id="over", game="hearts", name="One more")
    await net.settle()
    assert ann.last["code"] == "too_many_rooms" and ann.last["re"] == "over"
    await asyncio.sleep(0)
    assert len(net.hub.lobby) == 3
