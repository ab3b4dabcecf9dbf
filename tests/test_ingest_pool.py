"""The parse pool keeps order, hands a reader's error to the caller, stops when left, and
starts no worker for the owner detection's sample."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from importers.email.mbox import POOL_MIN_BYTES
from importers.email.mbox import read as read_mbox
from tests.hardening.generate import write_mbox
from tests.support import options
from vault.errors import MalformedInput
from vault.me import most_frequent_recipient
from vault.pool import map_in_pool


def _square(n: int) -> int:
    return n * n


def _broken_after(count: int) -> Iterator[int]:
    yield from range(count)
    raise MalformedInput("not an mbox: it does not start with a 'From ' line")


def test_results_come_in_input_order_past_the_window() -> None:
    results = map_in_pool(_square, range(500), workers=2, chunksize=7, window=3, first=0)
    assert list(results) == [n * n for n in range(500)]


def test_an_error_while_reading_reaches_the_caller_after_what_was_read_before() -> None:
    seen: list[int] = []
    with pytest.raises(MalformedInput, match="not an mbox"):
        for result in map_in_pool(_square, _broken_after(20), chunksize=4, window=2, first=0):
            seen.append(result)
    assert seen == [n * n for n in range(20)]


def test_leaving_early_stops_the_reader_thread() -> None:
    results = map_in_pool(_square, range(100_000), chunksize=8, window=2, first=0)
    assert [next(results) for _ in range(10)] == [n * n for n in range(10)]
    results.close()
    assert not any(t.name == "kluis-pool-feeder" for t in threading.enumerate())


def test_a_reader_that_takes_only_the_first_items_starts_no_pool() -> None:
    results = map_in_pool(_square, range(1000), chunksize=8, first=300)
    assert [next(results) for _ in range(300)] == [n * n for n in range(300)]
    assert multiprocessing.active_children() == []  # no worker forked for a sample
    assert list(results) == [n * n for n in range(300, 1000)]  # then the pool does the rest


def test_the_owner_detection_sample_of_a_pool_sized_mbox_starts_no_worker(tmp_path: Path) -> None:
    mbox = write_mbox(tmp_path / "inbox.mbox", 1100, lines=180)
    assert mbox.stat().st_size >= POOL_MIN_BYTES
    sample = read_mbox(mbox, replace(options(), owner_sample=True))  # as vault.imports reads it
    assert most_frequent_recipient(sample) == "sanne@example.org"  # SAMPLE_SIZE items read
    assert multiprocessing.active_children() == []
