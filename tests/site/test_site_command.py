"""`game-server site` and `game-server user add NAME --password` as an operator runs them (the
site in a subprocess; the quick refusals through `cli.main`), and the site's settings."""

from __future__ import annotations

import io
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from game_server import tokens
from game_server.cli import main
from game_server.config import Config, ConfigError, site_secret
from game_server.site.auth import Auth
from game_server.site.passwords import PasswordHasher
from game_server.storage import UserStore, make_engine
from game_server.storage.migrate import upgrade


def environment(tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAME_")}
    env["GAME_DATABASE_URL"] = f"sqlite:///{tmp_path}/game.db"
    env.update(extra)
    return env


@pytest.fixture
def game_server_command(tmp_path, monkeypatch, capsys):
    """Run `game-server ARGS` in this process, in tmp_path with only the given GAME_*
    settings and `stdin` as standard input (not a terminal); returns (status, out, err)."""
    monkeypatch.chdir(tmp_path)

    def run(*args: str, stdin: str = "", **settings: str) -> tuple[int, str, str]:
        for name in [name for name in os.environ if name.startswith("GAME_")]:
            monkeypatch.delenv(name)
        for name, value in environment(tmp_path, **settings).items():
            if name.startswith("GAME_"):
                monkeypatch.setenv(name, value)
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        status = main(list(args))
        out, err = capsys.readouterr()
        return status, out, err

    return run


def test_user_add_with_a_password_from_standard_input(tmp_path, game_server_command):
    upgrade(f"sqlite:///{tmp_path}/game.db")
    status, out, err = game_server_command("user", "add", "Ann", "--password",
                                           stdin="correct horse\n")
    assert status == 0, err
    user_id = int(out)
    engine = make_engine(f"sqlite:///{tmp_path}/game.db")
    try:
        auth = Auth(UserStore(engine), PasswordHasher())
        assert auth.sign_in("ann", "correct horse").id == user_id
        assert auth.sign_in("Ann", "wrong horse") is None
    finally:
        engine.dispose()


def test_user_add_refuses_a_weak_password_and_adds_no_one(tmp_path, game_server_command):
    upgrade(f"sqlite:///{tmp_path}/game.db")
    status, _, err = game_server_command("user", "add", "Ann", "--password",
                                         stdin="password\n")
    assert status == 1 and "most common passwords" in err
    engine = make_engine(f"sqlite:///{tmp_path}/game.db")
    try:
        assert UserStore(engine).by_name("Ann") is None
    finally:
        engine.dispose()


def test_site_needs_a_secret_outside_dev_mode(game_server_command):
    keys = tokens.generate_keyring_entry()
    status, _, err = game_server_command("site", GAME_TOKEN_KEYS=keys)
    assert status == 2 and "GAME_SITE_SECRET is not set" in err
    status, _, err = game_server_command("site", GAME_TOKEN_KEYS=keys,
                                         GAME_SITE_SECRET="too-short")
    assert status == 2 and "at least 32 characters" in err and "too-short" not in err
    status, _, err = game_server_command("site", GAME_SITE_SECRET="s" * 40)
    assert status == 2 and "GAME_TOKEN_KEYS is not set" in err


def test_site_dev_generates_a_secret_once_and_serves_the_home_page(tmp_path):
    upgrade(f"sqlite:///{tmp_path}/game.db")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "game_server", "site", "--dev", "--port", str(port)],
        cwd=tmp_path, env=environment(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                    assert page.status == 200 and b"Sign up" in page.read()
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline, "the site did not start"
                time.sleep(0.1)
    finally:
        process.terminate()
        process.communicate(timeout=10)
    secret = tmp_path / ".game-dev-site-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_text().strip()) >= 32
    # The token key is the one `serve --dev` uses from the same folder.
    assert (tmp_path / ".game-dev-keys").exists()
    assert site_secret(Config(dev=True), tmp_path) == secret.read_text().strip()


def test_site_settings_from_the_environment():
    config = Config.from_env({})
    assert (config.site_port, config.client_url, config.secure_cookies) == (
        8000, "http://localhost:8080/", False)
    config = Config.from_env({"GAME_SITE_PORT": "9000", "GAME_SECURE_COOKIES": "on",
                              "GAME_CLIENT_URL": "https://cards.example/play/",
                              "GAME_SITE_SECRET": "s" * 40}, site_port=9100)
    assert config.site_port == 9100  # --port wins
    assert config.secure_cookies is True and config.client_url == "https://cards.example/play/"
    assert site_secret(config) == "s" * 40
    assert "s" * 40 not in repr(config)
    with pytest.raises(ConfigError, match="GAME_SITE_PORT"):
        Config.from_env({"GAME_SITE_PORT": "70000"})
    with pytest.raises(ConfigError, match="GAME_SECURE_COOKIES must be on or off"):
        Config.from_env({"GAME_SECURE_COOKIES": "maybe"})
