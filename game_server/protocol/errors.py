"""The protocol's error codes, in one place.

Clients switch on these codes, so they are stable: add new ones, never rename. Each code has a
default text for a person; handlers may give a more precise text, which never contains a token
or another player's cards.
"""

from __future__ import annotations

ERROR_CODES: dict[str, str] = {
    "bad_json": "The message is not valid JSON.",
    "bad_message": "The message does not match the protocol.",
    "too_large": "The message is larger than 4 KiB.",
    "auth_required": "Sign in first: send an auth message.",
    "invalid_token": "The sign-in token is not valid.",
    "already_authenticated": "This connection is already signed in.",
    "no_such_room": "There is no such room.",
    "room_full": "Every seat in this room is taken.",
    "not_in_room": "You are not in a room.",
    "already_in_room": "You are playing in another room; leave it first.",
    "too_many_rooms": "You have opened too many rooms that are still waiting for players.",
    "not_owner": "Only the room's owner can do that.",
    "not_a_player": "Spectators cannot do that.",
    "game_started": "The game has already started.",
    "game_not_started": "The game has not started yet.",
    "game_finished": "The game is over.",
    "not_your_turn": "It is not your turn.",
    "not_in_hand": "You do not hold that card.",
    "illegal_move": "That move is not allowed now.",
    "rate_limited": "Too many messages; slow down.",
    "chat_empty": "The chat message is empty once cleaned; nothing was sent.",
    "chat_too_long": "A chat message has at most 200 characters; nothing was sent.",
    "chat_rate_limited": "Too many chat messages; wait a few seconds.",
    "muted": "The room's owner has muted you for the rest of the game.",
    "not_a_member": "That user is neither seated in this room nor watching it.",
    "no_spectators": "This room does not allow spectators.",
    "unavailable": "The server cannot save moves right now; try again shortly.",
    "internal": "Something went wrong on the server; the table is unchanged.",
}


class ProtocolError(Exception):
    """A client mistake, answered with an `error` message; nothing has changed.

    >>> ProtocolError("room_full").text
    'Every seat in this room is taken.'
    """

    def __init__(self, code: str, text: str | None = None) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.text = text or ERROR_CODES[code]
        super().__init__(f"{code}: {self.text}")
