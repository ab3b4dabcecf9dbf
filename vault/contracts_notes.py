"""What the user says of a contract that the payments cannot: the day it ends and its notice
period (``kluis contracts end``), kept in the vault's ``contract_note`` table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from vault.store import Conn, execute
from vault.timefmt import now_iso


@dataclass(frozen=True, slots=True)
class ContractNote:
    """The user's word on a company's contract."""

    company_id: int
    ends_on: date | None
    notice_days: int | None


def set_note(conn: Conn, company_id: int, ends_on: date | None, notice_days: int | None) -> None:
    """Keep the end and the notice period of ``company_id``'s contract (None keeps the one
    said before)."""
    before = note_of(conn, company_id)
    if before is not None:
        ends_on = ends_on or before.ends_on
        notice_days = notice_days if notice_days is not None else before.notice_days
    execute(
        conn,
        "INSERT OR REPLACE INTO contract_note(company_id, series, ends_on, notice_days, "
        "updated_at) VALUES (:c, '', :e, :n, :t)",
        {
            "c": company_id,
            "e": ends_on.isoformat() if ends_on else None,
            "n": notice_days,
            "t": now_iso(),
        },
    )


def clear_note(conn: Conn, company_id: int) -> None:
    """Forget what was said of ``company_id``'s contract."""
    execute(conn, "DELETE FROM contract_note WHERE company_id = :c", {"c": company_id})


def note_of(conn: Conn, company_id: int) -> ContractNote | None:
    """What was said of ``company_id``'s contract, or None."""
    row = execute(
        conn,
        "SELECT ends_on, notice_days FROM contract_note WHERE company_id = :c AND series = ''",
        {"c": company_id},
    ).first()
    if row is None:
        return None
    ends = date.fromisoformat(row.ends_on) if row.ends_on else None
    return ContractNote(company_id, ends, row.notice_days)


def all_notes(conn: Conn) -> dict[int, ContractNote]:
    """Every company's note."""
    rows = execute(conn, "SELECT company_id, ends_on, notice_days FROM contract_note").all()
    return {
        int(r.company_id): ContractNote(
            int(r.company_id), date.fromisoformat(r.ends_on) if r.ends_on else None, r.notice_days
        )
        for r in rows
    }
