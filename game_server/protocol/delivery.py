"""Sending the engine's deliveries: each message object encoded to JSON once, however many
connections get it (every member who shares a view shares one object).

A connection that speaks protocol 3 gets each `state` with its `table` as a merge patch
against the table it last received for that room (`patches.py`; docs/protocol.md,
"Protocol 3"), or whole with `"full": true` when it holds none of that room, the state deals
a game, or no merge patch can say the change. Its peer keeps that table as JSON text
(`Peer.held_table`, out of the garbage collector's sight) and the next round parses it back
once per text held; the patch is computed once per pair of (this table, the table held), so
members who share a view and were sent the same table last time share one text too.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

import orjson

from game_server.protocol.patches import table_patch
from game_server.tables.requests import Delivery

__all__ = ["deliver", "encode"]

log = logging.getLogger(__name__)


def encode(message: dict[str, Any]) -> str:
    """A message as compact JSON text (orjson: several times faster than the json module)."""
    return orjson.dumps(message).decode("utf-8")


class _Texts:
    """The texts of one delivery round: per message object, per (message, table held) for
    protocol 3 states, and each table's own JSON text for its readers to hold. Objects are
    told apart by identity: the deliveries hold the messages and tables, and `_kept` every
    held text that a key names, so no id is reused while this cache lives."""

    def __init__(self) -> None:
        self.whole: dict[int, str] = {}
        self.full: dict[int, str] = {}
        self.patched: dict[tuple[int, int], str] = {}
        self.patches: dict[tuple[int, int], dict[str, Any] | None] = {}
        self.tables: dict[int, bytes] = {}
        self.parsed: dict[int, dict[str, Any]] = {}
        self._kept: list[bytes] = []

    def of(self, message: dict[str, Any]) -> str:
        text = self.whole.get(id(message))
        if text is None:
            text = self.whole[id(message)] = encode(message)
        return text

    def table_text(self, table: dict[str, Any]) -> bytes:
        """`table` as the JSON text a reader holds."""
        text = self.tables.get(id(table))
        if text is None:
            text = self.tables[id(table)] = orjson.dumps(table)
        return text

    def state_for(self, message: dict[str, Any], held_room: str | None,
                  held_table: bytes | None) -> str:
        """The protocol 3 text of a state for a connection that holds `held_table` (the JSON
        text of a table of `held_room`)."""
        table = message["table"]
        if (held_table is not None and held_room == message["room"]
                and (message.get("event") or {}).get("type") != "start"):
            key = (id(message), id(held_table))
            text = self.patched.get(key)
            if text is not None:
                return text
            pair = (id(table), id(held_table))
            if pair in self.patches:
                patch = self.patches[pair]
            else:
                before = self.parsed.get(id(held_table))
                if before is None:
                    before = self.parsed[id(held_table)] = orjson.loads(held_table)
                    self._kept.append(held_table)
                patch = self.patches[pair] = table_patch(before, table)
            if patch is not None:
                text = self.patched[key] = encode({**message, "table": patch})
                return text
        text = self.full.get(id(message))
        if text is None:
            text = self.full[id(message)] = encode({**message, "full": True})
        return text


def deliver(deliveries: Iterable[Delivery], send: Callable[[int, str], Any],
            skip_rooms: set[str] = frozenset(),
            patching: Callable[[int], Any] | None = None) -> int:
    """Encode and send each delivery (but those of rooms in `skip_rooms`, whose commit
    failed); `send(conn, text)` sends to one connection. Returns how many states went out.

    `patching(conn)` is the connection's peer if it speaks protocol 3 (None otherwise): its
    states go as patches against its held table (`held_room`, `held_table`), which is
    updated as they are sent (`forget_held()` when what it holds is not known).

    One recipient that cannot be encoded for or sent to never stops the others."""
    texts = _Texts()
    states = 0
    for delivery in deliveries:
        if delivery.room is not None and delivery.room in skip_rooms:
            continue
        message = delivery.message
        kind = message.get("msg")
        reader = patching(delivery.conn) if patching is not None and kind in (
            "state", "left") else None
        try:
            if reader is not None and kind == "state":
                text = texts.state_for(message, reader.held_room, reader.held_table)
            else:
                text = texts.of(message)
        except Exception:
            log.exception("cannot encode a %s message for connection %s", kind, delivery.conn)
            continue
        if kind == "state":
            states += 1
        try:
            send(delivery.conn, text)
        except Exception:
            log.exception("sending to connection %s failed", delivery.conn)
            if reader is not None:
                reader.forget_held()  # what it holds now is not known
            continue
        if reader is not None:
            if kind == "state":
                try:
                    reader.held_table = texts.table_text(message["table"])
                    reader.held_room = message["room"]
                except Exception:
                    log.exception("cannot encode a table for connection %s", delivery.conn)
                    reader.forget_held()
            elif reader.held_room is not None and reader.held_room == message.get("room"):
                reader.forget_held()
    return states
