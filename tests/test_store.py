"""The encrypted store on disk: unreadable without the key, private, configured as designed."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support import PASSPHRASE, mail, options
from vault.errors import VaultCorrupt
from vault.ingest import Ingestor
from vault.migrations import SCHEMA_VERSION
from vault.store import Store, execute, executemany, stream
from vault.unlock import PassphraseSource, create_vault, open_vault


def source() -> PassphraseSource:
    return PassphraseSource(prompt=lambda _: PASSPHRASE, allow_env=False, allow_device=False)


def test_stdlib_sqlite_cannot_read_the_vault(store: Store, vault_dir: Path) -> None:
    Ingestor(store, options(), "test", "t").run([mail(1, body="secret canary text")])
    store.close()
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(vault_dir / "vault.db").execute("SELECT * FROM sqlite_master").fetchall()
    assert b"secret canary text" not in (vault_dir / "vault.db").read_bytes()


def test_vault_folder_is_0700_and_every_file_0600_including_wal(
    store: Store, vault_dir: Path
) -> None:
    with store.begin() as conn:  # an open write transaction keeps -wal and -shm on disk
        conn.execute(text("INSERT INTO meta(key, value) VALUES ('probe', '1')"))
        files = sorted(p.name for p in vault_dir.iterdir())
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in vault_dir.iterdir()}
    assert "vault.db-wal" in files
    assert stat.S_IMODE(vault_dir.stat().st_mode) == 0o700
    assert all(mode == 0o600 for mode in modes.values()), modes


def test_connections_use_the_designed_pragmas(store: Store) -> None:
    with store.read() as conn:
        values = {
            name: conn.execute(text(f"PRAGMA {name}")).scalar()
            for name in (
                "cipher_page_size",
                "journal_mode",
                "secure_delete",
                "foreign_keys",
                "temp_store",
                "synchronous",
            )
        }
    assert values == {
        "cipher_page_size": "16384",
        "journal_mode": "wal",
        "secure_delete": 1,
        "foreign_keys": 1,
        "temp_store": 2,
        "synchronous": 1,
    }


def test_a_database_from_another_vault_is_refused_clearly(tmp_path: Path) -> None:
    first, _ = create_vault(tmp_path / "a", PASSPHRASE)
    second, _ = create_vault(tmp_path / "b", PASSPHRASE)
    first.close()
    second.close()
    (tmp_path / "a" / "vault.db").write_bytes((tmp_path / "b" / "vault.db").read_bytes())
    with pytest.raises(VaultCorrupt, match=r"another vault|damaged"):
        open_vault(tmp_path / "a", source())


def test_a_truncated_database_is_a_clear_error(store: Store, vault_dir: Path) -> None:
    store.close()
    path = vault_dir / "vault.db"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(VaultCorrupt):
        open_vault(vault_dir, source())


def test_schema_is_versioned_from_the_first_release(store: Store) -> None:
    with store.read() as conn:
        version = conn.execute(text("SELECT value FROM meta WHERE key='schema_version'")).scalar()
        tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
    assert version == str(SCHEMA_VERSION)
    assert {
        "company",
        "identifier",
        "interaction",
        "thread",
        "attachment",
        "blob",
        "booking",
        "bookingsource",
        "profilefield",
        "disclosure",
        "source",
        "importrun",
        "sourcecursor",
        "quarantine",
        "interaction_fts_period",
        "ix_interaction_timeline",
    } <= tables


def test_one_store_api_reads_and_writes_alike_on_every_kind_of_connection(store: Store) -> None:
    with store.begin() as conn:
        added = execute(conn, "INSERT INTO meta(key, value) VALUES (:k, :v)", {"k": "a", "v": "1"})
        assert added.rowcount == 1 and added.lastrowid
        assert (
            executemany(
                conn, "INSERT INTO meta(key, value) VALUES (?, ?)", [("b", "2"), ("c", "3")]
            )
            == 2
        )
    with store.read() as app, store.reader() as quick:
        sql = "SELECT value, key FROM meta WHERE key IN ('a', 'b', 'c') ORDER BY key"
        for conn in (app, quick):
            rows = execute(conn, sql).all()
            assert [(r.key, r["value"], r[0]) for r in rows] == [
                ("a", "1", "1"),
                ("b", "2", "2"),
                ("c", "3", "3"),
            ]
            assert list(rows[0].mapping()) == ["value", "key"]  # in column order
            assert [[r.key for r in chunk] for chunk in stream(conn, sql, size=2)] == [
                ["a", "b"],
                ["c"],
            ]
            assert execute(conn, "SELECT count(*) FROM meta WHERE key = 'zz'").one()[0] == 0
            assert execute(conn, "SELECT 1 WHERE 0").first() is None
