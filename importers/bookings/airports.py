"""Airports by IATA code (from ``airportsdata``): the local time zone of a flight's times.

Boarding passes, wallet passes and much markup give local times only; the airport says which
zone they are in. The table (~8,000 airports, ``importers.bookings.airport_zones``) is loaded
once, at the first use.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from importers.bookings.times import When, at_place


def _airports() -> dict[str, str]:
    """IATA code → zone name ("" where there is none), loaded at the first use."""
    from importers.bookings.airport_zones import ZONES

    return ZONES


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
