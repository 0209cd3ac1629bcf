"""The room engine: every room of this server, which connection is where, and what to do next.

Like h11's connection, it does no I/O and keeps no time: `Engine.handle(request, now)` applies
one request (a client's message, a disconnect, a timer that came) and returns `Effects`: the
actions to commit to the move log per room, the messages to deliver once those commits
succeed, and the deadlines to set (bot moves, grace periods). The caller (the hub and its
drivers, in the protocol layer) commits, sends and runs the timers, and reports each commit's
result back (`committed`, `commit_failed`). Nothing here awaits, locks or calls back up.

Requests for one room may be handled while earlier ones are still being committed: each builds
on the state before it, and the move log commits one room's actions in order. If a commit
fails, the room is rebuilt from what was committed, and everything handled after it is undone
with it (the log refuses what was queued behind a failure).

Imports only the rules and tables layers.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Hashable

from game_server.rules import GAMES, BadMove, RulesError
from game_server.tables.actions import Player
from game_server.tables.changes import Change, Status, TableError
from game_server.tables.lobby import Lobby
from game_server.tables.requests import QuickPlay
from game_server.tables.requests import (AddBot, Back, Commit, Create, Deadline, Delivery, Disconnect,
                                         Effects, Join, Leave, Move, Re, Recover, RoomList,
                                         SignIn, Start, Timer)
from game_server.tables.chat import ChatLimit, ChatLine, audience, clean_chat
from game_server.tables.requests import Chat, Mute
from game_server.tables.requests import Rematch
from game_server.tables.table import Table

__all__ = ["Engine", "EngineSettings"]

#: After a failed commit, the room's timers (bots, disconnects, grace) try again this late.
RETRY_SECONDS = 1.0
#: A turn clock's timer that fires this little before its deadline counts (timers and the
#: engine's clock may differ by a hair).
CLOCK_SLACK = 0.01


@dataclass(frozen=True)
class EngineSettings:
    bot_delay: float = 0.6
    grace_seconds: float = 60.0
    #: A user may have at most this many rooms they opened waiting for players at once
    #: (`too_many_rooms`), so that no one user crowds the lobby; 0: no cap.
    rooms_per_user: int = 3
    #: A quick-play room still waiting this long after it opened: bots fill its empty seats.
    quick_play_wait: float = 20.0
    #: The turn clock of a quick-play room.
    quick_play_clock: tuple[float, float] = (30.0, 60.0)


@dataclass
class _Conn:
    id: int
    user: Player
    room: Table | None = None
    playing: bool = False


class Engine:
    """Rooms, memberships and timers of one server, as a pure state machine."""

    def __init__(self, lobby: Lobby | None = None,
                 settings: EngineSettings = EngineSettings()) -> None:
        self.lobby = lobby if lobby is not None else Lobby()
        self.settings = settings
        self._conns: dict[int, _Conn] = {}
        self._members: dict[str, set[int]] = {}
        self._seated: dict[int, str] = {}  # user id -> the room they play in person
        self._creators: dict[str, int] = {}  # room id -> the user who opened it
        self._deadlines: dict[Hashable, float] = {}
        self._pending: dict[str, deque[tuple[int, int]]] = {}  # room -> (token, actions)
        self._closing: dict[str, Table] = {}  # closed rooms whose close is being committed
        self._tokens = itertools.count(1)
        self._fx = Effects()
        self._now = 0.0
        self._touched: dict[str, tuple[Table, int]] = {}
        self._clocks: dict[str, set[int]] = {}  # room id -> seats with a turn-clock timer
        self._chat_limit = ChatLimit()

    # --- the entry points -----------------------------------------------------------------

    def handle(self, request: Any, now: float) -> Effects:
        """Apply one request; see the module docstring. Never raises for a client's mistake:
        a refusal is `Effects.error`."""
        self._fx, self._now, self._touched = Effects(), now, {}
        try:
            _HANDLERS[type(request)](self, request)
        except TableError as error:
            self._fx.error = error
        except RulesError as error:
            self._fx.error = TableError(error.code, str(error))
        except Exception:
            # A bug: put every room this request touched back as it was before it.
            for table, start in self._touched.values():
                table.rebuild(keep=start)
            raise
        return self._finish()

    def committed(self, room_id: str, token: int) -> None:
        """The commit `token` of a room succeeded."""
        pending = self._pending.get(room_id)
        if not pending or pending[0][0] != token:
            return
        _, count = pending.popleft()
        table = self.lobby.get(room_id) or self._closing.get(room_id)
        if table is not None:
            table.committed(count)
        if not pending:
            del self._pending[room_id]
            self._closing.pop(room_id, None)

    def commit_failed(self, room_id: str, token: int, now: float) -> Effects:
        """The commit `token` of a room failed: rebuild the room from what was committed
        (undoing this commit and everything handled after it), put connections where the
        room now says they are, and try the room's timers again shortly."""
        self._fx, self._now, self._touched = Effects(), now, {}
        pending = self._pending.get(room_id, deque())
        tokens = [entry[0] for entry in pending]
        if token not in tokens:
            return self._fx  # already undone with an earlier failure
        index = tokens.index(token)
        keep = sum(count for _, count in list(pending)[:index])
        for _ in range(len(pending) - index):
            pending.pop()
        table = self._closing.pop(room_id, None)
        if table is not None:
            self.lobby.add(table)  # its close was not committed: it stays open
        table = self.lobby.get(room_id)
        if table is None:
            return self._fx
        table.rebuild(keep=keep)
        table.now = now
        self._fx.room_list_changed = True
        if not table.history and not table.journal:
            self._drop_room(table)  # a room whose creation was never committed
            return self._fx
        self._release_strays(table)
        # The room's own changes wait: with the database down they would fail at once again.
        self._set(("sync", table.id), now + RETRY_SECONDS)
        self._set(("bot", table.id), now + RETRY_SECONDS)
        due = table.clock_deadlines()
        for number in self._clocks.pop(table.id, set()) - set(due):
            self._set(("clock", table.id, number), None)
        for number, at in due.items():
            self._set(("clock", table.id, number), max(at, now + RETRY_SECONDS))
        if due:
            self._clocks[table.id] = set(due)
        for seat in table.seats:
            if (seat is not None and seat.player is not None and seat.human
                    and not seat.connected and ("grace", table.id, seat.player.id)
                    not in self._deadlines):
                self._set(("grace", table.id, seat.player.id), now + RETRY_SECONDS)
        return self._fx

    def evict(self, room_id: str) -> tuple[list[int], list[Deadline]]:
        """Forget a room another server hosts now, without committing or telling anyone;
        returns the connections that were in it (the caller sends them on) and its timers,
        cancelled."""
        table = self.lobby.get(room_id)
        if table is None:
            return [], []
        members = sorted(self._members.pop(room_id, ()))
        for conn_id in members:
            conn = self._conns.get(conn_id)
            if conn is not None and conn.room is table:
                conn.room, conn.playing = None, False
        self.lobby.close(room_id)
        self._creators.pop(room_id, None)
        self._clocks.pop(room_id, None)
        self._pending.pop(room_id, None)
        cancelled = [Deadline(key, None) for key in self._deadlines if key[1] == room_id]
        for deadline in cancelled:
            del self._deadlines[deadline.key]
        return members, cancelled

    def pending_commits(self) -> int:
        """Commits handed out and not yet reported back."""
        return sum(len(pending) for pending in self._pending.values())

    # --- queries for the caller ---------------------------------------------------------

    def room_of(self, conn: int) -> Table | None:
        """The room a connection is in, if any."""
        entry = self._conns.get(conn)
        return entry.room if entry is not None else None

    def lobby_connections(self) -> list[int]:
        """Signed-in connections that are in no room (they get the room list pushed)."""
        return [c.id for c in self._conns.values() if c.room is None]

    def room_list(self) -> dict[str, Any]:
        return {"msg": "room_list", "rooms": self.lobby.room_list()}

    def deadline(self, key: Hashable) -> float | None:
        return self._deadlines.get(key)

    def seated_room(self, user_id: int) -> Table | None:
        """The room where the user sits in person, if any (one at most)."""
        return self._seated_room(user_id)

    # --- connections --------------------------------------------------------------------

    def _sign_in(self, request: SignIn) -> None:
        self._conns[request.conn] = _Conn(request.conn, request.user)

    def _disconnect(self, request: Disconnect) -> None:
        conn = self._conns.pop(request.conn, None)
        if conn is not None and conn.room is not None:
            self._detach(conn, disconnect=True)

    def _room_list(self, request: RoomList) -> None:
        self._deliver(request.conn, self.room_list(), re=request.re)

    # --- rooms --------------------------------------------------------------------------

    def _create(self, request: Create) -> None:
        conn = self._conn(request.conn)
        # Refuse before leaving anything.
        name = self.lobby.room_name(request.name)
        self.lobby.check(request.game, request.seats)
        self._refuse_if_playing_elsewhere(conn, None)
        self._refuse_if_too_many_rooms(conn.user)
        options = {"clock": request.clock} if request.clock is not None else {}
        if request.spectator_chat:
            options["spectator_chat"] = True
        if request.spectators != "public":
            options["spectators"] = request.spectators
        if request.spectator_delay is not None:
            options["spectator_delay"] = request.spectator_delay
        if options:
            Table._check_options(options)
        self._leave_for(conn, None)
        table = self.lobby.create(name, request.game, request.seats, request.room)
        self._creators[table.id] = conn.user.id
        self._attach(conn, table, playing=True)
        if options:
            self._apply(table, lambda: table.open(conn.user, options), conn, request.re)
        else:
            self._apply(table, lambda: table.sit(conn.user), conn, request.re)

    def quick_room(self, game: str, user_id: int | None = None) -> Table | None:
        """The waiting quick-play room of `game` here with the most players and a free seat
        (the oldest among equals), or the one the user already sits in."""
        best: Table | None = None
        for table in self.lobby:
            if (not table.quick or table.game_kind != game
                    or table.status is not Status.WAITING):
                continue
            if user_id is not None and table.is_seated(user_id):
                return table
            if table.taken < len(table.seats) and (best is None or table.taken > best.taken):
                best = table
        return best

    def _quick_play(self, request: QuickPlay) -> None:
        conn = self._conn(request.conn)
        self.lobby.check(request.game, None)
        # The room the caller chose (several servers: the best of every server's), while it
        # still takes players; else the best one here.
        chosen = self.lobby.get(request.room) if request.room is not None else None
        if chosen is not None and chosen.quick and chosen.game_kind == request.game and (
                chosen.status is Status.WAITING
                and (chosen.taken < len(chosen.seats) or chosen.is_seated(conn.user.id))):
            table = chosen
        else:
            table = self.quick_room(request.game, conn.user.id)
        if table is not None:
            self._join(Join(request.conn, table.id, re=request.re))
            return
        self._refuse_if_playing_elsewhere(conn, None)
        self._refuse_if_too_many_rooms(conn.user)
        self._leave_for(conn, None)
        move, bank = self.settings.quick_play_clock
        options = {"clock": {"move": move, "bank": bank}, "quick": True}
        title = GAMES[request.game].title
        table = self.lobby.create(f"Quick play: {title}", request.game, None, request.room)
        self._creators[table.id] = conn.user.id
        self._attach(conn, table, playing=True)
        self._apply(table, lambda: table.open(conn.user, options), conn, request.re)
        self._set(("fill", table.id), self._now + self.settings.quick_play_wait)

    def _join(self, request: Join) -> None:
        conn = self._conn(request.conn)
        user = conn.user
        table = self.lobby.get(request.room)
        if table is None:
            raise TableError("no_such_room")
        own = table.seat_of(user.id)
        if own is not None and not (request.spectator and table.seats[own].bot):
            # Their own seat: a rejoin after a disconnect, a reload, or taking it back from a
            # bot.
            self._refuse_if_playing_elsewhere(conn, table)
            self._leave_for(conn, table)
            self._set(("grace", table.id, user.id), None)
            self._enter(conn, table, True, lambda: table.sit(user), request.re,
                        request.since)
            return
        if request.spectator:
            if table.spectator_policy == "none":
                raise TableError("no_spectators")
            if conn.room is not table:
                # Watching elsewhere is fine, but this connection cannot walk out of a game.
                self._refuse_if_this_connection_plays(conn, table)
                self._leave_connection(conn)
            self._enter(conn, table, False, lambda: table.watch(user), request.re,
                        request.since)
            return
        # Refuse before leaving anything, so a failed join loses nothing.
        self._refuse_if_playing_elsewhere(conn, table)
        if table.status is Status.PLAYING:
            raise TableError("game_started", "The game has started; you can watch it.")
        if table.taken == len(table.seats):
            raise TableError("room_full")
        self._leave_for(conn, table)
        self._enter(conn, table, True, lambda: table.sit(user), request.re, request.since)

    def _add_bot(self, request: AddBot) -> None:
        conn, table = self._playing(request.conn)
        self._apply(table, lambda: table.add_bot(conn.user), conn, request.re)

    def _start(self, request: Start) -> None:
        conn, table = self._playing(request.conn)
        self._apply(table, lambda: table.start(conn.user), conn, request.re)

    def _rematch(self, request: Rematch) -> None:
        conn, table = self._playing(request.conn)
        changes = self._apply(table, lambda: table.rematch(conn.user), conn, request.re)
        if not changes:  # asked already: the state as it is
            self._reply_as_is(conn, table, request.re, table.seat_of(conn.user.id))

    def _move(self, request: Move) -> None:
        conn, table = self._playing(request.conn)
        try:
            move = table.rules.parse_move(request.move)
        except BadMove as error:
            raise TableError("bad_message", f"move: {error}") from None
        self._apply(table, lambda: table.play(conn.user, move), conn, request.re)

    def _back(self, request: Back) -> None:
        conn, table = self._playing(request.conn)
        changes = self._apply(table, lambda: table.back(conn.user), conn, request.re)
        if not changes:
            # Not away: the reply is the state as it is.
            self._reply_as_is(conn, table, request.re, table.seat_of(conn.user.id))

    def _leave(self, request: Leave) -> None:
        conn = self._conn(request.conn)
        table = conn.room
        if table is None:
            raise TableError("not_in_room")
        if conn.playing:
            self._leave_seat(table, conn.user, conn, request.re)
        else:
            self._detach(conn)
            self._deliver(conn.id, {"msg": "left", "room": table.id}, re=request.re)

    def _timer(self, request: Timer) -> None:
        key = request.key
        self._deadlines.pop(key, None)
        what, room_id = key[0], key[1]
        table = self.lobby.get(room_id)
        if table is None:
            return
        if what == "bot":
            self._apply(table, table.play_bots)
        elif what == "grace":
            user_id = key[2]
            number = table.seat_of(user_id)
            if number is not None and not self._user_attached(table, user_id, True):
                self._apply(table, lambda: table.expire(table.seats[number].player))
        elif what == "sync":
            self._sync(table)
        elif what == "fill":
            if table.quick and table.status is Status.WAITING and table.humans:
                self._apply(table, table.fill_with_bots)
        elif what == "clock":
            number = key[2]
            due = table.clock_deadlines().get(number)
            if due is None:
                return  # the seat moved, or its clock stopped, as the timer fired
            if due > self._now + CLOCK_SLACK:
                self._set(key, due)  # fired early
                return
            self._apply(table, lambda: table.time_out(number))

    def _recover(self, request: Recover) -> None:
        for table in request.tables:
            self.lobby.add(table)
        for table in request.tables:
            # Nobody is connected yet: every seated person is marked disconnected (their grace
            # period starts now) and spectators are gone.
            self._sync(table)
            for seat in table.seats:
                if seat is not None and seat.player is not None and seat.human:
                    self._set(("grace", table.id, seat.player.id),
                              self._now + self.settings.grace_seconds)
            if table.quick and table.status is Status.WAITING:
                self._set(("fill", table.id), self._now + self.settings.quick_play_wait)
            self._touch(table)

    # --- membership ---------------------------------------------------------------------

    def _conn(self, conn_id: int) -> _Conn:
        conn = self._conns.get(conn_id)
        if conn is None:
            raise TableError("auth_required")
        return conn

    def _playing(self, conn_id: int) -> tuple[_Conn, Table]:
        conn = self._conn(conn_id)
        if conn.room is None:
            raise TableError("not_in_room")
        if not conn.playing:
            raise TableError("not_a_player")
        return conn, conn.room

    def _attach(self, conn: _Conn, table: Table, playing: bool) -> None:
        if conn.room is not None and conn.room is not table:
            self._detach(conn)
        conn.room, conn.playing = table, playing
        self._members.setdefault(table.id, set()).add(conn.id)

    def _release(self, conn: _Conn) -> None:
        """Take a connection out of its room without telling anyone."""
        if conn.room is not None:
            self._members.get(conn.room.id, set()).discard(conn.id)
        conn.room, conn.playing = None, False

    def _detach(self, conn: _Conn, disconnect: bool = False) -> None:
        """Take a connection out of its room, telling the room what changed: a player's last
        connection going away marks the seat disconnected and starts the grace period; a
        spectator's last connection stops watching."""
        table, playing = conn.room, conn.playing
        if table is None:
            return
        self._release(conn)
        user = conn.user
        if self._user_attached(table, user.id, playing) or self.lobby.get(table.id) is not table:
            return
        if playing:
            if disconnect and table.is_seated(user.id):
                self._set(("grace", table.id, user.id), self._now + self.settings.grace_seconds)
                self._apply(table, lambda: table.set_connected(user, False))
        else:
            self._apply(table, lambda: table.unwatch(user))

    def _user_attached(self, table: Table, user_id: int, playing: bool) -> bool:
        return any(self._conns[c].user.id == user_id and self._conns[c].playing == playing
                   for c in self._members.get(table.id, ()) if c in self._conns)

    def _enter(self, conn: _Conn, table: Table, playing: bool,
               change: Callable[[], list[Change]], re: Re, since: int | None = None) -> None:
        """Put the connection in the room and apply the change; a rejoin that changes nothing
        is answered with the current state. With `since`, the events of the changes after it
        come first, each as this user saw it (or would have), when the room still keeps them
        all."""
        watching = conn.room is table and not conn.playing  # already, on this connection
        self._attach(conn, table, playing)
        missed = (table.events_since(since, conn.user.id if playing else None)
                  if since is not None else [])
        if not playing and since is None and not watching:
            # A spectator arriving late: the public log of the game so far (watching.py).
            missed = table.public_log()
        at = len(self._fx.deliveries)
        try:
            changes = self._apply(table, change, conn, re)
        except TableError:
            self._release(conn)
            raise
        if not playing and table.spectator_policy == "delayed":
            # Spectators are kept behind: nothing after what they may see yet, then the room
            # as they see it (watching.py).
            seq, view = table.spectator_state()
            missed = [(number, event) for number, event in missed if number <= seq]
            self._deliver(conn.id, {"msg": "state", "room": table.id, "seq": seq,
                                    "table": view}, re=re, room=table.id)
            changes = changes or [None]  # answered
        if missed:
            self._fx.deliveries[at:at] = [
                Delivery(conn.id, {"msg": "event", "room": table.id, "seq": seq, "event": event,
                                   **({"re": re} if re is not None else {})}, table.id)
                for seq, event in missed]
        if not changes:
            self._reply_as_is(conn, table, re, table.seat_of(conn.user.id) if playing else None)

    def _reply_as_is(self, conn: _Conn, table: Table, re: Re, seat: int | None) -> None:
        """Answer a request that changed nothing (asked already, not away, joined already)
        with the room's state as `seat` sees it."""
        self._deliver(conn.id, {"msg": "state", "room": table.id, "seq": table.seq,
                                "table": table.view_for(seat)}, re=re, room=table.id)

    def _seated_room(self, user_id: int) -> Table | None:
        room_id = self._seated.get(user_id)
        table = self.lobby.get(room_id) if room_id else None
        if table is None or not table.is_seated(user_id):
            self._seated.pop(user_id, None)
            return None
        return table

    def _refuse_if_playing_elsewhere(self, conn: _Conn, target: Table | None) -> None:
        """A user sits at one room at a time: refuse while they play a running game
        elsewhere."""
        seated = self._seated_room(conn.user.id)
        if seated is not None and seated is not target and seated.status is Status.PLAYING:
            raise TableError("already_in_room", f"You are playing in room {seated.id} "
                             f"({seated.name}); leave it first.")
        self._refuse_if_this_connection_plays(conn, target)

    def _refuse_if_too_many_rooms(self, user: Player) -> None:
        """The cap on rooms per user: count the rooms the user opened that wait for players,
        but the one they sit in alone (creating again closes it)."""
        cap = self.settings.rooms_per_user
        if cap <= 0:
            return
        seated = self._seated_room(user.id)
        waiting = 0
        for room_id, creator in self._creators.items():
            table = self.lobby.get(room_id)
            if (creator == user.id and table is not None and table.status is Status.WAITING
                    and not (table is seated and table.humans == 1)):
                waiting += 1
        if waiting >= cap:
            raise TableError("too_many_rooms", f"You have opened {waiting} rooms that are "
                             f"still waiting for players (at most {cap}); play in one, or "
                             "wait until one starts or closes.")

    @staticmethod
    def _refuse_if_this_connection_plays(conn: _Conn, target: Table | None) -> None:
        room = conn.room
        if (room is not None and room is not target and conn.playing
                and room.status is Status.PLAYING):
            raise TableError("already_in_room", f"You are playing in room {room.id} "
                             f"({room.name}); leave it first.")

    def _leave_for(self, conn: _Conn, target: Table | None) -> None:
        """Before sitting at `target` (None: a new room), leave the seat the user has
        elsewhere (a waiting or finished room) and move this connection out of its room."""
        seated = self._seated_room(conn.user.id)
        if seated is not None and seated is not target:
            self._leave_seat(seated, conn.user)
        if conn.room is not None and conn.room is not target:
            self._leave_connection(conn)

    def _leave_connection(self, conn: _Conn) -> None:
        if conn.playing:
            self._leave_seat(conn.room, conn.user)
        else:
            self._detach(conn)

    def _leave_seat(self, table: Table, user: Player, requester: _Conn | None = None,
                    re: Re = None) -> None:
        """The user leaves their seat: every connection of theirs in the room is told `left`
        (instead of the room's state)."""
        leaving = [self._conns[c] for c in self._members.get(table.id, ())
                   if c in self._conns and self._conns[c].user.id == user.id
                   and self._conns[c].playing]
        for conn in leaving:
            self._release(conn)
        self._apply(table, lambda: table.leave(user))
        self._set(("grace", table.id, user.id), None)
        for conn in leaving:
            self._deliver(conn.id, {"msg": "left", "room": table.id},
                          re=re if conn is requester else None, room=table.id)

    # --- changes, fan-out and bookkeeping ----------------------------------------------

    def _apply(self, table: Table, change: Callable[[], list[Change]],
               requester: _Conn | None = None, re: Re = None) -> list[Change]:
        self._touch(table)
        changes = change()
        for item in changes:
            self._publish(table, item, requester, re)
        return changes

    def _touch(self, table: Table) -> None:
        table.now = self._now  # the time the table's clocks and records read
        if table.id not in self._touched:
            self._touched[table.id] = (table, len(table.journal))

    def _publish(self, table: Table, change: Change, requester: _Conn | None, re: Re) -> None:
        """The change's state message for every connection in the room, with its own view:
        one message object per view, the requester's copy with `re`."""
        shared: dict[int | None, dict[str, Any]] = {}
        for conn_id in sorted(self._members.get(table.id, ())):
            conn = self._conns.get(conn_id)
            if conn is None:
                continue
            seat = table.seat_of(conn.user.id) if conn.playing else None
            if not conn.playing and change.released is not None:
                # A spectator kept behind: the older changes they may see now (watching.py);
                # one who is just arriving (the requester) gets the room as they see it from
                # `_enter` instead.
                if conn is requester:
                    continue
                self._fx.deliveries.extend(
                    Delivery(conn_id, {"msg": "state", "room": table.id, "seq": seq,
                                       "event": event, "table": view}, table.id)
                    for seq, event, view in change.released)
                continue
            if seat not in change.views:
                seat = None  # joined after the change, or lost the seat in it
            message = shared.get(seat)
            if message is None:
                message = shared[seat] = {
                    "msg": "state", "room": table.id, "seq": change.seq,
                    "event": change.event_for(seat), "table": change.views[seat]}
            if conn is requester and re is not None:
                message = {**message, "re": re}
            self._fx.deliveries.append(Delivery(conn_id, message, table.id))

    def _deliver(self, conn: int, message: dict[str, Any], re: Re = None,
                 room: str | None = None) -> None:
        if re is not None:
            message = {**message, "re": re}
        self._fx.deliveries.append(Delivery(conn, message, room))

    def _set(self, key: Hashable, at: float | None) -> None:
        if at is None:
            if self._deadlines.pop(key, None) is None:
                return
        else:
            self._deadlines[key] = at
        self._fx.deadlines.append(Deadline(key, at))

    def _finish(self) -> Effects:
        """Turn what this request did to each room into commits, closes and timers."""
        fx = self._fx
        for table, start in self._touched.values():
            for seat in table.seats:
                if seat is not None and seat.player is not None and seat.human:
                    self._seated[seat.player.id] = table.id
            actions = table.journal[start:]
            close = table.humans == 0 and self.lobby.get(table.id) is table
            if close:
                self._close_room(table)
            elif table.bots_to_act() and ("bot", table.id) not in self._deadlines:
                self._set(("bot", table.id), self._now + self.settings.bot_delay)
            if not close:
                self._sync_clocks(table)
            if actions or close:
                fx.room_list_changed = True
                token = next(self._tokens)
                self._pending.setdefault(table.id, deque()).append((token, len(actions)))
                fx.commits.append(Commit(table, token, list(actions), close))
        self._touched = {}
        return fx

    def _sync_clocks(self, table: Table) -> None:
        """A timer for each seat whose turn clock runs, at its deadline; no other."""
        if table.clock is None:
            return
        due = table.clock_deadlines()
        # The seats with a clock timer, per room: no walk over every room's deadlines.
        for number in self._clocks.pop(table.id, set()) - set(due):
            self._set(("clock", table.id, number), None)
        for number, at in due.items():
            if self._deadlines.get(("clock", table.id, number)) != at:
                self._set(("clock", table.id, number), at)
        if due:
            self._clocks[table.id] = set(due)

    def _close_room(self, table: Table) -> None:
        """Close a room no person plays in any more; its connections are told `left`."""
        self._closing[table.id] = table
        self._drop_room(table)

    def _drop_room(self, table: Table) -> None:
        self.lobby.close(table.id)
        self._creators.pop(table.id, None)
        self._clocks.pop(table.id, None)
        for conn_id in sorted(self._members.pop(table.id, ())):
            conn = self._conns.get(conn_id)
            if conn is not None and conn.room is table:
                conn.room, conn.playing = None, False
                self._deliver(conn_id, {"msg": "left", "room": table.id}, room=table.id)
        for key in [key for key in self._deadlines if key[1] == table.id]:
            self._set(key, None)

    def _release_strays(self, table: Table) -> None:
        """Connections whose place in the room is gone (their seat or watching was undone)
        leave it."""
        for conn_id in list(self._members.get(table.id, ())):
            conn = self._conns.get(conn_id)
            if conn is None:
                continue
            if (conn.playing and table.seat_of(conn.user.id) is None) or (
                    not conn.playing and conn.user.id not in table.spectators):
                self._release(conn)
                self._deliver(conn_id, {"msg": "left", "room": table.id})

    def _sync(self, table: Table) -> None:
        """Make the room agree with the connections: a seat without a connection of its
        player is disconnected, a spectator without one stops watching."""
        self._release_strays(table)
        for seat in list(table.seats):
            if seat is None or seat.player is None or seat.bot or not seat.connected:
                continue
            if not self._user_attached(table, seat.player.id, True):
                user = seat.player
                self._apply(table, lambda: table.set_connected(user, False))
        for user_id in list(table.spectators):
            if not self._user_attached(table, user_id, False):
                self._apply(table, lambda: table.unwatch(Player(user_id, "")))
        self._touch(table)

    # --- chat (game_server/tables/chat.py) ---------------------------------------------

    def _chat(self, request: Chat) -> None:
        """Say something to the room (who hears it: `chat.audience`) or to the lobby. Sent at
        once, committed nowhere: the room's `said` goes with the game's history."""
        conn = self._conn(request.conn)
        text = clean_chat(request.text)
        table = conn.room
        if table is not None and table.is_muted(conn.user.id):
            raise TableError("muted")
        if not self._chat_limit.allow(conn.user.id, self._now):
            limit = self._chat_limit
            raise TableError("chat_rate_limited", f"At most {limit.count} chat messages in "
                             f"{limit.seconds:g} seconds; nothing was sent.")
        said = {"user_id": conn.user.id, "name": conn.user.name}
        if table is None:
            message = {"msg": "chat", "room": None, "from": said, "text": text,
                       "at": request.at, "to": "all"}
            for conn_id in sorted(self.lobby_connections()):
                self._deliver(conn_id, message, re=request.re if conn_id == conn.id else None)
            self._fx.lobby_chat = message
            return
        to = audience(table.status, table.spectator_chat, conn.playing)
        message = {"msg": "chat", "room": table.id, "from": said, "text": text,
                   "at": request.at, "to": to}
        for conn_id in sorted(self._members.get(table.id, ())):
            member = self._conns.get(conn_id)
            if member is None or (to != "all" and member.playing != (to == "players")):
                continue
            self._deliver(conn_id, message, re=request.re if conn_id == conn.id else None)
        self._fx.said.append(ChatLine(table.id, table.chat_game(), table.seq, conn.user, text,
                                      to, request.at))

    def _mute(self, request: Mute) -> None:
        conn, table = self._playing(request.conn)
        target = self._member(table, request.user_id)
        changes = self._apply(table, lambda: table.mute(conn.user, target), conn, request.re)
        if not changes:  # muted already: the state as it is
            self._reply_as_is(conn, table, request.re, table.seat_of(conn.user.id))

    def _member(self, table: Table, user_id: int) -> Player:
        """Who a user is in the room: a seated player, or a member connected to it (a
        spectator); a stranger's name is unknown."""
        number = table.seat_of(user_id)
        if number is not None:
            return table.seats[number].player
        for conn_id in self._members.get(table.id, ()):
            conn = self._conns.get(conn_id)
            if conn is not None and conn.user.id == user_id:
                return conn.user
        return Player(user_id, "")


_HANDLERS: dict[type, Callable[[Engine, Any], None]] = {
    SignIn: Engine._sign_in,
    Disconnect: Engine._disconnect,
    RoomList: Engine._room_list,
    Create: Engine._create,
    Join: Engine._join,
    AddBot: Engine._add_bot,
    Start: Engine._start,
    Rematch: Engine._rematch,
    Move: Engine._move,
    Leave: Engine._leave,
    Back: Engine._back,
    QuickPlay: Engine._quick_play,
    Timer: Engine._timer,
    Chat: Engine._chat,
    Mute: Engine._mute,
    Recover: Engine._recover,
}
