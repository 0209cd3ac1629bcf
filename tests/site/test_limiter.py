"""Sliding-window limits on failed sign-ins, with a clock the test moves."""

from __future__ import annotations

from game_server.site.limiter import SignInLimits, WindowLimiter

from site_helpers import Clock


def test_five_failures_per_name_then_wait_until_the_oldest_expires():
    clock = Clock()
    limits = SignInLimits(clock=clock)
    for second in range(5):
        assert limits.retry_after("ada", f"10.0.0.{second}") == 0
        limits.failed("ada", f"10.0.0.{second}")
        clock.advance(60)
    # Five failures in the last 15 minutes, from five addresses: the name waits.
    assert limits.retry_after("ada", "10.9.9.9") == 15 * 60 - 5 * 60
    assert limits.retry_after("bob", "10.9.9.9") == 0
    clock.advance(10 * 60)
    assert limits.retry_after("ada", "10.9.9.9") == 0  # the first failure is 15 minutes old


def test_twenty_failures_per_address():
    clock = Clock()
    limits = SignInLimits(clock=clock)
    for number in range(20):
        limits.failed(f"name{number}", "10.0.0.1")
    assert limits.retry_after("someone-else", "10.0.0.1") == 900
    assert limits.retry_after("someone-else", "10.0.0.2") == 0


def test_success_clears_the_name_but_not_the_address():
    limits = SignInLimits(clock=Clock())
    for _ in range(5):
        limits.failed("ada", "10.0.0.1")
    limits.succeeded("ada")
    assert limits.retry_after("ada", "10.0.0.2") == 0
    assert limits.addresses.retry_after("10.0.0.1") == 0  # 5 of 20


def test_memory_stays_bounded_under_a_flood_of_keys():
    clock = Clock()
    limiter = WindowLimiter(3, 60, clock=clock, max_keys=100)
    for number in range(1000):
        limiter.add(number)
    assert len(limiter._events) <= 100
    clock.advance(61)
    limiter.add("new")
    assert len(limiter._events) <= 100
