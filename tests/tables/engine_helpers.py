"""A plain driver for the room `Engine`: no event loop, no threads, engine time as a float.

`Driver` does what the hub does with an `Effects` (protocol/hub.py), by hand: it keeps the
deadlines the engine set, reports each commit as succeeded at once (`engine.committed`) and
then "sends" the deliveries that waited for it (into `inbox`, per connection). With `hold`,
commits wait in `held` with their deliveries until the test lets them succeed or fail; a failed
commit's deliveries are never sent, nor are those of later commits of the room (the move log
refuses what was queued behind a failure, and the engine has undone it).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Hashable

from game_server.rules import GAMES
from game_server.tables import Engine, EngineSettings, Lobby, Player, Table
from game_server.tables.requests import (AddBot, Commit, Create, Delivery, Effects, Join, Move,
                                         SignIn, Timer)

SETTINGS = EngineSettings(bot_delay=0.5, grace_seconds=30.0)

#: Users by the connection number they first sign in with.
USERS = {n: Player(n, name) for n, name in enumerate(
    ["Ann", "Bob", "Cid", "Dee", "Eve", "Fay", "Gus", "Hal"], start=1)}


def seats_of(game: str) -> int:
    """The room size the tests use for `game`: its usual one (4 for both games)."""
    return GAMES[game].DEFAULT_SEATS


@dataclass
class Driver:
    """An `Engine` with its deadlines, deliveries and commits kept by hand."""

    settings: EngineSettings = SETTINGS
    first_seed: int = 100
    now: float = 1000.0
    #: Commits are reported as succeeded at once, unless `hold` (then they wait in `held`).
    hold: bool = False
    engine: Engine = field(init=False)
    deadlines: dict[Hashable, float] = field(default_factory=dict)
    inbox: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    held: list[Commit] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)
    #: Deliveries waiting for a held commit, by its token.
    waiting: dict[int, list[Delivery]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        seeds = itertools.count(self.first_seed)
        rooms = itertools.count(1)
        self.engine = Engine(Lobby(seeds=lambda: next(seeds),
                                   room_ids=lambda: f"room-{next(rooms):03}"), self.settings)

    # --- the engine's entry points ----------------------------------------------------

    def handle(self, request: Any) -> Effects:
        return self.absorb(self.engine.handle(request, self.now))

    def absorb(self, fx: Effects) -> Effects:
        for deadline in fx.deadlines:
            if deadline.at is None:
                self.deadlines.pop(deadline.key, None)
            else:
                self.deadlines[deadline.key] = deadline.at
        self.commits += fx.commits
        tokens = {commit.room.id: commit.token for commit in fx.commits}
        assert len(tokens) == len(fx.commits), "one commit per room and request"
        for delivery in fx.deliveries:
            token = tokens.get(delivery.room)
            if token is None:
                self._send(delivery)
            else:
                self.waiting.setdefault(token, []).append(delivery)
        for commit in fx.commits:
            if self.hold:
                self.held.append(commit)
            else:
                self.succeed(commit)
        return fx

    def _send(self, delivery: Delivery) -> None:
        self.inbox[delivery.conn].append(delivery.message)

    def succeed(self, commit: Commit) -> None:
        """Report a commit as succeeded; send what waited for it."""
        if commit in self.held:
            self.held.remove(commit)
        self.engine.committed(commit.room.id, commit.token)
        for delivery in self.waiting.pop(commit.token, []):
            self._send(delivery)

    def fail(self, commit: Commit) -> Effects:
        """Report a held commit as failed: it and the room's later held commits are refused
        (as the move log does), and their deliveries dropped."""
        index = self.held.index(commit)
        refused = [c for c in self.held[index:] if c.room.id == commit.room.id]
        for item in refused:
            self.held.remove(item)
            self.waiting.pop(item.token, None)
        fx = self.absorb(self.engine.commit_failed(commit.room.id, commit.token, self.now))
        for item in refused[1:]:
            later = self.engine.commit_failed(item.room.id, item.token, self.now)
            assert not later.commits and not later.deliveries and not later.deadlines
        return fx

    def fire(self, key: Hashable) -> Effects:
        """Move time to the deadline `key` and handle its timer."""
        at = self.deadlines.pop(key)
        assert at >= self.now, "a deadline in the past"
        self.now = at
        return self.handle(Timer(key))

    def fire_next(self) -> Effects | None:
        """Handle the earliest deadline, if any."""
        if not self.deadlines:
            return None
        key = min(self.deadlines, key=lambda k: (self.deadlines[k], repr(k)))
        return self.fire(key)

    # --- shortcuts ---------------------------------------------------------------------

    def sign_in(self, conn: int, user: Player | None = None) -> None:
        fx = self.handle(SignIn(conn, user or USERS[conn]))
        assert fx.error is None

    def create(self, conn: int, game: str, seats: int | None = None) -> Table:
        fx = self.handle(Create(conn, f"{game} room", game, seats, re=f"create-{conn}"))
        assert fx.error is None, fx.error
        return self.engine.room_of(conn)

    def join(self, conn: int, table: Table, spectator: bool = False) -> Effects:
        fx = self.handle(Join(conn, table.id, spectator, re=f"join-{conn}"))
        assert fx.error is None, fx.error
        return fx

    def full_room(self, game: str, people: int, bots: int = 0,
                  spectators: int = 0) -> Table:
        """A room of `game` of the usual size (`seats_of`) with `people` people (connections
        1..people) and `bots` bots, and `spectators` watching (the next connections). Dealt
        once the seats are all taken."""
        for conn in range(1, people + spectators + 1):
            self.sign_in(conn)
        table = self.create(1, game, seats_of(game))
        for conn in range(people + 1, people + spectators + 1):
            self.join(conn, table, spectator=True)
        for conn in range(2, people + 1):
            self.join(conn, table)
        for _ in range(bots):
            assert self.handle(AddBot(1, re="bot")).error is None
        return table

    def state(self, conn: int) -> dict[str, Any]:
        """The last state message a connection got."""
        return next(m for m in reversed(self.inbox[conn]) if m["msg"] == "state")

    def view(self, conn: int) -> dict[str, Any]:
        """The connection's last table view."""
        return self.state(conn)["table"]

    def play_for(self, conn: int) -> Effects:
        """The connection plays what its view suggests (`Game.move_from_view`), as a scripted
        client does."""
        view = self.view(conn)
        move = GAMES[view["game"]].move_from_view(view["game_state"])
        assert move is not None, "nothing to play"
        return self.handle(Move(conn, move, re=f"move-{conn}"))


def deliveries_by_conn(fx: Effects) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for delivery in fx.deliveries:
        out[delivery.conn].append(delivery.message)
    return out


def states(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["msg"] == "state"]


__all__ = ["Driver", "SETTINGS", "USERS", "deliveries_by_conn", "seats_of", "states"]
