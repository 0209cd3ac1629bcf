"""What every card game offers the rest of the server: the `Game` interface, the record of one
move (`Step`), the end of a game (`Outcome`), and the errors a move can raise.

A game is one module in this package that subclasses `Game` (Crazy Eights in
`crazy_eights.py`, Hearts in `hearts.py`) and is listed in the registry (`GAMES` in
`__init__.py`). Like a boardgame.io game, it says how to set up from a seed, which moves it
accepts and from whom, what a move does, what each player may see, when the game ends and how
its bot plays. Nothing outside its module names its fields: the table and the protocol pass its
moves, events and views on as JSON payloads they do not read.

Players are numbered ``0 .. players - 1`` in every call and in every JSON the game writes; the
table maps them to the seats of a room (a view carries ``players``, the seat of each player).

Part of the pure rules layer: this module imports nothing outside the standard library. A game
does no I/O, reads no clock and never uses the global `random` module; it gets its randomness
from a `random.Random(seed)` of its own, so seed + moves reproduce it exactly.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from .cards import Card

__all__ = [
    "BadMove",
    "Game",
    "GameFinished",
    "IllegalMove",
    "NotInHand",
    "NotYourTurn",
    "Outcome",
    "RulesError",
    "Step",
    "RULES_ERROR_CODES",
    "is_index",
]


# Errors --------------------------------------------------------------------------------------


class RulesError(Exception):
    """A move the rules refuse; the game has not changed.

    `code` is the protocol's stable error code. The message names the input and is safe to show
    to the player who made the move: it never mentions other hands or the order of the deck.
    """

    code: ClassVar[str] = "illegal_move"


class NotYourTurn(RulesError):
    """The player may not act now."""

    code = "not_your_turn"


class NotInHand(RulesError):
    """The player named a card they do not hold."""

    code = "not_in_hand"


class IllegalMove(RulesError):
    """The move breaks a rule of the game (a card that does not follow, nothing to take...)."""

    code = "illegal_move"


class GameFinished(RulesError):
    """The game is over; no more moves."""

    code = "game_finished"


#: Every code a `RulesError` can carry.
RULES_ERROR_CODES: tuple[str, ...] = tuple(
    cls.code for cls in (NotYourTurn, NotInHand, IllegalMove, GameFinished)
)


class BadMove(ValueError):
    """A wire move that is not a move of this game at all (unknown type, bad card code).

    The protocol answers it with ``bad_message``; a legal-looking move the rules refuse raises
    a `RulesError` from `Game.apply` instead.
    """


# Results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How a game ended.

    `scores` has one entry per player, as the game counts them (points won in Crazy Eights,
    match totals in Hearts); `winner` is the player who won. `detail` is the game's own account
    of the end, JSON-ready (Crazy Eights: ``{"blocked": true}`` when nobody could move); the
    history keeps it as it is.
    """

    winner: int
    scores: tuple[int, ...]
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """What one `Game.apply` did, as JSON-ready events.

    `event` is what everyone may know (spectators included); `private` holds, for some
    players, the version of the event that player sees instead (a card taken, cards passed).
    `revealed` is the event with nothing hidden, for the history of a finished game (by default
    the union of `event` and every private version). `outcome` is set when this move ended the
    game.
    """

    player: int
    move: Any
    event: Mapping[str, Any]
    private: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    revealed: Mapping[str, Any] | None = None
    outcome: Outcome | None = None

    def event_for(self, player: int | None) -> Mapping[str, Any]:
        """The event as `player` (None: a spectator) sees it."""
        if player is not None and player in self.private:
            return self.private[player]
        return self.event

    def full(self) -> Mapping[str, Any]:
        """The event with nothing hidden."""
        if self.revealed is not None:
            return self.revealed
        merged = dict(self.event)
        for version in self.private.values():
            merged.update(version)
        return merged


# The interface -------------------------------------------------------------------------------


class Game(abc.ABC):
    """One card game in progress: answers questions and applies moves.

    A subclass sets the class attributes, deals in `__init__` from the seed, and implements the
    abstract methods. It is deterministic given the constructor's arguments and the moves
    applied: `replay` rebuilds it exactly.

    Moves are small frozen values of the game's own; `parse_move` makes one from the wire's
    JSON (already checked against the game's ``schema/games/<name>/move.json``) and
    `move_to_json` writes it back, for the move log.
    """

    #: The name used on the wire, in the registry and in the database ("crazy_eights").
    name: ClassVar[str]
    #: The name shown to people ("Crazy Eights").
    title: ClassVar[str]
    #: How many players a game takes.
    MIN_PLAYERS: ClassVar[int]
    MAX_PLAYERS: ClassVar[int]
    #: The room size a new room of this game gets when the creator names none.
    DEFAULT_SEATS: ClassVar[int]
    #: Move types the protocol also accepts as messages of their own (protocol 1's ``take``
    #: and ``put`` of Crazy Eights); each needs its schema in ``schema/client/``. New games
    #: leave this empty: their moves come in ``{"msg": "move", "move": {...}}``.
    MOVE_MESSAGES: ClassVar[tuple[str, ...]] = ()
    #: True when one game is a match of several deals whose points add up (Hearts, to 100);
    #: otherwise a room adds up the scores of the games its players play again (rematches).
    MATCH: ClassVar[bool] = False

    #: Where a game that deals more than once (Hearts: every deal of a match) gets the seed of
    #: each deal after the first, so that one deal's revealed order (docs/fairness.md) says
    #: nothing about the next. The table sets it to its source of fresh secret seeds; None, or
    #: a call that returns None (a move log written before deals had seeds of their own), keeps
    #: the game's own generator going, as before.
    deal_seeds: Callable[[], int | None] | None = None

    @abc.abstractmethod
    def __init__(self, players: int, seed: int, dealer: int = 0) -> None:
        """Deal a new game for `players` players; `dealer` is the player who deals.

        Raises:
            ValueError: a player count outside MIN_PLAYERS..MAX_PLAYERS, or a dealer who is
                not a player.
        """

    # --- moves on the wire --------------------------------------------------------------

    @classmethod
    @abc.abstractmethod
    def parse_move(cls, data: Mapping[str, Any]) -> Any:
        """The move that `data` (a JSON object) describes.

        Raises:
            BadMove: `data` is not a move of this game; the text says why.
        """

    @classmethod
    @abc.abstractmethod
    def move_to_json(cls, move: Any) -> dict[str, Any]:
        """`move` as the JSON object `parse_move` reads back."""

    # --- questions ----------------------------------------------------------------------

    @property
    @abc.abstractmethod
    def players(self) -> int:
        """The number of players."""

    @abc.abstractmethod
    def to_act(self) -> frozenset[int]:
        """The players who may move now: one, several, or all at once (empty at the end)."""

    @abc.abstractmethod
    def outcome(self) -> Outcome | None:
        """How the game ended, or None while it runs."""

    @property
    def is_finished(self) -> bool:
        """True once the game is over."""
        return self.outcome() is not None

    @abc.abstractmethod
    def legal_moves(self, player: int) -> list[Any]:
        """The moves `player` may make now (empty when they may not act)."""

    @abc.abstractmethod
    def hand(self, player: int) -> tuple[Card, ...]:
        """The cards `player` holds, in display order."""

    def deals(self) -> int:
        """How many deals this game has dealt so far (1 for a game of one deal)."""
        return 1

    @abc.abstractmethod
    def deck_order(self) -> tuple[Card, ...]:
        """The whole pack of the current deal as it was shuffled, before any card was dealt,
        in the game's own dealing order (its module docstring says which end is dealt first).
        Secret until the deal ends: never part of a view while it runs; the table commits to it
        (docs/fairness.md)."""

    def secret(self, player: int) -> frozenset[Card]:
        """The cards only `player` may see now: their hand, and anything else of theirs that
        is face down (Hearts: the cards chosen to pass, until the pass happens)."""
        return frozenset(self.hand(player))

    # --- changes ------------------------------------------------------------------------

    @abc.abstractmethod
    def apply(self, player: int, move: Any) -> Step:
        """Check the move fully, then make it, and tell what happened.

        Raises:
            RulesError: the move is refused; the game is unchanged.
            ValueError: `player` is not a player of this game.
        """

    # --- views --------------------------------------------------------------------------

    @abc.abstractmethod
    def view_for(self, player: int | None) -> dict[str, Any]:
        """What `player` (None: a spectator) may see, as a JSON-ready dict matching the game's
        ``schema/games/<name>/view.json``. While the game runs it never holds another
        player's secret cards, the seed or the order of the deck."""

    @abc.abstractmethod
    def revealed_view(self) -> dict[str, Any]:
        """Everything about the position, every hand face up (for the history after the end)."""

    # --- the bot ------------------------------------------------------------------------

    @abc.abstractmethod
    def bot_move(self, player: int) -> Any:
        """A legal, sensible move for `player`, chosen from what that player may see, with no
        randomness (a bot's game replays like any other).

        Raises:
            NotYourTurn: `player` may not act now.
            GameFinished: the game is over.
        """

    @classmethod
    @abc.abstractmethod
    def move_from_view(cls, view: Mapping[str, Any]) -> dict[str, Any] | None:
        """A legal move, as wire JSON, for the player whose view (`view_for`) this is, asked
        when that player may act (the table's ``to_act``); None when there is nothing to do.
        For scripted clients and load tools, which see only views (the server's bots use
        `bot_move`)."""

    # --- replay -------------------------------------------------------------------------

    @classmethod
    def replay(cls, players: int, seed: int, dealer: int,
               moves: Iterable[tuple[int, Any]]) -> Self:
        """The game dealt from `seed` after applying `moves`, given as ``(player, move)`` pairs.

        Raises:
            RulesError: one of the moves is not allowed where it comes.
        """
        game = cls(players, seed, dealer)
        for player, move in moves:
            game.apply(player, move)
        return game


def is_index(value: object, size: int) -> bool:
    """True if `value` is an int (not a bool) in ``range(size)``."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < size
