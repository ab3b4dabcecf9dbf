"""Text helpers every chat importer shares: titles from a message's first line, short reasons."""

from __future__ import annotations

from typing import Any

from vault.text import one_line

TITLE_CHARS = 80


def clip(line: str, limit: int = TITLE_CHARS) -> str:
    """``line`` cut to ``limit`` characters with an ellipsis."""
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def title_of(text: str, invisible: str = "") -> str:
    """The first line with something visible in it, clipped; "" when there is none.

    ``invisible`` names characters a format pads lines with (bidi marks, zero-width spaces).
    """
    for line in text.splitlines():
        visible = line.strip().strip(invisible)
        if visible:
            return clip(visible)
    return ""


def brief(value: Any) -> str:
    """A short, one-line picture of a bad value, for a quarantine reason."""
    return one_line(repr(value))[:40]
