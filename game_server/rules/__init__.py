"""The rules layer: pure card-game logic, one module per game, and the registry of games.

Nothing here imports outside the standard library, does I/O, reads a clock or uses the global
`random` module; games take a seed. `GAMES` maps a game's protocol name to its class; adding a
game is writing its module and adding it to `_REGISTERED` (docs/games.md).
"""

from __future__ import annotations

from .cards import FULL_DECK, Card, Rank, Suit
from .crazy_eights import CrazyEights
from .game import (
    RULES_ERROR_CODES,
    BadMove,
    Game,
    GameFinished,
    IllegalMove,
    NotInHand,
    NotYourTurn,
    Outcome,
    RulesError,
    Step,
)
from .hearts import Hearts

_REGISTERED: tuple[type[Game], ...] = (CrazyEights, Hearts)

#: Games by the name the protocol uses (`create`'s `game` field), in the order the lobby offers
#: them.
GAMES: dict[str, type[Game]] = {game.name: game for game in _REGISTERED}


def catalogue() -> list[dict[str, object]]:
    """The registered games as the protocol lists them (``welcome.games``, ``/config.json``):
    name, title, the player range and the usual room size."""
    return [{"name": game.name, "title": game.title, "min": game.MIN_PLAYERS,
             "max": game.MAX_PLAYERS, "seats": game.DEFAULT_SEATS} for game in _REGISTERED]


def game_class(name: str) -> type[Game]:
    """The game called `name`.

    Raises:
        KeyError: no game has that name.
    """
    return GAMES[name]


__all__ = [
    "FULL_DECK",
    "GAMES",
    "RULES_ERROR_CODES",
    "BadMove",
    "Card",
    "CrazyEights",
    "Game",
    "GameFinished",
    "Hearts",
    "IllegalMove",
    "NotInHand",
    "NotYourTurn",
    "Outcome",
    "Rank",
    "RulesError",
    "Step",
    "Suit",
    "catalogue",
    "game_class",
]
