"""GameHistory on SQLite and PostgreSQL, over games played with real tables and recorded by the
move log: one game's record (secret while it runs), a user's games page by page, the
leaderboard over periods, and reveal() agreeing with what the tables showed."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from game_server.history import reveal
from game_server.rules import Hearts
from game_server.storage import GameHistory, MoveLog, parse_time
from game_server.storage.models import Game
from game_server.tables import Player, Table

from storage_helpers import Clock, commit, new_table, play

RUNNING_SEED = 987_654_321_987_654


@dataclass
class Played:
    """Games played for the tests, with what the tables showed at the end of each."""

    history: GameHistory
    players: list[Player]
    tables: dict[str, Table] = field(default_factory=dict)
    #: (room id, game number) -> day finished, winner seat, scores by seat, detail, users by
    #: seat.
    results: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    #: (room id, game number) -> views of the game's end and the hands revealed then.
    finals: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    def game_id(self, room_id: str, number: int) -> int:
        with self.history.engine.connect() as connection:
            return connection.execute(select(Game.id).where(
                Game.room_id == room_id, Game.number == number)).scalar_one()


async def finish(log: MoveLog, table: Table, played: Played, day: date) -> None:
    await play(log, table, every=5)
    final = table.view_for(None)
    result = final["result"]
    users = {s.number: (s.player.id if s.player else None) for s in table.seats if s}
    played.results[(table.id, table.games_played)] = {
        "day": day, "winner": result["winner"],
        "scores": {seat: score for seat, score in enumerate(result["scores"])
                   if score is not None},
        "detail": result["detail"], "users": users}
    played.finals[(table.id, table.games_played)] = final


@pytest.fixture
async def played(migrated: Engine, players: list[Player]) -> Played:
    ann, bob, cid, dan = players
    clock = Clock(datetime(2026, 3, 1, 10, tzinfo=UTC))
    log = MoveLog(migrated, "server-h", clock=clock)
    result = Played(GameHistory(migrated), players)
    try:
        # Room "duel": Ann against a bot, three games on 1, 2 and 3 March.
        duel = result.tables["duel"] = new_table("room-duel", 2, first_seed=11)
        duel.sit(ann)
        duel.watch(dan)
        duel.add_bot(ann)
        await commit(log, duel)
        await finish(log, duel, result, date(2026, 3, 1))
        for day in (2, 3):
            clock.now = datetime(2026, 3, day, 10, tzinfo=UTC)
            duel.start(ann)
            await commit(log, duel)
            await finish(log, duel, result, date(2026, 3, day))
        # Room "trio": Ann, Bob and Cid on 2 March, at 23:30.
        clock.now = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
        trio = result.tables["trio"] = new_table("room-trio", 3, first_seed=5)
        for person in (ann, bob, cid):
            trio.sit(person)
        await commit(log, trio)
        await finish(log, trio, result, date(2026, 3, 2))
        # Room "open": Bob and Dan, still playing.
        clock.now = datetime(2026, 3, 4, 10, tzinfo=UTC)
        running = result.tables["open"] = new_table("room-open", 2, first_seed=RUNNING_SEED)
        running.sit(bob)
        running.sit(dan)
        await commit(log, running)
        await play(log, running, moves=6)
        assert running.status.value == "playing"
    finally:
        log.close()
    return result


# --- one game --------------------------------------------------------------------------------


async def test_a_finished_game_has_everything(played):
    ann, bob, cid, _ = played.players
    game_id = played.game_id("room-trio", 1)
    record = played.history.game_record(game_id)
    result = played.results[("room-trio", 1)]
    assert {key: record[key] for key in ("id", "room", "name", "game", "number", "status")} == {
        "id": game_id, "room": "room-trio", "name": "room room-trio", "game": "crazy_eights",
        "number": 1, "status": "finished"}
    assert record["started_at"] == "2026-03-02T23:30:00.000Z"
    assert record["finished_at"] == "2026-03-02T23:30:00.000Z"
    assert record["winner"] == result["winner"]
    assert record["detail"] == result["detail"] == {"blocked": result["detail"]["blocked"]}
    assert "blocked" not in record
    assert record["seats"] == [
        {"seat": seat, "user": {"id": player.id, "name": player.name}, "bot": False,
         "score": result["scores"][seat]}
        for seat, player in enumerate((ann, bob, cid))]
    assert record["seed"] == 5 and record["dealer"] == 0 and record["players"] == [0, 1, 2]
    table = played.tables["trio"]
    card_moves = [a for a in table.history if a.kind == "move@1"]
    assert [m["seq"] for m in record["moves"]] == [
        a.seq for a in table.history if a.game == 1 and a.seq <= card_moves[-1].seq]
    # The join that filled the room dealt the game; kinds are shown without their version.
    assert record["moves"][0]["kind"] == "sit"
    assert {m["kind"] for m in record["moves"][1:]} == {"move"}
    assert [m["move"] for m in record["moves"][1:]] == [a.move for a in card_moves]
    assert all(m["at"] == "2026-03-02T23:30:00.000Z" for m in record["moves"])
    json.dumps(record)  # JSON-ready


async def test_a_record_stops_at_the_end_of_its_game_and_leaves_spectators_out(played):
    duel = played.tables["duel"]
    first = played.history.game_record(played.game_id("room-duel", 1))
    second = played.history.game_record(played.game_id("room-duel", 2))
    assert [m["kind"] for m in first["moves"]][:1] == ["add_bot"]
    assert {m["kind"] for m in first["moves"]} == {"add_bot", "move"}  # no watch
    assert second["moves"][0]["kind"] == "start"
    assert second["moves"][0]["user"] == {"id": played.players[0].id, "name": "Ann"}
    end_of_first = next(a.seq for a in duel.history if a.finished and a.finished["number"] == 1)
    assert first["moves"][-1]["seq"] == end_of_first
    assert second["moves"][0]["seq"] > end_of_first
    assert first["seats"][1] == {"seat": 1, "user": None, "bot": True,
                                 "score": played.results[("room-duel", 1)]["scores"][1]}


async def test_nothing_secret_while_a_game_runs(played):
    bob = played.players[1]
    game_id = played.game_id("room-open", 1)
    record = played.history.game_record(game_id)
    assert record["status"] == "playing" and record["finished_at"] is None
    assert record["winner"] is None and record["detail"] is None
    assert not {"seed", "dealer", "players", "moves"} & set(record)
    assert all(seat["score"] is None for seat in record["seats"])
    page = played.history.user_games(bob.id)
    for text in (json.dumps(record), json.dumps(page)):
        assert str(RUNNING_SEED) not in text and "seed" not in text
    with pytest.raises(ValueError, match="not finished"):
        reveal(record)


async def test_unknown_games(played):
    history = played.history
    top = max(played.game_id(room, 1) for room in ("room-duel", "room-trio", "room-open"))
    for game_id in (top + 1, 0, -1, 2**31, 2**70):
        assert history.game_record(game_id) is None
    with pytest.raises(TypeError):
        history.game_record("1")
    with pytest.raises(TypeError):
        history.game_record(True)


async def test_reveal_agrees_with_the_tables(played):
    for (room_id, number), final in played.finals.items():
        record = played.history.game_record(played.game_id(room_id, number))
        revealed = reveal(record)
        # The end: the hands every seat was shown, in game order.
        assert revealed["final"]["players"] == record["players"] == final["players"]
        assert revealed["final"]["hands"] == final["game_state"]["hands"]
        assert revealed["final"]["winner"] == final["game_state"]["winner"]
        assert revealed["id"] == record["id"] and revealed["seed"] == record["seed"]
        for move in revealed["moves"]:
            if move["kind"] == "move":
                assert move["event"]["type"] == move["move"]["type"]
                if move["move"]["type"] == "take":
                    assert len(move["event"]["card"]) == 2
            else:
                assert "event" not in move
        deal = revealed["deal"]
        assert deal["players"] == record["players"]
        in_hands = sum(len(hand) for hand in deal["hands"])
        assert in_hands + len(deal["deck_cards"]) + len(deal["pile"]) == 52
        assert len(deal["deck_cards"]) == deal["deck"]
        json.dumps(revealed)


async def test_reveal_refuses_a_record_that_does_not_add_up(played):
    record = played.history.game_record(played.game_id("room-trio", 1))
    wrong = {**record, "seats": [{**s, "score": (s["score"] or 0) + 1} for s in record["seats"]]}
    with pytest.raises(ValueError, match="record says"):
        reveal(wrong)
    with pytest.raises(ValueError, match="do not finish"):
        reveal({**record, "moves": record["moves"][:-1]})
    flipped = {"blocked": not record["detail"]["blocked"]}
    with pytest.raises(ValueError, match="record says"):
        reveal({**record, "detail": flipped})


# --- a user's games --------------------------------------------------------------------------


async def test_user_games_newest_first_page_by_page(played):
    ann = played.players[0]
    ids = sorted((played.game_id("room-duel", n) for n in (1, 2, 3)), reverse=True)
    ids = sorted([*ids, played.game_id("room-trio", 1)], reverse=True)
    history = played.history
    first = history.user_games(ann.id, limit=3)
    assert [g["id"] for g in first["games"]] == ids[:3]
    assert first["next"] == ids[2]
    second = history.user_games(ann.id, limit=3, before=first["next"])
    assert [g["id"] for g in second["games"]] == ids[3:]
    assert second["next"] is None
    assert history.user_games(ann.id)["next"] is None
    assert [g["id"] for g in history.user_games(ann.id, limit=4)["games"]] == ids
    assert history.user_games(ann.id, limit=4)["next"] is None
    assert history.user_games(ann.id, before=ids[-1]) == {"games": [], "next": None}
    assert history.user_games(ann.id, before=2**40)["games"][0]["id"] == ids[0]


async def test_user_games_show_results(played):
    ann, bob, cid, dan = played.players
    page = played.history.user_games(ann.id)
    for game in page["games"]:
        result = played.results[(game["room"], game["number"])]
        seat = game["seat"]
        assert result["users"][seat] == ann.id
        assert game["status"] == "finished"
        assert game["score"] == result["scores"][seat]
        assert game["won"] is (result["winner"] == seat)
        assert game["winner"] == result["winner"]
        assert game["detail"] == result["detail"]
        names = [s["user"]["name"] if s["user"] else None for s in game["seats"]]
        assert names == (["Ann", None] if game["room"] == "room-duel" else ["Ann", "Bob", "Cid"])
    [running] = played.history.user_games(dan.id)["games"]
    assert running["status"] == "playing" and running["seat"] == 1
    assert running["score"] is None and running["won"] is None and running["detail"] is None


async def test_user_games_of_nobody_and_bad_arguments(played):
    history = played.history
    assert history.user_games(999_999) == {"games": [], "next": None}
    assert history.user_games(0) == {"games": [], "next": None}
    assert history.user_games(played.players[0].id, before=1) == {"games": [], "next": None}
    for limit in (0, 101, -5):
        with pytest.raises(ValueError, match="limit"):
            history.user_games(1, limit=limit)
    with pytest.raises(TypeError):
        history.user_games(1, limit="5")
    with pytest.raises(TypeError):
        history.user_games(1, before="5")


# --- the leaderboard -------------------------------------------------------------------------


def expected_board(played: Played, days: set[date] | None = None) -> list[dict[str, Any]]:
    names = {p.id: p.name for p in played.players}
    rows: dict[int, dict[str, Any]] = {}
    for result in played.results.values():
        if days is not None and result["day"] not in days:
            continue
        for seat, user_id in result["users"].items():
            if user_id is None:
                continue
            row = rows.setdefault(user_id, {"user": {"id": user_id, "name": names[user_id]},
                                            "games": 0, "wins": 0, "points": 0})
            row["games"] += 1
            row["wins"] += result["winner"] == seat
            row["points"] += result["scores"][seat]
    return sorted(rows.values(), key=lambda r: (-r["wins"], -r["points"], r["games"],
                                                r["user"]["id"]))


async def test_leaderboard_over_all_time(played):
    board = played.history.leaderboard()
    assert board == expected_board(played)
    assert {row["user"]["name"] for row in board} == {"Ann", "Bob", "Cid"}  # Dan: no result
    assert played.history.leaderboard(limit=1) == board[:1]


async def test_leaderboard_periods(played):
    history = played.history
    march = lambda day: date(2026, 3, day)  # noqa: E731
    assert history.leaderboard(since=march(2), until=march(2)) == expected_board(
        played, {march(2)})
    assert history.leaderboard(since=march(2)) == expected_board(played, {march(2), march(3)})
    assert history.leaderboard(until=march(1)) == expected_board(played, {march(1)})
    assert history.leaderboard(since=march(5)) == []
    # Datetimes: since inclusive, until exclusive. The trio game ended at 23:30 on 2 March.
    at = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    assert history.leaderboard(since=at, until=at) == []
    trio_only = history.leaderboard(since=at, until=datetime(2026, 3, 3, tzinfo=UTC))
    assert {row["user"]["name"] for row in trio_only} == {"Ann", "Bob", "Cid"}
    assert all(row["games"] == 1 for row in trio_only)
    # The same instant written in another zone.
    assert history.leaderboard(since=parse_time("2026-03-03T00:30:00+01:00"),
                               until=parse_time("2026-03-03T00:00:00Z")) == trio_only


async def test_leaderboard_bad_arguments(played):
    history = played.history
    with pytest.raises(ValueError, match="naive"):
        history.leaderboard(since=datetime(2026, 3, 1))
    with pytest.raises(ValueError, match="limit"):
        history.leaderboard(limit=0)
    with pytest.raises(TypeError):
        history.leaderboard(since="2026-03-01")


def test_parse_time():
    assert parse_time("2026-03-02") == date(2026, 3, 2)
    assert parse_time("2026-03-02T10:00:00Z") == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert parse_time("2026-03-02T10:00:00") == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert parse_time("2026-03-02T11:00:00+01:00") == datetime(2026, 3, 2, 10, tzinfo=UTC)
    for bad in ("", "yesterday", "2026-13-01", "2026-03-02T25:00"):
        with pytest.raises(ValueError):
            parse_time(bad)


# --- docs/api.md -----------------------------------------------------------------------------


def api_examples() -> list[Any]:
    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.S)]


async def test_api_examples_have_the_fields_served(played):
    examples = api_examples()
    game = next(e for e in examples if isinstance(e, dict) and "moves" in e)
    hearts_passes = next(e for e in examples if isinstance(e, list))
    page = next(e for e in examples if isinstance(e, dict) and "games" in e)
    board = next(e for e in examples if isinstance(e, dict) and "leaders" in e)
    history = played.history
    revealed = reveal(history.game_record(played.game_id("room-trio", 1)))
    assert set(game) == set(revealed)
    assert set(game["deal"]) == set(revealed["deal"])
    assert set(game["final"]) == set(revealed["final"])
    assert set(game["seats"][0]) == set(revealed["seats"][0])
    served_moves = {(m["kind"], (m["move"] or {}).get("type")): set(m)
                    for m in revealed["moves"]}
    for move in game["moves"]:
        kind = (move["kind"], (move["move"] or {}).get("type"))
        if kind in served_moves:
            assert set(move) == served_moves[kind]
    # Hearts passes: entries like any move's; events as the rules reveal them.
    hearts = Hearts(4, seed=1)
    events = [hearts.apply(p, hearts.bot_move(p)).full() for p in range(4)]
    for entry, event in zip(hearts_passes, (events[0], events[3])):
        assert set(entry) == served_moves[("move", "put")]
        assert set(entry["event"]) == set(event)
        assert entry["event"]["cards"] == entry["move"]["cards"]
    served_page = history.user_games(played.players[1].id)
    assert set(page) == set(served_page)
    assert {frozenset(g) for g in page["games"]} == {frozenset(served_page["games"][0])}
    assert set(board) == {"since", "until", "game", "leaders"}  # transport/api.py adds them
    assert set(board["leaders"][0]) == set(history.leaderboard()[0])


async def test_the_leaderboard_ranks_one_game_when_asked(played, migrated, players):
    """Hearts counts penalty points and Crazy Eights points won: each can be ranked alone."""
    ann, bob, cid, dan = players
    log = MoveLog(migrated, "server-h")
    try:
        hearts = new_table("room-hearts", 4, first_seed=3, game="hearts")
        hearts.sit(bob)
        for _ in range(3):
            hearts.add_bot(bob)
        await commit(log, hearts)
        await play(log, hearts)
        assert hearts.status.value == "finished"
    finally:
        log.close()
    history = played.history
    eights = history.leaderboard(game="crazy_eights")
    assert eights == expected_board(played)
    [bob_in_hearts] = history.leaderboard(game="hearts")
    assert bob_in_hearts["user"]["id"] == bob.id and bob_in_hearts["games"] == 1
    everyone = {row["user"]["id"]: row["games"] for row in history.leaderboard()}
    assert everyone[bob.id] == 1 + {row["user"]["id"]: row["games"] for row in eights}[bob.id]
