"""A row the database can never take fails only its own room (issue 12, item 2).

The move log commits the calls of many rooms in one transaction. When that transaction fails
for a reason that lies in the rows (a NUL in a text column on PostgreSQL, a foreign key), the
log retries the batch room by room: the rooms whose rows can be written are committed, the
others are refused, each with one WARNING line and no traceback. A database that is away
(a connection failure) still fails the whole batch: retrying room by room would only wait N
times."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import Engine, func, select

from game_server.storage import LogUnavailable, MoveLog
from game_server.storage.movelog import RowRefused
from game_server.protocol.commits import commit as commit_to_log
from game_server.storage.models import Move, Room
from game_server.tables import Action, Player
from game_server.tables.requests import Commit

from storage_helpers import WriterProbe, new_table

SERVER = "server-i"


@pytest.fixture
def log(migrated: Engine):
    move_log = MoveLog(migrated, SERVER)
    yield move_log
    move_log.close()


def sit(seq: int, player: Player) -> Action:
    return Action(seq=seq, kind="sit@1", game=0, user=player)


def stored(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            select(Move.room_id, Move.seq).order_by(Move.room_id, Move.seq)).all()]


def room_ids(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return connection.execute(select(Room.id).order_by(Room.id)).scalars().all()


def movelog_lines(caplog, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.levelno == level and r.name.startswith("game_server.storage")]


@pytest.mark.parametrize("cause", ["nul_in_name", "unknown_user"])
async def test_a_row_that_cannot_be_written_fails_only_its_own_room(
        database_url, log, migrated, players, caplog, cause):
    if cause == "nul_in_name" and database_url.startswith("sqlite"):
        pytest.skip("SQLite stores a NUL; PostgreSQL refuses it")
    ann, bob = players[:2]
    caplog.set_level(logging.INFO, logger="game_server.storage")
    victim = new_table("room-victim", 2, name="Friday game")
    if cause == "nul_in_name":
        attacker = new_table("room-attack", 2, name="bad\x00name")
        attack = [sit(1, bob)]
    else:
        attacker = new_table("room-attack", 2, name="Ghosts")
        attack = [sit(1, Player(999_999, "Ghost"))]  # no such user: a foreign key fails
    third = new_table("room-third", 2, name="Third")
    # One loop iteration: the three calls share one transaction.
    results = await asyncio.gather(log.record(victim, [sit(1, ann)]),
                                   log.record(attacker, attack),
                                   log.record(third, [sit(1, bob)]),
                                   return_exceptions=True)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], RowRefused)  # a LogUnavailable: the client is told so
    assert stored(migrated) == [("room-third", 1), ("room-victim", 1)]
    assert room_ids(migrated) == ["room-third", "room-victim"]
    # One line for the refused room, naming it, without a traceback; nothing else.
    warnings = movelog_lines(caplog, logging.WARNING)
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "room-attack" in warnings[0].getMessage()
    assert warnings[0].exc_info is None
    assert not movelog_lines(caplog, logging.ERROR)
    assert log.stats.calls == 2 and log.stats.actions == 2

    # The log goes on as before: the victim's next call commits in a batch of its own.
    await log.record(victim, [sit(2, bob)])
    assert ("room-victim", 2) in stored(migrated)


async def test_a_refused_rooms_later_calls_in_the_batch_are_refused_too(log, migrated, players):
    # They build on the refused call; the other room of the batch is committed.
    ann, bob = players[:2]
    ghost = Player(999_999, "Ghost")
    bad = new_table("room-bad", 3)
    good = new_table("room-good", 3)
    results = await asyncio.gather(log.record(bad, [sit(1, ghost)]),
                                   log.record(good, [sit(1, ann)]),
                                   log.record(bad, [sit(2, bob)]),
                                   log.record(good, [sit(2, bob)]),
                                   return_exceptions=True)
    assert [isinstance(result, LogUnavailable) for result in results] == [
        True, False, True, False]
    assert results[1] is None and results[3] is None
    assert stored(migrated) == [("room-good", 1), ("room-good", 2)]


async def test_a_batch_of_one_refused_room_is_one_warning(log, migrated, players, caplog):
    caplog.set_level(logging.INFO, logger="game_server.storage")
    ghost = Player(999_999, "Ghost")
    for seq in (1, 2):
        with pytest.raises(LogUnavailable):
            await log.record(new_table(f"room-{seq}", 2), [sit(1, ghost)])
    warnings = movelog_lines(caplog, logging.WARNING)
    assert [("room-1" in w.getMessage(), "room-2" in w.getMessage()) for w in warnings] == [
        (True, False), (False, True)]
    assert all(w.exc_info is None for w in warnings)
    # A refused row is not an outage: nothing says "commits succeed again" afterwards.
    await log.record(new_table("room-3", 2), [sit(1, players[0])])
    assert not [r for r in caplog.records if "succeed again" in r.getMessage()]
    with migrated.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Move)).scalar_one() == 1


async def test_the_hubs_commit_driver_fails_only_the_refused_room(
        database_url, log, migrated, players, caplog):
    """What the hub does with one loop iteration's commits: only the refused room's commit
    fails (so only its request gets `unavailable`), and the refusal is one line in all."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite stores a NUL; PostgreSQL refuses it")
    ann, bob = players[:2]
    caplog.set_level(logging.DEBUG, logger="game_server")
    victim = new_table("room-victim", 2, name="Friday game")
    attacker = new_table("room-attack", 2, name="bad\x00name")
    failed = await commit_to_log(log, [Commit(victim, 1, [sit(1, ann)]),
                                       Commit(attacker, 2, [sit(1, bob)])])
    assert list(failed) == [2] and isinstance(failed[2], LogUnavailable)
    assert stored(migrated) == [("room-victim", 1)]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "room-attack" in warnings[0].getMessage()


async def test_a_bad_row_among_many_rooms_costs_a_few_transactions(
        log, migrated, players, monkeypatch):
    """The batch is halved around the bad room, not written room by room: a client sending
    bad rows on purpose cannot make the log commit one room at a time."""
    ann = players[0]
    ghost = Player(999_999, "Ghost")
    tables = [new_table(f"room-{n:02}", 2) for n in range(32)]
    probe = WriterProbe(migrated, monkeypatch)
    results = await asyncio.gather(*(
        log.record(table, [sit(1, ghost if n == 21 else ann)])
        for n, table in enumerate(tables)), return_exceptions=True)
    transactions = len(probe.begins)
    assert [n for n, result in enumerate(results) if result is not None] == [21]
    assert len(stored(migrated)) == 31
    # The batch, then two halves on each of log2(32) = 5 levels.
    assert 3 <= transactions <= 1 + 2 * 5
    assert log.stats.transactions == transactions


async def test_an_outage_while_rooms_are_retried_fails_the_rest(
        log, migrated, players, monkeypatch):
    ann = players[0]
    ghost = Player(999_999, "Ghost")
    tables = [new_table(f"room-{n}", 2) for n in range(4)]
    probe = WriterProbe(migrated, monkeypatch)
    # The second retry loses the connection.
    probe.lose_connection(lambda statement: len(probe.begins) == 3 and "INSERT" in statement)
    results = await asyncio.gather(*(
        log.record(table, [sit(1, ghost if n == 0 else ann)])
        for n, table in enumerate(tables)), return_exceptions=True)
    # Halves [0, 1] (fails: ghost) and [2, 3] (the connection is lost): nothing committed,
    # every call answered.
    assert all(isinstance(result, LogUnavailable) for result in results), results
    assert stored(migrated) == []
    assert probe.before == []  # the connection was lost once
    await log.record(tables[1], [sit(1, ann)])
    assert stored(migrated) == [("room-1", 1)]
