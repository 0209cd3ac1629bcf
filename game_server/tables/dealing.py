"""Games at a table: dealing, moves, the end of a game, and the views each change carries.

`Dealing` holds the game changes of `Table` (in `table.py`, which records each as an action).
The game itself is a `rules.Game`, found by name in the registry: this module asks it who may
act, applies moves through it (which check them, once) and passes its events and views on as
payloads; it never reads a game's own fields.

Imports only the rules layer, `actions` and `changes`.
"""

from __future__ import annotations

import pickle

from typing import TYPE_CHECKING, Any

from game_server.rules.fairness import deck_commit
from game_server.tables.actions import Player
from game_server.tables.changes import Change, Status, TableError

if TYPE_CHECKING:
    from game_server.rules import Outcome
    from game_server.tables.table import Table

__all__ = ["Dealing"]


class Dealing:
    """Game changes of a `Table` (a mixin: `self` is the table)."""

    def _start(self: Table, player: Player) -> list[Change]:
        self._require_owner(player)
        if self.status is Status.PLAYING:
            raise TableError("game_started")
        if self.taken < self.rules.MIN_PLAYERS:
            raise TableError("game_not_started", f"{self.rules.title} needs at least "
                             f"{self.rules.MIN_PLAYERS} players.")
        return [self._deal()]

    def _deal(self: Table) -> Change:
        self.players = [s.number for s in self.seats if s is not None]
        # Seat 0 (or the lowest seat taken) deals the first game; after that the deal moves
        # one seat on from the last dealer, skipping empty seats.
        if self._dealer_seat is None:
            dealer_seat = self.players[0]
        else:
            dealer_seat = next((s for s in self.players if s > self._dealer_seat),
                               self.players[0])
        self._dealer_seat = dealer_seat
        self.seed = self._seeds()
        self._dealt.append(self.seed)
        self.game = self.rules(len(self.players), self.seed, self.players.index(dealer_seat))
        self.game.deal_seeds = self._later_deal_seed
        self._began = True
        self._rematch_dealt()
        self._deals = []
        self._commit_deal()
        self.games_played += 1
        self.status = Status.PLAYING
        self._result = None
        if self.clock is not None:
            self.clock.deal()
        return self._change({"type": "start", "dealer": dealer_seat})

    def _later_deal_seed(self: Table) -> int | None:
        """A fresh seed for a later deal of a match (`Game.deal_seeds`), recorded with the
        action; on replay, the one the action recorded (None for a log without one)."""
        if self._deal_seed_feed is not None:
            return self._deal_seed_feed()
        seed = self._seeds()
        self._dealt.append(seed)
        return seed

    def _commit_deal(self: Table) -> None:
        """Commit to the order of the deal just dealt (docs/fairness.md): a fresh salt, kept
        secret until the deal ends. A deal replayed from a log that recorded no salt has no
        commitment."""
        salt = self._salts()
        order = [str(card) for card in self.game.deck_order()]
        if salt is not None:
            self._new_salts.append(salt)
        self._deals.append({"deal": self.game.deals(), "order": order, "salt": salt,
                            "deck_commit": deck_commit(order, salt) if salt else None})

    def _move(self: Table, number: int, move: Any) -> list[Change]:
        if self.status is Status.WAITING:
            raise TableError("game_not_started")
        if self.status is Status.FINISHED:
            raise TableError("game_finished")
        player = self.player_of(number)
        if player is None:
            raise TableError("not_a_player", "Your seat is not in this game.")
        deals = self.game.deals()
        step = self.game.apply(player, move)  # checks the move, then makes it
        if self.game.deals() != deals:
            self._commit_deal()  # the move ended a deal of a match and dealt the next
        if self.clock is not None:
            self.clock.moved(number, self.now)
        event = {"type": "move", "seat": number, "move": dict(step.event)}
        private = {self.players[p]: {**event, "move": dict(version)}
                   for p, version in step.private.items()}
        if step.outcome is not None:
            self._finish(step.outcome)
        return [self._change(event, private)]

    def _finish(self: Table, outcome: Outcome) -> None:
        self.status = Status.FINISHED
        scores: list[int | None] = [None] * len(self.seats)
        for index, number in enumerate(self.players):
            scores[number] = outcome.scores[index]
        winner = self.players[outcome.winner]
        self._result = {"winner": winner, "scores": scores, "detail": dict(outcome.detail)}
        self._rematch_finished(scores)
        self._ended = {"number": self.games_played, "winner": winner, "scores": scores,
                       "detail": dict(outcome.detail)}

    def _change(self: Table, event: dict[str, Any],
                private: dict[int, dict[str, Any]] | None = None) -> Change:
        """Count one change and make the views of everyone who reads it, as they are now."""
        self.seq += 1
        if self.clock is not None:
            self.clock.follow(self._running_clocks(), self.now)
        public = self._public_view()
        views = {seat: self._view(public, seat) for seat in self.readers()}
        private = private or {}
        # Private versions kept by user, not seat: whoever sits in a seat later never gets
        # them. Pickled, like `_history`: bytes add nothing to the cyclic collector's work.
        self._recent.append(pickle.dumps((self.seq, event, {
            self.seats[seat].player.id: version for seat, version in private.items()
            if self.seats[seat] is not None and self.seats[seat].player is not None
            and self.seats[seat].player.id is not None}), pickle.HIGHEST_PROTOCOL))
        change = Change(self.seq, event, views, private)
        self._watched(change)  # the public log; what a delayed room's spectators get now
        return change
