"""A player with bots, watched by a spectator who sees counts but never a card of any hand."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from browser_helpers import (
    add_bots,
    create_room,
    frames,
    join_room,
    play_moves,
    play_until_finished,
    read_table,
    sign_in,
)


def sockjs_messages(payload: str) -> list[dict]:
    """The protocol messages inside one SockJS frame ('a["...", ...]' carries messages)."""
    if not payload.startswith("a"):
        return []
    return [json.loads(text) for text in json.loads(payload[1:])]


def test_spectator_sees_counts_but_never_a_hand(open_page):
    ann = open_page()
    carl = open_page()
    on_the_wire: list[dict] = []
    carl.on("websocket", lambda ws: ws.on(
        "framereceived", lambda payload: on_the_wire.extend(sockjs_messages(payload))))
    carl.reload()  # so that the listener sees the page's socket from its start

    sign_in(ann, "Ann")
    sign_in(carl, "Carl")
    room = create_room(ann, "Watched", seats=3)
    add_bots(ann, 1)
    join_room(carl, room, as_spectator=True)
    expect(ann.get_by_test_id("spectator-count")).to_contain_text("1 watching")
    add_bots(ann, 1)  # the room is full: the game starts
    expect(carl.get_by_test_id("table")).to_have_attribute("data-status", "playing")

    play_moves(ann, 2)
    # Carl's table: seats with names, card counts and bot marks, the pile and the deck; no hand.
    expect(carl.get_by_test_id("spectating")).to_be_visible()
    expect(carl.get_by_test_id("hand")).to_have_count(0)
    assert read_table(carl).you is None
    for seat in range(3):
        count = carl.get_by_test_id(f"seat-{seat}").get_by_test_id("seat-count")
        expect(count).to_have_text(re.compile(r"\d+ cards?$"))
    expect(carl.get_by_test_id("seat-1").get_by_test_id("bot-mark")).to_be_visible()
    expect(carl.get_by_test_id("seat-2").get_by_test_id("bot-mark")).to_be_visible()
    # The only card faces on his page are the pile's.
    faces = carl.locator("[data-card]")
    pile_faces = carl.get_by_test_id("pile").locator("[data-card]")
    assert faces.count() == pile_faces.count() >= 1
    expect(carl.get_by_test_id("deck")).to_have_attribute("aria-disabled", "true")
    expect(carl.get_by_test_id("add-bot")).to_have_count(0)
    expect(carl.get_by_test_id("start")).to_have_count(0)

    play_until_finished([ann])
    expect(carl.get_by_test_id("game-over")).to_be_visible()
    expect(carl.get_by_test_id("winner")).not_to_be_empty()

    # Every state Carl received equals Ann's view of the same change without her hand:
    # no hand, no taken card, and the hands of all only once the game has finished.
    carl_states = [m for m in frames(carl) if m["msg"] == "state"]
    ann_states = {m["seq"]: m for m in frames(ann) if m["msg"] == "state"}
    assert len(carl_states) > 10
    compared = 0
    for message in carl_states:
        table = message["table"]
        game = table["game_state"] or {}
        assert table["you"] is None
        assert "hand" not in game, message
        assert ("hands" in game) == (table["status"] == "finished"), message
        move = (message.get("event") or {}).get("move") or {}
        assert "card" not in move or move["type"] == "put", message
        if message["seq"] in ann_states:
            theirs = ann_states[message["seq"]]["table"]
            public = {k: v for k, v in theirs.items() if k not in ("game_state", "you")}
            assert {k: v for k, v in table.items() if k not in ("game_state", "you")} == public
            if theirs["game_state"] is not None:
                assert game == {k: v for k, v in theirs["game_state"].items() if k != "hand"}
            compared += 1
    assert compared > 10
    # What the browser received on the wire is the same: no hand there either. (Playwright
    # reports WebSocket frames asynchronously: give the last ones a moment to arrive.)
    for _ in range(100):
        wire_states = [m for m in on_the_wire if m.get("msg") == "state"]
        if len(wire_states) >= len(carl_states):
            break
        carl.wait_for_timeout(50)
    assert [m["seq"] for m in wire_states] == [m["seq"] for m in carl_states]
    # (Protocol 3: most of them are patches, without the members that did not change.)
    assert all("hand" not in (m["table"].get("game_state") or {}) for m in wire_states)
    assert any(m.get("full") for m in wire_states)
    assert any("game" not in m["table"] for m in wire_states)


def test_a_spectator_can_take_a_free_seat_before_the_start(open_page):
    ann = open_page()
    dan = open_page()
    sign_in(ann, "Ann")
    sign_in(dan, "Dan")
    room = create_room(ann, "Open seat", seats=2)
    join_room(dan, room, as_spectator=True)
    expect(dan.get_by_test_id("spectating")).to_be_visible()
    dan.get_by_test_id("take-seat").click()
    # Dan sits down, which fills the room: the game starts and he holds 7 cards.
    expect(dan.get_by_test_id("table")).to_have_attribute("data-status", "playing")
    expect(dan.get_by_test_id("hand").get_by_role("button")).to_have_count(7)
    assert read_table(dan).you == 1
    expect(ann.get_by_test_id("spectator-count")).to_contain_text("0 watching")
