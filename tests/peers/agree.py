"""What a traveller sees in a KItinerary result and in ``kluis bookings --json``, compared.

Pure functions: ``expected_trips`` reads KItinerary's expected JSON into the facts a traveller
sees (kind, reference, status, start, end, number, origin, destination, seat, travellers,
provider, price), ``disagreements`` compares them with the rows kluis printed and returns one
line per difference (empty: they agree). ``run.py`` does the running.

Rules, from ``../shared/peers/README.md``:

- Only reservations, orders and parcels are bookings. KItinerary also lists places, events and
  organisations found on a page; kluis does not make bookings of them, so for those the
  expectation is "no booking".
- KItinerary makes one reservation per traveller; kluis one booking per trip segment with every
  traveller and seat. Reservations of the same trip are joined before comparing.
- A time with an offset (or a ``QDateTime`` with a zone) is an instant: kluis must give the same
  instant. A time without one is local (floating): kluis's wall-clock time, in its own offset,
  must be equal. A date is a date: kluis's date, as written, must be equal.
- Names, places and seats compare without case, spaces, punctuation or titles ("Dr Konqui" is
  "Konqui"; "KRAUSE/VOLKER" is "Volker Krause").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import airportsdata

Json = Any

KINDS = {
    "FlightReservation": "flight",
    "TrainReservation": "train",
    "BusReservation": "bus",
    "BoatReservation": "boat",
    "LodgingReservation": "lodging",
    "RentalCarReservation": "rental_car",
    "TaxiReservation": "taxi",
    "FoodEstablishmentReservation": "restaurant",
    "EventReservation": "event",
    "Order": "order",
    "ParcelDelivery": "parcel",
}
_CANCELLED = {"cancelled", "reservationcancelled", "ordercancelled"}
_PENDING = {"pending", "reservationpending", "reservationhold", "orderpaymentdue"}
_START = ("departureTime", "startDate", "checkinTime", "checkinDate", "pickupTime", "startTime")
_END = ("arrivalTime", "endDate", "checkoutTime", "checkoutDate", "dropoffTime", "endTime")
_ORIGIN = ("departureAirport", "departureStation", "departureBusStop", "departureBoatTerminal")
_DESTINATION = ("arrivalAirport", "arrivalStation", "arrivalBusStop", "arrivalBoatTerminal")
_PROVIDER = ("airline", "trainCompany", "busCompany", "rentalCompany", "provider")
_TITLES = {"dr", "mr", "mrs", "ms", "miss", "mstr", "prof", "herr", "frau"}
_US_TIME = re.compile(r"(\d\d)-(\d\d)-(\d{4})[ T](\d\d:\d\d(?::\d\d)?)")
_SHORT_OFFSET = re.compile(r"([+-])(\d):(\d\d)$")


# --- times ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class When:
    """A time as a document states it: an instant, a local (floating) time, or a date."""

    form: str  # "instant" | "local" | "date"
    value: datetime | date

    def __str__(self) -> str:
        if isinstance(self.value, datetime):
            return self.value.isoformat(timespec="minutes")
        return self.value.isoformat()


def read_time(raw: Json) -> When | None:
    """A time as KItinerary or kluis writes it; None if absent or unreadable."""
    if isinstance(raw, dict):
        raw = raw.get("@value")
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = raw.strip().replace("Z", "+00:00")
    us = _US_TIME.fullmatch(text)
    if us:  # Eurowings writes MM-DD-YYYY HH:MM
        text = f"{us[3]}-{us[1]}-{us[2]}T{us[4]}"
    text = _SHORT_OFFSET.sub(r"\g<1>0\2:\3", text)
    try:
        if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
            return When("date", date.fromisoformat(text))
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return When("instant" if moment.tzinfo else "local", moment)


def times_agree(expected: When, actual: When | None, zone: tzinfo | None = None) -> bool:
    """The rules of the module docstring; kluis may know more than KItinerary, never less.

    Knowing more must not mean inventing: a date given as a time must not be a bare midnight
    (a day standing in for a time), and a local time given with an offset must be in ``zone``,
    the place's own zone (an airport's), when one is known; with no zone known, any offset
    was made up.
    """
    if actual is None:
        return False
    if expected.form == "date":
        if isinstance(actual.value, datetime):
            return actual.value.date() == expected.value and actual.value.time() != time(0)
        return actual.value == expected.value
    if not isinstance(actual.value, datetime) or not isinstance(expected.value, datetime):
        return False
    if expected.form == "instant":
        return actual.form == "instant" and actual.value == expected.value
    wall = actual.value.replace(tzinfo=None)
    if actual.form == "instant" and (
        zone is None or wall.replace(tzinfo=zone).utcoffset() != actual.value.utcoffset()
    ):
        return False
    return wall == expected.value.replace(tzinfo=None)


# --- texts ----------------------------------------------------------------------------------------


def squash(value: Json) -> str:
    """Casefolded letters and digits only (accents kept apart: "Nîmes" is "nimes")."""
    text = unicodedata.normalize("NFKD", str(value or ""))
    return "".join(c for c in text.casefold() if c.isalnum())


def person(name: str) -> frozenset[str]:
    """A traveller's name as a set of words, titles dropped: order and case do not matter."""
    words = re.split(r"[\s/,.]+", unicodedata.normalize("NFKC", name).casefold())
    return frozenset(w for w in words if w and w not in _TITLES)


def seats(value: Json) -> set[str]:
    """Seat numbers as a set ("16E, 16F" is two seats); leading zeros dropped. Of a seat
    written with its section and row ("section 1 · row 2 · seat 3"), the seat number, as
    KItinerary keeps those apart."""
    parts = value if isinstance(value, list) else re.split(r"[,;]", str(value or ""))
    numbers = set()
    for part in parts:
        labelled = re.search(r"(?i)\bseat\s+(\S+)\s*$", str(part))
        number = squash(labelled.group(1) if labelled else part).lstrip("0")
        if number:
            numbers.add(number)
    return numbers


# --- KItinerary's expected result -----------------------------------------------------------------


@dataclass
class Trip:
    """One segment as a traveller sees it; sets hold every acceptable spelling."""

    kind: str
    reference: str | None = None
    status: str = "confirmed"
    start: When | None = None
    end: When | None = None
    number: set[str] = field(default_factory=set)
    origin: set[str] = field(default_factory=set)
    destination: set[str] = field(default_factory=set)
    seats: set[str] = field(default_factory=set)
    travellers: set[frozenset[str]] = field(default_factory=set)
    provider: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    start_zone: tzinfo | None = None
    end_zone: tzinfo | None = None
    boarding: When | None = None

    def label(self) -> str:
        """``flight RXJ34P UA110 2027-03-04`` for messages."""
        number = min(self.number, key=len) if self.number else None
        parts = [self.kind, self.reference, number, str(self.start) if self.start else None]
        return " ".join(p for p in parts if p)


def _first(value: Json) -> Json:
    return value[0] if isinstance(value, list) and value else value


def _name(value: Json) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("name")
    return str(value).strip() if isinstance(value, str | int) and str(value).strip() else None


def _type(obj: Json) -> str:
    kind = _first(obj.get("@type")) if isinstance(obj, dict) else None
    return str(kind or "").rsplit("/", 1)[-1]


def _place_names(obj: Json) -> set[str]:
    obj = _first(obj)
    if isinstance(obj, str):
        return {squash(obj)} if squash(obj) else set()
    if not isinstance(obj, dict):
        return set()
    names = {obj.get("iataCode"), obj.get("name"), obj.get("identifier")}
    address = obj.get("address")
    if isinstance(address, dict):
        names |= {address.get("addressLocality"), address.get("streetAddress")}
    elif isinstance(address, str):
        names.add(address)
    return {squash(n) for n in names if isinstance(n, str) and squash(n)}


def _status(obj: Mapping[str, Json]) -> str:
    raw = obj.get("reservationStatus") or obj.get("orderStatus") or ""
    key = str(raw).rsplit("/", 1)[-1].casefold()
    return "cancelled" if key in _CANCELLED else "pending" if key in _PENDING else "confirmed"


def _number(trip: Mapping[str, Json], kind: str) -> set[str]:
    if kind == "flight":
        number = trip.get("flightNumber")
        airline = _first(trip.get("airline"))
        code = airline.get("iataCode") if isinstance(airline, dict) else None
        if not number:
            return set()
        plain = squash(number)
        return (
            {squash(f"{code}{number}")} if code and not plain.startswith(squash(code)) else {plain}
        )
    number = trip.get("trainNumber") or trip.get("busNumber")
    return {squash(number)} if number else set()


def _price(obj: Mapping[str, Json]) -> tuple[Decimal | None, str | None]:
    raw = obj.get("totalPrice") or obj.get("price") or obj.get("totalPaymentDue")
    currency = obj.get("priceCurrency")
    spec = obj.get("priceSpecification")
    if raw is None and isinstance(_first(spec), dict):
        raw = _first(spec)
    if isinstance(raw, dict):
        currency = currency or raw.get("priceCurrency")
        raw = raw.get("price") if raw.get("price") is not None else raw.get("value")
    try:
        price = Decimal(str(raw).replace(",", ".")) if raw not in (None, "") else None
    except InvalidOperation:
        price = None
    return price, (str(currency).upper() if currency and price is not None else None)


def _when(obj: Mapping[str, Json], trip: Mapping[str, Json], names: Sequence[str]) -> When | None:
    for source in (trip, obj):
        for name in names:
            found = read_time(source.get(name))
            if found is not None:
                return found
    return None


def trip_of(obj: Mapping[str, Json]) -> Trip | None:
    """One KItinerary reservation as a ``Trip``; None for what is not a booking."""
    kind = KINDS.get(_type(obj))
    if kind is None:
        return None
    trip = _first(obj.get("reservationFor"))
    trip = trip if isinstance(trip, dict) else (obj if kind in ("order", "parcel") else {})
    found = Trip(kind=kind, reference=_name(obj.get("reservationNumber") or obj.get("orderNumber")))
    if kind == "parcel":
        found.reference = _name(obj.get("trackingNumber")) or found.reference
    found.status = _status(obj)
    found.start = _when(obj, trip, _START) or read_time(trip.get("departureDay"))
    found.end = _when(obj, trip, _END)
    found.boarding = read_time(trip.get("boardingTime"))
    found.number = _number(trip, kind)
    if kind == "rental_car":
        found.origin = _place_names(obj.get("pickupLocation"))
        found.destination = _place_names(obj.get("dropoffLocation"))
    elif kind in ("lodging", "restaurant"):
        found.destination = _place_names(trip)
    elif kind == "event":
        found.destination = _place_names(trip.get("location"))
    else:
        found.origin = _place_names(next((trip[k] for k in _ORIGIN if trip.get(k)), None))
        found.destination = _place_names(next((trip[k] for k in _DESTINATION if trip.get(k)), None))
    seat = obj.get("airplaneSeat")
    ticket = _first(obj.get("reservedTicket"))
    if not seat and isinstance(ticket, dict):
        seat = (_first(ticket.get("ticketedSeat")) or {}).get("seatNumber")
    found.seats = seats(seat) if seat else set()
    found.travellers = {person(n) for n in _travellers(obj) if person(n)}
    found.provider = next((n for k in _PROVIDER if (n := _name(trip.get(k)))), None) or _name(
        obj.get("provider") or obj.get("seller")
    )
    found.price, found.currency = _price(obj)
    if kind == "flight":
        found.start_zone = _airport_zone(found.origin)
        found.end_zone = _airport_zone(found.destination)
    return found


@cache
def _airports() -> dict[str, Any]:
    return dict(airportsdata.load("IATA"))


def _airport_zone(names: set[str]) -> tzinfo | None:
    """The zone of the airport among a place's spellings, if one is an IATA code."""
    for name in names:
        airport = _airports().get(name.upper()) if len(name) == 3 else None
        if airport and airport.get("tz"):
            return ZoneInfo(airport["tz"])
    return None


def _travellers(obj: Mapping[str, Json]) -> list[str]:
    people = obj.get("underName")
    names = []
    for one in people if isinstance(people, list) else [people]:
        if isinstance(one, dict):
            given, family = one.get("givenName"), one.get("familyName")
            name = one.get("name") or " ".join(str(p) for p in (given, family) if p)
            if name:
                names.append(str(name))
        elif isinstance(one, str) and one.strip():
            names.append(one)
    return names


def expected_trips(data: Json) -> list[Trip]:
    """KItinerary's expected result as trips; reservations of one trip joined (people, seats)."""
    objects = data if isinstance(data, list) else [data]
    joined: dict[tuple[Any, ...], Trip] = {}
    for obj in objects:
        trip = trip_of(obj) if isinstance(obj, dict) else None
        if trip is None:
            continue
        key = (
            trip.kind,
            trip.reference,
            frozenset(trip.number),
            str(trip.start),
            frozenset(trip.origin),
        )
        if key in joined:
            joined[key].travellers |= trip.travellers
            joined[key].seats |= trip.seats
        else:
            joined[key] = trip
    return list(joined.values())


# --- comparison -----------------------------------------------------------------------------------


def _row_label(row: Mapping[str, Json]) -> str:
    parts = [row.get("kind"), row.get("reference"), row.get("number"), row.get("start")]
    return " ".join(str(p) for p in parts if p)


def field_differences(trip: Trip, row: Mapping[str, Json]) -> list[str]:
    """What a traveller would see differ between the expected trip and one kluis row."""
    found: list[str] = []

    def differ(name: str, want: object, got: object) -> None:
        found.append(f"{name}: KItinerary {want}, kluis {got}")

    if row.get("kind") != trip.kind:
        differ("kind", trip.kind, row.get("kind"))
    if trip.reference and squash(row.get("reference")) != squash(trip.reference):
        differ("reference", trip.reference, row.get("reference"))
    if row.get("status") != trip.status:
        differ("status", trip.status, row.get("status"))
    for name, want, zone in (
        ("start", trip.start, trip.start_zone),
        ("end", trip.end, trip.end_zone),
    ):
        if want is not None and not times_agree(want, read_time(row.get(name)), zone):
            differ(name, want, row.get(name))
    if trip.number and squash(row.get("number")) not in trip.number:
        differ("number", "/".join(sorted(trip.number)), row.get("number"))
    for name, want in (("origin", trip.origin), ("destination", trip.destination)):
        if want and squash(row.get(name)) not in want:
            differ(name, "/".join(sorted(want)), row.get(name))
    if trip.seats and seats(row.get("seat")) != trip.seats:
        differ("seat", ", ".join(sorted(trip.seats)), row.get("seat"))
    got_people = {person(str(n)) for n in row.get("travellers") or []}
    if trip.travellers and got_people != trip.travellers:
        differ("travellers", _people(trip.travellers), _people(got_people))
    if trip.provider and not any(
        _same_company(trip.provider, row.get(name)) for name in ("provider", "company")
    ):
        differ("provider", trip.provider, row.get("provider") or row.get("company"))
    if trip.boarding is not None and not times_agree(
        trip.boarding, read_time(row.get("boarding")), trip.start_zone
    ):
        differ("boarding", trip.boarding, row.get("boarding"))
    if trip.price is not None:
        got_price = _decimal(row.get("price"))
        if got_price != trip.price or (row.get("currency") or "").upper() != trip.currency:
            differ(
                "price",
                f"{trip.price} {trip.currency}",
                f"{row.get('price')} {row.get('currency')}",
            )
    return found


def _people(people: Iterable[frozenset[str]]) -> str:
    return "[" + "; ".join(sorted(" ".join(sorted(p)) for p in people)) + "]"


def _same_company(want: str, got: Json) -> bool:
    a, b = squash(want), squash(got)
    return bool(a and b) and (a == b or a in b or b in a)


def _decimal(value: Json) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def disagreements(trips: Sequence[Trip], rows: Sequence[Mapping[str, Json]]) -> list[str]:
    """Every difference between KItinerary's trips and kluis's booking rows, one line each.

    Each trip takes the unused row it differs least from; rows left over are bookings
    KItinerary does not see.
    """
    unused = list(rows)
    found: list[str] = []
    for trip in trips:
        if not unused:
            found.append(f"{trip.label()}: kluis has no booking")
            continue
        best = min(unused, key=lambda row: len(field_differences(trip, row)))
        unused.remove(best)
        found += [f"{trip.label()}: {d}" for d in field_differences(trip, best)]
    found += [f"kluis has a booking KItinerary does not: {_row_label(row)}" for row in unused]
    return found
