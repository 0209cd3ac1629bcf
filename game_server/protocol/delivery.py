"""Sending the engine's deliveries: each message object encoded to JSON once, however many
connections get it (every member who shares a view shares one object)."""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

import orjson

from game_server.tables.requests import Delivery

__all__ = ["deliver", "encode"]

log = logging.getLogger(__name__)


def encode(message: dict[str, Any]) -> str:
    """A message as compact JSON text (orjson: several times faster than the json module)."""
    return orjson.dumps(message).decode("utf-8")


def deliver(deliveries: Iterable[Delivery], send: Callable[[int, str], Any],
            skip_rooms: set[str] = frozenset()) -> int:
    """Encode and send each delivery (but those of rooms in `skip_rooms`, whose commit
    failed); `send(conn, text)` sends to one connection. Returns how many states went out.

    One recipient that cannot be encoded for or sent to never stops the others."""
    encoded: dict[int, str] = {}
    states = 0
    for delivery in deliveries:
        if delivery.room is not None and delivery.room in skip_rooms:
            continue
        message = delivery.message
        text = encoded.get(id(message))
        if text is None:
            try:
                text = encoded[id(message)] = encode(message)
            except Exception:
                log.exception("cannot encode a %s message for connection %s",
                              message.get("msg"), delivery.conn)
                continue
        if message.get("msg") == "state":
            states += 1
        try:
            send(delivery.conn, text)
        except Exception:
            log.exception("sending to connection %s failed", delivery.conn)
    return states
