"""The service's secrets as files in one directory, made once per installation.

docker-compose.yml runs `game-server secrets init /run/card-table` in a one-shot service
before anything else: it writes each secret below into that directory (a named volume) unless
it is there already, so every installation gets its own and keeps it across restarts. The
other services mount the volume read-only and read the files through the *_FILE settings
(game_server/config.py), and the postgres image through POSTGRES_PASSWORD_FILE.

A value given in the environment (from .env: GAME_TOKEN_KEYS, GAME_SITE_SECRET,
POSTGRES_PASSWORD) wins: it is checked and written into its file instead, for operators who
manage secrets elsewhere.

Edge layer: imports the token module and the config only.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from game_server.config import MIN_SITE_SECRET_LENGTH, ConfigError
from game_server.tokens import generate_keyring_entry, parse_keys


@dataclass(frozen=True)
class Secret:
    """One file of the directory: its name, the variable that overrides it, how a new one is
    made, and how an override is checked (raising ValueError with a message free of it)."""

    file: str
    variable: str
    generate: Callable[[], str]
    check: Callable[[str], object]


def _check_site_secret(value: str) -> None:
    if len(value) < MIN_SITE_SECRET_LENGTH:
        raise ValueError(f"it must be at least {MIN_SITE_SECRET_LENGTH} characters long, "
                         f"not {len(value)}")


TOKEN_KEYS = Secret("token-keys", "GAME_TOKEN_KEYS", lambda: generate_keyring_entry(1),
                    parse_keys)
SITE_SECRET = Secret("site-secret", "GAME_SITE_SECRET", lambda: secrets.token_urlsafe(32),
                     _check_site_secret)
# URL-safe characters: easy to paste into psql or a URL by hand.
DATABASE_PASSWORD = Secret("database-password", "POSTGRES_PASSWORD",
                           lambda: secrets.token_urlsafe(24), lambda value: None)

#: Every file `init` writes, in the order it reports them.
SECRETS: tuple[Secret, ...] = (TOKEN_KEYS, SITE_SECRET, DATABASE_PASSWORD)


def init(directory: Path, environ: Mapping[str, str] | None = None) -> list[str]:
    """Write each secret into `directory` (created if missing) unless its file is there:
    a value from `environ` (default: os.environ) replaces the file's, else a new one is
    generated. Files are written whole (a temporary file renamed over) with mode 0600.

    Returns one line per secret saying what was done (never the secret).

    Raises:
        ConfigError: an override is malformed, or the directory cannot be written.
    """
    env = os.environ if environ is None else environ
    overrides = {secret: env.get(secret.variable, "").strip() for secret in SECRETS}
    # Every override is checked before anything is written: a mistake changes no file.
    for secret, override in overrides.items():
        try:
            if override:
                secret.check(override)
        except ValueError as error:
            raise ConfigError(f"{secret.variable}: {error}") from None
    report = []
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for secret, override in overrides.items():
            path = directory / secret.file
            if override:
                if _read(path) == override:
                    report.append(f"{path}: kept (as {secret.variable})")
                else:
                    _write(path, override)
                    report.append(f"{path}: written from {secret.variable}")
            elif _read(path):
                report.append(f"{path}: kept")
            else:
                _write(path, secret.generate())
                report.append(f"{path}: generated")
    except OSError as error:
        raise ConfigError(f"cannot write the secrets into {directory} ({error.strerror}); "
                          f"it must be writable by uid {os.getuid()}") from None
    return report


def rotate_token_keys(directory: Path, environ: Mapping[str, str] | None = None) -> int:
    """Put a new key first in `directory`/token-keys and keep the one that issued until now
    after it (tokens it sealed stay valid until they expire); any older key is dropped.

    Returns the new key's id.

    Raises:
        ConfigError: GAME_TOKEN_KEYS overrides the file, or the file is missing or malformed.
    """
    env = os.environ if environ is None else environ
    if env.get(TOKEN_KEYS.variable, "").strip():
        raise ConfigError(f"{TOKEN_KEYS.variable} is set (in .env?): it overrides the file, "
                          f"so rotate the keys there")
    path = directory / TOKEN_KEYS.file
    try:
        text = _read(path)
        if not text:
            raise ConfigError(f"{path} is missing or empty: run `game-server secrets init "
                              f"{directory}` first")
        try:
            kids = parse_keys(text).kids
        except ValueError as error:
            raise ConfigError(f"{path}: {error}") from None
        kid = (kids[0] + 1) % 256  # never the kept key's id
        _write(path, f"{generate_keyring_entry(kid)},{text.split(',')[0].strip()}")
    except OSError as error:
        raise ConfigError(f"cannot rewrite {path} ({error.strerror})") from None
    return kid


def _read(path: Path) -> str:
    """The file's secret ('' if there is no file), without surrounding whitespace."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""


def _write(path: Path, value: str) -> None:
    """Replace the file at once: readers never see half a secret."""
    temporary = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):  # left by an interrupted run
        temporary.unlink()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(value + "\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
