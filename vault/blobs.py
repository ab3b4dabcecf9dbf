"""Blobs: bytes stored once per SHA-256 inside the encrypted database, zlib-compressed."""

from __future__ import annotations

import hashlib
import zlib

from sqlalchemy import Connection, text

from vault.store import RawConnection

# Level 1: mail and JSON still shrink about 3x, at a fraction of level 6's CPU cost on import.
COMPRESSION_LEVEL = 1


def put_blob(db: RawConnection, data: bytes) -> str:
    """Store ``data`` (if not stored yet) and return its SHA-256 hex digest."""
    digest = hashlib.sha256(data).hexdigest()
    db.execute(
        "INSERT OR IGNORE INTO blob(sha256, size, data) VALUES (?, ?, ?)",
        (digest, len(data), zlib.compress(data, COMPRESSION_LEVEL)),
    )
    return digest


def get_blob(conn: Connection, digest: str) -> bytes | None:
    """The bytes stored under ``digest``, or None."""
    data = conn.execute(text("SELECT data FROM blob WHERE sha256=:s"), {"s": digest}).scalar()
    return zlib.decompress(data) if data is not None else None
