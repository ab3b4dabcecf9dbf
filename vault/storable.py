"""Records made storable: no text in them that the SQLite driver cannot encode.

Python text can hold lone surrogates (``"\\udfff"`` from a JSON escape, a file name decoded
with ``surrogateescape``) that UTF-8 cannot encode, and the driver refuses the whole statement
holding one. ``storable`` replaces each with U+FFFD, in a record and everything it holds, so
such an item is stored rather than lost. A surrogate pair becomes the character it encodes.
"""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass, replace
from functools import cache
from typing import Any, TypeVar, cast

T = TypeVar("T")

_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_DEPTH = 200
"""Deeper than any record nests: what lies below is left as it is (the store's JSON encoder
refuses it, and the item is quarantined with that reason)."""


def storable_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD; ``text`` itself if it has none."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def storable(value: T) -> T:
    """``value`` with ``storable_text`` applied to all text it holds: dataclass fields, list,
    tuple and dict members and dict keys. ``value`` itself (not a copy) when nothing changes;
    otherwise changed copies, never changing ``value`` in place."""
    return cast(T, _walk(value, 0))


def _walk(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return storable_text(value)
    if depth > _MAX_DEPTH or value is None or isinstance(value, (bytes, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        members = [_walk(member, depth + 1) for member in value]
        if all(new is old for new, old in zip(members, value, strict=True)):
            return value
        return members if isinstance(value, list) else tuple(members)
    if isinstance(value, dict):
        pairs = [(_walk(k, depth + 1), _walk(v, depth + 1)) for k, v in value.items()]
        same = zip(pairs, value.items(), strict=True)
        if all(k is old_k and v is old_v for (k, v), (old_k, old_v) in same):
            return value
        return dict(pairs)
    changes = {}
    kind: type = type(value)
    for name in _field_names(kind):
        old = getattr(value, name)
        new = _walk(old, depth + 1)
        if new is not old:
            changes[name] = new
    return replace(value, **changes) if changes else value


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    """The fields ``dataclasses.replace`` can set on a ``kind``; none if it is no dataclass."""
    if not is_dataclass(kind):
        return ()
    return tuple(f.name for f in fields(kind) if f.init)
