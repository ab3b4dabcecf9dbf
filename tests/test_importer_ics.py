"""iCalendar files and attachments: events as notes, trips as bookings, broken calendars."""

from __future__ import annotations

from datetime import UTC, date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from importers.bookings import ics, ics_trips
from tests.support import SHARED_CORPUS, options
from vault import queries
from vault.errors import MalformedInput
from vault.ingest import Ingestor
from vault.records import Attachment, ImportOptions, Interaction, Item, Quarantined
from vault.store import Store

FIXTURES = Path(__file__).parent / "fixtures" / "ics"


def events(name: str, opts: ImportOptions | None = None) -> list[Interaction]:
    return [i for i in read(name, opts) if isinstance(i, Interaction)]


def read(name: str, opts: ImportOptions | None = None) -> list[Item]:
    return list(ics.read(FIXTURES / name, opts or options()))


def test_an_outlook_flight_in_a_windows_time_zone_becomes_a_booking() -> None:
    (event,) = events("outlook-flight.ics")
    assert event.channel == "booking" and event.direction == "in"
    assert event.occurred_at.isoformat() == "2026-06-19T07:15:00+02:00"
    assert event.sender and event.sender.address == "noreply@klm.com"
    (booking,) = event.bookings
    assert (booking.kind, booking.reference, booking.number) == ("flight", "K2X9QZ", "KL1275")
    assert booking.origin and booking.origin.code == "AMS"
    assert booking.destination and booking.destination.code == "VIE"
    assert booking.end and booking.end.isoformat() == "2026-06-19T09:05:00+02:00"


def test_an_all_day_hotel_stay_keeps_its_dates_and_confirmation_number() -> None:
    (event,) = events("hotel-all-day.ics", ImportOptions(timezone=ZoneInfo("Europe/Vienna")))
    assert event.channel == "booking" and not event.tz_known
    assert event.occurred_at.isoformat() == "2026-06-19T00:00:00+02:00"
    (booking,) = event.bookings
    assert (booking.kind, booking.reference) == ("lodging", "4471-2290")
    assert booking.destination and booking.destination.name == "Philharmoniker Str. 4, 1010 Wien"
    assert (booking.start, booking.end) == (date(2026, 6, 19), date(2026, 6, 21))


def test_a_weekly_class_is_a_note_at_its_floating_local_time() -> None:
    first, moved = events("floating-weekly.ics", ImportOptions(timezone=ZoneInfo("Europe/Berlin")))
    assert first.channel == "note" and first.direction == "system"
    assert first.occurred_at.isoformat() == "2026-01-05T19:00:00+01:00"
    assert not first.tz_known
    assert first.extras["rrule"] == "FREQ=WEEKLY;COUNT=10"
    assert moved.title == "Yoga (moved)" and moved.extras["recurrence_id"].startswith("2026-01-12")
    assert first.dedup_key != moved.dedup_key  # same UID, but a RECURRENCE-ID of its own


def test_a_broken_event_is_quarantined_and_the_rest_of_the_file_imported() -> None:
    items = read("ferry-with-broken-parts.ics")
    (ferry,) = [i for i in items if isinstance(i, Interaction)]
    (broken,) = [i for i in items if isinstance(i, Quarantined)]
    assert ferry.title == "Ferry Hoek van Holland - Harwich"
    assert ferry.occurred_at.isoformat() == "2026-07-04T14:30:00+02:00"
    (booking,) = ferry.bookings
    assert (booking.kind, booking.reference) == ("boat", "FX88120")
    assert booking.end and booking.end.isoformat() == "2026-07-04T20:00:00+01:00"
    assert ferry.hints.organisation == "Example Ferries"  # from PRODID: no ORGANIZER
    assert b"not-a-date" in broken.raw and broken.reason


def test_a_file_that_is_not_a_calendar_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.ics"
    path.write_text("just some notes\n")
    with pytest.raises(MalformedInput, match="not an iCalendar file"):
        list(ics.read(path, options()))


@pytest.mark.parametrize(
    ("text", "reference"),
    [
        ("Booking reference: 546323", "546323"),
        ("Confirmation: 4471-2290", "4471-2290"),
        ("Reservation #FX88120", "FX88120"),
        ("Your PNR is RXJTQP", "RXJTQP"),
        ("Buchungsnummer: ZB7Q21", "ZB7Q21"),
        ("numéro de réservation 9879691160", "9879691160"),
        ("numéro de réservation xxxxxxxxxxx", None),  # a scrubbed placeholder is no code
        ("Reservation confirmed for two", None),
    ],
)
def test_booking_references_are_found_after_their_labels(text: str, reference: str | None) -> None:
    assert ics_trips.find_reference(text) == reference


def test_reimporting_a_calendar_adds_nothing(store: Store) -> None:
    path = FIXTURES / "outlook-flight.ics"
    first = Ingestor(store, options(), "ics", str(path)).run(ics.read(path, options()))
    again = Ingestor(store, options(), "ics", str(path)).run(ics.read(path, options()))
    assert (first.new, again.new, again.duplicate) == (1, 0, 1)


def test_a_cancellation_invite_cancels_the_table_it_confirmed(store: Store) -> None:
    for name in ("restaurant-confirmed.ics", "restaurant-cancelled.ics"):
        path = FIXTURES / name
        Ingestor(store, options(), "ics", str(path)).run(ics.read(path, options()))
    with store.read() as conn:
        (row,) = queries.list_bookings(conn)
    assert (row["kind"], row["reference"], row["status"]) == ("restaurant", "RSV5521", "cancelled")


def test_a_calendar_attached_to_a_mail_gives_its_bookings() -> None:
    attachments = [
        Attachment("invite.ics", "text/calendar", (FIXTURES / "outlook-flight.ics").read_bytes()),
        Attachment("logo.png", "image/png", b"\x89PNG"),
        Attachment("broken.ics", "text/calendar; method=REQUEST", b"BEGIN:VCALENDAR\r\nnonsense"),
    ]
    (booking,) = ics.bookings_in_attachments(attachments, UTC)
    assert booking.reference == "K2X9QZ"


def test_kde_itinerary_events_carry_their_full_reservation() -> None:
    path = SHARED_CORPUS / "bookings" / "ics" / "kitinerary-rentalcar.ics"
    if not path.exists():
        pytest.skip("the shared corpus is not here")
    (event,) = [i for i in ics.read(path, options()) if isinstance(i, Interaction)]
    (booking,) = event.bookings
    assert (booking.kind, booking.reference, booking.provider) == ("rental_car", "546323", "Hertz")
    assert booking.start and booking.start.isoformat() == "2027-08-05T16:00:00-07:00"
    assert booking.travellers == ["John Smith"]


def test_corpus_calendars_import_without_quarantine() -> None:
    folder = SHARED_CORPUS / "calendars"
    if not folder.exists():
        pytest.skip("the shared corpus is not here")
    titles: set[str] = set()
    for path in sorted(folder.glob("*.ics")):
        items = list(ics.read(path, options()))
        assert not [i for i in items if isinstance(i, Quarantined)], path.name
        titles.update(i.title for i in items if isinstance(i, Interaction))
    assert {"Sprint 25 Daily Standup", "Boxing Day", "Christmas again!"} <= titles
    assert "Alarm notification" not in titles
