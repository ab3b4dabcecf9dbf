"""Booking merge: one row per (company, kind, reference, segment), updated by later sources."""

from __future__ import annotations

import itertools
import json
import re
from datetime import datetime
from typing import Any

from vault.records import Booking, join_people, join_seats, seat_list
from vault.store import Conn, execute

_MERGED_FIELDS = (
    "segment",
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
        "details": json.dumps(
            {**booking.details, **({"provider": booking.provider} if booking.provider else {})},
            ensure_ascii=False,
            sort_keys=True,
            default=str,
        ),
        "modified_at": _iso(booking.modified_at),
    }


def _rows(db: Conn, query: str, params: dict[str, Any]) -> list[Any]:
    return execute(db, query, params).all()


def strong_reference(reference: str) -> bool:
    """A reference specific enough to find a booking by itself (``is_weak_reference`` says
    which are not: short, regular, or a short run of digits that shops number orders with)."""
    return not is_weak_reference(reference)


def _matches(db: Conn, row: dict[str, Any], named: bool) -> list[Any]:
    """Bookings this record updates: the same leg of the same company's reference.

    A record without leg facts (a cancellation that carries only its reference) updates every
    leg of that reference. Another company's booking is a match only with a second signal,
    since two shops number orders alike and two airlines' PNRs can collide: the same leg
    (number, day and origin), or, for a record that names no company at all (a bare
    cancellation), a strong reference.
    """
    if not row["reference"]:
        query = (
            "SELECT * FROM booking WHERE company_id=:company_id AND kind=:kind "
            "AND reference='' AND segment=:segment"
        )
        return _rows(db, query, row)
    leg = "" if not row["segment"] else " AND segment=:segment"
    query = f"SELECT * FROM booking WHERE kind=:kind AND reference=:reference{leg}"
    found = _rows(db, query + " AND company_id=:company_id ORDER BY id", row)
    if not found and row["segment"]:  # a booking first known by its reference alone
        bare = "SELECT * FROM booking WHERE kind=:kind AND reference=:reference AND segment=''"
        found = _rows(db, bare + " AND company_id=:company_id ORDER BY id LIMIT 1", row)
    if found or not (row["segment"] or (not named and strong_reference(row["reference"]))):
        return found
    elsewhere = _rows(db, query + " ORDER BY id", row)
    if leg:
        return elsewhere[:1]
    company = elsewhere[0]["company_id"] if elsewhere else None
    return [b for b in elsewhere if b["company_id"] == company]


def _precision(value: str) -> int:
    """0 for a day, 1 for a local time, 2 for an instant (``vault.records.Booking``)."""
    if len(value) <= 10:
        return 0
    return 2 if _instant(value) is not None else 1


def _instant(value: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if value and len(value) > 10 else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def _same_time(new: str, old: str) -> bool:
    """True when two times agree as far as both go: the day as written, the wall clock where
    both have one, the instant where both are instants."""
    if new[:10] != old[:10]:
        return False
    if min(_precision(new), _precision(old)) == 0:
        return True
    if new[11:16] != old[11:16]:
        return False
    a, b = _instant(new), _instant(old)
    return a is None or b is None or a == b


def _merged(name: str, new: Any, old: Any, adds_people: bool) -> tuple[Any, bool]:
    """(value to keep, whether it is a change of the booking) for one field of a later source.

    Learning more is not a change: a time on a booking known by its day, a traveller or seat
    on one that had fewer, a spelling of the same name ("DE VRIES/SANNE MS").
    """
    if name in ("start_at", "end_at") and _same_time(new, old):
        return (new if _precision(new) > _precision(old) else old), False
    if name == "travellers":
        joined = join_people(json.loads(old), json.loads(new))
        return json.dumps(joined, ensure_ascii=False), False
    if name == "seat":
        if set(seat_list(new)) <= set(seat_list(old)):
            return old, False
        if adds_people:  # the seat of the traveller this source adds
            return join_seats(old, new), False
    return new, True


def _older(row: dict[str, Any], existing: Any) -> bool:
    """True when this source says it was written before the booking's latest source did."""
    new, old = _instant(row["modified_at"]), _instant(existing["modified_at"])
    return new is not None and old is not None and new < old


def _update(db: Conn, existing: Any, row: dict[str, Any], cancelled: bool) -> tuple[str, bool]:
    """Apply ``row`` to one existing booking; returns (role of the source, changed).

    Sources apply in the order they were written, whatever order they are imported in: an
    older source only fills what the booking lacks, and never sets its status.
    """
    older = _older(row, existing)
    # A bill states what is due; it does not change the order it bills.
    billed = "invoice" in json.loads(row["details"] or "{}")
    had = json.loads(existing["travellers"] or "[]")
    adds_people = len(join_people(had, json.loads(row["travellers"]))) > len(had)
    updates: dict[str, Any] = {}
    changed = False
    for name in _MERGED_FIELDS:
        new, old = row[name], existing[name]
        if new in (None, "", "[]", "{}") or new == old:
            continue
        if old in (None, "", "[]"):
            updates[name] = new  # filling a gap is learning more, not a change
            continue
        if older or (billed and name in ("price", "currency")):
            continue
        value, is_change = _merged(name, new, old, adds_people)
        if value != old:
            updates[name] = value
        changed |= is_change
    if older:
        role, status = ("cancelled" if cancelled else "confirmed"), existing["status"]
    elif cancelled:
        role, status = "cancelled", "cancelled"
    elif changed:
        role, status = "changed", "changed"
    else:
        role, status = "confirmed", existing["status"]
    if status != existing["status"]:
        updates["status"] = status
    if not older and (changed or status != existing["status"] or row["modified_at"]):
        updates["modified_at"] = row["modified_at"] or existing["modified_at"]
    # Details (ticket numbers, barcodes) accumulate from every source without being a change.
    details = {**json.loads(existing["details"] or "{}"), **json.loads(row["details"] or "{}")}
    merged = json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)
    if merged != existing["details"]:
        updates["details"] = merged
    updates = {k: v for k, v in updates.items() if v != existing[k]}
    if updates:
        assignments = ", ".join(f"{name}=:{name}" for name in updates)
        execute(
            db,
            f"UPDATE booking SET {assignments} WHERE id=:booking_id",
            {**updates, "booking_id": existing["id"]},
        )
    return role, changed or "status" in updates


def _link(db: Conn, booking_id: int, interaction_id: int, role: str) -> None:
    execute(
        db,
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


def existing_company(db: Conn, booking: Booking) -> int | None:
    """The company that already holds this booking, for a document that names no one.

    The same second signal as a merge across companies: the same leg, or, for a record with
    no leg facts, a strong reference.
    """
    if not booking.reference:
        return None
    row = booking_row(booking)
    if not row["segment"] and not strong_reference(booking.reference):
        return None
    leg = " AND segment=:segment" if row["segment"] else ""
    found = execute(
        db,
        f"SELECT company_id FROM booking WHERE kind=:kind AND reference=:reference{leg} "
        "ORDER BY id LIMIT 1",
        row,
    ).first()
    return int(found[0]) if found is not None else None


def merge_booking(db: Conn, company_id: int, interaction_id: int, booking: Booking) -> bool:
    """Insert or update the booking and link the interaction; True if an existing one changed."""
    row = booking_row(booking)
    row["company_id"] = company_id
    matches = _matches(db, row, named=bool(booking.provider or booking.provider_domain))
    if not matches:
        columns = ", ".join(row)
        values = ", ".join(f":{name}" for name in row)
        cursor = execute(db, f"INSERT INTO booking({columns}) VALUES ({values})", row)
        role = "cancelled" if booking.status == "cancelled" else "confirmed"
        _link(db, int(cursor.lastrowid or 0), interaction_id, role)
        return False
    changed = False
    for existing in matches:
        role, this_changed = _update(db, existing, row, booking.status == "cancelled")
        _link(db, int(existing["id"]), interaction_id, role)
        changed |= this_changed
    return changed
