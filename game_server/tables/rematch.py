"""Rematches: after a game, the same seats play again once every person seated has asked
(bots always agree), or when the room's owner deals with `start` anyway; and the running totals of a room whose game
is one deal (Crazy Eights), added up over its rematches.

A game that is itself a match of deals (`Game.MATCH`: Hearts adds up its deals' points to 100)
keeps its own totals in its view; for the others the table keeps `totals`, by seat, from the
results of the games the same people played in a row, and starts them again when someone else
sits down or a seat is freed.

`Rematching` is a mixin of `Table` (in `table.py`, which records `rematch` as an action of its
own, ``rematch@1``, so a restart in the middle of asking replays the votes). Imports only
`actions` and `changes`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from game_server.tables.actions import Player
from game_server.tables.changes import Change, Status, TableError

if TYPE_CHECKING:
    from game_server.tables.table import Table

__all__ = ["Rematching"]


class Rematching:
    """Rematch votes and running totals of a `Table` (a mixin: `self` is the table)."""

    def _init_rematch(self: Table) -> None:
        self._rematch_votes: dict[int, int] = {}  # seat -> the user there who asked
        self._totals: list[int | None] | None = None  # running totals by seat
        self._totals_games = 0
        self._totals_people: tuple[Any, ...] | None = None  # who was seated for them

    def _rematch(self: Table, player: Player) -> list[Change]:
        number = self._seat_in_person(player, "ask for a rematch")
        if self.status is Status.PLAYING:
            raise TableError("game_started", "The game is still being played.")
        if self.status is Status.WAITING or self.game is None:
            raise TableError("game_not_started", "There has been no game to play again.")
        # The owner asks like everyone; they can also deal at once with `start`.
        if self._rematch_votes.get(number) == player.id:
            return []
        self._rematch_votes[number] = player.id
        changes = [self._change({"type": "rematch", "seat": number})]
        if not self._waiting_for():
            changes.append(self._deal())  # everyone agreed (bots always do)
        return changes

    def _waiting_for(self: Table) -> list[int]:
        """The seats of the people who have not asked for a rematch (yet)."""
        return [s.number for s in self.seats if s is not None and s.human
                and self._rematch_votes.get(s.number) != s.player.id]

    def _rematch_dealt(self: Table) -> None:
        """A new game was dealt: the votes are spent; the totals go on only if the same people
        sit in the same seats as for the games they count."""
        self._rematch_votes = {}
        people = self._people()
        if people != self._totals_people:
            self._totals, self._totals_games, self._totals_people = None, 0, people

    def _rematch_finished(self: Table, scores: list[int | None]) -> None:
        """A game ended with `scores` by seat: add them to the running totals (games that are
        not a match of their own)."""
        if self.rules.MATCH:
            return
        totals = self._totals or [None] * len(self.seats)
        self._totals = [None if score is None else (total or 0) + score
                        for total, score in zip(totals, scores)]
        self._totals_games += 1

    def _people(self: Table) -> tuple[Any, ...]:
        return tuple((s.number, s.player.id if s.player else None) if s is not None else None
                     for s in self.seats)

    def _rematch_view(self: Table) -> dict[str, Any]:
        view: dict[str, Any] = {}
        if self._rematch_votes and self.status is Status.FINISHED:
            waiting = self._waiting_for()
            view["rematch"] = sorted(seat for seat, user in self._rematch_votes.items()
                                     if self.seats[seat] is not None
                                     and self.seats[seat].player is not None
                                     and self.seats[seat].player.id == user
                                     and seat not in waiting)
        if self._totals is not None and self._totals_games >= 2:
            # A running total says something once a rematch has been played to its end.
            view["totals"] = {"games": self._totals_games, "scores": list(self._totals)}
        return view
