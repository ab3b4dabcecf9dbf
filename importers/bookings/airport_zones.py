"""The time zone of every airport with an IATA code, read from ``airportsdata`` as this module
is imported: a parse pool's fork server imports it once for all its workers (it is in
``importers.email.message.FULL_RECORD_MODULES``), elsewhere ``importers.bookings.airports``
imports it at the first flight."""

from __future__ import annotations

import csv
from importlib.resources import files


def read_zones() -> dict[str, str]:
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


ZONES = read_zones()
