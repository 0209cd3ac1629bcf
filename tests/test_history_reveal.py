"""reveal(): a finished game replayed from seed, dealer and moves agrees with what the real
Table showed each seat while it was played (no database: records are built from the actions,
in the shape GameHistory.game_record returns)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from game_server.history import reveal
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
        "winner": finished["winner"], "detail": finished["detail"],
        "seats": [{"seat": s["seat"], "user": None, "bot": s["bot"],
                   "score": finished["scores"][s["seat"]]} for s in started["seats"]],
        "seed": started["seed"], "dealer": started["dealer"],
        "players": [s["seat"] for s in started["seats"]],
        # Kinds as the history shows them, without their version.
        "moves": [{"seq": a.seq, "kind": a.name, "seat": a.seat, "user": None, "move": a.move,
                   "at": None} for a in actions if a.seq <= end and a.name not in ("watch",
                                                                                    "unwatch")],
        # As game_record collects them: each deal's salt, each later deal's seed.
        "salts": [salt for a in actions if a.seq <= end for salt in a.salts],
        "deal_seeds": [seed for a in actions if a.seq <= end
                       for seed in (a.seeds[1:] if a.started else a.seeds)],
    }


def play_game(people: int, bots: int, seed: int,
              game: str = "crazy_eights") -> tuple[Table, list[Change]]:
    """A room of `people` players and `bots` bots played to the end; the changes it made.
    People play what the bot would play for them.

    After 20 rounds of moves, the first person leaves (a bot plays on for them).
    """
    seeds = itertools.count(seed)
    table = Table("room-reveal", "reveal", game, people + bots, lambda: next(seeds))
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
        if table.bots_to_act():
            changes += table.play_bots()
        else:
            seat = table.seats[table.to_act()[0]]
            move = table.game.bot_move(table.player_of(seat.number))
            changes += table.play(seat.player, move)
        moves += 1
        if moves == 20 and people > 1:
            changes += table.leave(owner)
    table.committed()
    return table, changes


def check_reveal(table: Table, changes: list[Change]) -> dict[str, Any]:
    """reveal() of the table's first game agrees with every view and event the table sent."""
    revealed = reveal(record_of(table, 1))
    final = table.view_for(None)
    players = revealed["players"]

    # The deal: each person's hand in the view sent with the deal; what everyone saw.
    start = next(c for c in changes if c.event["type"] == "start")
    deal = revealed["deal"]
    assert deal["players"] == players == start.views[None]["players"]
    for seat, view in start.views.items():
        if seat is not None:
            assert deal["hands"][players.index(seat)] == view["game_state"]["hand"]
    for key, value in start.views[None]["game_state"].items():
        assert deal[key] == value, key

    # Every move: its event with nothing hidden holds what everyone was told and what the
    # mover was told (the card a take drew, the cards passed).
    moves = [m for m in revealed["moves"] if m["kind"] == "move"]
    events = [c for c in changes if c.event["type"] == "move"]
    assert len(moves) == len(events)
    for move, change in zip(moves, events):
        seat = change.event["seat"]
        assert move["seat"] == seat
        full, public = move["event"], change.event["move"]
        mine = change.event_for(seat)["move"]
        assert all(full[key] == value for key, value in public.items())
        assert all(full[key] == value for key, value in mine.items() if key in full)
        if table.game_kind == "crazy_eights":
            assert full == mine
    assert all("event" not in m for m in revealed["moves"] if m["kind"] != "move")

    # The end: what everyone was shown, and the result.
    assert revealed["final"]["players"] == players
    for key, value in final["game_state"].items():
        assert revealed["final"][key] == value, key
    assert revealed["winner"] == final["result"]["winner"]
    assert revealed["detail"] == final["result"]["detail"]
    return revealed


@pytest.mark.parametrize(("people", "bots", "seed"), [
    (2, 0, 1), (1, 1, 2), (3, 0, 3), (2, 2, 4), (1, 4, 5), (4, 3, 6), (7, 0, 7), (1, 6, 8),
    *[(2, 1, seed) for seed in range(100, 112)],
])
def test_reveal_agrees_with_the_table(people, bots, seed):
    table, changes = play_game(people, bots, seed)
    revealed = check_reveal(table, changes)
    # Crazy Eights: the hands at the end, every card accounted for at the deal.
    final = table.view_for(None)["game_state"]
    assert revealed["final"]["hands"] == final["hands"]
    deal = revealed["deal"]
    assert sum(map(len, deal["hands"])) + len(deal["deck_cards"]) + len(deal["pile"]) == 52
    takes = [m for m in revealed["moves"] if m["kind"] == "move" and m["move"]["type"] == "take"]
    assert all(len(m["event"]["card"]) == 2 for m in takes)


@pytest.mark.parametrize(("people", "bots", "seed"), [(1, 3, 1), (2, 2, 2), (4, 0, 3)])
def test_reveal_agrees_with_a_hearts_table(people, bots, seed):
    table, changes = play_game(people, bots, seed, game="hearts")
    revealed = check_reveal(table, changes)
    # Each pass: the mover's cards; the exchange: every player's.
    passes = [m["event"] for m in revealed["moves"]
              if m["kind"] == "move" and m["move"]["type"] == "pass"]
    assert passes and all(len(event["cards"]) == 3 for event in passes)
    exchanges = [event for event in passes if event["exchanged"]]
    assert exchanges and all(len(event["passes"]) == 4 for event in exchanges)


def test_reveal_keeps_the_record_and_does_not_change_it():
    table, _ = play_game(2, 0, 42)
    record = record_of(table, 1)
    snapshot = repr(record)
    revealed = reveal(record)
    assert repr(record) == snapshot
    assert {k: v for k, v in revealed.items()
            if k not in ("deal", "final", "moves", "deck_reveals")} == {
        k: v for k, v in record.items() if k != "moves"}
    assert [{k: m[k] for k in record["moves"][0]} for m in revealed["moves"]] == record["moves"]
    assert set(revealed) == set(record) | {"deal", "final", "deck_reveals"}


def test_reveal_refuses_what_does_not_add_up():
    table, _ = play_game(2, 1, 9)
    record = record_of(table, 1)
    with pytest.raises(ValueError, match="not finished"):
        reveal({**record, "status": "playing"})
    with pytest.raises(ValueError, match="cannot replay"):
        reveal({**record, "game": "poker"})
    with pytest.raises(ValueError, match="do not finish"):
        reveal({**record, "moves": record["moves"][:-1]})
    with pytest.raises(ValueError, match="does not replay"):
        reveal({**record, "seed": record["seed"] + 1})
    with pytest.raises(ValueError, match="record says"):
        reveal({**record, "winner": (record["winner"] + 1) % 3})
    with pytest.raises(ValueError, match="record says"):
        reveal({**record, "detail": {"blocked": not record["detail"]["blocked"]}})
    with pytest.raises(ValueError, match="dealer"):
        reveal({**record, "dealer": 6})
    moved = [dict(m) for m in record["moves"]]
    first = next(m for m in moved if m["kind"] == "move")
    first["seat"] = 5
    with pytest.raises(ValueError, match="not a player"):
        reveal({**record, "moves": moved})


def test_a_game_with_timed_out_moves_reveals_them_too():
    """A turn clock that runs out makes the bot move for the seat (a `timeout` action that
    carries the move): reveal() replays those moves like any other."""
    seeds = itertools.count(40)
    table = Table("room-clock", "clock", "crazy_eights", 2, lambda: next(seeds))
    table.open(PEOPLE[0], {"clock": {"move": 5, "bank": 0}})
    table.sit(PEOPLE[1])
    if table.status.value == "waiting":
        table.start(PEOPLE[0])
    timeouts = 0
    while table.status.value == "playing":
        seat = table.to_act()[0]
        if seat == 1 and timeouts < 3:
            table.time_out(seat)
            timeouts += 1
        else:
            player = table.seats[seat].player
            table.play(player, table.game.bot_move(table.player_of(seat)))
    table.committed()
    revealed = reveal(record_of(table, 1))
    timed_out = [m for m in revealed["moves"] if m["kind"] == "timeout"]
    assert len(timed_out) == min(timeouts, 3) > 0
    assert all(m["seat"] == 1 and "event" in m and m["event"]["type"] for m in timed_out)
    assert revealed["winner"] == table.view_for(None)["result"]["winner"]


def test_positions_follow_every_move_to_the_final_one():
    table, _ = play_game(2, 2, 9, game="hearts")
    revealed = reveal(record_of(table, 1), positions=True)
    moved = [m for m in revealed["moves"] if m["kind"] == "move"]
    assert all("position" in m for m in moved)
    assert moved[-1]["position"] == revealed["final"]
    # Every move changes the position: no two are the same, and every hand is face up.
    assert len({json.dumps(m["position"], sort_keys=True) for m in moved}) == len(moved)
    assert all(len(m["position"]["hands"]) == 4 for m in moved)
    assert "position" not in reveal(record_of(table, 1))["moves"][-1]
