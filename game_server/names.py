"""Which characters a name may hold: the one rule for user names, room names and (later) chat.

A name is shown to other people, so it must not be able to look like something else or like
nothing: no control characters (NUL, ESC, newlines), no format characters (zero-width spaces
and joiners, bidirectional marks, overrides and isolates), no line or paragraph separators, no
private-use or invisible letters. Emoji keep the two invisible characters they need.

`game_server.storage.users.clean_name` applies this rule to user names (NFC, and more rules of
its own); `clean_room_name` to room names (NFKC). Pure: imports only the standard library, so
every layer may use it.
"""

from __future__ import annotations

import unicodedata

__all__ = ["ROOM_NAME_MAX_LENGTH", "InvalidName", "clean_room_name", "disguising",
           "first_disguising"]

#: As schema/defs.json's room_name.
ROOM_NAME_MAX_LENGTH = 40

# Characters that can make a name display as something else or as nothing: control (Cc) and
# format characters (Cf: zero-width spaces and joiners, bidirectional marks, overrides and
# isolates, soft hyphen, byte order mark), line and paragraph separators (Zl, Zp), private use
# (Co: any glyph a font likes), lone surrogates (Cs).
DISGUISING_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
# Letters and marks that display as nothing: Hangul fillers, the combining grapheme joiner,
# Khmer inherent vowels, Mongolian free variation selectors, variation selectors 1-14.
INVISIBLE = frozenset(
    "\u115f\u1160\u3164\uffa0\u034f\u17b4\u17b5\u180b\u180c\u180d\u180f"
    + "".join(chr(code) for code in range(0xFE00, 0xFE0E))
)
# Emoji need two invisible characters, allowed only there: the zero-width joiner between two
# emoji (👩‍👩‍👧) and the text/emoji presentation selectors right after a symbol or keycap
# character (❤️, 1️⃣).
ZWJ = "\u200d"
PRESENTATION = frozenset("\ufe0e\ufe0f")
_SYMBOLS = frozenset({"So", "Sk", "Sm"})


class InvalidName(ValueError):
    """A name breaks the naming rules; the message says which."""


def disguising(name: str, index: int) -> bool:
    """Whether ``name[index]`` could hide what the name looks like (see the module docstring).

    >>> [disguising("a\\u202eb", i) for i in range(3)]
    [False, True, False]
    """
    char = name[index]
    if char == ZWJ:
        before = name[:index].rstrip("".join(PRESENTATION))
        after = name[index + 1:index + 2]
        return not (before and after and unicodedata.category(before[-1]) in _SYMBOLS
                    and unicodedata.category(after) == "So")
    if char in PRESENTATION:
        return not (index and (unicodedata.category(name[index - 1]) in _SYMBOLS
                               or name[index - 1] in "0123456789#*"))
    return unicodedata.category(char) in DISGUISING_CATEGORIES or char in INVISIBLE


def first_disguising(name: str) -> int | None:
    """The index of the first character of `name` that `disguising` refuses, or None."""
    return next((index for index in range(len(name)) if disguising(name, index)), None)


def clean_room_name(name: str) -> str:
    """A room name as the room keeps it: NFKC (compatibility forms read as the plain
    letters: "Ｆｒｉｄａｙ" is "Friday"), surrounding whitespace trimmed, checked.

    >>> clean_room_name("  Ｆriday game ")
    'Friday game'

    Raises:
        InvalidName: empty, longer than ROOM_NAME_MAX_LENGTH characters once normalised, or
            holding a character `disguising` refuses; the message names the character.
    """
    name = unicodedata.normalize("NFKC", name).strip()
    if not name:
        raise InvalidName("a room name needs a character that is not a space")
    if len(name) > ROOM_NAME_MAX_LENGTH:
        raise InvalidName(f"a room name has at most {ROOM_NAME_MAX_LENGTH} characters, this "
                          f"one {len(name)} (once normalised)")
    index = first_disguising(name)
    if index is not None:
        raise InvalidName(f"a room name cannot contain U+{ord(name[index]):04X} (an invisible, "
                          "control, line-break or text-direction character)")
    return name
