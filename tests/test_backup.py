"""Backup and restore: one encrypted, authenticated file; tampering and overwriting refused."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.share.cli import run, run_json
from tests.fixtures.share.vaults import fill_profile, import_share_mail
from tests.support import PASSPHRASE
from vault import queries
from vault.backup import restore_backup
from vault.errors import VaultCorrupt, VaultExists, WrongPassphrase
from vault.search import search
from vault.store import Store
from vault.unlock import PassphraseSource, open_vault


@pytest.fixture
def backup(store: Store, cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    fill_profile(store)
    import_share_mail(store)
    out = tmp_path / "vault.kluisbackup"
    status, _, err = run(capsys, "backup", "--out", str(out))
    assert status == 0, err
    return out


def _everything(folder: Path) -> dict[str, Any]:
    store = open_vault(folder, PassphraseSource(allow_device=False))
    try:
        with store.read() as conn:
            companies = [row.to_json() for row in queries.list_companies(conn)]
            ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM interaction ORDER BY id")]
            items = [queries.show(conn, int(i)) for i in ids]
            profile = conn.exec_driver_sql("SELECT key, value FROM profilefield ORDER BY id").all()
            found = [row["id"] for row in search(conn, "fietsen")]
    finally:
        store.close()
    return {"companies": companies, "items": items, "profile": profile, "fts": found}


def test_backup_then_restore_gives_the_same_vault(
    backup: Path, tmp_path: Path, vault_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backup.stat().st_mode & 0o777 == 0o600
    restored = tmp_path / "restored"
    status, _, err = run(capsys, "restore", str(backup), "--vault", str(restored))
    assert status == 0, err
    assert restored.stat().st_mode & 0o777 == 0o700
    assert {p.name for p in restored.iterdir()} <= {"keys.json", "vault.db", "vault.db-wal",
                                                     "vault.db-shm"}  # fmt: skip
    before, after = _everything(vault_dir), _everything(restored)
    assert after == before and after["items"] and after["fts"]


def test_a_backup_holds_no_plaintext(backup: Path) -> None:
    data = backup.read_bytes()
    for secret in (b"NL91ABNA0417164300", b"Keizersgracht", b"Fietsverhuur", b"06-12 34 56 78"):
        assert secret not in data
    with tarfile.open(backup) as archive:
        assert sorted(archive.getnames()) == ["keys.json", "manifest.json", "vault.db"]
        keys = json.loads(archive.extractfile("keys.json").read())  # type: ignore[union-attr]
    assert "device" not in keys["wraps"] and {"passphrase", "recovery"} <= set(keys["wraps"])


def _rewrite(backup: Path, change: dict[str, Any]) -> None:
    with tarfile.open(backup) as archive:
        members = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]
    members.update(change)
    with tarfile.open(backup, "w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def _flip_db_byte(backup: Path) -> None:
    with tarfile.open(backup) as archive:
        offset = archive.getmember("vault.db").offset_data + 20000
    with backup.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


def test_a_tampered_database_is_refused(backup: Path, tmp_path: Path) -> None:
    _flip_db_byte(backup)
    target = tmp_path / "restored"
    with pytest.raises(VaultCorrupt, match="altered"):
        restore_backup(backup, target, PassphraseSource(allow_device=False))
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".kluis-restore-")]


def test_a_manifest_fixed_up_to_match_a_tampered_database_is_refused(
    backup: Path, tmp_path: Path
) -> None:
    with tarfile.open(backup) as archive:
        signed = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
        db = bytearray(archive.extractfile("vault.db").read())  # type: ignore[union-attr]
    db[30000] ^= 0xFF
    signed["manifest"]["files"]["vault.db"]["sha256"] = hashlib.sha256(db).hexdigest()
    _rewrite(backup, {"manifest.json": json.dumps(signed).encode(), "vault.db": bytes(db)})
    with pytest.raises(VaultCorrupt, match="manifest"):
        restore_backup(backup, tmp_path / "restored", PassphraseSource(allow_device=False))


def test_a_tampered_backup_is_refused_on_the_command_line(
    backup: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _flip_db_byte(backup)
    status, _, err = run(capsys, "restore", str(backup), "--vault", str(tmp_path / "r"))
    assert status == 1 and err.startswith("kluis: the backup has been altered")
    assert err.count("\n") == 1


def test_restore_never_overwrites_an_existing_vault(
    backup: Path, vault_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys_before = (vault_dir / "keys.json").read_bytes()
    status, _, err = run(capsys, "restore", str(backup))  # KLUIS_VAULT names the live vault
    assert status == 2 and "already a vault" in err
    assert (vault_dir / "keys.json").read_bytes() == keys_before


def test_restore_into_a_non_empty_folder_is_refused(backup: Path, tmp_path: Path) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(VaultExists):
        restore_backup(backup, target, PassphraseSource(allow_device=False))
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def test_a_wrong_passphrase_restores_nothing(
    backup: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLUIS_PASSPHRASE", PASSPHRASE + " typo")
    with pytest.raises(WrongPassphrase):
        restore_backup(backup, tmp_path / "r", PassphraseSource(allow_device=False))
    assert not (tmp_path / "r").exists()


def test_a_file_that_is_not_a_backup_is_refused(
    store: Store, cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "bogus.tar"
    bogus.write_bytes(b"hello" * 100)
    status, _, err = run(capsys, "restore", str(bogus), "--vault", str(tmp_path / "r"))
    assert status == 1 and "not a kluis backup" in err
    with tarfile.open(bogus, "w") as archive:
        info = tarfile.TarInfo("../evil")
        archive.addfile(info, io.BytesIO(b""))
    status, _, err = run(capsys, "restore", str(bogus), "--vault", str(tmp_path / "r"))
    assert status == 1 and "unexpected member '../evil'" in err
    assert not (tmp_path / "evil").exists()


def test_backup_refuses_to_overwrite_without_force(
    backup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = backup.read_bytes()
    status, _, err = run(capsys, "backup", "--out", str(backup))
    assert status == 2 and "--force" in err and backup.read_bytes() == before
    assert run(capsys, "backup", "--out", str(backup), "--force")[0] == 0
    assert run_json(capsys, "profile", "show")
