"""Every transport of sockjs-client 1.6 works between the browser client and the server.

The page is opened with `?transports=<name>`, which restricts sockjs-client to that transport.
Each test checks that the client reports that transport, and that the browser really used it:
the SockJS URLs it requested end in that transport's path (the iframe transports also load the
server's iframe page, which must take sockjs-client from the server, not from a CDN).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser_helpers import (
    MoveStats,
    add_bots,
    create_room,
    expect_connected,
    play_moves,
    play_until_finished,
    read_table,
    sign_in,
)

# transport -> the last parts of the SockJS URLs it uses (/sockjs/<server>/<session>/<path>),
# to receive and to send
TRANSPORT_PATHS = {
    "websocket": {"websocket"},
    "xhr-streaming": {"xhr_streaming", "xhr_send"},
    "xhr-polling": {"xhr", "xhr_send"},
    "eventsource": {"eventsource", "xhr_send"},
    "iframe-eventsource": {"eventsource", "xhr_send"},
    "iframe-htmlfile": {"htmlfile", "xhr_send"},
    "jsonp-polling": {"jsonp", "jsonp_send"},
}
WHOLE_GAME = {"xhr-streaming", "xhr-polling"}
_SESSION_URL = re.compile(r"/sockjs/[^/]+/[^/]+/([a-z_]+)(?:\?|$)")


@pytest.mark.parametrize("transport", list(TRANSPORT_PATHS))
def test_transport_signs_in_joins_and_plays(open_page, transport):
    used: set[str] = set()
    loaded: list[str] = []

    def on_request(request):
        loaded.append(request.url)
        match = _SESSION_URL.search(request.url)
        if match:
            used.add(match.group(1))

    page = open_page(f"?transports={transport}")
    page.on("request", on_request)
    page.on("websocket", lambda ws: used.add("websocket") if ws.url.endswith("/websocket") else None)
    # The page was already loaded by open_page before the listeners were attached: reload so
    # that every request of the session is seen.
    page.reload()

    sign_in(page, f"T {transport}"[:40])
    expect_connected(page, transport)
    room = create_room(page, f"Room over {transport}", seats=2)
    assert room
    add_bots(page, 1)  # fills the room: the game starts by itself
    expect(page.get_by_test_id("table")).to_have_attribute("data-status", "playing")

    stats = MoveStats()
    if transport in WHOLE_GAME:
        play_until_finished([page], stats=stats)
        expect(page.get_by_test_id("game-over")).to_be_visible()
    else:
        play_moves(page, 3, stats)
        assert stats.puts + stats.takes >= 1
    assert read_table(page).seq > 3

    # The browser really talked over this transport, and only over it.
    assert used == TRANSPORT_PATHS[transport], (used, transport)
    if transport.startswith("iframe-"):
        iframe_pages = [url for url in loaded if re.search(r"/sockjs/iframe[^/]*\.html", url)]
        assert iframe_pages, loaded
        assert not [url for url in loaded if "cdn" in url or not url.startswith("http://127.0.0.1")]
    # The status still names the transport after the game.
    expect_connected(page, transport)
