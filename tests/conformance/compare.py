"""Comparison rules of the conformance corpus (``corpus/README.md``, "Comparison rules").

Pure functions only: they take what the CLI printed (parsed JSON) and the ``expect`` values of a
case, and return a list of human-readable mismatches (empty means "matches"). Nothing here runs a
process; ``run.py`` does the orchestration. Item checks that need ``kluis show`` get it through a
``Detail`` callable so that tests can pass a plain dictionary lookup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

Json = Any
"""A value decoded by ``json.loads``."""

Detail = Callable[[str], Mapping[str, Json] | None]
"""Fetches ``kluis show <id> --json`` for a timeline row id (None when it cannot be read)."""

SUMMARY_KEYS = ("new", "duplicate", "updated", "quarantined", "errors")
OUTCOMES = ("imported", "quarantined", "rejected")
ITEM_KEYS = frozenset(
    {
        "occurred_at",
        "channel",
        "direction",
        "title",
        "sender_contains",
        "text_contains",
        "attachments",
    }
)
BOOKING_EQUAL_KEYS = ("kind", "reference", "status", "number", "origin", "destination", "seat")
BOOKING_TIME_KEYS = ("start", "end")
BOOKING_CONTAINS_KEYS = {"travellers_contains": "travellers", "company_contains": "company"}
BOOKING_KEYS = frozenset(
    {*BOOKING_EQUAL_KEYS, *BOOKING_TIME_KEYS, *BOOKING_CONTAINS_KEYS, "optional"}
)

_MONTH_DAY = re.compile(r"--(\d\d)-(\d\d)")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
_DATETIME = re.compile(
    r"(?P<minute>\d{4}-\d\d-\d\dT\d\d:\d\d)(?P<second>:\d\d(?P<fraction>\.\d+)?)?"
    r"(?P<offset>Z|[+-]\d\d:?\d\d)?"
)


# --- strings -------------------------------------------------------------------------------------


def norm(value: object) -> str:
    """Casefold and strip a value for comparison; None becomes the empty string."""
    if value is None:
        return ""
    return str(value).strip().casefold()


def alternatives(expected: Json) -> list[Json]:
    """A list in place of a single value means "any of these"."""
    return list(expected) if isinstance(expected, list) else [expected]


def as_text(value: Json) -> str:
    """Flatten an output field to one string: lists joined with spaces, objects by their values.

    ``travellers`` may be a list of names; a tolerant reading also accepts objects such as
    ``{"name": ..., "code": ...}`` for places or companies.
    """
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(as_text(part) for part in value)
    if isinstance(value, dict):
        return " ".join(as_text(part) for part in value.values())
    return str(value)


def text_equals(expected: Json, actual: Json) -> bool:
    """Equality ignoring case and surrounding whitespace; ``expected`` may list alternatives.

    An object output (e.g. ``{"code": "FRA", "name": "Frankfurt"}``) matches if one of its values
    is equal.
    """
    if actual is None:
        return False
    candidates = [norm(v) for v in actual.values()] if isinstance(actual, dict) else [norm(actual)]
    return any(norm(alt) in candidates for alt in alternatives(expected))


def text_contains(expected: Json, actual: Json) -> bool:
    """Substring test ignoring case and outer whitespace; ``expected`` may list alternatives."""
    haystack = norm(as_text(actual))
    return any(norm(alt) in haystack for alt in alternatives(expected))


# --- counts --------------------------------------------------------------------------------------


def count_matches(expected: Json, actual: int) -> bool:
    """An integer is exact; ``{"min": n, "max": m}`` is inclusive with either bound optional."""
    if isinstance(expected, dict):
        low, high = expected.get("min"), expected.get("max")
        return (low is None or actual >= low) and (high is None or actual <= high)
    return bool(actual == expected)


def describe_count(expected: Json) -> str:
    """Render an expected count for a mismatch message."""
    if isinstance(expected, dict):
        low, high = expected.get("min", ""), expected.get("max", "")
        return f"{low}..{high}"
    return str(expected)


# --- times ---------------------------------------------------------------------------------------


def parse_output_time(value: Json) -> datetime | None:
    """Parse an ISO 8601 time printed by the CLI; None if absent or unreadable.

    A date without a time is read as midnight with no offset, enough for the date forms.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def time_matches(expected: str, actual: Json) -> bool:
    """Compare one expected time in any of the four corpus forms with an output time.

    - with an offset: the same instant, to the precision written;
    - without one: the output's wall time (in its own offset) equal, to the precision written;
    - ``YYYY-MM-DD``: the output's date in its own offset;
    - ``--MM-DD``: the output's month and day in its own offset.
    """
    out = parse_output_time(actual)
    if out is None:
        return False
    text = expected.strip()
    if month_day := _MONTH_DAY.fullmatch(text):
        return (out.month, out.day) == (int(month_day[1]), int(month_day[2]))
    if _DATE.fullmatch(text):
        return out.date() == date.fromisoformat(text)
    written = _DATETIME.fullmatch(text)
    if written is None:
        raise ValueError(f"not a corpus time: {expected!r}")
    want = datetime.fromisoformat(text)
    if written["offset"]:
        if out.tzinfo is None:
            return False
        out = out.astimezone(want.tzinfo)
    return _truncate(out, written) == _truncate(want, written)


def _truncate(moment: datetime, written: re.Match[str]) -> tuple[int, ...]:
    """The fields of ``moment`` down to the precision ``written`` has (minute, second, fraction)."""
    fields: tuple[int, ...] = (moment.year, moment.month, moment.day, moment.hour, moment.minute)
    if written["second"]:
        fields += (moment.second,)
    if written["fraction"]:
        fields += (moment.microsecond,)
    return fields


def times_match(expected: Json, actual: Json) -> bool:
    """``time_matches`` over a string or a list of alternative times."""
    return any(time_matches(alt, actual) for alt in alternatives(expected))


def instant_key(moment: datetime) -> datetime:
    """Sort key by instant; a time without offset counts as UTC (the corpus uses --timezone UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- import calls and outcomes ------------------------------------------------------------------


@dataclass(frozen=True)
class ImportCall:
    """What one ``kluis import ... --json`` call gave: exit status, parsed summary, stderr."""

    label: str
    returncode: int
    summary: Mapping[str, Json] | None
    stderr: str


DONE = (0, 3)
"""Exit statuses of an import that finished: 3 (restic's "incomplete") when some items were
quarantined or nothing was read."""


def finished(call: ImportCall) -> bool:
    """True if the import ran to its end (exit 0, or 3 with items quarantined)."""
    return call.returncode in DONE


def stderr_lines(stderr: str) -> list[str]:
    """The lines written to stderr, ignoring the final newline(s)."""
    return stderr.rstrip("\r\n").splitlines() if stderr.strip() else []


def count_field(row: Mapping[str, Json] | None, key: str) -> int:
    """An integer field of a summary or company row; 0 when missing or not an integer."""
    value = row.get(key) if row else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def summary_mismatches(call: ImportCall) -> list[str]:
    """A call that finished must print the summary object with every contract key, and exit 3
    exactly when it quarantined an item, failed one, or read nothing of a new source."""
    if not finished(call):
        return []
    if call.summary is None:
        return [f"{call.label}: stdout is not one JSON object (the import summary)"]
    missing = [key for key in SUMMARY_KEYS if key not in call.summary]
    if missing:
        return [f"{call.label}: summary lacks {', '.join(missing)}"]
    kept = count_field(call.summary, "quarantined") + count_field(call.summary, "errors")
    if kept and call.returncode != 3:
        return [f"{call.label}: {kept} quarantined or failed, but exit {call.returncode}"]
    read = sum(count_field(call.summary, key) for key in ("new", "duplicate", "updated"))
    if call.returncode == 3 and not kept and read:
        return [f"{call.label}: exit 3, but nothing was quarantined"]
    return []


def call_outcomes(call: ImportCall) -> set[str]:
    """Which outcomes one import call qualifies for (before the vault-wide interaction check).

    ``imported`` = exit 0 or 3 (``finished``); ``quarantined`` = finished with at least one
    item quarantined and none new; ``rejected`` = exit 2 with exactly one stderr line.
    """
    if finished(call):
        outcomes = {"imported"}
        quarantined = count_field(call.summary, "quarantined") >= 1
        if quarantined and count_field(call.summary, "new") == 0:
            outcomes.add("quarantined")
        return outcomes
    if call.returncode == 2 and len(stderr_lines(call.stderr)) == 1:
        return {"rejected"}
    return set()


def outcome_mismatches(expected: Json, calls: Sequence[ImportCall], interactions: int) -> list[str]:
    """Check every import call against ``expect.outcome`` (a string or a list of alternatives).

    When no call is allowed to count as ``imported``, nothing may be stored: the vault must hold
    no interaction at all.
    """
    wanted = set(alternatives(expected))
    problems: list[str] = []
    any_imported = False
    for call in calls:
        got = call_outcomes(call) & wanted
        if not got:
            problems.append(
                f"{call.label}: outcome {_describe_call(call)}, expected "
                f"{' or '.join(sorted(wanted))}"
            )
        any_imported = any_imported or "imported" in got
    if calls and not any_imported and not problems and interactions != 0:
        problems.append(
            f"outcome {' or '.join(sorted(wanted))} but {interactions} interactions stored"
        )
    return problems


def _describe_call(call: ImportCall) -> str:
    """Exit status plus the essentials of what the call reported."""
    lines = stderr_lines(call.stderr)
    if finished(call):
        return (
            f"exit {call.returncode}, new {count_field(call.summary, 'new')}, quarantined "
            f"{count_field(call.summary, 'quarantined')}"
        )
    first = f": {lines[0]}" if lines else ""
    return f"exit {call.returncode} with {len(lines)} stderr line(s){first}"


def quarantined_mismatches(expected: Json, calls: Sequence[ImportCall]) -> list[str]:
    """The sum of ``quarantined`` over the summaries (a rejected call counts 0)."""
    total = sum(count_field(c.summary, "quarantined") for c in calls if finished(c))
    if count_matches(expected, total):
        return []
    return [f"quarantined: {total}, expected {describe_count(expected)}"]


def reimport_mismatches(calls: Sequence[ImportCall]) -> list[str]:
    """A second import of the same paths must finish and report ``new`` 0 every time."""
    problems: list[str] = []
    for call in calls:
        if not finished(call):
            problems.append(f"re-import {call.label}: {_describe_call(call)}")
        elif (new := count_field(call.summary, "new")) != 0:
            problems.append(f"re-import {call.label}: new {new}, expected 0")
        problems.extend(f"re-import {p}" for p in summary_mismatches(call))
    return problems


def unchanged_mismatches(what: str, before: Json, after: Json) -> list[str]:
    """``kluis companies`` / ``bookings`` output must be the same after the re-import.

    Rows are compared as a multiset: the order of rows carries no data.
    """
    if not isinstance(before, list) or not isinstance(after, list):
        return [] if before == after else [f"re-import changed `{what}` output"]
    old, new = _row_keys(before), _row_keys(after)
    if sorted(old) == sorted(new):
        return []
    added = len([k for k in new if k not in old])
    removed = len([k for k in old if k not in new])
    return [
        f"re-import changed `{what}` output: {len(before)} -> {len(after)} rows, "
        f"{added} new or changed, {removed} gone or changed"
    ]


def _row_keys(rows: Iterable[Json]) -> list[str]:
    """A canonical string per row, for order-insensitive comparison."""
    return [json.dumps(row, sort_keys=True, ensure_ascii=False) for row in rows]


# --- companies -----------------------------------------------------------------------------------


def company_strings(company: Mapping[str, Json]) -> list[str]:
    """A company's ``name`` and each of its ``domains``."""
    domains = company.get("domains") or []
    return [as_text(company.get("name")), *(as_text(d) for d in alternatives(domains))]


def company_include_matches(entry: Json, company: Mapping[str, Json]) -> bool:
    """A string: name or a domain contains it; an object: name contains, and kind is equal."""
    if isinstance(entry, dict):
        name_ok = text_contains(entry.get("name_contains", ""), company.get("name"))
        kind_ok = "kind" not in entry or text_equals(entry["kind"], company.get("kind"))
        return name_ok and kind_ok
    return any(text_contains(entry, text) for text in company_strings(company))


def companies_mismatches(expect: Mapping[str, Json], companies: Sequence[Json]) -> list[str]:
    """``companies_include``, ``companies_exclude``, ``interactions``, ``first_at``, ``last_at``."""
    rows = [c for c in companies if isinstance(c, dict)]
    problems: list[str] = []
    for entry in expect.get("companies_include", []):
        if not any(company_include_matches(entry, c) for c in rows):
            problems.append(
                f"companies_include: no company matches {entry!r} (have {_company_names(rows)})"
            )
    for word in expect.get("companies_exclude", []):
        hits = [
            c.get("name") for c in rows if any(text_contains(word, s) for s in company_strings(c))
        ]
        if hits:
            problems.append(f"companies_exclude: {word!r} found in {hits!r}")
    if "interactions" in expect:
        total = sum(count_field(c, "interactions") for c in rows)
        if not count_matches(expect["interactions"], total):
            problems.append(
                f"interactions: {total}, expected {describe_count(expect['interactions'])}"
            )
    problems += _span_mismatches(expect, rows)
    return problems


def _company_names(rows: Sequence[Mapping[str, Json]]) -> str:
    """A short list of company names and kinds for a mismatch message."""
    shown = [f"{c.get('name')!r}/{c.get('kind')}" for c in rows[:8]]
    more = f" +{len(rows) - 8}" if len(rows) > 8 else ""
    return ", ".join(shown) + more if shown else "none"


def _span_mismatches(expect: Mapping[str, Json], rows: Sequence[Mapping[str, Json]]) -> list[str]:
    """Smallest ``first_at`` and largest ``last_at`` over all companies."""
    problems: list[str] = []
    for key, pick in (("first_at", min), ("last_at", max)):
        if key not in expect:
            continue
        raw = [c.get(key) for c in rows if c.get(key) is not None]
        parsed = [(instant_key(t), value) for value in raw if (t := parse_output_time(value))]
        if len(parsed) != len(raw):
            problems.append(f"{key}: unreadable time among {raw!r}")
        actual = pick(parsed, key=lambda pair: pair[0])[1] if parsed else None
        if not times_match(expect[key], actual):
            problems.append(f"{key}: {actual}, expected {expect[key]!r}")
    return problems


# --- timeline items ------------------------------------------------------------------------------


def item_cheap_mismatches(item: Mapping[str, Json], row: Mapping[str, Json]) -> list[str]:
    """The item keys that the timeline row alone can answer."""
    problems: list[str] = []
    if "occurred_at" in item and not times_match(item["occurred_at"], row.get("occurred_at")):
        problems.append(f"occurred_at {row.get('occurred_at')} != {item['occurred_at']!r}")
    for key in ("channel", "direction", "title"):
        if key in item and not text_equals(item[key], row.get(key)):
            problems.append(f"{key} {row.get(key)!r} != {item[key]!r}")
    if "sender_contains" in item and not text_contains(item["sender_contains"], row.get("sender")):
        problems.append(f"sender {row.get('sender')!r} lacks {item['sender_contains']!r}")
    return problems


def item_detail_mismatches(
    item: Mapping[str, Json], row: Mapping[str, Json], detail: Detail
) -> list[str]:
    """``text_contains`` (title or shown body) and ``attachments`` (count in ``kluis show``)."""
    title = norm(row.get("title"))
    needed = [t for t in item.get("text_contains", []) if norm(t) not in title]
    if not needed and "attachments" not in item:
        return []
    shown = detail(str(row.get("id")))
    if shown is None:
        return [f"`show {row.get('id')}` unreadable"]
    problems: list[str] = []
    body = norm(as_text(shown.get("body")))
    missing = [t for t in needed if norm(t) not in body]
    if missing:
        problems.append(f"text lacks {missing!r}")
    if "attachments" in item:
        attachments = shown.get("attachments")
        count = len(attachments) if isinstance(attachments, list) else 0
        if not count_matches(item["attachments"], count):
            problems.append(f"attachments {count} != {describe_count(item['attachments'])}")
    return problems


def item_mismatches(item: Mapping[str, Json], rows: Sequence[Json], detail: Detail) -> list[str]:
    """Empty if some timeline row matches the expected item; else why the closest row did not."""
    unknown = sorted(set(item) - ITEM_KEYS)
    if unknown:
        return [f"runner: unknown item keys {unknown}"]
    closest: tuple[int, str] | None = None
    for row in rows:
        if not isinstance(row, dict):
            continue
        problems = item_cheap_mismatches(item, row)
        # A row whose timeline fields all match is closer than any row that fails one.
        rank = len(problems) + 1
        if not problems:
            problems = item_detail_mismatches(item, row, detail)
            if not problems:
                return []
            rank = 0
        if closest is None or rank < closest[0]:
            closest = (rank, f"closest row {row.get('id')}: " + "; ".join(problems))
    return [closest[1]] if closest else ["the timeline is empty"]


def items_mismatches(
    items: Sequence[Mapping[str, Json]], rows: Sequence[Json], detail: Detail
) -> list[str]:
    """Every expected item must match at least one timeline row."""
    problems: list[str] = []
    for item in items:
        found = item_mismatches(item, rows, detail)
        if found:
            problems.append(f"item {_describe_item(item)}: no matching row; " + found[0])
    return problems


def _describe_item(item: Mapping[str, Json]) -> str:
    """A short name for an expected item in messages."""
    name = item.get("title") or item.get("text_contains") or item.get("sender_contains")
    return f"{name!r} at {item.get('occurred_at')!r}"


# --- bookings ------------------------------------------------------------------------------------


def booking_mismatches(expected: Mapping[str, Json], row: Mapping[str, Json]) -> list[str]:
    """Why one output booking row does not match one expected booking (empty: it matches)."""
    problems: list[str] = []
    for key in BOOKING_EQUAL_KEYS:
        if key in expected and not text_equals(expected[key], row.get(key)):
            problems.append(f"{key} {row.get(key)!r} != {expected[key]!r}")
    for key in BOOKING_TIME_KEYS:
        if key in expected and not times_match(expected[key], row.get(key)):
            problems.append(f"{key} {row.get(key)!r} != {expected[key]!r}")
    for key, field in BOOKING_CONTAINS_KEYS.items():
        if key in expected and not text_contains(expected[key], row.get(field)):
            problems.append(f"{field} {row.get(field)!r} lacks {expected[key]!r}")
    return problems


def assign_bookings(
    expected: Sequence[Mapping[str, Json]], rows: Sequence[Mapping[str, Json]]
) -> list[int] | None:
    """Give each output row its own expected booking, using every required one.

    Returns, per row, the index of the expected booking it matches, or None when no assignment
    exists. Required bookings (no ``"optional": true``) must all be used; optional ones at most
    once. Backtracking: the corpus has a handful of bookings per case.
    """
    fits = [
        [i for i, exp in enumerate(expected) if not booking_mismatches(exp, row)] for row in rows
    ]
    required = {i for i, exp in enumerate(expected) if not exp.get("optional")}
    used: list[int] = []

    def place(row: int) -> bool:
        if len(required - set(used)) > len(rows) - row:
            return False
        if row == len(rows):
            return True
        for candidate in fits[row]:
            if candidate not in used:
                used.append(candidate)
                if place(row + 1):
                    return True
                used.pop()
        return False

    return list(used) if place(0) else None


def bookings_mismatches(expected: Sequence[Mapping[str, Json]], rows: Sequence[Json]) -> list[str]:
    """Check ``kluis bookings --json`` rows against the case's ``bookings`` list."""
    unknown = sorted({k for exp in expected for k in exp} - BOOKING_KEYS)
    if unknown:
        return [f"runner: unknown booking keys {unknown}"]
    if any(not isinstance(row, dict) for row in rows):
        return ["bookings: a row is not an object"]
    if assign_bookings(expected, rows) is not None:
        return []
    required = [exp for exp in expected if not exp.get("optional")]
    if not len(required) <= len(rows) <= len(expected):
        problems = [f"bookings: {len(rows)} rows, expected {len(required)}..{len(expected)}"]
    else:
        problems = ["bookings: no one-to-one assignment of rows to expected bookings"]
    problems += _unmatched_bookings(expected, rows)
    return problems


def _unmatched_bookings(
    expected: Sequence[Mapping[str, Json]], rows: Sequence[Mapping[str, Json]]
) -> list[str]:
    """Expected bookings that match no row (with the closest row), and rows that match none."""
    problems: list[str] = []
    for exp in expected:
        if exp.get("optional"):
            continue
        tries = [booking_mismatches(exp, row) for row in rows]
        if all(tries):
            closest = min(tries, key=len) if tries else ["no rows"]
            problems.append(f"booking {_describe_booking(exp)}: " + "; ".join(closest))
    for row in rows:
        if all(booking_mismatches(exp, row) for exp in expected):
            problems.append(f"unexpected booking row {_describe_booking(row)}")
    return problems


def _describe_booking(booking: Mapping[str, Json]) -> str:
    """kind/reference/number of a booking for messages."""
    parts = (booking.get("kind"), booking.get("reference"), booking.get("number"))
    return "/".join(str(p) for p in parts if p)


# --- view output --------------------------------------------------------------------------------


def as_rows(value: Json, what: str) -> tuple[list[Json], list[str]]:
    """A view's ``--json`` output must be a list; return it (or []) with any complaint."""
    if isinstance(value, list):
        return value, []
    return [], [f"`{what}` did not print a JSON list"]
