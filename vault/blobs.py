"""Blobs: bytes stored once per SHA-256 inside the encrypted database, compressed where that
pays.

Each blob row says how its bytes are stored (``blob.codec``): ``zlib`` (every blob before
schema 7, and text, mail and JSON now), ``raw`` (JPEG, PNG, zip, PDF scans and other bytes
that are compressed already, where zlib spent CPU for nothing) or, from schema 9,
``skeleton``: a raw mail without its large attachments' base64, which are rebuilt from the
attachments' own blobs (``vault.skeleton``), zlib-compressed. Reading goes through
``decoded``, so no reader guesses; a skeleton is checked against its SHA-256 as it is read.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from isal import isal_zlib

from vault import skeleton
from vault.errors import VaultCorrupt
from vault.skeleton import Fetch

if TYPE_CHECKING:  # the parse workers pack blobs without loading the store
    from vault.store import Conn

ZLIB = "zlib"
RAW = "raw"
SKELETON = "skeleton"
CODECS = (ZLIB, RAW, SKELETON)
"""The values of ``blob.codec``: how a blob's bytes are stored."""

COMPRESSION_LEVEL = 1
"""ISA-L's level 1 (``isal_zlib``: a zlib stream, read back by the standard ``zlib``): on the
bench's mails 3.4 times zlib level 1's speed at the same size (0.383 of the mail), and on
base64 of compressed bytes (a mail with a scan attached) 20 times, smaller too."""
MIN_SAVING = 0.1
"""Bytes that zlib shrinks by less than this share are stored as they are."""
PROBE = 64 * 1024
"""Past ``2 * PROBE`` bytes, zlib tries this much from the middle before the whole is done."""

_MAGIC = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"PK\x03\x04",  # zip: docx, xlsx, odt, pkpass, epub, jar
    b"\x1f\x8b",  # gzip
    b"BZh",
    b"\xfd7zXZ\x00",
    b"(\xb5/\xfd",  # zstd
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"OggS",
    b"ID3",  # mp3
    b"fLaC",
    b"\x1aE\xdf\xa3",  # Matroska, WebM
    b"\x00\x00\x00\x0cjP  \r\n\x87\n",  # JPEG 2000
)


@dataclass(frozen=True, slots=True)
class Packed:
    """Bytes made ready for the blob table: their digest, size, stored form and its codec."""

    sha256: str
    size: int
    data: bytes
    codec: str = ZLIB


def compressed_already(data: bytes) -> bool:
    """Whether ``data`` starts like a format whose bytes are compressed (JPEG, PNG, GIF,
    WebP, zip and its offspring, gzip, xz, zstd, MP4/HEIC/M4A, MP3, Ogg...)."""
    if data.startswith(_MAGIC):
        return True
    # RIFF....WEBP (WebP; WAV and AVI are RIFF too, and not compressed); ISO media: ....ftyp
    return (data[:4] == b"RIFF" and data[8:12] == b"WEBP") or data[4:8] == b"ftyp"


def _worth_it(stored: int, size: int) -> bool:
    return stored <= size * (1 - MIN_SAVING)


def _encoded(data: bytes) -> tuple[str, bytes]:
    """How to store ``data``: its codec and stored form."""
    if not data or compressed_already(data):
        return RAW, data
    if len(data) > 2 * PROBE:
        middle = len(data) // 2
        probe = isal_zlib.compress(
            data[middle - PROBE // 2 : middle + PROBE // 2], COMPRESSION_LEVEL
        )
        if not _worth_it(len(probe), PROBE):
            return RAW, data
    stored = isal_zlib.compress(data, COMPRESSION_LEVEL)
    return (ZLIB, stored) if _worth_it(len(stored), len(data)) else (RAW, data)


def pack(data: bytes) -> Packed:
    """Hash ``data`` and choose how to store it, compressing it where that pays: the CPU part
    of storing a blob, done where it is cheapest (the parse workers), so the single writer
    only inserts."""
    codec, stored = _encoded(data)
    return Packed(hashlib.sha256(data).hexdigest(), len(data), stored, codec)


def pack_mail(raw: bytes, files: Sequence[tuple[bytes, Packed]]) -> Packed:
    """``pack`` for a raw mail whose attachments (``files``: their bytes, packed) are stored
    beside it: stored as a skeleton where the mail has large ones in canonical base64, and
    the skeleton rebuilds it byte for byte; else as ``pack`` stores it."""
    form = skeleton.form(raw, {packed.sha256: data for data, packed in files})
    if form is None:
        return pack(raw)
    stored = isal_zlib.compress(form, COMPRESSION_LEVEL)
    return Packed(hashlib.sha256(raw).hexdigest(), len(raw), stored, SKELETON)


def _inflated(stored: bytes) -> bytes:
    try:
        return zlib.decompress(stored)
    except zlib.error as exc:
        raise VaultCorrupt(f"a blob does not decompress: {exc}") from None


def decoded(stored: bytes, codec: str, digest: str = "", fetch: Fetch | None = None) -> bytes:
    """The bytes a blob row holds, from its stored form and ``codec``; a skeleton's
    attachments come from ``fetch``, and the mail rebuilt must have the SHA-256 ``digest``.

    Raises:
        VaultCorrupt: the codec is unknown, the stored bytes do not decode, or a skeleton
            cannot be rebuilt into the bytes it was stored for.
    """
    if codec == RAW:
        return bytes(stored)
    if codec == ZLIB:
        return _inflated(stored)
    if codec != SKELETON:
        raise VaultCorrupt(f"a blob is stored with an unknown codec {codec!r}")
    if fetch is None:
        raise VaultCorrupt("a raw mail is stored as a skeleton of another skeleton's parts")
    data = skeleton.rebuilt(_inflated(stored), fetch)
    if hashlib.sha256(data).hexdigest() != digest:
        raise VaultCorrupt(
            f"the raw mail {digest[:12]}… rebuilt from its attachments is not the mail stored"
        )
    return data


def put_blob(db: Conn, data: bytes | Packed) -> str:
    """Store ``data`` (if not stored yet) and return its SHA-256 hex digest."""
    from vault.store import execute

    packed = data if isinstance(data, Packed) else pack(data)
    execute(
        db,
        "INSERT OR IGNORE INTO blob(sha256, size, data, codec) VALUES (?, ?, ?, ?)",
        (packed.sha256, packed.size, packed.data, packed.codec),
    )
    return packed.sha256


def get_blob(conn: Conn, digest: str) -> bytes | None:
    """The bytes stored under ``digest``, or None; a raw mail stored as a skeleton is
    rebuilt from its attachments' blobs.

    Raises:
        VaultCorrupt: the row's bytes cannot be decoded, or a skeleton rebuilt (a missing
            attachment blob, or bytes other than ``digest``'s).
    """
    return _read(conn, digest, lambda part: _read(conn, part, None))


def _read(conn: Conn, digest: str, fetch: Fetch | None) -> bytes | None:
    from vault.store import execute

    row = execute(conn, "SELECT data, codec FROM blob WHERE sha256=:s", {"s": digest}).first()
    return decoded(row[0], row[1], digest, fetch) if row is not None else None
