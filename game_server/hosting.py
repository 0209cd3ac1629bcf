"""Tables hosted per server: this server's place among several game servers.

Each room lives on one server. The directory (`game_server.directory`, Redis when several
servers run) says which servers are alive, their load and where each room is; the database
(`storage.hosts`) decides who hosts a room, with an epoch that fences the move log. This
module does, on the event loop:

- the heartbeat: once a second, publish this server's load and rooms to the directory, take
  over the rooms of servers whose heartbeat expired, and load the rooms handed to this server;
- routing: a `join` of a room hosted elsewhere, or a `create` placed on a less loaded server,
  is answered with a `redirect` (the hosting server's URL and a fresh token); a room whose
  host is dead is taken over on the spot by the server the player reached;
- fencing: a room whose commit was refused because another server took it over (this one was
  frozen or cut off) is dropped here and its players redirected to the new host;
- drain: hand every room to other live servers and redirect their players, then exit.

Without Redis (one server) none of this runs: `Hub.hosting` is None and the server behaves
as a single process.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from typing import Any, Awaitable, Callable

from game_server.protocol import Hub, Peer, ProtocolError
from game_server.storage.hosts import UNHOSTED, Host, RoomHosts
from game_server.tables import Table

__all__ = ["Hosting"]

log = logging.getLogger(__name__)

#: Seconds between two heartbeats (the directory's TTL is several of these).
BEAT_SECONDS = 1.0
#: A seat claim (the one-room rule; it lives an hour in the directory) is renewed this often.
CLAIM_REFRESH = 360.0
#: The database's view of who hosts what is read at least this often (seconds), and at once
#: when a server disappears, a server drains, or this server missed beats.
HOSTS_CHECK = 30.0


class Hosting:
    """Routing, heartbeat, takeover and drain for the server whose hub this is."""

    def __init__(self, *, hub: Hub, directory: Any, hosts: RoomHosts, move_log: Any,
                 server_id: str, public_url: str, issue_token: Callable[[int], str],
                 ttl: float = 5.0, beat_seconds: float = BEAT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.hub = hub
        self.directory = directory
        self.hosts = hosts
        self.move_log = move_log
        self.server_id = server_id
        self.public_url = public_url
        self.issue_token = issue_token
        self.beat_seconds = beat_seconds
        self.ttl = ttl
        self.clock = clock
        self.draining = False
        # A server is dead for this one only once this one has not seen it alive for a whole
        # TTL: not merely because the directory does not list it (a Redis that restarted
        # empty lists nobody until each server beats again). Servers never seen count from
        # this server's start, or from the directory's return after an outage.
        self._seen: dict[str, float] = {}
        self._watching_since = clock()
        self._created: dict[str, float] = {}
        # user id -> (room, when), as told to the directory
        self._claimed: dict[int, tuple[str, float]] = {}
        # When the last beat that went through started, and when the database was last asked
        # which servers host open rooms (None: never, or ask again now).
        self._beat_ok_at: float | None = None
        self._hosts_checked_at: float | None = None
        # Servers the database names as hosts that were not live at that check.
        self._unresolved: set[str] = set()
        self._task: asyncio.Task | None = None
        self._adopting: dict[str, asyncio.Future] = {}
        self.directory_ok = True
        #: Called when `game-server drain ID` asked this server to drain.
        self.on_drain_requested: Callable[[], None] | None = None

    # --- the heartbeat --------------------------------------------------------------------

    def start(self) -> None:
        self.listen()
        self._task = asyncio.ensure_future(self._beat_loop())

    def listen(self) -> None:
        """Have the hub hear of room changes on every server (`start` does it too)."""
        self.directory.on_lobby_change(self.hub.lobby_changed)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None

    async def _beat_loop(self) -> None:
        while True:
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the directory or the database is away: try again
                if self.directory_ok:
                    log.warning("heartbeat failed: %s", error)
                self.directory_ok = False
                # What was not observed cannot count against anyone.
                self._watching_since = self.clock()
                self._seen.clear()
                self._claimed.clear()  # claim again: the directory may have lost them
                self._beat_ok_at = None
                self._hosts_checked_at = None
            else:
                if not self.directory_ok:
                    log.info("heartbeat works again")
                self.directory_ok = True
            await asyncio.sleep(self.beat_seconds)

    def info(self) -> Any:
        from game_server.directory import ServerInfo
        lobby = self.hub.lobby
        players = sum(table.humans for table in lobby)
        return ServerInfo(id=self.server_id, url=self.public_url, players=players,
                          rooms=len(lobby), connections=len(self.hub.peers),
                          draining=self.draining)

    def summaries(self) -> list[dict[str, Any]]:
        now = time.time()
        rooms = []
        for table in self.hub.lobby:
            created = self._created.setdefault(table.id, now)
            rooms.append({**table.summary(), "created": created})
        for room_id in set(self._created) - {room["id"] for room in rooms}:
            del self._created[room_id]
        return rooms

    async def beat(self) -> None:
        """One heartbeat: publish, keep the one-room rule's claims, take over dead servers'
        rooms and load the rooms handed to this server.

        The database is asked only when something can have changed: a beat costs the same
        however many rooms this server hosts (docs/scaling.md)."""
        loop = asyncio.get_running_loop()
        started = self.clock()
        # Rooms here that another server hosts now (this one was frozen or cut off while they
        # were taken over): let them go first, so that this beat does not list them again.
        # Others take a room over only after this server was silent for a TTL, so this can
        # have happened only if the last beat that went through is that old.
        if self._beat_ok_at is None or started - self._beat_ok_at >= self.ttl / 2:
            local = [table.id for table in self.hub.lobby]
            hosts = await loop.run_in_executor(None, self.hosts.hosts, local)
            for room_id, host in hosts.items():
                if host.server_id != self.server_id and self.hub.lobby.get(room_id) is not None:
                    self._let_go(room_id)
        await self.directory.beat(self.info(), self.summaries())
        self._beat_ok_at = started
        await self._claim_seats()
        if self.draining:
            return
        if (self.on_drain_requested is not None
                and await self.directory.drain_requested(self.server_id)):
            log.info("drain requested by `game-server drain %s`", self.server_id)
            self.on_drain_requested()
            return
        servers = await self.directory.servers()
        live = {server.id for server in servers}
        now = self.clock()
        self._seen.update((server_id, now) for server_id in live)
        missing = set(self._seen) - live
        if (missing or self._unresolved or any(server.draining for server in servers)
                or self._hosts_checked_at is None
                or now - self._hosts_checked_at >= HOSTS_CHECK):
            takers = sorted(server.id for server in servers if not server.draining)
            await self._check_hosts(live, takers, now)

    async def _check_hosts(self, live: set[str], takers: list[str], now: float) -> None:
        """Ask the database which servers host open rooms: take over those of dead servers,
        load those handed to this one.

        Each room of a dead server has one designated taker among the live servers that are
        not draining (`taker`), so that a hundred servers do not all race for every room; a
        room still not moved a TTL later (its taker died too, or is slow) is anyone's."""
        loop = asyncio.get_running_loop()
        self._hosts_checked_at = now
        hosted = await loop.run_in_executor(None, self.hosts.open_servers)
        self._unresolved = {server for server in hosted if server not in live}
        silent = {server: now - self._seen.get(server, self._watching_since)
                  for server in hosted if server not in live}
        dead = [server for server, seconds in silent.items() if seconds >= self.ttl]
        # A server gone for a TTL that hosts nothing any more needs no more watching.
        for server in [server for server in self._seen if server not in live
                       and server not in hosted and now - self._seen[server] >= self.ttl]:
            del self._seen[server]
        if dead:
            rooms = await loop.run_in_executor(None, self.hosts.hosted_by, dead)
            rooms = [host for host in rooms if silent[host.server_id] >= 2 * self.ttl
                     or taker(host.room_id, takers) in (self.server_id, None)]
            random.shuffle(rooms)  # servers taking over anyone's rooms share the work
            for host in rooms:
                await self._take_over(host)
        if self.server_id in hosted:
            mine = await loop.run_in_executor(None, self.hosts.hosted_by, [self.server_id])
            for host in mine:
                if self.hub.lobby.get(host.room_id) is None:
                    await self.adopt(host.room_id)

    async def _claim_seats(self) -> None:
        """Tell the directory who sits at a table here (waiting, playing or finished), so that
        no server lets them sit at a second one. A sit-down claims the seat itself first
        (`claim`); the beat keeps the claims fresh and drops those of users who left."""
        playing: dict[int, str] = {}
        for table in self.hub.lobby:
            for seat in table.seats:
                if seat is not None and seat.player is not None and seat.human:
                    playing[seat.player.id] = table.id
        # Only what changed goes to Redis, and a standing claim again once it is older than a
        # tenth of its hour-long TTL: one call per player per beat measured as the heartbeat's
        # largest cost (docs/scaling.md).
        now = self.clock()
        claims = [(user_id, room_id) for user_id, room_id in playing.items()
                  if (claimed := self._claimed.get(user_id)) is None or claimed[0] != room_id
                  or now - claimed[1] > CLAIM_REFRESH]
        releases = [(user_id, room_id) for user_id, (room_id, _) in self._claimed.items()
                    if playing.get(user_id) != room_id]
        # All in one round trip (pipelined, Redis' cost per claim is an eighth).
        results = await self.directory.update_seats(
            [(user_id, self._seat(room_id)) for user_id, room_id in claims],
            [(user_id, self._seat(room_id)) for user_id, room_id in releases])
        for (user_id, room_id), other in zip(claims, results):
            if other is not None and await self._may_replace(other, room_id):
                # This server took the room over (or the claim is stale).
                other = await self.directory.claim_seat(user_id, self._seat(room_id),
                                                        replacing=other)
            if other is None:  # (else the user sat down elsewhere meanwhile)
                self._claimed[user_id] = (room_id, now)
        for user_id, room_id in releases:
            if self._claimed.get(user_id, (None,))[0] == room_id:
                del self._claimed[user_id]

    # --- the one-room rule across servers ----------------------------------------------------
    #
    # The directory holds one seat claim per user: "<room>@<server>", the room the user sits in
    # and the server that seated them. A server claims before it seats anyone (`claim`), so of
    # two servers seating one user at once only one can; the heartbeat keeps claims fresh and
    # releases those of users who left. A claim of a room this server hosts is the engine's
    # business (it leaves a waiting seat for another, or refuses); one whose server is gone is
    # stale. (A claim of an older version is a bare room id: stale once no live server lists
    # the room.)

    def _seat(self, room_id: str) -> str:
        return f"{room_id}@{self.server_id}"

    async def _may_replace(self, claim: str, room_id: str | None) -> bool:
        """Whether a sit-down in `room_id` here may take over the user's `claim`."""
        room, _, server = claim.partition("@")
        if room == room_id or server == self.server_id or self.hub.lobby.get(room) is not None:
            return True
        if not server:
            return await self.directory.locate(room) is None
        return server not in {info.id for info in await self.directory.servers()}

    async def refuse_if_playing_elsewhere(self, peer: Peer, target: str | None) -> None:
        """The one-room rule across servers, checked early (before a redirect): refuse while
        the user sits at a table on another live server. `claim` decides for good."""
        try:
            other = await self.directory.seat_of(peer.user.id)
            if other is None or await self._may_replace(other, target):
                return
        except Exception:
            return  # without the directory each server checks its own rooms
        raise _elsewhere(other)

    async def claim(self, peer: Peer, room_id: str) -> bool:
        """Before the user sits down in `room_id` here: claim their seat in the directory, so
        that no other server seats them meanwhile (of two requests at once on two servers, one
        claim wins).

        Returns True when claimed: call `settle_claim` once the sit-down is done or refused.
        False when the directory cannot be reached: each server then checks its own rooms.

        Raises:
            ProtocolError: already_in_room, the user sits in a room on another live server.
        """
        user_id = peer.user.id
        seat = self._seat(room_id)
        try:
            other = await self.directory.claim_seat(user_id, seat)
            if other is not None and await self._may_replace(other, room_id):
                other = await self.directory.claim_seat(user_id, seat, replacing=other)
        except Exception:
            return False
        if other is not None:
            raise _elsewhere(other)
        self._claimed[user_id] = (room_id, self.clock())
        return True

    async def seat_left(self, user_id: int) -> None:
        """The user left a room here: release their claim if they sit nowhere here now."""
        claimed = self._claimed.get(user_id)
        if claimed is not None:
            await self.settle_claim(user_id, claimed[0])

    async def settle_claim(self, user_id: int, room_id: str) -> None:
        """After a sit-down in `room_id` (done or refused): make the directory's claim say
        where the user sits here now, or release it."""
        table = self.hub.engine.seated_room(user_id)
        try:
            if table is None:
                await self.directory.release_seat(user_id, self._seat(room_id))
                if self._claimed.get(user_id, (None,))[0] == room_id:
                    del self._claimed[user_id]
            elif table.id != room_id:
                if await self.directory.claim_seat(user_id, self._seat(table.id),
                                                   replacing=self._seat(room_id)) is None:
                    self._claimed[user_id] = (table.id, self.clock())
        except Exception:
            # The next heartbeat puts the claim right; until then it keeps the user here.
            log.debug("cannot settle the seat claim of user %s", user_id, exc_info=True)

    # --- taking rooms over -----------------------------------------------------------------

    async def _take_over(self, host: Host) -> Table | None:
        loop = asyncio.get_running_loop()
        epoch = await loop.run_in_executor(None, self.hosts.move, host, self.server_id)
        if epoch is None:
            return None  # another server was first
        log.info("took over room %s from server %s (epoch %d)", host.room_id, host.server_id,
                 epoch)
        return await self.adopt(host.room_id)

    async def adopt(self, room_id: str) -> Table | None:
        """Load a room the database says this server hosts and serve it, as after a restart.
        Concurrent calls for one room share the work."""
        table = self.hub.lobby.get(room_id)
        if table is not None:
            return table
        pending = self._adopting.get(room_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future = asyncio.get_running_loop().create_future()
        self._adopting[room_id] = future
        try:
            loop = asyncio.get_running_loop()
            loaded = await loop.run_in_executor(None, self.move_log.load_room, room_id)
            table = None
            if loaded is not None and self.hub.lobby.get(room_id) is None:
                room, actions = loaded
                table = Table.replay(room.id, room.name, room.game, room.seats, actions)
                await self.hub.recover([table])
            table = self.hub.lobby.get(room_id)
            future.set_result(table)
            return table
        except Exception as error:
            future.set_exception(error)
            future.exception()  # retrieved: the caller gets it raised
            raise
        finally:
            self._adopting.pop(room_id, None)

    # --- routing --------------------------------------------------------------------------

    async def route_join(self, peer: Peer, room_id: str) -> dict[str, Any] | None:
        """Before a `join`: None to go on here (the room is here, or was taken over just now),
        or the `redirect` to send."""
        if self.hub.lobby.get(room_id) is not None:
            return None
        loop = asyncio.get_running_loop()
        try:
            host = await loop.run_in_executor(None, self.hosts.host, room_id)
        except Exception:
            raise ProtocolError("unavailable", "Cannot find the room right now.") from None
        if host is None:
            return None  # no such room: the engine says so
        if host.server_id == self.server_id:
            await self.adopt(room_id)
            return None
        servers = {server.id: server for server in await self._servers()}
        target = servers.get(host.server_id)
        if target is None and not self.draining:
            # Its host is dead (or gave it up): the player reached this server, so it takes
            # the room over now rather than at the next heartbeat.
            if await self._take_over(host) is not None:
                return None
            host = await loop.run_in_executor(None, self.hosts.host, room_id)
            target = servers.get(host.server_id) if host is not None else None
        if target is None:
            raise ProtocolError("unavailable", "The room is moving to another server; try "
                                "again in a moment.")
        return self.redirect(peer, room_id, target)

    async def route_create(self, peer: Peer) -> dict[str, Any] | None:
        """Before a `create`: None to create the room here, or the `redirect` to the least
        loaded live server (ties stay here; a draining server always sends players on)."""
        if not self.draining and self.hub.engine.seated_room(peer.user.id) is not None:
            # The user sits here: the engine leaves that seat for the new room (or refuses),
            # which another server could not do.
            return None
        try:
            target = await self.directory.place(self.server_id)
        except Exception:
            return None  # no directory: this server is as good as any
        if target is None or target.id == self.server_id:
            if self.draining:
                raise ProtocolError("unavailable", "This server is shutting down; try again.")
            return None
        mine = self.info()
        if not self.draining and mine.load <= target.load:
            return None
        return self.redirect(peer, None, target)

    def redirect(self, peer: Peer, room_id: str | None, target: Any) -> dict[str, Any]:
        return {"msg": "redirect", "room": room_id, "server": target.id, "url": target.url,
                "token": self.issue_token(peer.user.id)}

    async def _servers(self) -> list[Any]:
        try:
            return await self.directory.servers()
        except Exception:
            raise ProtocolError("unavailable", "Cannot reach the other servers right "
                                "now.") from None

    # --- fenced out, and drain -------------------------------------------------------------

    async def moved(self, room_id: str) -> None:
        """Another server took this room over while this one could not tell (frozen, cut
        off): forget it and send its players to the new host."""
        members = self._forget(room_id)
        await self._send_on(room_id, members)

    def _let_go(self, room_id: str) -> None:
        """`moved`, with the players sent on in the background."""
        members = self._forget(room_id)
        self.hub.run(self._send_on(room_id, members), f"sending room {room_id}'s players on")

    def _forget(self, room_id: str) -> list[Peer]:
        members = self.hub.evict(room_id)
        log.warning("room %s was taken over by another server; %d connection(s) redirected",
                    room_id, len(members))
        return members

    async def _send_on(self, room_id: str, members: list[Peer], target: Any = None) -> None:
        """Redirect a room's former connections to its new host (`target`, or the host the
        database names once the directory lists it alive; `left` if none turns up)."""
        loop = asyncio.get_running_loop()
        for _ in range(20):
            if target is not None:
                break
            try:
                host = await loop.run_in_executor(None, self.hosts.host, room_id)
                servers = {server.id: server for server in await self.directory.servers()}
            except Exception:
                host, servers = None, {}
            if host is not None and host.server_id != self.server_id:
                target = servers.get(host.server_id)
            if target is None:
                await asyncio.sleep(0.25)
        for peer in members:
            if peer.closed or peer.user is None:
                continue
            if target is None:
                peer.send({"msg": "left", "room": room_id})
            else:
                peer.send(self.redirect(peer, room_id, target))

    async def drain(self, seconds: float) -> None:
        """Stop taking rooms, commit what is pending, hand every room to another live server
        and redirect its players. Returns when done or after `seconds`."""
        self.draining = True
        deadline = time.monotonic() + seconds
        await self.directory.beat(self.info(), self.summaries())
        await self.hub.flush(max(0.0, deadline - time.monotonic()))
        loop = asyncio.get_running_loop()
        # The rooms go round the other live servers, least loaded first.
        others = sorted((server for server in await self.directory.servers()
                         if server.id != self.server_id and not server.draining),
                        key=lambda server: (server.load, server.id))
        for number, table in enumerate(list(self.hub.lobby)):
            if time.monotonic() > deadline:
                log.warning("drain: time is up with %d room(s) left", len(self.hub.lobby))
                break
            target = others[number % len(others)] if others else None
            to_server = target.id if target is not None else UNHOSTED
            epoch = self.move_log.epoch(table.id) or 1
            moved = await loop.run_in_executor(
                None, self.hosts.move, Host(table.id, self.server_id, epoch), to_server)
            members = self.hub.evict(table.id)
            if moved is None:
                log.warning("drain: room %s was not this server's any more", table.id)
                target = None  # whoever hosts it now: the database says
            await self._send_on(table.id, members, target)
        await self.directory.beat(self.info(), self.summaries())


def _elsewhere(claim: str) -> ProtocolError:
    room = claim.partition("@")[0]
    return ProtocolError("already_in_room", f"You sit in room {room} on another server; leave "
                         "it first.")


def taker(room_id: str, servers: list[str]) -> str | None:
    """The server that takes a dead server's room over: the highest of a hash of room and
    server (rendezvous hashing), so every server agrees without asking, rooms spread evenly,
    and a server joining or leaving moves only its own share."""
    if not servers:
        return None
    return max(servers, key=lambda server: hashlib.blake2b(
        f"{room_id}\0{server}".encode(), digest_size=8).digest())


async def wait_all(tasks: list[Awaitable[Any]]) -> None:
    await asyncio.gather(*tasks, return_exceptions=True)
