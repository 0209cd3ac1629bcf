"""Two people in two browser contexts play Crazy Eights to the end by clicking cards and the deck."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from browser_helpers import (
    MoveStats,
    create_room,
    join_room,
    play_until_finished,
    read_table,
    sign_in,
)

MAX_GAMES = 4


@pytest.mark.timeout(600)  # usually one game of about 10 s; a rare long game takes minutes
def test_two_users_play_a_two_seat_game_to_the_end(open_page):
    ann = open_page()
    bob = open_page()
    sign_in(ann, "Ann")
    sign_in(bob, "Bob")

    room = create_room(ann, "Duel", seats=2)
    expect(ann.get_by_test_id("table-status")).to_contain_text("Waiting")
    expect(ann.get_by_test_id("start")).to_be_disabled()  # one player is not enough
    join_room(bob, room)

    # The room is full: the game starts by itself; both see both names and 7 cards each.
    for page in (ann, bob):
        expect(page.get_by_test_id("table")).to_have_attribute("data-status", "playing")
        expect(page.get_by_test_id("hand").get_by_role("button")).to_have_count(7)
        expect(page.get_by_test_id("seat-0").get_by_test_id("seat-name")).to_contain_text("Ann")
        expect(page.get_by_test_id("seat-1").get_by_test_id("seat-name")).to_contain_text("Bob")
        expect(page.get_by_test_id("pile-top")).to_be_visible()
        expect(page.get_by_test_id("suit-to-follow")).to_be_visible()
    assert read_table(ann).you == 0 and read_table(bob).you == 1
    turn = read_table(ann).turn
    expect(ann.get_by_test_id(f"seat-{turn}")).to_have_attribute("aria-current", "true")
    expect(ann.get_by_test_id(f"seat-{turn}").get_by_test_id("turn-mark")).to_have_text("▶ Turn")

    # Play games until a human has put an eight through the suit picker and someone has
    # taken a card (almost always the first game; a game without a take was seen; each new
    # game deals new hands).
    stats = MoveStats()
    for game in range(1, MAX_GAMES + 1):
        play_until_finished([ann, bob], stats=stats)
        for page in (ann, bob):
            panel = page.get_by_test_id("game-over")
            expect(panel).to_be_visible()
            expect(page.get_by_test_id("score-0")).to_be_visible()
            expect(page.get_by_test_id("score-1")).to_be_visible()
        winner = read_table_winner(ann)
        expect(ann.get_by_test_id("winner")).to_have_text("You win! ♛" if winner == 0 else "Bob wins")
        expect(bob.get_by_test_id("winner")).to_have_text("You win! ♛" if winner == 1 else "Ann wins")
        # Only the owner can deal again.
        expect(bob.get_by_test_id("new-game")).to_have_count(0)
        if stats.eights and stats.takes:
            break
        seq = read_table(ann).seq
        ann.get_by_test_id("new-game").click()
        for page in (ann, bob):
            expect(page.get_by_test_id("table")).to_have_attribute("data-status", "playing")
            assert read_table(page).seq > seq
    assert stats.eights, f"no eight was put in {MAX_GAMES} games"
    assert stats.puts and stats.takes, stats

    # The log tells what happened, in words (it shows the last dozen events).
    for page in (ann, bob):
        lines = page.get_by_test_id("log-line").all_inner_texts()
        assert any(" put " in line for line in lines), lines
        assert lines[-1] in ("You win the game", "Ann wins the game", "Bob wins the game"), lines

    # Bob leaves: he is back in the lobby; Ann sees his seat free and can fill it with a bot.
    bob.get_by_test_id("leave").click()
    expect(bob.get_by_test_id("lobby")).to_be_visible()
    expect(ann.get_by_test_id("seat-1")).to_contain_text("Empty seat")
    expect(ann.get_by_test_id("log-line").last).to_have_text("Bob left the room")
    expect(ann.get_by_test_id("add-bot")).to_be_enabled()


def read_table_winner(page) -> int:
    row = page.locator("[data-testid^='score-'].is-winner")
    return int(row.get_attribute("data-testid").removeprefix("score-"))
