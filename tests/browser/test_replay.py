"""Finished games in the browser: the lobby's leaderboard and recent games, the game-over
panel's link, and the replay page (`/#game=<id>`) stepping through a real game to its end,
checked against the history API (docs/api.md), on a desktop and a phone.

The game is played by `game_server.client` (a person's moves chosen by the rules, against a
bot) so that it ends within seconds; the person then signs in to the browser under the same
name, which is the same user on a --dev server.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import expect

import crafted_states as crafted
from axe_check import assert_no_violations
from browser_helpers import DESKTOP, PHONE, sign_in
from game_server.client import play_against_bots

TEST_HOOK = "window.__GAME_TEST__ = { frames: [] };"  # as conftest.open_page installs it


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _shown_hands(page, seats) -> dict[int, list[str]]:
    return {seat: page.get_by_test_id(f"replay-hand-{seat}").locator("[data-card]").evaluate_all(
        "(cards) => cards.map((c) => c.dataset.card)") for seat in seats}


def _step(page) -> int:
    return int(page.get_by_test_id("replay").get_attribute("data-step"))


def test_a_finished_game_replays_to_its_end(browser, shared_server, artifacts):
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        final = pool.submit(asyncio.run, play_against_bots(
            shared_server.url, "Reese", bots=1, out=lambda _: None)).result(timeout=120)
    room = final["room"]
    user_id = final["table"]["seats"][final["table"]["you"]]["user"]["id"]
    mine = _get(f"{shared_server.url}api/users/{user_id}/games")["games"]
    game_id = next(game["id"] for game in mine if game["room"] == room)
    record = _get(f"{shared_server.url}api/games/{game_id}")
    seats = record["players"]
    moves = sum(entry["kind"] == "move" for entry in record["moves"])

    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    errors: list[str] = []
    try:
        context.set_default_timeout(10_000)
        context.add_init_script(TEST_HOOK)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(shared_server.url)
        sign_in(page, "Reese")

        # The lobby: the game among Reese's recent games, Reese on the leaderboard.
        recent = page.get_by_test_id(f"recent-{game_id}")
        expect(recent).to_be_visible()
        expect(recent).to_contain_text("Reese's table")
        expect(page.get_by_test_id(f"leader-{user_id}")).to_be_visible()
        page.get_by_test_id("history").screenshot(path=str(artifacts / "lobby-history-desktop.png"))

        # The replay: the deal, every hand face up.
        recent.get_by_test_id("replay-open").click()
        replay = page.get_by_test_id("replay")
        expect(replay).to_have_attribute("data-game", str(game_id))
        assert int(replay.get_attribute("data-steps")) == moves
        assert _step(page) == 0
        deal = _shown_hands(page, seats)
        assert deal == {seat: record["deal"]["hands"][p] for p, seat in enumerate(seats)}
        expect(page.get_by_test_id("replay-log-line")).to_have_count(len(record["moves"]))

        # Forward and back, one move at a time.
        page.get_by_test_id("replay-forward").click()
        assert _step(page) == 1
        first = next(entry for entry in record["moves"] if entry["kind"] == "move")
        expect(page.locator(".replay-log .is-current")).to_have_count(1)
        after_one = _shown_hands(page, seats)
        assert sum(map(len, after_one.values())) == sum(map(len, deal.values())) + (
            1 if first["move"]["type"] == "take" else -1)
        page.get_by_test_id("replay-back").click()
        assert _step(page) == 0 and _shown_hands(page, seats) == deal

        # Autoplay moves on by itself, and pauses.
        page.get_by_test_id("replay-play").click()
        expect(page.get_by_test_id("replay-play")).to_have_attribute("aria-pressed", "true")
        page.wait_for_function("() => Number(document.querySelector('[data-testid=\"replay\"]').dataset.step) >= 1")
        page.get_by_test_id("replay-play").click()
        expect(page.get_by_test_id("replay-play")).to_have_attribute("aria-pressed", "false")

        # The end: the final hands and the scores are the API's.
        page.get_by_test_id("replay-end").click()
        assert _step(page) == moves
        expect(replay).to_have_attribute("data-checked", "true")  # stepped, not copied from final
        shown = _shown_hands(page, seats)
        assert {seat: Counter(cards) for seat, cards in shown.items()} == {
            seat: Counter(record["final"]["hands"][p]) for p, seat in enumerate(seats)}
        for seat in record["seats"]:
            expect(page.get_by_test_id(f"replay-score-{seat['seat']}")).to_have_attribute(
                "data-score", str(seat["score"]))
        expect(page.get_by_test_id("replay-result")).to_be_visible()
        page.screenshot(path=str(artifacts / "replay-end-desktop.png"))
        assert_no_violations(page, "the replay (desktop)")

        # On a phone: all of it fits the width.
        page.set_viewport_size(PHONE)
        page.get_by_test_id("replay-start").click()
        assert _step(page) == 0
        page.screenshot(path=str(artifacts / "replay-start-phone.png"))
        widths = page.evaluate("""() => { const r = document.getElementById('replay');
            return [r.scrollWidth, r.clientWidth]; }""")
        assert widths[0] <= widths[1], widths
        assert_no_violations(page, "the replay (phone)")
        page.get_by_test_id("replay-close").click()
        expect(page.get_by_test_id("replay-view")).to_be_hidden()
        expect(page.get_by_test_id("lobby")).to_be_visible()
        page.set_viewport_size(DESKTOP)

        # The game-over panel of that room links to its replay.
        over = crafted.finished_state(players=2, winner=record["winner"])
        over["room"] = room
        over["table"]["seats"][0]["user"] = {"id": user_id, "name": "Reese"}
        crafted.show(page, over)
        link = page.get_by_test_id("replay-link")
        expect(link).to_have_attribute("href", f"#game={game_id}")
        link.click()
        expect(page.get_by_test_id("replay")).to_have_attribute("data-game", str(game_id))
        page.get_by_test_id("replay-close").click()
    finally:
        context.close()
    assert not errors, errors


def test_a_hearts_match_replays_move_by_move(browser, shared_server):
    """Any game replays move by move: the page draws the positions the server revealed
    (`?positions=1`), here in the middle of a Hearts trick and in a later deal."""
    with ThreadPoolExecutor(1) as pool:
        final = pool.submit(asyncio.run, play_against_bots(
            shared_server.url, "Harriet", bots=3, game="hearts",
            out=lambda _: None)).result(timeout=120)
    user_id = final["table"]["seats"][final["table"]["you"]]["user"]["id"]
    mine = _get(f"{shared_server.url}api/users/{user_id}/games")["games"]
    game_id = next(game["id"] for game in mine if game["room"] == final["room"])
    record = _get(f"{shared_server.url}api/games/{game_id}?positions=1")
    seats = record["players"]
    moves = [entry for entry in record["moves"] if "position" in entry]
    assert len(moves) > 60 and moves[-1]["position"]["hands"] == record["final"]["hands"]

    context = browser.new_context(viewport=DESKTOP)
    errors: list[str] = []
    try:
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{shared_server.url}#game={game_id}")
        replay = page.get_by_test_id("replay")
        expect(replay).to_have_attribute("data-game", str(game_id))
        assert int(replay.get_attribute("data-steps")) == len(moves)
        # Seven moves in: the passes are done and a trick is under way; every hand as revealed.
        for _ in range(7):
            page.get_by_test_id("replay-forward").click()
        expect(replay).to_have_attribute("data-step", "7")
        position = moves[6]["position"]
        assert _shown_hands(page, seats) == {seat: position["hands"][p]
                                             for p, seat in enumerate(seats)}
        page.get_by_test_id("replay-end").click()
        expect(replay).to_have_attribute("data-step", str(len(moves)))
        assert _shown_hands(page, seats) == {seat: record["final"]["hands"][p]
                                             for p, seat in enumerate(seats)}
        assert errors == []
    finally:
        context.close()
