"""This machine's zone (``vault.clock.LocalZone``) tells every time as the IANA zone ``TZ`` names
does: through a year, at both edges of summer time, in the repeated hour and in the gap."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from vault.clock import LocalZone, zone_named

ZONES = ("Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")
STEP = timedelta(minutes=30)


@pytest.fixture(params=ZONES)
def machine_zone(request: pytest.FixtureRequest) -> Iterator[ZoneInfo]:
    """The machine's zone set to one IANA zone (as ``TZ`` does), put back afterwards."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield ZoneInfo(request.param)
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def _year() -> Iterator[datetime]:
    moment = datetime(2024, 1, 1)
    while moment < datetime(2025, 1, 1):
        yield moment
        moment += STEP


def test_every_instant_of_a_year_shows_as_the_zone_shows_it(machine_zone: ZoneInfo) -> None:
    local = LocalZone()
    for naive in _year():
        instant = naive.replace(tzinfo=UTC)
        mine, theirs = instant.astimezone(local), instant.astimezone(machine_zone)
        assert mine.replace(tzinfo=None) == theirs.replace(tzinfo=None), instant
        assert (mine.fold, mine.utcoffset(), mine.tzname()) == (
            theirs.fold,
            theirs.utcoffset(),
            theirs.tzname(),
        ), instant


def test_every_wall_time_of_a_year_means_the_zones_instant(machine_zone: ZoneInfo) -> None:
    local = LocalZone()
    for naive in _year():
        for fold in (0, 1):  # the repeated hour and the gap read both ways
            wall = naive.replace(fold=fold)
            mine, theirs = wall.replace(tzinfo=local), wall.replace(tzinfo=machine_zone)
            assert mine.utcoffset() == theirs.utcoffset(), wall
            assert mine.dst() == theirs.dst(), wall
            assert mine.timestamp() == theirs.timestamp(), wall


def test_without_a_chosen_zone_times_are_the_machines(machine_zone: ZoneInfo) -> None:
    assert isinstance(zone_named(None), LocalZone)
    assert isinstance(zone_named(""), LocalZone)
    summer = datetime(2024, 7, 1, 12, tzinfo=UTC)
    assert (
        summer.astimezone(zone_named(None)).utcoffset()
        == summer.astimezone(machine_zone).utcoffset()
    )
