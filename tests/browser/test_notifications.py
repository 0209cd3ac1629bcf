"""Notifications in the browser: an invitation sent through the server's admin endpoint shows
(escaped) with Join and Dismiss, and Join seats the player; a message to everyone; and a fresh
token from the main site (GAME_SITE_URL) when the page's own has expired.

The server of this module has its own GAME_ADMIN_PORT and a GAME_SITE_URL pointing at a fake
main site: a small HTTP server that answers `POST /token` as the real site would, with CORS
for the game's origin, and records what it was sent.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest
from playwright.sync_api import expect

from browser_helpers import create_room, frames, sign_in

XSRF = "2|6f3a91c2|0d5e8f0b9a1c2d3e4f5a6b7c8d9e0f1a|1764288000"
HOSTILE_NAME = '<img src=x onerror="window.__pwned = 1">Ann & <b>co</b>'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeSite:
    """The main site's `POST /token`: a token for "Sid" when `give` is set, else 403."""

    def __init__(self) -> None:
        self.give = True
        self.game_url = ""
        self.requests: list[dict[str, str]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _cors(self) -> None:
                self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin", ""))
                self.send_header("Access-Control-Allow-Credentials", "true")
                self.send_header("Access-Control-Allow-Headers", "X-XSRFToken")
                self.send_header("Access-Control-Allow-Methods", "POST")

            def do_OPTIONS(self) -> None:
                self.send_response(204)
                self._cors()
                self.end_headers()

            def do_POST(self) -> None:
                site.requests.append({"path": self.path,
                                      "xsrf": self.headers.get("X-XSRFToken", ""),
                                      "cookie": self.headers.get("Cookie", "")})
                if site.give and self.path == "/token":
                    body = json.dumps({"token": _dev_token(site.game_url, "Sid")}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                else:
                    body = b'{"error": "not signed in"}'
                    self.send_response(403)
                self._cors()
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def _dev_token(game_url: str, name: str) -> str:
    request = urllib.request.Request(game_url + "dev/login",
                                     data=json.dumps({"name": name}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)["token"]


@pytest.fixture(scope="module")
def fake_site() -> Iterator[FakeSite]:
    site = FakeSite()
    yield site
    site.close()


@pytest.fixture(scope="module")
def admin_port(fake_site: FakeSite) -> Iterator[int]:
    """The settings of this module's server, in the environment it is started with."""
    port = _free_port()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GAME_ADMIN_PORT", str(port))
        patch.setenv("GAME_SITE_URL", fake_site.url)
        yield port


@pytest.fixture(scope="module")
def live_server(admin_port, fake_site, live_server):
    """conftest's server, started with this module's GAME_ADMIN_PORT and GAME_SITE_URL."""
    fake_site.game_url = live_server.url
    return live_server


def notify(port: int, user: int | None, kind: str, data) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/notify", method="POST",
        data=json.dumps({"user": user, "kind": kind, "data": data}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 202


def user_id(page) -> int:
    return next(m for m in frames(page) if m["msg"] == "welcome")["user"]["id"]


def test_an_invitation_shows_escaped_and_join_seats_the_player(open_page, admin_port,
                                                               artifacts):
    ann = open_page()
    bob = open_page()
    sign_in(ann, "Ann")
    sign_in(bob, "Bob")
    room = create_room(ann, "Duel", seats=2)

    # A message to everyone: both pages show its text; Dismiss removes it.
    notify(admin_port, None, "maintenance", {"text": "Back at <18:00>"})
    for page in (ann, bob):
        notification = page.get_by_test_id("notification")
        expect(notification).to_have_attribute("data-kind", "maintenance")
        expect(notification.get_by_test_id("notification-text")).to_have_text("Back at <18:00>")
        expect(notification.get_by_test_id("notification-join")).to_have_count(0)
        notification.get_by_test_id("notification-dismiss").click()
        expect(page.get_by_test_id("notification")).to_have_count(0)

    invite = {"room": room, "game": "crazy_eights",
              "from": {"id": user_id(ann), "name": HOSTILE_NAME}}
    notify(admin_port, user_id(bob), "invite", invite)
    notification = bob.get_by_test_id("notification")
    expect(notification).to_have_attribute("data-kind", "invite")
    expect(notification.get_by_test_id("notification-text")).to_have_text(
        f"{HOSTILE_NAME} invites you to Crazy Eights")
    # The name was text, not markup: no element came of it, no script ran.
    assert bob.locator("#notifications img, #notifications b").count() == 0
    assert bob.evaluate("() => window.__pwned") is None
    # Only Bob was invited.
    expect(ann.get_by_test_id("notification")).to_have_count(0)
    bob.screenshot(path=str(artifacts / "notification-invite.png"))

    notification.get_by_test_id("notification-join").click()
    table = bob.get_by_test_id("table")
    expect(table).to_be_visible()
    expect(table).to_have_attribute("data-room", room)
    expect(table).to_have_attribute("data-you", "1")
    expect(bob.get_by_test_id("notification")).to_have_count(0)
    # The room was full: the game started for both.
    expect(ann.get_by_test_id("table")).to_have_attribute("data-status", "playing")


def test_an_expired_token_is_renewed_by_the_main_site(open_page, fake_site, live_server):
    fake_site.give = True
    fake_site.requests.clear()
    page = open_page()
    page.context.add_cookies([
        {"name": "_xsrf", "value": XSRF, "domain": "127.0.0.1", "path": "/"},
        {"name": "site_session", "value": "signed-in", "domain": "127.0.0.1", "path": "/"},
    ])
    page.goto("about:blank")  # from the same URL, a new fragment would not load the page again
    page.goto(live_server.url + "#token=AQEexpired-or-forged")
    expect(page.get_by_test_id("lobby")).to_be_visible()
    expect(page.get_by_test_id("user-name")).to_have_text("Sid")
    assert len(fake_site.requests) == 1
    request = fake_site.requests[0]
    assert request["path"] == "/token" and request["xsrf"] == XSRF
    assert "site_session=signed-in" in request["cookie"]


def test_when_the_main_site_gives_no_token_the_player_is_sent_there(open_page, fake_site):
    fake_site.give = False
    fake_site.requests.clear()
    page = open_page("#token=AQEexpired-or-forged")
    expect(page.get_by_test_id("toast")).to_contain_text(
        "Your sign-in has expired. Open the game from the main site again.")
    expect(page.get_by_test_id("signin")).to_be_visible()  # a --dev server offers the form
    assert [request["path"] for request in fake_site.requests] == ["/token"]
