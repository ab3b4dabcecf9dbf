"""How vault values look on screen: icons, arrows, times, counts, sparklines, fitted text.

Every glyph here is one cell wide in common terminal fonts (no emoji presentation), so columns
line up in 16-colour terminals and over SSH.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.cells import cell_len, set_cell_size

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
    """A time from the vault (a datetime, or ISO 8601 text) in the viewer's zone (None: the
    system's)."""
    if isinstance(value, datetime):
        return value.astimezone(zone)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(zone)


def short_time(value: str | datetime, zone: tzinfo | None) -> str:
    """``14 Nov 09:12`` — a timeline row's time (the month separator above gives the year)."""
    moment = parse_time(value, zone)
    return moment.strftime("%d %b %H:%M") if moment else "—"


def short_date(value: str | None, zone: tzinfo | None) -> str:
    """``14 Nov 2026`` — a day without the time."""
    moment = parse_time(value or "", zone)
    return moment.strftime("%d %b %Y") if moment else "—"


def long_time(value: str | None, zone: tzinfo | None) -> str:
    """``Sat 14 Nov 2026, 09:12 (+01:00)`` — a time in full, with its offset."""
    moment = parse_time(value or "", zone)
    if moment is None:
        return "unknown"
    offset = moment.strftime("%z")
    return moment.strftime("%a %d %b %Y, %H:%M") + f" ({offset[:3]}:{offset[3:]})"


def booking_time(value: str | None) -> str:
    """A booking's time as the place shows it, never moved to the viewer's zone: ``Sat 14 Nov
    2026, 09:12 (+01:00)``, ``…, 09:12 (local time)`` where its zone is unknown, or the day
    alone (``Sat 14 Nov 2026``) for a booking known by its day."""
    try:
        moment = datetime.fromisoformat(value or "")
    except ValueError:
        return "unknown"
    if len(value or "") <= 10:
        return moment.strftime("%a %d %b %Y")
    if moment.tzinfo is None:
        return moment.strftime("%a %d %b %Y, %H:%M") + " (local time)"
    offset = moment.strftime("%z")
    return moment.strftime("%a %d %b %Y, %H:%M") + f" ({offset[:3]}:{offset[3:]})"


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
