"""The table as people see it, on a phone (390x844, touch) and on a desktop (1280x800):

- layout: what a new user saw go wrong, one test per item, each with a screenshot at both
  sizes in test-artifacts/; the assertions are geometry (boxes that must not overlap, text that
  must not be cut: scrollWidth <= clientWidth);
- keyboard and screen readers: axe-core (WCAG 2.0/2.1 A and AA, best practices; any violation
  fails) on sign-in, lobby, waiting room, table, suit picker and game over at both sizes, and
  what axe cannot see: one tab stop for the hand, the focus ring's contrast, the suit picker
  keeping and returning the focus, live regions that stay and only change their text;
- cues: the turn sound (muted by default, a toggle kept in localStorage) and banner, a card
  sliding to the pile, nothing sliding under reduced motion, the rules beside the table.

Most positions are crafted (crafted_states.py) so that each test sees the worst case at once:
a four-player game over with long hands, an eight to play, a suit named over the top card,
three empty seats. One page per size serves every test of the module (it saves a browser
context and a sign-in a test).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

import crafted_states as crafted
from axe_check import assert_no_violations
from browser_helpers import DESKTOP, PHONE, add_bots, create_room, sign_in

SIZES = {"desktop": DESKTOP, "phone": PHONE}
# The test hook (as conftest.open_page installs it), and a count of the oscillators the page
# starts (each note of the turn sound).
TEST_HOOK = """
window.__GAME_TEST__ = { frames: [] };
window.__notes = 0;
const RealContext = window.AudioContext;
window.AudioContext = class extends RealContext {
  createOscillator() { window.__notes += 1; return super.createOscillator(); }
};
"""


@pytest.fixture(scope="module")
def pages(browser, shared_server):
    """One signed-in page per size (the phone one with touch), shared by the module's tests."""
    contexts, errors, pages = [], [], {}
    for size, viewport in SIZES.items():
        touch = size == "phone"
        # bypass_csp: the page's Content-Security-Policy forbids the inline script that
        # injects axe-core (the client itself never loads it).
        context = browser.new_context(viewport=viewport, has_touch=touch, is_mobile=touch,
                                      bypass_csp=True)
        context.set_default_timeout(10_000)
        context.add_init_script(TEST_HOOK)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(shared_server.url)
        sign_in(page, f"Layout {size}")
        pages[size] = page
    yield pages
    for context in contexts:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


_BOX = "(el) => { const r = el.getBoundingClientRect(); return {x: r.left, y: r.top, w: r.width, h: r.height}; }"


def box(locator) -> dict:
    return locator.evaluate(_BOX)


def overlap(a: dict, b: dict) -> bool:
    """True if the two boxes share more than a pixel's sliver."""
    return (min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]) > 1
            and min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]) > 1)


def not_cut(locator) -> None:
    """The element's text fits its box: nothing hidden behind an ellipsis or a scroll bar."""
    fits = locator.evaluate("(el) => [el.scrollWidth, el.clientWidth, el.scrollHeight, el.clientHeight]")
    assert fits[0] <= fits[1] and fits[2] <= fits[3], (locator, fits)


def on_screen_width(b: dict, size: str) -> None:
    assert b["x"] >= -0.5 and b["x"] + b["w"] <= SIZES[size]["width"] + 0.5, (size, b)


def test_the_game_over_panel_is_whole_and_covers_nothing(pages, artifacts):
    for size, page in pages.items():
        crafted.show(page, crafted.finished_state())
        panel = page.get_by_test_id("game-over")
        expect(panel).to_be_visible()
        panel.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"layout-game-over-{size}.png"), full_page=True)
        not_cut(panel)
        not_cut(panel.locator("table"))
        panel_box = box(panel)
        on_screen_width(panel_box, size)
        # Every row of the score table, every card left, inside the panel.
        for row in panel.locator("tbody tr").all():
            row_box = box(row)
            assert row_box["y"] + row_box["h"] <= panel_box["y"] + panel_box["h"] + 0.5
            on_screen_width(row_box, size)
        assert panel.locator("tbody tr").count() == 4
        # It covers neither the hand, the felt, nor any seat.
        hand = page.get_by_test_id("hand")
        assert hand.locator("button").count() == 12
        assert not overlap(panel_box, box(hand)), size
        assert not overlap(panel_box, box(page.locator(".felt"))), size
        for seat in page.locator(".seat").all():
            assert not overlap(panel_box, box(seat)), size


def test_the_deck_count_does_not_overlap_the_suit_to_follow(pages, artifacts):
    for size, page in pages.items():
        # A suit was named (the eight of diamonds, hearts named): the label reads "Suit named".
        crafted.show(page, crafted.playing_state(["2S", "3S", "9D", "JS", "KC"], seq=6,
                                                 pile=["4H", "9S", "8D"], suit="H"))
        page.screenshot(path=str(artifacts / f"layout-deck-count-{size}.png"))
        count = page.get_by_test_id("deck-count")
        follow = page.get_by_test_id("suit-to-follow")
        expect(follow).to_contain_text("Suit named")
        assert not overlap(box(count), box(follow)), size
        assert not overlap(box(count), box(page.get_by_test_id("pile"))), size
        not_cut(follow.locator(".follow-label"))
        not_cut(follow.locator(".follow-suit"))


def test_empty_seats_are_not_cut(pages, artifacts):
    for size, page in pages.items():
        crafted.show(page, crafted.waiting_state(seq=3, seats=4, taken=1))
        page.screenshot(path=str(artifacts / f"layout-empty-seats-{size}.png"))
        empty = page.locator(".seat.is-empty")
        assert empty.count() == 3
        note = page.locator(".waiting-note p")
        for seat in empty.all():
            name = seat.locator(".seat-name")
            assert name.inner_text().split() == ["Empty", "seat"], size
            not_cut(name)
            seat_box = box(seat)
            on_screen_width(seat_box, size)
            assert not overlap(seat_box, box(note)), size


def _corner_is_visible(page, card_testid: str) -> bool:
    """True if the top-left index of that card is what one sees at its place (not another card)."""
    return page.evaluate("""(id) => {
      const card = document.querySelector(`[data-testid="${id}"]`);
      const r = card.querySelector('.corner.tl .corner-rank').getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return Boolean(hit && card.contains(hit));
    }""", card_testid)


def test_a_tapped_card_does_not_stay_raised_over_its_neighbour(pages, artifacts):
    hand = ["8H", "2S", "3S", "9D", "JS", "QH", "KC", "AS", "TD", "4C", "6C"]
    for size, page in pages.items():
        crafted.show(page, crafted.playing_state(hand, seq=7, pile=["4H", "9H"], suit="H"))
        cards = [button.get_attribute("data-testid")
                 for button in page.get_by_test_id("hand").locator("button").all()]
        # The hand is sorted: 2S 3S JS AS 8H QH KC 4C 6C 9D TD; the eight of hearts is
        # playable and opens the suit picker, so tapping it sends nothing.
        eight = page.get_by_test_id("card-8H")
        neighbour = cards[cards.index("card-8H") + 1]
        before = box(eight)
        if size == "phone":
            eight.tap()
        else:
            eight.click()
        expect(page.get_by_test_id("suit-picker")).to_be_visible()
        page.get_by_test_id("suit-cancel").click()
        expect(page.get_by_test_id("suit-picker")).to_have_count(0)
        if size == "desktop":
            eight.hover()  # a real pointer may raise it: its neighbour still shows its index
        page.wait_for_timeout(200)  # transitions end
        page.screenshot(path=str(artifacts / f"layout-tapped-card-{size}.png"))
        after = box(eight)
        if size == "phone":
            assert abs(after["y"] - before["y"]) <= 1, (before, after)
        for testid in cards:
            assert _corner_is_visible(page, testid), (size, testid)
        assert _corner_is_visible(page, neighbour)
        page.mouse.move(2, 2)


def test_the_suit_picker_leaves_the_pile_in_sight(pages, artifacts):
    for size, page in pages.items():
        crafted.show(page, crafted.playing_state(["8C", "2S", "3S", "9D", "JS"], seq=8,
                                                 pile=["4H", "9S"], suit="S"))
        page.evaluate("() => window.scrollTo(0, 0)")
        page.get_by_test_id("card-8C").click()
        picker = page.get_by_test_id("suit-picker")
        expect(picker).to_be_visible()
        page.screenshot(path=str(artifacts / f"layout-suit-picker-{size}.png"))
        picker_box = box(picker)
        on_screen_width(picker_box, size)
        assert not overlap(picker_box, box(page.get_by_test_id("pile"))), size
        assert not overlap(picker_box, box(page.get_by_test_id("pile-top"))), size
        assert not overlap(picker_box, box(page.get_by_test_id("suit-to-follow"))), size
        for suit in "HDCS":
            not_cut(page.get_by_test_id(f"suit-{suit}"))
        page.keyboard.press("Escape")
        expect(picker).to_have_count(0)


# --- keyboard and screen readers (axe-core, injected by the test: see axe_check.py) ---------

def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS rgb()/rgba() colours."""
    def parse(colour: str) -> tuple[int, int, int]:
        return tuple(int(float(x)) for x in re.findall(r"[\d.]+", colour)[:3])  # type: ignore
    la, lb = sorted((_luminance(parse(a)), _luminance(parse(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_state_passes_axe_and_works_by_keyboard(pages, artifacts, size):
    page = pages[size]
    page.get_by_test_id("signout").click()
    expect(page.get_by_test_id("signin")).to_be_visible()
    assert_no_violations(page, f"sign-in ({size})")
    sign_in(page, f"Axel {size}")
    assert_no_violations(page, f"lobby ({size})")
    if size == "desktop":
        # A real room, waiting and then playing.
        create_room(page, f"Axel's {size} room", seats=3)
        assert_no_violations(page, f"waiting room ({size})")
        add_bots(page, 2)  # the room is full: the game starts
        expect(page.get_by_test_id("table")).to_have_attribute("data-status", "playing")
        assert_no_violations(page, f"table ({size})")
        page.get_by_test_id("leave").click()
        expect(page.get_by_test_id("lobby")).to_be_visible()
    else:
        # The same states crafted (faster; the desktop run has the real ones).
        crafted.show(page, crafted.waiting_state(seats=4, taken=2))
        assert_no_violations(page, f"waiting room ({size})")

    # A crafted position: the viewer's turn with an eight, so the suit picker can open.
    hand = ["2S", "3S", "9D", "JS", "KC", "8H", "TD"]
    crafted.show(page, crafted.playing_state(hand, pile=["4H", "9H"], suit="H"))
    assert_no_violations(page, f"table with an eight ({size})")

    # The live regions are the page's own and stay: a new state changes only their text.
    page.evaluate("""() => { for (const id of ['announce-turn', 'announce-log'])
                               document.getElementById(id).dataset.mark = 'kept'; }""")
    turn = page.get_by_test_id("announce-turn")
    expect(turn).to_contain_text("Your turn")
    crafted.show(page, {**crafted.playing_state(hand, pile=["4H", "9H"], suit="H", turn=1),
                        "event": {"type": "connect", "seat": 1}})
    expect(turn).to_have_text("Bartholomew's turn.")
    expect(page.get_by_test_id("announce-log")).to_have_text("Bartholomew reconnected")
    assert page.evaluate("""() => ['announce-turn', 'announce-log'].every(
        (id) => document.getElementById(id).dataset.mark === 'kept')""")
    assert page.locator("#view-table [aria-live], #view-table [role=status]").count() == 0
    crafted.show(page, crafted.playing_state(hand, pile=["4H", "9H"], suit="H"))

    # The hand is one tab stop; the arrow keys move inside it (wrapping around).
    cards = page.get_by_test_id("hand").locator("button")
    assert cards.count() == len(hand)
    stops = page.evaluate("""() => [...document.querySelectorAll('[data-testid="hand"] button')]
                                   .map((b) => b.tabIndex)""")
    assert sorted(stops) == [-1] * (len(hand) - 1) + [0], stops
    page.get_by_test_id("leave").focus()
    for _ in range(40):
        page.keyboard.press("Shift+Tab")
        focused = page.evaluate("() => document.activeElement.dataset.testid || ''")
        if focused.startswith("card-"):
            break
    else:
        raise AssertionError("Shift+Tab never reached the hand")
    # Sorted hand: 2S 3S JS 8H KC 9D TD; the first playable card (8H) holds the stop.
    assert focused == "card-8H", focused
    page.keyboard.press("Shift+Tab")  # one more Shift+Tab leaves the hand at once
    assert not page.evaluate("() => Boolean(document.activeElement.closest('[data-testid=\"hand\"]'))")
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("card-8H")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("card-KC")).to_be_focused()
    page.keyboard.press("End")
    expect(page.get_by_test_id("card-TD")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("card-2S")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_test_id("card-TD")).to_be_focused()
    label = page.get_by_test_id("card-TD").get_attribute("aria-label")
    assert label == "10♦ Ten of diamonds", label
    # The focus ring has at least 3:1 contrast against the page.
    ring = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return [s.outlineStyle, s.outlineColor, getComputedStyle(document.body).backgroundColor]; }""")
    assert ring[0] != "none"
    assert contrast(ring[1], ring[2]) >= 3, ring
    page.screenshot(path=str(artifacts / f"a11y-hand-focus-{size}.png"))

    # The suit picker keeps the focus inside and gives it back when it closes.
    page.keyboard.press("Home")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("card-8H")).to_be_focused()
    page.keyboard.press("Enter")
    picker = page.get_by_test_id("suit-picker")
    expect(picker).to_be_visible()
    expect(page.get_by_test_id("suit-H")).to_be_focused()
    assert_no_violations(page, f"suit picker ({size})")
    page.screenshot(path=str(artifacts / f"a11y-suit-picker-{size}.png"))
    for _ in range(6):  # four suits and Cancel: Tab goes round inside the dialog
        page.keyboard.press("Tab")
        assert page.evaluate("() => Boolean(document.activeElement.closest('[role=dialog]'))")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("() => Boolean(document.activeElement.closest('[role=dialog]'))")
    page.keyboard.press("Escape")
    expect(picker).to_have_count(0)
    expect(page.get_by_test_id("card-8H")).to_be_focused()

    crafted.show(page, crafted.finished_state())
    expect(page.get_by_test_id("game-over")).to_be_visible()
    assert_no_violations(page, f"game over ({size})")


# --- cues ---------------------------------------------------------------------------------------

HAND = ["9S", "2S", "KD", "4C"]


def _other_player_moves_then_my_turn(page, seq: int) -> None:
    """Bartholomew (seat 1) to move; then he puts the four of spades and it is the viewer's turn."""
    crafted.show(page, crafted.playing_state(HAND, seq=seq, pile=["4H", "9H"], suit="H", turn=1))
    crafted.show(page, {**crafted.playing_state(HAND, seq=seq + 1, pile=["4H", "9H", "4S"],
                                                suit="S", turn=0),
                        "event": {"type": "move", "seat": 1, "move": {"type": "put", "card": "4S"}}})


def _pile_is_moving(page) -> bool:
    return page.evaluate("""() => document.querySelector('[data-testid="pile-top"]')
                                   .getAnimations().length > 0""")


def test_turn_cue_sound_toggle_and_card_motion(pages, artifacts):
    page = pages["desktop"]
    toggle = page.get_by_test_id("sound-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "false")  # muted by default
    cue = page.get_by_test_id("turn-cue")
    shown = int(cue.get_attribute("data-count") or 0)

    # Another player moves and it becomes my turn: the banner, no sound, the card slides.
    _other_player_moves_then_my_turn(page, 10)
    expect(cue).to_be_visible()
    expect(cue).to_have_attribute("data-count", str(shown + 1))
    assert page.evaluate("() => document.body.dataset.motion") == "seat>pile"
    assert _pile_is_moving(page)
    page.screenshot(path=str(artifacts / "turn-cue-desktop.png"))
    assert page.evaluate("() => window.__notes") == 0

    # My own card slides from my hand to the pile; no cue: it is no longer my turn.
    crafted.show(page, {**crafted.playing_state(HAND[1:], seq=12, pile=["9H", "4S", "9S"],
                                                suit="S", turn=1),
                        "event": {"type": "move", "seat": 0, "move": {"type": "put", "card": "9S"}}})
    assert page.evaluate("() => document.body.dataset.motion") == "hand>pile"
    assert _pile_is_moving(page)
    expect(cue).to_have_attribute("data-count", str(shown + 1))

    # The rules of the game beside the table.
    rules = page.get_by_test_id("rules")
    expect(rules.locator("summary")).to_have_text("How to play Crazy Eights")
    rules.locator("summary").click()
    expect(rules.locator("li").first).to_contain_text("matches the suit or the rank")

    # Sound on: the click itself plays it once; the choice is kept over a reload.
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("() => localStorage.getItem('cardtable.sound')") == "on"
    assert page.evaluate("() => window.__notes") > 0
    page.reload()
    expect(page.get_by_test_id("sound-toggle")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("lobby")).to_be_visible()
    for toast in page.get_by_test_id("toast").all():  # "could not return" to the crafted room
        toast.click()
    _other_player_moves_then_my_turn(page, 20)
    expect(page.get_by_test_id("turn-cue")).to_have_attribute("data-count", "1")
    assert page.evaluate("() => window.__notes") > 0  # a new page: counted from 0 again
    # Off again.
    page.get_by_test_id("sound-toggle").click()
    expect(page.get_by_test_id("sound-toggle")).to_have_attribute("aria-pressed", "false")
    before = page.evaluate("() => window.__notes")
    _other_player_moves_then_my_turn(page, 30)
    expect(page.get_by_test_id("turn-cue")).to_have_attribute("data-count", "2")
    assert page.evaluate("() => window.__notes") == before

    # With reduced motion (on the phone): the cue still shows, nothing slides.
    page = pages["phone"]
    page.emulate_media(reduced_motion="reduce")
    try:
        shown = int(page.get_by_test_id("turn-cue").get_attribute("data-count") or 0)
        _other_player_moves_then_my_turn(page, 40)
        expect(page.get_by_test_id("turn-cue")).to_have_attribute("data-count", str(shown + 1))
        assert page.evaluate("() => document.body.dataset.motion") == "reduced seat>pile"
        assert not _pile_is_moving(page)
        page.screenshot(path=str(artifacts / "turn-cue-reduced-motion-phone.png"))
    finally:
        page.emulate_media(reduced_motion="no-preference")
