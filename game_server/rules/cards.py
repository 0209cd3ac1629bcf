"""Playing cards as small immutable values: `Suit`, `Rank`, `Card` and `FULL_DECK`.

Card codes are rank + suit, as on the wire: ranks ``2-9 T J Q K A``, suits ``C D H S``
(``"TH"`` is the ten of hearts, ``"8S"`` the eight of spades).

Part of the pure rules layer: this module imports nothing outside the standard library and
does no I/O.

>>> card = Card.from_str("TH")
>>> card
Card.from_str('TH')
>>> str(card), card.rank, card.suit.symbol
('TH', <Rank.TEN: 10>, '♥')
>>> len(FULL_DECK), FULL_DECK[0], FULL_DECK[-1]
(52, Card.from_str('2C'), Card.from_str('AS'))
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

__all__ = ["FULL_DECK", "Card", "Rank", "Suit"]


class Suit(Enum):
    """The four suits, valued by their one-letter code.

    Suits are ordered clubs < diamonds < hearts < spades, so that cards sort.

    >>> Suit("H"), Suit.HEARTS.symbol
    (<Suit.HEARTS: 'H'>, '♥')
    >>> sorted([Suit.SPADES, Suit.CLUBS])
    [<Suit.CLUBS: 'C'>, <Suit.SPADES: 'S'>]
    """

    CLUBS = "C"
    DIAMONDS = "D"
    HEARTS = "H"
    SPADES = "S"

    @property
    def symbol(self) -> str:
        """The suit's symbol for people: ♣ ♦ ♥ ♠."""
        return _SYMBOLS[self]

    @classmethod
    def from_char(cls, char: str) -> Suit:
        """The suit with the one-letter code `char` (``"C" "D" "H" "S"``).

        Raises:
            ValueError: for anything else (the message names the bad text).

        >>> Suit.from_char("S")
        <Suit.SPADES: 'S'>
        """
        for suit in cls:
            if suit.value == char:
                return suit
        raise ValueError(f"bad suit {char!r}: expected one of C, D, H, S")

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Suit):
            return NotImplemented
        return self._order < other._order

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Suit):
            return NotImplemented
        return self._order <= other._order

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Suit):
            return NotImplemented
        return self._order > other._order

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Suit):
            return NotImplemented
        return self._order >= other._order


    _order: int  # the position in the class, set below: comparing ints is fast


for _index, _suit in enumerate(Suit):
    _suit._order = _index
del _index, _suit

_SYMBOLS = {Suit.CLUBS: "♣", Suit.DIAMONDS: "♦", Suit.HEARTS: "♥", Suit.SPADES: "♠"}


class Rank(IntEnum):
    """The thirteen ranks, valued 2 to 14 (ace high).

    >>> Rank.from_char("T"), Rank.ACE.char
    (<Rank.TEN: 10>, 'A')
    """

    TWO = 2
    THREE = 3
    FOUR = 4
    FIVE = 5
    SIX = 6
    SEVEN = 7
    EIGHT = 8
    NINE = 9
    TEN = 10
    JACK = 11
    QUEEN = 12
    KING = 13
    ACE = 14

    @property
    def char(self) -> str:
        """The rank's one-character code: ``"2"`` to ``"9"``, ``"T" "J" "Q" "K" "A"``."""
        return _RANK_CHARS[self]

    @classmethod
    def from_char(cls, char: str) -> Rank:
        """The rank with the one-character code `char`.

        Raises:
            ValueError: for anything else, including ``"10"`` and lowercase letters.

        >>> Rank.from_char("10")
        Traceback (most recent call last):
        ...
        ValueError: bad rank '10': expected one of 2-9, T, J, Q, K, A
        """
        rank = _RANKS_BY_CHAR.get(char) if isinstance(char, str) else None
        if rank is None:
            raise ValueError(f"bad rank {char!r}: expected one of 2-9, T, J, Q, K, A")
        return rank


_RANK_CHARS = {rank: str(rank.value) for rank in Rank if rank <= 9} | {
    Rank.TEN: "T",
    Rank.JACK: "J",
    Rank.QUEEN: "Q",
    Rank.KING: "K",
    Rank.ACE: "A",
}
_RANKS_BY_CHAR = {char: rank for rank, char in _RANK_CHARS.items()}


@dataclass(frozen=True, order=True)
class Card:
    """One playing card. Cards compare by rank, then suit.

    >>> Card(Rank.QUEEN, Suit.HEARTS)
    Card.from_str('QH')
    >>> Card.from_str("8S") < Card.from_str("9C")
    True
    >>> Card.from_str("10H")
    Traceback (most recent call last):
    ...
    ValueError: bad card code '10H': expected rank (2-9 T J Q K A) then suit (C D H S)
    """

    rank: Rank
    suit: Suit

    def __post_init__(self) -> None:
        if not isinstance(self.rank, Rank):
            raise TypeError(f"rank must be a Rank, not {self.rank!r}")
        if not isinstance(self.suit, Suit):
            raise TypeError(f"suit must be a Suit, not {self.suit!r}")
        # Worked out once: every view of every change spells out cards by code and sorts
        # hands by index, and the Enum lookups behind both were a few percent of the
        # server's time under load (docs/performance.md).
        object.__setattr__(self, "_code", self.rank.char + self.suit.value)
        object.__setattr__(self, "_index", self.suit._order * 13 + self.rank - 2)

    @classmethod
    def from_str(cls, text: str) -> Card:
        """The card with code `text`: rank character then suit letter, e.g. ``"TH"``.

        Raises:
            ValueError: for anything else (``"10H"``, ``"th"``, ``""``, ``"8X"``, non-strings);
                the message names the bad text.
        """
        if isinstance(text, str) and len(text) == 2:
            rank = _RANKS_BY_CHAR.get(text[0])
            suit = _SUITS_BY_CHAR.get(text[1])
            if rank is not None and suit is not None:
                return cls(rank, suit)
        raise ValueError(
            f"bad card code {text!r}: expected rank (2-9 T J Q K A) then suit (C D H S)"
        )

    @property
    def index(self) -> int:
        """The card's position in `FULL_DECK` (0 to 51): by suit, then rank. Sorting by it
        gives the display order of a hand.

        >>> Card.from_str("2C").index, Card.from_str("AC").index, Card.from_str("2D").index
        (0, 12, 13)
        """
        return self._index

    def __hash__(self) -> int:
        # Equal cards have equal indexes; this avoids the slow Enum.__hash__ (cards are hashed
        # a lot).
        return self._index

    def __str__(self) -> str:
        return self._code

    def __repr__(self) -> str:
        return f"Card.from_str('{self}')"


_SUITS_BY_CHAR = {suit.value: suit for suit in Suit}

#: The 52 cards in a fixed order: clubs, diamonds, hearts, spades, each from two to ace.
FULL_DECK: tuple[Card, ...] = tuple(Card(rank, suit) for suit in Suit for rank in Rank)
