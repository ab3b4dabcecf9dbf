"""How kluis's processes hand freed memory back to the system (glibc's ``malloc``).

Used by the importing process and the parse workers (``vault.pool``) and by the scan reader
child (``importers.scan.child``), which decodes large pictures; it loads nothing else.
"""

from __future__ import annotations

import ctypes
import sys
from functools import cache

_M_TRIM_THRESHOLD = -1  # <malloc.h>
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_MMAP_THRESHOLD = 128 * 1024  # glibc's default, which it raises as it goes unless set
_REUSED_UP_TO = 32 * 1024 * 1024  # glibc's largest mmap threshold on 64-bit


def give_back_large_blocks() -> None:
    """Have this process's large allocations (a mail, an attachment) returned to the system
    when freed (glibc's ``malloc`` only; elsewhere nothing to do).

    glibc raises its threshold for serving a block by ``mmap`` to the largest block freed
    (up to 32 MiB), after which megabyte mails come from the heap, which fragments and never
    shrinks: measured on 5,000 mails with scans attached, a fixed threshold took the
    importing process's peak from 287 to 192 MB, and the scan readers' (decoded pictures)
    on the plain set from 60 to 44 MB. And threads started from now on share one heap
    (``M_ARENA_MAX``): glibc gives each thread its own, so what the pool's result thread
    unpickles and the writer frees was kept in one heap while the next batch grew another
    (the importing process's peak on 5,000 commercial mails: 132 to 115 MB)."""
    _mallopt((_M_MMAP_THRESHOLD, _MMAP_THRESHOLD), (_M_ARENA_MAX, 1))


def reuse_large_blocks() -> None:
    """Have this process's large allocations (up to 32 MiB) served from its heap and kept
    there when freed, until ``trim`` gives them back: for a parse worker, which copies a mail
    with a 5 MB scan about ten times (its text, its part, the decoded bytes, their pickle),
    each copy into fresh pages from the kernel when served by ``mmap``, a page fault per 4 KiB
    (glibc only; elsewhere nothing to do)."""
    _mallopt(
        (_M_MMAP_THRESHOLD, _REUSED_UP_TO),
        (_M_TRIM_THRESHOLD, _REUSED_UP_TO * 4),
        (_M_ARENA_MAX, 1),
    )


def trim() -> None:
    """Give the heap's free pages back to the system (glibc's ``malloc_trim``): what
    ``reuse_large_blocks`` kept, once a chunk of work is done."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


@cache
def _libc() -> ctypes.CDLL | None:
    """glibc, loaded once (``trim`` runs before every chunk a worker parses); None elsewhere."""
    if sys.platform != "linux":
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt, libc.malloc_trim  # noqa: B018  # not glibc (musl has no mallopt)
    except (OSError, AttributeError):
        return None
    return libc


def _mallopt(*settings: tuple[int, int]) -> None:
    libc = _libc()
    if libc is not None:
        for setting, value in settings:
            libc.mallopt(setting, value)
