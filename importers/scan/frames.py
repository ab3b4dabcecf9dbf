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
    """Write one frame to ``fd`` (blocking): its length, then ``payload`` as it is (a file of
    megabytes is not copied to put four bytes before it)."""
    for part in (_LENGTH.pack(len(payload)), payload):
        view = memoryview(part)
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
    """``size`` bytes, or fewer if the stream ends; an empty stream gives b"".

    Read into one buffer of the frame's size: a pipe gives 64 KiB a read, and a fresh
    ``os.read`` buffer per piece (mapped and unmapped where large blocks are handed back, see
    ``vault.heap``) cost the reader more CPU per megabyte than the one copy out of it."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        wait = None if deadline is None else deadline - time.monotonic()
        if wait is not None and (wait <= 0 or not select.select([fd], [], [], wait)[0]):
            raise TimeoutError
        count = os.readv(fd, [view[got:]])
        if not count:
            if got:
                raise EOFError("the stream ended inside a message")
            break
        got += count
    return bytes(buffer) if got == size else bytes(buffer[:got])
