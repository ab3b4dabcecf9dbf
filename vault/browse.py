"""Read queries for browsing: activity per month, random access into long timelines, context.

The terminal app pages through timelines of 100,000 items and more. Keyset paging alone
(``vault.queries.timeline`` with ``after_key``) only walks forward; a scrollbar dragged to the
middle needs random access. ``timeline_index`` fetches the times of a company's items once
(from the covering index, a few ms per 10,000 items) so any position maps to a keyset anchor
plus a few rows to skip, and the month separators are known before any page is loaded.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from vault.queries import TimelineFilter, TimelineRow, timeline
from vault.store import Conn, execute, stream
from vault.text import one_line, strip_controls
from vault.timefmt import from_stored

CONTEXT_BODY_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Activity:
    """Contacts per month for every company, over the same months for all of them.

    ``months`` are (year, month) pairs, oldest first, ending at the newest month in the vault
    (not today: an archive imported years ago still shows its shape).
    """

    months: list[tuple[int, int]]
    counts: dict[int, list[int]]


def _month_back(year: int, month: int, steps: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) - steps
    return index // 12, index % 12 + 1


def monthly_activity(conn: Conn, months: int = 12) -> Activity:
    """Interactions per company per month (UTC) for the last ``months`` months of the vault."""
    newest = execute(conn, "SELECT max(occurred_at) FROM interaction").scalar()
    if newest is None or months < 1:
        return Activity([], {})
    last = datetime.fromtimestamp(int(newest), UTC)
    labels = [_month_back(last.year, last.month, months - 1 - n) for n in range(months)]
    # One count per company and month on ix_interaction_timeline, each a seek and a walk of
    # that month's entries only: at 200,000 items less than half a GROUP BY over the month's
    # rows with strftime (8 ms against 18).
    bounds = [*labels, _month_back(last.year, last.month, -1)]
    starts = [int(datetime(y, m, 1, tzinfo=UTC).timestamp()) for y, m in bounds]
    values = ", ".join(f"({n}, :s{n}, :s{n + 1})" for n in range(months))
    rows = execute(
        conn,
        f"WITH month(slot, lo, hi) AS (VALUES {values}) "
        "SELECT * FROM (SELECT c.id, month.slot, (SELECT count(*) FROM interaction e "
        "WHERE e.company_id = c.id AND e.occurred_at >= month.lo AND e.occurred_at < month.hi) "
        "AS n FROM company c, month) WHERE n > 0",
        {f"s{n}": start for n, start in enumerate(starts)},
    ).all()
    counts: dict[int, list[int]] = {}
    for company_id, slot, count in rows:
        counts.setdefault(int(company_id), [0] * months)[int(slot)] = int(count)
    return Activity(labels, counts)


def channel_counts(conn: Conn, scope: TimelineFilter) -> dict[str, int]:
    """How many of the items ``scope`` lets through are on each channel, most first."""
    where, params = _where(scope)
    rows = execute(
        conn,
        f"SELECT channel, count(*) AS n FROM interaction WHERE {where} "
        "GROUP BY channel ORDER BY n DESC, channel",
        params,
    ).all()
    return {str(channel): int(n) for channel, n in rows}


@dataclass(frozen=True, slots=True)
class MonthMark:
    """A month of a timeline: where its items start (item index, newest first) and how many."""

    year: int
    month: int
    first: int
    count: int


@dataclass(slots=True)
class TimelineIndex:
    """The times of a (filtered) timeline, newest first, and its months in the viewer's zone.

    ``negated`` holds minus the occurred_at of the items in timeline order, so it ascends and
    ``bisect`` works on it; ``months`` are the non-empty months, newest first. A partial index
    (``complete`` False) knows only the first items' times: enough to draw the first screen
    while the full index is read, but not to find anchors further down. ``scope`` is the
    filter the index was read with.
    """

    scope: TimelineFilter
    total: int
    negated: array[int]
    months: list[MonthMark] = field(default_factory=list)
    complete: bool = True

    def __len__(self) -> int:
        return self.total

    @property
    def known(self) -> int:
        """How many leading items have a known time (all of them when complete)."""
        return len(self.negated)

    def anchor(self, position: int) -> tuple[tuple[int, int] | None, int] | None:
        """The keyset anchor for the item at ``position`` and how many rows to skip after it.

        Items at the same second are ordered by id, which the index does not hold: the anchor
        is just past that second, and the few items before ``position`` at the same second
        are skipped. None when a partial index does not reach ``position``.
        """
        if position <= 0:
            return None, 0
        if position >= len(self.negated):
            return None
        negated = self.negated[position]
        first_same = bisect_left(self.negated, negated)
        return (-negated + 1, 0), position - first_same


def _month_start(year: int, month: int, zone: tzinfo | None) -> int:
    # A naive datetime's timestamp() is read in the system zone, DST included.
    return int(datetime(year, month, 1, tzinfo=zone).timestamp())


def _months(negated: array[int], zone: tzinfo | None) -> list[MonthMark]:
    months = []
    known = len(negated)
    position = 0
    while position < known:
        moment = datetime.fromtimestamp(-negated[position], zone)
        start = _month_start(moment.year, moment.month, zone)
        # This month's items are those at or after its start: negated time <= -start.
        end = max(bisect_right(negated, -start, position, known), position + 1)
        months.append(MonthMark(moment.year, moment.month, position, end - position))
        position = end
    return months


def _where(scope: TimelineFilter) -> tuple[str, dict[str, Any]]:
    where, params = scope.where()
    return " AND ".join(where), params


def timeline_start(
    conn: Conn,
    scope: TimelineFilter,
    *,
    zone: tzinfo | None = None,
    limit: int = 100,
    total: int | None = None,
) -> tuple[TimelineIndex, list[TimelineRow]]:
    """The first ``limit`` rows of a timeline and a partial index: a first screen, fast.

    Costs one page and, unless the caller knows ``total`` (e.g. from the company list), one
    count, whatever the size of the timeline.
    """
    rows = timeline(conn, scope, limit=limit)
    if total is None or total < len(rows):
        where, params = _where(scope)
        total = int(
            execute(conn, f"SELECT count(*) FROM interaction WHERE {where}", params).scalar()
        )
    negated = array("q", (-int(r.occurred_at.timestamp()) for r in rows))
    complete = len(rows) >= total
    return TimelineIndex(scope, total, negated, _months(negated, zone), complete), rows


def timeline_index(
    conn: Conn, scope: TimelineFilter, *, zone: tzinfo | None = None
) -> TimelineIndex:
    """Every item time of a (filtered) timeline and its months in ``zone`` (None: the system's).

    Without a channel the times come from the (company_id, occurred_at, id) index alone, also
    between dates.
    """
    where, params = _where(scope)
    negated: array[int] = array("q")
    for chunk in stream(
        conn,
        f"SELECT -occurred_at FROM interaction WHERE {where} ORDER BY occurred_at DESC, id DESC",
        params,
    ):
        # Chunks, and a generator: the UI thread gets the GIL back between them.
        negated.extend(value for (value,) in chunk)
    return TimelineIndex(scope, len(negated), negated, _months(negated, zone))


def timeline_page(conn: Conn, index: TimelineIndex, start: int, limit: int) -> list[TimelineRow]:
    """Rows ``start`` .. ``start + limit - 1`` of the timeline that ``index`` describes."""
    anchor = index.anchor(start)
    if anchor is None:
        return []  # a partial index: wait for the full one
    after_key, skip = anchor
    rows = timeline(conn, index.scope, after_key=after_key, limit=skip + limit)
    return rows[skip:]


def position_in_timeline(conn: Conn, scope: TimelineFilter, interaction_id: int) -> int | None:
    """Where an item sits in the (filtered) timeline (0 = newest), or None when not in it."""
    where, params = _where(scope)
    row = execute(
        conn,
        f"SELECT occurred_at FROM interaction WHERE id = :i AND {where}",
        {**params, "i": interaction_id},
    ).first()
    if row is None:
        return None
    where += " AND (occurred_at, id) > (:t, :i)"
    params.update(t=row.occurred_at, i=interaction_id)
    return int(execute(conn, f"SELECT count(*) FROM interaction WHERE {where}", params).scalar())


@dataclass(frozen=True, slots=True)
class ContextMessage:
    """A message of a thread shown around the selected one (``occurred_at`` in its own offset)."""

    id: int
    occurred_at: datetime
    direction: str
    sender: str | None
    title: str
    body: str


def _context_message(row: Any) -> ContextMessage:
    body = strip_controls(row.body or "")
    if len(body) > CONTEXT_BODY_CHARS:
        body = body[: CONTEXT_BODY_CHARS - 1] + "…"
    return ContextMessage(
        id=int(row.id),
        occurred_at=from_stored(row.occurred_at, row.tz_offset),
        direction=str(row.direction),
        sender=one_line(row.sender) if row.sender else None,
        title=one_line(row.title),
        body=body,
    )


def thread_context(
    conn: Conn, interaction_id: int, *, before: int = 5, after: int = 5
) -> list[ContextMessage]:
    """The item and up to ``before`` older and ``after`` newer items of its thread, oldest first.

    Empty when the item has no thread.
    """
    row = execute(
        conn,
        "SELECT thread_id, occurred_at FROM interaction WHERE id = :i",
        {"i": interaction_id},
    ).first()
    if row is None or row.thread_id is None:
        return []
    columns = "id, occurred_at, tz_offset, direction, sender, title, body"
    params = {"t": row.thread_id, "at": row.occurred_at, "i": interaction_id}
    older = execute(
        conn,
        f"SELECT {columns} FROM interaction WHERE thread_id = :t "
        "AND (occurred_at, id) < (:at, :i) ORDER BY occurred_at DESC, id DESC LIMIT :n",
        {**params, "n": before},
    ).all()
    rest = execute(
        conn,
        f"SELECT {columns} FROM interaction WHERE thread_id = :t "
        "AND (occurred_at, id) >= (:at, :i) ORDER BY occurred_at, id LIMIT :n",
        {**params, "n": after + 1},
    ).all()
    return [_context_message(r) for r in [*reversed(older), *rest]]


def thread_size(conn: Conn, interaction_id: int) -> int:
    """How many items share this item's thread (1 when it has none)."""
    count = execute(
        conn,
        "SELECT count(*) FROM interaction WHERE thread_id = "
        "(SELECT thread_id FROM interaction WHERE id = :i)",
        {"i": interaction_id},
    ).scalar()
    return max(int(count or 0), 1)
