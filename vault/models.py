"""The vault's tables (DESIGN, "Data model"), as SQLModel models: the one definition of the
current schema. A new vault is made from them (``create_schema``) plus
``SCHEMA_SQL``, what SQLModel cannot declare; an older vault reaches the same schema through the
migrations, and ``tests/test_schema.py`` checks that both ways give the same tables.

The classes are named ``…Table`` (the table itself is ``__tablename__``), so that no name means
both a table and a record of ``vault.records``.

Times: ``interaction.occurred_at`` is UTC epoch seconds (an integer sorts and pages fast) with
the source's offset in minutes beside it; other timestamps are ISO 8601 strings with offset.
JSON columns hold text written by ``json.dumps``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, Integer, Text, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlmodel import Column, Field, SQLModel, UniqueConstraint

from vault.search_index import GUARD_TRIGGERS, PERIODS, SEARCH_VIEW_SQL, key_sql
from vault.store import Conn, execute


def default(value: Any) -> Any:
    """A default that the database applies too, so plain SQL inserts may leave the column out."""
    server = str(int(value)) if isinstance(value, bool | int) else value
    return Field(default=value, sa_column_kwargs={"server_default": server})


class MetaTable(SQLModel, table=True):
    """Key/value facts about the vault itself: schema version, vault id."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True)
    value: str


class CompanyTable(SQLModel, table=True):
    """A company, a person, or a counterpart not yet known."""

    __tablename__ = "company"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    kind: str = default("company")  # company | person | list | unknown
    created_at: str
    notes: str | None = None
    user_named: bool = default(False)  # renamed by the user: imports never rename it again


class IdentifierTable(SQLModel, table=True):
    """Something that points to a company: a mail domain, an address, a phone, a chat handle."""

    __tablename__ = "identifier"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # email_domain | email_address | phone | chat_handle | name | list_id
    value: str
    company_id: int = Field(foreign_key="company.id", index=True)
    origin: str = default("rule")  # rule | user


class DisplayNameTable(SQLModel, table=True):
    """How often each display name was seen for a company; the most frequent names it."""

    __tablename__ = "displayname"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    name: str
    seen: int = default(0)
    # schema 5: a name that is no brand evidence ("Admissions Office") votes only when shared
    brand: int = Field(default=1, sa_column_kwargs={"server_default": text("1")})


class CompanyEditTable(SQLModel, table=True):
    """A user edit (rename, merge, alias, split) with what it changed, so it can be undone."""

    __tablename__ = "companyedit"

    id: int | None = Field(default=None, primary_key=True)
    action: str
    summary: str
    undo: str  # JSON: the steps that reverse it
    created_at: str
    undone_at: str | None = None


class SourceTable(SQLModel, table=True):
    """Where items came from: a file or folder of a format, an IMAP account."""

    __tablename__ = "source"
    __table_args__ = (UniqueConstraint("kind", "locator"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    locator: str
    created_at: str
    settings: str = default("{}")


class ImportRunTable(SQLModel, table=True):
    """One `kluis import` or `sync`: what it read and what came of it."""

    __tablename__ = "importrun"

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


class SourceCursorTable(SQLModel, table=True):
    """How far a source has been read, committed with the batch it ends."""

    __tablename__ = "sourcecursor"

    key: str = Field(primary_key=True)
    state: str
    updated_at: str


class BlobTable(SQLModel, table=True):
    """Bytes stored once per content hash, compressed where that pays (``vault.blobs``)."""

    __tablename__ = "blob"

    sha256: str = Field(primary_key=True)
    size: int
    data: bytes
    # schema 7: how ``data`` is stored, "zlib" or "raw" (bytes compressed already); schema 9:
    # or "skeleton" (a raw mail rebuilt from its attachments' blobs, ``vault.skeleton``)
    codec: str = Field(default="zlib", sa_column_kwargs={"server_default": "zlib"})


class ThreadTable(SQLModel, table=True):
    """A conversation: a mail thread root or a chat."""

    __tablename__ = "thread"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    title: str | None = None


class InteractionTable(SQLModel, table=True):
    """One contact: a mail, a chat message, a booking document, a note."""

    __tablename__ = "interaction"
    __table_args__ = (
        Index("ix_interaction_timeline", "company_id", "occurred_at", "id"),
        Index("ix_interaction_time", "occurred_at", "id"),
        # schema 3: FTS5 fetches snippet text by time key through the search view: a seek
        Index("ix_interaction_search_key", text(key_sql())),
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


class MoneyTable(SQLModel, table=True):
    """What an interaction states was paid or is due (schema 6): a decimal as text, positive
    (the interaction's direction says who paid whom), in the currency stated, never converted;
    ``guessed`` when read from a mail's words rather than markup or a bank statement."""

    __tablename__ = "money"

    interaction_id: int = Field(foreign_key="interaction.id", primary_key=True)
    value: str
    currency: str | None = None
    guessed: bool = default(False)


class ContractNoteTable(SQLModel, table=True):
    """What the user says of a contract (schema 6): the day it ends and its notice period.
    ``series`` is the SEPA mandate, or empty for a company's contract without one."""

    __tablename__ = "contract_note"
    __table_args__ = (UniqueConstraint("company_id", "series"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    series: str = default("")
    ends_on: str | None = None
    notice_days: int | None = None
    updated_at: str


class AttachmentTable(SQLModel, table=True):
    """A file that came with an interaction."""

    __tablename__ = "attachment"

    id: int | None = Field(default=None, primary_key=True)
    interaction_id: int = Field(foreign_key="interaction.id", index=True)
    filename: str
    mime: str
    size: int
    blob_sha: str = Field(foreign_key="blob.sha256")


class BookingTable(SQLModel, table=True):
    """A reservation segment, order or parcel, merged across confirmations and changes."""

    __tablename__ = "booking"
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


class BookingSourceTable(SQLModel, table=True):
    """Which interaction confirmed, changed or cancelled a booking."""

    __tablename__ = "bookingsource"

    booking_id: int = Field(foreign_key="booking.id", primary_key=True)
    interaction_id: int = Field(foreign_key="interaction.id", primary_key=True)
    role: str = default("confirmed")


class ProfileFieldTable(SQLModel, table=True):
    """One fact of the user's own profile."""

    __tablename__ = "profilefield"
    __table_args__ = (UniqueConstraint("key", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True)
    value: str
    category: str = default("other")
    sensitivity: str = default("normal")
    updated_at: str


class DisclosureTable(SQLModel, table=True):
    """One share with a company: what was shared, why, until when, and the package written."""

    __tablename__ = "disclosure"

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


class QuarantineTable(SQLModel, table=True):
    """An item that could not be parsed, kept with its raw bytes and the reason."""

    __tablename__ = "quarantine"

    id: int | None = Field(default=None, primary_key=True)
    import_run_id: int | None = Field(default=None, foreign_key="importrun.id")
    source_ref: str
    blob_sha: str = Field(foreign_key="blob.sha256")
    reason: str
    created_at: str
    dedup_key: str = Field(unique=True)


def _key() -> Any:
    """``id INTEGER PRIMARY KEY`` as the hand-written tables of later schemas declare it."""
    return Field(default=None, sa_column=Column(Integer, primary_key=True, nullable=True))


def _text(*, server_default: str | None = None, nullable: bool = False) -> Any:
    """A TEXT column, as the hand-written tables of later schemas declare them."""
    return Field(
        default=None if nullable else ...,
        sa_type=Text,
        nullable=nullable,
        sa_column_kwargs={} if server_default is None else {"server_default": server_default},
    )


class GdprRequestTable(SQLModel, table=True):
    """A GDPR access or erasure request and its deadline (schema 2)."""

    __tablename__ = "gdpr_request"
    __table_args__ = (Index("ix_gdpr_request_company", "company_id"),)

    id: int | None = _key()
    company_id: int = Field(foreign_key="company.id")
    type: str = _text()
    language: str = _text(server_default="en")
    fields: str = _text(server_default="{}")
    letter_path: str | None = _text(nullable=True)
    disclosure_id: int | None = Field(default=None, foreign_key="disclosure.id")
    sent_at: str = _text()
    due_at: str = _text()
    answered_at: str | None = _text(nullable=True)
    note: str | None = _text(nullable=True)


class SuggestionDecisionTable(SQLModel, table=True):
    """A merge suggestion the user accepted or rejected, never offered again (schema 5).

    Company ids are plain integers, not references: undoing a split deletes its company."""

    __tablename__ = "suggestion_decision"
    __table_args__ = (UniqueConstraint("source_id", "target_id"),)

    id: int | None = _key()
    source_id: int
    target_id: int
    decision: str = _text()
    evidence: str = _text(server_default="[]")
    decided_at: str = _text()


class FtsPeriodTable(SQLModel, table=True):
    """A period of time that has its own FTS5 table (schema 4, ``vault.search_index``)."""

    __tablename__ = PERIODS

    id: int | None = _key()


SCHEMA_SQL: list[str] = [SEARCH_VIEW_SQL, *GUARD_TRIGGERS]
"""What SQLModel cannot declare: the view the FTS5 tables read their text through, and the
triggers refusing an item whose period has no FTS5 table. The FTS5 tables themselves are made
with each period's first item (``vault.search_index.period_sql``)."""


def create_schema(conn: Conn) -> None:
    """Lay out the current schema in an empty database: every table and index of the models,
    then ``SCHEMA_SQL``."""
    dialect = sqlite.dialect()
    for table in SQLModel.metadata.sorted_tables:
        execute(conn, str(CreateTable(table).compile(dialect=dialect)))
        for index in sorted(table.indexes, key=lambda index: str(index.name)):
            execute(conn, str(CreateIndex(index).compile(dialect=dialect)))
    for statement in SCHEMA_SQL:
        execute(conn, statement)
