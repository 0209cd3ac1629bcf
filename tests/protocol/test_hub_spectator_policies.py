"""Spectator policies over the protocol (docs/protocol.md, "Spectators"): `create` with
`spectators`, the room list and view showing the policy, `no_spectators`, a delayed spectator's
states behind the players', the public log for a late spectator; every message checked against
its schema by the `nets` fixture."""

from __future__ import annotations

from hub_fakes import ANN, BOB, CID, GUS, Net, move_for


async def test_none_and_delayed_rooms_over_the_protocol(net: Net) -> None:
    ann, bob, cid, gus = [await net.login(uid) for uid in (ANN, BOB, CID, GUS)]
    # A room nobody may watch.
    ann.request("create", game="crazy_eights", name="Private", seats=2, spectators="none")
    await net.settle()
    private = ann.room
    assert ann.state["table"]["spectator_policy"] == "none"
    gus.request("join", id="w", room=private, **{"as": "spectator"})
    await net.settle()
    assert gus.last == {"msg": "error", "code": "no_spectators",
                        "text": "This room does not allow spectators.", "re": "w"}
    # A delayed room: Bob plays against a bot, Cid watches from the start.
    bob.request("create", game="crazy_eights", name="Delayed", seats=2,
                spectators="delayed", spectator_delay=2)
    await net.settle()
    delayed = bob.room
    gus.request("room_list", id="l")
    await net.settle()
    rooms = {room["id"]: room for room in gus.last["rooms"]}
    assert rooms[private]["spectator_policy"] == "none"
    assert (rooms[delayed]["spectator_policy"], rooms[delayed]["spectator_delay"]) == (
        "delayed", 2)
    await net.join(cid, delayed, **{"as": "spectator"})
    bob.request("add_bot")
    await net.settle()
    assert bob.state["table"]["status"] == "playing"
    for _ in range(6):
        if not bob.my_turn:
            break
        bob.send(move_for(bob.view))
        await net.settle()
        if bob.state["table"]["status"] == "playing":
            # Cid is behind Bob (two moves at least: Bob's and the bot's).
            assert cid.state["seq"] < bob.state["seq"]
    assert all("hand" not in (m["table"]["game_state"] or {})
               for m in cid.states() if m["table"]["status"] == "playing")
    seqs = [m["seq"] for m in cid.states()]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    # Gus arrives late: the public log, up to what Cid sees, then the same state as Cid.
    gus.mark()
    await net.join(gus, delayed, **{"as": "spectator"})
    got = gus.new()
    assert [m["msg"] for m in got[:-1]] == ["event"] * (len(got) - 1) and len(got) > 2
    assert got[0]["event"]["type"] == "start" and got[-1]["msg"] == "state"
    assert got[-1]["seq"] == cid.state["seq"] and all(m["seq"] <= got[-1]["seq"] for m in got)
    assert all("card" not in m["event"].get("move", {}) or m["event"]["move"]["type"] == "put"
               for m in got[:-1])
