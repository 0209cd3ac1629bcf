"""The servers under test: start one pinned to a core, read its CPU and memory from /proc.

Targets:
- `game`: the real server, `game-server serve` as a subprocess, on a throwaway SQLite database
  (or `--database-url`), with a token key the bench generates and users it creates.
- `sockjs-tornado`: bench/peers/tornado_peer.py, bare sockjs-tornado fan-out.
- `sockjs-node`: bench/peers/node_peer.js, bare sockjs-node fan-out (npm ci on first use).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.gc_log import environment as gc_environment

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEERS = BENCH / "peers"
TARGETS = ("game", "sockjs-tornado", "sockjs-node")
_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raise_open_files(wanted: int = 65536) -> int:
    """Raise the limit of open files to `wanted`, or as far as allowed (children inherit it):
    past the hard limit when the process may (root), else to the hard limit."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
        except (ValueError, OSError):
            pass
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def pin_self(cpu: int | set[int] | None) -> None:
    """Pin this process to one core, or to a set of cores (None: leave it be)."""
    cores = {cpu} if isinstance(cpu, int) else set(cpu or ())
    cores = {core for core in cores if core < (os.cpu_count() or 1)}
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)


class ProcStats:
    """CPU time and resident memory of one process, from /proc/<pid>."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime

    def rss_bytes(self) -> int:
        with open(f"/proc/{self.pid}/statm") as file:
            return int(file.read().split()[1]) * _PAGE


@dataclass(frozen=True)
class Address:
    """Where a target listens, as a generator process needs it."""
    target: str
    port: int
    prefix: str = "/sockjs"


@dataclass
class Server:
    target: str
    process: subprocess.Popen
    port: int
    prefix: str = "/sockjs"
    tokens: list[str] = field(default_factory=list)
    log_path: Path | None = None
    workdir: Path | None = None
    #: game: the token keyring and the ids of the prepared users, for `issue_tokens`.
    keyring: Any = None
    user_ids: list[int] = field(default_factory=list)
    #: game with `--gc`: the file its garbage-collection probe writes (bench/gc_log.py).
    gc_log: Path | None = None

    def issue_tokens(self, first: int, count: int) -> list[str]:
        """Fresh tokens (they last 10 minutes) for prepared users first .. first+count-1."""
        from game_server import tokens
        return [tokens.issue_token(self.keyring, user_id)
                for user_id in self.user_ids[first:first + count]]

    @property
    def address(self) -> Address:
        return Address(self.target, self.port, self.prefix)

    @property
    def stats(self) -> ProcStats:
        return ProcStats(self.process.pid)

    def error_lines(self) -> list[str]:
        """ERROR and CRITICAL lines of the server's log (game server only)."""
        if self.log_path is None or not self.log_path.exists():
            return []
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [line for line in lines if " ERROR " in line or " CRITICAL " in line
                or line.startswith("Traceback")]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _taskset(cpu: int | None) -> list[str]:
    if cpu is None or shutil.which("taskset") is None or cpu >= os.cpu_count():
        return []
    return ["taskset", "-c", str(cpu)]


async def _wait_listening(process: subprocess.Popen, port: int, what: str,
                          timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} at start-up")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout} s")


def prepare_users(database_url: str, count: int, prefix: str = "bench") -> list[int]:
    """Migrate the database and make sure users prefix-0 .. prefix-(count-1) exist; their ids.

    One transaction for all missing users (10,000 separate `UserStore.add` calls take tens of
    seconds on SQLite).
    """
    from sqlalchemy import select

    from game_server.storage.db import make_engine, session_factory
    from game_server.storage.migrate import upgrade
    from game_server.storage.models import User
    from game_server.storage.users import UserStore, clean_name

    upgrade(database_url)
    store = UserStore(make_engine(database_url))
    names = [clean_name(f"{prefix}-{i:05d}") for i in range(count)]
    sessions = session_factory(store.engine)
    ids: dict[str, int] = {}
    with sessions.begin() as session:
        for start in range(0, count, 500):
            chunk = names[start:start + 500]
            for user_id, name in session.execute(
                    select(User.id, User.name).where(User.name.in_(chunk))):
                ids[name] = user_id
        missing = [User(name=name) for name in names if name not in ids]
        session.add_all(missing)
        session.flush()
        for user in missing:
            ids[user.name] = user.id
    store.engine.dispose()
    return [ids[name] for name in names]


#: Settings of a game variant that are not environment variables.
VARIANT_KEYS = ("checkout", "protocol")


def split_target(name: str) -> tuple[str, dict[str, str]]:
    """A target name and the settings of a game variant, for side-by-side rounds of several
    configurations or versions in one `compare`: `game+GAME_EVENT_LOOP=asyncio` is the game
    server with that environment variable; `game+checkout=/path` runs the `game-server` of
    another checkout (its own `.venv`), e.g. an earlier commit; `game+protocol=2` makes the
    players speak that protocol version.

    Raises:
        ValueError: an unknown target, or settings that are not GAME_ variables or
            VARIANT_KEYS of `game`.
    """
    base, *settings = name.split("+")
    if base not in TARGETS:
        raise ValueError(f"unknown target {base!r}; use one of {', '.join(TARGETS)}")
    env = {}
    for setting in settings:
        key, equals, value = setting.partition("=")
        if base != "game" or not equals or not (key.startswith("GAME_")
                                                 or key in VARIANT_KEYS):
            raise ValueError(f"{name!r}: only game takes settings, as +GAME_NAME=value, "
                             f"+checkout=PATH or +protocol=N")
        env[key] = value
    return base, env


async def start(target: str, *, clients: int, cpu: int | None = 0,
                database_url: str | None = None, env: dict[str, str] | None = None,
                tokens: int | None = None, gc: bool = False) -> Server:
    """Start the target pinned to `cpu`, ready for `clients` players: game users are created
    for all of them, tokens issued now for the first `tokens` (default: all; the rest with
    `Server.issue_tokens` when needed). `gc`: the game server logs its garbage collections
    (`Server.gc_log`)."""
    port = free_port()
    target, variant = split_target(target)
    if target == "game":
        checkout = variant.pop("checkout", None)
        variant.pop("protocol", None)  # the players' business (bench.__main__.options_from)
        return await _start_game(port, clients, cpu, database_url, {**(env or {}), **variant},
                                 clients if tokens is None else tokens, checkout, gc)
    if target == "sockjs-tornado":
        command = [sys.executable, str(PEERS / "tornado_peer.py"), str(port)]
    elif target == "sockjs-node":
        if not (PEERS / "node_modules" / "sockjs").exists():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=PEERS,
                           check=True)
        command = ["node", str(PEERS / "node_peer.js"), str(port)]
    else:
        raise ValueError(f"unknown target {target!r}; use one of {', '.join(TARGETS)}")
    process = subprocess.Popen(_taskset(cpu) + command, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    await _wait_listening(process, port, target)
    return Server(target, process, port)


async def _start_game(port: int, clients: int, cpu: int | None, database_url: str | None,
                      extra_env: dict[str, str], issue: int,
                      checkout: str | None = None, gc: bool = False) -> Server:
    from game_server import tokens

    workdir = Path(tempfile.mkdtemp(prefix="bench-game-"))
    gc_log = workdir / "gc.log" if gc else None
    if gc_log is not None:
        extra_env = {**gc_environment(gc_log), **extra_env}
    url = database_url or f"sqlite:///{workdir / 'bench.db'}"
    keys = tokens.generate_keyring_entry(1)
    user_ids = await asyncio.get_running_loop().run_in_executor(
        None, prepare_users, url, clients)
    keyring = tokens.parse_keys(keys)
    # A server id of its own per run: on a database kept from an earlier run (--database-url)
    # the new server must not recover that run's rooms, in which the same bench users sit.
    server_id = f"bench-{os.getpid()}-{int(time.time())}"
    env = {**os.environ, "GAME_DATABASE_URL": url, "GAME_TOKEN_KEYS": keys,
           "GAME_SERVER_ID": server_id, "GAME_BOT_DELAY": "0.6", "GAME_GRACE_SECONDS": "60",
           # Thousands of players from one address.
           "GAME_CONNECTIONS_PER_ADDRESS": "0",
           **extra_env}
    bin_dir = Path(checkout) / ".venv" / "bin" if checkout else Path(sys.executable).parent
    game_server = shutil.which("game-server", path=str(bin_dir)) or "game-server"
    log_path = workdir / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(_taskset(cpu) + [game_server, "serve", "--port", str(port)],
                                   env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    server = Server("game", process, port, log_path=log_path, workdir=workdir,
                    keyring=keyring, user_ids=user_ids, gc_log=gc_log)
    try:
        await _wait_listening(process, port, "game-server")
    except Exception:
        print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
        server.stop()
        raise
    # Tokens last 10 minutes: issue them now, just before the players connect.
    server.tokens = server.issue_tokens(0, issue)
    return server


def describe(server: Server) -> dict[str, Any]:
    return {"target": server.target, "pid": server.process.pid, "port": server.port}
