"""Crafted `state` messages for layout and accessibility tests.

A real game reaches a given position (an eight in the hand, a four-player game over with long
hands) only by chance; these build such positions as the server would send them (they follow
schema/server/state.json and the game's view.json) and hand them to the page's client through
the test-only hook (`window.__GAME_TEST__.connection.onMessage`), as if they had arrived. The
room id is one the server does not know: nothing the page sends about it changes the server.
"""

from __future__ import annotations

from playwright.sync_api import Page

ROOM = "LayoutRoom01"
NAMES = ["Ann", "Bartholomew", "Christabel", "Dmitri"]


def _seats(count: int, taken: int, bots: tuple[int, ...] = ()) -> list[dict | None]:
    seats: list[dict | None] = []
    for seat in range(count):
        if seat >= taken:
            seats.append(None)
        elif seat in bots:
            seats.append({"seat": seat, "user": {"id": None, "name": f"Bot {seat + 1}"},
                          "bot": True, "connected": True})
        else:
            seats.append({"seat": seat, "user": {"id": 100 + seat, "name": NAMES[seat]},
                          "bot": False, "connected": True})
    return seats


def waiting_state(seq: int = 2, seats: int = 4, taken: int = 1) -> dict:
    """A room of `seats` with `taken` people in it, waiting; the viewer (seat 0) owns it."""
    return {"msg": "state", "room": ROOM, "seq": seq, "table": {
        "game": "crazy_eights", "status": "waiting", "owner": 0,
        "seats": _seats(seats, taken), "spectators": 0, "you": 0, "players": [],
        "to_act": [], "game_state": None}}


def playing_state(hand: list[str], seq: int = 5, pile: list[str] | None = None,
                  suit: str = "S", turn: int = 0, deck: int = 31, players: int = 4) -> dict:
    """A game of Crazy Eights at `players` seats; the viewer is player 0 (seat 0)."""
    pile = pile or ["4H", "9S"]
    cards = [len(hand)] + [5] * (players - 1)
    return {"msg": "state", "room": ROOM, "seq": seq, "table": {
        "game": "crazy_eights", "status": "playing", "owner": 0,
        "seats": _seats(players, players, bots=(2,)), "spectators": 1, "you": 0,
        "players": list(range(players)), "to_act": [turn],
        "game_state": {"hand": hand, "cards": cards, "pile": pile, "deck": deck,
                       "turn": turn, "suit": suit}}}


def finished_state(seq: int = 40, players: int = 4, winner: int = 1) -> dict:
    """A finished game with many cards left in the losers' hands (the widest score table); the
    viewer (seat 0) lost unless `winner` is 0."""
    hands = [["2C", "3C", "4C", "5C", "6C", "7C", "9C", "TC", "JC", "QC", "KC", "AC"],
             ["2D", "3D", "4D", "5D", "6D", "7D", "9D"], ["8S", "8H", "QS", "KS", "AS"],
             ["2H", "3H"]][:players]
    hands[winner] = []
    scores = [0] * players
    scores[winner] = 211
    return {"msg": "state", "room": ROOM, "seq": seq, "event": {"type": "move", "seat": 0,
            "move": {"type": "put", "card": "9S"}}, "table": {
        "game": "crazy_eights", "status": "finished", "owner": 0,
        "seats": _seats(players, players, bots=(2,)), "spectators": 0, "you": 0,
        "players": list(range(players)), "to_act": [],
        "result": {"winner": winner, "scores": scores, "detail": {"blocked": False}},
        "game_state": {"hand": hands[0], "cards": [len(h) for h in hands],
                       "pile": ["4H", "9H", "9S"], "deck": 12, "turn": winner, "suit": "S",
                       "winner": winner, "scores": scores,
                       "hands": hands, "blocked": False}}}


def show(page: Page, message: dict) -> None:
    """Hand `message` to the page's client as if the server had sent it, and wait for it to be
    drawn (a state: the table shows its seq)."""
    if message.get("msg") == "state":
        # A client never goes back to an older view of a room: number this one after the last.
        shown = page.evaluate("() => { const t = document.querySelector('[data-testid=\"table\"]');"
                              " return t ? Number(t.dataset.seq) : 0; }")
        message = {**message, "seq": max(message["seq"], shown + 1)}
    page.evaluate("(m) => window.__GAME_TEST__.connection.onMessage(m)", message)
    if message.get("msg") == "state":
        page.wait_for_function(
            "(seq) => { const t = document.querySelector('[data-testid=\"table\"]');"
            " return t && Number(t.dataset.seq) === seq && !document.getElementById('view-table').hidden; }",
            arg=message["seq"])
