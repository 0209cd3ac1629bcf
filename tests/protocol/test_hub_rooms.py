"""Rooms through the protocol hub: create, join, watch, leave, switching rooms, `re` echoing,
ownership, closing rooms and the room list pushed to the lobby."""

from __future__ import annotations

from hub_fakes import ANN, BOB, CID, DEE, GUS, Net, until


async def test_create_seats_the_creator_and_replies_a_state_with_re(net: Net) -> None:
    ann = await net.login(ANN)
    ann.request("create", id="c", game="crazy_eights", name="Ann's table", seats=4)
    await net.settle()
    (state,) = ann.new()
    assert state["msg"] == "state" and state["re"] == "c"
    assert state["seq"] == 1 and state["event"] == {"type": "join", "seat": 0}
    view = state["table"]
    assert view["status"] == "waiting" and view["owner"] == 0 and view["you"] == 0
    assert view["seats"][0] == {"seat": 0, "user": {"id": ANN, "name": "Ann"}, "bot": False,
                                "connected": True}
    assert view["seats"][1:] == [None, None, None]
    assert view["game"] == "crazy_eights" and view["spectators"] == 0
    # Nothing of a game before the first deal.
    assert view["game_state"] is None and view["players"] == [] and view["to_act"] == []
    assert "result" not in view
    ann.request("room_list", id="l")
    await net.settle()
    assert ann.last["rooms"] == [{"id": state["room"], "name": "Ann's table",
                                  "game": "crazy_eights", "seats": 4, "players": 1,
                                  "spectators": 0, "status": "waiting", "owner_name": "Ann"}]


async def test_a_join_tells_everyone_and_only_the_joiner_gets_re(net: Net) -> None:
    ann, bob = await net.login(ANN), await net.login(BOB)
    room = await net.create(ann, seats=3)
    net.mark()
    bob.request("join", id=77, room=room)
    await net.settle()
    (to_bob,) = bob.new()
    (to_ann,) = ann.new()
    assert to_bob["re"] == 77 and "re" not in to_ann
    assert to_bob["seq"] == to_ann["seq"] == 2
    assert to_bob["event"] == to_ann["event"] == {"type": "join", "seat": 1}
    assert (to_bob["table"]["you"], to_ann["table"]["you"]) == (1, 0)


async def test_a_join_that_fills_the_room_is_two_states_join_then_start(net: Net) -> None:
    ann, bob, cid = await net.login(ANN), await net.login(BOB), await net.login(CID)
    room = await net.create(ann, seats=3)
    await net.join(bob, room)
    net.mark()
    cid.request("join", id="j", room=room)
    await net.settle()
    for client in (ann, bob, cid):
        first, second = client.new()[:2]
        assert first["event"] == {"type": "join", "seat": 2}
        assert second["event"] == {"type": "start", "dealer": 0}
        assert (first["seq"], second["seq"]) == (3, 4)
        assert second["table"]["status"] == "playing"
        assert second["table"]["players"] == [0, 1, 2]
        assert second["table"]["to_act"] == [1], "the player after the dealer starts"
        assert len(second["table"]["game_state"]["hand"]) == 5
        assert second["table"]["game_state"]["cards"] == [5, 5, 5]
        assert ("re" in first, "re" in second) == ((client is cid),) * 2


async def test_a_spectator_sees_counts_but_never_a_hand(net: Net) -> None:
    ann, bob, gus = await net.login(ANN), await net.login(BOB), await net.login(GUS)
    room = await net.create(ann, seats=2)
    gus.request("join", id="w", room=room, **{"as": "spectator"})
    await net.settle()
    assert gus.last["re"] == "w" and gus.last["event"] == {"type": "watch"}
    assert gus.view["you"] is None and gus.view["game_state"] is None
    assert ann.view["spectators"] == 1
    await net.join(bob, room)
    await net.play([ann, bob], until_done=lambda: len(gus.states()) > 12)
    playing = [s for s in gus.states() if s["table"]["status"] == "playing"]
    assert len(playing) > 8
    for state in gus.states():
        view = state["table"]
        assert view["you"] is None
        assert view["game_state"] is None or "hand" not in view["game_state"]
    for state in playing:
        assert state["table"]["players"] == [0, 1]
        counts = state["table"]["game_state"]["cards"]
        assert counts == [len(_hand_at(ann, state["seq"])), len(_hand_at(bob, state["seq"]))]


def _hand_at(client, seq: int) -> list:
    """The hand `client` was shown in the state with this seq."""
    (state,) = [s for s in client.states() if s["seq"] == seq and "event" in s]
    return state["table"]["game_state"]["hand"]


async def test_a_spectator_who_sits_down_stops_watching_in_one_change(net: Net) -> None:
    ann, gus = await net.login(ANN), await net.login(GUS)
    room = await net.create(ann, seats=3)
    await net.join(gus, room, **{"as": "spectator"})
    net.mark()
    gus.request("join", id=1, room=room)
    await net.settle()
    (state,) = gus.new()
    assert state["re"] == 1 and state["event"] == {"type": "join", "seat": 1}
    assert state["table"]["you"] == 1 and state["table"]["spectators"] == 0
    assert [m["event"] for m in ann.new()] == [{"type": "join", "seat": 1}]


async def test_leave_while_waiting_frees_the_seat_and_replies_left(net: Net) -> None:
    ann, bob = await net.login(ANN), await net.login(BOB)
    room = await net.create(ann, seats=3)
    await net.join(bob, room)
    net.mark()
    bob.request("leave", id="bye")
    await net.settle()
    assert bob.new() == [{"msg": "left", "room": room, "re": "bye"}]
    (state,) = ann.new()
    assert state["event"] == {"type": "leave", "seat": 1} and "re" not in state
    assert state["table"]["seats"][1] is None
    bob.request("leave", id="again")
    await net.settle()
    assert bob.last["code"] == "not_in_room"


async def test_a_spectator_leaving(net: Net) -> None:
    ann, gus = await net.login(ANN), await net.login(GUS)
    room = await net.create(ann, seats=3)
    await net.join(gus, room, **{"as": "spectator"})
    net.mark()
    gus.request("leave", id=3)
    await net.settle()
    assert gus.new() == [{"msg": "left", "room": room, "re": 3}]
    (state,) = ann.new()
    assert state["event"] == {"type": "unwatch"} and state["table"]["spectators"] == 0


async def test_join_while_seated_in_a_waiting_room_leaves_it_first(net: Net) -> None:
    ann, bob, cid = await net.login(ANN), await net.login(BOB), await net.login(CID)
    first = await net.create(ann, seats=3, name="First")
    await net.join(bob, first)
    second = await net.create(cid, seats=3, name="Second")
    net.mark()
    bob.request("join", id="move", room=second)
    await net.settle()
    to_bob = bob.new()
    assert [m["msg"] for m in to_bob] == ["left", "state"]
    assert to_bob[0]["room"] == first
    assert to_bob[1]["room"] == second and to_bob[1]["re"] == "move"
    assert to_bob[1]["table"]["you"] == 1
    (to_ann,) = ann.new()
    assert to_ann["room"] == first and to_ann["event"] == {"type": "leave", "seat": 1}
    assert [m["event"] for m in cid.new()] == [{"type": "join", "seat": 1}]
    assert net.table(first).seat_of(BOB) is None


async def test_create_while_seated_in_a_waiting_room_leaves_it_first(net: Net) -> None:
    ann, bob = await net.login(ANN), await net.login(BOB)
    first = await net.create(ann, seats=3)
    await net.join(bob, first)
    net.mark()
    bob.request("create", id="new", game="crazy_eights", name="Bob's", seats=2)
    await net.settle()
    to_bob = bob.new()
    assert [m["msg"] for m in to_bob] == ["left", "state"]
    assert to_bob[0]["room"] == first
    assert to_bob[1]["re"] == "new" and to_bob[1]["room"] != first
    assert to_bob[1]["table"]["owner"] == 0 and to_bob[1]["table"]["you"] == 0
    assert [m["event"] for m in ann.new()] == [{"type": "leave", "seat": 1}]


async def test_a_spectator_moving_to_another_room_stops_watching_the_first(net: Net) -> None:
    ann, bob, gus = await net.login(ANN), await net.login(BOB), await net.login(GUS)
    one = await net.create(ann, seats=3)
    two = await net.create(bob, seats=3)
    await net.join(gus, one, **{"as": "spectator"})
    net.mark()
    gus.request("join", room=two, **{"as": "spectator"})
    await net.settle()
    assert [m["event"] for m in ann.new()] == [{"type": "unwatch"}]
    assert [m["event"] for m in bob.new()] == [{"type": "watch"}]
    assert gus.view["spectators"] == 1 and gus.room == two


async def test_a_rejoin_while_connected_answers_the_same_seq_with_re(net: Net) -> None:
    ann, bob = await net.login(ANN), await net.login(BOB)
    room = await net.create(ann, seats=2, bots=1)
    await net.settle()
    seq = ann.state["seq"]
    net.mark()
    ann.request("join", id="again", room=room)
    await net.settle()
    (state,) = ann.new()
    assert state["re"] == "again" and state["seq"] == seq
    assert "event" not in state
    assert state["table"] == ann.states()[-2]["table"]
    assert net.table(room).seq == seq
    # A spectator watching again: the same.
    await net.join(bob, room, **{"as": "spectator"})
    seq = bob.state["seq"]
    net.mark()
    bob.request("join", id="w2", room=room, **{"as": "spectator"})
    await net.settle()
    (state,) = bob.new()
    assert state["re"] == "w2" and state["seq"] == seq
    assert "hand" not in state["table"]["game_state"]
    assert ann.new() == []


async def test_the_owner_leaving_passes_the_room_to_the_next_person(net: Net) -> None:
    ann, bob, cid = await net.login(ANN), await net.login(BOB), await net.login(CID)
    room = await net.create(ann, seats=5, bots=1)  # Ann 0, bot 1
    await net.join(bob, room)  # 2
    await net.join(cid, room)  # 3
    net.mark()
    ann.request("leave")
    await net.settle()
    (state,) = bob.new()
    assert state["event"] == {"type": "leave", "seat": 0}
    assert state["table"]["owner"] == 2, "the state that frees the owner's seat names the new owner"
    bob.request("add_bot", id="b")
    await net.settle()
    assert bob.last["msg"] == "state" and bob.last["re"] == "b"


async def test_the_last_person_leaving_closes_the_room(net: Net) -> None:
    ann, gus = await net.login(ANN), await net.login(GUS)
    room = await net.create(ann, seats=3, bots=1)
    await net.join(gus, room, **{"as": "spectator"})
    net.mark()
    ann.request("leave", id="x")
    await net.settle()
    assert ann.new() == [{"msg": "left", "room": room, "re": "x"}]
    assert gus.new()[-1] == {"msg": "left", "room": room}
    assert net.hub.lobby.get(room) is None
    gus.request("join", room=room)
    await net.settle()
    assert gus.last["code"] == "no_such_room"


async def test_leave_during_a_game_then_a_new_room_is_allowed(net: Net) -> None:
    ann, bob = await net.login(ANN), await net.login(BOB)
    room = await net.create(ann, seats=3, bots=1)
    await net.join(bob, room)
    ann.request("create", game="crazy_eights", name="Another", seats=2)
    await net.settle()
    assert ann.last["code"] == "already_in_room"
    ann.request("leave", id="l")
    await net.settle()
    assert ann.last == {"msg": "left", "room": room, "re": "l"}
    ann.request("create", id="c", game="crazy_eights", name="Another", seats=2)
    await net.settle()
    assert ann.last["msg"] == "state" and ann.last["re"] == "c" and ann.room != room


# --- the room list -------------------------------------------------------------------------


async def test_the_room_list_is_pushed_to_the_lobby(net: Net, quick_room_list) -> None:
    ann, bob, dee = await net.login(ANN), await net.login(BOB), await net.login(DEE)
    anonymous = net.connect("anonymous")
    gus = await net.login(GUS)
    net.mark()
    room = await net.create(ann, seats=2, name="Pushed")
    await until(lambda: gus.unread("room_list"), what="a room list push")
    (pushed,) = gus.new()
    assert "re" not in pushed
    assert pushed["rooms"] == [{"id": room, "name": "Pushed", "game": "crazy_eights",
                                "seats": 2, "players": 1, "spectators": 0,
                                "status": "waiting", "owner_name": "Ann"}]
    assert dee.new() == [pushed] and bob.new() == [pushed]
    assert anonymous.messages == [], "only signed-in connections get the list"
    assert [m["msg"] for m in ann.new()] == ["state"], "a member is not in the lobby"
    bob.request("join", room=room)  # fills the room: it starts
    await net.settle()
    await until(lambda: gus.unread("room_list"), what="a second push")
    (pushed,) = gus.new()
    assert pushed["rooms"][0]["status"] == "playing" and pushed["rooms"][0]["players"] == 2
    assert not [m for m in bob.new() if m["msg"] == "room_list"]


async def test_room_list_pushes_are_gathered(net: Net, quick_room_list) -> None:
    ann, gus = await net.login(ANN), await net.login(GUS)
    ann.request("create", game="crazy_eights", name="Busy", seats=5)
    for _ in range(3):
        ann.request("add_bot")
    await until(lambda: gus.unread("room_list"), what="a room list push")
    await net.settle()
    (pushed,) = gus.new()
    assert pushed["rooms"] == [{"id": ann.room, "name": "Busy", "game": "crazy_eights",
                                "seats": 5, "players": 4, "spectators": 0,
                                "status": "waiting", "owner_name": "Ann"}]


async def test_a_player_who_left_and_asks_to_watch_watches(net: Net) -> None:
    ann, bob = await net.login(ANN), await net.login(BOB)
    room = await net.create(ann, seats=3, bots=1)
    await net.join(bob, room)
    bob.request("leave")
    await net.settle()
    net.mark()
    # `as: spectator` asks to watch: the bot keeps playing Bob's seat.
    bob.request("join", id="watch", room=room, **{"as": "spectator"})
    await net.settle()
    assert bob.last["re"] == "watch"
    assert bob.view["you"] is None and "hand" not in bob.game
    assert bob.view["seats"][2]["bot"] is True
