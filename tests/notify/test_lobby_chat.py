"""Lobby chat across game servers: two hubs, each with its own Redis broker wired as the server
wires it (`hub.chat.from_broker`, `hub.chat.publish`); a message said in one lobby reaches the
other's, once, and notifications still reach `notify`."""

from __future__ import annotations

import asyncio

import pytest

from game_server.broker import RedisBroker
from hub_fakes import ANN, BOB, CID, Net, make_hub, until


@pytest.fixture
def nets():
    made: list[Net] = []

    def build(server_id: str) -> Net:
        net = Net(make_hub(server_id=server_id))
        made.append(net)
        return net

    yield build
    for net in made:
        net.hub.stop_timers()
    problems = [problem for net in made for problem in net.problems()]
    assert not problems, problems


async def test_lobby_chat_reaches_the_lobby_of_every_server_once(nets, redis_url, prefix):
    one, two = nets("game-1"), nets("game-2")
    brokers = []
    for net in (one, two):
        broker = RedisBroker(redis_url, net.hub.chat.from_broker, prefix=prefix)
        broker.start()
        net.hub.chat.publish = broker.publish
        brokers.append(broker)
    try:
        await asyncio.wait_for(asyncio.gather(*(b.listening() for b in brokers)), 5)
        ann, bob, cid = await one.login(ANN), await two.login(BOB), await two.login(CID)
        ann.request("chat", id=1, text="anyone on game-2?")
        await until(lambda: bob.of("chat") and cid.of("chat"), what="chat on game-2")
        for client in (bob, cid):
            (message,) = client.of("chat")
            assert message["from"] == {"user_id": ANN, "name": "Ann"}
            assert message["text"] == "anyone on game-2?" and "re" not in message
        await asyncio.sleep(0.2)  # the message came back to game-1 too: it is not repeated
        assert [m.get("re") for m in ann.of("chat")] == [1]
        # Other notifications still reach the people they are for.
        await brokers[0].publish("message", {"text": "maintenance at six"})
        await until(lambda: bob.of("notify") and ann.of("notify"), what="notify")
    finally:
        for broker in brokers:
            await broker.close()
