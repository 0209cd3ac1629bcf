"""A simple, deterministic Crazy Eights strategy for server-side bots.

`choose_move` looks only at what the bot's own player could see (its hand, the top card, the
suit to follow, whether the deck has cards) and uses no randomness, so a bot's game replays
exactly like any other.

Part of the pure rules layer: this module imports nothing outside the standard library, does no
I/O, reads no clock and never uses the global `random` module.
"""

from __future__ import annotations

from collections import Counter

from .cards import FULL_DECK, Rank, Suit
from .crazy_eights import CrazyEights
from .game import GameFinished, Move, NotYourTurn, Put, Take, penalty

__all__ = ["choose_move"]

#: At most this many cards outside the hands (deck and pile) make a jam.
_JAM_FREE_CARDS = 4


def choose_move(game: CrazyEights, player: int) -> Move:
    """A legal move for `player`.

    Strategy: put a matching card that is not an eight if there is one, shedding the most penalty
    points first and, among equals, moving to the suit the hand holds most. Eights are wild and
    worth 50 points in hand, but are kept as a last resort; one is put naming the suit the hand
    holds most. With nothing to put, take.

    Raises:
        GameFinished: the game is over.
        NotYourTurn: it is another player's turn.
    """
    if game.is_finished:
        raise GameFinished("the game is over")
    if player != game.turn:
        raise NotYourTurn(f"it is not your turn: player {game.turn} is to move")
    moves = game.legal_moves(player)
    hand = game.hand(player)
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
        if sum(game.card_counts()) >= len(FULL_DECK) - _JAM_FREE_CARDS:
            # A jam: nearly every card is in a hand and only eights go round, taken and put
            # again. Naming the longest suit would repeat the same failed names forever, so
            # the eight keeps its own suit, which the game's reshuffles vary.
            return Put(eight, eight.suit)
        # max() keeps the first of equals; prefer the current suit, then the fixed suit order.
        suit = max(Suit, key=lambda s: (suit_counts[s], s == game.suit))
        return Put(eight, suit)

    # The game never waits on a player who cannot move, so Take is legal here.
    return Take()
