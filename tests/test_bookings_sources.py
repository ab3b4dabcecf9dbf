"""Bookings from where they really are: seats and codes as written, passes and bundles of them,
airline and rail calendars, JSON-LD parts of a mail, and microdata in invalid HTML."""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from importers.bookings import html, ics, pkpass
from importers.bookings.hafas import journey_bookings
from importers.email.message import parse_message
from tests.hardening.harness import Kluis, make_vault
from tests.support import FIXTURES, options, packed_pass
from vault.errors import MalformedInput
from vault.records import Interaction, Quarantined

BOOKINGS = FIXTURES / "bookings"


def interaction(items: object) -> Interaction:
    (found,) = [i for i in items if isinstance(i, Interaction)]  # type: ignore[attr-defined]
    return found


def test_a_pass_seat_from_apples_semantics_reads_as_printed(tmp_path: Path) -> None:
    item = interaction(pkpass.read(packed_pass("ua-semantic", tmp_path), options()))
    (booking,) = item.bookings
    assert booking.seat == "52C"  # before: "row 52, seat C"
    assert booking.start is not None and booking.start.isoformat() == "2027-03-04T20:15:00-08:00"
    assert booking.details["boarding"] == "2027-03-04T19:30:00-08:00"
    assert (booking.number, booking.reference) == ("UA110", "RXJ34P")


def test_a_lufthansa_calendar_entry_gives_airports_and_flight_number() -> None:
    item = interaction(ics.read(FIXTURES / "ics" / "lufthansa-flight.ics", options()))
    (booking,) = item.bookings
    # Before: origin "Von MUNICH DE (MUC)", no destination and no flight number.
    assert booking.origin is not None and (booking.origin.name, booking.origin.code) == (
        "MUNICH DE",
        "MUC",
    )
    assert booking.destination is not None and booking.destination.code == "BER"
    assert (booking.number, booking.reference, booking.provider) == (
        "LH2029",
        "LX7K2P",
        "Lufthansa",
    )


def test_a_hotel_pass_is_a_stay_not_an_event(tmp_path: Path) -> None:
    item = interaction(pkpass.read(packed_pass("hotel-stay", tmp_path), options()))
    (booking,) = item.bookings
    assert (booking.kind, booking.reference) == ("lodging", "4585174458")
    assert booking.start is not None and booking.start.isoformat() == "2026-12-19T15:00:00+01:00"
    assert booking.end is not None and booking.end.isoformat() == "2026-12-23T11:00:00+01:00"
    assert booking.destination is not None and booking.destination.name == "Hotel Am Naschmarkt"
    assert booking.travellers == ["Sanne de Vries"] and item.channel == "booking"


def test_a_pkpasses_bundle_imports_every_pass_in_it(tmp_path: Path) -> None:
    bundle = tmp_path / "trip.pkpasses"
    with zipfile.ZipFile(bundle, "w") as archive:
        for name in ("klm-boarding", "hotel-stay"):
            archive.write(packed_pass(name, tmp_path), f"{name}.pkpass")
    kluis = Kluis(tmp_path / "vault", tmp_path, tmp_path)
    make_vault(kluis.vault)
    done = kluis.run("import", str(bundle))
    assert done.returncode == 0, done.stderr  # before: "not a wallet pass: no pass.json in it"
    rows = kluis.json("bookings")
    assert sorted(r["kind"] for r in rows) == ["flight", "lodging"]


@pytest.mark.parametrize("name", ["jsonld-part-inline.eml", "jsonld-part-attached.eml"])
def test_json_ld_sent_as_a_part_of_its_own_is_read(name: str) -> None:
    item = parse_message((BOOKINGS / name).read_bytes(), name, options())
    assert isinstance(item, Interaction)
    (booking,) = item.bookings
    assert (booking.reference, booking.number, booking.seat) == ("QF7T2M", "KL1275", None)
    assert (str(booking.price), booking.currency) == ("189.40", "EUR")


def test_googles_inline_microdata_example_gives_time_and_venue() -> None:
    """The item's <p> is closed by the <div> inside it: its reservationFor follows the item."""
    item = interaction(html.read(BOOKINGS / "concert-microdata-inline.html", options()))
    (booking,) = item.bookings
    assert (booking.kind, booking.reference, booking.travellers) == (
        "event",
        "TM-88412",
        ["Sanne de Vries"],
    )
    assert booking.start is not None and booking.start.isoformat() == "2027-05-14T20:15:00+02:00"
    assert booking.destination is not None and booking.destination.name == "Het Concertgebouw"


def test_a_rail_operators_mail_with_the_journey_as_ics_gives_every_leg() -> None:
    name = "db-journey-ics-attached.eml"
    item = parse_message((BOOKINGS / name).read_bytes(), name, options())
    assert isinstance(item, Interaction)
    legs = [
        (b.kind, b.number, b.origin and b.origin.name, b.destination and b.destination.name)
        for b in item.bookings
    ]
    assert legs == [
        ("train", "ICE 513", "Köln Hbf", "Stuttgart Hbf"),
        ("train", "ICE 591", "Stuttgart Hbf", "München Hbf"),
    ]
    first, second = item.bookings
    assert first.start is not None and first.start.isoformat() == "2027-06-12T07:16:00+02:00"
    # The change at Stuttgart is a local time: the event does not say the station's zone.
    assert first.end is not None and first.end.isoformat() == "2027-06-12T09:39:00"
    assert second.end is not None and second.end.isoformat() == "2027-06-12T12:04:00+02:00"


def test_an_event_that_only_looks_like_a_journey_gives_no_legs() -> None:
    text = "ab 10:26 Frankfurt(Main)Hbf - Gleis 19 (ICE   16)\nan 11:33 Köln Hbf - Gleis 6"
    at = datetime(2027, 6, 12, 10, 26)
    assert len(journey_bookings("Frankfurt(Main)Hbf -> Köln Hbf", text, at, None)) == 1
    assert journey_bookings("Team day", text, at, None) == []  # no route in the summary
    assert journey_bookings("Frankfurt -> Köln", text, at.replace(hour=9), None) == []


def test_a_broken_pass_in_a_bundle_is_quarantined_and_the_others_kept(tmp_path: Path) -> None:
    bundle = tmp_path / "trip.pkpasses"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.write(packed_pass("hotel-stay", tmp_path), "hotel.pkpass")
        archive.writestr("broken.pkpass", b"PK\x03\x04 not a pass")
    items = list(pkpass.read(bundle, options()))
    kept = [i for i in items if isinstance(i, Interaction)]
    quarantined = [i for i in items if isinstance(i, Quarantined)]
    assert [b.kind for i in kept for b in i.bookings] == ["lodging"]
    assert [q.source_ref for q in quarantined] == [f"{bundle}#broken.pkpass"]


def test_a_bundle_that_unpacks_to_too_much_is_refused_in_one_line(tmp_path: Path) -> None:
    bundle = tmp_path / "bomb.pkpasses"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(3):
            archive.writestr(f"{n}.pkpass", b"\0" * (8 * 1024 * 1024))
    with pytest.raises(MalformedInput, match=r"bomb\.pkpasses: .*too big") as raised:
        list(pkpass.read(bundle, options()))
    assert "\n" not in str(raised.value)
