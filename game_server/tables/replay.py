"""Replaying a room's move log: each persisted action kind, at each version, mapped to the table
change it repeats. The mapping is explicit, so renaming a method never breaks an old log.

Imports only `actions` (and the table it is given).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from game_server.tables.actions import DEALING_KINDS, KINDS, Action

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
    "add_bot@1": lambda table, action: table._add_bot(action.user, action.bot_name or False),
    "start@1": lambda table, action: table._start(action.user),
    "move@1": lambda table, action: table._move(action.seat,
                                                table.rules.parse_move(action.move)),
    "mute@1": lambda table, action: table._mute(action.user),
    "open@1": lambda table, action: table._open(action.user, action.options or {}),
    "rematch@1": lambda table, action: table._rematch(action.user),
    "timeout@1": lambda table, action: table._time_out(action.seat,
                                                      table.rules.parse_move(action.move)),
    "back@1": lambda table, action: table._back(action.seat),
}


def replay_into(table: Table, actions: list[Action]) -> None:
    """Apply `actions` to a new `table`, each dealing from the seeds it recorded.

    Raises:
        ValueError: an action does not replay to the seq it records, deals without a recorded
            seed, or is of a kind no replayer knows.
    """
    later_seeds, later_salts = table._seeds, table._salts
    feed: list[int] = []
    salts: list[str] = []

    def logged_seed() -> int:
        if not feed:
            raise ValueError(f"room {table.id}: a deal without a recorded seed")
        return feed.pop(0)

    table._seeds = logged_seed
    # A later deal of a match, or a deck commitment, that the log did not record (written
    # before they were): the game's own generator goes on, and that deal has no commitment.
    table._deal_seed_feed = lambda: feed.pop(0) if feed else None
    table._salts = lambda: salts.pop(0) if salts else None
    try:
        for action in actions:
            replayer = _REPLAY.get(action.kind)
            if replayer is None and action.kind in DEALING_KINDS.values():
                # Version 2 of a dealing kind replays as version 1, from what it recorded.
                replayer = _REPLAY.get(KINDS.get(action.name, ""))
            if replayer is None:
                raise ValueError(f"room {table.id}: no replay for kind {action.kind!r}")
            feed[:] = list(action.seeds)
            salts[:] = list(action.salts)
            if action.clock is not None and "at" in action.clock:
                table.now = action.clock["at"]  # the clocks go on from the recorded times
            replayer(table, action)
            if (action.clock is not None and "bank" in action.clock
                    and table.clock is not None and action.seat is not None):
                table.clock.banks[action.seat] = action.clock["bank"]
            table._dealt.clear()
            table._new_salts.clear()
            table._began = False
            table._ended = None
            if table.seq != action.seq:
                raise ValueError(f"room {table.id}: action {action.kind} replayed to seq "
                                 f"{table.seq}, the log says {action.seq}")
    finally:
        table._seeds, table._salts = later_seeds, later_salts
        table._deal_seed_feed = None
    table.journal.clear()
