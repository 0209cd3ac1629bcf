"""The whole service as docker-compose.yml runs it, through nginx only: the main site at /, the
web client at /play/, two game servers without --dev, one Redis, one PostgreSQL database.

- The processes get the commands and the environment variables compose gives the `site` and
  `game-*` services (the values differ: hosts, ports, secrets).
- Over HTTP: sign-up, sign-in, sign-out; a wrong password, a POST without the XSRF token and a
  forged or altered session cookie are refused; `POST /token` gives a token the game servers
  take.
- In Chromium: Ann and Bob sign in on the site's form and press Play; Ann creates a room,
  invites Bob from his profile page; Bob's web client shows the invitation, Join seats him in
  Ann's room (through a redirect when his lobby connection is on the other server); the game
  starts with the last seat taken and both play it to the end by clicking cards; the move log
  replays to the result, and Ann's profile lists the game.

No ERROR line may appear in the site's or the servers' logs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
import tornado.web
from ruamel.yaml import YAML

from cluster import (
    ROOT,
    SERVER_TEST_ENV,
    Cluster,
    Database,
    RedisServer,
    game_server_command,
)

from game_server.client import GameClient

# The site tests' cookie-keeping HTTP client, which sends forms as a page's form does.
sys.path.insert(0, str(ROOT / "tests" / "site"))
from site_helpers import Browser, set_cookie, text  # noqa: E402

# Sign-in through the site's pages needs Chromium; the game's pages are driven with the
# helpers of the browser tests.
from browser_helpers import (  # noqa: E402
    DESKTOP,
    create_room,
    expect_connected,
    frames,
    play_until_finished,
    read_table,
)

SERVER_IDS = ("game-1", "game-2")
PASSWORD = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# Before any script of a page: the client records the frames it receives; `href` keeps the URL
# the page was opened with, fragment and all (the client removes `#token=` at once).
TEST_HOOK = "window.__GAME_TEST__ = { frames: [], href: window.location.href };"
#: Variables whose value is the same here as in docker-compose.yml (the rest name hosts,
#: ports and the secrets' files: *_FILE variables name files of the same name in another
#: folder). GAME_TOKEN_KEYS and GAME_SITE_SECRET are empty in both: the secrets are in files.
SAME_VALUES = {"GAME_SITE_URL", "GAME_CLIENT_URL", "GAME_SERVER_ID", "GAME_PUBLIC_URL",
               "GAME_SECURE_COOKIES", "GAME_TOKEN_KEYS", "GAME_SITE_SECRET"}

T = TypeVar("T")


def _missing(what: str, reason: str) -> None:
    """Fail in CI (or when GAME_REQUIRE_<WHAT>=1), else skip, saying why (as conftest.py)."""
    if os.environ.get("CI") == "true" or os.environ.get(f"GAME_REQUIRE_{what.upper()}") == "1":
        pytest.fail(f"{reason} (required: CI=true or GAME_REQUIRE_{what.upper()}=1)",
                    pytrace=False)
    pytest.skip(reason)


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
async def service(request, tmp_path: Path, migrated_template, redis_executable: str,
                  nginx_executable: str, token_keys: str):
    """The site and two game servers behind nginx, as in docker-compose.yml (not started
    yet: `await service.start()`), their secrets in files as compose's `secrets` service
    writes them. Afterwards no log may hold an ERROR line."""
    admin, template = migrated_template
    redis_server = RedisServer(redis_executable, tmp_path)
    await redis_server.start_and_wait()
    database = Database(admin, f"topology_{uuid.uuid4().hex[:16]}", template)
    made = Cluster(tmp_path, database, redis_server, token_keys, nginx_executable,
                   server_ids=SERVER_IDS, site=True)
    failed = True
    try:
        yield made
        failed = getattr(request.node, "topology_failed", False)
    finally:
        made.close()
        redis_server.stop()
        database.drop()
        if failed:
            print(f"\n===== logs of the processes (under {tmp_path}) =====\n{made.report()}")
    unexpected = made.unexpected_errors()
    if unexpected and not failed:
        print(made.report())
        pytest.fail("unexpected ERROR lines in the logs:\n" + "\n".join(unexpected[:20]),
                    pytrace=False)


class Chromium:
    """Chromium driven by Playwright's sync API on a thread of its own: the tests' event loop
    runs on this one, and the sync API refuses to run inside a running loop. Every call goes
    to that one thread (:meth:`run`), as Playwright's objects belong to the thread that made
    them."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")
        self._playwright: Any = None
        self.browser: Any = None
        self._thread.submit(self._launch).result()

    def _launch(self) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self.browser = self._playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(browser, *args)` on Playwright's thread."""
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, functools.partial(function, self.browser, *args))

    def _close(self) -> None:
        with contextlib.suppress(Exception):
            if self.browser is not None:
                self.browser.close()
        if self._playwright is not None:
            self._playwright.stop()

    def close(self) -> None:
        self._thread.submit(self._close).result(timeout=30)
        self._thread.shutdown()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    """Headless Debian Chromium, launched once for this module."""
    if not Path(CHROMIUM).exists():
        _missing("chromium", f"{CHROMIUM} is not installed (apt-get install chromium)")
    launched = Chromium()
    yield launched
    launched.close()


# --- the environment of docker-compose.yml --------------------------------------------------


def _compose_services() -> dict[str, Any]:
    # The safe loader resolves anchors and `<<` merge keys as compose does.
    return YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text())["services"]


def _names(env: dict[str, str]) -> set[str]:
    """The variables of the app: GAME_* and PGPASSWORD (the rest is this machine's)."""
    return {name for name in env if name.startswith("GAME_") or name == "PGPASSWORD"}


async def test_the_processes_get_the_commands_and_environment_of_docker_compose(service):
    services = _compose_services()
    program = game_server_command()
    site = services["site"]
    assert service.site.argv == [*program, *site["command"][1:]]
    assert _names(service.site.env) == set(site["environment"])
    for name in SAME_VALUES & set(site["environment"]):
        assert service.site.env[name] == site["environment"][name].replace(
            "${GAME_SECURE_COOKIES:-off}", "off"), name
    assert set(service.servers) == {name for name in services if name.startswith("game-")}
    for server_id, server in service.servers.items():
        compose = services[server_id]
        assert server.argv == [*program, *compose["command"][1:]]  # no --dev
        assert _names(server.env) - SERVER_TEST_ENV == set(compose["environment"])
        for name in SAME_VALUES & set(compose["environment"]):
            assert server.env[name] == compose["environment"][name], name
    # The secrets: the files compose's `secrets` service writes, here in the test's folder.
    for process, compose in [(service.site, site),
                             *((server, services[server_id])
                               for server_id, server in service.servers.items())]:
        files = {name: value for name, value in compose["environment"].items()
                 if name.endswith("_FILE")}
        assert files, process.name
        for name, value in files.items():
            here = Path(process.env[name])
            assert here.parent == service.secrets and here.name == Path(value).name, name
            assert here.read_text().strip(), name


# --- accounts over HTTP, through nginx --------------------------------------------------------


def _signed_in_as(page_text: str) -> str | None:
    found = re.search(r"Welcome, (\S+)", page_text)
    return found.group(1) if found else None


async def test_accounts_through_nginx_and_what_is_refused(service):
    await service.start()
    origin = service.origin
    ann, bob, stranger = Browser(origin), Browser(origin), Browser(origin)
    try:
        home = text(await ann.get("/"))
        assert _signed_in_as(home) is None and "Sign up" in home

        # Sign-up signs in: the session cookie as the issue asks (no Secure without TLS).
        response = await ann.submit("/signup", {"name": "Ann", "password": PASSWORD})
        assert response.code == 303 and response.headers["Location"] == "/"
        cookie = set_cookie(response, "session")
        assert cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Secure" not in cookie
        assert _signed_in_as(text(await ann.get("/"))) == "Ann"
        assert (await bob.submit("/signup", {"name": "Bob", "password": PASSWORD})).code == 303
        bob_token = await bob.request("POST", "/token", body="",
                                      headers={"X-XSRFToken": await bob.xsrf()})
        bob_id = json.loads(bob_token.body)["user"]["id"]

        # Sign out, then in again; a wrong password is refused, with a reason.
        assert (await ann.submit("/signout")).code == 303
        assert _signed_in_as(text(await ann.get("/"))) is None
        wrong = await ann.submit("/signin", {"name": "Ann", "password": "not " + PASSWORD})
        assert wrong.code == 400 and "Wrong name or password." in text(wrong)
        assert set_cookie(wrong, "session") is None and "session" not in ann.cookies
        assert _signed_in_as(text(await ann.get("/"))) is None
        right = await ann.submit("/signin", {"name": "ann", "password": PASSWORD})
        assert right.code == 303
        assert _signed_in_as(text(await ann.get("/"))) == "Ann"

        # Every POST needs the XSRF token: a form without the field, /token without the header.
        await stranger.get("/signin")  # has the _xsrf cookie, not the field
        refused = await stranger.submit("/signin", {"name": "Ann", "password": PASSWORD},
                                        xsrf=False)
        assert refused.code == 403 and "session" not in stranger.cookies
        assert "did not come from this site" in text(refused)
        assert (await ann.request("POST", "/token", body="")).code == 403
        signout = await ann.submit("/signout", xsrf=False)
        assert signout.code == 403
        assert _signed_in_as(text(await ann.get("/"))) == "Ann"

        # POST /token (as the web client asks, with the header): a token both servers take,
        # at the web client's own address and at each server's.
        token = await ann.request("POST", "/token", body="",
                                  headers={"X-XSRFToken": await ann.xsrf()})
        assert token.code == 200
        issued = json.loads(token.body)
        assert issued["user"]["name"] == "Ann"
        for prefix in ["/play/sockjs", *(f"/g/{server_id}/sockjs" for server_id in SERVER_IDS)]:
            client = await GameClient.connect(origin, prefix)
            try:
                welcome = await client.auth(issued["token"])
                assert welcome["user"] == {"id": issued["user"]["id"], "name": "Ann"}, welcome
            finally:
                await client.close()

        # A forged or altered session cookie signs nobody in.
        session = ann.cookies["session"]
        ann_id = issued["user"]["id"]
        forged_cookies = {
            "altered signature": session[:-1] + ("0" if session[-1] != "0" else "1"),
            # Tornado's signed value: ...|<length>:<base64 of the user id>|<signature>.
            "another user's id": session.replace(f"|{len(_b64(ann_id))}:{_b64(ann_id)}|",
                                                 f"|{len(_b64(bob_id))}:{_b64(bob_id)}|"),
            "signed with another secret": tornado.web.create_signed_value(
                "not the site's secret " * 3, "session", str(bob_id)).decode(),
        }
        assert forged_cookies["another user's id"] != session
        for what, forged in forged_cookies.items():
            stranger.cookies["session"] = forged
            assert _signed_in_as(text(await stranger.get("/"))) is None, what
            profile = await stranger.get("/profile")
            assert profile.code == 302 and profile.headers["Location"].startswith("/signin"), what
            response = await stranger.request("POST", "/token", body="",
                                              headers={"X-XSRFToken": await stranger.xsrf()})
            assert response.code == 401, (what, response.code)
    finally:
        for browser in (ann, bob, stranger):
            browser.close()


def _b64(user_id: int) -> str:
    return base64.b64encode(str(user_id).encode()).decode()


# --- the browser: Play, an invitation, a game --------------------------------------------------


def _open(browser: Any, errors: list[str]) -> Any:
    """A page in a new browser context: a person of their own (cookies, sessionStorage)."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    context.add_init_script(TEST_HOOK)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    return page


def _sign_in_and_play(page: Any, origin: str, name: str) -> None:
    """Sign in with the site's form, press Play, and wait for the web client's lobby."""
    from playwright.sync_api import expect

    page.goto(origin + "/")
    page.get_by_role("main").get_by_role("link", name="Sign in").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=f"Welcome, {name}")).to_be_visible()
    page.get_by_role("link", name="Play", exact=True).click()
    expect(page.get_by_test_id("lobby")).to_be_visible()
    expect(page.get_by_test_id("user-name")).to_have_text(name)
    expect_connected(page)
    # The site sent the browser to the web client with a token in the fragment, which the
    # client took out of the address bar.
    opened = page.evaluate("() => window.__GAME_TEST__.href")
    assert opened.startswith(origin + "/play/#token="), opened
    assert page.url == origin + "/play/"


def _welcomes(page: Any) -> list[dict[str, Any]]:
    return [message for message in frames(page) if message["msg"] == "welcome"]


def _invite_and_play(browser: Any, origin: str) -> dict[str, Any]:
    """Ann and Bob in Chromium: Play, a room, an invitation, Join, a game to the end."""
    from playwright.sync_api import expect

    errors: list[str] = []
    ann = _open(browser, errors)
    bob = _open(browser, errors)
    timings = {}
    started = time.monotonic()
    _sign_in_and_play(ann, origin, "Ann")
    _sign_in_and_play(bob, origin, "Bob")
    room = create_room(ann, "Ann's table", seats=2)
    bob_id = _welcomes(bob)[-1]["user"]["id"]
    timings["signed in, room created"] = time.monotonic() - started

    # Ann, still seated in her room, invites Bob from his profile page on the site.
    profile = ann.context.new_page()
    profile.goto(f"{origin}/users/{bob_id}")
    invite = profile.get_by_role("button", name="Invite to my table")
    deadline = time.monotonic() + 10
    while not invite.is_visible():  # the site reads Ann's seat from the move log
        assert time.monotonic() < deadline, f"no invitation form: {profile.content()[:2000]}"
        profile.wait_for_timeout(200)
        profile.reload()
    expect(profile.locator(".hint")).to_contain_text("Ann's table · Crazy Eights")
    invite.click()
    expect(profile.get_by_role("status")).to_contain_text("Invitation sent.")
    profile.close()
    ann.bring_to_front()

    notification = bob.get_by_test_id("notification")
    expect(notification).to_have_attribute("data-kind", "invite")
    expect(notification.get_by_test_id("notification-text")).to_have_text(
        "Ann invites you to Crazy Eights")
    expect(ann.get_by_test_id("notification")).to_have_count(0)
    notification.get_by_test_id("notification-join").click()
    table = bob.get_by_test_id("table")
    expect(table).to_have_attribute("data-room", room)
    expect(table).to_have_attribute("data-you", "1")
    # The last seat is taken: the game starts.
    for page in (ann, bob):
        expect(page.get_by_test_id("table")).to_have_attribute("data-status", "playing")
    timings["invited, joined"] = time.monotonic() - started

    stats = play_until_finished([ann, bob], timeout=150)
    for page in (ann, bob):
        expect(page.get_by_test_id("game-over")).to_be_visible()
    winner = int(ann.locator("[data-testid^='score-'].is-winner")
                 .get_attribute("data-testid").removeprefix("score-"))
    expect(ann.get_by_test_id("winner")).to_have_text("You win! ♛" if winner == 0 else "Bob wins")
    expect(bob.get_by_test_id("winner")).to_have_text("You win! ♛" if winner == 1 else "Ann wins")
    timings["game over"] = time.monotonic() - started

    # Ann's profile on the site lists the finished game, against Bob.
    profile = ann.context.new_page()
    deadline = time.monotonic() + 10
    while True:
        profile.goto(f"{origin}/profile")
        games = profile.locator("table.games tbody tr")
        if games.count():
            break
        assert time.monotonic() < deadline, "the finished game is not on Ann's profile"
        profile.wait_for_timeout(200)
    expect(games).to_have_count(1)
    expect(games.first).to_contain_text("Crazy Eights")
    expect(games.first).to_contain_text("Ann's table")
    expect(games.first).to_contain_text("Bob")
    expect(games.first).to_contain_text("Won" if winner == 0 else "Lost")

    result = {"room": room, "winner": winner, "stats": stats, "timings": timings,
              "seq": read_table(ann).seq,
              "welcomes": {"Ann": _welcomes(ann), "Bob": _welcomes(bob)},
              "redirects": {"Ann": [m for m in frames(ann) if m["msg"] == "redirect"],
                            "Bob": [m for m in frames(bob) if m["msg"] == "redirect"]}}
    ann.context.close()
    bob.context.close()
    assert not errors, f"uncaught errors in the pages: {errors}"
    return result


@pytest.mark.timeout(240)  # one game is usually ~50 clicks; a rare long deal takes minutes
async def test_play_invite_join_and_finish_a_game_in_the_browser(service, chromium):
    await service.start()
    for name in ("Ann", "Bob"):  # sign-up is the test above's; here they sign in in the page
        browser = Browser(service.origin)
        try:
            response = await browser.submit("/signup", {"name": name, "password": PASSWORD})
            assert response.code == 303, text(response)
        finally:
            browser.close()
    result = await chromium.run(_invite_and_play, service.origin)
    room = result["room"]
    host = service.database.host(room)[0]
    # Whichever server each lobby connection was on, both ended on the room's host; a
    # connection elsewhere got there through a redirect to /g/<host>/sockjs (through nginx).
    for name in ("Ann", "Bob"):
        welcomes = result["welcomes"][name]
        assert welcomes[-1]["server"] == host, (name, welcomes)
        if welcomes[0]["server"] != host:
            assert any(redirect.get("url") == f"/g/{host}/sockjs"
                       for redirect in result["redirects"][name]), result["redirects"][name]
    # The move log replays to the result both pages showed, Ann in seat 0, Bob in seat 1.
    records = service.database.check_move_log(room)
    assert len(records) == 1
    record = records[-1]
    assert [seat["user"]["name"] for seat in record["seats"]] == ["Ann", "Bob"]
    assert not any(seat["bot"] for seat in record["seats"])
    assert record["winner"] == result["winner"]
    print(f"room {room} on {host}; Bob's lobby on {result['welcomes']['Bob'][0]['server']}; "
          f"{result['stats']}; timings {result['timings']}")
