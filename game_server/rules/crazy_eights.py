"""Crazy Eights, basic rules as on pagat.com, for 2 to 7 players, and its bot.

A `CrazyEights` object is one game from the deal to the end; you can play it in a REPL::

    >>> game = CrazyEights(players=2, seed=1)
    >>> (player,) = game.to_act()
    >>> step = game.apply(player, game.legal_moves(player)[0])

Moves on the wire: ``{"type": "take"}`` and ``{"type": "put", "card": "8S", "suit": "H"}``
(schema/games/crazy_eights/move.json). Events: ``{"type": "put", "card", "suit"?, "passes"?}``
and ``{"type": "take", "reshuffled"?, "passes"?}``, whose ``card`` only the taker sees.

Part of the pure rules layer: this module imports nothing outside the standard library. It does
no I/O and reads no clock; all randomness (the shuffle, burying an eight turned up as starter,
reshuffles of the pile) comes from the game's own `random.Random(seed)`, so a game is
reproduced exactly by its players, seed, dealer and moves (`CrazyEights.replay`).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeAlias

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

__all__ = ["PENALTY", "PILE_SHOWN", "CrazyEights", "Move", "Put", "Take", "hand_points",
           "penalty"]

#: How many cards of the pile a view shows (top card last).
PILE_SHOWN = 5

# Hands are shown sorted by suit, then rank: the order of FULL_DECK.
_DISPLAY_ORDER = Card.index.fget

#: At most this many cards outside the hands (deck and pile) make a jam (see `_bot_move`).
_JAM_FREE_CARDS = 4


# Moves ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Take:
    """Take the top card of the deck into your hand.

    >>> CrazyEights.move_to_json(Take())
    {'type': 'take'}
    """


@dataclass(frozen=True)
class Put:
    """Put `card` from your hand onto the pile; with an eight, `suit` names the suit to follow.

    >>> CrazyEights.move_to_json(Put(Card.from_str("8S"), Suit.HEARTS))
    {'type': 'put', 'card': '8S', 'suit': 'H'}
    >>> CrazyEights.parse_move({"type": "put", "card": "QH"})
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


def _reject_extra_keys(data: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(str(key) for key in data if key not in allowed)
    if extra:
        raise BadMove(f"unexpected field {', '.join(map(repr, extra))} in a {data['type']} move")


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


def _article(rank: Rank) -> str:
    return "an" if rank in (Rank.EIGHT, Rank.ACE) else "a"


# The game ------------------------------------------------------------------------------------


class CrazyEights(Game):
    """One game of Crazy Eights.

    Players are numbered ``0 .. players - 1``. The deal gives 7 cards each to 2 players, else 5,
    one at a time starting with the player after the dealer, who also has the first turn.

    Raises:
        ValueError: (constructor) on a player count outside 2-7 or a dealer who is not a player.
    """

    name = "crazy_eights"
    title = "Crazy Eights"
    MIN_PLAYERS = 2
    MAX_PLAYERS = 7
    DEFAULT_SEATS = 4
    MOVE_MESSAGES = ("take", "put")

    def __init__(self, players: int, seed: int, dealer: int = 0) -> None:
        self._check_setup(players, dealer)
        self._players = players
        self._dealer = dealer
        self._rng = random.Random(seed)
        deck = list(FULL_DECK)
        self._rng.shuffle(deck)
        self._shuffled = tuple(deck)
        # The deck's top card is the end of the list.
        self._deck: list[Card] = deck
        self._hands: list[list[Card]] = [[] for _ in range(players)]
        hand_size = 7 if players == 2 else 5
        for _ in range(hand_size):
            for offset in range(1, players + 1):
                self._hands[(dealer + offset) % players].append(self._deck.pop())
        starter = self._deck.pop()
        # An eight turned up as starter is buried in the deck and another card turned.
        while starter.rank == Rank.EIGHT:
            self._deck.insert(self._rng.randrange(len(self._deck)), starter)
            starter = self._deck.pop()
        self._pile: list[Card] = [starter]
        self._suit = starter.suit
        self._turn = (dealer + 1) % players
        self._outcome: Outcome | None = None
        self._final_hands: tuple[tuple[Card, ...], ...] = ()

    @classmethod
    def from_position(
        cls,
        hands: Sequence[Iterable[Card]],
        pile: Sequence[Card],
        deck: Sequence[Card],
        turn: int,
        *,
        suit: Suit | None = None,
        dealer: int = 0,
        seed: int = 0,
    ) -> CrazyEights:
        """A game set up in a given position, for tests and for studying crafted positions.

        Normal games are dealt by the constructor. `pile` lists the pile with its top card last,
        `deck` the deck with its top card (the next one taken) last; `suit` is the suit to follow
        (default: the top card's suit; an eight on top may have named another). The cards need
        not make a full pack but must all be different. Later reshuffles use
        `random.Random(seed)`.

        Raises:
            ValueError: if the position cannot occur: bad counts, repeated cards, an empty hand
                or pile, a deck that is empty while the pile could be reshuffled, a suit other
                than the top card's without an eight on top, or a player to move who could not.
        """
        players = len(hands)
        cls._check_setup(players, dealer)
        game = cls.__new__(cls)
        game._players = players
        game._dealer = dealer
        game._rng = random.Random(seed)
        game._hands = [list(hand) for hand in hands]
        game._pile = list(pile)
        game._deck = list(deck)
        game._shuffled = ()  # not dealt from a shuffled pack
        game._outcome = None
        game._final_hands = ()
        if not game._pile:
            raise ValueError("the pile needs a top card")
        all_cards = [*game._pile, *game._deck, *(card for hand in game._hands for card in hand)]
        if len(set(all_cards)) != len(all_cards):
            raise ValueError("a card appears more than once")
        if not all(game._hands):
            raise ValueError("every player needs at least one card while the game runs")
        if not game._deck and len(game._pile) > 1:
            raise ValueError("the deck is empty: the pile below its top card must be reshuffled")
        top = game._pile[-1]
        if suit is not None and suit != top.suit and top.rank != Rank.EIGHT:
            raise ValueError(f"only an eight can name a suit, and the top card is {top}")
        game._suit = suit if suit is not None else top.suit
        if not 0 <= turn < players:
            raise ValueError(f"turn {turn} is not a player of a {players}-player game")
        game._turn = turn
        if not game.legal_moves(turn):
            raise ValueError(f"player {turn} has the turn but cannot move")
        return game

    @classmethod
    def _check_setup(cls, players: int, dealer: int) -> None:
        if not is_index(players, cls.MAX_PLAYERS + 1) or players < cls.MIN_PLAYERS:
            low, high = cls.MIN_PLAYERS, cls.MAX_PLAYERS
            raise ValueError(f"Crazy Eights needs {low} to {high} players, not {players!r}")
        if not is_index(dealer, players):
            raise ValueError(f"dealer {dealer!r} is not a player of a {players}-player game")

    # Moves on the wire -------------------------------------------------------------------------

    @classmethod
    def parse_move(cls, data: Mapping[str, Any]) -> Move:
        """The move that `move_to_json` turned into `data`.

        A ``"suit"`` of ``None`` counts as no suit. Whether the move is legal is not checked here.

        Raises:
            BadMove: if `data` is not such a dict (unknown type, unknown keys, bad card or suit).
        """
        if not isinstance(data, Mapping):
            raise BadMove(f"a move must be an object, not {type(data).__name__}")
        kind = data.get("type")
        if kind == "take":
            # Protocol 1 allowed a take to say where from; the deck is the only place.
            _reject_extra_keys(data, {"type", "from"})
            if data.get("from", "deck") != "deck":
                raise BadMove(f"a take is from the deck, not {data['from']!r}")
            return Take()
        if kind == "put":
            _reject_extra_keys(data, {"type", "card", "suit"})
            if "card" not in data:
                raise BadMove("a put needs a card, e.g. 'QH'")
            try:
                card = Card.from_str(data["card"])
                suit_text = data.get("suit")
                suit = None if suit_text is None else Suit.from_char(suit_text)
            except ValueError as error:
                raise BadMove(str(error)) from None
            return Put(card, suit)
        raise BadMove(f"unknown move type {kind!r}: expected 'take' or 'put'")

    @classmethod
    def move_to_json(cls, move: Move) -> dict[str, str]:
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

    # Questions ---------------------------------------------------------------------------------

    @property
    def players(self) -> int:
        """The number of players."""
        return self._players

    @property
    def dealer(self) -> int:
        """The player who dealt."""
        return self._dealer

    @property
    def turn(self) -> int:
        """The player whose turn it is (after the end: the player who moved last)."""
        return self._turn

    def to_act(self) -> frozenset[int]:
        """The player whose turn it is; nobody once the game is over."""
        return frozenset() if self._outcome is not None else frozenset((self._turn,))

    @property
    def suit(self) -> Suit:
        """The suit to follow: the top card's, or the one named with an eight."""
        return self._suit

    @property
    def top(self) -> Card:
        """The top card of the pile."""
        return self._pile[-1]

    @property
    def pile(self) -> tuple[Card, ...]:
        """The pile, top card last."""
        return tuple(self._pile)

    def deck_order(self) -> tuple[Card, ...]:
        """The pack as shuffled for the deal: its end is dealt first, one card at a time
        starting left of the dealer, then the next card is turned up as the starter (an eight
        turned up is buried at a place the game's generator picks)."""
        return self._shuffled

    @property
    def deck_size(self) -> int:
        """How many cards the deck holds."""
        return len(self._deck)

    def hand(self, player: int) -> tuple[Card, ...]:
        """The cards `player` holds, sorted for display: by suit, then rank.

        Raises:
            ValueError: if `player` is not a player of this game.
        """
        self._check_player(player)
        return tuple(sorted(self._hands[player], key=_DISPLAY_ORDER))

    def card_counts(self) -> tuple[int, ...]:
        """How many cards each player holds."""
        return tuple(len(hand) for hand in self._hands)

    @property
    def is_finished(self) -> bool:
        """True once the game is over."""
        return self._outcome is not None

    def outcome(self) -> Outcome | None:
        """How the game ended, or None while it runs. `detail` says whether it was blocked."""
        return self._outcome

    def final_hands(self) -> tuple[tuple[Card, ...], ...]:
        """Each player's cards at the end (empty while the game runs)."""
        return self._final_hands

    def legal_moves(self, player: int) -> list[Move]:
        """The moves `player` may make now: each playable card (an eight once per suit it can
        name), then `Take` if the deck has a card. Empty when it is not `player`'s turn or the
        game is over.

        Raises:
            ValueError: if `player` is not a player of this game.
        """
        self._check_player(player)
        if self._outcome is not None or player != self._turn:
            return []
        moves: list[Move] = []
        for card in sorted(self._hands[player], key=_DISPLAY_ORDER):
            if card.rank == Rank.EIGHT:
                moves.extend(Put(card, suit) for suit in Suit)
            elif self._matches(card):
                moves.append(Put(card))
        if self._deck:
            moves.append(Take())
        return moves

    def _check(self, player: int, move: Move) -> None:
        """Raise what `apply(player, move)` would raise; change nothing.

        Raises:
            GameFinished: the game is over.
            NotYourTurn: it is another player's turn.
            NotInHand: `move` puts a card that `player` does not hold.
            IllegalMove: the card matches neither the suit to follow nor the top card's rank; an
                eight without a suit to name; a suit named with a card that is not an eight; a
                take with an empty deck.
            ValueError: if `player` is not a player of this game.
            TypeError: if `move` is not a `Take` or a `Put`.
        """
        self._check_player(player)
        if not isinstance(move, (Take, Put)):
            raise TypeError(f"not a move: {move!r}")
        if self._outcome is not None:
            raise GameFinished("the game is over")
        if player != self._turn:
            raise NotYourTurn("it is not your turn")
        if isinstance(move, Take):
            # With the reshuffle rule the deck is only empty when the pile is just its top card.
            if not self._deck:
                raise IllegalMove("cannot take: the deck is empty")
            return
        card = move.card
        if card not in self._hands[player]:
            raise NotInHand(f"you do not hold {card}")
        if card.rank == Rank.EIGHT:
            # Eights are wild: whoever puts one names the suit to follow.
            if move.suit is None:
                raise IllegalMove(f"putting {card} needs a suit to name")
            return
        if move.suit is not None:
            raise IllegalMove(
                f"only an eight names a suit: cannot put {card} naming {move.suit.name.lower()}"
            )
        if not self._matches(card):
            top = self.top
            named = "" if self._suit == top.suit else f" ({self._suit.name.lower()} named)"
            raise IllegalMove(
                f"cannot put {card} on {top}{named}: follow {self._suit.name.lower()}"
                f" or play {_article(top.rank)} {top.rank.name.lower()}"
            )

    # Moves -------------------------------------------------------------------------------------

    def apply(self, player: int, move: Move) -> Step:
        """Check the move (see `_check`), then make it and return what happened.

        After the move, turns of players who cannot put and have nothing to take pass by
        themselves, and a game where no one can move ends (blocked); the event reports both
        (``passes``; the outcome's ``detail["blocked"]``).

        Raises:
            RulesError: as `_check`; the game is then unchanged.
        """
        self._check(player, move)
        if isinstance(move, Take):
            card = self._deck.pop()
            self._hands[player].append(card)
            reshuffled = self._reshuffle_if_needed()
            # The turn stays with the player who took: they may take again or put.
            passes = self._settle(player)
            event: dict[str, Any] = {"type": "take"}
            if reshuffled:
                event["reshuffled"] = True
            # A take of the last card can leave the taker with no move at all: turns pass too.
            if passes:
                event["passes"] = list(passes)
            # Only the taker learns which card it was.
            return Step(player, move, event, {player: {**event, "card": str(card)}},
                        outcome=self._outcome)

        card = move.card
        self._hands[player].remove(card)
        self._pile.append(card)
        self._suit = move.suit if card.rank == Rank.EIGHT and move.suit is not None else card.suit
        event = {"type": "put", "card": str(card)}
        if move.suit is not None:
            event["suit"] = move.suit.value
        if not self._hands[player]:
            # The first player to empty the hand wins the others' penalty points.
            scores = [0] * self._players
            scores[player] = sum(hand_points(hand) for hand in self._hands)
            self._end(player, scores, blocked=False)
            return Step(player, move, event, outcome=self._outcome)
        self._reshuffle_if_needed()
        passes = self._settle((player + 1) % self._players)
        if passes:
            event["passes"] = list(passes)
        return Step(player, move, event, outcome=self._outcome)

    def _matches(self, card: Card) -> bool:
        return (
            card.rank == Rank.EIGHT or card.suit == self._suit or card.rank == self._pile[-1].rank
        )

    def _can_move(self, player: int) -> bool:
        return bool(self._deck) or any(self._matches(card) for card in self._hands[player])

    def _reshuffle_if_needed(self) -> bool:
        """As soon as the deck is empty, shuffle the pile except its top card into a new deck."""
        if self._deck or len(self._pile) < 2:
            return False
        self._deck = self._pile[:-1]
        del self._pile[:-1]
        self._rng.shuffle(self._deck)
        return True

    def _settle(self, player: int) -> tuple[int, ...]:
        """Give the turn to `player`, passing it on while the player to move cannot move.

        Returns the players whose turns passed. Ends the game when no one can move.
        """
        if not any(self._can_move(p) for p in range(self._players)):
            self._end_blocked()
            return ()
        passes = []
        while not self._can_move(player):
            passes.append(player)
            player = (player + 1) % self._players
        self._turn = player
        return tuple(passes)

    def _end_blocked(self) -> None:
        """No one can play and nothing can be taken: the fewest penalty points win, scoring the
        difference to each other player; ties go to the earlier player after the dealer."""
        points = [hand_points(hand) for hand in self._hands]
        order = [(self._dealer + offset) % self._players for offset in range(1, self._players + 1)]
        winner = min(order, key=lambda p: points[p])  # min() keeps the first of equals.
        scores = [0] * self._players
        scores[winner] = sum(points[p] - points[winner] for p in range(self._players))
        self._end(winner, scores, blocked=True)

    def _end(self, winner: int, scores: list[int], *, blocked: bool) -> None:
        # The turn stays with the player who made the last move.
        self._final_hands = tuple(self.hand(p) for p in range(self._players))
        self._outcome = Outcome(winner=winner, scores=tuple(scores),
                                detail={"blocked": blocked})

    # Views -------------------------------------------------------------------------------------

    def view_for(self, player: int | None) -> dict[str, Any]:
        """What `player` may see, as a JSON-ready dict; None is a spectator.

        Keys: ``hand`` (only for a player: their own cards), ``cards`` (counts by player),
        ``pile`` (up to `PILE_SHOWN` cards, top card last), ``deck`` (count), ``turn``, ``suit``;
        once finished also ``winner``, ``scores``, ``hands`` (by player) and ``blocked``. While
        the game runs the view never holds another player's cards, the seed or the deck order.

        Raises:
            ValueError: if `player` is neither None nor a player of this game.
        """
        view: dict[str, Any] = {}
        if player is not None:
            view["hand"] = [str(card) for card in self.hand(player)]
        view["cards"] = list(self.card_counts())
        view["pile"] = [str(card) for card in self._pile[-PILE_SHOWN:]]
        view["deck"] = len(self._deck)
        view["turn"] = self._turn
        view["suit"] = self._suit.value
        if self._outcome is not None:
            view["winner"] = self._outcome.winner
            view["scores"] = list(self._outcome.scores)
            view["hands"] = [[str(card) for card in hand] for hand in self._final_hands]
            view["blocked"] = self._outcome.detail["blocked"]
        return view

    def revealed_view(self) -> dict[str, Any]:
        """The spectator's view plus every hand and the deck, top card last."""
        view = self.view_for(None)
        view["hands"] = [[str(card) for card in self.hand(p)] for p in range(self._players)]
        view["deck_cards"] = [str(card) for card in self._deck]
        return view

    def _check_player(self, player: int) -> None:
        if not is_index(player, self._players):
            raise ValueError(f"{player!r} is not a player of this {self._players}-player game")

    # The bot -----------------------------------------------------------------------------------

    def bot_move(self, player: int) -> Move:
        """A legal move for `player`, deterministic, from what that player can see (the hand,
        the top card, the suit to follow, whether the deck has cards).

        Strategy: put a matching card that is not an eight if there is one, shedding the most
        penalty points first and, among equals, moving to the suit the hand holds most. Eights
        are wild and worth 50 points in hand, but are kept as a last resort; one is put naming
        the suit the hand holds most. With nothing to put, take.

        Raises:
            GameFinished: the game is over.
            NotYourTurn: it is another player's turn.
        """
        if self.is_finished:
            raise GameFinished("the game is over")
        if player != self._turn:
            raise NotYourTurn("it is not your turn")
        moves = self.legal_moves(player)
        hand = self.hand(player)
        # Eights are wild, so they do not count towards the suit the hand is long in.
        suit_counts = Counter(card.suit for card in hand if card.rank != Rank.EIGHT)
        puts = [move for move in moves if isinstance(move, Put)]

        plain = [move for move in puts if move.card.rank != Rank.EIGHT]
        if plain:
            return max(
                plain,
                key=lambda move: (penalty(move.card), suit_counts[move.card.suit], move.card),
            )

        eights = sorted({move.card for move in puts})
        if eights:
            eight = eights[0]
            if sum(self.card_counts()) >= len(FULL_DECK) - _JAM_FREE_CARDS:
                # A jam: nearly every card is in a hand and only eights go round, taken and put
                # again. Naming the longest suit would repeat the same failed names forever, so
                # the eight keeps its own suit, which the game's reshuffles vary.
                return Put(eight, eight.suit)
            # max() keeps the first of equals; prefer the current suit, then the fixed order.
            suit = max(Suit, key=lambda s: (suit_counts[s], s == self._suit))
            return Put(eight, suit)

        # The game never waits on a player who cannot move, so Take is legal here.
        return Take()

    @classmethod
    def move_from_view(cls, view: Mapping[str, Any]) -> dict[str, Any] | None:
        """A matching card that is not an eight, else an eight naming the suit held most,
        else take (the caller asks when the player may act: `table.to_act`); None for a
        spectator's view or once the game is over."""
        hand = view.get("hand")
        if hand is None or "winner" in view:
            return None
        top, suit = view["pile"][-1], view["suit"]
        plain = [card for card in hand if card[0] != "8" and (card[1] == suit or card[0] == top[0])]
        if plain:
            return {"type": "put", "card": plain[0]}
        eights = [card for card in hand if card[0] == "8"]
        if eights:
            suits = [card[1] for card in hand if card[0] != "8"] or ["S"]
            suit = max(sorted(set(suits)), key=suits.count)  # ties: the same every run
            return {"type": "put", "card": eights[0], "suit": suit}
        return {"type": "take"}

    def __repr__(self) -> str:
        state = "finished" if self._outcome else f"turn={self._turn}"
        return (
            f"<CrazyEights players={self._players} dealer={self._dealer} top={self.top}"
            f" suit={self._suit.value} deck={len(self._deck)} {state}>"
        )
