"""The user's edits of companies: rename, merge, alias, split, and undo of the last one.

Edits are rules: they change identifiers (origin ``user``) and flags in the vault, so every
later import obeys them. Each edit records the steps that reverse it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from vault.domains import is_personal_provider, registrable_domain
from vault.errors import UsageError
from vault.names import brand_key, is_role_address
from vault.queries import find_company
from vault.store import Conn, execute
from vault.timefmt import now_iso

_MOVABLE = ("identifier", "interaction", "booking", "disclosure", "gdpr_request")


def _record(conn: Conn, action: str, summary: str, undo: list[dict[str, Any]]) -> str:
    execute(
        conn,
        "INSERT INTO companyedit(action, summary, undo, created_at) VALUES (:a, :s, :u, :t)",
        {"a": action, "s": summary, "u": json.dumps(undo), "t": now_iso()},
    )
    return summary


def _ids(conn: Conn, sql: str, **params: Any) -> list[int]:
    return [int(r[0]) for r in execute(conn, sql, params)]


def _move(conn: Conn, table: str, ids: list[int], company_id: int) -> None:
    assert table in _MOVABLE
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join(str(i) for i in chunk)
        execute(conn, f"UPDATE {table} SET company_id=:c WHERE id IN ({marks})", {"c": company_id})


def rename(conn: Conn, company: str, new_name: str) -> str:
    """Give a company the user's name for it; imports never rename it after this."""
    new_name = new_name.strip()
    if not new_name:
        raise UsageError("a company name cannot be empty")
    company_id, old_name = find_company(conn, company)
    user_named = execute(
        conn, "SELECT user_named FROM company WHERE id=:c", {"c": company_id}
    ).scalar()
    if new_name == old_name and user_named:
        return f"{old_name!r} already has that name; nothing changed"
    execute(
        conn,
        "UPDATE company SET name=:n, user_named=1 WHERE id=:c",
        {"n": new_name, "c": company_id},
    )
    undo: list[dict[str, Any]] = [
        {"op": "rename", "company": company_id, "name": old_name, "user_named": bool(user_named)}
    ]
    # The user's name finds the company too: a chat or document under that name joins it.
    key = brand_key(new_name)
    if (
        key
        and execute(
            conn, "SELECT 1 FROM identifier WHERE kind='name' AND value=:v", {"v": key}
        ).first()
        is None
    ):
        result = execute(
            conn,
            "INSERT INTO identifier(kind, value, company_id, origin) "
            "VALUES ('name', :v, :c, 'user')",
            {"v": key, "c": company_id},
        )
        undo.append({"op": "delete_identifier", "id": int(result.lastrowid or 0)})
    done = (
        f"kept the name {new_name!r}: imports will not rename it"
        if new_name == old_name
        else f"renamed {old_name!r} to {new_name!r}"
    )
    return _record(conn, "rename", done, undo)


def merge(conn: Conn, company: str, into: str) -> str:
    """Move everything of ``company`` into ``into``: identifiers, items, bookings, shares."""
    source_id, source_name = find_company(conn, company)
    target_id, target_name = find_company(conn, into)
    if source_id == target_id:
        raise UsageError("a company cannot be merged into itself")
    undo: list[dict[str, Any]] = []
    identifiers = execute(
        conn, "SELECT id, origin FROM identifier WHERE company_id=:c", {"c": source_id}
    ).all()
    for origin in {row.origin for row in identifiers}:
        undo.append(
            {
                "op": "origin",
                "ids": [r.id for r in identifiers if r.origin == origin],
                "origin": origin,
            }
        )
    execute(conn, "UPDATE identifier SET origin='user' WHERE company_id=:c", {"c": source_id})
    for table in _MOVABLE:
        if table == "booking":
            # A booking the target already has (same kind, reference, segment) stays behind.
            ids = _ids(
                conn,
                "SELECT b.id FROM booking b WHERE b.company_id=:s AND NOT EXISTS ("
                "SELECT 1 FROM booking t WHERE t.company_id=:t AND t.kind=b.kind "
                "AND t.reference=b.reference AND t.segment=b.segment)",
                s=source_id,
                t=target_id,
            )
        else:
            ids = _ids(conn, f"SELECT id FROM {table} WHERE company_id=:s", s=source_id)
        _move(conn, table, ids, target_id)
        undo.append({"op": "move", "table": table, "ids": ids, "company": source_id})
    # Items imported while merged, through the merged company's identifiers, go back too.
    undo.append(
        {"op": "move_by_identifier", "ids": [r.id for r in identifiers], "company": source_id}
    )
    # Merging says "this is the company": later mail under other names must not rename it.
    named = execute(conn, "SELECT user_named FROM company WHERE id=:c", {"c": target_id}).scalar()
    execute(conn, "UPDATE company SET user_named=1 WHERE id=:c", {"c": target_id})
    undo.append(
        {"op": "rename", "company": target_id, "name": target_name, "user_named": bool(named)}
    )
    return _record(conn, "merge", f"merged {source_name!r} into {target_name!r}", undo)


def identifier_for(value: str) -> tuple[str, str]:
    """(kind, value) of what a user typed: an address, a phone number, a domain, or a name."""
    value = value.strip()
    if "@" in value:
        return "email_address", value.casefold()
    if re.fullmatch(r"\+?[\d ()./-]{6,}", value):
        return "phone", re.sub(r"[^\d+]", "", value)
    if re.fullmatch(r"[\w-]+(\.[\w-]+)+", value):
        return "email_domain", registrable_domain(value)
    if value.startswith(("telegram:", "whatsapp:", "messenger:", "instagram:")):
        return "chat_handle", value
    if value.casefold().startswith("list:"):
        return "list_id", value[5:].strip().casefold()
    return "name", brand_key(value) or value.casefold()


def _address_of(counterpart: str | None) -> str:
    """The address in a stored counterpart ``Name <address>`` (or a bare address)."""
    text_value = (counterpart or "").strip()
    if text_value.endswith(">") and "<" in text_value:
        text_value = text_value[text_value.rindex("<") + 1 : -1]
    return text_value.casefold()


def _claim_matching_items(
    conn: Conn, kind: str, value: str, company_id: int, identifier_id: int
) -> list[dict[str, Any]]:
    """Move items whose counterpart is this new address or domain, and the addresses of that
    domain known as identifiers, so the next import follows; return the undo steps.

    At a domain anyone can have an address at (freemail, an internet provider), only role
    addresses (klantenservice@, noreply@) move: the people there stay themselves.
    """
    if kind == "email_address":
        pattern = f"%<{value}>"
        exact = value
    elif kind == "email_domain":
        pattern, exact = f"%@{value}>", f"%@{value}"
    else:
        return []
    rows = execute(
        conn,
        "SELECT id, company_id, resolved_by, counterpart FROM interaction "
        "WHERE lower(counterpart) LIKE :p OR lower(counterpart) LIKE :e",
        {"p": pattern, "e": exact},
    ).all()
    anyones = kind == "email_domain" and is_personal_provider(value)
    if anyones:
        rows = [r for r in rows if is_role_address(_address_of(r.counterpart))]
    undo: list[dict[str, Any]] = []
    for (old_company, old_identifier), group in _group(rows).items():
        undo.append({"op": "move", "table": "interaction", "ids": group, "company": old_company})
        undo.append({"op": "resolved_by", "ids": group, "identifier": old_identifier})
    ids = [int(r.id) for r in rows]
    _move(conn, "interaction", ids, company_id)
    _set_resolved_by(conn, ids, identifier_id)
    if kind == "email_domain":
        addresses = execute(
            conn,
            "SELECT id, company_id, origin, value FROM identifier "
            "WHERE kind='email_address' AND value LIKE :e AND company_id != :c",
            {"e": exact, "c": company_id},
        ).all()
        moved = [r for r in addresses if not anyones or is_role_address(str(r.value))]
        for row in moved:
            undo.append({"op": "origin", "ids": [row.id], "origin": row.origin})
            undo.append(
                {"op": "move", "table": "identifier", "ids": [row.id], "company": row.company_id}
            )
        _move(conn, "identifier", [int(r.id) for r in moved], company_id)
        marks = ", ".join(str(int(r.id)) for r in moved) or "NULL"
        execute(conn, f"UPDATE identifier SET origin='user' WHERE id IN ({marks})")
    return undo


def _group(rows: Any) -> dict[tuple[int, int | None], list[int]]:
    groups: dict[tuple[int, int | None], list[int]] = {}
    for row in rows:
        groups.setdefault((int(row.company_id), row.resolved_by), []).append(int(row.id))
    return groups


def _set_resolved_by(conn: Conn, ids: list[int], identifier_id: int | None) -> None:
    for start in range(0, len(ids), 500):
        marks = ", ".join(str(i) for i in ids[start : start + 500])
        execute(
            conn,
            f"UPDATE interaction SET resolved_by=:r WHERE id IN ({marks})",
            {"r": identifier_id},
        )


def alias(conn: Conn, company: str, value: str) -> str:
    """Make ``value`` (a domain, address, phone, handle or name) point to ``company``.

    Items already resolved through that identifier move along.
    """
    company_id, name = find_company(conn, company)
    kind, ident = identifier_for(value)
    row = execute(
        conn,
        "SELECT id, company_id, origin FROM identifier WHERE kind=:k AND value=:v",
        {"k": kind, "v": ident},
    ).first()
    undo: list[dict[str, Any]]
    if row is None:
        result = execute(
            conn,
            "INSERT INTO identifier(kind, value, company_id, origin) VALUES (:k, :v, :c, 'user')",
            {"k": kind, "v": ident, "c": company_id},
        )
        identifier_id = int(result.lastrowid or 0)
        undo = [{"op": "delete_identifier", "id": identifier_id}]
        undo += _claim_matching_items(conn, kind, ident, company_id, identifier_id)
    elif row.company_id == company_id and row.origin == "user":
        return f"{value} already belongs to {name!r}; nothing changed"
    else:
        undo = _move_identifier(conn, row.id, row.origin, company_id, row.company_id)
    return _record(conn, "alias", f"{value} now belongs to {name!r}", undo)


def split(conn: Conn, company: str, value: str, new_name: str | None = None) -> str:
    """Move one identifier of ``company`` (and its items) out into a new company."""
    company_id, name = find_company(conn, company)
    kind, ident = identifier_for(value)
    row = execute(
        conn,
        "SELECT id, origin FROM identifier WHERE kind=:k AND value=:v AND company_id=:c",
        {"k": kind, "v": ident, "c": company_id},
    ).first()
    if row is None:
        raise UsageError(f"{name!r} has no identifier {value!r} to split off")
    kind_of_company = execute(
        conn, "SELECT kind FROM company WHERE id=:c", {"c": company_id}
    ).scalar()
    result = execute(
        conn,
        "INSERT INTO company(name, kind, created_at, user_named) VALUES (:n, :k, :t, :u)",
        {"n": new_name or value, "k": kind_of_company, "t": now_iso(), "u": new_name is not None},
    )
    new_id = int(result.lastrowid or 0)
    undo = _move_identifier(conn, row.id, row.origin, new_id, company_id)
    undo.append({"op": "delete_company", "id": new_id})
    return _record(conn, "split", f"split {value} off {name!r} as {new_name or value!r}", undo)


def _move_identifier(
    conn: Conn, identifier_id: int, origin: str, company_id: int, back: int
) -> list[dict[str, Any]]:
    """Move an identifier and the items it resolved to ``company_id``, made the user's; the
    steps that undo it (back to company ``back``, the identifier's ``origin`` again)."""
    items = _ids(conn, "SELECT id FROM interaction WHERE resolved_by=:i", i=identifier_id)
    _move(conn, "identifier", [identifier_id], company_id)
    _move(conn, "interaction", items, company_id)
    execute(conn, "UPDATE identifier SET origin='user' WHERE id=:i", {"i": identifier_id})
    return [
        {"op": "origin", "ids": [identifier_id], "origin": origin},
        {"op": "move", "table": "identifier", "ids": [identifier_id], "company": back},
        {"op": "move", "table": "interaction", "ids": items, "company": back},
    ]


def last_edit(conn: Conn) -> str | None:
    """The summary of the edit ``undo_last`` would reverse, or None when there is none."""
    summary = execute(
        conn, "SELECT summary FROM companyedit WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1"
    ).scalar()
    return str(summary) if summary is not None else None


def undo_last(conn: Conn) -> str:
    """Reverse the most recent edit not yet undone."""
    row = execute(
        conn,
        "SELECT id, summary, undo FROM companyedit WHERE undone_at IS NULL "
        "ORDER BY id DESC LIMIT 1",
    ).first()
    if row is None:
        raise UsageError("there is no company edit to undo")
    for step in json.loads(row.undo):
        _reverse(conn, step)
    execute(conn, "UPDATE companyedit SET undone_at=:t WHERE id=:i", {"t": now_iso(), "i": row.id})
    return f"undid: {row.summary}"


def _reverse(conn: Conn, step: dict[str, Any]) -> None:
    op = step["op"]
    if op == "rename":
        execute(
            conn,
            "UPDATE company SET name=:n, user_named=:u WHERE id=:c",
            {"n": step["name"], "u": step["user_named"], "c": step["company"]},
        )
    elif op == "move":
        _move(conn, step["table"], step["ids"], step["company"])
    elif op == "origin":
        marks = ", ".join(str(int(i)) for i in step["ids"]) or "NULL"
        execute(
            conn, f"UPDATE identifier SET origin=:o WHERE id IN ({marks})", {"o": step["origin"]}
        )
    elif op == "move_by_identifier":
        marks = ", ".join(str(int(i)) for i in step["ids"]) or "NULL"
        execute(
            conn,
            f"UPDATE interaction SET company_id=:c WHERE resolved_by IN ({marks})",
            {"c": step["company"]},
        )
    elif op == "resolved_by":
        _set_resolved_by(conn, step["ids"], step["identifier"])
    elif op == "delete_identifier":
        execute(conn, "DELETE FROM identifier WHERE id=:i", {"i": step["id"]})
    elif op == "delete_company":
        execute(conn, "DELETE FROM displayname WHERE company_id=:i", {"i": step["id"]})
        execute(conn, "DELETE FROM company WHERE id=:i", {"i": step["id"]})
