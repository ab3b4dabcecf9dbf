"""The reader child's main loop (started by ``importers.scan.sandbox``).

It limits itself first (address space, no core file that could hold a document's plaintext),
then answers one request after another until its stdin closes. Each document runs under an
alarm: a decoder stuck past ``READ_SECONDS`` ends the process, which the parent reports.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import time

from importers.scan.found import MAX_BYTES, READ_SECONDS, READER_MEMORY, TIME_BUDGET, Scan
from importers.scan.frames import read_frame, write_frame
from vault.heap import give_back_large_blocks

_REQUESTS = 0  # stdin


def main() -> None:
    """Serve requests on stdin until it closes."""
    _limit_self()
    give_back_large_blocks()  # a decoded picture's pixels go back once it is read
    # Answers go to a private copy of stdout; a library that prints goes to /dev/null instead
    # of into the answers.
    replies = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for kluis, which ends the child
    while (header := read_frame(_REQUESTS, 4096)) is not None:
        data = read_frame(_REQUESTS, MAX_BYTES)
        if data is None:
            break
        request = json.loads(header)
        signal.alarm(READ_SECONDS)
        scan = read(str(request.get("kind")), data)
        signal.alarm(0)
        write_frame(replies, json.dumps(scan.to_json()).encode())


def read(kind: str, data: bytes) -> Scan:
    """Read one document; every failure becomes a note."""
    deadline = time.monotonic() + TIME_BUDGET
    try:
        if kind == "pdf":
            from importers.scan.pdf import read_pdf

            return read_pdf(data, deadline)
        if kind == "image":
            from importers.scan.images import read_image

            return read_image(data)
        return Scan(notes=[f"not read: unknown kind {kind!r}"])
    except MemoryError:
        return Scan(notes=[f"not read: it needs more than {READER_MEMORY // 2**20} MB of memory"])
    except Exception as exc:
        # The one deliberate catch-all: the file is untrusted, and a decoder's surprise on it
        # must cost that file's reading only.
        return Scan(notes=[f"not read: {type(exc).__name__}: {exc}"[:300]])


def _limit_self() -> None:
    """At most ``READER_MEMORY`` of address space (less if kluis itself has less); no core."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = READER_MEMORY if hard == resource.RLIM_INFINITY else min(READER_MEMORY, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
