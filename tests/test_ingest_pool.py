"""The parse pool keeps order, hands a reader's error to the caller, stops when left, starts
no worker for the owner detection's sample, and can be started ahead for a big mailbox."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import importers
from importers.email.maildir import AHEAD_FILES
from importers.email.mbox import POOL_MIN_BYTES
from importers.email.mbox import read as read_mbox
from tests.hardening.generate import mail_bytes, write_mbox
from tests.support import options
from vault.errors import MalformedInput
from vault.me import most_frequent_recipient
from vault.pool import KEEPER_THREAD, map_in_pool, workers_ahead


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


def _parsed_in(_: int) -> int:
    return os.getpid()


def test_a_pool_started_ahead_parses_from_the_first_input_on_and_ends_with_the_map() -> None:
    with workers_ahead(_parsed_in):
        # Without it the first 300 are parsed here while the workers start.
        where = set(map_in_pool(_parsed_in, range(400), chunksize=8, first=300))
        assert where and os.getpid() not in where
    assert multiprocessing.active_children() == []
    assert not any(t.name == KEEPER_THREAD for t in threading.enumerate())


def test_a_pool_started_ahead_that_no_reader_takes_ends_with_its_block() -> None:
    with workers_ahead(_parsed_in):
        assert len(_started_workers(2)) == 2
    assert multiprocessing.active_children() == []
    assert not any(t.name == KEEPER_THREAD for t in threading.enumerate())


def test_a_big_mbox_maildir_or_takeout_starts_its_workers_ahead_and_a_small_one_none(
    tmp_path: Path,
) -> None:
    small = write_mbox(tmp_path / "small.mbox", 200, lines=8)
    big = write_mbox(tmp_path / "big.mbox", 1100, lines=180)
    takeout = tmp_path / "export"
    (takeout / "Takeout" / "Mail").mkdir(parents=True)
    (takeout / "Takeout" / "Mail" / "All mail Including Spam and Trash.mbox").hardlink_to(big)
    maildir = tmp_path / "Maildir"
    for name in ("cur", "new", "tmp"):
        (maildir / name).mkdir(parents=True)
    for n in range(AHEAD_FILES):
        (maildir / "cur" / f"{n}.host:2,S").write_bytes(mail_bytes(n))
    with importers.parsing_ahead(small, "auto"):
        assert multiprocessing.active_children() == []
    with importers.parsing_ahead(big, "auto"):
        assert len(_started_workers(2)) == 2
    with importers.parsing_ahead(maildir, "maildir"):
        assert len(_started_workers(2)) == 2
    with importers.parsing_ahead(takeout, "auto"):
        assert len(_started_workers(2)) == 2
    assert multiprocessing.active_children() == []


def _started_workers(count: int) -> list[multiprocessing.process.BaseProcess]:
    """This process's pool workers, once ``count`` of them have started (60 s at most)."""
    deadline = time.monotonic() + 60  # a loaded machine's fork server may take seconds
    while len(workers := multiprocessing.active_children()) < count:
        assert time.monotonic() < deadline, workers
        time.sleep(0.02)
    return workers
