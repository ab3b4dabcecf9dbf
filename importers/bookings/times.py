"""Times of bookings exactly as precise as the document states them, never more.

A booking's time is one of three things:

- an aware ``datetime``: an instant (the document gave an offset or a zone);
- a naive ``datetime``: a local time whose zone nobody stated (floating), kept local;
- a ``date``: only the day is known (a boarding-pass barcode, a ``departureDay``).

A local time becomes an instant only where the place says which zone it is in (an airport,
see ``importers.bookings.airports``); nothing here assumes the user's zone.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, tzinfo
from typing import Any

When = datetime | date
"""A booking time in one of the three forms of the module docstring."""

_NON_ISO_OFFSET = re.compile(r"([+-])(\d):?(\d\d)$")
_COMPACT_OFFSET = re.compile(r"([+-]\d\d)(\d\d)$")
_US_DATE = re.compile(r"^(\d\d)-(\d\d)-(\d{4})[ T](\d\d:\d\d(?::\d\d)?)$")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
_SPACED = re.compile(r"^\d{4}-\d\d-\d\d \d")


def parse_when(value: Any) -> When | None:
    """An ISO-ish time as written in markup, in its own precision; None if unreadable.

    ``2027-03-04T20:15:00-08:00`` is an instant, ``2027-03-04T20:15`` a local time and
    ``2027-03-04`` a day. Repaired on the way: ``Z``, one-digit (``+0:00``) and colon-less
    offsets, a space for the ``T``, and Eurowings's ``MM-DD-YYYY HH:MM``.
    """
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@value") or value.get("name")
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if _DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    if "T" not in text and _SPACED.match(text):
        text = text.replace(" ", "T", 1)
    us = _US_DATE.match(text)
    if us:  # Eurowings: MM-DD-YYYY HH:MM
        text = f"{us.group(3)}-{us.group(1)}-{us.group(2)}T{us.group(4)}"
    text = text.replace("Z", "+00:00")
    if "T" in text:
        text = _NON_ISO_OFFSET.sub(r"\g<1>0\2:\3", text)
        text = _COMPACT_OFFSET.sub(r"\1:\2", text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_instant(value: Any) -> datetime | None:
    """``parse_when``, only when it gives an instant (a time with its offset)."""
    found = parse_when(value)
    return found if isinstance(found, datetime) and found.tzinfo is not None else None


def is_instant(when: When | None) -> bool:
    """True for an aware datetime."""
    return isinstance(when, datetime) and when.tzinfo is not None


def day_of(when: When) -> date:
    """The day of a booking time, as written (a local or zoned time's own calendar day)."""
    return when.date() if isinstance(when, datetime) else when


def at_place(when: When | None, zone: tzinfo | None) -> When | None:
    """A time read at a place whose zone is ``zone`` (None: unknown).

    A local time becomes the instant it is there; an instant is shown in the place's own
    offset (what a traveller reads on the board); a day stays a day.
    """
    if zone is None or not isinstance(when, datetime):
        return when
    if when.tzinfo is None:
        return when.replace(tzinfo=zone)
    return when.astimezone(zone)


def local_on(day: date, clock: str, zone: tzinfo | None) -> datetime | None:
    """``clock`` (``18:20``, ``5:10 PM``) on ``day``, at a place in ``zone`` (None: local)."""
    match = re.fullmatch(r"\s*(\d{1,2})[:.h](\d\d)\s*([AaPp]\.?[Mm]\.?)?\s*", clock)
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if match.group(3):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match.group(3)[0] in "Pp" else 0)
    if hour > 23 or minute > 59:
        return None
    moment = datetime.combine(day, time(hour, minute))
    return moment.replace(tzinfo=zone) if zone is not None else moment
