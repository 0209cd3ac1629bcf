"""The `game-server` command, run as a user would (in a subprocess, in a fresh folder)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

from game_server import tokens
from game_server.rules import catalogue
from game_server.storage import migrate


def run(tmp_path, *args, env=None, check=True):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GAME_")}
    environment["GAME_DATABASE_URL"] = f"sqlite:///{tmp_path}/game.db"
    environment.update(env or {})
    result = subprocess.run([sys.executable, "-m", "game_server", *args], cwd=tmp_path,
                            env=environment, capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_keygen_prints_a_usable_key(tmp_path):
    key = run(tmp_path, "keygen").stdout.strip()
    keyring = tokens.parse_keys(key)
    assert keyring.issuing_kid == 1


def test_migrate_user_add_and_token(tmp_path):
    keys = tokens.generate_keyring_entry(3)
    migrated = run(tmp_path, "migrate")
    assert "database at head" in migrated.stdout
    # What a new user sees from `make play`: the migrations, not Alembic's plugin list.
    assert "Running upgrade" in migrated.stderr and "plugin" not in migrated.stderr
    assert migrate.current(f"sqlite:///{tmp_path}/game.db") == migrate.head()
    user_id = int(run(tmp_path, "user", "add", "Ann").stdout)
    by_name = run(tmp_path, "token", "Ann", env={"GAME_TOKEN_KEYS": keys}).stdout.strip()
    by_id = run(tmp_path, "token", str(user_id), env={"GAME_TOKEN_KEYS": keys}).stdout.strip()
    keyring = tokens.parse_keys(keys)
    assert tokens.read_token(keyring, by_name) == user_id
    assert tokens.read_token(keyring, by_id) == user_id
    duplicate = run(tmp_path, "user", "add", "Ann", check=False)
    assert duplicate.returncode == 1 and "Ann" in duplicate.stderr
    unknown = run(tmp_path, "token", "Nobody", env={"GAME_TOKEN_KEYS": keys}, check=False)
    assert unknown.returncode == 1 and "no user" in unknown.stderr


def test_secrets_init_and_rotate_make_files_the_settings_read(tmp_path):
    """What docker-compose.yml's `secrets` service runs, then a command reading the keys
    through GAME_TOKEN_KEYS_FILE, as the site and the game servers do."""
    directory = tmp_path / "secrets"
    first = run(tmp_path, "secrets", "init", str(directory)).stdout.splitlines()
    assert first == [f"{directory}/{name}: generated"
                     for name in ("token-keys", "site-secret", "database-password")]
    again = run(tmp_path, "secrets", "init", str(directory)).stdout.splitlines()
    assert all(line.endswith(": kept") for line in again)
    rotated = run(tmp_path, "secrets", "rotate", str(directory)).stdout
    assert "new token key 2 first" in rotated
    run(tmp_path, "migrate")
    run(tmp_path, "user", "add", "Ann")
    files = {"GAME_TOKEN_KEYS_FILE": str(directory / "token-keys")}
    token = run(tmp_path, "token", "Ann", env=files).stdout.strip()
    keyring = tokens.parse_keys((directory / "token-keys").read_text())
    assert keyring.kids == (2, 1) and tokens.read_token(keyring, token) == 1
    both = run(tmp_path, "token", "Ann", env={**files, "GAME_TOKEN_KEYS": "x"}, check=False)
    assert both.returncode == 2
    assert "GAME_TOKEN_KEYS and GAME_TOKEN_KEYS_FILE are both set" in both.stderr
    bad = run(tmp_path, "secrets", "init", str(directory), env={"GAME_SITE_SECRET": "short"},
              check=False)
    assert bad.returncode == 2 and "GAME_SITE_SECRET" in bad.stderr and "short" not in bad.stderr


def test_serve_without_keys_outside_dev_mode_is_a_clear_error(tmp_path):
    result = run(tmp_path, "serve", "--port", "0", check=False)
    assert result.returncode == 2
    assert "GAME_TOKEN_KEYS is not set" in result.stderr
    assert "keygen" in result.stderr


def test_a_log_level_that_does_not_exist_is_named(tmp_path):
    result = run(tmp_path, "migrate", env={"GAME_LOG_LEVEL": "loud"}, check=False)
    assert result.returncode == 2 and "GAME_LOG_LEVEL" in result.stderr
    quiet = run(tmp_path, "migrate", env={"GAME_LOG_LEVEL": "warning"})
    assert "Running upgrade" not in quiet.stderr and "database at head" in quiet.stdout


def test_malformed_settings_are_named(tmp_path):
    result = run(tmp_path, "serve", "--dev", env={"GAME_BOT_DELAY": "soon"}, check=False)
    assert result.returncode == 2 and "GAME_BOT_DELAY" in result.stderr
    result = run(tmp_path, "serve", env={"GAME_TOKEN_KEYS": "1:c2VjcmV0"}, check=False)
    assert result.returncode == 2 and "GAME_TOKEN_KEYS" in result.stderr
    assert "c2VjcmV0" not in result.stderr  # key material is never printed


def test_serve_help_documents_every_setting(tmp_path):
    text = run(tmp_path, "serve", "--help").stdout
    for name in ("GAME_DATABASE_URL", "GAME_TOKEN_KEYS", "GAME_PORT", "GAME_SERVER_ID",
                 "GAME_BOT_DELAY", "GAME_GRACE_SECONDS"):
        assert name in text


def test_serve_dev_generates_a_key_once_and_answers(tmp_path):
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run(tmp_path, "migrate")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GAME_")}
    environment["GAME_DATABASE_URL"] = f"sqlite:///{tmp_path}/game.db"
    process = subprocess.Popen([sys.executable, "-m", "game_server", "serve", "--dev",
                                "--port", str(port)], cwd=tmp_path, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/config.json") as reply:
                    config = json.loads(reply.read())
                    assert config["dev"] is True
                    # Protocol 2: the games this server offers, as welcome lists them.
                    assert config["games"] == catalogue()
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        key_file = tmp_path / ".game-dev-keys"
        assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
        first_key = key_file.read_text()
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    assert f"http://localhost:{port}/" in out
    assert "generated a development key" in err
    # A request that succeeds is no log line at the default level.
    assert "config.json" not in err and "tornado.access" not in err
    # Later commands reuse the key, so dev tokens keep working across restarts.
    user_id = run(tmp_path, "user", "add", "Ann").stdout.strip()
    token = run(tmp_path, "token", user_id).stdout.strip()
    assert tokens.read_token(tokens.parse_keys(first_key), token) == int(user_id)
