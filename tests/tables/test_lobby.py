"""The lobby (game_server/tables/lobby.py): room ids, creating, finding, closing, the room list."""

from __future__ import annotations

import itertools
import re

import pytest
from table_helpers import play_out

from game_server.rules import Card
from game_server.tables import Lobby, Player, Status, Table, TableError, new_room_id

ANN = Player(1, "Ann")
BOB = Player(2, "Bob")
ROOM_ID = re.compile(r"[A-Za-z0-9_-]{6,32}")


def test_room_ids_are_6_to_32_url_safe_characters_never_two() -> None:
    ids = {new_room_id() for _ in range(2000)}
    assert len(ids) == 2000, "room ids are not reused"
    for room_id in ids:
        assert ROOM_ID.fullmatch(room_id), room_id
        assert len(room_id) != 2
        with pytest.raises(ValueError):
            Card.from_str(room_id)  # never mistaken for a card code


def test_lobby_rooms_get_fresh_ids_of_the_right_shape() -> None:
    lobby = Lobby(seeds=lambda: 1)
    tables = [lobby.create(f"Room {n}", "crazy_eights", 2) for n in range(50)]
    assert len({t.id for t in tables}) == 50
    assert all(ROOM_ID.fullmatch(t.id) for t in tables)


def test_an_id_already_in_use_is_drawn_again() -> None:
    ids = iter(["room-aaa", "room-aaa", "room-aaa", "room-bbb"])
    lobby = Lobby(seeds=lambda: 1, room_ids=lambda: next(ids))
    first = lobby.create("One", "crazy_eights", 2)
    second = lobby.create("Two", "crazy_eights", 2)
    assert (first.id, second.id) == ("room-aaa", "room-bbb")
    assert lobby.get("room-aaa") is first and lobby.get("room-bbb") is second


def test_create_get_close() -> None:
    lobby = Lobby(seeds=lambda: 3)
    table = lobby.create("  Friday game ", "crazy_eights", 4)
    assert isinstance(table, Table)
    assert table.name == "Friday game"
    assert table.status is Status.WAITING and table.seq == 0
    assert len(table.seats) == 4
    assert lobby.get(table.id) is table
    assert list(lobby) == [table] and len(lobby) == 1
    assert lobby.get("no-such-room") is None
    lobby.close(table.id)
    assert lobby.get(table.id) is None and len(lobby) == 0
    lobby.close(table.id)  # closing twice is harmless


@pytest.mark.parametrize("game, seats", [("poker", 4), ("crazy_eights", 1), ("crazy_eights", 8),
                                         ("hearts", 3), ("hearts", 5)])
def test_create_refuses_an_unknown_game_or_seat_count(game: str, seats: int) -> None:
    lobby = Lobby(seeds=lambda: 3)
    with pytest.raises(TableError) as error:
        lobby.create("x", game, seats)
    assert error.value.code == "bad_message"
    assert len(lobby) == 0


def test_create_without_a_seat_count_takes_the_games_usual_room_size() -> None:
    lobby = Lobby(seeds=lambda: 3)
    assert len(lobby.create("x", "crazy_eights").seats) == 4
    hearts = lobby.create("y", "hearts")
    assert len(hearts.seats) == 4 and hearts.game_kind == "hearts"


def test_tables_deal_from_the_lobbys_seeds() -> None:
    seeds = itertools.count(100)
    lobby = Lobby(seeds=lambda: next(seeds))
    one = lobby.create("One", "crazy_eights", 2)
    two = lobby.create("Two", "crazy_eights", 2)
    for table in (one, two):
        table.sit(ANN)
        table.sit(BOB)
    assert (one.seed, two.seed) == (100, 101)
    # Same seed, same deal: a third lobby reproduces the first deal.
    again = Lobby(seeds=lambda: 100).create("Again", "crazy_eights", 2)
    again.sit(ANN)
    again.sit(BOB)
    assert again.view_for(0)["game_state"]["hand"] == one.view_for(0)["game_state"]["hand"]
    assert again.view_for(None)["game_state"]["pile"] == one.view_for(None)["game_state"]["pile"]


def test_room_list_summarises_every_room_waiting_first() -> None:
    lobby = Lobby(seeds=lambda: 9)
    finished = lobby.create("Finished", "crazy_eights", 2)
    playing = lobby.create("Playing", "crazy_eights", 3)
    waiting = lobby.create("Waiting", "crazy_eights", 5)
    assert lobby.room_list()[0]["status"] == "waiting"

    playing.sit(ANN)
    playing.add_bot(ANN)
    playing.watch(Player(7, "Watcher"))
    playing.start(ANN)
    waiting.sit(BOB)
    cid = Player(3, "Cid")
    finished.sit(cid)
    finished.add_bot(cid)
    play_out(finished)

    rooms = lobby.room_list()
    assert [room["status"] for room in rooms] == ["waiting", "playing", "finished"]
    assert rooms == [
        {"id": waiting.id, "name": "Waiting", "game": "crazy_eights", "seats": 5,
         "players": 1, "spectators": 0, "status": "waiting", "owner_name": BOB.name},
        {"id": playing.id, "name": "Playing", "game": "crazy_eights", "seats": 3,
         "players": 2, "spectators": 1, "status": "playing", "owner_name": ANN.name},
        {"id": finished.id, "name": "Finished", "game": "crazy_eights", "seats": 2,
         "players": 2, "spectators": 0, "status": "finished", "owner_name": "Cid"},
    ]
    lobby.close(playing.id)
    assert [room["id"] for room in lobby.room_list()] == [waiting.id, finished.id]


def test_an_empty_lobby_lists_no_rooms() -> None:
    assert Lobby().room_list() == []


def test_the_room_list_names_at_most_100_rooms_joinable_ones_first() -> None:
    from game_server.tables import Lobby, Player

    lobby = Lobby(seeds=lambda: 1)
    first = lobby.create("first", "crazy_eights", 2)
    first.sit(Player(1, "Ann"))
    first.sit(Player(2, "Bob"))  # full: playing
    for number in range(120):
        lobby.create(f"room {number}", "crazy_eights", 3).sit(Player(100 + number, "P"))
    rooms = lobby.room_list()
    assert len(rooms) == 100
    assert all(room["status"] == "waiting" for room in rooms)
    assert rooms[0]["name"] == "room 119"  # newest first
    assert first.id not in {room["id"] for room in rooms}
