"""One function per client message type, and the table that dispatches to them.

Each handler gets a message that already passed its schema (and, except `auth`, belongs to an
authenticated connection). It checks room and seat, then lets the table apply the game rules.
A refusal raises `ProtocolError` before anything changes, so the table stays as it was.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Callable

from game_server.protocol.errors import ProtocolError
from game_server.rules import Card, Put, RulesError, Suit, Take
from game_server.tables import Status, Table, TableError

if TYPE_CHECKING:
    from game_server.protocol.hub import Hub
    from game_server.protocol.peer import Peer

log = logging.getLogger(__name__)

Re = str | int | None
#: Auth lookups in flight, so their tasks are not garbage-collected midway.
_LOOKUPS: set[asyncio.Task] = set()


def auth(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    if peer.user is not None:
        raise ProtocolError("already_authenticated")
    try:
        user_id = hub.read_token(message["token"])
    except Exception:
        # Tampered, expired, wrong key or garbage: one answer, no detail.
        peer.token_refused(re)
        return
    peer.hold()
    task = asyncio.ensure_future(_finish_auth(hub, peer, user_id, re))
    _LOOKUPS.add(task)
    task.add_done_callback(_LOOKUPS.discard)


async def _finish_auth(hub: "Hub", peer: "Peer", user_id: int, re: Re) -> None:
    try:
        user = await hub.load_user(user_id)
    except Exception:
        log.exception("user lookup failed for user %s", user_id)
        peer.error(ProtocolError("unavailable", "Cannot check the sign-in right now."), re)
    else:
        if user is None:
            peer.token_refused(re)
        elif not peer.closed:
            peer.user = user
            peer.reply(hub.welcome(peer), re)
            peer.reply(hub.room_list_message(), re)
    finally:
        peer.release()


def room_list(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    peer.reply(hub.room_list_message(), re)


def create(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    _leave_for(hub, peer, None)
    try:
        table = hub.lobby.create(message["name"], message["game"], message["seats"])
    except TableError as error:
        raise ProtocolError(error.code, error.text) from None
    hub.attach(peer, table, playing=True)
    hub.publish(table, table.sit(peer.user), peer, re)


def join(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    user = peer.user
    table = hub.lobby.get(message["room"])
    if table is None:
        raise ProtocolError("no_such_room")
    if table.seat_of(user.id) is not None:
        # Their own seat: a rejoin after a disconnect, a reload, or taking it back from a bot.
        _leave_for(hub, peer, table)
        hub.cancel_grace(table, user)
        hub.attach(peer, table, playing=True)
        changes = table.sit(user)
        if changes:
            hub.publish(table, changes, peer, re)
        else:
            hub.send_state(peer, table, re)
        return
    if message.get("as") == "spectator":
        if peer.room is not table:
            _leave_connection(hub, peer)
        hub.attach(peer, table, playing=False)
        changes = table.watch(user)
        if changes:
            hub.publish(table, changes, peer, re)
        else:
            hub.send_state(peer, table, re)
        return
    # Refuse before leaving anything, so a failed join loses nothing.
    seated = hub.seated_room(user.id)
    if seated is not None and seated.status is Status.PLAYING:
        raise ProtocolError("already_in_room")
    if table.status is Status.PLAYING:
        raise ProtocolError("game_started", "The game has started; you can watch it.")
    if table.taken == len(table.seats):
        raise ProtocolError("room_full")
    _leave_for(hub, peer, table)
    hub.attach(peer, table, playing=True)
    hub.publish(table, _table_call(table.sit, user), peer, re)


def add_bot(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    table = _room(peer)
    hub.publish(table, _table_call(table.add_bot, peer.user), peer, re)


def start(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    table = _room(peer)
    hub.publish(table, _table_call(table.start, peer.user), peer, re)


def take(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    _play(hub, peer, Take(), re)


def put(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    suit = Suit(message["suit"]) if "suit" in message else None
    _play(hub, peer, Put(Card.from_str(message["card"]), suit), re)


def leave(hub: "Hub", peer: "Peer", message: dict[str, Any], re: Re) -> None:
    table = peer.room
    if table is None:
        raise ProtocolError("not_in_room")
    if peer.playing:
        _leave_seat(hub, table, peer.user, peer, re)
    else:
        hub.detach(peer)
        peer.reply({"msg": "left", "room": table.id}, re)


HANDLERS: dict[str, Callable[["Hub", "Peer", dict[str, Any], Re], None]] = {
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


def _play(hub: "Hub", peer: "Peer", move: Any, re: Re) -> None:
    table = _room(peer)
    hub.publish(table, _table_call(table.play, peer.user, move), peer, re)


def _table_call(method: Callable[..., list], *args: Any) -> list:
    try:
        return method(*args)
    except (TableError, RulesError) as error:
        text = error.text if isinstance(error, TableError) else str(error)
        raise ProtocolError(error.code, text or None) from None


def _leave_for(hub: "Hub", peer: "Peer", target: Table | None) -> None:
    """Before sitting at `target` (None: a new room), leave the seat the user has elsewhere.

    Raises:
        ProtocolError: already_in_room, when that seat is in a running game.
    """
    seated = hub.seated_room(peer.user.id)
    if seated is not None and seated is not target:
        if seated.status is Status.PLAYING:
            raise ProtocolError("already_in_room")
        _leave_seat(hub, seated, peer.user)
    if peer.room is not None and peer.room is not target:
        _leave_connection(hub, peer)


def _leave_connection(hub: "Hub", peer: "Peer") -> None:
    """Move this connection out of its room (a player's seat in a running game stays)."""
    table = peer.room
    if peer.playing and table.status is Status.PLAYING:
        raise ProtocolError("already_in_room")
    if peer.playing:
        _leave_seat(hub, table, peer.user)
    else:
        hub.detach(peer)


def _leave_seat(hub: "Hub", table: Table, user: Any, requester: "Peer | None" = None,
                re: Re = None) -> None:
    """The user leaves their seat: every connection of theirs in the room is told `left`."""
    changes = table.leave(user)
    hub.cancel_grace(table, user)
    for member in hub.room_members(table, user.id):
        if member.playing:
            member.room, member.playing = None, False
            hub.members[table.id].discard(member)
            member.reply({"msg": "left", "room": table.id}, re if member is requester else None)
    if changes:
        hub.publish(table, changes)
    else:
        hub.room_list_changed()
