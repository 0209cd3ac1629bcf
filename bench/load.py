"""Players, tables and the measurements of one load run.

Two kinds of player share the table logic:

- `GamePlayer` speaks protocol 2 to the game server: `auth` naming the protocol, with a token,
  `create` or `join` a room, then real Crazy Eights moves as `{"msg": "move", "move": ...}`
  (`game_server.client.choose` picks a legal one from the player's view), and `start` from the
  room's owner when a game has finished.
- `EchoPlayer` speaks the reference peers' trivial protocol (bench/peers/): `{"join": room}`,
  then `{"move": room, "seq": n, "seat": s}`, which the peer fans out to the room as one
  ~330-byte `state`; turns go round the seats.

In both, only the player whose turn it is (the table's `to_act`) moves, `pace` seconds after the
table's previous move
(or at once if its state arrived later than that), so every table moves at the chosen pace while
the server keeps up. For each move the generator notes the send time under the `seq` the
resulting `state` will carry; every member that receives that `state` adds one latency sample.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from array import array
from collections import Counter
from typing import Any

from bench.wire import _loads, make_link

try:
    import orjson

    def _encode(message: dict[str, Any]) -> str:
        return orjson.dumps(message).decode()
except ImportError:  # pragma: no cover
    import json

    def _encode(message: dict[str, Any]) -> str:
        return json.dumps(message, separators=(",", ":"))

from game_server.client import choose

#: A move whose state has not reached every member this long after it was sent is lost.
LOST_AFTER = 10.0
_clock = time.perf_counter


class Window:
    """What was measured between `open` and `close` (one step of a ramp, or a fixed run)."""

    def __init__(self, label: str, target_rate: float | None) -> None:
        self.label = label
        self.target_rate = target_rate
        self.latencies = array("d")  # seconds, one per member per move sent in the window
        self.moves = 0
        self.states = 0  # state messages received while the window was open
        self.state_bytes = 0
        self.lost = 0  # member copies of this window's moves that never arrived
        self.errors: Counter[str] = Counter()
        self.opened_at = self.closed_at = 0.0
        self.server_cpu = self.generator_cpu = 0.0  # fraction of one core
        self.server_rss_max = 0
        self.pending_moves = 0


class Run:
    """Shared state of one load run: the pace, the open window, counters."""

    def __init__(self, pace: float) -> None:
        self.pace = pace
        self.window: Window | None = None
        self.going = False
        self.errors: Counter[str] = Counter()
        self.closed_unexpectedly = 0
        self.seq_gaps = 0
        self.games_finished = 0
        self.games_started = 0
        self.moves_total = 0
        self.states_total = 0
        self.tables: list[Table] = []
        self.loop = asyncio.get_event_loop()

    def error(self, code: str) -> None:
        self.errors[code] += 1
        if self.window is not None:
            self.window.errors[code] += 1

    def go(self) -> None:
        """Let every table start moving, spread over one pace so the load is even."""
        self.going = True
        now = self.loop.time()
        for table in self.tables:
            table.release(now + random.uniform(0, self.pace))

    def sweep_lost(self, older_than: float = LOST_AFTER) -> None:
        """Count the copies of moves that never arrived as lost, and forget them."""
        deadline = _clock() - older_than
        for table in self.tables:
            for seq, record in list(table.sent.items()):
                if record[0] < deadline:
                    del table.sent[seq]
                    if record[2] is not None:
                        record[2].lost += record[1]


class Table:
    """One room: its players by seat, its pace, and its moves in flight."""

    def __init__(self, run: Run, name: str) -> None:
        self.run = run
        self.name = name
        self.room: str | None = None
        self.players: list[Any] = []
        #: seq of an expected state -> [send time, members still to receive it, window]
        self.sent: dict[int, list] = {}
        self.last_move = 0.0
        self._deferred: tuple | None = None
        self._timer: asyncio.TimerHandle | None = None

    def delivered(self, seq: int, now: float, size: int) -> None:
        """A member received the state with this seq."""
        run = self.run
        run.states_total += 1
        window = run.window
        if window is not None:
            window.states += 1
            window.state_bytes += size
        record = self.sent.get(seq)
        if record is not None:
            if record[2] is not None:
                record[2].latencies.append(now - record[0])
            record[1] -= 1
            if record[1] <= 0:
                del self.sent[seq]

    def schedule(self, *move: Any) -> None:
        """The player in `move[0]` may move next: at the table's pace, or at `go`."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.run.going:
            self._deferred = move
            return
        loop = self.run.loop
        when = max(loop.time(), self.last_move + self.run.pace)
        self._timer = loop.call_at(when, self._move, move)

    def release(self, when: float) -> None:
        if self._deferred is not None:
            move, self._deferred = self._deferred, None
            self._timer = self.run.loop.call_at(when, self._move, move)

    def _move(self, move: tuple) -> None:
        self._timer = None
        self.last_move = self.run.loop.time()
        run = self.run
        player, expected_seq = move[0], move[1]
        window = run.window
        sent_at = _clock()
        if not player.move(*move[1:]):
            window = None  # a `start`: its copies are counted, its latency is not a move's
        self.sent[expected_seq] = [sent_at, len(self.players), window]
        run.moves_total += 1
        if window is not None:
            window.moves += 1


#: The protocol version the game players speak (docs/protocol.md).
PROTOCOL = 2


class GamePlayer:
    """A protocol 2 client seated at one table."""

    __slots__ = ("run", "table", "token", "link", "last_seq", "pending", "_ids", "opened_future",
                 "closed_reason", "name")

    def __init__(self, run: Run, token: str, name: str = "") -> None:
        self.run = run
        self.token = token
        self.name = name
        self.table: Table | None = None
        self.link: Any = None
        self.last_seq = 0
        self.pending: dict[Any, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self.opened_future: asyncio.Future | None = None
        self.closed_reason: str | None = None

    async def connect(self, transport: str, host: str, port: int, prefix: str) -> None:
        """Open the SockJS session and wait for its open frame."""
        self.opened_future = self.run.loop.create_future()
        self.link = make_link(transport, host, port, prefix, self)
        await self.link.connect()
        await self.opened_future

    def request(self, message: dict[str, Any]) -> asyncio.Future:
        """Send with a fresh id; the future gets the reply carrying it as `re`."""
        request_id = next(self._ids)
        future = self.run.loop.create_future()
        self.pending[request_id] = future
        self.link.send(_encode({**message, "id": request_id}))
        return future

    async def auth(self) -> dict[str, Any]:
        return await self.request({"msg": "auth", "protocol": PROTOCOL, "token": self.token})

    # --- link callbacks ------------------------------------------------------------------

    def opened(self) -> None:
        if self.opened_future is not None and not self.opened_future.done():
            self.opened_future.set_result(None)

    def closed(self, reason: str) -> None:
        self.closed_reason = reason
        if self.opened_future is not None and not self.opened_future.done():
            self.opened_future.set_exception(ConnectionError(reason))
        for future in self.pending.values():
            if not future.done():
                future.set_exception(ConnectionError(reason))
        self.pending.clear()
        if self.run.going:
            self.run.closed_unexpectedly += 1

    def message(self, text: str) -> None:
        now = _clock()
        if text.startswith('{"msg":"room_list"'):
            message = None  # may be large and is not needed: skip decoding it
            kind = "room_list"
            re = None
            if '"re":' in text[-24:]:
                message = _loads(text)
                re = message.get("re")
        else:
            message = _loads(text)
            kind = message["msg"]
            re = message.get("re")
        if re is not None:
            future = self.pending.pop(re, None)
            if future is not None and not future.done():
                if kind == "error":
                    future.set_exception(RuntimeError(f"{message['code']}: {message['text']}"))
                else:
                    future.set_result(message)
        if kind == "state":
            self._state(message, now, len(text))
        elif kind == "error":
            self.run.error(message["code"])

    def _state(self, message: dict[str, Any], now: float, size: int) -> None:
        table = self.table
        if table is None:
            return
        seq = message["seq"]
        if self.run.going and self.last_seq and seq != self.last_seq + 1:
            self.run.seq_gaps += 1
        self.last_seq = seq
        table.delivered(seq, now, size)
        view = message["table"]
        you = view["you"]
        status = view["status"]
        if status == "playing":
            event = message.get("event")
            if event is not None and event.get("type") == "start" and you == view["owner"]:
                self.run.games_started += 1
            if you in view["to_act"]:
                table.schedule(self, seq + 1, view)
        elif status == "finished" and you == view["owner"]:
            if message.get("event", {}).get("type") == "move":  # the move that ended it
                self.run.games_finished += 1
            table.schedule(self, seq + 1, None)

    def move(self, expected_seq: int, view: dict[str, Any] | None) -> bool:
        """Send a `move` (chosen from the table view `view`) and return True, or `start` a
        new game when `view` is None and return False."""
        message = choose(view) if view is not None else {"msg": "start"}
        if message is None:  # the view gave no move: count it, send nothing
            self.run.error("no_move_chosen")
            return False
        message["id"] = next(self._ids)
        self.link.send(_encode(message))
        return view is not None

    def close(self) -> None:
        if self.link is not None:
            self.link.close()


class EchoPlayer:
    """A client of a reference peer (bench/peers/): join a room, then fan-out moves."""

    __slots__ = ("run", "table", "seat", "link", "last_seq", "opened_future", "joined_future",
                 "closed_reason")

    def __init__(self, run: Run, table: Table, seat: int) -> None:
        self.run = run
        self.table = table
        self.seat = seat
        self.link: Any = None
        self.last_seq = 0
        self.opened_future: asyncio.Future | None = None
        self.joined_future: asyncio.Future | None = None
        self.closed_reason: str | None = None

    async def connect(self, transport: str, host: str, port: int, prefix: str) -> None:
        self.opened_future = self.run.loop.create_future()
        self.link = make_link(transport, host, port, prefix, self)
        await self.link.connect()
        await self.opened_future

    async def join(self) -> None:
        self.joined_future = self.run.loop.create_future()
        self.link.send(_encode({"join": self.table.name}))
        await self.joined_future

    def opened(self) -> None:
        if self.opened_future is not None and not self.opened_future.done():
            self.opened_future.set_result(None)

    def closed(self, reason: str) -> None:
        self.closed_reason = reason
        for future in (self.opened_future, self.joined_future):
            if future is not None and not future.done():
                future.set_exception(ConnectionError(reason))
        if self.run.going:
            self.run.closed_unexpectedly += 1

    def message(self, text: str) -> None:
        now = _clock()
        message = _loads(text)
        kind = message["msg"]
        if kind == "state":
            seq = message["seq"]
            if self.run.going and self.last_seq and seq != self.last_seq + 1:
                self.run.seq_gaps += 1
            self.last_seq = seq
            table = self.table
            table.delivered(seq, now, len(text))
            if (message["seat"] + 1) % len(table.players) == self.seat:
                table.schedule(self, seq + 1)
        elif kind == "joined":
            if self.joined_future is not None and not self.joined_future.done():
                self.joined_future.set_result(None)
        else:
            self.run.error(f"unexpected {kind}")

    def move(self, expected_seq: int) -> bool:
        self.link.send(_encode({"move": self.table.name, "seq": expected_seq,
                                "seat": self.seat}))
        return True

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
