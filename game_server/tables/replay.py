"""Replaying a room's move log: each persisted action kind, at each version, mapped to the table
change it repeats. The mapping is explicit, so renaming a method never breaks an old log.

Imports only `actions` (and the table it is given).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from game_server.tables.actions import Action

if TYPE_CHECKING:
    from game_server.tables.table import Table

__all__ = ["replay_into"]

_Replayer = Callable[["Table", Action], Any]

#: What each persisted kind does again on replay.
_REPLAY: dict[str, _Replayer] = {
    "sit@1": lambda table, action: table._sit(action.user),
    "watch@1": lambda table, action: table._watch(action.user),
    "unwatch@1": lambda table, action: table._unwatch(action.user),
    "leave@1": lambda table, action: table._leave(action.user),
    "connect@1": lambda table, action: table._set_connected(action.user, True),
    "disconnect@1": lambda table, action: table._set_connected(action.user, False),
    "expire@1": lambda table, action: table._expire(action.user),
    "add_bot@1": lambda table, action: table._add_bot(action.user),
    "start@1": lambda table, action: table._start(action.user),
    "move@1": lambda table, action: table._move(action.seat,
                                                table.rules.parse_move(action.move)),
}


def replay_into(table: Table, actions: list[Action]) -> None:
    """Apply `actions` to a new `table`, each dealing from the seeds it recorded.

    Raises:
        ValueError: an action does not replay to the seq it records, deals without a recorded
            seed, or is of a kind no replayer knows.
    """
    later_seeds = table._seeds
    feed: list[int] = []

    def logged_seed() -> int:
        if not feed:
            raise ValueError(f"room {table.id}: a deal without a recorded seed")
        return feed.pop(0)

    table._seeds = logged_seed
    try:
        for action in actions:
            replayer = _REPLAY.get(action.kind)
            if replayer is None:
                raise ValueError(f"room {table.id}: no replay for kind {action.kind!r}")
            feed[:] = list(action.seeds)
            replayer(table, action)
            table._dealt.clear()
            table._ended = None
            if table.seq != action.seq:
                raise ValueError(f"room {table.id}: action {action.kind} replayed to seq "
                                 f"{table.seq}, the log says {action.seq}")
    finally:
        table._seeds = later_seeds
    table.journal.clear()
