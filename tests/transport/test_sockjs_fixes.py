"""One test per fix in game_server/transport/sockjs_fixes.py, plus upstream defects to watch."""

from __future__ import annotations

import asyncio
import json

from tornado.httpclient import AsyncHTTPClient
from tornado.simple_httpclient import HTTPTimeoutError
from tornado.websocket import websocket_connect

from game_server.client import GameClient

from sockjs_helpers import connection_of, create_room, signed_in, until_state

SESSION = "/sockjs/000/{}"


async def fetch(server, path, method="GET", body=None, **options):
    http = AsyncHTTPClient()
    if method == "POST" and body is None:
        body = b""
    return await http.fetch(server.url + path, method=method, body=body, raise_error=False,
                            **options)


async def test_fix1_a_broken_websocket_frame_is_answered_not_dropped(game_server):
    client = await signed_in(game_server, "Ann")
    client.send_raw('["unterminated')
    error = await client.wait_for(lambda m: m.get("msg") == "error")
    assert error["code"] == "bad_json"
    assert (await client.request({"msg": "room_list"}))["msg"] == "room_list"
    await client.close()


async def test_fix2_a_broken_xhr_send_body_is_reported_on_the_stream(game_server):
    path = SESSION.format("brokenxhr1")
    opened = await fetch(game_server, path + "/xhr", "POST")
    assert opened.body == b"o\n"
    sent = await fetch(game_server, path + "/xhr_send", "POST", body=b'["{\\"msg\\"')
    assert sent.code == 500 and sent.body == b"Broken JSON encoding."
    polled = await fetch(game_server, path + "/xhr", "POST")
    frame = polled.body.decode()
    assert frame.startswith("a")
    (message,) = [json.loads(m) for m in json.loads(frame[1:])]
    assert message["msg"] == "error" and message["code"] == "bad_json"


async def test_fix3_htmlfile_keeps_the_callback_name_sockjs_client_sends(game_server):
    path = SESSION.format("htmlfile1") + "/htmlfile?c=_jp.a1b2c3"
    chunks: list[bytes] = []
    done = asyncio.ensure_future(fetch(game_server, path, streaming_callback=chunks.append,
                                       request_timeout=1))
    for _ in range(100):
        if b"c.start()" in b"".join(chunks):
            break
        await asyncio.sleep(0.01)
    body = b"".join(chunks).decode()
    assert "var c = parent._jp.a1b2c3;" in body
    assert 'p("o");' in body
    try:
        await done  # ends by the request timeout; the session then expires by itself
    except HTTPTimeoutError:
        pass
    refused = await fetch(game_server, SESSION.format("htmlfile2") + "/htmlfile?c=x%3Balert(1)")
    assert refused.code == 500 and b"callback" in refused.body


async def test_fix4_jsonp_refuses_a_callback_that_is_not_a_name(game_server):
    ok = await fetch(game_server, SESSION.format("jsonp1") + "/jsonp?c=_jp.abc")
    assert ok.code == 200 and ok.body.startswith(b'/**/_jp.abc("o");')
    evil = await fetch(game_server, SESSION.format("jsonp2") + "/jsonp?c=alert(document.cookie)//")
    assert evil.code == 500 and b"alert" not in evil.body


async def test_fix5_heartbeats_stop_when_a_websocket_goes_away(game_server_factory):
    # With a 50 ms heartbeat, any write to a closed socket would log errors within the test;
    # the autouse guard in conftest fails the test on any ERROR record.
    server = await game_server_factory(sockjs_settings={"heartbeat_delay": 0.05})
    ws = await websocket_connect(f"ws://127.0.0.1:{server.port}/sockjs/000/hb1/websocket")
    assert await ws.read_message() == "o"
    assert await asyncio.wait_for(ws.read_message(), 2) == "h"
    ws.close()
    await asyncio.sleep(0.4)
    client = await GameClient.connect(server.url)
    # Server-side close (too many invalid tokens) with heartbeats running.
    for attempt in range(5):
        client.send({"msg": "auth", "protocol": 2, "token": f"bad{attempt}"})
    await asyncio.sleep(0.4)
    assert client.close_reason == (4001, "Too many invalid tokens")
    await client.close()


async def test_fix6_the_iframe_page_loads_the_served_sockjs_client(game_server):
    page = await fetch(game_server, "/sockjs/iframe.html")
    assert page.code == 200
    assert b'src="/vendor/sockjs.min.js"' in page.body
    assert b"cdn" not in page.body.lower()


async def test_upstream_47_on_close_fires_when_a_polling_client_vanishes(game_server_factory):
    server = await game_server_factory(sockjs_settings={"disconnect_delay": 0.2})
    ann = await signed_in(server, "Ann")
    room = await create_room(ann, "t", 3)
    _, token = await server.user("Bob")
    path = SESSION.format("vanish1")
    assert (await fetch(server, path + "/xhr", "POST")).body == b"o\n"
    frame = json.dumps([json.dumps({"msg": "auth", "protocol": 2, "token": token}),
                        json.dumps({"msg": "join", "room": room})])
    assert (await fetch(server, path + "/xhr_send", "POST", body=frame)).code == 204
    joined = await until_state(ann, lambda s: s["event"] == {"type": "join", "seat": 1})
    assert joined["table"]["seats"][1]["connected"] is True
    # Bob never polls again: after disconnect_delay the session expires and his seat shows it.
    gone = await until_state(ann, lambda s: s["event"] == {"type": "disconnect", "seat": 1},
                             timeout=5)
    assert gone["table"]["seats"][1]["connected"] is False
    await ann.close()


async def test_fix7_websocket_frames_go_straight_to_the_socket(game_server_factory):
    # Tornado's IOStream path (GAME_SOCKET_TAKEOVER=off; TLS); the socket taken over by the
    # server's own protocol is tested in test_socket_stream.py.
    game_server = await game_server_factory(sockjs_settings={"socket_takeover": False})
    client = await signed_in(game_server, "Ann")
    peer, connection = connection_of(game_server, "Ann")
    stream = connection.session.handler.ws_connection.stream
    peer.send(json.dumps({"msg": "note", "text": "é ✓ \u2028"}, ensure_ascii=False))
    # Written by the socket call itself: Tornado's stream holds nothing and made no future.
    assert not stream.writing() and not stream._write_futures
    note = await client.wait_for(lambda m: m.get("msg") == "note")
    assert note["text"] == "é ✓ \u2028"
    await client.close()


async def test_fix7_what_the_socket_cannot_take_follows_in_order(game_server_factory):
    # Far more than the default cap on unsent output (test_limits.py), on purpose.
    server = await game_server_factory(sockjs_settings={"max_output_bytes": 64 << 20,
                                                        "socket_takeover": False})
    client = await signed_in(server, "Ann")
    peer, connection = connection_of(server, "Ann")
    stream = connection.session.handler.ws_connection.stream
    # 30 MB in one go, more than any socket buffer: the client cannot read in between, so
    # later frames are partly sent and the rest must wait in Tornado's buffer, in order.
    sizes = [70_000 + n for n in range(450)]
    for n, size in enumerate(sizes):
        peer.send(json.dumps({"msg": "note", "n": n, "pad": "x" * size}))
    assert stream.writing(), "the burst never filled the socket: the fallback was not used"
    peer.send(json.dumps({"msg": "note", "n": len(sizes), "pad": ""}))
    await client.wait_for(lambda m: m.get("msg") == "note" and m["n"] == len(sizes))
    notes = [m for m in client.received if m.get("msg") == "note"]
    assert [m["n"] for m in notes] == list(range(len(sizes) + 1))
    assert [len(m["pad"]) for m in notes[:-1]] == sizes
    await client.close()

