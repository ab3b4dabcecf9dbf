"""How vault values look on screen: icons, arrows, times, counts, sparklines, fitted text.

Every glyph here is one cell wide in common terminal fonts (no emoji presentation), so columns
line up in 16-colour terminals and over SSH.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from rich.cells import cell_len, set_cell_size

from vault.channels import DAY_ONLY
from vault.clock import moment, offset_text, place_time
from vault.text import visible, visible_line

CHANNEL_ICONS = {
    "email": "✉",
    "chat": "¶",
    "sms": "▯",
    "booking": "⌘",
    "order": "$",
    "call": "☏",
    "letter": "✎",
    "note": "•",
    "payment": "€",
}
CHANNEL_NAMES = {
    "email": "mail",
    "chat": "chat",
    "sms": "sms",
    "booking": "booking",
    "order": "order",
    "call": "call",
    "letter": "letter",
    "note": "note",
    "payment": "payment",
}
DIRECTION_ARROWS = {"in": "←", "out": "→", "system": "·"}
KIND_ICONS = {"company": "■", "person": "●", "list": "≡", "unknown": "○"}
SPARK_BARS = "▁▂▃▄▅▆▇█"
ELLIPSIS = "…"
# Emoji presentation selector: Rich counts "✈️" as one cell, most terminals draw two, and the
# line then overflows and wraps. Without it the character is drawn in its one-cell text form.
_VARIATION_SELECTOR_16 = "\ufe0f"


def _as_measured(text: str) -> str:
    return text.replace(_VARIATION_SELECTOR_16, "")


def display(text: str) -> str:
    """``text`` as the app shows it: control sequences gone, hidden and direction-changing
    characters shown as ``⟨U+202E⟩`` (``vault.text.visible``), as wide as Rich measures it."""
    return _as_measured(visible(text))


def channel_icon(channel: str) -> str:
    """The one-cell icon of a channel (``?`` for one this version does not know)."""
    return CHANNEL_ICONS.get(channel, "?")


def direction_arrow(direction: str) -> str:
    """← for incoming, → for outgoing, · for system notices."""
    return DIRECTION_ARROWS.get(direction, " ")


def kind_icon(kind: str) -> str:
    """■ company, ● person, ○ not yet known."""
    return KIND_ICONS.get(kind, KIND_ICONS["unknown"])


def fit(text: str, width: int) -> str:
    """``text`` cut (with an ellipsis) or padded to exactly ``width`` cells."""
    if width <= 0:
        return ""
    text = display(text)
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + ELLIPSIS


def clip(text: str, width: int) -> str:
    """``text`` cut (with an ellipsis) to at most ``width`` cells, never padded."""
    text = display(text)
    if cell_len(text) <= width:
        return text
    return fit(text, width)


def sparkline(counts: list[int]) -> str:
    """One cell per month: blank for none, then eight heights scaled to the busiest month."""
    peak = max(counts, default=0)
    if peak <= 0:
        return " " * len(counts)
    bars = []
    for count in counts:
        if count <= 0:
            bars.append(" ")
        else:
            level = min(len(SPARK_BARS) - 1, (count * len(SPARK_BARS) - 1) // peak)
            bars.append(SPARK_BARS[level])
    return "".join(bars)


def parse_time(value: str | datetime, zone: tzinfo | None) -> datetime | None:
    """A time from the vault (a datetime, or ISO 8601 text) in the user's zone (None: the
    system's), by the one rule of ``vault.clock``."""
    return moment(value, zone)


def short_time(value: str | datetime, zone: tzinfo | None) -> str:
    """``14 Nov 09:12`` — a timeline row's time (the month separator above gives the year)."""
    moment = parse_time(value, zone)
    return moment.strftime("%d %b %H:%M") if moment else "—"


def row_time(value: str | datetime, channel: str, zone: tzinfo | None) -> str:
    """A timeline row's time: ``14 Nov 09:12``, or ``14 Nov`` for an item known by its day."""
    text = short_time(value, zone)
    return text[:6] if channel in DAY_ONLY else text


def short_date(value: str | None, zone: tzinfo | None) -> str:
    """``14 Nov 2026`` — a day without the time."""
    moment = parse_time(value or "", zone)
    return moment.strftime("%d %b %Y") if moment else "—"


def long_time(value: str | None, zone: tzinfo | None, *, day_only: bool = False) -> str:
    """``Sat 14 Nov 2026, 09:12 (+01:00)`` — a time in full in the user's zone, then the
    source's own clock where it differs: ``… (+01:00; sent 10:12 +02:00)``; the day alone
    (``Sat 14 Nov 2026``) for an item known by its day."""
    seen = place_time(value, zone)
    if seen is None:
        return "unknown"
    if day_only:
        return seen.at.strftime("%a %d %b %Y")
    text = seen.at.strftime("%a %d %b %Y, %H:%M")
    if seen.floating:
        return text + " (no zone given)"
    if seen.local is None:
        return text + f" ({offset_text(seen.at)})"
    return text + f" ({offset_text(seen.at)}; sent {seen.local:%H:%M} {offset_text(seen.local)})"


def booking_time(value: str | None, zone: tzinfo | None) -> str:
    """A booking's time in the user's zone, with the place's own time where it differs:
    ``Sun 18 Jul 2027, 11:05 (+02:00; 10:05 local)``; ``…, 08:30 (local time)`` where the
    booking gave no zone; the day alone (``Sat 14 Nov 2026``) for a booking known by its day."""
    seen = place_time(value, zone)
    if seen is None:
        return "unknown"
    if seen.day_only:
        return seen.at.strftime("%a %d %b %Y")
    text = seen.at.strftime("%a %d %b %Y, %H:%M")
    if seen.floating:
        return text + " (local time)"
    if seen.local is None:
        return text + f" ({offset_text(seen.at)})"
    day = "" if seen.local.date() == seen.at.date() else seen.local.strftime("%a %d %b ")
    return text + f" ({offset_text(seen.at)}; {day}{seen.local:%H:%M} local)"


def month_label(year: int, month: int) -> str:
    """``November 2026``."""
    return datetime(year, month, 1).strftime("%B %Y")


def count(n: int) -> str:
    """``12,345``."""
    return f"{n:,}"


def plural(n: int, word: str) -> str:
    """``1 item``, ``2 items``."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def safe(value: object, limit: int = 200) -> str:
    """Any vault value as one safe line: control sequences stripped, hidden characters shown
    as ``⟨U+202E⟩``, whitespace collapsed, at most ``limit`` characters."""
    return _as_measured(visible_line("" if value is None else str(value), limit))


def amount_label(amount: dict[str, Any] | None) -> str:
    """An item's stated amount, ``EUR 13.49`` (``~`` first when read from a mail's words)."""
    if not amount:
        return ""
    mark = "~" if amount.get("guessed") else ""
    return f"{mark}{safe(amount.get('currency') or '?', 3)} {safe(amount.get('value'), 16)}"
