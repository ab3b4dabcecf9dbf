"""Booking merge: one row per (company, kind, reference, segment), updated by later sources."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import sqlcipher3

from vault.records import Booking
from vault.store import RawConnection

_MERGED_FIELDS = (
    "number",
    "start_at",
    "end_at",
    "origin_name",
    "origin_code",
    "destination_name",
    "destination_code",
    "travellers",
    "seat",
    "price",
    "currency",
)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def booking_row(booking: Booking) -> dict[str, Any]:
    """The column values of a booking record."""
    return {
        "kind": booking.kind,
        "reference": booking.reference or "",
        "segment": booking.segment or "",
        "status": booking.status,
        "number": booking.number,
        "start_at": _iso(booking.start),
        "end_at": _iso(booking.end),
        "origin_name": booking.origin.name if booking.origin else None,
        "origin_code": booking.origin.code if booking.origin else None,
        "destination_name": booking.destination.name if booking.destination else None,
        "destination_code": booking.destination.code if booking.destination else None,
        "travellers": json.dumps(booking.travellers, ensure_ascii=False),
        "seat": booking.seat,
        "price": str(booking.price) if booking.price is not None else None,
        "currency": booking.currency,
        "details": json.dumps(booking.details, ensure_ascii=False, sort_keys=True, default=str),
        "modified_at": _iso(booking.modified_at),
    }


def _rows(db: RawConnection, query: str, params: dict[str, Any]) -> list[Any]:
    cursor = db.cursor()
    cursor.row_factory = sqlcipher3.Row
    return list(cursor.execute(query, params))


def _matches(db: RawConnection, row: dict[str, Any]) -> list[Any]:
    """Bookings of this company this record updates: the same leg of the same reference.

    A record without leg facts (a cancellation that carries only its reference) updates every
    leg of that reference. Another company's booking of the same reference is never touched:
    a case never spans companies unless the user merges them (DESIGN: merge key company +
    kind + reference).
    """
    if not row["reference"]:
        query = (
            "SELECT * FROM booking WHERE company_id=:company_id AND kind=:kind "
            "AND reference='' AND segment=:segment"
        )
        return _rows(db, query, row)
    leg = "" if not row["segment"] else " AND segment=:segment"
    query = (
        "SELECT * FROM booking WHERE kind=:kind AND reference=:reference "
        f"AND company_id=:company_id{leg} ORDER BY id"
    )
    return _rows(db, query, row)


def _less_precise(name: str, row: dict[str, Any], existing: Any) -> bool:
    """True when ``row`` only restates what the booking has, less precisely.

    A boarding pass knows the flight's day but not its time, and spells names its own way
    ("DE VRIES/SANNE MS"): neither is a change of the booking.
    """
    if name in ("start_at", "end_at"):
        date_only = json.loads(row["details"] or "{}").get("date_only")
        same_day = (existing[name] or "")[:10] == (row[name] or "")[:10]
        return bool(date_only and existing[name] and same_day)
    if name == "travellers":
        return existing[name] not in (None, "[]")
    return False


def _update(
    db: RawConnection, existing: Any, row: dict[str, Any], cancelled: bool
) -> tuple[str, bool]:
    """Apply ``row`` to one existing booking; returns (role of the source, changed)."""
    updates = {
        name: row[name]
        for name in _MERGED_FIELDS
        if row[name] not in (None, "[]", "{}")
        and row[name] != existing[name]
        and not _less_precise(name, row, existing)
    }
    if cancelled:
        role, status = "cancelled", "cancelled"
    elif updates:
        role, status = "changed", "changed"
    else:
        role, status = "confirmed", existing["status"]
    changed = bool(updates) or status != existing["status"]
    if changed:
        updates["status"] = status
        updates["modified_at"] = row["modified_at"]
    # Details (ticket numbers, barcodes) accumulate from every source without being a change.
    details = {**json.loads(existing["details"] or "{}"), **json.loads(row["details"] or "{}")}
    merged = json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)
    if merged != existing["details"]:
        updates["details"] = merged
    if updates:
        assignments = ", ".join(f"{name}=:{name}" for name in updates)
        db.execute(
            f"UPDATE booking SET {assignments} WHERE id=:booking_id",
            {**updates, "booking_id": existing["id"]},
        )
    return role, changed


def _link(db: RawConnection, booking_id: int, interaction_id: int, role: str) -> None:
    db.execute(
        "INSERT OR IGNORE INTO bookingsource(booking_id, interaction_id, role) VALUES (?, ?, ?)",
        (booking_id, interaction_id, role),
    )


_RUN = 5  # "12345", "ABCDE": a run this long is a placeholder or a counter, not a code


def is_weak_reference(reference: str | None) -> bool:
    """True for a reference too short or too regular to tie two sources together on its own:
    "XXX007", "1234567", "ABCDEFG", "KDEKDEKDE", a 5-digit number. Such a reference needs a
    second signal (the same company, thread or name) before it joins anything."""
    code = re.sub(r"[^0-9A-Za-z]", "", reference or "").upper()
    if len(code) < 6 or len(set(code)) <= len(code) // 2:
        return True
    if code.isdigit() and len(code) < 8:
        return True
    run = 1
    for before, after in itertools.pairwise(code):
        run = run + 1 if abs(ord(after) - ord(before)) == 1 else 1
        if run >= _RUN:
            return True
    return False


def existing_company(db: RawConnection, booking: Booking) -> int | None:
    """The company that already holds this booking's reference, if one does."""
    if not booking.reference:
        return None
    found = db.execute(
        "SELECT company_id FROM booking WHERE kind=? AND reference=? ORDER BY id LIMIT 1",
        (booking.kind, booking.reference),
    ).fetchone()
    return int(found[0]) if found is not None else None


def merge_booking(
    db: RawConnection, company_id: int, interaction_id: int, booking: Booking
) -> bool:
    """Insert or update the booking and link the interaction; True if an existing one changed."""
    row = booking_row(booking)
    row["company_id"] = company_id
    matches = _matches(db, row)
    if not matches:
        columns = ", ".join(row)
        values = ", ".join(f":{name}" for name in row)
        cursor = db.execute(f"INSERT INTO booking({columns}) VALUES ({values})", row)
        _link(db, int(cursor.lastrowid or 0), interaction_id, "confirmed")
        return False
    changed = False
    for existing in matches:
        role, this_changed = _update(db, existing, row, booking.status == "cancelled")
        _link(db, int(existing["id"]), interaction_id, role)
        changed |= this_changed
    return changed
