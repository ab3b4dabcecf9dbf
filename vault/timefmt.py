"""Times as the vault stores them (UTC epoch seconds + offset minutes) and as users write them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from vault.errors import UsageError


def now_utc() -> datetime:
    """The current time in UTC, to the second: when the vault records that something happened."""
    return datetime.now(UTC).replace(microsecond=0)


def now_iso() -> str:
    """``now_utc()`` as the vault's ``*_at`` text columns hold it: ``2024-03-01T10:15:00+00:00``."""
    return now_utc().isoformat()


def from_stored(epoch: int, offset_minutes: int | None) -> datetime:
    """An aware datetime in the source's own offset (UTC when it had none)."""
    zone = timezone(timedelta(minutes=offset_minutes)) if offset_minutes else UTC
    return datetime.fromtimestamp(epoch, zone)


def iso(epoch: int | None, offset_minutes: int | None) -> str | None:
    """ISO 8601 with offset, e.g. ``2024-03-01T10:15:00+01:00``."""
    if epoch is None:
        return None
    return from_stored(epoch, offset_minutes).isoformat()


_ISO_DAY = re.compile(r"\s*(\d{4})-(\d{1,2})(?:-(\d{1,2}))?(?:[T ].*)?\s*")
_EUROPEAN_DAY = re.compile(r"\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})\s*")


def not_a_date(value: str) -> str:
    """Why ``value`` is no date, in words: a day or month that does not exist is named as such
    (``1990-02-30`` is in the right format, so "use YYYY-MM-DD" would only puzzle)."""
    iso_match = _ISO_DAY.fullmatch(value)
    european = _EUROPEAN_DAY.fullmatch(value)
    if iso_match:
        year, month, day = iso_match.group(1), iso_match.group(2), iso_match.group(3)
    elif european:
        day, month, year = european.groups()
    else:
        return f"not a date: {value!r} (use YYYY-MM-DD)"
    if not 1 <= int(month) <= 12:
        return f"there is no month {int(month)}: {value!r} (use YYYY-MM-DD)"
    if day is not None:
        import calendar  # only this message needs it, not every command that reads a date

        last = calendar.monthrange(int(year), int(month))[1]
        if not 1 <= int(day) <= last:
            named = f"{calendar.month_name[int(month)]} {int(year)}"
            return f"{value.strip()!r} does not exist: {named} has {last} days"
    return f"not a date: {value!r} (use YYYY-MM-DD)"


def parse_user_date(value: str, *, end_of_day: bool = False, zone: tzinfo = UTC) -> int:
    """Epoch seconds for a date the user typed (``2024-03-01``, ``2024-03``, ``2024``, or ISO).

    A date without a zone is read in ``zone`` (the user's: ``vault.clock``), so "since
    1 March" starts at midnight where the user is. ``end_of_day`` makes a bare date
    inclusive as an upper bound (the first second after it).

    Raises:
        UsageError: the value is not a date.
    """
    from dateutil import parser

    text = value.strip()
    try:
        if len(text) == 4 and text.isdigit():
            start = datetime(int(text), 1, 1, tzinfo=zone)
            return int((start.replace(year=start.year + 1) if end_of_day else start).timestamp())
        if len(text) == 7 and text[4] == "-":
            year, month = int(text[:4]), int(text[5:])
            start = datetime(year, month, 1, tzinfo=zone)
            if end_of_day:
                start = start.replace(year=year + month // 12, month=month % 12 + 1)
            return int(start.timestamp())
        parsed = parser.isoparse(text)
    except (ValueError, OverflowError):
        raise UsageError(not_a_date(value)) from None
    if end_of_day and len(text) == 10:
        parsed += timedelta(days=1)  # on the wall clock: a day of 23 or 25 hours stays one day
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return int(parsed.timestamp())
