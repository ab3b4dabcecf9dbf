"""Human-readable output of the CLI's views (``--json`` gives the same data as JSON)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TextIO

from vault.text import HIDDEN, visible, visible_line

CHANNEL_MARK = {
    "email": "✉",
    "chat": "💬",
    "booking": "🎫",
    "order": "📦",
    "call": "☎",
    "letter": "✍",
    "note": "✎",
}
DIRECTION_MARK = {"in": "←", "out": "→", "system": "·"}
# json escapes C0 controls but not DEL and the C1 range, where U+009B is an 8-bit CSI that some
# terminals obey even in UTF-8, nor the hidden characters of vault.text (a right-to-left
# override): escape those too (they only ever occur inside JSON strings). Decoded, the text is
# exactly what the view returned; on a terminal, it is inert.
_JSON_UNESCAPED = re.compile(f"[\x7f-\x9f]|{HIDDEN.pattern}")


def _json_escape(match: re.Match[str]) -> str:
    return json.dumps(match.group())[1:-1]  # \u202e; a surrogate pair beyond the BMP


def print_json(data: Any, out: TextIO | None = None) -> None:
    """Pretty JSON; non-ASCII kept readable, every control and hidden character escaped
    (``\\u001b``, ``\\u202e``), so the exact text arrives and nothing in it acts on a terminal."""
    stream = out or sys.stdout
    text = json.dumps(data, ensure_ascii=False, indent=2)
    stream.write(_JSON_UNESCAPED.sub(_json_escape, text) + "\n")


def print_json_list(rows: Iterable[Any], out: TextIO | None = None) -> None:
    """``print_json`` of a list, written as the rows come: the same text, but a list of any
    length is never held whole (``--all`` of a long history)."""
    stream = out or sys.stdout
    separator = "[\n"
    for row in rows:
        text = json.dumps(row, ensure_ascii=False, indent=2).replace("\n", "\n  ")
        stream.write(separator + "  " + _JSON_UNESCAPED.sub(_json_escape, text))
        separator = ",\n"
    stream.write("[]\n" if separator == "[\n" else "\n]\n")


def table(rows: Iterable[Sequence[str]], headers: Sequence[str], out: TextIO | None = None) -> None:
    """A plain aligned table; the last column takes what is left."""
    stream = out or sys.stdout
    materialised = [[visible_line(str(cell), 80) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in materialised:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell))
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    stream.write(line.rstrip() + "\n")
    for row in materialised:
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=False)] + [row[-1]]
        stream.write("  ".join(cells).rstrip() + "\n")


def sender_name(sender: str) -> str:
    """``KLM <noreply@klm.com>`` → ``KLM``; a bare address stays as it is."""
    name, _, address = sender.partition(" <")
    return visible_line(name if address else sender, 40)


def short_time(iso_time: str | None) -> str:
    """``2024-03-01T10:15:00+01:00`` → ``2024-03-01 10:15``."""
    return iso_time[:16].replace("T", " ") if iso_time else "—"


def booking_time(iso_time: str | None) -> str:
    """A booking's time as the place shows it: ``2024-03-01 10:15`` in the place's own offset,
    ``2024-03-01 10:15 local`` where its zone is unknown, ``2024-03-01`` for a day."""
    if not iso_time or len(iso_time) <= 10:
        return iso_time or "—"
    try:
        zoned = datetime.fromisoformat(iso_time).tzinfo is not None
    except ValueError:
        zoned = True
    return short_time(iso_time) + ("" if zoned else " local")


def timeline_lines(rows: Iterable[dict[str, Any]], out: TextIO | None = None) -> None:
    """Timeline or search rows, one per line, with a month separator."""
    stream = out or sys.stdout
    month = None
    for row in rows:
        when = row["occurred_at"]
        if when[:7] != month:
            month = when[:7]
            stream.write(f"── {month} ──\n")
        mark = CHANNEL_MARK.get(row["channel"], "?") + DIRECTION_MARK.get(row["direction"], " ")
        who = f"  {sender_name(row['sender'])}" if row.get("sender") else ""
        company = row.get("company")
        where = f"  [{visible_line(company['name'], 80)}]" if isinstance(company, dict) else ""
        title = visible_line(row["title"], 300)
        stream.write(f"{row['id']:>7}  {short_time(when)}  {mark}  {title}{where}{who}\n")
        if row.get("snippet"):
            stream.write(f"{'':>7}  {visible_line(row['snippet'], 110)}\n")


def item_text(item: dict[str, Any], out: TextIO | None = None) -> None:
    """One interaction in full; every field from the source made inert for the terminal."""
    stream = out or sys.stdout
    stream.write(f"{visible_line(item['title'], 500)}\n")
    fields = [
        ("When", item["occurred_at"]),
        ("Company", f"{item['company']['name']} ({item['company']['id']})"),
        ("Channel", f"{item['channel']} ({item['direction']})"),
        ("From", item.get("sender") or "—"),
        ("To", ", ".join(item.get("recipients") or []) or "—"),
        ("Source", item["source_ref"]),
    ]
    for label, value in fields:
        stream.write(f"{label + ':':<9}{visible_line(str(value), 1000)}\n")
    for attachment in item["attachments"]:
        stream.write(
            f"{'Attached:':<9}{visible_line(attachment['filename'])} "
            f"({visible_line(attachment['mime'])}, "
            f"{attachment['size']:,} bytes)\n"
        )
    for booking in item["bookings"]:
        route = " → ".join(filter(None, [booking["origin"], booking["destination"]]))
        line = f"{booking['kind']} {booking['reference'] or ''} {route} {booking['status']}"
        stream.write(f"{'Booking:':<9}{visible_line(line, 500)}\n")
    if item.get("case"):
        stream.write(f"{'Related:':<9}{', '.join(str(i) for i in item['case'][:20])}\n")
    stream.write("\n" + visible(item["body"]).rstrip() + "\n")
