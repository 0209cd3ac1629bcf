"""Fixtures for the protocol tests: a `Hub` with fake edges and a `Net` of fake clients.

Every message any fake client receives is checked against its server-to-client schema (and
more, see hub_fakes.Client); a test whose clients saw a bad message fails at teardown.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from game_server.protocol import Hub
from game_server.protocol import lobby_push
from hub_fakes import FakeClock, Net, make_hub


@pytest.fixture
def hubs() -> Any:
    """Build hubs: `hubs(clock=..., grace_seconds=..., seed=...)`; timers stop at teardown."""
    made: list[Hub] = []

    def build(**options: Any) -> Hub:
        hub = make_hub(**options)
        made.append(hub)
        return hub

    yield build
    for hub in made:
        hub.stop_timers()


@pytest.fixture
def nets(hubs: Callable[..., Hub], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Build nets of clients on new hubs; fails the test if any client got a bad message.

    The room list is pushed to the lobby a second after a change; so that a slow run cannot
    slip a push between a test's messages, pushes wait an hour unless a test asks for
    `quick_room_list`.
    """
    monkeypatch.setattr(lobby_push, "ROOM_LIST_PUSH_SECONDS", 3600.0)
    made: list[Net] = []

    def build(**options: Any) -> Net:
        net = Net(hubs(**options))
        made.append(net)
        return net

    yield build
    problems = [problem for net in made for problem in net.problems()]
    if problems:
        pytest.fail("bad messages from the server:\n" + "\n".join(problems[:10]), pytrace=False)


@pytest.fixture
def net(nets: Callable[..., Net]) -> Net:
    """Clients on one hub with bots that move at once and a 30 s grace period."""
    return nets()


@pytest.fixture
def clock() -> FakeClock:
    """A clock that stands still until the test moves it."""
    return FakeClock()


@pytest.fixture
def quick_room_list(nets: Any, monkeypatch: pytest.MonkeyPatch) -> float:
    """Push the room list to the lobby 20 ms after a change instead of a second."""
    monkeypatch.setattr(lobby_push, "ROOM_LIST_PUSH_SECONDS", 0.02)
    return 0.02
