"""docs/fairness.md's verifier, run exactly as the doc prints it, on the history API's record of
real finished games (a Crazy Eights game and a Hearts match played at a table, written to a
SQLite move log, read back by GameHistory and revealed as GET /api/games/<id> serves them),
against the commitments the players were shown during the game."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from game_server.history import reveal
from game_server.storage import MoveLog, UserStore, make_engine, migrate
from game_server.storage.history import GameHistory
from game_server.storage.models import Game
from game_server.tables import Player, Table

DOC = Path(__file__).resolve().parents[1] / "docs" / "fairness.md"


def verifier() -> str:
    """The Python block after the doc's verifier marker, as printed."""
    text = DOC.read_text()
    after = text.split("<!-- verifier:", 1)[1]
    code = re.search(r"```python\n(.*?)```", after, re.S).group(1)
    assert len(code.strip().splitlines()) <= 12  # "a ten-line verifier"
    return code


def run(code_path: Path, record: dict, tmp_path: Path, *seen: str) -> subprocess.CompletedProcess:
    path = tmp_path / f"game-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(record))
    return subprocess.run([sys.executable, "-I", str(code_path), path.as_uri(), *seen],
                          capture_output=True, text=True, timeout=30)


async def play_and_record(url: str, game: str, seats: int) -> tuple[dict, list[str]]:
    """A whole game of `game` played at a real Table by two people and bots, every action
    committed to the move log; the revealed record and the commitments shown while it ran."""
    engine = make_engine(url)
    store = UserStore(engine)
    ann, bob = (Player(user.id, user.name)
                for user in map(store.add, (f"Ann {game}", f"Bob {game}")))
    log = MoveLog(engine, "server-fair")
    seeds = itertools.count(77)
    table = Table(f"room-{game}", "fair", game, seats, seeds=lambda: next(seeds))
    seen: list[str] = []

    def note() -> None:
        commit = table.view_for(0).get("deck_commit")
        if table.status.value == "playing" and (not seen or seen[-1] != commit):
            seen.append(commit)

    try:
        table.sit(ann)
        table.sit(bob)
        while table.status.value == "waiting":
            table.add_bot(ann)
        note()
        while table.status.value == "playing":
            if table.bots_to_act():
                table.play_bots()
            else:
                seat = table.to_act()[0]
                table.play(table.seats[seat].player, table.game.bot_move(table.player_of(seat)))
            note()
            if len(table.journal) >= 50 or table.status.value != "playing":
                actions = list(table.journal)
                await log.record(table, actions)
                table.committed(len(actions))
        with engine.connect() as connection:
            game_id = connection.execute(select(Game.id).where(
                Game.room_id == table.id, Game.number == 1)).scalar_one()
        record = GameHistory(engine).game_record(game_id)
    finally:
        log.close()
        engine.dispose()
    return json.loads(json.dumps(reveal(record))), seen


@pytest.fixture
def database(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'fair.db'}"
    migrate.upgrade(url)
    return url


async def test_the_docs_verifier_checks_real_finished_games(database, tmp_path):
    code_path = tmp_path / "verify.py"
    code_path.write_text(verifier())
    out = tmp_path / "records"
    out.mkdir()
    for game, seats in (("crazy_eights", 3), ("hearts", 4)):
        record, seen = await play_and_record(database, game, seats)
        reveals = record["deck_reveals"]
        assert [r["deck_commit"] for r in reveals] == seen
        assert len(reveals) == (1 if game == "crazy_eights" else len(seen)) and seen
        done = run(code_path, record, out, *seen)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.splitlines() == [
            f"deal {n}: OK {commit}" for n, commit in enumerate(seen, start=1)]

        # A reveal that does not make the commitment shown, or a commitment other than the one
        # a player saw, or a pack with a card twice, is caught.
        swapped = json.loads(json.dumps(record))
        order = swapped["deck_reveals"][0]["order"]
        order[0], order[1] = order[1], order[0]
        assert run(code_path, swapped, out, *seen).returncode == 1
        assert run(code_path, record, out, "0" * 64).returncode == 1
        doubled = json.loads(json.dumps(record))
        doubled["deck_reveals"][0]["order"][0] = doubled["deck_reveals"][0]["order"][1]
        assert run(code_path, doubled, out).returncode == 1


def test_the_docs_example_commitment_is_right():
    """The Crazy Eights example of docs/api.md passes the verifier's check too."""
    text = (DOC.parent / "api.md").read_text()
    block = re.search(r'"deck_reveals": \[\s*(\{.*?\})\s*\]', text, re.S).group(1)
    deal = json.loads(block)
    digest = hashlib.sha256((",".join(deal["order"]) + ":" + deal["salt"]).encode()).hexdigest()
    assert digest == deal["deck_commit"] and len(set(deal["order"])) == 52
