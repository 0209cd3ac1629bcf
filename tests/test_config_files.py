"""Secrets from files: the *_FILE settings (game_server/config.py) and the files
`game-server secrets init` writes for docker-compose.yml (game_server/secret_files.py)."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy.engine import make_url

from game_server import secret_files, tokens
from game_server.config import Config, ConfigError, site_secret

KEYS = tokens.generate_keyring_entry(4)
SECRET = "s" * 40
POSTGRES_URL = "postgresql://game@postgres:5432/game"


# --- config: X_FILE --------------------------------------------------------------------------

@pytest.mark.parametrize("variable, attribute, value", [
    ("GAME_TOKEN_KEYS", "token_keys", KEYS),
    ("GAME_SITE_SECRET", "site_secret", SECRET),
], ids=["token_keys", "site_secret"])  # not the values: keys are random, ids must not be
def test_a_secret_comes_from_the_file_its_file_variable_names(tmp_path, variable, attribute,
                                                              value):
    path = tmp_path / "secret"
    path.write_text(value + "\n")
    config = Config.from_env({f"{variable}_FILE": str(path)})
    assert getattr(config, attribute) == value


def test_only_one_trailing_newline_is_dropped_from_a_password(tmp_path):
    path = tmp_path / "password"
    path.write_text(" pass word \n\n")
    config = Config.from_env({"GAME_DATABASE_URL": POSTGRES_URL,
                              "GAME_DATABASE_PASSWORD_FILE": str(path)})
    assert make_url(config.database_url).password == " pass word \n"


def test_the_variable_alone_still_works_and_an_empty_file_variable_is_unset():
    config = Config.from_env({"GAME_TOKEN_KEYS": KEYS, "GAME_TOKEN_KEYS_FILE": "",
                              "GAME_SITE_SECRET": SECRET})
    assert config.token_keys == KEYS and config.site_secret == SECRET


def test_an_empty_variable_beside_its_file_counts_as_unset(tmp_path):
    """What docker-compose.yml gives the app: GAME_TOKEN_KEYS: "" and the file."""
    path = tmp_path / "keys"
    path.write_text(KEYS + "\n")
    config = Config.from_env({"GAME_TOKEN_KEYS": "", "GAME_TOKEN_KEYS_FILE": str(path)})
    assert config.token_keys == KEYS


@pytest.mark.parametrize("variable", ["GAME_TOKEN_KEYS", "GAME_SITE_SECRET"])
def test_both_the_variable_and_its_file_is_an_error(tmp_path, variable):
    path = tmp_path / "secret"
    path.write_text(SECRET)
    with pytest.raises(ConfigError, match=f"{variable} and {variable}_FILE are both set") as info:
        Config.from_env({variable: SECRET, f"{variable}_FILE": str(path)})
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("variable", ["GAME_TOKEN_KEYS_FILE", "GAME_SITE_SECRET_FILE",
                                      "GAME_DATABASE_PASSWORD_FILE"])
def test_a_missing_file_is_an_error_naming_the_variable_and_the_path(tmp_path, variable):
    path = tmp_path / "nowhere" / "secret"
    with pytest.raises(ConfigError) as info:
        Config.from_env({variable: str(path), "GAME_DATABASE_URL": POSTGRES_URL})
    assert f"{variable}={path}: cannot read the file (No such file or directory)" == str(
        info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_an_error(tmp_path):
    path = tmp_path / "secret"
    path.write_text(SECRET)
    path.chmod(0)
    with pytest.raises(ConfigError, match="GAME_SITE_SECRET_FILE=.*Permission denied"):
        Config.from_env({"GAME_SITE_SECRET_FILE": str(path)})


def test_an_empty_file_is_an_error(tmp_path):
    path = tmp_path / "secret"
    path.write_text("\n")
    with pytest.raises(ConfigError, match=f"GAME_TOKEN_KEYS_FILE={path}: the file is empty"):
        Config.from_env({"GAME_TOKEN_KEYS_FILE": str(path)})


def test_a_directory_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="GAME_SITE_SECRET_FILE=.*cannot read the file"):
        Config.from_env({"GAME_SITE_SECRET_FILE": str(tmp_path)})


def test_the_site_secret_from_a_file_is_checked_like_the_variable(tmp_path):
    path = tmp_path / "secret"
    path.write_text("short\n")
    config = Config.from_env({"GAME_SITE_SECRET_FILE": str(path)})
    with pytest.raises(ConfigError, match="at least 32 characters"):
        site_secret(config)


# --- config: the database password ----------------------------------------------------------

@pytest.mark.parametrize("password", ["plain", "a@b:c/d%e?f#g h+"])
def test_the_database_password_file_goes_into_the_url(tmp_path, password):
    path = tmp_path / "password"
    path.write_text(password + "\n")
    config = Config.from_env({"GAME_DATABASE_URL": POSTGRES_URL,
                              "GAME_DATABASE_PASSWORD_FILE": str(path)})
    url = make_url(config.database_url)
    assert url.password == password
    assert (url.username, url.host, url.port, url.database) == ("game", "postgres", 5432, "game")
    assert password not in repr(config)


def test_a_url_with_a_password_and_a_password_file_is_an_error(tmp_path):
    path = tmp_path / "password"
    path.write_text("other")
    with pytest.raises(ConfigError, match="GAME_DATABASE_URL has a password and "
                                          "GAME_DATABASE_PASSWORD_FILE is set"):
        Config.from_env({"GAME_DATABASE_URL": "postgresql://game:secret@postgres/game",
                         "GAME_DATABASE_PASSWORD_FILE": str(path)})


def test_a_password_file_for_sqlite_is_an_error(tmp_path):
    path = tmp_path / "password"
    path.write_text("other")
    with pytest.raises(ConfigError, match="not a postgresql:// URL"):
        Config.from_env({"GAME_DATABASE_PASSWORD_FILE": str(path)})


# --- secret_files: what `game-server secrets init` writes -----------------------------------

def _files(directory):
    return {path.name: path.read_text() for path in directory.iterdir()}


def test_init_generates_each_secret_once_with_mode_0600(tmp_path):
    directory = tmp_path / "secrets"
    report = secret_files.init(directory, {})
    assert report == [f"{directory / name}: generated"
                      for name in ("token-keys", "site-secret", "database-password")]
    first = _files(directory)
    assert set(first) == {"token-keys", "site-secret", "database-password"}
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    # Each is what the app reads back through its *_FILE setting.
    config = Config.from_env({
        "GAME_TOKEN_KEYS_FILE": str(directory / "token-keys"),
        "GAME_SITE_SECRET_FILE": str(directory / "site-secret"),
        "GAME_DATABASE_URL": POSTGRES_URL,
        "GAME_DATABASE_PASSWORD_FILE": str(directory / "database-password")})
    assert tokens.parse_keys(config.token_keys).kids == (1,)
    assert site_secret(config) == first["site-secret"].strip()
    assert make_url(config.database_url).password == first["database-password"].strip()
    # A second start keeps them.
    assert all(line.endswith(": kept") for line in secret_files.init(directory, {}))
    assert _files(directory) == first


def test_every_installation_gets_its_own_secrets(tmp_path):
    secret_files.init(tmp_path / "a", {})
    secret_files.init(tmp_path / "b", {})
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert all(a[name] != b[name] for name in a)


def test_init_writes_a_secret_set_in_the_environment_over_the_file(tmp_path):
    secret_files.init(tmp_path, {})
    generated = _files(tmp_path)
    environ = {"GAME_TOKEN_KEYS": f" {KEYS} ", "GAME_SITE_SECRET": "",
               "POSTGRES_PASSWORD": "from-env"}
    report = secret_files.init(tmp_path, environ)
    assert report == [f"{tmp_path / 'token-keys'}: written from GAME_TOKEN_KEYS",
                      f"{tmp_path / 'site-secret'}: kept",
                      f"{tmp_path / 'database-password'}: written from POSTGRES_PASSWORD"]
    files = _files(tmp_path)
    assert files["token-keys"] == KEYS + "\n" and files["database-password"] == "from-env\n"
    assert files["site-secret"] == generated["site-secret"]
    assert secret_files.init(tmp_path, environ)[0].endswith("kept (as GAME_TOKEN_KEYS)")


@pytest.mark.parametrize("environ, message", [
    ({"GAME_TOKEN_KEYS": "1:c2VjcmV0"}, "GAME_TOKEN_KEYS: token key entry 1 of 1"),
    ({"GAME_SITE_SECRET": "short"}, "GAME_SITE_SECRET: it must be at least 32 characters"),
])
def test_a_malformed_override_changes_nothing(tmp_path, environ, message):
    with pytest.raises(ConfigError, match=message) as info:
        secret_files.init(tmp_path / "secrets", {**environ, "POSTGRES_PASSWORD": "pw"})
    assert not (tmp_path / "secrets").exists()
    assert "c2VjcmV0" not in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_directory_is_a_clear_error(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match=f"cannot write the secrets into {tmp_path}"):
            secret_files.init(tmp_path, {})
    finally:
        tmp_path.chmod(0o700)


def test_rotate_puts_a_new_key_first_and_keeps_the_one_before(tmp_path):
    secret_files.init(tmp_path, {})
    first = (tmp_path / "token-keys").read_text().strip()
    assert secret_files.rotate_token_keys(tmp_path, {}) == 2
    rotated = (tmp_path / "token-keys").read_text().strip()
    assert tokens.parse_keys(rotated).kids == (2, 1) and rotated.endswith("," + first)
    assert secret_files.rotate_token_keys(tmp_path, {}) == 3
    assert tokens.parse_keys((tmp_path / "token-keys").read_text()).kids == (3, 2)
    assert stat.S_IMODE((tmp_path / "token-keys").stat().st_mode) == 0o600
    # A token sealed before the rotation still reads after it.
    token = tokens.issue_token(tokens.parse_keys(rotated), 7)
    assert tokens.read_token(tokens.parse_keys((tmp_path / "token-keys").read_text()),
                             token) == 7


def test_rotate_wraps_key_ids_and_refuses_when_the_environment_decides(tmp_path):
    (tmp_path / "token-keys").write_text(tokens.generate_keyring_entry(255) + "\n")
    assert secret_files.rotate_token_keys(tmp_path, {}) == 0
    with pytest.raises(ConfigError, match="GAME_TOKEN_KEYS is set"):
        secret_files.rotate_token_keys(tmp_path, {"GAME_TOKEN_KEYS": KEYS})
    with pytest.raises(ConfigError, match="missing or empty"):
        secret_files.rotate_token_keys(tmp_path / "none", {})
