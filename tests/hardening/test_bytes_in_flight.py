"""An import holds a bounded number of bytes, however large its mails.

The parse pool kept up to 16 chunks of 64 inputs in flight and the writer a batch of 1,000
items, both counted in items: a mailbox of mails with 5 MB scans attached put gigabytes in
memory. Now both are bounded in bytes too. The bound is observed from outside: the inputs the
pool has read minus the results its caller has taken, and the items of each committed batch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from tests.hardening.harness import make_vault, open_for_test
from tests.support import mail, options
from vault.ingest import BATCH_BYTES, Ingestor, Summary
from vault.pool import map_in_pool
from vault.records import Checkpoint, Item

MB = 1024 * 1024


class _Ledger:
    """Bytes read from the inputs and results taken by the caller, and the most in between."""

    def __init__(self) -> None:
        self.read = self.taken = self.most = 0
        self.lock = threading.Lock()
        self.ahead = threading.Event()

    def inputs(self, count: int, size: int, bound: int) -> Iterator[bytes]:
        for n in range(count):
            with self.lock:
                self.read += size
                self.most = max(self.most, self.read - self.taken)
                if self.read - self.taken > bound:
                    self.ahead.set()
            yield bytes([n % 256]) * size


def test_the_parse_pool_keeps_its_bytes_in_flight_under_its_bound() -> None:
    ledger, size, bound = _Ledger(), MB, 8 * MB
    inputs = ledger.inputs(60, size, bound)
    results = map_in_pool(len, inputs, first=0, weigh=len, max_bytes=bound)
    sizes: list[int] = []
    for result in results:
        with ledger.lock:
            ledger.taken += size
        if not sizes:  # a slow caller (a writer committing): the reader may run ahead
            ledger.ahead.wait(timeout=3)
        sizes.append(result)
    assert sizes == [size] * 60  # every input, in order
    # At most the bound, one chunk (a sixteenth of it) and the input that filled that chunk.
    assert ledger.most <= bound + bound // 16 + size


def _big_mails(count: int, size: int) -> Iterator[Item]:
    for n in range(count):
        item = mail(n)
        item.raw = bytes([n % 256]) * size
        yield item
        yield Checkpoint("test", {"n": n})


def test_the_writer_commits_a_batch_once_it_holds_its_bound_in_bytes(tmp_path: Path) -> None:
    make_vault(tmp_path / "vault")
    store = open_for_test(tmp_path / "vault")
    stored: list[int] = []

    def progress(summary: Summary) -> None:
        stored.append(summary.new)

    try:
        size = 2 * MB
        count = 3 * BATCH_BYTES // size
        done = Ingestor(store, options(), "test", "t", progress=progress).run(
            _big_mails(count, size)
        )
    finally:
        store.close()
    assert done.new == count
    per_batch = [after - before for before, after in zip([0, *stored], stored, strict=False)]
    assert max(per_batch) * size <= BATCH_BYTES + size  # the item that filled it, no more
