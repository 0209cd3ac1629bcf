"""Helpers shared by the tables tests: people, and playing a table's game with the bots'
strategy for the people too (`Game.bot_move`), as a scripted client would."""

from __future__ import annotations

from typing import Any

from game_server.tables import Change, Player, Status, Table

ANN = Player(1, "Ann")
BOB = Player(2, "Bob")
CID = Player(3, "Cid")
DEE = Player(4, "Dee")
EVE = Player(5, "Eve")
PEOPLE = [ANN, BOB, CID, DEE, EVE, Player(6, "Fay"), Player(7, "Gus")]


def person_at(table: Table, seat: int) -> Player:
    player = table.seats[seat].player
    assert player is not None and table.seats[seat].human
    return player


def step(table: Table) -> list[Change]:
    """One round of moves: every bot that may act moves (`play_bots`); if none may, the
    first person to act plays what the bot would play for them. Returns the changes."""
    if table.status is not Status.PLAYING:
        return []
    if table.bots_to_act():
        return table.play_bots()
    seat = table.to_act()[0]
    move = table.game.bot_move(table.player_of(seat))
    return table.play(person_at(table, seat), move)


def play_out(table: Table, limit: int = 5000) -> list[Change]:
    """Play the running game to its end; the changes made."""
    changes: list[Change] = []
    for _ in range(limit):
        if table.status is not Status.PLAYING:
            return changes
        changes += step(table)
    raise AssertionError("the game did not finish")


def views(table: Table) -> list[Any]:
    """Everything anyone in the room can see, and the seq."""
    return [table.seq, table.status, table.owner, table.view_for(None)] + [
        table.view_for(seat.number) for seat in table.seats if seat is not None]
