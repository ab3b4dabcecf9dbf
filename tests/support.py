"""Helpers for tests: records as an importer would yield them, and shared constants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from vault.records import CompanyHints, ImportOptions, Interaction, Party

PASSPHRASE = "correct horse battery"
SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def options(*me: str) -> ImportOptions:
    """Import options in UTC for the given own addresses."""
    return ImportOptions(timezone=UTC, me_addresses=frozenset(m.casefold() for m in me))


def mail(
    n: int,
    sender: str = "KLM <noreply@klm.com>",
    *,
    to: str = "me@example.org",
    title: str | None = None,
    body: str = "Hello",
    direction: str = "in",
    when: datetime | None = None,
    hints: CompanyHints | None = None,
    thread: str | None = None,
) -> Interaction:
    """A mail record as an importer would yield it."""
    name, _, address = sender.rpartition("<")
    sender_party = Party(name.strip() or None, address.rstrip(">") or sender)
    return Interaction(
        channel="email",
        direction=direction,  # type: ignore[arg-type]
        occurred_at=when or datetime(2024, 1, 1, 12, tzinfo=UTC) + timedelta(hours=n),
        title=title or f"Mail {n}",
        body=body,
        source_ref=f"test/{n}.eml",
        dedup_key=f"msgid:{n}@test",
        sender=sender_party,
        recipients=[Party(None, to)],
        raw=f"Subject: Mail {n}\n\n{body}".encode(),
        hints=hints or CompanyHints(),
        thread_key=thread,
    )
