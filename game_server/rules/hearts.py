"""Hearts for four players, standard rules as on pagat.com, played as a match of deals to 100.

One `Hearts` object is a whole match. The rules it implements:

- **Deal.** 13 cards each, dealt one at a time from a shuffled pack, starting with the player
  left of the dealer (``(dealer + 1) % 4``). The dealer moves one to the left each deal.
- **Pass.** Before the play each player passes 3 cards: in deal 1 to the left (player ``p``
  gives to ``(p + 1) % 4``), deal 2 to the right (``(p + 3) % 4``), deal 3 across
  (``(p + 2) % 4``), deal 4 no pass, then again from the left. All four choose at the same
  time; a chosen pass cannot be changed; the cards change hands when the fourth player has
  chosen. On a no-pass deal the play starts at once.
- **Play.** The holder of 2♣ leads it to the first trick. Players follow suit if they can; the
  highest card of the suit led wins the trick and its winner leads the next. Tricks are
  collected by themselves.
- **The first trick** carries no points: a player who cannot follow clubs may not play a heart
  or Q♠ while holding any other card; a hand of nothing but hearts and Q♠ may play any of them.
- **Hearts are broken** once a heart has been played (discarded or led) on an earlier trick;
  until then hearts cannot be led unless the hand holds only hearts. Playing Q♠ does *not*
  break hearts (pagat's standard rule; Q♠ breaking them is a common variant not taken here).
- **Scoring.** Each heart taken is 1 point, Q♠ 13 (26 a deal). A player who takes all 26
  *shoots the moon*: they score 0 and the three others 26 each.
- **End.** The match ends after the deal in which someone's total reaches 100 or more. The
  lowest total wins; when several share it, the first of them counting from the first
  dealer's left wins (``(dealer + 1) % 4``, then on round), and `Outcome.detail` lists the tied
  players.

A match plays in a REPL::

    >>> game = Hearts(4, seed=7)
    >>> game.phase, game.pass_direction, sorted(game.to_act())
    (<Phase.PASS: 'pass'>, <PassDirection.LEFT: 'left'>, [0, 1, 2, 3])
    >>> for player in range(4):
    ...     step = game.apply(player, game.bot_move(player))
    >>> step.event
    {'type': 'pass', 'exchanged': True}
    >>> game.phase, Card.from_str("2C") in game.hand(game.turn)
    (<Phase.PLAY: 'play'>, True)
    >>> while not game.is_finished:  # the bots pass again from deal 2 on: to_act() is a set
    ...     player = min(game.to_act())
    ...     step = game.apply(player, game.bot_move(player))
    >>> outcome = game.outcome()
    >>> sum(outcome.scores) % 26, max(outcome.scores) >= 100, outcome.detail["deals"] == game.deal
    (0, True, True)

Moves parse and print like python-chess's::

    >>> Hearts.parse_move({"type": "pass", "cards": ["QS", "AH", "2C"]})
    Pass.from_str('2C AH QS')
    >>> Hearts.move_to_json(Play.from_str("QS"))
    {'type': 'play', 'card': 'QS'}

Part of the pure rules layer: this module imports only the standard library and this package's
`cards` and `game` modules. It does no I/O and reads no clock; every shuffle comes from the
game's own `random.Random(seed)`, so the seed, the first dealer and the moves reproduce a whole
match (`Hearts.replay`). At a table each later deal is shuffled from a fresh seed of its own
(`Game.deal_seeds`), recorded with the move that dealt it.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import combinations
from typing import Any

from .cards import FULL_DECK, Card, Rank, Suit
from .game import (
    BadMove,
    Game,
    GameFinished,
    IllegalMove,
    NotInHand,
    NotYourTurn,
    Outcome,
    Step,
    is_index,
)

__all__ = [
    "DEAL_POINTS",
    "HAND_SIZE",
    "MATCH_POINTS",
    "PASS_SIZE",
    "Hearts",
    "Pass",
    "PassDirection",
    "Phase",
    "Play",
    "card_points",
]

#: Cards dealt to each player.
HAND_SIZE = 13
#: Cards each player passes.
PASS_SIZE = 3
#: Points in one deal: 13 hearts and Q♠.
DEAL_POINTS = 26
#: The match ends after the deal in which a total reaches this.
MATCH_POINTS = 100

_PLAYERS = 4
_TWO_OF_CLUBS = Card(Rank.TWO, Suit.CLUBS)
_QUEEN_OF_SPADES = Card(Rank.QUEEN, Suit.SPADES)

# Hands are shown sorted by suit, then rank: the order of FULL_DECK.
_DISPLAY_ORDER = Card.index.fget


def card_points(card: Card) -> int:
    """What taking `card` costs: 1 for a heart, 13 for Q♠, else 0.

    >>> [card_points(Card.from_str(code)) for code in ("QS", "TH", "AS")]
    [13, 1, 0]
    """
    return _POINTS[card.index]


# By card index: every view adds up the points taken, and comparing Card dataclasses field by
# field made that a third of the time of a played-out match.
_POINTS = tuple(
    1 if card.suit is Suit.HEARTS else 13 if card.index == _QUEEN_OF_SPADES.index else 0
    for card in FULL_DECK
)


def _codes(cards: Iterable[Card]) -> list[str]:
    """Card codes in display order."""
    return [str(card) for card in sorted(cards, key=_DISPLAY_ORDER)]


class Phase(Enum):
    """Where a match stands: choosing cards to pass, playing tricks, or over."""

    PASS = "pass"
    PLAY = "play"
    OVER = "over"


class PassDirection(Enum):
    """Where the passed cards go; the deal number picks it, in this order, round and round.

    >>> [PassDirection.of_deal(deal).value for deal in range(1, 6)]
    ['left', 'right', 'across', 'none', 'left']
    >>> PassDirection.RIGHT.receiver(0)
    3
    """

    LEFT = "left"
    RIGHT = "right"
    ACROSS = "across"
    NONE = "none"

    @classmethod
    def of_deal(cls, deal: int) -> PassDirection:
        """The direction of deal number `deal` (from 1)."""
        return _DIRECTIONS[(deal - 1) % len(_DIRECTIONS)]

    @property
    def offset(self) -> int:
        """How many places to the left the cards travel (0: no pass)."""
        return _OFFSETS[self]

    def receiver(self, giver: int) -> int:
        """The player who gets the cards `giver` passes."""
        return (giver + self.offset) % _PLAYERS

    def giver(self, receiver: int) -> int:
        """The player whose cards `receiver` gets."""
        return (receiver - self.offset) % _PLAYERS


_DIRECTIONS = (PassDirection.LEFT, PassDirection.RIGHT, PassDirection.ACROSS, PassDirection.NONE)
_OFFSETS = {PassDirection.LEFT: 1, PassDirection.RIGHT: 3, PassDirection.ACROSS: 2,
            PassDirection.NONE: 0}
_TOWARDS = {PassDirection.LEFT: "to the left", PassDirection.RIGHT: "to the right",
            PassDirection.ACROSS: "across", PassDirection.NONE: ""}


# Moves ---------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Pass:
    """The 3 cards a player chooses to pass, kept sorted in display order.

    Any iterable of 3 different cards will do; two passes of the same cards are equal.

    >>> Pass.from_str("QS AH 2C")
    Pass.from_str('2C AH QS')
    >>> str(Pass([Card.from_str("AH"), Card.from_str("KH"), Card.from_str("QS")]))
    'KH AH QS'
    >>> Pass.from_str("QS QS 2C")
    Traceback (most recent call last):
    ...
    ValueError: a pass cannot hold a card twice: QS
    """

    cards: tuple[Card, ...]

    def __post_init__(self) -> None:
        if isinstance(self.cards, (str, bytes)) or not isinstance(self.cards, Iterable):
            raise TypeError(f"a pass holds an iterable of cards, not {self.cards!r}")
        cards = tuple(self.cards)
        for card in cards:
            if not isinstance(card, Card):
                raise TypeError(f"a pass holds cards, not {card!r}")
        if len(set(cards)) != len(cards):
            repeated = sorted({c for c in cards if cards.count(c) > 1}, key=_DISPLAY_ORDER)
            raise ValueError(f"a pass cannot hold a card twice: {' '.join(map(str, repeated))}")
        if len(cards) != PASS_SIZE:
            raise ValueError(f"a pass is exactly {PASS_SIZE} cards, not {len(cards)}")
        object.__setattr__(self, "cards", tuple(sorted(cards, key=_DISPLAY_ORDER)))

    @classmethod
    def from_str(cls, text: str) -> Pass:
        """The pass of the card codes in `text`, separated by spaces: ``"2C AH QS"``.

        Raises:
            ValueError: a bad card code, a repeated card, or not exactly 3 cards.
        """
        if not isinstance(text, str):
            raise TypeError(f"expected card codes in a string, not {text!r}")
        return cls(tuple(Card.from_str(code) for code in text.split()))

    def __str__(self) -> str:
        return " ".join(map(str, self.cards))

    def __repr__(self) -> str:
        return f"Pass.from_str('{self}')"


@dataclass(frozen=True, order=True)
class Play:
    """A card played to the current trick.

    >>> Play.from_str("QS")
    Play.from_str('QS')
    >>> str(Play(Card.from_str("TH")))
    'TH'
    """

    card: Card

    def __post_init__(self) -> None:
        if not isinstance(self.card, Card):
            raise TypeError(f"a play holds a card, not {self.card!r}")

    @classmethod
    def from_str(cls, text: str) -> Play:
        """The play of the card with code `text`.

        Raises:
            ValueError: a bad card code.
        """
        return cls(Card.from_str(text))

    def __str__(self) -> str:
        return str(self.card)

    def __repr__(self) -> str:
        return f"Play.from_str('{self}')"


def _sorted_pass(cards: tuple[Card, ...]) -> Pass:
    """A `Pass` of 3 different cards already in display order, without checking them again:
    listing the 286 passes of a hand through the checks took most of `legal_moves`' time."""
    move = object.__new__(Pass)
    object.__setattr__(move, "cards", cards)
    return move


_MOVE_FIELDS = {"pass": ("type", "cards"), "play": ("type", "card")}


# The game ------------------------------------------------------------------------------------


class Hearts(Game):
    """A match of Hearts: deals until a total reaches `MATCH_POINTS` (see the module docstring).

    Players are numbered 0 to 3, each one to the left of the one before. `dealer` is the player
    who deals the first deal.

    Order of the checks in `apply` (and `check`), first failure wins:

    1. `ValueError` for a player who is not 0-3, `TypeError` for a move that is not a `Pass`
       or a `Play`;
    2. `GameFinished` once the match is over;
    3. `IllegalMove` for a move of the wrong kind for the phase, whoever sends it (a `Play`
       while cards are being passed, a `Pass` during the play or in a no-pass deal);
    4. `NotYourTurn` for a second pass from the same player (a pass cannot be changed) or a
       play out of turn;
    5. `NotInHand` for a card the player does not hold;
    6. `IllegalMove` for a play that breaks a rule (first lead, following suit, no points on
       the first trick, hearts not broken).

    Raises:
        ValueError: (constructor) a player count other than 4, or a dealer who is not 0-3.
    """

    name = "hearts"
    title = "Hearts"
    MIN_PLAYERS = 4
    MAX_PLAYERS = 4
    DEFAULT_SEATS = 4
    MATCH = True

    _rng: random.Random
    _shuffled: tuple[Card, ...]
    _first_dealer: int
    _deal: int
    _dealer: int
    _phase: Phase
    _hands: list[set[Card]]
    _passes: list[tuple[Card, ...] | None]
    _given: tuple[tuple[Card, ...], ...] | None
    _trick: list[tuple[int, Card]]
    _leader: int | None
    _last_trick: tuple[tuple[tuple[int, Card], ...], int] | None
    _tricks: int
    _hearts_broken: bool
    _taken: list[list[Card]]
    _points: list[int]
    _totals: list[int]
    _outcome: Outcome | None

    def __init__(self, players: int, seed: int, dealer: int = 0) -> None:
        self._check_setup(players, dealer)
        self._rng = random.Random(seed)
        self._first_dealer = dealer
        self._totals = [0] * _PLAYERS
        self._outcome = None
        self._start_deal(1)

    @classmethod
    def _check_setup(cls, players: object, dealer: object) -> None:
        if players != _PLAYERS or not is_index(players, _PLAYERS + 1):
            raise ValueError(f"Hearts needs exactly {_PLAYERS} players, not {players!r}")
        if not is_index(dealer, _PLAYERS):
            raise ValueError(f"dealer {dealer!r} is not a player of a {_PLAYERS}-player game")

    @classmethod
    def from_position(
        cls,
        hands: Sequence[Iterable[Card]],
        *,
        deal: int = 1,
        phase: Phase | str = Phase.PLAY,
        trick: Sequence[Card] = (),
        leader: int | None = None,
        hearts_broken: bool | None = None,
        totals: Sequence[int] = (0, 0, 0, 0),
        taken: Sequence[Iterable[Card]] | None = None,
        passes: Sequence[Iterable[Card] | None] | None = None,
        dealer: int = 0,
        seed: int = 0,
    ) -> Hearts:
        """A match set up in a given position, for tests and for studying crafted positions.

        `hands` are the cards each player holds now. `deal` is the deal number (it fixes the
        pass direction and, with `dealer`, the first dealer, who deals this deal). In the play
        phase, `trick` lists the cards of the current trick in the order played, starting with
        `leader`'s; `leader` may be left out only at the start of the first trick (the holder of
        2♣ leads). In the pass phase, `passes` gives each player's chosen pass (None: not
        chosen yet); those cards are not in `hands`. `taken` lists cards each player has taken
        in tricks this deal (as many as the test cares about: the pack need not be complete),
        `totals` the match totals before this deal. `hearts_broken` defaults to whether a heart
        is among the taken cards or in the trick. Later deals are shuffled by
        `random.Random(seed)`.

        How many tricks this deal has seen follows from the hand sizes: a player holding ``n``
        cards (counting one played to the current trick) is at trick ``14 - n``, so 13 cards
        mean the first trick, with its rules.

        Raises:
            ValueError: the position cannot occur: not 4 hands, a repeated card, uneven hands,
                a pass phase in a no-pass deal or with hands other than 13 cards, a first trick
                that does not start with 2♣, a total of 100 or more, hearts said not broken
                with a heart already played, bad numbers.
            TypeError: something that is not a card where a card belongs.
        """
        if isinstance(hands, (str, bytes)) or len(hands) != _PLAYERS:
            raise ValueError(f"a position needs {_PLAYERS} hands")
        cls._check_setup(_PLAYERS, dealer)
        if not is_index(deal, 1 << 30) or deal < 1:
            raise ValueError(f"deal must be a number from 1, not {deal!r}")
        phase = Phase(phase)
        if phase is Phase.OVER:
            raise ValueError("a position to play from cannot be over")
        hand_sets = [cls._card_list(hand, f"hand {p}") for p, hand in enumerate(hands)]
        trick_cards = cls._card_list(trick, "trick")
        taken_lists = [cls._card_list(pile, f"taken {p}")
                       for p, pile in enumerate(taken if taken is not None else [()] * _PLAYERS)]
        if len(taken_lists) != _PLAYERS:
            raise ValueError(f"taken needs {_PLAYERS} piles")
        pass_lists: list[tuple[Card, ...] | None] = [None] * _PLAYERS
        if passes is not None:
            if len(passes) != _PLAYERS:
                raise ValueError(f"passes needs {_PLAYERS} entries (None: not chosen)")
            pass_lists = [None if chosen is None else Pass(tuple(chosen)).cards
                          for chosen in passes]
        everything = [*trick_cards, *(c for h in hand_sets for c in h),
                      *(c for pile in taken_lists for c in pile),
                      *(c for chosen in pass_lists if chosen for c in chosen)]
        if len(set(everything)) != len(everything):
            raise ValueError("a card appears more than once")
        if (not isinstance(totals, Sequence) or len(totals) != _PLAYERS
                or not all(is_index(t, MATCH_POINTS) for t in totals)):
            raise ValueError(
                f"totals must be {_PLAYERS} whole numbers from 0 to {MATCH_POINTS - 1}")
        direction = PassDirection.of_deal(deal)

        game = cls.__new__(cls)
        game._rng = random.Random(seed)
        game._shuffled = ()  # not dealt from a shuffled pack
        game._first_dealer = dealer
        game._deal = deal
        game._dealer = (dealer + deal - 1) % _PLAYERS
        game._phase = phase
        game._hands = [set(hand) for hand in hand_sets]
        game._passes = pass_lists
        game._given = None
        game._trick = []
        game._last_trick = None
        game._taken = [list(pile) for pile in taken_lists]
        game._points = [sum(map(card_points, pile)) for pile in taken_lists]
        game._totals = list(totals)
        game._outcome = None

        if phase is Phase.PASS:
            if direction is PassDirection.NONE:
                raise ValueError(f"deal {deal} has no pass")
            if trick_cards or any(taken_lists) or leader is not None or hearts_broken:
                raise ValueError("nothing is played before the pass")
            sizes = {len(h) + (PASS_SIZE if pass_lists[p] else 0) for p, h in enumerate(hand_sets)}
            if sizes != {HAND_SIZE}:
                raise ValueError(
                    f"every player holds {HAND_SIZE} cards (with the pass) at the pass")
            game._leader = None
            game._tricks = 0
            game._hearts_broken = False
            return game

        if passes is not None:
            raise ValueError("passes belong to the pass phase")
        if len(trick_cards) > _PLAYERS - 1:
            raise ValueError("a trick in progress has at most 3 cards")
        if leader is None:
            # Only the first lead of a deal is known without being told: 2♣'s holder.
            holder = [p for p in range(_PLAYERS) if _TWO_OF_CLUBS in hand_sets[p]]
            if trick_cards or not holder or {len(h) for h in hand_sets} != {HAND_SIZE}:
                raise ValueError("say who leads the trick (leader)")
            leader = holder[0]
        if not is_index(leader, _PLAYERS):
            raise ValueError(f"leader {leader!r} is not a player")
        in_trick = {(leader + i) % _PLAYERS for i in range(len(trick_cards))}
        sizes = {len(h) + (p in in_trick) for p, h in enumerate(hand_sets)}
        if len(sizes) != 1 or not 1 <= min(sizes) <= HAND_SIZE:
            raise ValueError("the hands (counting a card played to this trick) must be even, "
                             f"1 to {HAND_SIZE} cards each")
        game._tricks = HAND_SIZE - sizes.pop()
        # The holder of 2♣ leads it to the first trick.
        if game._tricks == 0 and (
            trick_cards[0] != _TWO_OF_CLUBS if trick_cards
            else _TWO_OF_CLUBS not in hand_sets[leader]
        ):
            raise ValueError("the first trick starts with 2C, led by its holder")
        played = [*trick_cards, *(c for pile in taken_lists for c in pile)]
        heart_played = any(card.suit is Suit.HEARTS for card in played)
        if hearts_broken is None:
            hearts_broken = heart_played
        elif not hearts_broken and heart_played:
            raise ValueError("a heart has been played, so hearts are broken")
        game._hearts_broken = bool(hearts_broken)
        game._leader = leader
        game._trick = [((leader + i) % _PLAYERS, card) for i, card in enumerate(trick_cards)]
        return game

    @staticmethod
    def _card_list(cards: Iterable[Card], what: str) -> list[Card]:
        if isinstance(cards, (str, bytes)) or not isinstance(cards, Iterable):
            raise TypeError(f"{what}: expected cards, not {cards!r}")
        listed = list(cards)
        for card in listed:
            if not isinstance(card, Card):
                raise TypeError(f"{what}: expected cards, not {card!r}")
        return listed

    # Dealing -----------------------------------------------------------------------------------

    def _start_deal(self, number: int) -> None:
        """Shuffle and deal deal `number`; start its pass, or its play on a no-pass deal."""
        self._deal = number
        # The dealer moves one to the left each deal.
        self._dealer = (self._first_dealer + number - 1) % _PLAYERS
        if number > 1 and self.deal_seeds is not None:
            # Each later deal from a fresh seed of its own when the table gives one, so that
            # the order of a deal revealed when it ends tells nothing of the next.
            seed = self.deal_seeds()
            if seed is not None:
                self._rng = random.Random(seed)
        deck = list(FULL_DECK)
        self._rng.shuffle(deck)
        self._shuffled = tuple(deck)
        self._hands = [set() for _ in range(_PLAYERS)]
        # One card at a time from the top of the pack (the end of the list), starting left of
        # the dealer.
        for i in range(len(deck)):
            self._hands[(self._dealer + 1 + i) % _PLAYERS].add(deck.pop())
        self._passes = [None] * _PLAYERS
        self._given = None
        self._trick = []
        self._last_trick = None
        self._tricks = 0
        self._hearts_broken = False
        self._taken = [[] for _ in range(_PLAYERS)]
        self._points = [0] * _PLAYERS
        if self.pass_direction is PassDirection.NONE:
            self._start_play()
        else:
            self._phase = Phase.PASS
            self._leader = None

    def _start_play(self) -> None:
        self._phase = Phase.PLAY
        # The holder of 2♣ leads it to the first trick.
        self._leader = next(p for p in range(_PLAYERS) if _TWO_OF_CLUBS in self._hands[p])

    # Moves on the wire -------------------------------------------------------------------------

    @classmethod
    def parse_move(cls, data: Mapping[str, Any]) -> Pass | Play:
        """The move `data` describes: ``{"type": "pass", "cards": [3 codes]}`` or
        ``{"type": "play", "card": code}``.

        Raises:
            BadMove: not an object, an unknown type, a missing or unknown field, a bad card
                code, or not exactly 3 different cards in a pass.

        >>> Hearts.parse_move({"type": "pass", "cards": ["QS", "QS", "2C"]})
        Traceback (most recent call last):
        ...
        game_server.rules.game.BadMove: cards: a pass cannot hold a card twice: QS
        """
        if not isinstance(data, Mapping):
            raise BadMove(f"a move is a JSON object, not {_json_kind(data)}")
        kind = data.get("type")
        if not isinstance(kind, str) or kind not in _MOVE_FIELDS:
            if "type" not in data:
                raise BadMove("a move needs a type: 'pass' or 'play'")
            raise BadMove(f"unknown move type {_short(kind)}: expected 'pass' or 'play'")
        fields = _MOVE_FIELDS[kind]
        extra = [key for key in data if key not in fields]
        if extra:
            raise BadMove(f"unknown field {_short(extra[0])} in a {kind} move")
        missing = [key for key in fields if key not in data]
        if missing:
            raise BadMove(f"a {kind} move needs {missing[0]!r}")
        if kind == "play":
            return Play(_parse_card(data["card"], "card"))
        codes = data["cards"]
        if not isinstance(codes, (list, tuple)):
            raise BadMove(f"cards: expected a list of {PASS_SIZE} card codes")
        if len(codes) != PASS_SIZE:
            raise BadMove(f"cards: a pass is exactly {PASS_SIZE} cards, not {len(codes)}")
        cards = tuple(_parse_card(code, f"cards[{i}]") for i, code in enumerate(codes))
        try:
            return Pass(cards)
        except ValueError as error:
            raise BadMove(f"cards: {error}") from None

    @classmethod
    def move_to_json(cls, move: Pass | Play) -> dict[str, Any]:
        """`move` as the JSON object `parse_move` reads back (pass cards in display order).

        Raises:
            TypeError: `move` is not a `Pass` or a `Play`.
        """
        if isinstance(move, Pass):
            return {"type": "pass", "cards": [str(card) for card in move.cards]}
        if isinstance(move, Play):
            return {"type": "play", "card": str(move.card)}
        raise TypeError(f"not a Hearts move: {move!r}")

    # Questions ---------------------------------------------------------------------------------

    @property
    def players(self) -> int:
        """The number of players: 4."""
        return _PLAYERS

    def deals(self) -> int:
        return self._deal

    def deck_order(self) -> tuple[Card, ...]:
        """The pack as shuffled for the current deal: its end is dealt first, one card at a
        time starting left of the dealer."""
        return self._shuffled

    @property
    def deal(self) -> int:
        """The number of the current deal, from 1 (after the end: the last deal)."""
        return self._deal

    @property
    def dealer(self) -> int:
        """The player who dealt the current deal."""
        return self._dealer

    @property
    def first_dealer(self) -> int:
        """The player who dealt the first deal (the constructor's `dealer`)."""
        return self._first_dealer

    @property
    def phase(self) -> Phase:
        """Passing, playing, or over."""
        return self._phase

    @property
    def pass_direction(self) -> PassDirection:
        """Where the current deal's passes go."""
        return PassDirection.of_deal(self._deal)

    @property
    def turn(self) -> int | None:
        """The player to play a card; None while passing and after the end."""
        if self._phase is not Phase.PLAY or self._leader is None:
            return None
        return (self._leader + len(self._trick)) % _PLAYERS

    @property
    def leader(self) -> int | None:
        """The player who led (or is to lead) the current trick; None while passing and after
        the end."""
        return self._leader if self._phase is Phase.PLAY else None

    @property
    def trick(self) -> tuple[tuple[int, Card], ...]:
        """The current trick as ``(player, card)`` pairs in the order played."""
        return tuple(self._trick)

    @property
    def last_trick(self) -> tuple[tuple[tuple[int, Card], ...], int] | None:
        """The last trick completed this deal, as its plays and its winner, or None."""
        return self._last_trick

    @property
    def hearts_broken(self) -> bool:
        """True once a heart has been played this deal."""
        return self._hearts_broken

    @property
    def totals(self) -> tuple[int, ...]:
        """Match totals of the deals completed (during a deal: the totals before it)."""
        return tuple(self._totals)

    def points_taken(self) -> tuple[int, ...]:
        """Points each player has taken in tricks this deal, before the moon rule."""
        return tuple(self._points)

    def taken_cards(self, player: int) -> tuple[Card, ...]:
        """The cards `player` has taken in tricks this deal (everyone saw them played).

        Raises:
            ValueError: if `player` is not a player of this game.
        """
        self._check_player(player)
        return tuple(sorted(self._taken[player], key=_DISPLAY_ORDER))

    def hand(self, player: int) -> tuple[Card, ...]:
        """The cards `player` holds, sorted for display: by suit, then rank. Cards chosen to
        pass have left the hand.

        Raises:
            ValueError: if `player` is not a player of this game.
        """
        self._check_player(player)
        return tuple(sorted(self._hands[player], key=_DISPLAY_ORDER))

    def pending_pass(self, player: int) -> tuple[Card, ...] | None:
        """The cards `player` chose to pass, until the exchange; else None.

        Raises:
            ValueError: if `player` is not a player of this game.
        """
        self._check_player(player)
        return self._passes[player]

    def received(self, player: int) -> tuple[Card, ...] | None:
        """The cards `player` received in this deal's exchange; None before it, on a no-pass
        deal, or in a position built by `from_position`.

        Raises:
            ValueError: if `player` is not a player of this game.
        """
        self._check_player(player)
        if self._given is None:
            return None
        return self._given[self.pass_direction.giver(player)]

    def secret(self, player: int) -> frozenset[Card]:
        """The cards only `player` may see: the hand and a chosen pass not yet exchanged.

        Raises:
            ValueError: if `player` is not a player of this game.
        """
        self._check_player(player)
        return frozenset(self._hands[player]).union(self._passes[player] or ())

    def to_act(self) -> frozenset[int]:
        """While passing, the players who have not chosen their pass; during the play, the
        player to play; empty after the end."""
        if self._phase is Phase.PASS:
            return frozenset(p for p in range(_PLAYERS) if self._passes[p] is None)
        if self._phase is Phase.PLAY:
            return frozenset({self.turn})
        return frozenset()

    def outcome(self) -> Outcome | None:
        """How the match ended, or None while it runs.

        `scores` are the match totals; `detail` is ``{"deals": deals played, "tied": players
        who shared the lowest total, in tie-break order}`` (``tied`` is empty without a tie).
        """
        return self._outcome

    def legal_moves(self, player: int) -> list[Pass | Play]:
        """The moves `player` may make now: while passing (and not yet chosen) every `Pass` of
        3 cards of the hand (286 of 13 cards), in display order; on the player's turn every
        legal `Play`, in display order; else nothing.

        Raises:
            ValueError: if `player` is not a player of this game.
        """
        self._check_player(player)
        if player not in self.to_act():
            return []
        hand = sorted(self._hands[player], key=_DISPLAY_ORDER)
        if self._phase is Phase.PASS:
            return [_sorted_pass(cards) for cards in combinations(hand, PASS_SIZE)]
        return [Play(card) for card in hand if self._broken_rule(player, card) is None]

    def check(self, player: int, move: Pass | Play) -> None:
        """Raise what `apply(player, move)` would raise; change nothing.

        Raises:
            GameFinished: the match is over.
            IllegalMove: a play while cards are being passed, a pass during the play, or a play
                that breaks a rule (the text says which).
            NotYourTurn: a second pass from the same player, or a play out of turn.
            NotInHand: a card the player does not hold.
            ValueError: `player` is not a player of this game.
            TypeError: `move` is not a `Pass` or a `Play`.
        """
        self._check_player(player)
        if not isinstance(move, (Pass, Play)):
            raise TypeError(f"not a Hearts move: {move!r}")
        if self._outcome is not None:
            raise GameFinished("the match is over")
        if self._phase is Phase.PASS:
            if isinstance(move, Play):
                towards = _TOWARDS[self.pass_direction]
                raise IllegalMove(f"cannot play {move.card} now: cards are being passed {towards}")
            if self._passes[player] is not None:
                raise NotYourTurn("you have already chosen your pass; it cannot be changed")
            missing = [card for card in move.cards if card not in self._hands[player]]
            if missing:
                raise NotInHand(f"you do not hold {' '.join(map(str, missing))}")
            return
        if isinstance(move, Pass):
            if self.pass_direction is PassDirection.NONE:
                raise IllegalMove(f"cannot pass {move}: deal {self._deal} has no pass")
            raise IllegalMove(f"cannot pass {move} now: the cards are being played")
        turn = self.turn
        if player != turn:
            raise NotYourTurn("it is not your turn")
        if move.card not in self._hands[player]:
            raise NotInHand(f"you do not hold {move.card}")
        problem = self._broken_rule(player, move.card)
        if problem is not None:
            raise IllegalMove(problem)

    def _broken_rule(self, player: int, card: Card) -> str | None:
        """Why `player` may not play `card` (held, on their turn) now, or None if they may."""
        return _broken_rule(self._hands[player], [c for _, c in self._trick],
                            self._tricks == 0, self._hearts_broken, card)

    # Changes -----------------------------------------------------------------------------------

    def apply(self, player: int, move: Pass | Play) -> Step:
        """Check the move (see `check` and the class docstring), then make it.

        A pass that completes the four passes exchanges the cards and starts the play. A play
        that completes a trick gives it to its winner; one that completes the deal scores it
        and deals the next deal, or ends the match. The `Step`'s events:

        - pass: public ``{"type": "pass"}``, the passer's own ``{"type": "pass", "cards":
          [...]}``; the fourth pass adds ``"exchanged": true`` everywhere and gives every player
          ``"received": [...]``. `revealed` is ``{"type": "pass", "exchanged": bool, "cards":
          [the mover's], "passes": [cards given by player 0, 1, 2, 3]}`` (passes only when
          exchanged).
        - play (public, the same for everyone): ``{"type": "play", "card": "QS"}``, plus
          ``"trick": {"winner", "points"}`` when the trick is complete, ``"deal": {"number",
          "points", "totals", "moon"}`` when the deal is, and ``"next_deal": {"number",
          "pass"}`` when a new deal was dealt.

        Raises:
            RulesError: as `check`; the game is then unchanged.
            ValueError, TypeError: as `check`.
        """
        self.check(player, move)
        if isinstance(move, Pass):
            return self._apply_pass(player, move)
        return self._apply_play(player, move)

    def _apply_pass(self, player: int, move: Pass) -> Step:
        self._passes[player] = move.cards
        self._hands[player].difference_update(move.cards)
        mine = _codes(move.cards)
        if any(chosen is None for chosen in self._passes):
            return Step(
                player, move, {"type": "pass"},
                private={player: {"type": "pass", "cards": mine}},
                revealed={"type": "pass", "exchanged": False, "cards": mine},
            )
        # The fourth choice: everyone's cards change hands at once.
        given = tuple(chosen for chosen in self._passes if chosen is not None)
        direction = self.pass_direction
        for giver, cards in enumerate(given):
            self._hands[direction.receiver(giver)].update(cards)
        self._given = given
        self._passes = [None] * _PLAYERS
        self._start_play()
        private: dict[int, dict[str, Any]] = {}
        for p in range(_PLAYERS):
            version: dict[str, Any] = {"type": "pass", "exchanged": True}
            if p == player:
                version["cards"] = mine
            version["received"] = _codes(given[direction.giver(p)])
            private[p] = version
        return Step(
            player, move, {"type": "pass", "exchanged": True},
            private=private,
            revealed={"type": "pass", "exchanged": True, "cards": mine,
                      "passes": [_codes(cards) for cards in given]},
        )

    def _apply_play(self, player: int, move: Play) -> Step:
        card = move.card
        self._hands[player].remove(card)
        self._trick.append((player, card))
        # Hearts are broken once a heart has been played (pagat: Q♠ does not break them).
        if card.suit is Suit.HEARTS:
            self._hearts_broken = True
        event: dict[str, Any] = {"type": "play", "card": str(card)}
        if len(self._trick) < _PLAYERS:
            return Step(player, move, event)

        # The highest card of the suit led wins the trick and leads the next.
        led = self._trick[0][1].suit
        winner = max((c.rank, p) for p, c in self._trick if c.suit is led)[1]
        cards = [c for _, c in self._trick]
        self._taken[winner].extend(cards)
        points = sum(map(card_points, cards))
        self._points[winner] += points
        self._last_trick = (tuple(self._trick), winner)
        self._trick = []
        self._leader = winner
        self._tricks += 1
        event["trick"] = {"winner": winner, "points": points}
        if any(self._hands):
            return Step(player, move, event)

        event["deal"] = self._score_deal()
        if max(self._totals) >= MATCH_POINTS:
            self._end_match()
        else:
            self._start_deal(self._deal + 1)
            event["next_deal"] = {"number": self._deal, "pass": self.pass_direction.value}
        return Step(player, move, event, outcome=self._outcome)

    def _score_deal(self) -> dict[str, Any]:
        """Add the deal's points to the totals; return the deal's part of the event."""
        points = list(self.points_taken())
        # Shooting the moon: all 26 to one player scores 0 for them and 26 for each other.
        moon = next((p for p in range(_PLAYERS) if points[p] == DEAL_POINTS), None)
        if moon is not None:
            points = [0 if p == moon else DEAL_POINTS for p in range(_PLAYERS)]
        self._totals = [total + gained for total, gained in zip(self._totals, points)]
        return {"number": self._deal, "points": points, "totals": list(self._totals),
                "moon": moon}

    def _end_match(self) -> None:
        """Someone reached MATCH_POINTS: the lowest total wins; a tie goes to the first of the
        tied players counting from the first dealer's left."""
        order = [(self._first_dealer + k) % _PLAYERS for k in range(1, _PLAYERS + 1)]
        lowest = min(self._totals)
        tied = [p for p in order if self._totals[p] == lowest]
        self._phase = Phase.OVER
        self._outcome = Outcome(
            winner=tied[0],
            scores=tuple(self._totals),
            detail={"deals": self._deal, "tied": tied if len(tied) > 1 else []},
        )

    # Views -------------------------------------------------------------------------------------

    def view_for(self, player: int | None) -> dict[str, Any]:
        """What `player` may see, as a JSON-ready dict; None is a spectator.

        Keys, in order: ``hand`` (only for a player: own cards in display order), ``cards``
        (count held per player), ``deal`` (from 1), ``dealer``, ``pass`` ("left", "right",
        "across" or "none"), ``phase`` ("pass", "play" or "over"), ``passed`` (only in the pass
        phase: per player, true once chosen), ``passing`` (only for a player who has chosen,
        until the exchange), ``received`` (only for a player: the cards received this deal,
        from the exchange to the end of the first trick), ``trick`` (``{"player", "card"}`` in
        play order), ``leader`` and ``turn`` (null while passing and after the end),
        ``last_trick`` (``{"plays": [...], "winner"}`` or null; it starts null each deal),
        ``hearts_broken``, ``taken`` (points taken this deal per player, before the moon rule),
        ``totals`` (match totals of the completed deals); after the end ``winner`` and
        ``scores``. Never another player's hand or pass.

        Raises:
            ValueError: if `player` is neither None nor a player of this game.
        """
        if player is not None:
            self._check_player(player)
        view: dict[str, Any] = {}
        if player is not None:
            view["hand"] = _codes(self._hands[player])
        self._public_view(view, player)
        return view

    def revealed_view(self) -> dict[str, Any]:
        """The spectator's view plus ``hands`` (every player's hand) and ``passing`` (every
        player's chosen pass not yet exchanged, or null)."""
        view = self.view_for(None)
        view["hands"] = [_codes(hand) for hand in self._hands]
        view["passing"] = [None if chosen is None else _codes(chosen) for chosen in self._passes]
        return view

    def _public_view(self, view: dict[str, Any], player: int | None) -> None:
        view["cards"] = [len(hand) for hand in self._hands]
        view["deal"] = self._deal
        view["dealer"] = self._dealer
        view["pass"] = self.pass_direction.value
        view["phase"] = self._phase.value
        if self._phase is Phase.PASS:
            view["passed"] = [chosen is not None for chosen in self._passes]
        if player is not None:
            chosen = self._passes[player]
            if chosen is not None:
                view["passing"] = _codes(chosen)
            if self._given is not None and self._tricks == 0 and self._phase is Phase.PLAY:
                view["received"] = _codes(self._given[self.pass_direction.giver(player)])
        view["trick"] = [{"player": p, "card": str(c)} for p, c in self._trick]
        view["leader"] = self.leader
        if self._last_trick is None:
            view["last_trick"] = None
        else:
            plays, winner = self._last_trick
            view["last_trick"] = {"plays": [{"player": p, "card": str(c)} for p, c in plays],
                                  "winner": winner}
        view["hearts_broken"] = self._hearts_broken
        view["taken"] = list(self._points)
        view["totals"] = list(self._totals)
        view["turn"] = self.turn
        if self._outcome is not None:
            view["winner"] = self._outcome.winner
            view["scores"] = list(self._outcome.scores)

    # The bot -----------------------------------------------------------------------------------

    def bot_move(self, player: int) -> Pass | Play:
        """A sensible legal move for `player`, from what that player may see (own hand, the
        trick, the cards played this deal, whether hearts are broken); no randomness.

        Passing: Q♠, A♠, K♠ unless the hand has 3 spades below the queen to guard it (a guarded
        Q♠ is kept), then hearts from the ten up, highest first, then the highest cards.
        Leading: the lowest card, avoiding Q♠, spades while holding Q♠, A♠/K♠ while Q♠ is out,
        and hearts. Following: Q♠ under a higher spade; last to a trick with no points, the
        highest card but Q♠; else the highest card that still loses the trick, or, when every
        card wins, the lowest (the highest when last) but Q♠. Void in the suit led: Q♠, then
        the highest heart, then A♠/K♠ while Q♠ is out, then the highest card.

        Raises:
            GameFinished: the match is over.
            NotYourTurn: `player` may not act now.
            ValueError: `player` is not a player of this game.
        """
        self._check_player(player)
        if self._outcome is not None:
            raise GameFinished("the match is over")
        if player not in self.to_act():
            if self._phase is Phase.PASS:
                raise NotYourTurn("you have already chosen your pass; it cannot be changed")
            raise NotYourTurn("it is not your turn")
        hand = sorted(self._hands[player], key=_DISPLAY_ORDER)
        if self._phase is Phase.PASS:
            return Pass(_bot_pass(hand))
        trick = [card for _, card in self._trick]
        # Every card played this deal was seen by all: the bot may count them.
        played = {card for pile in self._taken for card in pile}.union(trick)
        queen_out = _QUEEN_OF_SPADES not in played and _QUEEN_OF_SPADES not in hand
        return Play(_bot_play(hand, trick, self._tricks == 0, self._hearts_broken, queen_out))

    @classmethod
    def move_from_view(cls, view: Mapping[str, Any]) -> dict[str, Any] | None:
        """The bot's choice (see `bot_move`) made from a player's view alone, as wire JSON;
        the caller asks when that player may act (the view does not say who "you" are).
        None for a spectator's view, a player who has already chosen the pass, or the end.

        A view shows only the current and the last trick, so whether Q♠ is still out is a
        guess here: it counts as gone once the points taken this deal reach 13.
        """
        codes = view.get("hand")
        phase = view.get("phase")
        if codes is None or phase not in (Phase.PASS.value, Phase.PLAY.value) or not codes:
            return None
        hand = sorted((Card.from_str(code) for code in codes), key=_DISPLAY_ORDER)
        if phase == Phase.PASS.value:
            if "passing" in view:
                return None
            return cls.move_to_json(Pass(_bot_pass(hand)))
        trick = [Card.from_str(play["card"]) for play in view["trick"]]
        # On its turn a player has not played to the trick: 13 cards mean the first trick.
        first_trick = len(hand) == HAND_SIZE
        queen_out = (_QUEEN_OF_SPADES not in hand and _QUEEN_OF_SPADES not in trick
                     and sum(view["taken"]) < card_points(_QUEEN_OF_SPADES))
        card = _bot_play(hand, trick, first_trick, bool(view["hearts_broken"]), queen_out)
        return cls.move_to_json(Play(card))

    # Helpers -----------------------------------------------------------------------------------

    def _check_player(self, player: object) -> None:
        if not is_index(player, _PLAYERS):
            raise ValueError(f"{player!r} is not a player of this {_PLAYERS}-player game")

    def __repr__(self) -> str:
        if self._phase is Phase.PASS:
            state = f"passing {self.pass_direction.value}"
        elif self._phase is Phase.PLAY:
            state = f"turn={self.turn}"
        else:
            state = f"over winner={self._outcome.winner if self._outcome else None}"
        return f"<Hearts deal={self._deal} dealer={self._dealer} {state} totals={self._totals}>"


# The rules of a play and the bot's choices: pure functions of what the player sees ------------


def _broken_rule(hand: Collection[Card], trick: Sequence[Card], first_trick: bool,
                 hearts_broken: bool, card: Card) -> str | None:
    """Why a player holding `hand` (and `card` in it) may not play `card` to `trick` (the
    cards played to it so far), or None if they may."""
    if not trick:
        # The holder of 2♣ leads it to the first trick.
        if first_trick and card.index != _TWO_OF_CLUBS.index:
            return f"the first trick must start with 2C: cannot lead {card}"
        # Hearts cannot be led until broken, unless the hand holds only hearts.
        if (card.suit is Suit.HEARTS and not hearts_broken
                and any(c.suit is not Suit.HEARTS for c in hand)):
            return f"hearts are not broken yet: cannot lead {card}"
        return None
    led = trick[0].suit
    # Follow suit if you can.
    if card.suit is not led and any(c.suit is led for c in hand):
        return f"you must follow {led.name.lower()}: cannot play {card}"
    # No points on the first trick: a heart or Q♠ only from a hand of nothing else (a hand of
    # hearts and Q♠ alone may play any of them).
    if first_trick and card_points(card) and any(not card_points(c) for c in hand):
        return (f"no hearts or QS on the first trick while you hold another card:"
                f" cannot play {card}")
    return None


def _bot_play(hand: Sequence[Card], trick: Sequence[Card], first_trick: bool,
              hearts_broken: bool, queen_out: bool) -> Card:
    """The bot's card: `hand` in display order, `trick` the cards played to it so far,
    `queen_out` whether another player may still hold Q♠."""
    legal = [c for c in hand if _broken_rule(hand, trick, first_trick, hearts_broken, c) is None]
    if len(legal) == 1:
        return legal[0]
    if not trick:
        return _bot_lead(hand, legal, queen_out)
    if legal[0].suit is trick[0].suit:
        return _bot_follow(trick, legal, last=len(trick) == _PLAYERS - 1)
    return _bot_discard(legal, queen_out)

# A Q♠ with at least this many lower spades beside it can usually be held until it can be
# dropped on someone else's trick.
_QUEEN_GUARD = 3


def _bot_pass(hand: Sequence[Card]) -> tuple[Card, ...]:
    low_spades = sum(1 for c in hand if c.suit is Suit.SPADES and c.rank < Rank.QUEEN)
    guarded = low_spades >= _QUEEN_GUARD

    def urgency(card: Card) -> tuple[int, int, int]:
        if card.suit is Suit.SPADES and card.rank >= Rank.QUEEN:
            if not guarded:
                # Unguarded Q♠ first, then A♠, K♠ (which would catch it).
                return (3, 15 if card.rank == Rank.QUEEN else card.rank, card.index)
            if card.rank == Rank.QUEEN:
                return (0, card.rank, card.index)  # Guarded: keep it.
        if card.suit is Suit.HEARTS and card.rank >= Rank.TEN:
            return (2, card.rank, card.index)
        return (1, card.rank, card.index)

    return tuple(sorted(hand, key=urgency, reverse=True)[:PASS_SIZE])


def _bot_lead(hand: Sequence[Card], legal: Sequence[Card], queen_out: bool) -> Card:
    holds_queen = _QUEEN_OF_SPADES in hand
    counts = {suit: sum(1 for c in hand if c.suit is suit) for suit in Suit}

    def risk(card: Card) -> tuple[bool, bool, bool, int, int, int]:
        spade = card.suit is Suit.SPADES
        return (
            card == _QUEEN_OF_SPADES,
            # Leading spades strips the queen's guard; A♠/K♠ invite the queen.
            spade and (holds_queen or (queen_out and card.rank > Rank.QUEEN)),
            card.suit is Suit.HEARTS,
            card.rank,
            counts[card.suit],  # Among equal ranks, the shorter suit: it empties sooner.
            card.index,
        )

    return min(legal, key=risk)


def _bot_follow(trick: Sequence[Card], legal: Sequence[Card], last: bool) -> Card:
    led = trick[0].suit
    best = max(c.rank for c in trick if c.suit is led)
    if _QUEEN_OF_SPADES in legal and best > Rank.QUEEN:
        return _QUEEN_OF_SPADES  # Someone else's A♠ or K♠ takes the queen.
    not_queen = [c for c in legal if c != _QUEEN_OF_SPADES] or list(legal)
    if last and not any(card_points(c) for c in trick):
        # Nothing in the trick and nobody after: winning costs nothing and sheds a high card.
        return max(not_queen, key=lambda c: c.rank)
    losing = [c for c in legal if c.rank < best]
    if losing:
        return max(losing, key=lambda c: c.rank)
    return max(not_queen, key=lambda c: c.rank) if last else min(not_queen, key=lambda c: c.rank)


def _bot_discard(legal: Sequence[Card], queen_out: bool) -> Card:
    if _QUEEN_OF_SPADES in legal:
        return _QUEEN_OF_SPADES
    hearts = [c for c in legal if c.suit is Suit.HEARTS]
    if hearts:
        return max(hearts, key=lambda c: c.rank)
    if queen_out:
        catchers = [c for c in legal if c.suit is Suit.SPADES and c.rank > Rank.QUEEN]
        if catchers:
            return max(catchers, key=lambda c: c.rank)
    return max(legal, key=lambda c: (c.rank, c.index))


def _parse_card(code: object, where: str) -> Card:
    try:
        return Card.from_str(code)  # type: ignore[arg-type]
    except ValueError as error:
        raise BadMove(f"{where}: {error}") from None


def _json_kind(value: object) -> str:
    """The JSON name of a value's type, for error texts: 'an array', 'null'..."""
    if value is None:
        return "null"
    for kinds, name in (((bool,), "a boolean"), ((int, float), "a number"), ((str,), "a string"),
                        ((list, tuple), "an array")):
        if isinstance(value, kinds):
            return name
    return type(value).__name__


def _short(value: object) -> str:
    """A short quoted rendering of a client's value for an error text."""
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
