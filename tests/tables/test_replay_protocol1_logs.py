"""Move logs written by the protocol 1 server (d5706ac: unversioned kinds such as "sit", flat
views) still replay, to the very room that server had, on their own and through the database.

The fixtures in tests/fixtures/movelog_v1/ hold a room's `moves` rows as that server wrote them
and what each seat and a spectator saw at the end (`expected`, protocol 1's flat view). The old
view is translated to protocol 2's shape here (`translate`): the table's own fields, then
``game_state`` with players in game order, ``players`` (the seat of each game player),
``to_act`` (seats) and ``result`` (by seat). Protocol 1's ``turn`` was a seat and its
``scores`` and ``hands`` were by seat; card counts were in the seat entries.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from table_helpers import play_out

from game_server.history import reveal
from game_server.storage import GameHistory, MoveLog, make_engine, migrate
from game_server.storage.models import Game, GameSeat, Move, Room, User
from game_server.tables import Action, Player, Table
from game_server.tables.actions import UnknownKind

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "movelog_v1"
NAMES = sorted(path.stem for path in FIXTURES.glob("*.json"))
SERVER = "server-v1"
AT = datetime(2026, 12, 1, tzinfo=UTC)


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def action_of(row: dict[str, Any]) -> Action:
    """A fixture row as the move log reads it back (`Action.stored`)."""
    data = row["data"]
    return Action.stored(
        row["kind"], seq=row["seq"], game=row["game"],
        user=Player(row["user_id"], data["user"]) if "user" in data else None,
        seat=row["seat"], move=data.get("move"), seeds=tuple(data.get("seeds", ())),
        started=data.get("started"), finished=data.get("finished"))


def replay(fixture: dict[str, Any], actions: list[Action]) -> Table:
    room = fixture["room"]
    return Table.replay(room["id"], room["name"], room["game"], room["seats"], actions)


def translate(old: dict[str, Any], fixture: dict[str, Any]) -> dict[str, Any]:
    """Protocol 1's flat view of a running or finished Crazy Eights room, in protocol 2's
    shape (`Table.view_for`)."""
    rows = fixture["moves"]
    started = [row["data"]["started"] for row in rows if "started" in row["data"]][-1]
    players = [entry["seat"] for entry in started["seats"]]  # game order: seat order
    finished = [row["data"]["finished"] for row in rows if "finished" in row["data"]
                and row["data"]["finished"]["number"] == started["number"]]
    seats = [None if entry is None else {k: v for k, v in entry.items() if k != "cards"}
             for entry in old["seats"]]
    game_state: dict[str, Any] = {}
    if "hand" in old:
        game_state["hand"] = old["hand"]
    game_state |= {
        "cards": [old["seats"][seat]["cards"] for seat in players],
        "pile": old["pile"], "deck": old["deck"], "turn": players.index(old["turn"]),
        "suit": old["suit"],
    }
    view = {"game": old["game"], "status": old["status"], "owner": old["owner"],
            "seats": seats, "spectators": old["spectators"], "players": players,
            "to_act": [old["turn"]] if old["status"] == "playing" else [],
            "game_state": game_state, "you": old["you"]}
    if old["status"] == "finished":
        (end,) = finished
        game_state |= {"winner": players.index(old["winner"]),
                       "scores": [old["scores"][seat] for seat in players],
                       "hands": [old["hands"][seat] for seat in players],
                       "blocked": end["blocked"]}
        view["result"] = {"winner": old["winner"], "scores": old["scores"],
                          "detail": {"blocked": end["blocked"]}}
    else:
        assert not finished and "winner" not in old
    return view


def assert_as_recorded(table: Table, fixture: dict[str, Any]) -> None:
    expected = fixture["expected"]
    assert (table.seq, table.status.value, table.owner) == (
        expected["seq"], expected["status"], expected["owner"])
    assert table.view_for(None) == translate(expected["spectator"], fixture)
    assert "hand" not in table.view_for(None)["game_state"]
    for seat, old in expected["views"].items():
        assert table.view_for(int(seat)) == translate(old, fixture), f"seat {seat}"


# --- replaying the rows --------------------------------------------------------------------


def test_there_are_fixtures():
    assert NAMES == ["finished_game_with_bot", "game_in_progress_with_replacements",
                     "second_game_dealt"]


@pytest.mark.parametrize("name", NAMES)
def test_a_protocol_1_log_replays_to_the_room_it_recorded(name):
    fixture = load(name)
    actions = [action_of(row) for row in fixture["moves"]]
    assert all("@" not in row["kind"] for row in fixture["moves"])  # protocol 1's kinds
    assert {action.kind for action in actions} <= {f"{row['kind']}@1" for row in fixture["moves"]}
    table = replay(fixture, actions)
    assert_as_recorded(table, fixture)
    assert table.history == actions and table.journal == []


def test_the_translation_is_not_vacuous():
    # A replay that stops one action short differs from what was recorded.
    fixture = load("game_in_progress_with_replacements")
    actions = [action_of(row) for row in fixture["moves"]]
    short = replay(fixture, actions[:-1])
    with pytest.raises(AssertionError):
        assert_as_recorded(short, fixture)


@pytest.mark.parametrize("name", ["game_in_progress_with_replacements", "second_game_dealt"])
def test_a_replayed_protocol_1_room_plays_on_with_versioned_kinds(name):
    fixture = load(name)
    table = replay(fixture, [action_of(row) for row in fixture["moves"]])
    play_out(table)
    assert table.status.value == "finished"
    assert {action.kind for action in table.journal} <= {"move@1"}
    table.committed()
    again = replay(fixture, table.history)  # old and new kinds in one log
    assert again.view_for(None) == table.view_for(None)


@pytest.mark.parametrize("kind", ["sit@9", "move@3", "sit@", "put", "take", "play_bot", ""])
def test_an_unknown_kind_is_refused(kind):
    with pytest.raises(UnknownKind, match="cannot replay"):
        Action.stored(kind, seq=1, game=0, user=Player(1, "Ann"))


# --- through the database ------------------------------------------------------------------


def store(engine: Engine, fixture: dict[str, Any], kinds: dict[int, str] | None = None) -> None:
    """Write the fixture's room as protocol 1's server did: its users, room, games (with their
    seats and results) and `moves` rows with the kinds as they were (or as `kinds` says, by
    seq)."""
    rows, room = fixture["moves"], fixture["room"]
    users = {row["user_id"]: row["data"]["user"] for row in rows if row["user_id"] is not None}
    games: dict[int, int] = {}
    with engine.begin() as connection:
        for user_id, name in sorted(users.items()):
            connection.execute(insert(User).values(id=user_id, name=name, created_at=AT))
        connection.execute(insert(Room).values(
            id=room["id"], name=room["name"], game=room["game"], seats=room["seats"],
            server_id=SERVER, status="open", created_at=AT))
        for row in rows:
            started, finished = row["data"].get("started"), row["data"].get("finished")
            if started is not None:
                games[started["number"]] = connection.execute(insert(Game).values(
                    room_id=room["id"], number=started["number"], game=room["game"],
                    server_id=SERVER, seed=started["seed"], dealer=started["dealer"],
                    status="playing", started_at=AT)).inserted_primary_key[0]
                connection.execute(insert(GameSeat), [
                    {"game_id": games[started["number"]], "seat": seat["seat"],
                     "user_id": seat["user"], "bot": seat["bot"], "score": None}
                    for seat in started["seats"]])
            if finished is not None:
                # games.detail as migration 0003 carries protocol 1's games.blocked over.
                game_id = games[finished["number"]]
                connection.execute(Game.__table__.update()
                                   .where(Game.id == game_id)
                                   .values(status="finished", finished_at=AT,
                                           winner=finished["winner"],
                                           detail={"blocked": finished["blocked"]}))
                for seat, score in enumerate(finished["scores"]):
                    connection.execute(GameSeat.__table__.update()
                                       .where(GameSeat.game_id == game_id,
                                              GameSeat.seat == seat)
                                       .values(score=score))
            connection.execute(insert(Move).values(
                room_id=room["id"], seq=row["seq"], game_id=games.get(row["game"]),
                kind=(kinds or {}).get(row["seq"], row["kind"]), seat=row["seat"],
                user_id=row["user_id"], data=row["data"], created_at=AT))


@pytest.fixture
def log_engine(database_url: str):
    """An engine on a fresh database migrated to the newest revision (SQLite and
    PostgreSQL)."""
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("name", NAMES)
async def test_protocol_1_rows_in_the_database_load_and_replay(log_engine, name):
    fixture = load(name)
    store(log_engine, fixture)
    log = MoveLog(log_engine, SERVER)
    try:
        [(info, actions)] = log.load_open_rooms()
        room = fixture["room"]
        assert (info.id, info.name, info.game, info.seats) == (
            room["id"], room["name"], room["game"], room["seats"])
        assert actions == [action_of(row) for row in fixture["moves"]]
        assert all(action.kind.endswith("@1") for action in actions)
        table = Table.replay(info.id, info.name, info.game, info.seats, actions)
        assert_as_recorded(table, fixture)

        # The room plays on; its new actions go to the same log with versioned kinds, and the
        # mixed log loads and replays as well.
        if table.status.value == "playing":
            play_out(table)
            new = list(table.journal)
            await log.record(table, new)
            table.committed(len(new))
            [(info, actions)] = log.load_open_rooms()
            assert actions == table.history
            again = Table.replay(info.id, info.name, info.game, info.seats, actions)
            assert again.view_for(None) == table.view_for(None)
            assert again.view_for(None)["status"] == "finished"
    finally:
        log.close()


def test_a_protocol_1_game_in_the_history_is_revealed(log_engine):
    fixture = load("finished_game_with_bot")
    store(log_engine, fixture)
    history = GameHistory(log_engine)
    with log_engine.connect() as connection:
        game_id = connection.execute(select(Game.id)).scalar_one()
    record = history.game_record(game_id)
    assert record["status"] == "finished" and record["detail"] == {"blocked": False}
    # Kinds are shown without a version, old or new.
    assert {move["kind"] for move in record["moves"]} <= {"add_bot", "move", "disconnect",
                                                           "connect"}
    revealed = reveal(record)
    old = fixture["expected"]["spectator"]
    assert revealed["winner"] == old["winner"]
    assert revealed["final"]["hands"] == [old["hands"][seat] for seat in revealed["players"]]


async def test_an_unknown_kind_in_the_database_is_refused(log_engine):
    fixture = load("second_game_dealt")
    store(log_engine, fixture, kinds={1: "sit@9"})
    log = MoveLog(log_engine, SERVER)
    try:
        with pytest.raises(UnknownKind, match="sit@9"):
            log.load_open_rooms()
    finally:
        log.close()
