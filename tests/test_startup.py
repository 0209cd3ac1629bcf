"""`game-server serve` that cannot start says why in one line and exits non-zero, without a
traceback (issue 12, item 12): an unmigrated or unreachable database, a port in use."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from game_server import tokens
from game_server.storage import migrate


def serve(tmp_path, env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GAME_")}
    environment.update({"GAME_TOKEN_KEYS": tokens.generate_keyring_entry(1),
                        "GAME_ADMIN_PORT": "0", "GAME_METRICS": "off",
                        "GAME_DATABASE_URL": f"sqlite:///{tmp_path}/game.db", **env})
    result = subprocess.run([sys.executable, "-m", "game_server", "serve"], cwd=tmp_path,
                            env=environment, capture_output=True, text=True, timeout=60)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_an_unmigrated_database_is_named_with_the_command_that_fixes_it(tmp_path):
    line = serve(tmp_path, {"GAME_PORT": "0"})
    assert "game-server migrate" in line and "game.db" in line


def test_an_unreachable_database_is_one_line(tmp_path):
    line = serve(tmp_path, {"GAME_PORT": "0",
                            "GAME_DATABASE_URL": "postgresql://game:secret@127.0.0.1:1/game"})
    assert "cannot reach the database" in line and "127.0.0.1:1" in line
    assert "secret" not in line


def test_a_port_in_use_names_game_port(tmp_path):
    migrate.upgrade(f"sqlite:///{tmp_path}/game.db")
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = serve(tmp_path, {"GAME_PORT": str(port)})
    assert f"port {port}" in line and "GAME_PORT" in line and "in use" in line
