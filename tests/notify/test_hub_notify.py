"""Notifications reaching people: through a broker to the hub, and from the hub to exactly the
connections they are for (fake connections of tests/protocol/hub_fakes.py, which check every
message against its schema)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from game_server.broker import LocalBroker, RedisBroker
from hub_fakes import ANN, BOB, CID, Net, make_hub, until


@pytest.fixture
def net():
    made = Net(make_hub())
    yield made
    made.hub.stop_timers()
    problems = made.problems()
    assert not problems, problems


def notifications(client) -> list[dict[str, Any]]:
    return client.of("notify")


def local_broker(hub) -> LocalBroker:
    return LocalBroker(lambda note: hub.notify(note.kind, note.data, note.user_id))


async def test_a_notification_reaches_every_connection_of_its_user_and_no_one_else(net):
    ann_phone = await net.login(ANN)
    ann_laptop = await net.login(ANN)
    bob = await net.login(BOB)
    stranger = net.connect("not signed in")
    broker = local_broker(net.hub)
    invite = {"room": "Vq3xK9_pL2wT", "game": "crazy_eights", "from": {"id": BOB, "name": "Bob"}}
    await broker.publish("invite", invite, user_id=ANN)
    await net.settle()
    expected = [{"msg": "notify", "kind": "invite", "data": invite}]
    assert notifications(ann_phone) == expected
    assert notifications(ann_laptop) == expected
    assert notifications(bob) == [] and stranger.messages == []


async def test_a_notification_to_everyone_reaches_signed_in_connections_only(net):
    ann = await net.login(ANN)
    bob = await net.login(BOB)
    room = await net.create(bob, seats=2)  # in a room or not, everyone signed in gets it
    stranger = net.connect("not signed in")
    refused = net.connect("bad token")
    refused.request("auth", token="not-a-token")
    await net.settle()
    await local_broker(net.hub).publish("message", {"text": "Restart at 18:00"})
    await net.settle()
    expected = [{"msg": "notify", "kind": "message", "data": {"text": "Restart at 18:00"}}]
    assert notifications(ann) == expected and notifications(bob) == expected
    assert bob.room == room
    assert stranger.messages == [] and notifications(refused) == []


async def test_a_user_with_no_connection_here_gets_nothing_and_nothing_is_kept(net):
    ann = await net.login(ANN)
    assert net.hub.notify("message", "for Cid", CID) == 0
    ann.peer.disconnected()
    assert net.hub.notify("message", "for Ann", ANN) == 0
    cid = await net.login(CID)  # coming online later brings nothing old
    await net.settle()
    assert notifications(cid) == [] and notifications(ann) == []


async def test_one_failing_recipient_does_not_stop_the_others(net):
    ann_broken = await net.login(ANN)
    ann_working = await net.login(ANN)

    def broken(text: str) -> None:
        raise ConnectionResetError("gone")

    ann_broken.peer._send = broken
    assert net.hub.notify("message", {"text": "hi"}, ANN) == 2
    assert notifications(ann_working) == [{"msg": "notify", "kind": "message",
                                           "data": {"text": "hi"}}]


async def test_a_notification_is_encoded_once_for_every_recipient(net, monkeypatch):
    from game_server.protocol import delivery

    clients = [await net.login(user) for user in (ANN, BOB, CID)]
    encoded: list[Any] = []
    real = delivery.encode
    monkeypatch.setattr(delivery, "encode", lambda message: encoded.append(message) or
                        real(message))
    assert net.hub.notify("message", {"text": "hi"}) == 3
    assert len(encoded) == 1
    assert all(notifications(client) for client in clients)


async def test_through_redis_each_server_reaches_its_own_connections(redis_url, prefix):
    """Two servers (two hubs) on one Redis: Ann is connected to both, Bob to the second."""
    nets = [Net(make_hub(server_id="game-1")), Net(make_hub(server_id="game-2"))]
    brokers = [RedisBroker(redis_url, lambda note, hub=net.hub:
                           hub.notify(note.kind, note.data, note.user_id), prefix=prefix)
               for net in nets]
    try:
        for broker in brokers:
            broker.start()
            await asyncio.wait_for(broker.listening(), 3)
        ann_1 = await nets[0].login(ANN)
        ann_2 = await nets[1].login(ANN)
        bob_2 = await nets[1].login(BOB)
        await brokers[0].publish("invite", {"room": "Vq3xK9_pL2wT", "game": "hearts",
                                            "from": {"id": BOB, "name": "Bob"}}, user_id=ANN)
        await until(lambda: notifications(ann_1) and notifications(ann_2), what="the invite")
        await brokers[1].publish("message", {"text": "all"})
        await until(lambda: len(notifications(ann_1)) == 2 and notifications(bob_2),
                    what="the message to all")
        assert [m["kind"] for m in notifications(ann_2)] == ["invite", "message"]
        assert [m["kind"] for m in notifications(bob_2)] == ["message"]
    finally:
        for broker in brokers:
            await broker.close()
        for net in nets:
            net.hub.stop_timers()
    assert not [problem for net in nets for problem in net.problems()]

