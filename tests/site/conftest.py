"""Fixtures for the main site: the real application on an unused port, on a SQLite file
migrated once per run and copied for each test, with a fast password hash, a settable clock
for the sign-in limits and a publisher that records what it is asked to send."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import tornado.httpserver
import tornado.testing

from game_server import tokens
from game_server.config import Config
from game_server.site import Site, make_app, make_site
from game_server.site.limiter import SignInLimits
from game_server.site.passwords import PasswordHasher, ScryptParameters
from game_server.storage.migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parent))

from site_helpers import CLIENT_URL, Browser, Clock  # noqa: E402

#: Cheap scrypt parameters: the tests check behaviour, not cost.
FAST = ScryptParameters(n=16, r=1, p=1)
SECRET = "test-cookie-secret-" + "x" * 32


class FakePublisher:
    """Records `publish` calls; set `failure` to make them raise it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any, int | None]] = []
        self.failure: Exception | None = None

    async def publish(self, kind: str, data: Any, *, user_id: int | None = None) -> None:
        if self.failure is not None:
            raise self.failure
        self.sent.append((kind, data, user_id))


@dataclass
class RunningSite:
    site: Site
    port: int
    database_url: str
    clock: Clock
    publisher: FakePublisher
    keyring: tokens.Keyring
    browsers: list[Browser] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def browser(self) -> Browser:
        """A new browser with its own cookies."""
        browser = Browser(self.url)
        self.browsers.append(browser)
        return browser

    async def signed_up(self, name: str, password: str = "correct horse") -> Browser:
        """A browser signed in as a new user `name`."""
        browser = self.browser()
        response = await browser.submit("/signup", {"name": name, "password": password})
        assert response.code == 303, response.body
        return browser


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("site-template") / "site.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
async def site_factory(tmp_path, migrated_template):
    """Start sites: `await site_factory(secure_cookies=True)` (Config settings, and
    `hasher`, `publisher`, `signups` for the Site); stopped after the test."""
    running: list[tuple[RunningSite, tornado.httpserver.HTTPServer]] = []

    async def start(*, hasher: PasswordHasher | None = None, publisher: Any = "fake",
                    signups: Any = None, **config: Any) -> RunningSite:
        path = tmp_path / f"site-{len(running)}.db"
        shutil.copy(migrated_template, path)
        database_url = f"sqlite:///{path}"
        clock = Clock()
        fake = FakePublisher()
        keyring = tokens.parse_keys(tokens.generate_keyring_entry(1))
        site = make_site(
            Config(database_url=database_url, client_url=CLIENT_URL, **config),
            publisher=fake if publisher == "fake" else publisher, keyring=keyring,
            cookie_secret=SECRET, hasher=hasher or PasswordHasher(FAST),
            limits=SignInLimits(clock=clock), signups=signups)
        sock, port = tornado.testing.bind_unused_port()
        http = tornado.httpserver.HTTPServer(make_app(site), xheaders=True)
        http.add_sockets([sock])
        result = RunningSite(site, port, database_url, clock, fake, keyring)
        running.append((result, http))
        return result

    yield start
    for result, http in running:
        for browser in result.browsers:
            browser.close()
        http.stop()
        await http.close_all_connections()
        result.site.close()


@pytest.fixture
async def running_site(site_factory) -> RunningSite:
    return await site_factory()
