"""Reveal a finished game: replay its seed and moves to show every hand, as the API serves it.

Pure: imports only ``game_server.rules`` (no database, no clock). The input is a finished
game's record as ``GameHistory.game_record`` returns it (``game_server/storage/history.py``);
the output is that record with what was hidden during play filled in: the deal, the card of
every take, the turns that passed, and the hands at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from game_server.rules import CrazyEights, RulesError, Take, move_from_json

__all__ = ["reveal"]


def reveal(game_record: Mapping[str, Any]) -> dict[str, Any]:
    """The record of a finished game, with every hand revealed.

    Adds ``deal: {hands: [{seat, cards}], starter, suit, deck, turn}`` (each player's cards
    as dealt, in game order; the card turned up; the seat to move first) and ``hands: [{seat,
    cards}]`` (what each player held after the last move), and to each entry of ``moves`` of
    kind ``"move"``: ``card`` (for a take: the card taken), ``passes`` (seats whose turns
    passed by themselves right after it) and ``reshuffled``. Every other field is kept.

    Raises:
        ValueError: the game is not finished or not a game this module knows; a move cannot
            be replayed; or the replay does not end with the recorded winner and scores.
    """
    if game_record.get("status") != "finished":
        raise ValueError(f"game {game_record.get('id')} is not finished: nothing is revealed")
    if game_record.get("game") != CrazyEights.name:
        raise ValueError(f"cannot replay a game of {game_record.get('game')!r}")
    game_id = game_record.get("id")
    players: Sequence[int] = list(game_record["players"])
    dealer = _index(players, game_record["dealer"], "the dealer", game_id)
    game = CrazyEights(len(players), game_record["seed"], dealer)

    deal = {
        "hands": [{"seat": seat, "cards": [str(card) for card in game.hand(index)]}
                  for index, seat in enumerate(players)],
        "starter": str(game.top),
        "suit": game.suit.value,
        "deck": game.deck_size,
        "turn": players[game.turn],
    }
    moves = []
    for entry in game_record["moves"]:
        entry = dict(entry)
        if entry["kind"] == "move":
            seq = entry.get("seq")
            player = _index(players, entry["seat"], f"the seat of move {seq}", game_id)
            move = move_from_json(entry["move"])
            try:
                step = game.apply(player, move)
            except RulesError as error:
                raise ValueError(f"game {game_id}: move {seq} does not replay: {error}") from None
            if isinstance(move, Take):
                entry["card"] = str(step.card)
            entry["passes"] = [players[p] for p in step.passes]
            entry["reshuffled"] = step.reshuffled
        moves.append(entry)

    outcome = game.outcome()
    if outcome is None:
        raise ValueError(f"game {game_id}: the recorded moves do not finish the game")
    scores = {players[index]: score for index, score in enumerate(outcome.scores)}
    recorded = {seat["seat"]: seat["score"] for seat in game_record["seats"]}
    winner = players[outcome.winner]
    if (winner != game_record["winner"] or scores != recorded
            or outcome.blocked != bool(game_record["blocked"])):
        raise ValueError(
            f"game {game_id}: the replay ends with winner {winner}, scores {scores}, blocked "
            f"{outcome.blocked}; the record says winner {game_record['winner']}, scores "
            f"{recorded}, blocked {game_record['blocked']}")

    revealed = dict(game_record)
    revealed["deal"] = deal
    revealed["moves"] = moves
    revealed["hands"] = [{"seat": seat, "cards": [str(card) for card in outcome.hands[index]]}
                         for index, seat in enumerate(players)]
    return revealed


def _index(players: Sequence[int], seat: Any, what: str, game_id: Any) -> int:
    try:
        return players.index(seat)
    except ValueError:
        raise ValueError(f"game {game_id}: {what} is seat {seat!r}, not a player") from None
