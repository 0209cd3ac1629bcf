"""Verifiable shuffles (docs/fairness.md) at the table: every deal of every game is committed to
in the view it is dealt with; the finished view reveals order and salt that make each
commitment; nothing before the end gives away an order or a salt; seeds and salts come from
`secrets`; the move log keeps the salts, so a replayed room shows the same commitments."""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
from pathlib import Path

import pytest

from game_server.rules import FULL_DECK, GAMES
from game_server.rules.fairness import canonical_text, deck_commit, is_salt
from game_server.tables import Change, Table
from game_server.tables.engine import Engine
from game_server.tables.lobby import Lobby, random_seed
from game_server.tables.requests import AddBot, Create, SignIn
from game_server.tables.table import new_salt

from table_helpers import ANN, BOB, play_out, step

PACK = sorted(str(card) for card in FULL_DECK)


def full_table(game: str, seeds=None, salts=None) -> tuple[Table, list[Change]]:
    """A room of `game` with Ann, Bob and bots, dealt."""
    seeds = seeds or itertools.count(500).__next__
    table = Table(f"room-{game}", "fair", game, GAMES[game].DEFAULT_SEATS, seeds=seeds,
                  salts=salts)
    changes = table.sit(ANN) + table.sit(BOB)
    while table.status.value == "waiting":
        changes += table.add_bot(ANN)
    return table, changes


def dealt_commitments(changes: list[Change]) -> list[str]:
    """The commitment each deal showed, in order, from the views of the changes that dealt."""
    seen: list[str] = []
    for change in changes:
        commit = change.views[None].get("deck_commit")
        if commit is not None and (not seen or commit != seen[-1]):
            seen.append(commit)
    return seen


@pytest.mark.parametrize("game", sorted(GAMES))
def test_every_deal_is_committed_and_the_finished_view_reveals_it(game):
    table, changes = full_table(game)
    start = changes[-1]
    assert start.event["type"] == "start"
    # The deal's first state carries the commitment, in every reader's view.
    assert all(len(view["deck_commit"]) == 64 for view in start.views.values())
    changes += play_out(table)
    final = table.view_for(None)
    reveals = final["deck_reveals"]
    assert final["status"] == "finished" and reveals == table.view_for(0)["deck_reveals"]
    if game == "hearts":
        assert len(reveals) == table.game.deal >= 2  # a match: one commitment per deal
    else:
        assert len(reveals) == 1
    assert [r["deal"] for r in reveals] == list(range(1, len(reveals) + 1))
    assert [r["deck_commit"] for r in reveals] == dealt_commitments(changes)
    for reveal in reveals:
        assert sorted(reveal["order"]) == PACK and is_salt(reveal["salt"])
        text = ",".join(reveal["order"]) + ":" + reveal["salt"]
        assert hashlib.sha256(text.encode("ascii")).hexdigest() == reveal["deck_commit"]
        assert canonical_text(reveal["order"], reveal["salt"]) == text
    # The revealed order is the one the game dealt from (the first deal, replayed).
    replayed = GAMES[game](len(table.players), table.seed,
                           table.players.index(table._dealer_seat))
    assert reveals[0]["order"] == [str(card) for card in replayed.deck_order()]
    # Each deal's state shows the commitment of that deal in the Hearts match.
    if game == "hearts":
        dealing = [c for c in changes if c.event["type"] == "move"
                   and "next_deal" in c.event["move"]]
        assert [c.views[None]["deck_commit"] for c in dealing] == [
            r["deck_commit"] for r in reveals[1:]]


@pytest.mark.parametrize("game", sorted(GAMES))
def test_nothing_before_the_end_gives_away_an_order_or_a_salt(game):
    table, changes = full_table(game)
    changes += play_out(table)
    salts = [r["salt"] for r in table.view_for(None)["deck_reveals"]]
    orders = [",".join(f'"{c}"' for c in r["order"]) for r in table.view_for(None)["deck_reveals"]]
    before = [c for c in changes if c.views[None]["status"] != "finished"]
    assert len(before) == len(changes) - 1  # the last move ends the game
    for change in before:
        for seat, view in change.views.items():
            text = json.dumps([view, change.event_for(seat)], separators=(",", ":"))
            assert "deck_reveals" not in text and '"salt"' not in text and '"order"' not in text
            assert not any(salt in text for salt in salts)
            assert not any(order in text for order in orders)
    # Nor does a seat's or a spectator's view of the deal (queried, not pushed).
    table2, _ = full_table(game)
    for seat in (None, 0, 1):
        text = json.dumps(table2.view_for(seat))
        assert "salt" not in text and "order" not in text and "deck_commit" in text


def test_two_deals_in_the_same_order_commit_differently():
    table, _ = full_table("crazy_eights", seeds=lambda: 7)
    first = table.view_for(None)["deck_commit"]
    play_out(table)
    order = table.view_for(None)["deck_reveals"][0]["order"]
    table.start(ANN)  # the next game, dealt from the same seed: the same order, a new salt
    second = table.view_for(None)["deck_commit"]
    assert table._deals[0]["order"] == order and second != first
    # And the commitment is not the hash of the order alone (the salt is in it).
    plain = hashlib.sha256(",".join(order).encode()).hexdigest()
    assert plain not in (first, second)


def test_a_deal_shows_the_commitment_its_salt_makes():
    salts = iter(["ab" * 32, "cd" * 32])
    table, _ = full_table("crazy_eights", seeds=lambda: 3, salts=lambda: next(salts))
    order = [str(card) for card in table.game.deck_order()]
    assert table.view_for(1)["deck_commit"] == deck_commit(order, "ab" * 32)
    assert table.journal[-1].salts == ("ab" * 32,)
    assert table.journal[-1].kind == "add_bot@2"


@pytest.mark.parametrize("game", sorted(GAMES))
def test_a_replayed_room_shows_the_same_commitments_and_reveals_the_same_salts(game):
    table, _ = full_table(game)
    for _ in range(400 if game == "hearts" else 10):  # into deal 2 or more of a Hearts match
        step(table)
    table.committed()
    replayed = Table.replay(table.id, table.name, table.game_kind, len(table.seats),
                            table.history)
    assert replayed.view_for(None) == table.view_for(None)
    assert replayed._deals == table._deals
    if game == "hearts":
        assert len(table._deals) >= 2
        # Later deals of the match each drew a fresh seed, recorded with the move that dealt.
        dealing = [a for a in table.history if a.kind == "move@2"]
        assert dealing and all(len(a.seeds) == 1 and len(a.salts) == 1 for a in dealing)
    dealt = len(table._deals)
    # Played on the same way, both reveal the same salts for the deals dealt before the
    # replay (later deals of the replayed match draw seeds and salts of their own).
    for room in (table, replayed):
        while room.status.value == "playing":
            if room.bots_to_act():
                room.play_bots()
            else:
                seat = room.to_act()[0]
                room.play(room.seats[seat].player, room.game.bot_move(room.player_of(seat)))
    assert (replayed.view_for(None)["deck_reveals"][:dealt]
            == table.view_for(None)["deck_reveals"][:dealt])


def test_seeds_and_salts_come_from_secrets():
    # Two rooms created at once by the engine's own lobby (the same fake time) get different
    # decks and salts.
    engine = Engine()
    orders, commits = [], []
    for conn, user in ((1, ANN), (2, BOB)):
        engine.handle(SignIn(conn, user), now=100.0)
        engine.handle(Create(conn, "fair", "hearts"), now=100.0)
        for _ in range(3):
            engine.handle(AddBot(conn), now=100.0)
        table = engine.room_of(conn)
        orders.append(table._deals[0]["order"])
        commits.append(table._deals[0]["deck_commit"])
    assert orders[0] != orders[1] and commits[0] != commits[1]
    assert len({new_salt() for _ in range(20)}) == 20 and is_salt(new_salt())
    assert Lobby()._seeds is random_seed
    # The sources themselves: secrets, and no module of the tables layer imports `random` or
    # `time` (a game's own generator is seeded from these).
    tables = Path(__file__).resolve().parents[2] / "game_server" / "tables"
    assert _calls_secrets(tables / "lobby.py", "random_seed")
    assert _calls_secrets(tables / "table.py", "new_salt")
    for path in tables.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) else [])
            assert not {"random", "time"} & set(names), path.name


def _calls_secrets(path: Path, function: str) -> bool:
    tree = ast.parse(path.read_text())
    body = next(node for node in tree.body
                if isinstance(node, ast.FunctionDef) and node.name == function)
    return any(isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
               and node.value.id == "secrets" for node in ast.walk(body))


def test_a_log_without_salts_replays_without_commitments():
    """A room whose log was written before commitments (no salts, no deal seeds) replays to
    the game it was, and shows no commitment for those deals."""
    table, _ = full_table("hearts")
    for _ in range(400):
        step(table)
    table.committed()
    # Strip what this version adds: salts, the later deals' seeds, and the @2 kinds.
    from dataclasses import replace
    old = []
    for action in table.history:
        seeds = action.seeds[:1] if action.started else ()
        old.append(replace(action, kind=action.kind.replace("@2", "@1"), salts=(),
                           seeds=seeds))
    # Without the deal seeds a Hearts match's later deals differ: replay only to deal 1's end.
    first_deal_end = next((i for i, a in enumerate(table.history) if a.kind == "move@2"),
                          len(old))
    replayed = Table.replay(table.id, table.name, table.game_kind, len(table.seats),
                            old[:first_deal_end])
    view = replayed.view_for(None)
    assert "deck_commit" not in view and "deck_reveals" not in view
    assert replayed._deals[0]["order"] == table._deals[0]["order"]
