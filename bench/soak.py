"""Soak: many bot-driven clients play while others misbehave; then check nothing was hurt.

    python -m bench.soak --clients 300 --seconds 120        # make soak
    python -m bench.soak --clients 40 --seconds 15          # tests/bench/test_soak.py

One `game-server serve --dev` subprocess (SQLite in a temporary folder, or --database-url),
on 127.0.0.1 only. The clients (`game_server.client.GameClient`, on every transport it has:
websocket, xhr-streaming, xhr-polling) take roles:

- players, in rooms of 2 to 4 seats: one creates the room, the others join, everyone plays
  (`client.choose`) to the end, the owner deals again, until time is up; some of them reload
  now and then (close, open a new connection, `auth` with the newest token, `join` the room,
  with `since` when the server's schema has it);
- churn: connect, sometimes sign in, look at the lobby or watch a room, disconnect;
- flood: send `room_list` far faster than the rate limit until the server closes (4002);
- slow readers: a raw WebSocket (`/sockjs/websocket`) asks for the lobby many times and
  reads nothing for a while;
- garbage: invalid JSON, wrong types, unknown fields, huge ids, deep nesting, too long
  messages, bad names, moves out of turn.

Then, bounded in time: every player finishes its game and leaves; the checks are
- every room's move log replays (`Table.replay`) and every finished game replays to its
  recorded winner and scores (`history.reveal`);
- no table got stuck (no room in a game without a `state` for STUCK_SECONDS while its players
  waited) and every room the players left ended finished or waiting;
- every game in the database is finished (none left `playing`);
- players got no error at all, and the misbehaving roles only the codes they provoke;
- the server's log has no ERROR, CRITICAL or Traceback line but the EXPECTED_ERRORS;
- the server's RSS after the clients left and a settle time is within --rss-tolerance of the
  baseline measured after warm-up (reported always; asserted with --check-rss).

Prints a summary as JSON (and writes it with --out); exit status 1 when a check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tornado.websocket import websocket_connect

from bench.targets import ProcStats, _wait_listening, free_port, raise_open_files
from game_server.client import (TRANSPORTS, ConnectionClosed, GameClient, ServerError, choose,
                                dev_login)

ROOT = Path(__file__).resolve().parents[1]
#: Seconds a room in a game may go without a `state` while a player waits in it.
STUCK_SECONDS = 15.0
#: ERROR lines the server may log under this load (regular expressions); none so far.
EXPECTED_ERRORS: tuple[str, ...] = ()
#: Error codes each role may get; players none.
EXPECTED_CODES = {
    "player": set(),
    "churn": set(),
    "flood": {"rate_limited"},
    "slow": {"rate_limited"},
    "garbage": {"bad_json", "bad_message", "too_large", "auth_required", "invalid_token",
                "not_in_room", "no_such_room", "rate_limited", "already_authenticated"},
}
#: SockJS close codes each role may see from the server.
EXPECTED_CLOSES = {"flood": {4002}, "slow": {4004, 4002}, "garbage": {4001, 4002}}


def _join_has_since() -> bool:
    schema = json.loads((ROOT / "schema" / "client" / "join.json").read_text())
    return "since" in schema.get("properties", {})


@dataclass
class Stats:
    errors: dict[str, collections.Counter] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter))
    closes: dict[str, collections.Counter] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter))
    unexpected: list[str] = field(default_factory=list)
    moves: int = 0
    games_finished: int = 0
    reloads: int = 0
    resumed_events: int = 0
    connections: collections.Counter = field(default_factory=collections.Counter)
    stuck: list[str] = field(default_factory=list)
    rooms: dict[str, str] = field(default_factory=dict)  # room id -> last status seen

    def note(self, role: str, problem: str) -> None:
        if len(self.unexpected) < 200:
            self.unexpected.append(f"{role}: {problem}")

    def count(self, role: str, client: GameClient) -> None:
        """Count the errors and the close of one finished connection."""
        for message in client.received:
            if message.get("msg") == "error":
                code = message.get("code")
                self.errors[role][code] += 1
                if code not in EXPECTED_CODES[role]:
                    self.note(role, f"error {code}: {message.get('text')}")
        if client.close_reason and client.close_reason[0] is not None:
            code = client.close_reason[0]
            self.closes[role][code] += 1
            if code not in EXPECTED_CLOSES.get(role, set()):
                self.note(role, f"closed {client.close_reason}")


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stats = Stats()
        self.rng = random.Random(args.seed)
        self.base = ""
        self.deadline = 0.0
        self.hard_deadline = 0.0
        self.since = _join_has_since()
        self.rss_samples: list[int] = []
        self.process: subprocess.Popen | None = None

    # --- the server ----------------------------------------------------------------------

    async def start_server(self, workdir: Path) -> None:
        from game_server.storage.migrate import upgrade
        url = self.args.database_url or f"sqlite:///{workdir / 'soak.db'}"
        self.url = url
        await asyncio.get_running_loop().run_in_executor(None, upgrade, url)
        port = free_port()
        self.server_id = f"soak-{os.getpid()}-{int(time.time())}"
        env = {key: value for key, value in os.environ.items() if not key.startswith("GAME_")}
        env.update({"GAME_DATABASE_URL": url, "GAME_SERVER_ID": self.server_id,
                    "GAME_BOT_DELAY": "0.2", "GAME_GRACE_SECONDS": "5",
                    "GAME_CONNECTIONS_PER_ADDRESS": "0", "GAME_ADMIN_PORT": "0",
                    "GAME_METRICS": "off", "GAME_DRAIN_SECONDS": "5"})
        command = shutil.which("game-server", path=str(Path(sys.executable).parent))
        self.log_path = workdir / "server.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [command or "game-server", "serve", "--dev", "--port", str(port)],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
        await _wait_listening(self.process, port, "game-server")
        self.base = f"http://127.0.0.1:{port}"

    def rss(self) -> int:
        """VmRSS of the server in bytes."""
        with open(f"/proc/{self.process.pid}/status") as file:
            for line in file:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    async def sample_rss(self) -> None:
        while True:
            self.rss_samples.append(self.rss())
            await asyncio.sleep(0.5)

    def stop_server(self) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    # --- helpers -------------------------------------------------------------------------

    async def connect(self, role: str, transport: str | None = None) -> GameClient:
        transport = transport or self.rng.choice(TRANSPORTS)
        self.stats.connections[transport] += 1
        return await GameClient.connect(self.base, transport=transport, timeout=15)

    def time_left(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()

    # --- players -------------------------------------------------------------------------

    async def group(self, index: int, size: int, tokens: list[str]) -> None:
        """`size` players at one room: the first creates it, the others join."""
        room: asyncio.Future = asyncio.get_running_loop().create_future()
        outcomes = await asyncio.gather(*(self.player(index, seat, size, tokens[seat], room)
                                          for seat in range(size)), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                self.stats.note("player", f"group {index}: {type(outcome).__name__} {outcome}")

    async def player(self, group: int, seat: int, size: int, token: str,
                     room_future: asyncio.Future) -> None:
        role = "player"
        transport = TRANSPORTS[(group + seat) % len(TRANSPORTS)]
        reloader = self.rng.random() < 0.3
        loop = asyncio.get_running_loop()
        client = await self.connect(role, transport)
        try:
            await client.auth(token)
            if seat == 0:
                state = await client.request({"msg": "create", "game": "crazy_eights",
                                              "name": f"soak {group}", "seats": size})
                room = state["room"]
                room_future.set_result(room)
            else:
                room = await asyncio.wait_for(asyncio.shield(room_future), 30)
                state = await client.request({"msg": "join", "room": room})
            seq = state["seq"]
            table = state["table"]
            last_change = loop.time()
            next_reload = loop.time() + self.rng.uniform(2, 8)
            started_games = 0
            while True:
                now = loop.time()
                if table["status"] != "playing" and (now > self.deadline
                                                     or now > self.hard_deadline):
                    break
                if now > self.hard_deadline:
                    self.stats.note(role, f"room {room} still playing at the hard deadline")
                    break
                if reloader and now > next_reload and table["status"] == "playing":
                    # A page reload: the seat is kept; join again with what we saw last.
                    next_reload = now + self.rng.uniform(3, 8)
                    token = client.token or token
                    self.stats.count(role, client)
                    await client.close()
                    self.stats.reloads += 1
                    await asyncio.sleep(self.rng.uniform(0, 0.5))
                    client = await self.connect(role, transport)
                    await client.auth(token)
                    state = await self.rejoin(client, room, seq)
                    table, seq = state["table"], state["seq"]
                    last_change = loop.time()
                if seat == 0 and table["status"] == "finished" and now < self.deadline:
                    self.stats.games_finished += 1
                    await asyncio.sleep(self.rng.uniform(0, 0.3))
                    try:
                        state = await client.request({"msg": "start"})
                        table, seq = state["table"], state["seq"]
                        started_games += 1
                        last_change = loop.time()
                    except ServerError as error:
                        # The others leave a finished room once the load's time is up: a start
                        # sent just before that, answered just after, finds too few players.
                        if not (error.code == "game_not_started"
                                and loop.time() >= self.deadline):
                            self.stats.note(role, f"start refused: {error}")
                        break
                move = choose(table)
                if move is not None:
                    try:
                        state = await client.request(move, timeout=STUCK_SECONDS)
                        self.stats.moves += 1
                        table, seq = state["table"], max(seq, state["seq"])
                        last_change = loop.time()
                        continue
                    except ServerError as error:
                        self.stats.note(role, f"move {move['move']} refused: {error}")
                try:
                    message = await client.wait_for(lambda m: m.get("msg") == "state", 1.0)
                except asyncio.TimeoutError:
                    if table["status"] == "playing" and loop.time() - last_change > STUCK_SECONDS:
                        self.stats.stuck.append(f"room {room}: no state for {STUCK_SECONDS} s "
                                                f"(to_act {table['to_act']}, you {table['you']})")
                        break
                    continue
                for newer in [message] + client.drain():
                    if newer.get("msg") == "state" and newer["seq"] >= seq:
                        table, seq = newer["table"], newer["seq"]
                        last_change = loop.time()
            self.stats.rooms[room] = table["status"]
            await client.request({"msg": "leave"})
        except (ServerError, ConnectionClosed, asyncio.TimeoutError) as error:
            self.stats.note(role, f"group {group} seat {seat} ({transport}): "
                                  f"{type(error).__name__} {error}")
        finally:
            self.stats.count(role, client)
            await client.close()

    async def rejoin(self, client: GameClient, room: str, seq: int) -> dict[str, Any]:
        """`join` the room again, with `since` when the server has it: the missed events
        (`event` messages with our `re`, in seq order, after `since`) come before the `state`.
        """
        join: dict[str, Any] = {"msg": "join", "room": room, "id": "rejoin"}
        if self.since:
            join["since"] = seq
        client.send(join)
        last = seq
        while True:
            message = await client.wait_for(lambda m: m.get("re") == "rejoin", 10)
            if message.get("msg") == "error":
                raise ServerError(message)
            if message.get("msg") == "event":
                self.stats.resumed_events += 1
                if message["seq"] <= last:
                    self.stats.note("player", f"room {room}: resumed event {message['seq']} "
                                              f"after {last}")
                last = message["seq"]
                continue
            if message.get("msg") == "state":
                if message["seq"] < last:
                    self.stats.note("player", f"room {room}: state {message['seq']} older "
                                              f"than its events ({last})")
                return message

    # --- misbehaving clients -------------------------------------------------------------

    async def churn(self, index: int, token: str) -> None:
        while self.time_left() > 0:
            client = await self.connect("churn")
            try:
                if self.rng.random() < 0.8:
                    await client.auth(token)
                    reply = await client.request({"msg": "room_list"})
                    rooms = [room for room in reply["rooms"] if room["status"] == "playing"]
                    if rooms and self.rng.random() < 0.5:
                        room = self.rng.choice(rooms)["id"]
                        try:
                            await client.request({"msg": "join", "room": room,
                                                  "as": "spectator"})
                        except ServerError as error:
                            if error.code != "no_such_room":  # it may just have closed
                                raise
                            client.received = [m for m in client.received
                                               if m.get("code") != "no_such_room"]
                await asyncio.sleep(self.rng.uniform(0.1, 2.0))
            except (ServerError, ConnectionClosed, asyncio.TimeoutError) as error:
                self.stats.note("churn", f"{type(error).__name__} {error}")
            finally:
                self.stats.count("churn", client)
                await client.close()

    async def flood(self, index: int, token: str) -> None:
        while self.time_left() > 0:
            client = await self.connect("flood")
            try:
                await client.auth(token)
                loop = asyncio.get_running_loop()
                until = loop.time() + min(8.0, max(self.time_left(), 0.5))
                sent = 0
                while loop.time() < until and client.close_reason is None:
                    # 40 messages per SockJS frame: over HTTP one xhr_send at a time is
                    # in flight, so single messages would barely pass the limit.
                    batch = [json.dumps({"msg": "room_list", "id": sent + n}) for n in range(40)]
                    client.send_raw(json.dumps(batch))
                    sent += 40
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)
            except ConnectionClosed:
                pass
            except (ServerError, asyncio.TimeoutError) as error:
                self.stats.note("flood", f"{type(error).__name__} {error}")
            finally:
                self.stats.count("flood", client)
                await client.close()
            await asyncio.sleep(self.rng.uniform(0.5, 2.0))

    async def slow(self, index: int, token: str) -> None:
        """A raw WebSocket that asks for the lobby and reads nothing for a while.

        Tornado's client stops reading the socket once one message waits unread, so the
        server's output piles up in the kernel's buffers and then in the server.
        """
        url = self.base.replace("http://", "ws://") + "/sockjs/websocket"
        while self.time_left() > 0:
            self.stats.connections["raw-websocket"] += 1
            ws = await websocket_connect(url, max_message_size=1 << 20)
            try:
                ws.write_message(json.dumps({"msg": "auth", "protocol": 2, "token": token,
                                             "id": 0}))
                for number in range(1, 1 + self.rng.randrange(20, 120)):
                    await ws.write_message(json.dumps({"msg": "room_list", "id": number}))
                    await asyncio.sleep(0.06)
                await asyncio.sleep(self.rng.uniform(2.0, 6.0))  # reads nothing
                # Then reads what is there, for a moment.
                loop = asyncio.get_running_loop()
                until = loop.time() + 1.0
                while loop.time() < until:
                    try:
                        text = await asyncio.wait_for(ws.read_message(), 0.5)
                    except asyncio.TimeoutError:
                        break
                    if text is None:
                        if ws.close_code not in (None, 1000) | EXPECTED_CLOSES["slow"]:
                            self.stats.note("slow", f"closed {ws.close_code} {ws.close_reason}")
                        elif ws.close_code is not None and ws.close_code != 1000:
                            self.stats.closes["slow"][ws.close_code] += 1
                        break
                    message = json.loads(text)
                    if message.get("msg") == "error":
                        self.stats.errors["slow"][message.get("code")] += 1
                        if message.get("code") not in EXPECTED_CODES["slow"]:
                            self.stats.note("slow", f"error {message}")
            except Exception as error:  # noqa: BLE001 - a soak reports, it does not stop
                self.stats.note("slow", f"{type(error).__name__} {error}")
            finally:
                ws.close()

    async def garbage(self, index: int, token: str) -> None:
        bad_frames = ["not json", "[", '{"msg": "auth"}', "[1, 2]", '["{"]', "[null]",
                      json.dumps(["[" * 5000 + "]" * 5000])]
        bad_messages: list[Any] = [
            {"msg": "dance"}, {"msg": "join"}, {"msg": "join", "room": 7},
            {"msg": "join", "room": "ZZZZZZZZ"}, {"msg": "create", "game": "poker", "name": "x"},
            {"msg": "create", "game": "crazy_eights", "name": "a\u0000b"},
            {"msg": "create", "game": "crazy_eights", "name": "\u202eevil"},
            {"msg": "room_list", "id": 2 ** 64}, {"msg": "room_list", "id": -(2 ** 70)},
            {"msg": "room_list", "id": 1.5}, {"msg": "room_list", "colour": "red"},
            {"msg": "move", "move": {"type": "put", "card": "QX"}}, {"msg": "take"},
            {"msg": "leave"}, {"msg": "auth", "protocol": 2, "token": "garbage"},
            {"msg": "room_list", "id": "x" * 5000}, [], "text", None, 12,
        ]
        while self.time_left() > 0:
            client = await self.connect("garbage")
            try:
                # Before signing in: everything but auth is auth_required.
                for frame in self.rng.sample(bad_frames, 3):
                    client.send_raw(frame)
                client.send({"msg": "room_list"})
                await client.auth(token)
                for message in self.rng.sample(bad_messages, 8):
                    client.send_raw(json.dumps([json.dumps(message)]))
                    await asyncio.sleep(0.05)
                # Still answered after all that.
                await client.request({"msg": "room_list"})
                await asyncio.sleep(self.rng.uniform(0.2, 1.0))
            except (ServerError, ConnectionClosed, asyncio.TimeoutError) as error:
                self.stats.note("garbage", f"{type(error).__name__} {error}")
            finally:
                self.stats.count("garbage", client)
                await client.close()

    # --- the run -------------------------------------------------------------------------

    def roles(self) -> dict[str, int]:
        total = self.args.clients
        counts = {"churn": max(1, total * 12 // 100), "flood": max(1, total * 5 // 100),
                  "slow": max(1, total * 5 // 100), "garbage": max(1, total * 8 // 100)}
        counts["player"] = max(2, total - sum(counts.values()))
        return counts

    async def warm_up(self) -> None:
        """A few games against bots on every transport, so the baseline is not a cold one."""
        async def one(number: int) -> None:
            token, _ = await dev_login(self.base, f"soak-warm-{number}")
            client = await self.connect("player", TRANSPORTS[number % len(TRANSPORTS)])
            try:
                await client.auth(token)
                await client.request({"msg": "create", "game": "crazy_eights",
                                      "name": f"warm {number}", "seats": 2})
                state = await client.request({"msg": "add_bot"})
                while state["table"]["status"] != "finished":
                    move = choose(state["table"])
                    if move is not None:
                        state = await client.request(move)
                        continue
                    state = await client.wait_for(lambda m: m.get("msg") == "state", 20)
                    for newer in client.drain():
                        if newer.get("msg") == "state":
                            state = newer
                await client.request({"msg": "leave"})
            finally:
                self.stats.count("player", client)
                await client.close()
        await asyncio.gather(*(one(number) for number in range(3)))

    async def run(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        workdir = Path(tempfile.mkdtemp(prefix="soak-"))
        result: dict[str, Any] = {"clients": self.args.clients, "seconds": self.args.seconds,
                                  "join_since": self.since}
        try:
            started = loop.time()
            await self.start_server(workdir)
            await self.warm_up()
            await asyncio.sleep(self.args.settle / 2)
            baseline = min(self.rss() for _ in range(3))
            counts = self.roles()
            result["roles"] = counts
            names = {role: [f"soak-{role}-{i}" for i in range(count)]
                     for role, count in counts.items()}
            tokens = {}
            for role, role_names in names.items():
                logins = await asyncio.gather(*(dev_login(self.base, name)
                                                for name in role_names))
                tokens[role] = [token for token, _ in logins]
            sampler = asyncio.ensure_future(self.sample_rss())
            server_cpu, own_cpu = ProcStats(self.process.pid).cpu_seconds(), time.process_time()
            load_start = loop.time()
            self.deadline = load_start + self.args.seconds
            self.hard_deadline = self.deadline + self.args.finish_seconds
            tasks = []
            players = tokens["player"]
            index = group = 0
            while index < len(players):
                size = min(self.rng.choice((2, 3, 4)), len(players) - index)
                if size < 2:
                    break
                tasks.append(self.group(group, size, players[index:index + size]))
                index += size
                group += 1
            for role in ("churn", "flood", "slow", "garbage"):
                method = getattr(self, role)
                tasks += [method(i, token) for i, token in enumerate(tokens[role])]
            outcomes = await asyncio.wait_for(
                asyncio.gather(*tasks, return_exceptions=True),
                self.args.seconds + self.args.finish_seconds + 30)
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    self.stats.note("task", f"{type(outcome).__name__}: {outcome}")
            result["load_seconds"] = round(loop.time() - load_start, 1)
            # CPU seconds during the load: the server's, and this generator's own (when the
            # generator is near 100 % of a core, it is the limit, not the server).
            result["cpu_seconds"] = {
                "server": round(ProcStats(self.process.pid).cpu_seconds() - server_cpu, 1),
                "generator": round(time.process_time() - own_cpu, 1)}
            # The clients have left: let the server close sessions (disconnect_delay 5 s)
            # and settle, then take the lowest of a few readings.
            await asyncio.sleep(self.args.settle)
            end = []
            for _ in range(4):
                end.append(self.rss())
                await asyncio.sleep(0.25)
            sampler.cancel()
            peak = max(self.rss_samples + end)
            result["rss_mib"] = {"baseline": _mib(baseline), "peak": _mib(peak),
                                 "end": _mib(min(end)),
                                 "end_over_baseline": round(min(end) / baseline - 1, 3)}
            result["rss_ok"] = min(end) <= baseline * (1 + self.args.rss_tolerance)
            result["exit_code"] = self.stop_server()
            result.update(await loop.run_in_executor(None, self.check_database))
            result["server_error_lines"] = self.error_lines()
            result["elapsed_seconds"] = round(loop.time() - started, 1)
        finally:
            if self.process is not None and self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            if self.args.keep:
                result["workdir"] = str(workdir)
            else:
                shutil.rmtree(workdir, ignore_errors=True)
        stats = self.stats
        result.update({
            "moves_by_players": stats.moves, "reloads": stats.reloads,
            "resumed_events": stats.resumed_events,
            "connections": dict(stats.connections),
            "errors_by_code": {role: dict(codes) for role, codes in stats.errors.items()},
            "closes_by_code": {role: dict(codes) for role, codes in stats.closes.items()},
            "stuck": stats.stuck,
            "rooms_left": dict(collections.Counter(stats.rooms.values())),
            "unexpected": stats.unexpected,
        })
        result["failures"] = self.failures(result)
        return result

    def failures(self, result: dict[str, Any]) -> list[str]:
        failed = []
        if result.get("replay_failures"):
            failed.append(f"{len(result['replay_failures'])} rooms or games do not replay")
        if result.get("games_playing"):
            failed.append(f"{result['games_playing']} games left playing")
        if result["stuck"]:
            failed.append(f"{len(result['stuck'])} stuck tables")
        if set(result["rooms_left"]) - {"finished", "waiting"}:
            failed.append(f"rooms left in {result['rooms_left']}")
        if result["unexpected"]:
            failed.append(f"{len(result['unexpected'])} unexpected client outcomes")
        if result.get("server_error_lines"):
            failed.append(f"{len(result['server_error_lines'])} server ERROR lines")
        if not result.get("games_finished"):
            failed.append("no game finished")
        if self.args.check_rss and not result.get("rss_ok"):
            failed.append(f"RSS {result['rss_mib']}")
        return failed

    def error_lines(self) -> list[str]:
        lines = self.log_path.read_text(errors="replace").splitlines()
        found = [line for line in lines if " ERROR " in line or " CRITICAL " in line
                 or line.startswith("Traceback")]
        return [line for line in found
                if not any(re.search(pattern, line) for pattern in EXPECTED_ERRORS)][:50]

    def check_database(self) -> dict[str, Any]:
        """Replay every room of this server from the move log, and every finished game."""
        from sqlalchemy import func, select

        from game_server.history import reveal
        from game_server.storage import make_engine
        from game_server.storage.history import GameHistory
        from game_server.storage.models import Game, Room
        from game_server.storage.movelog import MoveLog
        from game_server.tables import Table

        engine = make_engine(self.url)
        failures: list[str] = []
        log = MoveLog(engine, self.server_id)
        try:
            # Open and closed rooms alike (load_room/load_open_rooms take open ones only).
            rooms = log._load(Room.server_id == self.server_id)
        finally:
            log.close()
        for info, actions in rooms:
            seqs = [action.seq for action in actions]
            if seqs != sorted(set(seqs)):
                failures.append(f"room {info.id}: seqs out of order or repeated")
            try:
                Table.replay(info.id, info.name, info.game, info.seats, actions)
            except Exception as error:  # noqa: BLE001 - reported, and the soak fails
                failures.append(f"room {info.id}: {type(error).__name__} {error}")
        history = GameHistory(engine)
        with engine.connect() as connection:
            statuses = dict(connection.execute(
                select(Game.status, func.count()).where(Game.server_id == self.server_id)
                .group_by(Game.status)).all())
            finished = list(connection.execute(
                select(Game.id).where(Game.server_id == self.server_id,
                                      Game.status == "finished")).scalars())
            room_statuses = dict(connection.execute(
                select(Room.status, func.count()).where(Room.server_id == self.server_id)
                .group_by(Room.status)).all())
        moves = 0
        for game_id in finished:
            try:
                record = reveal(history.game_record(game_id))
                moves += sum(1 for entry in record["moves"] if entry["kind"] == "move")
            except Exception as error:  # noqa: BLE001
                failures.append(f"game {game_id}: {type(error).__name__} {error}")
        engine.dispose()
        return {"rooms_replayed": len(rooms), "room_status": room_statuses,
                "game_status": statuses, "games_finished": len(finished),
                "games_playing": statuses.get("playing", 0),
                "moves_replayed": moves, "replay_failures": failures[:50]}


def _mib(value: int) -> float:
    return round(value / 2 ** 20, 1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=120.0,
                        help="seconds of load (then players finish their game, at most "
                             "--finish-seconds more)")
    parser.add_argument("--finish-seconds", type=float, default=60.0,
                        help="seconds players may take to finish their game after --seconds")
    # Sessions close 5 s after their clients (SockJS disconnect_delay), and the server gives
    # memory back within 5 s more (game_server/memory.py): 12 s sees both.
    parser.add_argument("--settle", type=float, default=12.0,
                        help="seconds after the clients left before RSS is read")
    parser.add_argument("--rss-tolerance", type=float, default=0.10)
    parser.add_argument("--check-rss", action="store_true",
                        help="fail when the end RSS is above baseline * (1 + tolerance)")
    parser.add_argument("--database-url", default=None,
                        help="default: a throwaway SQLite file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the server's folder")
    parser.add_argument("--out", type=Path)
    return parser


def run(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse `argv` (this module's command line), run the soak, return its summary."""
    args = _parser().parse_args(argv)
    raise_open_files()
    result = asyncio.run(Soak(args).run())
    if args.out:
        args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return result


def main(argv: list[str] | None = None) -> int:
    result = run(argv)
    print(json.dumps(result, indent=2, default=str))
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
