"""Every registered game, played whole through the protocol hub by fake clients and bots.

For each game (`sorted(GAMES)`), one or two people and bots fill the game's usual room and
play to the end while a spectator watches. Every message any client gets is checked as it
arrives (hub_fakes.Client: its schema and the game's schemas for its payloads, seq order,
private move details only to their owner) and against the game on the server
(`guard_hidden_cards`); at the end, the result, the views and the seqs are checked here.
Then what is particular to games where several players act at once (Hearts' pass), a second
game in the same room, a player leaving mid-pass, and a room rebuilt from its move log (as after
a restart) showing everyone the same game.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from game_server.rules import GAMES, Hearts
from game_server.tables import Table
from hub_fakes import ANN, BOB, GUS, Client, Net, guard_hidden_cards, make_hub

GAME_NAMES = sorted(GAMES)


async def _login(net: Net, user: int) -> Client:
    client = await net.login(user)
    guard_hidden_cards(net.hub, client)
    return client


async def _room(net: Net, game: str, humans: int) -> tuple[list[Client], Client, str]:
    """People (Ann, then Bob) in a room of `game` of the game's usual size, filled with bots,
    and Gus watching: (people, gus, room). The last seat taken starts the game."""
    people = [await _login(net, user) for user in (ANN, BOB)[:humans]]
    gus = await _login(net, GUS)
    owner = people[0]
    room = await net.create(owner, seats=None, game=game, name=f"{GAMES[game].title} room")
    await net.join(gus, room, **{"as": "spectator"})
    for person in people[1:]:
        await net.join(person, room)
    for _ in range(GAMES[game].DEFAULT_SEATS - humans):
        owner.request("add_bot")
        await net.settle()
    return people, gus, room


def _public(view: dict[str, Any]) -> dict[str, Any]:
    """A view without what differs between its receivers."""
    state = {key: value for key, value in (view["game_state"] or {}).items()
             if key not in ("hand", "passing", "received")}
    return {**view, "you": None, "game_state": state}


@pytest.mark.parametrize("humans", [1, 2])
@pytest.mark.parametrize("game", GAME_NAMES)
async def test_people_and_bots_play_a_whole_game(nets, game: str, humans: int) -> None:
    net = nets(seed=41 + humans)
    people, gus, room = await _room(net, game, humans)
    table = net.table(room)
    assert people[0].view["status"] == "playing"
    assert len(table.players) == GAMES[game].DEFAULT_SEATS

    moves = await net.play(people)
    assert moves > 0

    everyone = [*people, gus]
    for client in everyone:
        assert client.view["status"] == "finished", client
        states = client.states(room)
        seqs = [s["seq"] for s in states if "event" in s]
        assert seqs == list(range(seqs[0], seqs[-1] + 1)), f"{client}: a seq skipped"
        assert seqs[-1] == table.seq
        for state in states:
            view = state["table"]
            assert set(view["to_act"]) <= set(view["players"])
            assert bool(view["to_act"]) == (view["status"] == "playing"), state
            event = state.get("event", {})
            if event.get("type") == "move":
                entry = view["seats"][event["seat"]]
                # A bot's move is nobody's reply; a person's carries `re` only to them.
                if entry["bot"] or event["seat"] != view["you"]:
                    assert "re" not in state, state

    # Everyone sees the same end, each with their own cards.
    final = gus.view
    assert all(_public(client.view) == _public(final) for client in people)
    state, result = final["game_state"], final["result"]
    players = final["players"]
    assert players == table.players and final["to_act"] == []
    assert result["winner"] == players[state["winner"]]
    assert [result["scores"][seat] for seat in players] == state["scores"]
    outcome = table.game.outcome()
    assert outcome is not None and result["detail"] == dict(outcome.detail)
    assert tuple(state["scores"]) == outcome.scores
    for person in people:
        assert person.game["hand"] == [str(card)
                                       for card in table.game.hand(person.player)]

    # Bots played too, and nothing happens any more.
    bot_seats = {seat for seat in players if final["seats"][seat]["bot"]}
    bot_moves = [s for s in gus.states(room) if s.get("event", {}).get("type") == "move"
                 and s["event"]["seat"] in bot_seats]
    assert bot_moves
    assert not [key for key in net.hub.timers.pending() if key[0] == "bot"]
    net.mark()
    await net.settle()
    assert all(client.new() == [] for client in everyone)


@pytest.mark.parametrize("game", GAME_NAMES)
async def test_a_spectator_and_the_room_list_follow_a_game(nets, game: str) -> None:
    net = nets(seed=3)
    people, gus, room = await _room(net, game, 1)
    gus.request("leave")
    await net.settle()
    gus.request("room_list", id="l")
    await net.settle()
    (entry,) = gus.last["rooms"]
    assert (entry["id"], entry["game"], entry["status"], entry["players"]) == (
        room, game, "playing", GAMES[game].DEFAULT_SEATS)
    await net.play(people)
    gus.request("room_list", id="l2")
    await net.settle()
    assert gus.last["rooms"][0]["status"] == "finished"


# --- several players acting at once: Hearts' pass ------------------------------------------


async def test_hearts_bots_pass_at_once_one_state_each(net: Net) -> None:
    people, gus, room = await _room(net, "hearts", 2)
    ann, bob = people
    table = net.table(room)
    states = [s for s in ann.states(room) if "event" in s]
    start = next(i for i, s in enumerate(states) if s["event"]["type"] == "start")
    after = states[start:]
    assert after[0]["table"]["to_act"] == [0, 1, 2, 3]
    assert after[0]["table"]["game_state"]["phase"] == "pass"
    bots = [2, 3]
    passes = after[1:]
    assert [(s["event"]["seat"], s["event"]["move"]) for s in passes] == [
        (seat, {"type": "pass"}) for seat in bots], "each bot's pass is a state of its own"
    assert [s["table"]["to_act"] for s in passes] == [[0, 1, 3], [0, 1]]
    assert [s["seq"] for s in after] == list(range(after[0]["seq"], after[0]["seq"] + 3))
    assert all("re" not in s for s in passes)
    assert ann.game["passed"] == [False, False, True, True]
    assert table.to_act() == [0, 1]


async def test_hearts_passes_are_private_until_the_exchange(net: Net) -> None:
    people, gus, room = await _room(net, "hearts", 2)
    ann, bob = people
    table = net.table(room)
    net.mark()
    mine = Hearts.move_from_view(ann.game)
    ann.move(mine, id="a")
    await net.settle()
    (to_ann,), (to_bob,), (to_gus,) = ann.new(), bob.new(), gus.new()
    assert to_ann["re"] == "a" and "re" not in to_bob
    assert to_bob["event"]["move"] == to_gus["event"]["move"] == {"type": "pass"}
    assert to_ann["event"]["move"] == {"type": "pass", "cards": to_ann["event"]["move"]["cards"]}
    assert sorted(to_ann["event"]["move"]["cards"]) == sorted(mine["cards"])
    assert sorted(to_ann["table"]["game_state"]["passing"]) == sorted(mine["cards"])
    assert "passing" not in to_bob["table"]["game_state"]
    assert not set(mine["cards"]) & set(to_ann["table"]["game_state"]["hand"])
    assert to_gus["table"]["game_state"]["cards"][ann.player] == 10

    # Bob's pass is the fourth: the cards change hands, and the play starts at once.
    bob.move(Hearts.move_from_view(bob.game), id="b")
    await net.settle()
    exchange = {client: next(s for s in client.new() if s.get("event", {}).get("type") == "move")
                for client in (ann, bob, gus)}
    assert exchange[gus]["event"]["move"] == {"type": "pass", "exchanged": True}
    for client in (ann, bob):
        move = exchange[client]["event"]["move"]
        received = [str(card) for card in table.game.received(client.player)]
        assert move["exchanged"] is True and sorted(move["received"]) == sorted(received)
        assert sorted(exchange[client]["table"]["game_state"]["received"]) == sorted(received)
        assert ("cards" in move) == (client is bob)
    assert exchange[bob]["re"] == "b" and "re" not in exchange[ann]
    # The first deal passes to the left: Ann (player 0) gave Bob (player 1) her cards.
    assert sorted(exchange[bob]["event"]["move"]["received"]) == sorted(mine["cards"])
    view = exchange[gus]["table"]
    assert view["game_state"]["phase"] == "play" and len(view["to_act"]) == 1
    assert all(count == 13 for count in view["game_state"]["cards"])


async def test_hearts_a_player_who_rejoins_mid_pass_gets_their_pass_back(net: Net) -> None:
    people, gus, room = await _room(net, "hearts", 2)
    ann, bob = people
    mine = Hearts.move_from_view(ann.game)
    ann.move(mine)
    await net.settle()
    ann.peer.disconnected()
    await net.settle()
    ann.mark()
    again = await _login(net, ANN)
    again.request("join", id="back", room=room)
    await net.settle()
    state = again.last
    assert state["re"] == "back" and state["event"] == {"type": "connect", "seat": 0}
    assert sorted(state["table"]["game_state"]["passing"]) == sorted(mine["cards"])
    assert state["table"]["to_act"] == [1]
    # The new connection follows the game on: it is told the cards it receives.
    bob.move(Hearts.move_from_view(bob.game))
    await net.settle()
    exchange = next(s for s in again.states() if s.get("event", {}).get("type") == "move")
    assert exchange["event"]["move"]["exchanged"] is True
    assert len(exchange["event"]["move"]["received"]) == 3
    assert ann.new() == [], "a closed connection is sent nothing"


# --- the checks themselves ------------------------------------------------------------------


async def test_the_hidden_card_guard_catches_a_leak(net: Net, monkeypatch) -> None:
    """The checks the other tests rely on do fail when a view shows another player's card."""
    original = Hearts.view_for

    def leaky(self, player):
        view = original(self, player)
        if player is not None:
            neighbour = self.hand((player + 1) % 4)
            view["hand"] = sorted(view["hand"] + [str(neighbour[0])])
        return view

    monkeypatch.setattr(Hearts, "view_for", leaky)
    ann = await _login(net, ANN)
    await net.create(ann, seats=None, game="hearts", bots=3)
    assert any("cards" in problem and "sent to" in problem for problem in ann.problems)
    ann.problems.clear()


async def test_the_message_checks_catch_a_private_detail_sent_to_another_seat(
        net: Net) -> None:
    client = net.connect("checked")
    table = {"game": "crazy_eights", "status": "playing", "owner": 0,
             "seats": [{"seat": n, "user": {"id": None, "name": f"Bot {n}"}, "bot": True,
                        "connected": True} for n in range(2)],
             "spectators": 0, "you": 1, "players": [0, 1], "to_act": [0],
             "game_state": {"hand": ["2C"], "cards": [2, 1], "pile": ["3C"], "deck": 40,
                            "turn": 0, "suit": "C"}}
    take = {"type": "move", "seat": 0, "move": {"type": "take", "card": "5S"}}
    client._record(json.dumps({"msg": "state", "room": "abcdefgh", "seq": 2, "event": take,
                               "table": table}))
    spectator = {**table, "you": None}
    client._record(json.dumps({"msg": "state", "room": "abcdefgh", "seq": 3,
                               "table": spectator}))
    assert len(client.problems) == 2
    assert "card of a take by seat 0 sent to seat 1" in client.problems[0]
    assert "a spectator got ['hand']" in client.problems[1]
    client.problems.clear()


# --- more than one game, people leaving, and a room rebuilt from its log ----------------------


@pytest.mark.parametrize("game", GAME_NAMES)
async def test_a_new_game_in_the_room_moves_the_deal_one_seat_on(nets, game: str) -> None:
    net = nets(seed=5)
    people, gus, room = await _room(net, game, 1)
    (ann,) = people
    await net.play([ann])
    assert ann.view["status"] == "finished"
    seq = ann.state["seq"]
    ann.request("start", id="again")
    await net.settle()
    start = next(m for m in ann.states() if m.get("re") == "again")
    assert start["event"] == {"type": "start", "dealer": 1} and start["seq"] == seq + 1
    view = start["table"]
    assert view["status"] == "playing" and "result" not in view and view["to_act"]
    assert view["game_state"]["hand"] and "winner" not in view["game_state"]
    assert view["players"] == list(range(GAMES[game].DEFAULT_SEATS))
    if game == "crazy_eights":  # (a second Hearts match would only take longer)
        await net.play([ann])
        assert ann.view["status"] == "finished"


async def test_hearts_a_player_who_leaves_during_the_pass_is_replaced_by_a_bot_that_passes(
        net: Net) -> None:
    people, gus, room = await _room(net, "hearts", 2)
    ann, bob = people
    net.mark()
    bob.request("leave", id="l")
    await net.settle()
    assert bob.new() == [{"msg": "left", "room": room, "re": "l"}]
    replace, bot_pass = [m for m in ann.new() if m["msg"] == "state"]
    assert replace["event"] == {"type": "replace", "seat": 1, "reason": "left"}
    assert bot_pass["event"] == {"type": "move", "seat": 1, "move": {"type": "pass"}}
    assert bot_pass["table"]["to_act"] == [0], "only Ann has yet to choose"
    ann.move(Hearts.move_from_view(ann.game))
    await net.settle()
    exchanged = [m for m in gus.states() if m.get("event", {}).get("move") == {
        "type": "pass", "exchanged": True}]
    assert len(exchanged) == 1 and exchanged[0]["event"]["seat"] == 0
    assert gus.view["game_state"]["phase"] == "play"


def _comparable(view: dict[str, Any]) -> dict[str, Any]:
    """A view without who is connected and who watches, which a restart changes on purpose."""
    seats = [dict(seat, connected=None) if seat else None for seat in view["seats"]]
    return {**view, "seats": seats, "spectators": None}


async def _rebuilt(net: Net, room: str) -> tuple[Net, Client, Client]:
    """The room rebuilt from its log on a new hub, as after a restart, and Ann and Bob back
    in it on new connections: (new net, ann, bob)."""
    table = net.table(room)
    assert not table.journal, "everything was committed"
    rebuilt = Table.replay(table.id, table.name, table.game_kind, len(table.seats),
                           table.history)
    assert rebuilt.seq == table.seq
    after = Net(make_hub())
    await after.hub.recover([rebuilt])
    ann, bob = await _login(after, ANN), await _login(after, BOB)
    for client in (ann, bob):
        client.request("join", id="back", room=room)
        await after.settle()
    return after, ann, bob


@pytest.mark.parametrize("moment", ["mid-pass", "mid-deal"])
async def test_hearts_rebuilt_from_the_log_shows_each_player_the_same_match(
        nets, moment: str) -> None:
    net = nets(seed=11)
    (ann, bob), gus, room = await _room(net, "hearts", 2)
    # Ann has chosen her pass (a secret until the exchange); Bob has not.
    ann.move(Hearts.move_from_view(ann.game))
    await net.settle()
    if moment == "mid-deal":
        await net.play([ann, bob], until_done=lambda: (
            ann.game["phase"] == "play" and ann.game["last_trick"] is not None
            and len(ann.game["trick"]) == 2))
    before = {"ann": ann.view, "bob": bob.view}
    seq = ann.state["seq"]
    after, ann2, bob2 = await _rebuilt(net, room)
    try:
        back = {"ann": ann2.view, "bob": bob2.view}
        for name in ("ann", "bob"):
            assert _comparable(back[name]) == _comparable(before[name]), name
        assert ann2.state["seq"] > seq
        if moment == "mid-pass":
            assert sorted(ann2.game["passing"]) == sorted(ann.game["passing"])
            assert "passing" not in bob2.game
        # The match goes on from there: to the next deal.
        await after.play([ann2, bob2], until_done=lambda: ann2.game["deal"] == 2)
        assert ann2.game["deal"] == 2 and ann2.game["phase"] == "pass"
        assert not after.problems()
    finally:
        after.hub.stop_timers()


async def test_crazy_eights_rebuilt_from_the_log_shows_each_player_the_same_game(nets) -> None:
    net = nets(seed=12)
    (ann, bob), gus, room = await _room(net, "crazy_eights", 2)
    await net.play([ann, bob], until_done=lambda: ann.state["seq"] > 20)
    before = {"ann": ann.view, "bob": bob.view}
    after, ann2, bob2 = await _rebuilt(net, room)
    try:
        assert _comparable(ann2.view) == _comparable(before["ann"])
        assert _comparable(bob2.view) == _comparable(before["bob"])
        await after.play([ann2, bob2])
        assert ann2.view["status"] == "finished"
        assert not after.problems()
    finally:
        after.hub.stop_timers()


async def test_players_are_numbered_in_game_order_when_seats_have_gaps(nets) -> None:
    """Seats 0 and 2 play (seat 1 was left): game_state numbers them players 0 and 1,
    `players` maps them back, and the result is by seat, null for the seats not playing."""
    net = nets(seed=3)
    ann, bob, gus = [await _login(net, user) for user in (ANN, BOB, GUS)]
    room = await net.create(ann, seats=4)
    await net.join(gus, room)
    await net.join(bob, room)
    gus.request("leave")
    await net.settle()
    ann.request("start", id="s")
    await net.settle()
    view = ann.view
    assert view["players"] == [0, 2] and bob.player == 1 and ann.player == 0
    assert view["game_state"]["cards"] == [7, 7]
    assert view["to_act"] == [view["players"][view["game_state"]["turn"]]] == [2]
    await net.play([ann, bob])
    final = ann.view
    result, state = final["result"], final["game_state"]
    assert result["winner"] == final["players"][state["winner"]]
    assert result["scores"][1] is None and result["scores"][3] is None
    assert [result["scores"][seat] for seat in final["players"]] == state["scores"]
