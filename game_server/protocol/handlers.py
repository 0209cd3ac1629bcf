"""One coroutine per client message type, and the table that dispatches to them.

Each handler gets a message that already passed its schema (and, except `auth`, belongs to an
authenticated connection). `auth` checks the token and looks the user up; every other message
becomes one request to the room engine (`game_server.tables.requests`), carried out by the hub.
A refusal raises `ProtocolError`; nothing has changed then.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from game_server.protocol.delivery import encode
from game_server.protocol.errors import ProtocolError
from game_server.rules import GAMES
from game_server.tables.requests import (AddBot, Create, Disconnect, Join, Leave, Move,
                                         RoomList, SignIn, Start)

if TYPE_CHECKING:
    from game_server.protocol.hub import Hub
    from game_server.protocol.peer import Peer

__all__ = ["HANDLERS", "MOVE_ALIASES", "disconnect", "encode"]

log = logging.getLogger(__name__)

Re = str | int | None

#: Message types that name a game's move directly (protocol 1's `take` and `put` of Crazy
#: Eights): ``{"msg": "put", "card": "QH"}`` is ``{"msg": "move", "move": {"type": "put",
#: "card": "QH"}}``. Each game lists its own (`Game.MOVE_MESSAGES`).
MOVE_ALIASES: frozenset[str] = frozenset(
    name for game in GAMES.values() for name in getattr(game, "MOVE_MESSAGES", ()))


async def auth(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
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
        await hub.request(SignIn(peer.id, user))
        peer.reply(hub.welcome(peer), re)
        hub.refresh_token_later(peer)
        peer.reply(await hub.room_list(), re)


async def room_list(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    if hub.hosting is None:
        await hub.request(RoomList(peer.id, re))
    else:
        peer.reply(await hub.room_list(), re)


async def create(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    if hub.hosting is not None:
        await hub.hosting.refuse_if_playing_elsewhere(peer, None)
        redirect = await hub.hosting.route_create(peer)
        if redirect is not None:
            peer.reply(redirect, re)
            return
    await hub.request(Create(peer.id, message["name"].strip(), message["game"],
                             message.get("seats"), re), peer, re)


async def join(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    if hub.hosting is not None:
        await hub.hosting.refuse_if_playing_elsewhere(peer, message["room"])
        redirect = await hub.hosting.route_join(peer, message["room"])
        if redirect is not None:
            peer.reply(redirect, re)
            return
    await hub.request(Join(peer.id, message["room"], message.get("as") == "spectator", re),
                      peer, re)


async def add_bot(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    await hub.request(AddBot(peer.id, re), peer, re)


async def start(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    await hub.request(Start(peer.id, re), peer, re)


async def move(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    await hub.request(Move(peer.id, message["move"], re), peer, re)


async def move_alias(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    payload = {key: value for key, value in message.items() if key not in ("msg", "id")}
    await hub.request(Move(peer.id, {"type": message["msg"], **payload}, re), peer, re)


async def leave(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    await hub.request(Leave(peer.id, re), peer, re)


async def disconnect(peer: Peer) -> None:
    """The connection is gone: its seat, if any, enters the grace period."""
    await peer.hub.request(Disconnect(peer.id))


HANDLERS: dict[str, Callable[[Hub, Peer, dict[str, Any], Re], Awaitable[None]]] = {
    "auth": auth,
    "room_list": room_list,
    "create": create,
    "join": join,
    "add_bot": add_bot,
    "start": start,
    "move": move,
    "leave": leave,
    **{name: move_alias for name in MOVE_ALIASES},
}
