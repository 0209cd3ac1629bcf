"""The `game-server` command: serve, migrate, user add, token, keygen."""

from __future__ import annotations

import argparse
import asyncio
import logging
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

    commands.add_parser("migrate", help="create or upgrade the database schema",
                        epilog=_environment_help(),
                        formatter_class=argparse.RawDescriptionHelpFormatter)

    user = commands.add_parser("user", help="manage users")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = user_commands.add_parser("add", help="add a user and print the new id")
    add.add_argument("name")

    token = commands.add_parser("token", help="print a fresh sign-in token for a user")
    token.add_argument("user", metavar="NAME_OR_ID",
                       help="a user id (a number) or a user name")

    commands.add_parser("keygen", help="print a new token key for GAME_TOKEN_KEYS")

    drain = commands.add_parser(
        "drain", help="ask a game server to hand its rooms to the others and exit",
        description="Ask the game server ID (its GAME_SERVER_ID) to drain: stop taking rooms, "
                    "hand each room to another live server, redirect its players, then exit. "
                    "Needs GAME_REDIS_URL.")
    drain.add_argument("server", metavar="ID")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
    config = Config.from_env(dev=getattr(args, "dev", False), port=getattr(args, "port", None))
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
        from game_server.server import serve
        try:
            asyncio.run(serve(config))
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
            user = store.add(args.name)
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


def _safe_url(url: str) -> str:
    """The URL without its password, for printing."""
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
