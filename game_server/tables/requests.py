"""What the room engine is asked (requests) and what it answers (`Effects`).

Connections are named by an integer the caller chooses (`conn`); users by `Player`. A request
that came from a client carries the client's request id as `re`, echoed on its replies.

Imports only the standard library, `actions` and `changes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable

from game_server.tables.actions import Action, Player
from game_server.tables.changes import TableError

__all__ = [
    "AddBot", "Back", "Chat", "Commit", "Create", "Deadline", "Delivery", "Disconnect",
    "Effects", "Join", "Leave", "Move", "Mute", "Rematch", "QuickPlay", "Re", "Recover", "RoomList", "SignIn", "Start", "Timer",
]

Re = str | int | None


# --- requests -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SignIn:
    """A connection signed in as `user`; it is in the lobby."""
    conn: int
    user: Player


@dataclass(frozen=True)
class Disconnect:
    """A connection went away (its seat, if any, enters the grace period)."""
    conn: int


@dataclass(frozen=True)
class RoomList:
    conn: int
    re: Re = None


@dataclass(frozen=True)
class Create:
    """Open a room of `game` and seat its creator; `seats` None takes the game's default.
    `room`: the new room's id, chosen beforehand (to claim the seat in the directory before
    sitting down); None: the lobby picks one."""
    conn: int
    name: str
    game: str
    seats: int | None = None
    re: Re = None
    room: str | None = None
    #: A turn clock, `{"move": seconds, "bank": seconds}` (None: no clock).
    clock: dict[str, Any] | None = None
    #: Spectators and players chat together during games too (game_server/tables/chat.py).
    spectator_chat: bool = False
    #: Who may watch: "public", "none" or "delayed", and how many moves a delayed room's
    #: spectators are behind (None: the default; game_server/tables/watching.py).
    spectators: str = "public"
    spectator_delay: int | None = None


@dataclass(frozen=True)
class Join:
    """Sit at a room (or come back to one's seat), or watch it. `since`: the last seq the
    client has of the room; the events of the changes after it come before the state."""
    conn: int
    room: str
    spectator: bool = False
    re: Re = None
    since: int | None = None


@dataclass(frozen=True)
class AddBot:
    conn: int
    re: Re = None


@dataclass(frozen=True)
class Start:
    conn: int
    re: Re = None


@dataclass(frozen=True)
class Move:
    """A game move; `move` is the game's own JSON of it (already checked against its schema)."""
    conn: int
    move: dict[str, Any]
    re: Re = None


@dataclass(frozen=True)
class QuickPlay:
    """Sit at the waiting quick-play room of `game` with the most players, or open one
    (`room`: its id, chosen beforehand as for `Create`)."""
    conn: int
    game: str
    re: Re = None
    room: str | None = None


@dataclass(frozen=True)
class Back:
    """A player the turn clock marked away is back (docs/protocol.md, "Turn clocks")."""
    conn: int
    re: Re = None


@dataclass(frozen=True)
class Rematch:
    """A player asks to play again after a game (tables/rematch.py)."""
    conn: int
    re: Re = None


@dataclass(frozen=True)
class Leave:
    conn: int
    re: Re = None


@dataclass(frozen=True)
class Chat:
    """Say `text` (not yet cleaned) to the room the connection is in, or to the lobby; `at`:
    the server's time now, ISO 8601 UTC (the engine keeps no wall clock)."""
    conn: int
    text: str
    at: str
    re: Re = None


@dataclass(frozen=True)
class Mute:
    """The room's owner mutes a member (by user id) for the rest of the game."""
    conn: int
    user_id: int
    re: Re = None


@dataclass(frozen=True)
class Timer:
    """A deadline the engine set has come (`key` as in its `Deadline`)."""
    key: Hashable


@dataclass(frozen=True)
class Recover:
    """Host again rooms rebuilt from the move log (`Table.replay`), after a restart."""
    tables: tuple[Any, ...]


# --- effects ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Deadline:
    """Set the timer `key` to fire at `at` (engine time), replacing any earlier one; `at`
    None cancels it."""
    key: Hashable
    at: float | None


@dataclass(frozen=True)
class Delivery:
    """Send `message` to connection `conn`. Deliveries of one change share their message
    objects where the views are equal, so a caller can encode each object once. `room`: the
    room whose commit must succeed before it is sent (None: nothing to wait for)."""
    conn: int
    message: dict[str, Any]
    room: str | None = None


@dataclass
class Commit:
    """Actions of one room to commit to the move log, in order, then (`close`) mark the room
    closed. Report the result with `Engine.committed` or `Engine.commit_failed`."""
    room: Any  # the Table
    token: int
    actions: list[Action]
    close: bool = False


@dataclass
class Effects:
    """What one request or timer makes the caller do: commit, then send, and set timers.

    `error` is set when the request was refused; nothing changed for it (the requester gets
    the error, with its `re`). `room_list_changed` asks for the lobby's list to be pushed."""
    commits: list[Commit] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    deadlines: list[Deadline] = field(default_factory=list)
    error: TableError | None = None
    room_list_changed: bool = False
    #: Room chat said, to keep with the game's history (`tables.chat.ChatLine`); never
    #: waited for.
    said: list[Any] = field(default_factory=list)
    #: A lobby chat message for the lobbies of the other servers (this server's lobby is in
    #: `deliveries`).
    lobby_chat: dict[str, Any] | None = None

    def extend(self, other: Effects) -> None:
        self.commits += other.commits
        self.deliveries += other.deliveries
        self.deadlines += other.deadlines
        self.room_list_changed |= other.room_list_changed
        self.said += other.said
