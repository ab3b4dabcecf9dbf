"""The schema: a new vault is laid out from ``vault.models`` at the latest version; an older
one is migrated step by step, inside one transaction.

Migration 1 is schema 1's frozen DDL (``vault.schema_v1``). Every later change is a new function
appended to ``MIGRATIONS`` with explicit SQL, together with the same change to the models: a
migration never changes once released, and ``tests/test_schema.py`` checks that a vault
migrated from schema 1 and a new one have the same tables, columns, indexes and keys.
"""

from __future__ import annotations

from collections.abc import Callable

from vault.search_index import (
    GUARD_SQL,
    PERIODS,
    SEARCH_VIEW_SQL,
    fts_values,
    insert_trigger,
    key_sql,
    period_keys,
    period_of_key,
    period_sql,
)
from vault.store import Conn, execute


def _initial_schema(conn: Conn) -> None:
    from vault.schema_v1 import V1_SQL  # history: a new vault is laid out from the models

    for statement in V1_SQL:
        execute(conn, statement)


def _gdpr_requests(conn: Conn) -> None:
    # GDPR requests have their own lifecycle (sent, due, answered) that a disclosure row lacks;
    # `disclosure_id` links the erasure letter written by `kluis revoke`.
    execute(
        conn,
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
            note TEXT)""",
    )
    execute(conn, "CREATE INDEX ix_gdpr_request_company ON gdpr_request(company_id)")


# Search v3: the FTS rowid is a time key, (occurred_at << 30) + id, so the index itself yields
# hits newest first and "ORDER BY rowid DESC LIMIT 50" stops after 50 hits whatever a word's
# frequency (v2 sorted every hit by time: 0.5 s for a common word at 200,000 items). ``scope``
# holds "c<company id> <channel>" so the company and channel filters are FTS terms too, and
# prefix='2 3' indexes short prefixes ("ab*", "abo*") ahead. Ids stay below 2**30, and times
# outside 1833-2106 (a mail dated 1 Jan 0001 or 9999) are clamped so the key fits 64 bits: such
# items still sort before or after everything else. (v4 splits this one table by period.)
SEARCH_V3_SQL = [
    "DROP TRIGGER IF EXISTS interaction_fts_insert",
    "DROP TRIGGER IF EXISTS interaction_fts_delete",
    "DROP TRIGGER IF EXISTS interaction_fts_update",
    "DROP TABLE IF EXISTS interaction_fts",
    # FTS5 fetches snippet text by key through the view: this index makes that a seek.
    f"CREATE INDEX ix_interaction_search_key ON interaction({key_sql()})",
    SEARCH_VIEW_SQL,
    """CREATE VIRTUAL TABLE interaction_fts USING fts5(
        title, body, counterpart, scope, content='interaction_search',
        content_rowid='search_key', tokenize='unicode61 remove_diacritics 2', prefix='2 3')""",
    f"""CREATE TRIGGER interaction_fts_insert AFTER INSERT ON interaction BEGIN
        INSERT INTO interaction_fts(rowid, title, body, counterpart, scope)
        VALUES ({fts_values("new.")});
    END""",
    f"""CREATE TRIGGER interaction_fts_delete AFTER DELETE ON interaction BEGIN
        INSERT INTO interaction_fts(interaction_fts, rowid, title, body, counterpart, scope)
        VALUES ('delete', {fts_values("old.")});
    END""",
    f"""CREATE TRIGGER interaction_fts_update AFTER UPDATE OF
        title, body, counterpart, occurred_at, company_id, channel ON interaction BEGIN
        INSERT INTO interaction_fts(interaction_fts, rowid, title, body, counterpart, scope)
        VALUES ('delete', {fts_values("old.")});
        INSERT INTO interaction_fts(rowid, title, body, counterpart, scope)
        VALUES ({fts_values("new.")});
    END""",
    # One transaction: a vault killed mid-rebuild rolls back to v2 whole and upgrades on the
    # next open, never a half-built index.
    "INSERT INTO interaction_fts(interaction_fts) VALUES ('rebuild')",
]


def _time_keyed_search(conn: Conn) -> None:
    for statement in SEARCH_V3_SQL:
        execute(conn, statement)


def _search_by_period(conn: Conn) -> None:
    # v4: one FTS table per period of time (vault.search_index), so a prefix query merges the
    # doclists of the newest period only. The view and key index of v3 stay.
    for statement in SEARCH_V3_SQL[:4] + GUARD_SQL:
        execute(conn, statement)
    # Walk the key index from period to period: one seek each, not a scan of every item.
    key = execute(conn, f"SELECT min({key_sql()}) FROM interaction").scalar()
    while key is not None:
        period = period_of_key(int(key))
        for statement in period_sql(period):
            execute(conn, statement)
        key = execute(
            conn,
            f"SELECT min({key_sql()}) FROM interaction WHERE {key_sql()} > :high",
            {"high": period_keys(period)[1]},
        ).scalar()


def _identity(conn: Conn) -> None:
    # v5, company identity: a display name that is not brand evidence ("Admissions Office")
    # votes only once several senders share it (``brand`` 0); merge suggestions the user
    # accepted or rejected are remembered, so a rejected one is never offered again. Company
    # ids are plain integers here, not references: undoing a split deletes its company.
    execute(conn, "ALTER TABLE displayname ADD COLUMN brand INTEGER NOT NULL DEFAULT 1")
    execute(
        conn,
        """CREATE TABLE suggestion_decision (
            id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL,
            target_id INTEGER NOT NULL,
            decision TEXT NOT NULL,
            evidence TEXT NOT NULL DEFAULT '[]',
            decided_at TEXT NOT NULL,
            UNIQUE (source_id, target_id))""",
    )


def _money(conn: Conn) -> None:
    # v6, what you pay: the amount an interaction states (a bank payment, an invoice, an
    # order), and what the user says of a contract (its end, its notice period).
    execute(
        conn,
        """CREATE TABLE money (
            interaction_id INTEGER NOT NULL,
            value VARCHAR NOT NULL,
            currency VARCHAR,
            guessed BOOLEAN DEFAULT '0' NOT NULL,
            PRIMARY KEY (interaction_id),
            FOREIGN KEY(interaction_id) REFERENCES interaction (id))""",
    )
    execute(
        conn,
        """CREATE TABLE contract_note (
            id INTEGER NOT NULL,
            company_id INTEGER NOT NULL,
            series VARCHAR DEFAULT '' NOT NULL,
            ends_on VARCHAR,
            notice_days INTEGER,
            updated_at VARCHAR NOT NULL,
            PRIMARY KEY (id),
            UNIQUE (company_id, series),
            FOREIGN KEY(company_id) REFERENCES company (id))""",
    )
    execute(conn, "CREATE INDEX ix_contract_note_company_id ON contract_note (company_id)")


def _blob_codec(conn: Conn) -> None:
    # v7: each blob says how it is stored. Every blob so far is zlib-compressed; from now on
    # bytes that are compressed already (JPEG, zip, most PDF scans) are stored as they are.
    execute(conn, "ALTER TABLE blob ADD COLUMN codec VARCHAR DEFAULT 'zlib' NOT NULL")


def _index_per_batch(conn: Conn) -> None:
    # v8: the writer indexes each batch's new items at its end (search_index.index_new), one
    # INSERT … SELECT per period, at half the CPU of FTS5 fed a row at a time by a trigger.
    for (period,) in execute(conn, f"SELECT id FROM {PERIODS}").all():
        execute(conn, f"DROP TRIGGER IF EXISTS {insert_trigger(int(period))}")


def _mail_skeletons(conn: Conn) -> None:
    # v9: a raw mail may be stored as a skeleton (blob.codec 'skeleton', vault.skeleton),
    # rebuilt from its attachments' blobs. Nothing to change in the tables; the version tells
    # an older kluis, which could not read those mails, that it cannot open this vault.
    del conn


MIGRATIONS: list[Callable[[Conn], None]] = [
    _initial_schema,
    _gdpr_requests,
    _time_keyed_search,
    _search_by_period,
    _identity,
    _money,
    _blob_codec,
    _index_per_batch,
    _mail_skeletons,
]
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: Conn) -> int:
    """The schema version of the open database (0 for a new one)."""
    row = execute(conn, "SELECT name FROM sqlite_master WHERE type='table' AND name='meta'").first()
    if row is None:
        return 0
    value = execute(conn, "SELECT value FROM meta WHERE key='schema_version'").scalar()
    return int(value or 0)


def upgrade(conn: Conn, version: int, target: int) -> None:
    """Run the migrations from schema ``version`` up to ``target``, stamping each."""
    for number in range(version, target):
        MIGRATIONS[number](conn)
        _stamp(conn, number + 1)


def _stamp(conn: Conn, version: int) -> None:
    execute(
        conn,
        "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', :v)",
        {"v": str(version)},
    )


def migrate(conn: Conn) -> int:
    """Bring the schema up to date, a new database at once from the models; returns how many
    versions it moved."""
    version = current_version(conn)
    if version == 0:
        # Deferred: SQLModel (and pydantic) cost start-up time and are only needed to lay out.
        from vault import models

        models.create_schema(conn)
        _stamp(conn, SCHEMA_VERSION)
    else:
        upgrade(conn, version, SCHEMA_VERSION)
    return SCHEMA_VERSION - version
