"""Reveal a finished game: replay its seed and moves to show every hand, as the API serves it.

Pure: imports only ``game_server.rules`` (no database, no clock). The input is a finished
game's record as ``GameHistory.game_record`` returns it (``game_server/storage/history.py``);
the output is that record with what was hidden during play filled in, for any registered game:
the position as dealt and at the end (the game's `revealed_view`, every hand face up) and each
move's event with nothing hidden.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from game_server.rules import GAMES, BadMove, RulesError
from game_server.rules.fairness import deck_commit

__all__ = ["reveal"]


def reveal(game_record: Mapping[str, Any], positions: bool = False) -> dict[str, Any]:
    """The record of a finished game, with every hand revealed.

    Adds ``deal`` (the game's revealed view right after the deal) and ``final`` (at the end);
    in both, players are numbered in game order and ``players`` gives their seats. Each entry
    of ``moves`` of kind ``"move"`` or ``"timeout"`` gets ``event``: what the move did, nothing hidden (the card
    taken, the cards passed...). Adds ``deck_reveals``: each deal's ``order`` and ``salt`` and
    the ``deck_commit`` they make (docs/fairness.md; null for a deal recorded without a salt).
    Every other field is kept. With `positions`, each of those entries also gets ``position``:
    the game's revealed view right after it (what a replay draws, for any game).

    Raises:
        ValueError: the game is not finished or not a registered game; a move cannot be
            replayed; or the replay does not end with the recorded winner and scores.
    """
    if game_record.get("status") != "finished":
        raise ValueError(f"game {game_record.get('id')} is not finished: nothing is revealed")
    rules = GAMES.get(game_record.get("game"))
    if rules is None:
        raise ValueError(f"cannot replay a game of {game_record.get('game')!r}")
    game_id = game_record.get("id")
    players: Sequence[int] = list(game_record["players"])
    dealer = _index(players, game_record["dealer"], "the dealer", game_id)
    game = rules(len(players), game_record["seed"], dealer)
    deal = game.revealed_view()
    # Each later deal of a match from the seed the table drew for it (none in older records:
    # the game's own generator goes on, as it did then).
    later_seeds = list(game_record.get("deal_seeds") or [])
    game.deal_seeds = lambda: later_seeds.pop(0) if later_seeds else None
    orders = [[str(card) for card in game.deck_order()]]

    moves = []
    for entry in game_record["moves"]:
        entry = dict(entry)
        # A `timeout` carries the move the bot made for a seat whose clock ran out.
        if entry["kind"] in ("move", "timeout") and entry.get("move") is not None:
            seq = entry.get("seq")
            player = _index(players, entry["seat"], f"the seat of move {seq}", game_id)
            try:
                step = game.apply(player, rules.parse_move(entry["move"]))
            except (RulesError, BadMove) as error:
                raise ValueError(f"game {game_id}: move {seq} does not replay: {error}") from None
            entry["event"] = dict(step.full())
            if positions:
                entry["position"] = {**game.revealed_view(), "players": list(players)}
            if game.deals() > len(orders):
                orders.append([str(card) for card in game.deck_order()])
        moves.append(entry)

    outcome = game.outcome()
    if outcome is None:
        raise ValueError(f"game {game_id}: the recorded moves do not finish the game")
    scores = {players[index]: score for index, score in enumerate(outcome.scores)}
    recorded = {seat["seat"]: seat["score"] for seat in game_record["seats"]}
    winner = players[outcome.winner]
    detail = dict(outcome.detail)
    if (winner != game_record["winner"] or scores != recorded
            or detail != (game_record.get("detail") or {})):
        raise ValueError(
            f"game {game_id}: the replay ends with winner {winner}, scores {scores}, detail "
            f"{detail}; the record says winner {game_record['winner']}, scores {recorded}, "
            f"detail {game_record.get('detail')}")

    revealed = dict(game_record)
    revealed["deal"] = {**deal, "players": list(players)}
    revealed["final"] = {**game.revealed_view(), "players": list(players)}
    revealed["moves"] = moves
    revealed["deck_reveals"] = _deck_reveals(orders, list(game_record.get("salts") or []))
    return revealed


def _deck_reveals(orders: list[list[str]], salts: list[str]) -> list[dict[str, Any]]:
    """Each deal's order and salt, and the commitment the table showed for it
    (docs/fairness.md); a deal dealt before commitments were made has none (null)."""
    reveals = []
    for number, order in enumerate(orders, start=1):
        salt = salts[number - 1] if number <= len(salts) else None
        reveals.append({"deal": number, "order": order, "salt": salt,
                        "deck_commit": deck_commit(order, salt) if salt else None})
    return reveals


def _index(players: Sequence[int], seat: Any, what: str, game_id: Any) -> int:
    try:
        return players.index(seat)
    except ValueError:
        raise ValueError(f"game {game_id}: {what} is seat {seat!r}, not a player") from None
