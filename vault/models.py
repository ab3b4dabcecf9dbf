"""The vault's tables (DESIGN, "Data model"), as SQLModel models.

Times: ``interaction.occurred_at`` is UTC epoch seconds (an integer sorts and pages fast) with
the source's offset in minutes beside it; other timestamps are ISO 8601 strings with offset.
JSON columns hold text written by ``json.dumps``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel, UniqueConstraint


def default(value: Any) -> Any:
    """A default that the database applies too, so plain SQL inserts may leave the column out."""
    server = str(int(value)) if isinstance(value, bool | int) else value
    return Field(default=value, sa_column_kwargs={"server_default": server})


class Meta(SQLModel, table=True):
    """Key/value facts about the vault itself: schema version, vault id."""

    key: str = Field(primary_key=True)
    value: str


class Company(SQLModel, table=True):
    """A company, a person, or a counterpart not yet known."""

    id: int | None = Field(default=None, primary_key=True)
    name: str
    kind: str = default("company")  # company | person | list | unknown
    created_at: str
    notes: str | None = None
    user_named: bool = default(False)  # renamed by the user: imports never rename it again


class Identifier(SQLModel, table=True):
    """Something that points to a company: a mail domain, an address, a phone, a chat handle."""

    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # email_domain | email_address | phone | chat_handle | name | list_id
    value: str
    company_id: int = Field(foreign_key="company.id", index=True)
    origin: str = default("rule")  # rule | user


class DisplayName(SQLModel, table=True):
    """How often each display name was seen for a company; the most frequent names it."""

    __table_args__ = (UniqueConstraint("company_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    name: str
    seen: int = default(0)


class CompanyEdit(SQLModel, table=True):
    """A user edit (rename, merge, alias, split) with what it changed, so it can be undone."""

    id: int | None = Field(default=None, primary_key=True)
    action: str
    summary: str
    undo: str  # JSON: the steps that reverse it
    created_at: str
    undone_at: str | None = None


class Source(SQLModel, table=True):
    """Where items came from: a file or folder of a format, an IMAP account."""

    __table_args__ = (UniqueConstraint("kind", "locator"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    locator: str
    created_at: str
    settings: str = default("{}")


class ImportRun(SQLModel, table=True):
    """One `kluis import` or `sync`: what it read and what came of it."""

    id: int | None = Field(default=None, primary_key=True)
    source_id: int | None = Field(default=None, foreign_key="source.id")
    format: str
    started_at: str
    finished_at: str | None = None
    status: str = default("running")  # running | done | failed
    new: int = default(0)
    duplicate: int = default(0)
    updated: int = default(0)
    quarantined: int = default(0)
    errors: int = default(0)


class SourceCursor(SQLModel, table=True):
    """How far a source has been read, committed with the batch it ends."""

    key: str = Field(primary_key=True)
    state: str
    updated_at: str


class Blob(SQLModel, table=True):
    """Bytes stored once per content hash, zlib-compressed."""

    sha256: str = Field(primary_key=True)
    size: int
    data: bytes


class Thread(SQLModel, table=True):
    """A conversation: a mail thread root or a chat."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    title: str | None = None


class Interaction(SQLModel, table=True):
    """One contact: a mail, a chat message, a booking document, a note."""

    __table_args__ = (
        Index("ix_interaction_timeline", "company_id", "occurred_at", "id"),
        Index("ix_interaction_time", "occurred_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    resolved_by: int | None = Field(default=None, foreign_key="identifier.id", index=True)
    channel: str
    direction: str
    occurred_at: int
    tz_offset: int | None = None  # minutes east of UTC, None when the source had no zone
    title: str
    body: str
    sender: str | None = None
    recipients: str = default("[]")
    counterpart: str | None = None
    thread_id: int | None = Field(default=None, foreign_key="thread.id", index=True)
    source_id: int | None = Field(default=None, foreign_key="source.id")
    source_ref: str
    dedup_key: str = Field(unique=True)
    raw_blob: str | None = Field(default=None, foreign_key="blob.sha256")
    extras: str = default("{}")


class Attachment(SQLModel, table=True):
    """A file that came with an interaction."""

    id: int | None = Field(default=None, primary_key=True)
    interaction_id: int = Field(foreign_key="interaction.id", index=True)
    filename: str
    mime: str
    size: int
    blob_sha: str = Field(foreign_key="blob.sha256")


class Booking(SQLModel, table=True):
    """A reservation segment, order or parcel, merged across confirmations and changes."""

    __table_args__ = (UniqueConstraint("company_id", "kind", "reference", "segment"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    kind: str
    reference: str
    segment: str = default("")
    status: str = default("confirmed")
    number: str | None = None
    start_at: str | None = None
    end_at: str | None = None
    origin_name: str | None = None
    origin_code: str | None = None
    destination_name: str | None = None
    destination_code: str | None = None
    travellers: str = default("[]")
    seat: str | None = None
    price: str | None = None
    currency: str | None = None
    details: str = default("{}")
    modified_at: str | None = None


class BookingSource(SQLModel, table=True):
    """Which interaction confirmed, changed or cancelled a booking."""

    booking_id: int = Field(foreign_key="booking.id", primary_key=True)
    interaction_id: int = Field(foreign_key="interaction.id", primary_key=True)
    role: str = default("confirmed")


class ProfileField(SQLModel, table=True):
    """One fact of the user's own profile."""

    __table_args__ = (UniqueConstraint("key", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True)
    value: str
    category: str = default("other")
    sensitivity: str = default("normal")
    updated_at: str


class Disclosure(SQLModel, table=True):
    """One share with a company: what was shared, why, until when, and the package written."""

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    fields: str = default("{}")
    interactions: str = default("[]")
    purpose: str | None = None
    shared_at: str
    expires_at: str | None = None
    revoked_at: str | None = None
    package_path: str | None = None
    package_sha256: str | None = None
    receipt_id: str | None = None


class Quarantine(SQLModel, table=True):
    """An item that could not be parsed, kept with its raw bytes and the reason."""

    id: int | None = Field(default=None, primary_key=True)
    import_run_id: int | None = Field(default=None, foreign_key="importrun.id")
    source_ref: str
    blob_sha: str = Field(foreign_key="blob.sha256")
    reason: str
    created_at: str
    dedup_key: str = Field(unique=True)
