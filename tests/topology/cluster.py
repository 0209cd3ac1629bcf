"""Processes for the topology tests: game servers, nginx and Redis, each a real process.

A :class:`Cluster` is three (or more) `game-server serve` processes on one PostgreSQL
database and one test-owned `redis-server`, behind nginx configured from
deploy/nginx.conf.template. Every process writes its output to a log file under the test's
tmp_path; :meth:`Cluster.report` gives the tail of each, for a failed test.

With `site=True`, a cluster is the whole service as docker-compose.yml runs it: the main
site (`game-server site`, :class:`MainSite`) at / in nginx and the web client at /play/, game
servers without --dev (players sign in on the site), and each process with the environment
variables compose gives its service (:data:`SERVER_TEST_ENV` names the few more the tests
set). The secrets are files, as compose's `secrets` service writes them: `game-server secrets
init` into the test's folder, read through the same *_FILE variables.

Signals go to the one process id each helper started, never to a name or a group.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import redis
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url

from game_server.history import reveal
from game_server.storage import make_engine
from game_server.storage.history import GameHistory
from game_server.storage.models import Game, Move, Room
from game_server.storage.movelog import MoveLog
from game_server.tables import Table

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NGINX = "/usr/sbin/nginx"

#: Seconds after its last heartbeat a server counts as dead (GAME_HEARTBEAT_TTL).
TTL = 2.0
#: Seconds a bot waits before it moves (GAME_BOT_DELAY).
BOT_DELAY = 0.05
#: The settings a game server gets here beyond those of its service in docker-compose.yml
#: (the site gets none): test timings, no metrics, and no admin endpoint (compose gives each
#: server a host of its own, so the default admin port is free there; here they share one).
SERVER_TEST_ENV = {"GAME_HEARTBEAT_TTL", "GAME_BOT_DELAY", "GAME_DRAIN_SECONDS", "GAME_METRICS",
                   "GAME_ADMIN_PORT", "GAME_CONNECTIONS_PER_ADDRESS"}


def free_port() -> int:
    """A TCP port nobody listens on now (the kernel's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def render_nginx() -> ModuleType:
    """deploy/render_nginx.py as a module (deploy/ is not a package)."""
    spec = importlib.util.spec_from_file_location("render_nginx", DEPLOY / "render_nginx.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def game_server_command() -> list[str]:
    """The `game-server` entry point of this virtualenv."""
    script = Path(sys.executable).with_name("game-server")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "game_server.cli"]


async def until(predicate, timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll `predicate()` (a plain or async callable) until it returns something truthy;
    return that. Raises AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}")
        await asyncio.sleep(interval)


class LoggedProcess:
    """One child process whose stdout and stderr go to `log_path`."""

    def __init__(self, name: str, argv: list[str], log_path: Path,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.stopped = False  # SIGSTOP sent and no SIGCONT since

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, f"{self.name} runs"
        with open(self.log_path, "ab") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} start: {' '.join(self.argv)}\n"
                      .encode())
            log.flush()
            # A session of its own: a Ctrl-C in the terminal reaches pytest, not the servers.
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=self.env,
                                            cwd=self.cwd, start_new_session=True)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def send(self, sig: signal.Signals) -> None:
        assert self.running, f"{self.name} is not running"
        self.process.send_signal(sig)
        if sig == signal.SIGSTOP:
            self.stopped = True
        elif sig == signal.SIGCONT:
            self.stopped = False

    def kill(self) -> None:
        """SIGKILL, and reap it."""
        if self.running:
            self.process.kill()
        if self.process is not None:
            self.process.wait()

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (SIGKILL after `timeout`), and reap it."""
        if self.running:
            if self.stopped:
                self.process.send_signal(signal.SIGCONT)
                self.stopped = False
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    async def exited(self, timeout: float) -> int:
        """Wait until it exits by itself; its exit code."""
        await until(lambda: not self.running, timeout, f"{self.name} to exit")
        return self.process.returncode

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def error_lines(self) -> list[str]:
        """Lines logged at ERROR (or CRITICAL) level, and the first line of each traceback."""
        found = []
        for line in self.log_text().splitlines():
            if re.search(r" (ERROR|CRITICAL) ", line) or line.startswith("Traceback"):
                found.append(line)
        return found


def _listens(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class RedisServer(LoggedProcess):
    """A redis-server of the test's own on a free port, without persistence, so that the
    test may stop it and start it again (on the same port) without touching the machine's."""

    def __init__(self, executable: str, directory: Path) -> None:
        self.port = free_port()
        super().__init__("redis", [executable, "--port", str(self.port), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", str(directory)],
                         directory / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start_and_wait(self, timeout: float = 10.0) -> None:
        self.start()
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2, socket_timeout=0.2)

        def answers() -> bool:
            assert self.running, f"redis-server exited:\n{self.tail()}"
            try:
                return bool(client.ping())
            except redis.exceptions.ConnectionError:
                return False

        try:
            await until(answers, timeout, "redis-server to answer PING", 0.02)
        finally:
            client.close()


class GameServer(LoggedProcess):
    """`game-server serve --dev` (or, with `dev=False`, `game-server serve` as compose runs
    it) with GAME_SERVER_ID `id` on a free port (GAME_PORT)."""

    def __init__(self, server_id: str, env: dict[str, str], directory: Path,
                 dev: bool = True) -> None:
        self.id = server_id
        self.port = free_port()
        self.public_url = f"/g/{server_id}/sockjs"
        env = {**env, "GAME_SERVER_ID": server_id, "GAME_PUBLIC_URL": self.public_url,
               "GAME_PORT": str(self.port)}
        workdir = directory / server_id
        workdir.mkdir(exist_ok=True)
        super().__init__(server_id, [*game_server_command(), "serve", *(["--dev"] if dev else [])],
                         directory / f"{server_id}.log", env=env, cwd=workdir)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def listening(self) -> bool:
        assert self.running, f"{self.id} exited:\n{self.tail()}"
        return _listens(self.port)


class MainSite(LoggedProcess):
    """The main site, `game-server site` (not --dev), on a free port (GAME_SITE_PORT)."""

    def __init__(self, env: dict[str, str], directory: Path) -> None:
        self.port = free_port()
        workdir = directory / "site"
        workdir.mkdir(exist_ok=True)
        super().__init__("site", [*game_server_command(), "site"], directory / "site.log",
                         env={**env, "GAME_SITE_PORT": str(self.port)}, cwd=workdir)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def listening(self) -> bool:
        assert self.running, f"the site exited:\n{self.tail()}"
        return _listens(self.port)


class Nginx(LoggedProcess):
    """nginx in the foreground with deploy/nginx.conf.template rendered for `servers` (and
    the main site at `site`, "host:port", if given)."""

    def __init__(self, executable: str, directory: Path, servers: Iterable[GameServer],
                 site: str | None = None) -> None:
        self.port = free_port()
        self.prefix = directory / "nginx"
        self.prefix.mkdir(exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(render_nginx().render_file(
            f"127.0.0.1:{self.port}", [(server.id, server.address) for server in servers],
            site=site))
        self.conf = conf
        super().__init__("nginx", [executable, "-p", str(self.prefix), "-c", str(conf),
                                   "-e", str(self.prefix / "error.log"), "-g", "daemon off;"],
                         self.prefix / "nginx.out")

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def listening(self) -> bool:
        assert self.running, f"nginx exited:\n{self.tail()}\n{self.error_log()}"
        return _listens(self.port)

    def error_log(self, lines: int = 40) -> str:
        path = self.prefix / "error.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class Database:
    """A PostgreSQL database of the test's own, made from a migrated template."""

    def __init__(self, admin: Engine, name: str, template: str) -> None:
        self.admin = admin
        self.name = name
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        self.url = admin.url.set(database=name).render_as_string(hide_password=False)
        self.engine = make_engine(self.url)

    def drop(self) -> None:
        self.engine.dispose()
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))

    # --- what the tests read ------------------------------------------------------------

    def host(self, room_id: str) -> tuple[str, int, str]:
        """(server_id, epoch, status) of a room."""
        with self.engine.connect() as connection:
            row = connection.execute(select(Room.server_id, Room.epoch, Room.status)
                                     .where(Room.id == room_id)).one()
        return row.server_id, row.epoch, row.status

    def hosts(self) -> dict[str, tuple[str, int, str]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(Room.id, Room.server_id, Room.epoch, Room.status))
            return {row.id: (row.server_id, row.epoch, row.status) for row in rows}

    def seqs(self, room_id: str) -> list[int]:
        """The move log's seqs of a room, in the order of the rows' insertion time."""
        with self.engine.connect() as connection:
            return list(connection.execute(
                select(Move.seq).where(Move.room_id == room_id)
                .order_by(Move.created_at, Move.seq)).scalars())

    def game_ids(self, room_id: str) -> list[int]:
        with self.engine.connect() as connection:
            return list(connection.execute(
                select(Game.id).where(Game.room_id == room_id).order_by(Game.number)).scalars())

    def check_move_log(self, room_id: str) -> list[dict[str, Any]]:
        """Check the move log of a room and return the revealed records of its finished games.

        - Rows were written in seq order, each seq once (a server that kept writing after a
          takeover would show up as a repeat or as a row written out of order).
        - The room's actions replay, each to the seq it records (`Table.replay` raises
          otherwise), so no action is missing or doubled. One action may make several
          changes (a join that fills the last seat also deals), so seqs may skip numbers.
        - Every finished game replays to its recorded result
          (`reveal(GameHistory.game_record(id))`).
        """
        seqs = self.seqs(room_id)
        assert seqs, f"no moves logged for room {room_id}"
        assert seqs == sorted(set(seqs)), f"room {room_id}: seqs out of order or repeated: {seqs}"
        server_id, _, _ = self.host(room_id)
        log = MoveLog(self.engine, server_id)
        try:
            loaded = log.load_room(room_id)
        finally:
            log.close()
        assert loaded is not None, f"room {room_id} is not open on {server_id}"
        info, actions = loaded
        assert [action.seq for action in actions] == seqs
        Table.replay(info.id, info.name, info.game, info.seats, actions)
        records = []
        history = GameHistory(self.engine)
        for game_id in self.game_ids(room_id):
            record = history.game_record(game_id)
            if record["status"] == "finished":
                records.append(reveal(record))
        return records


class Cluster:
    """Game servers sharing `database` and `redis_server`, behind nginx.

    With `site`, also the main site, and every process as docker-compose.yml starts it: the
    site (GAME_CLIENT_URL=/play/, GAME_SECURE_COOKIES=off: no TLS here) at / in nginx, and game
    servers without --dev, with GAME_SITE_URL=/. Their secrets are in :attr:`secrets` (a
    folder), made by `game-server secrets init` as compose's `secrets` service makes them: the
    site's cookie secret generated there, `token_keys` and the database's password (if it has
    one) given in the environment as an operator's .env would.
    """

    def __init__(self, directory: Path, database: Database, redis_server: RedisServer,
                 token_keys: str, nginx_executable: str,
                 server_ids: Iterable[str] = ("game-1", "game-2", "game-3"),
                 ttl: float = TTL, bot_delay: float = BOT_DELAY,
                 site: bool = False) -> None:
        self.directory = directory
        self.database = database
        self.redis = redis_server
        self.ttl = ttl
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("GAME_")}
        env.update({
            "GAME_DATABASE_URL": database.url,
            "GAME_TOKEN_KEYS": token_keys,
            "GAME_REDIS_URL": redis_server.url,
            "GAME_HEARTBEAT_TTL": str(ttl),
            "GAME_BOT_DELAY": str(bot_delay),
            "GAME_DRAIN_SECONDS": "15",
            "GAME_METRICS": "off",
            # Notifications go through Redis here; no local endpoint (one port per server).
            "GAME_ADMIN_PORT": "0",
            # Behind nginx (as in compose); every test player comes from 127.0.0.1.
            "GAME_TRUST_PROXY": "on",
            "GAME_CONNECTIONS_PER_ADDRESS": "0",
            "PYTHONUNBUFFERED": "1",
        })
        self.site: MainSite | None = None
        self.secrets: Path | None = None
        if site:
            self.secrets = directory / "secrets"
            password = database.admin.url.password or os.environ.get("PGPASSWORD", "")
            env.pop("PGPASSWORD", None)  # compose gives the app the password in a file only
            self._init_secrets(env, token_keys, password)
            # The URL without its password, which comes from the file (as in compose).
            url = make_url(database.url).set(password=None).render_as_string(
                hide_password=False)
            env.update({
                "GAME_DATABASE_URL": url,
                "GAME_DATABASE_PASSWORD_FILE": str(self.secrets / "database-password"),
                "GAME_TOKEN_KEYS": "",
                "GAME_TOKEN_KEYS_FILE": str(self.secrets / "token-keys"),
            })
            base = {key: value for key, value in env.items()
                    if not key.startswith("GAME_") or key in (
                        "GAME_DATABASE_URL", "GAME_DATABASE_PASSWORD_FILE", "GAME_TOKEN_KEYS",
                        "GAME_TOKEN_KEYS_FILE", "GAME_REDIS_URL", "GAME_TRUST_PROXY")}
            self.site = MainSite({**base, "GAME_SITE_SECRET": "",
                                  "GAME_SITE_SECRET_FILE": str(self.secrets / "site-secret"),
                                  "GAME_CLIENT_URL": "/play/", "GAME_SECURE_COOKIES": "off"},
                                 directory)
            env["GAME_SITE_URL"] = "/"
        self.env = env
        self.servers = {server_id: GameServer(server_id, env, directory, dev=not site)
                        for server_id in server_ids}
        self.nginx = Nginx(nginx_executable, directory, self.servers.values(),
                           site=self.site.address if self.site else None)
        self._redis_client = redis.Redis.from_url(redis_server.url, decode_responses=True,
                                                  socket_connect_timeout=0.5,
                                                  socket_timeout=1.0)

    def _init_secrets(self, env: dict[str, str], token_keys: str, password: str) -> None:
        """`game-server secrets init` into :attr:`secrets`, as compose's `secrets` service
        runs it; the values given here are an operator's .env settings."""
        overrides = {"GAME_TOKEN_KEYS": token_keys, "GAME_SITE_SECRET": "",
                     # Trust authentication (the default here) takes any password.
                     "POSTGRES_PASSWORD": password}
        done = subprocess.run([*game_server_command(), "secrets", "init", str(self.secrets)],
                              env={**env, **overrides}, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, f"game-server secrets init failed:\n{done.stderr}"

    @property
    def origin(self) -> str:
        """Where players go: nginx."""
        return self.nginx.origin

    def server(self, server_id: str) -> GameServer:
        return self.servers[server_id]

    async def start(self, server_ids: Iterable[str] | None = None,
                    timeout: float = 30.0) -> None:
        """Start nginx (once) and the given servers (default: all), and wait until each
        listens and has published its first heartbeat."""
        ids = list(self.servers if server_ids is None else server_ids)
        if not self.nginx.running:
            self.nginx.start()
        if self.site is not None and not self.site.running:
            self.site.start()
        for server_id in ids:
            self.servers[server_id].start()
        await until(self.nginx.listening, timeout, "nginx to listen")
        if self.site is not None:
            await until(self.site.listening, timeout, "the site to listen")
        for server_id in ids:
            await until(self.servers[server_id].listening, timeout, f"{server_id} to listen")
            await until(lambda: self.live(server_id), timeout, f"{server_id}'s heartbeat")

    def live(self, server_id: str) -> bool:
        """Whether the directory counts the server as alive (its heartbeat key exists)."""
        return bool(self._redis_client.exists(f"game:server:{server_id}"))

    def located(self, room_id: str) -> str | None:
        """The server the directory says hosts the room (None: none alive)."""
        server_id = self._redis_client.get(f"game:room:{room_id}")
        if server_id is None or not self.live(server_id):
            return None
        return server_id

    def logs_mentioning(self, pattern: str) -> dict[str, list[str]]:
        """The lines of each server's log matching a regular expression."""
        return {server_id: [line for line in server.log_text().splitlines()
                            if re.search(pattern, line)]
                for server_id, server in self.servers.items()}

    def unexpected_errors(self, allowed: Iterable[str] = ()) -> list[str]:
        """ERROR lines of every server's log (and the site's) that match none of the
        `allowed` patterns."""
        patterns = [re.compile(pattern) for pattern in allowed]
        processes = [*self.servers.values(), *([self.site] if self.site else [])]
        return [f"{process.name}: {line}" for process in processes
                for line in process.error_lines()
                if not any(pattern.search(line) for pattern in patterns)]

    def report(self, lines: int = 40) -> str:
        """The tail of every log, for a failed test."""
        parts = []
        for process in [*self.servers.values(), *([self.site] if self.site else []),
                        self.nginx, self.redis]:
            parts.append(f"----- {process.name} ({process.log_path}) -----\n"
                         f"{process.tail(lines)}")
        parts.append(f"----- nginx error.log -----\n{self.nginx.error_log(lines)}")
        return "\n".join(parts)

    def close(self) -> None:
        """Stop everything (servers with SIGKILL: a drain on the way out would only slow the
        teardown; the database is dropped next)."""
        for server in self.servers.values():
            server.kill()
        if self.site is not None:
            self.site.stop()
        self.nginx.stop()
        with contextlib.suppress(Exception):
            self._redis_client.close()
