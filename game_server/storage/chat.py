"""The chat log: room chat kept with the game's history (table ``chat_messages``, migration
0007), written on a thread of its own.

Edge layer, like the move log, and apart from it on purpose: a move never waits for chat. The
room engine sends a chat message at once and hands it here (`ChatLog.record` returns at once);
the writer thread inserts everything queued so far in one transaction. A batch the database
refuses or cannot take (it is away) is dropped with one warning per outage: everyone it was
said to has read it already, and trying again could hold the queue for ever. A batch is
written whole or not at all, so the history never shows half a conversation's batch.

The lines are the tables layer's ``ChatLine`` values (read by attribute: ``room, game, seq,
user, text, to, at``); nothing else of the layers above is imported.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert

from .models import ChatMessage

__all__ = ["ChatLog"]

log = logging.getLogger(__name__)


def _moment(at: str) -> datetime:
    """A line's ISO 8601 UTC time (``...Z``) as an aware datetime."""
    moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _row(line: Any) -> dict[str, Any]:
    return {"room_id": line.room, "game": line.game, "seq": line.seq, "user_id": line.user.id,
            "name": line.user.name, "text": line.text, "audience": line.to,
            "created_at": _moment(line.at)}


class ChatLog:
    """Keeps room chat; `record` never blocks. Call `close` at shutdown (it writes what is
    queued first)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._cond = threading.Condition()
        self._queue: list[dict[str, Any]] = []
        self._writing = False
        self._closing = False
        self._failing = False
        #: Messages written and dropped so far (for tests and operators).
        self.written = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="game-chatlog", daemon=True)
        self._thread.start()

    def record(self, lines: Iterable[Any]) -> None:
        """Queue room chat lines to keep; returns at once."""
        rows = [_row(line) for line in lines]
        with self._cond:
            if self._closing:
                self.dropped += len(rows)
                return
            self._queue.extend(rows)
            self._cond.notify()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is written (or dropped); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._writing, timeout)

    def close(self) -> None:
        """Write what is queued, then stop the writer."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closing)
                batch, self._queue = self._queue, []
                if not batch and self._closing:
                    return
                self._writing = True
            try:
                self._write(batch)
            finally:
                with self._cond:
                    self._writing = False
                    self._cond.notify_all()

    def _write(self, batch: list[dict[str, Any]]) -> None:
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(ChatMessage), batch)
        except Exception as error:  # noqa: BLE001 - the database's verdict, or it is away
            with self._cond:
                self.dropped += len(batch)
            if not self._failing:
                first = (str(getattr(error, "orig", None) or error).strip().splitlines()
                         or [type(error).__name__])[0]
                log.warning("chat log: %d message(s) not kept: %s", len(batch), first)
            self._failing = True
            return
        with self._cond:
            self.written += len(batch)
        if self._failing:
            log.info("chat log: messages are kept again")
            self._failing = False
