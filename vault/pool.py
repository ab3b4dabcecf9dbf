"""The parse pool: importers parse in worker processes while the importing process writes.

DESIGN: parsing may run in a process pool (2 cores); the single writer is the main process.
This module loads neither the store nor SQLAlchemy, so an importer that uses it stays light.

The workers hold nothing of the vault. They are started fresh (``spawn``: a new interpreter,
not a ``fork`` of a process that has unlocked the vault), so they inherit neither its memory
(the data key, raw and hex, SQLCipher's key schedule, decrypted pages) nor its open files
(``vault.db``, the WAL, the source); the CLI keeps secrets given in the environment out of
every child (``vault.environment``). They die with the importing process, however it ends:
on Linux the kernel kills them when it dies (``PR_SET_PDEATHSIG``), and everywhere a thread of
theirs watches the parent's end of a pipe.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from multiprocessing.connection import wait
from typing import TypeVar

from vault.blobs import pack
from vault.me import SAMPLE_SIZE
from vault.records import Interaction, Quarantined

IN_PROCESS_FIRST = SAMPLE_SIZE
"""Inputs parsed in this process before any worker starts. The owner detection
(``vault.me``) reads SAMPLE_SIZE items and every input gives at least one item, so that
sample never starts a pool."""

FEEDER_THREAD = "kluis-pool-feeder"
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

T = TypeVar("T")
R = TypeVar("R")


def packed_ahead(item: Interaction | Quarantined) -> Interaction | Quarantined:
    """``item`` with its raw bytes hashed and compressed, for a parse worker to call: that is
    an eighth of the single writer's work on a mail import, taken off it."""
    if isinstance(item, Interaction) and item.raw:
        item.raw_packed = pack(item.raw)
    return item


def _apply(function: Callable[[T], R], chunk: list[T]) -> list[R]:
    return [function(value) for value in chunk]


def _done_here(function: Callable[[T], R], chunk: list[T]) -> Future[list[R]]:
    future: Future[list[R]] = Future()
    try:
        future.set_result(_apply(function, chunk))
    except Exception as exc:  # raised to the caller in order, as a worker's would be
        future.set_exception(exc)
    return future


def _start_worker(parent: int) -> None:
    """A worker's initializer: it ends when the process that started it ends, and leaves
    Ctrl-C to that process (which stops the pool), instead of printing a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the death signal was set up
        os._exit(1)
    # The parent holds the other end of this pipe until it ends, so the end of the wait is
    # its death, on any system. Unlike the signal it needs the GIL, hence both.
    sentinel = multiprocessing.parent_process().sentinel  # type: ignore[union-attr]
    threading.Thread(
        target=_exit_when_ready, args=(sentinel,), name="kluis-parent-watch", daemon=True
    ).start()


def _exit_when_ready(sentinel: int) -> None:
    wait([sentinel])
    os._exit(1)


def map_in_pool(
    function: Callable[[T], R],
    inputs: Iterable[T],
    workers: int = 2,
    chunksize: int = 64,
    window: int = 16,
    first: int = IN_PROCESS_FIRST,
) -> Iterator[R]:
    """Apply ``function`` in a process pool, yielding results in input order.

    ``function`` and the inputs must be picklable, and ``function`` must be importable by a
    fresh interpreter. A thread reads ``inputs`` and hands chunks to the pool, so neither that
    reading nor the workers wait while the caller writes a batch: measured on 5,000 mails, the
    writer thread's CPU fell by a fifth once the mbox splitting left it. At most ``window``
    chunks (by default 1,024 items, about a batch) are in flight or waiting to be taken
    (``Executor.map`` would read all of ``inputs`` first), so a stream stays a stream and memory
    stays flat.

    The ``first`` inputs are done in this process before any worker starts, so a reader that
    stops early, like the owner detection sampling its items, costs no pool.
    """
    source = iter(inputs)
    for value in islice(source, first):
        yield function(value)
    done: queue.SimpleQueue[Future[list[R]] | BaseException | None] = queue.SimpleQueue()
    free = threading.Semaphore(window)
    stop = threading.Event()

    def feed() -> None:
        # This thread starts the workers and also waits for them to end: Linux sends a
        # worker its death signal when the *thread* that started it ends.
        pool = None
        try:
            pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(os.getpid(),),
            )
            # Start every worker now, from this thread. A fresh interpreter takes 0.2-0.5 s
            # to be ready (imports): until one is, this thread parses the chunks itself.
            ready = [pool.submit(_apply, function, []) for _ in range(workers)]
            while free.acquire() and not stop.is_set():
                chunk = list(islice(source, chunksize))
                if not chunk:
                    break
                if any(started.done() for started in ready):
                    done.put(pool.submit(_apply, function, chunk))
                else:
                    done.put(_done_here(function, chunk))
        except BaseException as exc:  # handed to the caller, which raises it
            done.put(exc)
        done.put(None)
        if pool is not None:
            stop.wait()
            pool.shutdown(wait=True, cancel_futures=True)

    feeder = threading.Thread(target=feed, name=FEEDER_THREAD, daemon=True)
    feeder.start()
    try:
        while (entry := done.get()) is not None:
            if isinstance(entry, BaseException):
                raise entry
            yield from entry.result()
            free.release()
    finally:
        stop.set()
        free.release()  # wakes the feeder if it waits for a free slot
        feeder.join()
