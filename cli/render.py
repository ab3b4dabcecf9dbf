"""Human-readable output of the CLI's views (``--json`` gives the same data as JSON)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from datetime import tzinfo
from typing import Any, TextIO

from vault.channels import DAY_ONLY
from vault.clock import moment, offset_text, place_time
from vault.text import HIDDEN, visible, visible_line

CHANNEL_MARK = {
    "email": "✉",
    "chat": "💬",
    "sms": "📱",
    "booking": "🎫",
    "order": "📦",
    "call": "☎",
    "letter": "✍",
    "note": "✎",
    "payment": "€",
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


def short_time(value: str | None, zone: tzinfo | None) -> str:
    """``2024-03-01T10:15:00+01:00`` → ``2024-03-01 10:15`` in the user's zone."""
    shown = moment(value, zone)
    return shown.strftime("%Y-%m-%d %H:%M") if shown else "—"


def booking_time(value: str | None, zone: tzinfo | None) -> str:
    """A booking's time in the user's zone, with the place's own time where it differs:
    ``2024-03-01 16:15 (10:15 local)``; ``2024-03-01 10:15 local`` where the booking gave no
    zone; ``2024-03-01`` for a day."""
    seen = place_time(value, zone)
    if seen is None:
        return value or "—"
    if seen.day_only:
        return seen.at.strftime("%Y-%m-%d")
    text = seen.at.strftime("%Y-%m-%d %H:%M")
    if seen.floating:
        return text + " local"
    if seen.local is not None:
        day = "" if seen.local.date() == seen.at.date() else seen.local.strftime("%d %b ")
        return text + f" ({day}{seen.local:%H:%M} local)"
    return text


def amount_text(amount: dict[str, Any] | None) -> str:
    """``  EUR 13.49`` beside a title (``~`` before an amount read from a mail's words)."""
    if not amount:
        return ""
    mark = "~" if amount.get("guessed") else ""
    return f"  {mark}{amount.get('currency') or ''} {amount['value']}".rstrip()


def timeline_lines(
    rows: Iterable[dict[str, Any]], zone: tzinfo | None, out: TextIO | None = None
) -> None:
    """Timeline or search rows, one per line in the user's zone, with a month separator."""
    stream = out or sys.stdout
    month = None
    for row in rows:
        when = short_time(row["occurred_at"], zone)
        if row["channel"] in DAY_ONLY:
            when = f"{when[:10]:<16}"
        if when[:7] != month:
            month = when[:7]
            stream.write(f"── {month} ──\n")
        mark = CHANNEL_MARK.get(row["channel"], "?") + DIRECTION_MARK.get(row["direction"], " ")
        who = f"  {sender_name(row['sender'])}" if row.get("sender") else ""
        company = row.get("company")
        where = f"  [{visible_line(company['name'], 80)}]" if isinstance(company, dict) else ""
        title = visible_line(row["title"], 300) + amount_text(row.get("amount"))
        stream.write(f"{row['id']:>7}  {when}  {mark}  {title}{where}{who}\n")
        if row.get("snippet"):
            stream.write(f"{'':>7}  {visible_line(row['snippet'], 110)}\n")


def full_time(value: str | None, zone: tzinfo | None, *, day_only: bool = False) -> str:
    """``2024-03-01 10:15 +01:00`` in the user's zone, then the source's own clock where it
    differs: ``(sent 11:15 +02:00)``; ``2024-03-01`` for an item known by its day."""
    seen = place_time(value, zone)
    if seen is None:
        return value or "—"
    text = seen.at.strftime("%Y-%m-%d %H:%M")
    if seen.day_only or day_only:
        return seen.at.strftime("%Y-%m-%d")
    if seen.floating:
        return text + " (no zone given)"
    text += f" {offset_text(seen.at)}"
    if seen.local is not None:
        text += f" (sent {seen.local:%Y-%m-%d %H:%M} {offset_text(seen.local)})"
    return text


def item_text(item: dict[str, Any], zone: tzinfo | None, out: TextIO | None = None) -> None:
    """One interaction in full, its time in the user's zone; every field from the source made
    inert for the terminal."""
    stream = out or sys.stdout
    stream.write(f"{visible_line(item['title'], 500)}\n")
    fields = [
        ("When", full_time(item["occurred_at"], zone, day_only=item["channel"] in DAY_ONLY)),
        ("Company", f"{item['company']['name']} ({item['company']['id']})"),
        ("Channel", f"{item['channel']} ({item['direction']})"),
        ("From", item.get("sender") or "—"),
        ("To", ", ".join(item.get("recipients") or []) or "—"),
        ("Source", item["source_ref"]),
    ]
    for label, value in fields:
        stream.write(f"{label + ':':<10}{visible_line(str(value), 1000)}\n")
    for attachment in item["attachments"]:
        stream.write(
            f"{'Attached:':<10}{visible_line(attachment['filename'])} "
            f"({visible_line(attachment['mime'])}, "
            f"{attachment['size']:,} bytes)\n"
        )
    for booking in item["bookings"]:
        route = " → ".join(filter(None, [booking["origin"], booking["destination"]]))
        line = f"{booking['kind']} {booking['reference'] or ''} {route} {booking['status']}"
        stream.write(f"{'Booking:':<10}{visible_line(line, 500)}\n")
    if item.get("case"):
        stream.write(f"{'Related:':<10}{', '.join(str(i) for i in item['case'][:20])}\n")
    stream.write("\n" + visible(item["body"]).rstrip() + "\n")


SKIPPED_SHOWN = 50
"""Skipped files listed after an import's counts; ``--json`` names them all."""


def skipped_lines(skipped: Sequence[dict[str, str]], more: int = 0) -> list[str]:
    """The lines naming the files an import did not read, each with its reason."""
    total = len(skipped) + more
    if not total:
        return []
    lines = [f"{total:,} file{'s' * (total != 1)} skipped:"]
    lines += [
        f"  {visible_line(entry['path'], 160)}: {visible_line(entry['reason'], 160)}"
        for entry in skipped[:SKIPPED_SHOWN]
    ]
    unlisted = total - min(len(skipped), SKIPPED_SHOWN)
    if unlisted:
        lines.append(f"  … and {unlisted:,} more (`kluis import --json` names them)")
    return lines
