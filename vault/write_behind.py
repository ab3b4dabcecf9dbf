"""Writing one batch in a thread of its own while the importing thread reads the next.

An import alternated: while the writer committed a batch (0.3-0.4 s for a thousand mails),
nobody took the parse pool's results, its window filled and both workers waited; then the
writer found the next batch parsed already and committed again while the workers parsed.
Measured on 5,000 plain mails, the writer waited 1.0 s of a 3.5 s import for results the
workers could have parsed during its commits. With the commit in a thread of its own (SQLite
lets go of the interpreter's lock while it works), the reading thread keeps taking results,
and the workers keep parsing, until the next batch is full.

At most two batches are held: the one being written and the one being read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

B = TypeVar("B")

WRITER_THREAD = "kluis-batch-writer"


class WriteBehind(Generic[B]):
    """Calls ``write`` on each batch handed to it, in order, one at a time, in a thread of its
    own; what a write raised is raised by the next ``hand`` or ``wait``."""

    def __init__(self, write: Callable[[B], None]) -> None:
        self._write = write
        self._thread: threading.Thread | None = None
        self._raised: BaseException | None = None

    def hand(self, batch: B) -> None:
        """Start writing ``batch`` once the batch before it is written.

        Raises:
            BaseException: what writing the batch before raised; ``batch`` is not written.
        """
        self.wait()
        self._thread = threading.Thread(
            target=self._run, args=(batch,), name=WRITER_THREAD, daemon=True
        )
        self._thread.start()

    def wait(self) -> None:
        """Wait until every batch handed is written.

        Raises:
            BaseException: what writing the last one raised.
        """
        self._join()
        raised, self._raised = self._raised, None
        if raised is not None:
            raise raised

    def settle(self) -> None:
        """Wait until the batch being written is written or refused, raising nothing: on the
        way out of an import that failed for another reason, so its outcome is recorded
        after the batch's."""
        self._join()
        self._raised = None

    def _join(self) -> None:
        thread = self._thread
        if thread is not None and thread.ident is not None:  # not if ^C came before its start
            thread.join()  # kept until joined: a ^C during the join leaves settle to wait
        self._thread = None

    def _run(self, batch: B) -> None:
        try:
            self._write(batch)
        except BaseException as exc:  # raised in the importing thread, at its next hand-over
            self._raised = exc
