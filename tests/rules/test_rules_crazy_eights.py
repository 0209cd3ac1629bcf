"""Crazy Eights rules, one at a time, mostly from crafted mid-game positions."""

import copy
import json
import random

import pytest

from game_server.rules import (
    FULL_DECK,
    Card,
    CrazyEights,
    GameFinished,
    IllegalMove,
    NotInHand,
    NotYourTurn,
    Outcome,
    Rank,
    Step,
    Suit,
)
from game_server.rules.crazy_eights import PILE_SHOWN, Put, Take, hand_points


def cards(text: str) -> list[Card]:
    return [Card.from_str(code) for code in text.split()]


def card(code: str) -> Card:
    return Card.from_str(code)


def position(hands, pile, deck="", turn=0, **kwargs) -> CrazyEights:
    """A crafted position: hands and piles as card codes; pile and deck with their top last."""
    return CrazyEights.from_position(
        [cards(hand) for hand in hands], cards(pile), cards(deck), turn, **kwargs
    )


def state_of(game: CrazyEights):
    """Everything a game holds, including the private deck order and rng state."""
    views = [game.view_for(p) for p in [None, *range(game.players)]]
    return views, game.pile, list(game._deck), game._rng.getstate(), game.outcome()


def expected_deal(players: int, seed: int, dealer: int):
    """The deal the rules promise, rebuilt from `random.Random(seed)`: a shuffle of FULL_DECK,
    cards dealt one at a time from the top (the end of the list) starting after the dealer."""
    deck = list(FULL_DECK)
    random.Random(seed).shuffle(deck)
    hands = [[] for _ in range(players)]
    for _ in range(7 if players == 2 else 5):
        for offset in range(1, players + 1):
            hands[(dealer + offset) % players].append(deck.pop())
    return hands, deck


def display(hand):
    return tuple(sorted(hand, key=lambda c: (c.suit, c.rank)))


def taken(step: Step) -> Card:
    """The card a take drew: only the taker's private event names it."""
    assert "card" not in step.event  # nobody else learns it
    return Card.from_str(step.private[step.player]["card"])


def passes(step: Step) -> tuple[int, ...]:
    return tuple(step.event.get("passes", ()))


def reshuffled(step: Step) -> bool:
    return step.event.get("reshuffled", False)


def refused(game: CrazyEights, player, move, error=Exception, match=None):
    """Assert that `apply` refuses the move with `error` and changes nothing (`check` is gone:
    `apply` checks first)."""
    before = state_of(game)
    with pytest.raises(error, match=match) as excinfo:
        game.apply(player, move)
    assert state_of(game) == before
    return excinfo.value


def allowed(game: CrazyEights, player, move) -> Step:
    """Assert that `apply` accepts the move, on a copy: the game itself does not change."""
    return copy.deepcopy(game).apply(player, move)


# The deal ------------------------------------------------------------------------------------


@pytest.mark.parametrize("players", range(2, 8))
def test_deal_sizes_first_turn_and_starter(players):
    for dealer in range(players):
        game = CrazyEights(players, seed=100 + dealer, dealer=dealer)
        size = 7 if players == 2 else 5
        assert game.card_counts() == (size,) * players
        assert game.deck_size == 52 - size * players - 1
        assert len(game.pile) == 1
        assert game.top.rank != Rank.EIGHT
        assert game.suit == game.top.suit
        assert game.dealer == dealer
        assert game.players == players
        assert game.turn == (dealer + 1) % players
        assert not game.is_finished and game.outcome() is None


@pytest.mark.parametrize("players", [2, 3, 7])
def test_deal_goes_round_from_the_player_after_the_dealer(players):
    for seed in range(20):
        dealer = seed % players
        hands, deck = expected_deal(players, seed, dealer)
        if deck[-1].rank == Rank.EIGHT:
            continue
        game = CrazyEights(players, seed, dealer)
        assert [game.hand(p) for p in range(players)] == [display(hand) for hand in hands]
        assert game.top == deck[-1]


def test_deal_is_deterministic_given_the_seed():
    first, second = CrazyEights(4, seed=7), CrazyEights(4, seed=7)
    assert state_of(first) == state_of(second)
    assert state_of(CrazyEights(4, seed=8))[0] != state_of(first)[0]


@pytest.mark.parametrize("players", range(2, 8))
def test_an_eight_turned_up_as_starter_is_buried_in_the_deck(players):
    seeds = [seed for seed in range(2000) if expected_deal(players, seed, 0)[1][-1].rank == 8]
    assert seeds, "no seed turns up an eight"
    double = [seed for seed in seeds if expected_deal(players, seed, 0)[1][-2].rank == 8]
    for seed in seeds[:5] + double[:2]:
        hands, deck = expected_deal(players, seed, 0)
        eight = deck[-1]
        game = CrazyEights(players, seed)
        assert game.top.rank != Rank.EIGHT
        assert game.pile == (game.top,)
        assert game.deck_size == len(deck) - 1
        held = {c for p in range(players) for c in game.hand(p)}
        assert eight not in held and eight != game.top  # so it is in the deck
        assert [game.hand(p) for p in range(players)] == [display(hand) for hand in hands]
    assert double, "no seed turns up two eights in a row"


@pytest.mark.parametrize(
    "players, dealer",
    [(1, 0), (8, 0), (0, 0), (-2, 0), (2, 2), (3, -1), (3, 3), ("3", 0), (3, "0"), (3, None)],
)
def test_bad_player_counts_and_dealers(players, dealer):
    with pytest.raises(ValueError):
        CrazyEights(players, seed=1, dealer=dealer)


# Putting cards -------------------------------------------------------------------------------


def test_legal_moves_match_suit_or_rank_eights_once_per_suit_then_take():
    game = position(["2D 7H QC 8S", "3C 4C"], "9S QH", "5D 6D")
    assert game.legal_moves(0) == [
        Put(card("QC")),
        Put(card("7H")),
        *(Put(card("8S"), suit) for suit in Suit),
        Take(),
    ]
    assert game.legal_moves(1) == []


@pytest.mark.parametrize("code", ["7H", "QC", "AH", "QS"])
def test_put_a_card_matching_suit_or_rank(code):
    game = position([f"{code} 2C 3C", "4C 5C"], "QH", "6D")
    step = game.apply(0, Put(card(code)))
    assert step == Step(0, Put(card(code)), {"type": "put", "card": code})
    assert game.top == card(code)
    assert game.suit == card(code).suit
    assert game.pile == (card("QH"), card(code))
    assert game.hand(0) == tuple(cards("2C 3C"))
    assert game.turn == 1


def test_a_card_that_matches_neither_suit_nor_rank_is_illegal():
    game = position(["7C 2D", "4C 5C"], "QH", "6D")
    refused(game, 0, Put(card("7C")), IllegalMove,
            r"^cannot put 7C on QH: follow hearts or play a queen$")


def test_an_eight_is_wild_and_names_the_suit_to_follow():
    game = position(["8C 2D", "3H 4D 9S", "KS KH"], "QH", "6D")
    step = game.apply(0, Put(card("8C"), Suit.SPADES))
    assert step.event == {"type": "put", "card": "8C", "suit": "S"}
    assert (game.top, game.suit, game.turn) == (card("8C"), Suit.SPADES, 1)
    assert game.view_for(None)["suit"] == "S"
    # The suit named, not the eight's own suit, is followed.
    assert game.legal_moves(1) == [Put(card("9S")), Take()]
    refused(game, 1, Put(card("3H")), IllegalMove,
            r"^cannot put 3H on 8C \(spades named\): follow spades")
    refused(game, 1, Put(card("4D")), IllegalMove)


def test_an_eight_may_name_its_own_suit_and_go_on_an_eight():
    game = position(["8C 2D", "8H 4D"], "8S", "6D", suit=Suit.DIAMONDS)
    assert game.suit == Suit.DIAMONDS
    game.apply(0, Put(card("8C"), Suit.CLUBS))
    assert game.suit == Suit.CLUBS
    game.apply(1, Put(card("8H"), Suit.HEARTS))
    assert game.suit == Suit.HEARTS


def test_an_eight_needs_a_suit_and_only_an_eight_names_one():
    game = position(["8C QH 2D", "3H"], "QS", "6D")
    refused(game, 0, Put(card("8C")), IllegalMove, "8C needs a suit")
    refused(game, 0, Put(card("QH"), Suit.HEARTS), IllegalMove, "only an eight names a suit")


# Taking cards --------------------------------------------------------------------------------


def test_take_draws_the_top_of_the_deck_and_keeps_the_turn():
    game = position(["2D 3D", "4C 5C"], "JH QH", "QS 6D 7S")
    step = game.apply(0, Take())
    assert step == Step(0, Take(), {"type": "take"}, {0: {"type": "take", "card": "7S"}})
    assert step.event_for(0)["card"] == "7S"
    assert "card" not in step.event_for(1) and "card" not in step.event_for(None)
    assert step.full() == {"type": "take", "card": "7S"}
    assert game.hand(0) == tuple(cards("2D 3D 7S"))
    assert (game.turn, game.deck_size) == (0, 2)
    assert game.legal_moves(0) == [Take()]
    assert taken(game.apply(0, Take())) == card("6D")
    assert game.turn == 0
    step = game.apply(0, Take())
    assert taken(step) == card("QS") and game.turn == 0
    # The player may take again even when they could put.
    assert game.legal_moves(0) == [Put(card("QS")), Take()]


def test_taking_the_last_card_reshuffles_the_pile_below_its_top_into_the_deck():
    game = position(["2D 3D", "4C 5C"], "9H TH JH QH", "6D", seed=3)
    step = game.apply(0, Take())
    assert taken(step) == card("6D") and reshuffled(step)
    assert step.event == {"type": "take", "reshuffled": True}
    assert game.pile == (card("QH"),)
    assert game.deck_size == 3
    assert game.turn == 0
    drawn = {taken(game.apply(0, Take())) for _ in range(3)}
    assert drawn == set(cards("9H TH JH"))


def test_reshuffle_uses_the_games_rng():
    def drawn(seed):
        game = position(["2D 3D", "4C 5C"], "2H 3H 4H 5H 6H 7H 9H QH", "6D", seed=seed)
        game.apply(0, Take())
        return [taken(game.apply(0, Take())) for _ in range(7)]

    assert drawn(5) == drawn(5)
    assert len({tuple(drawn(seed)) for seed in range(5)}) > 1


def test_a_put_onto_a_lone_top_card_with_an_empty_deck_reshuffles_at_once():
    game = position(["QD 3S", "4C 5C"], "QH", "", turn=0)
    step = game.apply(0, Put(card("QD")))
    # A put's event never says "reshuffled" (schema/games/crazy_eights/event.json): the views
    # show it, the deck no longer being empty.
    assert step.event == {"type": "put", "card": "QD"}
    assert game.pile == (card("QD"),)
    assert game.deck_size == 1
    assert game.legal_moves(1) == [Take()]
    assert taken(game.apply(1, Take())) == card("QH")


def test_take_with_nothing_to_take_is_illegal():
    game = position(["QD 3S", "4C 5C"], "QH", "")
    assert game.legal_moves(0) == [Put(card("QD"))]
    refused(game, 0, Take(), IllegalMove, "^cannot take: the deck is empty$")


# Turns that pass by themselves ---------------------------------------------------------------


def test_a_player_who_takes_the_last_card_and_cannot_put_passes():
    game = position(["2C 3C", "4D 5D", "QS 6H"], "QH", "7D")
    step = game.apply(0, Take())
    assert taken(step) == card("7D")
    assert passes(step) == (0, 1)
    assert step.event == {"type": "take", "passes": [0, 1]}
    assert not reshuffled(step) and step.outcome is None
    assert game.turn == 2
    assert game.legal_moves(2) == [Put(card("6H")), Put(card("QS"))]
    assert game.legal_moves(0) == []


def test_passes_go_round_the_table():
    game = position(["2C 3C", "QS", "4D 5D"], "QH", "9C", turn=2)
    step = game.apply(2, Take())
    assert passes(step) == (2, 0)
    assert game.turn == 1


def test_no_pass_after_a_take_that_leaves_a_move():
    game = position(["2C QS", "4D 5D", "3C 6C"], "QH", "9S", turn=0)
    step = game.apply(0, Take())  # The deck is now empty, 9S is no use, but QS is.
    assert passes(step) == ()
    assert game.turn == 0


def test_no_pass_after_a_put_since_the_pile_is_reshuffled_into_an_empty_deck():
    game = position(["2C 3S", "4D 5D", "3C 6C"], "QH", "QS", turn=1)
    step = game.apply(1, Take())
    assert passes(step) == () and game.turn == 1
    step = game.apply(1, Put(card("QS")))
    assert step.event == {"type": "put", "card": "QS"}  # no passes
    assert game.pile == (card("QS"),) and game.deck_size == 1  # reshuffled
    assert game.turn == 2
    assert game.legal_moves(2) == [Take()]


def test_no_one_waits_on_a_player_who_cannot_move():
    for seed in range(30):
        game = CrazyEights(2 + seed % 6, seed)
        while not game.is_finished:
            assert game.legal_moves(game.turn)
            game.apply(game.turn, game.bot_move(game.turn))


# The end -------------------------------------------------------------------------------------


def test_the_first_to_empty_the_hand_wins_the_others_penalty_points():
    game = position(["QD", "8C KD AS 3H", "2S"], "QH", "7D 5C", turn=0)
    step = game.apply(0, Put(card("QD")))
    expected = Outcome(winner=0, scores=(50 + 10 + 1 + 3 + 2, 0, 0), detail={"blocked": False})
    assert step.outcome == expected == game.outcome()
    assert game.final_hands() == ((), tuple(cards("8C KD 3H AS")), (card("2S"),))
    assert passes(step) == () and not reshuffled(step)
    assert game.is_finished
    assert game.turn == 0
    assert all(game.legal_moves(p) == [] for p in range(3))


def test_winning_with_an_eight():
    game = position(["8D", "KD"], "QH", "7D", turn=0)
    step = game.apply(0, Put(card("8D"), Suit.CLUBS))
    assert step.outcome.winner == 0 and step.outcome.scores == (10, 0)


def test_blocked_game_fewest_points_win_the_differences():
    # After the take the deck is empty, the pile is just QH, and no one holds a heart, a queen
    # or an eight.
    game = position(["2C 3C", "KD 5D", "AS 2S", "9C"], "QH", "4C", turn=0)
    assert game.final_hands() == ()  # nothing to tell while the game runs
    step = game.apply(0, Take())
    points = [9, 15, 3, 9]
    assert taken(step) == card("4C")
    assert passes(step) == ()
    assert step.outcome == Outcome(
        winner=2,
        scores=(0, 0, (9 - 3) + (15 - 3) + (9 - 3), 0),
        detail={"blocked": True},
    )
    hands = tuple(tuple(cards(hand)) for hand in ["2C 3C 4C", "5D KD", "2S AS", "9C"])
    assert game.final_hands() == hands
    assert [hand_points(hand) for hand in game.final_hands()] == points
    assert game.outcome() == step.outcome and game.is_finished
    assert game.turn == 0


@pytest.mark.parametrize(
    "dealer, winner",
    # Players 1 and 3 tie on fewest points; the earlier one counting from after the dealer wins.
    [(0, 1), (1, 3), (2, 3), (3, 1)],
)
def test_blocked_game_ties_go_to_the_earlier_player_after_the_dealer(dealer, winner):
    game = position(["2C 3C", "4D", "TS", "4S"], "QH", "9C", turn=0, dealer=dealer)
    step = game.apply(0, Take())
    outcome = step.outcome
    assert outcome.detail == {"blocked": True}
    # Points: 14, 4, 10, 4.
    assert outcome.winner == winner
    assert outcome.scores[winner] == (14 - 4) + (10 - 4) + 0
    assert sum(outcome.scores) == outcome.scores[winner]


def test_blocked_game_tie_with_the_player_after_the_dealer_themself():
    game = position(["2C 3C", "5D", "5S"], "QH", "9C", turn=0, dealer=1)
    outcome = game.apply(0, Take()).outcome
    assert outcome.winner == 2 and outcome.scores == (0, 0, 14 - 5)


def test_a_game_is_not_blocked_while_someone_holds_an_eight():
    game = position(["2C 3C", "8D 5D", "AS 2S"], "QH", "4C", turn=0)
    step = game.apply(0, Take())
    assert step.outcome is None
    assert passes(step) == (0,)
    assert game.turn == 1
    assert game.legal_moves(1) == [Put(card("8D"), suit) for suit in Suit]


# Errors and their order ----------------------------------------------------------------------


def test_errors_come_in_order_finished_turn_hand_rule():
    game = position(["QD 8H 7C", "KD", "2S"], "QH", "9D")
    refused(game, 1, Put(card("5C")), NotYourTurn)  # before not-in-hand
    refused(game, 1, Put(card("KD")), NotYourTurn)  # even for a card they hold
    refused(game, 0, Put(card("5C"), Suit.HEARTS), NotInHand,
            "^you do not hold 5C$")  # before the suit rule
    refused(game, 0, Put(card("8S")), NotInHand)  # an eight not held, without a suit
    refused(game, 0, Put(card("KD")), NotInHand)  # another player's card
    refused(game, 0, Put(card("8H")), IllegalMove)
    refused(game, 0, Put(card("7C")), IllegalMove)

    game = position(["QD", "KD", "2S"], "QH", "9D")
    game.apply(0, Put(card("QD")))
    for player in range(3):  # finished comes first, whoever asks
        refused(game, player, Take(), GameFinished)
        refused(game, player, Put(card("5C")), GameFinished)


def test_error_codes_of_raised_errors():
    game = position(["QD 7C", "KD"], "QH", "")
    for move, player, code in [
        (Take(), 1, "not_your_turn"),
        (Put(card("2C")), 0, "not_in_hand"),
        (Put(card("7C")), 0, "illegal_move"),
        (Take(), 0, "illegal_move"),
    ]:
        assert refused(game, player, move).code == code


def test_error_messages_name_the_input_and_nothing_hidden():
    game = position(["QD 7C", "KD 4S", "9S"], "QH", "3D 2H")
    messages = []
    for player, move in [(1, Take()), (0, Put(card("KD"))), (0, Put(card("7C")))]:
        messages.append(str(refused(game, player, move)))
    assert "KD" in messages[1] and "7C" in messages[2]
    hidden = {"4S", "9S", "3D", "2H"}
    assert not any(code in message for message in messages for code in hidden)


def test_rejected_moves_change_nothing_and_legal_moves_are_accepted():
    game = position(["QD 8H 7C", "KD", "2S"], "9H QH", "9D")
    before = state_of(game)
    bad = [(1, Take()), (0, Put(card("5C"))), (0, Put(card("8H"))), (0, Put(card("7C")))]
    for player, move in bad:
        with pytest.raises(Exception):
            game.apply(player, move)
        assert state_of(game) == before
    for move in game.legal_moves(0):
        assert allowed(game, 0, move).move == move
        assert state_of(game) == before


def test_players_out_of_range_and_non_moves_are_programming_errors():
    game = CrazyEights(3, seed=1)
    for player in (-1, 3, True, "0", None):
        refused(game, player, Take(), ValueError)
        with pytest.raises(ValueError):
            game.legal_moves(player)
    with pytest.raises(ValueError):
        game.hand(3)
    with pytest.raises(ValueError):
        game.view_for(-1)
    refused(game, game.turn, "take", TypeError)


# Views ---------------------------------------------------------------------------------------


def test_view_for_a_player_shows_their_hand_only():
    game = position(["QD 8H 7C", "KD 4S", "9S"], "2H 3H 4H 5H 6H 7H", "3D 2D", turn=1)
    view = game.view_for(1)
    assert view == {
        "hand": ["KD", "4S"],
        "cards": [3, 2, 1],
        "pile": ["3H", "4H", "5H", "6H", "7H"],
        "deck": 2,
        "turn": 1,
        "suit": "H",
    }
    assert len(view["pile"]) == PILE_SHOWN
    spectator = game.view_for(None)
    assert "hand" not in spectator
    assert spectator == {key: value for key, value in view.items() if key != "hand"}
    assert game.view_for(0)["hand"] == ["7C", "QD", "8H"]  # sorted by suit, then rank


def test_views_never_hold_other_hands_the_deck_or_the_seed_while_the_game_runs():
    seed = 987654321
    game = CrazyEights(4, seed=seed)
    for _ in range(40):
        for player in [None, *range(4)]:
            view = game.view_for(player)
            text = json.dumps(view)  # JSON-ready
            assert str(seed) not in text
            assert set(view) == {"hand", "cards", "pile", "deck", "turn", "suit"} - (
                {"hand"} if player is None else set()
            )
            shown = set(view.get("hand", [])) | set(view["pile"])
            codes = {str(c) for c in FULL_DECK}
            assert {code for code in codes if f'"{code}"' in text} == shown
        game.apply(game.turn, game.bot_move(game.turn))
        if game.is_finished:
            break


def test_view_once_finished_shows_winner_scores_and_hands():
    game = position(["QD", "8C KD", "2S"], "QH", "7D 5C", turn=0)
    game.apply(0, Put(card("QD")))
    for player in [None, 0, 1, 2]:
        view = game.view_for(player)
        assert view["winner"] == 0
        assert view["scores"] == [62, 0, 0]
        assert view["hands"] == [[], ["8C", "KD"], ["2S"]]
        assert view["blocked"] is False
        assert view["pile"] == ["QH", "QD"]
        json.dumps(view)


# Crafted positions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hands, pile, deck, turn, kwargs",
    [
        (["QD", "KD"], "", "2C", 0, {}),  # no top card
        (["QD", "QD"], "QH", "2C", 0, {}),  # a card twice
        (["QD", "KD"], "QH", "QD", 0, {}),
        (["QD", ""], "QH", "2C", 0, {}),  # an empty hand
        (["QD", "KD"], "2H QH", "", 0, {}),  # an empty deck beside a pile to reshuffle
        (["QD", "KD"], "QH", "2C", 0, {"suit": Suit.CLUBS}),  # a suit named without an eight
        (["QD", "KD"], "QH", "2C", 2, {}),
        (["2C", "KD"], "QH", "", 0, {}),  # the player to move cannot
        (["QD"], "QH", "2C", 0, {}),  # too few players
        (["QD", "KD"], "QH", "2C", 0, {"dealer": 2}),
    ],
)
def test_from_position_rejects_impossible_positions(hands, pile, deck, turn, kwargs):
    with pytest.raises(ValueError):
        position(hands, pile, deck, turn, **kwargs)


def test_replay_reproduces_a_game():
    moves = []
    game = CrazyEights(3, seed=42, dealer=2)
    for _ in range(30):
        move = game.bot_move(game.turn)
        moves.append((game.turn, move))
        game.apply(game.turn, move)
    again = CrazyEights.replay(3, 42, 2, moves)
    assert state_of(again) == state_of(game)
    # With dealer 2, player 0 has the first turn.
    with pytest.raises(NotYourTurn):
        CrazyEights.replay(3, 42, 2, [(1, Take())])
    assert CrazyEights.replay(3, 42, 2, []).view_for(None) == CrazyEights(3, 42, 2).view_for(None)
