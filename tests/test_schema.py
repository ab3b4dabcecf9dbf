"""The models are the schema: a new vault is laid out from them, and a vault of schema 1 that
the migrations bring up to date ends with the very same tables, columns, indexes and keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import PASSPHRASE, vault_at_schema
from vault import migrations
from vault.store import Conn, Store, execute
from vault.unlock import PassphraseSource, create_vault, open_vault


def schema(conn: Conn) -> dict[str, Any]:
    """Everything the migrations' checks compare: per table its columns (``table_info``),
    indexes (``index_list`` with each one's columns) and foreign keys; and the name and kind
    of every view and trigger. The text of the CREATE statements is not compared: the same
    table may be written in other words."""
    objects = execute(
        conn, "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    ).all()
    tables: dict[str, Any] = {}
    for _, name, _ in (o for o in objects if o[0] == "table"):
        indexes = {
            index[1]: (
                tuple(index[2:]),
                [tuple(c) for c in execute(conn, f"PRAGMA index_xinfo('{index[1]}')")],
            )
            for index in execute(conn, f"PRAGMA index_list('{name}')")
        }
        tables[name] = {
            "columns": [tuple(c) for c in execute(conn, f"PRAGMA table_info('{name}')")],
            "indexes": indexes,
            "foreign keys": sorted(
                tuple(k[2:]) for k in execute(conn, f"PRAGMA foreign_key_list('{name}')")
            ),
        }
    others = sorted((o[0], o[1], o[2]) for o in objects if o[0] not in ("table", "index"))
    return {"tables": tables, "views and triggers": others}


def _open(folder: Path) -> Store:
    return open_vault(folder, PassphraseSource(prompt=lambda _: PASSPHRASE, allow_env=False))


@pytest.mark.parametrize("version", [1, 3])
def test_a_vault_migrated_from_an_old_schema_has_the_schema_a_new_vault_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: int
) -> None:
    vault_at_schema(tmp_path / "old", monkeypatch, version, [])
    upgraded = _open(tmp_path / "old")
    fresh, _ = create_vault(tmp_path / "new", PASSPHRASE)
    try:
        with upgraded.reader() as old, fresh.reader() as new:
            assert migrations.current_version(old) == migrations.current_version(new)
            assert schema(old) == schema(new)
    finally:
        upgraded.close()
        fresh.close()


def test_a_new_vault_has_every_table_of_the_models(tmp_path: Path) -> None:
    from sqlmodel import SQLModel

    fresh, _ = create_vault(tmp_path / "new", PASSPHRASE)
    try:
        with fresh.reader() as conn:
            laid_out = schema(conn)["tables"]
    finally:
        fresh.close()
    for table in SQLModel.metadata.sorted_tables:
        assert [c[1] for c in laid_out[table.name]["columns"]] == [c.name for c in table.columns]
    assert set(laid_out) == {t.name for t in SQLModel.metadata.sorted_tables}
