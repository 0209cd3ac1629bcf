"""No connection is ever sent another player's secret cards while a game runs.

A property test over random rooms of every game, driven through the room `Engine` with plain
calls (`Driver`): people (one of them with a second connection), bots and spectators; people
make random legal moves (a seeded `random.Random` choosing from `legal_moves`) or the bot's
move, bots move on their timers, people drop and come back. After every handled request, the
JSON text of each delivery is searched for card codes (as whole JSON strings, e.g. ``"QS"``)
of the secrets (`Game.secret`: the hand, and Hearts' chosen pass before the exchange) of every
player other than the receiver.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from engine_helpers import Driver, USERS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from game_server.rules import GAMES
from game_server.tables import Player, Table
from game_server.tables.requests import (AddBot, Create, Disconnect, Effects, Join, Move, SignIn,
                                         Timer)

#: Requests handled per example after the setup: a whole game of Crazy Eights, several deals
#: of Hearts.
MAX_REQUESTS = 300
SPECTATOR = Player(90, "Watcher")
SECOND = 50  # the second connection of the room's creator


Secrets = dict[int, frozenset[str]]


class Room:
    """The test's own account of who is who, and the check run on every request.

    Secrets are known per change: a shadow copy of the game follows the request's actions
    (from its commits), so each state message is checked against the secrets just before and
    just after its own change."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.table: Table | None = None
        self.users: dict[int, Player] = {}  # connection -> user
        self.checked = 0

    def handle(self, request: Any) -> Effects:
        table = self.table
        shadow = table.game if table is not None else None
        if shadow is not None and len(table.bots_to_act()) > 1:
            # Several bots will move: follow them on a copy. (Otherwise the game itself has
            # changed by at most one move, and it is not touched before that is done.)
            shadow = copy.deepcopy(shadow)
        current = _secrets(shadow)
        deal = _deal(shadow)
        start = table.seq if table is not None else 0
        fx = self.driver.handle(request)
        if self.table is None and isinstance(request, Create):
            self.table = self.driver.engine.room_of(request.conn)
        if self.table is None:
            return fx
        table = self.table
        # (seq of the action's last change, secrets before it, secrets after it, new deal?)
        steps: list[tuple[int, Secrets | None, Secrets | None, bool]] = []
        actions = [a for c in fx.commits if c.room is table for a in c.actions]
        moves = [a for a in actions if a.name == "move"]
        for index, action in enumerate(actions):
            before = current
            if action.started is not None:
                # A deal: no move follows it in the same request (bots wait for their timer).
                assert all(a.name != "move" for a in actions[index + 1:])
                shadow = table.game
            elif action.name == "move" and shadow is not table.game:
                shadow.apply(table.player_of(action.seat), table.rules.parse_move(action.move))
            elif action.name == "move":
                assert len(moves) == 1  # the game has made this move already
            current = _secrets(shadow)
            new_deal, deal = _deal(shadow) != deal, _deal(shadow)
            steps.append((action.seq, before, current, new_deal))
        public = {d.message["seq"]: d.message.get("event") for d in fx.deliveries
                  if d.conn == SPECTATOR.id and d.message["msg"] == "state"}
        for delivery in fx.deliveries:
            message = delivery.message
            if message["msg"] != "state" or message["table"]["status"] != "playing":
                continue  # the end of a game shows every hand
            seq = message["seq"]
            step = next((s for s in steps if s[0] >= seq), None)
            if seq <= start or step is None:
                step = (seq, current, current, False)  # a state sent again, nothing changed
            self.check(delivery.conn, message, *step[1:], public.get(seq))
        return fx

    def own_player(self, conn: int) -> int | None:
        """The game player whose cards the connection may see: the one its user plays in
        person, if any."""
        table, user = self.table, self.users[conn]
        seat = table.seat_of(user.id)
        if seat is None or not table.seats[seat].human:
            return None
        return table.player_of(seat)

    def check(self, conn: int, message: dict[str, Any], before: Secrets | None,
              after: Secrets | None, new_deal: bool, public: dict[str, Any] | None) -> None:
        if after is None:
            return  # no game: no cards
        before = before or {p: frozenset() for p in after}
        mine = self.own_player(conn)
        others = [p for p in after if p != mine]
        who = f"connection {conn} ({self.users[conn].name}, player {mine})"
        # The view after the change: nobody else's secret cards as they are now.
        _assert_none(json.dumps(message["table"]), set().union(*(after[p] for p in others)),
                     f"{who}, view")
        event = message.get("event")
        if event is None:
            return
        if event.get("type") != "move":
            forbidden = set().union(*(after[p] for p in others))
        elif event == public:
            # Everyone's copy: no card of a player other than the mover, before or after the
            # move, nor one of the mover's that stays secret. (A change that deals anew may
            # deal the card just played to anyone: then only the hands before it count.)
            mover = self.table.players.index(event["seat"])
            if new_deal:
                forbidden = set().union(*(before[p] for p in after if p != mover))
            else:
                forbidden = set().union(*(before[p] | after[p] for p in after if p != mover))
                forbidden |= before[mover] & after[mover]
        else:
            # The receiver's own copy (the card taken, the cards passed or received): nobody
            # else's cards that stay theirs.
            forbidden = set().union(*(before[p] & after[p] for p in others))
        _assert_none(json.dumps(event), forbidden, f"{who}, event")
        self.checked += 1


def _secrets(game) -> Secrets | None:
    if game is None or game.is_finished:
        return None
    return {p: frozenset(map(str, game.secret(p))) for p in range(game.players)}


def _deal(game) -> Any:
    """The deal number, for games that deal more than once (Hearts); None otherwise."""
    return getattr(game, "deal", None)


def _assert_none(text: str, cards: set[str], where: str) -> None:
    leaked = sorted(card for card in cards if f'"{card}"' in text)
    assert not leaked, f"{where} shows {leaked}: {text}"


pytestmark = pytest.mark.parametrize("game", sorted(GAMES))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data(), deal_seed=st.integers(0, 2**63 - 1), choice_seed=st.integers(0, 2**32))
def test_no_delivery_shows_another_players_secret_cards(game, data, deal_seed, choice_seed):
    rules = GAMES[game]
    seats = data.draw(st.integers(rules.MIN_PLAYERS, rules.MAX_PLAYERS), label="seats")
    people = data.draw(st.integers(1, seats), label="people")
    bot_moves = data.draw(st.floats(0, 1), label="share of people's moves made by the bot")
    room = play(game, seats, people, deal_seed, choice_seed, bot_moves)
    assert room.checked > 0


def test_the_check_is_not_vacuous(game, monkeypatch):
    # A view that shows every hand is caught at once.
    rules = GAMES[game]
    honest = rules.view_for

    def leaky(self, player):
        view = honest(self, player)
        view["leak"] = [str(card) for p in range(self.players) for card in self.hand(p)]
        return view

    monkeypatch.setattr(rules, "view_for", leaky)
    with pytest.raises(AssertionError, match="view shows"):
        play(game, 4, 2, deal_seed=1, choice_seed=2, bot_moves=0.5)


def play(game: str, seats: int, people: int, deal_seed: int, choice_seed: int,
         bot_moves: float) -> Room:
    """A room of `game` with `people` people and bots in the other seats, played for up to
    MAX_REQUESTS requests with every delivery checked (see the module docstring)."""
    rules = GAMES[game]
    chooser = random.Random(choice_seed)
    room = Room(Driver(first_seed=deal_seed))

    # The room: people 1..people, the creator also on a second connection, a spectator.
    # Person n plays seat n - 1; conns: each person's live connections to the room.
    conns = {number: [number] for number in range(1, people + 1)}
    conns[1].append(SECOND)
    for conn in range(1, people + 1):
        room.users[conn] = USERS[conn]
        assert room.handle(SignIn(conn, USERS[conn])).error is None
    room.users[SECOND], room.users[SPECTATOR.id] = USERS[1], SPECTATOR
    room.handle(SignIn(SECOND, USERS[1]))
    room.handle(SignIn(SPECTATOR.id, SPECTATOR))
    assert room.handle(Create(1, "hidden", game, seats)).error is None
    table = room.table
    assert room.handle(Join(SPECTATOR.id, table.id, spectator=True)).error is None
    assert room.handle(Join(SECOND, table.id)).error is None
    for conn in range(2, people + 1):
        assert room.handle(Join(conn, table.id)).error is None
    for _ in range(seats - people):
        assert room.handle(AddBot(1)).error is None
    assert table.status.value == "playing"

    next_conn = 100
    lobby = room.driver.engine.lobby
    for _ in range(MAX_REQUESTS):
        if table.status.value != "playing" or lobby.get(table.id) is not table:
            break  # the end, or everyone timed out and the room closed
        roll = chooser.random()
        live = [person for person in conns if conns[person]]
        gone = [person for person in conns if not conns[person]]
        if roll < 0.02 and live:
            # A connection drops; with the person's last one the grace period starts.
            person = chooser.choice(live)
            conn = chooser.choice(conns[person])
            conns[person].remove(conn)
            room.handle(Disconnect(conn))
            continue
        if roll < 0.12 and gone:
            person = chooser.choice(gone)  # comes back on a new connection
            conns[person].append(next_conn)
            room.users[next_conn] = USERS[person]
            room.handle(SignIn(next_conn, USERS[person]))
            assert room.handle(Join(next_conn, table.id)).error is None
            next_conn += 1
            continue
        acting = [seat for seat in table.to_act()
                  if table.seats[seat].human and conns.get(seat + 1)]
        if acting:
            seat = chooser.choice(acting)
            player = table.player_of(seat)
            if chooser.random() < bot_moves:
                move = table.game.bot_move(player)
            else:
                move = chooser.choice(table.game.legal_moves(player))
            conn = chooser.choice(conns[seat + 1])
            fx = room.handle(Move(conn, rules.move_to_json(move)))
            assert fx.error is None, fx.error
        else:
            # Bots, or the grace period of a person who is away: the next timer.
            deadlines = room.driver.deadlines
            assert deadlines, "nothing can happen"
            key = min(deadlines, key=lambda k: (deadlines[k], repr(k)))
            room.driver.now = max(room.driver.now, deadlines.pop(key))
            room.handle(Timer(key))
    return room
