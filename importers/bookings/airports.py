"""Airports by IATA code (from ``airportsdata``): the local time zone of a flight's times.

Boarding passes, wallet passes and much markup give local times only; the airport says which
zone they are in. The table (~8,000 airports) is loaded once, on first use.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib.resources import files
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from importers.bookings.times import When, at_place


@cache
def _airports() -> dict[str, str]:
    """IATA code → zone name ("" where there is none), from ``airportsdata``'s table.

    Only these two columns are kept, read row by row: ``airportsdata.load`` builds a dict
    for each of its ~28,000 airports, 7 MB in every process that meets a flight."""
    zones: dict[str, str] = {}
    names: dict[str, str] = {}  # one string per zone name
    with files("airportsdata").joinpath("airports.csv").open(encoding="utf8") as table:
        rows = csv.reader(table)
        header = next(rows)
        iata, tz = header.index("iata"), header.index("tz")
        for row in rows:
            if row[iata]:
                zones[row[iata]] = names.setdefault(row[tz], row[tz])
    return zones


def airport_zone(code: str | None) -> ZoneInfo | None:
    """The IANA time zone of the airport with IATA ``code``, or None if it is not known."""
    if not code:
        return None
    zone_name = _airports().get(code.strip().upper())
    if not zone_name:
        return None
    try:
        return ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def is_airport(code: str | None) -> bool:
    """True if ``code`` is a known IATA airport code."""
    return code is not None and code.strip().upper() in _airports()


def at_airport(when: When | None, code: str | None) -> When | None:
    """A flight time read at airport ``code``: a local time becomes the instant it is there,
    an instant is shown in the airport's offset; unchanged where the airport is unknown."""
    return at_place(when, airport_zone(code))
