"""IATA boarding-pass barcodes (Resolution 792): legs, conditional sections, strict validation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import importers
from importers.bookings import bcbp
from tests.support import SHARED_CORPUS, options
from vault.errors import MalformedInput
from vault.records import Interaction

FIXTURES = Path(__file__).parent / "fixtures" / "bcbp"
KLM = (FIXTURES / "klm-ams-vie.txt").read_text()
# IATA Resolution 792, example 4 (as in KItinerary's CC0 test data): two legs, two PNRs.
TWO_LEGS = (
    "M2DESMARAIS/LUC       EAB12C3 YULFRAAC 0834 326J003A0027 167>5321WW1325BAC 0014123456002"
    "001412346700100141234789012A0141234567890 1AC AC 1234567890123    4PCYLX58ZDEF456 FRAGVALH"
    " 3664 327C012C0002 12E2A0140987654321 1AC AC 1234567890123    3PCNWQ^108ABCDEFGH"
)


def test_a_klm_boarding_pass_gives_its_flight_seat_and_passenger() -> None:
    boarding_pass = bcbp.parse(KLM)
    (booking,) = bcbp.leg_bookings(boarding_pass, date(2026, 6, 1))
    assert (booking.kind, booking.reference, booking.number) == ("flight", "K2X9QZ", "KL1275")
    assert booking.origin and booking.origin.code == "AMS"
    assert booking.destination and booking.destination.code == "VIE"
    assert booking.seat == "12A"
    assert booking.travellers == ["Sanne Devries"]


def test_a_barcode_flight_is_a_day_with_no_time_made_up() -> None:
    (booking,) = bcbp.leg_bookings(bcbp.parse(KLM), date(2026, 6, 1))
    assert booking.start == date(2026, 6, 19)  # day 170: a date, not a midnight in some zone
    assert booking.details["year_assumed"] is True


def test_a_two_leg_pass_gives_one_booking_per_leg_with_its_own_reference() -> None:
    boarding_pass = bcbp.parse(TWO_LEGS)
    first, second = bcbp.leg_bookings(boarding_pass, date(2026, 11, 23))
    assert (first.reference, first.number, first.seat) == ("AB12C3", "AC834", "3A")
    assert (second.reference, second.number, second.seat) == ("DEF456", "LH3664", "12C")
    assert (first.start, second.start) == (date(2021, 11, 22), date(2021, 11, 23))
    assert first.details["ticket_number"] == "0141234567890"
    assert boarding_pass.has_security_data


def test_the_year_comes_from_the_issue_date_digit_when_the_barcode_has_one() -> None:
    boarding_pass = bcbp.parse(TWO_LEGS)
    assert boarding_pass.issue_date() == (1, 325)
    first = bcbp.leg_bookings(boarding_pass, date(2026, 11, 23))[0]
    assert first.start and first.start.year == 2021


@pytest.mark.parametrize(
    ("day", "context", "issued", "expected"),
    [
        (99, date(2026, 4, 1), None, date(2026, 4, 9)),
        (5, date(2026, 12, 30), None, date(2027, 1, 5)),  # a January flight seen in December
        (360, date(2027, 1, 3), None, date(2026, 12, 26)),
        (10, date(2027, 3, 1), (6, 350), date(2027, 1, 10)),  # issued Dec 2026, flying Jan 2027
        (366, date(2027, 6, 1), None, date(2028, 12, 31)),  # only a leap year has day 366
    ],
)
def test_a_day_of_the_year_is_placed_near_its_context(
    day: int, context: date, issued: tuple[int, int] | None, expected: date
) -> None:
    assert bcbp.flight_day(day, context, issued) == expected


@pytest.mark.parametrize(
    ("day", "arrived", "expected"),
    [
        (326, date(2018, 4, 2), date(2018, 11, 22)),  # KItinerary's example 1: months ahead
        (92, date(2018, 4, 2), date(2018, 4, 2)),  # the same day
        (91, date(2018, 4, 2), date(2018, 4, 1)),  # a day of slack for zones
        (90, date(2018, 4, 2), date(2019, 3, 31)),
    ],
)
def test_a_barcode_that_arrived_on_a_day_is_for_a_flight_from_that_day_on(
    day: int, arrived: date, expected: date
) -> None:
    assert bcbp.flight_day(day, arrived, arrived=True) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("S1DEVRIES/SANNE       EK2X9QZ AMSVIEKL 1275 170Y012A0042 100", "M1 to M4"),
        ("M1DEVRIES/SANNE       EK2X9QZ AMSVIEKL 1275 170Y012A0042 1", "cut short"),
        ("M1DEVRIES/SANNE       EK2X9QZ AM5VIEKL 1275 170Y012A0042 100", "airports"),
        ("M1DEVRIES/SANNE       EK2X9QZ AMSVIEKL 1275 400Y012A0042 100", "day of the year"),
        ("M1DEVRIES/SANNE       EK2X9QZ AMSVIEKL 1275 170Y012A0042 1ZZ", "field size"),
        ("M1DEVRIES/SANNE       EK2X9QZ AMSVIEKL 1275 170Y012A0042 105abc", "declares"),
        ("M2DEVRIES/SANNE       EK2X9QZ AMSVIEKL 1275 170Y012A0042 100", "leg 2"),
    ],
)
def test_an_invalid_barcode_is_a_clear_error_never_a_booking(text: str, problem: str) -> None:
    with pytest.raises(MalformedInput, match=problem) as caught:
        bcbp.parse(text)
    assert "\n" not in str(caught.value)


def test_unknown_conditional_versions_and_airline_data_are_skipped_by_their_sizes() -> None:
    # A version kluis does not know yet: unique section, empty repeated section, airline data.
    variable = ">9" + "0B" + "1WW6168BKL " + "00" + "AIRLINE"
    text = KLM[:-2] + f"{len(variable):02X}" + variable
    boarding_pass = bcbp.parse(text)
    assert boarding_pass.version == "9"
    assert boarding_pass.issue_date() == (6, 168)
    assert boarding_pass.legs[0].number == "KL1275"


def test_a_barcode_file_is_detected_as_bcbp_and_not_as_a_chat_export() -> None:
    assert importers.detect(FIXTURES / "klm-ams-vie.txt") == "bcbp"
    assert not bcbp.sniff(FIXTURES / "truncated.txt")


def test_importing_a_barcode_file_gives_one_booking_interaction() -> None:
    items = list(bcbp.read(FIXTURES / "klm-ams-vie.txt", options()))
    interaction = items[0]
    assert isinstance(interaction, Interaction)
    assert interaction.channel == "booking"
    assert interaction.title.startswith("Flight KL1275 AMS → VIE")
    assert [b.reference for b in interaction.bookings] == ["K2X9QZ"]


def test_an_invalid_barcode_file_is_rejected_with_one_line() -> None:
    with pytest.raises(MalformedInput, match=r"truncated\.txt: invalid boarding-pass barcode"):
        list(bcbp.read(FIXTURES / "truncated.txt", options()))


def test_corpus_barcodes_decode_as_expected() -> None:
    folder = SHARED_CORPUS / "bookings" / "bcbp"
    if not folder.exists():
        pytest.skip("the shared corpus is not here")
    easyjet = bcbp.parse((folder / "easyjet.txt").read_text())
    leg = easyjet.legs[0]
    assert (leg.pnr, leg.number, leg.origin, leg.destination, leg.seat) == (
        "ABCDEFG",
        "EZY8724",
        "MRS",
        "LGW",
        "3C",
    )
    assert bcbp.parse((folder / "iata-resolution792-example4.txt").read_text()) == bcbp.parse(
        TWO_LEGS
    )
