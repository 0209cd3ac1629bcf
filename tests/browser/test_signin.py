"""Signing in: the dev form, a main-site token in the URL fragment, a bad token, signing out."""

from __future__ import annotations

import json
import urllib.request

from playwright.sync_api import expect

from browser_helpers import sign_in


def dev_token(server, name: str) -> str:
    request = urllib.request.Request(server.url + "dev/login", data=json.dumps({"name": name}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)["token"]


def test_the_name_form_needs_a_name(open_page):
    page = open_page()
    page.get_by_test_id("signin-name").fill("   ")
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("signin-error")).to_be_visible()
    expect(page.get_by_test_id("signin")).to_be_visible()


def test_a_token_in_the_fragment_signs_in_and_leaves_the_address_bar(open_page, live_server):
    token = dev_token(live_server, "Tess")
    page = open_page(f"#token={token}")
    expect(page.get_by_test_id("lobby")).to_be_visible()
    expect(page.get_by_test_id("user-name")).to_have_text("Tess")
    assert "token" not in page.url and token not in page.url
    # A reload keeps the session (the token is reused while it is valid).
    page.reload()
    expect(page.get_by_test_id("lobby")).to_be_visible()
    expect(page.get_by_test_id("user-name")).to_have_text("Tess")


def test_a_bad_token_asks_to_sign_in_again(open_page):
    page = open_page("#token=AQEnot-a-real-token")
    expect(page.get_by_test_id("toast")).to_contain_text("sign-in")
    expect(page.get_by_test_id("signin")).to_be_visible()  # a --dev server offers the form
    assert "token" not in page.url


def test_sign_out_and_in_as_someone_else(open_page):
    page = open_page()
    sign_in(page, "Uma")
    page.get_by_test_id("signout").click()
    expect(page.get_by_test_id("signin")).to_be_visible()
    expect(page.get_by_test_id("conn-status")).to_have_attribute("data-state", "idle")
    expect(page.get_by_test_id("conn-status")).to_contain_text("Not connected")
    sign_in(page, "Vic")
    page.reload()
    expect(page.get_by_test_id("user-name")).to_have_text("Vic")
