"""deploy/nginx.conf.template and deploy/render_nginx.py, without running any game server.

The template is rendered and checked with `nginx -t`, with and without the main site; the
routes are checked through a real nginx in front of stand-in back ends that answer with their
name and the path they were asked for.
"""

from __future__ import annotations

import http.client
import http.server
import json
import socket
import subprocess
import sys
import threading
import time

import pytest

from cluster import DEPLOY, free_port, render_nginx

#: The arguments deploy/nginx.conf was rendered with (deploy/README.md uses these ports).
EXAMPLE = [("game-1", "127.0.0.1:8081"), ("game-2", "127.0.0.1:8082"),
           ("game-3", "127.0.0.1:8083")]


def test_the_checked_in_config_is_the_template_rendered():
    rendered = render_nginx().render_file("8080", EXAMPLE)
    assert (DEPLOY / "nginx.conf").read_text() == rendered, (
        "deploy/nginx.conf is stale: run  python3 deploy/render_nginx.py --listen 8080 "
        + " ".join(f"--server {i}={a}" for i, a in EXAMPLE) + " > deploy/nginx.conf")


def test_the_command_line_prints_the_same():
    command = [sys.executable, str(DEPLOY / "render_nginx.py"), "--listen", "8080"]
    for server_id, address in EXAMPLE:
        command += ["--server", f"{server_id}={address}"]
    printed = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert printed == (DEPLOY / "nginx.conf").read_text()


def test_each_server_gets_its_own_route_and_a_place_in_both_shared_upstreams():
    text = render_nginx().render_file("127.0.0.1:9000", [("a", "10.0.0.1:1"),
                                                          ("b-2", "[::1]:2")])
    assert "listen 127.0.0.1:9000;" in text
    assert "{{" not in text and "\n##" not in text
    for server_id, address in (("a", "10.0.0.1:1"), ("b-2", "[::1]:2")):
        assert f"location /g/{server_id}/sockjs/ {{" in text
        assert f"proxy_pass http://game_server_{server_id}/sockjs/;" in text
        assert text.count(f"server {address} max_fails") == 2  # any server, and the lobby
    assert "hash $sockjs_session consistent;" in text


@pytest.mark.parametrize("servers, problem", [
    ([], "at least one"),
    ([("a b", "127.0.0.1:1")], "server id"),
    ([("a", "127.0.0.1:1"), ("a", "127.0.0.1:2")], "unique"),
    ([("a", "127.0.0.1")], "host:port"),
    ([("a", "127.0.0.1:1; include /etc/passwd")], "host:port"),
])
def test_bad_server_lists_are_refused(servers, problem):
    with pytest.raises(ValueError, match=problem):
        render_nginx().render_file("8080", servers)


def test_an_unknown_placeholder_is_refused():
    with pytest.raises(ValueError, match="unknown placeholder"):
        render_nginx().render("listen {{listen}};\nroot {{root}};\n", "80", EXAMPLE)


@pytest.mark.parametrize("count", [1, 3, 5])
def test_nginx_accepts_the_rendered_config(nginx_executable, tmp_path, count):
    servers = [(f"game-{n}", f"127.0.0.1:{8100 + n}") for n in range(1, count + 1)]
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx().render_file("127.0.0.1:8099", servers))
    checked = subprocess.run([nginx_executable, "-t", "-p", str(tmp_path), "-c", str(conf),
                              "-e", str(tmp_path / "error.log")],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


# --- With the main site (--site): the site at /, the web client under /play/ ---------------

#: The arguments deploy/nginx.compose.conf was rendered with: docker-compose.yml's services
#: (tests/test_compose.py checks that these match that file).
COMPOSE = {"listen": "8080", "servers": [("game-1", "game-1:8080"), ("game-2", "game-2:8080")],
           "site": "site:8000", "error_log": "stderr", "access_log": "/dev/stdout"}


def _compose_command() -> list[str]:
    command = [sys.executable, str(DEPLOY / "render_nginx.py"), "--listen", COMPOSE["listen"]]
    for server_id, address in COMPOSE["servers"]:
        command += ["--server", f"{server_id}={address}"]
    return command + ["--site", COMPOSE["site"], "--error-log", COMPOSE["error_log"],
                      "--access-log", COMPOSE["access_log"]]


def _render_compose(**changes) -> str:
    arguments = {**COMPOSE, **changes}
    return render_nginx().render_file(arguments.pop("listen"), arguments.pop("servers"),
                                      **arguments)


def test_the_compose_config_is_the_template_rendered():
    assert (DEPLOY / "nginx.compose.conf").read_text() == _render_compose(), (
        "deploy/nginx.compose.conf is stale: run  python3 "
        + " ".join(_compose_command()[1:]) + " > deploy/nginx.compose.conf")


def test_the_command_line_prints_the_compose_config():
    printed = subprocess.run(_compose_command(), capture_output=True, text=True,
                             check=True).stdout
    assert printed == (DEPLOY / "nginx.compose.conf").read_text()


def test_with_a_site_the_site_has_the_root_and_the_client_moves_to_play():
    with_site = render_nginx().render_file("8080", EXAMPLE, site="127.0.0.1:8000")
    without = render_nginx().render_file("8080", EXAMPLE)
    assert "{{" not in with_site and "\n##" not in with_site
    assert "server 127.0.0.1:8000;" in with_site and "#   --site 127.0.0.1:8000" in with_site
    assert "upstream site {" not in without and "location /play/ {" not in without
    # Everything of the no-site configuration that is not about the root stays.
    for route in ("location /api/ {", "location /vendor/ {", "location /sockjs/ {",
                  "location /g/game-2/sockjs/ {"):
        assert route in with_site and route in without
    assert "location = /config.json {" in without and "location = /config.json {" not in with_site


def test_the_log_destinations_are_filled_in():
    text = _render_compose()
    assert "error_log stderr warn;" in text and "access_log /dev/stdout;" in text
    default = render_nginx().render_file("8080", EXAMPLE)
    assert "error_log error.log warn;" in default and "access_log access.log;" in default


@pytest.mark.parametrize("options, problem", [
    ({"site": "site"}, "site address"),
    ({"site": "site:8000; include /etc/passwd"}, "site address"),
    ({"error_log": "x; user root"}, "error_log"),
    ({"access_log": ""}, "access_log"),
])
def test_bad_site_or_log_options_are_refused(options, problem):
    with pytest.raises(ValueError, match=problem):
        render_nginx().render_file("8080", EXAMPLE, **options)


def _nginx_test(nginx_executable: str, directory, text: str) -> None:
    conf = directory / "nginx.conf"
    conf.write_text(text)
    checked = subprocess.run([nginx_executable, "-t", "-p", str(directory), "-c", str(conf),
                              "-e", str(directory / "error.log")],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


def test_nginx_accepts_the_compose_config(nginx_executable, tmp_path):
    """deploy/nginx.compose.conf names hosts that only compose's network resolves (nginx -t
    resolves them): the same arguments with each host replaced by 127.0.0.1."""
    # One port each here: in compose every game server has port 8080 of its own container.
    servers = [(server_id, f"127.0.0.1:{8101 + n}")
               for n, (server_id, _) in enumerate(COMPOSE["servers"])]
    site = "127.0.0.1:" + COMPOSE["site"].rpartition(":")[2]
    _nginx_test(nginx_executable, tmp_path,
                _render_compose(listen="127.0.0.1:8099", servers=servers, site=site))


@pytest.mark.parametrize("count", [1, 3])
def test_nginx_accepts_the_config_with_a_site(nginx_executable, tmp_path, count):
    servers = [(f"game-{n}", f"127.0.0.1:{8100 + n}") for n in range(1, count + 1)]
    _nginx_test(nginx_executable, tmp_path,
                render_nginx().render_file("127.0.0.1:8099", servers, site="127.0.0.1:8100"))


# --- The routes, through a real nginx to stand-in back ends ---------------------------------

class _Echo(http.server.BaseHTTPRequestHandler):
    """Answers every request with who it is and the path it was asked for."""

    name = "?"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = json.dumps({"backend": self.name, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format, *args) -> None:
        pass


class _Routed:
    """Stand-ins for game-1, game-2 and (with `site`) the site, and nginx in front of them,
    rendered from the template; `ask(method, path)` -> (status, backend, path, Location)."""

    def __init__(self, nginx_executable: str, prefix, site: bool) -> None:
        self.backends: list[http.server.ThreadingHTTPServer] = []
        self.nginx: subprocess.Popen | None = None
        servers = [("game-1", self._start("game-1")), ("game-2", self._start("game-2"))]
        site_address = self._start("site") if site else None
        self.port = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(render_nginx().render_file(f"127.0.0.1:{self.port}", servers,
                                                   site=site_address))
        with open(prefix / "nginx.out", "wb") as out:
            self.nginx = subprocess.Popen(
                [nginx_executable, "-p", str(prefix), "-c", str(conf),
                 "-e", str(prefix / "error.log"), "-g", "daemon off;"],
                stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            assert self.nginx.poll() is None, (prefix / "nginx.out").read_text()
            assert time.monotonic() < deadline, "nginx did not start listening"
            time.sleep(0.02)

    def _start(self, name: str) -> str:
        handler = type(f"Echo_{name}", (_Echo,), {"name": name})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        self.backends.append(server)
        return f"127.0.0.1:{server.server_address[1]}"

    def ask(self, method: str, path: str):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request(method, path, body=b"{}" if method == "POST" else None)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                return response.status, None, None, response.getheader("Location")
            answer = json.loads(body)
            return response.status, answer["backend"], answer["path"], None
        finally:
            connection.close()

    def close(self) -> None:
        if self.nginx is not None:
            self.nginx.terminate()
            self.nginx.wait(timeout=10)
        for server in self.backends:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def with_site(nginx_executable, tmp_path_factory):
    routed = _Routed(nginx_executable, tmp_path_factory.mktemp("with-site"), site=True)
    try:
        yield routed.ask
    finally:
        routed.close()


@pytest.fixture(scope="module")
def without_site(nginx_executable, tmp_path_factory):
    routed = _Routed(nginx_executable, tmp_path_factory.mktemp("without-site"), site=False)
    try:
        yield routed.ask
    finally:
        routed.close()


@pytest.mark.parametrize("method, path, backend, seen", [
    ("GET", "/", "site", "/"),
    ("POST", "/signup", "site", "/signup"),
    ("GET", "/profile", "site", "/profile"),
    ("GET", "/users/7/invite", "site", "/users/7/invite"),
    ("POST", "/token", "site", "/token"),
    ("GET", "/static/site.css", "site", "/static/site.css"),
    # "Play" itself is the site's (no redirect to /play/), with or without a query.
    ("GET", "/play", "site", "/play"),
    ("GET", "/play?next=1", "site", "/play?next=1"),
    # The web client, /play cut off: the paths index.html and app.js ask for, relative.
    ("GET", "/play/", "game", "/"),
    ("GET", "/play/config.json", "game", "/config.json"),
    ("GET", "/play/js/app.js", "game", "/js/app.js"),
    ("GET", "/play/css/base.css", "game", "/css/base.css"),
    ("GET", "/play/vendor/sockjs.min.js", "game", "/vendor/sockjs.min.js"),
    ("POST", "/play/dev/login", "game", "/dev/login"),
    ("GET", "/play/sockjs/info?t=1", "game", "/sockjs/info?t=1"),
    # Absolute paths the game servers still own.
    ("GET", "/api/leaderboard", "game", "/api/leaderboard"),
    ("GET", "/vendor/sockjs.min.js", "game", "/vendor/sockjs.min.js"),
    ("GET", "/sockjs/info", "game", "/sockjs/info"),
    ("GET", "/g/game-2/sockjs/info", "game-2", "/sockjs/info"),
    ("GET", "/g/game-1/sockjs/123/abc/xhr", "game-1", "/sockjs/123/abc/xhr"),
])
def test_with_a_site_each_path_reaches_its_back_end(with_site, method, path, backend, seen):
    status, answered_by, answered_path, location = with_site(method, path)
    assert status == 200, f"{status} (Location: {location})"
    assert answered_by == backend or (backend == "game" and answered_by.startswith("game-"))
    assert answered_path == seen


def test_with_a_site_one_client_session_stays_on_one_server(with_site):
    ask = with_site
    placed = {}
    for n in range(24):
        session = f"session{n:02d}"
        hosts = {ask(method, f"{prefix}/sockjs/{n:03d}/{session}/{transport}")[1]
                 for prefix in ("/play", "") for method, transport in
                 (("POST", "xhr"), ("POST", "xhr_send"), ("POST", "xhr_streaming"))}
        assert len(hosts) == 1, f"{session} went to {hosts}"
        placed[session] = hosts.pop()
    assert set(placed.values()) == {"game-1", "game-2"}, "every session on one server"


@pytest.mark.parametrize("path", ["/", "/config.json", "/play", "/play/", "/dev/login"])
def test_without_a_site_the_game_servers_have_the_root(without_site, path):
    status, answered_by, answered_path, _ = without_site("GET", path)
    assert status == 200 and answered_by.startswith("game-")
    assert answered_path == path
