"""Booking merge: one row per (company, kind, reference, segment), updated by later sources."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

from vault.records import Booking

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
    "details",
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


def merge_booking(conn: Connection, company_id: int, interaction_id: int, booking: Booking) -> bool:
    """Insert or update the booking and link the interaction; True if an existing one changed."""
    row = booking_row(booking)
    row["company_id"] = company_id
    existing = (
        conn.execute(
            text(
                "SELECT * FROM booking WHERE company_id=:company_id AND kind=:kind "
                "AND reference=:reference AND segment=:segment"
            ),
            row,
        )
        .mappings()
        .first()
    )
    if existing is None:
        columns = ", ".join(row)
        values = ", ".join(f":{name}" for name in row)
        result = conn.execute(text(f"INSERT INTO booking({columns}) VALUES ({values})"), row)
        booking_id, role, changed = int(result.lastrowid or 0), "confirmed", False
    else:
        booking_id = int(existing["id"])
        updates = {
            name: row[name]
            for name in _MERGED_FIELDS
            if row[name] not in (None, "[]", "{}") and row[name] != existing[name]
        }
        if booking.status == "cancelled":
            role, status = "cancelled", "cancelled"
        elif updates:
            role, status = "changed", "changed"
        else:
            role, status = "confirmed", existing["status"]
        changed = bool(updates) or status != existing["status"]
        if changed:
            updates["status"] = status
            updates["modified_at"] = row["modified_at"]
            assignments = ", ".join(f"{name}=:{name}" for name in updates)
            conn.execute(
                text(f"UPDATE booking SET {assignments} WHERE id=:booking_id"),
                {**updates, "booking_id": booking_id},
            )
    conn.execute(
        text(
            "INSERT OR IGNORE INTO bookingsource(booking_id, interaction_id, role) "
            "VALUES (:b, :i, :r)"
        ),
        {"b": booking_id, "i": interaction_id, "r": role},
    )
    return changed
