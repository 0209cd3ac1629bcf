"""What one move and one sign-in cost in the many-servers design, measured on a real topology.

    .venv/bin/python -m bench.scaling --servers 3 --tables 200 --seconds 60 --pace 0.5,1,2 --runs 3

Each run starts everything itself on 127.0.0.1 (free ports) and stops it at the end:

- a `redis-server` of its own (`--save "" --appendonly no`);
- a fresh PostgreSQL database `scaling_<random>` on the machine's server (`--postgres`,
  trust auth), migrated with `game-server migrate`, dropped at the end;
- `--servers` processes of `game-server serve --dev` with GAME_SERVER_ID game-1.., their own
  GAME_PORT and GAME_PUBLIC_URL=http://127.0.0.1:<port>/sockjs, one GAME_TOKEN_KEYS from
  `game-server keygen`, GAME_REDIS_URL, GAME_HEARTBEAT_TTL=--ttl, GAME_BOT_DELAY=--bot-delay,
  metrics on (the default) on a GAME_METRICS_ADDRESS of their own, no per-address
  connection cap (GAME_CONNECTIONS_PER_ADDRESS=0).

`--runs` rounds; each round makes one run per value of `--pace`, in the order given, so that
paces are measured side by side (alternating) on a machine whose load changes. In every run,
in order (every phase is bounded in time and count):

1. **idle** (`--idle-seconds`): no client. Redis commands and bytes, PostgreSQL transactions
   and each server's CPU: the heartbeat of a server with no rooms.
2. **setup**: `--tables` rooms, alternately Crazy Eights and Hearts, four seats each, with
   `--humans` scripted players per room (the rest bots). Each owner signs in on server
   `i mod servers` and `create`s (following `redirect`, `GameClient.follow`); the others sign
   in on other servers and `join` (following `redirect`). The last seat taken starts the game.
3. **paused** (`--idle-seconds`): every room seated, in a game, and nobody moves: the heartbeat
   with rooms and players (room summaries, seat claims, the database's host queries). Then
   6 s of sampling each server's `server:` key's PTTL: the longest gap between two beats.
4. **play** (`--seconds`, then `--settle`): each room moves once every `--pace` seconds (the
   scripted player whose turn it is; `game_server.client.choose` picks the move; the owner
   sends `start` after a game ends), rooms spread evenly over one pace. Measured over the
   window: Redis commands and bytes (`INFO commandstats`, `total_net_input_bytes`/
   `total_net_output_bytes`, less this probe's own), Redis CPU (`used_cpu_sys+user`),
   PostgreSQL (`pg_stat_database` of the database, `pg_stat_user_tables`, table sizes, WAL
   position, CPU of the database's backends), each server's utime+stime (`/proc/<pid>/stat`)
   and the servers' own counters (`/metrics`: changes, state messages, commits); `state`
   messages received by the clients. Per change and per state, the paused phase's rate times
   the window's length is subtracted (the heartbeat's share).
5. **sign-in** (`--signins`, `--signin-concurrency` at a time): fresh users (made beforehand
   with /dev/login) connect to the servers in turn, send `auth` and wait for `welcome` and
   `room_list`, then close. Time per sign-in, and per sign-in (net of the paused rate) server
   CPU, Redis commands and bytes, PostgreSQL transactions.
6. **replay** (first pace of each round): one room per game (`--replay-games`), a scripted
   player and three bots at --bot-delay, played until the game (Crazy Eights) or the match
   (Hearts) is over, within `--replay-timeout`; then its move log is loaded
   (`MoveLog.load_room`) and replayed (`Table.replay`) here, `--replay-repeat` times.
7. **takeover**: SIGKILL of the last server; the time until its heartbeat key expires, until
   every room it hosted has a new host in the database, and until each is served (its `room:`
   key names a live server).
8. **at production size** (first pace of each round; `--synthetic-rooms`,
   `--synthetic-servers`, `--synthetic-closed`), after the game servers are gone: in Redis
   (another key prefix), one heartbeat of a server with `synthetic-rooms / synthetic-servers`
   rooms, sequential and pipelined `claim_seat` calls, and `room_list()` over every fake
   server's rooms; in PostgreSQL, that many `rooms` rows (plus closed ones) and the heartbeat's
   three host queries (`RoomHosts.open_servers`, `hosted_by`, `hosts`).

PostgreSQL reports an idle backend's statistics up to 10 s late, hence `--settle` (11 s) after
the setup and inside the play and sign-in windows.

Results: JSON on stdout and in `--out` (default `bench/results/scaling-<tables>x<servers>.json`):
every run in full (with the commit and a hash of game_server/ as the run started it), the
median of every figure per pace, and `fit`: over all runs, the servers' CPU above the paused
rate as a cost per change plus a cost per move-log commit (least squares). All processes
share this machine's cores with the load generator (this process): nothing is pinned.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import text

from game_server.client import ConnectionClosed, GameClient, ServerError, choose, dev_login
from game_server.storage import make_engine

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
_TICKS = os.sysconf("SC_CLK_TCK")
GAMES = ("crazy_eights", "hearts")


# --- small helpers -----------------------------------------------------------------------

def log(text_: str) -> None:
    print(f"[scaling {time.strftime('%H:%M:%S')}] {text_}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS


def loadavg() -> list[float]:
    with open("/proc/loadavg") as file:
        return [float(value) for value in file.read().split()[:3]]


def median(values: list[float]) -> float | None:
    values = [value for value in values if value is not None]
    return statistics.median(values) if values else None


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))]


def rnd(value: Any, digits: int = 4) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{digits}g}") if value == value else None
    if isinstance(value, dict):
        return {key: rnd(item, digits) for key, item in value.items()}
    if isinstance(value, list):
        return [rnd(item, digits) for item in value]
    return value


def game_server_command() -> list[str]:
    script = Path(sys.executable).with_name("game-server")
    return [str(script)] if script.exists() else [sys.executable, "-m", "game_server.cli"]


def source_commit() -> str | None:
    """The checked-out commit, read from .git's files (no git command is run)."""
    git = ROOT / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        path = git / ref
        if path.exists():
            return path.read_text().strip()
        packed = git / "packed-refs"
        for line in packed.read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        pass
    return None


class Process:
    """One child process with its output in a log file; signals go to its pid only."""

    def __init__(self, name: str, argv: list[str], log_path: Path,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.name, self.argv, self.log_path, self.env, self.cwd = name, argv, log_path, env, cwd
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as out:
            self.popen = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, env=self.env, cwd=self.cwd,
                                          start_new_session=True)

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        if self.running:
            self.popen.kill()
        if self.popen is not None:
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                pass

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


async def until(predicate, timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(interval)


# --- what is read at each snapshot -----------------------------------------------------------

class RedisInfo:
    """`INFO` over a plain socket, counting the bytes this probe itself adds, so that they can
    be taken out of Redis' own byte counters."""

    SECTIONS = b"INFO stats commandstats memory cpu\r\n"

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=5)
        self.file = self.sock.makefile("rb")

    def read(self) -> dict[str, Any]:
        self.sock.sendall(self.SECTIONS)
        header = self.file.readline()
        length = int(header[1:].strip())
        body = self.file.read(length + 2)
        values: dict[str, Any] = {"commands": {}}
        for line in body.decode().splitlines():
            if ":" not in line or line.startswith("#"):
                continue
            key, value = line.split(":", 1)
            if key.startswith("cmdstat_"):
                stat = dict(item.split("=") for item in value.split(","))
                values["commands"][key[8:]] = (int(stat["calls"]), int(stat["usec"]))
            elif key in ("total_net_input_bytes", "total_net_output_bytes", "used_memory",
                         "total_commands_processed", "keyspace_hits", "keyspace_misses"):
                values[key] = int(value)
            elif key in ("used_cpu_sys", "used_cpu_user"):
                values[key] = float(value)
        values["cpu"] = values.get("used_cpu_sys", 0.0) + values.get("used_cpu_user", 0.0)
        values["probe_in"] = len(self.SECTIONS)
        values["probe_out"] = len(header) + length + 2
        return values

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def parse_metrics(body: str) -> dict[str, float]:
    """Prometheus text: the sum of each metric over its labels."""
    sums: dict[str, float] = Counter()
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value = line.rpartition(" ")
        name = name_labels.split("{", 1)[0]
        try:
            sums[name] += float(value)
        except ValueError:
            pass
    return dict(sums)


class Counts:
    """What the scripted players saw (the load generator's side)."""

    def __init__(self) -> None:
        self.states = 0
        self.sent = 0
        self.refused: Counter[str] = Counter()
        self.errors = 0
        self.redirects = 0


# --- the topology ------------------------------------------------------------------------------

class Topology:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.redis: Process | None = None
        self.redis_port = free_port()
        self.db_name = f"scaling_{''.join(random.choices(string.ascii_lowercase, k=10))}"
        base = args.postgres.rstrip("/")
        self.admin = make_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT",
                                 connect_args={"connect_timeout": 5})
        self.db_url = f"{base}/{self.db_name}"
        self.db = None
        self.db_created = False
        self.servers: dict[str, Process] = {}
        self.ports: dict[str, int] = {}
        self.metrics_ports: dict[str, int] = {}
        self.keys = ""
        self.info: RedisInfo | None = None
        self.redis_client: redis.Redis | None = None

    @property
    def redis_url(self) -> str:
        return f"redis://{HOST}:{self.redis_port}/0"

    def base_url(self, server_id: str) -> str:
        return f"http://{HOST}:{self.ports[server_id]}"

    async def start(self) -> None:
        args = self.args
        self.redis = Process("redis", [shutil.which("redis-server") or "redis-server",
                                       "--port", str(self.redis_port), "--bind", HOST,
                                       "--save", "", "--appendonly", "no",
                                       "--dir", str(self.workdir)],
                             self.workdir / "redis.log")
        self.redis.start()
        self.redis_client = redis.Redis(host=HOST, port=self.redis_port, socket_timeout=2,
                                        decode_responses=True)

        def answers() -> bool:
            if not self.redis.running:
                raise RuntimeError(f"redis-server exited:\n{self.redis.tail()}")
            try:
                return bool(self.redis_client.ping())
            except redis.exceptions.ConnectionError:
                return False

        await until(answers, 10, "redis-server")
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        self.db_created = True
        env = {key: value for key, value in os.environ.items() if not key.startswith("GAME_")}
        migrate = subprocess.run([*game_server_command(), "migrate"], capture_output=True,
                                 text=True, env={**env, "GAME_DATABASE_URL": self.db_url},
                                 timeout=120)
        if migrate.returncode != 0:
            raise RuntimeError(f"game-server migrate failed:\n{migrate.stderr}")
        keygen = subprocess.run([*game_server_command(), "keygen"], capture_output=True,
                                text=True, check=True, timeout=60)
        self.keys = keygen.stdout.strip()
        self.db = make_engine(self.db_url, isolation_level="AUTOCOMMIT")
        for number in range(1, args.servers + 1):
            server_id = f"game-{number}"
            port = free_port()
            self.ports[server_id] = port
            self.metrics_ports[server_id] = free_port()
            server_env = {**env,
                          "GAME_DATABASE_URL": self.db_url,
                          "GAME_TOKEN_KEYS": self.keys,
                          "GAME_REDIS_URL": self.redis_url,
                          "GAME_SERVER_ID": server_id,
                          "GAME_PORT": str(port),
                          "GAME_PUBLIC_URL": f"http://{HOST}:{port}/sockjs",
                          "GAME_BOT_DELAY": str(args.bot_delay),
                          "GAME_HEARTBEAT_TTL": str(args.ttl),
                          "GAME_METRICS_ADDRESS": f"{HOST}:{self.metrics_ports[server_id]}",
                          # Hundreds of players from one address.
                          "GAME_CONNECTIONS_PER_ADDRESS": "0",
                          "PYTHONUNBUFFERED": "1"}
            cwd = self.workdir / server_id
            cwd.mkdir(exist_ok=True)
            process = Process(server_id, [*game_server_command(), "serve", "--dev"],
                              self.workdir / f"{server_id}.log", env=server_env, cwd=cwd)
            process.start()
            self.servers[server_id] = process
        for server_id, process in self.servers.items():
            def ready(server_id: str = server_id, process: Process = process) -> bool:
                if not process.running:
                    raise RuntimeError(f"{server_id} exited:\n{process.tail()}")
                with socket.socket() as sock:
                    sock.settimeout(0.2)
                    if sock.connect_ex((HOST, self.ports[server_id])) != 0:
                        return False
                return bool(self.redis_client.exists(f"game:server:{server_id}"))

            await until(ready, 60, f"{server_id} to listen and beat")
        self.info = RedisInfo(self.redis_port)

    def live_servers(self) -> dict[str, Process]:
        return {sid: process for sid, process in self.servers.items() if process.running}

    def metrics(self, server_id: str) -> dict[str, float]:
        try:
            url = f"http://{HOST}:{self.metrics_ports[server_id]}/metrics"
            with urllib.request.urlopen(url, timeout=5) as r:
                return parse_metrics(r.read().decode())
        except OSError:
            return {}

    def snapshot(self, counts: Counts) -> dict[str, Any]:
        """Everything the windows compare, read as close together as possible."""
        snap: dict[str, Any] = {"t": time.monotonic()}
        snap["server_cpu"] = {sid: cpu_seconds(p.pid) for sid, p in self.live_servers().items()}
        snap["redis"] = self.info.read()
        snap["redis_cpu"] = snap["redis"]["cpu"]
        with self.admin.connect() as connection:
            row = connection.execute(text(
                "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, "
                "tup_updated, tup_deleted, blks_read, blks_hit FROM pg_stat_database "
                "WHERE datname = :d"), {"d": self.db_name}).mappings().one()
            snap["pg"] = {key: int(value) for key, value in row.items()}
            snap["wal"] = int(connection.execute(text(
                "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")).scalar())
            pids = connection.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :d"),
                {"d": self.db_name}).scalars().all()
            snap["pg_other_active"] = int(connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname IS NOT NULL AND "
                "datname NOT IN (:d, 'postgres') AND state = 'active'"),
                {"d": self.db_name}).scalar())
        snap["pg_backends"] = {pid: cpu_seconds(pid) for pid in pids}
        with self.db.connect() as connection:
            rows = connection.execute(text(
                "SELECT relname, n_tup_ins, n_tup_upd, n_live_tup, "
                "pg_total_relation_size(relid) AS size FROM pg_stat_user_tables")).mappings()
            snap["tables"] = {row["relname"]: {"ins": int(row["n_tup_ins"]),
                                               "upd": int(row["n_tup_upd"]),
                                               "live": int(row["n_live_tup"]),
                                               "bytes": int(row["size"])} for row in rows}
        snap["metrics"] = {sid: self.metrics(sid) for sid in self.live_servers()}
        snap["states"] = counts.states
        snap["sent"] = counts.sent
        return snap

    async def stop(self) -> None:
        for process in self.servers.values():
            process.kill()
        if self.info is not None:
            self.info.close()
        if self.redis_client is not None:
            self.redis_client.close()
        if self.redis is not None:
            self.redis.kill()
        if self.db is not None:
            self.db.dispose()
        if self.db_created:
            with self.admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        self.admin.dispose()


def window(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What happened between two snapshots, in totals."""
    seconds = after["t"] - before["t"]
    commands = {}
    for name, (calls, usec) in after["redis"]["commands"].items():
        calls0, usec0 = before["redis"]["commands"].get(name, (0, 0))
        if name == "info":
            continue
        if calls - calls0:
            commands[name] = {"calls": calls - calls0, "usec": usec - usec0}
    redis_in = (after["redis"]["total_net_input_bytes"]
                - before["redis"]["total_net_input_bytes"] - after["redis"]["probe_in"])
    redis_out = (after["redis"]["total_net_output_bytes"]
                 - before["redis"]["total_net_output_bytes"] - before["redis"]["probe_out"])
    server_cpu = {sid: after["server_cpu"][sid] - before["server_cpu"][sid]
                  for sid in after["server_cpu"]
                  if before["server_cpu"].get(sid) is not None
                  and after["server_cpu"][sid] is not None}
    backend_cpu = 0.0
    for pid, cpu in after["pg_backends"].items():
        if cpu is not None:
            backend_cpu += cpu - (before["pg_backends"].get(pid) or 0.0)
    pg = {key: after["pg"][key] - before["pg"][key] for key in after["pg"]}
    tables = {}
    for name, stats in after["tables"].items():
        old = before["tables"].get(name, {"ins": 0, "upd": 0, "live": 0, "bytes": 0})
        tables[name] = {key: stats[key] - old[key] for key in stats}
    metrics: dict[str, float] = Counter()
    for sid, values in after["metrics"].items():
        old = before["metrics"].get(sid, {})
        for name in ("game_room_changes_total", "game_state_messages_total",
                     "game_moves_total", "game_commits_total", "game_committed_actions_total",
                     "game_commit_seconds_total"):
            metrics[name] += values.get(name, 0.0) - old.get(name, 0.0)
    return {
        "seconds": seconds,
        "redis_commands": commands,
        "redis_calls": sum(item["calls"] for item in commands.values()),
        "redis_usec": sum(item["usec"] for item in commands.values()),
        "redis_in": redis_in,
        "redis_out": redis_out,
        "redis_cpu": after["redis_cpu"] - before["redis_cpu"],
        "redis_memory": after["redis"]["used_memory"],
        "server_cpu": server_cpu,
        "server_cpu_total": sum(server_cpu.values()),
        "pg": pg,
        "pg_backend_cpu": backend_cpu,
        "wal": after["wal"] - before["wal"],
        "pg_other_active": max(before["pg_other_active"], after["pg_other_active"]),
        "tables": tables,
        "metrics": dict(metrics),
        "states_received": after["states"] - before["states"],
        "requests_sent": after["sent"] - before["sent"],
    }


def rates(w: dict[str, Any]) -> dict[str, float]:
    """Per second over a window: what the heartbeat costs when nothing else happens."""
    s = w["seconds"]
    return {
        "redis_calls": w["redis_calls"] / s,
        "redis_usec": w["redis_usec"] / s,
        "redis_in": w["redis_in"] / s,
        "redis_out": w["redis_out"] / s,
        "redis_cpu": w["redis_cpu"] / s,
        "server_cpu_total": w["server_cpu_total"] / s,
        "pg_commit": w["pg"]["xact_commit"] / s,
        "pg_rollback": w["pg"]["xact_rollback"] / s,
        "pg_returned": w["pg"]["tup_returned"] / s,
        "pg_fetched": w["pg"]["tup_fetched"] / s,
        "pg_inserted": w["pg"]["tup_inserted"] / s,
        "pg_updated": w["pg"]["tup_updated"] / s,
        "pg_backend_cpu": w["pg_backend_cpu"] / s,
        "wal": w["wal"] / s,
        **{f"cmd:{name}": item["calls"] / s for name, item in w["redis_commands"].items()},
    }


def net(w: dict[str, Any], base: dict[str, float], key: str, value: float) -> float:
    """A window's total minus what the baseline rate accounts for over its length."""
    return value - base.get(key, 0.0) * w["seconds"]


# --- players --------------------------------------------------------------------------------------

class Player:
    def __init__(self, name: str, token: str) -> None:
        self.name, self.token = name, token
        self.client: GameClient | None = None
        self.view: dict[str, Any] | None = None


def watch(player: Player, counts: Counts) -> None:
    """Count every message of the player's connection and keep its newest view; the client's
    own queue is emptied as it goes, so a long run does not keep every message."""
    client = player.client
    deliver = client._deliver

    def counted(message: dict[str, Any]) -> None:
        deliver(message)
        kind = message.get("msg")
        if kind == "state":
            counts.states += 1
            player.view = message.get("table")
        elif kind == "error":
            counts.errors += 1
        client.received.clear()
        client.drain()

    client._deliver = counted
    for message in client.drain():
        if message.get("msg") == "state":
            player.view = message.get("table")
    client.received.clear()


async def sign_in(base_url: str, token: str) -> GameClient:
    client = await GameClient.connect(base_url, timeout=30)
    await client.auth(token)
    return client


class Room:
    def __init__(self, index: int, game: str, players: list[Player]) -> None:
        self.index, self.game, self.players = index, game, players
        self.id: str | None = None


async def seat_room(top: Topology, room: Room, humans: int, counts: Counts) -> None:
    ids = list(top.servers)
    owner = room.players[0]
    client = await sign_in(top.base_url(ids[room.index % len(ids)]), owner.token)
    create = {"msg": "create", "game": room.game, "name": f"t{room.index}", "seats": 4}
    reply = await client.request(create, timeout=30)
    counts.redirects += reply.get("msg") == "redirect"
    client, state = await client.follow(reply, create)
    owner.client = client
    owner.view = state.get("table")
    room.id = state["room"]
    watch(owner, counts)
    for number, player in enumerate(room.players[1:], start=1):
        client = await sign_in(top.base_url(ids[(room.index + number) % len(ids)]), player.token)
        join = {"msg": "join", "room": room.id}
        reply = await client.request(join, timeout=30)
        counts.redirects += reply.get("msg") == "redirect"
        client, state = await client.follow(reply, join)
        player.client = client
        player.view = state.get("table")
        watch(player, counts)
    for _ in range(4 - humans):
        await owner.client.request({"msg": "add_bot"}, timeout=30)


async def act_once(room: Room, counts: Counts) -> bool:
    """The one scripted player who may act sends its move (or the owner `start`)."""
    for player in room.players:
        view = player.view
        if view is None or player.client is None:
            continue
        if view.get("status") == "finished":
            if view.get("owner") != view.get("you"):
                continue
            message: dict[str, Any] | None = {"msg": "start"}
        else:
            message = choose(view)
        if message is None:
            continue
        counts.sent += 1
        try:
            await player.client.request(message, timeout=15)
        except ServerError as error:
            counts.refused[str(error.code)] += 1
        except (ConnectionClosed, asyncio.TimeoutError):
            counts.refused["closed_or_timeout"] += 1
        return True
    return False


async def drive(room: Room, start: float, end: float, pace: float, counts: Counts) -> None:
    loop = asyncio.get_running_loop()
    due = start
    while True:
        now = loop.time()
        if due > now:
            await asyncio.sleep(due - now)
        if loop.time() >= end:
            return
        await act_once(room, counts)
        due += pace
        due = max(due, loop.time())  # no catching up in bursts


async def play_out(room: Room, deadline: float, counts: Counts) -> bool:
    """The scripted player moves at once whenever it may, until the game (Crazy Eights) or
    the match (Hearts) is over; the bots play at GAME_BOT_DELAY."""
    player = room.players[0]
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        view = player.view
        if view is not None and view.get("status") == "finished":
            return True
        message = choose(view) if view is not None else None
        if message is not None:
            try:
                await player.client.request(message, timeout=15)
            except ServerError:
                pass
        else:
            await asyncio.sleep(0.01)
    return False


async def close_all(players: list[Player]) -> None:
    clients = [player.client for player in players if player.client is not None]
    for start in range(0, len(clients), 100):
        await asyncio.gather(*(client.close() for client in clients[start:start + 100]),
                             return_exceptions=True)


async def make_tokens(top: Topology, names: list[str], concurrency: int) -> list[str]:
    ids = list(top.servers)
    semaphore = asyncio.Semaphore(concurrency)
    tokens: list[str] = [""] * len(names)

    async def one(index: int, name: str) -> None:
        async with semaphore:
            tokens[index], _ = await dev_login(top.base_url(ids[index % len(ids)]), name)

    await asyncio.gather(*(one(index, name) for index, name in enumerate(names)))
    return tokens


# --- one run -------------------------------------------------------------------------------------

def tree_fingerprint() -> str:
    """A hash of the server's source as this run starts it (the work tree is shared: a change
    made during a series of runs shows up here)."""
    import hashlib
    digest = hashlib.sha256()
    for path in sorted((ROOT / "game_server").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


async def run_once(args: argparse.Namespace, number: int, pace: float,
                   extras: bool = True) -> dict[str, Any]:
    """One run on a fresh topology. `extras`: also the replay and production-size phases."""
    workdir = Path(tempfile.mkdtemp(prefix="scaling-"))
    top = Topology(args, workdir)
    counts = Counts()
    result: dict[str, Any] = {"run": number, "pace": pace, "commit": source_commit(),
                              "tree": tree_fingerprint(), "started": time.time(),
                              "loadavg_start": loadavg()}
    players: list[Player] = []
    try:
        log(f"run {number}: starting redis, database {top.db_name}, {args.servers} servers")
        await top.start()
        await asyncio.sleep(2.0)  # let the first beats settle

        # 1. idle: the heartbeat with no rooms
        log(f"idle {args.idle_seconds:.0f} s")
        before = top.snapshot(counts)
        await asyncio.sleep(args.idle_seconds)
        idle = window(before, top.snapshot(counts))
        idle_rates = rates(idle)

        # 2. setup
        log(f"setup: {args.tables} rooms x {args.humans} scripted players")
        t0 = time.monotonic()
        names = [f"p{number}-{index}-{seat}" for index in range(args.tables)
                 for seat in range(args.humans)]
        tokens = await make_tokens(top, names, 20)
        players = [Player(name, token) for name, token in zip(names, tokens)]
        rooms = [Room(index, GAMES[index % len(GAMES)],
                      players[index * args.humans:(index + 1) * args.humans])
                 for index in range(args.tables)]
        semaphore = asyncio.Semaphore(args.setup_concurrency)

        async def seat(room: Room) -> None:
            async with semaphore:
                await asyncio.wait_for(seat_room(top, room, args.humans, counts), 120)

        await asyncio.gather(*(seat(room) for room in rooms))
        result["setup_seconds"] = time.monotonic() - t0
        # PostgreSQL flushes an idle backend's statistics up to 10 s late: wait them out, so
        # that the setup's writes do not land in the next window.
        await asyncio.sleep(args.settle)

        with top.db.connect() as connection:
            hosts = Counter(connection.execute(text(
                "SELECT server_id FROM rooms WHERE status = 'open'")).scalars())
        result["rooms_per_server"] = dict(sorted(hosts.items()))
        rooms_bytes = sum(top.redis_client.strlen(f"game:rooms:{sid}") for sid in top.servers)
        result["redis_rooms_json_bytes_per_room"] = rooms_bytes / max(1, args.tables)

        # 3. paused: the heartbeat with rooms and players, nobody moving
        log(f"paused {args.idle_seconds:.0f} s")
        before = top.snapshot(counts)
        await asyncio.sleep(args.idle_seconds)
        paused = window(before, top.snapshot(counts))
        paused_rates = rates(paused)
        result["beat_gap"] = await sample_beat_gaps(args, top)

        # 4. play
        log(f"play {args.seconds:.0f} s at one move per room every {pace} s")
        loop = asyncio.get_running_loop()
        before = top.snapshot(counts)
        start = loop.time() + 0.05
        end = start + args.seconds
        drivers = [asyncio.ensure_future(
            drive(room, start + pace * index / len(rooms), end, pace, counts))
            for index, room in enumerate(rooms)]
        await asyncio.wait_for(asyncio.gather(*drivers, return_exceptions=True),
                               args.seconds + 60)
        await asyncio.sleep(args.settle)  # commits, states and (late) statistics of the last moves
        play = window(before, top.snapshot(counts))

        # 5. sign-ins
        log(f"sign-in: {args.signins} users, {args.signin_concurrency} at a time")
        signin_names = [f"s{number}-{index}" for index in range(args.signins)]
        signin_tokens = await make_tokens(top, signin_names, 20)
        await asyncio.sleep(2.0)
        ids = list(top.servers)
        times: dict[str, list[float]] = {"connect": [], "auth": [], "total": []}
        list_bytes: list[int] = []
        failures = 0
        semaphore = asyncio.Semaphore(args.signin_concurrency)

        async def one_signin(index: int, token: str) -> None:
            nonlocal failures
            async with semaphore:
                t_start = time.perf_counter()
                try:
                    client = await GameClient.connect(top.base_url(ids[index % len(ids)]),
                                                      timeout=30)
                    t_open = time.perf_counter()
                    await client.auth(token)
                    listed = await client.wait_for(lambda m: m.get("msg") == "room_list", 30)
                    t_done = time.perf_counter()
                    list_bytes.append(len(json.dumps(listed)))
                    await client.close()
                except Exception:  # noqa: BLE001 - counted, the run goes on
                    failures += 1
                    return
                times["connect"].append((t_open - t_start) * 1000)
                times["auth"].append((t_done - t_open) * 1000)
                times["total"].append((t_done - t_start) * 1000)

        before = top.snapshot(counts)
        t_signin = time.monotonic()
        await asyncio.gather(*(one_signin(index, token)
                               for index, token in enumerate(signin_tokens)))
        result["signin_burst_seconds"] = time.monotonic() - t_signin
        await asyncio.sleep(args.settle)
        signin = window(before, top.snapshot(counts))

        # 6. replay of rooms whose game is over
        replay = await measure_replays(args, top, counts, number) if extras else {}

        # 7. takeover
        takeover = await measure_takeover(args, top)

        await close_all(players)
        players = []
        for process in top.servers.values():
            process.kill()

        # 8. at production size
        synthetic = (await measure_synthetic(args, top)
                     if args.synthetic_rooms and extras else {})

        result.update(derive(args, idle, idle_rates, paused, paused_rates, play, signin,
                             times, list_bytes, failures, counts))
        result["replay"] = replay
        result["takeover"] = takeover
        result["synthetic"] = synthetic
        result["raw"] = {"idle": idle, "paused": paused, "play": play, "signin": signin}
        result["loadavg_end"] = loadavg()
        return result
    finally:
        if players:
            await close_all(players)
        await top.stop()
        errors = []
        for process in top.servers.values():
            errors += [line for line in process.tail(100000).splitlines()
                       if " ERROR " in line or line.startswith("Traceback")]
        result["server_error_lines"] = len(errors)
        result["server_error_samples"] = errors[:5]
        if args.logs:
            keep = Path(args.logs) / f"run{number}"
            keep.mkdir(parents=True, exist_ok=True)
            for log_file in workdir.glob("*.log"):
                shutil.copy(log_file, keep / log_file.name)
        shutil.rmtree(workdir, ignore_errors=True)


def derive(args, idle, idle_rates, paused, paused_rates, play, signin, times, list_bytes,
           failures, counts) -> dict[str, Any]:
    servers = args.servers
    players = args.tables * args.humans
    changes = play["metrics"].get("game_room_changes_total", 0.0)
    moves = play["metrics"].get("game_moves_total", 0.0)
    rows = play["tables"].get("moves", {}).get("ins", 0)
    states_sent = play["metrics"].get("game_state_messages_total", 0.0)
    states = play["states_received"]
    out: dict[str, Any] = {}
    out["idle_per_server_per_s"] = {
        "redis_calls": idle_rates["redis_calls"] / servers,
        "redis_in_bytes": idle_rates["redis_in"] / servers,
        "redis_out_bytes": idle_rates["redis_out"] / servers,
        "redis_cpu_ms": idle_rates["redis_cpu"] * 1000 / servers,
        "server_cpu_ms": idle_rates["server_cpu_total"] * 1000 / servers,
        "pg_commits": idle_rates["pg_commit"] / servers,
        "pg_rollbacks": idle_rates["pg_rollback"] / servers,
        "pg_tuples_returned": idle_rates["pg_returned"] / servers,
        "commands": {key[4:]: value / servers for key, value in idle_rates.items()
                     if key.startswith("cmd:")},
    }
    extra = {key: paused_rates.get(key, 0.0) - idle_rates.get(key, 0.0)
             for key in set(paused_rates) | set(idle_rates)}
    out["heartbeat_per_table_per_s"] = {  # four seated players per table
        "redis_calls": extra["redis_calls"] / args.tables,
        "redis_in_bytes": extra["redis_in"] / args.tables,
        "redis_out_bytes": extra["redis_out"] / args.tables,
        "redis_usec": extra["redis_usec"] / args.tables,
        "redis_cpu_us": extra["redis_cpu"] * 1e6 / args.tables,
        "server_cpu_us": extra["server_cpu_total"] * 1e6 / args.tables,
        "pg_tuples_returned": extra["pg_returned"] / args.tables,
        "commands": {key[4:]: value / args.tables for key, value in extra.items()
                     if key.startswith("cmd:") and abs(value) > 1e-9},
    }
    out["paused_per_s"] = {key: value for key, value in paused_rates.items()}
    out["redis_memory_per_table_bytes"] = ((paused["redis_memory"] - idle["redis_memory"])
                                           / args.tables)
    net_cpu = net(play, paused_rates, "server_cpu_total", play["server_cpu_total"])
    per_move: dict[str, Any] = {
        "changes": changes,
        "card_moves": moves,
        "moves_rows": rows,
        "moves_per_s": changes / play["seconds"],
        "states_received": states,
        "states_sent_by_servers": states_sent,
        "states_per_change": states_sent / changes if changes else None,
        "redis_calls": net(play, paused_rates, "redis_calls", play["redis_calls"]) / changes,
        "redis_in_bytes": net(play, paused_rates, "redis_in", play["redis_in"]) / changes,
        "redis_out_bytes": net(play, paused_rates, "redis_out", play["redis_out"]) / changes,
        "redis_publish_per_s": play["redis_commands"].get("publish", {}).get("calls", 0)
        / play["seconds"],
        "pg_commits": net(play, paused_rates, "pg_commit", play["pg"]["xact_commit"]) / changes,
        "pg_rows_inserted": net(play, paused_rates, "pg_inserted",
                                play["pg"]["tup_inserted"]) / changes,
        "pg_rows_updated": net(play, paused_rates, "pg_updated",
                               play["pg"]["tup_updated"]) / changes,
        "pg_backend_cpu_us": net(play, paused_rates, "pg_backend_cpu",
                                 play["pg_backend_cpu"]) * 1e6 / changes,
        "wal_bytes": net(play, paused_rates, "wal", play["wal"]) / changes,
        "moves_table_bytes_per_row": (play["tables"].get("moves", {}).get("bytes", 0) / rows
                                      if rows else None),
        "all_tables_bytes": sum(item["bytes"] for item in play["tables"].values()) / changes,
        "server_cpu_us_per_change": net_cpu * 1e6 / changes,
        "server_cpu_us_per_state": net_cpu * 1e6 / states_sent if states_sent else None,
        "server_cpu_us_per_state_gross": play["server_cpu_total"] * 1e6 / states_sent
        if states_sent else None,
        "server_cpu_cores_gross": play["server_cpu_total"] / play["seconds"],
        "commits_per_s_per_server": play["metrics"].get("game_commits_total", 0.0)
        / play["seconds"] / servers,
        "actions_per_commit": (play["metrics"].get("game_committed_actions_total", 0.0)
                               / play["metrics"]["game_commits_total"]
                               if play["metrics"].get("game_commits_total") else None),
        "commit_ms": (play["metrics"].get("game_commit_seconds_total", 0.0) * 1000
                      / play["metrics"]["game_commits_total"]
                      if play["metrics"].get("game_commits_total") else None),
        "requests_sent": play["requests_sent"],
        "refused": dict(counts.refused),
        "errors_received": counts.errors,
        "redirects_in_setup": counts.redirects,
        "pg_other_active_backends": play["pg_other_active"],
    }
    out["per_move"] = per_move
    n = len(times["total"])
    net_signin_cpu = net(signin, paused_rates, "server_cpu_total", signin["server_cpu_total"])
    out["per_signin"] = {
        "signins": n,
        "failures": failures,
        "connect_ms_p50": median(times["connect"]),
        "auth_to_room_list_ms_p50": median(times["auth"]),
        "total_ms_p50": median(times["total"]),
        "total_ms_p90": pct(times["total"], 0.9),
        "window_seconds": signin["seconds"],
        "server_cpu_ms": net_signin_cpu * 1000 / n if n else None,
        "redis_calls": net(signin, paused_rates, "redis_calls", signin["redis_calls"]) / n
        if n else None,
        "redis_in_bytes": net(signin, paused_rates, "redis_in", signin["redis_in"]) / n
        if n else None,
        "redis_out_bytes": net(signin, paused_rates, "redis_out", signin["redis_out"]) / n
        if n else None,
        "pg_commits": net(signin, paused_rates, "pg_commit", signin["pg"]["xact_commit"]) / n
        if n else None,
        "pg_rollbacks": net(signin, paused_rates, "pg_rollback",
                            signin["pg"]["xact_rollback"]) / n if n else None,
        "room_list_bytes_received": median(list_bytes),
        "rooms_open": args.tables,
    }
    return out


async def sample_beat_gaps(args, top: Topology, seconds: float = 6.0) -> dict[str, Any]:
    """The longest time between two heartbeats of each server, from the remaining life of its
    `server:` key (PTTL) sampled every 20 ms: TTL minus the smallest PTTL seen."""
    smallest: dict[str, int] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pipe = top.redis_client.pipeline(transaction=False)
        for server_id in top.servers:
            pipe.pttl(f"game:server:{server_id}")
        for server_id, pttl in zip(top.servers, pipe.execute()):
            if pttl is not None and pttl >= 0:
                smallest[server_id] = min(smallest.get(server_id, pttl), pttl)
        await asyncio.sleep(0.02)
    gaps = {sid: args.ttl - pttl / 1000 for sid, pttl in smallest.items()}
    return {"max_s": max(gaps.values()) if gaps else None, "per_server": gaps}


async def measure_replays(args, top: Topology, counts: Counts, number: int) -> dict[str, Any]:
    from game_server.storage.movelog import MoveLog
    from game_server.tables import Table

    games = [game for game in args.replay_games.split(",") if game]
    if not games:
        return {}
    log(f"replay: playing {', '.join(games)} to the end (at most {args.replay_timeout:.0f} s)")
    names = [f"r{number}-{game}" for game in games]
    tokens = await make_tokens(top, names, 4)
    rooms = []
    for index, (game, name, token) in enumerate(zip(games, names, tokens)):
        room = Room(10_000 + index, game, [Player(name, token)])
        await asyncio.wait_for(seat_room(top, room, 1, counts), 60)
        rooms.append(room)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.replay_timeout
    finished = await asyncio.gather(*(play_out(room, deadline, counts) for room in rooms))
    await asyncio.sleep(1.0)
    out: dict[str, Any] = {}
    for room, done in zip(rooms, finished):
        with top.db.connect() as connection:
            host = connection.execute(text("SELECT server_id FROM rooms WHERE id = :r"),
                                      {"r": room.id}).scalar_one()
        loads, replays, cpus = [], [], []
        actions = 0
        for _ in range(args.replay_repeat):
            move_log = MoveLog(top.db, host)
            try:
                t0 = time.perf_counter()
                loaded = move_log.load_room(room.id)
                t1 = time.perf_counter()
                c0 = time.process_time()
                info, stored = loaded
                Table.replay(info.id, info.name, info.game, info.seats, stored)
                t2 = time.perf_counter()
                cpus.append((time.process_time() - c0) * 1000)
            finally:
                move_log.close()
            actions = len(stored)
            loads.append((t1 - t0) * 1000)
            replays.append((t2 - t1) * 1000)
        out[room.game] = {"finished": done, "actions": actions,
                          "load_ms": median(loads), "replay_ms": median(replays),
                          "replay_cpu_ms": median(cpus),
                          "us_per_action": (median(loads) + median(replays)) * 1000 / actions
                          if actions else None}
        await room.players[0].client.close()
    return out


async def measure_takeover(args, top: Topology) -> dict[str, Any]:
    if args.servers < 2:
        return {}
    victim = list(top.servers)[-1]
    with top.db.connect() as connection:
        room_ids = list(connection.execute(text(
            "SELECT id FROM rooms WHERE status = 'open' AND server_id = :s"),
            {"s": victim}).scalars())
    if not room_ids:
        return {"rooms": 0}
    log(f"takeover: SIGKILL {victim} with {len(room_ids)} rooms")
    log(f"takeover: SIGKILL sent at {time.time():.3f}")
    top.servers[victim].popen.send_signal(signal.SIGKILL)
    top.servers[victim].popen.wait(10)
    t0 = time.monotonic()
    first_moved = all_moved = all_served = key_gone = None
    live = [sid for sid in top.servers if sid != victim]
    while time.monotonic() - t0 < args.takeover_timeout:
        if key_gone is None and not top.redis_client.exists(f"game:server:{victim}"):
            key_gone = time.monotonic() - t0
        with top.db.connect() as connection:
            left = connection.execute(text(
                "SELECT count(*) FROM rooms WHERE id = ANY(:ids) AND server_id = :s"),
                {"ids": room_ids, "s": victim}).scalar()
        now = time.monotonic() - t0
        if left < len(room_ids) and first_moved is None:
            first_moved = now
        if left == 0 and all_moved is None:
            all_moved = now
        if all_moved is not None:
            named = top.redis_client.mget([f"game:room:{room}" for room in room_ids])
            if all(name in live for name in named):
                all_served = time.monotonic() - t0
                break
        await asyncio.sleep(0.05)
    return {"victim": victim, "rooms": len(room_ids), "ttl": args.ttl,
            "heartbeat_expired_s": key_gone,
            "first_room_moved_s": first_moved, "all_moved_s": all_moved,
            "all_served_s": all_served,
            "per_room_ms": ((all_moved - first_moved) * 1000 * len(live) / len(room_ids)
                            if all_moved is not None and first_moved is not None else None)}


async def measure_synthetic(args, top: Topology) -> dict[str, Any]:
    """The heartbeat's Redis and PostgreSQL work at production size, with no game server."""
    from game_server.directory import RedisDirectory, ServerInfo
    from game_server.storage.hosts import RoomHosts

    servers = args.synthetic_servers
    per_server = args.synthetic_rooms // servers
    log(f"at production size: {servers} servers x {per_server} rooms in Redis and PostgreSQL")
    out: dict[str, Any] = {"servers": servers, "rooms_per_server": per_server}
    now = time.time()

    def summaries(server: int) -> list[dict[str, Any]]:
        return [{"id": f"s{server:03d}r{room:06d}", "name": f"table {room}",
                 "game": GAMES[room % 2], "seats": 4, "players": 4, "spectators": 0,
                 "status": "playing", "created": now + room / 1000}
                for room in range(per_server)]

    def info(server: int) -> ServerInfo:
        return ServerInfo(id=f"synth-{server:03d}", url=f"/g/synth-{server:03d}/sockjs",
                          players=4 * per_server, rooms=per_server, connections=4 * per_server)

    # One server's beat: wall time, this process's CPU, Redis CPU, Redis bytes.
    directory = RedisDirectory(top.redis_url, prefix="synth:", ttl=600)
    rooms0 = summaries(0)
    beats = []
    for _ in range(5):
        r0 = top.info.read()
        w0, c0 = time.perf_counter(), time.process_time()
        await directory.beat(info(0), [dict(room, status="playing") for room in rooms0])
        w1, c1 = time.perf_counter(), time.process_time()
        r1 = top.info.read()
        beats.append({"wall_ms": (w1 - w0) * 1000, "cpu_ms": (c1 - c0) * 1000,
                      "redis_cpu_ms": (r1["cpu"] - r0["cpu"]) * 1000,
                      "redis_in": r1["total_net_input_bytes"] - r0["total_net_input_bytes"]
                      - r1["probe_in"],
                      "redis_out": r1["total_net_output_bytes"] - r0["total_net_output_bytes"]
                      - r0["probe_out"]})
    # The first beat writes everything (as after a start or a Redis restart); the others are
    # the steady state, which writes only what changed.
    out["beat_first"] = beats[0]
    out["beat"] = {key: median([beat[key] for beat in beats[1:]]) for key in beats[0]}

    # Sequential seat claims, as the heartbeat makes them (one per seated person per beat).
    claims = 2000
    r0 = top.info.read()
    w0, c0 = time.perf_counter(), time.process_time()
    for user in range(claims):
        await directory.claim_seat(user, f"s000r{user // 4:06d}")
    w1, c1 = time.perf_counter(), time.process_time()
    r1 = top.info.read()
    out["claim_seat"] = {"calls": claims, "wall_us": (w1 - w0) * 1e6 / claims,
                         "cpu_us": (c1 - c0) * 1e6 / claims,
                         "redis_cpu_us": (r1["cpu"] - r0["cpu"]) * 1e6 / claims,
                         "redis_bytes": (r1["total_net_input_bytes"] - r0["total_net_input_bytes"]
                                         + r1["total_net_output_bytes"]
                                         - r0["total_net_output_bytes"]
                                         - r1["probe_in"] - r0["probe_out"]) / claims}
    # The same claims pipelined (one round trip per 500), as a heartbeat could send them.
    import redis.asyncio as redis_asyncio
    from game_server.directory import _CLAIM_SEAT
    client = redis_asyncio.Redis.from_url(top.redis_url, decode_responses=True)
    script = client.register_script(_CLAIM_SEAT)
    await script(keys=["synth:seat:warm"], args=["r", 3_600_000])
    r0 = top.info.read()
    w0, c0 = time.perf_counter(), time.process_time()
    for first in range(0, claims, 500):
        pipe = client.pipeline(transaction=False)
        for user in range(first, min(claims, first + 500)):
            await script(keys=[f"synth:seat:{user}"], args=[f"s000r{user // 4:06d}", 3_600_000],
                         client=pipe)
        await pipe.execute()
    w1, c1 = time.perf_counter(), time.process_time()
    r1 = top.info.read()
    await client.aclose()
    out["claim_seat_pipelined"] = {
        "calls": claims, "wall_us": (w1 - w0) * 1e6 / claims, "cpu_us": (c1 - c0) * 1e6 / claims,
        "redis_cpu_us": (r1["cpu"] - r0["cpu"]) * 1e6 / claims}
    # Every other server's rooms, for room_list().
    for server in range(1, servers):
        other = RedisDirectory(top.redis_url, prefix="synth:", ttl=600)
        await other.beat(info(server), summaries(server))
        await other.close()
    lists = []
    for _ in range(3):
        r0 = top.info.read()
        w0, c0 = time.perf_counter(), time.process_time()
        listed = await directory.room_list()
        w1, c1 = time.perf_counter(), time.process_time()
        r1 = top.info.read()
        lists.append({"wall_ms": (w1 - w0) * 1000, "cpu_ms": (c1 - c0) * 1000,
                      "redis_cpu_ms": (r1["cpu"] - r0["cpu"]) * 1000,
                      "redis_out": r1["total_net_output_bytes"] - r0["total_net_output_bytes"]
                      - r0["probe_out"], "rooms_returned": len(listed)})
    out["room_list"] = {key: median([item[key] for item in lists]) for key in lists[0]}
    memory = top.info.read()["used_memory"]
    out["redis_used_memory_bytes"] = memory
    await directory.close()

    # PostgreSQL: the heartbeat's host queries over production-size `rooms`.
    closed = args.synthetic_closed
    with top.db.connect() as connection:
        connection.execute(text(
            "INSERT INTO rooms (id, name, game, seats, server_id, epoch, status, created_at) "
            "SELECT 'o' || g, 'table ' || g, 'hearts', 4, "
            "'synth-' || lpad((g % :servers)::text, 3, '0'), 1, 'open', now() "
            "FROM generate_series(0, :open - 1) AS g"),
            {"servers": servers, "open": per_server * servers})
        if closed:
            connection.execute(text(
                "INSERT INTO rooms (id, name, game, seats, server_id, epoch, status, "
                "created_at, closed_at) "
                "SELECT 'c' || g, 'table ' || g, 'hearts', 4, "
                "'synth-' || lpad((g % :servers)::text, 3, '0'), 1, 'closed', now(), now() "
                "FROM generate_series(0, :closed - 1) AS g"),
                {"servers": servers, "closed": closed})
        connection.execute(text("ANALYZE rooms"))
    hosts = RoomHosts(top.db)
    mine = [host.room_id for host in hosts.hosted_by(["synth-000"])]
    timings: dict[str, list[float]] = {"open_servers": [], "hosted_by": [], "hosts": []}
    cpus: dict[str, list[float]] = {key: [] for key in timings}
    for _ in range(5):
        for name, call in (("open_servers", hosts.open_servers),
                           ("hosted_by", lambda: hosts.hosted_by(["synth-000"])),
                           ("hosts", lambda: hosts.hosts(mine))):
            w0, c0 = time.perf_counter(), time.process_time()
            call()
            timings[name].append((time.perf_counter() - w0) * 1000)
            cpus[name].append((time.process_time() - c0) * 1000)
    out["pg_heartbeat_queries"] = {
        "open_rooms": per_server * servers, "closed_rooms": closed,
        "rooms_of_one_server": len(mine),
        **{f"{name}_ms": median(values) for name, values in timings.items()},
        **{f"{name}_client_cpu_ms": median(values) for name, values in cpus.items()}}
    return out


# --- medians over runs --------------------------------------------------------------------------

def medians(runs: list[dict[str, Any]]) -> Any:
    """The median of every number found at the same place in every run."""
    first = runs[0]
    if isinstance(first, bool) or first is None:
        return first
    if isinstance(first, (int, float)):
        values = [run for run in runs if isinstance(run, (int, float))]
        return median(values) if values else None
    if isinstance(first, dict):
        keys = [key for key in first if all(isinstance(run, dict) for run in runs)]
        return {key: medians([run.get(key) for run in runs]) for key in keys
                if key not in ("raw", "server_error_samples")}
    return first


def fit(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Least squares over every run's play window: the servers' CPU above the paused rate (and
    PostgreSQL's backends' CPU) as a cost per change plus a cost per move-log commit. Two
    paces give different ratios of commits to changes, which is what separates the two."""
    points = []
    for run in runs:
        play, paused = run["raw"]["play"], run["raw"]["paused"]
        changes = play["metrics"].get("game_room_changes_total", 0.0)
        commits = play["metrics"].get("game_commits_total", 0.0)
        server = play["server_cpu_total"] - (paused["server_cpu_total"] / paused["seconds"]
                                             * play["seconds"])
        backend = play["pg_backend_cpu"] - (paused["pg_backend_cpu"] / paused["seconds"]
                                            * play["seconds"])
        points.append((changes, commits, server, backend))
    out: dict[str, Any] = {"runs": len(points)}
    sxx = sum(c * c for c, _, _, _ in points)
    sxy = sum(c * k for c, k, _, _ in points)
    syy = sum(k * k for _, k, _, _ in points)
    det = sxx * syy - sxy * sxy
    for name, column in (("server", 2), ("pg_backends", 3)):
        bx = sum(point[0] * point[column] for point in points)
        by = sum(point[1] * point[column] for point in points)
        if det <= 0 or len(points) < 3:
            continue
        per_change = (bx * syy - by * sxy) / det
        per_commit = (sxx * by - sxy * bx) / det
        residual = [point[column] - per_change * point[0] - per_commit * point[1]
                    for point in points]
        out[name] = {"us_per_change": per_change * 1e6, "ms_per_commit": per_commit * 1e3,
                     "residual_cpu_seconds": residual}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the play window")
    parser.add_argument("--pace", default="2.0",
                        help="seconds between two moves of one room (human pace: 2); a "
                             "comma-separated list alternates them run by run in each round")
    parser.add_argument("--humans", type=int, default=4, choices=range(1, 5),
                        help="scripted players per four-seat room (the rest are bots)")
    parser.add_argument("--runs", type=int, default=1,
                        help="rounds; each round runs every --pace once, in order")
    parser.add_argument("--idle-seconds", type=float, default=15.0)
    parser.add_argument("--settle", type=float, default=11.0,
                        help="seconds waited after setup and inside the play and sign-in windows "
                             "(PostgreSQL reports an idle backend's statistics up to 10 s late)")
    parser.add_argument("--signins", type=int, default=300)
    parser.add_argument("--signin-concurrency", type=int, default=10)
    parser.add_argument("--setup-concurrency", type=int, default=20)
    parser.add_argument("--bot-delay", type=float, default=0.05)
    parser.add_argument("--ttl", type=float, default=5.0, help="GAME_HEARTBEAT_TTL")
    parser.add_argument("--replay-games", default="crazy_eights,hearts")
    parser.add_argument("--replay-timeout", type=float, default=120.0)
    parser.add_argument("--replay-repeat", type=int, default=5)
    parser.add_argument("--takeover-timeout", type=float, default=60.0)
    parser.add_argument("--synthetic-rooms", type=int, default=250_000,
                        help="open rooms at production size (0: skip phase 8)")
    parser.add_argument("--synthetic-servers", type=int, default=100)
    parser.add_argument("--synthetic-closed", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432",
                        help="the PostgreSQL server (trust auth; a database is made and dropped)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--logs", default=None,
                        help="copy the servers' and Redis' logs of each run into this folder")
    args = parser.parse_args(argv)
    if args.servers < 1 or args.tables < 1 or args.runs < 1:
        parser.error("--servers, --tables and --runs must be at least 1")

    paces = [float(value) for value in str(args.pace).split(",") if value.strip()]
    runs = []
    number = 0
    for _ in range(args.runs):
        for index, pace in enumerate(paces):
            number += 1
            runs.append(asyncio.run(run_once(args, number, pace, extras=index == 0)))
    by_pace = {}
    for pace in paces:
        mine = [run for run in runs if run["pace"] == pace]
        by_pace[f"{pace:g}"] = medians(mine)
    result = {
        "command": "python -m bench.scaling " + " ".join(argv if argv is not None
                                                         else sys.argv[1:]),
        "commit": source_commit(),
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "args": vars(args),
        "median": by_pace[f"{paces[0]:g}"] if len(paces) == 1 else by_pace,
        "extras_median": medians([run for run in runs if run.get("replay") or run.get("synthetic")]
                                 or runs),
        "fit": fit(runs),
        "runs": runs,
    }
    out = Path(args.out) if args.out else RESULTS / f"scaling-{args.tables}x{args.servers}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rnd(result), indent=1, sort_keys=False) + "\n")
    print(json.dumps(rnd({"median": result["median"], "fit": result["fit"]}), indent=1))
    log(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
