"""Chat in the pure layers: cleaning a text, the rate limit, who hears whom (players and
spectators apart while a game runs), lobby chat, and the owner's mute, with its replay."""

from __future__ import annotations

import pytest

from engine_helpers import Driver
from game_server.tables import Table, TableError
from game_server.tables.chat import MAX_CHARS, ChatLimit, ChatLine, clean_chat
from game_server.tables.requests import Chat, Create, Join, Leave, Mute

AT = "2026-12-03T20:00:00.000Z"


# --- cleaning -----------------------------------------------------------------------------

@pytest.mark.parametrize("raw, clean", [
    ("gg", "gg"),
    ("  well played  ", "well played"),
    ("line one\nline two\r\n", "line one line two"),
    ("tab\there", "tab here"),
    ("bell\x07 and nul\x00 and del\x7f", "bell and nul and del"),
    # Bidi embeddings, overrides, isolates and marks are removed: nothing reads backwards.
    ("\u202eevil\u202c text", "evil text"),
    ("a\u2066b\u2067c\u2068d\u2069e\u200ef\u200fg\u202ah\u202bi\u202dj", "abcdefghij"),
    ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),  # markup is the client's
    ("e\u0301", "\u00e9"),  # NFC
    ("\U0001f0a1 \u2665", "\U0001f0a1 \u2665"),
])
def test_cleaning_strips_controls_and_bidi_characters(raw, clean):
    assert clean_chat(raw) == clean


@pytest.mark.parametrize("raw", ["", "   ", "\n\t", "\u202e\u2066\u200f", "\x00\x01"])
def test_nothing_left_after_cleaning_is_chat_empty(raw):
    with pytest.raises(TableError) as refused:
        clean_chat(raw)
    assert refused.value.code == "chat_empty"


def test_the_length_limit_counts_what_is_left_after_cleaning():
    assert clean_chat("x" * MAX_CHARS) == "x" * MAX_CHARS
    assert clean_chat("\u202e" * 50 + "x" * MAX_CHARS + "  ") == "x" * MAX_CHARS
    with pytest.raises(TableError) as refused:
        clean_chat("x" * (MAX_CHARS + 1))
    assert refused.value.code == "chat_too_long" and "201" in refused.value.text


def test_the_rate_limit_is_a_sliding_window_per_user():
    limit = ChatLimit(count=5, seconds=10)
    assert [limit.allow(1, t) for t in (0, 1, 2, 3, 4)] == [True] * 5
    assert not limit.allow(1, 5) and not limit.allow(1, 9.9)
    assert limit.allow(2, 5), "another user has a window of their own"
    assert limit.allow(1, 10.0), "the first message left the window"
    assert not limit.allow(1, 10.5)


# --- rooms: who hears whom --------------------------------------------------------------------

def two_player_room(driver: Driver, spectator_chat: bool = False) -> Table:
    """Ann (1) and Bob (2) at a two-seat Crazy Eights room, Cid (3) watching, Dee (4) in the
    lobby. The game has not started while Bob has not joined."""
    for conn in (1, 2, 3, 4):
        driver.sign_in(conn)
    fx = driver.handle(Create(1, "Chat room", "crazy_eights", 2, re="c",
                              spectator_chat=spectator_chat))
    assert fx.error is None, fx.error
    table = driver.engine.room_of(1)
    driver.join(3, table, spectator=True)
    return table


def chat(driver: Driver, conn: int, text: str, re: str | None = "say"):
    fx = driver.engine.handle(Chat(conn, text, AT, re), driver.now)
    heard = {d.conn: d.message for d in fx.deliveries}
    return fx, heard


def play_to_the_end(driver: Driver, table: Table) -> None:
    for _ in range(2000):
        if table.status.value == "finished":
            return
        (seat,) = table.to_act()
        assert driver.play_for(seat + 1).error is None
    raise AssertionError("the game did not end")


def test_before_the_game_everyone_in_the_room_hears_everyone_and_not_the_lobby():
    driver = Driver()
    table = two_player_room(driver)
    fx, heard = chat(driver, 3, "  hi all \u202e")
    assert fx.error is None and fx.commits == [], "chat commits nothing"
    assert set(heard) == {1, 3}, "the room's members, not Dee in the lobby"
    message = heard[1]
    assert message == {"msg": "chat", "room": table.id,
                       "from": {"user_id": 3, "name": "Cid"}, "text": "hi all", "at": AT,
                       "to": "all"}
    assert heard[3] == {**message, "re": "say"}, "only the sender's copy carries re"
    (line,) = fx.said
    assert line == ChatLine(table.id, 1, table.seq, line.user, "hi all", "all", AT)
    assert (line.user.id, line.user.name) == (3, "Cid")


def test_while_a_game_runs_players_and_spectators_talk_apart():
    driver = Driver()
    table = two_player_room(driver)
    driver.join(2, table)
    assert table.status.value == "playing"
    seq = table.seq
    fx, heard = chat(driver, 1, "good luck")
    assert set(heard) == {1, 2} and heard[2]["to"] == "players"
    fx, heard = chat(driver, 3, "Ann holds two eights")
    assert set(heard) == {3} and heard[3]["to"] == "spectators"
    assert fx.said[0].to == "spectators" and fx.said[0].game == 1
    assert table.seq == seq, "chat is not a change of the room"
    play_to_the_end(driver, table)
    fx, heard = chat(driver, 3, "well played")
    assert set(heard) == {1, 2, 3} and heard[1]["to"] == "all"
    assert fx.said[0].game == 1, "talk after a game belongs to that game"


def test_a_room_created_with_spectator_chat_talks_together_and_keeps_it_after_a_restart():
    driver = Driver()
    table = two_player_room(driver, spectator_chat=True)
    driver.join(2, table)
    fx, heard = chat(driver, 3, "nice play")
    assert set(heard) == {1, 2, 3} and heard[2]["to"] == "all"
    assert driver.view(1)["spectator_chat"] is True
    again = Table.replay(table.id, table.name, table.game_kind, len(table.seats),
                         table.history)
    assert again.spectator_chat and again.view_for(0) == table.view_for(0)


def test_lobby_chat_reaches_the_lobby_only():
    driver = Driver()
    table = two_player_room(driver)
    driver.sign_in(5)
    fx, heard = chat(driver, 4, "anyone for hearts?")
    assert set(heard) == {2, 4, 5}, "Bob, Dee and Eve are in the lobby; Ann and Cid are not"
    assert heard[5]["room"] is None and heard[5]["to"] == "all"
    assert fx.lobby_chat == heard[5], "the message other servers' lobbies get"
    assert fx.said == [], "lobby chat is not kept"
    assert table.seq == 2


def test_a_refused_message_sends_nothing_and_the_limit_counts_sent_ones_only():
    driver = Driver()
    two_player_room(driver)
    for text in ("", "x" * 201):
        fx, heard = chat(driver, 1, text)
        assert fx.error.code in ("chat_empty", "chat_too_long") and heard == {}
    for n in range(5):
        fx, heard = chat(driver, 1, f"message {n}")
        assert fx.error is None
    fx, heard = chat(driver, 1, "one too many")
    assert fx.error.code == "chat_rate_limited" and heard == {} and fx.said == []
    driver.now += 10.0
    fx, heard = chat(driver, 1, "later")
    assert fx.error is None and set(heard) == {1, 3}


def test_chat_needs_a_signed_in_connection():
    driver = Driver()
    fx, heard = chat(driver, 9, "hello")
    assert fx.error.code == "auth_required" and heard == {}


# --- mute -----------------------------------------------------------------------------------

def test_the_owner_mutes_a_player_for_the_rest_of_the_game():
    driver = Driver()
    table = two_player_room(driver)
    driver.join(2, table)
    fx = driver.handle(Mute(1, 2, re="m"))
    assert fx.error is None
    state = driver.state(1)
    assert state["event"] == {"type": "mute", "user_id": 2} and state["re"] == "m"
    assert driver.view(2)["muted"] == [2] and driver.view(3)["muted"] == [2]
    fx, heard = chat(driver, 2, "let me talk")
    assert fx.error.code == "muted" and heard == {}
    # The mute is in the move log: a restarted room still has it.
    again = Table.replay(table.id, table.name, table.game_kind, len(table.seats),
                         table.history)
    assert again.is_muted(2) and again.view_for(0) == table.view_for(0)
    # A second mute changes nothing and answers with the state.
    seq = table.seq
    fx = driver.handle(Mute(1, 2, re="again"))
    assert fx.error is None and table.seq == seq and driver.state(1)["re"] == "again"
    play_to_the_end(driver, table)
    assert not table.is_muted(2) and "muted" not in driver.view(1)
    fx, heard = chat(driver, 2, "gg")
    assert fx.error is None and set(heard) == {1, 2, 3}


def test_a_mute_before_the_game_holds_to_the_end_of_the_next_game():
    driver = Driver()
    table = two_player_room(driver)
    fx = driver.handle(Mute(1, 3))  # Cid, a spectator
    assert fx.error is None and table.is_muted(3)
    driver.join(2, table)
    assert table.is_muted(3)
    assert chat(driver, 3, "psst")[0].error.code == "muted"
    play_to_the_end(driver, table)
    assert not table.is_muted(3)


def test_only_the_owner_mutes_and_only_members():
    driver = Driver()
    table = two_player_room(driver)
    driver.join(2, table)
    seq = table.seq
    assert driver.handle(Mute(2, 3)).error.code == "not_owner"
    assert driver.handle(Mute(3, 2)).error.code == "not_a_player"
    assert driver.handle(Mute(1, 4)).error.code == "not_a_member"  # Dee is in the lobby
    assert driver.handle(Mute(1, 1)).error.code == "bad_message"
    assert driver.handle(Mute(4, 1)).error.code == "not_in_room"
    assert table.seq == seq and table.muted() == []
    # Cid stops watching: no longer a member.
    driver.handle(Leave(3))
    assert driver.handle(Mute(1, 3)).error.code == "not_a_member"
    driver.handle(Join(3, table.id, True))
    assert driver.handle(Mute(1, 3)).error is None
