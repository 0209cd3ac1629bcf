"""Creating rooms of a game and sending it moves, through the protocol hub: the game and seat
count a room is created with, a move's payload checked against the schema of the game played
in the sender's room (errors name the field as `move.<path>`), and `already_in_room` naming
the room the player is busy in. Every refusal is one `error` and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from game_server.rules import GAMES
from hub_fakes import ANN, BOB, CID, GUS, Client, Net, snapshot

GAME_NAMES = sorted(GAMES)


async def _refused(net: Net, client: Client, message: dict[str, Any], code: str) -> str:
    """Send `message`; it must be answered with one `code` error (with `re`), no one else
    told anything and nothing changed. Returns the error's text."""
    await net.settle()
    before = snapshot(net.hub)
    net.mark()
    client.send({**message, "id": "req"})
    await net.settle()
    replies = client.new()
    assert [(m["msg"], m.get("code"), m.get("re")) for m in replies] == [
        ("error", code, "req")], (message, replies)
    assert all(other.new() == [] for other in net.clients), f"{message} told someone"
    assert snapshot(net.hub) == before, f"{message} changed something"
    return replies[0]["text"]


# --- create: the game and its seat count ---------------------------------------------------


@pytest.mark.parametrize("game", GAME_NAMES)
async def test_create_without_seats_gives_the_games_usual_room(net: Net, game: str) -> None:
    ann = await net.login(ANN)
    ann.request("create", id="c", game=game, name="Usual")
    await net.settle()
    (state,) = ann.new()
    assert state["re"] == "c" and state["event"] == {"type": "join", "seat": 0}
    view = state["table"]
    assert view["game"] == game and view["status"] == "waiting"
    assert len(view["seats"]) == GAMES[game].DEFAULT_SEATS
    assert view["game_state"] is None and view["players"] == [] and view["to_act"] == []
    ann.request("room_list", id="l")
    await net.settle()
    (room,) = ann.last["rooms"]
    assert (room["game"], room["seats"], room["players"]) == (
        game, GAMES[game].DEFAULT_SEATS, 1)


@pytest.mark.parametrize("game", GAME_NAMES)
async def test_create_with_every_seat_count_the_game_is_played_with(net: Net, game: str) -> None:
    rules = GAMES[game]
    ann = await net.login(ANN)
    for seats in range(rules.MIN_PLAYERS, rules.MAX_PLAYERS + 1):
        ann.request("create", id=seats, game=game, name=f"{seats} seats", seats=seats)
        await net.settle()
        assert ann.last["re"] == seats and ann.last["msg"] == "state", ann.last
        assert len(ann.view["seats"]) == seats and ann.view["game"] == game


@pytest.mark.parametrize("game, seats", [
    ("hearts", 3), ("hearts", 5), ("hearts", 2), ("hearts", 1), ("hearts", 10),
    ("crazy_eights", 1), ("crazy_eights", 8), ("crazy_eights", 10),
])
async def test_a_seat_count_the_game_is_not_played_with_is_bad_message(
        net: Net, game: str, seats: int) -> None:
    ann, gus = await net.login(ANN), await net.login(GUS)
    rules = GAMES[game]
    text = await _refused(net, ann, {"msg": "create", "game": game, "name": "x",
                                     "seats": seats}, "bad_message")
    assert text == (f"{rules.title} is played with {rules.MIN_PLAYERS} to "
                    f"{rules.MAX_PLAYERS} players, not {seats}")
    assert len(net.hub.lobby) == 0
    assert not gus.unread("room_list"), "nothing to push"


async def test_hearts_with_3_seats_says_why(net: Net) -> None:
    ann = await net.login(ANN)
    text = await _refused(net, ann, {"msg": "create", "game": "hearts", "name": "Three",
                                     "seats": 3}, "bad_message")
    assert text == "Hearts is played with 4 to 4 players, not 3"


@pytest.mark.parametrize("game", ["chess", "poker", "hearts_v2", "crazy_eight"])
async def test_an_unknown_game_is_bad_message_naming_it(net: Net, game: str) -> None:
    ann = await net.login(ANN)
    text = await _refused(net, ann, {"msg": "create", "game": game, "name": "x"},
                          "bad_message")
    assert repr(game) in text
    for name in GAME_NAMES:  # the text tells what this server runs
        assert name in text
    assert len(net.hub.lobby) == 0


async def test_a_seat_count_outside_every_game_is_a_schema_error(net: Net) -> None:
    ann = await net.login(ANN)
    for seats, words in [(0, "seats: 0 is less than the minimum of 1"),
                         (11, "seats: 11 is greater than the maximum of 10"),
                         ("4", "seats: must be an integer")]:
        text = await _refused(net, ann, {"msg": "create", "game": "hearts", "name": "x",
                                         "seats": seats}, "bad_message")
        assert words in text


# --- move payloads against the game's schema -----------------------------------------------

#: (move, words the error text holds). What a schema refuses is named by its path under `move`
#: ("move.card: ..."); a combination of fields the game refuses (a put without a card: the
#: Crazy Eights schema leaves combinations to the game, to stay simple enough for the fast
#: validator) is named in the game's words after "move: ".
CRAZY_EIGHTS_BAD_MOVES = [
    ({"type": "put", "card": "QX"}, ["move.card: 'QX' is not a valid card code"]),
    ({"type": "put", "card": "10H"}, ["move.card: '10H' is not a valid card code"]),
    ({"type": "put", "card": "8H", "suit": "X"}, ["move.suit: 'X' is not one of"]),
    ({"type": "dance"}, ["move.type: 'dance' is not one of 'take', 'put'"]),
    ({}, ["move.type: missing"]),
    ({"type": "put", "card": "QH", "colour": "red"}, ["move: unknown field 'colour'"]),
    ({"type": 3}, ["move.type"]),
    ({"type": "put"}, ["move", "card"]),
    ({"type": "take", "card": "QH"}, ["move", "card"]),
    ({"type": "take", "suit": "H"}, ["move", "suit"]),
    ({"type": "pass", "cards": ["2C", "3C", "4C"]}, ["move", "cards"]),
]

HEARTS_BAD_MOVES = [
    ({"type": "play", "card": "QX"}, ["move.card: 'QX' is not a valid card code"]),
    ({"type": "play"}, ["move.card: missing"]),
    ({"type": "pass"}, ["move.cards: missing"]),
    ({"type": "pass", "cards": ["2C", "3C"]}, ["move.cards: must have at least 3 items"]),
    ({"type": "pass", "cards": ["2C", "3C", "4C", "5C"]}, ["move.cards: must have at most 3"]),
    ({"type": "pass", "cards": ["2C", "2C", "3C"]}, ["move.cards: must not repeat an item"]),
    ({"type": "pass", "cards": ["2C", "3C", "1C"]}, ["move.cards[2]: '1C' is not a valid card"]),
    ({"type": "pass", "cards": "2C 3C 4C"}, ["move.cards: must be an array"]),
    ({"type": "pass", "cards": ["2C", "3C", "4C"], "card": "5C"},
     ["move.card: not allowed in a pass (use cards)"]),
    ({"type": "play", "card": "QS", "cards": ["2C", "3C", "4C"]},
     ["move.cards: not allowed in a play (use card)"]),
    ({"type": "put", "card": "QH"}, ["move.type: 'put' is not one of 'pass', 'play'"]),
    ({"type": "take"}, ["move.type: 'take' is not one of 'pass', 'play'"]),
    ({"card": "QS"}, ["move.type: missing"]),
    ({"type": "play", "card": "QS", "seat": 2}, ["move: unknown field 'seat'"]),
]


async def _seated_in(net: Net, game: str) -> tuple[Client, Client, str]:
    """Ann and Bob playing `game` with bots, the game running: (ann, bob, room)."""
    ann, bob = await net.login(ANN), await net.login(BOB)
    rules = GAMES[game]
    room = await net.create(ann, seats=rules.DEFAULT_SEATS, game=game,
                            bots=rules.DEFAULT_SEATS - 2)
    await net.join(bob, room)
    await net.settle()
    assert ann.view["status"] == "playing", ann.view
    return ann, bob, room


@pytest.mark.parametrize("game, move, words", [
    *[("crazy_eights", move, words) for move, words in CRAZY_EIGHTS_BAD_MOVES],
    *[("hearts", move, words) for move, words in HEARTS_BAD_MOVES],
], ids=lambda value: value if isinstance(value, str) else None)
async def test_a_move_is_checked_against_the_rooms_game(net: Net, game: str,
                                                        move: dict, words: list[str]) -> None:
    ann, bob, room = await _seated_in(net, game)
    # Whoever sends it, and whether or not it is their turn: the shape comes first.
    for client in (ann, bob):
        text = await _refused(net, client, {"msg": "move", "move": move}, "bad_message")
        assert text.startswith("move"), text
        assert all(word in text for word in words), text


@pytest.mark.parametrize("game", GAME_NAMES)
async def test_another_games_legal_move_is_bad_message(net: Net, game: str) -> None:
    """A move that is right for one game is refused in a room of the other, before the
    rules see it."""
    ann, bob, room = await _seated_in(net, game)
    others = {"crazy_eights": {"type": "play", "card": "2C"},
              "hearts": {"type": "put", "card": "2C"}}
    text = await _refused(net, ann, {"msg": "move", "move": others[game]}, "bad_message")
    assert text.startswith("move.type: ")


async def test_protocol_1s_take_and_put_in_a_hearts_room_are_bad_message(net: Net) -> None:
    ann, bob, room = await _seated_in(net, "hearts")
    for message in ({"msg": "take"}, {"msg": "put", "card": "2C"},
                    {"msg": "put", "card": "8C", "suit": "H"}):
        text = await _refused(net, ann, message, "bad_message")
        assert "move" in text, text


async def test_a_move_from_outside_a_room_is_not_in_room_whatever_its_payload(net: Net) -> None:
    # Without a room there is no game to check the payload against.
    gus = await net.login(GUS)
    for move in ({"type": "put", "card": "QX"}, {"type": "play", "card": "2C"}, {}):
        await _refused(net, gus, {"msg": "move", "move": move}, "not_in_room")


async def test_a_spectator_s_move_is_checked_against_the_game_first(net: Net) -> None:
    ann, bob, room = await _seated_in(net, "hearts")
    gus = await net.login(GUS)
    await net.join(gus, room, **{"as": "spectator"})
    text = await _refused(net, gus, {"msg": "move", "move": {"type": "play", "card": "QX"}},
                          "bad_message")
    assert text.startswith("move.card")
    await _refused(net, gus, {"msg": "move", "move": {"type": "play", "card": "2C"}},
                   "not_a_player")


async def test_a_move_of_the_right_shape_goes_on_to_the_rules(net: Net) -> None:
    ann, bob, room = await _seated_in(net, "hearts")
    table = net.table(room)
    # Bots pass at once: Ann and Bob choose. A play while cards are being passed, a pass of
    # cards not held, a second pass: the rules answer, with their own codes.
    humans = sorted([ann.seat, bob.seat])
    assert ann.view["to_act"] == humans and ann.game["phase"] == "pass"
    hand = ann.hand
    held_by_bob = bob.hand
    await _refused(net, ann, {"msg": "move", "move": {"type": "play", "card": hand[0]}},
                   "illegal_move")
    await _refused(net, ann, {"msg": "move", "move": {"type": "pass", "cards": held_by_bob[:3]}},
                   "not_in_hand")
    ann.move({"type": "pass", "cards": hand[:3]}, id="p")
    await net.settle()
    assert ann.last["re"] == "p"
    assert sorted(ann.last["event"]["move"]["cards"]) == sorted(hand[:3])
    assert sorted(ann.game["passing"]) == sorted(hand[:3])
    assert ann.view["to_act"] == [bob.seat]
    text = await _refused(net, ann, {"msg": "move", "move": {"type": "pass",
                                                             "cards": hand[3:6]}},
                          "not_your_turn")
    assert "cannot be changed" in text
    assert table.to_act() == [bob.seat]


# --- already_in_room names the room --------------------------------------------------------


async def test_already_in_room_names_the_room(net: Net) -> None:
    ann, bob, room = await _seated_in(net, "crazy_eights")
    cid = await net.login(CID)
    name = net.table(room).name
    other = await net.create(cid, seats=3, name="Other")
    for client, message in [
        (ann, {"msg": "create", "game": "hearts", "name": "Another"}),
        (ann, {"msg": "join", "room": other}),
        (bob, {"msg": "join", "room": other, "as": "spectator"}),
    ]:
        text = await _refused(net, client, message, "already_in_room")
        assert room in text and name in text, text
        assert other not in text
    # A second connection of Ann's, in the lobby, is told the same.
    again = await net.login(ANN)
    text = await _refused(net, again, {"msg": "join", "room": other}, "already_in_room")
    assert room in text and name in text, text
