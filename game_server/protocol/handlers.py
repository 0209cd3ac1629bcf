"""One coroutine per client message type, and the table that dispatches to them.

Each handler gets a message that already passed its schema (and, except `auth`, belongs to an
authenticated connection). It checks room and seat, then changes the room through `Hub.act`,
which lets the table apply the game rules, commits to the move log and tells the room. A refusal
raises `ProtocolError` before anything changes, so the table stays as it was.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from game_server.protocol.errors import ProtocolError
from game_server.rules import Card, Put, Suit, Take
from game_server.tables import Player, Status, Table, TableError

if TYPE_CHECKING:
    from game_server.protocol.hub import Hub
    from game_server.protocol.peer import Peer

log = logging.getLogger(__name__)

Re = str | int | None


async def auth(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    if peer.user is not None:
        raise ProtocolError("already_authenticated")
    try:
        user_id = hub.read_token(message["token"])
    except Exception:
        # Tampered, expired, wrong key or garbage: one answer, no detail.
        peer.token_refused(re)
        return
    try:
        user = await hub.load_user(user_id)
    except Exception:
        log.exception("user lookup failed for user %s", user_id)
        raise ProtocolError("unavailable", "Cannot check the sign-in right now.") from None
    if user is None:
        peer.token_refused(re)
    elif not peer.closed:
        peer.user = user
        hub.metrics.signed_in()
        peer.reply(hub.welcome(peer), re)
        peer.reply(hub.room_list_message(), re)


async def room_list(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    peer.reply(hub.room_list_message(), re)


async def create(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    user = peer.user
    _refuse_if_playing_elsewhere(hub, peer, None)
    await _leave_for(hub, peer, None)
    try:
        table = hub.lobby.create(message["name"], message["game"], message["seats"])
    except TableError as error:
        raise ProtocolError(error.code, error.text) from None
    hub.attach(peer, table, playing=True)
    try:
        await hub.act(table, lambda: table.sit(user), peer, re)
    except ProtocolError:
        hub.lobby.close(table.id)
        hub.release(peer)
        raise
    if peer.closed:
        hub.detach(peer, disconnect=True)


async def join(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    user = peer.user
    table = hub.lobby.get(message["room"])
    if table is None:
        raise ProtocolError("no_such_room")
    own = table.seat_of(user.id)
    watch = message.get("as") == "spectator"
    if own is not None and not (watch and table.seats[own].bot):
        # Their own seat: a rejoin after a disconnect, a reload, or taking it back from a bot.
        _refuse_if_playing_elsewhere(hub, peer, table)
        await _leave_for(hub, peer, table)
        hub.cancel_grace(table, user)
        await _enter(hub, peer, table, True, lambda: table.sit(user), re)
        return
    if watch:
        if peer.room is not table:
            # Watching elsewhere is fine, but this connection cannot walk out of a game.
            _refuse_if_this_connection_plays(peer, table)
            await _leave_connection(hub, peer)
        await _enter(hub, peer, table, False, lambda: table.watch(user), re)
        return
    # Refuse before leaving anything, so a failed join loses nothing.
    _refuse_if_playing_elsewhere(hub, peer, table)
    if table.status is Status.PLAYING:
        raise ProtocolError("game_started", "The game has started; you can watch it.")
    if table.taken == len(table.seats):
        raise ProtocolError("room_full")
    await _leave_for(hub, peer, table)
    await _enter(hub, peer, table, True, lambda: table.sit(user), re)


async def add_bot(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    table = _room(peer)
    await hub.act(table, lambda: table.add_bot(peer.user), peer, re)


async def start(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    table = _room(peer)
    await hub.act(table, lambda: table.start(peer.user), peer, re)


async def take(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    table = _room(peer)
    await hub.act(table, lambda: table.play(peer.user, Take()), peer, re)


async def put(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    table = _room(peer)
    suit = Suit(message["suit"]) if "suit" in message else None
    move = Put(Card.from_str(message["card"]), suit)
    await hub.act(table, lambda: table.play(peer.user, move), peer, re)


async def leave(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    table = peer.room
    if table is None:
        raise ProtocolError("not_in_room")
    if peer.playing:
        await _leave_seat(hub, table, peer.user, peer, re)
    else:
        hub.detach(peer)
        peer.reply({"msg": "left", "room": table.id}, re)


HANDLERS: dict[str, Callable[["Hub", "Peer", dict[str, Any], Re], Awaitable[None]]] = {
    "auth": auth,
    "room_list": room_list,
    "create": create,
    "join": join,
    "add_bot": add_bot,
    "start": start,
    "take": take,
    "put": put,
    "leave": leave,
}


# --- helpers -----------------------------------------------------------------------------

def _room(peer: "Peer") -> Table:
    if peer.room is None:
        raise ProtocolError("not_in_room")
    if not peer.playing:
        raise ProtocolError("not_a_player")
    return peer.room


async def _enter(hub: "Hub", peer: "Peer", table: Table, playing: bool,
                 change: Callable[[], list], re: Re) -> None:
    """Put the connection in the room and apply the change; a rejoin that changes nothing
    is answered with the current state."""
    hub.attach(peer, table, playing)
    try:
        changes = await hub.act(table, change, peer, re)
    except ProtocolError:
        hub.release(peer)
        raise
    if peer.closed:
        # The connection went away while the change was being committed.
        hub.detach(peer, disconnect=True)
    elif not changes:
        hub.send_state(peer, table, re)


def _refuse_if_playing_elsewhere(hub: "Hub", peer: "Peer", target: Table | None) -> None:
    """A user sits at one room at a time: refuse while they play a running game elsewhere."""
    seated = hub.seated_room(peer.user.id)
    if seated is not None and seated is not target and seated.status is Status.PLAYING:
        raise ProtocolError("already_in_room")
    _refuse_if_this_connection_plays(peer, target)


def _refuse_if_this_connection_plays(peer: "Peer", target: Table | None) -> None:
    """This connection plays a running game in another room: it cannot leave it to go."""
    if (peer.room is not None and peer.room is not target and peer.playing
            and peer.room.status is Status.PLAYING):
        raise ProtocolError("already_in_room")


async def _leave_for(hub: "Hub", peer: "Peer", target: Table | None) -> None:
    """Before sitting at `target` (None: a new room), leave the seat the user has elsewhere
    (a waiting or finished room) and move this connection out of its room."""
    seated = hub.seated_room(peer.user.id)
    if seated is not None and seated is not target:
        await _leave_seat(hub, seated, peer.user)
    if peer.room is not None and peer.room is not target:
        await _leave_connection(hub, peer)


async def _leave_connection(hub: "Hub", peer: "Peer") -> None:
    """Move this connection out of its room (leaving its seat, which is not in a game)."""
    if peer.playing:
        await _leave_seat(hub, peer.room, peer.user)
    else:
        hub.detach(peer)


async def _leave_seat(hub: "Hub", table: Table, user: Player, requester: "Peer | None" = None,
                      re: Re = None) -> None:
    """The user leaves their seat: every connection of theirs in the room is told `left`.

    Those connections leave the room first, so they get `left` instead of the room's state.
    """
    leaving = [member for member in hub.room_members(table, user.id) if member.playing]
    for member in leaving:
        hub.release(member)
    try:
        await hub.act(table, lambda: table.leave(user))
    except ProtocolError:
        for member in leaving:
            hub.attach(member, table, playing=True)
        raise
    hub.cancel_grace(table, user)
    for member in leaving:
        member.reply({"msg": "left", "room": table.id}, re if member is requester else None)
