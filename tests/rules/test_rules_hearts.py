"""Hearts rules, one at a time, mostly from crafted positions (`Hearts.from_position`).

The views, events and moves are also checked against ``schema/games/hearts/*.json``.
"""

import doctest
import json
import random
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import game_server.rules.hearts as hearts_module
from game_server.rules.cards import FULL_DECK, Card, Suit
from game_server.rules.game import (
    BadMove,
    GameFinished,
    IllegalMove,
    NotInHand,
    NotYourTurn,
    Outcome,
    RulesError,
)
from game_server.rules.hearts import (
    Hearts,
    Pass,
    PassDirection,
    Phase,
    Play,
    card_points,
)

# Helpers -------------------------------------------------------------------------------------


def card(code: str) -> Card:
    return Card.from_str(code)


def cards(text: str) -> list[Card]:
    return [Card.from_str(code) for code in text.split()]


def codes(text: str) -> list[str]:
    """Card codes in display order, as views and events write them."""
    return [str(c) for c in sorted(cards(text), key=lambda c: c.index)]


def position(hands, *, trick="", taken=None, passes=None, **kwargs) -> Hearts:
    """A crafted position, hands and cards as strings of codes."""
    return Hearts.from_position(
        [cards(hand) for hand in hands],
        trick=cards(trick),
        taken=None if taken is None else [cards(pile) for pile in taken],
        passes=None if passes is None else [None if p is None else cards(p) for p in passes],
        **kwargs,
    )


def fill(*specs: str) -> list[str]:
    """Four 13-card hands: each player holds the cards of their spec, the rest of the pack is
    shared out in FULL_DECK order to make up 13 each."""
    chosen = [cards(spec) for spec in (*specs, "", "", "")[:4]]
    used = {c for hand in chosen for c in hand}
    rest = [c for c in FULL_DECK if c not in used]
    for hand in chosen:
        while len(hand) < 13:
            hand.append(rest.pop(0))
    assert not rest
    return [" ".join(map(str, hand)) for hand in chosen]


def expected_hands(rng: random.Random, dealer: int) -> list[tuple[Card, ...]]:
    """The deal the rules promise: a shuffle of FULL_DECK by the match's Random, dealt one at
    a time from the end of the list, starting left of the dealer."""
    deck = list(FULL_DECK)
    rng.shuffle(deck)
    hands = [[] for _ in range(4)]
    for i in range(52):
        hands[(dealer + 1 + i) % 4].append(deck.pop())
    return [tuple(sorted(hand, key=lambda c: c.index)) for hand in hands]


def state_of(game: Hearts):
    """Everything a game shows, plus its rng state."""
    views = [game.view_for(p) for p in [None, 0, 1, 2, 3]]
    return (views, game.revealed_view(), [game.secret(p) for p in range(4)], game.to_act(),
            game.outcome(), game._rng.getstate())


def finish_deal(game: Hearts) -> list:
    """Let the bots play until the deal number changes or the match ends; return the steps."""
    deal, steps = game.deal, []
    while not game.is_finished and game.deal == deal:
        player = min(game.to_act())
        steps.append(game.apply(player, game.bot_move(player)))
    return steps


def pass_all(game: Hearts, order=(0, 1, 2, 3)) -> list:
    return [game.apply(p, game.bot_move(p)) for p in order]


# Schemas: a registry of the shared definitions and Hearts' own files, keyed by `$id`, as
# game_server/protocol/schema.py builds one.

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schema"
SCHEMA_BASE = "https://card-table.invalid/schema/"


def _load_schemas() -> dict[str, Draft202012Validator]:
    paths = [SCHEMA_DIR / "defs.json", *sorted((SCHEMA_DIR / "games" / "hearts").glob("*.json"))]
    documents = {}
    for path in paths:
        contents = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(contents)
        assert contents["$id"] == SCHEMA_BASE + path.relative_to(SCHEMA_DIR).as_posix()
        documents[path.stem] = contents
    registry = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc, default_specification=DRAFT202012))
        for doc in documents.values()
    )
    return {name: Draft202012Validator(_inline(documents[name], registry.resolver(
        documents[name]["$id"])), registry=registry) for name in ("move", "view", "event")}


def _inline(node, resolver):
    """`node` with every `$ref` replaced by its target, resolved through the registry (as
    game_server/protocol/schema.py does): jsonschema validates several times faster without
    `$ref` lookups, and the schemas are not recursive."""
    if isinstance(node, list):
        return [_inline(item, resolver) for item in node]
    if not isinstance(node, dict):
        return node
    copied = {key: _inline(value, resolver) for key, value in node.items() if key != "$ref"}
    if "$ref" not in node:
        return copied
    resolved = resolver.lookup(node["$ref"])
    target = _inline(resolved.contents, resolved.resolver)
    return {**copied, "allOf": [target, *copied.get("allOf", [])]}


SCHEMAS = _load_schemas()


def assert_valid(kind: str, instance) -> None:
    errors = list(SCHEMAS[kind].iter_errors(json.loads(json.dumps(instance))))
    assert not errors, f"{kind} {instance!r}: {[e.message for e in errors]}"


def assert_invalid(kind: str, instance) -> None:
    assert list(SCHEMAS[kind].iter_errors(instance)), f"{kind} should be refused: {instance!r}"


def check_step_against_schemas(game: Hearts, step) -> None:
    """The step's move and events, and the views after it, against the schemas. (Every view
    after a pass or a trick; during a trick, where less changes, the mover's and the
    spectator's: jsonschema takes about a millisecond a view.)"""
    assert_valid("move", Hearts.move_to_json(step.move))
    assert_valid("event", step.event)
    for version in step.private.values():
        assert_valid("event", version)
    assert_valid("event", step.full())
    everyone = step.event["type"] == "pass" or "trick" in step.event
    for viewer in [None, 0, 1, 2, 3] if everyone else [None, step.player]:
        assert_valid("view", game.view_for(viewer))
    if everyone:
        assert_valid("view", game.revealed_view())


# The class and the deal ----------------------------------------------------------------------


def test_class_attributes():
    assert (Hearts.name, Hearts.title) == ("hearts", "Hearts")
    assert Hearts.MIN_PLAYERS == Hearts.MAX_PLAYERS == Hearts.DEFAULT_SEATS == 4
    assert Hearts(4, 1).players == 4


@pytest.mark.parametrize("players, dealer", [(3, 0), (5, 0), (0, 0), ("4", 0), (4.0, 0),
                                             (True, 0), (4, 4), (4, -1), (4, "0"), (4, None)])
def test_bad_player_counts_and_dealers(players, dealer):
    with pytest.raises(ValueError):
        Hearts(players, seed=1, dealer=dealer)


@pytest.mark.parametrize("dealer", range(4))
def test_deal_gives_13_each_one_at_a_time_from_the_dealers_left(dealer):
    for seed in (1, 2, 99):
        game = Hearts(4, seed, dealer)
        rng = random.Random(seed)
        assert [game.hand(p) for p in range(4)] == expected_hands(rng, dealer)
        assert (game.deal, game.dealer, game.first_dealer) == (1, dealer, dealer)
        assert game.phase is Phase.PASS and game.pass_direction is PassDirection.LEFT
        assert game.to_act() == {0, 1, 2, 3}
        assert game.turn is None and game.leader is None and game.outcome() is None
        assert game.totals == (0, 0, 0, 0) and game.points_taken() == (0, 0, 0, 0)


def test_deal_is_deterministic_given_the_seed():
    assert state_of(Hearts(4, 5)) == state_of(Hearts(4, 5))
    assert state_of(Hearts(4, 5))[0] != state_of(Hearts(4, 6))[0]


def test_pass_directions_rotate_by_deal_number():
    assert [PassDirection.of_deal(d) for d in range(1, 10)] == [
        PassDirection.LEFT, PassDirection.RIGHT, PassDirection.ACROSS, PassDirection.NONE,
    ] * 2 + [PassDirection.LEFT]
    assert [PassDirection.LEFT.receiver(p) for p in range(4)] == [1, 2, 3, 0]
    assert [PassDirection.RIGHT.receiver(p) for p in range(4)] == [3, 0, 1, 2]
    assert [PassDirection.ACROSS.receiver(p) for p in range(4)] == [2, 3, 0, 1]
    for direction in PassDirection:
        assert all(direction.giver(direction.receiver(p)) == p for p in range(4))


def test_dealer_moves_left_each_deal_and_each_deal_comes_from_the_same_random():
    game = Hearts(4, seed=11, dealer=2)
    rng = random.Random(11)
    seen = []
    for deal in range(1, 6):
        assert game.deal == deal
        assert game.dealer == (2 + deal - 1) % 4
        direction = ["left", "right", "across", "none"][(deal - 1) % 4]
        assert game.pass_direction.value == direction
        assert game.view_for(None)["pass"] == direction
        hands = expected_hands(rng, game.dealer)
        if direction == "none":
            # No pass: the play starts at once, led by the holder of 2♣.
            assert game.phase is Phase.PLAY
            assert [game.hand(p) for p in range(4)] == hands
            assert card("2C") in game.hand(game.turn) and game.leader == game.turn
        else:
            assert game.phase is Phase.PASS
            assert [game.hand(p) for p in range(4)] == hands
        seen.append(finish_deal(game)[-1].event)
        if game.is_finished:
            break
    assert [event["next_deal"] for event in seen[:4]] == [
        {"number": 2, "pass": "right"}, {"number": 3, "pass": "across"},
        {"number": 4, "pass": "none"}, {"number": 5, "pass": "left"},
    ]


# Passing -------------------------------------------------------------------------------------


def test_passes_are_chosen_at_once_and_exchanged_when_the_fourth_player_chooses():
    game = Hearts(4, seed=3)
    before = [game.hand(p) for p in range(4)]
    chosen = {p: Pass(before[p][:3]) for p in range(4)}
    for count, p in enumerate([2, 0, 3], start=1):
        step = game.apply(p, chosen[p])
        mine = [str(c) for c in chosen[p].cards]
        assert step.event == {"type": "pass"}
        assert step.private == {p: {"type": "pass", "cards": mine}}
        assert step.revealed == {"type": "pass", "exchanged": False, "cards": mine}
        assert step.event_for(p) == {"type": "pass", "cards": mine}
        assert step.event_for(None) == step.event_for((p + 1) % 4) == {"type": "pass"}
        assert step.outcome is None
        assert game.phase is Phase.PASS
        assert game.to_act() == {0, 1, 2, 3} - set([2, 0, 3][:count])
        # The chosen cards leave the hand but stay the player's secret.
        assert game.hand(p) == before[p][3:]
        assert game.pending_pass(p) == chosen[p].cards
        assert game.secret(p) == frozenset(before[p])
        assert game.view_for(None)["passed"] == [q in [2, 0, 3][:count] for q in range(4)]
    assert game.legal_moves(1) and not game.legal_moves(2)

    step = game.apply(1, chosen[1])
    # Deal 1 passes to the left: player p's cards go to p + 1.
    for p in range(4):
        giver = (p - 1) % 4
        expected = sorted(before[p][3:] + chosen[giver].cards, key=lambda c: c.index)
        assert game.hand(p) == tuple(expected)
        assert game.received(p) == chosen[giver].cards
        assert game.pending_pass(p) is None
    assert step.event == {"type": "pass", "exchanged": True}
    received = {p: [str(c) for c in chosen[(p - 1) % 4].cards] for p in range(4)}
    assert step.private == {
        0: {"type": "pass", "exchanged": True, "received": received[0]},
        1: {"type": "pass", "exchanged": True, "cards": [str(c) for c in chosen[1].cards],
            "received": received[1]},
        2: {"type": "pass", "exchanged": True, "received": received[2]},
        3: {"type": "pass", "exchanged": True, "received": received[3]},
    }
    assert step.revealed == {
        "type": "pass", "exchanged": True, "cards": [str(c) for c in chosen[1].cards],
        "passes": [[str(c) for c in chosen[p].cards] for p in range(4)],
    }
    # The play starts: the holder of 2♣ leads.
    assert game.phase is Phase.PLAY
    assert card("2C") in game.hand(game.turn)
    assert game.to_act() == {game.turn} and game.leader == game.turn


@pytest.mark.parametrize("deal, offset", [(1, 1), (2, 3), (3, 2), (5, 1), (6, 3), (7, 2)])
def test_passes_go_left_right_or_across_by_deal(deal, offset):
    hands = fill("2C 3C 4C", "5C 6C 7C", "8C 9C TC", "JC QC KC")
    game = position(hands, deal=deal, phase="pass")
    for p in range(4):
        game.apply(p, Pass(cards(hands[p])[:3]))
    for p in range(4):
        assert set(cards(hands[p])[:3]) <= set(game.hand((p + offset) % 4))


def test_a_chosen_pass_cannot_be_changed():
    game = Hearts(4, seed=8)
    hand = game.hand(0)
    game.apply(0, Pass(hand[:3]))
    before = state_of(game)
    with pytest.raises(NotYourTurn,
                       match="^you have already chosen your pass; it cannot be changed$"):
        game.apply(0, Pass(hand[3:6]))
    with pytest.raises(NotYourTurn):
        game.apply(0, Pass(hand[:3]))
    with pytest.raises(NotYourTurn):
        game.bot_move(0)
    assert game.legal_moves(0) == []
    assert state_of(game) == before


def test_a_pass_of_cards_not_held_is_refused_naming_only_those_cards():
    game = Hearts(4, seed=8)
    mine, theirs = game.hand(0), game.hand(1)
    move = Pass([mine[0], theirs[0], theirs[1]])
    before = state_of(game)
    with pytest.raises(NotInHand) as caught:
        game.apply(0, move)
    assert str(caught.value) == f"you do not hold {theirs[0]} {theirs[1]}"
    assert state_of(game) == before


def test_pass_phase_legal_moves_are_every_three_cards():
    game = Hearts(4, seed=4)
    moves = game.legal_moves(2)
    assert len(moves) == len(set(moves)) == 286
    assert all(set(m.cards) <= set(game.hand(2)) for m in moves)
    assert moves == sorted(moves, key=lambda m: [c.index for c in m.cards])


def test_a_play_while_passing_and_a_pass_while_playing_are_illegal():
    game = Hearts(4, seed=4)
    holder = next(p for p in range(4) if card("2C") in game.hand(p))
    with pytest.raises(IllegalMove,
                       match="^cannot play 2C now: cards are being passed to the left$"):
        game.apply(holder, Play(card("2C")))
    pass_all(game)
    hand = game.hand(game.turn)
    with pytest.raises(IllegalMove, match=r"now: the cards are being played$"):
        game.apply(game.turn, Pass(hand[:3]))
    with pytest.raises(IllegalMove, match=r"now: the cards are being played$"):
        game.apply((game.turn + 1) % 4, Pass(game.hand((game.turn + 1) % 4)[:3]))


def test_a_no_pass_deal_starts_with_the_play_and_refuses_passes():
    game = position(fill("2C"), deal=4)
    assert game.pass_direction is PassDirection.NONE
    assert game.phase is Phase.PLAY and game.to_act() == {0}
    with pytest.raises(IllegalMove, match="^cannot pass .*: deal 4 has no pass$"):
        game.apply(1, Pass(game.hand(1)[:3]))
    with pytest.raises(ValueError, match="no pass"):
        position(fill("2C"), deal=8, phase="pass")


# Playing -------------------------------------------------------------------------------------


def test_the_holder_of_two_of_clubs_leads_it_to_the_first_trick():
    game = position(fill("", "", "2C"))
    assert game.turn == game.leader == 2
    assert game.legal_moves(2) == [Play(card("2C"))]
    other = game.hand(2)[-1]
    with pytest.raises(IllegalMove,
                       match=f"^the first trick must start with 2C: cannot lead {other}$"):
        game.apply(2, Play(other))
    with pytest.raises(NotYourTurn, match="^it is not your turn$"):
        game.apply(0, Play(game.hand(0)[0]))
    step = game.apply(2, Play(card("2C")))
    assert step.event == {"type": "play", "card": "2C"}
    assert step.private == {} and step.outcome is None
    assert game.turn == 3 and game.leader == 2
    assert game.trick == ((2, card("2C")),)


def test_players_must_follow_suit():
    game = position(["3D 9C", "4D 5S", "6H 7H", "8D 9D"], leader=0, trick="",
                    hearts_broken=True)
    game.apply(0, Play(card("3D")))
    assert game.legal_moves(1) == [Play(card("4D"))]
    with pytest.raises(IllegalMove, match="^you must follow diamonds: cannot play 5S$"):
        game.apply(1, Play(card("5S")))
    game.apply(1, Play(card("4D")))
    # A player void in the suit led may play anything.
    assert game.legal_moves(2) == [Play(card("6H")), Play(card("7H"))]


def test_no_points_on_the_first_trick_while_the_hand_has_another_card():
    hands = fill("2C", "3D 4D 5D 6D 7D 8D 9D TD JD QD KD AD QS",
                 "2H 3H 4H 5H 6H 7H 8H 9H TH JH KH AH 2D", "")
    hands[0] = hands[0].replace("2C ", "")
    game = position(hands, trick="2C", leader=0)
    assert game.turn == 1
    # Void in clubs: everything but Q♠.
    assert card("QS") not in [m.card for m in game.legal_moves(1)]
    assert len(game.legal_moves(1)) == 12
    with pytest.raises(IllegalMove, match="^no hearts or QS on the first trick while you hold "
                                          "another card: cannot play QS$"):
        game.apply(1, Play(card("QS")))
    game.apply(1, Play(card("AD")))
    assert game.legal_moves(2) == [Play(card("2D"))]
    with pytest.raises(IllegalMove, match="cannot play AH$"):
        game.apply(2, Play(card("AH")))


def test_a_hand_of_only_hearts_and_the_queen_may_play_them_on_the_first_trick():
    hands = fill("2C", "2H 3H 4H 5H 6H 7H 8H 9H TH JH QH KH QS", "", "")
    hands[0] = hands[0].replace("2C ", "")
    game = position(hands, trick="2C", leader=0)
    assert [m.card for m in game.legal_moves(1)] == cards("2H 3H 4H 5H 6H 7H 8H 9H TH JH QH KH QS")
    step = game.apply(1, Play(card("QS")))
    assert step.event == {"type": "play", "card": "QS"}


def test_hearts_cannot_be_led_until_broken():
    game = position(["5H 9C", "2D 3D", "4D 5D", "6D 7D"], leader=0)
    assert not game.hearts_broken
    assert game.legal_moves(0) == [Play(card("9C"))]
    with pytest.raises(IllegalMove, match="^hearts are not broken yet: cannot lead 5H$"):
        game.apply(0, Play(card("5H")))
    broken = position(["5H 9C", "2D 3D", "4D 5D", "6D 7D"], leader=0, hearts_broken=True)
    assert broken.legal_moves(0) == [Play(card("9C")), Play(card("5H"))]


def test_a_hand_of_only_hearts_may_lead_hearts_before_they_are_broken():
    game = position(["5H 9H", "2D 3D", "4D 5D", "6D 7D"], leader=0)
    assert game.legal_moves(0) == [Play(card("5H")), Play(card("9H"))]
    game.apply(0, Play(card("9H")))
    assert game.hearts_broken


def test_a_heart_discarded_breaks_hearts_for_the_next_lead():
    game = position(["9C 2D 3D", "TC 4D 5D", "3H 6D 7D", "JC 5H 8D"], leader=0)
    for player, code in [(0, "9C"), (1, "TC"), (2, "3H")]:
        game.apply(player, Play(card(code)))
    assert game.hearts_broken and game.view_for(None)["hearts_broken"] is True
    step = game.apply(3, Play(card("JC")))
    assert step.event["trick"] == {"winner": 3, "points": 1}
    assert game.legal_moves(3) == [Play(card("8D")), Play(card("5H"))]
    game.apply(3, Play(card("5H")))


def test_the_queen_of_spades_does_not_break_hearts():
    # pagat's standard rule: hearts are broken by a heart, not by Q♠.
    game = position(["AC 5H 2S", "TC 2D 3D", "QS 4D 5D", "JC 6D 7D"], leader=0)
    for player, code in [(0, "AC"), (1, "TC"), (2, "QS"), (3, "JC")]:
        game.apply(player, Play(card(code)))
    assert not game.hearts_broken
    assert game.points_taken() == (13, 0, 0, 0) and game.turn == 0
    assert game.legal_moves(0) == [Play(card("2S"))]
    with pytest.raises(IllegalMove, match="^hearts are not broken yet: cannot lead 5H$"):
        game.apply(0, Play(card("5H")))
    # The same position built with Q♠ among the taken cards: hearts not broken either.
    again = position(["5H 2S", "2D 3D", "4D 5D", "6D 7D"], leader=0, taken=["QS", "", "", ""])
    assert not again.hearts_broken and again.legal_moves(0) == [Play(card("2S"))]


def test_the_highest_card_of_the_suit_led_wins_and_leads_next():
    game = position(["5D 2C", "AS 3C", "9D 4C", "KH 5C"], leader=0, hearts_broken=True)
    steps = [game.apply(p, Play(card(code))) for p, code in
             [(0, "5D"), (1, "AS"), (2, "9D"), (3, "KH")]]
    assert [s.event for s in steps[:3]] == [
        {"type": "play", "card": code} for code in ["5D", "AS", "9D"]]
    assert steps[3].event == {"type": "play", "card": "KH", "trick": {"winner": 2, "points": 1}}
    assert game.leader == game.turn == 2
    assert game.trick == ()
    assert game.taken_cards(2) == tuple(cards("5D 9D KH AS"))
    assert game.points_taken() == (0, 0, 1, 0)
    assert game.last_trick == (((0, card("5D")), (1, card("AS")), (2, card("9D")),
                                (3, card("KH"))), 2)
    assert game.view_for(None)["last_trick"] == {
        "plays": [{"player": 0, "card": "5D"}, {"player": 1, "card": "AS"},
                  {"player": 2, "card": "9D"}, {"player": 3, "card": "KH"}],
        "winner": 2,
    }


# Scoring and the end -------------------------------------------------------------------------


def test_a_deal_scores_hearts_and_the_queen_then_the_next_deal_is_dealt():
    game = position(["AH", "2C", "3C", "4C"], leader=0, deal=2, dealer=1, seed=21,
                    taken=["4H 5H", "QS 2H 3H", "", ""], totals=[10, 20, 30, 40])
    for p, code in enumerate(["AH", "2C", "3C", "4C"]):
        step = game.apply(p, Play(card(code)))
    assert step.event == {
        "type": "play", "card": "4C",
        "trick": {"winner": 0, "points": 1},
        "deal": {"number": 2, "points": [3, 15, 0, 0], "totals": [13, 35, 30, 40], "moon": None},
        "next_deal": {"number": 3, "pass": "across"},
    }
    assert step.outcome is None
    assert game.totals == (13, 35, 30, 40)
    # Deal 3: dealt by the player left of deal 2's dealer, from the match's Random.
    assert (game.deal, game.dealer, game.phase) == (3, 3, Phase.PASS)
    assert [game.hand(p) for p in range(4)] == expected_hands(random.Random(21), 3)
    view = game.view_for(None)
    assert view["taken"] == [0, 0, 0, 0] and view["last_trick"] is None
    assert view["totals"] == [13, 35, 30, 40] and not view["hearts_broken"]


def test_each_heart_is_one_point_and_the_queen_thirteen():
    assert sum(map(card_points, FULL_DECK)) == 26
    assert card_points(card("QS")) == 13
    assert all(card_points(c) == 1 for c in FULL_DECK if c.suit is Suit.HEARTS)
    assert sum(1 for c in FULL_DECK if card_points(c)) == 14


def test_shooting_the_moon_scores_26_to_each_other_player():
    all_but_ah = " ".join(f"{r}H" for r in "23456789TJQK") + " QS"
    game = position(["2C", "3C", "AH", "4C"], leader=2, hearts_broken=True,
                    taken=["", "", all_but_ah, ""], totals=[5, 6, 7, 8])
    for p, code in [(2, "AH"), (3, "4C"), (0, "2C"), (1, "3C")]:
        step = game.apply(p, Play(card(code)))
    assert step.event["trick"] == {"winner": 2, "points": 1}
    assert step.event["deal"] == {"number": 1, "points": [26, 26, 0, 26],
                                  "totals": [31, 32, 7, 34], "moon": 2}
    assert game.totals == (31, 32, 7, 34)


def test_the_match_ends_when_a_total_reaches_100_and_the_lowest_total_wins():
    game = position(["AH", "2C", "3C", "4C"], leader=0, deal=7, hearts_broken=True,
                    taken=["2H 3H 4H 5H 6H 7H 8H 9H TH", "", "", ""], totals=[90, 50, 40, 30])
    for p, code in enumerate(["AH", "2C", "3C", "4C"]):
        step = game.apply(p, Play(card(code)))
    outcome = Outcome(winner=3, scores=(100, 50, 40, 30), detail={"deals": 7, "tied": []})
    assert step.outcome == game.outcome() == outcome
    assert step.event["deal"] == {"number": 7, "points": [10, 0, 0, 0],
                                  "totals": [100, 50, 40, 30], "moon": None}
    assert "next_deal" not in step.event
    assert game.is_finished and game.phase is Phase.OVER
    assert game.to_act() == frozenset() and game.turn is None
    assert all(game.legal_moves(p) == [] for p in range(4))
    view = game.view_for(1)
    assert (view["phase"], view["winner"], view["scores"]) == ("over", 3, [100, 50, 40, 30])
    assert (view["turn"], view["leader"], view["hand"], view["totals"]) == (
        None, None, [], [100, 50, 40, 30])
    for p in range(4):
        with pytest.raises(GameFinished, match="^the match is over$"):
            game.apply(p, Play(card("5C")))
        with pytest.raises(GameFinished):
            game.bot_move(p)


def test_a_deal_that_leaves_every_total_below_100_does_not_end_the_match():
    game = position(["AH", "2C", "3C", "4C"], leader=0, hearts_broken=True,
                    taken=["2H 3H 4H 5H 6H 7H 8H 9H", "", "", ""], totals=[90, 50, 40, 30])
    for p, code in enumerate(["AH", "2C", "3C", "4C"]):
        step = game.apply(p, Play(card(code)))
    assert step.outcome is None and game.totals == (99, 50, 40, 30) and game.deal == 2


@pytest.mark.parametrize("first_dealer, totals, winner, tied", [
    # Counting from the first dealer's left: dealer 0 -> 1, 2, 3, 0.
    (0, [90, 60, 70, 60], 1, [1, 3]),
    (1, [90, 60, 70, 60], 3, [3, 1]),
    (2, [90, 60, 70, 60], 3, [3, 1]),
    (3, [90, 60, 70, 60], 1, [1, 3]),
    (0, [90, 80, 70, 60], 3, []),
])
def test_a_tie_for_the_lowest_total_goes_to_the_first_from_the_first_dealers_left(
        first_dealer, totals, winner, tied):
    # Deal 3: the dealer now is not the first dealer, who decides.
    game = position(["AH", "2C", "3C", "4C"], leader=0, deal=3, dealer=first_dealer,
                    hearts_broken=True, taken=["2H 3H 4H 5H 6H 7H 8H 9H TH", "", "", ""],
                    totals=totals)
    assert game.dealer == (first_dealer + 2) % 4
    for p, code in enumerate(["AH", "2C", "3C", "4C"]):
        game.apply(p, Play(card(code)))
    outcome = game.outcome()
    assert outcome.winner == winner
    assert outcome.detail == {"deals": 3, "tied": tied}


def test_a_moon_can_end_the_match():
    all_but_ah = " ".join(f"{r}H" for r in "23456789TJQK") + " QS"
    game = position(["AH", "2C", "3C", "4C"], leader=0, hearts_broken=True,
                    taken=[all_but_ah, "", "", ""], totals=[10, 80, 20, 30])
    for p, code in enumerate(["AH", "2C", "3C", "4C"]):
        step = game.apply(p, Play(card(code)))
    assert step.event["deal"]["moon"] == 0
    assert game.outcome().scores == (10, 106, 46, 56) and game.outcome().winner == 0


def test_a_whole_bot_match_scores_26_a_deal_and_ends_at_100():
    game = Hearts(4, seed=2024, dealer=1)
    deals = []
    while not game.is_finished:
        player = min(game.to_act())
        step = game.apply(player, game.bot_move(player))
        if "deal" in step.event:
            deals.append(step.event["deal"])
    totals = [0, 0, 0, 0]
    for number, deal in enumerate(deals, start=1):
        assert deal["number"] == number
        assert sum(deal["points"]) == (78 if deal["moon"] is not None else 26)
        totals = [t + p for t, p in zip(totals, deal["points"])]
        assert deal["totals"] == totals
        assert (max(totals) >= 100) == (number == len(deals))
    assert game.outcome().scores == tuple(totals)
    assert game.outcome().detail["deals"] == len(deals)
    assert totals[game.outcome().winner] == min(totals)


# Views ---------------------------------------------------------------------------------------


def test_views_during_the_pass_hide_other_hands_and_passes():
    game = Hearts(4, seed=12)
    chosen = Pass(game.hand(1)[-3:])
    game.apply(1, chosen)
    mine = [str(c) for c in chosen.cards]
    view = game.view_for(1)
    assert view == {
        "hand": [str(c) for c in game.hand(1)],
        "cards": [13, 10, 13, 13],
        "deal": 1, "dealer": 0, "pass": "left", "phase": "pass",
        "passed": [False, True, False, False],
        "passing": mine,
        "trick": [], "leader": None, "last_trick": None, "hearts_broken": False,
        "taken": [0, 0, 0, 0], "totals": [0, 0, 0, 0], "turn": None,
    }
    spectator = game.view_for(None)
    assert spectator == {k: v for k, v in view.items() if k not in ("hand", "passing")}
    other = game.view_for(2)
    assert "passing" not in other and other["hand"] == [str(c) for c in game.hand(2)]
    for viewer in [None, 0, 2, 3]:
        text = json.dumps(game.view_for(viewer))
        assert not any(f'"{c}"' in text for c in game.secret(1))
    revealed = game.revealed_view()
    assert revealed["hands"] == [[str(c) for c in game.hand(p)] for p in range(4)]
    assert revealed["passing"] == [None, mine, None, None]
    assert "hand" not in revealed and "received" not in revealed
    for viewer in [None, 0, 1, 2, 3]:
        assert_valid("view", game.view_for(viewer))
    assert_valid("view", revealed)


def test_cards_received_show_until_the_first_trick_is_complete():
    game = Hearts(4, seed=12)
    pass_all(game)
    for p in range(4):
        view = game.view_for(p)
        assert view["received"] == [str(c) for c in game.received(p)]
        assert "passing" not in view and "passed" not in view
        assert view["phase"] == "play" and view["turn"] == game.turn
    assert "received" not in game.view_for(None)
    for _ in range(3):
        game.apply(game.turn, game.bot_move(game.turn))
        assert "received" in game.view_for(0)
    game.apply(game.turn, game.bot_move(game.turn))
    assert all("received" not in game.view_for(p) for p in range(4))
    assert game.received(0) is not None  # still known to the game


def test_views_never_show_another_players_hand_during_the_play():
    game = Hearts(4, seed=13)
    pass_all(game)
    for _ in range(6):
        game.apply(game.turn, game.bot_move(game.turn))
    for viewer in [None, 0, 1, 2, 3]:
        text = json.dumps(game.view_for(viewer))
        for other in range(4):
            if other != viewer:
                assert not any(f'"{c}"' in text for c in game.secret(other))
    assert game.view_for(0)["trick"] == [{"player": p, "card": str(c)} for p, c in game.trick]


def test_view_for_a_non_player_raises():
    game = Hearts(4, seed=1)
    for bad in [4, -1, "0", True, 1.0]:
        with pytest.raises(ValueError):
            game.view_for(bad)


def test_views_events_and_moves_match_the_schemas_through_whole_matches():
    # A whole match of bots, then two deals of random legal moves.
    for seed, bots, deals in [(31, True, 99), (32, False, 2)]:
        game = Hearts(4, seed, dealer=seed % 4)
        chooser = random.Random(seed)
        for viewer in [None, 0, 1, 2, 3]:
            assert_valid("view", game.view_for(viewer))
        while not game.is_finished and game.deal <= deals:
            player = min(game.to_act())
            if bots:
                move = game.bot_move(player)
            else:
                move = chooser.choice(game.legal_moves(player))
            check_step_against_schemas(game, game.apply(player, move))


def test_the_schemas_refuse_what_the_game_never_writes():
    game = Hearts(4, seed=1)
    player_view = game.view_for(0)
    assert_invalid("view", {**game.view_for(None), "passing": ["2C", "3C", "4C"]})
    assert_invalid("view", {**player_view, "turn": 0})
    assert_invalid("view", {**player_view, "winner": 0})
    assert_invalid("view", {**player_view, "extra": 1})
    assert_invalid("view", {k: v for k, v in player_view.items() if k != "passed"})
    assert_invalid("view", {**game.revealed_view(), "hand": []})
    assert_invalid("move", {"type": "pass", "cards": ["2C", "2C", "3C"]})
    assert_invalid("move", {"type": "pass", "cards": ["2C", "3C"]})
    assert_invalid("move", {"type": "pass", "card": "2C"})
    assert_invalid("move", {"type": "play", "card": "10H"})
    assert_invalid("move", {"type": "play", "card": "QS", "cards": ["2C", "3C", "4C"]})
    assert_invalid("move", {"type": "take"})
    assert_invalid("event", {"type": "pass", "received": ["2C", "3C", "4C"]})
    assert_invalid("event", {"type": "play"})
    assert_invalid("event", {"type": "play", "card": "2C",
                             "next_deal": {"number": 2, "pass": "left"}})
    assert_valid("move", {"type": "pass", "cards": ["QS", "AH", "2C"]})
    assert_valid("move", {"type": "play", "card": "QS"})


# Moves on the wire ---------------------------------------------------------------------------


@pytest.mark.parametrize("move", [Play(c) for c in FULL_DECK] + [
    Pass.from_str("2C AH QS"), Pass(cards("AS KS QS")), Pass(cards("TH 9H 8D"))])
def test_moves_round_trip_through_json_text_and_repr(move):
    data = Hearts.move_to_json(move)
    assert Hearts.parse_move(json.loads(json.dumps(data))) == move
    assert eval(repr(move)) == move  # noqa: S307 - reads back as code, like python-chess
    assert_valid("move", data)


def test_pass_cards_are_sorted_in_display_order():
    move = Hearts.parse_move({"type": "pass", "cards": ["QS", "AH", "2C"]})
    assert move == Pass(cards("AH 2C QS")) == Pass(frozenset(cards("2C QS AH")))
    assert move.cards == tuple(cards("2C AH QS"))
    assert Hearts.move_to_json(move) == {"type": "pass", "cards": ["2C", "AH", "QS"]}
    assert repr(move) == "Pass.from_str('2C AH QS')" and str(move) == "2C AH QS"
    assert repr(Play(card("QS"))) == "Play.from_str('QS')"
    assert hash(move) == hash(Pass(cards("QS 2C AH")))


@pytest.mark.parametrize("data, text", [
    (None, "a move is a JSON object, not null"),
    (["play", "QS"], "a move is a JSON object, not an array"),
    ("play QS", "a move is a JSON object, not a string"),
    ({}, "a move needs a type: 'pass' or 'play'"),
    ({"type": "take"}, "unknown move type 'take': expected 'pass' or 'play'"),
    ({"type": "PLAY", "card": "QS"}, "unknown move type 'PLAY': expected 'pass' or 'play'"),
    ({"type": 1}, "unknown move type 1: expected 'pass' or 'play'"),
    ({"type": ["play"]}, "unknown move type ['play']: expected 'pass' or 'play'"),
    ({"type": "play"}, "a play move needs 'card'"),
    ({"type": "play", "card": "QS", "suit": "S"}, "unknown field 'suit' in a play move"),
    ({"type": "play", "cards": ["QS", "2C", "3C"]}, "unknown field 'cards' in a play move"),
    ({"type": "play", "card": "10H"},
     "card: bad card code '10H': expected rank (2-9 T J Q K A) then suit (C D H S)"),
    ({"type": "play", "card": 12}, "card: bad card code 12: expected rank"),
    ({"type": "pass"}, "a pass move needs 'cards'"),
    ({"type": "pass", "card": "QS"}, "unknown field 'card' in a pass move"),
    ({"type": "pass", "cards": "QS AH 2C"}, "cards: expected a list of 3 card codes"),
    ({"type": "pass", "cards": ["QS", "AH"]}, "cards: a pass is exactly 3 cards, not 2"),
    ({"type": "pass", "cards": ["QS", "AH", "2C", "3C"]},
     "cards: a pass is exactly 3 cards, not 4"),
    ({"type": "pass", "cards": ["QS", "QS", "2C"]}, "cards: a pass cannot hold a card twice: QS"),
    ({"type": "pass", "cards": ["QS", "qh", "2C"]}, "cards[1]: bad card code 'qh'"),
])
def test_parse_move_refuses_bad_data_with_a_clear_text(data, text):
    with pytest.raises(BadMove) as caught:
        Hearts.parse_move(data)
    assert str(caught.value).startswith(text)
    assert isinstance(caught.value, ValueError)


def test_move_values_check_their_parts():
    with pytest.raises(ValueError, match="exactly 3 cards, not 2"):
        Pass(cards("2C 3C"))
    with pytest.raises(ValueError, match="twice: 2C"):
        Pass(cards("2C 2C 3C"))
    with pytest.raises(TypeError):
        Pass("2C 3C 4C")
    with pytest.raises(TypeError):
        Pass(["2C", "3C", "4C"])
    with pytest.raises(TypeError):
        Play("QS")
    with pytest.raises(TypeError):
        Hearts.move_to_json({"type": "play", "card": "QS"})


# Errors --------------------------------------------------------------------------------------


def test_error_codes():
    assert [cls.code for cls in (NotYourTurn, NotInHand, IllegalMove, GameFinished)] == [
        "not_your_turn", "not_in_hand", "illegal_move", "game_finished"]
    assert all(issubclass(cls, RulesError)
               for cls in (NotYourTurn, NotInHand, IllegalMove, GameFinished))


def _mid_trick():
    return position(["2C QS", "9D 3C AH", "KD 4C 2H", "4D 8C 3H"], trick="5D", leader=0)


@pytest.mark.parametrize("player, move, error, text", [
    (2, Play(card("KD")), NotYourTurn, "it is not your turn"),
    (0, Play(card("2C")), NotYourTurn, "it is not your turn"),
    (1, Play(card("KD")), NotInHand, "you do not hold KD"),
    (1, Play(card("3C")), IllegalMove, "you must follow diamonds: cannot play 3C"),
    (1, Pass(cards("9D 3C AH")), IllegalMove,
     "cannot pass 3C 9D AH now: the cards are being played"),
])
def test_every_refused_move_names_its_input_and_changes_nothing(player, move, error, text):
    game = _mid_trick()
    before = state_of(game)
    with pytest.raises(error) as caught:
        game.apply(player, move)
    assert str(caught.value) == text
    assert caught.value.code == error.code
    with pytest.raises(error):
        game.check(player, move)
    assert state_of(game) == before
    # The text names no card beyond the move's own.
    named = set(move.cards) if isinstance(move, Pass) else {move.card}
    assert not any(str(c) in str(caught.value) for c in FULL_DECK if c not in named)


def test_refused_passes_change_nothing():
    game = Hearts(4, seed=2)
    game.apply(3, Pass(game.hand(3)[:3]))
    before = state_of(game)
    for player, move, error in [
        (3, Pass(game.hand(3)[:3]), NotYourTurn),
        (0, Pass(game.hand(1)[:3]), NotInHand),
        (0, Play(game.hand(0)[0]), IllegalMove),
    ]:
        with pytest.raises(error):
            game.apply(player, move)
        assert state_of(game) == before


def test_players_out_of_range_and_non_moves():
    game = _mid_trick()
    before = state_of(game)
    for bad in [4, -1, None, "1", True]:
        with pytest.raises(ValueError):
            game.apply(bad, Play(card("9D")))
        with pytest.raises(ValueError):
            game.legal_moves(bad)
        with pytest.raises(ValueError):
            game.bot_move(bad)
        with pytest.raises(ValueError):
            game.hand(bad)
        with pytest.raises(ValueError):
            game.secret(bad)
    with pytest.raises(TypeError):
        game.apply(1, card("9D"))
    with pytest.raises(TypeError):
        game.apply(1, {"type": "play", "card": "9D"})
    assert state_of(game) == before


# from_position -------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, message", [
    (dict(hands=["2C", "3C", "4C"]), "4 hands"),
    (dict(hands=["2C", "2C", "4C", "5C"], leader=0), "more than once"),
    (dict(hands=["2C 3C", "4C", "5C", "6C"], leader=0), "even"),
    (dict(hands=["2C", "3C", "4C", "5C"]), "leader"),
    (dict(hands=["2C", "3C", "4C", "5C"], leader=4), "leader"),
    (dict(hands=["2C", "3C", "4C", "5C"], leader=0, totals=[100, 0, 0, 0]), "totals"),
    (dict(hands=["2C", "3C", "4C", "5C"], leader=0, totals=[0, 0, 0]), "totals"),
    (dict(hands=["2C", "3C", "4C", "5C"], leader=0, deal=0), "deal"),
    (dict(hands=["2C", "3C", "4C", "5C"], leader=0, phase="over"), "over"),
    (dict(hands=["2C", "3C", "4C", "5C"], leader=0, phase="bidding"), "bidding"),
    (dict(hands=["2C", "3C", "4C", "5C"], leader=0, dealer=4), "dealer"),
    (dict(hands=["2H", "3C", "4C", "5C"], leader=0, taken=["3H", "", "", ""],
          hearts_broken=False), "broken"),
    (dict(hands=["2C", "3C", "4C", "5C"], leader=0, passes=[None] * 4), "pass phase"),
    (dict(hands=["", "3C", "4C", "5C"], trick="2C 6C 7C 8C", leader=0), "at most 3"),
    (dict(hands=["2C", "3C", "4C", "5C"], phase="pass"), "13 cards"),
    (dict(hands=fill("", "2C"), leader=0), "first trick"),
    (dict(hands=fill("2C"), leader=1), "first trick"),
    (dict(hands=["", "", "", ""], leader=0), "even"),
])
def test_from_position_refuses_impossible_positions(kwargs, message):
    with pytest.raises(ValueError, match=message):
        position(**kwargs)


def test_from_position_accepts_a_pass_in_progress_and_a_trick_in_progress():
    hands = fill("2C 3C 4C")
    game = position([hands[0], " ".join(hands[1].split()[3:]), hands[2], hands[3]],
                    phase="pass", deal=2,
                    passes=[None, " ".join(hands[1].split()[:3]), None, None])
    assert game.to_act() == {0, 2, 3} and game.pass_direction is PassDirection.RIGHT
    assert game.view_for(1)["passing"] == sorted(hands[1].split()[:3],
                                                 key=lambda s: card(s).index)
    game = position(["3C 4D", "5C 6D", "7C", "8C"], trick="9C TC", leader=2)
    assert game.turn == 0 and game.trick == ((2, card("9C")), (3, card("TC")))
    with pytest.raises(TypeError):
        Hearts.from_position([["2C"], ["3C"], ["4C"], ["5C"]], leader=0)


# The bot -------------------------------------------------------------------------------------


def test_bot_dumps_the_queen_of_spades_when_void():
    game = position(["2C", "QS AH", "9D 4C", "KD 5C"], trick="5D", leader=0)
    assert game.bot_move(1) == Play(card("QS"))


def test_bot_dumps_the_highest_heart_when_void_without_the_queen():
    game = position(["2C", "2H KH", "9D 4C", "KD 5C"], trick="5D", leader=0)
    assert game.bot_move(1) == Play(card("KH"))


def test_bot_dumps_high_spades_then_the_highest_card_when_void():
    game = position(["2C 3C", "AS 2S KC", "9D 4C 4S", "KD 5C 5S"], trick="5D", leader=0)
    assert game.bot_move(1) == Play(card("AS"))  # Q♠ is still out
    game = position(["2C 3C", "2S 3S KC", "9D 4C 4S", "KD 5C 5S"], trick="5D", leader=0)
    assert game.bot_move(1) == Play(card("KC"))


def test_bot_follows_with_the_highest_card_that_still_loses():
    game = position(["2C 2H", "9D 3D KD", "4D 4C 5H", "AD 5C 6H"], trick="TD", leader=0,
                    hearts_broken=True)
    assert game.bot_move(1) == Play(card("9D"))
    game = position(["2C 2H", "JD QD KD", "4D 4C 5H", "AD 5C 6H"], trick="TD", leader=0,
                    hearts_broken=True)
    assert game.bot_move(1) == Play(card("JD"))  # every card wins: the lowest


def test_bot_last_to_a_trick_without_points_wins_it_with_its_highest_card():
    game = position(["2C", "4C", "5C", "9D AD"], trick="TD 3D 4D", leader=0)
    assert game.bot_move(3) == Play(card("AD"))
    # With points in the trick it ducks.
    game = position(["2C", "4C", "5C", "9D AD"], trick="TD 3D 2H", leader=0)
    assert game.bot_move(3) == Play(card("9D"))


def test_bot_drops_the_queen_under_a_higher_spade_and_never_wins_with_it():
    game = position(["2C", "QS 3S", "4S 5C", "5S 6C"], trick="AS", leader=0)
    assert game.bot_move(1) == Play(card("QS"))
    game = position(["2C", "6C", "5C", "QS KS"], trick="4S 5S 6S", leader=0)
    assert game.bot_move(3) == Play(card("KS"))


def test_bot_leads_low_and_keeps_its_queen_guarded():
    game = position(["2S 3S QS 9D 5C", "2C 3C 4C 5D 6D", "4D 7C 8C 6S 7S", "8D TC JC 8S 9S"],
                    leader=0)
    assert game.bot_move(0) == Play(card("5C"))
    game = position(["AS 2D", "2C 3C", "4C 5C", "6C 7C"], leader=0)
    assert game.bot_move(0) == Play(card("2D"))  # A♠ would invite the queen
    game = position(["2H 9C", "2C 3C", "4C 5C", "6C 7C"], leader=0, hearts_broken=True)
    assert game.bot_move(0) == Play(card("9C"))  # no heart while another suit is there


def test_bot_passes_an_unguarded_queen_and_high_spades_then_high_hearts():
    hands = fill("QS AS 2S 3C 4C 5C 6D 7D 8D 9D TD 2H 3H")
    game = position(hands, phase="pass")
    assert game.bot_move(0) == Pass(cards("QS AS TD"))
    hands = fill("QS KS 2S 3C 4C 5C 6D 7D 8D 9D AH KH 3H")
    assert position(hands, phase="pass").bot_move(0) == Pass(cards("QS KS AH"))


def test_bot_keeps_a_guarded_queen_and_passes_high_hearts_then_high_cards():
    hands = fill("QS 2S 3S 4S AH KH 9C 8C 7C 6D 5D AD 3H")
    assert position(hands, phase="pass").bot_move(0) == Pass(cards("AH KH AD"))


def test_bot_moves_are_legal_and_deterministic():
    first, second = Hearts(4, seed=77), Hearts(4, seed=77)
    for _ in range(200):
        if first.is_finished:
            break
        player = min(first.to_act())
        move = first.bot_move(player)
        assert move == second.bot_move(player)
        assert move in first.legal_moves(player)
        first.apply(player, move)
        second.apply(player, move)
    assert state_of(first) == state_of(second)


def test_move_from_view_makes_the_bots_choice_from_a_view_alone():
    game = Hearts(4, seed=9)
    for player in range(4):
        assert Hearts.move_from_view(game.view_for(player)) == Hearts.move_to_json(
            game.bot_move(player))
    game.apply(0, game.bot_move(0))
    assert Hearts.move_from_view(game.view_for(0)) is None  # already chosen
    assert Hearts.move_from_view(game.view_for(None)) is None  # a spectator
    for code, position_args in [
        ("QS", (["2C", "QS AH", "9D 4C", "KD 5C"], "5D")),
        ("KH", (["2C", "2H KH", "9D 4C", "KD 5C"], "5D")),
        ("9D", (["2C 2H", "9D 3D KD", "4D 4C 5H", "AD 5C 6H"], "TD")),
    ]:
        hands, trick = position_args
        crafted = position(hands, trick=trick, leader=0)
        assert Hearts.move_from_view(crafted.view_for(1)) == {"type": "play", "card": code}
    # The first trick: only 2♣ may lead, and no points may follow.
    first = position(fill("", "", "2C"))
    assert Hearts.move_from_view(first.view_for(2)) == {"type": "play", "card": "2C"}
    finished = position(["AH", "2C", "3C", "4C"], leader=0, hearts_broken=True,
                        taken=["2H 3H 4H 5H 6H 7H 8H 9H TH", "", "", ""], totals=[90, 0, 0, 0])
    for p, code in enumerate(["AH", "2C", "3C", "4C"]):
        finished.apply(p, Play(card(code)))
    assert all(Hearts.move_from_view(finished.view_for(p)) is None for p in range(4))


def test_bot_refuses_out_of_turn():
    game = _mid_trick()
    with pytest.raises(NotYourTurn, match="^it is not your turn$"):
        game.bot_move(0)


# Replay and doctests -------------------------------------------------------------------------


def test_replay_reproduces_a_match():
    game = Hearts(4, seed=5, dealer=3)
    chooser = random.Random(5)
    moves = []
    for _ in range(150):
        player = chooser.choice(sorted(game.to_act()))
        move = chooser.choice(game.legal_moves(player))
        game.apply(player, move)
        moves.append((player, move))
    again = Hearts.replay(4, 5, 3, moves)
    assert state_of(again) == state_of(game)
    with pytest.raises(RulesError):
        Hearts.replay(4, 5, 3, moves + moves[-1:])


def test_module_doctests():
    result = doctest.testmod(hearts_module)
    assert result.attempted > 10 and result.failed == 0
