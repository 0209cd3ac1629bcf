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
import secrets
from collections import deque
from typing import Any, Callable

from game_server.rules import GAMES, Game
from game_server.rules.fairness import SALT_BYTES
from game_server.tables.actions import Action, Player, current_kind
from game_server.tables.changes import Change, Status, TableError
from game_server.tables.clock import ClockSettings, TurnClock
from game_server.tables.chat import Chatting
from game_server.tables.dealing import Dealing
from game_server.tables.seating import Seat, Seating
from game_server.tables.rematch import Rematching
from game_server.tables.watching import Watching

__all__ = ["Change", "Seat", "Status", "Table", "TableError"]

#: A room keeps the events of this many of its latest changes, for a player who rejoins with
#: `since` (docs/protocol.md, "Resuming"); an older gap gets the state alone. About 120 bytes
#: each (pickled, with every player's private version): 64 are under 8 KB a room, half a
#: minute of a four-player game.
RECENT_CHANGES = 64


def new_salt() -> str:
    """A fresh salt for a deal's deck commitment: 32 bytes from the operating system, as hex."""
    return secrets.token_hex(SALT_BYTES)


class Table(Seating, Dealing, Chatting, Watching, Rematching):
    """One room and the games played in it.

    Membership changes come from `Seating`, dealing and moves from `Dealing`. A public method
    that refuses raises `TableError` or a `RulesError` before changing anything.
    """

    def __init__(self, room_id: str, name: str, game: str, seats: int,
                 seeds: Callable[[], int], seq: int = 0,
                 salts: Callable[[], str | None] | None = None) -> None:
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
        # Deck commitments (docs/fairness.md): where salts come from, the salts this action
        # drew, and each deal of the current game as {"deal", "order", "salt", "deck_commit"}.
        self._salts: Callable[[], str | None] = salts or new_salt
        self._new_salts: list[str] = []
        self._deals: list[dict[str, Any]] = []
        self._began = False  # this action dealt a new game
        self._deal_seed_feed: Callable[[], int | None] | None = None  # set while replaying
        self._ended: dict[str, Any] | None = None
        #: The latest changes, each a pickled (seq, event, {user id: that user's private
        #: version}), for `events_since`.
        self._recent: deque[bytes] = deque(maxlen=RECENT_CHANGES)
        #: Chat rules (`Chatting`): spectators talk to players during games too; mutes.
        self.spectator_chat = False
        self._mutes: dict[int, int] = {}
        #: The room's turn clock (None: none); `now` is the time of the change being made,
        #: set by the engine live and from each action's `clock.at` on replay.
        self.clock: TurnClock | None = None
        self.now = 0.0
        #: A quick-play room (docs/protocol.md, "Quick play").
        self.quick = False
        #: Who may watch, and what spectators see when (`Watching`, tables/watching.py).
        self._init_watching()
        #: Rematch votes and running totals (`Rematching`, tables/rematch.py).
        self._init_rematch()

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
        summary = {"id": self.id, "name": self.name, "game": self.game_kind,
                   "seats": len(self.seats), "players": self.taken,
                   "spectators": len(self.spectators), "status": self.status.value}
        if self.spectator_policy != "public":  # absent: public
            summary["spectator_policy"] = self.spectator_policy
            if self.spectator_policy == "delayed":
                summary["spectator_delay"] = self.spectator_delay
        # Two rooms may share a name: the lobby tells them apart by their owner.
        owner = self.seats[self.owner] if self.owner is not None else None
        if owner is not None and owner.player is not None:
            summary["owner_name"] = owner.player.name
        if self.quick:
            summary["quick"] = True
        return summary

    def fill_with_bots(self) -> list[Change]:
        """A quick-play room that waited long enough: bots take its empty seats, in the
        owner's name (recorded as the owner's `add_bot`s), and the game starts."""
        if self.status is not Status.WAITING or self.owner is None:
            return []
        owner = self.seats[self.owner].player
        changes: list[Change] = []
        while self.taken < len(self.seats):
            changes += self.add_bot(owner)
        return changes

    def to_act(self) -> list[int]:
        """The seats that may move now, in seat order."""
        if self.status is not Status.PLAYING:
            return []
        return sorted(self.players[player] for player in self.game.to_act())

    def bots_to_act(self) -> list[int]:
        """The seats played by bots that may move now (a seat the clock marked away too)."""
        away = self.clock.away if self.clock is not None else ()
        return [number for number in self.to_act()
                if self.seats[number].bot or number in away]

    def clock_deadlines(self) -> dict[int, float]:
        """Seat -> when it times out, for each seat whose turn clock runs."""
        return self.clock.deadlines() if self.clock is not None else {}

    def _running_clocks(self) -> list[int]:
        """The seats whose clocks run: to act, played by a person, not away."""
        return [number for number in self.to_act()
                if self.seats[number].human and number not in self.clock.away]

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
        if self.spectator_chat:
            view["spectator_chat"] = True
        if self.spectator_policy != "public":
            view["spectator_policy"] = self.spectator_policy
            if self.spectator_policy == "delayed":
                view["spectator_delay"] = self.spectator_delay
        muted = self.muted()
        if muted:
            view["muted"] = muted
        if self._deals:
            view.update(self._deck_view())
        view.update(self._rematch_view())
        if self.clock is not None:
            view["clock"] = self.clock.view(self.now)
        return view

    def _deck_view(self) -> dict[str, Any]:
        """The current (or last) deal's commitment; once the game is over, the order and salt
        of each of its deals. A match's earlier deals stay closed until the match ends: their
        cards are the same 52 codes that the hands hold now."""
        view: dict[str, Any] = {}
        if self._deals[-1]["deck_commit"] is not None:
            view["deck_commit"] = self._deals[-1]["deck_commit"]
        # Deals replayed from a log written before commitments were made have none to show.
        ended = [dict(deal) for deal in self._deals if deal["salt"] is not None]
        if self.game.is_finished and ended:
            view["deck_reveals"] = ended
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
        changes = self._add_bot(player)
        name = self.seats[changes[0].event["seat"]].name if changes else None
        return self._record("add_bot", changes, user=player, bot_name=name)

    def start(self, player: Player) -> list[Change]:
        """Raises: TableError (not_a_player, not_owner, game_started, game_not_started)."""
        return self._record("start", self._start(player), user=player)

    def rematch(self, player: Player) -> list[Change]:
        """The player asks for a rematch after a game: the next game is dealt, to the same
        seats, once every person seated has asked (the owner can also `start` it).

        Raises:
            TableError: not_a_player, game_started (a game runs), game_not_started (none yet).
        """
        return self._record("rematch", self._rematch(player), user=player)

    def play(self, player: Player, move: Any) -> list[Change]:
        """Apply a move (a value of the game's own, from `rules.parse_move`) of the player's
        seat.

        Raises:
            TableError: not_a_player, game_not_started, game_finished.
            RulesError: not_your_turn, not_in_hand, illegal_move.
        """
        number = self._seat_in_person(player, "play")
        changes = self._record("move", self._move(number, move), seat=number, move=move)
        if self.clock is not None and number in self.clock.away:
            # Any move of their own brings an away player back.
            changes += self._record("back", self._back(number), user=player, seat=number)
        return changes

    def open(self, player: Player, options: dict[str, Any]) -> list[Change]:
        """Set a new room's options (`clock`, `quick`) and seat its first player, as one
        action.

        Raises:
            TableError: bad_message for options out of bounds.
        """
        self._check_options(options)
        return self._record("open", self._open(player, options), user=player,
                            options=options)

    def time_out(self, number: int) -> list[Change]:
        """The seat's turn clock ran out: its bank is spent and the bot moves for it."""
        move = self.game.bot_move(self.player_of(number))
        return self._record("timeout", self._time_out(number, move), seat=number, move=move)

    def back(self, player: Player) -> list[Change]:
        """The player the clock marked away is back (nothing changes if they were not away).

        Raises:
            TableError: not_a_player.
        """
        number = self._seat_in_person(player, "do that")
        return self._record("back", self._back(number), user=player, seat=number)

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
                             self.history + kept, seeds=self._seeds, salts=self._salts)
        history = self._history
        self.__dict__.update(fresh.__dict__)
        if self.game is not None:
            self.game.deal_seeds = self._later_deal_seed  # bound to this table, not `fresh`
        self._history, self.journal = history, kept

    @classmethod
    def replay(cls, room_id: str, name: str, game: str, seats: int, actions: list[Action],
               seeds: Callable[[], int] | None = None,
               salts: Callable[[], str | None] | None = None) -> Table:
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
        table = cls(room_id, name, game, seats, seeds=seeds, salts=salts)
        replay_into(table, actions)
        table._history = [pickle.dumps(action, pickle.HIGHEST_PROTOCOL) for action in actions]
        return table

    def _record(self, name: str, changes: list[Change], user: Player | None = None,
                seat: int | None = None, move: Any = None,
                options: dict[str, Any] | None = None,
                bot_name: str | None = None) -> list[Change]:
        if changes:
            self.journal.append(Action(
                seq=self.seq, kind=current_kind(name, bool(self._dealt or self._new_salts)),
                game=self.games_played,
                user=user, seat=seat,
                move=self.rules.move_to_json(move) if move is not None else None,
                seeds=tuple(self._dealt), started=self._started_record(),
                finished=self._ended, options=options, clock=self._clock_record(seat),
                bot_name=bot_name,
                salts=tuple(self._new_salts)))
        self._dealt.clear()
        self._new_salts.clear()
        self._began = False
        self._ended = None
        return changes

    def _clock_record(self, seat: int | None) -> dict[str, Any] | None:
        """What the move log keeps of the clocks with an action: its time, and the bank the
        action's seat has left (so a replayed room's clocks go on from where they were)."""
        if self.clock is None:
            return None
        record: dict[str, Any] = {"at": self.now}
        if seat is not None and self.clock.banks.get(seat) is not None:
            record["bank"] = self.clock.banks[seat]
        return record

    @staticmethod
    def _check_options(options: dict[str, Any]) -> None:
        unknown = set(options) - {"clock", "quick", "spectator_chat", "spectators",
                                  "spectator_delay"}
        if unknown:
            raise TableError("bad_message", f"unknown room options {sorted(unknown)}")
        Watching._check_spectators(options)
        if options.get("clock") is not None:
            try:
                ClockSettings.parse(options["clock"])
            except ValueError as error:
                raise TableError("bad_message", str(error)) from None

    def _open(self, player: Player, options: dict[str, Any]) -> list[Change]:
        if options.get("clock") is not None:
            self.clock = TurnClock(ClockSettings.parse(options["clock"]))
        self.quick = bool(options.get("quick"))
        # Chat: spectators and players hear each other during games too (tables/chat.py).
        self.spectator_chat = bool(options.get("spectator_chat"))
        self._set_spectators(options)
        return self._sit(player)

    def _time_out(self, number: int, move: Any) -> list[Change]:
        if self.clock is None or self.status is not Status.PLAYING:
            raise TableError("game_not_started")
        # The bot's move costs the seat nothing more; then its bank is spent.
        self.clock.started.pop(number, None)
        changes = self._move(number, move)
        away = self.clock.time_out(number)
        return changes + [self._change({"type": "timeout", "seat": number, "away": away})]

    def _back(self, number: int) -> list[Change]:
        if self.clock is None or not self.clock.back(number):
            return []
        return [self._change({"type": "back", "seat": number})]

    def _started_record(self) -> dict[str, Any] | None:
        if not self._began:
            return None
        return {"number": self.games_played, "seed": self.seed, "dealer": self._dealer_seat,
                "seats": [{"seat": s.number, "user": s.player.id if s.player else None,
                           "bot": s.bot} for s in self.seats if s is not None]}

    def __repr__(self) -> str:
        return (f"<Table {self.id} {self.game_kind} {self.status.value} seq={self.seq} "
                f"seats={self.taken}/{len(self.seats)}>")

