"""The server's protocol state: connected peers around one room engine, and the drivers that
carry out what the engine decides.

A client's message, a disconnect or a timer becomes one `Engine.handle` call; its `Effects` are
carried out here, in this order: timers set (`timers.py`), actions committed to the move log
(`commits.py`), and only then messages sent (`delivery.py`); the room list is pushed to the
lobby at most once a second (`lobby_push.py`). If a commit fails, the engine rebuilds the room
from the log and the request is refused with `unavailable`, so no one ever sees a change that
could be lost.

Notifications from outside (game_server/broker.py calls `notify`) go to a user's connections
through the same delivery.

Uses asyncio for timers, the user lookup and commits, and nothing of Tornado or SockJS.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable, Hashable

from game_server.protocol import handlers
from game_server.protocol.chat import ChatDriver
from game_server.protocol.commits import MemoryLog, commit
from game_server.protocol.delivery import deliver
from game_server.protocol.errors import ProtocolError
from game_server.protocol.lobby_push import RoomListPush
from game_server.protocol.peer import PROTOCOL, Peer
from game_server.protocol.timers import Timers
from game_server.rules import catalogue
from game_server.tables import Engine, EngineSettings, Lobby, Player, Table
from game_server.tables.changes import RoomMoved
from game_server.tables.requests import (Create, Delivery, Effects, Join, QuickPlay, Recover,
                                         SignIn, Timer)

log = logging.getLogger(__name__)

#: A connection gets a fresh sign-in token this often: half the 600 s a token lives.
TOKEN_REFRESH_SECONDS = 300.0

#: The protocol every client of this server may speak (docs/protocol.md), as /config.json
#: says; a client names its own in `auth` (2, or 3: peer.PROTOCOLS).
PROTOCOL_VERSION = PROTOCOL


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
    def send_queue_full(self) -> None: ...


#: Several servers: one fetch of the merged room list answers every request for this long,
#: and for ROOM_LIST_FRESH_SECONDS even after a lobby-change notice (with a hundred servers
#: notices come many times a second; each fetch reads every server's summaries).
ROOM_LIST_CACHE_SECONDS = 1.0
ROOM_LIST_FRESH_SECONDS = 0.25


@dataclass(frozen=True)
class HubSettings:
    server_id: str = "game-1"
    bot_delay: float = 0.6
    grace_seconds: float = 60.0
    #: A connection that has not signed in (a good `auth`) this many seconds after it opened
    #: is closed (CLOSE_SIGN_IN); 0: never.
    sign_in_seconds: float = 10.0
    #: Rooms a user may have opened that still wait for players (`too_many_rooms`); 0: any.
    rooms_per_user: int = 3
    #: Seconds a quick-play room waits for players before bots fill it.
    quick_play_wait: float = 20.0


class Hub:
    """Everything the protocol layer shares between connections.

    `read_token(token) -> user id` raises on any invalid token; `load_user(user id)` is a
    coroutine returning a `Player` or None. Both are edges passed in, so tests can fake them,
    like the move log (`commits.MemoryLog` by default) and metrics.
    """

    def __init__(self, *, read_token: Callable[[str], int],
                 load_user: Callable[[int], Awaitable[Player | None]],
                 settings: HubSettings = HubSettings(), lobby: Lobby | None = None,
                 move_log: Any = None, metrics: Any = None,
                 issue_token: Callable[[int], str] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        # Wall-clock time, not monotonic: turn-clock deadlines are shown to clients as server
        # time and kept in the move log, where another server (or this one after a restart)
        # reads them again (game_server/tables/clock.py).
        self.read_token = read_token
        self.issue_token = issue_token
        self.load_user = load_user
        self.settings = settings
        self.move_log = move_log or MemoryLog()
        self.metrics: NoMetrics = metrics if metrics is not None else NoMetrics()
        self.clock = clock
        self.engine = Engine(lobby, EngineSettings(bot_delay=settings.bot_delay,
                                                   grace_seconds=settings.grace_seconds,
                                                   rooms_per_user=settings.rooms_per_user,
                                                   quick_play_wait=settings.quick_play_wait))
        self.peers: dict[int, Peer] = {}
        #: The signed-in connections of each user, for notifications (`notify`).
        self._user_conns: dict[int, set[int]] = {}
        self._ids = itertools.count(1)
        self.timers = Timers(self._fire, clock)
        self.room_list_push = RoomListPush(self._push_room_list)
        # Several servers: the merged room list, fetched once for everyone who asks within
        # ROOM_LIST_CACHE_SECONDS and fetched again after any change.
        self._room_list: tuple[float, int, dict[str, Any]] | None = None
        self._room_list_fetch: asyncio.Future | None = None
        self._lobby_changes = 0
        self._tasks: set[asyncio.Task] = set()
        # One lock per user while a create or join of theirs is under way (`user_lock`).
        self._user_locks: dict[int, tuple[asyncio.Lock, int]] = {}
        #: This server among several (`game_server.hosting.Hosting`); None: the only one.
        self.hosting: Any = None
        #: Chat's edges (protocol/chat.py): the chat log, lobby chat to other servers.
        self.chat = ChatDriver(self)

    @property
    def lobby(self) -> Lobby:
        return self.engine.lobby

    # --- connections ---------------------------------------------------------------------

    def connect(self, send: Callable[[str], None], close: Callable[[int, str], None],
                transport: str = "", queued: Callable[[], int] | None = None) -> Peer:
        """A new connection. `queued()` tells how many bytes wait to be sent to it."""
        peer = Peer(self, next(self._ids), send, close, transport)
        peer.queued = queued or (lambda: 0)
        self.peers[peer.id] = peer
        if self.settings.sign_in_seconds > 0:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # a synchronous test drives the peer: no timers at all
                loop = None
            if loop is not None:
                peer.sign_in_timer = loop.call_later(self.settings.sign_in_seconds,
                                                     peer.sign_in_expired)
        self.metrics.connection_opened(transport)
        return peer

    def disconnected(self, peer: Peer) -> None:
        if self.peers.pop(peer.id, None) is None:
            return
        if peer.user is not None:
            conns = self._user_conns.get(peer.user.id)
            if conns is not None:
                conns.discard(peer.id)
                if not conns:
                    del self._user_conns[peer.user.id]
        if peer.token_timer is not None:
            peer.token_timer.cancel()
        peer.stop_sign_in_timer()
        self.metrics.connection_closed(peer.transport, peer.user is not None)
        if peer.user is not None:
            self.run(handlers.disconnect(peer), f"the disconnect of {peer!r}")

    def handle(self, peer: Peer, kind: str, message: dict[str, Any],
               re: str | int | None) -> Awaitable[None]:
        """The handler's coroutine for an authenticated (or `auth`) message.

        It raises ProtocolError when the request is refused; nothing has changed then.
        """
        return handlers.HANDLERS[kind](self, peer, message, re)

    @contextlib.asynccontextmanager
    async def user_lock(self, user_id: int) -> AsyncIterator[None]:
        """Hold the user's lock: their creates and joins, from any of their connections, run
        one at a time. The engine decides each one at once, but with several servers a
        decision waits on the directory first (the seat claim), and two requests of one user
        interleaving there could each find the seat free."""
        lock, users = self._user_locks.get(user_id) or (asyncio.Lock(), 0)
        self._user_locks[user_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._user_locks[user_id]
            if users == 1:
                del self._user_locks[user_id]
            else:
                self._user_locks[user_id] = (lock, users - 1)

    def game_of(self, peer: Peer) -> str | None:
        """The game played in the connection's room, if it is in one."""
        table = self.engine.room_of(peer.id)
        return table.game_kind if table is not None else None

    # --- carrying out what the engine decides ---------------------------------------------

    async def request(self, request: Any, peer: Peer | None = None,
                      re: str | int | None = None) -> Effects:
        """Hand one request to the engine and carry out its effects.

        Raises:
            ProtocolError: the engine refused (nothing changed), or `unavailable` when the
                move log could not commit (the room is as everyone last saw it).
        """
        if peer is not None and isinstance(request, (Join, Create, QuickPlay)):
            # Protocol 3: the first state after a join is whole, whatever the client held.
            peer.forget_held()
        fx = self.engine.handle(request, self.clock())
        if isinstance(request, SignIn) and fx.error is None and request.conn in self.peers:
            # Indexed here, where every sign-in passes, so a notification for one user finds
            # their connections without walking every peer.
            self._user_conns.setdefault(request.user.id, set()).add(request.conn)
        committed = await self.carry_out(fx)
        if fx.error is not None:
            raise ProtocolError(fx.error.code, fx.error.text)
        if not committed:
            raise ProtocolError("unavailable")
        return fx

    async def carry_out(self, fx: Effects) -> bool:
        """Set timers, commit, then send. Returns False if a commit failed: the engine has
        rebuilt that room from the log, and its messages were not sent."""
        self.timers.apply(fx.deadlines)
        failed = await commit(self.move_log, fx.commits) if fx.commits else {}
        for item in fx.commits:
            if item.token in failed:
                continue
            self.engine.committed(item.room.id, item.token)
            for action in item.actions:
                if action.name == "move":
                    self.metrics.moved(item.room.game_kind)
        skip = {item.room.id for item in fx.commits if item.token in failed}
        states = deliver(fx.deliveries, self._send, skip, self._patching)
        self.chat.carry_out(fx)
        if states:
            self.metrics.states_sent(states)
            self.metrics.changes(sum(len(item.actions) for item in fx.commits))
        for item in fx.commits:
            error = failed.get(item.token)
            if error is None:
                continue
            if isinstance(error, RoomMoved) and self.hosting is not None:
                self.run(self.hosting.moved(item.room.id), f"moving room {item.room.id} on")
                continue
            again = self.engine.commit_failed(item.room.id, item.token, self.clock())
            self.timers.apply(again.deadlines)
            deliver(again.deliveries, self._send, patching=self._patching)
            fx.room_list_changed |= again.room_list_changed
        if fx.room_list_changed:
            self.lobby_changed()
        return not failed

    def notify(self, kind: str, data: Any, user_id: int | None = None) -> int:
        """Send `{"msg": "notify", "kind", "data"}` to every connection of the user on this
        server (`user_id` None: to every signed-in connection), through the same delivery as
        states: encoded once, and one recipient that fails never stops the others. A user
        with no connection here gets nothing (nothing is kept). Returns how many were sent.

        The caller (game_server/broker.py) has checked `kind` and `data`."""
        if user_id is None:
            conns = [conn for user_conns in self._user_conns.values() for conn in user_conns]
        else:
            conns = list(self._user_conns.get(user_id, ()))
        message = {"msg": "notify", "kind": kind, "data": data}
        deliver([Delivery(conn, message) for conn in conns], self._send)
        return len(conns)

    def _patching(self, conn: int) -> Peer | None:
        """The connection's peer if its states go as patches (protocol 3), for `deliver`."""
        peer = self.peers.get(conn)
        return peer if peer is not None and peer.protocol >= 3 else None

    def _send(self, conn: int, text: str) -> None:
        peer = self.peers.get(conn)
        if peer is not None:
            peer.send(text)

    def run(self, coroutine: Awaitable[Any], what: str) -> None:
        """Run work nobody waits for (a timer, a disconnect); log what goes wrong."""
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

    def _fire(self, key: Hashable) -> None:
        self.run(self.request(Timer(key)), f"timer {key}")

    def _push_room_list(self) -> None:
        if self.hosting is None:
            self._send_room_list(self.engine.room_list())
        else:
            self.run(self._push_room_list_of_all(), "pushing the room list")

    async def _push_room_list_of_all(self) -> None:
        self._send_room_list(await self.room_list())

    def _send_room_list(self, message: dict[str, Any]) -> None:
        text: str | None = None
        for conn in self.engine.lobby_connections():
            peer = self.peers.get(conn)
            if peer is not None and not peer.closed:
                text = text or handlers.encode(message)
                peer.send(text)

    def lobby_changed(self) -> None:
        """Rooms changed here or on another server: push the room list to the lobby soon, and
        fetch it afresh for whoever asks next."""
        self._lobby_changes += 1
        self._room_list_fetch = None
        self.room_list_push.changed()

    async def room_list(self) -> dict[str, Any]:
        """The room list: this server's rooms, or every live server's when several run. When
        the directory cannot be reached the list holds this server's rooms and says it is
        `partial`. With several servers one fetch serves every request for
        ROOM_LIST_CACHE_SECONDS (a burst of sign-ins reads the directory once), or
        ROOM_LIST_FRESH_SECONDS once a change anywhere was announced."""
        if self.hosting is None:
            return self.engine.room_list()
        cached = self._room_list
        if cached is not None:
            fetched_at, changes, message = cached
            age = self.clock() - fetched_at
            if age < ROOM_LIST_FRESH_SECONDS or (age < ROOM_LIST_CACHE_SECONDS
                                                 and changes == self._lobby_changes):
                return message
        if self._room_list_fetch is None:
            self._room_list_fetch = asyncio.ensure_future(self._fetch_room_list())
        return await asyncio.shield(self._room_list_fetch)

    async def _fetch_room_list(self) -> dict[str, Any]:
        changes = self._lobby_changes
        started = self.clock()
        try:
            rooms = await self.hosting.directory.room_list()
        except Exception:
            return {**self.engine.room_list(), "partial": True}
        finally:
            if changes == self._lobby_changes:
                self._room_list_fetch = None
        message = {"msg": "room_list", "rooms": [
            {key: value for key, value in room.items() if key not in ("created",)}
            for room in rooms]}
        if self._room_list is None or self._room_list[0] < started:
            self._room_list = (started, changes, message)
        return message

    def evict(self, room_id: str) -> list[Peer]:
        """Forget a room another server hosts now; returns its connections."""
        conns, cancelled = self.engine.evict(room_id)
        self.timers.apply(cancelled)
        self.lobby_changed()
        return [self.peers[conn] for conn in conns if conn in self.peers]

    async def flush(self, seconds: float) -> None:
        """Wait (at most `seconds`) until every commit handed to the move log is done."""
        deadline = self.clock() + seconds
        while self.engine.pending_commits() and self.clock() < deadline:
            await asyncio.sleep(0.05)

    # --- recovery and shutdown -------------------------------------------------------------

    async def recover(self, tables: list[Table]) -> None:
        """Host rooms rebuilt from the move log after a restart: every seated person is
        marked disconnected (their grace period starts now) and spectators are gone; those
        changes are logged like any other."""
        await self.request(Recover(tuple(tables)))

    def stop_timers(self) -> None:
        """Cancel every timer and unfinished task (server shutdown)."""
        self.timers.stop()
        self.room_list_push.stop()
        for task in list(self._tasks):
            task.cancel()

    # --- for handlers and the transport ------------------------------------------------------

    def welcome(self, peer: Peer) -> dict[str, Any]:
        welcome = {"msg": "welcome", "user": {"id": peer.user.id, "name": peer.user.name},
                   "server": self.settings.server_id, "protocol": peer.protocol,
                   "games": catalogue()}
        if self.issue_token is not None:
            welcome["token"] = self.issue_token(peer.user.id)
        return welcome

    def refresh_token_later(self, peer: Peer) -> None:
        """Give the connection a fresh sign-in token every `TOKEN_REFRESH_SECONDS` (half a
        token's life), so a player who loses the connection after an hour of play can still
        resume, and follow a redirect, with a token that is valid."""
        if self.issue_token is None or peer.closed:
            return

        def refresh() -> None:
            if not peer.closed and peer.user is not None:
                peer.send({"msg": "token", "token": self.issue_token(peer.user.id)})
                self.refresh_token_later(peer)

        loop = asyncio.get_running_loop()
        peer.token_timer = loop.call_later(TOKEN_REFRESH_SECONDS, refresh)

    def send_queues(self) -> list[int]:
        """Bytes waiting to be sent, per connection (for metrics)."""
        return [peer.queued() for peer in list(self.peers.values())]
