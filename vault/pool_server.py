"""The parse pool's fork server, set up as it starts: it dies with the importing process.

``vault.pool`` has the fork server (``multiprocessing``'s ``forkserver``: a fresh interpreter,
never a fork of the process that holds the unlocked vault) load this module first, then the
importer's modules, and fork the workers from it, so they share those modules' memory. Imported
there, this module makes the server ignore Ctrl-C (the importing process handles it and stops
the pool) and has the kernel kill it when the importing process ends, however it ends; the
workers, forked from it, are killed with it in turn (``vault.pool``). Imported anywhere else it
does nothing.
"""

from __future__ import annotations

import ctypes
import signal
import sys
from multiprocessing import forkserver

from vault.collector import collect_less_often

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> None:
    """Have the kernel send this process SIGKILL when its parent ends (Linux only)."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _in_fork_server() -> bool:
    """True while ``multiprocessing.forkserver.main`` loads its preloaded modules."""
    frame = sys._getframe()
    while frame is not None:
        if frame.f_code is forkserver.main.__code__:
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


if _in_fork_server():
    collect_less_often()  # as it loads the importer's modules, and in every worker it forks
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
