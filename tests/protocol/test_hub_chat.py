"""Chat through the protocol hub: lobby and room chat with `re`, refusals with their codes, the
owner's mute, room chat handed to the chat log, and lobby chat passed between servers."""

from __future__ import annotations

import logging
from typing import Any

from hub_fakes import ANN, BOB, CID, DEE, FakeClock, Net, until
from game_server.protocol.chat import LOBBY_CHAT_KIND


class FakeChatLog:
    def __init__(self) -> None:
        self.lines: list[Any] = []

    def record(self, lines: list[Any]) -> None:
        self.lines += lines


def chats(client) -> list[dict[str, Any]]:
    return client.unread("chat")


async def test_lobby_chat_reaches_everyone_in_the_lobby_with_re_for_the_sender(net: Net):
    ann, bob, cid = await net.login(ANN), await net.login(BOB), await net.login(CID)
    room = await net.create(cid)
    net.mark()
    ann.request("chat", id="hi", text="anyone for \u202ehearts?\u202c ")
    await net.settle()
    (mine,) = chats(ann)
    assert mine["re"] == "hi" and mine["room"] is None and mine["to"] == "all"
    assert mine["from"] == {"user_id": ANN, "name": "Ann"} and mine["text"] == "anyone for hearts?"
    (theirs,) = chats(bob)
    assert theirs == {k: v for k, v in mine.items() if k != "re"}
    assert chats(cid) == [], f"Cid is in room {room}, not in the lobby"


async def test_room_chat_goes_to_the_room_and_to_the_chat_log(net: Net):
    log = net.hub.chat.chat_log = FakeChatLog()
    ann, bob, cid, dee = (await net.login(ANN), await net.login(BOB), await net.login(CID),
                          await net.login(DEE))
    room = await net.create(ann, seats=2)
    await net.join(cid, room, **{"as": "spectator"})
    net.mark()
    ann.request("chat", text="<b>hello</b>")
    await net.settle()
    assert [m["text"] for m in chats(ann) + chats(cid)] == ["<b>hello</b>"] * 2
    assert chats(bob) == chats(dee) == []
    (line,) = log.lines
    assert (line.room, line.game, line.user.id, line.text, line.to) == (
        room, 1, ANN, "<b>hello</b>", "all")
    # During the game players and spectators talk apart.
    await net.join(bob, room)
    net.mark()
    cid.request("chat", text="Ann should play the eight")
    bob.request("chat", text="gl")
    await net.settle()
    assert [m["text"] for m in chats(cid)] == ["Ann should play the eight"]
    assert [m["text"] for m in chats(ann)] == ["gl"] and chats(bob)[0]["to"] == "players"
    assert [line.to for line in log.lines] == ["all", "spectators", "players"]


async def test_refusals_have_clear_codes_and_send_nothing(nets, clock: FakeClock):
    net = nets(clock=clock)
    ann, bob = await net.login(ANN), await net.login(BOB)
    net.mark()
    for text, code in (("   ", "chat_empty"), ("\u2066\u2069", "chat_empty"),
                       ("y" * 201, "chat_too_long")):
        ann.request("chat", id=code, text=text)
        await net.settle()
        assert ann.last["msg"] == "error" and ann.last["code"] == code, ann.last
    for n in range(5):
        ann.request("chat", text=f"spam {n}")
    ann.request("chat", id="sixth", text="spam 5")
    await net.settle()
    assert ann.last == {"msg": "error", "code": "chat_rate_limited", "re": "sixth",
                        "text": ann.last["text"]}
    assert [m["text"] for m in chats(bob)] == [f"spam {n}" for n in range(5)]
    clock.advance(10.0)
    ann.request("chat", text="again")
    await net.settle()
    assert chats(bob)[-1]["text"] == "again"


async def test_the_owner_mutes_a_spectator_and_others_cannot(net: Net):
    ann, bob, cid = await net.login(ANN), await net.login(BOB), await net.login(CID)
    room = await net.create(ann, seats=3)
    await net.join(bob, room)
    await net.join(cid, room, **{"as": "spectator"})
    net.mark()
    bob.request("mute", id="b", user_id=CID)
    await net.settle()
    assert bob.last["code"] == "not_owner" and bob.last["re"] == "b"
    ann.request("mute", id="x", user_id=DEE)
    await net.settle()
    assert ann.last["code"] == "not_a_member"
    ann.request("mute", id="m", user_id=CID)
    await net.settle()
    assert ann.last["re"] == "m" and ann.last["event"] == {"type": "mute", "user_id": CID}
    assert cid.view["muted"] == [CID]
    net.mark()
    cid.request("chat", id="c", text="hello?")
    await net.settle()
    assert cid.last["code"] == "muted" and chats(ann) == chats(bob) == []


async def test_lobby_chat_is_passed_to_other_servers_and_taken_from_them(net: Net, caplog):
    published: list[tuple[str, Any]] = []

    async def publish(kind: str, data: Any) -> None:
        published.append((kind, data))

    net.hub.chat.publish = publish
    ann, bob = await net.login(ANN), await net.login(BOB)
    ann.request("chat", text="hi everywhere")
    await until(lambda: published)
    ((kind, data),) = published
    assert kind == LOBBY_CHAT_KIND and data["server"] == net.hub.settings.server_id
    assert data["chat"]["text"] == "hi everywhere" and "re" not in data["chat"]
    net.mark()
    # This server's own message comes back from Redis: its lobby has it already.
    assert net.hub.chat.received(data) == 0
    other = {"server": "game-2", "chat": {**data["chat"], "text": "hi from game-2"}}
    assert net.hub.chat.received(other) == 2
    await net.settle()
    assert [m["text"] for m in chats(ann)] == [m["text"] for m in chats(bob)] == [
        "hi from game-2"]
    with caplog.at_level(logging.WARNING):
        bad = {"server": "game-2", "chat": {**data["chat"], "room": None, "text": ""}}
        assert net.hub.chat.received(bad) == 0
        assert net.hub.chat.received("nonsense") == 0
    assert "malformed lobby chat" in caplog.text
