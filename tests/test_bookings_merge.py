"""Which documents are one booking: the provider is part of its identity, every traveller counts,
and documents apply in the order they were written, not the order they are imported in."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from importers.bookings import bcbp, html
from importers.bookings.schemaorg import bookings_from
from importers.email.message import parse_message
from tests.support import FIXTURES, mail, options
from vault import queries
from vault.ingest import Ingestor
from vault.records import Item
from vault.store import Store

BOOKINGS = FIXTURES / "bookings"


def mails(*names: str) -> list[Item]:
    return [parse_message((BOOKINGS / n).read_bytes(), n, options()) for n in names]


def imported(store: Store, items: list[Item]) -> list[dict[str, object]]:
    for item in items:  # one import each, in this order, as a user would run them
        Ingestor(store, options(), "test", "t").run([item])
    with store.read() as conn:
        return queries.list_bookings(conn)


def test_two_shops_orders_with_the_same_number_stay_two_orders(store: Store) -> None:
    rows = imported(store, mails("order-kruidvat-10023.eml", "order-fietsenwinkel-10023.eml"))
    assert sorted((r["company"], r["reference"], r["price"]) for r in rows) == [  # type: ignore[type-var]
        ("Drogisterij Kruidvat", "10023", "2.99"),
        ("Fietsenwinkel & Zo", "10023", "1249.00"),
    ]
    assert {r["status"] for r in rows} == {"confirmed"}


def test_another_airlines_boarding_pass_with_the_same_pnr_is_its_own_flight(
    store: Store, tmp_path: Path
) -> None:
    klm = mail(1, "KLM <noreply@klm.com>", title="Booking confirmation K2X9QZ")
    klm.bookings = bookings_from([_flight("K2X9QZ", "1275", "AMS", "VIE")])
    barcode = tmp_path / "lufthansa.txt"  # a Lufthansa leg that happens to reuse the PNR
    barcode.write_text("M1DEVRIES/SANNE       EK2X9QZ FRATXLLH 0200 170Y003C0011 100")
    saved = datetime(2026, 6, 12, tzinfo=UTC).timestamp()
    os.utime(barcode, (saved, saved))
    rows = imported(store, [klm, *bcbp.read(barcode, options())])
    by_number = {r["number"]: r for r in rows}
    assert set(by_number) == {"KL1275", "LH200"}
    assert by_number["KL1275"]["company"] == "KLM" and by_number["KL1275"]["status"] == "confirmed"
    assert by_number["LH200"]["company"] != "KLM"  # before: filed under KLM on the PNR alone


def test_a_bare_cancellation_naming_no_company_still_finds_its_booking(store: Store) -> None:
    klm = mail(1, "KLM <noreply@klm.com>", title="Booking confirmation K2X9QZ")
    klm.bookings = bookings_from([_flight("K2X9QZ", "1275", "AMS", "VIE")])
    cancel = mail(2, "Travel desk <desk@agency.example>", title="Cancelled K2X9QZ")
    cancel.bookings = bookings_from(
        [{"@type": "FlightReservation", "reservationNumber": "K2X9QZ",
          "reservationStatus": "http://schema.org/ReservationCancelled"}]
    )  # fmt: skip
    (row,) = imported(store, [klm, cancel])
    assert (row["company"], row["status"]) == ("KLM", "cancelled")


def test_one_confirmation_for_two_passengers_is_one_confirmed_booking_with_both(
    store: Store,
) -> None:
    path = BOOKINGS / "two-passengers.html"
    (row,) = imported(store, list(html.read(path, options())))
    # Before: one traveller, and status "changed" from the second passenger's reservation.
    assert row["status"] == "confirmed"
    assert row["travellers"] == ["Sanne de Vries", "Joris de Vries"]
    assert row["seat"] == "12A, 12B"


def test_a_second_travellers_boarding_pass_adds_them_without_changing_the_booking(
    store: Store,
) -> None:
    first = mail(1, "KLM <noreply@klm.com>", title="Booking confirmation K2X9QZ")
    first.bookings = bookings_from(
        [_flight("K2X9QZ", "1275", "AMS", "VIE", "Sanne de Vries", "12A")]
    )
    second = mail(2, "KLM <noreply@klm.com>", title="Boarding pass Joris")
    second.bookings = bookings_from(
        [_flight("K2X9QZ", "1275", "AMS", "VIE", "DE VRIES/JORIS MR", "12B")]
    )
    again = mail(3, "KLM <noreply@klm.com>", title="Boarding pass Sanne")
    again.bookings = bookings_from(
        [_flight("K2X9QZ", "1275", "AMS", "VIE", "DE VRIES/SANNE MS", "12A")]
    )
    (row,) = imported(store, [first, second, again])
    assert row["status"] == "confirmed"
    assert row["travellers"] == ["Sanne de Vries", "DE VRIES/JORIS MR"]
    assert row["seat"] == "12A, 12B"


def test_a_cancellation_imported_before_its_confirmation_stays_cancelled(store: Store) -> None:
    cancelled, confirmed = mails("klm-K7M2WQ-cancelled.eml", "klm-K7M2WQ-confirmed.eml")
    (row,) = imported(store, [cancelled, confirmed])
    # Before: "changed" (the older confirmation's facts counted as a change after the cancel).
    assert row["status"] == "cancelled"
    assert (row["number"], row["seat"]) == ("KL1341", "8C")  # filled from the confirmation
    assert row["start"] == "2027-02-20T09:40:00+01:00"


def test_documents_apply_in_the_order_of_their_own_modified_time(store: Store) -> None:
    newer = mail(1, "KLM <noreply@klm.com>", title="Schedule change")
    moved = _flight("K2X9QZ", "1275", "AMS", "VIE")
    moved["reservationFor"]["departureTime"] = "2027-02-12T08:15:00+01:00"  # type: ignore[index]
    moved["modifiedTime"] = "2027-01-20T10:00:00+01:00"
    newer.bookings = bookings_from([moved])
    older = mail(2, "KLM <noreply@klm.com>", title="Booking confirmation")
    original = _flight("K2X9QZ", "1275", "AMS", "VIE")
    original["modifiedTime"] = "2027-01-02T10:00:00+01:00"
    older.bookings = bookings_from([original])
    (row,) = imported(store, [newer, older])
    assert row["start"] == "2027-02-12T08:15:00+01:00"  # the older one does not undo the change


def _flight(
    pnr: str,
    number: str,
    origin: str,
    destination: str,
    traveller: str = "Sanne de Vries",
    seat: str | None = None,
) -> dict[str, object]:
    reservation: dict[str, object] = {
        "@type": "FlightReservation",
        "reservationNumber": pnr,
        "underName": {"@type": "Person", "name": traveller},
        "reservationFor": {
            "@type": "Flight",
            "flightNumber": number,
            "airline": {"@type": "Airline", "name": "KLM", "iataCode": "KL"},
            "departureAirport": {"@type": "Airport", "iataCode": origin},
            "arrivalAirport": {"@type": "Airport", "iataCode": destination},
            "departureTime": "2027-02-12T07:15:00+01:00",
            "arrivalTime": "2027-02-12T09:05:00+01:00",
        },
    }
    if seat:
        reservation["airplaneSeat"] = seat
    return reservation
