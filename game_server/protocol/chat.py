"""Carrying out what the engine decides about chat, beyond sending it: room chat is handed to
the chat log (kept with the game's history), lobby chat to the other servers' lobbies.

Neither is waited for: a chat message is sent at once and never holds up a move (the move log
and the chat log write on threads of their own). What a chat log fails to keep is lost, with
a warning; the conversation itself has reached everyone already.

Lobby chat across servers goes through the notification broker (game_server/broker.py) as a
notification of kind `LOBBY_CHAT_KIND` for everyone, `{"server": <sender's server id>,
"chat": <the chat message>}`: each server hands it to its own lobby (`received`), except the
server it came from, which has sent it to its lobby already. Without Redis there is one server,
and nothing to pass on.

Uses asyncio for the relay; nothing of Tornado or SockJS.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from game_server.protocol.delivery import deliver
from game_server.protocol.schema import SchemaViolation, check_server
from game_server.tables.requests import Delivery, Effects

if TYPE_CHECKING:
    from game_server.protocol.hub import Hub

__all__ = ["LOBBY_CHAT_KIND", "ChatDriver", "iso_time"]

log = logging.getLogger(__name__)

#: The notification kind that carries lobby chat between servers.
LOBBY_CHAT_KIND = "chat.lobby"


def iso_time(seconds: float) -> str:
    """A Unix time as the protocol writes times: ISO 8601, UTC, milliseconds.

    >>> iso_time(0)
    '1970-01-01T00:00:00.000Z'
    """
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ChatDriver:
    """The hub's chat edges. `chat_log` has `record(lines)` (returns at once; None: chat is
    not kept); `publish(kind, data)` is the broker's (None: one server)."""

    def __init__(self, hub: Hub, wall_clock: Callable[[], float] = time.time) -> None:
        self._hub = hub
        self.wall_clock = wall_clock
        self.chat_log: Any = None
        self.publish: Callable[[str, Any], Awaitable[None]] | None = None
        self._relay_failing = False

    def now(self) -> str:
        """The server's time now, as a chat message's `at`."""
        return iso_time(self.wall_clock())

    def carry_out(self, fx: Effects) -> None:
        """After the deliveries: keep the room chat said, pass lobby chat on."""
        if fx.said and self.chat_log is not None:
            try:
                self.chat_log.record(list(fx.said))
            except Exception:
                log.exception("the chat log refused %d message(s)", len(fx.said))
        if fx.lobby_chat is not None and self.publish is not None:
            data = {"server": self._hub.settings.server_id, "chat": fx.lobby_chat}
            self._hub.run(self._relay(data), "passing lobby chat on")

    async def _relay(self, data: dict[str, Any]) -> None:
        try:
            await self.publish(LOBBY_CHAT_KIND, data)
        except Exception as error:  # noqa: BLE001 - Redis away: this server's lobby has it
            if not self._relay_failing:
                log.warning("lobby chat reaches this server's lobby only: %s", error)
            self._relay_failing = True
        else:
            self._relay_failing = False

    def from_broker(self, note: Any) -> Any:
        """What the notification broker hands each notification to (game_server/broker.py):
        lobby chat from another server to this server's lobby (`received`), any other
        notification to `Hub.notify`."""
        if note.kind == LOBBY_CHAT_KIND and note.user_id is None:
            return self.received(note.data)
        return self._hub.notify(note.kind, note.data, note.user_id)

    def received(self, data: Any) -> int:
        """Lobby chat from another server: send it to this server's lobby. Returns how many
        connections got it (0 for this server's own, or a malformed one, which is logged)."""
        try:
            server, message = data["server"], data["chat"]
            check_server(message)
            if message["msg"] != "chat" or message["room"] is not None or "re" in message:
                raise SchemaViolation("not lobby chat")
        except (KeyError, TypeError, SchemaViolation) as error:
            log.warning("dropped malformed lobby chat from the broker: %s", error)
            return 0
        if server == self._hub.settings.server_id:
            return 0
        conns = self._hub.engine.lobby_connections()
        deliver([Delivery(conn, message) for conn in conns], self._hub._send)
        return len(conns)
