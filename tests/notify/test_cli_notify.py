"""`game-server notify` as an operator runs it: against a real `game-server serve --dev` (its
admin endpoint), through Redis, and when nothing can be reached."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import redis.asyncio

from game_server.client import GameClient, dev_login


def environment(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAME_")}
    env.update(settings)
    return env


async def game_server(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run `game-server ARGS...`; returns (exit status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "game_server", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode, out.decode(), err.decode()


class Serving:
    """`game-server serve --dev` in a folder of its own."""

    def __init__(self, folder: Path, port: int, admin_port: int,
                 database: Path | None = None, **settings: str) -> None:
        """`database`: a migrated SQLite file to start from (a copy), else migrate;
        `settings`: more GAME_* variables."""
        self.folder = folder
        self.url = f"http://127.0.0.1:{port}"
        self.env = environment(GAME_DATABASE_URL=f"sqlite:///{folder}/game.db",
                               GAME_ADMIN_PORT=str(admin_port), GAME_BOT_DELAY="0", **settings)
        self.log = folder / "server.log"
        if database is not None:
            shutil.copy(database, folder / "game.db")
        else:
            subprocess.run([sys.executable, "-m", "game_server", "migrate"], cwd=folder,
                           env=self.env, check=True, capture_output=True, timeout=60)
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "game_server", "serve", "--dev", "--port", str(port)],
                cwd=folder, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    async def started(self) -> None:
        deadline = time.monotonic() + 20
        while True:
            assert self.process.poll() is None, self.log.read_text()
            try:
                await asyncio.to_thread(urllib.request.urlopen, self.url + "/config.json", None, 1)
                return
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                await asyncio.sleep(0.05)

    def stop(self) -> str:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.log.read_text()


async def test_notify_reaches_a_user_of_a_running_server(tmp_path, unused_port):
    admin_port = unused_port()
    server = Serving(tmp_path, unused_port(), admin_port)
    second = None
    clients: list[GameClient] = []
    try:
        await server.started()
        # A second server on this machine that asks for the same admin port runs on without it.
        (tmp_path / "second").mkdir()
        second = Serving(tmp_path / "second", unused_port(), admin_port, tmp_path / "game.db")
        await second.started()
        users = {}
        for name in ("Ann", "Bob"):
            token, user = await dev_login(server.url, name)
            client = await GameClient.connect(server.url)
            await client.auth(token)
            clients.append(client)
            users[name] = (user["id"], client)
        ann_id, ann = users["Ann"]
        _, bob = users["Bob"]
        env = {**server.env, "GAME_DATABASE_URL": "sqlite:///nowhere.db"}

        invite = {"room": "Vq3xK9_pL2wT", "game": "hearts", "from": {"id": 9, "name": "Cy"}}
        status, out, err = await game_server("notify", "--user", str(ann_id), "--kind",
                                             "invite", json.dumps(invite), env=env)
        assert (status, err) == (0, ""), err
        assert out == f"sent a 'invite' notification to user {ann_id} (connected now)\n"
        got = await ann.wait_for(lambda m: m.get("msg") == "notify", 5)
        assert got == {"msg": "notify", "kind": "invite", "data": invite}

        status, out, err = await game_server("notify", "--all", '{"text": "Restart at 6"}',
                                             env=env)
        assert status == 0, err
        for client in (ann, bob):
            got = await client.wait_for(lambda m: m.get("msg") == "notify", 5)
            assert got == {"msg": "notify", "kind": "message", "data": {"text": "Restart at 6"}}
        assert [m["kind"] for m in bob.received if m.get("msg") == "notify"] == ["message"]

        # Refused before anything is sent: a bad kind, data that is not JSON, no target.
        status, _, err = await game_server("notify", "--all", "--kind", "Bad", "{}", env=env)
        assert status == 2 and "kind must be 1 to 40 characters" in err
        status, _, err = await game_server("notify", "--all", "{nope", env=env)
        assert status == 2 and "the data is not JSON" in err
        status, _, err = await game_server("notify", "{}", env=env)
        assert status == 2 and "one of the arguments --user --all is required" in err
        await asyncio.sleep(0.1)
        assert ann.drain() == [] and bob.drain() == []
    finally:
        for client in clients:
            await client.close()
        log = server.stop()
        second_log = second.stop() if second is not None else ""
    assert "Traceback" not in log and " ERROR " not in log, log
    assert f"local admin endpoint (POST /notify) on http://127.0.0.1:{admin_port}/" in log
    assert f"no local admin endpoint: cannot listen on 127.0.0.1:{admin_port}" in second_log
    assert "Traceback" not in second_log and " ERROR " not in second_log, second_log


async def test_notify_without_a_server_says_so_and_fails(unused_port):
    port = unused_port()
    status, out, err = await game_server("notify", "--user", "1", '{"text": "hi"}',
                                         env=environment(GAME_ADMIN_PORT=str(port)))
    assert status == 1 and out == ""
    assert err == (f"game-server: no game server listening on 127.0.0.1:{port} "
                   f"(GAME_ADMIN_PORT)\n")
    status, _, err = await game_server("notify", "--all", "{}",
                                       env=environment(GAME_ADMIN_PORT="0"))
    assert status == 1 and "GAME_ADMIN_PORT is 0 and GAME_REDIS_URL is unset" in err


async def test_notify_goes_through_redis_to_a_server_that_subscribed(tmp_path, unused_port,
                                                                    redis_url, prefix):
    # No admin endpoint anywhere: only Redis can carry it, to the server's one subscription.
    server = Serving(tmp_path, unused_port(), 0, GAME_REDIS_URL=redis_url,
                     GAME_REDIS_PREFIX=prefix)
    client = None
    try:
        await server.started()
        token, user = await dev_login(server.url, "Ann")
        client = await GameClient.connect(server.url)
        await client.auth(token)
        status, _, err = await game_server("notify", "--user", str(user["id"]), "--kind",
                                           "ping", "[1, 2]", env=server.env)
        assert status == 0, err
        got = await client.wait_for(lambda m: m.get("msg") == "notify", 5)
        assert got == {"msg": "notify", "kind": "ping", "data": [1, 2]}
    finally:
        if client is not None:
            await client.close()
        log = server.stop()
        # The server's directory entries (its heartbeat, the index) are this test's to remove.
        cleaner = redis.asyncio.Redis.from_url(redis_url)
        try:
            keys = [key async for key in cleaner.scan_iter(match=prefix + "*")]
            if keys:
                await cleaner.delete(*keys)
        finally:
            await cleaner.aclose()
    assert "Traceback" not in log and " ERROR " not in log, log


async def test_notify_says_when_redis_is_down(unused_port):
    port = unused_port()
    status, _, err = await game_server(
        "notify", "--all", "{}",
        env=environment(GAME_REDIS_URL=f"redis://:pw@127.0.0.1:{port}/0"))
    assert status == 1
    assert f"Redis at 127.0.0.1:{port} (GAME_REDIS_URL) is unavailable" in err
    assert "pw" not in err
