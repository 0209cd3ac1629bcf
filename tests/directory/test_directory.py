"""The directory's contract, run on LocalDirectory and on RedisDirectory alike.

Two directories on one backend are two game servers sharing one directory.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from game_server.directory import (Directory, LocalDirectory, RedisDirectory, ServerInfo,
                                   make_directory, merge_room_lists)


def info(server_id: str, players: int = 0, rooms: int = 0, connections: int = 0,
         draining: bool = False) -> ServerInfo:
    return ServerInfo(server_id, f"/g/{server_id}/sockjs", players, rooms, connections,
                      draining)


def room(room_id: str, status: str, created: float, **rest) -> dict:
    return {"id": room_id, "status": status, "created": created, **rest}


class Notices:
    """A lobby-change callback that counts calls and can be awaited."""

    def __init__(self) -> None:
        self.count = 0
        self._event = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self._event.set()

    async def wait(self, timeout: float = 1.0) -> None:
        await asyncio.wait_for(self._event.wait(), timeout)
        self._event.clear()

    async def quiet(self, seconds: float = 0.2) -> bool:
        """True if no notice arrives within `seconds`."""
        try:
            await asyncio.wait_for(self._event.wait(), seconds)
        except TimeoutError:
            return True
        return False


# --- values --------------------------------------------------------------------------------


def test_load_compares_players_then_rooms_then_connections():
    assert info("a", players=1).load > info("b", rooms=50, connections=900).load
    assert info("a", rooms=2).load > info("b", rooms=1, connections=900).load
    assert info("a", connections=2).load > info("b", connections=1).load
    assert info("a", 1, 2, 3).load == (1, 2, 3)


def test_server_info_reads_back_and_ignores_unknown_fields():
    original = info("a", 1, 2, 3, draining=True)
    assert ServerInfo.from_json(original.to_json()) == original
    newer = original.to_json()[:-1] + ',"zone":"eu"}'
    assert ServerInfo.from_json(newer) == original


def test_both_implementations_are_directories():
    assert isinstance(LocalDirectory(), Directory)
    assert isinstance(RedisDirectory(), Directory)


async def test_make_directory_picks_redis_only_with_a_url():
    local = make_directory(None, ttl=2.0)
    assert isinstance(local, LocalDirectory)
    remote = make_directory("redis://127.0.0.1:1/0", prefix="x:")  # connects on first use
    assert isinstance(remote, RedisDirectory)
    await local.close()
    await remote.close()


def test_merge_keeps_opaque_fields_and_puts_unknown_statuses_last():
    merged = merge_room_lists([("a", [room("r1", "odd", 9.0, name="x"),
                                      room("r2", "finished", 1.0)])])
    assert [item["id"] for item in merged] == ["r2", "r1"]
    assert merged[1] == {"id": "r1", "status": "odd", "created": 9.0, "name": "x",
                         "server": "a"}


# --- heartbeat and servers -----------------------------------------------------------------


async def test_beat_registers_and_refreshes_servers(backend):
    a, b = backend.directory(), backend.directory()
    assert await a.servers() == []
    await a.beat(info("game-1", players=4), [])
    await b.beat(info("game-2", connections=7), [])
    assert await b.servers() == [info("game-1", players=4), info("game-2", connections=7)]
    await a.beat(info("game-1", players=5, draining=True), [])
    assert await b.servers() == [info("game-1", players=5, draining=True),
                                 info("game-2", connections=7)]


async def test_a_server_that_stops_beating_disappears_after_the_ttl(backend):
    a, b = backend.directory(ttl=0.5), backend.directory(ttl=0.5)
    await a.beat(info("game-1"), [room("r1", "waiting", 1.0)])
    await b.beat(info("game-2"), [room("r2", "waiting", 2.0)])
    await backend.pass_time(0.3)
    await a.beat(info("game-1"), [room("r1", "waiting", 1.0)])  # game-2 has stopped
    assert [server.id for server in await a.servers()] == ["game-1", "game-2"]
    await backend.pass_time(0.3)
    assert [server.id for server in await a.servers()] == ["game-1"]
    assert [item["id"] for item in await a.room_list()] == ["r1"]
    assert await a.locate("r2") is None
    assert await a.locate("r1") == "game-1"
    await backend.pass_time(0.6)
    assert await a.servers() == []
    assert await a.room_list() == []
    assert await a.locate("r1") is None


# --- rooms ---------------------------------------------------------------------------------


async def test_room_list_merges_servers_in_lobby_order(backend):
    a, b = backend.directory(), backend.directory()
    await a.beat(info("game-1"), [room("a-wait", "waiting", 1.0, name="A", seats=4),
                                  room("a-play", "playing", 5.0),
                                  room("a-done", "finished", 9.0)])
    await b.beat(info("game-2"), [room("b-done", "finished", 1.0),
                                  room("b-play", "playing", 2.0),
                                  room("b-wait", "waiting", 3.0)])
    rooms = await a.room_list()
    assert [(item["id"], item["server"]) for item in rooms] == [
        ("b-wait", "game-2"), ("a-wait", "game-1"),
        ("a-play", "game-1"), ("b-play", "game-2"),
        ("a-done", "game-1"), ("b-done", "game-2")]
    assert rooms[1] == {"id": "a-wait", "status": "waiting", "created": 1.0, "name": "A",
                        "seats": 4, "server": "game-1"}
    assert [item["id"] for item in await b.room_list(limit=3)] == ["b-wait", "a-wait",
                                                                   "a-play"]
    assert await b.room_list(limit=0) == []


async def test_a_beat_replaces_the_servers_rooms(backend):
    a = backend.directory()
    await a.beat(info("game-1"), [room("r1", "waiting", 1.0), room("r2", "waiting", 2.0)])
    await a.beat(info("game-1"), [room("r2", "playing", 2.0)])
    assert [(item["id"], item["status"]) for item in await a.room_list()] == [("r2", "playing")]
    assert await a.locate("r1") is None
    assert await a.locate("r2") == "game-1"


async def test_the_caller_may_change_its_summaries_after_a_beat(backend):
    a = backend.directory()
    summary = room("r1", "waiting", 1.0)
    await a.beat(info("game-1"), [summary])
    summary["status"] = "playing"
    assert (await a.room_list())[0]["status"] == "waiting"


async def test_locate_finds_the_host(backend):
    a, b = backend.directory(), backend.directory()
    await a.beat(info("game-1"), [room("r1", "waiting", 1.0)])
    await b.beat(info("game-2"), [room("r2", "playing", 1.0)])
    assert await a.locate("r1") == "game-1"
    assert await a.locate("r2") == "game-2"
    assert await b.locate("nowhere") is None


async def test_a_room_handed_over_stays_located_at_its_new_host(backend):
    a, b = backend.directory(), backend.directory()
    await a.beat(info("game-1"), [room("r1", "playing", 1.0)])
    await b.beat(info("game-2"), [room("r1", "playing", 1.0)])
    await a.beat(info("game-1"), [])  # game-1 no longer hosts r1: must not unmap game-2's
    assert await a.locate("r1") == "game-2"


# --- placement -----------------------------------------------------------------------------


async def test_place_picks_the_least_loaded_server(backend):
    a, b, c = backend.directory(), backend.directory(), backend.directory()
    assert await a.place("game-1") is None
    await a.beat(info("game-1", players=8, rooms=2), [])
    await b.beat(info("game-2", players=4, rooms=9, connections=50), [])
    await c.beat(info("game-3", players=4, rooms=9, connections=40), [])
    assert (await a.place("game-1")).id == "game-3"
    await c.beat(info("game-3", players=0, draining=True), [])
    assert (await a.place("game-1")).id == "game-2"
    await b.beat(info("game-2", draining=True), [])
    await a.beat(info("game-1", players=8, draining=True), [])
    assert await a.place("game-1") is None


async def test_place_gives_ties_to_the_server_asking(backend):
    a, b, c = backend.directory(), backend.directory(), backend.directory()
    for directory, server_id in ((a, "game-1"), (b, "game-2"), (c, "game-3")):
        await directory.beat(info(server_id, players=2, rooms=1, connections=3), [])
    assert (await b.place("game-2")).id == "game-2"
    assert (await c.place("game-3")).id == "game-3"
    assert (await a.place("elsewhere")).id == "game-1"  # not live: the smallest id


# --- seats ---------------------------------------------------------------------------------


async def test_a_user_plays_in_one_room_at_a_time(backend):
    a, b = backend.directory(), backend.directory()
    assert await a.seat_of(7) is None
    assert await a.claim_seat(7, "r1") is None
    assert await a.claim_seat(7, "r1") is None  # again: still fine
    assert await b.claim_seat(7, "r2") == "r1"
    assert await b.seat_of(7) == "r1"
    assert await b.claim_seat(8, "r2") is None  # another user
    await b.release_seat(7, "r2")  # not its room: nothing happens
    assert await a.seat_of(7) == "r1"
    await a.release_seat(7, "r1")
    assert await a.seat_of(7) is None
    assert await b.claim_seat(7, "r2") is None
    assert await a.seat_of(7) == "r2"
    assert await a.seat_of(8) == "r2"


async def test_concurrent_claims_have_exactly_one_winner(backend):
    a, b = backend.directory(), backend.directory()
    users = range(100, 130)
    results = await asyncio.gather(*(claim for user in users
                                     for claim in (a.claim_seat(user, f"a-{user}"),
                                                   b.claim_seat(user, f"b-{user}"))))
    for user, (first, second) in zip(users, zip(results[::2], results[1::2])):
        winner = await a.seat_of(user)
        assert winner in (f"a-{user}", f"b-{user}")
        assert sorted([first, second], key=str) == sorted([None, winner], key=str)


async def test_a_seat_expires_unless_claimed_again(backend):
    a = backend.directory(seat_ttl=0.5)
    assert await a.claim_seat(1, "r1") is None
    assert await a.claim_seat(2, "r1") is None
    await backend.pass_time(0.3)
    assert await a.claim_seat(1, "r1") is None  # refreshes user 1 only
    await backend.pass_time(0.3)
    assert await a.seat_of(1) == "r1"
    assert await a.seat_of(2) is None
    assert await a.claim_seat(2, "r9") is None


# --- lobby-change notices ------------------------------------------------------------------


async def test_notices_reach_the_other_server(backend):
    a, b = backend.directory(), backend.directory()
    notices = Notices()
    a.on_lobby_change(notices)
    await asyncio.wait_for(a.listening(), 2)
    started = time.monotonic()
    await b.notify_lobby()
    await notices.wait(1.0)
    assert time.monotonic() - started < 1.0
    assert await notices.quiet()
    assert notices.count == 1


async def test_a_beat_notifies_only_when_its_rooms_change(backend):
    a, b = backend.directory(), backend.directory()
    notices = Notices()
    a.on_lobby_change(notices)
    await asyncio.wait_for(a.listening(), 2)
    await b.beat(info("game-2"), [])  # a server without rooms changes no lobby
    assert await notices.quiet()
    await b.beat(info("game-2"), [room("r1", "waiting", 1.0)])
    await notices.wait()
    await b.beat(info("game-2", players=1), [room("r1", "waiting", 1.0)])  # same rooms
    assert await notices.quiet()
    await b.beat(info("game-2"), [room("r1", "playing", 1.0)])
    await notices.wait()
    await b.beat(info("game-2"), [])
    await notices.wait()
    assert notices.count == 3


async def test_one_subscription_serves_every_callback_and_own_notices(backend):
    a = backend.directory()
    first, second = Notices(), Notices()
    a.on_lobby_change(first)
    a.on_lobby_change(second)
    await asyncio.wait_for(a.listening(), 2)
    await a.notify_lobby()
    await first.wait()
    await second.wait()


async def test_a_server_expiring_is_a_lobby_change(backend):
    a, b = backend.directory(ttl=0.5), backend.directory(ttl=0.5)
    notices = Notices()
    a.on_lobby_change(notices)
    await asyncio.wait_for(a.listening(), 2)
    await a.beat(info("game-1"), [])
    await b.beat(info("game-2"), [room("r2", "waiting", 1.0)])
    await notices.wait()
    await backend.pass_time(0.3)
    await a.beat(info("game-1"), [])
    assert await notices.quiet(0.1)
    await backend.pass_time(0.3)
    await a.beat(info("game-1"), [])  # sees game-2 gone: its rooms left the lobby
    await notices.wait()


async def test_a_failing_callback_is_logged_and_others_still_run(backend, expected_errors):
    a = backend.directory()

    def broken() -> None:
        raise ValueError("bug")

    notices = Notices()
    a.on_lobby_change(broken)
    a.on_lobby_change(notices)
    await asyncio.wait_for(a.listening(), 2)
    await a.notify_lobby()
    await notices.wait()
    await a.notify_lobby()
    await notices.wait()
    assert len(expected_errors) == 2
    assert "lobby-change callback" in expected_errors[0].getMessage()


async def test_close_leaves_no_task_running_and_no_callback(backend):
    a, b = backend.directory(), backend.directory()
    notices = Notices()
    a.on_lobby_change(notices)
    await asyncio.wait_for(a.listening(), 2)
    await a.beat(info("game-1"), [])
    await a.close()
    others = [task for task in asyncio.all_tasks()
              if task is not asyncio.current_task() and not task.done()]
    assert others == []
    await b.notify_lobby()
    assert await notices.quiet()
    with pytest.raises(RuntimeError):
        await a.servers()


async def test_seats_updated_in_one_batch_behave_as_one_by_one(backend):
    a, b = backend.directory(), backend.directory()
    assert await a.claim_seat(1, "old") is None
    assert await b.claim_seat(2, "theirs") is None
    # User 1 moves from "old" to "new" (released first), user 2 plays elsewhere already.
    results = await a.update_seats([(1, "new"), (2, "mine"), (3, "new")], [(1, "old")])
    assert results == [None, "theirs", None]
    assert [await a.seat_of(user) for user in (1, 2, 3)] == ["new", "theirs", "new"]
    assert await a.update_seats([], [(3, "new"), (2, "mine")]) == []
    assert [await b.seat_of(user) for user in (1, 2, 3)] == ["new", "theirs", None]
    assert await a.update_seats([], []) == []
