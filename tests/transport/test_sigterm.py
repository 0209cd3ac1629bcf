"""SIGTERM with a real server process (one server, no Redis): every open session gets a close
frame with a code and a reason, what was committed and what the shutdown itself changed is in
the move log, and the process exits with status 0 within GAME_DRAIN_SECONDS.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time

import pytest

from game_server import tokens
from game_server.client import ConnectionClosed, GameClient, choose
from game_server.server import CLOSE_SHUTDOWN
from game_server.storage.db import make_engine
from game_server.storage.migrate import upgrade
from game_server.storage.movelog import MoveLog
from game_server.storage.users import UserStore
from game_server.tables import Table

from sockjs_helpers import create_room, latest_state, until_state
from test_recovery import ServerProcess, connect

DRAIN_SECONDS = 5.0


@pytest.fixture
def server_process(tmp_path):
    url = f"sqlite:///{tmp_path}/game.db"
    upgrade(url)
    engine = make_engine(url)
    users = UserStore(engine)
    server = ServerProcess(tmp_path, url)
    server.env.update(GAME_DRAIN_SECONDS=str(DRAIN_SECONDS), GAME_BOT_DELAY="0.05",
                      GAME_ADMIN_PORT="0", GAME_METRICS="off")
    server.users = {name: users.add(name).id for name in ("Ann", "Bob", "Carl")}
    engine.dispose()
    yield server
    server.stop()


def open_rooms(server: ServerProcess) -> dict[str, list]:
    engine = make_engine(server.env["GAME_DATABASE_URL"])
    log = MoveLog(engine, server.env["GAME_SERVER_ID"])
    try:
        return {room.id: (room, actions) for room, actions in log.load_open_rooms()}
    finally:
        log.close()
        engine.dispose()


async def closed(client: GameClient) -> tuple[int | None, str | None]:
    """Read until the session ends; the server's close code and reason."""
    try:
        while True:
            await client.next_message(timeout=DRAIN_SECONDS + 5)
    except ConnectionClosed as end:
        return end.code, end.reason


async def test_sigterm_closes_every_session_with_a_reason_and_loses_no_commit(server_process):
    server = server_process
    server.start()
    ann, bob = await connect(server, "Ann"), await connect(server, "Bob")
    carl = await GameClient.connect(server.url, transport="xhr-streaming")
    await carl.auth(tokens.issue_token(server.keyring, server.users["Carl"]))
    room = await create_room(ann, "to be stopped", 2)
    await bob.request({"msg": "join", "room": room})
    await carl.request({"msg": "join", "room": room, "as": "spectator"})
    await until_state(ann, lambda s: s["table"]["status"] == "playing")

    # A move acknowledged just before SIGTERM.
    acknowledged = None
    while acknowledged is None:
        await asyncio.sleep(0.02)
        for client in (ann, bob):
            move = choose(latest_state(client, room)["table"])
            if move is not None:
                acknowledged = await client.request(move)
                break
    # ... and one sent with SIGTERM on its heels, not waited for.
    other = bob if client is ann else ann
    await until_state(other, lambda s: s["seq"] >= acknowledged["seq"])
    late = choose(latest_state(other, room)["table"])
    if late is not None:
        other.send(late)
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)

    ends = await asyncio.gather(closed(ann), closed(bob), closed(carl))
    assert ends == [CLOSE_SHUTDOWN] * 3
    try:
        status = server.process.wait(DRAIN_SECONDS + 1)
    except subprocess.TimeoutExpired:
        pytest.fail("the server did not exit within GAME_DRAIN_SECONDS")
    assert status == 0
    assert time.monotonic() - signalled < DRAIN_SECONDS
    for client in (ann, bob, carl):
        await client.close()

    info, actions = open_rooms(server)[room]
    seen = max(message["seq"] for client in (ann, bob, carl) for message in client.received
               if message.get("msg") == "state")
    seqs = [action.seq for action in actions]
    # Everything anyone saw was committed, the acknowledged move among it ...
    assert seen in seqs and acknowledged["seq"] in seqs
    moved = next(a for a in actions if a.seq == acknowledged["seq"])
    assert moved.name == "move"
    # ... and so were the changes the shutdown made after it: both seats disconnected, the
    # spectator gone.
    after = sorted(a.name for a in actions if a.seq > seen and a.name != "move")
    assert after == ["disconnect", "disconnect", "unwatch"]
    table = Table.replay(info.id, info.name, info.game, info.seats, actions)
    assert not any(seat.connected for seat in table.seats if seat is not None)
    log = (server.cwd / "server.log").read_text()
    assert "Traceback" not in log and "ERROR" not in log
