"""Crash recovery with a real server process: kill -9 mid-game, restart, nothing seen is lost.

Runs on SQLite and on PostgreSQL (the `database_url` fixture).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from game_server import tokens
from game_server.client import GameClient, choose
from game_server.storage.db import make_engine
from game_server.storage.migrate import upgrade
from game_server.storage.users import UserStore

from sockjs_helpers import check_all, create_room, latest_state, play_to_end, until_state


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """`game-server serve` in a subprocess, as an operator runs it."""

    def __init__(self, tmp_path, database_url: str) -> None:
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GAME_")}
        self.env.update(GAME_DATABASE_URL=database_url,
                        GAME_TOKEN_KEYS=tokens.generate_keyring_entry(1),
                        GAME_SERVER_ID="recovery-1", GAME_BOT_DELAY="0.05",
                        GAME_GRACE_SECONDS="60")
        self.keyring = tokens.parse_keys(self.env["GAME_TOKEN_KEYS"])
        self.cwd = tmp_path
        self.process: subprocess.Popen | None = None
        self.log = open(tmp_path / "server.log", "a")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "game_server", "serve", "--port", str(self.port)],
            cwd=self.cwd, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, "the server exited; see server.log"
            try:
                urllib.request.urlopen(self.url + "/config.json", timeout=1).read()
                return
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.05)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.log.close()


@pytest.fixture
def server_process(tmp_path, database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    users = UserStore(engine)
    server = ServerProcess(tmp_path, database_url)
    server.users = {name: users.add(name).id for name in ("Ann", "Bob")}
    engine.dispose()
    yield server
    server.stop()


def comparable(table: dict) -> dict:
    """A view without what a restart changes on purpose (who is connected)."""
    seats = [dict(seat, connected=None) if seat else None for seat in table["seats"]]
    return {**table, "seats": seats}


async def connect(server: ServerProcess, name: str) -> GameClient:
    client = await GameClient.connect(server.url)
    await client.auth(tokens.issue_token(server.keyring, server.users[name]))
    return client


async def test_kill_9_mid_game_loses_nothing_anyone_saw(server_process):
    server = server_process
    server.start()
    ann, bob = await connect(server, "Ann"), await connect(server, "Bob")
    room = await create_room(ann, "durable", 3)
    await bob.request({"msg": "join", "room": room})
    await ann.request({"msg": "add_bot"})
    await until_state(ann, lambda s: s["table"]["status"] == "playing")

    # Play a few turns, then stop on a take by a person: the turn stays with them, so no bot
    # move can happen between the acknowledgement and the kill.
    moves = 0
    acknowledged = None
    while acknowledged is None:
        await asyncio.sleep(0.02)
        for client in (ann, bob):
            table = latest_state(client, room)["table"]
            if table["status"] != "playing" or table["turn"] != table["you"]:
                continue
            if moves >= 6:
                acknowledged = await client.request({"msg": "take"})
                mover = client
            else:
                await client.request(choose(table))
                moves += 1
            break
    server.kill()
    seen = {"Ann": latest_state(ann, room), "Bob": latest_state(bob, room)}
    mover_name = "Ann" if mover is ann else "Bob"
    await asyncio.gather(ann.close(), bob.close())

    server.start()
    ann, bob = await connect(server, "Ann"), await connect(server, "Bob")
    back = {"Ann": await ann.request({"msg": "join", "room": room}),
            "Bob": await bob.request({"msg": "join", "room": room})}
    other_name = "Bob" if mover_name == "Ann" else "Ann"
    # The mover saw the acknowledged take; the other player may not have received it before
    # the kill, but the server committed it before sending it to anyone, so it is there.
    assert comparable(back[mover_name]["table"]) == comparable(acknowledged["table"])
    public = ("pile", "deck", "turn", "suit", "status", "owner")
    for key in public:
        assert back[other_name]["table"][key] == acknowledged["table"][key], key
    assert [s["cards"] for s in back[other_name]["table"]["seats"]] == [
        s["cards"] for s in acknowledged["table"]["seats"]]
    assert back[other_name]["table"]["hand"] == seen[other_name]["table"]["hand"]
    for name in ("Ann", "Bob"):
        # seq went on: the restart marked both players disconnected, and each came back.
        assert back[name]["seq"] > acknowledged["seq"] >= seen[name]["seq"]
    assert acknowledged["event"]["card"] in back[mover_name]["table"]["hand"]

    finals = await play_to_end([ann, bob], room)
    assert all(state["table"]["status"] == "finished" for state in finals)
    for client in (ann, bob):
        check_all(client)
        await client.close()
