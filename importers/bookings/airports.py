"""Airports by IATA code (from ``airportsdata``): the local time zone of a flight's times.

Boarding passes and wallet passes give local times or days only; the airport says which
zone they are in. The table (~8,000 airports) is loaded once, on first use.
"""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import airportsdata


@cache
def _airports() -> dict[str, Any]:
    return dict(airportsdata.load("IATA"))


def airport_zone(code: str | None) -> ZoneInfo | None:
    """The IANA time zone of the airport with IATA ``code``, or None if it is not known."""
    if not code:
        return None
    airport = _airports().get(code.strip().upper())
    zone_name = airport.get("tz") if airport else None
    if not zone_name:
        return None
    try:
        return ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def is_airport(code: str | None) -> bool:
    """True if ``code`` is a known IATA airport code."""
    return code is not None and code.strip().upper() in _airports()


def local_midnight(day: date, code: str | None, fallback: tzinfo) -> tuple[datetime, bool]:
    """The start of ``day`` at airport ``code``; (datetime, True if the airport's zone is known).

    A flight known only by its day (an IATA barcode) starts, for sorting and display, at the
    departure airport's local midnight, so its date reads right in the airport's own offset.
    """
    zone = airport_zone(code)
    return datetime.combine(day, time(0), zone or fallback), zone is not None
