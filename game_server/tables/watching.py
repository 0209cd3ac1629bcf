"""What spectators of a room see: its spectator policy, the delay, and the public log of the game.

A room is created with a policy (`create`'s `spectators`, kept in its `open@1` options):

- ``"public"`` (the default): spectators get every change as it happens, with the spectator's
  view (counts and the pile or trick, never a hand);
- ``"none"``: nobody may watch (`no_spectators`);
- ``"delayed"``: while a game runs, spectators get each change only once `spectator_delay` more
  moves have been made after it, so that a spectator cannot tell a player what just happened.
  Their states come in order with the seqs they had, just later; the end of a game (and
  anything outside a game) is shown at once, with every change held until then.

Whatever the policy, a spectator who arrives while a game runs (or after it ended) gets the
public log of that game first: the events everyone was told, from the deal on (never a private
version), up to what the policy lets them see.

`Watching` is a mixin of `Table` (in `table.py`); it is fed every change by `Table._change`, so a
replayed room holds back exactly what the live one did. Imports only `changes`.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from game_server.tables.changes import Change, Status, TableError

if TYPE_CHECKING:
    from game_server.tables.table import Table

__all__ = ["DEFAULT_DELAY", "MAX_DELAY", "POLICIES", "Watching"]

#: The spectator policies a room can have.
POLICIES = ("none", "public", "delayed")
#: Moves a delayed room's spectators are behind, unless the room says otherwise: about one
#: round of a four-player game.
DEFAULT_DELAY = 3
MAX_DELAY = 20


class Watching:
    """Spectator policy and public log of a `Table` (a mixin: `self` is the table)."""

    def _init_watching(self: Table) -> None:
        self.spectator_policy = "public"
        self.spectator_delay = DEFAULT_DELAY
        self._game_moves = 0  # moves made in the current game
        # Changes held back from a delayed room's spectators: (moves made when it was made,
        # seq, public event, spectator's view).
        self._held: deque[tuple[int, int, dict[str, Any], dict[str, Any]]] = deque()
        # What a delayed room's spectators see now: (seq, spectator's view); None: the live one.
        self._shown: tuple[int, dict[str, Any]] | None = None
        # The public event of every change since the current (or last) game was dealt.
        self._public_log: list[tuple[int, dict[str, Any]]] = []

    @staticmethod
    def _check_spectators(options: dict[str, Any]) -> None:
        """Raises: TableError (bad_message) for a policy or delay that is not offered."""
        policy = options.get("spectators", "public")
        if policy not in POLICIES:
            raise TableError("bad_message", f"spectators must be one of {', '.join(POLICIES)}")
        delay = options.get("spectator_delay", DEFAULT_DELAY)
        if (isinstance(delay, bool) or not isinstance(delay, int)
                or not 1 <= delay <= MAX_DELAY):
            raise TableError("bad_message", f"spectator_delay must be 1-{MAX_DELAY} moves")
        if "spectator_delay" in options and policy != "delayed":
            raise TableError("bad_message", "spectator_delay needs spectators: delayed")

    def _set_spectators(self: Table, options: dict[str, Any]) -> None:
        self.spectator_policy = options.get("spectators", "public")
        self.spectator_delay = options.get("spectator_delay", DEFAULT_DELAY)

    def _watched(self: Table, change: Change) -> None:
        """Keep the change's public event in the log and, in a delayed room, hold the
        spectators' copy back: `change.released` is what they get now instead (oldest
        first)."""
        if change.event.get("type") == "start":
            self._public_log, self._game_moves = [], 0
        if self.game is not None:
            self._public_log.append((change.seq, change.event))
        if change.event.get("type") == "move":
            self._game_moves += 1
        if self.spectator_policy != "delayed":
            return
        self._held.append((self._game_moves, change.seq, change.event, change.views[None]))
        released = []
        while self._held and (self.status is not Status.PLAYING or self._held[0][0]
                              <= self._game_moves - self.spectator_delay):
            _, seq, event, view = self._held.popleft()
            released.append((seq, event, view))
            self._shown = (seq, view)
        change.released = released

    def spectator_state(self: Table) -> tuple[int, dict[str, Any]]:
        """The seq and view that spectators see now (in a delayed room, behind the room)."""
        if self.spectator_policy == "delayed" and self._shown is not None:
            return self._shown
        if self.spectator_policy == "delayed" and self._held:
            # Nothing released since the room opened: the room as it was before it.
            return self._held[0][1] - 1, self._before_view()
        return self.seq, self.view_for(None)

    def _before_view(self: Table) -> dict[str, Any]:
        """A spectator's view of the room before anything was shown: an empty, waiting room
        of this game (only a delayed room whose first changes are all still held)."""
        return {"game": self.game_kind, "status": "waiting", "owner": None,
                "seats": [None] * len(self.seats), "spectators": 0, "players": [],
                "to_act": [], "game_state": None, "you": None}

    def public_log(self, until: int | None = None) -> list[tuple[int, dict[str, Any]]]:
        """The (seq, public event) of each change of the current (or last) game, from its deal
        on, up to seq `until` (None: all)."""
        return [(seq, event) for seq, event in self._public_log
                if until is None or seq <= until]
