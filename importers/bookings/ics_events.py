"""A calendar read as tolerantly as calendar programs write it: lines unfolded, a file split
into its calendars and events when ``icalendar`` rejects it whole, time zones (Olson, Windows
names, fixed offsets, floating times), and each VEVENT into an ``Event`` of plain values (see
``importers.bookings.ics``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Component
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from vault.records import Booking, BookingKind, Party

_FIXED_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2}):?(\d\d)$")
# PRODID owners that are calendar programs, not the business that sent the event.
_CALENDAR_SOFTWARE = re.compile(
    r"google|microsoft|apple|mozilla|k desktop|kde|nextcloud|fastmail|zimbra|proton|thunderbird"
    r"|evolution|ical\.net|dday|podio|calendar",
    re.I,
)


@dataclass(frozen=True, slots=True)
class CalendarContext:
    """What an event needs from its calendar and the import: zones, method, producer."""

    timezone: tzinfo
    default_zone: tzinfo | None = None
    method: str = ""
    producer: str | None = None


@dataclass(slots=True)
class Event:
    """One VEVENT, read into plain values."""

    summary: str
    description: str
    location: str
    start: datetime
    end: datetime | None
    stated_start: datetime | date
    stated_end: datetime | date | None
    all_day: bool
    tz_known: bool
    uid: str | None
    recurrence_id: str | None
    status: str
    categories: list[str]
    organizer: Party | None
    attendees: list[Party]
    extras: dict[str, Any] = field(default_factory=dict)
    bookings: list[Booking] = field(default_factory=list)
    kind: BookingKind | None = None
    provider: str | None = None
    sequence: int = 0
    cancelled: bool = False
    modified: datetime | None = None


# --- parsing, tolerant of what calendar programs write -------------------------------------------


def decode(raw: bytes) -> str:
    """The text of a calendar: UTF-8 as RFC 5545 says, else Windows-1252 (old Outlook)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def calendars(text: str) -> tuple[list[Calendar], list[Unreadable]]:
    """The calendars of a file, and every part of it that could not be read."""
    try:
        parsed = Calendar.from_ical(text, multiple=True)
        found = parsed if isinstance(parsed, list) else [parsed]
        if found:
            return found, []
    except Exception:  # noqa: S110 — icalendar rejects the whole file; read it part by part
        pass
    return _calendars_part_by_part(text)


def _unfolded_lines(text: str) -> list[str]:
    """Lines with folds undone; Mozilla Calendar 1.0 puts a blank line inside its folds."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"\n(?:[ \t]*\n)*[ \t]", "", text)
    return [line for line in text.split("\n") if line.strip()]


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A part of a calendar file that could not be read, kept for quarantine."""

    text: str
    reason: str


@dataclass(slots=True)
class _RawCalendar:
    properties: list[str] = field(default_factory=list)
    timezones: list[list[str]] = field(default_factory=list)
    events: list[list[str]] = field(default_factory=list)


def _split(lines: list[str]) -> list[_RawCalendar]:
    """The VCALENDARs of a file as lines: their own properties, VTIMEZONEs and VEVENTs."""
    found: list[_RawCalendar] = []
    current: _RawCalendar | None = None
    block: list[str] | None = None
    depth = 0
    for line in lines:
        name, _, value = line.partition(":")
        key = (name.strip().upper(), value.strip().upper())
        if block is not None:
            block.append(line)
            depth += (key[0] == "BEGIN") - (key[0] == "END")
            if depth == 0:
                block = None
        elif key == ("BEGIN", "VCALENDAR"):
            current = _RawCalendar()
            found.append(current)
        elif key[0] == "BEGIN" and key[1] in ("VEVENT", "VTIMEZONE"):
            if current is None:  # a bare VEVENT without its VCALENDAR
                current = _RawCalendar()
                found.append(current)
            block, depth = [line], 1
            (current.events if key[1] == "VEVENT" else current.timezones).append(block)
        elif current is not None and key[0] not in ("BEGIN", "END") and depth == 0:
            current.properties.append(line)
    return found


def _calendars_part_by_part(text: str) -> tuple[list[Calendar], list[Unreadable]]:
    """Each event in a calendar of its own, with the calendar's properties and usable zones."""
    result: list[Calendar] = []
    failed: list[Unreadable] = []
    for raw in _split(_unfolded_lines(text)):
        head = ["BEGIN:VCALENDAR", *raw.properties]
        zones = [z for z in raw.timezones if _parse_one([*head, *z, "END:VCALENDAR"]) is not None]
        for event in raw.events:
            lines = [*head, *(line for z in zones for line in z), *event, "END:VCALENDAR"]
            calendar = _parse_one(lines)
            if calendar is None:
                failed.append(Unreadable("\r\n".join(event), "unreadable calendar event"))
            else:
                result.append(calendar)
    return result, failed


def _parse_one(lines: list[str]) -> Calendar | None:
    try:
        parsed = Calendar.from_ical("\r\n".join(lines) + "\r\n")
    except Exception:  # untrusted input; the caller quarantines it
        return None
    return parsed if isinstance(parsed, Calendar) else None


def calendar_context(calendar: Calendar, fallback: tzinfo) -> CalendarContext:
    """The calendar-wide facts: X-WR-TIMEZONE (Google, Apple), METHOD and PRODID."""
    zone_name = str(calendar.get("X-WR-TIMEZONE") or "").strip()
    producer = str(calendar.get("PRODID") or "")
    owner = producer.split("//")[1].strip() if producer.count("//") >= 2 else ""
    return CalendarContext(
        timezone=fallback,
        default_zone=zone_named(zone_name) if zone_name else None,
        method=str(calendar.get("METHOD") or "").strip().upper(),
        producer=owner if owner and not _CALENDAR_SOFTWARE.search(owner) else None,
    )


def zone_named(name: str) -> tzinfo | None:
    """A zone from a TZID: IANA, Windows (Outlook) or a plain offset; None if unknown."""
    name = name.strip().strip('"')
    olson = WINDOWS_TO_OLSON.get(name, name)
    try:
        return ZoneInfo(olson)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    offset = _FIXED_OFFSET.match(name)
    if offset is None:
        return None
    sign = -1 if offset.group(1) == "-" else 1
    minutes = int(offset.group(2)) * 60 + int(offset.group(3))
    return timezone(sign * timedelta(minutes=minutes)) if minutes < 24 * 60 else None


@dataclass(frozen=True, slots=True)
class _Moment:
    """A DTSTART/DTEND-like property: an aware time to place the event on the timeline, and
    the time as the calendar states it (aware, floating or a day) for a booking."""

    at: datetime
    stated: datetime | date
    tz_known: bool
    all_day: bool


def _moment(prop: Any, context: CalendarContext) -> _Moment | None:
    """The times of a DTSTART/DTEND-like property (see ``_Moment``)."""
    if prop is None:
        return None
    value = prop.dt
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return _Moment(value, value, True, False)
        # A TZID icalendar could not resolve (no VTIMEZONE for it), else a floating time.
        zone = zone_named(str(prop.params.get("TZID", ""))) if "TZID" in prop.params else None
        zone = zone or context.default_zone
        stated = value.replace(tzinfo=zone) if zone is not None else value
        return _Moment(
            value.replace(tzinfo=zone or context.timezone), stated, zone is not None, False
        )
    if isinstance(value, date):
        # All-day: the day itself, wherever the user is; midnight in their zone.
        zone = context.default_zone or context.timezone
        return _Moment(datetime.combine(value, time(0), zone), value, False, True)
    return None


def _text(value: Any) -> str:
    """A TEXT property as a string (icalendar has already undone the escapes)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value).strip()


def _categories(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value] if value is not None else []
    found: list[str] = []
    for item in values:
        cats = getattr(item, "cats", None)
        found.extend(str(c).strip() for c in (cats if cats is not None else [item]))
    return [c for c in found if c]


def _party(value: Any) -> Party | None:
    """An ORGANIZER/ATTENDEE: ``mailto:`` address and CN."""
    if value is None:
        return None
    address = str(value).strip()
    if address.casefold().startswith("mailto:"):
        address = address[7:]
    name = str(value.params.get("CN", "")).strip().strip('"') if hasattr(value, "params") else ""
    if not address and not name:
        return None
    return Party(name=name or None, address=address.casefold() or None)


def read_event(component: Component, context: CalendarContext) -> Event:
    """One VEVENT as an ``Event``.

    Raises:
        ValueError: the event has no usable DTSTART.
    """
    start = _moment(component.get("DTSTART"), context)
    if start is None:
        raise ValueError("event without a start (DTSTART)")
    end = _moment(component.get("DTEND"), context)
    duration = component.get("DURATION")
    end_at = end.at if end else None
    stated_end = end.stated if end else None
    if end_at is None and duration is not None and isinstance(duration.dt, timedelta):
        end_at = start.at + duration.dt
        stated_end = start.stated + duration.dt
    recurrence = component.get("RECURRENCE-ID")
    attendees = component.get("ATTENDEE")
    event = Event(
        summary=" ".join(_text(component.get("SUMMARY")).split()),
        description=_text(component.get("DESCRIPTION")),
        location=_text(component.get("LOCATION")),
        start=start.at,
        end=end_at,
        stated_start=start.stated,
        stated_end=stated_end,
        all_day=start.all_day,
        tz_known=start.tz_known,
        uid=_text(component.get("UID")) or None,
        recurrence_id=_iso(recurrence.dt) if recurrence is not None else None,
        status=_text(component.get("STATUS")).upper(),
        categories=_categories(component.get("CATEGORIES")),
        organizer=_party(component.get("ORGANIZER")),
        attendees=[
            p
            for p in (
                _party(a) for a in (attendees if isinstance(attendees, list) else [attendees])
            )
            if p
        ],
    )
    event.sequence = _sequence(component.get("SEQUENCE"))
    written = component.get("LAST-MODIFIED") or component.get("DTSTAMP")
    written_at = getattr(written, "dt", None)
    if isinstance(written_at, datetime) and written_at.tzinfo is not None:
        event.modified = written_at
    event.extras = _extras(component, event)
    return event


def _sequence(value: Any) -> int:
    try:
        return int(str(value)) if value is not None else 0
    except ValueError:
        return 0


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _extras(component: Component, event: Event) -> dict[str, Any]:
    """What the detail view shows beside the body: uid, end, repetition, link."""
    rrule = component.get("RRULE")
    extras: dict[str, Any] = {
        "uid": event.uid,
        "recurrence_id": event.recurrence_id,
        "end": event.end.isoformat() if event.end else None,
        "all_day": event.all_day or None,
        "location": event.location or None,
        "status": event.status or None,
        "url": _text(component.get("URL")) or None,
        "rrule": rrule.to_ical().decode("utf-8", "replace") if rrule is not None else None,
        "categories": event.categories or None,
        "calendar_errors": [f"{name}: {error}" for name, error in component.errors] or None,
    }
    return {k: v for k, v in extras.items() if v is not None}


def events_in(
    text: str, zone: tzinfo
) -> Iterator[tuple[Component, CalendarContext, bytes] | Unreadable]:
    """Every VEVENT with its calendar's context and its own text, then the unreadable parts."""
    found, failed = calendars(text)
    events = [
        (component, context)
        for calendar, context in ((c, calendar_context(c, zone)) for c in found)
        for component in calendar.walk("VEVENT")
    ]
    texts = _event_texts(text, len(events))
    for index, (component, context) in enumerate(events):
        yield component, context, texts[index] if texts else _component_bytes(component)
    yield from failed


def _event_texts(text: str, expected: int) -> list[bytes] | None:
    """Each VEVENT's lines as written in the file, in file order; None if they cannot be paired.

    Writing each parsed event back with icalendar cost a third of a big calendar's import;
    the file's own lines are cheaper and are what the user's file said.
    """
    blocks = [event for calendar in _split(_unfolded_lines(text)) for event in calendar.events]
    if len(blocks) != expected:
        return None
    return [("\r\n".join(block) + "\r\n").encode() for block in blocks]


def _component_bytes(component: Component) -> bytes:
    try:
        return bytes(component.to_ical())
    except Exception:  # a component icalendar reads but cannot write back
        return b""
