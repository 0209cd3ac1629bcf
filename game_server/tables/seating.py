"""Who is at a table: seats, spectators, bots, ownership and the grace period.

`Seating` holds the membership changes of `Table` (in `table.py`, which records each as an
action); every method here checks, then changes, and returns the `Change`s it made. No game's
rules are read here.

Imports only `actions` and `changes`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from game_server.tables.actions import Player
from game_server.tables.changes import Change, Status, TableError

if TYPE_CHECKING:
    from game_server.tables.table import Table

__all__ = ["BOT_NAME", "BOT_NAMES", "Seat", "Seating", "bot_name"]

#: Name shown for a bot that is not playing for anyone, when it has none of its own.
BOT_NAME = "Bot {seat}"
#: The names bots play under, "Ada (bot)"; at least as many as a room has seats (10), so the
#: bots of one room never share one.
BOT_NAMES = ("Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Claude",
             "Radia", "Niklaus", "Hedy", "Tim")


def bot_name(room_id: str, seat: int) -> str:
    """The name of the bot added in `seat` of room `room_id`: from a fixed list, a room's
    bots each a different one, and the same every time the room is replayed (it depends on
    the room's id and the seat only)."""
    start = zlib.crc32(room_id.encode("utf-8"))
    return f"{BOT_NAMES[(start + seat) % len(BOT_NAMES)]} (bot)"


@dataclass
class Seat:
    number: int
    player: Player | None  # None for a plain bot
    bot: bool = False
    connected: bool = True
    # Why a bot plays for `player`: "left" or "timeout"; None while the player plays.
    replaced: str | None = None
    #: The name a plain bot plays under (`bot_name`).
    name: str | None = None

    @property
    def human(self) -> bool:
        """True while a person plays this seat (connected or within the grace period)."""
        return not self.bot

    def entry(self) -> dict[str, Any]:
        """The seat as every view shows it."""
        if self.player is None:
            user = {"id": None, "name": self.name or BOT_NAME.format(seat=self.number)}
        else:
            user = {"id": self.player.id, "name": self.player.name}
        return {"seat": self.number, "user": user, "bot": self.bot,
                "connected": self.connected or self.bot}


class Seating:
    """Membership changes of a `Table` (a mixin: `self` is the table)."""

    def _sit(self: Table, player: Player) -> list[Change]:
        own = self.seat_of(player.id)
        if own is not None:
            seat = self.seats[own]
            if seat.bot:
                seat.bot, seat.replaced, seat.connected = False, None, True
                if self.clock is not None:
                    self.clock.back(own)  # taking the seat back is acting again
                return [self._change({"type": "reclaim", "seat": own})]
            if not seat.connected:
                seat.connected = True
                return [self._change({"type": "connect", "seat": own})]
            return []
        if self.status is Status.PLAYING:
            raise TableError("game_started", "The game has started; you can watch it.")
        number = self._free_seat()
        self.spectators.discard(player.id)
        self.seats[number] = Seat(number, player)
        if self.owner is None:
            self.owner = number
        # A spectator who sits down stops watching in the same change.
        return [self._change({"type": "join", "seat": number})] + self._start_if_full()

    def _watch(self: Table, player: Player) -> list[Change]:
        if player.id in self.spectators:
            return []
        self.spectators.add(player.id)
        return [self._change({"type": "watch"})]

    def _unwatch(self: Table, player: Player) -> list[Change]:
        if player.id not in self.spectators:
            return []
        self.spectators.discard(player.id)
        return [self._change({"type": "unwatch"})]

    def _leave(self: Table, player: Player) -> list[Change]:
        number = self.seat_of(player.id)
        if number is None:
            return self._unwatch(player)
        seat = self.seats[number]
        if self.status is Status.PLAYING and seat.bot and seat.replaced == "left":
            return []
        return self._vacate(number, "left")

    def _set_connected(self: Table, player: Player, connected: bool) -> list[Change]:
        number = self.seat_of(player.id)
        if number is None:
            return []
        seat = self.seats[number]
        if seat.bot or seat.connected == connected:
            return []
        seat.connected = connected
        return [self._change({"type": "connect" if connected else "disconnect",
                              "seat": number})]

    def _expire(self: Table, player: Player) -> list[Change]:
        number = self.seat_of(player.id)
        if number is None:
            return []
        seat = self.seats[number]
        if seat.bot or seat.connected:
            return []
        return self._vacate(number, "timeout")

    def _vacate(self: Table, number: int, reason: str) -> list[Change]:
        """A person gives up a seat: during a game a bot plays on for them, else it is freed."""
        if self.status is Status.PLAYING:
            seat = self.seats[number]
            seat.bot, seat.replaced, seat.connected = True, reason, True
            event = {"type": "replace", "seat": number, "reason": reason}
        else:
            self.seats[number] = None
            event = {"type": "leave", "seat": number}
            if self.clock is not None:
                self.clock.back(number)  # whoever sits here next is not away
        self._pass_ownership()
        return [self._change(event)]

    def _add_bot(self: Table, player: Player, name: str | bool = True) -> list[Change]:
        """`name`: the bot's name; True: a new one (`bot_name`); False: none, as the bots of
        logs written before bots had names (shown as "Bot <seat>")."""
        self._require_owner(player)
        if self.status is Status.PLAYING:
            raise TableError("game_started", "Bots can only be added between games.")
        number = self._free_seat()
        if name is True:
            name = bot_name(self.id, number)
        self.seats[number] = Seat(number, None, bot=True, name=name or None)
        return [self._change({"type": "add_bot", "seat": number})] + self._start_if_full()

    def _start_if_full(self: Table) -> list[Change]:
        if self.status is Status.WAITING and self.taken == len(self.seats):
            return [self._deal()]
        return []

    def _free_seat(self: Table) -> int:
        for number, seat in enumerate(self.seats):
            if seat is None:
                return number
        raise TableError("room_full")

    def _seat_in_person(self: Table, player: Player, what: str) -> int:
        """The seat `player` plays in person.

        Raises:
            TableError: not_a_player (a spectator, or a bot plays the seat for them).
        """
        number = self.seat_of(player.id)
        if number is None or self.seats[number].bot:
            raise TableError("not_a_player", f"Only seated players can {what}.")
        return number

    def _require_owner(self: Table, player: Player) -> None:
        if self._seat_in_person(player, "do that") != self.owner:
            raise TableError("not_owner")

    def _pass_ownership(self: Table) -> None:
        """Ownership stays with a person: the lowest seat still played by one."""
        owner = self.seats[self.owner] if self.owner is not None else None
        if owner is not None and owner.human:
            return
        self.owner = next((s.number for s in self.seats if s is not None and s.human), None)
