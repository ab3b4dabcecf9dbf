"""Schema 1 as it was released: frozen DDL, so that migrating an old vault never depends on
what ``vault.models`` says today. (Schema 1 was laid out by SQLModel from the models of then;
this is the SQL that ran, with its full-text index.) Never edit it: a change to the schema is a
new migration in ``vault.migrations`` and a change to ``vault.models``.
"""

from __future__ import annotations

V1_SQL = [
    """CREATE TABLE blob (
        sha256 VARCHAR NOT NULL,
        size INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (sha256)
    )""",
    """CREATE TABLE company (
        id INTEGER NOT NULL,
        name VARCHAR NOT NULL,
        kind VARCHAR DEFAULT 'company' NOT NULL,
        created_at VARCHAR NOT NULL,
        notes VARCHAR,
        user_named BOOLEAN DEFAULT '0' NOT NULL,
        PRIMARY KEY (id)
    )""",
    """CREATE TABLE companyedit (
        id INTEGER NOT NULL,
        action VARCHAR NOT NULL,
        summary VARCHAR NOT NULL,
        undo VARCHAR NOT NULL,
        created_at VARCHAR NOT NULL,
        undone_at VARCHAR,
        PRIMARY KEY (id)
    )""",
    """CREATE TABLE meta (
        "key" VARCHAR NOT NULL,
        value VARCHAR NOT NULL,
        PRIMARY KEY ("key")
    )""",
    """CREATE TABLE profilefield (
        id INTEGER NOT NULL,
        "key" VARCHAR NOT NULL,
        value VARCHAR NOT NULL,
        category VARCHAR DEFAULT 'other' NOT NULL,
        sensitivity VARCHAR DEFAULT 'normal' NOT NULL,
        updated_at VARCHAR NOT NULL,
        PRIMARY KEY (id),
        UNIQUE ("key", value)
    )""",
    'CREATE INDEX ix_profilefield_key ON profilefield ("key")',
    """CREATE TABLE source (
        id INTEGER NOT NULL,
        kind VARCHAR NOT NULL,
        locator VARCHAR NOT NULL,
        created_at VARCHAR NOT NULL,
        settings VARCHAR DEFAULT '{}' NOT NULL,
        PRIMARY KEY (id),
        UNIQUE (kind, locator)
    )""",
    """CREATE TABLE sourcecursor (
        "key" VARCHAR NOT NULL,
        state VARCHAR NOT NULL,
        updated_at VARCHAR NOT NULL,
        PRIMARY KEY ("key")
    )""",
    """CREATE TABLE thread (
        id INTEGER NOT NULL,
        "key" VARCHAR NOT NULL,
        title VARCHAR,
        PRIMARY KEY (id),
        UNIQUE ("key")
    )""",
    """CREATE TABLE booking (
        id INTEGER NOT NULL,
        company_id INTEGER NOT NULL,
        kind VARCHAR NOT NULL,
        reference VARCHAR NOT NULL,
        segment VARCHAR DEFAULT '' NOT NULL,
        status VARCHAR DEFAULT 'confirmed' NOT NULL,
        number VARCHAR,
        start_at VARCHAR,
        end_at VARCHAR,
        origin_name VARCHAR,
        origin_code VARCHAR,
        destination_name VARCHAR,
        destination_code VARCHAR,
        travellers VARCHAR DEFAULT '[]' NOT NULL,
        seat VARCHAR,
        price VARCHAR,
        currency VARCHAR,
        details VARCHAR DEFAULT '{}' NOT NULL,
        modified_at VARCHAR,
        PRIMARY KEY (id),
        UNIQUE (company_id, kind, reference, segment),
        FOREIGN KEY(company_id) REFERENCES company (id)
    )""",
    "CREATE INDEX ix_booking_company_id ON booking (company_id)",
    """CREATE TABLE disclosure (
        id INTEGER NOT NULL,
        company_id INTEGER NOT NULL,
        fields VARCHAR DEFAULT '{}' NOT NULL,
        interactions VARCHAR DEFAULT '[]' NOT NULL,
        purpose VARCHAR,
        shared_at VARCHAR NOT NULL,
        expires_at VARCHAR,
        revoked_at VARCHAR,
        package_path VARCHAR,
        package_sha256 VARCHAR,
        receipt_id VARCHAR,
        PRIMARY KEY (id),
        FOREIGN KEY(company_id) REFERENCES company (id)
    )""",
    "CREATE INDEX ix_disclosure_company_id ON disclosure (company_id)",
    """CREATE TABLE displayname (
        id INTEGER NOT NULL,
        company_id INTEGER NOT NULL,
        name VARCHAR NOT NULL,
        seen INTEGER DEFAULT '0' NOT NULL,
        PRIMARY KEY (id),
        UNIQUE (company_id, name),
        FOREIGN KEY(company_id) REFERENCES company (id)
    )""",
    "CREATE INDEX ix_displayname_company_id ON displayname (company_id)",
    """CREATE TABLE identifier (
        id INTEGER NOT NULL,
        kind VARCHAR NOT NULL,
        value VARCHAR NOT NULL,
        company_id INTEGER NOT NULL,
        origin VARCHAR DEFAULT 'rule' NOT NULL,
        PRIMARY KEY (id),
        UNIQUE (kind, value),
        FOREIGN KEY(company_id) REFERENCES company (id)
    )""",
    "CREATE INDEX ix_identifier_company_id ON identifier (company_id)",
    """CREATE TABLE importrun (
        id INTEGER NOT NULL,
        source_id INTEGER,
        format VARCHAR NOT NULL,
        started_at VARCHAR NOT NULL,
        finished_at VARCHAR,
        status VARCHAR DEFAULT 'running' NOT NULL,
        new INTEGER DEFAULT '0' NOT NULL,
        duplicate INTEGER DEFAULT '0' NOT NULL,
        updated INTEGER DEFAULT '0' NOT NULL,
        quarantined INTEGER DEFAULT '0' NOT NULL,
        errors INTEGER DEFAULT '0' NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(source_id) REFERENCES source (id)
    )""",
    """CREATE TABLE interaction (
        id INTEGER NOT NULL,
        company_id INTEGER NOT NULL,
        resolved_by INTEGER,
        channel VARCHAR NOT NULL,
        direction VARCHAR NOT NULL,
        occurred_at INTEGER NOT NULL,
        tz_offset INTEGER,
        title VARCHAR NOT NULL,
        body VARCHAR NOT NULL,
        sender VARCHAR,
        recipients VARCHAR DEFAULT '[]' NOT NULL,
        counterpart VARCHAR,
        thread_id INTEGER,
        source_id INTEGER,
        source_ref VARCHAR NOT NULL,
        dedup_key VARCHAR NOT NULL,
        raw_blob VARCHAR,
        extras VARCHAR DEFAULT '{}' NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(company_id) REFERENCES company (id),
        FOREIGN KEY(resolved_by) REFERENCES identifier (id),
        FOREIGN KEY(thread_id) REFERENCES thread (id),
        FOREIGN KEY(source_id) REFERENCES source (id),
        UNIQUE (dedup_key),
        FOREIGN KEY(raw_blob) REFERENCES blob (sha256)
    )""",
    "CREATE INDEX ix_interaction_resolved_by ON interaction (resolved_by)",
    "CREATE INDEX ix_interaction_thread_id ON interaction (thread_id)",
    "CREATE INDEX ix_interaction_time ON interaction (occurred_at, id)",
    "CREATE INDEX ix_interaction_timeline ON interaction (company_id, occurred_at, id)",
    """CREATE TABLE quarantine (
        id INTEGER NOT NULL,
        import_run_id INTEGER,
        source_ref VARCHAR NOT NULL,
        blob_sha VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,
        created_at VARCHAR NOT NULL,
        dedup_key VARCHAR NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(import_run_id) REFERENCES importrun (id),
        FOREIGN KEY(blob_sha) REFERENCES blob (sha256),
        UNIQUE (dedup_key)
    )""",
    """CREATE TABLE attachment (
        id INTEGER NOT NULL,
        interaction_id INTEGER NOT NULL,
        filename VARCHAR NOT NULL,
        mime VARCHAR NOT NULL,
        size INTEGER NOT NULL,
        blob_sha VARCHAR NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(interaction_id) REFERENCES interaction (id),
        FOREIGN KEY(blob_sha) REFERENCES blob (sha256)
    )""",
    "CREATE INDEX ix_attachment_interaction_id ON attachment (interaction_id)",
    """CREATE TABLE bookingsource (
        booking_id INTEGER NOT NULL,
        interaction_id INTEGER NOT NULL,
        role VARCHAR DEFAULT 'confirmed' NOT NULL,
        PRIMARY KEY (booking_id, interaction_id),
        FOREIGN KEY(booking_id) REFERENCES booking (id),
        FOREIGN KEY(interaction_id) REFERENCES interaction (id)
    )""",
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
"""Every statement of schema 1, in the order it ran."""
