"""schema.org ``Person`` as JSON-LD, with the shared history and the consent receipt.

The transaction history (``--history payments``) follows the Person in the graph: bank
payments as ``MoneyTransfer``, what order and invoice mails state as ``Order`` + ``Invoice``.

Loyalty numbers are ``ProgramMembership``s, IBAN and document numbers ``PropertyValue``
identifiers; the receipt rides along as a ``DigitalDocument`` the Person is the subject of.
"""

from __future__ import annotations

import json
from typing import Any

from exports.package import Package, SharedBooking, SharedItem, split_address

_RESERVATION = {
    "flight": "FlightReservation",
    "train": "TrainReservation",
    "bus": "BusReservation",
    "boat": "BoatReservation",
    "lodging": "LodgingReservation",
    "rental_car": "RentalCarReservation",
    "restaurant": "FoodEstablishmentReservation",
    "event": "EventReservation",
    "taxi": "TaxiReservation",
}
_STATUS = {
    "confirmed": "https://schema.org/ReservationConfirmed",
    "cancelled": "https://schema.org/ReservationCancelled",
    "pending": "https://schema.org/ReservationPending",
    "changed": "https://schema.org/ReservationConfirmed",
}
_IDENTIFIERS = {"iban": "IBAN", "passport": "passport number", "id_number": "ID card number"}


def _address(label: str, value: str) -> dict[str, Any]:
    parts = split_address(value)
    address = {"@type": "PostalAddress", "name": label, "streetAddress": parts.street}
    optional = {
        "postalCode": parts.postcode,
        "addressLocality": parts.locality,
        "addressCountry": parts.country,
    }
    address.update({k: v for k, v in optional.items() if v})
    return address


def person(package: Package) -> dict[str, Any]:
    """The ``Person`` node: only the package's fields."""
    node: dict[str, Any] = {"@type": "Person"}
    name = package.first("name")
    if name:
        node["name"] = name
    if package.values("email"):
        node["email"] = package.values("email")
    if package.values("phone"):
        node["telephone"] = package.values("phone")
    addresses = [_address(f.label, f.value) for f in package.fields if f.key.startswith("address.")]
    if addresses:
        node["address"] = addresses
    birthdate = package.first("birthdate")
    if birthdate:
        node["birthDate"] = birthdate
    identifiers = [
        {"@type": "PropertyValue", "propertyID": _IDENTIFIERS[f.key], "value": f.value}
        for f in package.fields
        if f.key in _IDENTIFIERS
    ]
    if identifiers:
        node["identifier"] = identifiers
    memberships = [
        {
            "@type": "ProgramMembership",
            "programName": f.key.removeprefix("loyalty."),
            "membershipNumber": f.value,
        }
        for f in package.fields
        if f.key.startswith("loyalty.")
    ]
    if memberships:
        node["memberOf"] = memberships
    preferences = [
        {"@type": "PropertyValue", "name": f.label, "value": f.value}
        for f in package.fields
        if f.key in ("diet", "seating") or f.key.startswith("free.")
    ]
    if preferences:
        # schema.org has no preference property on Person; additionalProperty is the
        # vocabulary's general name/value slot.
        node["additionalProperty"] = preferences
    return node


def _booking(booking: SharedBooking) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@type": _RESERVATION.get(
            booking.kind, "Order" if booking.kind == "order" else "Reservation"
        )
    }
    if booking.kind in ("order", "parcel"):
        node.update(orderNumber=booking.reference, orderStatus=booking.status)
    else:
        node.update(
            reservationNumber=booking.reference,
            reservationStatus=_STATUS.get(booking.status, booking.status),
        )
    optional = {
        "startTime": booking.start,
        "endTime": booking.end,
        "totalPrice": booking.price,
        "priceCurrency": booking.currency,
        "name": " → ".join(p for p in (booking.number, booking.origin, booking.destination) if p)
        or None,
    }
    node.update({k: v for k, v in optional.items() if v})
    return node


def _transaction(item: SharedItem, company: str) -> dict[str, Any]:
    """A bank payment as a ``MoneyTransfer`` (to the company, or from it: a refund); what an
    order, invoice or receipt mail states as an ``Order`` whose ``Invoice`` is due that much."""
    amount: dict[str, Any] = {"@type": "MonetaryAmount", "value": item.amount}
    if item.currency:
        amount["currency"] = item.currency
    them = {"@type": "Organization", "name": company}
    if item.channel == "payment":
        return {
            "@type": "MoneyTransfer",
            "identifier": str(item.id),
            "name": item.title,
            "startTime": item.occurred_at,
            "amount": amount,
            "recipient" if item.direction == "out" else "agent": them,
        }
    return {
        "@type": "Order",
        "identifier": str(item.id),
        "name": item.title,
        "orderDate": item.occurred_at,
        "seller": them,
        "partOfInvoice": {"@type": "Invoice", "provider": them, "totalPaymentDue": amount},
    }


def document(package: Package) -> dict[str, Any]:
    """The whole JSON-LD document: the Person, the history, the receipt."""
    node = person(package)
    subject_of: list[dict[str, Any]] = [
        {
            "@type": "DigitalDocument",
            "name": "Consent receipt (Kantara Consent Receipt v1.1)",
            "identifier": package.receipt.get("consentReceiptID"),
            "encodingFormat": "application/json",
            "text": json.dumps(package.receipt, ensure_ascii=False, sort_keys=True),
        }
    ]
    subject_of += [
        {
            "@type": "EmailMessage" if item.channel == "email" else "Message",
            "identifier": str(item.id),
            "name": item.title,
            "dateSent" if item.direction == "out" else "dateReceived": item.occurred_at,
        }
        for item in package.items
        if item.amount is None
    ]
    node["subjectOf"] = subject_of
    graph = [node] + [_booking(b) for b in package.bookings]
    graph += [_transaction(i, package.company) for i in package.items if i.amount is not None]
    return {"@context": "https://schema.org", "@graph": graph}


def jsonld_bytes(package: Package) -> bytes:
    """The document as UTF-8 JSON."""
    return (json.dumps(document(package), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
