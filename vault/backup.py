"""``kluis backup`` and ``kluis restore``: the vault in one encrypted, authenticated file.

The file is a plain tar of three members:

- ``vault.db``: a consistent copy made with ``sqlcipher_export``, encrypted with the vault's
  own data key (so it is never plaintext, not even in a temporary file);
- ``keys.json``: the vault's wrapped keys (passphrase and recovery slots; the device slot is
  left out, it opens nothing on another machine);
- ``manifest.json``: format, vault id, the SHA-256 of both, and an HMAC-SHA256 of the
  manifest keyed from the data key (HKDF), so nobody without the passphrase can alter a
  member and fix the sums up.

Restore unlocks the data key from the backup's own ``keys.json``, checks the HMAC and every
sum, opens the database, and only then moves it into a folder that holds no vault. Both work
in a folder beside their destination named for their process, moved into place by one rename
at the end; the next run removes what a killed one left (``vault.leftovers``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import secrets
import shutil
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vault import keys as keymod
from vault import outbox
from vault.errors import InputError, UsageError, VaultCorrupt, VaultExists
from vault.fsutil import FILE_MODE, fsync_folder, sha256_file
from vault.leftovers import Swept, sweep, work_folder
from vault.migrations import SCHEMA_VERSION
from vault.store import (
    DB_FILE,
    PAGE_SIZE,
    connect_raw,
    database_salt,
    db_path,
    execute,
    open_store,
)
from vault.timefmt import now_iso
from vault.unlock import PassphraseSource

FORMAT = "kluis-backup"
VERSION = 1
MANIFEST = "manifest.json"
MEMBERS = (MANIFEST, keymod.KEYS_FILE, DB_FILE)
MAX_SMALL_MEMBER = 1 << 20
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class BackupSummary:
    """What ``create_backup`` wrote."""

    path: Path
    size: int
    sha256: str
    vault_id: str
    swept: Swept
    """What killed backups had left beside ``path``, removed first."""


def _manifest_key(dek: bytes, salt: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"kluis backup manifest v1")
    return hkdf.derive(dek)


def _canonical(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


def _sign(manifest: dict[str, Any], dek: bytes) -> str:
    salt = base64.b64decode(manifest["hmac_salt"])
    return hmac.new(_manifest_key(dek, salt), _canonical(manifest), hashlib.sha256).hexdigest()


@contextmanager
def _work_folder(near: Path, kind: str) -> Iterator[tuple[Path, Swept]]:
    """A 0700 work folder in ``near``, after removing what killed runs of ``kind`` left there.

    Beside the destination, not in /tmp: the same file system for the final rename, and no copy
    of the vault in a shared place. Its name carries this process's id, so that the next run
    knows a killed run's work folder from one still in use (``vault.leftovers``).
    """
    swept = sweep(near, kind)
    folder = work_folder(near, kind)
    try:
        yield folder, swept
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _export_db(source: Path, dek: bytes, target: Path) -> None:
    """A consistent, encrypted copy of ``source`` at ``target`` (same key, same page size)."""
    conn = connect_raw(source, dek)
    try:
        hex_key = dek.hex()
        if len(hex_key) != 64:
            raise ValueError("the data key must be 32 bytes")
        execute(conn, f"ATTACH DATABASE ? AS backup KEY \"x'{hex_key}'\"", (str(target),))
        execute(conn, f"PRAGMA backup.cipher_page_size = {PAGE_SIZE}")
        execute(conn, "SELECT sqlcipher_export('backup')")
        execute(conn, "DETACH DATABASE backup")
    finally:
        conn.close()
    target.chmod(FILE_MODE)


def _add(archive: tarfile.TarFile, name: str, data: IO[bytes], size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, FILE_MODE, int(datetime.now(UTC).timestamp())
    archive.addfile(info, data)


def create_backup(
    folder: Path, keyfile: keymod.KeyFile, dek: bytes, out: Path, *, force: bool = False
) -> BackupSummary:
    """Write a backup of the vault in ``folder`` to ``out``.

    Raises:
        UsageError: ``out`` exists and ``force`` is not set.
    """
    if out.exists() and not force:
        raise UsageError(f"{out} exists; pass --force to replace it")
    out = out.expanduser().resolve()
    with _work_folder(out.parent, "backup") as (work, swept):
        copy = work / DB_FILE
        _export_db(db_path(folder), dek, copy)
        check = connect_raw(copy, dek)
        try:
            # A share being written right now is the original's to finish or take back.
            outbox.forget(check)
            if execute(check, "PRAGMA quick_check").scalar() != "ok":
                raise VaultCorrupt("the copy of the database failed its integrity check")
        finally:
            check.close()
        salt = database_salt(work)  # the copy's own: sqlcipher_export made a new database
        portable = keymod.KeyFile(
            keyfile.vault_id,
            keyfile.kdf,
            {slot: wrap for slot, wrap in keyfile.wraps.items() if slot != "device"},
            database=None if salt is None else keymod.database_binding(keyfile.vault_id, salt),
        )
        keys_bytes = portable.to_bytes()
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "vault_id": keyfile.vault_id,
            "schema_version": SCHEMA_VERSION,
            "created_at": now_iso(),
            "hmac_salt": base64.b64encode(secrets.token_bytes(16)).decode(),
            "files": {
                keymod.KEYS_FILE: {
                    "sha256": hashlib.sha256(keys_bytes).hexdigest(),
                    "size": len(keys_bytes),
                },
                DB_FILE: {"sha256": sha256_file(copy), "size": copy.stat().st_size},
            },
        }
        signed = {"manifest": manifest, "hmac_sha256": _sign(manifest, dek)}
        manifest_bytes = (json.dumps(signed, indent=2, sort_keys=True) + "\n").encode()
        tmp = work / "backup.tar"
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as archive:
            _add(archive, MANIFEST, io.BytesIO(manifest_bytes), len(manifest_bytes))
            _add(archive, keymod.KEYS_FILE, io.BytesIO(keys_bytes), len(keys_bytes))
            with copy.open("rb") as db:
                _add(archive, DB_FILE, db, copy.stat().st_size)
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        tmp.replace(out)
        fsync_folder(out.parent)
    return BackupSummary(out, out.stat().st_size, sha256_file(out), keyfile.vault_id, swept)


# --- restore ----------------------------------------------------------------------------------


def _refuse_existing(target: Path) -> None:
    if keymod.keys_path(target).exists() or db_path(target).exists():
        raise VaultExists(f"there is already a vault at {target}; restore into another folder")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise VaultExists(f"{target} is not empty; restore into a new or empty folder")


def _members(archive: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    found: dict[str, tarfile.TarInfo] = {}
    for member in archive.getmembers():
        # Only our three regular files, by exact name: no paths, links or devices to extract.
        if member.name not in MEMBERS or not member.isreg() or member.name in found:
            raise VaultCorrupt(f"not a kluis backup: unexpected member {member.name!r}")
        found[member.name] = member
    missing = [name for name in MEMBERS if name not in found]
    if missing:
        raise VaultCorrupt(f"not a kluis backup: {', '.join(missing)} missing")
    return found


def _read_small(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    if member.size > MAX_SMALL_MEMBER:
        raise VaultCorrupt(f"not a kluis backup: {member.name} is too large")
    handle = archive.extractfile(member)
    assert handle is not None  # a regular file always has contents
    return handle.read()


def _manifest(data: bytes) -> tuple[dict[str, Any], str]:
    try:
        signed = json.loads(data)
        manifest, signature = signed["manifest"], signed["hmac_sha256"]
        files = manifest["files"]
        if manifest["format"] != FORMAT or not isinstance(files, dict):
            raise ValueError("format")
    except (ValueError, KeyError, TypeError):
        raise VaultCorrupt("not a kluis backup: the manifest is unreadable") from None
    if manifest.get("version") != VERSION:
        raise VaultCorrupt(f"backup format {manifest.get('version')!r}: update kluis to read it")
    return manifest, str(signature)


def _unlock(keyfile: keymod.KeyFile, source: PassphraseSource) -> bytes:
    passphrase = source.non_interactive()
    if passphrase is None:
        passphrase = source.ask("Passphrase of the backed-up vault: ")
    return keymod.unwrap_with_passphrase(keyfile, passphrase)


def _copy_member(archive: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> str:
    handle = archive.extractfile(member)
    assert handle is not None
    digest = hashlib.sha256()
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def restore_backup(archive_path: Path, target: Path, source: PassphraseSource) -> str:
    """Restore the backup at ``archive_path`` into ``target``; returns the vault id.

    Raises:
        VaultExists: ``target`` holds a vault or anything else.
        VaultCorrupt: the file is not a kluis backup, or it was altered or damaged.
        WrongPassphrase: the passphrase does not open the backup's keys.
    """
    target = target.expanduser().resolve()
    _refuse_existing(target)
    try:
        archive = tarfile.open(archive_path, mode="r:")  # noqa: SIM115 (closed by `with` below)
    except FileNotFoundError:
        raise InputError(f"no such file: {archive_path}") from None
    except (tarfile.TarError, OSError) as exc:
        raise VaultCorrupt(f"{archive_path} is not a kluis backup ({exc})") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with archive, _work_folder(target.parent, "restore") as (work, _swept):
            members = _members(archive)
            manifest, signature = _manifest(_read_small(archive, members[MANIFEST]))
            keys_bytes = _read_small(archive, members[keymod.KEYS_FILE])
            keyfile = keymod.KeyFile.from_bytes(keys_bytes)
            if keyfile.vault_id != manifest.get("vault_id"):
                raise VaultCorrupt("the backup has been altered: its keys belong to another vault")
            dek = _unlock(keyfile, source)
            if not hmac.compare_digest(_sign(manifest, dek), signature):
                raise VaultCorrupt("the backup has been altered or damaged: its manifest fails")
            expected = manifest["files"]
            if hashlib.sha256(keys_bytes).hexdigest() != expected[keymod.KEYS_FILE]["sha256"]:
                raise VaultCorrupt(
                    f"the backup has been altered: {keymod.KEYS_FILE} does not match"
                )
            if (
                _copy_member(archive, members[DB_FILE], work / DB_FILE)
                != expected[DB_FILE]["sha256"]
            ):
                raise VaultCorrupt(f"the backup has been altered: {DB_FILE} does not match")
            fd = os.open(work / keymod.KEYS_FILE, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
            with os.fdopen(fd, "wb") as handle:
                handle.write(keys_bytes)
            store = open_store(work, dek, keyfile.vault_id)  # also migrates an older schema
            try:
                with store.read() as conn:
                    if execute(conn, "PRAGMA quick_check").scalar() != "ok":
                        raise VaultCorrupt("the backed-up database fails its integrity check")
            finally:
                store.close()
            _refuse_existing(target)  # again: something may have appeared while we worked
            # The whole vault moves into place in one rename (over an empty folder, too): a killed
            # restore leaves its work folder for the next one to remove, never half a vault.
            try:
                work.rename(target)
            except OSError as exc:
                raise UsageError(
                    f"cannot restore into {target} ({exc.strerror}); restore into a new folder"
                ) from None
            fsync_folder(target.parent)
    except (tarfile.TarError, EOFError) as exc:
        # A copy cut short (a full disk, an interrupted download) ends in the middle of a
        # member: tarfile's "unexpected end of data" as the user would say it.
        raise VaultCorrupt(
            f"{archive_path} is truncated or damaged ({exc}); nothing was restored"
        ) from None
    return keyfile.vault_id
