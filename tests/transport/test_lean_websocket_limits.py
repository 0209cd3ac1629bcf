"""The lean WebSocket reader's limits (issue 12, item 14): fragments that add up past the
size limit, unmasked client frames, and a heartbeat whose write fails."""

from __future__ import annotations

import asyncio
import struct

from tornado.iostream import StreamClosedError

from sockjs_helpers import connection_of
from test_lean_websocket import (CONTINUATION, TEXT, all_gone, close_frame, frame, room_lists,
                                 signed_in_raw)


def limit_of(server, name: str = "Ann") -> int:
    _, connection = connection_of(server, name)
    return connection.session.handler.ws_connection.params.max_message_size


async def test_fragments_that_add_up_past_the_limit_are_refused(game_server):
    client = await signed_in_raw(game_server, "frag1")
    limit = limit_of(game_server)
    half = limit // 2 + 1
    # Each fragment is under the limit; together they are over it. The second is announced
    # by its header alone: the server must refuse before buffering its payload.
    await client.send(frame(TEXT, b" " * half, final=False))
    await client.send(bytes([0x80 | CONTINUATION, 0x80 | 127]) + struct.pack("!Q", half)
                      + b"\0\0\0\0")
    assert (await close_frame(client))[:2] == struct.pack("!H", 1009)
    assert await client.closed()
    client.close()
    assert await all_gone(game_server)


async def test_an_unmasked_client_frame_closes_the_connection(game_server):
    client = await signed_in_raw(game_server, "unmasked1")
    # RFC 6455 5.1: a server must close the connection on an unmasked client frame.
    await client.send(frame(TEXT, room_lists(1), mask=b""))
    assert (await close_frame(client))[:2] == struct.pack("!H", 1002)
    assert await client.closed()
    client.close()
    assert await all_gone(game_server)


async def test_a_failed_heartbeat_write_stops_the_heartbeat_at_once(game_server_factory):
    server = await game_server_factory(sockjs_settings={"heartbeat_delay": 3600})
    client = await signed_in_raw(server, "hb-fail")
    _, connection = connection_of(server, "Ann")
    session = connection.session
    stream = session.handler.ws_connection.stream
    assert session._heartbeat_timer is not None

    def failing_write(data, *args, **kwargs):
        # The socket accepted nothing and then failed, as on a reset while bytes wait.
        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(future.set_exception, StreamClosedError())
        return future

    stream.write = failing_write
    session._heartbeat()
    for _ in range(5):
        await asyncio.sleep(0)
    # Stopped by the write's failure itself: the stream is still open as far as Tornado
    # knows, so no on_close has come to stop it.
    assert session._heartbeat_timer is None
    del stream.write
    client.close()
    assert await all_gone(server)


async def test_one_message_per_loop_iteration_for_one_connection(game_server):
    client = await signed_in_raw(game_server, "turns1")
    _, connection = connection_of(game_server, "Ann")
    handler = connection.session.handler
    loop = asyncio.get_running_loop()
    ticks = [0]
    running = [True]

    def tick() -> None:
        ticks[0] += 1
        if running[0]:
            loop.call_soon(tick)

    seen: list[int] = []
    original = handler.on_message
    handler.on_message = lambda message: (seen.append(ticks[0]), original(message))[1]
    tick()
    # 30 frames in one write: one read holds them all.
    await client.send(b"".join(frame(TEXT, room_lists(n)) for n in range(1, 31)))
    replies = await client.messages(30)
    running[0] = False
    assert [m["re"] for m in replies] == list(range(1, 31))
    assert len(seen) == 30
    assert len(set(seen)) == 30, "several messages of one connection in one loop iteration"
    client.close()
