"""Chat at a table and in the lobby: cleaning a text, the per-user rate limit, who hears a
message, and a room's chat rules (may spectators talk to players; who is muted).

A chat message is not a change of the room: it does not move `seq`, is not in the move log,
and never waits for a commit (a move is never slowed by chat). What a room's chat rules are is
a change, though (the `spectator_chat` option of the room's `open@1`, and `mute@1` when the
owner mutes a member): those replay after a restart like any other action.

Pure: imports only the standard library, `actions` and `changes`; times come in as arguments.
"""

from __future__ import annotations

import unicodedata
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from game_server.tables.actions import Player
from game_server.tables.changes import Change, Status, TableError

if TYPE_CHECKING:
    from game_server.tables.table import Table

__all__ = ["AUDIENCES", "MAX_CHARS", "RATE_COUNT", "RATE_SECONDS", "ChatLimit", "ChatLine",
           "Chatting", "audience", "clean_chat"]

#: The most characters (code points) a message may have once cleaned.
MAX_CHARS = 200
#: A user may send RATE_COUNT messages in any RATE_SECONDS (rooms and lobby together).
RATE_COUNT = 5
RATE_SECONDS = 10.0
#: Who hears a message: every member, the players only, or the spectators only.
AUDIENCES = ("all", "players", "spectators")

#: Characters that change the direction of the text around them (embeddings, overrides,
#: isolates and marks): a name or a card could be made to read backwards. Stripped.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Line and paragraph breaks become one space: a message is one line.
_BREAKS = frozenset("\t\n\v\f\r\x85\u2028\u2029")


def clean_chat(text: str) -> str:
    """The text as it is sent on: NFC, control and bidi-control characters removed (line
    breaks and tabs become spaces), spaces at both ends trimmed.

    >>> clean_chat("  gl\\thf\\u202e!\\x00 ")
    'gl hf!'

    Raises:
        TableError: chat_empty (nothing left), chat_too_long (more than MAX_CHARS left).
    """
    kept = []
    for char in unicodedata.normalize("NFC", text):
        if char in _BREAKS:
            kept.append(" ")
        elif char in _BIDI or unicodedata.category(char) in ("Cc", "Cs"):
            continue
        else:
            kept.append(char)
    cleaned = "".join(kept).strip()
    if not cleaned:
        raise TableError("chat_empty")
    if len(cleaned) > MAX_CHARS:
        raise TableError("chat_too_long", f"A chat message has at most {MAX_CHARS} "
                         f"characters, not {len(cleaned)}; nothing was sent.")
    return cleaned


class ChatLimit:
    """Per user: at most `count` messages in any `seconds` (a sliding window).

    >>> limit = ChatLimit(count=2, seconds=10)
    >>> [limit.allow(7, now) for now in (0, 1, 2, 10.5)]
    [True, True, False, True]
    """

    #: Users who have not chatted for a window are forgotten every this many calls.
    SWEEP_EVERY = 1000

    def __init__(self, count: int = RATE_COUNT, seconds: float = RATE_SECONDS) -> None:
        self.count, self.seconds = count, seconds
        self._said: dict[int, deque[float]] = {}
        self._calls = 0

    def allow(self, user_id: int, now: float) -> bool:
        """Count one message of the user now; False (and not counted) when over the limit."""
        self._calls += 1
        if self._calls % self.SWEEP_EVERY == 0:
            self._sweep(now)
        said = self._said.setdefault(user_id, deque())
        while said and said[0] <= now - self.seconds:
            said.popleft()
        if len(said) >= self.count:
            return False
        said.append(now)
        return True

    def _sweep(self, now: float) -> None:
        for user_id in [u for u, said in self._said.items() if not said
                        or said[-1] <= now - self.seconds]:
            del self._said[user_id]


def audience(status: Status, spectator_chat: bool, speaker_plays: bool) -> str:
    """Who hears a member: while a game runs players and spectators talk apart (a spectator
    sees more of the table than nobody, and must not tell a player), unless the room was
    created with `spectator_chat`; before and after a game everyone hears everyone.

    >>> audience(Status.PLAYING, False, speaker_plays=False)
    'spectators'
    >>> audience(Status.FINISHED, False, speaker_plays=False)
    'all'
    """
    if status is not Status.PLAYING or spectator_chat:
        return "all"
    return "players" if speaker_plays else "spectators"


@dataclass(frozen=True)
class ChatLine:
    """One room chat message, as it is kept with the game's history.

    `game`: the number of the game it belongs to (talk before a room's first deal belongs to
    its first game; talk after a game, to that game); `seq`: the room's seq when it was said,
    which places it among the moves; `at`: the server's time, ISO 8601 UTC."""

    room: str
    game: int
    seq: int
    user: Player
    text: str
    to: str
    at: str


class Chatting:
    """A `Table`'s chat rules (a mixin: `self` is the table). The table's `__init__` sets
    `spectator_chat = False` (`_open` sets it from the room's options) and `_mutes = {}` (user
    id -> the last game number the mute holds for)."""

    def is_muted(self: Table, user_id: int) -> bool:
        """True while the owner's mute of this user holds: to the end of the game being
        played when it was given, or of the next game if none was."""
        until = self._mutes.get(user_id)
        if until is None:
            return False
        if self.status is Status.PLAYING:
            return self.games_played <= until
        return self.games_played < until

    def muted(self) -> list[int]:
        """The users muted now, by id."""
        return sorted(user_id for user_id in self._mutes if self.is_muted(user_id))

    def chat_game(self: Table) -> int:
        """The number of the game what is said now belongs to (see `ChatLine`)."""
        return self.games_played + (1 if self.status is Status.WAITING else 0)

    def mute(self: Table, owner: Player, target: Player) -> list[Change]:
        """The owner mutes a member (a seated user or a spectator) for the rest of the game.

        Raises:
            TableError: not_a_player or not_owner (the requester), not_a_member (the target),
                bad_message (the owner themself).
        """
        self._require_owner(owner)
        if target.id == owner.id:
            raise TableError("bad_message", "You cannot mute yourself.")
        if self.seat_of(target.id) is None and target.id not in self.spectators:
            raise TableError("not_a_member")
        return self._record("mute", self._mute(target), user=target)

    def _mute(self: Table, target: Player) -> list[Change]:
        if self.is_muted(target.id):
            return []
        self._mutes[target.id] = self.games_played + (
            0 if self.status is Status.PLAYING else 1)
        return [self._change({"type": "mute", "user_id": target.id})]
