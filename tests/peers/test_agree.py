"""The peer suite's comparison rules, as ``agree.py`` implements them."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.peers.agree import disagreements, expected_trips, read_time, seats, times_agree
from tests.peers.run import load_differences

BERLIN = ZoneInfo("Europe/Berlin")
FLIGHT = {
    "@type": "FlightReservation",
    "reservationNumber": "XXX007",
    "underName": {"@type": "Person", "name": "Dr Konqui"},
    "airplaneSeat": "017C",
    "reservationFor": {
        "@type": "Flight",
        "flightNumber": "8465",
        "airline": {"@type": "Airline", "iataCode": "4U", "name": "Germanwings"},
        "departureAirport": {"@type": "Airport", "iataCode": "TXL"},
        "arrivalAirport": {"@type": "Airport", "iataCode": "LHR"},
        "departureTime": "2017-06-18T18:40:00",
        "departureDay": "2017-06-18",
    },
}
ROW = {
    "kind": "flight",
    "reference": "XXX007",
    "status": "confirmed",
    "number": "4U8465",
    "start": "2017-06-18T18:40:00+02:00",
    "origin": "TXL",
    "destination": "LHR",
    "seat": "17C",
    "travellers": ["KONQUI"],
    "company": "Eurowings",
    "provider": "Germanwings",
}


@pytest.mark.parametrize(
    ("expected", "actual", "zone", "agree"),
    [
        ("2027-03-04T20:15:00-08:00", "2027-03-05T04:15:00+00:00", None, True),
        ("2027-03-04T20:15:00-08:00", "2027-03-04T20:15:00", None, False),  # an instant lost
        ("2017-06-18T18:40:00", "2017-06-18T18:40:00", None, True),
        ("2017-06-18T18:40:00", "2017-06-18T18:40:00+02:00", BERLIN, True),  # the airport's zone
        ("2017-06-18T18:40:00", "2017-06-18T18:40:00-04:00", BERLIN, False),  # the user's zone
        ("2017-06-18T18:40:00", "2017-06-18T18:40:00+02:00", None, False),  # a zone made up
        ("2017-06-18", "2017-06-18", None, True),
        ("2017-06-18", "2017-06-18T18:40:00+02:00", None, True),  # knowing more is fine
        ("2017-06-18", "2017-06-18T00:00:00+02:00", None, False),  # a day as a midnight
        (
            {"@type": "QDateTime", "@value": "2022-07-26T10:26:00+02:00"},
            "2022-07-26T10:26:00+02:00",
            None,
            True,
        ),
    ],
)
def test_times_agree_by_their_own_precision(
    expected: object, actual: str, zone: ZoneInfo | None, agree: bool
) -> None:
    want = read_time(expected)
    assert want is not None
    assert times_agree(want, read_time(actual), zone) is agree


def test_a_row_that_matches_in_every_visible_field_agrees() -> None:
    assert disagreements(expected_trips([FLIGHT]), [ROW]) == []


def test_each_visible_difference_is_one_line() -> None:
    row = {**ROW, "seat": "row 17, seat C", "start": "2017-06-18T18:40:00"}
    found = disagreements(expected_trips([FLIGHT]), [row])
    assert [line.split(": ")[1] for line in found] == ["seat"]
    extra = disagreements(expected_trips([FLIGHT]), [ROW, {**ROW, "number": "4U8466"}])
    assert extra == [
        "kluis has a booking KItinerary does not: flight XXX007 4U8466 " + ROW["start"]
    ]


def test_reservations_of_one_trip_join_their_travellers_and_seats() -> None:
    other = {
        **FLIGHT,
        "underName": {"@type": "Person", "name": "Katie Dragon"},
        "airplaneSeat": "17D",
    }
    (trip,) = expected_trips([FLIGHT, other])
    assert trip.seats == {"17c", "17d"} and len(trip.travellers) == 2


def test_places_and_organisations_are_not_bookings() -> None:
    assert expected_trips([{"@type": "Hotel", "name": "A place"}, {"@type": "Event"}]) == []
    assert disagreements([], []) == []


def test_seat_numbers_compare_without_zeros_or_labels() -> None:
    assert seats("section 1 · row 2 · seat 3") == {"3"}
    assert seats("16E, 016F") == {"16e", "16f"}


def test_differences_are_read_from_the_table_rows(tmp_path: Path) -> None:
    listed = tmp_path / "DIFFERENCES.md"
    listed.write_text(
        "| case | why |\n|---|---|\n| pkpassdata/x.pkpass | the pass says otherwise |\n"
    )
    assert load_differences(listed) == {"pkpassdata/x.pkpass": "the pass says otherwise"}
    assert load_differences(tmp_path / "absent.md") == {}
