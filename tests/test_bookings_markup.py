"""Bookings from schema.org markup: lenient JSON-LD, microdata, changes and cancellations."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from importers.bookings.markup import schema_objects
from importers.bookings.schemaorg import bookings_from, bookings_in_page
from importers.bookings.times import parse_when
from tests.support import SHARED_CORPUS, mail, options
from vault import queries
from vault.ingest import Ingestor
from vault.records import Quarantined
from vault.store import Store

FIXTURES = Path(__file__).parent / "fixtures" / "bookings"
FLIGHT = {
    "@context": "http://schema.org",
    "@type": "FlightReservation",
    "reservationNumber": "K2X9QZ",
    "reservationStatus": "http://schema.org/ReservationConfirmed",
    "underName": {"@type": "Person", "name": "Sanne de Vries"},
    "reservationFor": {
        "@type": "Flight",
        "flightNumber": "1275",
        "airline": {"@type": "Airline", "name": "KLM", "iataCode": "KL"},
        "departureAirport": {"@type": "Airport", "iataCode": "AMS"},
        "arrivalAirport": {"@type": "Airport", "iataCode": "VIE"},
        "departureTime": "2026-12-19T07:15:00+01:00",
        "arrivalTime": "2026-12-19T09:05:00+01:00",
    },
}


def page(*objects: object, broken: bool = False) -> str:
    blocks = []
    for obj in objects:
        body = json.dumps(obj)
        if broken:
            body = body.replace("}", ",}")  # trailing commas, as some senders write them
        blocks.append(f'<script type="application/ld+json">{body}</script>')
    return "<html><body><p>Your trip</p>" + "".join(blocks) + "</body></html>"


def test_a_flight_confirmation_gives_number_route_times_and_traveller() -> None:
    (booking,) = bookings_in_page(page(FLIGHT))
    assert (booking.kind, booking.reference, booking.number) == ("flight", "K2X9QZ", "KL1275")
    assert booking.origin and booking.origin.code == "AMS"
    assert booking.start and booking.start.isoformat() == "2026-12-19T07:15:00+01:00"
    assert booking.travellers == ["Sanne de Vries"] and booking.provider == "KLM"


def test_trailing_commas_and_entities_in_json_ld_are_repaired() -> None:
    (booking,) = bookings_in_page(page(FLIGHT, broken=True).replace("KLM", "KL&amp;M"))
    assert booking.reference == "K2X9QZ"


def test_unreadable_markup_gives_no_booking_rather_than_a_wrong_one() -> None:
    assert (
        bookings_in_page('<script type="application/ld+json">{"@type": "Flight</script> schema.org')
        == []
    )


def test_an_offer_to_book_on_a_restaurant_page_is_not_a_booking() -> None:
    offer = {
        "@context": "https://schema.org",
        "@type": "Restaurant",
        "name": "De Kas",
        "potentialAction": {
            "@type": "ReserveAction",
            "result": {"@type": "FoodEstablishmentReservation"},
        },
    }
    assert bookings_in_page(page(offer)) == []


def test_microdata_order_with_wrong_nesting_and_a_json_ld_parcel() -> None:
    found = bookings_in_page((FIXTURES / "order-microdata-and-parcel.html").read_text())
    order = next(b for b in found if b.kind == "order")
    parcel = next(b for b in found if b.kind == "parcel")
    assert order.reference == "FZ-20240311-77" and order.price == Decimal("12.95")
    assert order.currency == "EUR" and order.details["items"] == ["Fietsbel messing"]
    assert parcel.reference == "3SABCD0123456" and parcel.details["carrier"] == "PostNL"
    assert parcel.details["order"] == "FZ-20240311-77"


@pytest.mark.parametrize(
    ("written", "iso"),
    [
        ("2017-06-15T14:00:00+0:00", "2017-06-15T14:00:00+00:00"),
        ("02-04-2018 20:40", "2018-02-04T20:40:00"),
        ("2024-03-11 09:12:00+01:00", "2024-03-11T09:12:00+01:00"),
        ("2027-03-04T20:15:00Z", "2027-03-04T20:15:00+00:00"),
        ("2027-03-04T20:15:00+0100", "2027-03-04T20:15:00+01:00"),
        ("2027-03-04", "2027-03-04"),
    ],
)
def test_times_as_senders_write_them_keep_their_own_precision(written: str, iso: str) -> None:
    parsed = parse_when(written)
    assert parsed is not None and parsed.isoformat() == iso


def test_a_change_then_a_cancellation_update_one_booking_linked_to_all_three_mails(
    store: Store,
) -> None:
    confirmed = mail(1, "KLM <noreply@klm.com>", title="Boekingsbevestiging K2X9QZ")
    confirmed.bookings = bookings_in_page(page(FLIGHT))
    moved = json.loads(json.dumps(FLIGHT))
    moved["reservationFor"]["arrivalTime"] = "2026-12-19T09:35:00+01:00"
    changed = mail(2, "KLM <noreply@klm.com>", title="Gewijzigd: K2X9QZ")
    changed.bookings = bookings_in_page(page(moved))
    cancel = {
        "@type": "FlightReservation",
        "reservationNumber": "K2X9QZ",
        "reservationStatus": "http://schema.org/Cancelled",
    }
    cancelled = mail(3, "KLM <noreply@klm.com>", title="Geannuleerd: K2X9QZ")
    cancelled.bookings = bookings_from([cancel])
    Ingestor(store, options(), "test", "t").run([confirmed, changed])
    with store.read() as conn:
        (row,) = queries.list_bookings(conn)
    assert row["status"] == "changed" and row["end"] == "2026-12-19T09:35:00+01:00"
    Ingestor(store, options(), "test", "t").run([cancelled])
    with store.read() as conn:
        (row,) = queries.list_bookings(conn)
        roles = [r[0] for r in conn.execute(text("SELECT role FROM bookingsource ORDER BY 1"))]
        item = queries.show(conn, 1)
    assert row["status"] == "cancelled" and row["number"] == "KL1275"
    assert roles == ["cancelled", "changed", "confirmed"]
    assert len(item["case"]) == 2  # all three mails are one case


def test_corpus_pages_give_their_expected_bookings() -> None:
    if not SHARED_CORPUS.exists():
        pytest.skip("the shared corpus is not here")
    html_dir = SHARED_CORPUS / "bookings" / "html"
    found = {
        p.name: bookings_in_page(p.read_text(errors="replace")) for p in html_dir.glob("*.html")
    }
    assert [b.number for b in found["ib-microdata.html"]] == ["IB8588"]
    assert [b.seat for b in found["ib-microdata.html"]] == ["9D"]
    assert [b.reference for b in found["hotel-json-ld-fallback.html"]] == ["KDEKDEKDE"]
    assert len(found["ew-invalid-json-array.html"]) == 2
    assert found["restaurant-complex.html"] == []
    assert [
        o.get("@type")
        for o in schema_objects((html_dir / "google-flight-reservation-microdata.html").read_text())
    ] == ["FlightReservation"]


def test_a_calendar_attached_to_a_mail_becomes_a_booking_on_that_mail() -> None:
    from email.message import EmailMessage

    from importers.email.message import parse_message

    message = EmailMessage()
    message["From"] = "TheFork <no-reply@thefork.test>"
    message["To"] = "me@example.org"
    message["Subject"] = "Your table at De Kas"
    message["Date"] = "Tue, 10 Mar 2026 10:00:00 +0100"
    message["Message-ID"] = "<rsv5521@thefork.test>"
    message.set_content("See you soon.")
    invite = (FIXTURES.parent / "ics" / "restaurant-confirmed.ics").read_bytes()
    message.add_attachment(invite, maintype="text", subtype="calendar", filename="invite.ics")
    item = parse_message(message.as_bytes(), "x.eml", options())
    assert not isinstance(item, Quarantined)
    assert [(b.kind, b.reference) for b in item.bookings] == [("restaurant", "RSV5521")]


def test_a_boarding_pass_after_the_confirmation_does_not_blur_the_booking(store: Store) -> None:
    confirmed = mail(1, "KLM <noreply@klm.com>", title="Boekingsbevestiging K2X9QZ")
    confirmed.bookings = bookings_in_page(page(FLIGHT))
    boarding = mail(2, "KLM <noreply@klm.com>", title="Je instapkaart")
    (leg,) = bookings_in_page(page(FLIGHT))
    leg.start = date(2026, 12, 19)  # a barcode knows the day only
    leg.travellers = ["DE VRIES/SANNE MS"]
    leg.details = {"ticketToken": "M1DE VRIES/SANNE"}
    boarding.bookings = [leg]
    Ingestor(store, options(), "test", "t").run([confirmed, boarding])
    with store.read() as conn:
        (row,) = queries.list_bookings(conn)
        details = conn.execute(text("SELECT details FROM booking")).scalar_one()
    assert row["status"] == "confirmed"
    assert row["start"] == "2026-12-19T07:15:00+01:00" and row["travellers"] == ["Sanne de Vries"]
    assert json.loads(details)["ticketToken"] == "M1DE VRIES/SANNE"
