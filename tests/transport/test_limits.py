"""What one client can make the server hold or do (issue 12, items 1 and 3): request bodies
and WebSocket messages are bounded and refused before they are read, a frame's messages are
capped, and a client that does not read its output is closed once too much waits for it."""

from __future__ import annotations

import asyncio
import json
import struct

from tornado.httpclient import AsyncHTTPClient

from game_server.client import GameClient
from game_server.transport.limits import (CLOSE_OUTPUT_FULL, MAX_BODY_BYTES,
                                          MAX_MESSAGES_PER_FRAME)

from sockjs_helpers import connection_of, create_room, signed_in, start_duel
from test_lean_websocket import TEXT, RawClient, close_frame, frame, signed_in_raw

SESSION = "/sockjs/000/{}"


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


async def fetch(server, path, method="POST", body=b"", **options):
    return await AsyncHTTPClient().fetch(server.url + path, method=method, body=body,
                                         raise_error=False, **options)


async def open_xhr_session(server, session: str, name: str) -> None:
    """An xhr-polling session signed in as `name`."""
    _, token = await server.user(name)
    path = SESSION.format(session)
    assert (await fetch(server, path + "/xhr")).body == b"o\n"
    auth = json.dumps([json.dumps({"msg": "auth", "protocol": 2, "token": token})])
    assert (await fetch(server, path + "/xhr_send", body=auth)).code == 204
    polled = (await fetch(server, path + "/xhr")).body.decode()
    assert '\\"welcome\\"' in polled
    # The lobby's room list follows the welcome, in the same poll or the next one.
    while '\\"room_list\\"' not in polled:
        polled = (await fetch(server, path + "/xhr")).body.decode()


async def post_huge_body(server, path: str, total: int) -> tuple[bytes, int]:
    """POST `total` bytes in 1 MB writes; stop when the server answers or closes.
    Returns (the response's first bytes, bytes sent)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  f"Content-Type: text/plain\r\nContent-Length: {total}\r\n\r\n").encode())
    response = asyncio.ensure_future(reader.read(4096))
    chunk = b"[" + b" " * (1024 * 1024 - 1)
    sent = 0
    try:
        while sent < total and not response.done():
            writer.write(chunk[:total - sent])
            await asyncio.wait_for(writer.drain(), 5)
            sent += min(len(chunk), total - sent)
    except (ConnectionError, asyncio.TimeoutError):
        pass
    head = await asyncio.wait_for(response, 10)
    writer.close()
    return head, sent


async def test_a_huge_xhr_send_body_is_refused_before_it_is_read(game_server):
    ann, bob, room = await start_duel(game_server)
    await open_xhr_session(game_server, "huge1", "Mallory")
    before = rss_bytes()
    attack = asyncio.ensure_future(
        post_huge_body(game_server, SESSION.format("huge1") + "/xhr_send", 100_000_000))
    # Meanwhile the others' game goes on: every request is answered promptly.
    while not attack.done():
        await asyncio.wait_for(ann.request({"msg": "room_list"}), 1.0)
        await asyncio.sleep(0.01)
    head, sent = await attack
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert sent < 50_000_000, "the server read the body instead of refusing it"
    assert rss_bytes() - before < 30_000_000
    state = await bob.request({"msg": "join", "room": room})
    assert state["msg"] == "state"
    await ann.close()
    await bob.close()


async def test_a_body_over_the_limit_is_refused_with_413_and_the_client_told(game_server):
    await open_xhr_session(game_server, "big2", "Mallory")
    path = SESSION.format("big2")
    body = json.dumps([json.dumps({"msg": "room_list"})] * 4000).encode()
    assert len(body) > MAX_BODY_BYTES
    refused = await fetch(game_server, path + "/xhr_send", body=body)
    assert refused.code == 413
    polled = (await fetch(game_server, path + "/xhr")).body.decode()
    (error,) = [m for m in map(json.loads, json.loads(polled[1:])) if m["msg"] == "error"]
    assert error["code"] == "too_large"
    # The session goes on.
    ok = json.dumps([json.dumps({"msg": "room_list", "id": 5})])
    assert (await fetch(game_server, path + "/xhr_send", body=ok)).code == 204
    assert '\\"re\\":5' in (await fetch(game_server, path + "/xhr")).body.decode()


async def test_a_websocket_message_over_the_limit_closes_with_1009(game_server):
    client = await signed_in_raw(game_server, "big3")
    payload = b"[" + b" " * MAX_BODY_BYTES + b"]"
    await client.send(frame(TEXT, payload))
    assert (await close_frame(client))[:2] == struct.pack("!H", 1009)
    assert await client.closed()
    client.close()


async def count_replies(client: GameClient, settle: float = 0.5) -> int:
    await asyncio.sleep(settle)
    return len(client.received)


async def test_a_frame_of_10000_messages_gets_at_most_the_cap_of_replies(game_server):
    client = await GameClient.connect(game_server.url)
    frame_text = json.dumps(["1"] * 10_000)  # each message valid JSON, none a protocol message
    assert len(frame_text) < MAX_BODY_BYTES
    client.send_raw(frame_text)
    replies = await count_replies(client)
    assert 1 <= replies <= MAX_MESSAGES_PER_FRAME + 1
    (cap,) = [m for m in client.received if "at most" in m.get("text", "")]
    assert cap["code"] == "rate_limited" and str(MAX_MESSAGES_PER_FRAME) in cap["text"]
    await client.close()


async def test_an_xhr_send_of_10000_messages_gets_at_most_the_cap_of_replies(game_server):
    await open_xhr_session(game_server, "many1", "Mallory")
    path = SESSION.format("many1")
    assert (await fetch(game_server, path + "/xhr_send",
                        body=json.dumps(["1"] * 10_000))).code == 204
    await asyncio.sleep(0.3)
    polled = (await fetch(game_server, path + "/xhr")).body.decode()
    replies = [json.loads(m) for m in json.loads(polled[1:])]
    errors = [m for m in replies if m["msg"] == "error"]
    assert 1 <= len(errors) <= MAX_MESSAGES_PER_FRAME + 1


# --- output to a client that does not read (item 3) ----------------------------------------

def metric(server, name: str, **labels: str) -> float:
    value = server.hub.metrics.registry.get_sample_value(name, labels or None)
    return value or 0.0


async def non_reader(server, session: str, name: str) -> RawClient:
    """A raw WebSocket client, signed in, that does not read (until the test says so)."""
    return await signed_in_raw(server, session, name)


def unsent(stream) -> int:
    """Bytes the server holds for the socket: queued in its own protocol (socket_stream.py)
    or, with the socket left to Tornado, in the IOStream's buffer."""
    if hasattr(stream, "unsent"):
        return stream.unsent()
    return len(stream._write_buffer)


async def frames_until_close(client: RawClient) -> list[bytes]:
    """The text frames before the WebSocket close frame."""
    texts = []
    while True:
        opcode, payload = await client.read_frame()
        if opcode != TEXT:
            return texts
        texts.append(payload)


async def test_a_websocket_client_that_never_reads_is_closed_past_the_cap(game_server_factory):
    cap = 256 * 1024
    server = await game_server_factory(sockjs_settings={"max_output_bytes": cap})
    ann = await signed_in(server, "Ann")
    room = await create_room(ann, "table", 3)
    mallory = await non_reader(server, "slow1", "Mallory")
    peer, connection = connection_of(server, "Mallory")
    stream = connection.session.handler.ws_connection.stream
    note = json.dumps({"msg": "note", "pad": "x" * 16_000})
    sent = 0
    while not peer.closed and sent < 1000:
        peer.send(note)
        sent += 1
        if unsent(stream) > 0 and metric(server, "game_send_queue_full_total") == 0:
            # The socket is full: what waits to be sent is counted, in the metric too.
            queued = max(server.hub.send_queues())
            assert queued > 0 and queued == metric(server, "game_send_queue_bytes", stat="max")
    assert peer.closed, "the connection was never closed"
    assert metric(server, "game_send_queue_full_total") == 1
    assert connection.session is None or connection.session.is_closed
    assert unsent(stream) <= cap + 1024
    # Ann's room is unaffected and answers at once.
    state = await ann.request({"msg": "join", "room": room}, timeout=1)
    assert state["msg"] == "state"
    # Once the non-reader reads, it finds the reason after what was queued, then the end.
    texts = await frames_until_close(mallory)
    assert texts[-1] == b"c" + json.dumps(list(CLOSE_OUTPUT_FULL), separators=(",", ":")).encode()
    assert await mallory.closed()
    mallory.close()
    assert not server.hub.send_queues() or max(server.hub.send_queues()) < 64 * 1024
    await ann.close()


async def test_an_xhr_client_that_never_polls_is_closed_with_the_reason(game_server_factory):
    cap = 64 * 1024
    server = await game_server_factory(sockjs_settings={"max_output_bytes": cap})
    await open_xhr_session(server, "slow2", "Mallory")
    peer, connection = connection_of(server, "Mallory")
    note = json.dumps({"msg": "note", "pad": "x" * 4000})
    for _ in range(40):
        peer.send(note)
    assert peer.closed
    assert metric(server, "game_send_queue_full_total") == 1
    polled = (await fetch(server, SESSION.format("slow2") + "/xhr")).body.decode()
    assert polled.strip() == "c" + json.dumps(list(CLOSE_OUTPUT_FULL), separators=(",", ":"))


async def test_an_xhr_streaming_client_that_never_reads_is_closed(game_server_factory):
    cap = 256 * 1024
    # A large response_limit keeps the one streaming response open while output piles up.
    server = await game_server_factory(sockjs_settings={"max_output_bytes": cap,
                                                        "response_limit": 1 << 30})
    ann = await signed_in(server, "Ann")
    _, token = await server.user("Mallory")
    path = SESSION.format("slow3")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write((f"POST {path}/xhr_streaming HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Content-Length: 0\r\n\r\n").encode())
    auth = json.dumps([json.dumps({"msg": "auth", "protocol": 2, "token": token})])
    for _ in range(100):
        if server.hub.peers and len(server.hub.peers) == 2:
            break
        await asyncio.sleep(0.01)
    assert (await fetch(server, path + "/xhr_send", body=auth)).code == 204
    for _ in range(100):
        if any(p.user is not None and p.user.name == "Mallory"
               for p in server.hub.peers.values()):
            break
        await asyncio.sleep(0.01)
    peer, connection = connection_of(server, "Mallory")
    note = json.dumps({"msg": "note", "pad": "x" * 16_000})
    sent = 0
    while not peer.closed and sent < 2000:
        peer.send(note)
        sent += 1
        await asyncio.sleep(0)  # let the streaming response flush as it would
    assert peer.closed, "the connection was never closed"
    assert metric(server, "game_send_queue_full_total") == 1
    # The TCP connection is closed: reading what was sent ends.
    while await asyncio.wait_for(reader.read(1 << 20), 5):
        pass
    writer.close()
    assert (await ann.request({"msg": "room_list"}, timeout=1))["msg"] == "room_list"
    await ann.close()


# --- deep nesting (item 12) ----------------------------------------------------------------

async def test_a_deeply_nested_frame_is_bad_json_and_the_session_goes_on(game_server):
    """20,000 nested lists fit in the body limit and make the JSON decoder recurse past
    Python's limit: SockJS's answer to broken JSON (500 "Broken JSON encoding.", as
    sockjs-node), the session is told `bad_json`, and the next message is answered."""
    await open_xhr_session(game_server, "deep1", "Deep")
    path = SESSION.format("deep1")
    nested = "[" * 20_000 + "]" * 20_000
    refused = await fetch(game_server, path + "/xhr_send", body=nested)
    assert (refused.code, refused.body) == (500, b"Broken JSON encoding.")
    room_list = json.dumps([json.dumps({"msg": "room_list", "id": 7})])
    assert (await fetch(game_server, path + "/xhr_send", body=room_list)).code == 204
    await asyncio.sleep(0.2)
    polled = (await fetch(game_server, path + "/xhr")).body.decode()
    replies = [json.loads(m) for m in json.loads(polled[1:])]
    assert replies[0]["msg"] == "error" and replies[0]["code"] == "bad_json", replies
    assert any(m["msg"] == "room_list" and m.get("re") == 7 for m in replies), replies
