"""deploy/nginx.conf.template and deploy/render_nginx.py, without running any server."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cluster import DEPLOY, render_nginx

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
