"""The chat log (migration 0007) on SQLite and PostgreSQL: room chat is written apart from the
move log, and a game's record shows the chat of that game once it is finished, never before."""

from __future__ import annotations

import logging

from sqlalchemy import Engine, func, select

from game_server.storage import GameHistory, MoveLog
from game_server.storage.chat import ChatLog
from game_server.storage.models import ChatMessage, Game
from game_server.tables import Player
from game_server.tables.chat import ChatLine

from storage_helpers import commit, new_table, play


def line(table, user: Player, text: str, to: str = "all", at: str = "2026-12-03T20:00:00.000Z"):
    return ChatLine(table.id, table.chat_game(), table.seq, user, text, to, at)


async def test_chat_is_in_a_games_record_once_it_is_finished(migrated: Engine, players):
    ann, bob, cid, _ = players
    log, chat = MoveLog(migrated, "game-1"), ChatLog(migrated)
    history = GameHistory(migrated)
    try:
        table = new_table("room-chat", 2)
        table.sit(ann)
        table.watch(cid)
        await commit(log, table)
        chat.record([line(table, ann, "hello")])
        table.sit(bob)  # the room is full: the game starts
        await commit(log, table)
        chat.record([line(table, ann, "gl", "players"),
                     line(table, cid, "\u00e9 <b>watching</b>", "spectators",
                          "2026-12-03T20:00:01.250Z")])
        assert chat.flush()
        with migrated.connect() as connection:
            game_id = connection.execute(select(Game.id)).scalar_one()
        running = history.game_record(game_id)
        assert running["status"] == "playing" and "chat" not in running
        await play(log, table)
        chat.record([line(table, bob, "gg")])
        table.start(ann)  # a second game: its chat is its own
        await commit(log, table)
        chat.record([line(table, bob, "again?")])
        assert chat.flush() and chat.written == 5 and chat.dropped == 0
        record = history.game_record(game_id)
        assert [(c["from"]["name"], c["text"], c["to"]) for c in record["chat"]] == [
            ("Ann", "hello", "all"), ("Ann", "gl", "players"),
            ("Cid", "\u00e9 <b>watching</b>", "spectators"), ("Bob", "gg", "all")]
        assert record["chat"][2]["at"] == "2026-12-03T20:00:01.250Z"
        assert record["chat"][2]["from"] == {"user_id": cid.id, "name": "Cid"}
        assert record["chat"][0]["seq"] < record["chat"][1]["seq"]
    finally:
        chat.close()
        log.close()


def test_a_batch_the_database_refuses_is_dropped_with_one_warning(migrated: Engine, players,
                                                                   caplog):
    ann = players[0]
    chat = ChatLog(migrated)
    try:
        table = new_table("no-such-room", 2)  # never stored: the room's key refuses it
        with caplog.at_level(logging.WARNING, "game_server.storage.chat"):
            chat.record([line(table, ann, "lost")])
            assert chat.flush()
            chat.record([line(table, ann, "lost too")])
            assert chat.flush()
        assert chat.dropped == 2 and chat.written == 0
        assert caplog.text.count("not kept") == 1
        with migrated.connect() as connection:
            assert connection.execute(select(func.count()).select_from(ChatMessage)).scalar() == 0
    finally:
        chat.close()
