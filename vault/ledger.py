"""The ledger of what the user gave away and asked back: disclosures (shares), revocations,
GDPR requests with their deadlines, the marketing-consent view, and "what a company knows
about me" with evidence from shares, the user's own outbound messages and bookings.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from typing import Any

from vault.errors import UsageError
from vault.store import Conn, execute
from vault.text import one_line
from vault.timefmt import iso, now_utc

# GDPR Art. 12(3): the controller answers "within one month of receipt of the request".
ARTICLES = {"access": "15", "rectification": "16", "erasure": "17", "portability": "20"}
DORMANT_YEARS = 3


def _loads(value: str | None, fallback: Any) -> Any:
    try:
        return json.loads(value) if value else fallback
    except ValueError:
        return fallback


# --- disclosures ------------------------------------------------------------------------------


def record_disclosure(
    conn: Conn,
    *,
    company_id: int,
    fields: dict[str, list[str]],
    interactions: list[int],
    purpose: str,
    shared_at: datetime,
    expires_at: datetime | None,
    receipt_id: str,
) -> int:
    """Insert a disclosure (before its package is written, so the receipt can cite its id)."""
    result = execute(
        conn,
        "INSERT INTO disclosure(company_id, fields, interactions, purpose, shared_at, "
        "expires_at, receipt_id) VALUES (:c, :f, :i, :p, :s, :e, :r)",
        {
            "c": company_id,
            "f": json.dumps(fields, ensure_ascii=False, sort_keys=True),
            "i": json.dumps(interactions),
            "p": purpose,
            "s": shared_at.isoformat(),
            "e": expires_at.isoformat() if expires_at else None,
            "r": receipt_id,
        },
    )
    return int(result.lastrowid or 0)


def complete_disclosure(conn: Conn, disclosure_id: int, path: str, sha256: str) -> None:
    """Record where the package went and its digest."""
    execute(
        conn,
        "UPDATE disclosure SET package_path = :p, package_sha256 = :h WHERE id = :i",
        {"p": path, "h": sha256, "i": disclosure_id},
    )


def _status(revoked_at: str | None, expires_at: str | None, now: datetime) -> str:
    if revoked_at:
        return "revoked"
    if expires_at and datetime.fromisoformat(expires_at) <= now:
        return "expired"
    return "active"


def _disclosure_json(row: Any, now: datetime) -> dict[str, Any]:
    fields = _loads(row.fields, {})
    status = _status(row.revoked_at, row.expires_at, now)
    return {
        "id": int(row.id),
        "company_id": int(row.company_id),
        "company": one_line(row.company),
        "fields": fields,
        "interactions": len(_loads(row.interactions, [])),
        "purpose": row.purpose,
        "shared_at": row.shared_at,
        "expires_at": row.expires_at,
        "expired": status == "expired",
        "revoked_at": row.revoked_at,
        "status": status,
        "package_path": row.package_path,
        "package_sha256": row.package_sha256,
        "receipt_id": row.receipt_id,
    }


_DISCLOSURE_SELECT = (
    "SELECT d.*, c.name AS company FROM disclosure d JOIN company c ON c.id = d.company_id "
)


def list_disclosures(
    conn: Conn, company_id: int | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The ledger, newest first; expired (and revoked) shares are flagged in ``status``."""
    where, params = ("WHERE d.company_id = :c ", {"c": company_id}) if company_id else ("", {})
    rows = execute(
        conn, _DISCLOSURE_SELECT + where + "ORDER BY d.shared_at DESC, d.id DESC", params
    ).all()
    return [_disclosure_json(row, now or now_utc()) for row in rows]


def get_disclosure(conn: Conn, disclosure_id: int) -> dict[str, Any]:
    """One disclosure.

    Raises:
        UsageError: there is none with that id.
    """
    row = execute(conn, _DISCLOSURE_SELECT + "WHERE d.id = :i", {"i": disclosure_id}).first()
    if row is None:
        raise UsageError(f"no disclosure with id {disclosure_id} (see `kluis disclosures`)")
    return _disclosure_json(row, now_utc())


def revoke_disclosure(conn: Conn, disclosure_id: int, now: datetime) -> dict[str, Any]:
    """Mark a disclosure revoked; returns it as it now stands.

    Raises:
        UsageError: no such disclosure, or it was revoked already.
    """
    disclosure = get_disclosure(conn, disclosure_id)
    if disclosure["revoked_at"]:
        raise UsageError(
            f"disclosure {disclosure_id} was already revoked on {disclosure['revoked_at'][:10]}"
        )
    execute(
        conn,
        "UPDATE disclosure SET revoked_at = :t WHERE id = :i",
        {"t": now.isoformat(), "i": disclosure_id},
    )
    disclosure.update(revoked_at=now.isoformat(), status="revoked", expired=False)
    return disclosure


# --- GDPR requests ----------------------------------------------------------------------------


def due_date(sent: date) -> date:
    """Art. 12(3): one calendar month after the request (31 Jan → 28/29 Feb)."""
    from dateutil.relativedelta import relativedelta

    due: date = sent + relativedelta(months=1)
    return due


def record_request(
    conn: Conn,
    *,
    company_id: int,
    kind: str,
    language: str,
    fields: dict[str, list[str]],
    letter_path: str | None,
    sent_at: datetime,
    disclosure_id: int | None = None,
) -> int:
    """Store a GDPR request with its deadline; returns its id."""
    result = execute(
        conn,
        "INSERT INTO gdpr_request(company_id, type, language, fields, letter_path, "
        "disclosure_id, sent_at, due_at) VALUES (:c, :t, :l, :f, :p, :d, :s, :u)",
        {
            "c": company_id,
            "t": kind,
            "l": language,
            "f": json.dumps(fields, ensure_ascii=False, sort_keys=True),
            "p": letter_path,
            "d": disclosure_id,
            "s": sent_at.isoformat(),
            "u": due_date(sent_at.date()).isoformat(),
        },
    )
    return int(result.lastrowid or 0)


def mark_answered(conn: Conn, request_id: int, when: datetime) -> None:
    """Record that the company answered request ``request_id``.

    Raises:
        UsageError: there is no such request.
    """
    result = execute(
        conn,
        "UPDATE gdpr_request SET answered_at = :t WHERE id = :i",
        {"t": when.isoformat(), "i": request_id},
    )
    if not result.rowcount:
        raise UsageError(f"no GDPR request with id {request_id} (see `kluis gdpr status`)")


def gdpr_status(conn: Conn, today: date | None = None) -> list[dict[str, Any]]:
    """Every request with its deadline; open requests past it are ``overdue``."""
    today = today or now_utc().date()
    rows = execute(
        conn,
        "SELECT r.*, c.name AS company FROM gdpr_request r "
        "JOIN company c ON c.id = r.company_id ORDER BY r.sent_at DESC, r.id DESC",
    ).all()
    out = []
    for row in rows:
        due = date.fromisoformat(row.due_at)
        status = "answered" if row.answered_at else "overdue" if today > due else "open"
        out.append(
            {
                "id": int(row.id),
                "company_id": int(row.company_id),
                "company": one_line(row.company),
                "type": row.type,
                "article": f"Art. {ARTICLES.get(row.type, '?')} GDPR",
                "language": row.language,
                "fields": sorted(_loads(row.fields, {})),
                "sent_at": row.sent_at,
                "due_at": row.due_at,
                "days_left": (due - today).days if status != "answered" else None,
                "overdue": status == "overdue",
                "answered_at": row.answered_at,
                "status": status,
                "letter_path": row.letter_path,
                "disclosure_id": row.disclosure_id,
            }
        )
    return out


# --- marketing consent ------------------------------------------------------------------------

_IS_LIST_MAIL = (
    "(json_extract(i.extras, '$.list_id') IS NOT NULL "
    "OR json_extract(i.extras, '$.list_unsubscribe') IS NOT NULL)"
)


_MONTH_SECONDS = 365.25 / 12 * 86400
_YEAR_SECONDS = 365 * 86400


def consent_view(conn: Conn, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per company: does it mail me marketing, how often, when did I last deal with it.

    Marketing is mail with a List-Unsubscribe or List-Id header (RFC 2369/2919): what bulk
    senders must carry. Its rate is over the year up to the company's last marketing mail (or
    its whole span when shorter, at least a month), so a sender that mails weekly shows about
    four a month whenever the vault is read. An account is alive while anyone acts on it:
    what I sent, any booking or order I made, and the service mail the company still sends
    me (inbound mail without list headers: invoices, bookings, account notices). A company
    with none of these for ``DORMANT_YEARS`` is dormant and suggested for erasure; a bank that
    sends statements or a municipality that sends notices is not.
    """
    now = now or now_utc()
    year_ago = int((now - timedelta(days=365)).timestamp())
    dormant_before = int((now - timedelta(days=365 * DORMANT_YEARS)).timestamp())
    rows = execute(
        conn,
        "WITH lists AS (SELECT i.company_id, min(i.occurred_at) AS first_list, "
        "max(i.occurred_at) AS last_list FROM interaction i "
        f"WHERE i.direction = 'in' AND {_IS_LIST_MAIL} GROUP BY i.company_id) "
        "SELECT c.id, c.name, c.kind, min(i.occurred_at) AS first_at, "
        "l.first_list, l.last_list, "
        f"sum(CASE WHEN i.direction = 'in' AND {_IS_LIST_MAIL} THEN 1 ELSE 0 END) AS lists, "
        f"sum(CASE WHEN i.direction = 'in' AND {_IS_LIST_MAIL} AND i.occurred_at >= :y "
        "THEN 1 ELSE 0 END) AS lists_year, "
        f"sum(CASE WHEN i.direction = 'in' AND {_IS_LIST_MAIL} "
        "AND i.occurred_at > l.last_list - :year THEN 1 ELSE 0 END) AS lists_window, "
        "max(CASE WHEN i.direction = 'out' THEN i.occurred_at END) AS last_out, "
        f"max(CASE WHEN i.direction = 'in' AND NOT {_IS_LIST_MAIL} THEN i.occurred_at END) "
        "AS last_service, "
        "max(CASE WHEN EXISTS (SELECT 1 FROM bookingsource s WHERE s.interaction_id = i.id) "
        "THEN i.occurred_at END) AS last_booking "
        "FROM company c JOIN interaction i ON i.company_id = c.id "
        "LEFT JOIN lists l ON l.company_id = c.id "
        "WHERE c.kind != 'person' GROUP BY c.id",
        {"y": year_ago, "year": _YEAR_SECONDS},
    ).all()
    out: list[dict[str, Any]] = []
    for row in rows:
        last_mine = max(
            (t for t in (row.last_out, row.last_booking) if t is not None), default=None
        )
        last_alive = max((t for t in (last_mine, row.last_service) if t is not None), default=None)
        # A mailing list's List-Unsubscribe is the list's, not marketing, and it is no company
        # to ask for erasure: its posters are people (DESIGN, company resolution 5).
        is_list = row.kind == "list"
        dormant = not is_list and (
            (last_alive if last_alive is not None else row.first_at) < dormant_before
        )
        unsubscribe = None
        if row.lists:
            unsubscribe = execute(
                conn,
                "SELECT json_extract(i.extras, '$.list_unsubscribe') FROM interaction i "
                "WHERE i.company_id = :c AND i.direction = 'in' AND "
                "json_extract(i.extras, '$.list_unsubscribe') IS NOT NULL "
                "ORDER BY i.occurred_at DESC LIMIT 1",
                {"c": row.id},
            ).scalar()
        suggestion = None
        if dormant:
            only = "only marketing" if row.last_list and row.last_list >= dormant_before else ""
            suggestion = f"{only or 'no contact'} for {DORMANT_YEARS}+ years: request erasure"
        elif row.lists_year and unsubscribe:
            suggestion = "unsubscribe if you no longer want these mails"
        out.append(
            {
                "company_id": int(row.id),
                "company": one_line(row.name),
                "marketing": bool(row.lists) and not is_list,
                "marketing_mails": int(row.lists or 0),
                "marketing_last_year": int(row.lists_year or 0),
                "per_month": _per_month(row.lists_window, row.first_list, row.last_list),
                "last_marketing_at": iso(row.last_list, 0),
                "unsubscribe": one_line(unsubscribe, 500) if unsubscribe else None,
                "last_outbound_at": iso(row.last_out, 0),
                "last_contact_at": iso(last_mine, 0),
                "last_service_at": iso(row.last_service, 0),
                "dormant": dormant,
                "suggestion": suggestion,
            }
        )
    out.sort(key=lambda r: (not r["marketing"], -r["per_month"], not r["dormant"], r["company"]))
    return out


def _per_month(mails: int | None, first: int | None, last: int | None) -> float:
    """Marketing mails a month over the year up to the last one (its span if shorter, 1+ month)."""
    if not mails or first is None or last is None:
        return 0.0
    span = min(last - first, _YEAR_SECONDS)
    return round(int(mails) / max(span / _MONTH_SECONDS, 1.0), 1)


def unsubscribe_link(header: str | None) -> str | None:
    """The link a person follows to unsubscribe: the List-Unsubscribe header's first https URL,
    else its first entry (often a mailto:)."""
    if not header:
        return None
    entries = [part.strip().strip("<>").strip() for part in header.split(",")]
    entries = [entry for entry in entries if entry]
    web = [entry for entry in entries if entry.lower().startswith("https://")]
    return (web or entries)[0] if entries else None


# --- what a company knows about me ------------------------------------------------------------

EVIDENCE_SHOWN = 10
_ATTRIBUTION = re.compile(
    r"^\s*(?:On .{4,200} wrote:|Op .{4,200} (?:schreef|heeft) .{0,80}:"
    r"|-{2,}\s*(?:Original Message|Oorspronkelijk bericht|Forwarded message|"
    r"Doorgestuurd bericht)\s*-{2,}|_{10,})\s*$",
    re.IGNORECASE,
)
_OUTLOOK_HEADER = re.compile(r"^\s*(?:From|Van)\s*:\s.+", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*(?:Sent|Date|Verzonden|Datum|To|Aan)\s*:", re.IGNORECASE)


def own_text(body: str) -> str:
    """What the user wrote in a message: quoted lines and the quoted or forwarded mail dropped.

    A reply quotes the company's mail, signature and phone number included; only the user's
    own words are evidence of what they told the company.
    """
    lines = body.splitlines()
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _ATTRIBUTION.match(line):
            break
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _OUTLOOK_HEADER.match(line) and _OUTLOOK_NEXT.match(following):
            break  # Outlook quotes with a header block instead of ">" marks
        if not line.lstrip().startswith(">"):
            kept.append(line)
    return "\n".join(kept)


def _excerpt(source: str, start: int, end: int) -> str:
    return one_line(source[max(0, start - 40) : end + 40], 140)


def _booking_text(row: Any) -> str:
    # Traveller names and the booking's details (contact data, delivery) are what the user gave;
    # origin and destination are the company's places, except where an order or parcel goes.
    parts = [str(t) for t in _loads(row.travellers, [])]
    parts += _strings(_loads(row.details, {}))
    if row.kind in ("order", "parcel") and row.destination_name:
        parts.append(str(row.destination_name))
    return "\n".join(parts)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _addressed_evidence(conn: Conn, company_id: int, address: str) -> dict[str, Any] | None:
    """The company's messages sent to ``address``: they have it, whoever gave it to them."""
    # Recipients are stored as JSON strings "Name <address>" or "address": match whole addresses.
    where = (
        "company_id = :c AND direction = 'in' "
        "AND (instr(lower(recipients), :bracketed) OR instr(lower(recipients), :quoted))"
    )
    address = address.casefold()
    params = {"c": company_id, "bracketed": f"<{address}>", "quoted": f'"{address}"'}
    count, first = execute(
        conn, f"SELECT count(*), min(occurred_at) FROM interaction WHERE {where}", params
    ).one()
    if not count:
        return None
    latest = execute(
        conn,
        f"SELECT id, occurred_at, tz_offset FROM interaction WHERE {where} "
        "ORDER BY occurred_at DESC, id DESC LIMIT 1",
        params,
    ).one()
    since = (iso(first, 0) or "")[:10]
    return {
        "source": "addressed",
        "disclosure_id": None,
        "interaction_id": int(latest.id),
        "at": iso(latest.occurred_at, latest.tz_offset),
        "how": f"they write to you at this address ({count:,} message"
        f"{'s' if count != 1 else ''} since {since})",
        "excerpt": address,
    }


def knows(conn: Conn, company_id: int) -> list[dict[str, Any]]:
    """Every profile value the company has, each with its evidence, newest evidence first.

    Evidence comes from four places, never from what the company itself wrote:
    shares (the ledger), the user's own outbound messages (sender, title, own text), the
    addresses the company's messages were sent to, and the traveller and contact data of the
    company's bookings. Values shared earlier but since
    changed in the profile are listed too: the company still has them.
    """
    from vault.profile import ProfileValue, find_value, load_profile, spec_for

    profile = load_profile(conn)
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def add(value: ProfileValue, evidence: dict[str, Any]) -> None:
        found.setdefault((value.key, value.value), []).append(evidence)

    shared: dict[tuple[str, str], ProfileValue] = {}
    for disclosure in list_disclosures(conn, company_id):
        for key, values in disclosure["fields"].items():
            for shared_value in values:
                match = next((p for p in profile if p.key == key and p.value == shared_value), None)
                if match is None:
                    try:
                        spec = spec_for(key)
                        category, sensitivity = spec.category, spec.sensitivity
                    except UsageError:
                        category, sensitivity = "other", "normal"
                    match = ProfileValue(0, key, shared_value, category, sensitivity, "")
                shared[(key, shared_value)] = match
                add(
                    match,
                    {
                        "source": "share",
                        "disclosure_id": disclosure["id"],
                        "interaction_id": None,
                        "at": disclosure["shared_at"],
                        "how": f"shared ({disclosure['status']})",
                        "excerpt": one_line(disclosure["purpose"] or ""),
                    },
                )

    messages = execute(
        conn,
        "SELECT id, occurred_at, tz_offset, title, body, sender FROM interaction "
        "WHERE company_id = :c AND direction = 'out' ORDER BY occurred_at DESC, id DESC",
        {"c": company_id},
    ).all()
    for message in messages:
        at = iso(message.occurred_at, message.tz_offset)
        parts = [("sender", message.sender or ""), ("title", message.title or "")]
        parts.append(("text", own_text(message.body or "")))
        for value in profile:
            for where, source in parts:
                hits = find_value(value.key, value.value, source)
                if hits:
                    hit = hits[0]
                    add(
                        value,
                        {
                            "source": "message",
                            "disclosure_id": None,
                            "interaction_id": int(message.id),
                            "at": at,
                            "how": f"{hit.how} in your message's {where}",
                            "excerpt": _excerpt(source, hit.start, hit.end),
                        },
                    )
                    break

    for value in profile:
        if value.key == "email":
            addressed = _addressed_evidence(conn, company_id, value.value)
            if addressed is not None:
                add(value, addressed)

    bookings = execute(
        conn,
        "SELECT b.id, b.kind, b.reference, b.travellers, b.details, b.destination_name, "
        "min(s.interaction_id) AS interaction_id, max(i.occurred_at) AS occurred_at "
        "FROM booking b LEFT JOIN bookingsource s ON s.booking_id = b.id "
        "LEFT JOIN interaction i ON i.id = s.interaction_id "
        "WHERE b.company_id = :c GROUP BY b.id",
        {"c": company_id},
    ).all()
    for booking in bookings:
        source = _booking_text(booking)
        for value in profile:
            hits = find_value(value.key, value.value, source)
            if hits:
                add(
                    value,
                    {
                        "source": "booking",
                        "disclosure_id": None,
                        "booking_id": int(booking.id),
                        "interaction_id": booking.interaction_id,
                        "at": iso(booking.occurred_at, 0),
                        "how": f"{hits[0].how} in {booking.kind} {booking.reference or ''}".strip(),
                        "excerpt": _excerpt(source, hits[0].start, hits[0].end),
                    },
                )

    by_key = {(p.key, p.value): p for p in profile} | shared
    out = []
    for (key, stored), evidence in found.items():
        field = by_key[(key, stored)]
        evidence.sort(key=lambda e: e["at"] or "", reverse=True)
        out.append(
            {
                "key": key,
                "value": stored,
                "category": field.category,
                "sensitivity": field.sensitivity,
                "in_profile": field.id != 0,
                "sources": sorted({e["source"] for e in evidence}),
                "evidence_count": len(evidence),
                "evidence": evidence[:EVIDENCE_SHOWN],
            }
        )
    out.sort(key=lambda r: (r["key"], r["value"]))
    return out
