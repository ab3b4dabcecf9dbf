"""A booking's times are as precise as its source, never more: no zone made up, no time lost."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cli.render import booking_time as cli_time
from importers.bookings import bcbp, jsonld, pkpass
from importers.bookings.schemaorg import bookings_from
from tests.hardening.harness import Kluis, make_vault
from tests.support import FIXTURES, mail, options, packed_pass
from tui.format import booking_time as app_time
from vault import queries
from vault.ingest import Ingestor
from vault.store import Store

BOOKINGS = FIXTURES / "bookings"
PHILADELPHIA = options()  # the user's zone is UTC here: it must not leak into a flight's times


def rows_after(store: Store, module: object, path: Path) -> list[dict[str, object]]:
    read = module.read  # type: ignore[attr-defined]
    Ingestor(store, PHILADELPHIA, "test", str(path)).run(read(path, PHILADELPHIA))
    with store.read() as conn:
        return queries.list_bookings(conn)


def by_number(rows: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {row["number"]: row for row in rows}


def test_a_departure_known_by_its_day_stays_that_day_not_midnight_utc(store: Store) -> None:
    flights = by_number(rows_after(store, jsonld, BOOKINGS / "times-as-written.jsonld"))
    # Before: 2027-07-04T00:00:00+00:00, which Philadelphia reads as the evening of 3 July.
    assert flights["AA718"]["start"] == "2027-07-04"


def test_a_local_time_at_an_airport_is_read_in_the_airports_zone(store: Store) -> None:
    flights = by_number(rows_after(store, jsonld, BOOKINGS / "times-as-written.jsonld"))
    back = flights["AA719"]
    assert back["start"] == "2027-07-18T10:05:00+01:00"  # London in summer, not +00:00
    assert back["end"] == "2027-07-18T13:20:00-04:00"  # arriving in Philadelphia
    assert back["boarding"] == "2027-07-18T09:25:00+01:00"


def test_a_local_time_at_a_station_stays_local_and_says_so(store: Store) -> None:
    trains = by_number(rows_after(store, jsonld, BOOKINGS / "times-as-written.jsonld"))
    train = trains["1A45"]
    assert (train["start"], train["end"]) == ("2027-07-10T08:30:00", "2027-07-10T10:07:00")
    start = str(train["start"])
    assert cli_time(start, UTC) == "2027-07-10 08:30 local"  # no zone to move it from
    assert app_time(start, UTC) == "Sat 10 Jul 2027, 08:30 (local time)"


def test_cli_and_app_show_the_users_time_and_the_places_beside_it() -> None:
    day = (cli_time("2027-07-04", UTC), app_time("2027-07-04", UTC))
    assert day == ("2027-07-04", "Sun 04 Jul 2027")  # a day stays that day
    zoned = "2027-07-18T10:05:00+01:00"
    assert cli_time(zoned, UTC) == "2027-07-18 09:05 (10:05 local)"
    assert app_time(zoned, UTC) == "Sun 18 Jul 2027, 09:05 (+00:00; 10:05 local)"
    london = ZoneInfo("Europe/London")  # the place's own zone: one time, nothing beside it
    assert cli_time(zoned, london) == "2027-07-18 10:05"
    assert app_time(zoned, london) == "Sun 18 Jul 2027, 10:05 (+01:00)"
    late = "2027-07-18T23:30:00-04:00"  # the next day for the user: the place's day is said
    assert cli_time(late, UTC) == "2027-07-19 03:30 (18 Jul 23:30 local)"


def test_a_boarding_pass_keeps_its_day_and_its_boarding_time(store: Store, tmp_path: Path) -> None:
    path = packed_pass("klm-boarding", tmp_path)
    (row,) = rows_after(store, pkpass, path)
    # Before: start 2026-06-19T00:00:00+02:00 ("departs 00:00") and no boarding time at all.
    assert row["start"] == "2026-06-19"
    assert row["boarding"] == "2026-06-19T06:35:00+02:00"
    assert (row["number"], row["seat"], row["travellers"]) == ("KL1275", "12A", ["Sanne Devries"])


def test_a_barcode_file_takes_its_year_from_the_files_date_not_the_import(tmp_path: Path) -> None:
    path = tmp_path / "boarding.txt"
    path.write_bytes((FIXTURES / "bcbp" / "klm-ams-vie.txt").read_bytes())
    saved = datetime(2026, 6, 12, tzinfo=UTC).timestamp()  # saved a week before the flight
    os.utime(path, (saved, saved))
    items = list(bcbp.read(path, options()))
    (booking,) = items[0].bookings  # type: ignore[union-attr]
    assert booking.start == date(2026, 6, 19)  # and the same on a re-import years later


def test_a_minimal_barcode_from_a_booking_confirmation_is_a_flight(tmp_path: Path) -> None:
    """Brussels Airlines prints the mandatory items up to the compartment only."""
    kluis = Kluis(tmp_path / "vault", tmp_path, tmp_path)
    make_vault(kluis.vault)
    barcode = tmp_path / "sn2592.bcbp"
    barcode.write_text("M1DOE/JOHN            EXXX007 TXLBRUSN 2592 110Y")
    saved = datetime(2027, 4, 2, tzinfo=UTC).timestamp()
    os.utime(barcode, (saved, saved))
    done = kluis.run("import", str(barcode), "--format", "bcbp")
    assert done.returncode == 0, done.stderr  # before: "leg 1 is cut short"
    listed = kluis.run("bookings").stdout.decode()
    assert "2027-04-20  flight" in listed and "XXX007" in listed and "TXL → BRU" in listed


def test_a_flight_known_by_its_day_is_upcoming_all_that_day(store: Store) -> None:
    today = datetime.now(UTC).astimezone().date()
    item = mail(1, "KLM <noreply@klm.com>", title="Your flights")
    item.bookings = bookings_from(
        [
            {
                "@type": "FlightReservation",
                "reservationNumber": ref,
                "reservationFor": {"@type": "Flight", "flightNumber": "1275", "departureDay": day},
            }
            for ref, day in (("TODAY1", today.isoformat()), ("GONE01", "2020-01-01"))
        ]
    )
    Ingestor(store, options(), "test", "t").run([item])
    with store.read() as conn:
        upcoming = queries.list_bookings(conn, upcoming=True)
    assert [r["reference"] for r in upcoming] == ["TODAY1"]
