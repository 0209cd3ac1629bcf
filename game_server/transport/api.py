"""The JSON history API (docs/api.md): finished games, a user's games, the leaderboard.

Queries run on a thread pool, never on the IOLoop. A running game is refused (409): its seed
and hands stay on the server until it is over.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

import tornado.web

from game_server.history import reveal
from game_server.rules import GAMES
from game_server.storage.history import GameHistory, parse_time

MAX_ID = 2**31 - 1
#: A number in a query: ASCII digits only (`int()` also takes "²"-like Unicode digits and
#: would answer them with Python's own error text), and short enough to parse cheaply.
_NUMBER = re.compile(r"[0-9]{1,12}")


class ApiHandler(tornado.web.RequestHandler):
    def initialize(self, history: GameHistory) -> None:
        self.history = history

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")

    async def query(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, lambda: method(*args, **kwargs))

    def fail(self, status: int, text: str) -> None:
        self.set_status(status)
        self.finish(json.dumps({"error": text}))

    def reply(self, body: Any) -> None:
        self.finish(json.dumps(body, separators=(",", ":"), ensure_ascii=False))

    def int_argument(self, name: str, default: int | None) -> int | None:
        text = self.get_query_argument(name, None)
        if text is None:
            return default
        if not _NUMBER.fullmatch(text) or not 0 < int(text) <= MAX_ID:
            raise ValueError(f"{name} must be a positive whole number")
        return int(text)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(json.dumps({"error": self._reason}))


class GameHandler(ApiHandler):
    """GET /api/games/<id>[?positions=1]: a finished game with its full move log and every
    hand (and the position after each move)."""

    async def get(self, game_id: str) -> None:
        number = int(game_id)
        record = await self.query(self.history.game_record, number) if number <= MAX_ID \
            else None
        if record is None:
            self.fail(404, f"there is no game {game_id}")
        elif record["status"] == "abandoned":
            # Its room closed before it ended: the hands stay secret, as in a running game.
            self.fail(409, "the game was abandoned before it ended; its record stays closed")
        elif record["status"] != "finished":
            self.fail(409, "the game is still being played; its record opens when it ends")
        else:
            # ?positions=1: the position after every move too (the web client's replay).
            positions = self.get_query_argument("positions", "") in ("1", "true")
            self.reply(reveal(record, positions=positions))


class UserGamesHandler(ApiHandler):
    """GET /api/users/<id>/games?limit=&before=: a user's recent games, newest first."""

    async def get(self, user_id: str) -> None:
        try:
            limit = self.int_argument("limit", 20)
            before = self.int_argument("before", None)
            if not 1 <= limit <= 100:
                raise ValueError("limit must be 1-100")
        except ValueError as error:
            self.fail(400, str(error))
            return
        number = int(user_id)
        if number > MAX_ID:
            self.reply({"games": [], "next": None})
            return
        self.reply(await self.query(self.history.user_games, number, limit=limit,
                                    before=before))


class LeaderboardHandler(ApiHandler):
    """GET /api/leaderboard?since=&until=&limit=&game=: wins, games and points per user
    (of one game: each game counts its points its own way)."""

    async def get(self) -> None:
        try:
            since = self._time("since")
            until = self._time("until")
            limit = self.int_argument("limit", 20)
            if not 1 <= limit <= 100:
                raise ValueError("limit must be 1-100")
            game = self.get_query_argument("game", None)
            if game is not None and game not in GAMES:
                raise ValueError(f"game must be one of {', '.join(sorted(GAMES))}")
        except ValueError as error:
            self.fail(400, str(error))
            return
        rows = await self.query(self.history.leaderboard, since=since, until=until,
                                limit=limit, game=game)
        self.reply({"since": self.get_query_argument("since", None),
                    "until": self.get_query_argument("until", None), "game": game,
                    "leaders": rows})

    def _time(self, name: str):
        text = self.get_query_argument(name, None)
        if text is None:
            return None
        try:
            moment = parse_time(text)
            # A date as `until` includes that whole day: the next one must exist too.
            _ = _utc(moment) + timedelta(days=1)
            return moment
        except OverflowError:
            raise ValueError(f"{name} must be between 0001-01-01 and 9999-12-30") from None
        except ValueError:
            raise ValueError(f"{name} must be an ISO date (2026-11-28) or date and time "
                             f"(2026-11-28T12:00:00Z)") from None


def _utc(moment: date | datetime) -> datetime:
    """A period bound as an aware UTC time (raises OverflowError outside years 1-9999)."""
    if isinstance(moment, datetime):
        return moment.astimezone(timezone.utc)
    return datetime(moment.year, moment.month, moment.day, tzinfo=timezone.utc)


def api_routes(history: GameHistory) -> list[tuple]:
    options = {"history": history}
    return [
        (r"/api/games/([0-9]{1,12})", GameHandler, options),
        (r"/api/users/([0-9]{1,12})/games", UserGamesHandler, options),
        (r"/api/leaderboard", LeaderboardHandler, options),
    ]
