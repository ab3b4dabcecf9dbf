"""schema.org reservations, orders and parcel deliveries → ``vault.records.Booking``.

Only top-level objects count: a ``ReserveAction`` offered on a restaurant's page carries a
reservation *template* in ``potentialAction``/``result``, which is an offer, not a booking.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from importers.bookings.markup import schema_objects
from vault.records import Booking, BookingKind, BookingStatus, Place

_KINDS: dict[str, BookingKind] = {
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
_STATUS: dict[str, BookingStatus] = {
    "confirmed": "confirmed",
    "reservationconfirmed": "confirmed",
    "checkin": "confirmed",
    "cancelled": "cancelled",
    "reservationcancelled": "cancelled",
    "ordercancelled": "cancelled",
    "pending": "pending",
    "reservationpending": "pending",
    "reservationhold": "pending",
    "orderpaymentdue": "pending",
    "orderprocessing": "confirmed",
    "orderintransit": "confirmed",
    "orderpickupavailable": "confirmed",
    "orderdelivered": "confirmed",
}
# Where each kind keeps its times and places (schema.org property names, first match wins).
_START = (
    "departureTime",
    "startDate",
    "startTime",
    "checkinTime",
    "checkinDate",
    "pickupTime",
    "orderDate",
    "expectedArrivalFrom",
    "expectedArrivalUntil",
)
_END = ("arrivalTime", "endDate", "endTime", "checkoutTime", "checkoutDate", "dropoffTime")
_ORIGIN = (
    "departureAirport",
    "departureStation",
    "departureBusStop",
    "departureBoatTerminal",
    "pickupLocation",
    "location",
)
_DESTINATION = (
    "arrivalAirport",
    "arrivalStation",
    "arrivalBusStop",
    "arrivalBoatTerminal",
    "dropoffLocation",
)
_PROVIDER = (
    "airline",
    "trainCompany",
    "busCompany",
    "provider",
    "rentalCompany",
    "seller",
    "merchant",
    "carrier",
    "organizer",
    "broker",
)
_NON_ISO_OFFSET = re.compile(r"([+-])(\d):(\d\d)$")
_US_DATE = re.compile(r"^(\d\d)-(\d\d)-(\d{4})[ T](\d\d:\d\d(?::\d\d)?)$")


def _type(obj: Any) -> str:
    if not isinstance(obj, dict):
        return ""
    value = obj.get("@type")
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").rsplit("/", 1)[-1]


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _text(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("name") or value.get("@id")
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _get(obj: Any, *names: str) -> Any:
    if not isinstance(obj, dict):
        return None
    for name in names:
        value = obj.get(name)
        if value not in (None, "", []):
            return value
    return None


def parse_time(value: Any, fallback: tzinfo | None = None) -> datetime | None:
    """An ISO-ish time as written in markup; a zone-less one takes ``fallback`` (if given)."""
    text = _text(value)
    if not text:
        return None
    text = _NON_ISO_OFFSET.sub(
        r"\g<1>0\2:\3",
        text.replace(" ", "T", 1)
        if "T" not in text and re.match(r"\d{4}-\d\d-\d\d \d", text)
        else text,
    )
    us = _US_DATE.match(text)
    if us:  # Eurowings: MM-DD-YYYY HH:MM
        text = f"{us.group(3)}-{us.group(1)}-{us.group(2)}T{us.group(4)}"
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None and fallback is not None:
        parsed = parsed.replace(tzinfo=fallback)
    return parsed


def _place(obj: Any) -> Place | None:
    obj = _first(obj)
    if isinstance(obj, str):
        return Place(name=obj.strip() or None)
    if not isinstance(obj, dict):
        return None
    name = _text(obj.get("name"))
    code = _text(_get(obj, "iataCode", "stationCode", "identifier"))
    if not name and not code:
        address = obj.get("address")
        name = _text(_get(address, "addressLocality", "streetAddress")) if address else None
    return Place(name=name, code=code) if (name or code) else None


def _status(obj: dict[str, Any]) -> BookingStatus:
    raw = _text(_get(obj, "reservationStatus", "orderStatus", "deliveryStatus")) or ""
    key = raw.rsplit("/", 1)[-1].casefold()
    return _STATUS.get(key, "confirmed")


def _number(trip: Any, kind: BookingKind) -> str | None:
    if kind == "flight":
        number = _text(_get(trip, "flightNumber"))
        carrier = _get(trip, "airline")
        code = _text(_get(carrier, "iataCode")) if isinstance(carrier, dict) else None
        if number and code and not number.upper().startswith(code.upper()):
            return f"{code}{number}".replace(" ", "")
        return number
    return _text(_get(trip, "trainNumber", "busNumber", "boatNumber"))


def _travellers(obj: dict[str, Any]) -> list[str]:
    people = obj.get("underName") or obj.get("customer") or []
    names = [_text(p) for p in (people if isinstance(people, list) else [people])]
    return [n for n in names if n]


def _seat(obj: dict[str, Any]) -> str | None:
    seat = _text(obj.get("airplaneSeat"))
    if seat:
        return seat
    ticket = _first(obj.get("reservedTicket"))
    seated = _get(ticket, "ticketedSeat") if isinstance(ticket, dict) else None
    return _text(_get(seated, "seatNumber")) if isinstance(seated, dict) else None


def _find(obj: Any, *names: str) -> Any:
    """Like ``_get``, then one level down: microdata with wrong nesting (an unclosed element)
    puts an object's own properties inside its last child."""
    found = _get(obj, *names)
    if found is None and isinstance(obj, dict):
        for child in obj.values():
            found = _get(_first(child), *names)
            if found is not None:
                break
    return found


def _price(obj: dict[str, Any]) -> tuple[Decimal | None, str | None]:
    raw = _find(obj, "totalPrice", "price")
    currency = _text(_find(obj, "priceCurrency"))
    if isinstance(raw, dict):
        currency = currency or _text(raw.get("priceCurrency"))
        raw = raw.get("price") or raw.get("value")
    try:
        return (Decimal(str(raw).replace(",", ".")) if raw not in (None, "") else None), currency
    except InvalidOperation:
        return None, currency


def _details(obj: dict[str, Any], kind: BookingKind) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if kind == "order":
        offers = obj.get("acceptedOffer") or []
        items = [
            _text(_get(o, "itemOffered"))
            for o in (offers if isinstance(offers, list) else [offers])
        ]
        details["items"] = [i for i in items if i]
        # A platform's order (schema.org broker) sold by another business (seller): both kept,
        # vault.companies files it under the platform the user dealt with.
        details["seller"] = _text(_get(obj, "seller", "merchant"))
        details["broker"] = _text(_get(obj, "broker"))
    if kind == "parcel":
        details["carrier"] = _text(_get(obj, "carrier", "provider"))
        details["order"] = _text(_get(_get(obj, "partOfOrder"), "orderNumber"))
    for name in ("ticketNumber", "ticketToken", "partySize", "url"):
        value = _text(obj.get(name))
        if value:
            details[name] = value
    return {k: v for k, v in details.items() if v}


def booking_from(obj: Any, fallback: tzinfo | None = None) -> Booking | None:
    """A Booking from one top-level schema.org object, or None if it is not one."""
    kind = _KINDS.get(_type(obj))
    if kind is None or not isinstance(obj, dict):
        return None
    trip = _first(obj.get("reservationFor")) or (obj if kind in ("order", "parcel") else {})
    if not isinstance(trip, dict):
        trip = {}
    reference = _text(
        _get(
            obj,
            "reservationNumber",
            "orderNumber",
            "trackingNumber",
            "confirmationNumber",
            "reservationId",
        )
    )
    start_raw = _get(trip, *_START) or _find(obj, *_START)
    end_raw = _get(trip, *_END) or _find(obj, *_END)
    start = parse_time(start_raw)
    end = parse_time(end_raw)
    # A zone-less end beside a zoned start is read in the start's offset (same trip, same day).
    if end is not None and end.tzinfo is None:
        end = end.replace(tzinfo=start.tzinfo if start and start.tzinfo else fallback)
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=end.tzinfo if end and end.tzinfo else fallback)
    provider = _get(trip, *_PROVIDER) or _get(obj, *_PROVIDER)
    price, currency = _price(obj)
    # Rental cars keep pickup and drop-off on the reservation, not on the car.
    origin = _place(_get(trip, *_ORIGIN) or _get(obj, *_ORIGIN))
    destination = _place(_get(trip, *_DESTINATION) or _get(obj, *_DESTINATION))
    if kind == "lodging":
        destination = destination or _place(trip)
    if kind in ("event", "restaurant") and destination is None:
        origin, destination = None, origin or _place(trip)  # where it takes place
    number = _number(trip, kind)
    return Booking(
        kind=kind,
        reference=reference,
        status=_status(obj),
        number=number,
        segment=segment_key(number, start, origin),
        start=start,
        end=end,
        origin=origin,
        destination=destination,
        travellers=_travellers(obj),
        seat=_seat(obj),
        price=price,
        currency=currency,
        provider=_text(provider) or (_text(trip.get("name")) if kind != "order" else None),
        modified_at=parse_time(obj.get("modifiedTime")),
        details=_details(obj, kind),
    )


def segment_key(number: str | None, start: datetime | None, origin: Place | None) -> str | None:
    """Which leg of a multi-leg reference this is: number, day and origin when known."""
    parts = [
        number or "",
        start.date().isoformat() if start else "",
        (origin.code or origin.name or "") if origin else "",
    ]
    return "|".join(parts) if any(parts) else None


def bookings_from(objects: Iterable[Any], fallback: tzinfo | None = None) -> list[Booking]:
    """Every booking among top-level schema.org objects."""
    found = []
    for obj in objects:
        booking = booking_from(obj, fallback)
        if booking is not None:
            found.append(booking)
    return found


def bookings_in_page(page: str, fallback: tzinfo | None = None) -> list[Booking]:
    """Every booking in the schema.org markup of an HTML page (a mail's HTML part)."""
    return bookings_from(schema_objects(page), fallback)
