"""Which calendar events are trips and reservations, and their bookings: KDE Itinerary's
schema.org reservation where an event carries one, else the kind, reference, route and flight
number read from the event's words (see ``importers.bookings.ics``).
"""

from __future__ import annotations

import re
from typing import Any

from icalendar import Component

from importers.bookings import hafas
from importers.bookings.ics_events import CalendarContext, Event
from importers.bookings.markup import flatten, loads_leniently
from importers.bookings.schemaorg import bookings_from, segment_key
from vault.records import Booking, BookingKind, BookingStatus, Place

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
