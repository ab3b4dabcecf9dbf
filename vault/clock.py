"""One clock for every face: times are shown in the user's zone.

The user's zone is, in this order: the one a command is given (``--timezone``), the one kept
in the vault (``kluis config timezone``), this machine's. The app and the command line both
show every time in it, so a flight is at the same hour on both; the original offset of a
time (the sender's, or the place's for a booking) stays available beside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from vault.errors import UsageError
from vault.store import execute

if TYPE_CHECKING:
    from vault.store import Conn, Store

SETTING = "display_timezone"
"""The ``meta`` key holding the zone the user chose (an IANA name)."""

_EPOCH = datetime(1970, 1, 1)
_DAY = 86400  # zones change offset at most once a day: a day either side brackets a change


def _offset(stamp: float) -> int:
    """This machine's UTC offset in seconds at the instant ``stamp``."""
    return time.localtime(stamp).tm_gmtoff


class LocalZone(tzinfo):
    """This machine's zone, as its C library keeps it (``TZ``, /etc/localtime): the offset of
    every instant comes from ``time.localtime``, as in dateutil's ``tzlocal``, whose imports
    cost 8 ms of every command that shows a time. Wall times follow PEP 495: of a time that
    occurs twice, ``fold=0`` is the first; in a gap, ``fold=0`` takes the offset before it.
    """

    def _offsets(self, dt: datetime) -> tuple[int, int, int]:
        """(the offset of ``dt``'s wall time, the offset before and after any change near it)."""
        wall = (dt.replace(tzinfo=None) - _EPOCH) // timedelta(seconds=1)
        before, after = _offset(wall - _DAY), _offset(wall + _DAY)
        valid = [o for o in dict.fromkeys((before, after)) if _offset(wall - o) == o]
        if len(valid) == 1:
            return valid[0], before, after
        if valid:  # twice: the first (larger offset) unless fold=1
            return (min(valid) if dt.fold else max(valid)), before, after
        return (after if dt.fold else before), before, after  # a gap

    def utcoffset(self, dt: datetime | None) -> timedelta:
        """The offset of wall time ``dt`` here (now, for None)."""
        seconds = _offset(time.time()) if dt is None else self._offsets(dt)[0]
        return timedelta(seconds=seconds)

    def dst(self, dt: datetime | None) -> timedelta:
        """How far ``dt``'s offset is ahead of this zone's standard time."""
        standard = -time.timezone
        return self.utcoffset(dt) - timedelta(seconds=standard)

    def tzname(self, dt: datetime | None) -> str:
        """The zone's abbreviation at ``dt`` (``CET``, ``CEST``)."""
        stamp = time.time() if dt is None else (dt.replace(tzinfo=None) - _EPOCH).total_seconds()
        if dt is not None:
            stamp -= self._offsets(dt)[0]
        return time.localtime(stamp).tm_zone

    def fromutc(self, dt: datetime) -> datetime:
        """``dt`` (UTC, with this zone as tzinfo) as wall time here, ``fold=1`` on the second
        pass through a repeated hour."""
        stamp = (dt.replace(tzinfo=None) - _EPOCH) // timedelta(seconds=1)
        offset = _offset(stamp)
        local = dt + timedelta(seconds=offset)
        first, _, _ = self._offsets(local)
        return local.replace(fold=int(first != offset))

    def __repr__(self) -> str:
        return "LocalZone()"


def zone_named(name: str | None) -> tzinfo:
    """The time zone called ``name`` (``Europe/Amsterdam``, ``UTC``), or this machine's when
    None or empty.

    Raises:
        UsageError: no zone has that name.
    """
    if not name:
        return LocalZone()
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown time zone {name!r} (use a name like Europe/Amsterdam)") from None


def chosen_zone_name(conn: Conn) -> str | None:
    """The zone kept in the vault by ``kluis config timezone``, or None."""
    value = execute(conn, "SELECT value FROM meta WHERE key=:k", {"k": SETTING}).scalar()
    return str(value) if value else None


def choose_zone(store: Store, name: str | None) -> None:
    """Keep ``name`` as the user's zone (None: follow this machine's again).

    Raises:
        UsageError: no zone has that name.
    """
    if name:
        zone_named(name)
    with store.begin() as conn:
        if name:
            execute(
                conn,
                "INSERT OR REPLACE INTO meta(key, value) VALUES (:k, :v)",
                {"k": SETTING, "v": name},
            )
        else:
            execute(conn, "DELETE FROM meta WHERE key=:k", {"k": SETTING})


def user_zone(conn: Conn, override: str | None = None) -> tzinfo:
    """The zone to show times in: ``override``, else the vault's choice, else this machine's.

    Raises:
        UsageError: ``override`` (or the kept choice) names no zone.
    """
    return zone_named(override or chosen_zone_name(conn))


def moment(value: str | datetime | None, zone: tzinfo | None) -> datetime | None:
    """A time from the vault (a datetime, or ISO 8601 text) in ``zone`` (None: this
    machine's); None when there is none or it cannot be read. A time without an offset
    is taken as it stands (a wall-clock time the source gave without a zone)."""
    if isinstance(value, datetime):
        return value.astimezone(zone) if value.tzinfo is not None else value
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(zone) if parsed.tzinfo is not None else parsed


@dataclass(frozen=True)
class PlaceTime:
    """A booking's time seen from the user's zone.

    ``at`` is in the user's zone (or, with ``floating``, the wall-clock time the booking gave
    without any zone); ``local`` is the same instant at the place when the place's offset
    differs from the user's, else None; ``day_only`` for a booking known by its day.
    """

    at: datetime
    local: datetime | None = None
    floating: bool = False
    day_only: bool = False


def place_time(value: str | None, zone: tzinfo | None) -> PlaceTime | None:
    """``value`` (a booking's ISO time: with offset, without, or a bare day) for the user."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if len(value) <= 10:
        return PlaceTime(parsed, day_only=True)
    if parsed.tzinfo is None:
        return PlaceTime(parsed, floating=True)
    shown = parsed.astimezone(zone)
    differs = shown.utcoffset() != parsed.utcoffset()
    return PlaceTime(shown, local=parsed if differs else None)


def offset_text(value: datetime) -> str:
    """``+01:00`` for an aware time, ``""`` for a floating one."""
    raw = value.strftime("%z")
    return f"{raw[:3]}:{raw[3:]}" if raw else ""
