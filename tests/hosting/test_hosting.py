"""Two game servers in one process, sharing one SQLite database and an in-process directory:
the lobby of both, redirects, placement, takeover of a dead server's room, fencing of a server
that was only frozen, and drain. No sockets and no Redis; the heartbeat is called by hand and
the directory's clock is a fake one, so a server "dies" when the clock passes its TTL.

The same scenarios run against real processes, Redis and nginx in tests/topology/.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from game_server.directory import LocalDirectory, LocalState
from game_server.hosting import Hosting
from game_server.protocol import Hub, HubSettings
from game_server.rules import GAMES
from game_server.storage.db import make_engine
from game_server import hosting as hosting_module
from game_server.protocol import hub as hub_module
from game_server.storage.hosts import RoomHosts
from game_server.storage.migrate import upgrade
from game_server.storage.movelog import MoveLog
from game_server.storage.users import UserStore
from game_server.tables import Player

TTL = 5.0
USERS = {1: "Ann", 2: "Bob", 3: "Cid"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Client:
    """One connection to one of the servers: every message it receives, parsed."""

    def __init__(self, server: "Server", user: int) -> None:
        self.server = server
        self.user = user
        self.received: list[dict[str, Any]] = []
        self.peer = server.hub.connect(lambda text: self.received.append(json.loads(text)),
                                       lambda code, reason: None)

    async def send(self, **message: Any) -> dict[str, Any]:
        """Send a request and return its reply (the message carrying its id as `re`)."""
        message.setdefault("id", len(self.received) + 1000)
        count = len(self.received)
        self.peer.receive(json.dumps(message))
        for _ in range(400):
            for reply in self.received[count:]:
                if reply.get("re") == message["id"]:
                    return reply
            await asyncio.sleep(0.01)
        raise AssertionError(f"no reply to {message} on {self.server.id}: {self.received[count:]}")

    def last(self, msg: str) -> dict[str, Any] | None:
        return next((m for m in reversed(self.received) if m.get("msg") == msg), None)


class Server:
    def __init__(self, server_id: str, url: str, state: LocalState, clock: Clock) -> None:
        self.id = server_id
        self.engine = make_engine(url)
        self.move_log = MoveLog(self.engine, server_id)
        self.directory = LocalDirectory(ttl=TTL, clock=clock, state=state)
        self.clock = clock

        async def load_user(user_id: int) -> Player | None:
            return Player(user_id, USERS[user_id]) if user_id in USERS else None

        self.hub = Hub(read_token=lambda token: int(token.removeprefix("token-")),
                       load_user=load_user, move_log=self.move_log,
                       issue_token=lambda user_id: f"token-{user_id}",
                       settings=HubSettings(server_id=server_id, bot_delay=0.0))
        self.hosting = Hosting(hub=self.hub, directory=self.directory,
                               hosts=RoomHosts(self.engine), move_log=self.move_log,
                               server_id=server_id, public_url=f"/g/{server_id}/sockjs",
                               issue_token=lambda user_id: f"token-{user_id}", ttl=TTL,
                               clock=clock)
        self.hub.hosting = self.hosting
        self.hosting.listen()  # the heartbeat itself is driven by the tests

    async def client(self, user: int) -> Client:
        client = Client(self, user)
        welcome = await client.send(msg="auth", protocol=2, token=f"token-{user}")
        assert welcome["msg"] == "welcome", welcome
        return client

    def close(self) -> None:
        self.hub.stop_timers()
        self.move_log.close()
        self.engine.dispose()


@pytest.fixture
async def servers(tmp_path, monkeypatch):
    # Lists are fetched again at once after a notice (these tests run faster than a player).
    monkeypatch.setattr(hub_module, "ROOM_LIST_FRESH_SECONDS", 0.0)
    url = f"sqlite:///{tmp_path / 'game.db'}"
    upgrade(url)
    engine = make_engine(url)
    users = UserStore(engine)
    assert [users.add(name).id for name in USERS.values()] == list(USERS)
    engine.dispose()
    state, clock = LocalState(), Clock()
    made = [Server(f"game-{n}", url, state, clock) for n in (1, 2)]
    for server in made:
        await server.hosting.beat()
    yield made[0], made[1], clock
    for server in made:
        await server.directory.close()
        server.close()


async def settle(*servers: Server) -> None:
    """Let commits land and timers run, then beat every server."""
    for server in servers:
        await server.hub.flush(5.0)
    await asyncio.sleep(0.05)
    for server in servers:
        await server.hosting.beat()
    await asyncio.sleep(0.01)  # lobby-change notices are delivered on the loop


async def test_each_lobby_lists_the_rooms_of_both_servers(servers):
    a, b, _ = servers
    ann = await a.client(1)
    state = await ann.send(msg="create", game="hearts", name="On A")
    bob = await b.client(2)
    await settle(a, b)
    listed = await bob.send(msg="room_list")
    assert [(room["id"], room["server"]) for room in listed["rooms"]] == [
        (state["room"], "game-1")]


async def test_a_join_of_a_room_elsewhere_is_redirected_with_a_fresh_token(servers):
    a, b, _ = servers
    ann = await a.client(1)
    room = (await ann.send(msg="create", game="crazy_eights", name="On A", seats=2))["room"]
    await settle(a, b)
    bob = await b.client(2)
    reply = await bob.send(msg="join", room=room)
    assert reply == {"msg": "redirect", "room": room, "server": "game-1",
                     "url": "/g/game-1/sockjs", "token": "token-2", "re": reply["re"]}
    # Following it: the same request on the hosting server seats Bob and deals.
    bob_on_a = await a.client(2)
    state = await bob_on_a.send(msg="join", room=room)
    assert state["msg"] == "state"
    await settle(a, b)
    assert bob_on_a.last("state")["table"]["status"] == "playing"


async def test_create_goes_to_the_less_loaded_server(servers):
    a, b, _ = servers
    ann = await a.client(1)
    await ann.send(msg="create", game="hearts", name="First")
    await settle(a, b)
    cid = await a.client(3)
    reply = await cid.send(msg="create", game="hearts", name="Second")
    assert reply["msg"] == "redirect" and reply["server"] == "game-2" and reply["room"] is None


async def test_a_dead_servers_room_is_taken_over_with_its_hands(servers):
    a, b, clock = servers
    ann = await a.client(1)
    state = await ann.send(msg="create", game="crazy_eights", name="Duel", seats=3)
    room = state["room"]
    await ann.send(msg="add_bot")
    await ann.send(msg="add_bot")
    await settle(a, b)
    assert ann.last("state")["table"]["status"] == "playing"
    hand = ann.last("state")["table"]["game_state"]["hand"]
    seq = ann.last("state")["seq"]

    # game-1 stops beating (it died): past the TTL, game-2's heartbeat takes the room over.
    clock.now += TTL + 1
    await b.hosting.beat()
    assert b.hub.lobby.get(room) is not None
    host = RoomHosts(b.engine).host(room)
    assert (host.server_id, host.epoch) == ("game-2", 2)

    ann_on_b = await b.client(1)
    state = await ann_on_b.send(msg="join", room=room)
    assert state["msg"] == "state"
    assert state["table"]["game_state"]["hand"] == hand
    assert state["seq"] > seq


async def test_a_frozen_server_commits_nothing_more_and_sends_its_players_on(servers):
    a, b, clock = servers
    ann = await a.client(1)
    room = (await ann.send(msg="create", game="crazy_eights", name="Duel", seats=2))["room"]
    bob = await a.client(2)
    await bob.send(msg="join", room=room)
    await settle(a, b)
    seq_before = _moves(a, room)[-1][0]

    clock.now += TTL + 1  # game-1 is frozen: game-2 takes the room over
    await b.hosting.beat()
    assert RoomHosts(b.engine).host(room).server_id == "game-2"

    # game-1 wakes up and a player moves there: the commit is fenced out.
    table = a.hub.lobby.get(room)
    mover = ann if 0 in table.to_act() else bob
    move = GAMES["crazy_eights"].move_from_view(mover.last("state")["table"]["game_state"])
    reply = await mover.send(msg="move", move=move)
    assert reply["msg"] == "error" and reply["code"] == "unavailable"
    for _ in range(100):
        if mover.last("redirect") is not None:
            break
        await asyncio.sleep(0.02)
    assert mover.last("redirect")["server"] == "game-2"
    assert a.hub.lobby.get(room) is None
    # After the takeover only game-2 wrote: marking the two players away (nobody is
    # connected to it yet); game-1's move is not in the log.
    assert [kind for seq, kind in _moves(a, room) if seq > seq_before] == [
        "disconnect@1", "disconnect@1"]


async def test_drain_hands_every_room_on_and_redirects_its_players(servers):
    a, b, _ = servers
    ann = await a.client(1)
    room = (await ann.send(msg="create", game="hearts", name="Night"))["room"]
    for _ in range(3):
        await ann.send(msg="add_bot")
    await settle(a, b)

    await a.hosting.drain(10.0)
    assert len(a.hub.lobby) == 0
    assert ann.last("redirect")["server"] == "game-2"
    assert RoomHosts(a.engine).host(room).server_id == "game-2"

    ann_on_b = await b.client(1)
    state = await ann_on_b.send(msg="join", room=room)
    assert state["msg"] == "state" and state["table"]["status"] == "playing"
    assert state["table"]["game_state"]["hand"] == ann.last("state")["table"]["game_state"]["hand"]


def _moves(server: Server, room: str) -> list[tuple[int, str]]:
    """The room's move log: (seq, kind) in order."""
    from sqlalchemy import select

    from game_server.storage.models import Move
    with server.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            select(Move.seq, Move.kind).where(Move.room_id == room).order_by(Move.seq))]


async def test_no_takeover_until_every_live_server_had_time_to_beat(tmp_path):
    """A server that just started (or whose directory just came back, e.g. a restarted Redis
    that forgot everyone) must not take over rooms whose servers are alive but have not
    beaten yet."""
    url = f"sqlite:///{tmp_path / 'game.db'}"
    upgrade(url)
    engine = make_engine(url)
    UserStore(engine).add("Ann")
    engine.dispose()
    clock = Clock()
    a = Server("game-1", url, LocalState(), clock)
    b = Server("game-2", url, LocalState(), clock)  # a directory that knows nothing of game-1
    try:
        ann = await a.client(1)
        room = (await ann.send(msg="create", game="hearts", name="Night"))["room"]
        await a.hub.flush(5.0)
        await b.hosting.beat()
        assert RoomHosts(b.engine).host(room).server_id == "game-1"
        clock.now += TTL + 2  # game-1 never shows up in game-2's directory: dead
        await b.hosting.beat()
        assert RoomHosts(b.engine).host(room).server_id == "game-2"
    finally:
        for server in (a, b):
            await server.directory.close()
            server.close()


async def test_a_user_playing_on_one_server_cannot_sit_down_on_another(servers):
    a, b, _ = servers
    ann = await a.client(1)
    room = (await ann.send(msg="create", game="crazy_eights", name="Duel", seats=2))["room"]
    await ann.send(msg="add_bot")
    await settle(a, b)  # the game runs: game-1's heartbeat claims Ann's seat
    bob = await b.client(2)
    other = (await bob.send(msg="create", game="hearts", name="Bob's"))["room"]
    ann_on_b = await b.client(1)
    for request in ({"msg": "create", "game": "hearts", "name": "Second"},
                    {"msg": "join", "room": other}):
        reply = await ann_on_b.send(**request)
        assert reply["msg"] == "error" and reply["code"] == "already_in_room", reply
        assert room in reply["text"]
    # Her own room is fine: the join is sent to its server.
    reply = await ann_on_b.send(msg="join", room=room)
    assert reply["msg"] == "redirect" and reply["server"] == "game-1"


async def test_every_connection_gets_a_fresh_token_in_welcome_and_then_regularly(
        servers, monkeypatch):
    from game_server.protocol import hub as hub_module
    monkeypatch.setattr(hub_module, "TOKEN_REFRESH_SECONDS", 0.05)
    a, _, _ = servers
    ann = await a.client(1)
    assert ann.last("welcome")["token"] == "token-1"
    for _ in range(100):
        if len([m for m in ann.received if m["msg"] == "token"]) >= 2:
            break
        await asyncio.sleep(0.02)
    tokens = [m for m in ann.received if m["msg"] == "token"]
    assert len(tokens) >= 2 and all(m == {"msg": "token", "token": "token-1"} for m in tokens)
    ann.peer.disconnected()
    count = len(ann.received)
    await asyncio.sleep(0.2)
    assert len(ann.received) == count  # no token for a closed connection


async def test_a_quiet_beat_does_not_ask_the_database(servers):
    """The heartbeat's cost does not grow with the rooms: with every server beating and
    nothing handed over, a beat reads nothing from the database until the periodic check."""
    a, b, clock = servers
    ann = await a.client(1)
    await ann.send(msg="create", game="hearts", name="Quiet")
    await settle(a, b)
    asked: list[str] = []
    for name in ("hosts", "open_servers", "hosted_by"):
        method = getattr(a.hosting.hosts, name)

        def counted(*args, _method=method, _name=name):
            asked.append(_name)
            return _method(*args)

        setattr(a.hosting.hosts, name, counted)
    beats = 0
    while not asked and beats < 100:
        clock.now += 1.0
        await a.hosting.beat()
        await b.hosting.beat()
        beats += 1
    assert beats == hosting_module.HOSTS_CHECK  # then the periodic check
    assert asked == ["open_servers", "hosted_by"]


async def test_sign_ins_in_one_second_read_the_merged_room_list_once(servers, monkeypatch):
    a, b, clock = servers
    bob = await b.client(2)
    await bob.send(msg="create", game="hearts", name="On B")
    await settle(a, b)
    fetched = []
    room_list = a.directory.room_list

    async def counted(*args, **kwargs):
        fetched.append(1)
        return await room_list(*args, **kwargs)

    a.directory.room_list = counted
    # Times long enough for a slow machine, then shortened to show what each one bounds.
    monkeypatch.setattr(hub_module, "ROOM_LIST_CACHE_SECONDS", 60.0)
    monkeypatch.setattr(hub_module, "ROOM_LIST_FRESH_SECONDS", 30.0)
    lists = await asyncio.gather(*(a.hub.room_list() for _ in range(5)))
    lists.append(await a.hub.room_list())
    assert len(fetched) == 1
    assert all([room["name"] for room in found["rooms"]] == ["On B"] for found in lists)
    a.hub.lobby_changed()  # a notice: some server's rooms changed
    await a.hub.room_list()
    assert len(fetched) == 1  # the list was fetched less than ROOM_LIST_FRESH_SECONDS ago
    monkeypatch.setattr(hub_module, "ROOM_LIST_FRESH_SECONDS", 0.0)
    await a.hub.room_list()
    assert len(fetched) == 2  # after a notice, a list older than that is fetched again
    await a.hub.room_list()
    assert len(fetched) == 2
    monkeypatch.setattr(hub_module, "ROOM_LIST_CACHE_SECONDS", 0.0)  # and every list in time
    await a.hub.room_list()
    assert len(fetched) == 3
