"""Property tests: whole games with random legal moves or bots, 2 to 7 players.

Every game must finish within a bounded number of moves, never lose or duplicate a card (deck +
pile + hands are always the 52 cards), keep its bookkeeping consistent, and be reproduced
exactly by `CrazyEights.replay` from its seed and moves.
"""

import copy
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from game_server.rules import FULL_DECK, Card, CrazyEights, Rank, RulesError, Step, Suit
from game_server.rules.crazy_eights import Put, Take, hand_points

# Uniformly random play can take many cards; measured over thousands of games, random play
# ended within about 7,000 moves and bots within about 1,100.
MAX_RANDOM_MOVES = 20_000
MAX_BOT_MOVES = 3_000

players = st.integers(CrazyEights.MIN_PLAYERS, CrazyEights.MAX_PLAYERS)
seeds = st.integers(0, 2**64 - 1)
ALL_CARDS = set(FULL_DECK)
SLOW_OK = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def new_game(data, n, seed) -> CrazyEights:
    return CrazyEights(n, seed, dealer=data.draw(st.integers(0, n - 1), label="dealer"))


def check_invariants(game: CrazyEights) -> None:
    hands = [game.hand(p) for p in range(game.players)]
    # The deck's order is hidden by the public API, so the test reads it directly.
    deck = list(game._deck)
    everything = [*(card for hand in hands for card in hand), *game.pile, *deck]
    assert len(everything) == 52 and set(everything) == ALL_CARDS
    assert game.deck_size == len(deck)
    assert list(game.card_counts()) == [len(hand) for hand in hands]
    assert game.pile and game.top == game.pile[-1]
    # The pile is reshuffled as soon as the deck is empty.
    assert game.deck_size > 0 or len(game.pile) == 1
    if game.top.rank != Rank.EIGHT:
        assert game.suit == game.top.suit
    others = [p for p in range(game.players) if p != game.turn]
    assert all(game.legal_moves(p) == [] for p in others)
    outcome = game.outcome()
    if outcome is None:
        # Never a state waiting on a player who cannot move.
        assert game.legal_moves(game.turn)
        assert all(hands)
        return
    assert game.legal_moves(game.turn) == []
    assert game.final_hands() == tuple(hands)
    points = [hand_points(hand) for hand in hands]
    scores = [0] * game.players
    assert set(outcome.detail) == {"blocked"}
    if outcome.detail["blocked"]:
        assert points[outcome.winner] == min(points)
        scores[outcome.winner] = sum(points) - game.players * min(points)
        assert game.deck_size == 0
        assert not any(m for p in range(game.players) for m in _puts_possible(game, p))
    else:
        assert hands[outcome.winner] == ()
        scores[outcome.winner] = sum(points)
    assert list(outcome.scores) == scores


def _puts_possible(game: CrazyEights, player: int):
    for card in game.hand(player):
        if card.rank == Rank.EIGHT or card.suit == game.suit or card.rank == game.top.rank:
            yield card


def play(game: CrazyEights, player: int, move) -> Step:
    """Apply a move and check that its Step tells what happened."""
    before_deck, before_pile = game.deck_size, len(game.pile)
    assert move in game.legal_moves(player)
    step = game.apply(player, move)
    assert (step.player, step.move) == (player, move)
    assert step.outcome == game.outcome()
    assert step.event_for(None) == step.event
    n = game.players
    passes = tuple(step.event.get("passes", ()))
    if isinstance(move, Put):
        assert step.private == {}  # a put is public
        assert Card.from_str(step.event["card"]) == move.card == game.top
        assert step.event.get("suit") == (move.suit.value if move.suit else None)
        assert passes == ()  # after a put the next player can always take
        # A put's event never says "reshuffled"; the pile shows it.
        assert "reshuffled" not in step.event
        if step.outcome is None:
            assert (len(game.pile) == 1) == (before_deck == 0)
            assert game.turn == (player + 1) % n
    else:
        # Only the taker learns the card.
        assert "card" not in step.event
        assert set(step.private) == {player}
        assert step.private[player] == {**step.event, "card": step.private[player]["card"]}
        assert Card.from_str(step.private[player]["card"]) in game.hand(player)
        reshuffled = step.event.get("reshuffled", False)
        assert reshuffled == (before_deck == 1 and before_pile > 1)
        if reshuffled:
            assert len(game.pile) == 1
        if passes:
            assert passes[0] == player
            assert list(passes) == [(player + i) % n for i in range(len(passes))]
            assert len(passes) < n
            assert game.turn == (passes[-1] + 1) % n
        elif step.outcome is None:
            assert game.turn == player
    check_invariants(game)
    return step


def assert_same_game(a: CrazyEights, b: CrazyEights) -> None:
    """Same views for everyone, and the same future: identical steps played out to the end
    (which also compares the hidden deck order and the rng used for reshuffles)."""
    assert (a.players, a.dealer, a.pile) == (b.players, b.dealer, b.pile)
    for player in [None, *range(a.players)]:
        assert a.view_for(player) == b.view_for(player)
    for _ in range(MAX_BOT_MOVES):
        if a.is_finished:
            break
        move = a.bot_move(a.turn)
        assert a.apply(a.turn, move) == b.apply(b.turn, move)
    assert a.is_finished and b.is_finished
    assert a.outcome() == b.outcome()


@settings(SLOW_OK, max_examples=20)
@given(players, seeds, st.data())
def test_random_legal_playouts_finish_conserve_cards_and_replay(n, seed, data):
    game = new_game(data, n, seed)
    check_invariants(game)
    cut = data.draw(st.integers(0, 200), label="replay after move")
    moves, snapshot = [], None
    while not game.is_finished:
        assert len(moves) < MAX_RANDOM_MOVES
        if len(moves) == cut:
            snapshot = copy.deepcopy(game)
        player = game.turn
        move = data.draw(st.sampled_from(game.legal_moves(player)))
        play(game, player, move)
        moves.append((player, move))
    replayed = CrazyEights.replay(n, seed, game.dealer, moves)
    for player in [None, *range(n)]:
        assert replayed.view_for(player) == game.view_for(player)
    assert replayed.outcome() == game.outcome()
    if snapshot is not None:
        assert_same_game(CrazyEights.replay(n, seed, game.dealer, moves[:cut]), snapshot)


@settings(SLOW_OK, max_examples=50)
@given(players, seeds, st.integers(0, 2**32 - 1), st.data())
def test_many_random_playouts_finish_and_conserve_cards(n, seed, chooser_seed, data):
    # Cheaper than drawing each move from hypothesis, so more games: moves come from a
    # random.Random seeded by hypothesis.
    game = new_game(data, n, seed)
    chooser = random.Random(chooser_seed)
    moves = 0
    while not game.is_finished:
        assert moves < MAX_RANDOM_MOVES
        play(game, game.turn, chooser.choice(game.legal_moves(game.turn)))
        moves += 1


@settings(SLOW_OK, max_examples=100)
@given(players, seeds, st.data())
def test_bot_playouts_finish_conserve_cards_and_replay(n, seed, data):
    game = new_game(data, n, seed)
    cut = data.draw(st.integers(0, 300), label="replay after move")
    moves, snapshot = [], None
    while not game.is_finished:
        assert len(moves) < MAX_BOT_MOVES
        if len(moves) == cut:
            snapshot = copy.deepcopy(game)
        player = game.turn
        move = game.bot_move(player)
        play(game, player, move)
        moves.append((player, move))
    if snapshot is not None:
        assert_same_game(CrazyEights.replay(n, seed, game.dealer, moves[:cut]), snapshot)


@settings(SLOW_OK, max_examples=40)
@given(players, seeds, st.data())
def test_apply_agrees_with_legal_moves_and_refused_moves_change_nothing(n, seed, data):
    game = new_game(data, n, seed)
    chooser = random.Random(seed)
    for _ in range(data.draw(st.integers(0, 150), label="moves first")):
        if game.is_finished:
            break
        game.apply(game.turn, chooser.choice(game.legal_moves(game.turn)))
    before = copy.deepcopy(game)
    player = data.draw(st.just(game.turn) | st.integers(0, n - 1), label="player")
    hand = game.hand(player)
    cards = st.sampled_from(FULL_DECK)
    if hand:
        cards |= st.sampled_from(hand)
    move = data.draw(st.just(Take()) | st.builds(Put, cards, st.none() | st.sampled_from(Suit)))
    if move in game.legal_moves(player):
        copy.deepcopy(game).apply(player, move)  # accepted (on a copy)
    else:
        with pytest.raises(RulesError):
            game.apply(player, move)
    assert_same_game(game, before)
