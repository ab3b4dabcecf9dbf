"""Untrusted text made safe to show: no terminal control sequences, no runaway length."""

from __future__ import annotations

import re

# ESC-introduced sequences (CSI, OSC up to BEL or ST, and two-byte ones), then any other C0/C1
# control except tab and newline: a mail subject must never move the cursor or set the clipboard.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]?"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x9d[^\x07\x9c]*[\x07\x9c]?"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")


def strip_controls(text: str) -> str:
    """``text`` without terminal escape sequences or control characters (tabs, newlines kept)."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def one_line(text: str, limit: int = 200) -> str:
    """Safe text on a single line, whitespace collapsed, cut to ``limit`` characters."""
    flat = _SPACES.sub(" ", strip_controls(text)).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
