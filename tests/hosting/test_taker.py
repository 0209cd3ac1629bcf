"""Who takes a dead server's room over: one designated live server per room, the same answer
on every server, rooms spread evenly, and a server leaving moves only its own share."""

from collections import Counter

from game_server.hosting import taker

SERVERS = [f"game-{number}" for number in range(1, 11)]
ROOMS = [f"room{number:05d}" for number in range(5000)]


def test_every_server_names_the_same_taker_whatever_the_order_it_lists_them():
    for room in ROOMS[:200]:
        assert taker(room, SERVERS) == taker(room, list(reversed(SERVERS)))


def test_rooms_spread_evenly_over_the_takers():
    counts = Counter(taker(room, SERVERS) for room in ROOMS)
    assert set(counts) == set(SERVERS)
    assert max(counts.values()) < 1.25 * len(ROOMS) / len(SERVERS)


def test_a_server_leaving_moves_only_its_own_rooms():
    before = {room: taker(room, SERVERS) for room in ROOMS}
    after = {room: taker(room, SERVERS[1:]) for room in ROOMS}
    moved = [room for room in ROOMS if before[room] != after[room]]
    assert moved and all(before[room] == SERVERS[0] for room in moved)


def test_no_live_server_no_taker():
    assert taker("room", []) is None
