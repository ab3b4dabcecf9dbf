"""Apple Wallet passes: boarding passes (barcode, semantics, fields), tickets, cards, strings."""

from __future__ import annotations

import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from importers.bookings import pkpass
from tests.support import SHARED_CORPUS, options, packed_pass
from vault import queries
from vault.errors import MalformedInput
from vault.ingest import Ingestor
from vault.records import Attachment, Interaction, Place
from vault.store import Store

CORPUS = SHARED_CORPUS / "bookings" / "pkpass"
RECEIVED = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def interaction_of(path: Path) -> Interaction:
    return pkpass.pass_interaction(path.read_bytes(), str(path), options(), RECEIVED)


def test_a_train_pass_reads_its_semantics_and_dutch_strings(tmp_path: Path) -> None:
    item = interaction_of(packed_pass("ns-intercity", tmp_path))
    (booking,) = item.bookings
    assert (booking.kind, booking.reference, booking.number) == ("train", "NS8841", "IC3041")
    assert booking.origin and booking.origin.name == "Amsterdam Centraal"
    assert booking.destination and booking.destination.name == "Utrecht Centraal"
    assert booking.start and booking.start.isoformat() == "2026-06-19T08:02:00+02:00"
    assert booking.end and booking.end.isoformat() == "2026-06-19T08:29:00+02:00"
    assert item.hints.organisation == "NS"
    assert "E-ticket Amsterdam Centraal → Utrecht" in item.body
    assert 'Voorwaarden: Geldig op de "reisdag" in de trein.' in item.body


def test_a_loyalty_card_is_a_note_not_a_booking(tmp_path: Path) -> None:
    item = interaction_of(packed_pass("bakery-card", tmp_path))
    assert item.channel == "note" and not item.bookings
    assert item.title == "Spaarkaart Bakkerij de Vries"
    assert "Stempels: 7" in item.body
    assert item.occurred_at == RECEIVED and not item.tz_known


def test_a_zip_without_pass_json_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "photos.pkpass"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("icon.png", b"\x89PNG")
    with pytest.raises(MalformedInput, match=r"no pass\.json"):
        list(pkpass.read(path, options()))
    path.write_bytes(b"not a zip at all")
    with pytest.raises(MalformedInput, match=r"photos\.pkpass: not a readable wallet pass"):
        list(pkpass.read(path, options()))


def test_a_pass_attached_to_a_mail_gives_its_booking(tmp_path: Path) -> None:
    data = packed_pass("ns-intercity", tmp_path).read_bytes()
    attachments = [
        Attachment("ticket.pkpass", "application/octet-stream", data),
        Attachment("broken.pkpass", pkpass.MIMES[0], b"PK\x03\x04broken"),
        Attachment("terms.pdf", "application/pdf", b"%PDF"),
    ]
    (booking,) = pkpass.bookings_in_attachments(attachments, RECEIVED)
    assert booking.reference == "NS8841"


def test_a_lufthansa_boarding_pass_takes_the_flight_from_its_barcode() -> None:
    path = CORPUS / "lufthansa-with-timezone.pkpass"
    if not path.exists():
        pytest.skip("the shared corpus is not here")
    (booking,) = interaction_of(path).bookings
    assert (booking.reference, booking.number, booking.seat) == ("XXX007", "LH489", "1A")
    # Day 141 of the relevantDate's year: 21 May, a day; boarding 18:20 at Montréal.
    assert booking.start == date(2019, 5, 21)
    assert booking.details["boarding"] == "2019-05-21T18:20:00-04:00"
    assert "year_assumed" not in booking.details
    assert booking.provider == "Lufthansa"


def test_a_swiss_pass_without_relevant_date_takes_the_year_from_its_expiry() -> None:
    path = CORPUS / "swiss.pkpass"
    if not path.exists():
        pytest.skip("the shared corpus is not here")
    (booking,) = interaction_of(path).bookings
    assert booking.start == date(2017, 9, 15)
    assert (booking.origin, booking.destination) == (
        Place(code="ZRH"),
        Place(code="TXL"),
    )


def test_an_event_ticket_takes_its_dates_and_venue_from_the_semantics(store: Store) -> None:
    path = CORPUS / "apple-semantic-event-ticket-scrubbed.pkpass"
    if not path.exists():
        pytest.skip("the shared corpus is not here")
    Ingestor(store, options(), "pkpass", str(path)).run(pkpass.read(path, options()))
    with store.read() as conn:
        (row,) = queries.list_bookings(conn)
    assert (row["kind"], row["company"], row["destination"]) == (
        "event",
        "Event",
        "Event Location Name",
    )
    assert row["start"] == "2026-06-12T20:00:00+02:00"
    assert row["end"] == "2026-06-13T20:00:00+02:00"
