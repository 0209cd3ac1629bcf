"""What the move log keeps of a room: `Action`s with explicit, versioned kinds.

Every accepted change of a room is recorded as one `Action`; replaying a room's actions in
order rebuilds it exactly, seq included (`Table.replay`). An action's `kind` is a persisted
name with a version (``"sit@1"``, ``"move@1"``), never a method name: a change to what an action
means gets a new version, and the old one keeps replaying as it always did.

Logs written before kinds had versions (protocol 1, up to d5706ac) used the bare names; they mean
version 1 of each kind, and `Action.stored` reads them so.

Imports only the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["KINDS", "Action", "Player", "UnknownKind", "current_kind"]


@dataclass(frozen=True)
class Player:
    """Who someone is, as far as a table cares: a user's id and name."""

    id: int
    name: str


#: Every kind an action can have, by name, at its current version.
KINDS: dict[str, str] = {name: f"{name}@1" for name in (
    "sit",         # a user sits down, or comes back to their seat
    "watch",       # a user starts watching
    "unwatch",     # a spectator goes
    "leave",       # a player gives up their seat (a bot plays on during a game)
    "connect",     # a seated player's connection is back
    "disconnect",  # a seated player's last connection went away (the grace period starts)
    "expire",      # the grace period ended: a bot plays on, or the seat is freed
    "add_bot",     # the owner adds a bot
    "start",       # the owner deals
    "move",        # a game move of a seat: `move` holds the game's own JSON of it
)}

_KNOWN = frozenset(KINDS.values())


class UnknownKind(ValueError):
    """A stored action of a kind (or version) this server cannot replay."""


def current_kind(name: str) -> str:
    """The persisted kind of a change called `name` (``"sit"`` -> ``"sit@1"``).

    Raises:
        KeyError: no such change.
    """
    return KINDS[name]


@dataclass(frozen=True)
class Action:
    """One accepted request or timer event, in the form needed to replay it.

    `seeds` holds the shuffle seed of any game the action dealt (a join that fills the room
    deals too). `started` and `finished` describe a game that began or ended with this action,
    for the game history.
    """

    seq: int
    kind: str
    game: int
    user: Player | None = None
    seat: int | None = None
    move: dict[str, Any] | None = None
    seeds: tuple[int, ...] = ()
    started: dict[str, Any] | None = None
    finished: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        """The change's name without its version (``"sit"``)."""
        return self.kind.partition("@")[0]

    @classmethod
    def stored(cls, kind: str, **fields: Any) -> Action:
        """An action read back from the move log, its kind brought to a versioned name.

        Raises:
            UnknownKind: a kind or version this server does not know (a log written by a newer
                server): refusing beats replaying it wrongly.
        """
        if "@" not in kind and kind in KINDS:
            kind = f"{kind}@1"  # written before kinds had versions
        if kind not in _KNOWN:
            raise UnknownKind(f"cannot replay an action of kind {kind!r}")
        return cls(kind=kind, **fields)
