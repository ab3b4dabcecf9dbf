"""schema.org reservations, orders and parcel deliveries → ``vault.records.Booking``.

Only top-level objects count: a ``ReserveAction`` offered on a restaurant's page carries a
reservation *template* in ``potentialAction``/``result``, which is an offer, not a booking.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from importers.bookings.airports import at_airport
from importers.bookings.markup import schema_objects
from importers.bookings.money import price_of
from importers.bookings.times import When, day_of, parse_instant, parse_when
from vault.records import Booking, BookingKind, BookingStatus, Place, join_people, join_seats

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
    "Invoice": "order",  # a bill: its price joins the order it references
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
_TRACKING_PARAMETER = re.compile(
    r"(?i)track(?:ing)?[-_]?(?:num(?:ber)?|no|id|code)?|tracknum|tn|barcode|shipment(?:id)?"
)
_TRACKING_CODE = re.compile(r"[A-Z0-9]{8,40}")


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
    """The booking's price; one level down too, as ``_find`` (an Order's single Offer)."""
    price, currency = price_of(obj)
    for child in obj.values() if price is None else ():
        price, currency = price_of(_first(child))
        if price is not None:
            break
    if price is not None and currency is None:
        currency = _text(_find(obj, "priceCurrency"))
    return price, currency


def _tracking(obj: dict[str, Any]) -> tuple[str | None, str | None]:
    """(tracking number, tracking URL) of a parcel; the number may live only in the URL."""
    url = _text(obj.get("trackingUrl"))
    number = _text(obj.get("trackingNumber"))
    if number is None and url:
        query = parse_qs(urlsplit(url).query)
        for key, values in query.items():
            if _TRACKING_PARAMETER.fullmatch(key) and values and values[0].strip():
                number = values[0].strip()
                break
        else:
            last = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
            number = last if _TRACKING_CODE.fullmatch(last) else None
    return number, url


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
        details["trackingUrl"] = _tracking(obj)[1]
    if _type(obj) == "Invoice":
        details["invoice"] = _text(_get(obj, "confirmationNumber", "accountId")) or "unnumbered"
        details["paymentDueDate"] = _text(obj.get("paymentDueDate"))
        details["paymentStatus"] = _text(obj.get("paymentStatus"))
    for name in ("ticketNumber", "ticketToken", "partySize", "url"):
        value = _text(obj.get(name))
        if value:
            details[name] = value
    return {k: v for k, v in details.items() if v}


def _reference(obj: dict[str, Any], kind: BookingKind) -> str | None:
    if kind == "parcel":
        tracking = _tracking(obj)[0]
        if tracking:
            return tracking
    if _type(obj) == "Invoice":  # an invoice belongs to the order it bills
        order = _text(_get(_get(obj, "referencesOrder"), "orderNumber"))
        if order:
            return order
    return _text(
        _get(
            obj,
            "reservationNumber",
            "orderNumber",
            "trackingNumber",
            "confirmationNumber",
            "reservationId",
        )
    )


def _trips(obj: dict[str, Any], kind: BookingKind) -> list[dict[str, Any]]:
    """What the reservation is for: every element of a ``reservationFor`` array is a leg."""
    found = obj.get("reservationFor")
    trips = [t for t in (found if isinstance(found, list) else [found]) if isinstance(t, dict)]
    if trips:
        return trips
    return [obj] if kind in ("order", "parcel") else [{}]


def bookings_of(obj: Any) -> list[Booking]:
    """The bookings of one top-level schema.org object: one per leg; none if it is not one.

    Times are as precise as the markup: a local time stays local unless the flight's airport
    gives its zone, a day stays a day (``departureDay`` when no time is given).
    """
    kind = _KINDS.get(_type(obj))
    if kind is None or not isinstance(obj, dict):
        return []
    return [_booking(obj, kind, trip) for trip in _trips(obj, kind)]


def _booking(obj: dict[str, Any], kind: BookingKind, trip: dict[str, Any]) -> Booking:
    start = parse_when(_get(trip, *_START) or _find(obj, *_START))
    start = start or parse_when(trip.get("departureDay"))
    end = parse_when(_get(trip, *_END) or _find(obj, *_END))
    provider = _get(trip, *_PROVIDER) or _get(obj, *_PROVIDER)
    price, currency = _price(obj)
    # Rental cars keep pickup and drop-off on the reservation, not on the car.
    origin = _place(_get(trip, *_ORIGIN) or _get(obj, *_ORIGIN))
    destination = _place(_get(trip, *_DESTINATION) or _get(obj, *_DESTINATION))
    if kind == "lodging":
        destination = destination or _place(trip)
    if kind in ("event", "restaurant") and destination is None:
        origin, destination = None, origin or _place(trip)  # where it takes place
    details = _details(obj, kind)
    boarding = parse_when(trip.get("boardingTime"))
    if kind == "flight":
        start = at_airport(start, origin.code if origin else None)
        end = at_airport(end, destination.code if destination else None)
        boarding = at_airport(boarding, origin.code if origin else None)
    if isinstance(boarding, datetime):
        details["boarding"] = boarding.isoformat()
    number = _number(trip, kind)
    return Booking(
        kind=kind,
        reference=_reference(obj, kind),
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
        modified_at=parse_instant(obj.get("modifiedTime")),
        details=details,
    )


def segment_key(number: str | None, start: When | None, origin: Place | None) -> str | None:
    """Which leg of a multi-leg reference this is: number, day and origin when known."""
    parts = [
        number or "",
        day_of(start).isoformat() if start else "",
        (origin.code or origin.name or "") if origin else "",
    ]
    return "|".join(parts) if any(parts) else None


def join_travellers(bookings: list[Booking]) -> list[Booking]:
    """One booking per segment: a confirmation for two passengers (KItinerary and Google
    write one reservation each) gives one booking with both travellers and both seats."""
    joined: list[Booking] = []
    seen: dict[tuple[str, str | None, str | None], Booking] = {}
    for booking in bookings:
        key = (booking.kind, booking.reference, booking.segment)
        first = seen.get(key) if booking.reference or booking.segment else None
        if first is None:
            seen.setdefault(key, booking)
            joined.append(booking)
            continue
        first.travellers = join_people(first.travellers, booking.travellers)
        first.seat = join_seats(first.seat, booking.seat)
    return joined


def bookings_from(objects: Iterable[Any]) -> list[Booking]:
    """Every booking among top-level schema.org objects, one per segment."""
    return join_travellers([b for obj in objects for b in bookings_of(obj)])


def bookings_in_page(page: str) -> list[Booking]:
    """Every booking in the schema.org markup of an HTML page (a mail's HTML part)."""
    return bookings_from(schema_objects(page))
