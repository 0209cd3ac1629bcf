"""Crash recovery with a real server process: kill -9 mid-game, restart, nothing seen is lost.

A game of Crazy Eights, and a Hearts match killed in the middle of a deal (after the pass, a
few tricks in); after the restart the players rejoin to the same hands, trick and turn, the
seq goes on, and the game is played to its end. Runs on SQLite and on PostgreSQL (the
`database_url` fixture).
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
            if choose(table) is None:
                continue
            if moves >= 6:
                acknowledged = await client.request({"msg": "move", "move": {"type": "take"}})
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
    for key in ("status", "owner", "players", "to_act"):
        assert back[other_name]["table"][key] == acknowledged["table"][key], key
    public = ("pile", "deck", "turn", "suit", "cards")
    for key in public:
        assert (back[other_name]["table"]["game_state"][key]
                == acknowledged["table"]["game_state"][key]), key
    assert (back[other_name]["table"]["game_state"]["hand"]
            == seen[other_name]["table"]["game_state"]["hand"])
    for name in ("Ann", "Bob"):
        # seq went on: the restart marked both players disconnected, and each came back.
        assert back[name]["seq"] > acknowledged["seq"] >= seen[name]["seq"]
    assert (acknowledged["event"]["move"]["card"]
            in back[mover_name]["table"]["game_state"]["hand"])

    finals = await play_to_end([ann, bob], room)
    assert all(state["table"]["status"] == "finished" for state in finals)
    for client in (ann, bob):
        check_all(client)
        await client.close()


def _hearts_moment(table: dict) -> bool:
    """Ann (seat 0, player 0) is to play a few tricks into a deal, not last to the trick: her
    play leaves the turn with Bob (player 1), so no bot can move after it."""
    state = table["game_state"]
    return (table["status"] == "playing" and table["to_act"] == [0]
            and state["phase"] == "play" and len(state["hand"]) <= 10
            and state["last_trick"] is not None and len(state["trick"]) < 3)


@pytest.mark.timeout(240)
async def test_kill_9_in_the_middle_of_a_hearts_deal(server_process):
    server = server_process
    server.env["GAME_BOT_DELAY"] = "0.01"
    server.start()
    ann, bob = await connect(server, "Ann"), await connect(server, "Bob")
    room = (await ann.request({"msg": "create", "game": "hearts", "name": "durable"}))["room"]
    await bob.request({"msg": "join", "room": room})
    await ann.request({"msg": "add_bot"})
    await ann.request({"msg": "add_bot"})  # seats 2 and 3: the match starts
    await until_state(ann, lambda s: s["table"]["status"] == "playing")

    # Pass, then play until Ann is to play a few tricks in; her play is acknowledged, and
    # the turn is then Bob's, so nothing can happen between the acknowledgement and the kill.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    acted: dict[str, int] = {}
    acknowledged = None
    while acknowledged is None:
        assert loop.time() < deadline, "never came to the moment to kill the server"
        await asyncio.sleep(0.01)
        for name, client in (("Ann", ann), ("Bob", bob)):
            state = latest_state(client, room)
            move = choose(state["table"])
            if move is None or acted.get(name) == state["seq"]:
                continue
            acted[name] = state["seq"]
            if client is ann and _hearts_moment(state["table"]):
                played = move["move"]["card"]
                acknowledged = await ann.request(move)
                break
            await client.request(move)
    after = acknowledged["table"]
    assert after["to_act"] == [1] and played not in after["game_state"]["hand"]
    assert {"player": 0, "card": played} in after["game_state"]["trick"]
    server.kill()
    seen = {"Ann": latest_state(ann, room), "Bob": latest_state(bob, room)}
    await asyncio.gather(ann.close(), bob.close())

    server.start()
    ann, bob = await connect(server, "Ann"), await connect(server, "Bob")
    back = {"Ann": await ann.request({"msg": "join", "room": room}),
            "Bob": await bob.request({"msg": "join", "room": room})}
    # Ann's view is the acknowledged one: her hand, the trick with her card, Bob's turn.
    assert comparable(back["Ann"]["table"]) == comparable(after)
    assert back["Ann"]["event"] == {"type": "connect", "seat": 0}
    # Bob may not have received Ann's play before the kill, but it was committed before it
    # was sent to anyone: he sees it now, with his own hand as he last saw it.
    bob_view = back["Bob"]["table"]
    for key in ("status", "owner", "players", "to_act"):
        assert bob_view[key] == after[key], key
    mine = {k: v for k, v in after["game_state"].items() if k != "hand"}
    assert {k: v for k, v in bob_view["game_state"].items() if k != "hand"} == mine
    assert bob_view["game_state"]["hand"] == seen["Bob"]["table"]["game_state"]["hand"]
    assert bob_view["game_state"]["turn"] == 1 and bob_view["to_act"] == [1]
    # seq went on from the acknowledged play: the restart marked both players
    # disconnected, and each came back.
    assert back["Bob"]["seq"] > back["Ann"]["seq"] > acknowledged["seq"] >= seen["Bob"]["seq"]
    assert back["Ann"]["seq"] == acknowledged["seq"] + 3

    finals = await play_to_end([ann, bob], room, timeout=120, max_moves=5000)
    for state in finals:
        table = state["table"]
        assert table["status"] == "finished" and max(table["game_state"]["scores"]) >= 100
        assert table["result"]["detail"]["deals"] == table["game_state"]["deal"]
    for client in (ann, bob):
        check_all(client)
        seqs = [m["seq"] for m in client.received if m.get("msg") == "state"]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "seq rises by one"
        await client.close()
