"""The rules layer: pure card-game logic (cards, moves, Crazy Eights, bot strategy).

Nothing here imports outside the standard library, does I/O, reads a clock or uses the global
`random` module; games take a seed. `GAMES` maps a game's protocol name to its class.
"""

from __future__ import annotations

from .bots import choose_move
from .cards import FULL_DECK, Card, Rank, Suit
from .crazy_eights import PILE_SHOWN, CrazyEights
from .game import (
    ERROR_CODES,
    PENALTY,
    Game,
    GameFinished,
    IllegalMove,
    Move,
    NotInHand,
    NotYourTurn,
    Outcome,
    Put,
    RulesError,
    Step,
    Take,
    hand_points,
    move_from_json,
    move_to_json,
    penalty,
)

#: Games by the name the protocol uses (`create`'s `game` field).
GAMES: dict[str, type[Game]] = {CrazyEights.name: CrazyEights}

__all__ = [
    "ERROR_CODES",
    "FULL_DECK",
    "GAMES",
    "PENALTY",
    "PILE_SHOWN",
    "Card",
    "CrazyEights",
    "Game",
    "GameFinished",
    "IllegalMove",
    "Move",
    "NotInHand",
    "NotYourTurn",
    "Outcome",
    "Put",
    "Rank",
    "RulesError",
    "Step",
    "Suit",
    "Take",
    "choose_move",
    "hand_points",
    "move_from_json",
    "move_to_json",
    "penalty",
]
