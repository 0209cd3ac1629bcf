"""Protocol 3's table patches: a `state`'s table as a JSON Merge Patch (RFC 7396) against the
table the same connection last received for that room.

`table_patch(old, new)` is the patch that turns `old` into `new`: the members of `new` that
differ from `old`, objects compared member by member (recursively), arrays and other values
whole, and each member of `old` that `new` lacks as null. Merge patches cannot set a member to
null (null removes it), so when `new` holds a null member where the patch would need to carry
it, there is no patch (None) and the connection gets the whole table instead.

Tables are built afresh for every change and never changed once made; an unchanged part may
be the very same object, and `is` settles it before any comparison. Otherwise one `==` (in C)
settles each member, nested objects and arrays whole: a table never holds a boolean where a
number may stand inside those (Python's True == 1); a member whose own type changed is sent.

`merge_patch(target, patch)` applies a patch (RFC 7396 section 2), for clients and tests.

Imports only the standard library.
"""

from __future__ import annotations

from typing import Any

__all__ = ["merge_patch", "table_patch"]


class _NoPatch(Exception):
    """`new` has a null member that a merge patch cannot carry."""


def table_patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    """The merge patch from `old` to `new` (an empty dict when they are equal), or None when
    no merge patch can express the change (a member became null).

    >>> table_patch({"a": 1, "b": {"c": 2, "d": 3}, "e": 4}, {"a": 1, "b": {"c": 5, "d": 3}})
    {'b': {'c': 5}, 'e': None}
    >>> table_patch({"owner": 1}, {"owner": None}) is None
    True
    """
    try:
        return _diff(old, new)
    except _NoPatch:
        return None


_ABSENT = object()


def _diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    kept = 0  # members of `old` that `new` has too
    for key, value in new.items():
        before = old.get(key, _ABSENT)
        if before is not _ABSENT:
            kept += 1
            # One comparison in C settles most members, nested ones too.
            if before is value or (before == value and type(before) is type(value)):
                continue
            if type(value) is dict and type(before) is dict:
                inner = _diff(before, value)
                if inner:
                    patch[key] = inner
                continue
        if value is None:
            raise _NoPatch
        if type(value) is dict:
            # A new object is merged into nothing (RFC 7396): its null members would vanish.
            _check_no_nulls(value)
        patch[key] = value
    if kept < len(old):
        for key in old:
            if key not in new:
                patch[key] = None
    return patch


def _check_no_nulls(value: dict[str, Any]) -> None:
    for member in value.values():
        if member is None:
            raise _NoPatch
        if type(member) is dict:
            _check_no_nulls(member)


def merge_patch(target: Any, patch: Any) -> Any:
    """`target` with the merge patch applied (RFC 7396); `target` itself is not changed.

    >>> merge_patch({"a": 1, "b": {"c": 2}}, {"a": None, "b": {"d": [3]}})
    {'b': {'c': 2, 'd': [3]}}
    """
    if type(patch) is not dict:
        return patch
    result = dict(target) if type(target) is dict else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
