"""The reader child: PDFs and images are decoded in a process of their own, never in kluis's.

One child per kluis process (the main one and each parse worker), started when the first PDF or
image is met and reused for the next ones. It runs ``importers.scan.child`` in an isolated Python
with an environment that holds no secret of the parent's, reads requests on its stdin and answers on
its stdout, each message a frame: four bytes of length, then the bytes. A request is a JSON
header (``{"kind": "pdf"}``) and the file's bytes; the answer is ``Scan.to_json`` as JSON.

A child that dies (out of memory, its alarm, a crash) or misses the deadline is ended and the
file gets a note saying why; the next file starts a new child. A forked parse worker never
shares its parent's child: it forgets it and starts its own. A child left without work for
``IDLE_SECONDS`` is ended, and the importing process's own one as soon as the parse pool's
workers take a big import over (``vault.pool.when_workers_take_over``: it would otherwise hold
its ~20 MB while theirs work); the next file starts another.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from importers.scan.found import READ_SECONDS, READER_MEMORY
from importers.scan.frames import read_frame, write_frame
from vault.pool import when_workers_take_over

START_SECONDS = 15.0
"""What the child may take to start and load its libraries, on top of ``READ_SECONDS``."""
IDLE_SECONDS = 5.0
"""A child given no file for this long is ended."""
MAX_REPLY = 8 * 1024 * 1024
# Isolated mode (-I: no PYTHON* variables, no user site, no current folder on the path), with the
# folder kluis runs from put on the path, however kluis was installed. The packages ``importers``
# and ``importers.scan`` are made bare (their folders, not their ``__init__``, which load kluis's
# record model and the parent's side): the child imports only the modules it runs.
_ROOT = Path(__file__).resolve().parents[2]
_BOOT = """import sys
sys.path.insert(0, sys.argv[1])
for name, folder in (("importers", sys.argv[2]), ("importers.scan", sys.argv[3])):
    sys.modules[name] = package = type(sys)(name)
    package.__path__ = [folder]
from importers.scan.child import main
main()"""
_CHILD = [
    sys.executable,
    "-I",
    "-c",
    _BOOT,
    str(_ROOT),
    str(_ROOT / "importers"),
    str(_ROOT / "importers" / "scan"),
]
# What the child gets of the environment: nothing of the parent's (KLUIS_PASSPHRASE stays there).
_ENVIRONMENT = {"LC_ALL": "C.UTF-8"}


class ReaderFailed(Exception):
    """The reader child could not read a file; the message says why, for the file's note."""


class _Reader:
    """This process's reader child, started on first use."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.last_used = 0.0
        self.idle_timer: threading.Timer | None = None

    def read(self, kind: str, data: bytes) -> Any:
        """The child's answer for one file.

        Raises:
            ReaderFailed: the child failed or took too long; it has been ended.
        """
        with self.lock:
            process = self.process or self._start()
            assert process.stdin is not None and process.stdout is not None
            deadline = time.monotonic() + READ_SECONDS + START_SECONDS
            try:
                write_frame(process.stdin.fileno(), json.dumps({"kind": kind}).encode())
                write_frame(process.stdin.fileno(), data)
                reply = read_frame(process.stdout.fileno(), MAX_REPLY, deadline)
                if reply is None:
                    raise EOFError
                self._end_when_idle()
                return json.loads(reply)
            except (OSError, EOFError, TimeoutError, ValueError) as exc:
                raise ReaderFailed(self._end(process, exc)) from None

    def _end_when_idle(self) -> None:
        """(Re)arm the timer that ends the child once it has had no work for ``IDLE_SECONDS``."""
        self.last_used = time.monotonic()
        if self.idle_timer is None or not self.idle_timer.is_alive():
            self.idle_timer = threading.Timer(IDLE_SECONDS, self._close_if_idle)
            self.idle_timer.daemon = True
            self.idle_timer.start()

    def _close_if_idle(self) -> None:
        with self.lock:
            idle = time.monotonic() - self.last_used
            if idle < IDLE_SECONDS:  # used meanwhile: look again when it may be idle
                self.idle_timer = threading.Timer(IDLE_SECONDS - idle, self._close_if_idle)
                self.idle_timer.daemon = True
                self.idle_timer.start()
                return
            self.idle_timer = None
            self._close_child()

    def _start(self) -> subprocess.Popen[bytes]:
        try:
            self.process = subprocess.Popen(
                _CHILD,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=_ENVIRONMENT,
                close_fds=True,
            )
        except OSError as exc:
            raise ReaderFailed(f"the reader could not start ({exc.strerror or exc})") from None
        return self.process

    def _end(self, process: subprocess.Popen[bytes], exc: BaseException) -> str:
        """End the child after ``exc``; why it failed, in words."""
        self.process = None
        if isinstance(exc, TimeoutError):
            process.kill()
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        _close(process)
        signals = {-getattr(signal, name, 0): name for name in ("SIGALRM", "SIGABRT", "SIGKILL")}
        if isinstance(exc, TimeoutError) or signals.get(code) == "SIGALRM":
            return f"reading it took longer than {READ_SECONDS} s"
        if signals.get(code) in ("SIGABRT", "SIGKILL"):  # PDFium aborts when out of memory
            return f"reading it needed more than {READER_MEMORY // 2**20} MB of memory"
        if code == 0 and isinstance(exc, ValueError):
            return f"the reader's answer was not understood ({exc})"
        return f"the reader stopped ({_exit_status(code)})"

    def close(self) -> None:
        """End the child at exit (without the lock: a read cut short may hold it); it stops
        when its stdin closes."""
        self._close_child()

    def release(self) -> None:
        """End the child once its read (if one runs) is done; the next file starts another."""
        with self.lock:
            self._close_child()

    def _close_child(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        _close(process)
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def forget(self) -> None:
        """In a forked child process: drop the parent's reader without touching it."""
        if self.process is not None:
            _close(self.process)
        self.process = None
        self.lock = threading.Lock()
        self.idle_timer = None  # the parent's timer thread does not exist here


def _close(process: subprocess.Popen[bytes]) -> None:
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            stream.close()


def _exit_status(code: int) -> str:
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


_READER = _Reader()
atexit.register(_READER.close)
when_workers_take_over(_READER.release)
if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_READER.forget)


def read_in_sandbox(kind: str, data: bytes) -> Any:
    """The reader child's answer (``Scan.to_json``) for one file.

    Raises:
        ReaderFailed: it could not be read; the message says why.
    """
    return _READER.read(kind, data)
