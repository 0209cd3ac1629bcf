"""Tables: rooms, seats, spectators, the lobby and the room engine; layer 2, above the rules."""

from game_server.tables.actions import KINDS, Action, Player
from game_server.tables.changes import Change, RoomMoved, Status, TableError
from game_server.tables.engine import Engine, EngineSettings
from game_server.tables.lobby import Lobby, new_room_id
from game_server.tables.seating import Seat
from game_server.tables.table import Table

__all__ = ["KINDS", "Action", "Change", "Engine", "EngineSettings", "Lobby", "Player",
           "RoomMoved", "Seat", "Status", "Table", "TableError", "new_room_id"]
