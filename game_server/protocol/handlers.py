"""One coroutine per client message type, and the table that dispatches to them.

Each handler gets a message that already passed its schema (and, except `auth`, belongs to an
authenticated connection). `auth` checks the token and looks the user up; every other message
becomes one request to the room engine (`game_server.tables.requests`), carried out by the hub.
A refusal raises `ProtocolError`; nothing has changed then.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from game_server.protocol.delivery import encode
from game_server.protocol.errors import ProtocolError
from game_server.rules import GAMES
from game_server.tables.requests import Chat, Mute
from game_server.tables.requests import Back, QuickPlay
from game_server.tables.requests import Rematch
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
        peer.protocol = message["protocol"]
        peer.stop_sign_in_timer()
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
    async with hub.user_lock(peer.user.id):
        hosting = hub.hosting
        request = Create(peer.id, message["name"], message["game"], message.get("seats"), re)
        if message.get("spectator_chat"):
            request = replace(request, spectator_chat=True)
        if "spectators" in message or "spectator_delay" in message:
            request = replace(request, spectators=message.get("spectators", "public"),
                              spectator_delay=message.get("spectator_delay"))
        if message.get("clock") is not None:
            request = replace(request, clock=dict(message["clock"]))
        if hosting is None:
            await hub.request(request, peer, re)
            return
        await hosting.refuse_if_playing_elsewhere(peer, None)
        redirect = await hosting.route_create(peer)
        if redirect is not None:
            peer.reply(redirect, re)
            return
        # The room's id is chosen now, so that the seat in it is claimed before it exists.
        request = replace(request, room=hub.lobby.new_id())
        await _sit_down(hub, peer, request, re)


async def join(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    room_id = message["room"]
    request = Join(peer.id, room_id, message.get("as") == "spectator", re,
                   since=message.get("since"))
    if request.spectator:
        # Watching is not sitting: the one-room rule does not apply across servers.
        if hub.hosting is not None:
            redirect = await hub.hosting.route_join(peer, room_id)
            if redirect is not None:
                peer.reply(redirect, re)
                return
        await hub.request(request, peer, re)
        return
    async with hub.user_lock(peer.user.id):
        hosting = hub.hosting
        if hosting is None:
            await hub.request(request, peer, re)
            return
        await hosting.refuse_if_playing_elsewhere(peer, room_id)
        redirect = await hosting.route_join(peer, room_id)
        if redirect is not None:
            peer.reply(redirect, re)
            return
        await _sit_down(hub, peer, request, re)


async def quick_play(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    """Sit at the waiting quick-play room of the game with the most players, or open one.
    With several servers the rooms of every server count (the directory's room list): a room
    on another server is joined through a `redirect`, where the client sends `quick_play`
    again and that server seats it."""
    game = message["game"]
    request = QuickPlay(peer.id, game, re)
    async with hub.user_lock(peer.user.id):
        hosting = hub.hosting
        if hosting is None:
            await hub.request(request, peer, re)
            return
        if game not in GAMES:
            await hub.request(request, peer, re)  # the engine names the games it runs
            return
        await hosting.refuse_if_playing_elsewhere(peer, None)
        own = hub.engine.quick_room(game, peer.user.id)
        best = own if own is not None and own.is_seated(peer.user.id) else None
        if best is None:
            best_room = await _best_quick_room(hub, game)
            if best_room is not None and hub.lobby.get(best_room) is None:
                redirect = await hosting.route_join(peer, best_room)
                if redirect is not None:
                    peer.reply(redirect, re)
                    return
            if best_room is None:
                best_room = own.id if own is not None else None
        else:
            best_room = best.id
        if best_room is None or hub.lobby.get(best_room) is None:
            redirect = await hosting.route_create(peer)
            if redirect is not None:
                peer.reply(redirect, re)
                return
            best_room = hub.lobby.new_id()
        await _sit_down(hub, peer, replace(request, room=best_room), re)


async def _best_quick_room(hub: Hub, game: str) -> str | None:
    """The id of the waiting quick-play room of `game` with the most players and a free seat,
    on any live server (the directory's list, in lobby order: the oldest wins among equals);
    None when there is none, or the directory cannot be reached."""
    try:
        rooms = await hub.hosting.directory.room_list()
    except Exception:
        return None
    best: dict[str, Any] | None = None
    for room in reversed(rooms):  # newest first in the list: walk it oldest first
        if (room.get("quick") and room.get("game") == game and room.get("status") == "waiting"
                and room.get("players", 0) < room.get("seats", 0)
                and (best is None or room["players"] > best["players"])):
            best = room
    return best["id"] if best is not None else None


async def _sit_down(hub: Hub, peer: Peer, request: Create | Join | QuickPlay, re: Re) -> None:
    """With several servers: claim the user's seat in the directory, then sit down, then make
    the claim say where the user sits now (released if the sit-down was refused). Across
    servers the directory's claim is what makes the decision atomic; on this server the
    engine and the user's lock (`Hub.user_lock`) do."""
    hosting = hub.hosting
    room_id = request.room
    if hub.lobby.get(room_id) is None and isinstance(request, Join):
        await hub.request(request, peer, re)  # no such room: the engine says so
        return
    claimed = await hosting.claim(peer, room_id)
    try:
        await hub.request(request, peer, re)
    finally:
        if claimed:
            await hosting.settle_claim(peer.user.id, room_id)


async def add_bot(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    await hub.request(AddBot(peer.id, re), peer, re)


async def start(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    await hub.request(Start(peer.id, re), peer, re)


async def rematch(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    await hub.request(Rematch(peer.id, re), peer, re)


async def move(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    await hub.request(Move(peer.id, message["move"], re), peer, re)


async def move_alias(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    payload = {key: value for key, value in message.items() if key not in ("msg", "id")}
    await hub.request(Move(peer.id, {"type": message["msg"], **payload}, re), peer, re)


async def leave(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    await hub.request(Leave(peer.id, re), peer, re)
    if hub.hosting is not None:
        # Free the seat's claim now rather than at the next heartbeat, so that the user can
        # sit down on another server at once.
        await hub.hosting.seat_left(peer.user.id)


async def back(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    await hub.request(Back(peer.id, re), peer, re)


async def chat(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    await hub.request(Chat(peer.id, message["text"], hub.chat.now(), re), peer, re)


async def mute(hub: Hub, peer: Peer, message: dict[str, Any], re: Re) -> None:
    await hub.request(Mute(peer.id, message["user_id"], re), peer, re)


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
    "rematch": rematch,
    "move": move,
    "leave": leave,
    "back": back,
    "quick_play": quick_play,
    "chat": chat,
    "mute": mute,
    **{name: move_alias for name in MOVE_ALIASES},
}
