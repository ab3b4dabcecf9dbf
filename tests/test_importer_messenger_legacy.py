"""Dates of Facebook's 2016–2017 message pages, in the languages and zones people had."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from importers.chat.messenger_legacy import legacy_time


@pytest.mark.parametrize(
    ("written", "instant"),
    [
        ("Tuesday, 3 January 2017 at 14:05 UTC+01", "2017-01-03T13:05:00+00:00"),
        ("Tuesday, January 3, 2017 at 2:05pm PST", "2017-01-03T22:05:00+00:00"),
        ("Tuesday, January 3, 2017 at 12:30am EST", "2017-01-03T05:30:00+00:00"),
        ("dinsdag 3 januari 2017 om 14:05 UTC+01", "2017-01-03T13:05:00+00:00"),
        ("Dienstag, 3. Januar 2017 um 14:05 UTC+01", "2017-01-03T13:05:00+00:00"),
        ("mardi 3 janvier 2017, 14:05 UTC+01", "2017-01-03T13:05:00+00:00"),
        ("martes, 3 de enero de 2017 a las 14:05 UTC+01", "2017-01-03T13:05:00+00:00"),
        ("martedì 3 gennaio 2017 alle ore 14:05 UTC+01", "2017-01-03T13:05:00+00:00"),
        ("terça-feira, 3 de janeiro de 2017 às 14:05 UTC-02", "2017-01-03T16:05:00+00:00"),
        ("Monday, 12 December 2016 at 16:31 UTC", "2016-12-12T16:31:00+00:00"),
        ("Saturday, 1 July 2017 at 09:00 UTC+05:30", "2017-07-01T03:30:00+00:00"),
    ],
)
def test_a_2016_date_is_read_in_its_language_and_zone(written: str, instant: str) -> None:
    assert legacy_time(written).astimezone(UTC).isoformat() == instant


def test_a_date_without_a_zone_is_a_wall_clock_time() -> None:
    assert legacy_time("Tuesday, 3 January 2017 at 14:05") == datetime(2017, 1, 3, 14, 5)


@pytest.mark.parametrize(
    "written",
    [
        "",
        "Sometime last year",
        "3 January 2017",
        "Tuesday at 14:05 UTC+01",
        "31 February 2017 at 10:00",
    ],
)
def test_what_is_not_a_date_says_so(written: str) -> None:
    with pytest.raises(ValueError, match="is not a date kluis can read"):
        legacy_time(written)
