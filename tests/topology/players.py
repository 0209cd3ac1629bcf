"""Players for the topology tests: a GameClient that goes through nginx and follows the
service wherever it sends it.

A :class:`Player` signs in at the nginx origin (`/dev/login`, then SockJS at `/sockjs/`, the
lobby, or at `/g/<server id>/sockjs/`, one server), follows `redirect` replies with
`GameClient.follow`, and can tell when its connection was moved on (an unsolicited
`redirect`), given up (`left`) or closed. :func:`play_to_end` plays a room's game with
moves chosen by `game_server.client.choose`, carrying the players over such moves.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

from tornado.httpclient import HTTPClientError

from game_server.client import ConnectionClosed, GameClient, ServerError, choose, dev_login
from game_server.protocol.schema import check_server

Message = dict[str, Any]

#: Errors a request may get while its room moves between servers: ask again.
RETRY_CODES = {"unavailable"}


class Player:
    """One user, through nginx."""

    _ids = itertools.count(1)

    def __init__(self, origin: str, name: str, transport: str = "websocket") -> None:
        self.origin = origin
        self.name = name
        self.transport = transport
        self.token: str | None = None
        self.user: Message | None = None
        self.client: GameClient | None = None
        self.server: str | None = None  # the server of the current connection
        self.clients: list[GameClient] = []  # every connection this player had
        self.redirects: list[Message] = []  # every redirect it followed
        self._checked = 0  # messages of the current connection looked at by `trouble`

    # --- connecting ---------------------------------------------------------------------

    async def sign_in(self, via: str | None = None) -> Message:
        """Connect through nginx (the lobby, or `via`'s /g/<id>/sockjs/) and authenticate
        with the newest token; returns the welcome."""
        if self.token is None:
            self.token, self.user = await dev_login(self.origin, self.name)
        prefix = "/sockjs" if via is None else f"/g/{via}/sockjs"
        client = await GameClient.connect(self.origin, prefix, transport=self.transport)
        welcome = await client.auth(self.token)
        self._use(client)
        return welcome

    def _use(self, client: GameClient) -> None:
        if client is not self.client:
            self.client = client
            self.clients.append(client)
            self._checked = 0
        welcomes = [m for m in client.received if m.get("msg") == "welcome"]
        if welcomes:
            self.server = welcomes[-1]["server"]
        if client.token:
            self.token = client.token

    async def close(self) -> None:
        for client in self.clients:
            await client.close()

    # --- requests -----------------------------------------------------------------------

    async def request(self, message: Message, timeout: float = 15.0) -> Message:
        """Send `message`, following redirects, and asking again (for `timeout` seconds)
        while the room is moving. Returns the final reply.

        Raises:
            ServerError: any other refusal.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = await self.client.request(message)
                if reply.get("msg") == "redirect":
                    self.redirects.append(reply)
                    client, reply = await self.client.follow(reply, message)
                    self._use(client)
                return reply
            except ServerError as error:
                if error.code not in RETRY_CODES or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.2)

    async def create(self, seats: int = 2, game: str = "crazy_eights") -> Message:
        return await self.request({"msg": "create", "game": game, "seats": seats,
                                   "name": f"{self.name}'s room"})

    async def join(self, room: str) -> Message:
        return await self.request({"msg": "join", "room": room})

    async def act(self, move: Message, timeout: float = 5.0) -> Message | None:
        """Send a move and wait for its reply; None if the connection was moved on or closed
        first, or nothing came within `timeout` (see :meth:`trouble`)."""
        client = self.client
        request_id = f"m{next(self._ids)}"
        start = len(client.received)
        try:
            client.send({**move, "id": request_id})
        except ConnectionClosed:
            return None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in client.received[start:]:
                if message.get("re") == request_id:
                    return message
                if message.get("msg") in ("redirect", "left") and "re" not in message:
                    return None
            start = len(client.received)
            if client.close_reason is not None:
                return None
            await asyncio.sleep(0.01)
        return None

    # --- what it sees -------------------------------------------------------------------

    def states(self, room: str) -> list[Message]:
        """The states of `room` on the current connection."""
        return [m for m in self.client.received
                if m.get("msg") == "state" and m.get("room") == room]

    def latest(self, room: str) -> Message | None:
        states = self.states(room)
        return states[-1] if states else None

    def trouble(self) -> tuple[str, Message | None] | None:
        """What happened to the current connection since the last look, if anything:
        ("redirect", message) for an unsolicited redirect, ("left", message), ("closed",
        None)."""
        received = self.client.received
        for message in received[self._checked:]:
            self._checked += 1
            if "re" not in message and message.get("msg") in ("redirect", "left"):
                return message["msg"], message
        if self.client.close_reason is not None:
            return "closed", None
        return None

    async def wait_trouble(self, timeout: float) -> tuple[str, Message | None]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.trouble()
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}'s connection to {self.server} was neither "
                                     f"moved on nor closed within {timeout} s")
            await asyncio.sleep(0.02)

    async def come_back(self, room: str, trouble: tuple[str, Message | None] | None = None,
                        timeout: float = 20.0) -> Message:
        """Get back to `room`: follow an unsolicited redirect, else sign in again through the
        lobby and join (following redirects). Returns the state of the room."""
        kind, message = trouble or ("closed", None)
        join = {"msg": "join", "room": room}
        if kind == "redirect":
            self.redirects.append(message)
            try:
                client, reply = await self.client.follow(message, join)
            except ServerError as error:
                if error.code not in RETRY_CODES:
                    raise
                # The room is still moving: start again from the lobby.
            else:
                self._use(client)
                if reply.get("msg") == "redirect":  # moved again meanwhile
                    return await self.request(join, timeout)
                return reply
        old = self.client
        old_token = old.token
        await old.close()
        if old_token:
            self.token = old_token
        deadline = time.monotonic() + timeout
        while True:
            try:
                await self.sign_in()
                return await self.request(join, max(1.0, deadline - time.monotonic()))
            except (ConnectionClosed, OSError, asyncio.TimeoutError, HTTPClientError) as error:
                # The lobby session landed on a server that died just now (nginx answers 502
                # once when it had marked every server down): try again.
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.name} cannot get back to {room}: "
                                         f"{error!r}") from None
                await asyncio.sleep(0.2)

    def check_messages(self) -> None:
        """Every message this player received matches its schema."""
        for client in self.clients:
            for message in client.received:
                check_server(message)


def hand(state: Message) -> list[str]:
    """The player's own cards in a Crazy Eights state."""
    return sorted(state["table"]["game_state"]["hand"])


async def play_to_end(players: list[Player], room: str, timeout: float = 45.0,
                      max_moves: int = 600) -> list[Message]:
    """Play the game of `room` until it is finished, each player moving when its newest state
    names its seat among those to act; a player whose connection is moved on or closed comes
    back (:meth:`Player.come_back`) and plays on. Returns each player's final state."""
    deadline = time.monotonic() + timeout
    acted: dict[str, int] = {}
    moves = 0
    while True:
        finals = []
        for player in players:
            trouble = player.trouble()
            if trouble is not None:
                await player.come_back(room, trouble)
            state = player.latest(room)
            finals.append(state)
            if state is None:
                continue
            move = choose(state["table"])
            if move is None or acted.get(player.name) == state["seq"]:
                continue
            acted[player.name] = state["seq"]
            reply = await player.act(move)
            if reply is not None and reply.get("code") == "rate_limited":
                # Scripted players can outrun the limit a person never reaches (20 messages
                # a second): slow down and make the same move again, as a client would.
                del acted[player.name]
                await asyncio.sleep(1.0)
                continue
            if reply is not None and reply.get("msg") == "error" and reply.get("code") not in (
                    "not_your_turn", "unavailable"):
                raise AssertionError(f"{player.name}'s move {move} at seq {state['seq']} was "
                                     f"refused: {reply}")
            moves += 1
            assert moves < max_moves, "the game does not end"
        if all(state is not None and state["table"]["status"] == "finished"
               for state in finals) and len({state["seq"] for state in finals}) == 1:
            return finals
        if time.monotonic() > deadline:
            tails = {player.name: [json.dumps(m)[:200] for m in player.client.received[-3:]]
                     for player in players}
            raise AssertionError(f"the game in {room} did not finish within {timeout} s; "
                                 f"last messages: {json.dumps(tails, indent=1)}")
        await asyncio.sleep(0.01)
