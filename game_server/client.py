"""A small asyncio client for protocol 3 (or 2) over SockJS (WebSocket, xhr-streaming,
xhr-polling).

The tests, the load tools and your own scripts use it:

    token, user = await dev_login("http://localhost:8080", "Ann")
    async with await GameClient.connect("http://localhost:8080") as client:
        await client.auth(token)
        state = await client.request({"msg": "create", "game": "crazy_eights",
                                      "name": "Ann's table", "seats": 3})

`request` sends a message with a fresh `id` and returns the first reply carrying it as `re`
(raising `ServerError` if that reply is an `error`). Every message received is also kept in
`client.received`, and `next_message` / `wait_for` read them in order.

In protocol 3 (the default) the server sends each `state`'s table as a merge patch of the
last one (docs/protocol.md, "Protocol 3"); the client merges it, so every `state` its callers
read holds the whole table, as in protocol 2. `GameClient.connect(..., protocol=2)` speaks 2.

Run `python -m game_server.client --name Ann` to sign in on a `--dev` server and play one game
of Crazy Eights against bots, printing what happens; `--game hearts` plays a Hearts match.
The moves are chosen by the game's rules module from what the player sees
(`Game.move_from_view`), so the client knows no game of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import random
import string
import sys
import weakref
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.iostream import IOStream
from tornado.tcpclient import TCPClient
from tornado.websocket import WebSocketClientConnection, websocket_connect

from game_server.protocol.patches import merge_patch
from game_server.rules import GAMES

#: The protocol version this client speaks unless told otherwise (docs/protocol.md).
PROTOCOL = 3

Message = dict[str, Any]


class ServerError(Exception):
    """The server answered a request with an `error` message."""

    def __init__(self, message: Message) -> None:
        self.code = message.get("code")
        self.text = message.get("text")
        self.message = message
        super().__init__(f"{self.code}: {self.text}")


class ConnectionClosed(Exception):
    """The SockJS session was closed; `code` and `reason` are the server's."""

    def __init__(self, code: int | None, reason: str | None) -> None:
        self.code, self.reason = code, reason
        super().__init__(f"connection closed ({code} {reason})")


async def dev_login(base_url: str, name: str) -> tuple[str, Message]:
    """Sign in through a --dev server's /dev/login: returns (token, user)."""
    request = HTTPRequest(base_url.rstrip("/") + "/dev/login", method="POST",
                          headers={"Content-Type": "application/json"},
                          body=json.dumps({"name": name}))
    response = await AsyncHTTPClient().fetch(request)
    body = json.loads(response.body)
    return body["token"], body["user"]


def sockjs_websocket_url(base_url: str, prefix: str = "/sockjs") -> str:
    """The raw SockJS WebSocket URL for a new session under `prefix`."""
    scheme, netloc, path, _, _ = urlsplit(base_url)
    ws_scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
    session = "".join(random.choices(string.ascii_lowercase + string.digits, k=12))
    server = f"{random.randrange(1000):03d}"
    full = f"{path.rstrip('/')}{prefix}/{server}/{session}/websocket"
    return urlunsplit((ws_scheme, netloc, full, "", ""))


class _WebSocketLink:
    """SockJS over a raw WebSocket: one SockJS frame per WebSocket message."""

    name = "websocket"

    def __init__(self, base_url: str, prefix: str) -> None:
        self._url = sockjs_websocket_url(base_url, prefix)
        self._ws: WebSocketClientConnection | None = None

    async def open(self) -> str | None:
        self._ws = await websocket_connect(self._url)
        return await self._ws.read_message()

    def send(self, frame: str) -> None:
        self._ws.write_message(frame)

    async def read(self) -> str | None:
        return await self._ws.read_message()

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()


class _StreamsTCPClient(TCPClient):
    """A TCPClient that remembers the connections it opened, so that a link can end its
    long requests on close, as a browser aborts its XHRs when the page goes. Otherwise an
    xhr_streaming request stays open (and the server keeps the session) for its hour."""

    def __init__(self) -> None:
        super().__init__()
        self.streams: weakref.WeakSet[IOStream] = weakref.WeakSet()

    async def connect(self, *args: Any, **kwargs: Any) -> IOStream:
        stream = await super().connect(*args, **kwargs)
        self.streams.add(stream)
        return stream


class _XhrLink:
    """SockJS over HTTP: xhr_send for sending, xhr (polling) or xhr_streaming for receiving."""

    def __init__(self, base_url: str, prefix: str, streaming: bool) -> None:
        session = "".join(random.choices(string.ascii_lowercase + string.digits, k=12))
        self._base = f"{base_url.rstrip('/')}{prefix}/{random.randrange(1000):03d}/{session}"
        self._streaming = streaming
        self.name = "xhr-streaming" if streaming else "xhr-polling"
        self._http = AsyncHTTPClient(force_instance=True)
        self._tcp = self._http.tcp_client = _StreamsTCPClient()  # type: ignore[attr-defined]
        self._frames: asyncio.Queue[str | None] = asyncio.Queue()
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._closed = False
        self._buffer = b""

    async def open(self) -> str | None:
        self._tasks.append(asyncio.ensure_future(self._receive_loop()))
        self._tasks.append(asyncio.ensure_future(self._send_loop()))
        return await self._frames.get()

    def send(self, frame: str) -> None:
        if not self._closed:
            self._outbox.put_nowait(frame)

    async def read(self) -> str | None:
        return await self._frames.get()

    def close(self) -> None:
        # Closing the connections ends the requests in flight with an error response that
        # the loops expect (cancelling their tasks instead makes Tornado log an error).
        self._closed = True
        self._outbox.put_nowait(None)
        self._frames.put_nowait(None)
        for stream in list(self._tcp.streams):
            stream.close()

    async def _send_loop(self) -> None:
        # One request at a time keeps the messages in order.
        while True:
            frame = await self._outbox.get()
            if frame is None:
                return
            try:
                await self._http.fetch(self._base + "/xhr_send", method="POST", body=frame,
                                       raise_error=False, request_timeout=30)
            except Exception:
                # The server closed the session or went away, or close() ended the request:
                # the receive loop reports it.
                return

    async def _receive_loop(self) -> None:
        try:
            while not self._closed:
                if self._streaming:
                    self._buffer = b""
                    await self._http.fetch(self._base + "/xhr_streaming", method="POST",
                                           body=b"", streaming_callback=self._on_chunk,
                                           request_timeout=3600)
                else:
                    response = await self._http.fetch(self._base + "/xhr", method="POST",
                                                      body=b"", request_timeout=60)
                    for line in response.body.decode("utf-8").splitlines():
                        self._on_frame(line)
        except Exception:
            pass
        finally:
            self._frames.put_nowait(None)

    def _on_chunk(self, chunk: bytes) -> None:
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._on_frame(line.decode("utf-8"))

    def _on_frame(self, frame: str) -> None:
        if not frame or (len(frame) > 1 and not frame.strip("h")):
            return  # the xhr_streaming prelude: 2048 "h" characters
        self._frames.put_nowait(frame)
        if frame.startswith("c"):
            self._closed = True


TRANSPORTS = ("websocket", "xhr-streaming", "xhr-polling")


class GameClient:
    """One connection, over SockJS WebSocket (default) or an HTTP transport, speaking
    `protocol` (3 by default, or 2)."""

    #: `request` keeps under the server's rate limit (bursts of 40, 20 messages/s) by waiting.
    PACE_BURST = 40
    PACE_PER_SECOND = 19.0

    def __init__(self, link: Any) -> None:
        self._link = link
        self._allowance = float(self.PACE_BURST)
        self._allowance_at: float | None = None
        self.transport = link.name
        self._ids = itertools.count(1)
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self.received: list[Message] = []
        self.close_reason: tuple[int | None, str | None] | None = None
        self._waiters: dict[Any, asyncio.Future] = {}
        self.token: str | None = None
        self.base_url, self.prefix, self.transport_name = "", "/sockjs", "websocket"
        self.protocol = PROTOCOL
        #: Protocol 3: the whole table last received of each room, which patches apply to.
        self.tables: dict[str, Message] = {}
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(cls, base_url: str, prefix: str = "/sockjs", timeout: float = 10.0,
                      transport: str = "websocket", protocol: int = PROTOCOL) -> "GameClient":
        """Open a SockJS session and wait for its open frame.

        `transport` is one of TRANSPORTS; `protocol` (3 or 2) is the one `auth` names.
        """
        if transport == "websocket":
            link: Any = _WebSocketLink(base_url, prefix)
        elif transport in ("xhr-streaming", "xhr-polling"):
            link = _XhrLink(base_url, prefix, streaming=transport == "xhr-streaming")
        else:
            raise ValueError(f"unknown transport {transport!r}; use one of {TRANSPORTS}")
        first = await asyncio.wait_for(link.open(), timeout)
        if first != "o":
            link.close()
            raise ConnectionClosed(None, f"unexpected SockJS open frame {first!r}")
        client = cls(link)
        client.base_url, client.prefix, client.transport_name = base_url, prefix, transport
        client.protocol = protocol
        return client

    async def follow(self, reply: Message, message: Message,
                     hops: int = 3) -> tuple["GameClient", Message]:
        """If `reply` is a `redirect`, do what it says: connect to its `url` (same transport),
        sign in with its `token`, send `message` again, and close this connection. Returns
        the client now in use and the final reply (following at most `hops` redirects).

        Raises:
            ServerError: a request on the new connection was refused.
        """
        client = self
        while reply.get("msg") == "redirect" and hops > 0:
            hops -= 1
            parts = urlsplit(reply["url"])
            base = (f"{parts.scheme}://{parts.netloc}" if parts.netloc
                    else self.base_url.rstrip("/"))
            moved = await GameClient.connect(base, parts.path.rstrip("/") or "/sockjs",
                                             transport=self.transport_name,
                                             protocol=self.protocol)
            await moved.auth(reply["token"])
            await client.close()
            client = moved
            reply = await client.request(message)
        return client, reply

    async def __aenter__(self) -> "GameClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    # --- sending -------------------------------------------------------------------------

    def send(self, message: Message) -> None:
        """Send one message as it is (no id added)."""
        self.send_raw(json.dumps([json.dumps(message)]))

    def send_raw(self, frame: str) -> None:
        """Send a raw SockJS frame (tests use this for malformed input)."""
        if self.close_reason is not None:
            raise ConnectionClosed(*self.close_reason)
        self._link.send(frame)

    async def request(self, message: Message, timeout: float = 10.0) -> Message:
        """Send with a fresh id and return the reply carrying it as `re` (a `state` or an
        `error`; the `event`s before a join's `state` are in `received` and the queue).

        Raises:
            ServerError: the reply is an error.
            ConnectionClosed: the connection closed first.
            asyncio.TimeoutError: no reply within `timeout`.
        """
        await self._pace()
        request_id = next(self._ids)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiters[request_id] = future
        try:
            self.send({**message, "id": request_id})
            reply = await asyncio.wait_for(future, timeout)
        finally:
            self._waiters.pop(request_id, None)
        if reply.get("msg") == "error":
            raise ServerError(reply)
        return reply

    async def _pace(self) -> None:
        """Wait, if needed, so requests stay within the server's rate limit."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._allowance_at is not None:
            self._allowance = min(float(self.PACE_BURST), self._allowance
                                  + (now - self._allowance_at) * self.PACE_PER_SECOND)
        self._allowance_at = now
        if self._allowance < 1.0:
            await asyncio.sleep((1.0 - self._allowance) / self.PACE_PER_SECOND)
            self._allowance, self._allowance_at = 1.0, loop.time()
        self._allowance -= 1.0

    async def auth(self, token: str) -> Message:
        """Authenticate; returns the `welcome` message. Keeps the newest token the server
        gives (`welcome.token`, then `token` messages) in `self.token`."""
        return await self.request({"msg": "auth", "protocol": self.protocol, "token": token})

    async def chat(self, text: str) -> Message:
        """Say `text` to the room this connection is in (or to the lobby when in none);
        returns your own `chat` message as the server sent it on (cleaned).

        Raises:
            ServerError: chat_empty, chat_too_long, chat_rate_limited, muted.
        """
        return await self.request({"msg": "chat", "text": text})

    async def rematch(self) -> Message:
        """After a game, ask to play again with the same seats; returns the state (the deal
        follows once every person seated has asked). docs/protocol.md, "Rematch".

        Raises:
            ServerError: game_started, game_not_started, not_a_player, not_in_room.
        """
        return await self.request({"msg": "rematch"})

    async def mute(self, user_id: int) -> Message:
        """As the room's owner, mute a member for the rest of the game; returns the state.

        Raises:
            ServerError: not_owner, not_a_member, not_in_room.
        """
        return await self.request({"msg": "mute", "user_id": user_id})

    # --- receiving -----------------------------------------------------------------------

    async def next_message(self, timeout: float = 10.0) -> Message:
        """The next message received, in order.

        Raises:
            ConnectionClosed: no more messages will come.
        """
        message = await asyncio.wait_for(self._queue.get(), timeout)
        if message is None:
            self._queue.put_nowait(None)
            raise ConnectionClosed(*(self.close_reason or (None, None)))
        return message

    async def wait_for(self, predicate: Callable[[Message], bool],
                       timeout: float = 10.0) -> Message:
        """Read messages in order until one matches `predicate`; return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise asyncio.TimeoutError("no matching message")
            message = await self.next_message(remaining)
            if predicate(message):
                return message

    def drain(self) -> list[Message]:
        """Every message received and not yet read, without waiting."""
        messages = []
        while not self._queue.empty():
            message = self._queue.get_nowait()
            if message is None:
                self._queue.put_nowait(None)
                break
            messages.append(message)
        return messages

    async def _read(self) -> None:
        try:
            while True:
                frame = await self._link.read()
                if frame is None:
                    self.close_reason = self.close_reason or (None, "connection lost")
                    break
                if frame == "h":
                    continue
                if frame.startswith("c"):
                    code, reason = json.loads(frame[1:])
                    self.close_reason = (code, reason)
                    break
                if frame.startswith("a"):
                    for text in json.loads(frame[1:]):
                        self._deliver(json.loads(text))
        finally:
            self._link.close()
            for future in self._waiters.values():
                if not future.done():
                    future.set_exception(ConnectionClosed(*(self.close_reason or (None, None))))
            self._queue.put_nowait(None)

    def _deliver(self, message: Message) -> None:
        kind = message.get("msg")
        if kind in ("welcome", "token") and "token" in message:
            self.token = message["token"]
        if self.protocol >= 3:
            if kind == "state":
                message = self._merged(message)
            elif kind == "left":
                self.tables.pop(message.get("room"), None)
        self.received.append(message)
        self._queue.put_nowait(message)
        # The `event`s that come first on a join (missed ones with `since`, or the public log
        # for a late spectator) carry the join's `re` too; its reply is the `state` after them.
        future = (self._waiters.get(message.get("re")) if message.get("msg") != "event"
                  else None)
        if future is not None and not future.done():
            future.set_result(message)

    def _merged(self, state: Message) -> Message:
        """A protocol 3 state with its table made whole: merged into the table last received
        of its room unless it is whole already (`full`)."""
        room, table = state["room"], state["table"]
        if not state.get("full"):
            table = merge_patch(self.tables.get(room, {}), table)
            state = {**state, "table": table}
        self.tables[room] = table
        return state

    async def close(self) -> None:
        self._link.close()
        try:
            await asyncio.wait_for(asyncio.shield(self._reader), 5)
        except (asyncio.TimeoutError, Exception):
            self._reader.cancel()


# --- a simple player, for the command line and for load tools ------------------------------

def choose(table: Message) -> Message | None:
    """The `move` message a simple player sends now, from its view `table` (any game: the
    game's rules module chooses, `Game.move_from_view`); None when it has nothing to do."""
    if table["status"] != "playing" or table["you"] not in table["to_act"]:
        return None
    move = GAMES[table["game"]].move_from_view(table["game_state"])
    return {"msg": "move", "move": move} if move is not None else None


def check_deck_reveals(table: Message, seen: list[str]) -> list[str]:
    """What is wrong with the deck reveals of a finished view `table`, checked as
    docs/fairness.md says, against the commitments `seen` during the game, deal by deal
    (empty: each deal's order and salt make the commitment that was shown)."""
    problems = []
    reveals = table.get("deck_reveals") or []
    if len(reveals) != len(seen):
        problems.append(f"{len(reveals)} deals revealed, {len(seen)} commitments seen")
    for reveal, commit in zip(reveals, seen):
        text = ",".join(reveal["order"]) + ":" + reveal["salt"]
        digest = hashlib.sha256(text.encode("ascii")).hexdigest()
        if digest != commit or len(set(reveal["order"])) != 52 or len(reveal["order"]) != 52:
            problems.append(f"deal {reveal['deal']}: the reveal does not make {commit}")
    return problems


def time_left(table: Message, seat: int) -> float | None:
    """Seconds the seat has left to move (its move time and time bank), as of the moment the
    view `table` was made (`table.clock.now`, the server's time); None when its turn clock
    does not run. docs/protocol.md, "Turn clocks"."""
    clock = table.get("clock")
    running = next((c for c in (clock or {}).get("running", ()) if c["seat"] == seat), None)
    if running is None:
        return None
    return max(0.0, running["deadline"] + running["bank"] - clock["now"])


async def play_against_bots(base_url: str, name: str, bots: int = 2, game: str = "crazy_eights",
                            out: Callable[[str], None] = print,
                            clock: dict[str, int] | None = None,
                            quick: bool = False, games: int = 1,
                            spectators: str | None = None,
                            protocol: int = PROTOCOL) -> Message:
    """Sign in, create a room of `game` (with a turn `clock`, {"move", "bank"} seconds, if
    given), add bots (the room starts when its last seat is taken) and play until the game
    ends. `quick`: quick-play instead (`quick_play`: other players may join; bots fill the
    empty seats after the server's wait). `games`: play that many, asking for a rematch after
    each; `spectators`: the room's spectator policy; `protocol`: 3 or 2. At the end of each
    game the deck reveals are checked against the commitments shown (docs/fairness.md)."""
    token, user = await dev_login(base_url, name)
    client = await GameClient.connect(base_url, protocol=protocol)
    try:
        await client.auth(token)
        out(f"signed in as {user['name']} (id {user['id']})")
        create = {"msg": "create", "game": game, "name": f"{name}'s table", "seats": bots + 1}
        if clock is not None:
            create["clock"] = clock
        if spectators is not None:
            create["spectators"] = spectators
        if quick:
            create, bots = {"msg": "quick_play", "game": game}, 0
        client, state = await client.follow(await client.request(create), create)
        if client.base_url != base_url or client.prefix != "/sockjs":
            out(f"moved to the server at {client.base_url}{client.prefix}")
        for _ in range(bots):
            state = await client.request({"msg": "add_bot"})
        if quick:
            out(f"room {state['room']}: quick play; waiting for players (bots fill the room)")
        room = state["room"]
        out(f"room {room}: playing {GAMES[game].title} against {bots} bots")
        seen: list[str] = []
        pending: Message | None = None
        while True:
            if pending is None:
                state = await client.wait_for(lambda m: m.get("msg") == "state", 60)
            else:
                state, pending = pending, None
            # Act on the newest state only: older ones are history by now.
            for message in client.drain():
                if message.get("msg") == "state":
                    state = message
            table = state["table"]
            commit = table.get("deck_commit")
            if commit and (not seen or seen[-1] != commit):
                seen.append(commit)
            if table["status"] == "finished":
                result = table["result"]
                names = {entry["seat"]: entry["user"]["name"]
                         for entry in table["seats"] if entry is not None}
                scores = ", ".join(f"{names[seat]} {score}"
                                   for seat, score in enumerate(result["scores"])
                                   if score is not None)
                out(f"game over: {names[result['winner']]} (seat {result['winner']}) won; "
                    f"scores: {scores}")
                problems = check_deck_reveals(table, seen)
                out("shuffle: " + ("; ".join(problems) if problems else
                                   f"every deal matches its commitment ({len(seen)})"))
                if "totals" in table:
                    out("totals after {games} games: {scores}".format(
                        games=table["totals"]["games"], scores=", ".join(
                            f"{names[seat]} {score}" for seat, score
                            in enumerate(table["totals"]["scores"]) if score is not None)))
                games -= 1
                if games <= 0:
                    return state
                seen = []
                pending = await client.rematch()  # bots agree: the deal follows at once
                out("rematch")
                continue
            move = choose(table)
            if move is not None:
                out(f"seat {table['you']} -> {json.dumps(move['move'])}")
                await client.request(move)
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Play a game against bots on a --dev server.")
    parser.add_argument("--url", default="http://localhost:8080")
    parser.add_argument("--name", default="Player")
    parser.add_argument("--game", default="crazy_eights", choices=sorted(GAMES))
    parser.add_argument("--bots", type=int, default=None, choices=range(1, 10),
                        help="bots to play against (default: fill the game's usual room)")
    parser.add_argument("--clock", default=None, metavar="MOVE,BANK",
                        help="a turn clock: seconds per move and time bank, e.g. 30,60")
    parser.add_argument("--quick", action="store_true",
                        help="quick play: join others of the game, bots fill the rest")
    parser.add_argument("--games", type=int, default=1,
                        help="games to play, asking for a rematch after each (default 1)")
    parser.add_argument("--spectators", default=None, choices=("none", "public", "delayed"),
                        help="who may watch the room (default: public)")
    parser.add_argument("--protocol", type=int, default=PROTOCOL, choices=(2, 3),
                        help=f"the protocol version to speak (default {PROTOCOL})")
    args = parser.parse_args(argv)
    bots = args.bots if args.bots is not None else GAMES[args.game].DEFAULT_SEATS - 1
    clock = None
    if args.clock:
        try:
            move, bank = (int(part) for part in args.clock.split(","))
        except ValueError:
            parser.error("--clock: two whole numbers of seconds, MOVE,BANK (e.g. 30,60)")
        clock = {"move": move, "bank": bank}
    asyncio.run(play_against_bots(args.url, args.name, bots, args.game, clock=clock,
                                  quick=args.quick, games=args.games,
                                  spectators=args.spectators, protocol=args.protocol))
    return 0


if __name__ == "__main__":
    sys.exit(main())
