"""Game history for players: one game's record, a user's recent games, the leaderboard.

Edge layer: imports SQLAlchemy and the models only. Every query is synchronous and short; the
server runs them on an executor, never on the event loop. Results are JSON-ready dicts (times
as ISO 8601 strings in UTC), shaped as the HTTP API serves them (``docs/api.md``).

Secrecy: while a game runs, nothing here returns its seed, its dealer or its moves (the moves'
``data`` holds the seeds, and the deal follows from the seed). Only a finished game's record
carries them, so that anyone can replay it (``game_server.history.reveal``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, and_, case, func, select

from .models import ChatMessage, Game, GameSeat, Move, Room, User

__all__ = [
    "MAX_LIMIT",
    "GameHistory",
    "parse_time",
]

#: The most games or leaderboard rows one query returns.
MAX_LIMIT = 100
_GAMES = Game.__table__
# Lists of games never even read the seed.
_PUBLIC_GAME_COLUMNS = [column for column in _GAMES.c if column.name != "seed"]
# Integer columns are 32-bit on PostgreSQL: larger ids cannot exist.
_MAX_ID = 2**31 - 1
# Actions of spectators are not part of a game's record.
_NOT_IN_RECORD = ("watch", "unwatch")


def _kind_name(kind: str) -> str:
    """A stored action kind without its version (``"sit@1"`` -> ``"sit"``), as the API shows it."""
    return kind.partition("@")[0]


def parse_time(text: str) -> date | datetime:
    """Parse an API period bound: an ISO date (``2026-11-28``) or date and time
    (``2026-11-28T12:00:00Z``, ``...+01:00``; without a zone: UTC).

    >>> parse_time("2026-11-28")
    datetime.date(2026, 11, 28)
    >>> parse_time("2026-11-28T12:30:00Z")
    datetime.datetime(2026, 11, 28, 12, 30, tzinfo=datetime.timezone.utc)

    Raises:
        ValueError: neither form.
    """
    text = text.strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _bound(value: date | datetime | None, *, end: bool) -> datetime | None:
    """A period bound as an aware UTC time; a date as ``until`` includes that whole day."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: use timezone-aware times")
        return value.astimezone(UTC)
    if isinstance(value, date):
        day = value + timedelta(days=1) if end else value
        return datetime.combine(day, time(0), UTC)
    raise TypeError(f"a period bound is a date or datetime, not {type(value).__name__}")


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"limit is an int, not {type(limit).__name__}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1-{MAX_LIMIT}, not {limit}")
    return limit


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _valid_id(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"an id is an int, not {type(value).__name__}")
    return 0 < value <= _MAX_ID


class GameHistory:
    """Read-only queries over the games of every server. Thread-safe."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    # --- one game ------------------------------------------------------------------------

    def game_record(self, game_id: int) -> dict[str, Any] | None:
        """One game by its public id, or ``None`` if there is no such game.

        Always: ``id, room, name, game, status, started_at, finished_at, winner, detail``
        and ``seats: [{seat, user: {id, name} | None, bot, score}]``. Only once the game is
        finished also ``seed, dealer, players`` (the room seats in game order), ``moves:
        [{seq, kind, seat, user, move, at}]``: the game's actions from its deal to its last
        move (spectators' comings and goings left out), ``salts`` (each deal's commitment
        salt, in order) and ``deal_seeds`` (the seeds of a match's deals after the first);
        and ``chat: [{seq, from: {user_id, name}, text, to, at}]``, what was said in the room
        before, during and after the game (``to``: who heard it).

        Raises:
            TypeError: ``game_id`` is not an int.
        """
        if not _valid_id(game_id):
            return None
        with self._engine.connect() as connection:
            row = connection.execute(
                select(*_GAMES.c, Room.name.label("room_name"))
                .join(Room, Room.id == Game.room_id)
                .where(Game.id == game_id)
            ).one_or_none()
            if row is None:
                return None
            seats = self._seats(connection, [game_id])[game_id]
            record: dict[str, Any] = {
                "id": row.id,
                "room": row.room_id,
                "name": row.room_name,
                "game": row.game,
                "number": row.number,
                "status": row.status,
                "started_at": _iso(row.started_at),
                "finished_at": _iso(row.finished_at),
                "winner": row.winner,
                "detail": row.detail,
                "seats": seats,
            }
            if row.status != "finished":
                return record
            moves = connection.execute(
                select(Move.seq, Move.kind, Move.seat, Move.data, Move.created_at,
                       Move.user_id, User.name)
                .outerjoin(User, User.id == Move.user_id)
                .where(Move.game_id == game_id)
                .order_by(Move.seq)
            ).all()
            chat = connection.execute(
                select(ChatMessage.seq, ChatMessage.user_id, ChatMessage.name,
                       ChatMessage.text, ChatMessage.audience, ChatMessage.created_at)
                .where(ChatMessage.room_id == row.room_id, ChatMessage.game == row.number)
                .order_by(ChatMessage.id)
            ).all()
        record["seed"] = row.seed
        record["dealer"] = row.dealer
        # Game players are the seats taken at the deal, in seat order (see Table._deal).
        record["players"] = [seat["seat"] for seat in seats]
        record["moves"] = []
        # Deck commitments (docs/fairness.md): the salt of each deal, and the seed of each
        # deal after the first of a match (an action's seeds begin with its game's own seed
        # when it started the game).
        record["salts"] = []
        record["deal_seeds"] = []
        for move in moves:
            record["salts"] += move.data.get("salts", [])
            seeds = move.data.get("seeds", [])
            record["deal_seeds"] += seeds[1:] if "started" in move.data else seeds
            if _kind_name(move.kind) not in _NOT_IN_RECORD:
                user = None if move.user_id is None else {"id": move.user_id, "name": move.name}
                record["moves"].append({
                    "seq": move.seq, "kind": _kind_name(move.kind), "seat": move.seat, "user": user,
                    "move": move.data.get("move"), "at": _iso(move.created_at),
                })
            if "finished" in move.data:
                break  # later actions (leaves, joins) happen between games
        # The room's chat that belongs to this game (before, during and after it), kept apart
        # from the moves (storage/chat.py): shown only now that the game is finished.
        record["chat"] = [
            {"seq": line.seq, "from": {"user_id": line.user_id, "name": line.name},
             "text": line.text, "to": line.audience, "at": _iso(line.created_at)}
            for line in chat]
        return record

    # --- a user's games --------------------------------------------------------------------

    def user_games(self, user_id: int, *, limit: int = 20,
                   before: int | None = None) -> dict[str, Any]:
        """A user's games, newest first: ``{"games": [...], "next": cursor | None}``.

        Each game: ``id, room, name, game, status, started_at, finished_at, winner, detail,
        seat`` (the user's), ``score, won`` (``None`` while the game runs) and ``seats`` as in
        :meth:`game_record`. Pass ``next`` back as ``before`` for the following page (keyset
        pagination on the game id: pages do not shift when new games start).

        Raises:
            TypeError: an id is not an int.
            ValueError: ``limit`` is not 1-100.
        """
        _check_limit(limit)
        if not _valid_id(user_id):
            return {"games": [], "next": None}
        where = [GameSeat.user_id == user_id]
        if before is not None:
            _valid_id(before)  # type check
            if before <= 1:
                return {"games": [], "next": None}
            where.append(GameSeat.game_id < min(before, _MAX_ID + 1))
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(*_PUBLIC_GAME_COLUMNS, Room.name.label("room_name"), GameSeat.seat,
                       GameSeat.score)
                .join(Game, Game.id == GameSeat.game_id)
                .join(Room, Room.id == Game.room_id)
                .where(*where)
                .order_by(GameSeat.game_id.desc())
                .limit(limit + 1)
            ).all()
            more = len(rows) > limit
            rows = rows[:limit]
            seats = self._seats(connection, [row.id for row in rows])
        games = []
        for game in rows:
            finished = game.status == "finished"
            games.append({
                "id": game.id,
                "room": game.room_id,
                "name": game.room_name,
                "game": game.game,
                "number": game.number,
                "status": game.status,
                "started_at": _iso(game.started_at),
                "finished_at": _iso(game.finished_at),
                "winner": game.winner,
                "detail": game.detail,
                "seat": game.seat,
                "score": game.score if finished else None,
                "won": (game.winner == game.seat) if finished else None,
                "seats": seats[game.id],
            })
        return {"games": games, "next": games[-1]["id"] if more else None}

    # --- the leaderboard -------------------------------------------------------------------

    def leaderboard(self, *, since: date | datetime | None = None,
                    until: date | datetime | None = None,
                    limit: int = 20, game: str | None = None) -> list[dict[str, Any]]:
        """Users by wins, then points, over the games finished in the period (of one `game`,
        or of every game): ``[{user: {id, name}, games, wins, points}]``.

        ``since`` is inclusive, ``until`` exclusive; a date (not a datetime) means midnight
        UTC, and a date as ``until`` includes that whole day. Seats a bot played for a user
        count for the user; plain bots are not ranked. Ties: more points, then fewer games,
        then the lower user id.

        Raises:
            TypeError: a bound is neither a date nor a datetime.
            ValueError: a naive datetime, or ``limit`` not 1-100.
        """
        _check_limit(limit)
        start, end = _bound(since, end=False), _bound(until, end=True)
        wins = func.sum(case((Game.winner == GameSeat.seat, 1), else_=0))
        points = func.coalesce(func.sum(GameSeat.score), 0)
        games = func.count()
        where = [Game.status == "finished"]
        if game is not None:
            # Games count points their own way (Hearts' are penalties): rank one at a time.
            where.append(Game.game == game)
        if start is not None:
            where.append(Game.finished_at >= start)
        if end is not None:
            where.append(Game.finished_at < end)
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(User.id, User.name, games.label("games"), wins.label("wins"),
                       points.label("points"))
                .select_from(GameSeat)
                .join(Game, and_(Game.id == GameSeat.game_id, *where))
                .join(User, User.id == GameSeat.user_id)
                .group_by(User.id, User.name)
                .order_by(wins.desc(), points.desc(), games.asc(), User.id.asc())
                .limit(limit)
            ).all()
        return [{"user": {"id": row.id, "name": row.name}, "games": int(row.games),
                 "wins": int(row.wins), "points": int(row.points)} for row in rows]

    # --- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _seats(connection: Any, game_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        seats: dict[int, list[dict[str, Any]]] = {game_id: [] for game_id in game_ids}
        if not game_ids:
            return seats
        rows = connection.execute(
            select(GameSeat.game_id, GameSeat.seat, GameSeat.bot, GameSeat.score,
                   GameSeat.user_id, User.name)
            .outerjoin(User, User.id == GameSeat.user_id)
            .where(GameSeat.game_id.in_(game_ids))
            .order_by(GameSeat.game_id, GameSeat.seat)
        ).all()
        for row in rows:
            user = None if row.user_id is None else {"id": row.user_id, "name": row.name}
            seats[row.game_id].append(
                {"seat": row.seat, "user": user, "bot": row.bot, "score": row.score})
        return seats
