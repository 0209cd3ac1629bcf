"""The edges a `Hub` is built with are the ones it uses: token reader, user store, lobby,
clock and settings (so tests and the server can pass their own)."""

from __future__ import annotations

from game_server.protocol import Hub, HubSettings
from game_server.rules import catalogue
from game_server.tables import Lobby, Player
from hub_fakes import ANN, Client, load_user, read_token, token_for, until


def _hub(lobby: Lobby) -> Hub:
    return Hub(read_token=read_token, load_user=load_user, lobby=lobby,
               settings=HubSettings(bot_delay=0.0))


def test_the_hub_uses_the_lobby_it_is_given() -> None:
    lobby = Lobby(seeds=lambda: 5)
    hub = _hub(lobby)
    assert hub.lobby is lobby, "a new, empty lobby passed in must be used, not replaced"


async def test_games_are_dealt_from_the_lobbys_seeds() -> None:
    hands = []
    for _ in range(2):
        hub = _hub(Lobby(seeds=lambda: 5))
        client = Client(hub, "Ann")
        client.request("auth", token=token_for(ANN))
        await until(lambda: client.of("welcome"))
        client.request("create", game="crazy_eights", name="Seeded", seats=2)
        client.request("add_bot")
        await until(lambda: client.states() and client.view["status"] != "waiting")
        start = next(m for m in client.states() if m["event"]["type"] == "start")
        state = start["table"]["game_state"]
        hands.append((state["hand"], state["pile"]))
        hub.stop_timers()
    assert hands[0] == hands[1], "the same seed deals the same cards"


async def test_the_hub_uses_its_token_reader_and_user_store() -> None:
    seen = []

    def reader(token: str) -> int:
        seen.append(token)
        return 42

    async def users(user_id: int) -> Player | None:
        seen.append(user_id)
        return Player(user_id, "Custom")

    hub = Hub(read_token=reader, load_user=users, settings=HubSettings(server_id="s-9"))
    client = Client(hub, "custom")
    client.request("auth", token="anything")
    await until(lambda: client.of("welcome"))
    assert seen == ["anything", 42]
    assert client.of("welcome")[0] == {"msg": "welcome", "user": {"id": 42, "name": "Custom"},
                                       "server": "s-9", "protocol": 2, "games": catalogue()}
    assert not client.problems
