"""Functions of text that remember their answers for short text only.

A mailbox is the same few hundred senders mail after mail, so the work on their names and
addresses (cleaning, keys, company claims, parsed address lists) is kept and shared. Text
from a source is unbounded, though: a hostile mail's header of a megabyte is worked on each
time it comes and never kept, so a cache of ``maxsize`` answers holds at most ``maxsize``
texts of ``longest`` characters (measured before: 8,192 display names of a megabyte each
could be kept by one cache).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])


def short_text_cache(maxsize: int, longest: int = 300) -> Callable[[F], F]:
    """Decorate a function of text (and ``None``s) to remember its last ``maxsize`` answers
    for calls whose text is ``longest`` characters in all, at most. Its answers are shared
    between callers, so they must never be changed (frozen, tuples, strings)."""

    def decorate(function: F) -> F:
        kept = lru_cache(maxsize=maxsize)(function)

        @wraps(function)
        def remembered(*text: str | None, **named: Any) -> Any:
            if named or sum(len(part) for part in text if part) > longest:
                return function(*text, **named)
            return kept(*text)

        return cast(F, remembered)

    return decorate
