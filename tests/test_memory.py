"""Memory goes back to the system once a crowd of connections has left (game_server/memory.py)."""

from __future__ import annotations

import sys

import pytest

from game_server.memory import MIN_PEAK, MemoryReturn, malloc_trim


def watcher(counts):
    trims = []
    counts = iter(counts)
    memory = MemoryReturn(lambda: next(counts), trim=lambda: trims.append(1))
    return memory, trims


def test_memory_is_returned_when_half_the_connections_have_left():
    memory, trims = watcher([100, 400, 300, 200])
    assert [memory.check() for _ in range(4)] == [False, False, False, True]
    assert trims == [1]
    # The new peak is what is open now: the next return needs another crowd to leave.
    assert memory.peak == 200


def test_a_steady_server_is_never_collected():
    memory, trims = watcher([300, 290, 310, 305, 299] * 4)
    assert not any(memory.check() for _ in range(20))
    assert trims == []


def test_a_small_server_is_left_alone():
    memory, trims = watcher([MIN_PEAK - 1, 0, 0])
    assert not any(memory.check() for _ in range(3))
    assert trims == []


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="malloc_trim is glibc's; other platforms have none")
def test_glibc_trim_is_found_and_runs():
    trim = malloc_trim()
    assert trim is not None
    trim()
