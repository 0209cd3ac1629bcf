"""Two game servers on one database and one Redis, and the browser client moving between them.

Each test starts its own servers "a" and "b": `game-server serve --dev` subprocesses on free
ports that share a fresh database (a PostgreSQL schema of their own when PostgreSQL answers,
else one SQLite file), one token key ring, and the machine's Redis under a key prefix of their
own (GAME_REDIS_PREFIX), so they act as one service; each says it is reached at
http://127.0.0.1:<its port>/sockjs (GAME_PUBLIC_URL), as a redirect tells the page. The page
is always loaded from server a, so a connection to b is a cross-origin SockJS connection.

Scripted players (`game_server.client.GameClient`, in a thread with its own event loop) create
rooms and play their moves; the person is a browser page.

- A room created on b is listed by a's page; joining it follows the redirect to b, and the game
  is played there; a dropped connection comes back to b; when b drains, the page follows the
  unasked redirect back to a and the game goes on.
- A room created from a's page while a is busier than b is placed on b, over transports other
  than the WebSocket (CORS requests, an iframe, script tags).
- When b dies, the page's reconnections at b fail, it goes back to a, and a takes the room over.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Page, expect

from browser_helpers import frames, play_moves, read_table, sign_in, wait_until

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
START_TIMEOUT = 30.0
# A short heartbeat TTL: a dead server's rooms are taken over 2 s after its last beat.
HEARTBEAT_TTL = "2"
TEST_HOOK = "window.__GAME_TEST__ = { frames: [] };"
_TROUBLE = re.compile(r"Traceback \(most recent call last\)|\bERROR\b|\bCRITICAL\b")


def _free_port() -> int:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_or_skip() -> None:
    import redis
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError as error:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is unreachable: {error}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable ({error}); these tests need it")


@dataclass
class Server:
    """One `game-server serve --dev` subprocess of the pair."""

    id: str
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def public_url(self) -> str:
        return f"{self.url}/sockjs"

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


@dataclass
class Service:
    """Game servers sharing a database, a token key ring and a Redis prefix."""

    folder: Path
    env: dict[str, str]
    run: str
    servers: dict[str, Server] = field(default_factory=dict)

    def start(self, name: str) -> Server:
        server_id = f"{name}-{self.run}"
        port = _free_port()
        env = {**self.env, "GAME_SERVER_ID": server_id,
               "GAME_PUBLIC_URL": f"http://127.0.0.1:{port}/sockjs",
               # Each server is an origin of its own here (no nginx in front).
               "GAME_SERVER_ORIGINS": "http://127.0.0.1:*"}
        log_path = self.folder / f"{name}.log"
        with log_path.open("w", encoding="utf-8") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "game_server", "serve", "--dev", "--port", str(port)],
                cwd=self.folder, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        server = Server(server_id, port, process, log_path)
        self.servers[name] = server
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server {name} exited with {process.returncode}:\n"
                                   f"{server.log_text()}")
            try:
                with urllib.request.urlopen(server.url + "/config.json", timeout=2) as response:
                    if response.status == 200:
                        return server
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"server {name} did not start:\n{server.log_text()}")
            time.sleep(0.1)

    def trouble(self) -> str:
        """Error lines of every server's log, with the server's name."""
        lines = [f"[{name}] {line}" for name, server in self.servers.items()
                 for line in server.log_text().splitlines() if _TROUBLE.search(line)]
        return "\n".join(lines)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    _redis_or_skip()
    from sqlalchemy import text

    from game_server import tokens
    from game_server.storage import make_engine

    run = uuid.uuid4().hex[:8]
    admin, schema = None, None
    try:
        admin = make_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "browser_{run}"'))
        schema = f"browser_{run}"
        database_url = admin.url.update_query_dict(
            {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    except Exception:  # no PostgreSQL here: both servers share one SQLite file
        database_url = f"sqlite:///{tmp_path / 'game.db'}"
    prefix = f"test-browser:{run}:"
    env = dict(os.environ)
    env.update({
        "GAME_DATABASE_URL": database_url,
        "GAME_TOKEN_KEYS": tokens.generate_keyring_entry(1),
        "GAME_REDIS_URL": REDIS_URL,
        "GAME_REDIS_PREFIX": prefix,
        "GAME_HEARTBEAT_TTL": HEARTBEAT_TTL,
        "GAME_DRAIN_SECONDS": "10",
        "GAME_BOT_DELAY": "0.05",
        "PYTHONUNBUFFERED": "1",
    })
    migrate = subprocess.run([sys.executable, "-m", "game_server", "migrate"], cwd=tmp_path,
                             env=env, capture_output=True, text=True, timeout=60)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    service = Service(tmp_path, env, run)
    try:
        yield service
    finally:
        for server in service.servers.values():
            server.stop(signal.SIGKILL, timeout=10)
        import redis
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        if schema is not None:
            with admin.begin() as connection:
                connection.execute(text("SET LOCAL lock_timeout = '10s'"))
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        if admin is not None:
            admin.dispose()


@pytest.fixture
def open_page(browser) -> Iterator:
    """open_page(url) -> a Page in a new browser context (a separate user), with the test hook."""
    contexts = []
    errors: list[str] = []

    def _open(url: str) -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(15_000)
        context.add_init_script(TEST_HOOK)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        page.sockjs = []  # the URLs of the SockJS requests and WebSockets the page opened
        page.on("request", lambda request: page.sockjs.append(request.url)
                if "/sockjs/" in request.url else None)
        page.on("websocket", lambda ws: page.sockjs.append(ws.url))
        page.goto(url)
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


class Player(threading.Thread):
    """A scripted player (GameClient) in a thread of its own: signs in on `server`, creates a
    room of `seats` Crazy Eights seats there (following a redirect if the service places it
    elsewhere), and, if `plays`, makes a move whenever it may, following the room when it moves
    to another server. `stop()` ends it."""

    def __init__(self, server: Server, name: str, seats: int = 2, plays: bool = True) -> None:
        super().__init__(daemon=True, name=f"player {name}")
        self.server, self.name, self.seats, self.plays = server, name, seats, plays
        self.room: str | None = None
        self.hosted_at: str | None = None  # the base URL of the server that hosts the room
        self.moves = 0
        self.redirects: list[dict] = []
        self.error: BaseException | None = None
        self.ready = threading.Event()
        self._stopping = threading.Event()

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported by the test
            self.error = error
        finally:
            self.ready.set()

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=15)

    def wait_ready(self) -> str:
        assert self.ready.wait(20), f"{self.name} did not create a room"
        assert self.error is None, f"{self.name} failed: {self.error!r}"
        return self.room

    async def _main(self) -> None:
        from game_server.client import ConnectionClosed, GameClient, ServerError, choose, dev_login

        token, _ = await dev_login(self.server.url, self.name)
        client = await GameClient.connect(self.server.url)
        try:
            await client.auth(token)
            create = {"msg": "create", "game": "crazy_eights", "name": f"{self.name}'s table",
                      "seats": self.seats}
            client, state = await client.follow(await client.request(create), create)
            self.room, self.hosted_at = state["room"], client.base_url
            self.ready.set()
            while not self._stopping.is_set():
                try:
                    message = await client.next_message(timeout=0.2)
                except asyncio.TimeoutError:
                    continue
                except ConnectionClosed:
                    return  # its server died: this player is gone too
                if message.get("msg") == "redirect" and message.get("re") is None:
                    self.redirects.append(message)
                    join = {"msg": "join", "room": self.room}
                    client, state = await client.follow(message, join)
                    self.hosted_at = client.base_url
                    message = state
                if message.get("msg") != "state" or not self.plays:
                    continue
                # Act on the newest state only.
                for newer in client.drain():
                    if newer.get("msg") == "state":
                        message = newer
                move = choose(message["table"])
                if move is not None:
                    try:
                        await client.request(move)
                        self.moves += 1
                    except ServerError:
                        pass  # a state was already old: the next one tells
                    except ConnectionClosed:
                        return
        finally:
            await client.close()


def connection_url(page: Page) -> str:
    return page.evaluate("() => window.__GAME_TEST__.connection.url")


def welcomes(page: Page) -> list[str]:
    """The server ids of every `welcome` the page received, in order."""
    return [frame["server"] for frame in frames(page) if frame.get("msg") == "welcome"]


def expect_table(page: Page, room: str) -> None:
    table = page.get_by_test_id("table")
    expect(table).to_be_visible()
    expect(table).to_have_attribute("data-room", room)
    status = page.get_by_test_id("conn-status")
    expect(status).to_have_attribute("data-state", "connected")
    expect(status).not_to_have_attribute("data-moving", "true")


def wait_for_listing(page: Page, rooms: list[str], timeout: float = 10.0) -> None:
    """Refresh the lobby until every room of `rooms` is listed."""
    deadline = time.monotonic() + timeout
    while not all(page.get_by_test_id(f"room-{room}").is_visible() for room in rooms):
        assert time.monotonic() < deadline, f"rooms {rooms} never all showed in the lobby"
        page.get_by_test_id("refresh-rooms").click()
        page.wait_for_timeout(250)


@pytest.mark.timeout(180)
def test_a_room_on_another_server_is_joined_played_and_followed_when_it_moves(service, open_page):
    a = service.start("a")
    # Cara's room is on a (the only server yet): a is then busier than b, so the room Bob
    # creates on b stays on b.
    cara = Player(a, "Cara", plays=False)
    cara.start()
    cara_room = cara.wait_ready()
    assert cara.hosted_at == a.url
    b = service.start("b")
    time.sleep(1.2)  # a's next heartbeat: its room (and load) is in the directory
    bob = Player(b, "Bob")
    bob.start()
    try:
        room = bob.wait_ready()
        assert bob.hosted_at == b.url, "the service placed Bob's room on a, not on b"

        ann = open_page(a.url + "/")
        sign_in(ann, "Ann")
        assert connection_url(ann) == "sockjs"
        # a's page lists the rooms of both servers.
        wait_for_listing(ann, [cara_room, room])

        # Join Bob's room: a answers with a redirect to b, the page moves there and joins.
        ann.get_by_test_id(f"room-{room}").get_by_test_id("join").click()
        expect_table(ann, room)
        assert connection_url(ann) == b.public_url
        assert welcomes(ann) == [a.id, b.id]
        redirects = [f for f in frames(ann) if f.get("msg") == "redirect"]
        assert [(r["room"], r["server"], r["url"], r["re"] is not None) for r in redirects] == [
            (room, b.id, b.public_url, True)]
        assert any(url.startswith(f"ws://127.0.0.1:{b.port}/sockjs/") for url in ann.sockjs), \
            ann.sockjs
        # The game (two seats) starts by itself; Ann plays by clicking.
        expect(ann.get_by_test_id("table")).to_have_attribute("data-status", "playing")
        assert read_table(ann).you == 1
        play_moves(ann, 3)

        # A dropped connection comes back to b, not to a.
        sockets_before = len([u for u in ann.sockjs if u.startswith("ws://")])
        seq = read_table(ann).seq
        ann.evaluate("() => window.__GAME_TEST__.connection.drop()")
        expect(ann.get_by_test_id("conn-status")).not_to_have_attribute("data-state", "connected")
        expect_table(ann, room)
        new_sockets = [u for u in ann.sockjs if u.startswith("ws://")][sockets_before:]
        assert new_sockets and all(f":{b.port}/" in url for url in new_sockets), new_sockets
        assert welcomes(ann)[-1] == b.id
        assert connection_url(ann) == b.public_url
        wait_until(ann, lambda view: view.seq >= seq, what="the rejoined state")
        play_moves(ann, 1)

        # b drains (SIGTERM): the room moves to a, and the page follows the unasked redirect.
        seq = read_table(ann).seq
        assert b.stop(signal.SIGTERM) == 0, b.log_text()[-3000:]
        expect_table(ann, room)
        assert connection_url(ann) == a.public_url
        assert welcomes(ann)[-1] == a.id
        # Bob's client follows the same redirect in its own thread, at its own pace.
        deadline = time.monotonic() + 15
        while bob.hosted_at != a.url and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bob.redirects and bob.hosted_at == a.url, bob.redirects
        view = wait_until(ann, lambda view: view.seq >= seq, what="the state on a")
        assert view.you == 1
        moved = [f for f in frames(ann) if f.get("msg") == "state"][-1]
        assert moved["room"] == room
        play_moves(ann, 2)
        assert bob.moves >= 1
        toasts = ann.get_by_test_id("toast").all_inner_texts()
        assert not toasts, toasts
    finally:
        bob.stop()
        cara.stop()
    assert bob.error is None, repr(bob.error)
    trouble = service.trouble()
    assert not trouble, trouble


# Cross-origin SockJS from a's page to b without a WebSocket: CORS requests (xhr-polling), an
# iframe from b's origin talking to the page by postMessage (iframe-eventsource), and script
# tags (jsonp-polling). Every other transport was also seen to work once (xhr-streaming,
# eventsource, iframe-htmlfile, iframe-xhr-polling); these three are kept as representatives.
@pytest.mark.timeout(120)
@pytest.mark.parametrize("transport", ["xhr-polling", "iframe-eventsource", "jsonp-polling"])
def test_a_room_created_while_this_server_is_busier_is_placed_on_the_other(
        service, open_page, transport):
    a = service.start("a")
    b = service.start("b")
    time.sleep(1.2)  # both servers' heartbeats are in the directory
    ann = open_page(a.url + f"/?transports={transport}")
    sign_in(ann, "Ann")
    # a's next heartbeat says it has a connection and b has none: b is less loaded. (The
    # server picks the target from the directory, where its own load is up to a beat old.)
    time.sleep(1.2)
    ann.get_by_test_id("create-name").fill("Ann's table")
    ann.get_by_test_id("create-seats").select_option("3")
    ann.get_by_test_id("create-submit").click()
    table = ann.get_by_test_id("table")
    expect(table).to_be_visible()
    expect(ann.get_by_test_id("room-title")).to_have_text("Ann's table")
    expect_table(ann, table.get_attribute("data-room"))
    expect(ann.get_by_test_id("conn-status")).to_have_attribute("data-transport", transport)
    assert connection_url(ann) == b.public_url
    assert welcomes(ann) == [a.id, b.id]
    session = re.compile(rf"http://127\.0\.0\.1:{b.port}/sockjs/\d+/\w+/")
    assert any(session.match(url) for url in ann.sockjs), ann.sockjs
    # The table works there: two bots fill the room and the game starts.
    for _ in range(2):
        seq = read_table(ann).seq
        ann.get_by_test_id("add-bot").click()
        wait_until(ann, lambda view: view.seq > seq, what="a bot")
    expect(table).to_have_attribute("data-status", "playing")
    play_moves(ann, 2)
    trouble = service.trouble()
    assert not trouble, trouble


@pytest.mark.timeout(120)
def test_when_the_rooms_server_dies_the_page_goes_home_and_the_room_is_taken_over(
        service, open_page):
    a = service.start("a")
    cara = Player(a, "Cara", plays=False)
    cara.start()
    cara.wait_ready()
    b = service.start("b")
    time.sleep(1.2)
    bob = Player(b, "Bob")
    bob.start()
    try:
        room = bob.wait_ready()
        assert bob.hosted_at == b.url
        ann = open_page(a.url + "/")
        sign_in(ann, "Ann")
        wait_for_listing(ann, [room])
        ann.get_by_test_id(f"room-{room}").get_by_test_id("join").click()
        expect_table(ann, room)
        assert connection_url(ann) == b.public_url
        play_moves(ann, 2)
        seq = read_table(ann).seq

        b.stop(signal.SIGKILL)
        # Reconnections at b fail; the page goes back to a, which takes the room over once
        # b's heartbeat has expired (or redirects to b until then, which the page follows).
        expect(ann.get_by_test_id("conn-status")).not_to_have_attribute("data-state", "connected")
        page_deadline = 30_000
        expect(ann.get_by_test_id("conn-status")).to_have_attribute(
            "data-state", "connected", timeout=page_deadline)
        expect(ann.get_by_test_id("conn-status")).not_to_have_attribute(
            "data-moving", "true", timeout=page_deadline)
        expect_table(ann, room)
        assert connection_url(ann) == "sockjs"
        assert welcomes(ann)[-1] == a.id
        view = wait_until(ann, lambda view: view.seq >= seq, what="the room on a")
        assert view.you == 1
        toasts = ann.get_by_test_id("toast").all_inner_texts()
        assert not toasts, toasts
    finally:
        bob.stop()
        cara.stop()
    assert "took over room" in a.log_text()
    trouble = service.trouble()
    assert not trouble, trouble
