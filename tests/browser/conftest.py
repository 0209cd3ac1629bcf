"""Fixtures for the browser tests: a real game server and Debian's Chromium driven by Playwright.

- `live_server` (one per test module): `game-server migrate` and `game-server serve --dev` in a
  subprocess, in a temporary folder with its own SQLite database, on a free port, with bots that
  wait `BOT_DELAY` seconds so that a person watching could follow but the tests stay fast. Its
  output is kept; a traceback or an ERROR line in it fails the test during which it appeared.
- `shared_server` (one for the whole run): the same, for test modules that need no server of
  their own (each user they sign in has a name of their own); it saves a server start a module.
- `browser` (one per module): Chromium from `CHROMIUM_PATH` (default /usr/bin/chromium) with
  the flags this machine needs. Without it the tests are skipped with a reason that says so,
  except in CI (env `CI` set), where they fail.
- `open_page`: a new browser context (a separate user: own cookies and sessionStorage) with a
  test-only hook, `window.__GAME_TEST__`, through which the client records every frame it
  receives. Uncaught page errors fail the test.

The tests use Playwright's sync API in plain pytest functions.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
# Debian's Chromium; another build (a developer's own) through CHROMIUM_PATH.
CHROMIUM = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BOT_DELAY = "0.05"
SERVER_START_TIMEOUT = 30.0
# sockjs-client's own script and the client's files must come from the game server.
SOCKJS_CLIENT = ROOT / "web_client" / "node_modules" / "sockjs-client" / "dist" / "sockjs.min.js"

# Lines in the server's output that mean something went wrong on the server.
_SERVER_TROUBLE = re.compile(r"Traceback \(most recent call last\)|\bERROR\b|\bCRITICAL\b")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class GameServer:
    """A `game-server serve --dev` subprocess."""

    url: str
    port: int
    process: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _start_server(folder: Path, extra_env: dict[str, str] | None = None) -> GameServer:
    env = dict(os.environ)
    env.update({
        "GAME_DATABASE_URL": f"sqlite:///{folder / 'game.db'}",
        "GAME_BOT_DELAY": BOT_DELAY,
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("GAME_TOKEN_KEYS", None)  # --dev generates a key in the temporary folder
    # No local notification endpoint unless a test asks for one: servers run side by side.
    env.setdefault("GAME_ADMIN_PORT", "0")
    env.setdefault("GAME_METRICS", "off")  # nor a metrics listener (one port per machine)
    env.update(extra_env or {})
    command = [sys.executable, "-m", "game_server"]
    migrate = subprocess.run(command + ["migrate"], cwd=folder, env=env, capture_output=True,
                             text=True, timeout=60)
    if migrate.returncode != 0:
        raise RuntimeError(f"game-server migrate failed:\n{migrate.stdout}\n{migrate.stderr}")
    port = _free_port()
    log_path = folder / "server.log"
    log_file = log_path.open("w", encoding="utf-8")
    process = subprocess.Popen(command + ["serve", "--dev", "--port", str(port)], cwd=folder,
                               env=env, stdout=log_file, stderr=subprocess.STDOUT)
    log_file.close()
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"game-server exited with {process.returncode}:\n"
                               f"{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url + "config.json", timeout=2) as response:
                if response.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"game-server did not answer /config.json within "
                               f"{SERVER_START_TIMEOUT} s:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.1)
    return GameServer(url=url, port=port, process=process, log_path=log_path, env=env)


def _stop_server(server: GameServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GameServer]:
    """A real game server for the tests of one module."""
    if not SOCKJS_CLIENT.exists():
        pytest.fail(f"{SOCKJS_CLIENT} is missing: run `npm ci` in web_client/ (make test does)")
    server = _start_server(tmp_path_factory.mktemp("game-server"))
    yield server
    _stop_server(server)


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GameServer]:
    """A real game server shared by the test modules that ask for it (not `live_server`)."""
    if not SOCKJS_CLIENT.exists():
        pytest.fail(f"{SOCKJS_CLIENT} is missing: run `npm ci` in web_client/ (make test does)")
    # Its bots move at once: no test of it watches them, and a game against them ends sooner.
    server = _start_server(tmp_path_factory.mktemp("shared-game-server"),
                           {"GAME_BOT_DELAY": "0.01"})
    yield server
    _stop_server(server)


@pytest.fixture(autouse=True)
def _server_log_is_clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test during which the server logged an error or a traceback."""
    name = next((name for name in ("live_server", "shared_server")
                 if name in request.fixturenames), None)
    if name is None:
        yield
        return
    server: GameServer = request.getfixturevalue(name)
    start = len(server.log_text())
    yield
    new = server.log_text()[start:]
    trouble = [line for line in new.splitlines() if _SERVER_TROUBLE.search(line)]
    if trouble:
        pytest.fail("the server logged errors during this test:\n" + new[-4000:], pytrace=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium (Playwright's own browser download does not work here)."""
    if not Path(CHROMIUM).exists():
        reason = (f"no Chromium at {CHROMIUM}: install it (apt-get install chromium; .ci/run "
                  f"does) or set CHROMIUM_PATH to a Chromium or Chrome binary")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


# Installed before any script of the page runs: the client then records every received frame.
TEST_HOOK = "window.__GAME_TEST__ = { frames: [] };"



@pytest.fixture
def open_page(browser, live_server: GameServer) -> Iterator[Callable[..., object]]:
    """open_page(path="", viewport=DESKTOP) -> a Page in a new context (a separate user)."""
    contexts = []
    errors: list[str] = []

    def _open(path: str = "", viewport: dict | None = None, **context_options):
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800}, **context_options)
        context.set_default_timeout(10_000)
        context.add_init_script(TEST_HOOK)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        page.goto(live_server.url + path)
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/ at the top of the project (git-ignored): screenshots."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

