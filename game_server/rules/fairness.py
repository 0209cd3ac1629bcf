"""Deck commitments: how a table proves that it did not choose the order of a deal's pack after
seeing the play (docs/fairness.md).

At every deal the table publishes ``deck_commit``, the SHA-256 of the deal's canonical text, and
keeps a 32-byte random salt secret; when the deal ends it reveals the order and the salt. The
canonical text is every card code of the pack in the game's shuffled order (`Game.deck_order`),
joined by ``","``, then ``":"``, then the salt as 64 lowercase hex digits, in ASCII::

    >>> deck_commit(["QH", "2C"], "00" * 32) == hashlib.sha256(
    ...     b"QH,2C:" + b"0" * 64).hexdigest()
    True

The salt makes two deals with the same order commit differently, and keeps a commitment from
being checked against guessed orders. Pure: imports only the standard library.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

__all__ = ["SALT_BYTES", "canonical_text", "deck_commit", "is_salt"]

#: The salt of each deal: this many random bytes (from `secrets`), shown as lowercase hex.
SALT_BYTES = 32
_SALT = re.compile(f"[0-9a-f]{{{2 * SALT_BYTES}}}")


def is_salt(text: object) -> bool:
    """True if `text` is a salt as written: 64 lowercase hex digits."""
    return isinstance(text, str) and _SALT.fullmatch(text) is not None


def canonical_text(order: Iterable[object], salt: str) -> str:
    """The text a commitment hashes: card codes joined by "," then ":" then the salt's hex.

    Raises:
        ValueError: `salt` is not 64 lowercase hex digits.
    """
    if not is_salt(salt):
        raise ValueError("a salt is 64 lowercase hex digits")
    return ",".join(str(card) for card in order) + ":" + salt


def deck_commit(order: Iterable[object], salt: str) -> str:
    """The commitment to a deal: SHA-256 of `canonical_text`, as 64 lowercase hex digits.

    Raises:
        ValueError: `salt` is not 64 lowercase hex digits.
    """
    return hashlib.sha256(canonical_text(order, salt).encode("ascii")).hexdigest()
