"""Signing up, signing in and out on the main site, as a browser does it: names, passwords,
the limit on failed sign-ins, the session cookie and the XSRF token of every form."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from game_server.site.limiter import WindowLimiter
from game_server.site.passwords import PasswordHasher, ScryptParameters
from game_server.storage import make_engine
from game_server.storage.models import User
from game_server.storage.users import UserStore

from site_helpers import set_cookie, text

PASSWORD = "correct horse"


def users(database_url: str) -> dict[str, str | None]:
    """Every user's name and password hash."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(select(User.name, User.password_hash)).all())
    finally:
        engine.dispose()


# --- signing up -----------------------------------------------------------------------------


async def test_sign_up_signs_the_new_user_in(running_site):
    browser = running_site.browser()
    form = await browser.get("/signup")
    assert form.code == 200 and 'name="_xsrf"' in form.body.decode()

    response = await browser.submit("/signup", {"name": " Ada ", "password": PASSWORD})

    assert response.code == 303 and response.headers["Location"] == "/"
    home = text(await browser.get("/"))
    assert "Welcome, Ada" in home and "Play" in home
    stored = users(running_site.database_url)
    assert list(stored) == ["Ada"]
    assert stored["Ada"].startswith("scrypt$n=16,r=1,p=1$")
    assert PASSWORD not in stored["Ada"]


async def test_home_signed_out_offers_sign_in_and_sign_up(running_site):
    page = (await running_site.browser().get("/")).body.decode()
    assert 'href="/signin"' in page and 'href="/signup"' in page
    assert 'href="/play"' not in page


@pytest.mark.parametrize("variant", ["Ada", "ada", "ADA", "Ａｄａ", "  ada  "])
async def test_a_taken_name_is_refused_in_any_case_or_width(running_site, variant):
    await running_site.signed_up("Ada")
    response = await running_site.browser().submit(
        "/signup", {"name": variant, "password": "another password"})
    assert response.code == 409
    assert "This name is taken" in text(response)
    assert "session" not in running_site.browsers[-1].cookies
    assert list(users(running_site.database_url)) == ["Ada"]


async def test_the_name_of_a_dev_user_is_taken_too(running_site):
    # Users made by the game server's --dev sign-in share the table, without a password.
    UserStore(running_site.site.users.engine).add("bob")
    response = await running_site.browser().submit(
        "/signup", {"name": "Bob", "password": PASSWORD})
    assert response.code == 409 and "This name is taken (as “bob”)" in text(response)


async def test_a_dev_user_cannot_sign_in_on_the_site(running_site):
    UserStore(running_site.site.users.engine).add("Cid")
    response = await running_site.browser().submit(
        "/signin", {"name": "Cid", "password": PASSWORD})
    assert response.code == 400 and "Wrong name or password" in text(response)


@pytest.mark.parametrize(("name", "password", "message"), [
    ("Ada", "short", "at least 8 characters"),
    ("Ada Lovelace", "ada lovelace", "cannot be your name"),
    ("Ada", "password1", "most common passwords"),
    ("Ada", "12345678", "most common passwords"),
    ("Ada", "QWERTYUIOP", "most common passwords"),
    ("Ada\u200bLovelace", PASSWORD, "cannot contain U+200B"),  # a zero-width space
    ("Ada\u202eecalevol", PASSWORD, "cannot contain U+202E"),  # right-to-left override
    ("12345", PASSWORD, "cannot be only digits"),
    ("", PASSWORD, "cannot be empty"),
])
async def test_bad_names_and_weak_passwords_are_refused_clearly(running_site, name, password,
                                                                message):
    response = await running_site.browser().submit(
        "/signup", {"name": name, "password": password})
    assert response.code == 400
    assert message in text(response)
    assert users(running_site.database_url) == {}
    # The name is kept in the form, the password never sent back.
    assert password not in response.body.decode() or password in name


async def test_sign_ups_from_one_address_are_limited(site_factory):
    running_site = await site_factory(signups=WindowLimiter(3, 3600))
    for number in range(3):
        await running_site.signed_up(f"Player {number}")
    refused = await running_site.browser().submit(
        "/signup", {"name": "One more", "password": PASSWORD})
    assert refused.code == 429 and "Too many sign-ups from your network" in text(refused)
    assert "One more" not in users(running_site.database_url)


async def test_pages_escape_what_users_typed(running_site):
    browser = await running_site.signed_up("<b>Eve</b>")
    page = (await browser.get("/")).body.decode()
    assert "<b>Eve</b>" not in page and "&lt;b&gt;Eve&lt;/b&gt;" in page


# --- signing in -----------------------------------------------------------------------------


async def test_sign_in_with_the_right_password(running_site):
    await running_site.signed_up("Ada")
    browser = running_site.browser()
    response = await browser.submit("/signin", {"name": "ada", "password": PASSWORD,
                                                "next": "/profile"})
    assert response.code == 303 and response.headers["Location"] == "/profile"
    assert "session" in browser.cookies
    assert "Welcome, Ada" in text(await browser.get("/"))


async def test_wrong_password_or_unknown_name_does_not_sign_in(running_site):
    await running_site.signed_up("Ada")
    browser = running_site.browser()
    for name, password in (("Ada", "wrong password"), ("Nobody", PASSWORD)):
        response = await browser.submit("/signin", {"name": name, "password": password})
        assert response.code == 400
        assert "Wrong name or password." in text(response)
        assert "session" not in browser.cookies


async def test_sign_in_goes_back_only_to_pages_of_this_site(running_site):
    await running_site.signed_up("Ada")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = await running_site.browser().submit(
            "/signin", {"name": "Ada", "password": PASSWORD, "next": target})
        assert response.code == 303 and response.headers["Location"] == "/"


async def test_five_failures_for_a_name_lock_it_for_fifteen_minutes(running_site):
    await running_site.signed_up("Ada")
    attacker = running_site.browser()
    for _ in range(5):
        response = await attacker.submit("/signin", {"name": "Ada", "password": "guess1234"})
        assert response.code == 400
    # Now even the right password is refused, from anywhere, for any spelling of the name.
    for name in ("Ada", "ADA"):
        refused = await running_site.browser().submit(
            "/signin", {"name": name, "password": PASSWORD})
        assert refused.code == 429
        assert "Too many failed sign-ins" in text(refused)
        assert "Try again in 15 minutes" in text(refused)
        assert int(refused.headers["Retry-After"]) == 900
    running_site.clock.advance(15 * 60)
    response = await running_site.browser().submit(
        "/signin", {"name": "Ada", "password": PASSWORD})
    assert response.code == 303


async def test_twenty_failures_from_one_address_lock_it(running_site):
    await running_site.signed_up("Ada")
    browser = running_site.browser()
    for number in range(20):
        response = await browser.submit("/signin", {"name": f"user{number}",
                                                    "password": "guess1234"})
        assert response.code == 400
    refused = await browser.submit("/signin", {"name": "Ada", "password": PASSWORD})
    assert refused.code == 429
    # Another address (as nginx reports it) is not locked.
    other = await browser.submit("/signin", {"name": "Ada", "password": PASSWORD},
                                 headers={"X-Real-IP": "203.0.113.7"})
    assert other.code == 303


async def test_a_successful_sign_in_clears_the_failures_of_the_name(running_site):
    await running_site.signed_up("Ada")
    browser = running_site.browser()
    for _ in range(4):
        await browser.submit("/signin", {"name": "Ada", "password": "guess1234"})
    assert (await browser.submit("/signin", {"name": "Ada", "password": PASSWORD})).code == 303
    for _ in range(4):
        response = await browser.submit("/signin", {"name": "Ada", "password": "guess1234"})
        assert response.code == 400


async def test_a_weaker_hash_is_replaced_at_sign_in(site_factory):
    running = await site_factory()
    # A user who signed up when the parameters were lower...
    old = PasswordHasher(ScryptParameters(n=8, r=1, p=1))
    UserStore(running.site.users.engine).add("Ada", password_hash=old.hash(PASSWORD))
    response = await running.browser().submit("/signin", {"name": "Ada", "password": PASSWORD})
    assert response.code == 303
    # ...has a hash with today's parameters after signing in, and it still works.
    assert users(running.database_url)["Ada"].startswith("scrypt$n=16,r=1,p=1$")
    again = await running.browser().submit("/signin", {"name": "Ada", "password": PASSWORD})
    assert again.code == 303


# --- the session ----------------------------------------------------------------------------


async def test_the_session_cookie_is_signed_http_only_and_same_site(running_site):
    browser = running_site.browser()
    response = await browser.submit("/signup", {"name": "Ada", "password": PASSWORD})
    header = set_cookie(response, "session")
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header
    assert "Path=/" in header


async def test_cookies_are_secure_when_asked(site_factory):
    running = await site_factory(secure_cookies=True)
    browser = running.browser()
    page = await browser.get("/signup")
    assert "Secure" in set_cookie(page, "_xsrf")
    response = await browser.submit("/signup", {"name": "Ada", "password": PASSWORD})
    assert "Secure" in set_cookie(response, "session")


async def test_sign_out_is_a_post_that_ends_the_session(running_site):
    browser = await running_site.signed_up("Ada")
    assert (await browser.get("/signout")).code == 405  # a link cannot sign anyone out
    response = await browser.submit("/signout")
    assert response.code == 303
    assert "session" not in browser.cookies
    assert "Sign in" in text(await browser.get("/"))


async def test_a_forged_or_altered_session_cookie_signs_no_one_in(running_site):
    await running_site.signed_up("Victim")
    mallory = await running_site.signed_up("Mallory")
    # Tornado's v2 format: 2|1:0|<time>|7:session|<length>:<base64 of the user id>|<signature>
    genuine = mallory.cookies["session"]
    copy = running_site.browser()
    copy.cookies["session"] = genuine
    assert "Welcome, Mallory" in text(await copy.get("/"))  # the cookie alone is the session
    victim_id = UserStore(running_site.site.users.engine).by_name("Victim").id
    fields = genuine.split("|")
    value = base64.b64encode(str(victim_id).encode()).decode()
    fields[4] = f"{len(value)}:{value}"
    for forged in ("|".join(fields), str(victim_id), genuine[:-4] + "0000"):
        browser = running_site.browser()
        browser.cookies["session"] = forged
        page = text(await browser.get("/"))
        assert "Victim" not in page and "Sign in" in page
        response = await browser.get("/play")
        assert response.code == 302 and response.headers["Location"].startswith("/signin")


# --- XSRF -----------------------------------------------------------------------------------


async def test_posts_without_the_xsrf_token_are_refused(running_site):
    browser = await running_site.signed_up("Ada")
    await running_site.signed_up("Bob")
    for path, fields in (("/signup", {"name": "Eve", "password": PASSWORD}),
                         ("/signin", {"name": "Bob", "password": PASSWORD}),
                         ("/signout", {}),
                         ("/users/2/invite", {})):
        response = await browser.submit(path, fields, xsrf=False)
        assert response.code == 403, path
        assert "did not come from this site" in text(response)
    # A token that does not match the cookie is refused too.
    forged = await browser.request("POST", "/signout", body="_xsrf=2|00|11|22")
    assert forged.code == 403
    # Nothing happened: no new user, Ada still signed in.
    assert "Eve" not in users(running_site.database_url)
    assert "Welcome, Ada" in text(await browser.get("/"))
    assert running_site.publisher.sent == []
