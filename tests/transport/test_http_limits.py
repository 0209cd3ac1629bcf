"""The HTTP server's limits (issue 12, item 7): header and body timeouts against slowloris,
a cap on open connections per client address, forwarded addresses trusted only when
GAME_TRUST_PROXY says so, and a quiet back-off when the process is out of file descriptors.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace

import pytest
import tornado.testing

from game_server import tokens
from game_server.server import http_server
from game_server.storage import migrate


_SERVERS: list = []


@pytest.fixture(autouse=True)
async def _stop_servers():
    yield
    while _SERVERS:
        http = _SERVERS.pop()
        http.stop()
        await http.close_all_connections()


async def listen(running, **settings):
    """Serve the running server's application through the server's own HTTP server."""
    config = replace(running.server.config, **settings)
    http = http_server(running.server.app, config)
    sock, port = tornado.testing.bind_unused_port()
    http.add_sockets([sock])
    _SERVERS.append(http)
    return http, port


async def connect(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    return reader, writer


async def closed_within(reader, seconds):
    """True if the server closes the connection within `seconds` (after any answer)."""
    try:
        async with asyncio.timeout(seconds):
            while await reader.read(65536):
                pass
        return True
    except TimeoutError:
        return False


async def get(reader, writer, path="/config.json", headers=""):
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
    await writer.drain()
    async with asyncio.timeout(5):
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        await reader.readexactly(length)
    return int(head.split()[1])


async def test_a_half_sent_request_head_is_closed_after_the_timeout(game_server):
    _, port = await listen(game_server, http_timeout=0.3)
    reader, writer = await connect(port)
    writer.write(b"GET /config.json HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    started = time.monotonic()
    assert await closed_within(reader, 3)
    assert time.monotonic() - started < 2
    writer.close()
    # An idle keep-alive connection goes the same way; a whole request is answered.
    reader, writer = await connect(port)
    assert await get(reader, writer) == 200
    assert await closed_within(reader, 3)
    writer.close()


async def test_a_stalled_body_is_closed_after_the_timeout(game_server):
    _, port = await listen(game_server, http_timeout=0.3)
    reader, writer = await connect(port)
    writer.write(b"POST /sockjs/000/abc/xhr_send HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Length: 1000\r\n\r\n[\"a")
    started = time.monotonic()
    assert await closed_within(reader, 3)
    assert time.monotonic() - started < 2
    writer.close()


async def test_the_connection_past_the_cap_from_one_address_is_refused(game_server, caplog):
    _, port = await listen(game_server, connections_per_address=3)
    # Forwarded addresses are not trusted by default: all four come from 127.0.0.1.
    open_ = []
    for n in range(3):
        reader, writer = await connect(port)
        assert await get(reader, writer, headers=f"X-Forwarded-For: 10.0.0.{n}\r\n") == 200
        open_.append(writer)
    with caplog.at_level(logging.WARNING):
        for _ in range(20):
            reader, writer = await connect(port)
            assert await closed_within(reader, 2), "the fourth connection is closed at once"
            writer.close()
    # One warning, however many are refused.
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "refused 1 connection(s)" in warning and "GAME_TRUST_PROXY" in warning
    # When one closes, another may come.
    open_.pop().close()
    await asyncio.sleep(0.1)
    reader, writer = await connect(port)
    assert await get(reader, writer) == 200
    for writer in [*open_, writer]:
        writer.close()


async def test_behind_a_trusted_proxy_the_cap_counts_forwarded_addresses(game_server, caplog):
    _, port = await listen(game_server, connections_per_address=2, trust_proxy=True)
    open_ = []
    for address in ("10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.3"):
        reader, writer = await connect(port)
        assert await get(reader, writer, headers=f"X-Forwarded-For: {address}\r\n") == 200
        open_.append((reader, writer))
    reader, writer = await connect(port)
    assert await get(reader, writer, headers="X-Forwarded-For: 10.0.0.1\r\n") == 429
    assert await closed_within(reader, 2)
    writer.close()
    # A connection the proxy reuses for another client counts for that client.
    reader, writer = open_[0]
    assert await get(reader, writer, headers="X-Forwarded-For: 10.0.0.4\r\n") == 200
    reader, writer = await connect(port)
    with caplog.at_level(logging.DEBUG, logger="tornado.access"):
        assert await get(reader, writer, headers="X-Forwarded-For: 10.0.0.1\r\n") == 200
    assert "(10.0.0.1)" in caplog.text
    for _, writer in [*open_, (reader, writer)]:
        writer.close()


async def test_without_a_trusted_proxy_forwarding_headers_are_ignored(game_server, caplog):
    _, port = await listen(game_server)
    reader, writer = await connect(port)
    with caplog.at_level(logging.DEBUG, logger="tornado.access"):
        assert await get(reader, writer, headers="X-Forwarded-For: 10.9.9.9\r\n"
                                                  "X-Real-IP: 10.9.9.8\r\n") == 200
    assert "(127.0.0.1)" in caplog.text and "10.9.9" not in caplog.text
    writer.close()


def _serve_with_few_descriptors(tmp_path, limit):
    url = f"sqlite:///{tmp_path}/game.db"
    migrate.upgrade(url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAME_")}
    env.update({"GAME_DATABASE_URL": url, "GAME_TOKEN_KEYS": tokens.generate_keyring_entry(1),
                "GAME_PORT": str(port), "GAME_ADMIN_PORT": "0", "GAME_METRICS": "off",
                "GAME_CONNECTIONS_PER_ADDRESS": "0", "GAME_HTTP_TIMEOUT": "60"})

    def few_descriptors():
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    process = subprocess.Popen([sys.executable, "-m", "game_server", "serve"], cwd=tmp_path,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=few_descriptors)
    return process, port


def _config_json(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/config.json", timeout=2) as reply:
        return reply.status


def test_out_of_descriptors_the_server_pauses_quietly_and_serves_again(tmp_path):
    process, port = _serve_with_few_descriptors(tmp_path, 100)
    sockets = []
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                assert _config_json(port) == 200
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "no start"
                time.sleep(0.1)
        # Far more connections than the server has descriptors: the rest wait in its queue.
        for _ in range(200):
            sockets.append(socket.create_connection(("127.0.0.1", port)))
        time.sleep(2)
        for sock in sockets:
            sock.close()
        sockets.clear()
        deadline = time.monotonic() + 10
        while True:
            try:
                assert _config_json(port) == 200
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not serve again"
                time.sleep(0.2)
    finally:
        for sock in sockets:
            sock.close()
        process.terminate()
        _, err = process.communicate(timeout=20)
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err[-3000:]
    assert len(lines) <= 5, "\n".join(lines[:20])
    assert any("file descriptors" in line for line in lines), err


async def test_closed_websockets_and_streams_give_their_place_back(game_server):
    from game_server.client import GameClient

    http, port = await listen(game_server, connections_per_address=3)
    _, token = await game_server.user("Ann")
    for round_ in range(3):
        client = await GameClient.connect(f"http://127.0.0.1:{port}")
        await client.auth(token)
        reader, writer = await connect(port)
        writer.write(f"POST /sockjs/000/s{round_}/xhr_streaming HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: 0\r\n\r\n".encode())
        async with asyncio.timeout(5):
            assert b"200 OK" in await reader.readuntil(b"\r\n\r\n")
            await reader.readuntil(b"o\n")
        assert http.per_address.counts == {"127.0.0.1": 2}
        await client.close()
        writer.close()
        for _ in range(50):
            if not http.per_address.counts:
                break
            await asyncio.sleep(0.05)
        assert http.per_address.counts == {}


async def test_bodies_past_the_protocols_size_are_refused_on_every_route(game_server):
    """The SockJS routes answer a body over 64 KiB with their own 413; every other route
    (e.g. /dev/login) never reads more than that either."""
    from game_server.transport.limits import MAX_BODY_BYTES

    _, port = await listen(game_server)
    too_big = MAX_BODY_BYTES + 1
    for path, expected in (("/sockjs/000/big1/xhr_send", b" 413 "), ("/dev/login", None)):
        reader, writer = await connect(port)
        writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {too_big}\r\n\r\n".encode() + b"x" * 1024)
        await writer.drain()
        async with asyncio.timeout(5):
            answer = await reader.read(4096)
        if expected is not None:
            assert expected in answer.split(b"\r\n")[0] + b" ", answer[:80]
        else:
            assert not answer.startswith(b"HTTP/1.1 200"), answer[:80]
        assert await closed_within(reader, 3)
        writer.close()
