"""``kluis bookings --ics``: the user's trips as an iCalendar file, read back with icalendar."""

from __future__ import annotations

import os
import stat
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import icalendar
import pytest

from exports.ics import write_bookings_ics
from importers.bookings import bcbp, ics
from tests.support import options
from vault import queries
from vault.errors import InputError
from vault.ingest import Ingestor
from vault.store import Store

FIXTURES = Path(__file__).parent / "fixtures"


def row(**overrides: Any) -> dict[str, Any]:
    """A booking as ``vault.queries.list_bookings`` returns it."""
    base: dict[str, Any] = {
        "id": 7,
        "kind": "flight",
        "reference": "K2X9QZ",
        "status": "confirmed",
        "company": "KLM",
        "number": "KL1275",
        "start": "2026-06-19T07:15:00+02:00",
        "end": "2026-06-19T09:05:00+02:00",
        "origin": "AMS",
        "destination": "VIE",
        "travellers": ["Sanne de Vries"],
        "seat": "12A",
        "price": "129.00",
        "currency": "EUR",
    }
    return base | overrides


def events_in(path: Path) -> list[icalendar.Component]:
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    return list(calendar.walk("VEVENT"))


def test_an_exported_flight_reads_back_with_its_local_times_and_reference(tmp_path: Path) -> None:
    out = tmp_path / "trips.ics"
    assert write_bookings_ics([row()], out) == 1
    (event,) = events_in(out)
    assert str(event["SUMMARY"]) == "Flight KL1275 AMS → VIE"
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert start == datetime.fromisoformat("2026-06-19T07:15:00+02:00")
    assert (start.hour, start.utcoffset().total_seconds()) == (7, 7200)
    assert end == datetime.fromisoformat("2026-06-19T09:05:00+02:00")
    assert str(event["LOCATION"]) == "AMS"
    assert "Reference: K2X9QZ" in str(event["DESCRIPTION"])


def test_the_file_is_private_and_uids_stay_the_same_on_every_export(tmp_path: Path) -> None:
    first, second = tmp_path / "a.ics", tmp_path / "b.ics"
    write_bookings_ics([row(), row(id=8, number="KL1276", origin="VIE", destination="AMS")], first)
    write_bookings_ics([row()], second)
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    uids = [str(e["UID"]) for e in events_in(first)]
    assert len(set(uids)) == 2
    assert str(events_in(second)[0]["UID"]) == uids[0]


def test_a_flight_known_by_its_day_only_is_an_all_day_event(tmp_path: Path) -> None:
    out = tmp_path / "trips.ics"
    write_bookings_ics([row(start="2026-06-19T00:00:00+02:00", end=None, status="cancelled")], out)
    (event,) = events_in(out)
    assert event.decoded("DTSTART") == date(2026, 6, 19)
    assert event.decoded("DTEND") == date(2026, 6, 20)
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["SUMMARY"]).endswith("(cancelled)")


def test_orders_without_a_start_are_left_out(tmp_path: Path) -> None:
    out = tmp_path / "trips.ics"
    order = row(id=9, kind="order", number=None, start=None, end=None, origin=None)
    assert write_bookings_ics([order, row()], out) == 1


def test_imported_trips_export_and_read_back(store: Store, tmp_path: Path) -> None:
    barcode = tmp_path / "klm-ams-vie.txt"
    barcode.write_bytes((FIXTURES / "bcbp" / "klm-ams-vie.txt").read_bytes())
    saved = datetime(2026, 6, 12, tzinfo=UTC).timestamp()  # a week before the flight
    os.utime(barcode, (saved, saved))
    sources = [
        (ics, FIXTURES / "ics" / "outlook-flight.ics"),
        (ics, FIXTURES / "ics" / "hotel-all-day.ics"),
        (bcbp, barcode),
    ]
    for module, path in sources:
        Ingestor(store, options(), "test", str(path)).run(module.read(path, options()))
    with store.read() as conn:
        rows = queries.list_bookings(conn)
    out = tmp_path / "trips.ics"
    assert write_bookings_ics(rows, out) == len(rows) == 2  # the barcode is the same flight
    summaries = sorted(str(e["SUMMARY"]) for e in events_in(out))
    assert summaries == ["Flight KL1275 AMS → VIE", "Stay Philharmoniker Str. 4, 1010 Wien"]


def test_an_unwritable_path_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot write"):
        write_bookings_ics([row()], tmp_path / "missing" / "trips.ics")
