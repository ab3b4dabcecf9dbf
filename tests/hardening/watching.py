"""A long-running ``kluis`` command as a subprocess, with its status lines collected."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from tests.hardening.harness import Kluis, open_for_test


@contextmanager
def running(kluis: Kluis, log: Path, *args: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """``kluis ARGS`` running, its stdout in ``log``; killed afterwards if still running."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            kluis.command(*args),
            env=kluis.env(**env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.PIPE,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def stop(process: subprocess.Popen[bytes], signum: int = signal.SIGTERM) -> tuple[int, str]:
    """Send ``signum`` and wait; (exit status, stderr)."""
    process.send_signal(signum)
    _out, err = process.communicate(timeout=30)
    return process.returncode, err.decode(errors="replace")


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> float:
    """Wait until ``check()`` holds; returns the seconds it took, fails after ``seconds``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"not within {seconds:.0f} s: {what}")
        time.sleep(0.1)
    return time.monotonic() - started


def titles(kluis: Kluis) -> list[str]:
    """The titles of every item in the vault, as the vault holds them now."""
    store = open_for_test(kluis.vault)
    try:
        with store.read() as conn:
            return [str(row[0]) for row in conn.execute(text("SELECT title FROM interaction"))]
    finally:
        store.close()
