"""Property tests of Hearts: whole matches with random moves (legal and not) or bots.

Every match must finish within a bounded number of moves; at every step the 52 cards are all
there once (hands + passes chosen + the trick + cards taken); each deal scores 26 points (78
with a moon); a refused move changes nothing; the bots' moves are legal; no view and no event
shows a card of another player's secret; and `Hearts.replay` rebuilds the match exactly.
"""

import json
import random
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from game_server.rules.cards import FULL_DECK
from game_server.rules.game import RULES_ERROR_CODES, RulesError
from game_server.rules.hearts import Hearts, Pass, Phase, Play, card_points

# A match ends after the deal in which a total reaches 100. Each deal adds 26 points among
# four players (or 78), so some total grows by at least 7 a deal: at most 15 deals of at most
# 4 passes and 52 plays.
MAX_MOVES = 15 * (4 + 52)

ALL_CARDS = set(FULL_DECK)
SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(0, 2**64 - 1)
dealers = st.integers(0, 3)

_CODE = re.compile(r'"([2-9TJQKA][CDHS])"')


def codes_in(data) -> set[str]:
    """Every card code written as a JSON string in `data`."""
    return set(_CODE.findall(json.dumps(data)))


def snapshot(game: Hearts):
    return ([game.view_for(p) for p in (None, 0, 1, 2, 3)], game.revealed_view(),
            game.to_act(), [game.secret(p) for p in range(4)], game.outcome())


def check_cards(game: Hearts, view: dict) -> None:
    """The 52 cards are all there, once: hands, chosen passes, the trick, the cards taken.
    `view` is the spectator's."""
    everything = [card for p in range(4) for card in game.hand(p)]
    everything += [card for p in range(4) for card in (game.pending_pass(p) or ())]
    everything += [card for _, card in game.trick]
    everything += [card for p in range(4) for card in game.taken_cards(p)]
    assert len(everything) == 52 and set(everything) == ALL_CARDS
    assert view["cards"] == [len(game.hand(p)) for p in range(4)]
    assert view["taken"] == [sum(map(card_points, game.taken_cards(p))) for p in range(4)]
    assert sum(view["taken"]) <= 26


def check_turns(game: Hearts) -> None:
    acting = game.to_act()
    for player in range(4):
        assert bool(game.legal_moves(player)) == (player in acting)
    if game.is_finished:
        assert not acting and game.phase is Phase.OVER
    elif game.phase is Phase.PLAY:
        assert acting == {game.turn}
    else:
        assert acting == {p for p in range(4) if game.pending_pass(p) is None} != set()


def check_views_hide_secrets(game: Hearts, views: dict) -> None:
    secrets = [{str(card) for card in game.secret(p)} for p in range(4)]
    assert not codes_in(views[None]) & set().union(*secrets)
    for viewer in range(4):
        seen = codes_in(views[viewer])
        others = set().union(*(secrets[p] for p in range(4) if p != viewer))
        assert not seen & others, (viewer, seen & others)


def check_bots(game: Hearts, views: dict) -> None:
    """The bot's move, and the view-only bot's, are legal for every player who may act."""
    for player in game.to_act():
        move = game.bot_move(player)
        game.check(player, move)  # raises if illegal
        if isinstance(move, Play):
            assert move in game.legal_moves(player)
        from_view = Hearts.move_from_view(views[player])
        game.check(player, Hearts.parse_move(from_view))
    assert Hearts.move_from_view(views[None]) is None


def check_step(game: Hearts, step, secrets_before: list[set[str]], given: list[set[str]]) -> None:
    """The public event shows no secret card; private versions go to the right players and
    show only what that player may know."""
    secrets_after = [{str(card) for card in game.secret(p)} for p in range(4)]
    # A card played was the player's secret until it showed.
    played = {str(step.move.card)} if isinstance(step.move, Play) else set()
    hidden = set().union(*secrets_before, *secrets_after) - played
    assert not codes_in(step.event) & hidden
    event = step.event
    if event["type"] == "pass":
        expected = set(range(4)) if event.get("exchanged") else {step.player}
        assert set(step.private) == expected
    else:
        assert step.private == {}
    for player, version in step.private.items():
        # What a player may know: their own cards, and the cards they passed this deal.
        allowed = secrets_before[player] | secrets_after[player] | given[player]
        assert codes_in(version) <= allowed
        assert version["type"] == event["type"]


def play_match(seed: int, dealer: int, chooser: random.Random, *, wild: float,
               cards=False, secrets=False):
    """Play a match to the end: each step a random legal move, or with probability `wild` a
    random move that may be refused (it must then change nothing). Checks at every step the
    cards and turns (`cards`), or the views, events and bots (`secrets`). Returns the game, the
    moves applied and every deal's part of the events."""
    game = Hearts(4, seed, dealer)
    moves, deals = [], []
    given: list[set[str]] = [set() for _ in range(4)]
    for _ in range(MAX_MOVES * 3):
        if game.is_finished:
            break
        if cards:
            check_cards(game, game.view_for(None))
            check_turns(game)
        if secrets:
            views = {viewer: game.view_for(viewer) for viewer in (None, 0, 1, 2, 3)}
            check_views_hide_secrets(game, views)
            check_bots(game, views)
        wild_move = chooser.random() < wild
        if wild_move:
            player = chooser.randrange(4)
            if chooser.random() < 0.5:
                move = Pass(chooser.sample(FULL_DECK, 3))
            else:
                move = Play(chooser.choice(FULL_DECK))
        else:
            player = chooser.choice(sorted(game.to_act()))
            move = chooser.choice(game.legal_moves(player))
        before = snapshot(game) if wild_move else None
        secrets_before = [{str(card) for card in game.secret(p)} for p in range(4)]
        try:
            step = game.apply(player, move)
        except RulesError as error:
            assert error.code in RULES_ERROR_CODES
            assert move not in game.legal_moves(player)
            assert snapshot(game) == before
            continue
        moves.append((player, move))
        if isinstance(move, Pass):
            given[player] = {str(card) for card in move.cards}
        if secrets:
            check_step(game, step, secrets_before, given)
        if "deal" in step.event:
            deals.append(step.event["deal"])
            given = [set() for _ in range(4)]
        assert len(moves) <= MAX_MOVES
    assert game.is_finished, "the match did not finish"
    check_cards(game, game.view_for(None))
    check_turns(game)
    return game, moves, deals


def check_scores(game: Hearts, deals) -> None:
    totals = [0, 0, 0, 0]
    for number, deal in enumerate(deals, start=1):
        assert deal["number"] == number
        if deal["moon"] is None:
            assert sum(deal["points"]) == 26
        else:
            assert deal["points"] == [0 if p == deal["moon"] else 26 for p in range(4)]
        totals = [t + p for t, p in zip(totals, deal["points"])]
        assert deal["totals"] == totals
        # The match goes on exactly while every total stays below 100.
        assert (max(totals) >= 100) == (number == len(deals))
    outcome = game.outcome()
    assert list(outcome.scores) == totals and outcome.detail["deals"] == len(deals)
    lowest = min(totals)
    assert totals[outcome.winner] == lowest
    tied = [p for p in range(4) if totals[p] == lowest]
    if len(tied) > 1:
        order = [(game.first_dealer + k) % 4 for k in range(1, 5)]
        assert outcome.detail["tied"] == [p for p in order if p in tied]
        assert outcome.winner == outcome.detail["tied"][0]
    else:
        assert outcome.detail["tied"] == []


@SETTINGS
@given(seed=seeds, dealer=dealers, choices=seeds)
def test_random_matches_finish_keep_every_card_and_score_26_a_deal(seed, dealer, choices):
    game, moves, deals = play_match(seed, dealer, random.Random(choices), wild=0.1, cards=True)
    check_scores(game, deals)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=seeds, dealer=dealers, choices=seeds)
def test_views_and_events_hide_secrets_and_bots_move_legally(seed, dealer, choices):
    play_match(seed, dealer, random.Random(choices), wild=0.0, secrets=True)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=seeds, dealer=dealers, choices=seeds, cut=st.floats(0, 1))
def test_replay_rebuilds_the_match_from_the_seed_and_moves(seed, dealer, choices, cut):
    game, moves, _ = play_match(seed, dealer, random.Random(choices), wild=0.0)
    assert snapshot(Hearts.replay(4, seed, dealer, moves)) == snapshot(game)
    # And any prefix: the same views as the match had at that point.
    prefix = moves[: int(cut * len(moves))]
    again = Hearts.replay(4, seed, dealer, prefix)
    step_by_step = Hearts(4, seed, dealer)
    for player, move in prefix:
        step_by_step.apply(player, move)
    assert snapshot(again) == snapshot(step_by_step)
    # Moves survive their JSON form.
    wired = [(p, Hearts.parse_move(json.loads(json.dumps(Hearts.move_to_json(m)))))
             for p, m in moves]
    assert wired == moves


@SETTINGS
@given(seed=seeds, dealer=dealers, order=st.permutations(range(4)))
def test_bot_matches_finish_with_legal_moves(seed, dealer, order):
    game = Hearts(4, seed, dealer)
    deals = []
    for _ in range(MAX_MOVES + 1):
        if game.is_finished:
            break
        # Passes come in any order; the bots' choices do not depend on it.
        player = min(game.to_act(), key=order.index)
        move = game.bot_move(player)
        assert move == game.bot_move(player)
        game.check(player, move)
        step = game.apply(player, move)
        if "deal" in step.event:
            deals.append(step.event["deal"])
    assert game.is_finished
    check_scores(game, deals)
