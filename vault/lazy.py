"""Load named modules lazily: each is executed at its first attribute access, not at import.

For modules a start-up imports (through a library's own imports) and never runs. A lazy module
is in ``sys.modules`` from its import on, so any later ``import`` of it gets the same module,
loaded at its first use. Python 3.11's lazy loading is not thread-safe (two threads touching one
such module first may see it half-executed): name only modules no two threads start using at
once, or use it where one thread runs (``cli.main.READ_LAZILY``).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from typing import Any


class _LazyFinder:
    """A meta path finder that loads ``names`` lazily (``importlib.util.LazyLoader``)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        """The spec the other finders give, with a lazy loader, for ``names`` only."""
        if name not in self.names:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


@contextmanager
def lazily(names: tuple[str, ...]) -> Iterator[None]:
    """Within this block, the first import of any of ``names`` loads it lazily."""
    finder = _LazyFinder(names)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
