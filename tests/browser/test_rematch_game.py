"""A rematch in the browser, as a player meets it: a game against a bot ends, the player
clicks Rematch, the next deal starts at once (bots agree) with a new deck commitment, and after
the second game the panel shows the running totals of both."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from browser_helpers import DESKTOP, add_bots, create_room, sign_in
from game_server.rules import GAMES

TEST_HOOK = "window.__GAME_TEST__ = { frames: [] };"  # as conftest.open_page installs it
LAST_STATE = """() => window.__GAME_TEST__.frames.map((f) => JSON.parse(f))
                      .filter((m) => m.msg === 'state').pop()"""


def finish_game(page, timeout: float = 60) -> dict:
    """Play the page's seat with a script's moves on its own connection until the game ends;
    returns the last table view."""
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, "the game did not end in time"
        table = page.evaluate(LAST_STATE)["table"]
        if table["status"] == "finished":
            return table
        if table["status"] == "playing" and table["you"] in table["to_act"]:
            move = GAMES["crazy_eights"].move_from_view(table["game_state"])
            reply = page.evaluate("m => window.__GAME_TEST__.connection.request(m)",
                                  {"msg": "move", "move": move})
            assert reply["msg"] in ("state", "error"), reply
        else:
            page.wait_for_timeout(10)


def test_a_rematch_deals_again_and_the_totals_add_up(browser, shared_server):
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(10_000)
    context.add_init_script(TEST_HOOK)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(shared_server.url)
        sign_in(page, "Remy")
        create_room(page, "Again and again", seats=2)
        add_bots(page, 1)
        table = page.get_by_test_id("table")
        expect(table).to_have_attribute("data-status", "playing")
        first = finish_game(page)
        expect(page.get_by_test_id("game-over")).to_be_visible()
        page.get_by_test_id("rematch").click()
        expect(table).to_have_attribute("data-status", "playing")
        second_deal = page.evaluate(LAST_STATE)["table"]
        assert second_deal["deck_commit"] != first["deck_commit"]
        second = finish_game(page)
        expect(page.get_by_test_id("totals")).to_contain_text("Totals after 2 games")
        assert second["totals"]["games"] == 2
        assert second["totals"]["scores"] == [a + b for a, b in zip(first["result"]["scores"],
                                                                    second["result"]["scores"])]
        assert errors == []
    finally:
        context.close()
