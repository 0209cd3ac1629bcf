"""The WebSocket's socket taken over after the handshake (transport/socket_stream.py).

RFC 6455 behaviour (split and batched frames, fragmentation, pings, close codes, size limits,
masking) is tested through the same server in test_lean_websocket.py and
test_lean_websocket_limits.py, which run on the taken-over socket by default; this file tests
what the takeover itself must keep: bytes that came with the handshake, order and batching of
what is sent, a client that does not read, and the switch that turns it off.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os

from game_server.transport.socket_stream import SocketStream
from tornado.iostream import IOStream

from sockjs_helpers import connection_of, signed_in
from test_lean_websocket import TEXT, RawClient, frame, signed_in_raw, sockjs


async def test_a_websocket_is_taken_over_after_its_handshake(game_server):
    client = await signed_in(game_server, "Ann")
    _, connection = connection_of(game_server, "Ann")
    assert type(connection.session.handler.ws_connection.stream) is SocketStream
    await client.close()


async def test_with_takeover_off_the_socket_stays_with_tornado(game_server_factory):
    server = await game_server_factory(sockjs_settings={"socket_takeover": False})
    client = await signed_in(server, "Ann")
    _, connection = connection_of(server, "Ann")
    assert type(connection.session.handler.ws_connection.stream) is IOStream
    state = await client.request({"msg": "room_list"})
    assert state["msg"] == "room_list"
    await client.close()


async def test_a_frame_sent_with_the_handshake_is_not_lost(game_server):
    # The upgrade request and the first frames in one write: Tornado has read part of them
    # into its own buffer before the socket is taken over.
    _, token = await game_server.user("Ann")
    reader, writer = await asyncio.open_connection("127.0.0.1", game_server.port)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /sockjs/000/pipelined/websocket HTTP/1.1\r\n"
               f"Host: 127.0.0.1:{game_server.port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode()
    auth = frame(TEXT, sockjs({"msg": "auth", "protocol": 2, "token": token, "id": 0}))
    rooms = frame(TEXT, sockjs({"msg": "room_list", "id": 1}))
    writer.write(request + auth + rooms)
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    client = RawClient(reader, writer)
    assert await client.read_frame() == (TEXT, b"o")
    messages = await client.messages(3)
    assert [m["msg"] for m in messages] == ["welcome", "room_list", "room_list"]
    assert messages[2].get("re") == 1
    client.close()


async def test_frames_of_one_iteration_leave_in_one_write_in_order(game_server):
    client = await signed_in_raw(game_server, "batched", "Ann")
    peer, connection = connection_of(game_server, "Ann")
    stream = connection.session.handler.ws_connection.stream
    writes: list[bytes] = []
    transport_write = stream.transport.write

    def counted(data: bytes) -> None:
        writes.append(data)
        transport_write(data)

    stream.transport.write = counted
    for n in range(20):
        peer.send(json.dumps({"msg": "note", "n": n}))
    assert stream.unsent() > 0, "queued until the end of the iteration"
    notes = await client.messages(20)
    assert [m["n"] for m in notes] == list(range(20))
    assert len(writes) == 1
    client.close()


async def test_what_a_slow_reader_cannot_take_follows_in_order(game_server_factory):
    # Far more than the default cap on unsent output (test_limits.py), on purpose.
    server = await game_server_factory(sockjs_settings={"max_output_bytes": 64 << 20})
    client = await signed_in(server, "Ann")
    peer, connection = connection_of(server, "Ann")
    stream = connection.session.handler.ws_connection.stream
    assert type(stream) is SocketStream
    sizes = [70_000 + n for n in range(450)]
    for n, size in enumerate(sizes):
        peer.send(json.dumps({"msg": "note", "n": n, "pad": "x" * size}))
        if n % 50 == 0:
            await asyncio.sleep(0)  # several flushes, most of them into a full socket
    assert stream.unsent() > 1 << 20, "the burst never filled the socket"
    peer.send(json.dumps({"msg": "note", "n": len(sizes), "pad": ""}))
    await client.wait_for(lambda m: m.get("msg") == "note" and m["n"] == len(sizes))
    notes = [m for m in client.received if m.get("msg") == "note"]
    assert [m["n"] for m in notes] == list(range(len(sizes) + 1))
    assert [len(m["pad"]) for m in notes[:-1]] == sizes
    await client.close()


async def test_a_peer_that_never_reads_is_dropped_after_its_close(game_server_factory):
    server = await game_server_factory(sockjs_settings={"max_output_bytes": 64 << 20})
    client = await signed_in_raw(server, "deaf", "Mallory")
    peer, connection = connection_of(server, "Mallory")
    stream = connection.session.handler.ws_connection.stream
    for n in range(100):
        peer.send(json.dumps({"msg": "note", "n": n, "pad": "x" * 100_000}))
    await asyncio.sleep(0.05)
    assert stream.unsent() > 0
    # The server ends the session; the client reads nothing and never answers the close
    # frame queued behind the notes. Tornado gives it 5 seconds, then the socket is dropped.
    connection.session.close(3000, "Go away!")
    for _ in range(100):
        if stream.lost:
            break
        await asyncio.sleep(0.1)
    assert stream.lost, "the socket of a peer that never reads was kept"
    assert stream.unsent() == 0
    client.close()
