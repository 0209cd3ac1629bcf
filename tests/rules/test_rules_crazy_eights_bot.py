"""The Crazy Eights bot (`CrazyEights.bot_move`), from crafted positions."""

import pytest

from game_server.rules import FULL_DECK, Card, CrazyEights, GameFinished, NotYourTurn, Suit
from game_server.rules.crazy_eights import Put, Take


def cards(text: str) -> list[Card]:
    return [Card.from_str(code) for code in text.split()]


def position(hands, pile, deck="", turn=0, **kwargs) -> CrazyEights:
    return CrazyEights.from_position(
        [cards(hand) for hand in hands], cards(pile), cards(deck), turn, **kwargs
    )


def test_sheds_the_matching_card_with_the_most_penalty_points():
    game = position(["3H KH 8C 5D 7D", "2S"], "QH", "4S")
    assert game.bot_move(0) == Put(Card.from_str("KH"))


def test_among_equal_points_switches_to_the_suit_held_most():
    game = position(["TH QC JC 2C 9D", "2S"], "QH", "4S")
    assert game.bot_move(0) == Put(Card.from_str("QC"))


def test_keeps_an_eight_while_another_card_matches():
    game = position(["8S 2H 4D", "2S"], "QH", "4S")
    assert game.bot_move(0) == Put(Card.from_str("2H"))


def test_puts_an_eight_as_a_last_resort_naming_the_suit_held_most():
    game = position(["8S 2C 3C 4D", "2S"], "QH", "4S")
    assert game.bot_move(0) == Put(Card.from_str("8S"), Suit.CLUBS)


def test_eights_are_not_counted_when_naming_a_suit():
    game = position(["8S 8D 2C", "2S"], "QH", "4S")
    assert game.bot_move(0) == Put(Card.from_str("8D"), Suit.CLUBS)


def test_naming_ties_prefer_the_current_suit_then_the_suit_order():
    game = position(["8S 8C", "2S"], "QH", "4S")
    assert game.bot_move(0) == Put(Card.from_str("8C"), Suit.HEARTS)
    game = position(["8S 2S 2C", "3D"], "QH", "4D")
    assert game.bot_move(0) == Put(Card.from_str("8S"), Suit.CLUBS)


def test_takes_when_nothing_can_be_put():
    game = position(["2C 3D", "2S"], "QH", "4S")
    assert game.bot_move(0) == Take()


def test_in_a_jam_an_eight_keeps_its_own_suit():
    # Every card but three eights is in a hand and the bot has no heart: naming its longest
    # suit (clubs) again and again could go round for ever.
    non_eights = [card for card in FULL_DECK if card.rank != 8]
    clubs = " ".join(str(card) for card in non_eights if card.suit == Suit.CLUBS)
    others = " ".join(str(card) for card in non_eights if card.suit != Suit.CLUBS)
    game = position([f"8S {clubs}", others], "8D", "8C 8H", suit=Suit.HEARTS)
    assert sum(game.card_counts()) == 49
    assert game.bot_move(0) == Put(Card.from_str("8S"), Suit.SPADES)
    # With a few more cards out of the hands it is no jam: the longest suit is named.
    loose = " ".join(others.split()[:3])
    rest = " ".join(others.split()[3:])
    game = position([f"8S {clubs}", rest], "8D", f"8C 8H {loose}", suit=Suit.HEARTS)
    assert game.bot_move(0) == Put(Card.from_str("8S"), Suit.CLUBS)


def test_refuses_out_of_turn_and_after_the_end():
    game = position(["QD 2C", "2S"], "QH", "4S")
    with pytest.raises(NotYourTurn):
        game.bot_move(1)
    game.apply(0, game.bot_move(0))
    game.apply(1, game.bot_move(1))  # takes
    game = position(["QD", "2S"], "QH", "4S")
    game.apply(0, game.bot_move(0))
    assert game.is_finished
    with pytest.raises(GameFinished):
        game.bot_move(1)


def test_is_deterministic_and_changes_nothing():
    game = CrazyEights(5, seed=11)
    before = [game.view_for(p) for p in range(5)]
    assert game.bot_move(game.turn) == game.bot_move(game.turn)
    assert [game.view_for(p) for p in range(5)] == before


@pytest.mark.parametrize("players, seed", [(7, 209), (6, 580), (5, 969), (4, 2828)])
def test_bot_games_that_once_went_round_for_ever_now_finish(players, seed):
    # Before the jam rule these all-bot games reached a jam where only eights went round,
    # each bot naming a suit the next one lacked.
    game = CrazyEights(players, seed, dealer=seed % players)
    for _ in range(3000):
        if game.is_finished:
            break
        game.apply(game.turn, game.bot_move(game.turn))
    assert game.is_finished
