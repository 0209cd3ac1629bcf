"""Turn clocks: each seat to act has a time per move and a time bank for the game.

A seat's clock runs from the moment the seat may act (or its last move, if it may act again).
A move made within `move` seconds costs nothing; a slower one spends the rest from the seat's
bank. When both are used up the seat has timed out: the table's bot moves for it
(`Table.time_out`). After two timeouts in a row the seat is *away*: the bot plays it at bot
pace until its player acts again (a move, or `back`).

The clock keeps no time of its own: the table tells it `now`, which is the time of the request
being handled live and the recorded time of each action on replay, so a replayed room's clocks
go on from where they were. Times are server wall-clock seconds (the clients draw countdowns
from `deadline - now`).

Imports only the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["TIMEOUTS_TO_AWAY", "ClockSettings", "TurnClock"]

#: Timeouts in a row after which a seat is marked away.
TIMEOUTS_TO_AWAY = 2
#: Bounds of the settings a room may ask for (schema/client/create.json says the same).
MOVE_SECONDS = (5, 600)
BANK_SECONDS = (0, 3600)


@dataclass(frozen=True)
class ClockSettings:
    """Seconds a move may take for free, and the time bank each seat gets at every deal."""

    move: float
    bank: float

    @classmethod
    def parse(cls, data: Any) -> ClockSettings:
        """Settings from their JSON, `{"move": 30, "bank": 60}`.

        Raises:
            ValueError: not an object of two numbers within bounds.
        """
        if not isinstance(data, dict) or set(data) != {"move", "bank"}:
            raise ValueError("clock: expected {\"move\": seconds, \"bank\": seconds}")
        move, bank = data["move"], data["bank"]
        for name, value, (low, high) in (("move", move, MOVE_SECONDS),
                                         ("bank", bank, BANK_SECONDS)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not low <= value <= high:
                raise ValueError(f"clock.{name}: {low} to {high} seconds, not {value!r}")
        return cls(move, bank)

    def to_json(self) -> dict[str, float]:
        return {"move": self.move, "bank": self.bank}


@dataclass
class TurnClock:
    """The clocks of one room's seats."""

    settings: ClockSettings
    #: Seat -> when its clock started (the seat may act and a person plays it).
    started: dict[int, float] = field(default_factory=dict)
    #: Seat -> seconds left in its bank (missing: the full bank).
    banks: dict[int, float] = field(default_factory=dict)
    #: Seat -> timeouts in a row.
    timeouts: dict[int, int] = field(default_factory=dict)
    #: Seats the bot plays after timeouts, until their players act again.
    away: set[int] = field(default_factory=set)

    def bank(self, seat: int) -> float:
        return self.banks.get(seat, float(self.settings.bank))

    def deal(self) -> None:
        """A new game: every bank is full again (timeouts in a row and away stay)."""
        self.banks.clear()
        self.started.clear()

    def follow(self, running: list[int], now: float) -> None:
        """The seats whose clocks run now: a seat that just became one starts at `now`; the
        others stop."""
        for seat in list(self.started):
            if seat not in running:
                del self.started[seat]
        for seat in running:
            self.started.setdefault(seat, now)

    def moved(self, seat: int, now: float) -> None:
        """The seat moved while its clock ran: time over `move` comes out of its bank, its
        timeouts in a row start again from none, and its clock stops (it starts again at the
        next `follow` if the seat may act again)."""
        start = self.started.pop(seat, None)
        if start is None:
            return  # a bot's move
        over = max(0.0, now - start - self.settings.move)
        self.banks[seat] = max(0.0, self.bank(seat) - over)
        self.timeouts[seat] = 0

    def time_out(self, seat: int) -> bool:
        """The seat's time and bank are used up; returns True if it is away now."""
        self.started.pop(seat, None)
        self.banks[seat] = 0.0
        self.timeouts[seat] = self.timeouts.get(seat, 0) + 1
        if self.timeouts[seat] >= TIMEOUTS_TO_AWAY:
            self.away.add(seat)
        return seat in self.away

    def back(self, seat: int) -> bool:
        """The seat's player acts again; returns True if they were away."""
        self.timeouts[seat] = 0
        if seat in self.away:
            self.away.discard(seat)
            return True
        return False

    def deadline(self, seat: int) -> float | None:
        """When the seat times out (None: its clock does not run)."""
        start = self.started.get(seat)
        if start is None:
            return None
        return start + self.settings.move + self.bank(seat)

    def deadlines(self) -> dict[int, float]:
        return {seat: self.deadline(seat) for seat in self.started}

    def view(self, now: float) -> dict[str, Any]:
        """What every member sees: the settings, the server's time, and for each seat whose
        clock runs, when its time for the move ends and the bank it has left then."""
        return {**self.settings.to_json(), "now": now,
                "running": [{"seat": seat, "deadline": start + self.settings.move,
                             "bank": self.bank(seat)}
                            for seat, start in sorted(self.started.items())],
                "away": sorted(self.away)}
