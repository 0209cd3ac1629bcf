"""The server's protocol state: rooms, connected peers, and who is told what.

Every change of a room goes through `Hub.act`: one change at a time per room, applied to the
table, committed to the move log, and only then sent. If the commit fails the table is rolled
back to its last committed state and the request is refused with `unavailable`, so no one ever
sees a change that could be lost.

The hub turns a table's `Change`s into `state` messages, one per member connection, each with
that member's own view (JSON encoded once per distinct view). It owns the timers that make bots
move and that end a disconnected player's grace period, and it pushes the room list to peers in
the lobby. It uses asyncio for timers, the user lookup and commits, and nothing of Tornado or
SockJS.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from game_server.protocol import handlers
from game_server.protocol.errors import ProtocolError
from game_server.protocol.peer import Peer, encode
from game_server.rules import RulesError
from game_server.tables import Action, Change, Lobby, Player, Table, TableError

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
#: Peers in the lobby get the room list at most this often when rooms change.
ROOM_LIST_PUSH_SECONDS = 1.0


class NoMetrics:
    """What the protocol layer reports to metrics, counting nothing (tests, tools).

    game_server.metrics.Metrics implements the same calls for Prometheus.
    """

    def connection_opened(self, transport: str) -> None: ...
    def connection_closed(self, transport: str, authenticated: bool) -> None: ...
    def signed_in(self) -> None: ...
    def error(self, code: str) -> None: ...
    def changes(self, count: int) -> None: ...
    def states_sent(self, count: int) -> None: ...
    def moved(self, kind: str) -> None: ...
    def move_seconds(self, seconds: float) -> None: ...


#: After a failed commit, timers (bot moves, disconnects, grace expiry) try again this late.
RETRY_SECONDS = 1.0


class MemoryLog:
    """A move log that keeps nothing: for tests and tools that need no durability.

    A durable log has the same two methods, returning awaitables that finish once the data is
    committed (or raise if it cannot be).
    """

    def record(self, table: Table, actions: list[Action]) -> Awaitable[None] | None:
        return None

    def close_room(self, table: Table) -> Awaitable[None] | None:
        return None


@dataclass(frozen=True)
class HubSettings:
    server_id: str = "game-1"
    bot_delay: float = 0.6
    grace_seconds: float = 60.0


class Hub:
    """Everything the protocol layer shares between connections.

    `read_token(token) -> user id` raises on any invalid token; `load_user(user id)` is a
    coroutine returning a `Player` or None. Both are edges passed in, so tests can fake them.
    """

    def __init__(self, *, read_token: Callable[[str], int],
                 load_user: Callable[[int], Awaitable[Player | None]],
                 settings: HubSettings = HubSettings(), lobby: Lobby | None = None,
                 move_log: Any = None, metrics: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.read_token = read_token
        self.move_log = move_log or MemoryLog()
        self.metrics: NoMetrics = metrics if metrics is not None else NoMetrics()
        self.load_user = load_user
        self.settings = settings
        self.lobby = lobby if lobby is not None else Lobby()
        self.clock = clock
        self.peers: set[Peer] = set()
        #: Connections in each room, by room id.
        self.members: dict[str, set[Peer]] = defaultdict(set)
        #: The room where each user is seated in person.
        self.seated: dict[int, str] = {}
        self._grace: dict[tuple[str, int], asyncio.TimerHandle] = {}
        self._bots: dict[str, asyncio.TimerHandle] = {}
        self._room_list_push: asyncio.TimerHandle | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task] = set()

    # --- connections ---------------------------------------------------------------------

    def connect(self, send: Callable[[str], None], close: Callable[[int, str], None],
                transport: str = "", queued: Callable[[], int] | None = None) -> Peer:
        """A new connection. `queued()` tells how many bytes wait to be sent to it."""
        peer = Peer(self, send, close, transport)
        peer.queued = queued or (lambda: 0)
        self.peers.add(peer)
        self.metrics.connection_opened(transport)
        return peer

    def disconnected(self, peer: Peer) -> None:
        if peer not in self.peers:
            return
        self.peers.discard(peer)
        self.metrics.connection_closed(peer.transport, peer.user is not None)
        if peer.room is not None:
            self.detach(peer, disconnect=True)

    def handle(self, peer: Peer, kind: str, message: dict[str, Any],
               re: str | int | None) -> Awaitable[None]:
        """The handler's coroutine for an authenticated (or `auth`) message.

        It raises ProtocolError when the request is refused; nothing has changed then.
        """
        return handlers.HANDLERS[kind](self, peer, message, re)

    # --- changing a room -----------------------------------------------------------------

    async def act(self, table: Table, change: Callable[[], list[Change]],
                  requester: Peer | None = None, re: str | int | None = None) -> list[Change]:
        """Apply `change` to the table, commit it to the move log, then tell the room.

        `change` calls one table method. Changes of one room run one at a time, in order.

        Raises:
            ProtocolError: the table refused (nothing changed), or `unavailable` when the move
                log could not commit (the table is rolled back to what everyone has seen).
        """
        lock = self._locks.get(table.id)
        if lock is None:
            lock = self._locks[table.id] = asyncio.Lock()
        async with lock:
            if self.lobby.get(table.id) is not table:
                raise ProtocolError("no_such_room", "The room has closed.")
            try:
                changes = change()
            except (TableError, RulesError) as error:
                table.rollback()
                text = error.text if isinstance(error, TableError) else str(error)
                raise ProtocolError(error.code, text or None) from None
            except ProtocolError:
                table.rollback()
                raise
            except Exception:
                # A bug: put the table back as it was before anything else sees it.
                table.rollback(force=True)
                raise
            if not changes:
                return changes
            await self._commit(table)
            self.publish(table, changes, requester, re)
            return changes

    async def _commit(self, table: Table) -> None:
        actions = table.take_journal()
        try:
            pending = self.move_log.record(table, actions)
            if pending is not None:
                await pending
        except Exception as error:
            table.rollback()
            log.warning("room %s: move log unavailable (%s); %d change(s) refused",
                        table.id, error, len(actions))
            raise ProtocolError("unavailable") from None
        table.committed()
        for action in actions:
            if action.kind == "move":
                self.metrics.moved(action.move["type"])

    def spawn(self, coroutine: Awaitable[Any], what: str) -> None:
        """Run a change nobody waits for (a timer, a disconnect); log what goes wrong."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)

        def done(task: asyncio.Task) -> None:
            self._tasks.discard(task)
            if task.cancelled():
                return
            error = task.exception()
            if isinstance(error, ProtocolError):
                if error.code != "unavailable":
                    log.warning("%s refused: %s", what, error)
            elif error is not None:
                log.error("%s failed", what, exc_info=error)

        task.add_done_callback(done)

    def _retry_later(self, what: str, callback: Callable[[], Any]) -> None:
        log.info("%s: will try again in %.1f s", what, RETRY_SECONDS)
        asyncio.get_running_loop().call_later(RETRY_SECONDS, callback)

    # --- rooms ---------------------------------------------------------------------------

    def attach(self, peer: Peer, table: Table, playing: bool) -> None:
        if peer.room is not None and peer.room is not table:
            self.detach(peer)
        peer.room, peer.playing = table, playing
        self.members[table.id].add(peer)
        if table.audience is None:
            table.audience = lambda: self._audience(table)

    def _audience(self, table: Table) -> set[int | None]:
        """The seats (None: spectators) whose views the room's connections need."""
        seats: set[int | None] = set()
        for peer in self.members.get(table.id, ()):
            seats.add(table.seat_of(peer.user.id) if peer.playing else None)
        return seats

    def release(self, peer: Peer) -> None:
        """Take a connection out of its room without telling anyone (the caller does)."""
        table = peer.room
        peer.room, peer.playing = None, False
        if table is not None and table.id in self.members:
            self.members[table.id].discard(peer)

    def detach(self, peer: Peer, disconnect: bool = False) -> None:
        """Take a connection out of its room, telling the room what changed.

        A player's last connection going away marks the seat disconnected and starts the grace
        period; a spectator's last connection stops watching.
        """
        table, playing = peer.room, peer.playing
        if table is None:
            return
        peer.room, peer.playing = None, False
        members = self.members.get(table.id)
        if members is not None:
            members.discard(peer)
        user = peer.user
        if user is None or self._user_attached(table, user.id, playing):
            return
        if playing:
            if disconnect:
                self._start_grace(table, user)
                self._change_later(table, lambda: table.set_connected(user, False),
                                   f"disconnect of {user.name} in room {table.id}")
        else:
            self._change_later(table, lambda: table.unwatch(user),
                               f"{user.name} leaving room {table.id} as spectator")

    def _change_later(self, table: Table, change: Callable[[], list[Change]],
                      what: str) -> None:
        """Apply a change nobody waits for; if the log is down, try again until it is back."""
        async def run() -> None:
            if self.lobby.get(table.id) is not table:
                return
            try:
                await self.act(table, change)
            except ProtocolError as error:
                if error.code == "unavailable":
                    self._retry_later(what, lambda: self._change_later(table, change, what))
                else:
                    raise

        self.spawn(run(), what)

    def room_members(self, table: Table, user_id: int) -> list[Peer]:
        return [p for p in self.members.get(table.id, ()) if p.user and p.user.id == user_id]

    def _user_attached(self, table: Table, user_id: int, playing: bool) -> bool:
        return any(p.playing == playing for p in self.room_members(table, user_id))

    def seated_room(self, user_id: int) -> Table | None:
        room_id = self.seated.get(user_id)
        table = self.lobby.get(room_id) if room_id else None
        if table is None or not table.is_seated(user_id):
            self.seated.pop(user_id, None)
            return None
        return table

    # --- fan-out -------------------------------------------------------------------------

    def publish(self, table: Table, changes: list[Change], requester: Peer | None = None,
                re: str | int | None = None) -> None:
        """Send each change to every connection in the room, with its own view.

        The requester's copies carry `re`; every other copy is encoded once per view.
        """
        if not changes:
            return
        self._refresh_seating(table)
        sent = 0
        for change in changes:
            encoded: dict[int | None, str] = {}
            for peer in list(self.members.get(table.id, ())):
                seat = table.seat_of(peer.user.id) if peer.playing else None
                if seat not in change.views:
                    # Joined after the change was made (or lost the seat in it): such a
                    # connection sees the change as a spectator would.
                    seat = None
                    if seat not in change.views:
                        change.views[None] = table.view_for(None)
                message = self._state(table, change, seat)
                sent += 1
                if peer is requester and re is not None:
                    peer.send({**message, "re": re})
                    continue
                text = encoded.get(seat)
                if text is None:
                    text = encoded[seat] = encode(message)
                peer.send(text)
        self.metrics.changes(len(changes))
        self.metrics.states_sent(sent)
        self._after_change(table)

    def send_state(self, peer: Peer, table: Table, re: str | int | None) -> None:
        """The room's current state for one connection, without a change (a rejoin)."""
        seat = table.seat_of(peer.user.id) if peer.playing else None
        message = {"msg": "state", "room": table.id, "seq": table.seq,
                   "table": table.view_for(seat)}
        peer.reply(message, re)

    @staticmethod
    def _state(table: Table, change: Change, seat: int | None) -> dict[str, Any]:
        return {"msg": "state", "room": table.id, "seq": change.seq,
                "event": change.event_for(seat), "table": change.views[seat]}

    def _refresh_seating(self, table: Table) -> None:
        for seat in table.seats:
            if seat is not None and seat.player is not None and seat.human:
                self.seated[seat.player.id] = table.id

    def _after_change(self, table: Table) -> None:
        if table.humans == 0:
            self.close_room(table)
            return
        self._schedule_bot(table)
        self.room_list_changed()

    def close_room(self, table: Table) -> None:
        """Close a room no person plays in any more; its spectators are told `left`."""
        self.lobby.close(table.id)
        self._locks.pop(table.id, None)
        pending = self.move_log.close_room(table)
        if pending is not None:
            self.spawn(pending, f"closing room {table.id} in the move log")
        for peer in list(self.members.pop(table.id, ())):
            peer.room, peer.playing = None, False
            peer.send({"msg": "left", "room": table.id})
        timer = self._bots.pop(table.id, None)
        if timer is not None:
            timer.cancel()
        for key in [key for key in self._grace if key[0] == table.id]:
            self._grace.pop(key).cancel()
        self.room_list_changed()

    # --- the room list -------------------------------------------------------------------

    def send_queues(self) -> list[int]:
        """Bytes waiting to be sent, per connection (for metrics)."""
        return [peer.queued() for peer in list(self.peers)]

    def room_list_message(self) -> dict[str, Any]:
        return {"msg": "room_list", "rooms": self.lobby.room_list()}

    def room_list_changed(self) -> None:
        """Push the room list to connections in the lobby, at most once a second."""
        if self._room_list_push is not None:
            return
        loop = asyncio.get_running_loop()
        self._room_list_push = loop.call_later(ROOM_LIST_PUSH_SECONDS, self._push_room_list)

    def _push_room_list(self) -> None:
        self._room_list_push = None
        text: str | None = None
        for peer in list(self.peers):
            if peer.user is not None and peer.room is None and not peer.closed:
                text = text or encode(self.room_list_message())
                peer.send(text)

    # --- timers --------------------------------------------------------------------------

    def _schedule_bot(self, table: Table) -> None:
        if table.id in self._bots or table.bot_to_move() is None:
            return
        loop = asyncio.get_running_loop()
        self._bots[table.id] = loop.call_later(self.settings.bot_delay, self._bot_moves, table)

    def _bot_moves(self, table: Table) -> None:
        self._bots.pop(table.id, None)
        if self.lobby.get(table.id) is not table:
            return

        async def move() -> None:
            try:
                await self.act(table, table.play_bot)
            except ProtocolError as error:
                if error.code != "unavailable":
                    raise
                self._retry_later(f"bot move in room {table.id}",
                                  lambda: self._schedule_bot(table))

        self.spawn(move(), f"bot move in room {table.id}")

    def _start_grace(self, table: Table, user: Player) -> None:
        key = (table.id, user.id)
        old = self._grace.pop(key, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._grace[key] = loop.call_later(self.settings.grace_seconds, self._grace_over,
                                           table, user)

    def cancel_grace(self, table: Table, user: Player) -> None:
        timer = self._grace.pop((table.id, user.id), None)
        if timer is not None:
            timer.cancel()

    def _grace_over(self, table: Table, user: Player) -> None:
        self._grace.pop((table.id, user.id), None)
        if self.lobby.get(table.id) is not table or self.room_members(table, user.id):
            return
        self._change_later(table, lambda: table.expire(user),
                           f"grace period of {user.name} in room {table.id}")

    # --- recovery ------------------------------------------------------------------------

    async def recover(self, tables: list[Table]) -> None:
        """Host rooms rebuilt from the move log after a restart.

        Nobody is connected yet: every seated person is marked disconnected (their grace
        period starts now) and spectators are gone; those changes are logged like any other.
        """
        for table in tables:
            self.lobby.add(table)
        for table in tables:
            for seat in list(table.seats):
                if seat is None or seat.player is None or seat.bot:
                    continue
                user = seat.player
                if seat.connected:
                    await self.act(table, lambda: table.set_connected(user, False))
                self._start_grace(table, user)
            for user_id in list(table.spectators):
                await self.act(table, lambda: table.unwatch(Player(user_id, "")))
            self._refresh_seating(table)
            self._schedule_bot(table)

    def stop_timers(self) -> None:
        """Cancel every timer (server shutdown)."""
        for timer in [*self._grace.values(), *self._bots.values()]:
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        self._grace.clear()
        self._bots.clear()
        if self._room_list_push is not None:
            self._room_list_push.cancel()
            self._room_list_push = None

    # --- for handlers --------------------------------------------------------------------

    def welcome(self, peer: Peer) -> dict[str, Any]:
        return {"msg": "welcome", "user": {"id": peer.user.id, "name": peer.user.name},
                "server": self.settings.server_id, "protocol": PROTOCOL_VERSION}
