"""Helpers for tests that talk to a real server over SockJS."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from game_server.client import GameClient, choose
from game_server.protocol.schema import check_server
from hub_fakes import PRIVATE_EVENT_FIELDS, PRIVATE_VIEW_FIELDS


async def signed_in(server, name: str, transport: str = "websocket") -> GameClient:
    """A connected client, authenticated as a (new or existing) user called `name`."""
    _, token = await server.user(name)
    client = await GameClient.connect(server.url, transport=transport)
    await client.auth(token)
    return client


async def create_room(client: GameClient, name: str, seats: int | None,
                      game: str = "crazy_eights") -> str:
    """Create a room of `game` (`seats` None: the game's usual size; the client takes seat 0)
    and return its id."""
    message = {"msg": "create", "game": game, "name": name}
    if seats is not None:
        message["seats"] = seats
    state = await client.request(message)
    return state["room"]


async def start_duel(server) -> tuple[GameClient, GameClient, str]:
    """Ann (seat 0) and Bob (seat 1) in a running 2-seat game: (ann, bob, room)."""
    ann = await signed_in(server, "Ann")
    bob = await signed_in(server, "Bob")
    room = await create_room(ann, "duel", 2)
    await bob.request({"msg": "join", "room": room})
    await until_state(ann, lambda s: s["table"]["status"] == "playing")
    return ann, bob, room


def connection_of(server, name: str) -> tuple[Any, Any]:
    """The hub's peer of the one connection signed in as `name`, and its SockJS connection."""
    (peer,) = [p for p in server.hub.peers.values()
               if p.user is not None and p.user.name == name]
    return peer, peer._send.__self__


def check_all(client: GameClient) -> None:
    """Every message the client received matches its server-to-client schema (and the game's
    schemas for its payloads), and shows nothing private to the wrong receiver: a move's
    private details only to the player they belong to, no hand to a spectator."""
    for message in client.received:
        check_server(message)
        if message.get("msg") != "state":
            continue
        table, event = message["table"], message.get("event") or {}
        you = table["you"]
        if you is None and table["game_state"] is not None:
            shown = [field for field in PRIVATE_VIEW_FIELDS if field in table["game_state"]]
            assert not shown, f"a spectator got {shown}: {message}"
        if event.get("type") == "move":
            move = event["move"]
            private = PRIVATE_EVENT_FIELDS.get((table["game"], move.get("type")), {})
            for field, who in private.items():
                if field in move:
                    assert you is not None and (who != "mover" or event["seat"] == you), (
                        f"{field} of seat {event['seat']}'s move sent to seat {you}")


async def until_state(client: GameClient, predicate, timeout: float = 10.0) -> dict[str, Any]:
    """Read states in order until one satisfies `predicate(state)`."""
    return await client.wait_for(
        lambda m: m.get("msg") == "state" and predicate(m), timeout)


def latest_state(client: GameClient, room: str) -> dict[str, Any]:
    return [m for m in client.received if m.get("msg") == "state" and m["room"] == room][-1]


async def settle(seconds: float = 0.05) -> None:
    await asyncio.sleep(seconds)


async def play_to_end(clients: list[GameClient], room: str, timeout: float = 60.0,
                      max_moves: int = 2000) -> list[dict[str, Any]]:
    """Let every client play (legal moves chosen by the game from the client's view,
    `game_server.client.choose`) until the game in `room` is finished.

    Returns each client's final state. Each client moves only on a state that names its seat
    among those to act, and only once per seq.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    acted: dict[int, int] = {}
    moves = 0
    while loop.time() < deadline:
        finals = []
        for index, client in enumerate(clients):
            state = latest_state(client, room)
            table = state["table"]
            finals.append(state)
            move = choose(table)
            if move is not None and acted.get(index) != state["seq"]:
                acted[index] = state["seq"]
                try:
                    await client.request(move, timeout=5)
                except asyncio.TimeoutError:
                    tail = [json.dumps(m) for m in client.received[-4:]]
                    raise AssertionError(f"no reply to {move} from seat {table['you']} "
                                         f"at seq {state['seq']}; last received:\n"
                                         + "\n".join(tail)) from None
                moves += 1
                assert moves < max_moves, "the game does not end"
        if all(s["table"]["status"] == "finished" for s in finals):
            seqs = {s["seq"] for s in finals}
            if len(seqs) == 1:
                return finals
        await asyncio.sleep(0.005)
    raise AssertionError("the game did not finish in time")


async def wait_closed(client: GameClient, timeout: float = 5.0) -> None:
    """Wait until the server has closed the client's session."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while client.close_reason is None:
        assert loop.time() < deadline, "the server did not close the connection"
        await asyncio.sleep(0.01)
