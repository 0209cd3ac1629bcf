"""The lobby: every room on this server, by id, and the room list players see.

Imports only the tables and rules layers, and the naming rule (game_server/names.py).
"""

from __future__ import annotations

import secrets
from typing import Any, Callable, Iterator

from game_server.names import InvalidName, clean_room_name
from game_server.rules import GAMES
from game_server.tables.changes import TableError
from game_server.tables.table import Table

#: Room ids are 12 URL-safe characters from 9 random bytes: never two characters (so never
#: mistaken for a card code) and never reused, so a room's seq cannot repeat after a restart.
_ROOM_ID_BYTES = 9
#: The room list names at most this many rooms, so signing in stays cheap with many rooms.
ROOM_LIST_LIMIT = 100


def new_room_id() -> str:
    return secrets.token_urlsafe(_ROOM_ID_BYTES)


def random_seed() -> int:
    """A fresh shuffle seed: 63 random bits from the operating system."""
    return secrets.randbits(63)


class Lobby:
    """Creates, finds and closes rooms."""

    def __init__(self, seeds: Callable[[], int] | None = None,
                 room_ids: Callable[[], str] = new_room_id) -> None:
        self._rooms: dict[str, Table] = {}
        self._seeds = seeds or random_seed
        self._room_ids = room_ids

    def create(self, name: str, game: str, seats: int | None = None,
               room_id: str | None = None) -> Table:
        """Open an empty room of `game` with `seats` seats (None: the game's usual number); the
        caller seats its owner with `table.sit(owner)`. `room_id`: the id chosen beforehand
        with `new_id` (None: a fresh one).

        Raises:
            TableError: the game or the seat count is not offered, or the name is refused
                (`room_name`).
        """
        name = self.room_name(name)
        seats = self.check(game, seats)
        if room_id is None or room_id in self._rooms:
            room_id = self.new_id()
        table = Table(room_id, name, game, seats, self._seeds)
        self._rooms[room_id] = table
        return table

    def new_id(self) -> str:
        """A fresh room id, for a room about to be created."""
        room_id = self._room_ids()
        while room_id in self._rooms:
            room_id = self._room_ids()
        return room_id

    @staticmethod
    def room_name(name: str) -> str:
        """The name a new room gets: NFKC, trimmed, without characters that could disguise
        it (game_server/names.py; every room name passes here).

        Raises:
            TableError: bad_message, the text naming the field and the character.
        """
        try:
            return clean_room_name(name)
        except InvalidName as error:
            raise TableError("bad_message", f"name: {error}") from None

    @staticmethod
    def check(game: str, seats: int | None) -> int:
        """The seat count a new room of `game` gets (`seats`, or the game's usual number).

        Raises:
            TableError: bad_message for a game this server does not run or a seat count the
                game is not played with.
        """
        rules = GAMES.get(game)
        if rules is None:
            raise TableError("bad_message", f"unknown game {game!r}: this server runs "
                             f"{', '.join(sorted(GAMES))}")
        if seats is None:
            return rules.DEFAULT_SEATS
        if not rules.MIN_PLAYERS <= seats <= rules.MAX_PLAYERS:
            raise TableError("bad_message", f"{rules.title} is played with "
                             f"{rules.MIN_PLAYERS} to {rules.MAX_PLAYERS} players, not {seats}")
        return seats

    def add(self, table: Table) -> None:
        """Host a room rebuilt from the move log."""
        self._rooms[table.id] = table

    def get(self, room_id: str) -> Table | None:
        return self._rooms.get(room_id)

    def close(self, room_id: str) -> None:
        self._rooms.pop(room_id, None)

    def __iter__(self) -> Iterator[Table]:
        return iter(list(self._rooms.values()))

    def __len__(self) -> int:
        return len(self._rooms)

    def room_list(self, limit: int = ROOM_LIST_LIMIT) -> list[dict[str, Any]]:
        """Up to `limit` rooms' summaries: waiting rooms first (they can be joined), then
        playing (they can be watched), then finished; newest first within each."""
        order = {"waiting": 0, "playing": 1, "finished": 2}
        rooms = [table.summary() for table in reversed(self._rooms.values())]
        rooms.sort(key=lambda room: order[room["status"]])
        return rooms[:limit]
