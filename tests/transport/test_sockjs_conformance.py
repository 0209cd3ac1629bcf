"""Where sockjs-tornado 1.0.7 differed from the SockJS protocol as sockjs-node 0.3.24 serves it
(the sockjs-protocol test suite's expectations), one test each (issue 12, "SockJS
conformance")."""

from __future__ import annotations

import asyncio
import json

from tornado.httpclient import AsyncHTTPClient
from tornado.simple_httpclient import HTTPTimeoutError
from tornado.websocket import websocket_connect

SESSION = "/sockjs/000/{}"
NOT_CACHED = "no-store, no-cache, no-transform, must-revalidate, max-age=0"


async def fetch(server, path, method="GET", body=None, **options):
    if method == "POST" and body is None:
        body = b""
    return await AsyncHTTPClient().fetch(server.url + path, method=method, body=body,
                                         raise_error=False, **options)


async def test_responses_that_must_not_be_cached_also_forbid_transforms(game_server):
    # A proxy that recompresses a streaming response can hold it back: `no-transform`.
    path = SESSION.format("cache1")
    for response in [await fetch(game_server, path + "/xhr", "POST"),
                     await fetch(game_server, path + "/xhr_send", "POST", body=b'["{}"]'),
                     await fetch(game_server, SESSION.format("cache2") + "/jsonp?c=x"),
                     await fetch(game_server, "/sockjs/info")]:
        assert response.headers["Cache-Control"] == NOT_CACHED, response.effective_url


async def test_jsonp_responses_start_with_an_empty_comment(game_server):
    # `/**/` first: a known defence against content sniffing (Rosetta Flash).
    response = await fetch(game_server, SESSION.format("jsonp1") + "/jsonp?c=_jp.abc")
    assert response.code == 200
    assert response.body == b'/**/_jp.abc("o");\r\n'


async def test_eventsource_content_type_has_no_charset(game_server):
    headers: list[str] = []
    chunks: list[bytes] = []
    done = asyncio.ensure_future(fetch(
        game_server, SESSION.format("es1") + "/eventsource", request_timeout=0.5,
        header_callback=headers.append, streaming_callback=chunks.append))
    for _ in range(100):
        if b"data: o" in b"".join(chunks):
            break
        await asyncio.sleep(0.01)
    content_type = [h for h in headers if h.lower().startswith("content-type:")]
    assert [h.split(":", 1)[1].strip() for h in content_type] == ["text/event-stream"]
    try:
        await done
    except HTTPTimeoutError:
        pass


async def test_the_raw_websocket_closes_with_the_sessions_code_and_reason(game_server):
    ws = await websocket_connect(f"ws://127.0.0.1:{game_server.port}/sockjs/websocket")
    for attempt in range(5):
        ws.write_message(json.dumps({"msg": "auth", "protocol": 2, "token": f"bad{attempt}"}))
    while await asyncio.wait_for(ws.read_message(), 5) is not None:
        pass
    ws.close()
    assert (ws.close_code, ws.close_reason) == (4001, "Too many invalid tokens")


async def test_a_websocket_url_answers_other_methods_with_a_bare_405(game_server):
    for path in (SESSION.format("ws405") + "/websocket", "/sockjs/websocket"):
        response = await fetch(game_server, path, "POST")
        assert response.code == 405
        assert response.headers.get("Allow") == "GET"
        assert "Content-Type" not in response.headers
        assert response.body == b""


def close_on_open(server, monkeypatch) -> None:
    """Make the server close every new session as it opens (as a server refusing a
    connection would), with 4000 "Refused"."""
    connect = server.hub.connect

    def refuse(send, close, *args, **kwargs):
        peer = connect(send, close, *args, **kwargs)
        close(4000, "Refused")
        return peer

    monkeypatch.setattr(server.hub, "connect", refuse)


async def test_a_session_closed_as_it_opens_over_xhr_gets_the_reason_next(game_server,
                                                                          monkeypatch):
    close_on_open(game_server, monkeypatch)
    path = SESSION.format("closed1")
    opened = await fetch(game_server, path + "/xhr", "POST", request_timeout=2)
    assert (opened.code, opened.body) == (200, b"o\n")
    closed = await fetch(game_server, path + "/xhr", "POST", request_timeout=2)
    assert (closed.code, closed.body) == (200, b'c[4000,"Refused"]\n')


async def test_a_session_closed_as_it_opens_over_jsonp_gets_the_reason_next(game_server,
                                                                            monkeypatch):
    close_on_open(game_server, monkeypatch)
    path = SESSION.format("closed2")
    opened = await fetch(game_server, path + "/jsonp?c=cb", request_timeout=2)
    assert (opened.code, opened.body) == (200, b'/**/cb("o");\r\n')
    closed = await fetch(game_server, path + "/jsonp?c=cb", request_timeout=2)
    assert closed.code == 200
    assert closed.body == b'/**/cb("c[4000,\\"Refused\\"]");\r\n'


async def test_an_http_1_0_keep_alive_streaming_response_ends(game_server_factory):
    # An HTTP/1.0 response without a length can only end by closing the connection.
    server = await game_server_factory(sockjs_settings={"response_limit": 1})
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"POST /sockjs/000/http10/xhr_streaming HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                 b"Connection: keep-alive\r\nContent-Length: 0\r\n\r\n")
    response = await asyncio.wait_for(reader.read(), 3)  # to the end of the stream
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"keep-alive" not in head.lower()
    assert body == b"h" * 2048 + b"\no\n"


async def test_a_refused_callback_name_gets_its_own_error_text(game_server):
    for transport in ("jsonp", "htmlfile"):
        for callback in ("%20", "*", "abc(", "abc%28"):
            url = SESSION.format(f"cb{transport}") + f"/{transport}?c={callback}"
            refused = await fetch(game_server, url, request_timeout=2)
            assert (refused.code, refused.body) == (500, b'invalid "callback" parameter')
        missing = await fetch(game_server, SESSION.format("cb2") + f"/{transport}",
                              request_timeout=2)
        assert (missing.code, missing.body) == (500, b'"callback" parameter required')


async def test_the_iframe_page_is_the_current_one(game_server):
    page = await fetch(game_server, "/sockjs/iframe.html")
    assert page.code == 200
    body = page.body.decode()
    # sockjs-client first, then the bootstrap (the old page relied on `_sockjs_onload`).
    assert '<script src="/vendor/sockjs.min.js"></script>' in body
    assert body.index("sockjs.min.js") < body.index("SockJS.bootstrap_iframe();")
    assert "_sockjs_onload" not in body
    again = await fetch(game_server, "/sockjs/iframe.html",
                        headers={"If-None-Match": page.headers["ETag"]})
    assert again.code == 304
