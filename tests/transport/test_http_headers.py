"""Hardening of HTTP responses (issue 12, item 11): security headers on the web client,
`/metrics` only on its own listener, SockJS session ids kept out of the logs."""

from __future__ import annotations

import logging
import socket

import pytest
from tornado.httpclient import AsyncHTTPClient

from game_server.server import start_metrics


async def fetch(url, **options):
    return await AsyncHTTPClient().fetch(url, raise_error=False, **options)


@pytest.mark.parametrize("path", ["/", "/index.html", "/js/app.js", "/css/base.css",
                                  "/config.json", "/vendor/sockjs.min.js", "/no-such-file",
                                  "/api/leaderboard"])
async def test_the_web_client_gets_the_security_headers(game_server, path):
    response = await fetch(game_server.url + path)
    headers = response.headers
    policy = dict(part.strip().split(" ", 1) for part in
                  headers["Content-Security-Policy"].split(";") if part.strip())
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


async def test_the_sockjs_iframe_page_may_be_framed_by_its_own_origin_only(game_server):
    for path in ("/sockjs/iframe.html", "/sockjs/iframe-a1b2.html", "/sockjs/info"):
        response = await fetch(game_server.url + path)
        assert response.code == 200, path
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert response.headers["Content-Security-Policy"] == "frame-ancestors 'self'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_the_main_site_may_be_asked_for_tokens(game_server_factory):
    server = await game_server_factory(site_url="https://site.example/")
    response = await fetch(server.url + "/")
    assert "connect-src 'self' https://site.example;" in \
        response.headers["Content-Security-Policy"]


async def test_metrics_are_not_on_the_public_port(game_server):
    assert (await fetch(game_server.url + "/metrics")).code == 404


async def test_metrics_are_served_on_their_own_listener(game_server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = start_metrics(("127.0.0.1", port), game_server.server.metrics)
    try:
        response = await fetch(f"http://127.0.0.1:{port}/metrics")
        assert response.code == 200 and b"game_connections" in response.body
        assert (await fetch(f"http://127.0.0.1:{port}/")).code == 404
    finally:
        http.stop()


async def test_a_metrics_port_in_use_is_one_warning_and_the_server_runs_on(game_server, caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with caplog.at_level(logging.WARNING):
            assert start_metrics(taken.getsockname(), game_server.server.metrics) is None
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "GAME_METRICS_ADDRESS" in record.getMessage()


async def test_sockjs_session_ids_stay_out_of_the_logs(game_server, caplog):
    secret = "s3cr3tsessi0n"
    with caplog.at_level(logging.DEBUG):
        # Unknown sessions: 404s, which the access log reports as warnings.
        for transport in ("xhr_send", "xhr", "jsonp_send"):
            await fetch(f"{game_server.url}/sockjs/000/{secret}/{transport}", method="POST",
                        body='["x"]')
        await fetch(f"{game_server.url}/sockjs/000/{secret}/xhr_send", method="PUT",
                    body='["x"]')
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/sockjs/000/" in logged
    assert secret not in logged


def test_the_other_game_servers_origins_may_be_reached_and_may_frame_sockjs_pages():
    """Several servers at origins of their own (absolute GAME_PUBLIC_URL, no nginx in front):
    the web client may connect to them (HTTP and WebSocket) and load their SockJS iframe
    page, which they may frame; nobody else may."""
    from game_server.transport.app import SecurityHeaders

    headers = SecurityHeaders.for_site("", ("http://game-2.example:8080",
                                            "https://game-3.example"))
    client = headers.web_client_policy
    connect = next(part for part in client.split("; ") if part.startswith("connect-src"))
    assert connect.split()[1:] == ["'self'", "http://game-2.example:8080",
                                   "https://game-3.example", "ws://game-2.example:8080",
                                   "wss://game-3.example"]
    assert "frame-src 'self' http://game-2.example:8080 https://game-3.example" in client
    # jsonp-polling loads its replies as scripts and sends with form posts
    assert "script-src 'self' http://game-2.example:8080 https://game-3.example;" in client
    assert "form-action 'self' http://game-2.example:8080 https://game-3.example;" in client
    assert "frame-ancestors 'none'" in client
    assert headers.sockjs_policy == ("frame-ancestors 'self' http://game-2.example:8080 "
                                     "https://game-3.example")
    assert headers.sockjs_frame_options is None
    alone = SecurityHeaders.for_site("")
    assert "frame-src 'self';" in alone.web_client_policy
    assert "script-src 'self';" in alone.web_client_policy
    assert (alone.sockjs_policy, alone.sockjs_frame_options) == ("frame-ancestors 'self'",
                                                                 "SAMEORIGIN")
