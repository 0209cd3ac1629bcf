"""The create form's room options: a turn clock, who may watch and how, and whether spectators
may chat with players (docs/protocol.md: create). A room created with a clock shows the
countdown on the seat to act once the game runs."""

from __future__ import annotations

from playwright.sync_api import expect

from browser_helpers import DESKTOP, add_bots, frames, sign_in

TEST_HOOK = "window.__GAME_TEST__ = { frames: [] };"  # as conftest.open_page installs it


def test_a_room_with_a_clock_delayed_spectators_and_open_chat(browser, shared_server):
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(10_000)
    context.add_init_script(TEST_HOOK)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(shared_server.url)
        sign_in(page, "Olga")
        page.get_by_test_id("create-game").select_option("crazy_eights")
        page.get_by_test_id("create-name").fill("Timed room")
        page.get_by_test_id("create-seats").select_option("2")
        page.get_by_test_id("create-clock").select_option("30,60")
        page.get_by_test_id("create-spectators").select_option("delayed")
        page.get_by_test_id("create-spectator-chat").check()
        page.get_by_test_id("create-submit").click()
        expect(page.get_by_test_id("table")).to_be_visible()
        add_bots(page, 1)
        expect(page.get_by_test_id("table")).to_have_attribute("data-status", "playing")
        # The seat to act shows its clock (the bot may move first; then it is Olga's turn).
        expect(page.get_by_test_id("clock").first).to_be_visible()
        tables = [m["table"] for m in frames(page) if m.get("msg") == "state"]
        last = tables[-1]
        assert last["clock"]["move"] == 30 and last["clock"]["bank"] == 60, last["clock"]
        assert last.get("spectator_policy") == "delayed", last
        assert last.get("spectator_chat") is True, last
        assert errors == []
    finally:
        context.close()
