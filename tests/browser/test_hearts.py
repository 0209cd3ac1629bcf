"""Hearts in the browser: one person and three bots, played by clicks.

The person chooses 3 cards to pass (the button is enabled only at 3), sees the cards received
highlighted, follows suit by clicking the cards the page does not dim, and once clicks a dimmed
card: the server refuses it, the page shows an error toast and nothing changes. The tests play
until the first deal is over (the match, on a desktop), on a desktop and on a phone, with
screenshots in test-artifacts/. The lobby offers both games.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from browser_helpers import (
    DESKTOP,
    PHONE,
    add_bots,
    create_room,
    frames,
    join_room,
    read_table,
    room_entry,
    sign_in,
    wait_for_seq,
    wait_until,
)

RANKS = "23456789TJQKA"

_READ_HEARTS = """() => {
  const t = document.querySelector('[data-testid="table"]');
  if (!t || document.getElementById('view-table').hidden) return null;
  const one = (id) => t.querySelector(`[data-testid="${id}"]`);
  const deal = one('deal-info');
  const cards = (sel) => [...t.querySelectorAll(sel)].map((b) => b.dataset.card);
  const toAct = t.dataset.toAct === '' ? [] : t.dataset.toAct.split(',').map(Number);
  const you = t.dataset.you === '' ? null : Number(t.dataset.you);
  return {
    seq: Number(t.dataset.seq),
    status: t.dataset.status,
    myTurn: t.dataset.status === 'playing' && you != null && toAct.includes(you),
    deal: deal ? Number(deal.dataset.deal) : null,
    pass: deal ? deal.dataset.pass : null,
    phase: one('pass-status') ? 'pass' : one('trick') ? 'play' : 'other',
    trick: [...t.querySelectorAll('[data-testid="trick"] .trick-play[data-card]')]
      .map((el) => ({seat: Number(el.dataset.seat), card: el.dataset.card})),
    hand: cards('[data-testid="hand"] button'),
    playable: cards('[data-testid="hand"] [data-playable="true"]'),
    selected: cards('[data-testid="hand"] [data-selected="true"]'),
    received: cards('[data-testid="hand"] [data-received="true"]'),
    brokenHearts: one('hearts-broken') ? one('hearts-broken').dataset.broken === 'true' : null,
  };
}"""


def read_hearts(page: Page) -> dict | None:
    return page.evaluate(_READ_HEARTS)


def last_game_state(page: Page) -> dict:
    """The game's view in the last state the page received (what the page drew from)."""
    states = [m for m in frames(page) if m.get("msg") == "state"]
    return states[-1]["table"]["game_state"]


def pass_choice(hand: list[str]) -> list[str]:
    """Three cards a cautious player passes: Q♠, A♠, K♠, then the highest hearts, then the
    highest cards."""
    def danger(card: str) -> tuple[int, int]:
        if card in ("QS", "AS", "KS"):
            return (3, RANKS.index(card[0]))
        return (2 if card[1] == "H" else 1, RANKS.index(card[0]))
    return sorted(hand, key=danger, reverse=True)[:3]


def dismiss_toasts(page: Page) -> None:
    """Click the error toasts away (a click removes one), so later waits do not see them."""
    toasts = page.get_by_test_id("toast")
    while toasts.count():
        toasts.first.click()
    expect(toasts).to_have_count(0)


def start_hearts(page: Page, name: str) -> str:
    """Sign in, open a Hearts room, fill it with three bots: the deal starts with the pass."""
    sign_in(page, name)
    page.get_by_test_id("create-game").select_option("hearts")
    # Hearts is played by four: the seat list offers nothing else.
    seats = page.get_by_test_id("create-seats").locator("option")
    assert [o.get_attribute("value") for o in seats.all()] == ["4"]
    room = create_room(page, f"{name}'s hearts", seats=4, game="hearts")
    expect(page.get_by_test_id("table-game")).to_have_text("Hearts")
    expect(page.get_by_test_id("start")).to_be_disabled()  # Hearts needs four players
    add_bots(page, 3)
    expect(page.get_by_test_id("table")).to_have_attribute("data-status", "playing")
    return room


def choose_and_pass(page: Page, careful: bool, shot: str | None = None) -> list[str]:
    """Choose 3 cards by clicking them and press the pass button; returns the cards passed.
    `careful`: also check the button, the count and that a fourth card is not taken."""
    button = page.get_by_test_id("pass-cards")
    expect(button).to_be_visible()
    view = read_hearts(page)
    direction = view["pass"]
    expect(button).to_have_text(f"Pass 3 cards {direction}")
    chosen = pass_choice(view["hand"])
    if careful:
        expect(button).to_be_disabled()
        others = [card for card in view["hand"] if card not in chosen]
        # Choose two, a wrong third, put it back, then the right third.
        for card in chosen[:2]:
            page.get_by_test_id(f"card-{card}").click()
        expect(page.get_by_test_id("pass-count")).to_have_text("2 of 3 chosen")
        expect(button).to_be_disabled()
        page.get_by_test_id(f"card-{others[0]}").click()
        expect(button).to_be_enabled()
        page.get_by_test_id(f"card-{others[0]}").click()  # put back
        expect(page.get_by_test_id(f"card-{others[0]}")).to_have_attribute("aria-pressed", "false")
        expect(button).to_be_disabled()
        page.get_by_test_id(f"card-{chosen[2]}").click()
        # A fourth card is not taken while three are chosen.
        page.get_by_test_id(f"card-{others[1]}").click()
        expect(page.get_by_test_id(f"card-{others[1]}")).to_have_attribute("aria-pressed", "false")
        assert sorted(read_hearts(page)["selected"]) == sorted(chosen)
        expect(page.get_by_test_id("pass-count")).to_have_text("3 of 3 chosen")
        # The felt says who has chosen (the bots choose at once) and how many it waits for.
        expect(page.get_by_test_id("pass-status")).to_be_visible()
        expect(page.get_by_test_id("pass-waiting")).to_have_text(re.compile(r"^Waiting for \d players?$"))
        if shot:
            page.screenshot(path=shot)
    else:
        for card in chosen:
            page.get_by_test_id(f"card-{card}").click()
    expect(button).to_be_enabled()
    seq = read_hearts(page)["seq"]
    button.click()
    wait_for_seq(page, seq + 1)
    return chosen


def check_follow_suit(view: dict) -> None:
    """The page never offers a card of another suit while the hand holds the suit led."""
    if not view["trick"] or not view["playable"]:
        return
    led = view["trick"][0]["card"][1]
    if any(card[1] == led for card in view["hand"]):
        assert all(card[1] == led for card in view["playable"]), view


def refuse_a_dimmed_click(page: Page, view: dict, artifacts, size: str) -> None:
    """Click a card the page dims: the server refuses, a toast says why, nothing changes."""
    dimmed = [card for card in view["hand"] if card not in view["playable"]]
    card = page.get_by_test_id(f"card-{dimmed[0]}")
    expect(card).to_have_attribute("aria-disabled", "true")
    expect(card).to_have_class(re.compile(r"\bdimmed\b"))
    card.click(force=True)  # Playwright waits for aria-disabled buttons; a person just clicks
    toast = page.get_by_test_id("toast")
    expect(toast).to_have_count(1)
    expect(toast).to_have_attribute("data-kind", "error")
    text = toast.inner_text()
    assert text.strip() and "illegal_move" not in text, text
    page.screenshot(path=str(artifacts / f"hearts-illegal-{size}.png"))
    page.wait_for_timeout(300)
    after = read_hearts(page)
    assert (after["seq"], after["hand"], after["trick"]) == (view["seq"], view["hand"], view["trick"])
    assert after["myTurn"]
    dismiss_toasts(page)


def play_hearts(page: Page, artifacts, size: str, whole_match: bool, timeout: float,
                first: bool = True) -> dict:
    """Play by clicks until the first deal is over (or the match, if `whole_match`); returns
    what happened. `first`: the first call of a test, which checks the pass, the received
    cards and a refused click closely and takes the screenshots."""
    deadline = time.monotonic() + timeout
    done = {"passes": 0, "plays": 0, "refused": False, "mid_trick_shot": False, "received": False,
            "passed": []}
    first_pass = first
    if not first:
        done.update(refused=True, mid_trick_shot=True, received=True)
    while True:
        assert time.monotonic() < deadline, f"Hearts did not get far enough within {timeout} s: {done}"
        view = read_hearts(page)  # one read: what the page shows at one moment
        if view["status"] == "finished":
            return done
        if not whole_match and view["deal"] and view["deal"] >= 2:
            return done
        if not view["myTurn"]:
            page.wait_for_timeout(20)
            continue
        if view["phase"] == "pass":
            shot = str(artifacts / f"hearts-pass-{size}.png") if first_pass else None
            done["passed"] = choose_and_pass(page, careful=first_pass, shot=shot)
            first_pass = False
            done["passes"] += 1
            continue
        if view["received"] and not done["received"]:
            # The exchange happened: the 3 cards received are marked in the hand, and the 3
            # passed are gone.
            assert len(view["received"]) == 3, view
            assert not set(done["passed"]) & set(view["hand"]), (done["passed"], view["hand"])
            expect(page.get_by_test_id("received-note")).to_be_visible()
            page.screenshot(path=str(artifacts / f"hearts-received-{size}.png"))
            done["received"] = True
        # The play: the page dims what may not be played; the server agrees with it.
        check_follow_suit(view)
        assert view["playable"], f"my turn but nothing playable: {view}"
        if not done["refused"] and len(view["playable"]) < len(view["hand"]):
            refuse_a_dimmed_click(page, view, artifacts, size)
            done["refused"] = True
        if not done["mid_trick_shot"] and len(view["trick"]) >= 2:
            page.mouse.move(2, 2)
            page.wait_for_timeout(150)
            name = "hearts-desktop.png" if size == "desktop" else f"hearts-{size}.png"
            page.screenshot(path=str(artifacts / name), full_page=size != "desktop")
            done["mid_trick_shot"] = True
        # Shed the highest card that still loses the trick, else the lowest.
        card = choose_play(view)
        page.get_by_test_id(f"card-{card}").click()
        wait_for_seq(page, view["seq"] + 1)
        done["plays"] += 1


_LAST_STATE = """() => {
  const frames = window.__GAME_TEST__.frames;
  for (let i = frames.length - 1; i >= 0; i--) {
    const message = JSON.parse(frames[i]);
    if (message.msg === 'state') return message;
  }
  return null;
}"""


def finish_the_match(page: Page, timeout: float) -> None:
    """Play the page's seat to the end of the match with the moves a script would choose
    (`Game.move_from_view`), sent as `move` requests on the page's connection."""
    from game_server.rules import GAMES
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, "the Hearts match did not end in time"
        state = page.evaluate(_LAST_STATE)
        table = state["table"]
        if table["status"] == "finished":
            return
        move = None
        if table["you"] in table["to_act"]:
            move = GAMES["hearts"].move_from_view(table["game_state"])
        if move is None:
            page.wait_for_timeout(10)
            continue
        reply = page.evaluate("m => window.__GAME_TEST__.connection.request(m)",
                              {"msg": "move", "move": move})
        assert reply["msg"] == "state", reply


def choose_play(view: dict) -> str:
    playable = view["playable"]
    rank = lambda card: RANKS.index(card[0])  # noqa: E731
    if view["trick"]:
        led = view["trick"][0]["card"][1]
        best = max((rank(p["card"]) for p in view["trick"] if p["card"][1] == led), default=-1)
        losing = [card for card in playable if card[1] == led and rank(card) < best]
        if losing:
            return max(losing, key=rank)
        if all(card[1] != led for card in playable):
            # Void: throw Q♠ or the highest heart away.
            return max(playable, key=lambda card: (card == "QS", card[1] == "H", rank(card)))
    return min(playable, key=rank)


def check_scores_after_a_deal(page: Page) -> None:
    """The score table: totals after deal 1 add up to 26 (or 78 when someone shot the moon)."""
    totals = [int(text) for text in page.get_by_test_id("score-table")
              .get_by_test_id("total").all_inner_texts()]
    assert len(totals) == 4 and sum(totals) in (26, 78), totals
    lines = page.get_by_test_id("log-line").all_inner_texts()
    assert any(line.startswith("Deal 1 over:") for line in lines), lines


@pytest.mark.timeout(420)
def test_hearts_on_a_desktop_by_clicks(open_page, artifacts):
    page = open_page(viewport=DESKTOP)
    room = start_hearts(page, "Hana")
    # Someone watches: the trick and the scores, but never a hand, a pass or cards received.
    watcher = open_page()
    sign_in(watcher, "Wes")
    join_room(watcher, room, as_spectator=True)
    expect(watcher.get_by_test_id("spectating")).to_be_visible()
    expect(page.get_by_test_id("deal-info")).to_have_attribute("data-deal", "1")
    expect(page.get_by_test_id("deal-info")).to_have_attribute("data-pass", "left")
    expect(page.get_by_test_id("hand").get_by_role("button")).to_have_count(13)
    expect(page.get_by_test_id("rules")).to_contain_text("How to play Hearts")

    done = play_hearts(page, artifacts, "desktop", whole_match=False, timeout=150)
    assert done["received"] and done["refused"] and done["mid_trick_shot"], done
    assert done["plays"] >= 13, done
    # The first deal is over: the next one passes to the right; the scores show the first.
    expect(page.get_by_test_id("deal-info")).to_have_attribute("data-deal", "2")
    expect(page.get_by_test_id("deal-info")).to_have_attribute("data-pass", "right")
    check_scores_after_a_deal(page)
    assert (artifacts / "hearts-desktop.png").stat().st_size > 10_000

    # Play on to the end of the match (the clicks were checked in deal 1: the rest is sent
    # through the page's own connection, which is several times faster); the winner has the
    # lowest total.
    finish_the_match(page, timeout=240)
    panel = page.get_by_test_id("game-over")
    expect(panel).to_be_visible()
    page.screenshot(path=str(artifacts / "hearts-game-over-desktop.png"))
    final = [m for m in frames(page) if m.get("msg") == "state"][-1]["table"]
    result = final["result"]
    winner = result["winner"]
    # The bots play under names of their own ("Ada (bot)"), as the view says.
    winner_name = next(entry["user"]["name"] for entry in final["seats"]
                       if entry is not None and entry["seat"] == winner)
    expect(page.get_by_test_id("winner")).to_have_text(
        "You win! ♛" if winner == 0 else f"{winner_name} wins")
    rows = panel.locator("[data-testid^='score-']")
    expect(rows).to_have_count(4)
    expect(panel.locator(f"[data-testid='score-{winner}']")).to_have_class(re.compile(r"\bis-winner\b"))
    totals = {int(t.get_attribute("data-testid").removeprefix("score-")):
              int(t.locator("td").inner_text()) for t in rows.all()}
    assert totals[winner] == min(totals.values()) and max(totals.values()) >= 100, totals
    assert totals == dict(enumerate(result["scores"])), (totals, result)
    expect(page.get_by_test_id("log-line").last).to_have_text(
        "You win the game" if winner == 0 else f"{winner_name} wins the game")

    expect(watcher.get_by_test_id("game-over")).to_be_visible()
    expect(watcher.get_by_test_id("hand")).to_have_count(0)
    watched = [m for m in frames(watcher) if m.get("msg") == "state"]
    assert len(watched) > 100
    for message in watched:
        game = message["table"]["game_state"] or {}
        assert not {"hand", "passing", "received"} & set(game), message
        move = (message.get("event") or {}).get("move") or {}
        assert not {"cards", "received", "passes"} & set(move), message

    # The owner deals a new match: deal 1 again, passing to the left, totals back to 0.
    page.get_by_test_id("new-game").click()
    expect(page.get_by_test_id("table")).to_have_attribute("data-status", "playing")
    expect(page.get_by_test_id("deal-info")).to_have_attribute("data-deal", "1")
    expect(page.get_by_test_id("pass-cards")).to_be_visible()
    assert page.get_by_test_id("score-table").get_by_test_id("total").all_inner_texts() == ["0"] * 4


@pytest.mark.timeout(300)
def test_hearts_on_a_phone_by_clicks(open_page, artifacts):
    page = open_page(viewport=PHONE)
    start_hearts(page, "Pip")
    done = play_hearts(page, artifacts, "phone", whole_match=False, timeout=150)
    assert done["received"] and done["refused"] and done["mid_trick_shot"], done
    expect(page.get_by_test_id("deal-info")).to_have_attribute("data-deal", "2")
    check_scores_after_a_deal(page)
    # Nothing sticks out sideways; every card of the hand is on screen and big enough to tap.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    buttons = page.get_by_test_id("hand").get_by_role("button").all()
    assert len(buttons) == 13
    for button in buttons:
        box = button.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.screenshot(path=str(artifacts / "hearts-deal-2-phone.png"), full_page=True)


def test_the_lobby_offers_both_games(open_page):
    page = open_page()
    sign_in(page, "Lou")
    game = page.get_by_test_id("create-game")
    options = game.locator("option")
    assert [(o.get_attribute("value"), o.inner_text()) for o in options.all()] == [
        ("crazy_eights", "Crazy Eights"), ("hearts", "Hearts")]
    seats = page.get_by_test_id("create-seats")
    # Crazy Eights: 2 to 7 players, 4 by default; Hearts: 4 only; the rules follow the game.
    assert [o.get_attribute("value") for o in seats.locator("option").all()] == [
        str(n) for n in range(2, 8)]
    expect(seats).to_have_value("4")
    expect(page.get_by_test_id("create-rules")).to_contain_text("eight is wild")
    game.select_option("hearts")
    assert [o.get_attribute("value") for o in seats.locator("option").all()] == ["4"]
    expect(page.get_by_test_id("create-rules")).to_contain_text("2♣")
    game.select_option("crazy_eights")
    expect(seats).to_have_value("4")

    # One room of each: the room list names each room's game.
    hearts = create_room(page, "Hearts room", seats=4, game="hearts")
    max_ = open_page()
    sign_in(max_, "Max")
    eights = create_room(max_, "Eights room", seats=3, game="crazy_eights")
    ned = open_page()
    sign_in(ned, "Ned")
    expect(room_entry(ned, hearts).get_by_test_id("room-game")).to_have_text("Hearts")
    expect(room_entry(ned, hearts).get_by_test_id("room-players")).to_have_text("1/4 players")
    expect(room_entry(ned, eights).get_by_test_id("room-game")).to_have_text("Crazy Eights")
    expect(room_entry(ned, eights).get_by_test_id("room-players")).to_have_text("1/3 players")
