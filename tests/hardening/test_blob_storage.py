"""Blobs are stored compressed only where that pays, and every one reads back as it was.

Every blob used to be zlib-compressed, JPEG and zip bytes too: on a mailbox with scans and
photos attached, a third of the import's CPU went to compressing what does not shrink. Now
each blob row says how it is stored (schema 7, ``blob.codec``); a vault of schema 6 keeps its
zlib blobs, readable as before, and the export and a salvage read both kinds.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from pathlib import Path

import pytest

from tests.hardening.harness import Kluis, make_vault, open_for_test
from tests.support import mail, options, vault_at_schema
from vault import blobs
from vault.errors import VaultCorrupt
from vault.ingest import Ingestor
from vault.migrations import SCHEMA_VERSION
from vault.pool import packed_ahead
from vault.records import Attachment, Interaction, Item, Quarantined
from vault.store import Store, execute

TEXT = ("Dear customer, your booking KL1234 to Lisbon is confirmed. " * 200).encode()
PDF_TEXT = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + TEXT + b"\n%%EOF\n"


def _noise(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _jpeg(seed: int) -> bytes:
    """Bytes as a JPEG photo has them: its magic, then entropy-coded data."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + _noise(120_000, seed)


def _with(item: Interaction, *files: tuple[str, str, bytes]) -> Interaction:
    item.attachments = [Attachment(name, mime, data) for name, mime, data in files]
    item.raw = (item.raw or b"") + b"\n" + TEXT
    return item


def _old_items() -> list[Item]:
    return [
        _with(
            mail(1),
            ("photo.jpg", "image/jpeg", _jpeg(1)),
            ("terms.txt", "text/plain", TEXT),
            ("ticket.pdf", "application/pdf", PDF_TEXT),
        ),
        Quarantined("inbox/broken.eml", b"\x00\x01 not a mail " + TEXT, "no header lines"),
    ]


def _new_items() -> list[Item]:
    return [_with(mail(2), ("scan.jpg", "image/jpeg", _jpeg(2))), mail(3, body=TEXT.decode())]


def _originals(items: list[Item]) -> set[bytes]:
    found: set[bytes] = set()
    for item in items:
        if isinstance(item, Interaction):
            found.update(file.data for file in item.attachments)
        if item.raw:
            found.add(item.raw)
    return found


def _rows(store: Store) -> dict[str, tuple[str, int, bytes]]:
    with store.read() as conn:
        rows = execute(conn, "SELECT sha256, codec, size, data FROM blob").all()
    return {str(sha): (str(codec), int(size), bytes(data)) for sha, codec, size, data in rows}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A vault written at schema 6 (every blob zlib), opened (so migrated) by this kluis."""
    folder = tmp_path / "vault"
    vault_at_schema(folder, monkeypatch, 6, _old_items(), options("me@example.org"))
    open_for_test(folder).close()
    return folder


def test_a_schema_6_vault_migrates_and_every_blob_reads_back_byte_identical(
    migrated: Path,
) -> None:
    store = open_for_test(migrated)
    try:
        with store.read() as conn:
            version = execute(conn, "SELECT value FROM meta WHERE key='schema_version'").scalar()
            assert int(version) == SCHEMA_VERSION == 9
            originals = _originals(_old_items())
            assert {codec for codec, _, _ in _rows(store).values()} == {blobs.ZLIB}
            assert set(_rows(store)) == {_digest(data) for data in originals}
            for data in originals:
                assert blobs.get_blob(conn, _digest(data)) == data
    finally:
        store.close()


def test_a_new_jpeg_is_stored_as_it_is_and_a_text_mail_compressed(tmp_path: Path) -> None:
    make_vault(tmp_path / "vault")
    store = open_for_test(tmp_path / "vault")
    try:
        photo, text_mail = _new_items()
        Ingestor(store, options("me@example.org"), "test", "t").run([photo, text_mail])
        rows = _rows(store)
        jpeg = _jpeg(2)
        assert rows[_digest(jpeg)] == (blobs.RAW, len(jpeg), jpeg)
        assert isinstance(text_mail, Interaction) and text_mail.raw is not None
        codec, size, stored = rows[_digest(text_mail.raw)]
        assert (codec, size) == (blobs.ZLIB, len(text_mail.raw)) and len(stored) < size // 5
        with store.read() as conn:
            for data in _originals([photo, text_mail]):
                assert blobs.get_blob(conn, _digest(data)) == data
    finally:
        store.close()


def test_export_and_salvage_read_blobs_of_both_kinds(migrated: Path) -> None:
    store = open_for_test(migrated)
    try:
        Ingestor(store, options("me@example.org"), "test", "t").run(_new_items())
        assert {codec for codec, _, _ in _rows(store).values()} == {blobs.ZLIB, blobs.RAW}
    finally:
        store.close()
    home = migrated.parent / "home"
    (home / "tmp").mkdir(parents=True)
    kluis = Kluis(migrated, home, home / "tmp")
    exported, salvaged = home / "exported", home / "salvaged"
    done = kluis.run("export", "--out", str(exported))
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert kluis.run("doctor", "--salvage", str(salvaged)).returncode == 0
    for out in (exported, salvaged):
        files = {p.read_bytes() for p in out.rglob("*") if p.is_file() and p.parent != out}
        assert files == _originals(_old_items() + _new_items()), out.name
        lines = (out / "attachment.jsonl").read_text(encoding="utf-8").splitlines()
        assert sorted(json.loads(line)["filename"] for line in lines) == [
            "photo.jpg",
            "scan.jpg",
            "terms.txt",
            "ticket.pdf",
        ]


def test_a_blob_stored_in_an_unknown_way_is_one_clear_error_never_a_guess(tmp_path: Path) -> None:
    make_vault(tmp_path / "vault")
    store = open_for_test(tmp_path / "vault")
    try:
        Ingestor(store, options("me@example.org"), "test", "t").run(_new_items())
        with store.begin() as conn:
            execute(conn, "UPDATE blob SET codec = 'zstd' WHERE codec = 'raw'")
    finally:
        store.close()
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    done = Kluis(tmp_path / "vault", home, home / "tmp").run("export", "--out", str(home / "out"))
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode not in (0, 2) and "Traceback" not in stderr
    assert stderr.count("\n") == 1 and "unknown codec 'zstd'" in stderr
    with pytest.raises(VaultCorrupt, match="unknown codec"):
        blobs.decoded(b"\x00", "zstd")


@pytest.mark.parametrize(
    "head",
    [
        b"\x89PNG\r\n\x1a\n",
        b"GIF89a",
        b"PK\x03\x04",  # zip, docx, xlsx, pkpass
        b"\x1f\x8b\x08",  # gzip
        b"RIFF\x00\x10\x00\x00WEBPVP8 ",
        b"\x00\x00\x00\x20ftypisom",  # mp4
        b"ID3\x04",  # mp3
    ],
)
def test_bytes_of_a_compressed_format_are_stored_as_they_are(head: bytes) -> None:
    data = head + TEXT  # even when what follows would shrink: the format is not tried
    packed = blobs.pack(data)
    assert (packed.codec, packed.data, packed.size) == (blobs.RAW, data, len(data))


@pytest.mark.parametrize("size", [100, 60_000, 3_000_000])
def test_bytes_that_do_not_shrink_are_stored_as_they_are(size: int) -> None:
    data = b"%PDF-1.7\n" + _noise(size, size)  # a PDF of a scan: its streams are compressed
    packed = blobs.pack(data)
    assert (packed.codec, packed.data) == (blobs.RAW, data)


def test_a_mail_with_a_scan_in_base64_is_compressed_and_reads_back() -> None:
    scan = base64.encodebytes(_noise(3_000_000, 7))
    raw = b"Subject: scan\nContent-Type: multipart/mixed\n\n" + TEXT + scan + b"\n--end--\n"
    packed = blobs.pack(raw)
    assert packed.codec == blobs.ZLIB and len(packed.data) < 0.8 * len(raw)
    assert blobs.decoded(packed.data, packed.codec) == raw
    assert packed.sha256 == _digest(raw)


def test_a_parse_worker_packs_the_attachments_and_the_writer_stores_them(tmp_path: Path) -> None:
    item = packed_ahead(_new_items()[0])
    assert isinstance(item, Interaction)
    photo = item.attachments[0]
    assert photo.packed is not None and photo.packed.codec == blobs.RAW
    make_vault(tmp_path / "vault")
    store = open_for_test(tmp_path / "vault")
    try:
        Ingestor(store, options("me@example.org"), "test", "t").run([item])
        with store.read() as conn:
            assert blobs.get_blob(conn, photo.packed.sha256) == _jpeg(2)
    finally:
        store.close()
