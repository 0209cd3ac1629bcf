"""Players, tables and the measurements of one load run.

Two kinds of player share the table logic:

- `GamePlayer` speaks protocol 2 or 3 to the game server: `auth` naming the protocol, with a
  token, `create` or `join` a room, then real Crazy Eights moves as `{"msg": "move", "move":
  ...}` (`game_server.client.choose` picks a legal one from the player's view), and `start`
  from the room's owner when a game has finished. In protocol 3 a `state`'s `table` is a JSON
  Merge Patch (RFC 7396) against the last table the connection received for that room, or the
  whole table with `"full": true`; the player keeps the merged table per room
  (`merge_patch`), so `choose` always sees a whole table.
- `EchoPlayer` speaks the reference peers' trivial protocol (bench/peers/): `{"join": room}`,
  then `{"move": room, "seq": n, "seat": s}`, which the peer fans out to the room as one
  ~330-byte `state`; turns go round the seats.

In both, only the player whose turn it is (the table's `to_act`) moves. Each table moves on a
grid of its own: its moves are due one `pace` apart from the time the run released it, so tables
released together stay spread over one pace. A player moves when its move is due, or at once
if the state that lets it move arrived later than that; the table's next move is still due on
the grid, not one pace after the late one. (Timing the next move from the late one made every
table whose state a stall of the server delayed move together from then on: after a few stalls
most tables moved in one burst per pace, and a server that answers each move in a millisecond
showed tens of milliseconds of queueing with its core mostly idle.) A table more than one pace
behind its grid starts a new grid when it moves, so an overloaded server is offered the chosen
rate, not a backlog. A table is held (it does not move) until the run releases it, and a run can
park tables and resume them. For each move the generator notes the send time under the `seq`
the resulting `state` will carry; every member that receives that `state` adds one latency
sample.
"""

from __future__ import annotations

import asyncio
import itertools
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

def merge_patch(target: Any, patch: Any) -> Any:
    """Apply the JSON Merge Patch `patch` to `target` (RFC 7396) and return the result.

    Objects merge recursively, a null member removes that member, anything else (arrays
    included) replaces the target's value. `target` is changed in place when it and `patch`
    are both objects; a patch's own objects are never changed.

    >>> merge_patch({"a": "b", "c": {"d": "e", "f": "g"}}, {"a": "z", "c": {"f": None}})
    {'a': 'z', 'c': {'d': 'e'}}
    """
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for name, value in patch.items():
        if value is None:
            target.pop(name, None)
        elif isinstance(value, dict):
            target[name] = merge_patch(target.get(name), value)
        else:
            target[name] = value
    return target


_GOLDEN = (5 ** 0.5 - 1) / 2

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

    def __init__(self, pace: float, protocol: int = 2) -> None:
        self.pace = pace
        self.protocol = protocol
        self.window: Window | None = None
        self.going = False
        self.errors: Counter[str] = Counter()
        self.closed_unexpectedly = 0
        self.seq_gaps = 0
        self.games_finished = 0
        self.games_started = 0
        self.moves_total = 0
        self.states_total = 0
        self.states_patched = 0  # protocol 3: states whose table was a patch
        self.tables: list[Table] = []
        self.loop = asyncio.get_event_loop()

    def error(self, code: str) -> None:
        self.errors[code] += 1
        if self.window is not None:
            self.window.errors[code] += 1

    def go(self, tables: list[Table] | None = None, at: float | None = None) -> None:
        """Let the held `tables` (default: all) start moving from loop time `at` (default:
        now), spread evenly over one pace so the load is even.

        Table `i` starts at the fraction `i * 0.618... mod 1` of the pace (a Weyl sequence):
        any run of consecutive indices, and so each generator process's share and each batch
        a capacity step adds, covers the pace evenly. With random starts the number of moves
        in a short window varies by a few per cent at a hundred tables, which a delivery
        criterion would read as the server falling behind.
        """
        self.going = True
        start = self.loop.time() if at is None else at
        for table in self.tables if tables is None else tables:
            if table.held:
                table.release(start + (table.index * _GOLDEN % 1.0) * self.pace)

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

    def __init__(self, run: Run, name: str, index: int = 0) -> None:
        self.run = run
        self.name = name
        self.index = index
        self.room: str | None = None
        self.players: list[Any] = []
        #: seq of an expected state -> [send time, members still to receive it, window]
        self.sent: dict[int, list] = {}
        #: Loop time the table's latest move was due (its grid); set when it is released.
        self.last_due = 0.0
        #: True until the run releases the table, and again while it is parked.
        self.held = True
        self._next: tuple | None = None  # the move to make when the timer fires
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
        """The player in `move[0]` may move next: at the table's pace, once released."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._next = move
        if self.held or not self.run.going:
            return
        loop = self.run.loop
        when = max(loop.time(), self.last_due + self.run.pace)
        self._timer = loop.call_at(when, self._move)

    def release(self, when: float) -> None:
        """Start (or resume) moving; the first move is due at loop time `when`, and the
        table's grid starts there."""
        self.held = False
        self.last_due = when - self.run.pace
        if self._next is not None:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self.run.loop.call_at(when, self._move)

    def hold(self) -> None:
        """Stop moving (park); the move it was about to make waits for `release`."""
        self.held = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _move(self) -> None:
        self._timer = None
        move, self._next = self._next, None
        if move is None:
            return
        run = self.run
        now, due = run.loop.time(), self.last_due + run.pace
        self.last_due = due if now - due < run.pace else now
        player, expected_seq = move[0], move[1]
        window = run.window
        sent_at = _clock()
        if not player.move(*move[1:]):
            window = None  # a `start`: its copies are counted, its latency is not a move's
        self.sent[expected_seq] = [sent_at, len(self.players), window]
        run.moves_total += 1
        if window is not None:
            window.moves += 1


#: The protocol versions the game players can speak (docs/protocol.md); 2 unless asked.
PROTOCOLS = (2, 3)


class GamePlayer:
    """A protocol 2 or 3 client seated at one table."""

    __slots__ = ("run", "table", "token", "link", "last_seq", "pending", "_ids", "opened_future",
                 "closed_reason", "name", "tables")

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
        #: Protocol 3: room -> the whole table as last received (patches merged in).
        self.tables: dict[str, dict[str, Any]] = {}

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
        return await self.request({"msg": "auth", "protocol": self.run.protocol,
                                   "token": self.token})

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
        if self.run.protocol >= 3:
            view = self._merged(message["room"], view, message.get("full", False))
            if view is None:
                return
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

    def _merged(self, room: str, table: dict[str, Any], full: bool) -> dict[str, Any] | None:
        """Protocol 3: the whole table of `room` after this state; None (counted as the
        error `patch_without_table`) for a patch to a room this connection holds no table of."""
        if full:
            self.tables[room] = table
            return table
        held = self.tables.get(room)
        if held is None:
            self.run.error("patch_without_table")
            return None
        self.run.states_patched += 1
        merged = self.tables[room] = merge_patch(held, table)
        return merged

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
