"""Blobs: bytes stored once per SHA-256 inside the encrypted database, zlib-compressed."""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parse workers pack blobs without loading the store
    from vault.store import Conn

# Level 1: mail and JSON still shrink about 3x, at a fraction of level 6's CPU cost on import.
COMPRESSION_LEVEL = 1


@dataclass(frozen=True, slots=True)
class Packed:
    """Bytes made ready for the blob table: their digest, size and compressed form."""

    sha256: str
    size: int
    data: bytes


def pack(data: bytes) -> Packed:
    """Hash and compress ``data``: the CPU part of storing a blob, done where it is cheapest
    (the parse workers, for mail), so the single writer only inserts."""
    return Packed(
        hashlib.sha256(data).hexdigest(), len(data), zlib.compress(data, COMPRESSION_LEVEL)
    )


def put_blob(db: Conn, data: bytes | Packed) -> str:
    """Store ``data`` (if not stored yet) and return its SHA-256 hex digest."""
    from vault.store import execute

    packed = data if isinstance(data, Packed) else pack(data)
    execute(
        db,
        "INSERT OR IGNORE INTO blob(sha256, size, data) VALUES (?, ?, ?)",
        (packed.sha256, packed.size, packed.data),
    )
    return packed.sha256


def get_blob(conn: Conn, digest: str) -> bytes | None:
    """The bytes stored under ``digest``, or None."""
    from vault.store import execute

    data = execute(conn, "SELECT data FROM blob WHERE sha256=:s", {"s": digest}).scalar()
    return zlib.decompress(data) if data is not None else None
