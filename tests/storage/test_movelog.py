"""MoveLog on SQLite and PostgreSQL: the schema of revisions 0002 and 0003, commit before
resolve, group commit, all-or-nothing batches, outages, and rooms rebuilt exactly from what was
recorded."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, inspect, select, text

from game_server.storage import LogUnavailable, MoveLog, RoomInfo, make_engine, migrate
from game_server.storage.models import Game, GameSeat, Move, Room
from game_server.tables import Action, Player, Table

from storage_helpers import (
    Clock,
    Proxy,
    WriterProbe,
    commit,
    new_table,
    play,
    room_info,
    views,
)

SERVER = "server-a"


@pytest.fixture
def log(migrated: Engine):
    move_log = MoveLog(migrated, SERVER)
    yield move_log
    move_log.close()


def count(engine: Engine, model) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


def sit(seq: int, player: Player) -> Action:
    return Action(seq=seq, kind="sit@1", game=0, user=player)


def room(room_id: str, name: str = "R", seats: int = 2) -> Table:
    """An empty room to record actions for (the log reads its id, name, game and size)."""
    return new_table(room_id, seats, name=name)


# --- the schema ------------------------------------------------------------------------------


def test_revision_0002_up_and_down(database_url):
    migrate.upgrade(database_url, "0001")
    migrate.upgrade(database_url, "0002")
    engine = make_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert {"rooms", "games", "game_seats", "moves"} <= tables
        migrate.downgrade(database_url, "0001")
        assert set(inspect(engine).get_table_names()) == {"alembic_version", "users"}
        assert migrate.current(database_url) == "0001"
        migrate.upgrade(database_url)
        assert migrate.current(database_url) == migrate.head()
    finally:
        engine.dispose()


def test_constraints_and_indexes_have_conventional_names(migrated):
    inspector = inspect(migrated)
    assert inspector.get_pk_constraint("moves")["name"] == "pk_moves"
    assert inspector.get_pk_constraint("moves")["constrained_columns"] == ["room_id", "seq"]
    assert inspector.get_pk_constraint("game_seats")["constrained_columns"] == ["game_id", "seat"]
    assert {fk["name"] for fk in inspector.get_foreign_keys("moves")} == {
        "fk_moves_room_id_rooms", "fk_moves_game_id_games", "fk_moves_user_id_users"}
    assert {fk["name"] for fk in inspector.get_foreign_keys("game_seats")} == {
        "fk_game_seats_game_id_games", "fk_game_seats_user_id_users"}
    assert {c["name"] for c in inspector.get_unique_constraints("games")} == {
        "uq_games_room_id_number"}
    assert {c["name"] for c in inspector.get_check_constraints("rooms")} == {
        "ck_rooms_seats_range", "ck_rooms_status_value"}
    indexes = {table: {index["name"]: index["column_names"]
                       for index in inspector.get_indexes(table)}
               for table in ("rooms", "games", "game_seats", "moves")}
    assert indexes["rooms"] == {"ix_rooms_server_id_status": ["server_id", "status"]}
    assert indexes["games"]["ix_games_status_finished_at"] == ["status", "finished_at"]
    assert indexes["game_seats"] == {"ix_game_seats_user_id_game_id": ["user_id", "game_id"]}
    assert indexes["moves"] == {"ix_moves_game_id": ["game_id"]}


def test_room_info_is_checked():
    RoomInfo("abcdef", "x" * 40, "crazy_eights", 7)
    RoomInfo("abcdef", "x", "hearts", 4)
    RoomInfo("abcdef", "x", "some_game", 1)  # each game checks its own range; rooms 1-10
    RoomInfo("abcdef", "x", "some_game", 10)
    for bad in (dict(id=""), dict(id="x" * 33), dict(name="x" * 41), dict(seats=0),
                dict(seats=11), dict(seats=True), dict(game=""), dict(game="g" * 33)):
        with pytest.raises(ValueError):
            RoomInfo(**{"id": "abcdef", "name": "n", "game": "crazy_eights", "seats": 2, **bad})


# --- recording -------------------------------------------------------------------------------


async def test_record_resolves_after_the_commit(log, migrated, players):
    ann = players[0]
    first = room("room-one", "First", 2)
    outside = make_engine(migrated.url)  # another connection pool: sees only committed rows
    try:
        await log.record(first, [sit(1, ann)])
        with outside.connect() as connection:
            row = connection.execute(select(Room)).one()
            assert (row.id, row.name, row.game, row.seats, row.server_id, row.status) == (
                "room-one", "First", "crazy_eights", 2, SERVER, "open")
            move = connection.execute(select(Move)).one()
            # Kinds are stored with their version.
            assert (move.room_id, move.seq, move.kind, move.user_id, move.game_id) == (
                "room-one", 1, "sit@1", ann.id, None)
            assert move.data == {"user": "Ann"}
    finally:
        outside.dispose()
    assert log.stats.batches == 1 and log.stats.actions == 1


async def test_commits_run_on_the_writer_thread_or_the_event_loop(
        log, migrated, players, monkeypatch):
    # SQLite: a thread of its own. PostgreSQL: the event loop, with no thread at all.
    probe = WriterProbe(migrated, monkeypatch)
    await log.record(room("room-thr", "T", 2), [sit(1, players[0])])
    if probe.sqlite:
        assert probe.commits == ["game-movelog"]
    else:
        assert probe.commits == [threading.current_thread().name]
        assert "game-movelog" not in {thread.name for thread in threading.enumerate()}


async def test_nothing_to_record_touches_nothing(log):
    await log.record(room("room-nil", "N", 2), [])
    assert log.stats.batches == 0


async def test_games_seats_and_results_are_stored(migrated, players):
    ann, bob = players[:2]
    clock = Clock()
    log = MoveLog(migrated, "server-b", clock=clock)
    try:
        table = new_table("room-game", 3)
        table.sit(ann)
        table.sit(bob)
        await commit(log, table)
        started = clock.advance(minutes=1)
        table.add_bot(ann)  # fills the room: the deal
        await commit(log, table)
        with migrated.connect() as connection:
            game = connection.execute(select(Game)).one()
            assert (game.room_id, game.number, game.game, game.server_id, game.seed,
                    game.dealer, game.status, game.winner, game.finished_at, game.detail) == (
                "room-game", 1, "crazy_eights", "server-b", 1000, 0, "playing", None, None,
                None)
            assert game.started_at == started
            seats = connection.execute(
                select(GameSeat.seat, GameSeat.user_id, GameSeat.bot, GameSeat.score)
                .order_by(GameSeat.seat)).all()
            assert seats == [(0, ann.id, False, None), (1, bob.id, False, None),
                             (2, None, True, None)]
        finished = clock.advance(minutes=5)
        await play(log, table, every=7)
        final = table.view_for(None)["result"]
        with migrated.connect() as connection:
            game = connection.execute(select(Game)).one()
            assert game.status == "finished" and game.finished_at == finished
            assert game.winner == final["winner"]
            assert game.detail == final["detail"] == {"blocked": final["detail"]["blocked"]}
            scores = connection.execute(
                select(GameSeat.score).order_by(GameSeat.seat)).scalars().all()
            assert scores == final["scores"]
            # Every action after the deal belongs to game 1.
            game_ids = connection.execute(
                select(Move.seq, Move.game_id).order_by(Move.seq)).all()
            assert [g for seq, g in game_ids if seq > 4] == [game.id] * (len(game_ids) - 3)
            assert [g for seq, g in game_ids[:3]] == [None, None, game.id]
    finally:
        log.close()


async def test_games_dealt_in_one_batch_each_get_their_id_seats_and_moves(
        log, migrated, players, monkeypatch):
    # Twelve rooms deal in one batch. On PostgreSQL the batch takes three round trips (the
    # fence, every game at once, the rest), not one more per game: moves of every room in a
    # batch wait for all of its round trips.
    ann = players[0]
    tables = [new_table(f"room-deal{n:02}", 2, first_seed=100 + n) for n in range(12)]
    for table in tables:
        table.sit(ann)
        await commit(log, table)
    round_trips = []
    if migrated.dialect.name == "postgresql":
        from game_server.storage.pg_async import AsyncConnection
        query = AsyncConnection.query

        async def counted(self, sql, params=None):
            round_trips.append(sql)
            return await query(self, sql, params)

        monkeypatch.setattr(AsyncConnection, "query", counted)
    for table in tables:
        table.add_bot(ann)  # fills the room: the deal
    await asyncio.gather(*(commit(log, table) for table in tables))
    assert log.stats.last_batch_calls == 12
    if migrated.dialect.name == "postgresql":
        assert len(round_trips) == 3
    with migrated.connect() as connection:
        games = {room_id: (game_id, seed) for game_id, room_id, seed in connection.execute(
            select(Game.id, Game.room_id, Game.seed))}
        assert {room_id: seed for room_id, (_, seed) in games.items()} == {
            f"room-deal{n:02}": 100 + n for n in range(12)}
        seats = connection.execute(select(GameSeat.game_id, GameSeat.seat, GameSeat.user_id,
                                          GameSeat.bot)).all()
        assert sorted(seats) == sorted(
            row for game_id, _ in games.values()
            for row in [(game_id, 0, ann.id, False), (game_id, 1, None, True)])
        moves = connection.execute(select(Move.room_id, Move.game_id)
                                   .where(Move.game_id.is_not(None))).all()
        assert {room_id for room_id, _ in moves} == set(games)
        assert all(game_id == games[room_id][0] for room_id, game_id in moves)


# --- group commit ----------------------------------------------------------------------------


async def test_calls_in_one_loop_iteration_share_one_transaction(log, players):
    ann = players[0]
    rooms = [room(f"room-{n:03}", f"R{n}", 2) for n in range(40)]
    await asyncio.gather(*(log.record(table, [sit(1, ann)]) for table in rooms))
    stats = log.stats
    assert stats.batches == 1
    assert stats.calls == stats.last_batch_calls == stats.max_batch_calls == 40
    assert stats.actions == stats.last_batch_actions == 40
    assert stats.commit_seconds >= stats.last_commit_seconds > 0
    assert count(log.engine, Move) == 40


async def test_calls_made_while_the_writer_is_busy_form_the_next_batch(
        log, migrated, players, monkeypatch):
    ann = players[0]
    gate = WriterProbe(migrated, monkeypatch).hold("commit")
    first = asyncio.ensure_future(
        log.record(room("room-first", "F", 2), [sit(1, ann)]))
    while not gate.busy.is_set():
        await asyncio.sleep(0.005)
    later = []
    for n in range(25):  # one call per loop iteration, all while the writer commits
        later.append(asyncio.ensure_future(
            log.record(room(f"room-l{n:02}", "L", 2), [sit(1, ann)])))
        await asyncio.sleep(0)
    assert log.queued == 25 and not first.done()
    gate.release()
    await asyncio.gather(first, *later)
    stats = log.stats
    assert (stats.batches, stats.calls, stats.last_batch_calls) == (2, 26, 25)
    assert count(migrated, Room) == 26


async def test_a_big_load_needs_few_transactions(log, players):
    # 20 rooms playing at once, every move committed before the next: one transaction
    # carries a move of every room.
    ann = players[0]
    tables = [new_table(f"room-load{n:02}", 2, first_seed=n) for n in range(20)]
    for table in tables:
        table.sit(ann)
        table.add_bot(ann)
        await commit(log, table)
    before = log.stats
    await asyncio.gather(*(play(log, table, moves=15) for table in tables))
    stats = log.stats
    calls = stats.calls - before.calls
    assert stats.batches - before.batches <= calls / 5
    assert stats.max_batch_calls >= 10


# --- failures --------------------------------------------------------------------------------


async def test_a_failed_batch_stores_nothing_and_every_call_in_it_fails(
        log, migrated, players, caplog, monkeypatch):
    # The database fails the transaction for a reason of its own (here: the connection is
    # lost at the first statement), not because of a row: every call fails, nothing is
    # retried. A row the database refuses fails only its room: test_movelog_isolation.py.
    ann, bob = players[:2]
    good = room("room-good", "Good", 2)
    other = room("room-other", "Other", 2)
    WriterProbe(migrated, monkeypatch).lose_connection(lambda statement: True)
    caplog.set_level(logging.INFO, logger="game_server.storage.movelog")
    results = await asyncio.gather(log.record(good, [sit(1, ann)]),
                                   log.record(other, [sit(1, bob)]),
                                   return_exceptions=True)
    assert [type(result) for result in results] == [LogUnavailable, LogUnavailable]
    assert "could not commit" in str(results[0])
    assert (count(migrated, Room), count(migrated, Move)) == (0, 0)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "2 call(s) refused" in warnings[0].getMessage()
    assert warnings[0].exc_info is None  # the cause in one line, no traceback
    assert log.stats.failed_batches == 1 and log.stats.batches == 0

    # The next batch succeeds: the same good action, stored now.
    await log.record(good, [sit(1, ann)])
    assert (count(migrated, Room), count(migrated, Move)) == (1, 1)
    assert log.stats.batches == 1
    assert any("succeed again" in r.getMessage() for r in caplog.records)


async def test_a_failure_in_a_later_action_undoes_the_whole_batch(log, migrated, players):
    # The game row, its seats and earlier moves of the same transaction go too.
    ann = players[0]
    table = new_table("room-undo", 2)
    table.sit(ann)
    table.add_bot(ann)
    actions = list(table.journal)
    duplicate = Action(seq=actions[-1].seq, kind="watch@1", game=1, user=ann)  # same seq
    with pytest.raises(LogUnavailable):
        await log.record(table, [*actions, duplicate])
    for model in (Room, Game, GameSeat, Move):
        assert count(migrated, model) == 0
    await log.record(table, actions)
    assert [count(migrated, model) for model in (Room, Game, GameSeat, Move)] == [1, 1, 2, 2]


async def test_calls_queued_behind_a_failed_call_of_the_room_fail_too(
        log, migrated, players, monkeypatch):
    # They were made on top of actions that are not stored, so they must not be stored either.
    bob = players[1]
    ghost = Player(999_999, "Ghost")
    gate = WriterProbe(migrated, monkeypatch).hold("begin")
    chain = room("room-chain", "C", 3)
    other = room("room-other", "O", 3)
    failing = asyncio.ensure_future(log.record(chain, [sit(1, ghost)]))
    while not gate.busy.is_set():
        await asyncio.sleep(0.005)
    behind = asyncio.ensure_future(log.record(chain, [sit(2, bob)]))
    unrelated = asyncio.ensure_future(log.record(other, [sit(1, bob)]))
    await asyncio.sleep(0.01)
    assert log.queued == 2
    gate.release()
    results = await asyncio.gather(failing, behind, unrelated, return_exceptions=True)
    assert [isinstance(result, LogUnavailable) for result in results] == [True, True, False]
    with migrated.connect() as connection:
        assert connection.execute(select(Move.room_id)).scalars().all() == ["room-other"]
    assert (log.stats.failed_batches, log.stats.batches, log.stats.calls) == (1, 1, 1)


async def test_database_outage_and_recovery(database_url, migrated, players, caplog):
    """The database goes away: calls fail quickly with LogUnavailable; it comes back: the
    next batch commits. SQLite: another process holds the write lock. PostgreSQL: the
    network connection is cut (a proxy in between)."""
    ann = players[0]
    down_room = room("room-down", "Down", 2)
    if database_url.startswith("sqlite"):
        engine = make_engine(database_url, connect_args={"timeout": 0.2})
        holder = make_engine(database_url)
        locked = holder.connect()

        def down() -> None:
            locked.exec_driver_sql("UPDATE rooms SET seats = seats WHERE 0")  # BEGIN; write lock

        def up() -> None:
            locked.rollback()

        def stop() -> None:
            locked.close()
            holder.dispose()
    else:
        url = migrated.url
        proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
        engine = make_engine(url.set(host="127.0.0.1", port=proxy.port),
                             connect_args={"connect_timeout": 3})
        down, up = proxy.down, proxy.up

        def stop() -> None:
            proxy.stop()
    move_log = MoveLog(engine, SERVER)
    try:
        await move_log.record(down_room, [sit(1, ann)])
        down()
        def warnings() -> list:
            return [r for r in caplog.records if r.levelno == logging.WARNING
                    and r.name == "game_server.storage.movelog"]

        counts = []
        for seq in (2, 3, 4):  # still down: a warning per distinct cause, not per failure
            with pytest.raises(LogUnavailable):
                await asyncio.wait_for(
                    move_log.record(down_room, [Action(seq, "watch@1", 0, user=players[1])]),
                    10)
            counts.append(len(warnings()))
        # The first failure may lose the writer's open connection, the next ones cannot
        # connect: at most two causes, and the same cause is not logged again.
        assert 1 <= counts[0] and counts[-1] == counts[-2] <= 2
        up()
        await move_log.record(down_room, [Action(2, "watch@1", 0, user=players[1])])
        assert move_log.stats.failed_batches == 3 and move_log.stats.batches == 2
        with migrated.connect() as connection:
            assert connection.execute(select(Move.seq).order_by(Move.seq)).scalars().all() == [
                1, 2]
    finally:
        move_log.close()
        stop()
        engine.dispose()


async def test_a_closed_log_refuses_calls(migrated, players):
    move_log = MoveLog(migrated, SERVER)
    move_log.close()
    move_log.close()  # twice is harmless
    with pytest.raises(LogUnavailable, match="closed"):
        await move_log.record(room("room-late", "L", 2), [sit(1, players[0])])


async def test_close_commits_what_is_queued(migrated, players):
    move_log = MoveLog(migrated, SERVER)
    pending = asyncio.ensure_future(
        move_log.record(room("room-q", "Q", 2), [sit(1, players[0])]))
    await asyncio.sleep(0)  # the call is queued
    move_log.close()
    await pending
    assert count(migrated, Move) == 1


def test_server_id_is_checked(migrated):
    for bad in ("", "x" * 65):
        with pytest.raises(ValueError):
            MoveLog(migrated, bad)


# --- recovery --------------------------------------------------------------------------------


async def test_rooms_rebuilt_from_the_log_equal_the_live_rooms(log, migrated, players):
    ann, bob, cid, dan = players
    big = new_table("room-big", 4, first_seed=2**62 + 5, name="Big room")
    small = new_table("room-small", 2, first_seed=7)
    closed = new_table("room-closed", 2)
    elsewhere = new_table("room-other-srv", 2)

    async def act(table: Table, change) -> None:
        assert change()
        await commit(log, table)

    for change in (lambda: big.sit(ann), lambda: big.sit(bob), lambda: big.watch(dan),
                   lambda: big.sit(cid), lambda: big.leave(cid),
                   lambda: big.set_connected(bob, False), lambda: big.set_connected(bob, True),
                   lambda: big.add_bot(ann), lambda: big.start(ann)):
        await act(big, change)
    await play(log, big, moves=12)
    await act(big, lambda: big.set_connected(bob, False))
    await act(big, lambda: big.expire(bob))  # a bot takes Bob's seat
    await play(log, big, moves=8)
    await act(big, lambda: big.sit(bob))  # Bob reclaims it
    await act(big, lambda: big.leave(ann))  # a bot plays on for Ann
    await play(log, big)
    assert big.status.value == "finished"
    await act(big, lambda: big.unwatch(dan))
    await act(big, lambda: big.start(bob))  # Bob owns the room now: game 2
    await play(log, big, moves=9)
    assert big.games_played == 2 and big.status.value == "playing"

    await act(small, lambda: small.sit(dan))
    await act(small, lambda: small.add_bot(dan))
    await play(log, small, moves=5)

    await act(closed, lambda: closed.sit(ann))
    await log.close_room(closed.id)

    other = MoveLog(migrated, "server-z")
    try:
        elsewhere.sit(cid)
        await commit(other, elsewhere)
    finally:
        other.close()

    # A new log for the same server id, as after a restart.
    restarted = MoveLog(migrated, SERVER)
    try:
        loaded = restarted.load_open_rooms()
    finally:
        restarted.close()
    assert [info.id for info, _ in loaded] == ["room-big", "room-small"]
    for info, actions in loaded:
        live = {"room-big": big, "room-small": small}[info.id]
        assert info == room_info(live)
        assert actions == live.history
        rebuilt = Table.replay(info.id, info.name, info.game, info.seats, actions)
        assert views(rebuilt) == views(live)
        assert rebuilt.seq == live.seq and rebuilt.seed == live.seed
    with migrated.connect() as connection:
        row = connection.execute(select(Room).where(Room.id == "room-closed")).one()
        assert row.status == "closed" and row.closed_at is not None
        assert connection.execute(select(func.max(Game.seed))).scalar_one() == 2**62 + 6


async def test_a_hearts_room_is_stored_with_its_result_and_rebuilt(log, migrated, players):
    ann, bob = players[:2]
    table = new_table("room-hearts", 4, first_seed=31, name="Hearts", game="hearts")
    table.sit(ann)
    table.sit(bob)
    table.add_bot(ann)
    table.add_bot(ann)  # fills the room: the deal
    await commit(log, table)
    await play(log, table, moves=40, every=3)
    [(info, actions)] = log.load_open_rooms()
    assert info == RoomInfo("room-hearts", "Hearts", "hearts", 4)
    assert actions == table.history
    assert views(Table.replay(info.id, info.name, info.game, info.seats, actions)) == views(table)
    await play(log, table, every=25)
    assert table.status.value == "finished"
    result = table.view_for(None)["result"]
    with migrated.connect() as connection:
        game = connection.execute(select(Game)).one()
        assert (game.game, game.status, game.winner) == ("hearts", "finished", result["winner"])
        assert game.detail == result["detail"] == dict(table.game.outcome().detail)
        scores = connection.execute(
            select(GameSeat.score).order_by(GameSeat.seat)).scalars().all()
        assert scores == result["scores"]
    [(info, actions)] = log.load_open_rooms()
    assert views(Table.replay(info.id, info.name, info.game, info.seats, actions)) == views(table)


async def test_closing_a_room_twice_and_closing_an_unknown_room(log, migrated, players):
    twice = room("room-twice", "Twice", 2)
    await log.record(twice, [sit(1, players[0])])
    await log.close_room(twice.id)
    with migrated.connect() as connection:
        closed_at = connection.execute(select(Room.closed_at)).scalar_one()
    await log.close_room(twice.id)
    await log.close_room("room-never")
    with migrated.connect() as connection:
        assert connection.execute(select(Room.closed_at)).scalar_one() == closed_at
    assert log.load_open_rooms() == []


async def test_load_after_the_writer_forgot_a_room(log, migrated, players):
    # A room reopened by another log object (a restart) continues its game numbering: the
    # new writer looks the game up instead of trusting a cache.
    ann = players[0]
    table = new_table("room-cont", 2)
    table.sit(ann)
    table.add_bot(ann)
    await commit(log, table)
    await play(log, table, moves=3)
    restarted = MoveLog(migrated, SERVER)
    try:
        [(info, actions)] = restarted.load_open_rooms()
        again = Table.replay(info.id, info.name, info.game, info.seats, actions)
        await play(restarted, again, moves=4)
        [(_, actions)] = restarted.load_open_rooms()
        assert actions == again.history
        with migrated.connect() as connection:
            assert connection.execute(
                select(func.count(func.distinct(Move.game_id)))).scalar_one() == 1
    finally:
        restarted.close()


async def test_times_are_the_times_of_the_calls(migrated, players):
    clock = Clock(datetime(2026, 5, 1, 9, 30, tzinfo=UTC))
    move_log = MoveLog(migrated, SERVER, clock=clock)
    try:
        timed = room("room-time", "Time", 2)
        await move_log.record(timed, [sit(1, players[0])])
        clock.advance(seconds=90)
        await move_log.record(timed, [sit(2, players[1])])
    finally:
        move_log.close()
    with migrated.connect() as connection:
        assert connection.execute(select(Move.created_at).order_by(Move.seq)).scalars().all() == [
            datetime(2026, 5, 1, 9, 30, tzinfo=UTC), datetime(2026, 5, 1, 9, 31, 30, tzinfo=UTC)]
        assert connection.execute(select(Room.created_at)).scalar_one() == datetime(
            2026, 5, 1, 9, 30, tzinfo=UTC)


def test_sqlite_batches_take_the_write_lock_first(tmp_path):
    # Documented in movelog.py: the no-op UPDATE makes a deferred transaction a writer.
    url = f"sqlite:///{tmp_path / 'lock.db'}"
    migrate.upgrade(url)
    engine = make_engine(url, connect_args={"timeout": 0})
    try:
        with engine.connect() as first, engine.connect() as second:
            first.execute(text("UPDATE rooms SET seats = seats WHERE 0"))
            with pytest.raises(Exception, match="locked"):
                second.execute(text("UPDATE rooms SET seats = seats WHERE 0"))
    finally:
        engine.dispose()
