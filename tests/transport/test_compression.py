"""What the server compresses: the web client's files, never SockJS responses.

A gzip-encoded xhr_streaming response keeps a zlib compressor (about 240 KB) for as long as the
stream is open, so idle players on that transport cost a quarter of a megabyte each; and a
client that leaves must not leave its stream (and its session) open behind it."""

from __future__ import annotations

import asyncio

from tornado.httpclient import AsyncHTTPClient

from game_server.client import GameClient


async def test_the_web_client_files_are_compressed(game_server):
    response = await AsyncHTTPClient().fetch(game_server.url + "/js/app.js",
                                             headers={"Accept-Encoding": "gzip"},
                                             decompress_response=False)
    assert response.headers.get("Content-Encoding") == "gzip"


async def test_an_xhr_streaming_response_is_not_compressed(game_server):
    reader, writer = await asyncio.open_connection("127.0.0.1", game_server.port)
    try:
        writer.write(b"POST /sockjs/000/plainstream/xhr_streaming HTTP/1.1\r\n"
                     b"Host: 127.0.0.1\r\nAccept-Encoding: gzip\r\nContent-Length: 0\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert b"200 OK" in head.split(b"\r\n")[0]
        assert b"content-encoding" not in head.lower()
        # The prelude arrives as it is: 2048 "h" then the open frame, in plain text.
        body = b""
        while b"o\n" not in body:
            body += await asyncio.wait_for(reader.read(4096), 5)
        assert b"h" * 2048 in body
    finally:
        writer.close()


async def test_a_client_that_closes_an_xhr_streaming_link_ends_its_session(game_server):
    _, token = await game_server.user("streamer")
    client = await GameClient.connect(game_server.url, transport="xhr-streaming")
    await client.request({"msg": "auth", "protocol": 2, "token": token})
    assert len(game_server.hub.peers) == 1
    await client.close()
    # The server sees the stream end at once (a browser aborting its XHR); without that the
    # request would stay open, and the session with it, for the client's hour-long timeout.
    for _ in range(100):
        if not game_server.hub.peers:
            break
        await asyncio.sleep(0.05)
    assert game_server.hub.peers == {}
