"""iCalendar files (``--format ics``) and calendar attachments: events, and the trips among them.

Every VEVENT becomes an interaction at its DTSTART: a ``booking`` when it is a trip or
reservation (a flight, train, rental car, hotel, table, ticket … with a reference or a place),
else a ``note``. A reservation with a reference also gives a ``Booking``; events that KDE
Itinerary wrote carry the full schema.org reservation, which is read as such.

Calendars from the wild are broken in many ways (properties without a value, folds over blank
lines, data after END:VCALENDAR, two VCALENDARs in one file, VTIMEZONEs without rules). The
``icalendar`` library reads most of them; when it rejects a file, the file is split into its
events, and each one is read on its own with the time zones that do parse, so one bad part
costs only itself (quarantined), never the file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Component
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from importers.bookings import hafas
from importers.bookings.markup import flatten, loads_leniently
from importers.bookings.schemaorg import bookings_from, segment_key
from importers.files import (
    LongLine,
    capped_lines,
    file_checkpoint,
    long_line_reason,
    open_source,
    peek,
)
from vault.errors import InputError, MalformedInput
from vault.records import (
    Attachment,
    Booking,
    BookingKind,
    BookingStatus,
    CompanyHints,
    Direction,
    ImportOptions,
    Interaction,
    Item,
    Party,
    Place,
    Quarantined,
)

SUFFIXES = (".ics", ".ical", ".icalendar", ".ifb", ".vcs")
MIMES = ("text/calendar", "application/ics")
MAX_CALENDAR_BYTES = 200 * 1024 * 1024
MAX_LINE_BYTES = 4 * 1024 * 1024
"""A calendar line longer than this is left out, quarantined with the reason: lines are folded
at 75 bytes, and only an inline attachment left unfolded comes near it."""
_SNIFF_BYTES = 4096
_KITINERARY = "X-KDE-KITINERARY-RESERVATION"
# Keywords of each kind of trip, in the order they are tried: a flight's text often mentions
# a hotel or a train to the airport, a hotel's rarely a flight.
_KIND_PATTERNS: tuple[tuple[BookingKind, str], ...] = (
    ("flight", r"\b(?:flight|flug|vlucht|vol|boarding pass|airlines?)\b"),
    (
        "rental_car",
        r"rental car|car rental|car hire|mietwagen|huurauto|autoverhuur"
        r"|location de voiture|\bv[ée]hicule\b|\b(?:sixt|hertz|europcar|avis)\b",
    ),
    ("train", r"\b(?:train|zug|trein|rail|railways?|eurostar|thalys|sncf|[öo]bb|nightjet)\b"),
    ("bus", r"\b(?:bus|coach|flixbus)\b"),
    ("boat", r"\b(?:ferry|ferries|f[äa]hre|veerboot)\b"),
    ("lodging", r"\b(?:hotel|h[ôo]tel|hostel|airbnb|booking\.com|unterkunft|check-?in)\b"),
    ("restaurant", r"\b(?:restaurant|table for|dinner reservation|opentable|thefork)\b"),
    ("event", r"\b(?:tickets?|concert|festival|theat(?:re|er)|museum|eventbrite)\b"),
    ("taxi", r"\b(?:taxi|uber)\b"),
)
_KIND_WORDS = tuple((kind, re.compile(pattern, re.I)) for kind, pattern in _KIND_PATTERNS)
_REFERENCE = re.compile(
    r"(?:(?:booking|reservation|confirmation|order|ticket)\s*(?:reference|ref\.?|number|no\.?|code|"
    r"nr\.?|id)?|\bpnr|buchungs(?:nummer|code)|reservierungsnummer|boekingsnummer|"
    r"reserveringsnummer|num[ée]ro de (?:r[ée]servation|confirmation|dossier)"
    r")\s*(?::|#|is\b)?\s*#?\s*([A-Z0-9][A-Z0-9-]{3,19})\b",
    re.I,
)
_NAMED_ROUTE = re.compile(
    r"([^()\n:]+?)\s*\(([A-Z]{3})\)\s*(?:to|→|->|–|-)\s*([^()\n]+?)\s*\(([A-Z]{3})\)"
)
_CODE_ROUTE = re.compile(r"\b([A-Z]{3})\s*(?:→|->|–|-|to)\s*([A-Z]{3})\b")
_FLIGHT_NUMBER = re.compile(r"\b([A-Z]{2}|[A-Z]\d|\d[A-Z])\s?(\d{1,4})\b")
_LABELLED_FLIGHT = re.compile(
    r"(?i:flight|flug|vlucht|vol|volo|vuelo|lot)\s*(?i:no\.?|number|nummer|nr\.?|n°|nº)?\s*:?\s*"
    r"\b([A-Z]{2}|[A-Z]\d|\d[A-Z])\s?(\d{1,4})\b"
)
_OPERATED_BY = re.compile(
    r"(?i:operated by|durchgeführt von|uitgevoerd door|opéré par|operado por)\s*:?\s*([^\n]+)"
)
# An airport or station written with its code: "MUNICH DE (MUC)".
_CODED = r"(?P<name>[^()\n,;:]*?)\s*\((?P<code>[A-Z]{3})\)"
_CODED_PLACE = re.compile(_CODED)
_FROM_WORDS = r"(?i:from|von|van|vanuit|de|depuis|da|dal|desde|från|fra)"
# Only the unambiguous ones: "de" and "van" also begin Dutch and French names ("Van Gogh").
_FROM_WORD = re.compile(r"^\s*(?i:from|von)\s+")
_FROM_PLACE = re.compile(rf"\b{_FROM_WORDS}\s+{_CODED}")
_TO_PLACE = re.compile(rf"\b(?i:to|nach|naar|à|vers|a|hacia|till|til)\s+{_CODED}")
_TEXT_ESCAPE = re.compile(r"\\([\\;,nN])")
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


def _context(calendar: Calendar, fallback: tzinfo) -> CalendarContext:
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


# --- which events are trips, and their bookings --------------------------------------------------


def _kitinerary_bookings(component: Component) -> list[Booking]:
    """The schema.org reservation KDE Itinerary stores in its events, if there is one."""
    value = component.get(_KITINERARY)
    if value is None:
        return []
    raw = value.to_ical().decode("utf-8", "replace") if hasattr(value, "to_ical") else str(value)
    # An X- property is not unescaped by icalendar, but KItinerary writes it as TEXT.
    text = _TEXT_ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), raw)
    return bookings_from(flatten(_unwrap_times(loads_leniently(text))))


def _unwrap_times(data: Any) -> Any:
    """KItinerary writes times as ``{"@type": "QDateTime", "@value": …}``: keep the value."""
    if isinstance(data, list):
        return [_unwrap_times(v) for v in data]
    if isinstance(data, dict):
        if data.get("@type") == "QDateTime" and "@value" in data:
            return data["@value"]
        return {k: _unwrap_times(v) for k, v in data.items()}
    return data


def trip_kind(event: Event) -> BookingKind | None:
    """The kind of trip or reservation an event's categories and words name, if any."""
    text = "\n".join([*event.categories, event.summary, event.description[:4000]])
    return next((kind for kind, words in _KIND_WORDS if words.search(text)), None)


def find_reference(text: str) -> str | None:
    """A booking code written after a label: "Booking reference: X", "Reservation #X", …

    A code has a digit, or is all capitals (PNRs like ``RXJTQP``); lower-case words after
    a label ("reservation confirmed") and scrubbed placeholders are not codes.
    """
    for match in _REFERENCE.finditer(text):
        code = match.group(1).strip("-")
        if any(c.isdigit() for c in code) or (code.isupper() and len(code) >= 5):
            return code
    return None


def _route(text: str) -> tuple[Place | None, Place | None]:
    """(origin, destination) from "Glasgow Central (GLC) to London (KGX)" or "AMS → VIE"."""
    named = _NAMED_ROUTE.search(text)
    if named:
        return (
            Place(name=named.group(1).strip(), code=named.group(2)),
            Place(name=named.group(3).strip(), code=named.group(4)),
        )
    codes = _CODE_ROUTE.search(text)
    if codes:
        return Place(code=codes.group(1)), Place(code=codes.group(2))
    return None, None


def _coded_place(match: re.Match[str] | None) -> Place | None:
    if match is None:
        return None
    return Place(name=match.group("name").strip() or None, code=match.group("code"))


def _labelled_route(event: Event) -> tuple[Place | None, Place | None]:
    """(origin, destination) written apart, as airlines do: the LOCATION "Von MUNICH DE (MUC)"
    or "from Munich (MUC)", the SUMMARY "… to Berlin (BER)"."""
    text = f"{event.summary}\n{event.description}"
    origin = _coded_place(_FROM_PLACE.search(event.location) or _CODED_PLACE.search(event.location))
    origin = origin or _coded_place(_FROM_PLACE.search(text))
    destination = _coded_place(_TO_PLACE.search(text))
    if origin is None and event.location:
        origin = Place(name=_FROM_WORD.sub("", event.location).strip() or None)
    return origin, destination


def _flight_number(event: Event) -> str | None:
    """A flight number after its label ("Flight no: LH 2029", "Flugnummer: LH2029"), else one
    in the summary ("Flight UA 110 from SFO to JFK")."""
    found = _LABELLED_FLIGHT.search(event.description) or _FLIGHT_NUMBER.search(event.summary)
    return f"{found.group(1)}{found.group(2)}".upper() if found else None


def _status(event: Event, context: CalendarContext) -> BookingStatus:
    if event.status == "CANCELLED" or context.method == "CANCEL":
        return "cancelled"
    return "pending" if event.status == "TENTATIVE" else "confirmed"


def _keyword_booking(
    event: Event, kind: BookingKind, reference: str, context: CalendarContext
) -> Booking:
    """A booking from an event's own words: a reference, places, times as the event states
    them (a day for an all-day event, a local time for a floating one)."""
    origin, destination = _route(f"{event.summary}\n{event.description}")
    if kind in ("lodging", "restaurant", "event"):
        destination = destination or (Place(name=event.location) if event.location else None)
    elif origin is None:
        origin, labelled_destination = _labelled_route(event)
        destination = destination or labelled_destination
    number = _flight_number(event) if kind == "flight" else None
    operator = _OPERATED_BY.search(event.description)
    provider = event.organizer.name if event.organizer else None
    return Booking(
        kind=kind,
        reference=reference,
        status=_status(event, context),
        number=number,
        segment=segment_key(number, event.stated_start, origin),
        start=event.stated_start,
        end=event.stated_end,
        origin=origin,
        destination=destination,
        provider=provider or (operator.group(1).strip() if operator else context.producer),
    )


def classify(component: Component, event: Event, context: CalendarContext) -> None:
    """Set the event's trip kind and bookings (KItinerary data first, then its words)."""
    event.cancelled = _status(event, context) == "cancelled"
    bookings = _kitinerary_bookings(component)
    for booking in bookings:
        booking.start = booking.start or event.stated_start
        booking.end = booking.end or event.stated_end
    bookings = bookings or hafas.journey_bookings(
        event.summary, event.description, event.stated_start, event.stated_end
    )
    for booking in bookings:
        booking.modified_at = booking.modified_at or event.modified
        if event.cancelled:
            booking.status = "cancelled"
    if bookings:
        event.kind, event.bookings = bookings[0].kind, bookings
    else:
        kind = trip_kind(event)
        reference = find_reference(f"{event.summary}\n{event.description}")
        if kind is None or not (reference or event.location):
            return
        event.kind = kind
        if reference:
            event.bookings = [_keyword_booking(event, kind, reference, context)]
            event.bookings[0].modified_at = event.modified
    # Who it is with when no organizer says so: the reservation's provider, else the
    # business whose software wrote the file ("-//Sixt//RAC//EN").
    event.provider = next((b.provider for b in event.bookings if b.provider), context.producer)


# --- events to interactions ----------------------------------------------------------------------


def dedup_key(event: Event, file_hash: str, ordinal: int) -> str:
    """UID + RECURRENCE-ID + DTSTART; an event without UID is known by its file and place.

    A revision (RFC 5546: a higher SEQUENCE) and a cancellation are new contacts about the
    same event, so they count too: otherwise a cancelled reservation would be a "duplicate"
    of its confirmation and never cancel the booking.
    """
    identity = event.uid if event.uid else f"file:{file_hash}:{ordinal}"
    parts = [identity, event.recurrence_id or "", event.start.isoformat()]
    if event.sequence:
        parts.append(f"sequence={event.sequence}")
    if event.cancelled:
        parts.append("cancelled")
    return "ics:" + hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()


def _body(event: Event) -> str:
    lines = [event.description] if event.description else []
    if event.location:
        lines.append(f"Location: {event.location}")
    when = f"{event.start:%Y-%m-%d}" if event.all_day else event.start.isoformat(" ", "minutes")
    if event.end and not event.all_day:
        when += f" – {event.end.isoformat(' ', 'minutes')}"
    lines.append(f"When: {when}")
    if event.organizer:
        lines.append(f"Organizer: {event.organizer.display()}")
    return "\n".join(lines)


def event_interaction(
    event: Event, raw: bytes, source_ref: str, key: str, options: ImportOptions
) -> Interaction:
    """The interaction of one event: a ``booking`` for a trip, else a ``note``."""
    organizer = event.organizer
    direction: Direction = "system"  # the user's own entry, with no one on the other side
    if organizer is not None and options.is_me(organizer):
        direction = "out"
    elif organizer is not None or event.kind is not None:
        direction = "in"
    return Interaction(
        channel="booking" if event.kind else "note",
        direction=direction,
        occurred_at=event.start,
        tz_known=event.tz_known,
        title=event.summary or "(no title)",
        body=_body(event),
        source_ref=source_ref,
        dedup_key=key,
        sender=organizer,
        recipients=event.attendees,
        raw=raw,
        bookings=event.bookings,
        hints=CompanyHints(
            organisation=event.provider if organizer is None else None,
            domains=[event.uid.rpartition("@")[2]]
            if organizer is None and event.uid and "@" in event.uid
            else [],
        ),
        extras=event.extras,
    )


def _events(
    text: str, zone: tzinfo
) -> Iterator[tuple[Component, CalendarContext, bytes] | Unreadable]:
    """Every VEVENT with its calendar's context and its own text, then the unreadable parts."""
    found, failed = calendars(text)
    events = [
        (component, context)
        for calendar, context in ((c, _context(c, zone)) for c in found)
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


def items_of(raw: bytes, source_ref: str, options: ImportOptions) -> Iterator[Item]:
    """The interactions of a calendar's events; a part that cannot be read is quarantined.

    Never raises for a broken event: calendars are untrusted input from anyone.
    """
    file_hash = hashlib.sha256(raw).hexdigest()
    for ordinal, entry in enumerate(_events(decode(raw), options.timezone), start=1):
        ref = f"{source_ref}#event{ordinal}"
        if isinstance(entry, Unreadable):
            yield Quarantined(ref, entry.text.encode("utf-8", "replace"), entry.reason)
            continue
        component, context, event_raw = entry
        try:
            event = read_event(component, context)
            classify(component, event, context)
            yield event_interaction(
                event, event_raw, ref, dedup_key(event, file_hash, ordinal), options
            )
        except Exception as exc:  # one broken event must not stop the file
            yield Quarantined(ref, event_raw, f"cannot read calendar event: {exc}"[:300])


def bookings_in_calendar(raw: bytes, fallback: tzinfo) -> list[Booking]:
    """The bookings of a calendar's events (for mail attachments: invitations, tickets)."""
    found: list[Booking] = []
    for entry in _events(decode(raw), fallback):
        if isinstance(entry, Unreadable):
            continue
        component, context, _ = entry
        try:
            event = read_event(component, context)
            classify(component, event, context)
        except Exception:  # noqa: S112 — a broken event in a mail gives no booking
            continue
        found.extend(event.bookings)
    return found


def is_calendar(attachment: Attachment) -> bool:
    """An attachment that is an iCalendar file, by type or name."""
    mime = attachment.mime.split(";")[0].strip().casefold()
    return mime in MIMES or attachment.filename.casefold().endswith(SUFFIXES)


def bookings_in_attachments(attachments: Iterable[Attachment], fallback: tzinfo) -> list[Booking]:
    """The bookings of every calendar attached to a mail; ``fallback`` zones floating times."""
    return [
        booking
        for attachment in attachments
        if is_calendar(attachment)
        for booking in bookings_in_calendar(attachment.data, fallback)
    ]


# --- the importer protocol -----------------------------------------------------------------------


def sniff(path: Path) -> bool:
    """A calendar file: by suffix, or a text file that starts with BEGIN:VCALENDAR."""
    try:
        if not path.is_file():
            return False
        if path.suffix.casefold() in SUFFIXES:
            return True
    except OSError:
        return False
    head = peek(path, _SNIFF_BYTES)
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").upper().startswith(b"BEGIN:VCALENDAR")


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Every event of a calendar file, then a checkpoint; a line over ``MAX_LINE_BYTES`` is
    left out and quarantined with the reason.

    Raises:
        InputError: the file cannot be read, is not a regular file or is too big.
        MalformedInput: the file holds no calendar at all.
    """
    kept: list[bytes] = []
    cut: list[Quarantined] = []
    with open_source(path) as handle:
        try:
            for number, line in enumerate(
                capped_lines(handle, MAX_CALENDAR_BYTES, path, MAX_LINE_BYTES), 1
            ):
                if isinstance(line, LongLine):
                    reason = long_line_reason(number, line, MAX_LINE_BYTES)
                    cut.append(Quarantined(f"{path}#line={number}", line.head, reason))
                else:
                    kept.append(line)
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    raw = b"".join(kept)
    if b"BEGIN:VCALENDAR" not in raw.upper() and b"BEGIN:VEVENT" not in raw.upper():
        raise MalformedInput(f"{path}: not an iCalendar file (no BEGIN:VCALENDAR)")
    yield from cut
    yield from items_of(raw, str(path), options)
    yield file_checkpoint(path)
