"""The lean WebSocket frame reader (transport/lean_websocket.py) against a raw TCP client.

The client here writes frames byte for byte as a browser could, batched or split at any byte,
and reads the server's frames itself, so each test states what RFC 6455 requires of the
server, not what Tornado's client happens to do.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct

import pytest

from game_server.transport.lean_websocket import LeanProtocol, websocket_frame
from game_server.transport.limits import MAX_BODY_BYTES

from sockjs_helpers import connection_of

TEXT, CONTINUATION, CLOSE, PING, PONG = 0x1, 0x0, 0x8, 0x9, 0xA


def frame(opcode: int, payload: bytes, final: bool = True, mask: bytes | None = None) -> bytes:
    """A client frame: masked (as RFC 6455 requires of clients) unless `mask` is b''."""
    mask = os.urandom(4) if mask is None else mask
    head = bytes([(0x80 if final else 0) | opcode])
    bit = 0x80 if mask else 0
    size = len(payload)
    if size < 126:
        head += bytes([bit | size])
    elif size <= 0xFFFF:
        head += bytes([bit | 126]) + struct.pack("!H", size)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", size)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + payload


def sockjs(*messages: dict) -> bytes:
    """The payload of one SockJS frame holding `messages`."""
    return json.dumps([json.dumps(m) for m in messages]).encode()


class RawClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, server, session: str) -> "RawClient":
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /sockjs/000/{session}/websocket HTTP/1.1\r\n"
                      f"Host: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        client = cls(reader, writer)
        assert await client.read_frame() == (TEXT, b"o")
        return client

    async def read_frame(self, timeout: float = 5.0) -> tuple[int, bytes]:
        async def read() -> tuple[int, bytes]:
            first, second = await self.reader.readexactly(2)
            size = second & 0x7F
            if size == 126:
                size = struct.unpack("!H", await self.reader.readexactly(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", await self.reader.readexactly(8))[0]
            return first & 0x0F, await self.reader.readexactly(size)
        return await asyncio.wait_for(read(), timeout)

    async def messages(self, count: int) -> list[dict]:
        """The next `count` SockJS messages (heartbeats skipped)."""
        found: list[dict] = []
        while len(found) < count:
            opcode, payload = await self.read_frame()
            assert opcode == TEXT, (opcode, payload)
            if payload.startswith(b"a"):
                found += [json.loads(m) for m in json.loads(payload[1:])]
        return found

    async def send(self, data: bytes, pieces: int = 1) -> None:
        step = max(1, -(-len(data) // pieces))
        for at in range(0, len(data), step):
            self.writer.write(data[at:at + step])
            await self.writer.drain()
            if pieces > 1:
                await asyncio.sleep(0.001)

    async def closed(self) -> bool:
        """True once the server has closed the TCP connection (reads end). A client that does
        not answer a close frame is dropped 5 s after it (Tornado's wait), so a read may wait
        longer than that."""
        try:
            while await asyncio.wait_for(self.reader.read(65536), 10.0):
                pass
        except ConnectionResetError:
            pass
        return True

    def close(self) -> None:
        self.writer.close()


async def signed_in_raw(server, session: str, name: str = "Ann") -> RawClient:
    _, token = await server.user(name)
    client = await RawClient.connect(server, session)
    await client.send(frame(TEXT, sockjs({"msg": "auth", "protocol": 2, "token": token,
                                          "id": 0})))
    (welcome, *_) = await client.messages(2)  # welcome, room_list
    assert welcome["msg"] == "welcome"
    return client


async def close_frame(client: RawClient) -> bytes:
    """The payload of the next WebSocket close frame (SockJS frames before it skipped)."""
    opcode, payload = await client.read_frame()
    while opcode != CLOSE:
        opcode, payload = await client.read_frame()
    return payload


async def all_gone(server) -> bool:
    """True once the hub has no connection left (waits up to a second)."""
    for _ in range(100):
        if not server.hub.peers:
            return True
        await asyncio.sleep(0.01)
    return False


def room_lists(*ids: int) -> bytes:
    return sockjs(*({"msg": "room_list", "id": n} for n in ids))


async def test_the_server_uses_the_lean_reader(game_server):
    client = await signed_in_raw(game_server, "lean0")
    _, connection = connection_of(game_server, "Ann")
    assert isinstance(connection.session.handler.ws_connection, LeanProtocol)
    client.close()


async def test_frames_batched_in_one_write_are_all_handled_in_order(game_server):
    client = await signed_in_raw(game_server, "lean1")
    await client.send(b"".join(frame(TEXT, room_lists(n)) for n in range(1, 31)))
    replies = await client.messages(30)
    assert [m["re"] for m in replies] == list(range(1, 31))
    client.close()


async def test_a_frame_split_at_every_byte_is_handled_once_whole(game_server):
    client = await signed_in_raw(game_server, "lean2")
    data = frame(TEXT, room_lists(7, 8)) + frame(TEXT, room_lists(9))
    await client.send(data, pieces=len(data))
    assert [m["re"] for m in await client.messages(3)] == [7, 8, 9]
    client.close()


@pytest.mark.parametrize("size", [125, 126, 65535, MAX_BODY_BYTES])
async def test_every_length_encoding_is_read(game_server, size):
    client = await signed_in_raw(game_server, f"lean3-{size}")
    message = {"msg": "room_list", "id": 1}
    payload = sockjs(message)
    # Pad the SockJS frame with JSON whitespace up to exactly `size` bytes.
    payload = payload[:-1] + b" " * (size - len(payload)) + b"]"
    assert len(payload) == size
    await client.send(frame(TEXT, payload) + frame(TEXT, room_lists(2)))
    (first, second) = await client.messages(2)
    assert first["re"] == 1 and second["re"] == 2
    client.close()


async def test_a_fragmented_message_with_a_ping_inside_is_reassembled(game_server):
    client = await signed_in_raw(game_server, "lean4")
    payload = room_lists(5)
    await client.send(frame(TEXT, payload[:10], final=False)
                      + frame(PING, b"are you there")
                      + frame(CONTINUATION, payload[10:20], final=False)
                      + frame(CONTINUATION, payload[20:]))
    assert await client.read_frame() == (PONG, b"are you there")
    (reply,) = await client.messages(1)
    assert reply["re"] == 5
    client.close()


async def test_a_close_frame_is_echoed_and_the_player_leaves(game_server):
    client = await signed_in_raw(game_server, "lean5")
    peers = game_server.hub.peers
    assert any(p.user is not None for p in peers.values())
    await client.send(frame(CLOSE, struct.pack("!H", 1000)))
    assert (await close_frame(client))[:2] == struct.pack("!H", 1000)
    for _ in range(100):
        if not any(p.user is not None for p in peers.values()):
            break
        await asyncio.sleep(0.01)
    assert not any(p.user is not None for p in peers.values())
    client.close()


async def test_a_dropped_connection_is_noticed(game_server):
    client = await signed_in_raw(game_server, "lean6")
    client.writer.transport.abort()
    client.close()
    assert await all_gone(game_server)


async def test_a_message_over_the_size_limit_is_refused_before_it_is_read(game_server):
    client = await signed_in_raw(game_server, "lean7")
    # Only the header is sent: the server must refuse on the declared length alone.
    limit = MAX_BODY_BYTES  # the server's max_message_size (Tornado's default: 10 MiB)
    head = bytes([0x81, 0x80 | 127]) + struct.pack("!Q", limit + 1) + os.urandom(4)
    await client.send(head)
    assert (await close_frame(client))[:2] == struct.pack("!H", 1009)
    assert await client.closed()
    client.close()


@pytest.mark.parametrize("bad", [
    bytes([0x80 | 0x40 | TEXT, 0x80 | 2]) + b"\0\0\0\0[]",  # RSV1 set: no extension agreed
    frame(PING, b"x" * 126),                       # control frame too long
    frame(PING, b"x", final=False),                # fragmented control frame
    frame(CONTINUATION, b"[]"),                    # nothing to continue
    frame(TEXT, b"[", final=False) + frame(TEXT, b"[]"),  # new message inside a fragmented one
], ids=["rsv1", "long-ping", "fragmented-ping", "lone-continuation", "text-inside-fragments"])
async def test_a_protocol_violation_drops_the_connection(game_server, bad):
    client = await signed_in_raw(game_server, "lean8")
    await client.send(bad)
    assert await client.closed()
    client.close()
    assert await all_gone(game_server)


def test_server_frames_use_the_shortest_length_encoding():
    assert websocket_frame(b"x" * 125)[:2] == bytes([0x81, 125])
    assert websocket_frame(b"x" * 126)[:4] == bytes([0x81, 126]) + struct.pack("!H", 126)
    assert websocket_frame(b"x" * 65536)[:10] == bytes([0x81, 127]) + struct.pack("!Q", 65536)
    assert websocket_frame(b"abc").endswith(b"abc")
