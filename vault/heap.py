"""How kluis's processes hand freed memory back to the system (glibc's ``malloc``).

Used by the importing process and the parse workers (``vault.pool``) and by the scan reader
child (``importers.scan.child``), which decodes large pictures; it loads nothing else.
"""

from __future__ import annotations

import ctypes
import sys

_M_MMAP_THRESHOLD = -3  # <malloc.h>
_M_ARENA_MAX = -8
_MMAP_THRESHOLD = 128 * 1024  # glibc's default, which it raises as it goes unless set


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
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
        libc.mallopt(_M_ARENA_MAX, 1)
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        pass
