"""Room links: every room has a link (`/#room=<id>`) with a copy button; opening it signs in as
usual and joins the room, as a spectator once the game runs. The lobby names each room's
owner, says that a room starts by itself when its last seat is filled, and on a phone lists
the rooms before the form that opens one.
"""

from __future__ import annotations

from playwright.sync_api import expect

from browser_helpers import DESKTOP, PHONE, add_bots, create_room, room_entry, sign_in

TEST_HOOK = "window.__GAME_TEST__ = { frames: [] };"  # as conftest.open_page installs it


def _sign_in_from_link(page, name: str) -> None:
    expect(page.get_by_test_id("signin")).to_be_visible()
    page.get_by_test_id("signin-name").fill(name)
    page.get_by_test_id("signin-submit").click()


def test_a_room_link_signs_in_and_joins_then_watches(browser, shared_server, artifacts):
    contexts = []
    errors: list[str] = []

    def new_page(viewport=DESKTOP, **options):
        context = browser.new_context(viewport=viewport, **options)
        context.set_default_timeout(10_000)
        context.add_init_script(TEST_HOOK)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    try:
        ann = new_page()
        ann.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                      origin=shared_server.url.rstrip("/"))
        ann.goto(shared_server.url)
        sign_in(ann, "Linda")
        expect(ann.get_by_test_id("create-starts")).to_contain_text("starts by itself")
        ann.get_by_test_id("create-game").select_option("hearts")  # each game's rules
        expect(ann.get_by_test_id("create-rules")).to_contain_text("hearts")
        room = create_room(ann, "Linked room", seats=3)
        status = ann.get_by_test_id("turn-status")
        expect(status).to_contain_text("starts by itself when the last seat is filled")
        link = ann.get_by_test_id("room-link")
        href = link.get_attribute("href")
        assert href == f"{shared_server.url}#room={room}", href
        ann.get_by_test_id("copy-link").click()
        toast = ann.get_by_test_id("toast")
        expect(toast).to_contain_text("Link copied")
        assert ann.evaluate("() => navigator.clipboard.readText()") == href
        toast.click()  # a click dismisses it (the helpers below fail on any toast)
        expect(toast).to_have_count(0)

        # Someone else, on a phone, sees the owner in the lobby, the rooms before the form.
        cleo = new_page(PHONE)
        cleo.goto(shared_server.url)
        sign_in(cleo, "Cleo")
        entry = room_entry(cleo, room)
        expect(entry.get_by_test_id("room-owner")).to_have_text(" · by Linda")
        rooms_box = cleo.locator(".rooms-panel").bounding_box()
        create_box = cleo.locator(".create-panel").bounding_box()
        assert rooms_box["y"] + rooms_box["height"] <= create_box["y"], (rooms_box, create_box)
        cleo.screenshot(path=str(artifacts / "room-links-lobby-phone.png"))

        # A new user opens the link: signs in, and sits down in that room.
        bob = new_page()
        bob.goto(href)
        _sign_in_from_link(bob, "Bobby")
        table = bob.get_by_test_id("table")
        expect(table).to_have_attribute("data-room", room)
        expect(table).to_have_attribute("data-you", "1")
        assert "#room=" not in bob.url
        bob.screenshot(path=str(artifacts / "room-links-joined-desktop.png"))

        # The last seat filled: the game starts by itself.
        add_bots(ann, 1)
        expect(ann.get_by_test_id("table")).to_have_attribute("data-status", "playing")

        # The link once the game runs, opened by Cleo, already signed in: she watches.
        cleo.goto(href)  # only the fragment changes: no reload
        table = cleo.get_by_test_id("table")
        expect(table).to_have_attribute("data-room", room)
        expect(table).to_have_attribute("data-status", "playing")
        expect(table).to_have_attribute("data-you", "")
        expect(cleo.get_by_test_id("spectating")).to_be_visible()
        cleo.screenshot(path=str(artifacts / "room-links-watching-phone.png"))
    finally:
        for context in contexts:
            context.close()
    assert not errors, errors
