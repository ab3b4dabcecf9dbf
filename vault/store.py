"""The encrypted store: a SQLCipher 4 database keyed with the raw data key.

Every connection is keyed first (``PRAGMA key = "x'…'"``) and then configured the same way,
so the page size and pragmas of DESIGN hold on every open. The folder is 0700 and the file is
created 0600 before SQLCipher opens it; the WAL files inherit the mode.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlcipher3
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.pool import QueuePool

from vault.errors import VaultCorrupt
from vault.fsutil import create_private_file, make_private_folder
from vault.migrations import SCHEMA_VERSION, current_version, migrate

DB_FILE = "vault.db"
PAGE_SIZE = 16384
_HEX_KEY = re.compile(r"[0-9a-f]{64}")
_CONNECTION_PRAGMAS = (
    f"PRAGMA cipher_page_size = {PAGE_SIZE}",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA secure_delete = ON",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
)


def db_path(folder: Path) -> Path:
    """Where a vault folder keeps its database."""
    return folder / DB_FILE


def _key_pragma(dek: bytes) -> str:
    hex_key = dek.hex()
    # A raw key that is not exactly 64 hex digits is silently taken as a passphrase by SQLCipher.
    if not _HEX_KEY.fullmatch(hex_key):
        raise ValueError("the data key must be 32 bytes")
    return f"PRAGMA key = \"x'{hex_key}'\""


def connect_raw(path: Path, dek: bytes) -> Any:
    """A keyed, configured DB-API connection to ``path`` (which must already exist).

    Raises:
        VaultCorrupt: the key does not open the file, or it is not a database.
    """
    conn = sqlcipher3.connect(str(path), check_same_thread=False, isolation_level=None)
    try:
        conn.execute(_key_pragma(dek))
        for pragma in _CONNECTION_PRAGMAS:
            conn.execute(pragma)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.DatabaseError as exc:
        conn.close()
        raise VaultCorrupt(
            f"{path.name} cannot be opened with this vault's key: it is damaged or belongs to "
            f"another vault ({exc})"
        ) from None
    return conn


@dataclass
class Store:
    """An open vault database."""

    folder: Path
    engine: Engine

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection inside one transaction, committed on success, rolled back on error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reading."""
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        """Close every pooled connection (checkpointing the WAL)."""
        self.engine.dispose()


RawConnection = Any
"""A keyed DB-API (sqlcipher3) connection: the ingest hot path talks to it directly, because
SQLAlchemy's per-statement overhead was most of the time of an import."""


def raw_connection(conn: Connection) -> RawConnection:
    """The DB-API connection under ``conn``, inside the same transaction."""
    return conn.connection.driver_connection


def _make_engine(path: Path, dek: bytes) -> Engine:
    engine = create_engine(
        "sqlite://",
        creator=lambda: connect_raw(path, dek),
        module=sqlcipher3.dbapi2,
        poolclass=QueuePool,
        pool_size=4,
        max_overflow=4,
    )

    # pysqlite-style drivers begin transactions lazily and badly; take control as SQLAlchemy's
    # SQLite docs recommend: autocommit at the driver, explicit BEGIN from SQLAlchemy.
    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def create_store(folder: Path, dek: bytes, vault_id: str) -> Store:
    """Create a new, empty vault database in ``folder`` and lay out the schema."""
    make_private_folder(folder)
    path = db_path(folder)
    create_private_file(path)
    store = Store(folder, _make_engine(path, dek))
    with store.begin() as conn:
        migrate(conn)
        conn.execute(text("INSERT INTO meta(key, value) VALUES ('vault_id', :v)"), {"v": vault_id})
    return store


def open_store(folder: Path, dek: bytes, vault_id: str) -> Store:
    """Open the vault database in ``folder``, migrating it if this kluis is newer.

    Raises:
        VaultCorrupt: the database is missing, damaged, from another vault, or from a newer kluis.
    """
    path = db_path(folder)
    if not path.exists():
        raise VaultCorrupt(f"{path} is missing: keys.json is there but the database is not")
    if path.stat().st_size == 0:
        # SQLCipher would take an empty file for a new database and write a header into it.
        raise VaultCorrupt(f"{path} is empty: the database was truncated or never written")
    store = Store(folder, _make_engine(path, dek))
    try:
        with store.begin() as conn:
            version = current_version(conn)
            if version > SCHEMA_VERSION:
                raise VaultCorrupt(
                    f"this vault was written by a newer kluis (schema {version}); update kluis"
                )
            stored_id = (
                conn.execute(text("SELECT value FROM meta WHERE key='vault_id'")).scalar()
                if version
                else None
            )
            if stored_id != vault_id:
                raise VaultCorrupt(f"{path.name} does not belong to this vault's keys.json")
            migrate(conn)
    except BaseException:
        store.close()
        raise
    return store
