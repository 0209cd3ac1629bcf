"""Persistence: SQLAlchemy engines, models and the stores the rest of the server calls.

Edge layer: imports nothing from the layers above, except that the move log (``movelog.py``)
stores and returns the tables layer's ``Action`` values. Stores return small frozen values, never
ORM objects. Migrations live in ``game_server.storage.migrate`` (imported separately, so the
server does not load Alembic unless it migrates).
"""

from .db import is_sqlite, make_engine, normalize_url, session_factory
from .history import GameHistory, parse_time
from .movelog import LogStats, LogUnavailable, MoveLog, RoomInfo
from .users import AsyncUserStore, InvalidName, NameTaken, UserInfo, UserStore, clean_name

__all__ = [
    "AsyncUserStore",
    "GameHistory",
    "InvalidName",
    "LogStats",
    "LogUnavailable",
    "MoveLog",
    "NameTaken",
    "RoomInfo",
    "UserInfo",
    "UserStore",
    "clean_name",
    "is_sqlite",
    "make_engine",
    "normalize_url",
    "parse_time",
    "session_factory",
]
