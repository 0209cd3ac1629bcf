"""Protocol 3: each `state`'s table is a JSON Merge Patch (RFC 7396) of the table the same
connection last received for the room, or whole with `"full": true` (docs/protocol.md,
"Protocol 3"; game_server/protocol/patches.py and delivery.py).

The main check: a protocol 3 connection, merging every patch, holds after each state exactly
the table a protocol 2 connection of the same member gets whole. Both speak at once in the same
rooms (same seat on two tabs, spectators side by side, a delayed room), so the server computes
both from the same change.

Run as a script for the bytes per state of a 4-seat Crazy Eights game of four people, in
protocol 2 and 3: `python tests/protocol/test_protocol3.py`.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from game_server.protocol.delivery import deliver
from game_server.protocol.patches import merge_patch, table_patch
from game_server.protocol.schema import check_server
from game_server.tables.requests import Delivery

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from hub_fakes import (ANN, BOB, CID, DEE, EVE, FAY, USERS, Client, Net, guard_hidden_cards,
                       make_hub, token_for, until)


class PatchedClient(Client):
    """A protocol 3 fake connection: merges each patch into the table it holds for the room and
    records the state with that whole table (so every check of `Client` runs on what the
    client sees). `raw` keeps each state as it came: (text, message)."""

    def __init__(self, hub: Any, name: str = "") -> None:
        self.held: dict[str, dict[str, Any]] = {}
        self.raw: list[tuple[str, dict[str, Any]]] = []
        super().__init__(hub, name)

    def request(self, msg: str, id: str | int | None = None, **fields: Any) -> None:
        if msg == "auth":
            fields.setdefault("protocol", 3)
        super().request(msg, id=id, **fields)

    def _record(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            super()._record(text)
            return
        if message.get("msg") == "left":
            self.held.pop(message.get("room"), None)
        if message.get("msg") != "state":
            super()._record(text)
            return
        self.raw.append((text, message))
        try:
            check_server(message)
        except Exception as error:  # noqa: BLE001 - reported at teardown
            self.problems.append(f"{error} in {text[:300]}")
        room, table = message["room"], message["table"]
        if message.get("full"):
            merged = table
        elif room not in self.held:
            self.problems.append(f"a patch for {room}, which this client holds no table of")
            return
        else:
            merged = merge_patch(self.held[room], table)
        self.held[room] = merged
        super()._record(json.dumps({**message, "table": merged}))


async def login(net: Net, user_id: int, protocol: int = 3) -> Client:
    """Sign `user_id` in on a new connection speaking `protocol`."""
    client = (PatchedClient if protocol == 3 else Client)(net.hub, f"{USERS[user_id]}/{protocol}")
    net.clients.append(client)
    client.request("auth", token=token_for(user_id), protocol=protocol)
    await until(lambda: client.of("welcome") or client.errors(), what="welcome")
    assert client.of("welcome")[0]["protocol"] == protocol
    client.user_id = user_id
    await net.settle()
    client.mark()
    return client


def tables(client: Client, room: str | None = None) -> list[tuple[int, dict[str, Any]]]:
    return [(m["seq"], m["table"]) for m in client.states(room)]


def assert_same_tables(patched: Client, whole: Client) -> None:
    """The protocol 3 client, merging, held what the protocol 2 client got, state by state,
    from the first state the second got (it arrived later)."""
    want = tables(whole)
    got = tables(patched)
    got = got[next(i for i, (seq, _) in enumerate(got) if seq == want[0][0]):]
    assert len(got) == len(want) and got, (len(got), len(want))
    for (seq, table), (other_seq, other) in zip(got, want):
        assert (seq, table) == (other_seq, other)


# --- the patch itself ------------------------------------------------------------------------


def test_a_patch_holds_only_what_changed_and_merges_back() -> None:
    old = {"status": "playing", "to_act": [1], "seats": [{"user": 1}],
           "game_state": {"pile": ["QH"], "deck": 30, "turn": 0}, "rematch": [2]}
    new = {"status": "playing", "to_act": [2], "seats": [{"user": 1}],
           "game_state": {"pile": ["QH", "QS"], "deck": 30, "turn": 1}}
    patch = table_patch(old, new)
    assert patch == {"to_act": [2], "game_state": {"pile": ["QH", "QS"], "turn": 1},
                     "rematch": None}
    assert merge_patch(old, patch) == new
    assert table_patch(new, new) == {}


def test_no_patch_when_a_member_becomes_null() -> None:
    # A merge patch's null removes the member: a table whose owner became null is sent whole.
    assert table_patch({"owner": 1, "you": 1}, {"owner": None, "you": 1}) is None
    assert table_patch({"game_state": None}, {"game_state": {"winner": None}}) is None
    # Inside an array a null is a value like any other.
    assert table_patch({"seats": [{"u": 1}]}, {"seats": [None]}) == {"seats": [None]}


def test_equal_values_of_another_json_type_are_sent() -> None:
    assert table_patch({"a": 1}, {"a": True}) == {"a": True}
    assert table_patch({"a": 1}, {"a": 1.5}) == {"a": 1.5}


def test_random_documents_merge_back() -> None:
    rng = random.Random(7)

    def value(depth: int) -> Any:
        kind = rng.randrange(6 if depth < 3 else 4)
        if kind == 0:
            return rng.randrange(3)
        if kind == 1:
            return rng.choice(["a", "b"])
        if kind == 2:
            return [rng.randrange(3) for _ in range(rng.randrange(3))]
        if kind == 3:
            return rng.choice([True, False])
        return {key: value(depth + 1) for key in rng.sample("pqrst", rng.randrange(4))}

    for _ in range(2000):
        old, new = value(0), value(0)
        if not (isinstance(old, dict) and isinstance(new, dict)):
            continue
        patch = table_patch(old, new)
        assert patch is not None
        assert merge_patch(old, patch) == new, (old, new, patch)


class _Reader:
    """A protocol 3 peer as `deliver` sees it: the room and JSON text of the table it holds."""

    def __init__(self, room: str | None = None, table: dict[str, Any] | None = None) -> None:
        self.held_room = room
        self.held_table = None if table is None else json.dumps(table).encode()

    def forget_held(self) -> None:
        self.held_room = self.held_table = None

    def held(self) -> tuple[str, dict[str, Any]] | None:
        if self.held_table is None:
            return None
        return self.held_room, json.loads(self.held_table)


def test_delivery_sends_whole_when_no_patch_can_say_it_and_shares_texts() -> None:
    before = {"game": "crazy_eights", "owner": 0, "you": None, "spectators": 1}
    after_1 = {**before, "spectators": 2}
    after_2 = {**after_1, "owner": None}
    readers = {1: _Reader("room01", before), 2: _Reader("room01", before), 3: _Reader()}
    sent: list[tuple[int, str]] = []

    def states(table: dict[str, Any], seq: int) -> list[Delivery]:
        message = {"msg": "state", "room": "room01", "seq": seq, "table": table}
        return [Delivery(conn, message, "room01") for conn in (1, 2, 3)]

    deliver(states(after_1, 5) + states(after_2, 6), lambda c, t: sent.append((c, t)),
            patching=readers.get)
    texts = {conn: [json.loads(t) for c, t in sent if c == conn] for conn in (1, 2, 3)}
    assert texts[1] == texts[2]
    assert texts[1][0]["table"] == {"spectators": 2} and "full" not in texts[1][0]
    # owner became null: a merge patch cannot say that.
    assert texts[1][1]["full"] is True and texts[1][1]["table"] == after_2
    assert texts[3][0]["full"] is True  # held nothing
    # Connections 1 and 2 held equal tables but as texts of their own: each was patched once.
    assert sent[0][1] == sent[1][1]
    assert all(reader.held() == ("room01", after_2) for reader in readers.values())
    # After one round, everyone holds the very same text, and shares the next patch's text.
    deliver(states({**after_2, "spectators": 3}, 7), lambda c, t: sent.append((c, t)),
            patching=readers.get)
    assert sent[-3][1] is sent[-2][1] is sent[-1][1]
    # What a peer holds between states is out of the garbage collector's sight: thousands of
    # tables held for seconds each would lengthen every young collection (docs/performance.md).
    assert not any(gc.is_tracked(reader.held_table) for reader in readers.values())
    assert json.loads(sent[-1][1])["table"] == {"spectators": 3}
    deliver([Delivery(1, {"msg": "left", "room": "room01"})], lambda c, t: None,
            patching=readers.get)
    assert readers[1].held() is None and readers[2].held() is not None


# --- on the wire -----------------------------------------------------------------------------


async def _four_seat_room(net: Net, players: list[Client]) -> str:
    """The first player opens a 4-seat Crazy Eights room, the others join; the game starts
    when the fourth sits down."""
    owner = players[0]
    owner.request("create", game="crazy_eights", name="Four", seats=4)
    await net.settle()
    room = owner.room
    for player in players[1:]:
        await net.join(player, room)
    return room


async def test_patched_tables_are_the_tables_protocol_2_sends(nets: Any) -> None:
    net = nets()
    ann, bob, cid = [await login(net, user) for user in (ANN, BOB, CID)]
    dee = await login(net, DEE, protocol=2)
    ann_2 = await login(net, ANN, protocol=2)  # Ann's second tab, on protocol 2
    room = await _four_seat_room(net, [ann, bob, cid, dee])
    await net.join(ann_2, room)
    eve, fay = await login(net, EVE), await login(net, FAY, protocol=2)
    await net.join(eve, room, **{"as": "spectator"})
    await net.join(fay, room, **{"as": "spectator"})
    for client in (ann, bob, cid, eve):
        guard_hidden_cards(net.hub, client)
    await net.play([ann, bob, cid, dee])
    assert ann.view["status"] == "finished"
    # Ann's two tabs: from the state that answered the second tab's join on, the same tables.
    first = next(i for i, m in enumerate(ann.states()) if m["seq"] == ann_2.states()[0]["seq"])
    assert tables(ann)[first + 1:] == tables(ann_2)[1:]
    spectated = len(tables(fay))
    assert_same_tables(eve, fay)
    assert spectated > 20
    # Only the first state of each, and the deal, were whole: the rest were patches.
    for client in (ann, bob, cid, eve):
        fulls = [m["seq"] for _, m in client.raw if m.get("full")]
        deal = [m["seq"] for _, m in client.raw if m.get("event", {}).get("type") == "start"]
        assert fulls == sorted({client.raw[0][1]["seq"], *deal}), fulls


async def test_the_first_state_after_a_join_a_deal_or_a_new_connection_is_whole(nets: Any) -> None:
    net = nets()
    ann, bob = await login(net, ANN), await login(net, BOB)
    ann.request("create", game="crazy_eights", name="Two", seats=2)
    await net.settle()
    room = ann.room
    assert ann.raw[-1][1].get("full") is True
    await net.join(bob, room)  # the game starts: a deal
    assert all(m.get("full") for _, m in bob.raw)
    deal = ann.raw[-1][1]
    assert deal["event"]["type"] == "start" and deal.get("full") is True
    mover = ann if ann.my_turn else bob
    mover.send({"msg": "move", "move": {"type": "take"}})
    await net.settle()
    assert "full" not in ann.raw[-1][1] and "full" not in bob.raw[-1][1]
    assert "game" not in ann.raw[-1][1]["table"]
    # Joining again on the same connection: the reply is whole.
    ann.request("join", room=room, id="again")
    await net.settle()
    assert ann.raw[-1][1]["re"] == "again" and ann.raw[-1][1].get("full") is True
    # A new connection (a reload, a resume with since): whole after the missed events.
    last = bob.state["seq"]
    bob.peer.disconnected()
    await net.settle()
    mover = ann if ann.my_turn else None
    if mover is not None:
        ann.send({"msg": "move", "move": {"type": "take"}})
        await net.settle()
    back = await login(net, BOB)
    back.request("join", id="r", room=room, since=last)
    await net.settle()
    assert back.raw[0][1].get("full") is True
    assert back.view == net.table(room).view_for(back.seat)
    # The rest of the game, and a rematch: its deal is whole again.
    await net.play([ann, back])
    for client in (ann, back):
        client.request("rematch")
        await net.settle()
    deals = [m for _, m in ann.raw if (m.get("event") or {}).get("type") == "start"]
    assert len(deals) == 2 and all(m.get("full") for m in deals)


async def test_leaving_and_coming_back_from_the_lobby_starts_whole(nets: Any) -> None:
    net = nets()
    ann, bob = await login(net, ANN), await login(net, BOB)
    ann.request("create", game="crazy_eights", name="Wait", seats=3)
    await net.settle()
    room = ann.room
    await net.join(bob, room, **{"as": "spectator"})
    bob.request("leave")
    await net.settle()
    assert bob.of("left")
    ann.request("add_bot")
    await net.settle()
    await net.join(bob, room, **{"as": "spectator"})
    assert bob.raw[-1][1].get("full") is True
    assert bob.view == net.table(room).view_for(None)


async def test_members_who_share_a_view_share_one_text(nets: Any) -> None:
    net = nets()
    ann, bob = await login(net, ANN), await login(net, BOB)
    watchers = [await login(net, user) for user in (CID, DEE)]
    ann_too = await login(net, ANN)  # a second tab of the same seat
    ann.request("create", game="crazy_eights", name="Shared", seats=2)
    await net.settle()
    room = ann.room
    await net.join(ann_too, room)
    for watcher in watchers:
        await net.join(watcher, room, **{"as": "spectator"})
    await net.join(bob, room)
    for client in [ann, ann_too] + watchers:
        client.mark()
        client.raw.clear()
    await net.play([ann, bob], until_done=lambda: len(watchers[0].raw) >= 6)
    texts = [[text for text, _ in client.raw] for client in watchers + [ann, ann_too]]
    assert all(len(t) >= 6 for t in texts)
    cid, dee, tab_1, tab_2 = texts
    # The very same text object: encoded once, framed once by the transport.
    assert all(a is b for a, b in zip(cid, dee))
    # A seat's two tabs share the texts that do not answer one of them (no `re`).
    assert any(a is b for a, b in zip(tab_1, tab_2))
    for a, b in zip(tab_1, tab_2):
        if '"re":' not in a and '"re":' not in b:
            assert a is b


async def test_a_delayed_spectator_merges_to_the_tables_protocol_2_shows(nets: Any) -> None:
    net = nets()
    ann, bob = await login(net, ANN), await login(net, BOB)
    eve, fay = await login(net, EVE), await login(net, FAY, protocol=2)
    ann.request("create", game="crazy_eights", name="Later", seats=2, spectators="delayed",
                spectator_delay=2)
    await net.settle()
    room = ann.room
    await net.join(eve, room, **{"as": "spectator"})
    await net.join(fay, room, **{"as": "spectator"})
    await net.join(bob, room)
    await net.play([ann, bob])
    assert_same_tables(eve, fay)
    assert eve.view["status"] == "finished"
    assert sum(1 for _, m in eve.raw if not m.get("full")) > 10


async def test_no_player_is_sent_another_hand_in_a_patch(nets: Any) -> None:
    net = nets()
    players = [await login(net, user) for user in (ANN, BOB, CID, DEE)]
    for client in players:
        guard_hidden_cards(net.hub, client)
    await _four_seat_room(net, players)
    await net.play(players)
    hub_table = net.table(players[0].room)
    assert hub_table.status.value == "finished"
    for client in players:
        you = client.seat
        for _, message in client.raw:
            if message["table"].get("you", you) != you:
                raise AssertionError(f"{client} was sent the view of seat {message['table']}")
            state = message["table"].get("game_state") or {}
            if "hands" in state:
                assert message["table"].get("status", "finished") == "finished"


@pytest.mark.parametrize("seed", range(4))
async def test_random_sessions_keep_every_promise_in_protocol_3(nets: Any, seed: int,
                                                                monkeypatch: Any) -> None:
    """test_hub_random's sessions (joins, leaves, drops, rejoins, garbage, two games at once)
    with every connection on protocol 3: after each step, each connection's merged table is
    exactly the room's current view of it."""
    import test_hub_random

    async def login_3(net: Net, user_id: int) -> Client:
        return await login(net, user_id)

    made: list[Net] = []

    def build(**options: Any) -> Net:
        made.append(nets(**options))
        return made[-1]

    monkeypatch.setattr(Net, "login", login_3)
    await test_hub_random.test_random_sessions_keep_every_promise(build, seed)
    patched = [c for net in made for c in net.clients]
    assert patched and all(isinstance(c, PatchedClient) for c in patched)
    assert any(not m.get("full") for c in patched for _, m in c.raw)


# --- bytes on the wire -----------------------------------------------------------------------


async def state_bytes(protocol: int, seed: int = 1234) -> tuple[float, float, int]:
    """Play a 4-seat Crazy Eights game of four people who all speak `protocol`; returns the mean
    bytes of the SockJS message text of a state (every state the four received, from the
    room's creation to the end), the same for the states after the deal, and their count."""
    hub = make_hub(seed=seed)
    try:
        net = Net(hub)
        players = [await login(net, user, protocol) for user in (ANN, BOB, CID, DEE)]
        sizes: list[tuple[int, int]] = []  # (seq, bytes)
        dealt: dict[str, int] = {}

        def measure(text: str, message: dict[str, Any]) -> None:
            if message["msg"] == "state":
                sizes.append((message["seq"], len(text.encode("utf-8"))))
                if message.get("event", {}).get("type") == "start":
                    dealt["seq"] = message["seq"]

        for client in players:
            if protocol == 3:
                client.raw = _Measured(client.raw, measure)
            else:
                client.checks.insert(0, measure)
        await _four_seat_room(net, players)
        await net.play(players)
        assert players[0].view["status"] == "finished"
        problems = net.problems()
        assert not problems, problems[:3]
        after = [size for seq, size in sizes if seq > dealt["seq"]]
        return sum(s for _, s in sizes) / len(sizes), sum(after) / len(after), len(sizes)
    finally:
        hub.stop_timers()


class _Measured(list):
    """A PatchedClient's `raw` list that reports each (text, message) as it is appended."""

    def __init__(self, items: list, report: Any) -> None:
        super().__init__(items)
        self._report = report

    def append(self, item: tuple[str, dict[str, Any]]) -> None:
        self._report(*item)
        super().append(item)


async def test_a_state_is_at_most_400_bytes_on_average_in_protocol_3() -> None:
    """Issue 14, target 7: bytes per state on the wire in a 4-seat Crazy Eights game."""
    whole, _, count_2 = await state_bytes(2)
    patched, _, count_3 = await state_bytes(3)
    assert count_2 == count_3  # the same game, state for state
    assert patched <= 400, (whole, patched)
    assert patched < whole * 0.7, (whole, patched)


async def _main() -> None:
    for protocol in (2, 3):
        means = [await state_bytes(protocol, seed) for seed in (1234, 1, 2, 3, 4)]
        for seed, (all_states, after_deal, count) in zip((1234, 1, 2, 3, 4), means):
            print(f"protocol {protocol}, seed {seed}: {all_states:.0f} bytes per state "
                  f"({after_deal:.0f} after the deal), {count} states")


if __name__ == "__main__":
    asyncio.run(_main())
