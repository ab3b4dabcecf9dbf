"""Read-side queries: companies, timelines (keyset paging), single items and bookings.

Every function takes an open connection and returns plain dataclasses or dicts whose field
names are the CLI's ``--json`` contract (DESIGN, "CLI contract").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, get_args

from vault.channels import Channel
from vault.errors import UsageError
from vault.search_index import FTS_ID, FTS_TEXT_COLUMNS, fts_phrase, period_table, periods
from vault.store import Conn, execute
from vault.text import one_line, strip_controls
from vault.timefmt import from_stored, iso

SNIPPET_CHARS = 160


@dataclass(frozen=True, slots=True)
class CompanyRow:
    """A company as ``kluis companies`` lists it."""

    id: int
    name: str
    kind: str
    domains: list[str]
    interactions: int
    first_at: str | None
    last_at: str | None

    def to_json(self) -> dict[str, Any]:
        """The contract's object."""
        return asdict(self)


def _edge(order: str, column: str = "id") -> str:
    """SQL for ``column`` of company ``c``'s first (ASC) or last (DESC) item: an index seek."""
    return (
        f"(SELECT e.{column} FROM interaction e WHERE e.company_id = c.id "
        f"ORDER BY e.occurred_at {order}, e.id {order} LIMIT 1)"
    )


def list_companies(conn: Conn, *, source_offsets: bool = True) -> list[CompanyRow]:
    """Every company with interactions, most recent contact first.

    ``source_offsets=False`` gives ``first_at`` and ``last_at`` in UTC rather than in the
    source's own offset, for a reader that shows them in the user's zone anyway (the app): then
    every column comes from ix_interaction_timeline, with no look-up of two rows per company
    in the table (at 200,000 items each look-up decrypts a page of its own).
    """
    # Per company one count and two seeks on ix_interaction_timeline: at 200,000 items a
    # third of the time of one GROUP BY over the join.
    count = "(SELECT count(*) FROM interaction e WHERE e.company_id = c.id) AS n"
    if source_offsets:
        sql = (
            "SELECT s.id, s.name, s.kind, s.n, f.occurred_at AS first, l.occurred_at AS last, "
            "f.tz_offset AS first_tz, l.tz_offset AS last_tz "
            f"FROM (SELECT c.id, c.name, c.kind, {count}, {_edge('ASC')} AS first_id, "
            f"{_edge('DESC')} AS last_id FROM company c) s "
            "JOIN interaction f ON f.id = s.first_id JOIN interaction l ON l.id = s.last_id "
        )
    else:
        sql = (
            "SELECT *, NULL AS first_tz, NULL AS last_tz "
            f"FROM (SELECT c.id, c.name, c.kind, {count}, {_edge('ASC', 'occurred_at')} AS first, "
            f"{_edge('DESC', 'occurred_at')} AS last FROM company c) s WHERE s.last IS NOT NULL "
        )
    rows = execute(conn, sql + "ORDER BY last DESC, s.id").all()
    domains: dict[int, list[str]] = {}
    for company_id, value in execute(
        conn, "SELECT company_id, value FROM identifier WHERE kind='email_domain' ORDER BY value"
    ):
        domains.setdefault(int(company_id), []).append(str(value))
    return [
        CompanyRow(
            id=int(row.id),
            name=one_line(row.name),
            kind=row.kind,
            domains=domains.get(int(row.id), []),
            interactions=int(row.n),
            first_at=iso(row.first, row.first_tz),
            last_at=iso(row.last, row.last_tz),
        )
        for row in rows
    ]


def find_company(conn: Conn, ref: str) -> tuple[int, str]:
    """(id, name) of the company ``ref`` names: an id, a name, or a unique part of a name/domain.

    Raises:
        UsageError: nothing matches, or several do.
    """
    ref = ref.strip()
    if ref.isdigit():
        row = execute(conn, "SELECT id, name FROM company WHERE id=:i", {"i": int(ref)}).first()
        if row:
            return int(row[0]), str(row[1])
    folded = ref.casefold()
    rows = execute(
        conn,
        "SELECT DISTINCT c.id, c.name FROM company c "
        "LEFT JOIN identifier d ON d.company_id = c.id "
        "WHERE lower(c.name) = :exact OR d.value = :exact",
        {"exact": folded},
    ).all()
    if not rows:
        rows = execute(
            conn,
            "SELECT DISTINCT c.id, c.name FROM company c "
            "LEFT JOIN identifier d ON d.company_id = c.id "
            "WHERE instr(lower(c.name), :part) > 0 "
            "OR (d.kind = 'email_domain' AND instr(d.value, :part) > 0)",
            {"part": folded},
        ).all()
    if len(rows) == 1:
        return int(rows[0][0]), str(rows[0][1])
    if not rows:
        raise UsageError(f"no company matches {ref!r} (see `kluis companies`)")
    names = ", ".join(f"{one_line(r[1], 40)} ({r[0]})" for r in rows[:5])
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    raise UsageError(f"{ref!r} matches several companies: {names}{more}; use the id")


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One line of a timeline; ``occurred_at`` in the source's own offset (UTC when unknown)."""

    id: int
    occurred_at: datetime
    channel: str
    direction: str
    sender: str | None
    title: str
    snippet: str
    thread: int | None
    amount: dict[str, Any] | None = None  # {value, currency, guessed}: what the item states

    def to_json(self) -> dict[str, Any]:
        """The contract's object (the time as ISO 8601 with its offset)."""
        return {**asdict(self), "occurred_at": self.occurred_at.isoformat()}


_TIMELINE_COLUMNS = (
    "i.id, i.occurred_at, i.tz_offset, i.channel, i.direction, i.sender, i.title, "
    f"substr(i.body, 1, {SNIPPET_CHARS * 2}) AS head, i.thread_id, "
    "(SELECT json_array(m.value, m.currency, m.guessed) FROM money m "
    "WHERE m.interaction_id = i.id) AS amount"
)


def _amount(packed: str | None) -> dict[str, Any] | None:
    if not packed:
        return None
    value, currency, guessed = json.loads(packed)
    return {"value": value, "currency": currency, "guessed": bool(guessed)}


def timeline_row(row: Any) -> TimelineRow:
    """A TimelineRow from a row selected with the timeline columns."""
    return TimelineRow(
        id=int(row.id),
        occurred_at=from_stored(row.occurred_at, row.tz_offset),
        channel=row.channel,
        direction=row.direction,
        sender=one_line(row.sender) if row.sender else None,
        title=one_line(row.title),
        snippet=one_line(row.head or "", SNIPPET_CHARS),
        thread=row.thread_id,
        amount=_amount(row.amount),
    )


@dataclass(frozen=True, slots=True)
class TimelineFilter:
    """Which of a company's items a timeline shows: one channel or all, between two times.

    ``since`` and ``until`` are epoch seconds, ``until`` exclusive (the first second after the
    range). One value for the CLI's ``kluis timeline`` and the app's index, pages, positions
    and channel counts.
    """

    company_id: int
    channel: str | None = None
    since: int | None = None
    until: int | None = None

    @property
    def narrowed(self) -> bool:
        """True when a channel or a date leaves out some of the company's items."""
        return bool(self.channel) or self.since is not None or self.until is not None

    def where(self, table: str = "") -> tuple[list[str], dict[str, Any]]:
        """The WHERE terms and their parameters; ``table`` prefixes the columns (``"i."``)."""
        where = [f"{table}company_id = :c"]
        params: dict[str, Any] = {"c": self.company_id}
        if self.channel:
            where.append(f"{table}channel = :ch")
            params["ch"] = self.channel
        if self.since is not None:
            where.append(f"{table}occurred_at >= :since")
            params["since"] = self.since
        if self.until is not None:
            where.append(f"{table}occurred_at < :until")
            params["until"] = self.until
        return where, params


CHANNELS: tuple[str, ...] = get_args(Channel)
"""Every channel an item can have, as vault.records defines them."""


def check_channel(channel: str) -> None:
    """Refuse a channel no item can have (``--channel mail``), instead of finding nothing.

    Raises:
        UsageError: ``channel`` is not one of ``CHANNELS``.
    """
    if channel not in CHANNELS:
        raise UsageError(f"unknown channel {channel!r} (one of: {', '.join(CHANNELS)})")


def timeline(
    conn: Conn,
    scope: TimelineFilter,
    *,
    limit: int = 50,
    after_key: tuple[int, int] | None = None,
) -> list[TimelineRow]:
    """The items ``scope`` lets through, newest first.

    Paging is by key, never OFFSET: pass the (occurred_at epoch, id) of the last row of the
    previous page as ``after_key``.

    Raises:
        UsageError: an unknown channel.
    """
    if scope.channel:
        check_channel(scope.channel)
    where, params = scope.where("i.")
    params["limit"] = limit
    if after_key is not None:
        where.append("(i.occurred_at, i.id) < (:key_time, :key_id)")
        params["key_time"], params["key_id"] = after_key
    rows = execute(
        conn,
        f"SELECT {_TIMELINE_COLUMNS} FROM interaction i WHERE {' AND '.join(where)} "
        "ORDER BY i.occurred_at DESC, i.id DESC LIMIT :limit",
        params,
    ).all()
    return [timeline_row(row) for row in rows]


def timeline_all(conn: Conn, scope: TimelineFilter, *, page: int = 500) -> Iterator[TimelineRow]:
    """Every item ``scope`` lets through, newest first, fetched ``page`` at a time by key:
    memory stays bounded however long the history is."""
    after_key = None
    while True:
        rows = timeline(conn, scope, limit=page, after_key=after_key)
        yield from rows
        if len(rows) < page:
            return
        after_key = (int(rows[-1].occurred_at.timestamp()), rows[-1].id)


def timeline_count(conn: Conn, scope: TimelineFilter) -> int:
    """How many items ``scope`` lets through: what a page of ``timeline`` is out of."""
    where, params = scope.where()
    sql = f"SELECT count(*) FROM interaction WHERE {' AND '.join(where)}"
    return int(execute(conn, sql, params).scalar())


def _bookings_where(where: str, params: dict[str, Any], conn: Conn) -> list[dict[str, Any]]:
    rows = execute(
        conn,
        "SELECT b.*, c.name AS company FROM booking b "
        "JOIN company c ON c.id = b.company_id "
        f"WHERE {where} ORDER BY coalesce(b.start_at, b.modified_at, ''), b.id",
        params,
    ).all()
    return [booking_json(row) for row in rows]


def booking_json(row: Any) -> dict[str, Any]:
    """The contract's booking object from a booking row joined with its company name.

    Every text came from a document someone else wrote: it is made safe to show.
    """

    def safe(value: Any) -> str | None:
        return one_line(str(value)) if value else None

    details = json.loads(row["details"] or "{}")
    return {
        "id": row["id"],
        "kind": row["kind"],
        "reference": safe(row["reference"]),
        "status": row["status"],
        "company": one_line(row["company"]),
        "number": safe(row["number"]),
        "start": row["start_at"],
        "end": row["end_at"],
        "origin": safe(row["origin_code"] or row["origin_name"]),
        "destination": safe(row["destination_code"] or row["destination_name"]),
        "travellers": [one_line(str(t)) for t in json.loads(row["travellers"] or "[]")],
        "seat": safe(row["seat"]),
        "price": row["price"],
        "currency": safe(row["currency"]),
        "boarding": safe(details.get("boarding")),
        "provider": safe(details.get("provider")),
    }


def list_bookings(
    conn: Conn, *, company_id: int | None = None, upcoming: bool = False
) -> list[dict[str, Any]]:
    """Bookings, one row per segment, in start order; ``upcoming`` keeps those not yet begun."""
    where, params = ["1=1"], {}
    if company_id is not None:
        where.append("b.company_id = :c")
        params["c"] = company_id
    rows = _bookings_where(" AND ".join(where), params, conn)
    if upcoming:
        now = datetime.now(UTC)
        rows = [r for r in rows if _not_begun(r["start"], now) and r["status"] != "cancelled"]
    return rows


def _not_begun(start: str | None, now: datetime) -> bool:
    """A booking's start not yet past: a day until it ends, a local time (its zone unknown)
    read on this machine's clock, an instant exactly."""
    if not start:
        return False
    moment = datetime.fromisoformat(start)
    if len(start) <= 10:
        return moment.date() >= now.astimezone().date()
    return moment.astimezone(UTC) >= now


def show(conn: Conn, interaction_id: int) -> dict[str, Any]:
    """Everything about one interaction: the timeline fields plus its full content.

    Raises:
        UsageError: there is no such item.
    """
    row = execute(
        conn,
        f"SELECT {_TIMELINE_COLUMNS}, i.body, i.recipients, i.source_ref, i.company_id, "
        "i.counterpart, i.extras, c.name AS company FROM interaction i "
        "JOIN company c ON c.id = i.company_id WHERE i.id = :i",
        {"i": interaction_id},
    ).first()
    if row is None:
        raise UsageError(f"no item with id {interaction_id}")
    item = timeline_row(row).to_json()
    attachments = execute(
        conn,
        "SELECT filename, mime, size FROM attachment WHERE interaction_id=:i ORDER BY id",
        {"i": interaction_id},
    ).all()
    bookings = _bookings_where(
        "b.id IN (SELECT booking_id FROM bookingsource WHERE interaction_id = :i)",
        {"i": interaction_id},
        conn,
    )
    item.update(
        company={"id": row.company_id, "name": one_line(row.company)},
        counterpart=one_line(row.counterpart) if row.counterpart else None,
        recipients=[one_line(r) for r in json.loads(row.recipients or "[]")],
        body=strip_controls(row.body),
        attachments=[
            {"filename": one_line(a.filename), "mime": a.mime, "size": a.size} for a in attachments
        ],
        bookings=bookings,
        case=related_items(conn, interaction_id, row.thread_id, row.title, row.company_id),
        source_ref=one_line(row.source_ref, 500),
    )
    return item


CASE_LIMIT = 200
# Reference numbers that senders put in subjects: "[#123456]", "[CB-65609899]", "#48213377".
_TOKEN = re.compile(r"[A-Z0-9][A-Z0-9-]{4,}", re.IGNORECASE)
_SUBJECT_REFERENCE = re.compile(r"\[#?([A-Z0-9][A-Z0-9-]{4,})\]|#(\d{5,})", re.IGNORECASE)


def case_references(conn: Conn, interaction_id: int, title: str) -> list[str]:
    """The reference numbers that tie an item to its case: its bookings' and its subject's."""
    refs = [
        str(r[0])
        for r in execute(
            conn,
            "SELECT DISTINCT b.reference FROM booking b JOIN bookingsource s "
            "ON s.booking_id = b.id WHERE s.interaction_id = :i AND b.reference != ''",
            {"i": interaction_id},
        )
    ]
    refs += [m.group(1) or m.group(2) for m in _SUBJECT_REFERENCE.finditer(title)]
    # A booking code or order number of a known booking, named in the subject.
    tokens = sorted({t for t in _TOKEN.findall(title) if any(c.isdigit() for c in t)})
    if tokens:
        marks = ", ".join(f":r{n}" for n in range(len(tokens)))
        refs += [
            str(r[0])
            for r in execute(
                conn,
                f"SELECT DISTINCT reference FROM booking WHERE reference IN ({marks})",
                {f"r{n}": token for n, token in enumerate(tokens)},
            )
        ]
    return list(dict.fromkeys(r for r in refs if len(r) >= 5))


def related_items(
    conn: Conn,
    interaction_id: int,
    thread_id: int | None,
    title: str,
    company_id: int,
) -> list[int]:
    """Other items of the same case, oldest first.

    A case is the thread, the items that confirmed, changed or cancelled the same booking,
    and any mail or chat message that names one of the case's reference numbers (a booking
    code in a WhatsApp message, an order number in a complaint's subject). A case never spans
    companies (a weak reference like "XXX007" would tie strangers together): only items of
    ``company_id`` count, so only the user's merge joins two companies' cases.
    """
    params: dict[str, Any] = {"t": thread_id if thread_id is not None else -1, "i": interaction_id}
    union = [
        "SELECT id FROM interaction WHERE thread_id = :t AND id != :i",
        "SELECT s2.interaction_id FROM bookingsource s1 JOIN bookingsource s2 "
        "ON s2.booking_id = s1.booking_id WHERE s1.interaction_id = :i "
        "AND s2.interaction_id != :i",
    ]
    refs = case_references(conn, interaction_id, title)
    if refs:
        quoted = " OR ".join(fts_phrase(r) for r in refs)
        params["refs"] = f"{FTS_TEXT_COLUMNS}: ({quoted})"
        union += [
            f"SELECT {FTS_ID} FROM {table} WHERE {table} MATCH :refs AND {FTS_ID} != :i"
            for table in map(period_table, periods(conn))
        ]
    params["c"] = company_id
    query = f"SELECT id FROM interaction WHERE company_id = :c AND id IN ({' UNION '.join(union)})"
    rows = execute(conn, query + f" ORDER BY 1 LIMIT {CASE_LIMIT}", params).all()
    return [int(r[0]) for r in rows]
