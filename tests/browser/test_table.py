"""One person at a table with bots: illegal clicks, reload, dropped connections, screenshots."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from browser_helpers import (
    DESKTOP,
    PHONE,
    add_bots,
    create_room,
    expect_connected,
    join_room,
    play_one_move,
    play_moves,
    read_table,
    sign_in,
    wait_until,
)


def start_game_with_bots(page, name: str, seats: int = 2):
    sign_in(page, name)
    room = create_room(page, f"{name}'s table", seats=seats)
    add_bots(page, seats - 1)  # the last bot fills the room and the game starts
    expect(page.get_by_test_id("table")).to_have_attribute("data-status", "playing")
    return room


def test_an_illegal_click_shows_an_error_and_changes_nothing(open_page, artifacts):
    page = open_page()
    start_game_with_bots(page, "Ivy")
    # On Ivy's turn, find a card that does not fit (taking cards until she holds one).
    for _ in range(20):
        view = wait_until(page, lambda v: v.my_turn, what="Ivy's turn")
        unplayable = [card for card in view.hand if card not in view.playable]
        if unplayable:
            break
        page.get_by_test_id("deck").click()
        wait_until(page, lambda v, seq=view.seq: v.seq > seq, what="the card taken")
    else:
        raise AssertionError("never held a card that does not fit")
    card = page.get_by_test_id(f"card-{unplayable[0]}")
    expect(card).to_have_attribute("aria-disabled", "true")
    expect(card).to_have_class(re.compile(r"\bdimmed\b"))

    # A keyboard user reaches the dimmed card and presses Enter: the server refuses the move.
    card.focus()
    page.keyboard.press("Enter")
    toast = page.get_by_test_id("toast")
    expect(toast).to_have_count(1)
    expect(toast).to_have_attribute("data-kind", "error")
    text = toast.inner_text()
    assert text.strip() and "illegal_move" not in text  # words for a person, not a code
    page.screenshot(path=str(artifacts / "illegal-move-toast.png"))
    page.wait_for_timeout(300)
    after = read_table(page)
    assert (after.seq, after.hand, after.deck) == (view.seq, view.hand, view.deck)

    # A forced mouse click on it does the same.
    card.click(force=True)
    expect(toast).to_have_count(2)
    assert read_table(page).seq == view.seq and read_table(page).hand == view.hand
    # The messages go away by themselves, and the table still works.
    expect(toast).to_have_count(0, timeout=10_000)
    play_moves(page, 2)


def test_reload_mid_game_returns_to_the_same_seat_and_hand(open_page):
    page = open_page()
    room = start_game_with_bots(page, "Rita", seats=3)
    play_moves(page, 2)
    before = wait_until(page, lambda v: v.my_turn, what="Rita's turn")
    log_before = page.get_by_test_id("log-line").all_inner_texts()

    page.reload()
    table = page.get_by_test_id("table")
    expect(table).to_be_visible()
    expect(table).to_have_attribute("data-room", room)
    expect_connected(page)
    after = wait_until(page, lambda v: v.seq > before.seq, what="the resumed state")
    assert after.you == before.you
    assert after.hand == before.hand  # bots cannot move: it is still Rita's turn
    assert after.my_turn
    expect(page.get_by_test_id("user-name")).to_have_text("Rita")
    # The log survives the reload and tells that Rita is back.
    log_after = page.get_by_test_id("log-line").all_inner_texts()
    assert log_before[-1] in log_after, (log_before, log_after)
    assert log_after[-1] == "You reconnected", log_after
    play_moves(page, 2)


def test_a_dropped_connection_reconnects_and_resumes(open_page):
    page = open_page()
    start_game_with_bots(page, "Otto")
    before = wait_until(page, lambda v: v.my_turn, what="Otto's turn")
    status = page.get_by_test_id("conn-status")

    # The network goes away and the connection drops: the page says so and keeps trying.
    page.context.set_offline(True)
    page.evaluate("() => window.__GAME_TEST__.connection.drop()")
    expect(status).to_have_attribute("data-state", "offline")
    expect(status).to_contain_text("Offline")
    # Back online: it reconnects, signs in again, rejoins and redraws the same table.
    page.context.set_offline(False)
    expect_connected(page, "websocket")
    after = wait_until(page, lambda v: v.seq > before.seq, what="the resumed state")
    assert (after.you, after.hand) == (before.you, before.hand)

    # A drop while online: reconnecting (with back-off), then connected again.
    page.evaluate("() => window.__GAME_TEST__.connection.drop()")
    expect(status).to_have_attribute("data-state", "reconnecting")
    expect_connected(page)
    wait_until(page, lambda v: v.seq > after.seq, what="the second resume")
    play_moves(page, 2)


def test_screenshots_of_the_table_on_desktop_and_phone(open_page, artifacts):
    ann = open_page(viewport=DESKTOP)
    bob = open_page()
    carl = open_page()
    sign_in(ann, "Ann")
    sign_in(bob, "Bob")
    sign_in(carl, "Carl")
    ann.screenshot(path=str(artifacts / "lobby-desktop.png"))
    room = create_room(ann, "Friday game", seats=4)
    join_room(bob, room)
    join_room(carl, room, as_spectator=True)
    add_bots(ann, 2)
    expect(ann.get_by_test_id("table")).to_have_attribute("data-status", "playing")
    # Bob plays when it is his turn (bots play by themselves) until Ann has a card to put;
    # she takes from the deck while nothing fits.
    for _ in range(300):
        mine = read_table(ann)
        if mine.my_turn and mine.playable:
            break
        if mine.my_turn:
            play_one_move(ann)
        elif read_table(bob).my_turn:
            play_one_move(bob)
        else:
            ann.wait_for_timeout(25)
    view = wait_until(ann, lambda v: v.my_turn and v.playable, what="Ann's turn")
    ann.mouse.move(5, 790)
    ann.wait_for_timeout(300)  # let the turn highlight settle
    ann.screenshot(path=str(artifacts / "table-desktop.png"))
    carl.screenshot(path=str(artifacts / "table-spectator-desktop.png"))
    ann.set_viewport_size(PHONE)
    ann.wait_for_timeout(300)
    ann.screenshot(path=str(artifacts / "table-phone.png"), full_page=True)
    # On a phone every card of the hand is on screen and big enough to tap.
    buttons = ann.get_by_test_id("hand").get_by_role("button").all()
    assert len(buttons) == len(view.hand)
    for button in buttons:
        box = button.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    for name in ("lobby-desktop", "table-desktop", "table-spectator-desktop", "table-phone"):
        assert (artifacts / f"{name}.png").stat().st_size > 10_000


def test_a_keyboard_alone_can_play(open_page):
    page = open_page()
    # Sign in with the keyboard: the name field has focus, Enter submits.
    expect(page.get_by_test_id("signin-name")).to_be_focused()
    page.keyboard.type("Kim")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("lobby")).to_be_visible()
    create_room(page, "Keys", seats=2)
    add_bots(page, 1)
    for _ in range(30):
        view = wait_until(page, lambda v: v.my_turn, what="Kim's turn")
        if view.playable:
            break
        page.get_by_test_id("deck").press("Enter")  # the deck is a button too
        wait_until(page, lambda v, seq=view.seq: v.seq > seq, what="the card taken")
    else:
        raise AssertionError("Kim never held a card that fits")
    # Tab reaches the cards of the hand; arrow keys move along it; every card has a name.
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.dataset.testid || ''")
        if focused.startswith("card-"):
            break
    else:
        raise AssertionError("Tab never reached a card")
    label = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
    # The name begins with the card's index as shown ("Q♠ Queen of spades", WCAG 2.5.3).
    assert re.fullmatch(r"(?:[2-9JQKA]|10)[♣♦♥♠] (Two|Three|Four|Five|Six|Seven|Eight|Nine|Ten|Jack|Queen|King|Ace) of "
                        r"(clubs|diamonds|hearts|spades)", label), label
    target = next(card for card in view.playable if card[0] != "8") if any(
        card[0] != "8" for card in view.playable) else view.playable[0]
    for _ in range(len(view.hand)):
        if page.evaluate("() => document.activeElement.dataset.card") == target:
            break
        page.keyboard.press("ArrowRight")
    else:
        raise AssertionError(f"ArrowRight never reached {target}")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focus is visible
    page.keyboard.press("Enter")
    if target[0] == "8":
        expect(page.get_by_test_id("suit-picker")).to_be_visible()
        expect(page.get_by_test_id("suit-H")).to_be_focused()
        page.keyboard.press("Enter")
    after = wait_until(page, lambda v: v.seq > view.seq, what="the card put")
    assert target not in after.hand
