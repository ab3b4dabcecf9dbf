"""Journeys written by HAFAS timetable software (Deutsche Bahn, ÖBB, SBB …) into calendar events.

A rail operator's "add to calendar" gives one event for the whole journey, its legs only in
the description, in the traveller's language::

    ab 10:26 Frankfurt(Main)Hbf - Gleis 19 (ICE   16)     fra 13:17 Koebenhavn H - Spor 5 (IC 1197)
    an 11:33 Köln Hbf - Gleis 6                           til 18:02 Hamburg Hbf - Spor 6D-E

or, since 2024, a line naming the train above a ``●`` departure and a ``○`` arrival. The words
differ per language ("ab/an", "fra/til", "dép./arr.", "odj./příj."); the shape does not: a
word, a time, a station, then a platform and the train. A leg is a departure line followed by
an arrival line; a walk between stations has no times and is no leg.

The event's own DTSTART and DTEND are the first departure and the last arrival, with their
zone; the legs between are local times at stations whose zone the event does not state, so
they stay local. Legs after midnight move to the next day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from importers.bookings.schemaorg import segment_key
from importers.bookings.times import When, day_of
from vault.records import Booking, BookingKind, Place

_ROUTE = re.compile(r"\S.*\s(?:->|➞|→|=>)\s.*\S")
_TIMED = re.compile(
    r"^\s*(?:[●○•◦]\s*)?[^\W\d][\w.]*\s+(?P<clock>\d{1,2}:\d\d)\s+(?P<rest>\S.*?)\s*$"
)
_SERVICE = re.compile(r"^\s*(?P<line>[A-Za-zÄÖÜäöü]{1,6}\s*\d{1,6})(?:\s*\(\d+\))?\s*$")
_TRAILING_SERVICE = re.compile(r"\s*\((?P<line>[^()]*)\)\s*$")
_PLATFORM = re.compile(r"\s+(?:-|▷)\s+.*$|\s+▷.*$")
_BUS = re.compile(r"^bus", re.I)
_BOAT = re.compile(r"^(?:fähre|faehre|schiff|ship|ferry|boot|bateau)", re.I)
MAX_LEGS = 30


@dataclass(frozen=True, slots=True)
class _Stop:
    clock: time
    station: str
    service: str | None


def looks_like_journey(summary: str, description: str) -> bool:
    """A cheap test: the summary names a route (``A -> B``) and the description has times."""
    return bool(_ROUTE.fullmatch(summary.strip())) and ":" in description


def _stop(line: str) -> _Stop | None:
    timed = _TIMED.match(line)
    if timed is None:
        return None
    hour, minute = (int(p) for p in timed["clock"].split(":"))
    if hour > 23 or minute > 59:
        return None
    rest = timed["rest"]
    service = _TRAILING_SERVICE.search(rest)
    if service:
        rest = rest[: service.start()]
    station = _PLATFORM.sub("", rest).strip()
    line_name = " ".join(service["line"].split()) if service else None
    return _Stop(time(hour, minute), station, line_name) if station else None


def _legs(description: str) -> list[tuple[_Stop, _Stop, str | None]]:
    """(departure, arrival, service) of each timed leg, in order."""
    legs: list[tuple[_Stop, _Stop, str | None]] = []
    departure: _Stop | None = None
    service: str | None = None
    for line in description.splitlines():
        if not line.strip():
            departure, service = None, None
            continue
        named = _SERVICE.match(line)
        if named and departure is None:
            service = " ".join(named["line"].split())
            continue
        stop = _stop(line)
        if stop is None:
            departure = None
        elif departure is None:
            departure = stop
        else:
            legs.append((departure, stop, departure.service or service))
            departure, service = None, None
    return legs[:MAX_LEGS]


def _kind(service: str | None) -> BookingKind:
    if service and _BUS.match(service):
        return "bus"
    if service and _BOAT.match(service):
        return "boat"
    return "train"


def _number(service: str | None) -> str | None:
    """``ICE 16``, ``Bus 51016``: the line name and number, spaced once."""
    if not service:
        return None
    found = re.fullmatch(r"([^\W\d]+)\s*(\d+)", service)
    return f"{found.group(1)} {found.group(2)}" if found else service


def journey_bookings(
    summary: str, description: str, start: When, end: When | None
) -> list[Booking]:
    """One booking per leg of a HAFAS journey event; none if the description has no legs
    or its first departure is not the event's own start (then it is not such an event)."""
    if not looks_like_journey(summary, description):
        return []
    legs = _legs(description)
    if (
        not legs
        or not isinstance(start, datetime)
        or legs[0][0].clock != start.time().replace(second=0, microsecond=0)
    ):
        return []
    bookings = []
    day = day_of(start)
    previous = legs[0][0].clock
    for index, (departure, arrival, service) in enumerate(legs):
        day, leave = _next(day, previous, departure.clock)
        day, reach = _next(day, departure.clock, arrival.clock)
        previous = arrival.clock
        leave_at: When = start if index == 0 else leave
        reach_at: When = reach
        if index == len(legs) - 1 and isinstance(end, datetime) and end.time() == arrival.clock:
            reach_at = end
        origin, destination = Place(name=departure.station), Place(name=arrival.station)
        number = _number(service)
        bookings.append(
            Booking(
                kind=_kind(service),
                reference=None,
                number=number,
                segment=segment_key(number, leave_at, origin),
                start=leave_at,
                end=reach_at,
                origin=origin,
                destination=destination,
            )
        )
    return bookings


def _next(day: date, before: time, clock: time) -> tuple[date, datetime]:
    """``clock`` on ``day``, or on the day after when it is earlier than ``before``."""
    if clock < before:
        day += timedelta(days=1)
    return day, datetime.combine(day, clock)
