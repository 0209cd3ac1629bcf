"""reveal(): a finished game replayed from seed, dealer and moves agrees with what the real
Table showed each seat while it was played (no database: records are built from the actions,
in the shape GameHistory.game_record returns)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from game_server.history import reveal
from game_server.rules import choose_move
from game_server.tables import Change, Player, Table

PEOPLE = [Player(n, f"P{n}") for n in range(1, 8)]


def record_of(table: Table, number: int) -> dict[str, Any]:
    """The record of game `number` of the table, as game_record gives it once finished."""
    actions = [a for a in table.history if a.game == number]
    started = next(a.started for a in actions if a.started)
    finished = next(a.finished for a in actions if a.finished)
    end = next(a.seq for a in actions if a.finished)
    return {
        "id": number, "room": table.id, "name": table.name, "game": table.game_kind,
        "number": number, "status": "finished", "started_at": None, "finished_at": None,
        "winner": finished["winner"], "blocked": finished["blocked"],
        "seats": [{"seat": s["seat"], "user": None, "bot": s["bot"],
                   "score": finished["scores"][s["seat"]]} for s in started["seats"]],
        "seed": started["seed"], "dealer": started["dealer"],
        "players": [s["seat"] for s in started["seats"]],
        "moves": [{"seq": a.seq, "kind": a.kind, "seat": a.seat, "user": None, "move": a.move,
                   "at": None} for a in actions if a.seq <= end and a.kind not in ("watch",
                                                                                    "unwatch")],
    }


def play_game(people: int, bots: int, seed: int) -> tuple[Table, list[Change]]:
    """A room of `people` players and `bots` bots played to the end; the changes it made.

    Halfway through, the first person leaves (a bot plays on for them).
    """
    seeds = itertools.count(seed)
    table = Table("room-reveal", "reveal", "crazy_eights", people + bots, lambda: next(seeds))
    changes: list[Change] = []
    owner = PEOPLE[0]
    for person in PEOPLE[:people]:
        changes += table.sit(person)
    for _ in range(bots):
        changes += table.add_bot(owner)
    if table.status.value == "waiting":
        changes += table.start(owner)
    moves = 0
    while table.status.value == "playing":
        if table.bot_to_move() is not None:
            changes += table.play_bot()
        else:
            seat = table.seats[table.view_for(None)["turn"]]
            changes += table.play(seat.player, choose_move(table.game, table.game.turn))
        moves += 1
        if moves == 20 and people > 1:
            changes += table.leave(owner)
    table.committed()
    return table, changes


@pytest.mark.parametrize(("people", "bots", "seed"), [
    (2, 0, 1), (1, 1, 2), (3, 0, 3), (2, 2, 4), (1, 4, 5), (4, 3, 6), (7, 0, 7), (1, 6, 8),
    *[(2, 1, seed) for seed in range(100, 112)],
])
def test_reveal_agrees_with_the_table(people, bots, seed):
    table, changes = play_game(people, bots, seed)
    revealed = reveal(record_of(table, 1))
    final = table.view_for(None)

    # The deal: each person's hand in the view sent with the deal.
    start = next(c for c in changes if c.event["type"] == "start")
    deal = {hand["seat"]: hand["cards"] for hand in revealed["deal"]["hands"]}
    for seat, view in start.views.items():
        if seat is not None:
            assert deal[seat] == view["hand"]
    assert revealed["deal"]["starter"] == start.views[None]["pile"][-1]
    assert revealed["deal"]["deck"] == start.views[None]["deck"]
    assert revealed["deal"]["turn"] == start.views[None]["turn"]

    # Every move: the card a take drew is what the taker was told; passes as announced.
    moves = [m for m in revealed["moves"] if m["kind"] == "move"]
    events = [c for c in changes if c.event["type"] in ("take", "put")]
    assert len(moves) == len(events)
    for move, change in zip(moves, events):
        assert move["seat"] == change.event["seat"]
        if move["move"]["type"] == "take":
            assert move["card"] == change.private[move["seat"]]["card"]
            assert move["reshuffled"] == change.event.get("reshuffled", False)
        else:
            assert "card" not in move and move["move"]["card"] == change.event["card"]
        assert move["passes"] == change.event.get("passes", [])

    # The end: the hands everyone was shown.
    assert revealed["hands"] == [{"seat": seat, "cards": final["hands"][seat]}
                                 for seat in revealed["players"]]
    assert revealed["winner"] == final["winner"]


def test_reveal_keeps_the_record_and_does_not_change_it():
    table, _ = play_game(2, 0, 42)
    record = record_of(table, 1)
    snapshot = repr(record)
    revealed = reveal(record)
    assert repr(record) == snapshot
    assert {k: v for k, v in revealed.items() if k not in ("deal", "hands", "moves")} == {
        k: v for k, v in record.items() if k != "moves"}
    assert [{k: m[k] for k in record["moves"][0]} for m in revealed["moves"]] == record["moves"]


def test_reveal_refuses_what_does_not_add_up():
    table, _ = play_game(2, 1, 9)
    record = record_of(table, 1)
    with pytest.raises(ValueError, match="not finished"):
        reveal({**record, "status": "playing"})
    with pytest.raises(ValueError, match="cannot replay"):
        reveal({**record, "game": "hearts"})
    with pytest.raises(ValueError, match="do not finish"):
        reveal({**record, "moves": record["moves"][:-1]})
    with pytest.raises(ValueError, match="does not replay"):
        reveal({**record, "seed": record["seed"] + 1})
    with pytest.raises(ValueError, match="record says"):
        reveal({**record, "winner": (record["winner"] + 1) % 3})
    with pytest.raises(ValueError, match="record says"):
        reveal({**record, "blocked": not record["blocked"]})
    with pytest.raises(ValueError, match="dealer"):
        reveal({**record, "dealer": 6})
    moved = [dict(m) for m in record["moves"]]
    first = next(m for m in moved if m["kind"] == "move")
    first["seat"] = 5
    with pytest.raises(ValueError, match="not a player"):
        reveal({**record, "moves": moved})
