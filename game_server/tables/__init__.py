"""Tables: rooms, seats, spectators and the lobby; layer 2, above the rules."""

from game_server.tables.lobby import Lobby, new_room_id
from game_server.tables.table import Action, Change, Player, Seat, Status, Table, TableError

__all__ = ["Action", "Change", "Lobby", "Player", "Seat", "Status", "Table", "TableError", "new_room_id"]
