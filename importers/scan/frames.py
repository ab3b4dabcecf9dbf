"""The frames the reader child and kluis exchange: four bytes of length, then the bytes.

Both sides use these (``importers.scan.sandbox`` and ``importers.scan.child``); the child
imports nothing else of kluis's side, so it starts light.
"""

from __future__ import annotations

import os
import select
import struct
import time

_LENGTH = struct.Struct(">I")


def write_frame(fd: int, payload: bytes) -> None:
    """Write one frame to ``fd`` (blocking)."""
    view = memoryview(_LENGTH.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]


def read_frame(fd: int, limit: int, deadline: float | None = None) -> bytes | None:
    """One frame from ``fd``; None at end of file before a frame starts.

    Raises:
        TimeoutError: ``deadline`` (a ``time.monotonic`` value) passed first.
        EOFError: the stream ended inside a frame.
        ValueError: the frame is longer than ``limit``.
    """
    head = _read_exactly(fd, _LENGTH.size, deadline)
    if not head:
        return None
    (size,) = _LENGTH.unpack(head)
    if size > limit:
        raise ValueError(f"a message of {size:,} bytes, more than {limit:,}")
    payload = _read_exactly(fd, size, deadline)
    if len(payload) < size:
        raise EOFError("the stream ended inside a message")
    return payload


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes:
    """``size`` bytes, or fewer if the stream ends; an empty stream gives b""."""
    chunks: list[bytes] = []
    wanted = size
    while wanted:
        wait = None if deadline is None else deadline - time.monotonic()
        if wait is not None and (wait <= 0 or not select.select([fd], [], [], wait)[0]):
            raise TimeoutError
        chunk = os.read(fd, min(wanted, 1 << 20))
        if not chunk:
            if chunks:
                raise EOFError("the stream ended inside a message")
            break
        chunks.append(chunk)
        wanted -= len(chunk)
    return b"".join(chunks)
