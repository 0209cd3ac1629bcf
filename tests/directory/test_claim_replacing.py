"""A seat claim that takes over another (issue 12, item 5): a server seating a user claims the
seat before it seats them; a claim it may override (a room it hosts, a server that is gone)
is replaced in one atomic step, so no third claim can slip in between."""

from __future__ import annotations

import asyncio


async def test_a_claim_replaces_only_the_claim_it_names(backend):
    a, b = backend.directory(), backend.directory()
    assert await a.claim_seat(7, "r1@a") is None
    assert await b.claim_seat(7, "r2@b", replacing="r9@c") == "r1@a"  # not the one it names
    assert await b.seat_of(7) == "r1@a"
    assert await b.claim_seat(7, "r2@b", replacing="r1@a") is None
    assert await a.seat_of(7) == "r2@b"
    # Replacing a claim that is gone is a plain claim.
    await a.release_seat(7, "r2@b")
    assert await a.claim_seat(7, "r3@a", replacing="r2@b") is None
    assert await b.seat_of(7) == "r3@a"


async def test_of_concurrent_replacements_of_one_claim_one_wins(backend):
    a, b = backend.directory(), backend.directory()
    for user in range(20):
        assert await a.claim_seat(user, "old") is None
    for user in range(20):
        results = await asyncio.gather(a.claim_seat(user, f"a-{user}", replacing="old"),
                                       b.claim_seat(user, f"b-{user}", replacing="old"))
        assert sorted(result is None for result in results) == [False, True], results
        # The loser is told the winner's claim.
        (loser,) = [result for result in results if result is not None]
        assert loser == await a.seat_of(user) and loser in (f"a-{user}", f"b-{user}")
