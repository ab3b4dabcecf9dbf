"""Human-readable output of the CLI's views (``--json`` gives the same data as JSON)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from vault.text import one_line, strip_controls

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
# terminals obey even in UTF-8: escape those too (they only ever occur inside JSON strings).
_JSON_UNESCAPED_CONTROLS = re.compile("[\x7f-\x9f]")


def print_json(data: Any, out: TextIO | None = None) -> None:
    """Pretty JSON; non-ASCII kept readable, every control character escaped (``\\u001b``)."""
    stream = out or sys.stdout
    text = json.dumps(data, ensure_ascii=False, indent=2)
    text = _JSON_UNESCAPED_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    stream.write(text + "\n")


def table(rows: Iterable[Sequence[str]], headers: Sequence[str], out: TextIO | None = None) -> None:
    """A plain aligned table; the last column takes what is left."""
    stream = out or sys.stdout
    materialised = [[one_line(str(cell), 80) for cell in row] for row in rows]
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
    return one_line(name if address else sender, 40)


def short_time(iso_time: str | None) -> str:
    """``2024-03-01T10:15:00+01:00`` → ``2024-03-01 10:15``."""
    return iso_time[:16].replace("T", " ") if iso_time else "—"


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
        company = f"  [{row['company']['name']}]" if isinstance(row.get("company"), dict) else ""
        stream.write(f"{row['id']:>7}  {short_time(when)}  {mark}  {row['title']}{company}{who}\n")
        if row.get("snippet"):
            stream.write(f"{'':>7}  {one_line(row['snippet'], 110)}\n")


def item_text(item: dict[str, Any], out: TextIO | None = None) -> None:
    """One interaction in full; every field from the source made inert for the terminal."""
    stream = out or sys.stdout
    stream.write(f"{one_line(item['title'], 500)}\n")
    fields = [
        ("When", item["occurred_at"]),
        ("Company", f"{item['company']['name']} ({item['company']['id']})"),
        ("Channel", f"{item['channel']} ({item['direction']})"),
        ("From", item.get("sender") or "—"),
        ("To", ", ".join(item.get("recipients") or []) or "—"),
        ("Source", item["source_ref"]),
    ]
    for label, value in fields:
        stream.write(f"{label + ':':<9}{one_line(str(value), 1000)}\n")
    for attachment in item["attachments"]:
        stream.write(
            f"{'Attached:':<9}{one_line(attachment['filename'])} ({one_line(attachment['mime'])}, "
            f"{attachment['size']:,} bytes)\n"
        )
    for booking in item["bookings"]:
        route = " → ".join(filter(None, [booking["origin"], booking["destination"]]))
        line = f"{booking['kind']} {booking['reference'] or ''} {route} {booking['status']}"
        stream.write(f"{'Booking:':<9}{one_line(line, 500)}\n")
    if item.get("case"):
        stream.write(f"{'Related:':<9}{', '.join(str(i) for i in item['case'][:20])}\n")
    stream.write("\n" + strip_controls(item["body"]).rstrip() + "\n")
