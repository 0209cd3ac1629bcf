"""Three game servers behind nginx, as deployed: the lobby, placement, redirects, and what
players see when a server dies, freezes, drains, or loses Redis.

Every player talks to nginx only (`cluster.origin`); redirects name `/g/<server id>/sockjs`,
relative to it. Servers run with a heartbeat TTL of 2 s (`cluster.TTL`).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from cluster import Cluster, game_server_command, until
from players import Player, hand, play_to_end

from game_server.client import GameClient, choose, dev_login
from game_server.protocol.hub import ROOM_LIST_CACHE_SECONDS

IDS = ("game-1", "game-2", "game-3")


async def play_some(players: list[Player], room: str, moves: int) -> None:
    """Make `moves` moves in `room` (whoever is to act), then wait until every player has
    seen the last one, so that nothing is in flight."""
    made = 0
    acted: dict[str, int] = {}
    deadline = time.monotonic() + 20
    while made < moves:
        assert time.monotonic() < deadline, "the players could not make their moves"
        for player in players:
            state = player.latest(room)
            move = choose(state["table"])
            if move is not None and acted.get(player.name) != state["seq"]:
                acted[player.name] = state["seq"]
                assert (await player.act(move))["msg"] == "state"
                made += 1
        await asyncio.sleep(0.01)
    await settled(players, room)


async def settled(players: list[Player], room: str) -> int:
    """Wait until every player's newest state of `room` has the same seq; return it."""
    def same() -> int | None:
        seqs = {player.latest(room)["seq"] for player in players}
        return seqs.pop() if len(seqs) == 1 else None

    return await until(same, 10, "the players to see the same state")


async def two_player_game(cluster: Cluster,
                          names: tuple[str, str]) -> tuple[list[Player], str, str]:
    """A running 2-seat Crazy Eights game without bots: (players, room, its host). Both sign
    in through the lobby; the first creates (placed by load), the second joins (following a
    redirect if its lobby session is on another server). Returns once the directory lists
    the room, so that the next room is placed knowing this one."""
    players = [Player(cluster.origin, name) for name in names]
    for player in players:
        await player.sign_in()
    room = (await players[0].create(seats=2))["room"]
    await players[1].join(room)
    host = players[0].server
    assert players[1].server == host
    assert cluster.database.host(room)[0] == host
    await until(lambda: cluster.located(room) == host, 5, f"{room} in the directory")
    return players, room, host


def check_result(cluster: Cluster, room: str, finals: list[dict[str, Any]]) -> None:
    """The move log of `room` replays to the result the players saw."""
    records = cluster.database.check_move_log(room)
    assert records, f"no finished game in {room}"
    result = finals[0]["table"]["result"]
    assert records[-1]["winner"] == result["winner"]
    assert [seat["score"] for seat in records[-1]["seats"]] == [
        score for score in result["scores"] if score is not None]


def room_list_of(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("msg") == "room_list"]


# --- the lobby and placement -------------------------------------------------------------

async def test_nginx_routes_and_keeps_each_lobby_session_on_one_server(cluster):
    await cluster.start()
    # The HTTP transports send and receive with separate requests: all of one session must
    # reach one server (nginx hashes the session id), while sessions spread over servers.
    token, _ = await dev_login(cluster.origin, "sticky")
    servers = []
    clients = []
    try:
        for n in range(9):
            client = await GameClient.connect(
                cluster.origin, transport=("xhr-polling", "xhr-streaming")[n % 2])
            clients.append(client)
            servers.append((await client.auth(token))["server"])
            for _ in range(3):
                assert (await client.request({"msg": "room_list"}))["msg"] == "room_list"
    finally:
        for client in clients:
            await client.close()
    assert len(set(servers)) >= 2, servers

    http = AsyncHTTPClient()
    for path in ("/", "/config.json", "/vendor/sockjs.min.js", "/sockjs/info",
                 "/g/game-2/sockjs/info", "/api/leaderboard"):
        response = await http.fetch(cluster.origin + path)
        assert response.code == 200, path
    response = await http.fetch(cluster.origin + "/g/no-such-server/sockjs/info",
                                raise_error=False)
    assert response.code == 404


async def test_one_connection_lists_the_rooms_of_every_server(cluster):
    await cluster.start()
    watcher = Player(cluster.origin, "watcher")
    welcome = await watcher.sign_in(via="game-1")
    assert welcome["server"] == "game-1"
    creators = [Player(cluster.origin, f"creator{n}") for n in range(3)]
    rooms: dict[str, str] = {}
    for creator in creators:
        await creator.sign_in()
        state = await creator.create(seats=3)
        room, host = state["room"], creator.server
        rooms[room] = host
        # Pushed (the directory's notice) or asked for: within 2 s of the reply.
        created = time.monotonic()
        seen = len(watcher.client.received)

        async def listed() -> bool:
            nonlocal seen
            for message in room_list_of(watcher.client.received[seen:]):
                if any(entry["id"] == room for entry in message["rooms"]):
                    return True
            seen = len(watcher.client.received)
            await watcher.client.request({"msg": "room_list"})
            return False

        await until(listed, 2.0, f"room {room} on {host} in game-1's room list", 0.25)
        assert time.monotonic() - created < 2.5
    assert sorted(rooms.values()) == list(IDS), f"placed by load: {rooms}"
    listing = await watcher.client.request({"msg": "room_list"})
    assert "partial" not in listing
    assert {entry["id"]: entry["server"] for entry in listing["rooms"]} == rooms
    await until(lambda: [m for m in room_list_of(watcher.client.received) if "re" not in m],
                3, "a room list pushed to the watcher")
    for player in [watcher, *creators]:
        player.check_messages()
        await player.close()


async def test_new_rooms_are_spread_over_the_servers_by_load(cluster):
    await cluster.start()
    hosts = []
    players = []
    for n in range(6):
        player = Player(cluster.origin, f"spread{n}")
        players.append(player)
        await player.sign_in(via="game-1")  # every create asks game-1
        room = (await player.create(seats=2))["room"]
        hosts.append(player.server)
        # Placement reads the load the servers publish with their heartbeat.
        await until(lambda: cluster.located(room) == player.server, 5,
                    f"room {room} in the directory")
    counts = {server_id: hosts.count(server_id) for server_id in IDS}
    assert counts == {server_id: 2 for server_id in IDS}, hosts
    assert sum(1 for player in players if player.redirects) == 4  # game-1 keeps 2
    for player in players:
        await player.close()


# --- redirects and play --------------------------------------------------------------------

@pytest.mark.parametrize("transport", ["websocket", "xhr-streaming"])
async def test_join_on_another_server_through_a_redirect_and_play_to_the_end(cluster,
                                                                            transport):
    await cluster.start()
    ann = Player(cluster.origin, "ann", transport)
    bob = Player(cluster.origin, "bob", transport)
    await ann.sign_in()
    room = (await ann.create(seats=3))["room"]
    host = ann.server
    await until(lambda: cluster.located(room) == host, 5, f"{room} in the directory")
    # Bob signs in on another server: its room list names the host, and the join is
    # answered with a redirect to it.
    await bob.sign_in(via=next(server_id for server_id in IDS if server_id != host))


    async def listed_on_host() -> bool:
        listing = await bob.client.request({"msg": "room_list"})
        return {entry["id"]: entry["server"] for entry in listing["rooms"]}.get(room) == host

    # A server answers with a list at most ROOM_LIST_CACHE_SECONDS old.
    await until(listed_on_host, 3, f"{room} on {host} in Bob's list", 0.1)
    first = bob.client
    state = await bob.join(room)
    (redirect,) = bob.redirects
    assert redirect["server"] == host and redirect["room"] == room
    assert redirect["url"] == f"/g/{host}/sockjs"  # relative to the origin: nginx
    assert bob.client is not first and first.close_reason is not None
    assert (bob.client.base_url, bob.client.prefix) == (cluster.origin, f"/g/{host}/sockjs")
    assert bob.client.transport_name == transport
    assert bob.server == host and state["table"]["you"] == 1
    await ann.request({"msg": "add_bot"})  # the last seat: the game starts
    finals = await play_to_end([ann, bob], room)
    assert finals[0]["table"]["status"] == "finished"
    check_result(cluster, room, finals)
    for player in (ann, bob):
        player.check_messages()
        await player.close()


# --- a server dies, freezes, drains --------------------------------------------------------

async def test_a_killed_server_s_game_is_taken_over_and_finished(cluster):
    await cluster.start()
    players, room, host = await two_player_game(cluster, ("ann", "bob"))
    await play_some(players, room, 4)
    before = {player.name: player.latest(room) for player in players}
    epoch = cluster.database.host(room)[1]

    killed = time.monotonic()
    cluster.server(host).kill()
    await until(lambda: cluster.located(room) != host, cluster.ttl + 2,
                f"{room} to leave {host} in the directory", 0.02)
    new_host, new_epoch, _ = await until(
        lambda: (found := cluster.database.host(room))[0] != host and found,
        cluster.ttl + 3, f"{room} to be taken over")
    assert new_host in IDS and new_host != host
    assert new_epoch == epoch + 1
    print(f"taken over by {new_host} {time.monotonic() - killed:.2f} s after the kill")
    await until(lambda: cluster.located(room) == new_host, 3, f"{room} listed on {new_host}")

    for player in players:
        assert player.trouble() == ("closed", None)
        state = await player.come_back(room)
        assert player.server == new_host
        assert hand(state) == hand(before[player.name])
        assert state["seq"] > before[player.name]["seq"]
    finals = await play_to_end(players, room)
    check_result(cluster, room, finals)
    assert cluster.database.host(room)[:2] == (new_host, epoch + 1)  # taken over once
    takeovers = [line for lines in cluster.logs_mentioning(f"took over room {room}").values()
                 for line in lines]
    assert len(takeovers) == 1, takeovers
    for player in players:
        player.check_messages()
        await player.close()


async def test_a_frozen_server_commits_nothing_after_its_room_is_taken_over(cluster):
    await cluster.start()
    players, room, host = await two_player_game(cluster, ("ann", "bob"))
    await play_some(players, room, 4)
    before = {player.name: player.latest(room) for player in players}
    epoch = cluster.database.host(room)[1]

    cluster.server(host).send(signal.SIGSTOP)
    # The player to act moves while the server is frozen: the move waits in the socket.
    mover = next(player for player in players if choose(player.latest(room)["table"]))
    mover.client.send({**choose(mover.latest(room)["table"]), "id": "frozen"})
    new_host, new_epoch, _ = await until(
        lambda: (found := cluster.database.host(room))[0] != host and found,
        cluster.ttl + 3, f"{room} to be taken over")
    assert new_epoch == epoch + 1
    await until(lambda: cluster.located(room) == new_host, 3, f"{room} listed on {new_host}")
    taken_over = cluster.database.seqs(room)

    cluster.server(host).send(signal.SIGCONT)
    # The old host tries to commit the move, is refused (fenced by the epoch), and sends its
    # players on: a redirect to the new host, or at least a closed connection.
    troubles = {player.name: await player.wait_trouble(10) for player in players}
    for player in players:
        kind, message = troubles[player.name]
        assert kind in ("redirect", "closed"), troubles
        if kind == "redirect":
            # The new host; or, when the old host's first heartbeat after SIGCONT re-listed the
            # room just before (see test_a_resumed_server_does_not_list_a_room_it_lost), the
            # old host itself, which then redirects the join to the new one.
            assert message["server"] in (new_host, host), message
            assert message["url"] == f"/g/{message['server']}/sockjs"
        assert not any(m.get("re") == "frozen" and m.get("msg") == "state"
                       for m in player.client.received)
        state = await player.come_back(room, troubles[player.name])
        assert player.server == new_host
        # The move made on the frozen server did not happen.
        assert hand(state) == hand(before[player.name])
    assert cluster.database.seqs(room)[:len(taken_over)] == taken_over
    fenced = cluster.logs_mentioning(f"room {room} was taken over by another server")[host]
    assert fenced, f"{host} did not notice that it lost {room}"
    assert cluster.server(host).running

    finals = await play_to_end(players, room)
    check_result(cluster, room, finals)
    assert cluster.database.host(room)[:2] == (new_host, epoch + 1)

    async def listed_once() -> bool:
        listing = await players[0].client.request({"msg": "room_list"})
        return [entry["server"] for entry in listing["rooms"] if entry["id"] == room] == [
            new_host]

    # At once but for the old host's stale listing (test_a_resumed_server_does_not_list_...).
    await until(listed_once, 3, f"{room} to be listed once, on {new_host}", 0.1)
    for player in players:
        player.check_messages()
        await player.close()


async def test_a_resumed_server_does_not_list_a_room_it_lost(cluster):
    await cluster.start()
    players, room, host = await two_player_game(cluster, ("ann", "bob"))
    watcher = Player(cluster.origin, "watcher")
    await watcher.sign_in(via=next(server_id for server_id in IDS if server_id != host))
    cluster.server(host).send(signal.SIGSTOP)
    new_host, _, _ = await until(
        lambda: (found := cluster.database.host(room))[0] != host and found,
        cluster.ttl + 3, f"{room} to be taken over")
    await until(lambda: cluster.located(room) == new_host, 3, f"{room} listed on {new_host}")

    async def listed_on_new_host() -> bool:
        listing = await watcher.client.request({"msg": "room_list"})
        return [entry["server"] for entry in listing["rooms"]
                if entry["id"] == room] == [new_host]

    # The watcher's server answers with a list at most ROOM_LIST_CACHE_SECONDS old.
    await until(listed_on_new_host, 3, f"{room} in the watcher's list, on {new_host}", 0.1)
    try:
        cluster.server(host).send(signal.SIGCONT)
        resumed = time.monotonic()
        while time.monotonic() - resumed < 2.5:  # two heartbeats of the old host
            assert cluster.located(room) == new_host
            listing = await watcher.client.request({"msg": "room_list"})
            assert [entry["server"] for entry in listing["rooms"]
                    if entry["id"] == room] == [new_host]
            await asyncio.sleep(0.02)
    finally:
        for player in [*players, watcher]:
            await player.close()


async def test_a_drained_server_s_games_finish_on_the_other_servers(cluster):
    # Both games on game-1: it is the only server when they are created.
    await cluster.start(["game-1"])
    first, room1, host1 = await two_player_game(cluster, ("ann", "bob"))
    second, room2, host2 = await two_player_game(cluster, ("cat", "dan"))
    assert host1 == host2 == "game-1"
    await cluster.start(["game-2", "game-3"])
    await play_some(first, room1, 3)
    await play_some(second, room2, 3)

    drain = subprocess.run([*game_server_command(), "drain", "game-1"], env=cluster.env,
                           capture_output=True, text=True, timeout=30)
    assert drain.returncode == 0, drain.stderr
    assert "asked server game-1 to drain" in drain.stdout
    assert await cluster.server("game-1").exited(20) == 0
    for room in (room1, room2):
        server_id, epoch, status = cluster.database.host(room)
        assert (server_id in ("game-2", "game-3"), epoch, status) == (True, 2, "open")
    for player in first + second:
        kind, message = await player.wait_trouble(5)
        assert kind == "redirect", (kind, message)
    results = await asyncio.gather(play_to_end(first, room1), play_to_end(second, room2))
    for players, room, finals in zip((first, second), (room1, room2), results):
        assert {player.server for player in players} == {cluster.database.host(room)[0]}
        check_result(cluster, room, finals)
    for player in first + second:
        player.check_messages()
        await player.close()


# --- Redis goes away -----------------------------------------------------------------------

async def test_without_redis_every_server_plays_its_own_tables(cluster):
    await cluster.start()
    first, room1, host1 = await two_player_game(cluster, ("ann", "bob"))
    second, room2, host2 = await two_player_game(cluster, ("cat", "dan"))
    assert host1 != host2  # placed by load
    (idle,) = set(IDS) - {host1, host2}
    watcher = Player(cluster.origin, "watcher")
    await watcher.sign_in(via=idle)

    async def both_listed() -> bool:
        listing = await watcher.client.request({"msg": "room_list"})
        return {entry["id"] for entry in listing["rooms"]} == {room1, room2}

    await until(both_listed, 3, "both rooms in the watcher's list", 0.1)

    redirects = {player.name: len(player.redirects) for player in first + second}
    cluster.redis.stop()
    # A server answers with the room list it fetched less than ROOM_LIST_CACHE_SECONDS ago.
    await asyncio.sleep(ROOM_LIST_CACHE_SECONDS)
    listing = await first[0].client.request({"msg": "room_list"})
    assert listing["partial"] is True
    assert [entry["id"] for entry in listing["rooms"]] == [room1]
    assert (await watcher.client.request({"msg": "room_list"}))["rooms"] == []
    results = await asyncio.gather(play_to_end(first, room1), play_to_end(second, room2))
    for players, room, finals in zip((first, second), (room1, room2), results):
        check_result(cluster, room, finals)
        assert all(len(player.redirects) == redirects[player.name] for player in players)
    listing = await second[0].client.request({"msg": "room_list"})
    assert listing["partial"] is True
    assert [entry["id"] for entry in listing["rooms"]] == [room2]

    await cluster.redis.start_and_wait()  # the same port, and empty

    async def merged() -> bool:
        listing = await watcher.client.request({"msg": "room_list"})
        return "partial" not in listing and {entry["id"] for entry in listing["rooms"]} == {
            room1, room2}

    await until(merged, cluster.ttl + 3, "the room lists to merge again", 0.2)
    for player in [*first, *second, watcher]:
        player.check_messages()
        await player.close()


async def test_a_redis_restart_moves_no_room(cluster):
    # One after the other, so that their heartbeats are not in step (servers started together
    # beat at nearly the same moments, and then all may be back before any looks).
    for server_id in IDS:
        await cluster.start([server_id])
    first, room1, host1 = await two_player_game(cluster, ("ann", "bob"))
    second, room2, host2 = await two_player_game(cluster, ("cat", "dan"))
    cluster.redis.stop()
    await play_some(first, room1, 2)
    await play_some(second, room2, 2)
    await cluster.redis.start_and_wait()
    # Every server beats again within a second; give them a TTL more.
    await until(lambda: all(cluster.live(server_id) for server_id in IDS), 5,
                "every server's heartbeat")
    await asyncio.sleep(cluster.ttl + 1)
    try:
        assert cluster.database.host(room1)[:2] == (host1, 1)
        assert cluster.database.host(room2)[:2] == (host2, 1)
        assert not any(player.trouble() for player in first + second)
    finally:
        results = await asyncio.gather(play_to_end(first, room1), play_to_end(second, room2))
        for room, finals in zip((room1, room2), results):
            check_result(cluster, room, finals)
        for player in first + second:
            await player.close()
