"""The user's bookings as an iCalendar file (``kluis bookings --ics OUT``), one event per segment.

A booking row keeps its source's offset (``07:15+01:00``), not a zone name, and an iCalendar
TZID must name a VTIMEZONE. So each offset used gets a VTIMEZONE of its own with that fixed
offset (``TZID:UTC+01:00``): the file keeps the local wall time as booked and the exact
instant. A booking known only by its day (a boarding-pass barcode, a hotel check-in date) is
an all-day event.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from icalendar import Calendar, Event, Timezone, TimezoneStandard

from vault.errors import InputError
from vault.fsutil import write_atomically
from vault.records import BOOKING_LABELS
from vault.timefmt import now_utc

PRODUCT = "-//kluis//bookings//EN"
_TRIPS = ("flight", "train", "bus", "boat", "taxi")


def summary(row: dict[str, Any]) -> str:
    """``Flight KL1275 AMS → VIE``, ``Stay Hotel Sacher``, ``Ticket Paradiso (Live Nation)``."""
    parts = [BOOKING_LABELS.get(row["kind"], str(row["kind"]).title())]
    if row.get("number"):
        parts.append(str(row["number"]))
    route = [str(p) for p in (row.get("origin"), row.get("destination")) if p]
    if route and row["kind"] in _TRIPS:
        parts.append(" → ".join(route))
    elif route:
        parts.append(route[-1])
    elif row.get("company"):
        parts.append(str(row["company"]))
    text = " ".join(parts)
    return f"{text} (cancelled)" if row.get("status") == "cancelled" else text


def uid(row: dict[str, Any]) -> str:
    """The same UID for the same booking on every export, so calendars update, not duplicate.

    The id is the vault's; the hash of company, kind and reference keeps two vaults' ids apart.
    """
    identity = "\x1f".join(str(row.get(k) or "") for k in ("company", "kind", "reference"))
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:12]
    return f"booking-{row['id']}-{digest}@kluis"


def _times(row: dict[str, Any]) -> tuple[datetime | date, datetime | date | None] | None:
    """(DTSTART, DTEND) of a row: instants, floating local times where the booking's zone is
    unknown (RFC 5545 form 1), or days for a booking known by its day only."""
    if not row.get("start"):
        return None
    start = datetime.fromisoformat(row["start"])
    end = datetime.fromisoformat(row["end"]) if row.get("end") else None
    if end is not None and (end.tzinfo is None) != (start.tzinfo is None):
        end = None  # iCalendar cannot end a floating event at an instant, or the other way
    # A day, or local midnight to midnight, is a day rather than a moment.
    day_only = len(row["start"]) <= 10
    if day_only or (start.time() == time(0) and (end is None or end.time() == time(0))):
        first = start.date()
        last = end.date() if end is not None and end.date() > first else first + timedelta(days=1)
        return first, last
    return start, end


def _description(row: dict[str, Any]) -> str:
    lines = []
    if row.get("reference"):
        lines.append(f"Reference: {row['reference']}")
    if row.get("company"):
        lines.append(f"Company: {row['company']}")
    if row.get("travellers"):
        lines.append("Travellers: " + ", ".join(row["travellers"]))
    if row.get("seat"):
        lines.append(f"Seat: {row['seat']}")
    if row.get("price"):
        lines.append(f"Price: {row['price']} {row.get('currency') or ''}".rstrip())
    lines.append(f"Status: {row['status']}")
    return "\n".join(lines)


def booking_event(row: dict[str, Any], stamp: datetime) -> Event | None:
    """The VEVENT of one booking row, or None for a row without a start (an order)."""
    times = _times(row)
    if times is None:
        return None
    event = Event()
    event.add("uid", uid(row))
    event.add("dtstamp", stamp)
    event.add("summary", summary(row))
    event.add("dtstart", times[0])
    if times[1] is not None:
        event.add("dtend", times[1])
    where = row.get("origin") if row["kind"] in _TRIPS else row.get("destination")
    if where or row.get("origin"):
        event.add("location", str(where or row.get("origin")))
    event.add("description", _description(row))
    event.add("status", "CANCELLED" if row["status"] == "cancelled" else "CONFIRMED")
    # A day-long entry (a flight known by its day) must not mark the whole day busy.
    all_day = not isinstance(times[0], datetime)
    event.add("transp", "TRANSPARENT" if all_day else "OPAQUE")
    return event


def fixed_offset_zone(zone: tzinfo) -> Timezone | None:
    """The VTIMEZONE of a fixed offset as icalendar names it (``UTC+01:00``); None for UTC."""
    offset = zone.utcoffset(None)
    name = zone.tzname(None)
    if offset is None or not offset or not name:
        return None
    standard = TimezoneStandard()
    standard.add("dtstart", datetime(1970, 1, 1))
    standard.add("tzoffsetfrom", offset)
    standard.add("tzoffsetto", offset)
    standard.add("tzname", name)
    component = Timezone()
    component.add("tzid", name)
    component.add_component(standard)
    return component


def bookings_calendar(rows: list[dict[str, Any]], stamp: datetime | None = None) -> Calendar:
    """An iCalendar with one event per booking row that has a start."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "kluis bookings")
    now = stamp or now_utc()
    events = [e for e in (booking_event(row, now) for row in rows) if e is not None]
    zones: dict[str, Timezone] = {}
    for event in events:
        for name in ("dtstart", "dtend"):
            moment = event.decoded(name, None)
            if isinstance(moment, datetime) and moment.tzinfo is not None:
                zone = fixed_offset_zone(moment.tzinfo)
                if zone is not None:
                    zones.setdefault(str(zone["tzid"]), zone)
    for zone in zones.values():
        calendar.add_component(zone)
    for event in events:
        calendar.add_component(event)
    return calendar


def write_bookings_ics(rows: list[dict[str, Any]], path: Path) -> int:
    """Write ``rows`` (as ``vault.queries.list_bookings`` returns them) to ``path``.

    The file is private (0600) and replaced atomically. Rows without a start are left out.

    Returns:
        The number of events written.

    Raises:
        InputError: ``path`` cannot be written (no such folder, no permission).
    """
    calendar = bookings_calendar(rows)
    try:
        write_atomically(path, calendar.to_ical())
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return len(calendar.walk("VEVENT"))
