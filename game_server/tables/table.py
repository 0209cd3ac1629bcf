"""A table: one room's seats, spectators and game, and what each member may see.

The table applies every change through the rules engine and records it as a `Change`: the
room's `seq` goes up by exactly one per change, and the change carries the event and each
member's view at that moment. It holds no connections and does no I/O: members are named by
user id, and the protocol layer decides which connections to tell.

Imports only the rules layer.
"""

from __future__ import annotations

import enum
import pickle
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from game_server.rules import (GAMES, Move, Put, Step, Take, choose_move, move_from_json,
                               move_to_json)

MAX_SEATS = 7
MIN_SEATS = 2
#: Name shown for a bot that is not playing for anyone.
BOT_NAME = "Bot {seat}"


class Status(str, enum.Enum):
    WAITING = "waiting"
    PLAYING = "playing"
    FINISHED = "finished"


class TableError(Exception):
    """A request the table refuses; `code` is a protocol error code. Nothing has changed."""

    def __init__(self, code: str, text: str | None = None) -> None:
        self.code = code
        self.text = text
        super().__init__(f"{code}: {text}" if text else code)


@dataclass(frozen=True)
class Player:
    """Who someone is, as far as a table cares."""

    id: int
    name: str


@dataclass
class Seat:
    number: int
    player: Player | None  # None for a plain bot
    bot: bool = False
    connected: bool = True
    # Why a bot plays for `player`: "left" or "timeout"; None while the player plays.
    replaced: str | None = None

    @property
    def human(self) -> bool:
        """True while a person plays this seat (connected or within the grace period)."""
        return not self.bot

    def entry(self, cards: int) -> dict[str, Any]:
        if self.player is None:
            user = {"id": None, "name": BOT_NAME.format(seat=self.number)}
        else:
            user = {"id": self.player.id, "name": self.player.name}
        return {"seat": self.number, "user": user, "bot": self.bot, "cards": cards,
                "connected": self.connected or self.bot}


@dataclass
class Change:
    """One change of a room: the new seq, the event, and the view for each kind of member.

    `views` has an entry per seat with a person in it and `None` for spectators. `private`
    holds per-seat versions of the event (a take names the card only to the taker).
    """

    seq: int
    event: dict[str, Any]
    views: dict[int | None, dict[str, Any]]
    private: dict[int, dict[str, Any]] = field(default_factory=dict)

    def event_for(self, seat: int | None) -> dict[str, Any]:
        if seat is not None and seat in self.private:
            return self.private[seat]
        return self.event


@dataclass(frozen=True)
class Action:
    """One accepted request or timer event, in the form needed to replay it.

    The move log stores actions; replaying a room's actions in order rebuilds the room
    exactly, seq included. `seeds` holds the shuffle seed of any game the action dealt (a
    join that fills the room deals too). `started` and `finished` describe a game that began
    or ended with this action, for the game history.
    """

    seq: int
    kind: str
    game: int
    user: Player | None = None
    seat: int | None = None
    move: dict[str, Any] | None = None
    seeds: tuple[int, ...] = ()
    started: dict[str, Any] | None = None
    finished: dict[str, Any] | None = None


class Table:
    """One room and the game played in it.

    Every public method that changes something returns the list of `Change`s it made (usually
    one; a join that fills the last seat also starts the game: two). A method that refuses
    raises `TableError` or a rules error before changing anything.
    """

    def __init__(self, room_id: str, name: str, game: str, seats: int,
                 seeds: Callable[[], int], seq: int = 0) -> None:
        if game not in GAMES:
            raise TableError("bad_message", f"unknown game {game!r}")
        if not MIN_SEATS <= seats <= MAX_SEATS:
            raise TableError("bad_message", f"seats must be {MIN_SEATS}-{MAX_SEATS}")
        self.id = room_id
        self.name = name
        self.game_kind = game
        self.seats: list[Seat | None] = [None] * seats
        self.spectators: set[int] = set()
        self.status = Status.WAITING
        self.seq = seq
        self.game: Any = None
        self.seed: int | None = None
        self.games_played = 0
        self._dealer_seat: int | None = None
        self._seeds = seeds
        self._players: list[int] = []  # room seat of each game player, in game order
        self._final: dict[str, Any] | None = None
        self.owner: int | None = None
        #: Actions applied and not yet committed to the move log.
        self.journal: list[Action] = []
        # The committed actions, each pickled: bytes are not tracked by Python's cyclic
        # garbage collector, whereas a few objects per action would be, and every one that
        # outlives a young collection makes the next full collection come sooner (a pause of
        # ~0.6 µs per tracked object in the process: docs/performance.md). Read `history`.
        self._history: list[bytes] = []
        self._dealt: list[int] = []
        self._ended: dict[str, Any] | None = None
        #: Seats (None: spectators) that get views of changes; None means everyone.
        self.audience: Callable[[], Iterable[int | None]] | None = None

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

    def bot_to_move(self) -> int | None:
        """The seat of the bot whose turn it is, if any."""
        if self.status is not Status.PLAYING:
            return None
        seat = self.seats[self._players[self.game.turn]]
        return seat.number if seat is not None and seat.bot else None

    def view_for(self, seat: int | None) -> dict[str, Any]:
        """What the member in `seat` (None: a spectator) sees. Never another player's hand."""
        return self._view(self._public_view(), seat)

    def _public_view(self) -> dict[str, Any]:
        """The part of every member's view that is the same for all (no hand, no `you`)."""
        game = self.game
        counts = game.card_counts() if game is not None else ()
        entries = []
        for s in self.seats:
            if s is None:
                entries.append(None)
            else:
                index = self._player_of(s.number)
                entries.append(s.entry(counts[index] if index is not None and counts else 0))
        view: dict[str, Any] = {
            "game": self.game_kind, "status": self.status.value, "owner": self.owner,
            "seats": entries, "spectators": len(self.spectators),
        }
        if game is None:
            view.update(pile=[], deck=0, turn=None, suit=None)
            return view
        inner = game.view_for(None)
        view["pile"] = inner["pile"]
        view["deck"] = inner["deck"]
        view["turn"] = self._players[inner["turn"]]
        view["suit"] = inner["suit"]
        if self._final is not None:
            view.update(self._final)
        return view

    def _view(self, public: dict[str, Any], seat: int | None) -> dict[str, Any]:
        view = {**public, "you": seat}
        if seat is not None:
            player = self._player_of(seat)
            # A seat that sat down after the last game ended has no hand in it.
            view["hand"] = ([str(card) for card in self.game.hand(player)]
                            if player is not None else [])
        return view

    # --- membership ----------------------------------------------------------------------

    def _sit(self, player: Player) -> list[Change]:
        """Give `player` the lowest free seat, or their own seat back.

        Raises:
            TableError: game_started, room_full.
        """
        own = self.seat_of(player.id)
        if own is not None:
            seat = self.seats[own]
            if seat.bot:
                seat.bot, seat.replaced, seat.connected = False, None, True
                return [self._change({"type": "reclaim", "seat": own})]
            if not seat.connected:
                seat.connected = True
                return [self._change({"type": "connect", "seat": own})]
            return []
        if self.status is Status.PLAYING:
            raise TableError("game_started", "The game has started; you can watch it.")
        number = self._free_seat()
        self.spectators.discard(player.id)
        self.seats[number] = Seat(number, player)
        if self.owner is None:
            self.owner = number
        # A spectator who sits down stops watching in the same change.
        return [self._change({"type": "join", "seat": number})] + self._start_if_full()

    def _watch(self, player: Player) -> list[Change]:
        if player.id in self.spectators:
            return []
        self.spectators.add(player.id)
        return [self._change({"type": "watch"})]

    def _unwatch(self, player: Player) -> list[Change]:
        if player.id not in self.spectators:
            return []
        self.spectators.discard(player.id)
        return [self._change({"type": "unwatch"})]

    def _leave(self, player: Player) -> list[Change]:
        """The player leaves: the seat is freed, or during a game a bot takes it at once."""
        number = self.seat_of(player.id)
        if number is None:
            return self._unwatch(player)
        seat = self.seats[number]
        if self.status is Status.PLAYING and seat.bot and seat.replaced == "left":
            return []
        return self._vacate(number, "left")

    def _set_connected(self, player: Player, connected: bool) -> list[Change]:
        number = self.seat_of(player.id)
        if number is None:
            return []
        seat = self.seats[number]
        if seat.bot or seat.connected == connected:
            return []
        seat.connected = connected
        return [self._change({"type": "connect" if connected else "disconnect",
                              "seat": number})]

    def _expire(self, player: Player) -> list[Change]:
        """The grace period of a disconnected player ended.

        During a game a bot takes over the seat; otherwise the seat is freed.
        """
        number = self.seat_of(player.id)
        if number is None:
            return []
        seat = self.seats[number]
        if seat.bot or seat.connected:
            return []
        return self._vacate(number, "timeout")

    def _vacate(self, number: int, reason: str) -> list[Change]:
        """A person gives up a seat: during a game a bot plays on for them, else it is freed."""
        if self.status is Status.PLAYING:
            seat = self.seats[number]
            seat.bot, seat.replaced, seat.connected = True, reason, True
            event = {"type": "replace", "seat": number, "reason": reason}
        else:
            self.seats[number] = None
            event = {"type": "leave", "seat": number}
        self._pass_ownership()
        return [self._change(event)]

    def _add_bot(self, player: Player) -> list[Change]:
        """Raises: TableError (not_a_player, not_owner, game_started, room_full)."""
        self._require_owner(player)
        if self.status is Status.PLAYING:
            raise TableError("game_started", "Bots can only be added between games.")
        number = self._free_seat()
        self.seats[number] = Seat(number, None, bot=True)
        return [self._change({"type": "add_bot", "seat": number})] + self._start_if_full()

    def _start(self, player: Player) -> list[Change]:
        """Raises: TableError (not_a_player, not_owner, game_started, game_not_started)."""
        self._require_owner(player)
        if self.status is Status.PLAYING:
            raise TableError("game_started")
        if self.taken < 2:
            raise TableError("game_not_started", "At least two players are needed to start.")
        return [self._deal()]

    # --- play ----------------------------------------------------------------------------

    def _play(self, player: Player, move: Move) -> list[Change]:
        """Apply a move of the player's seat.

        Raises:
            TableError: not_a_player, game_not_started, game_finished.
            RulesError: not_your_turn, not_in_hand, illegal_move.
        """
        return self._move(self._seat_in_person(player, "play"), move)

    def check(self, player: Player, move: Move) -> None:
        """Raise what `play` would raise, without changing anything."""
        self._check_move(self._seat_in_person(player, "play"), move)

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
        kind = "connect" if connected else "disconnect"
        return self._record(kind, self._set_connected(player, connected), user=player)

    def expire(self, player: Player) -> list[Change]:
        """The grace period of a disconnected player ended.

        During a game a bot takes over the seat; otherwise the seat is freed.
        """
        return self._record("expire", self._expire(player), user=player)

    def add_bot(self, player: Player) -> list[Change]:
        """Raises: TableError (not_a_player, not_owner, game_started, room_full)."""
        return self._record("add_bot", self._add_bot(player), user=player)

    def start(self, player: Player) -> list[Change]:
        """Raises: TableError (not_a_player, not_owner, game_started, game_not_started)."""
        return self._record("start", self._start(player), user=player)

    def play(self, player: Player, move: Move) -> list[Change]:
        """Apply a move of the player's seat.

        Raises:
            TableError: not_a_player, game_not_started, game_finished.
            RulesError: not_your_turn, not_in_hand, illegal_move.
        """
        changes = self._play(player, move)
        return self._record("move", changes, seat=self.seat_of(player.id), move=move)

    def play_bot(self) -> list[Change]:
        """Make the move of the bot whose turn it is (nothing if no bot is to move)."""
        number = self.bot_to_move()
        if number is None:
            return []
        move = choose_move(self.game, self._player_of(number))
        return self._record("move", self._move(number, move), seat=number, move=move)

    # --- the move log ------------------------------------------------------------------

    def take_journal(self) -> list[Action]:
        """The actions applied since the last commit (the caller commits them)."""
        return list(self.journal)

    def committed(self) -> None:
        """The journal is safely in the move log."""
        self._history.extend(pickle.dumps(action, pickle.HIGHEST_PROTOCOL)
                             for action in self.journal)
        self.journal.clear()

    @property
    def history(self) -> list[Action]:
        """Every committed action of the room, oldest first (what `replay` rebuilds it from)."""
        return [pickle.loads(packed) for packed in self._history]

    def rollback(self, force: bool = False) -> None:
        """Undo every action not committed, by replaying the committed ones afresh.

        `force` rebuilds even with an empty journal (after a bug left the table half-changed).
        """
        if not self.journal and not force:
            return
        fresh = Table.replay(self.id, self.name, self.game_kind, len(self.seats), self.history,
                             seeds=self._seeds)
        fresh.audience = self.audience
        self.__dict__.update(fresh.__dict__)

    @classmethod
    def replay(cls, room_id: str, name: str, game: str, seats: int, actions: list[Action],
               seeds: Callable[[], int] | None = None) -> "Table":
        """Rebuild a room from its actions; the result's history is `actions`.

        Games dealt during the replay use the seeds the actions recorded; later games use
        `seeds` (by default the lobby's source of fresh random seeds).

        Raises:
            ValueError: the actions do not replay to the seqs they record.
        """
        feed: list[int] = []

        def logged_seed() -> int:
            if not feed:
                raise ValueError(f"room {room_id}: a deal without a recorded seed")
            return feed.pop(0)

        table = cls(room_id, name, game, seats, seeds=logged_seed)
        for action in actions:
            feed[:] = list(action.seeds)
            table._apply(action)
            table._dealt.clear()
            table._ended = None
            if table.seq != action.seq:
                raise ValueError(f"room {room_id}: action {action.kind} replayed to seq "
                                 f"{table.seq}, the log says {action.seq}")
        table._history = [pickle.dumps(action, pickle.HIGHEST_PROTOCOL) for action in actions]
        table.journal.clear()
        if seeds is None:
            from game_server.tables.lobby import random_seed
            seeds = random_seed
        table._seeds = seeds
        return table

    def _apply(self, action: Action) -> None:
        user = action.user
        kind = action.kind
        if kind == "move":
            self._move(action.seat, move_from_json(action.move))
        elif kind in ("connect", "disconnect"):
            self._set_connected(user, kind == "connect")
        else:
            getattr(self, "_" + kind)(user)

    def _record(self, kind: str, changes: list[Change], user: Player | None = None,
                seat: int | None = None, move: Move | None = None) -> list[Change]:
        if changes:
            self.journal.append(Action(
                seq=self.seq, kind=kind, game=self.games_played, user=user, seat=seat,
                move=move_to_json(move) if move is not None else None,
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

    # --- internals -----------------------------------------------------------------------

    def _check_move(self, number: int, move: Move) -> None:
        if self.status is Status.WAITING:
            raise TableError("game_not_started")
        if self.status is Status.FINISHED:
            raise TableError("game_finished")
        index = self._player_of(number)
        if index is None:
            raise TableError("not_a_player", "Your seat is not in this game.")
        self.game.check(index, move)

    def _move(self, number: int, move: Move) -> list[Change]:
        self._check_move(number, move)
        step: Step = self.game.apply(self._player_of(number), move)
        event: dict[str, Any] = {"type": "take" if isinstance(move, Take) else "put",
                                 "seat": number}
        private: dict[int, dict[str, Any]] = {}
        if isinstance(move, Put):
            event["card"] = str(move.card)
            if move.suit is not None:
                event["suit"] = move.suit.value
        elif step.reshuffled:
            event["reshuffled"] = True
        # A take of the last card can leave the taker with no move at all: turns pass too.
        if step.passes:
            event["passes"] = [self._players[p] for p in step.passes]
        if isinstance(move, Take):
            private[number] = {**event, "card": str(step.card)}
        if step.outcome is not None:
            self._finish(step.outcome)
        return [self._change(event, private)]

    def _finish(self, outcome: Any) -> None:
        self.status = Status.FINISHED
        scores: list[int | None] = [None] * len(self.seats)
        hands: list[list[str] | None] = [None] * len(self.seats)
        for index, number in enumerate(self._players):
            scores[number] = outcome.scores[index]
            hands[number] = [str(card) for card in outcome.hands[index]]
        self._final = {"winner": self._players[outcome.winner], "scores": scores,
                       "hands": hands}
        self._ended = {"number": self.games_played, "winner": self._final["winner"],
                       "scores": scores, "blocked": outcome.blocked}

    def _deal(self) -> Change:
        game_class = GAMES[self.game_kind]
        self._players = [s.number for s in self.seats if s is not None]
        # Seat 0 (or the lowest seat taken) deals the first game; after that the deal moves
        # one seat on from the last dealer, skipping empty seats.
        if self._dealer_seat is None:
            dealer_seat = self._players[0]
        else:
            dealer_seat = next((s for s in self._players if s > self._dealer_seat),
                               self._players[0])
        self._dealer_seat = dealer_seat
        dealer = self._players.index(dealer_seat)
        self.seed = self._seeds()
        self._dealt.append(self.seed)
        self.game = game_class(len(self._players), self.seed, dealer)
        self.games_played += 1
        self.status = Status.PLAYING
        self._final = None
        return self._change({"type": "start", "dealer": self._players[dealer]})

    def _start_if_full(self) -> list[Change]:
        if self.status is Status.WAITING and self.taken == len(self.seats):
            return [self._deal()]
        return []

    def _free_seat(self) -> int:
        for number, seat in enumerate(self.seats):
            if seat is None:
                return number
        raise TableError("room_full")

    def _seat_in_person(self, player: Player, what: str) -> int:
        """The seat `player` plays in person.

        Raises:
            TableError: not_a_player (a spectator, or a bot plays the seat for them).
        """
        number = self.seat_of(player.id)
        if number is None or self.seats[number].bot:
            raise TableError("not_a_player", f"Only seated players can {what}.")
        return number

    def _require_owner(self, player: Player) -> None:
        if self._seat_in_person(player, "do that") != self.owner:
            raise TableError("not_owner")

    def _pass_ownership(self) -> None:
        """Ownership stays with a person: the lowest seat still played by one."""
        owner = self.seats[self.owner] if self.owner is not None else None
        if owner is not None and owner.human:
            return
        self.owner = next((s.number for s in self.seats if s is not None and s.human), None)

    def _player_of(self, seat: int | None) -> int | None:
        if seat is None or self.game is None:
            return None
        try:
            return self._players.index(seat)
        except ValueError:
            return None

    def _change(self, event: dict[str, Any],
                private: dict[int, dict[str, Any]] | None = None) -> Change:
        self.seq += 1
        # Views are made now, as they are at this change, but only for members who will read
        # them: `audience` (set by whoever holds the connections) names their seats.
        public = self._public_view()
        if self.audience is None:
            seats = [None] + [s.number for s in self.seats
                              if s is not None and s.player is not None]
        else:
            seats = self.audience()
        views = {seat: self._view(public, seat) for seat in seats}
        return Change(self.seq, event, views, private or {})
