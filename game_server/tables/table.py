"""A table: one room's seats, spectators and game, and what each member may see.

Every change goes through a public method that checks, then changes, and returns the `Change`s
it made: the room's `seq` goes up by exactly one per change, and each change carries the event
and the view of every member who reads it (connected players and spectators). Each public call
is also recorded as an `Action` in `journal`, the form the move log keeps and `replay` reads.

The table knows no game's fields: it asks the game (a `rules.Game`) who may act, applies moves
through it, and passes its events and views on as payloads. It holds no connections and does no
I/O. Imports only the rules layer and `actions`.
"""

from __future__ import annotations

import pickle
from collections import deque
from typing import Any, Callable

from game_server.rules import GAMES, Game
from game_server.tables.actions import Action, Player, current_kind
from game_server.tables.changes import Change, Status, TableError
from game_server.tables.dealing import Dealing
from game_server.tables.seating import Seat, Seating

__all__ = ["Change", "Seat", "Status", "Table", "TableError"]

#: A room keeps the events of this many of its latest changes, for a player who rejoins with
#: `since` (docs/protocol.md, "Resuming"); an older gap gets the state alone. About 120 bytes
#: each (pickled, with every player's private version): 64 are under 8 KB a room, half a
#: minute of a four-player game.
RECENT_CHANGES = 64


class Table(Seating, Dealing):
    """One room and the games played in it.

    Membership changes come from `Seating`, dealing and moves from `Dealing`. A public method
    that refuses raises `TableError` or a `RulesError` before changing anything.
    """

    def __init__(self, room_id: str, name: str, game: str, seats: int,
                 seeds: Callable[[], int], seq: int = 0) -> None:
        self.rules: type[Game] = GAMES.get(game)  # type: ignore[assignment]
        if self.rules is None:
            raise TableError("bad_message", f"unknown game {game!r}")
        low, high = self.rules.MIN_PLAYERS, self.rules.MAX_PLAYERS
        if not low <= seats <= high:
            raise TableError("bad_message", f"{self.rules.title} is played with {low} to {high}"
                             f" players, not {seats}")
        self.id, self.name, self.game_kind = room_id, name, game
        self.seats: list[Seat | None] = [None] * seats
        self.spectators: set[int] = set()
        self.status = Status.WAITING
        self.seq = seq
        self.game: Game | None = None
        self.seed: int | None = None
        self.games_played = 0
        self.owner: int | None = None
        self.players: list[int] = []  # the room seat of each game player, in game order
        self._dealer_seat: int | None = None
        self._seeds = seeds
        self._result: dict[str, Any] | None = None
        #: Actions applied and not yet committed to the move log.
        self.journal: list[Action] = []
        # Committed actions, each pickled: bytes are not tracked by the cyclic garbage
        # collector, whose full collections pause ~0.6 µs per tracked object
        # (docs/performance.md). Read `history`.
        self._history: list[bytes] = []
        self._dealt: list[int] = []
        self._ended: dict[str, Any] | None = None
        #: The latest changes, each a pickled (seq, event, {user id: that user's private
        #: version}), for `events_since`.
        self._recent: deque[bytes] = deque(maxlen=RECENT_CHANGES)

    # --- queries -------------------------------------------------------------------------

    def seat_of(self, user_id: int) -> int | None:
        """The seat that belongs to this user (played by them or by a bot for them)."""
        for seat in self.seats:
            if seat is not None and seat.player is not None and seat.player.id == user_id:
                return seat.number
        return None

    def is_seated(self, user_id: int) -> bool:
        """True if this user plays here in person (not replaced by a bot)."""
        number = self.seat_of(user_id)
        return number is not None and self.seats[number].human

    @property
    def taken(self) -> int:
        return sum(seat is not None for seat in self.seats)

    @property
    def humans(self) -> int:
        return sum(seat is not None and seat.human for seat in self.seats)

    def summary(self) -> dict[str, Any]:
        """This room's entry in the lobby's room list."""
        return {"id": self.id, "name": self.name, "game": self.game_kind,
                "seats": len(self.seats), "players": self.taken,
                "spectators": len(self.spectators), "status": self.status.value}

    def to_act(self) -> list[int]:
        """The seats that may move now, in seat order."""
        if self.status is not Status.PLAYING:
            return []
        return sorted(self.players[player] for player in self.game.to_act())

    def bots_to_act(self) -> list[int]:
        """The seats played by bots that may move now."""
        return [number for number in self.to_act() if self.seats[number].bot]

    def player_of(self, seat: int | None) -> int | None:
        """The game player of a room seat (None: no seat, or not in the current game)."""
        if seat is None or self.game is None or seat not in self.players:
            return None
        return self.players.index(seat)

    def events_since(self, since: int, user_id: int | None) -> list[tuple[int, dict[str, Any]]]:
        """The (seq, event) of every change after `since`, oldest first, each as the user
        sees it: the private version only where the user played that seat when it happened
        (a seat taken later shows the public event). Empty when there is none, or when the
        room no longer keeps the change right after `since`.
        """
        missed = self.seq - since
        if missed <= 0 or missed > len(self._recent):
            return []
        changes = [pickle.loads(packed) for packed in list(self._recent)[-missed:]]
        if [seq for seq, _, _ in changes] != list(range(since + 1, self.seq + 1)):
            return []  # not one change after another: never guess
        return [(seq, private.get(user_id, event) if user_id is not None else event)
                for seq, event, private in changes]

    def view_for(self, seat: int | None) -> dict[str, Any]:
        """What the member in `seat` (None: a spectator) sees. Never another player's hand."""
        return self._view(self._public_view(), seat)

    def readers(self) -> list[int | None]:
        """Whose views a change needs: spectators (None) and every seat a connected person
        plays."""
        return [None] + [s.number for s in self.seats
                         if s is not None and s.human and s.connected]

    def _public_view(self) -> dict[str, Any]:
        view: dict[str, Any] = {
            "game": self.game_kind, "status": self.status.value, "owner": self.owner,
            "seats": [s.entry() if s is not None else None for s in self.seats],
            "spectators": len(self.spectators), "players": list(self.players),
            "to_act": self.to_act(), "game_state": None,
        }
        if self._result is not None:
            view["result"] = self._result
        return view

    def _view(self, public: dict[str, Any], seat: int | None) -> dict[str, Any]:
        view = {**public, "you": seat}
        if self.game is not None:
            # A seat taken after the last game ended has no hand in it: it sees what a
            # spectator sees.
            view["game_state"] = self.game.view_for(self.player_of(seat))
        return view

    # --- the public changes, each recorded as an Action ------------------------------------

    def sit(self, player: Player) -> list[Change]:
        """Give `player` the lowest free seat, or their own seat back.

        Raises:
            TableError: game_started, room_full.
        """
        return self._record("sit", self._sit(player), user=player)

    def watch(self, player: Player) -> list[Change]:
        return self._record("watch", self._watch(player), user=player)

    def unwatch(self, player: Player) -> list[Change]:
        return self._record("unwatch", self._unwatch(player), user=player)

    def leave(self, player: Player) -> list[Change]:
        """The player leaves: the seat is freed, or during a game a bot takes it at once."""
        return self._record("leave", self._leave(player), user=player)

    def set_connected(self, player: Player, connected: bool) -> list[Change]:
        name = "connect" if connected else "disconnect"
        return self._record(name, self._set_connected(player, connected), user=player)

    def expire(self, player: Player) -> list[Change]:
        """The grace period of a disconnected player ended: during a game a bot takes over
        the seat; otherwise the seat is freed."""
        return self._record("expire", self._expire(player), user=player)

    def add_bot(self, player: Player) -> list[Change]:
        """Raises: TableError (not_a_player, not_owner, game_started, room_full)."""
        return self._record("add_bot", self._add_bot(player), user=player)

    def start(self, player: Player) -> list[Change]:
        """Raises: TableError (not_a_player, not_owner, game_started, game_not_started)."""
        return self._record("start", self._start(player), user=player)

    def play(self, player: Player, move: Any) -> list[Change]:
        """Apply a move (a value of the game's own, from `rules.parse_move`) of the player's
        seat.

        Raises:
            TableError: not_a_player, game_not_started, game_finished.
            RulesError: not_your_turn, not_in_hand, illegal_move.
        """
        number = self._seat_in_person(player, "play")
        return self._record("move", self._move(number, move), seat=number, move=move)

    def play_bots(self) -> list[Change]:
        """Make the moves of every bot that may move now, one change each."""
        changes: list[Change] = []
        for number in self.bots_to_act():
            if number not in self.to_act():
                continue  # an earlier bot's move ended the game or the phase
            move = self.game.bot_move(self.player_of(number))
            changes += self._record("move", self._move(number, move), seat=number, move=move)
        return changes

    # --- the move log ------------------------------------------------------------------

    def committed(self, count: int | None = None) -> None:
        """The first `count` journal actions (default: all) are safely in the move log."""
        done = self.journal[:count] if count is not None else list(self.journal)
        self._history.extend(pickle.dumps(action, pickle.HIGHEST_PROTOCOL) for action in done)
        del self.journal[:len(done)]

    @property
    def history(self) -> list[Action]:
        """Every committed action of the room, oldest first (what `replay` rebuilds it from)."""
        return [pickle.loads(packed) for packed in self._history]

    def rebuild(self, keep: int = 0) -> None:
        """Undo every action not committed except the first `keep` of the journal, by
        replaying the committed ones (and those kept) afresh."""
        kept = self.journal[:keep]
        fresh = Table.replay(self.id, self.name, self.game_kind, len(self.seats),
                             self.history + kept, seeds=self._seeds)
        history = self._history
        self.__dict__.update(fresh.__dict__)
        self._history, self.journal = history, kept

    @classmethod
    def replay(cls, room_id: str, name: str, game: str, seats: int, actions: list[Action],
               seeds: Callable[[], int] | None = None) -> Table:
        """Rebuild a room from its actions; the result's history is `actions`.

        Games dealt during the replay use the seeds the actions recorded; later games use
        `seeds` (by default fresh random seeds).

        Raises:
            ValueError: the actions do not replay to the seqs they record.
        """
        from game_server.tables.replay import replay_into
        if seeds is None:
            from game_server.tables.lobby import random_seed
            seeds = random_seed
        table = cls(room_id, name, game, seats, seeds=seeds)
        replay_into(table, actions)
        table._history = [pickle.dumps(action, pickle.HIGHEST_PROTOCOL) for action in actions]
        return table

    def _record(self, name: str, changes: list[Change], user: Player | None = None,
                seat: int | None = None, move: Any = None) -> list[Change]:
        if changes:
            self.journal.append(Action(
                seq=self.seq, kind=current_kind(name), game=self.games_played,
                user=user, seat=seat,
                move=self.rules.move_to_json(move) if move is not None else None,
                seeds=tuple(self._dealt), started=self._started_record(),
                finished=self._ended))
        self._dealt.clear()
        self._ended = None
        return changes

    def _started_record(self) -> dict[str, Any] | None:
        if not self._dealt:
            return None
        return {"number": self.games_played, "seed": self.seed, "dealer": self._dealer_seat,
                "seats": [{"seat": s.number, "user": s.player.id if s.player else None,
                           "bot": s.bot} for s in self.seats if s is not None]}

    def __repr__(self) -> str:
        return (f"<Table {self.id} {self.game_kind} {self.status.value} seq={self.seq} "
                f"seats={self.taken}/{len(self.seats)}>")

