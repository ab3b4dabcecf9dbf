"""The parse pool: importers parse in worker processes while the importing process writes.

DESIGN: parsing may run in a process pool (2 cores); the single writer is the main process.
This module loads neither the store nor SQLAlchemy, so an importer that uses it stays light.

The workers hold nothing of the vault. They are forked from a fork server (``forkserver``:
a new interpreter, not a ``fork`` of a process that has unlocked the vault; ``spawn`` where
there is none), so they inherit neither its memory (the data key, raw and hex, SQLCipher's key
schedule, decrypted pages) nor its open files (``vault.db``, the WAL, the source); the CLI
keeps secrets given in the environment out of every child (``vault.environment``). The server
loads the importer's modules once, before it forks the workers, so the workers share that
memory instead of each loading its own copy; it is stopped with the pool. The server and the
workers die with the importing process, however it ends: on Linux the kernel kills the server
when it dies and the workers when the server dies (``PR_SET_PDEATHSIG``, ``vault.pool_server``),
and everywhere a thread of each worker watches the importing process's end of a pipe.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from functools import partial
from itertools import islice
from multiprocessing import forkserver
from multiprocessing.connection import wait
from multiprocessing.context import BaseContext
from multiprocessing.util import Finalize
from typing import Any, TypeVar

from vault.blobs import pack, pack_mail
from vault.collector import collect_less_often
from vault.heap import give_back_large_blocks, reuse_large_blocks, trim
from vault.me import SAMPLE_SIZE
from vault.pool_server import die_with_parent
from vault.records import Interaction, Quarantined

IN_PROCESS_FIRST = SAMPLE_SIZE
"""Inputs parsed in this process before any worker starts (unless a pool was started ahead),
so a read that stops early starts no pool: the look-ahead of a ``--format`` that does not
match its file (``vault.imports``) reads fewer. The owner detection's sample, as many items,
never reads through a pool (``ImportOptions.owner_sample``)."""


FEEDER_THREAD = "kluis-pool-feeder"
KEEPER_THREAD = "kluis-pool-keeper"

T = TypeVar("T")
R = TypeVar("R")


def packed_ahead(item: Interaction | Quarantined) -> Interaction | Quarantined:
    """``item`` with its raw bytes and attachments hashed and compressed (where that pays),
    for a parse worker to call: that is an eighth of the single writer's work on a mail
    import, taken off it. A mail with large attachments is stored without their base64,
    rebuilt from the attachments as it is read (``vault.skeleton``). The raw bytes then go:
    the packed form and the attachments hold them (``vault.ingest.raw_of``), so they are not
    sent back to the importing process twice."""
    if isinstance(item, Interaction):
        item.attachments = [replace(file, packed=pack(file.data)) for file in item.attachments]
        if item.raw:
            files = [(file.data, file.packed) for file in item.attachments if file.packed]
            item.raw_packed = pack_mail(item.raw, files)
            item.raw = None
    return item


def _apply(function: Callable[[T], R], chunk: list[T]) -> list[R]:
    trim()  # what the last chunk and its pickle freed
    return [function(value) for value in chunk]


def _done_here(function: Callable[[T], R], chunk: list[T]) -> Future[list[R]]:
    future: Future[list[R]] = Future()
    try:
        future.set_result(_apply(function, chunk))
    except Exception as exc:  # raised to the caller in order, as a worker's would be
        future.set_exception(exc)
    return future


def _start_worker() -> None:
    """A worker's initializer: it ends when the importing process ends, and leaves Ctrl-C to
    that process (which stops the pool), instead of printing a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # What the fork server loaded is shared with it until written: kept out of the garbage
    # collector's passes, which write to every object they visit.
    gc.freeze()
    collect_less_often()
    # Forked, a worker ends by ``os._exit``: its exit functions run first, as a spawned one's
    # do (its scan reader child is closed and waited for, its CPU time counted).
    Finalize(None, atexit._run_exitfuncs, exitpriority=0)
    reuse_large_blocks()
    die_with_parent()  # the fork server (or, spawned, the importing process)
    # The importing process holds the other end of this pipe until it ends, so the end of the
    # wait is its death, on any system, even one before the death signal was set up. Unlike
    # the signal it needs the GIL, hence both.
    sentinel = multiprocessing.parent_process().sentinel  # type: ignore[union-attr]
    if wait([sentinel], 0):
        os._exit(1)
    threading.Thread(
        target=_exit_when_ready, args=(sentinel,), name="kluis-parent-watch", daemon=True
    ).start()


def _exit_when_ready(sentinel: int) -> None:
    wait([sentinel])
    os._exit(1)


@contextlib.contextmanager
def _no_current_folder_on_their_path() -> Iterator[None]:
    """Interpreters started inside put no folder of their own first on their module path
    (``PYTHONSAFEPATH``). The fork server, its resource tracker and spawned workers are
    started as ``python -c``, which otherwise puts the current folder there: a ``vault``,
    ``importers`` or ``multiprocessing`` folder where kluis was started (an unpacked export,
    say) was imported in place of kluis's own, and its code run. The variable is set only while
    they start: nothing else kluis starts, now or later, is changed."""
    before = os.environ.get(_SAFE_PATH)
    os.environ[_SAFE_PATH] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ[_SAFE_PATH]
        else:
            os.environ[_SAFE_PATH] = before


_SAFE_PATH = "PYTHONSAFEPATH"


_SERVER = threading.Lock()
"""Held while a pool uses the fork server: one pool at a time has it (the server dies with the
thread that started it, the pool's keeper), a pool started meanwhile spawns its workers."""


def _start_method(function: object, preload: Sequence[str]) -> tuple[BaseContext, bool]:
    """How a new pool starts its workers, and whether it took the fork server (which it then
    stops when it is done, ``_stop_server``). The server loads ``function``'s module and the
    modules named in ``preload`` before it forks any worker."""
    # Before 3.11.1 the server listened on an abstract socket any local user could ask to run
    # code (CVE-2022-42919); since, on a socket file only its user may open.
    usable = (
        sys.version_info >= (3, 11, 1) and "forkserver" in multiprocessing.get_all_start_methods()
    )
    if usable and _SERVER.acquire(False):
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["vault.pool_server", *_modules_of(function), *preload])
        return context, True
    return multiprocessing.get_context("spawn"), False


def _modules_of(function: object) -> list[str]:
    """The modules of ``function`` and, for a ``partial``, of the callables bound in it."""
    if isinstance(function, partial):
        bound = [function.func, *function.args, *function.keywords.values()]
        return [name for part in bound if callable(part) for name in _modules_of(part)]
    name = getattr(function, "__module__", None)
    return [name] if isinstance(name, str) and name != "__main__" else []


def _stop_server() -> None:
    """Stop the fork server once its workers have ended, and wait for it: its memory is
    freed, and its CPU time (its workers' too) is counted in this process's children's.
    ``_stop`` is multiprocessing's own (Python 3.8 and later); without it the server ends
    with this process."""
    try:
        stop = getattr(forkserver._forkserver, "_stop", None)
        if stop is not None:
            with contextlib.suppress(OSError):
                stop()
    finally:
        _SERVER.release()


_HANDED_OVER: list[Callable[[], None]] = []


def when_workers_take_over(release: Callable[[], None]) -> None:
    """Have ``release`` called in this process whenever a pool's workers take the parsing over
    from it (until then it parses itself): what parsing held here, and the workers now hold
    instead, can go (the scan reader child, ``importers.scan.sandbox``)."""
    _HANDED_OVER.append(release)


class _Workers:
    """A process pool, started and later stopped by a thread of its own.

    Linux sends the fork server its death signal when the *thread* that started it ends, so
    that thread lives as long as the pool: it starts the server and every worker, waits until
    ``end`` is called, then stops the workers and the server and waits for them (their
    memory freed, their CPU time counted in this process's children's)."""

    def __init__(
        self, function: Callable[..., object], workers: int, preload: Sequence[str]
    ) -> None:
        self._started = threading.Event()
        self._ending = threading.Event()
        self._pool: ProcessPoolExecutor | None = None
        self._error: BaseException | None = None
        self._ready: list[Future[Any]] = []
        self._keeper = threading.Thread(
            target=self._keep, args=(function, workers, preload), name=KEEPER_THREAD, daemon=True
        )
        self._keeper.start()

    def _keep(self, function: Callable[..., object], workers: int, preload: Sequence[str]) -> None:
        server = False
        try:
            try:
                context, server = _start_method(function, preload)
                with _no_current_folder_on_their_path():  # its queues start the tracker
                    pool = ProcessPoolExecutor(
                        max_workers=workers, mp_context=context, initializer=_start_worker
                    )
                    # Every worker starts now, from this thread: a task each, done once ready.
                    self._ready = [pool.submit(_apply, function, []) for _ in range(workers)]
                self._pool = pool
            except BaseException as exc:  # handed to whoever takes the pool
                self._error = exc
            finally:
                self._started.set()
            self._ending.wait()
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
        finally:
            if server:
                _stop_server()

    def pool(self) -> ProcessPoolExecutor:
        """The pool, once its workers are being started.

        Raises:
            BaseException: what starting it raised.
        """
        self._started.wait()
        if self._pool is None:
            assert self._error is not None
            raise self._error
        return self._pool

    def ready(self) -> bool:
        """True once a worker has started and can take a chunk."""
        return any(started.done() for started in self._ready)

    def end(self) -> None:
        """Stop the workers and the server, and wait until they are gone."""
        self._ending.set()
        self._keeper.join()


_AHEAD: list[_Workers] = []
"""A pool started ahead (``workers_ahead``), for the next ``map_in_pool`` to take."""


@contextlib.contextmanager
def workers_ahead(
    function: Callable[..., object], workers: int = 2, *, preload: Sequence[str] = ()
) -> Iterator[None]:
    """Start a parse pool for ``function`` now, for the first ``map_in_pool`` of the block
    to take: its fork server and workers start (0.3-0.5 s of a fresh interpreter's imports)
    while this process does something else, such as deriving the vault's key from the
    passphrase. If no ``map_in_pool`` takes it, it is stopped when the block ends. Within
    the block of another, it starts nothing more. ``preload`` is as for ``map_in_pool``."""
    if _AHEAD:
        yield
        return
    started = _Workers(function, workers, preload)
    _AHEAD.append(started)
    try:
        yield
    finally:
        if started in _AHEAD:
            _AHEAD.remove(started)
            started.end()


BYTES_IN_FLIGHT = 16 * 1024 * 1024
"""Input bytes handed to the pool and not yet taken by the caller, by default: a mailbox of
5 MB scans keeps as few mails in flight as a mailbox of small ones keeps memory."""


class _Window:
    """What the feeder has handed to the pool and the caller has not taken yet: chunks and
    bytes, each with its bound. A chunk starts only while both are under their bound, so the
    bytes in flight stay under ``size`` plus one chunk."""

    def __init__(self, chunks: int, size: int) -> None:
        self._change = threading.Condition()
        self._chunks, self._bytes = 0, 0
        self._max_chunks, self._max_bytes = chunks, size
        self._closed = False

    def wait(self) -> bool:
        """Wait until another chunk may start; False once the window is closed."""
        with self._change:
            self._change.wait_for(
                lambda: (
                    self._closed
                    or (self._chunks < self._max_chunks and self._bytes < self._max_bytes)
                )
            )
            return not self._closed

    def take(self, weight: int) -> None:
        """Count a chunk of ``weight`` bytes in flight."""
        with self._change:
            self._chunks, self._bytes = self._chunks + 1, self._bytes + weight

    def give(self, weight: int) -> None:
        """A chunk of ``weight`` bytes was taken by the caller."""
        with self._change:
            self._chunks, self._bytes = self._chunks - 1, self._bytes - weight
            self._change.notify_all()

    def close(self) -> None:
        """Wake the feeder for good: the caller left."""
        with self._change:
            self._closed = True
            self._change.notify_all()

    def wait_closed(self) -> None:
        """Wait until the caller leaves."""
        with self._change:
            self._change.wait_for(lambda: self._closed)


def raw_size(value: object) -> int:
    """The size of ``value.raw`` where that is bytes (a mail read, to be parsed), else 0: the
    ``weigh`` of the mail importers."""
    raw = getattr(value, "raw", None)
    return len(raw) if isinstance(raw, bytes) else 0


def _chunk(
    source: Iterator[T], count: int, size: int, weigh: Callable[[T], int] | None
) -> tuple[list[T], int]:
    """The next ``count`` inputs, cut short once they weigh ``size`` bytes; and their weight."""
    chunk: list[T] = []
    weight = 0
    for value in source:
        chunk.append(value)
        weight += weigh(value) if weigh is not None else 0
        if len(chunk) >= count or weight >= size:
            break
    return chunk, weight


def map_in_pool(
    function: Callable[[T], R],
    inputs: Iterable[T],
    workers: int = 2,
    chunksize: int = 64,
    window: int = 16,
    first: int = IN_PROCESS_FIRST,
    *,
    weigh: Callable[[T], int] | None = None,
    max_bytes: int = BYTES_IN_FLIGHT,
    preload: Sequence[str] = (),
) -> Iterator[R]:
    """Apply ``function`` in a process pool, yielding results in input order.

    ``function`` and the inputs must be picklable, and ``function`` must be importable by a
    fresh interpreter. A thread reads ``inputs`` and hands chunks to the pool, so neither that
    reading nor the workers wait while the caller writes a batch: measured on 5,000 mails, the
    writer thread's CPU fell by a fifth once the mbox splitting left it. At most ``window``
    chunks (by default 1,024 items, about a batch) are in flight or waiting to be taken
    (``Executor.map`` would read all of ``inputs`` first), so a stream stays a stream. When
    ``weigh`` tells an input's size in bytes, the inputs in flight also stay under
    ``max_bytes`` plus one chunk (a chunk ends at ``max_bytes / window``): what the workers
    make of them (the parsed records) grows with them, so memory stays flat whatever the
    size of the mails. ``preload`` names modules ``function`` imports only when it first
    needs them: the workers' fork server loads them once for all of them.

    The ``first`` inputs are done in this process before any worker starts, so a reader that
    stops early costs no pool (``IN_PROCESS_FIRST``). A pool started
    ahead (``workers_ahead``) is taken instead of a new one, and its workers take every input
    from the first on: they started while this process did something else.
    """
    give_back_large_blocks()
    source = iter(inputs)
    ahead = _AHEAD.pop() if _AHEAD else None
    for value in islice(source, 0 if ahead is not None else first):
        yield function(value)
    done: queue.SimpleQueue[tuple[Future[list[R]], int] | BaseException | None]
    done = queue.SimpleQueue()
    room = _Window(window, max_bytes)
    chunk_bytes = max(1, max_bytes // window)

    def feed() -> None:
        # Until a worker is ready (a fresh interpreter takes 0.2-0.5 s to import what it
        # needs), this thread parses the chunks itself; a pool started ahead takes them all.
        started = ahead or _Workers(function, workers, preload)
        taken_over = False
        try:
            pool = started.pool()
            while room.wait():
                chunk, weight = _chunk(source, chunksize, chunk_bytes, weigh)
                if not chunk:
                    break
                room.take(weight)
                if taken_over or ahead is not None or started.ready():
                    if not taken_over:
                        taken_over = True
                        for release in _HANDED_OVER:
                            release()
                    done.put((pool.submit(_apply, function, chunk), weight))
                else:
                    done.put((_done_here(function, chunk), weight))
                del chunk  # the pool holds it until it is done, and no longer
        except BaseException as exc:  # handed to the caller, which raises it
            done.put(exc)
        done.put(None)
        room.wait_closed()
        started.end()

    feeder = threading.Thread(target=feed, name=FEEDER_THREAD, daemon=True)
    feeder.start()
    try:
        while (entry := done.get()) is not None:
            if isinstance(entry, BaseException):
                raise entry
            future, weight = entry
            results = future.result()
            del future, entry  # once taken, the results are the caller's alone
            yield from results
            room.give(weight)
    finally:
        room.close()
        feeder.join()
