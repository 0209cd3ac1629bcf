"""Moves and their JSON form, the errors' codes, penalty points, the game registry."""

import json

import pytest

import game_server.rules as rules
from game_server.rules import (
    GAMES,
    RULES_ERROR_CODES,
    BadMove,
    Card,
    CrazyEights,
    GameFinished,
    Hearts,
    IllegalMove,
    NotInHand,
    NotYourTurn,
    Rank,
    RulesError,
    Suit,
    catalogue,
    game_class,
)
from game_server.rules.crazy_eights import PENALTY, Put, Take, hand_points, penalty

move_to_json = CrazyEights.move_to_json
move_from_json = CrazyEights.parse_move


def test_moves_to_json():
    assert move_to_json(Take()) == {"type": "take"}
    assert move_to_json(Put(Card.from_str("QH"))) == {"type": "put", "card": "QH"}
    assert move_to_json(Put(Card.from_str("8S"), Suit.HEARTS)) == {
        "type": "put",
        "card": "8S",
        "suit": "H",
    }


@pytest.mark.parametrize(
    "move",
    [Take(), Put(Card.from_str("QH")), Put(Card.from_str("8S"), Suit.CLUBS)]
    + [Put(card) for card in rules.FULL_DECK],
)
def test_moves_round_trip_through_json_text(move):
    assert move_from_json(json.loads(json.dumps(move_to_json(move)))) == move


def test_move_from_json_treats_a_null_suit_as_none():
    assert move_from_json({"type": "put", "card": "QH", "suit": None}) == Put(Card.from_str("QH"))


def test_a_take_may_say_it_is_from_the_deck_as_protocol_1_allowed():
    assert move_from_json({"type": "take", "from": "deck"}) == Take()


@pytest.mark.parametrize(
    "data",
    [
        None,
        "take",
        ["take"],
        {},
        {"type": "pass"},
        {"type": "TAKE"},
        {"type": "take", "from": "pile"},
        {"type": "take", "from": None},
        {"type": "put"},
        {"type": "put", "card": "10H"},
        {"type": "put", "card": 10},
        {"type": "put", "card": "8S", "suit": "h"},
        {"type": "put", "card": "8S", "suit": "hearts"},
        {"type": "put", "card": "8S", "suit": 3},
        {"type": "put", "card": "QH", "extra": 1},
    ],
)
def test_move_from_json_rejects_bad_data(data):
    with pytest.raises(BadMove):
        move_from_json(data)
    assert issubclass(BadMove, ValueError)


def test_move_to_json_rejects_non_moves():
    with pytest.raises(TypeError):
        move_to_json("take")


def test_moves_are_frozen_and_hashable():
    put = Put(Card.from_str("QH"))
    with pytest.raises(AttributeError):
        put.card = Card.from_str("KH")
    assert {Take(), Take(), put, Put(Card.from_str("QH"))} == {Take(), put}
    with pytest.raises(TypeError):
        Put("QH")
    with pytest.raises(TypeError):
        Put(Card.from_str("8H"), "H")


def test_error_codes():
    assert RulesError.code == "illegal_move"
    assert NotYourTurn.code == "not_your_turn"
    assert NotInHand.code == "not_in_hand"
    assert IllegalMove.code == "illegal_move"
    assert GameFinished.code == "game_finished"
    assert set(RULES_ERROR_CODES) == {"not_your_turn", "not_in_hand", "illegal_move",
                                      "game_finished"}
    for cls in (NotYourTurn, NotInHand, IllegalMove, GameFinished):
        assert issubclass(cls, RulesError)
        assert cls("x").code == cls.code


def test_penalty_points():
    assert [penalty(Card(rank, Suit.CLUBS)) for rank in Rank] == [
        2, 3, 4, 5, 6, 7, 50, 9, 10, 10, 10, 10, 1,
    ]
    assert PENALTY[Rank.EIGHT] == 50
    assert hand_points([]) == 0
    assert hand_points(map(Card.from_str, ["8C", "KD", "AS", "3H"])) == 64
    assert hand_points(rules.FULL_DECK) == 4 * (2 + 3 + 4 + 5 + 6 + 7 + 50 + 9 + 40 + 1)


def test_registry_and_public_names():
    assert GAMES == {"crazy_eights": CrazyEights, "hearts": Hearts}
    assert game_class("crazy_eights") is CrazyEights
    with pytest.raises(KeyError):
        game_class("poker")
    assert CrazyEights.name == "crazy_eights"
    assert (CrazyEights.MIN_PLAYERS, CrazyEights.MAX_PLAYERS) == (2, 7)
    assert catalogue()[0] == {"name": "crazy_eights", "title": "Crazy Eights", "min": 2,
                              "max": 7, "seats": 4}
    assert [entry["name"] for entry in catalogue()] == list(GAMES)
    for name in rules.__all__:
        assert hasattr(rules, name), name
