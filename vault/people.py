"""People: one person across mail, WhatsApp, Telegram, Messenger and Instagram.

A person is a ``company`` row of kind ``person`` (DESIGN, data model); ``vault.companies``
joins a person's channels by address, phone, chat handle and the same full name, and
``vault.suggestions`` offers the uncertain rest ("Lisa" may be "Lisa Bakker"). This lists them
the way a contacts view shows them, for ``kluis people`` and the app.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from vault.store import Conn, execute
from vault.text import one_line
from vault.timefmt import iso

_CHAT_SOURCES = ("whatsapp", "telegram", "messenger", "instagram", "facebook")


@dataclass(frozen=True, slots=True)
class PersonRow:
    """One person as ``kluis people`` lists them."""

    id: int
    name: str
    channels: list[str]  # email, whatsapp, telegram, messenger, … in the order first seen
    addresses: list[str]
    phones: list[str]
    handles: list[str]
    interactions: int
    first_at: str | None
    last_at: str | None

    def to_json(self) -> dict[str, Any]:
        """The contract's object."""
        return asdict(self)


def _channel(channel: str, handle: str | None) -> str:
    """``email``, or a chat's network from its thread key (``whatsapp:…``), else the channel."""
    if channel == "chat" and handle:
        prefix = handle.split(":", 1)[0].casefold()
        if prefix in _CHAT_SOURCES:
            return prefix
    return channel


def list_people(conn: Conn) -> list[PersonRow]:
    """Every person with items, most recent contact first."""
    rows = execute(
        conn,
        (
            "SELECT c.id, c.name, count(i.id) AS n, min(i.occurred_at) AS first, "
            "max(i.occurred_at) AS last FROM company c JOIN interaction i ON i.company_id = c.id "
            "WHERE c.kind = 'person' GROUP BY c.id ORDER BY last DESC, c.id"
        ),
    ).all()
    channels: dict[int, list[str]] = defaultdict(list)
    for company_id, channel, key in execute(
        conn,
        (
            "SELECT i.company_id, i.channel, t.key FROM interaction i "
            "JOIN company c ON c.id = i.company_id LEFT JOIN thread t ON t.id = i.thread_id "
            "WHERE c.kind = 'person' GROUP BY i.company_id, i.channel, t.key "
            "ORDER BY min(i.occurred_at)"
        ),
    ):
        name = _channel(str(channel), key)
        if name not in channels[int(company_id)]:
            channels[int(company_id)].append(name)
    idents: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for company_id, kind, value in execute(
        conn,
        (
            "SELECT d.company_id, d.kind, d.value FROM identifier d JOIN company c "
            "ON c.id = d.company_id WHERE c.kind = 'person' ORDER BY d.value"
        ),
    ):
        idents[int(company_id)][str(kind)].append(one_line(str(value)))
    return [
        PersonRow(
            id=int(r.id),
            name=one_line(r.name),
            channels=channels[int(r.id)],
            addresses=idents[int(r.id)]["email_address"],
            phones=idents[int(r.id)]["phone"],
            handles=idents[int(r.id)]["chat_handle"],
            interactions=int(r.n),
            first_at=iso(r.first, 0),
            last_at=iso(r.last, 0),
        )
        for r in rows
    ]
