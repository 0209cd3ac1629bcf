"""Cards as values: parsing, printing, ordering, the full deck; and every doctest of the rules."""

import doctest

import pytest

import game_server.rules as rules
from game_server.rules import FULL_DECK, Card, Rank, Suit
from game_server.rules import cards, crazy_eights, game


def test_suit_values_and_symbols():
    assert [suit.value for suit in Suit] == ["C", "D", "H", "S"]
    assert [suit.symbol for suit in Suit] == ["♣", "♦", "♥", "♠"]
    assert Suit("H") is Suit.HEARTS
    assert Suit.from_char("D") is Suit.DIAMONDS


@pytest.mark.parametrize("text", ["h", "", "X", "HH", None])
def test_suit_from_char_rejects(text):
    with pytest.raises(ValueError, match="bad suit"):
        Suit.from_char(text)


def test_suits_are_ordered():
    assert Suit.CLUBS < Suit.DIAMONDS < Suit.HEARTS < Suit.SPADES
    assert Suit.SPADES >= Suit.SPADES > Suit.CLUBS
    with pytest.raises(TypeError):
        _ = Suit.CLUBS < 1


def test_rank_values_and_chars():
    assert [int(rank) for rank in Rank] == list(range(2, 15))
    assert "".join(rank.char for rank in Rank) == "23456789TJQKA"
    for rank in Rank:
        assert Rank.from_char(rank.char) is rank


@pytest.mark.parametrize("text", ["10", "t", "1", "0", "", "AA", None])
def test_rank_from_char_rejects(text):
    with pytest.raises(ValueError, match="bad rank"):
        Rank.from_char(text)


def test_card_parses_and_prints():
    card = Card.from_str("TH")
    assert card == Card(Rank.TEN, Suit.HEARTS)
    assert str(card) == "TH"
    assert repr(card) == "Card.from_str('TH')"
    assert eval(repr(card)) == card  # The repr reads back as code.


@pytest.mark.parametrize("text", ["th", "Th", "tH", "10H", "", "8X", "8", "H8", "QHX", " QH", "1H"])
def test_card_from_str_rejects_with_the_bad_text(text):
    with pytest.raises(ValueError) as excinfo:
        Card.from_str(text)
    assert repr(text) in str(excinfo.value)


@pytest.mark.parametrize("value", [None, 10, b"TH", ("T", "H")])
def test_card_from_str_rejects_non_strings(value):
    with pytest.raises(ValueError):
        Card.from_str(value)


def test_card_needs_rank_and_suit_enums():
    with pytest.raises(TypeError):
        Card(10, Suit.HEARTS)
    with pytest.raises(TypeError):
        Card(Rank.TEN, "H")


def test_cards_are_frozen_hashable_and_ordered_by_rank_then_suit():
    card = Card.from_str("QS")
    with pytest.raises(AttributeError):
        card.rank = Rank.KING
    assert len({Card.from_str("QS"), card}) == 1
    assert sorted(map(Card.from_str, ["KC", "2S", "KD", "2C"])) == list(
        map(Card.from_str, ["2C", "2S", "KC", "KD"])
    )


def test_full_deck():
    assert len(FULL_DECK) == 52
    assert len(set(FULL_DECK)) == 52
    assert {str(card) for card in FULL_DECK} == {r + s for r in "23456789TJQKA" for s in "CDHS"}
    assert FULL_DECK[0] == Card.from_str("2C")
    assert FULL_DECK[13] == Card.from_str("2D")
    assert FULL_DECK[-1] == Card.from_str("AS")
    for card in FULL_DECK:
        assert Card.from_str(str(card)) == card


# Hearts' doctests run in test_rules_hearts.py.
@pytest.mark.parametrize("module", [rules, cards, game, crazy_eights])
def test_doctests(module):
    result = doctest.testmod(module, raise_on_error=False)
    assert result.failed == 0


def test_rules_modules_import_only_the_standard_library():
    import ast
    import sys
    from pathlib import Path

    for path in Path(rules.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__", (path.name, name)
                # No global randomness, clock or I/O in the rules layer.
                assert top not in {"time", "datetime", "socket", "os", "io"}, (path.name, name)
