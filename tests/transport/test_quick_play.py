"""Quick play and turn clocks against a real server over SockJS: two people quick-play, bots
fill the room after the (short) wait, the clock of the seat to act is in every view (checked
against the schemas, `check_all`), and the game is played to its end."""

from __future__ import annotations

import pytest

from sockjs_helpers import check_all, play_to_end, signed_in, until_state

pytestmark = pytest.mark.timeout(90)


async def test_two_people_quick_play_and_bots_fill_the_room(game_server_factory):
    server = await game_server_factory(bot_delay=0.01, quick_play_wait=0.3)
    ann = await signed_in(server, "Ann")
    bob = await signed_in(server, "Bob")
    first = await ann.request({"msg": "quick_play", "game": "crazy_eights"})
    room = first["room"]
    assert first["table"]["clock"]["move"] == 30 and first["table"]["status"] == "waiting"
    listed = await bob.request({"msg": "room_list"})
    assert any(r["id"] == room and r.get("quick") is True for r in listed["rooms"])
    second = await bob.request({"msg": "quick_play", "game": "crazy_eights"})
    assert second["room"] == room
    started = await until_state(ann, lambda s: s["table"]["status"] != "waiting")
    seats = [entry for entry in started["table"]["seats"] if entry is not None]
    assert [entry["bot"] for entry in seats] == [False, False, True, True]
    assert len({entry["user"]["name"] for entry in seats}) == 4
    finals = await play_to_end([ann, bob], room, timeout=60)
    clocks = [m["table"]["clock"] for m in ann.received
              if m.get("msg") == "state" and m["table"]["status"] == "playing"]
    assert any(clock["running"] for clock in clocks)
    assert all(f["table"]["status"] == "finished" for f in finals)
    for client in (ann, bob):
        check_all(client)
        await client.close()
