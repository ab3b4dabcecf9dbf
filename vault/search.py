"""Full-text search over every interaction (FTS5), newest first.

The query language a user types::

    invoice klm            both words (any order, any column)
    "boarding pass"        a phrase
    refund*                a prefix
    -newsletter            without this word
    a OR b                 either
    company:KLM  channel:email  after:2024-01-01  before:2024-06

Results are ordered by time, never by bm25: ranking a huge hit set costs more than a user
wants to wait, and a person looking for a mail usually knows roughly when it was.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from vault.errors import UsageError
from vault.queries import _TIMELINE_COLUMNS, find_company, timeline_row
from vault.text import one_line
from vault.timefmt import parse_user_date

CHANNELS = ("email", "chat", "booking", "order", "call", "letter", "note")
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


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _split(query: str) -> list[str]:
    try:
        return shlex.split(query, posix=True)
    except ValueError:
        # An unbalanced quote: search for the words as typed rather than refuse.
        return query.replace('"', " ").split()


def parse_query(query: str) -> ParsedQuery:
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
            _apply_filter(parsed, name.casefold(), value)
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
        expression = _quote(word) + ("*" if prefix else "")
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


def _apply_filter(parsed: ParsedQuery, name: str, value: str) -> None:
    if name == "company":
        parsed.company = value
    elif name == "channel":
        if value.casefold() not in CHANNELS:
            raise UsageError(f"unknown channel {value!r} (one of: {', '.join(CHANNELS)})")
        parsed.channel = value.casefold()
    elif name == "before":
        parsed.before = parse_user_date(value)
    else:
        parsed.after = parse_user_date(value)


def search(
    conn: Connection,
    query: str,
    *,
    company: str | None = None,
    channel: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Items matching ``query`` (plus the option filters), newest first, with snippets."""
    parsed = parse_query(query)
    if company:
        parsed.company = company
    if channel:
        _apply_filter(parsed, "channel", channel)
    if parsed.fts is None and not (
        parsed.company or parsed.channel or parsed.before or parsed.after
    ):
        raise UsageError('search for what? Give a word, a "phrase", a prefix* or a filter')
    filters, params = _filters(conn, parsed)
    params["limit"] = limit
    if parsed.fts is None:
        rows = conn.execute(
            text(
                f"SELECT {_TIMELINE_COLUMNS}, NULL AS hit, i.company_id, c.name AS company "
                "FROM interaction i JOIN company c ON c.id = i.company_id "
                f"WHERE {' AND '.join(filters) or '1=1'} "
                "ORDER BY i.occurred_at DESC, i.id DESC LIMIT :limit"
            ),
            params,
        ).all()
    else:
        params["fts"] = parsed.fts
        rows = conn.execute(
            text(
                f"SELECT {_TIMELINE_COLUMNS}, snippet(interaction_fts, -1, '«', '»', '…', 16) "
                "AS hit, i.company_id, c.name AS company "
                "FROM interaction_fts f JOIN interaction i ON i.id = f.rowid "
                "JOIN company c ON c.id = i.company_id "
                f"WHERE interaction_fts MATCH :fts AND f.rowid IN ({_page(conn, parsed, filters)}) "
                "ORDER BY i.occurred_at DESC, i.id DESC"
            ),
            params,
        ).all()
    results = []
    for row in rows:
        item = timeline_row(row).to_json()
        if row.hit:
            item["snippet"] = one_line(row.hit, 240)
        item["company"] = {"id": row.company_id, "name": one_line(row.company)}
        results.append(item)
    return results


# Below this many hits, sorting them all by time is cheapest; above it, walking the time index
# newest first and keeping the hits is (a common word matches half the vault).
SMALL_HIT_SET = 2000


def _filters(conn: Connection, parsed: ParsedQuery) -> tuple[list[str], dict[str, Any]]:
    """SQL conditions on ``interaction i`` for the query's filters, and their parameters."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if parsed.company:
        params["company"], _ = find_company(conn, parsed.company)
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


def _page(conn: Connection, parsed: ParsedQuery, filters: list[str]) -> str:
    """The SQL choosing one page of hit ids, newest first, without touching every hit's text.

    Snippets and columns are then read for that page only.
    """
    hits = conn.execute(
        text(
            "SELECT count(*) FROM (SELECT rowid FROM interaction_fts "
            "WHERE interaction_fts MATCH :fts LIMIT :cap)"
        ),
        {"fts": parsed.fts, "cap": SMALL_HIT_SET},
    ).scalar_one()
    order = "ORDER BY i.occurred_at DESC, i.id DESC LIMIT :limit"
    if hits < SMALL_HIT_SET:
        where = " AND ".join(["interaction_fts MATCH :fts", *filters])
        return (
            f"SELECT i.id FROM interaction_fts f JOIN interaction i ON i.id = f.rowid "
            f"WHERE {where} {order}"
        )
    index = "ix_interaction_timeline" if parsed.company else "ix_interaction_time"
    where = " AND ".join(
        ["i.id IN (SELECT rowid FROM interaction_fts WHERE interaction_fts MATCH :fts)", *filters]
    )
    return f"SELECT i.id FROM interaction i INDEXED BY {index} WHERE {where} {order}"
