"""Versioned schema migrations, applied in order inside one transaction each.

Migration 1 creates the first schema from the models. Every later change is a new function
appended to ``MIGRATIONS`` with explicit SQL: a migration never changes once released.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, text

FTS_SQL = [
    # External content: the text lives once, in `interaction`; triggers keep the index in step.
    """CREATE VIRTUAL TABLE interaction_fts USING fts5(
        title, body, counterpart, content='interaction', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER interaction_fts_insert AFTER INSERT ON interaction BEGIN
        INSERT INTO interaction_fts(rowid, title, body, counterpart)
        VALUES (new.id, new.title, new.body, new.counterpart);
    END""",
    """CREATE TRIGGER interaction_fts_delete AFTER DELETE ON interaction BEGIN
        INSERT INTO interaction_fts(interaction_fts, rowid, title, body, counterpart)
        VALUES ('delete', old.id, old.title, old.body, old.counterpart);
    END""",
    """CREATE TRIGGER interaction_fts_update AFTER UPDATE OF title, body, counterpart
        ON interaction BEGIN
        INSERT INTO interaction_fts(interaction_fts, rowid, title, body, counterpart)
        VALUES ('delete', old.id, old.title, old.body, old.counterpart);
        INSERT INTO interaction_fts(rowid, title, body, counterpart)
        VALUES (new.id, new.title, new.body, new.counterpart);
    END""",
]


def _initial_schema(conn: Connection) -> None:
    # Deferred: SQLModel (and pydantic) cost start-up time and are only needed to lay out tables.
    from sqlmodel import SQLModel

    from vault import models

    assert models.Interaction.__tablename__  # importing the models registers every table
    SQLModel.metadata.create_all(conn)
    for statement in FTS_SQL:
        conn.execute(text(statement))


def _gdpr_requests(conn: Connection) -> None:
    # GDPR requests have their own lifecycle (sent, due, answered) that a disclosure row lacks;
    # `disclosure_id` links the erasure letter written by `kluis revoke`.
    conn.execute(
        text(
            """CREATE TABLE gdpr_request (
            id INTEGER PRIMARY KEY,
            company_id INTEGER NOT NULL REFERENCES company(id),
            type TEXT NOT NULL,
            language TEXT NOT NULL DEFAULT 'en',
            fields TEXT NOT NULL DEFAULT '{}',
            letter_path TEXT,
            disclosure_id INTEGER REFERENCES disclosure(id),
            sent_at TEXT NOT NULL,
            due_at TEXT NOT NULL,
            answered_at TEXT,
            note TEXT)"""
        )
    )
    conn.execute(text("CREATE INDEX ix_gdpr_request_company ON gdpr_request(company_id)"))


MIGRATIONS: list[Callable[[Connection], None]] = [_initial_schema, _gdpr_requests]
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: Connection) -> int:
    """The schema version of the open database (0 for a new one)."""
    row = conn.execute(
        text("SELECT name FROM sqlite_master WHERE type='table' AND name='meta'")
    ).first()
    if row is None:
        return 0
    value = conn.execute(text("SELECT value FROM meta WHERE key='schema_version'")).scalar()
    return int(value or 0)


def migrate(conn: Connection) -> int:
    """Bring the schema up to date; returns how many migrations ran."""
    version = current_version(conn)
    for number in range(version, SCHEMA_VERSION):
        MIGRATIONS[number](conn)
        conn.execute(
            text("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', :v)"),
            {"v": str(number + 1)},
        )
    return SCHEMA_VERSION - version
