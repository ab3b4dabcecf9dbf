"""Full-text search over every interaction (FTS5), newest first.

The query language a user types::

    invoice klm            both words (any order, any column)
    "boarding pass"        a phrase
    refund*                a prefix
    -newsletter            without this word
    a OR b                 either
    company:KLM  channel:email  after:2024-01-01  before:2024-06

Results are ordered by time, never by bm25: ranking a huge hit set costs more than a user
wants to wait, and a person looking for a mail usually knows roughly when it was. The index
keeps its rows in time order (migration 3), so the first page costs the same for a rare word
and for one in every mail.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any

from vault.errors import UsageError
from vault.queries import _TIMELINE_COLUMNS, check_channel, find_company, timeline_row
from vault.search_index import (
    FTS_ID,
    FTS_TEXT_COLUMNS,
    fts_phrase,
    period_table,
    periods,
    time_key,
)
from vault.store import Conn, Row, execute
from vault.text import one_line
from vault.timefmt import parse_user_date

_FILTERS = ("company", "channel", "before", "after")
_WORD = re.compile(r"\w", re.UNICODE)


@dataclass
class ParsedQuery:
    """A user's query split into the FTS5 expression and the filters."""

    fts: str | None = None
    company: str | None = None
    channel: str | None = None
    before: int | None = None
    after: int | None = None
    terms: list[str] = field(default_factory=list)


def _split(query: str) -> list[str]:
    try:
        return shlex.split(query, posix=True)
    except ValueError:
        # An unbalanced quote: search for the words as typed rather than refuse.
        return query.replace('"', " ").split()


def parse_query(query: str, zone: tzinfo = UTC) -> ParsedQuery:
    """Split ``query`` into an FTS5 expression (every term quoted) and filters.

    Raises:
        UsageError: an unknown channel, a bad date, or only excluded words.
    """
    parsed = ParsedQuery()
    positive: list[str] = []
    negative: list[str] = []
    pending_or = False
    for token in _split(query):
        name, colon, value = token.partition(":")
        if colon and name.casefold() in _FILTERS and value:
            _apply_filter(parsed, name.casefold(), value, zone)
            continue
        if token == "OR" and positive:
            pending_or = True
            continue
        is_negative = token.startswith("-") and len(token) > 1
        word = token[1:] if is_negative else token
        prefix = word.endswith("*")
        word = word.rstrip("*")
        if not _WORD.search(word):
            continue
        expression = fts_phrase(word) + ("*" if prefix else "")
        if is_negative:
            negative.append(expression)
        elif pending_or:
            positive[-1] = f"({positive[-1]} OR {expression})"
            pending_or = False
        else:
            positive.append(expression)
        parsed.terms.append(word)
    if negative and not positive:
        raise UsageError("a search needs at least one word to look for, not only excluded ones")
    if positive:
        parsed.fts = " AND ".join(positive) + "".join(f" NOT {n}" for n in negative)
    return parsed


def _apply_filter(parsed: ParsedQuery, name: str, value: str, zone: tzinfo = UTC) -> None:
    if name == "company":
        parsed.company = value
    elif name == "channel":
        check_channel(value.casefold())
        parsed.channel = value.casefold()
    elif name == "before":
        parsed.before = parse_user_date(value, zone=zone)
    else:
        parsed.after = parse_user_date(value, zone=zone)


def search(
    conn: Conn,
    query: str,
    *,
    company: str | None = None,
    channel: str | None = None,
    limit: int = 50,
    after: tuple[int, int] | None = None,
    zone: tzinfo = UTC,
) -> list[dict[str, Any]]:
    """Items matching ``query`` (plus the option filters), newest first, with snippets;
    ``before:`` and ``after:`` days are the user's (``zone``).

    ``after`` is the ``search_key`` of the last item of the previous page (keyset paging).
    """
    parsed, company_id = _prepared(conn, query, company, channel, zone)
    return [_result(row) for row in _rows(conn, parsed, company_id, limit, after)]


def search_all(
    conn: Conn,
    query: str,
    *,
    company: str | None = None,
    channel: str | None = None,
    page: int = 500,
    zone: tzinfo = UTC,
) -> Iterator[dict[str, Any]]:
    """Every item matching ``query``, newest first, fetched ``page`` at a time: memory stays
    bounded however many there are."""
    parsed, company_id = _prepared(conn, query, company, channel, zone)
    after = None
    while True:
        rows = _rows(conn, parsed, company_id, page, after)
        yield from map(_result, rows)
        if len(rows) < page:
            return
        after = (int(rows[-1].occurred_at), int(rows[-1].id))


def search_count(
    conn: Conn,
    query: str,
    *,
    company: str | None = None,
    channel: str | None = None,
    zone: tzinfo = UTC,
) -> int:
    """How many items match ``query``: what a page of ``search`` is out of."""
    parsed, company_id = _prepared(conn, query, company, channel, zone)
    if parsed.fts is None:
        where, params = _filter_terms(parsed, company_id)
        sql = f"SELECT count(*) FROM interaction i WHERE {' AND '.join(where) or '1=1'}"
        return int(execute(conn, sql, params).scalar())
    where, params, low, high = _match_terms(parsed, company_id, None)
    total = 0
    for period in periods(conn, low, high):
        table = period_table(period)
        sql = f"SELECT count(*) FROM {table} WHERE {' AND '.join(where).format(table=table)}"
        total += int(execute(conn, sql, params).scalar())
    return total


def _prepared(
    conn: Conn,
    query: str,
    company: str | None,
    channel: str | None,
    zone: tzinfo = UTC,
) -> tuple[ParsedQuery, int | None]:
    parsed = parse_query(query, zone)
    if company:
        parsed.company = company
    if channel:
        _apply_filter(parsed, "channel", channel)
    if parsed.fts is None and not (
        parsed.company or parsed.channel or parsed.before or parsed.after
    ):
        raise UsageError('search for what? Give a word, a "phrase", a prefix* or a filter')
    company_id = find_company(conn, parsed.company)[0] if parsed.company else None
    return parsed, company_id


def _rows(
    conn: Conn,
    parsed: ParsedQuery,
    company_id: int | None,
    limit: int,
    after: tuple[int, int] | None,
) -> list[Row]:
    if parsed.fts is None:
        return _filtered(conn, parsed, company_id, limit, after)
    return _matching(conn, parsed, company_id, limit, after)


def _result(row: Row) -> dict[str, Any]:
    item = timeline_row(row).to_json()
    if row.hit:
        item["snippet"] = one_line(row.hit, 240)
    item["company"] = {"id": row.company_id, "name": one_line(row.company)}
    return item


_SELECT = f"SELECT {_TIMELINE_COLUMNS}, i.company_id, c.name AS company"


def _filter_terms(parsed: ParsedQuery, company_id: int | None) -> tuple[list[str], dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {"company": company_id}
    if company_id is not None:
        where.append("i.company_id = :company")
    if parsed.channel:
        where.append("i.channel = :channel")
        params["channel"] = parsed.channel
    if parsed.before is not None:
        where.append("i.occurred_at < :before")
        params["before"] = parsed.before
    if parsed.after is not None:
        where.append("i.occurred_at >= :after")
        params["after"] = parsed.after
    return where, params


def _filtered(
    conn: Conn,
    parsed: ParsedQuery,
    company_id: int | None,
    limit: int,
    after: tuple[int, int] | None = None,
) -> list[Row]:
    """Items passing the filters alone (no words), newest first, walking a time index."""
    where, params = _filter_terms(parsed, company_id)
    params["limit"] = limit
    if after is not None:
        where.append("(i.occurred_at, i.id) < (:key_time, :key_id)")
        params["key_time"], params["key_id"] = after
    return execute(
        conn,
        f"{_SELECT}, NULL AS hit FROM interaction i JOIN company c ON c.id = i.company_id "
        f"WHERE {' AND '.join(where) or '1=1'} ORDER BY i.occurred_at DESC, i.id DESC LIMIT :limit",
        params,
    ).all()


def _match_terms(
    parsed: ParsedQuery, company_id: int | None, after: tuple[int, int] | None
) -> tuple[list[str], dict[str, Any], int | None, int | None]:
    """The WHERE terms of a period's FTS table (``{table}`` left to fill), their parameters
    and the lowest and highest time key they let through."""
    match = f"{FTS_TEXT_COLUMNS}: ({parsed.fts})"
    if company_id is not None:
        match += f' AND scope:"c{int(company_id)}"'
    if parsed.channel:
        match += f' AND scope:"{parsed.channel}"'
    where = ["{table} MATCH :fts"]
    params: dict[str, Any] = {"fts": match}
    low = high = None
    if parsed.after is not None:
        where.append("rowid >= :low")
        params["low"] = low = time_key(parsed.after)
    if parsed.before is not None:
        high = time_key(parsed.before)
    if after is not None:  # the next page: older than the last row shown (its FTS rowid)
        key = time_key(after[0]) + after[1]
        high = key if high is None else min(high, key)
    if high is not None:
        where.append("rowid < :high")
        params["high"] = high
    return where, params, low, high


def _matching(
    conn: Conn,
    parsed: ParsedQuery,
    company_id: int | None,
    limit: int,
    after: tuple[int, int] | None = None,
) -> list[Row]:
    """Items matching the words, newest first.

    The FTS rowid is the time key, so each period's index (``vault.search_index``) yields its
    hits newest first and stops at what the page still needs; the periods are asked newest
    first until the page is full. Company and channel are ``scope`` terms and dates a rowid
    range, so every filter is applied inside the index. Snippets are made for that page only.
    """
    where, params, low, high = _match_terms(parsed, company_id, after)
    rows: list[Row] = []
    for period in periods(conn, low, high):
        params["limit"] = limit - len(rows)
        rows += execute(conn, _page_sql(period_table(period), where), params).all()
        if len(rows) >= limit:
            break
    return rows


def _page_sql(table: str, where: list[str]) -> str:
    """One period's hits for the page, newest first, joined to their items and companies."""
    # Three snippets, the best one kept: snippet(-1) could pick the scope column.
    marks = "'«', '»', '…', 16"
    page = (
        f"SELECT {FTS_ID} AS id, snippet({table}, 0, {marks}) AS t, "
        f"snippet({table}, 1, {marks}) AS b, snippet({table}, 2, {marks}) AS p "
        f"FROM {table} WHERE {' AND '.join(where).format(table=table)} "
        "ORDER BY rowid DESC LIMIT :limit"
    )
    return (
        f"{_SELECT}, CASE WHEN instr(h.b, '«') THEN h.b WHEN instr(h.t, '«') THEN h.t "
        f"WHEN instr(h.p, '«') THEN h.p END AS hit FROM ({page}) h "
        "JOIN interaction i ON i.id = h.id JOIN company c ON c.id = i.company_id "
        "ORDER BY i.occurred_at DESC, i.id DESC"
    )
