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

__all__ = ["DEALING_KINDS", "KINDS", "Action", "Player", "UnknownKind", "current_kind"]


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
    "mute",        # the owner mutes a member (`user`) for the rest of the game (chat)
    "open",        # a user opens a room with `options` (a turn clock, quick play) and sits
    "timeout",     # a seat's turn clock ran out: the bot's move for it is in `move`
    "back",        # a player the clock marked away acts again
    "rematch",     # a player asks for a rematch after a game (it deals once all agreed)
)}

#: Kinds of actions that dealt, at the version that records how: the salt of each deal's deck
#: commitment (`Action.salts`, docs/fairness.md) and, in `seeds`, the fresh seed of every later
#: deal of a match (Hearts). An older server must refuse them rather than replay them: it would
#: shuffle a match's later deals from the first seed and replay a different game. Each replays
#: as its version 1 does, from the seeds and salts it carries.
DEALING_KINDS: dict[str, str] = {name: f"{name}@2" for name in (
    "sit", "add_bot", "start", "move", "timeout",
)}

_KNOWN = frozenset(KINDS.values()) | frozenset(DEALING_KINDS.values())


class UnknownKind(ValueError):
    """A stored action of a kind (or version) this server cannot replay."""


def current_kind(name: str, dealt: bool = False) -> str:
    """The persisted kind of a change called `name` (``"sit"`` -> ``"sit@1"``); `dealt`: the
    change dealt (``"sit@2"``, `DEALING_KINDS`), where the kind has such a version.

    Raises:
        KeyError: no such change.
    """
    if dealt and name in DEALING_KINDS:
        return DEALING_KINDS[name]
    return KINDS[name]


@dataclass(frozen=True)
class Action:
    """One accepted request or timer event, in the form needed to replay it.

    `seeds` holds the shuffle seed of any game the action dealt (a join that fills the room
    deals too), then of any later deal of a match it dealt, in the order they were drawn.
    `salts` holds the salt of each deal's deck commitment (64 hex digits), one per deal it
    dealt. `started` and `finished` describe a game that began or ended with this action, for
    the game history.
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
    #: The room's options, on the action that opened it (`open@1`): `clock`, `quick`.
    options: dict[str, Any] | None = None
    #: In a room with a turn clock: `at`, the server time of the action (the clocks replay
    #: from it), and for a seat that moved, `bank`, the seconds its bank has left after it.
    clock: dict[str, Any] | None = None
    #: On `add_bot`: the name the bot plays under ("Ada (bot)"); None in logs written before
    #: bots had names (they replay as "Bot <seat>").
    bot_name: str | None = None
    #: The salt of each deal's deck commitment this action dealt (kinds in `DEALING_KINDS`).
    salts: tuple[str, ...] = ()

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
