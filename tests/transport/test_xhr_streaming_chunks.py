"""xhr_streaming's packs written as HTTP chunks straight to the socket (sockjs_fixes fix 15),
read off a raw socket so that the chunk framing itself is checked, not a client's parser."""

from __future__ import annotations

import asyncio
import json

from tornado.httpclient import AsyncHTTPClient

from sockjs_helpers import connection_of


class ChunkedStream:
    """The chunked body of one xhr_streaming response, read chunk by chunk."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.ended = False

    @classmethod
    async def open(cls, server, session: str) -> "ChunkedStream":
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(f"POST /sockjs/000/{session}/xhr_streaming HTTP/1.1\r\n"
                     "Host: 127.0.0.1\r\nContent-Length: 0\r\n\r\n".encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert b"200 OK" in head and b"transfer-encoding: chunked" in head.lower(), head
        return cls(reader, writer)

    async def chunk(self) -> bytes:
        """The next chunk's data, exactly as framed (b"" for the last chunk)."""
        size_line = await asyncio.wait_for(self.reader.readuntil(b"\r\n"), 5)
        size = int(size_line.strip(), 16)
        data = await asyncio.wait_for(self.reader.readexactly(size + 2), 5)
        assert data.endswith(b"\r\n"), "a chunk must end with CRLF"
        if size == 0:
            self.ended = True
        return data[:-2]

    async def frames(self, count: int) -> list[bytes]:
        """The next `count` SockJS frames (prelude and heartbeats skipped); each chunk must
        hold whole frames."""
        frames: list[bytes] = []
        while len(frames) < count and not self.ended:
            data = await self.chunk()
            assert not data or data.endswith(b"\n"), data[-40:]
            for line in data.splitlines():
                if line and not line.startswith(b"hhhh") and line != b"h":
                    frames.append(line)
        return frames

    def close(self) -> None:
        self.writer.close()


async def signed_in_stream(server, session: str, name: str) -> ChunkedStream:
    _, token = await server.user(name)
    stream = await ChunkedStream.open(server, session)
    assert await stream.frames(1) == [b"o"]
    body = json.dumps([json.dumps({"msg": "auth", "protocol": 2, "token": token})])
    response = await AsyncHTTPClient().fetch(
        f"{server.url}/sockjs/000/{session}/xhr_send", method="POST", body=body)
    assert response.code == 204
    welcome = json.loads(json.loads((await stream.frames(1))[0][1:])[0])
    assert welcome["msg"] == "welcome"
    return stream


def notes(frames: list[bytes]) -> list[dict]:
    found = []
    for frame in frames:
        assert frame.startswith(b"a["), frame[:40]
        found += [json.loads(m) for m in json.loads(frame[1:])]
    return [m for m in found if m.get("msg") == "note"]


async def test_each_pack_is_one_whole_chunk_in_order(game_server):
    stream = await signed_in_stream(game_server, "chunks1", "Ann")
    peer, _ = connection_of(game_server, "Ann")
    await stream.frames(1)  # the room list
    for n in range(30):
        peer.send(json.dumps({"msg": "note", "n": n, "text": "é ✓ \u2028"}, ensure_ascii=False))
        if n % 7 == 0:
            await asyncio.sleep(0.01)
    received: list[dict] = []
    while len(received) < 30:
        received += notes(await stream.frames(1))
    assert [m["n"] for m in received] == list(range(30))
    assert all(m["text"] == "é ✓ \u2028" for m in received)
    stream.close()


async def test_a_burst_the_socket_cannot_take_arrives_whole_and_in_order(game_server_factory):
    server = await game_server_factory(sockjs_settings={"max_output_bytes": 64 << 20,
                                                        "response_limit": 1 << 30})
    stream = await signed_in_stream(server, "chunks2", "Ann")
    peer, connection = connection_of(server, "Ann")
    await stream.frames(1)  # the room list
    sizes = [50_000 + n for n in range(200)]
    for n, size in enumerate(sizes):
        peer.send(json.dumps({"msg": "note", "n": n, "pad": "x" * size}))
        if n % 20 == 0:
            await asyncio.sleep(0)
    handler = connection.session.handler
    assert handler.request.connection.stream.writing(), "the burst never filled the socket"
    received: list[dict] = []
    while len(received) < len(sizes):
        received += notes(await stream.frames(1))
    assert [m["n"] for m in received] == list(range(len(sizes)))
    assert [len(m["pad"]) for m in received] == sizes
    stream.close()


async def test_the_response_ends_at_its_limit_and_nothing_is_lost(game_server_factory):
    server = await game_server_factory(sockjs_settings={"response_limit": 8192})
    stream = await signed_in_stream(server, "chunks3", "Ann")
    peer, _ = connection_of(server, "Ann")
    for n in range(40):
        peer.send(json.dumps({"msg": "note", "n": n, "pad": "y" * 500}))
        await asyncio.sleep(0)
    received: list[dict] = []
    while not stream.ended:
        received += notes(await stream.frames(1))
    # The next request of the same session gets the rest, in order.
    second = await ChunkedStream.open(server, "chunks3")
    while len(received) < 40:
        received += notes(await second.frames(1))
    assert [m["n"] for m in received] == list(range(40))
    stream.close()
    second.close()


async def test_what_waited_for_the_next_request_arrives_once(game_server_factory):
    # Messages queued while no streaming request is attached leave in the next one's first
    # pack, once each (the pack being flushed is not sent again from inside the flush).
    server = await game_server_factory(sockjs_settings={"response_limit": 4096})
    stream = await signed_in_stream(server, "chunks4", "Ann")
    peer, _ = connection_of(server, "Ann")
    peer.send(json.dumps({"msg": "note", "n": -1, "pad": "z" * 5000}))  # ends the response
    while not stream.ended:
        await stream.frames(1)
    for n in range(10):
        peer.send(json.dumps({"msg": "note", "n": n}))
    second = await ChunkedStream.open(server, "chunks4")
    received: list[dict] = []
    while len(received) < 10:
        received += notes(await second.frames(1))
    peer.send(json.dumps({"msg": "note", "n": 10}))
    while len(received) < 11:
        received += notes(await second.frames(1))
    assert [m["n"] for m in received] == list(range(11))
    stream.close()
    second.close()
