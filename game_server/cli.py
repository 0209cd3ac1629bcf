"""The `game-server` command: serve, site, migrate, user add, token, keygen, secrets, drain,
notify."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from dataclasses import replace

from game_server.config import ENVIRONMENT, Config, ConfigError


def _environment_help() -> str:
    width = max(len(name) for name, _, _ in ENVIRONMENT)
    lines = ["environment variables:"]
    for name, default, text in ENVIRONMENT:
        lines.append(f"  {name:<{width}}  {text} (default: {default})")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="game-server", description="Real-time card-table server (Tornado + SockJS).",
        epilog=_environment_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="run the server", epilog=_environment_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the game server until interrupted.")
    serve.add_argument("--port", type=int, help="TCP port (default: GAME_PORT or 8080)")
    serve.add_argument("--dev", action="store_true",
                       help="local play: enable POST /dev/login and generate a token key "
                            "if GAME_TOKEN_KEYS is not set")

    site = commands.add_parser(
        "site", help="run the main web site (sign-up, sign-in, Play)",
        epilog=_environment_help(), formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the main web site until interrupted: people sign up and sign in "
                    "there, and Play opens the web client (GAME_CLIENT_URL) with a token. "
                    "It shares the database and GAME_TOKEN_KEYS with the game servers.")
    site.add_argument("--port", type=int, help="TCP port (default: GAME_SITE_PORT or 8000)")
    site.add_argument("--dev", action="store_true",
                      help="local use: generate a cookie secret and a token key into local "
                           "files if GAME_SITE_SECRET or GAME_TOKEN_KEYS is not set (the "
                           "token key is the one `serve --dev` uses from the same folder)")

    commands.add_parser("migrate", help="create or upgrade the database schema",
                        epilog=_environment_help(),
                        formatter_class=argparse.RawDescriptionHelpFormatter)

    user = commands.add_parser("user", help="manage users")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = user_commands.add_parser("add", help="add a user and print the new id")
    add.add_argument("name")
    add.add_argument("--password", action="store_true",
                     help="give the user a password for the main site: asked twice on a "
                          "terminal, else read from the first line of standard input")

    token = commands.add_parser("token", help="print a fresh sign-in token for a user")
    token.add_argument("user", metavar="NAME_OR_ID",
                       help="a user id (a number) or a user name")

    commands.add_parser("keygen", help="print a new token key for GAME_TOKEN_KEYS")

    secrets = commands.add_parser(
        "secrets", help="make the service's secrets as files (docker-compose.yml)",
        description="The secrets docker-compose.yml's services read through GAME_TOKEN_KEYS_FILE, "
                    "GAME_SITE_SECRET_FILE, GAME_DATABASE_PASSWORD_FILE and postgres's "
                    "POSTGRES_PASSWORD_FILE: the files token-keys, site-secret and "
                    "database-password of one directory.")
    secrets_commands = secrets.add_subparsers(dest="secrets_command", required=True,
                                              metavar="ACTION")
    init = secrets_commands.add_parser(
        "init", help="write each secret missing from DIR",
        description="Write each secret missing from DIR (mode 0600), a new random one; keep "
                    "those already there. A value set in GAME_TOKEN_KEYS, GAME_SITE_SECRET or "
                    "POSTGRES_PASSWORD is written instead (it wins over the file).")
    init.add_argument("directory", metavar="DIR")
    rotate = secrets_commands.add_parser(
        "rotate", help="put a new token key first in DIR/token-keys",
        description="Put a new key first in DIR/token-keys, keeping the key that issued "
                    "until now after it (its tokens stay valid until they expire); older "
                    "keys are dropped. Restart the site and the game servers afterwards.")
    rotate.add_argument("directory", metavar="DIR")

    drain = commands.add_parser(
        "drain", help="ask a game server to hand its rooms to the others and exit",
        description="Ask the game server ID (its GAME_SERVER_ID) to drain: stop taking rooms, "
                    "hand each room to another live server, redirect its players, then exit. "
                    "Needs GAME_REDIS_URL.")
    drain.add_argument("server", metavar="ID")

    notify = commands.add_parser(
        "notify", help="send a notification to a user's connections, or to everyone's",
        description="Send a notification ({\"msg\": \"notify\", \"kind\", \"data\"}) to "
                    "every connection the user has now, or to every signed-in connection: "
                    "through Redis when GAME_REDIS_URL is set, else through the local game "
                    "server's admin endpoint (127.0.0.1:GAME_ADMIN_PORT). Users who are not "
                    "connected do not get it later. Exit status 1: no game server could be "
                    "reached; 2: a bad argument.")
    who = notify.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", type=int, metavar="ID", help="the user's id")
    who.add_argument("--all", action="store_true", help="every signed-in user")
    notify.add_argument("--kind", default="message",
                        help="what it is, for the client: 1-40 characters a-z 0-9 _ . - "
                             "(default: message; the web client shows data.text)")
    notify.add_argument("data", metavar="JSON",
                        help="the data, as JSON (at most 4 KiB), e.g. '{\"text\": \"Back in "
                             "5 minutes\"}'")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = os.environ.get("GAME_LOG_LEVEL", "INFO").strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        print(f"game-server: GAME_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not "
              f"{level!r}", file=sys.stderr)
        return 2
    logging.basicConfig(level=level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Alembic announces each of its autogenerate plugins at INFO: noise for `migrate`.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        return _run(args)
    except ConfigError as error:
        print(f"game-server: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "keygen":
        from game_server.tokens import generate_keyring_entry
        print(generate_keyring_entry(1))
        return 0
    if args.command == "secrets":
        return _secrets(args)
    port = getattr(args, "port", None)
    config = Config.from_env(dev=getattr(args, "dev", False),
                             port=port if args.command == "serve" else None,
                             site_port=port if args.command == "site" else None)
    if args.command == "notify":
        return _notify(args, config)
    if args.command == "drain":
        if not config.redis_url:
            raise ConfigError("drain needs GAME_REDIS_URL: without it each server is alone "
                              "(stop it with SIGTERM)")
        from game_server.directory import RedisDirectory

        async def request() -> None:
            directory = RedisDirectory(config.redis_url, prefix=config.redis_prefix)
            try:
                await directory.request_drain(args.server)
            finally:
                await directory.close()

        asyncio.run(request())
        print(f"asked server {args.server} to drain")
        return 0
    if args.command == "serve":
        from game_server.server import StartupError, run_loop, serve
        try:
            run_loop(config, serve(config))
        except KeyboardInterrupt:
            pass
        except StartupError as error:
            print(f"game-server: {error}", file=sys.stderr)
            return 1
        return 0
    if args.command == "site":
        from game_server.site import serve as serve_site
        try:
            asyncio.run(serve_site(config))
        except KeyboardInterrupt:
            pass
        return 0
    if args.command == "migrate":
        from game_server.storage.migrate import upgrade
        upgrade(config.database_url)
        print(f"database at head: {_safe_url(config.database_url)}")
        return 0
    from game_server.storage.db import make_engine
    from game_server.storage.users import UserStore
    store = UserStore(make_engine(config.database_url))
    if args.command == "user":
        try:
            password_hash = _password_hash(args.name) if args.password else None
            user = store.add(args.name, password_hash=password_hash)
        except ValueError as error:
            print(f"game-server: {error}", file=sys.stderr)
            return 1
        print(user.id)
        return 0
    if args.command == "token":
        from game_server import tokens
        from game_server.server import keyring_for
        user = store.find(args.user)
        if user is None:
            print(f"game-server: no user {args.user!r}", file=sys.stderr)
            return 1
        # Without GAME_TOKEN_KEYS, the development key of `serve --dev` issues the token.
        keyring = keyring_for(replace(config, dev=not config.token_keys))
        print(tokens.issue_token(keyring, user.id))
        return 0
    raise AssertionError(args.command)


def _secrets(args: argparse.Namespace) -> int:
    """`secrets init|rotate DIR`: before any Config, whose *_FILE settings may name files
    this has yet to write."""
    from pathlib import Path

    from game_server import secret_files

    directory = Path(args.directory)
    if args.secrets_command == "init":
        for line in secret_files.init(directory):
            print(line)
        return 0
    kid = secret_files.rotate_token_keys(directory)
    print(f"{directory / secret_files.TOKEN_KEYS.file}: new token key {kid} first; restart "
          f"the site and the game servers")
    return 0


def _notify(args: argparse.Namespace, config: Config) -> int:
    from game_server.notify import NotifyUnavailable, publish

    try:
        data = json.loads(args.data)
    except ValueError as error:
        print(f"game-server: the data is not JSON ({error})", file=sys.stderr)
        return 2
    user_id = None if args.all else args.user
    try:
        publish(args.kind, data, user_id=user_id, config=config)
    except ValueError as error:
        print(f"game-server: {error}", file=sys.stderr)
        return 2
    except NotifyUnavailable as error:
        print(f"game-server: {error}", file=sys.stderr)
        return 1
    who = "everyone" if user_id is None else f"user {user_id}"
    print(f"sent a {args.kind!r} notification to {who} (connected now)")
    return 0


def _password_hash(name: str) -> str:
    """Read a new password for `name` (twice on a terminal) and return its hash.

    Raises:
        ValueError: the two entries differ, or the password breaks the rules (WeakPassword).
    """
    import getpass

    from game_server.site.passwords import PasswordHasher, check_password
    from game_server.storage.users import clean_name

    name = clean_name(name)
    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {name}: ")
        if getpass.getpass("Again: ") != password:
            raise ValueError("the two passwords differ; nothing was changed")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    check_password(password, name)
    return PasswordHasher().hash(password)


def _safe_url(url: str) -> str:
    """The URL without its password, for printing."""
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
