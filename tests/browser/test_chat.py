"""Chat in the browser: two players chat in the lobby and at the table (one on a phone), hostile
text is shown as text (no markup runs, bidi overrides are gone), the panel never covers the
hand on a phone, and the owner mutes the other player."""

from __future__ import annotations

from playwright.sync_api import expect

from browser_helpers import create_room, join_room, sign_in
HOSTILE = "<img src=x onerror=alert(1)>"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
TEST_HOOK = "window.__GAME_TEST__ = { frames: [] };"  # as conftest.open_page installs it


def say(page, text: str) -> None:
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-send").click()
    expect(page.get_by_test_id("chat-input")).to_have_value("")


def test_two_players_chat_and_hostile_text_stays_text(browser, shared_server, artifacts):
    errors: list[str] = []
    dialogs: list[str] = []
    contexts = []

    def open_page(viewport):
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(10_000)
        context.add_init_script(TEST_HOOK)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(shared_server.url)
        return page

    try:
        ann, bob = open_page(DESKTOP), open_page(PHONE)
        sign_in(ann, "ChatAnn")
        sign_in(bob, "ChatBob")

        # The lobby: open on a desktop, folded on a phone with a count of unread messages.
        expect(ann.get_by_test_id("chat-box")).to_have_attribute("open", "")
        expect(bob.get_by_test_id("chat-box")).not_to_have_attribute("open", "")
        say(ann, "hello lobby")
        expect(bob.get_by_test_id("chat-unread")).to_have_text("1")
        bob.get_by_test_id("chat-toggle").click()
        expect(bob.get_by_test_id("chat-unread")).to_be_hidden()
        expect(bob.get_by_test_id("chat-line").last).to_contain_text("ChatAnn: hello lobby")

        # A table: the room's chat, empty at first.
        room = create_room(ann, "Chat duel", seats=2)
        join_room(bob, room)
        for page in (ann, bob):
            expect(page.get_by_test_id("table")).to_have_attribute("data-status", "playing")
            expect(page.get_by_test_id("chat-line")).to_have_count(0)
            expect(page.locator("#chat-title")).to_have_text("Room chat")

        say(bob, HOSTILE)
        say(bob, "abc\u202edef\u2066ghi")
        lines = ann.get_by_test_id("chat-text")
        expect(lines).to_have_count(2)
        expect(lines.nth(0)).to_have_text(HOSTILE)
        expect(lines.nth(1)).to_have_text("abcdefghi")  # the server stripped the overrides
        for page in (ann, bob):
            assert page.locator("#chat img").count() == 0, "markup in a message became HTML"
            assert "\u202e" not in page.locator("#chat").inner_text()
        assert dialogs == [], f"a message ran script: {dialogs}"

        # On a phone the chat is below the hand, never over it.
        bob.get_by_test_id("chat-input").scroll_into_view_if_needed()
        hand = bob.get_by_test_id("hand").bounding_box()
        panel = bob.get_by_test_id("chat").bounding_box()
        assert hand and panel and panel["y"] >= hand["y"] + hand["height"] - 1, (hand, panel)
        bob.get_by_test_id("hand").scroll_into_view_if_needed()
        expect(bob.get_by_test_id("hand").get_by_role("button").first).to_be_visible()
        ann.screenshot(path=str(artifacts / "chat-desktop.png"), full_page=True)
        bob.screenshot(path=str(artifacts / "chat-phone.png"), full_page=True)

        # The owner mutes Bob: his input is off, and says why.
        ann.get_by_test_id("chat-mute").first.click()
        expect(bob.get_by_test_id("chat-input")).to_be_disabled()
        expect(bob.get_by_test_id("chat-input")).to_have_attribute(
            "placeholder", "The owner muted you until the end of the game")
        expect(ann.get_by_test_id("chat-mute")).to_have_count(0)
        assert errors == [], f"uncaught errors in the page: {errors}"
    finally:
        for context in contexts:
            context.close()
