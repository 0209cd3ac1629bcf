"""What every card game shares: moves, the record of a move (`Step`), the end (`Outcome`),
penalty points, the errors a move can raise, and the `Game` base class.

Part of the pure rules layer: this module imports nothing outside the standard library. It does
no I/O, reads no clock and never uses the global `random` module; a game gets its randomness
from a `random.Random(seed)` of its own.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Self, TypeAlias

from .cards import Card, Rank, Suit

__all__ = [
    "ERROR_CODES",
    "PENALTY",
    "Game",
    "GameFinished",
    "IllegalMove",
    "Move",
    "NotInHand",
    "NotYourTurn",
    "Outcome",
    "Put",
    "RulesError",
    "Step",
    "Take",
    "hand_points",
    "move_from_json",
    "move_to_json",
    "penalty",
]


# Moves ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Take:
    """Take the top card of the deck into your hand.

    >>> move_to_json(Take())
    {'type': 'take'}
    """


@dataclass(frozen=True)
class Put:
    """Put `card` from your hand onto the pile; with an eight, `suit` names the suit to follow.

    >>> move_to_json(Put(Card.from_str("8S"), Suit.HEARTS))
    {'type': 'put', 'card': '8S', 'suit': 'H'}
    >>> move_from_json({"type": "put", "card": "QH"})
    Put(card=Card.from_str('QH'), suit=None)
    """

    card: Card
    suit: Suit | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.card, Card):
            raise TypeError(f"card must be a Card, not {self.card!r}")
        if self.suit is not None and not isinstance(self.suit, Suit):
            raise TypeError(f"suit must be a Suit or None, not {self.suit!r}")


Move: TypeAlias = Take | Put


def move_to_json(move: Move) -> dict[str, str]:
    """The move as a plain dict: ``{"type": "take"}`` or ``{"type": "put", "card": "8S",
    "suit": "H"}`` (the ``suit`` key only when a suit is named).

    Raises:
        TypeError: if `move` is not a `Take` or a `Put`.
    """
    if isinstance(move, Take):
        return {"type": "take"}
    if isinstance(move, Put):
        data = {"type": "put", "card": str(move.card)}
        if move.suit is not None:
            data["suit"] = move.suit.value
        return data
    raise TypeError(f"not a move: {move!r}")


def move_from_json(data: Mapping[str, Any]) -> Move:
    """The move that `move_to_json` turned into `data`.

    A ``"suit"`` of ``None`` counts as no suit. Whether the move is legal is not checked here.

    Raises:
        ValueError: if `data` is not such a dict (unknown type, unknown keys, bad card or suit).
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"a move must be an object, not {type(data).__name__}")
    kind = data.get("type")
    if kind == "take":
        _reject_extra_keys(data, {"type"})
        return Take()
    if kind == "put":
        _reject_extra_keys(data, {"type", "card", "suit"})
        if "card" not in data:
            raise ValueError("a put needs a card, e.g. 'QH'")
        card = Card.from_str(data["card"])
        suit_text = data.get("suit")
        suit = None if suit_text is None else Suit.from_char(suit_text)
        return Put(card, suit)
    raise ValueError(f"unknown move type {kind!r}: expected 'take' or 'put'")


def _reject_extra_keys(data: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(str(key) for key in data if key not in allowed)
    if extra:
        raise ValueError(f"unexpected field {', '.join(map(repr, extra))} in a {data['type']} move")


# Errors --------------------------------------------------------------------------------------


class RulesError(Exception):
    """A move the rules refuse; the game has not changed.

    `code` is the protocol's stable error code. The message names the input and is safe to show
    to the player who made the move: it never mentions other hands or the order of the deck.
    """

    code: ClassVar[str] = "illegal_move"


class NotYourTurn(RulesError):
    """The player moved out of turn."""

    code = "not_your_turn"


class NotInHand(RulesError):
    """The player tried to put a card they do not hold."""

    code = "not_in_hand"


class IllegalMove(RulesError):
    """The move breaks a rule of the game (e.g. a card that does not match, or nothing to take)."""

    code = "illegal_move"


class GameFinished(RulesError):
    """The game is over; no more moves."""

    code = "game_finished"


#: Every code a `RulesError` can carry.
ERROR_CODES: tuple[str, ...] = tuple(
    cls.code for cls in (NotYourTurn, NotInHand, IllegalMove, GameFinished)
)


# Results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How a game ended.

    `scores` has one entry per player: the points won in this game (0 for the losers). `hands`
    holds, per player, the cards still in hand at the end. `blocked` is true when the game ended
    because no one could play and nothing could be taken.
    """

    winner: int
    scores: tuple[int, ...]
    hands: tuple[tuple[Card, ...], ...]
    blocked: bool


@dataclass(frozen=True)
class Step:
    """What one `apply` did.

    `card` is the card put or taken (callers must hide a taken card from the other players).
    `passes` lists, in order, the players whose turns passed by themselves right after this move.
    `reshuffled` is true when the pile was turned into a new deck. `outcome` is set when this move
    ended the game.
    """

    player: int
    move: Move
    card: Card | None
    passes: tuple[int, ...] = ()
    reshuffled: bool = False
    outcome: Outcome | None = None


# Penalty points ------------------------------------------------------------------------------

#: Penalty points of a card left in hand, by rank: eight 50, K Q J T 10, ace 1, others face value.
PENALTY: Mapping[Rank, int] = MappingProxyType(
    {rank: min(int(rank), 10) for rank in Rank} | {Rank.EIGHT: 50, Rank.ACE: 1}
)


def penalty(card: Card) -> int:
    """Penalty points of `card`.

    >>> [penalty(Card.from_str(code)) for code in ("8C", "KD", "TH", "AS", "7S")]
    [50, 10, 10, 1, 7]
    """
    return PENALTY[card.rank]


def hand_points(cards: Iterable[Card]) -> int:
    """Sum of the penalty points of `cards`.

    >>> hand_points([Card.from_str("8C"), Card.from_str("2D")])
    52
    """
    return sum(penalty(card) for card in cards)


# Base class ----------------------------------------------------------------------------------


class Game(abc.ABC):
    """A card game in progress: answers questions and applies moves.

    Players are numbered ``0 .. players - 1``; the table maps them to seats. Subclasses are
    deterministic given the constructor's arguments and the moves applied.
    """

    name: ClassVar[str]
    MIN_PLAYERS: ClassVar[int]
    MAX_PLAYERS: ClassVar[int]

    @abc.abstractmethod
    def __init__(self, players: int, seed: int, dealer: int = 0) -> None: ...

    @property
    @abc.abstractmethod
    def players(self) -> int:
        """The number of players."""

    @property
    @abc.abstractmethod
    def turn(self) -> int:
        """The player whose turn it is (after the end: the player who moved last)."""

    @property
    def is_finished(self) -> bool:
        """True once the game is over."""
        return self.outcome() is not None

    @abc.abstractmethod
    def outcome(self) -> Outcome | None:
        """How the game ended, or None while it runs."""

    @abc.abstractmethod
    def legal_moves(self, player: int) -> list[Move]:
        """The moves `player` may make now (empty when it is not their turn)."""

    @abc.abstractmethod
    def check(self, player: int, move: Move) -> None:
        """Raise the `RulesError` that `apply` would raise; change nothing."""

    @abc.abstractmethod
    def apply(self, player: int, move: Move) -> Step:
        """Check the move, then make it."""

    @abc.abstractmethod
    def view_for(self, player: int | None) -> dict[str, Any]:
        """What `player` (None: a spectator) may see, as a JSON-ready dict."""

    @classmethod
    def replay(
        cls, players: int, seed: int, dealer: int, moves: Iterable[tuple[int, Move]]
    ) -> Self:
        """The game dealt from `seed` after applying `moves`, given as ``(player, move)`` pairs.

        Raises:
            RulesError: if one of the moves is not allowed where it comes.
        """
        game = cls(players, seed, dealer)
        for player, move in moves:
            game.apply(player, move)
        return game
