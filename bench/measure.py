"""Run a command and measure it: wall time, CPU, peak RSS of its largest process and of its tree.

``os.wait4`` gives the child's own rusage, whose ``ru_maxrss`` on Linux is the peak of the
child or of any descendant it waited for (a pool worker, ``mu``'s helpers): the largest single
process. Pool workers add up, so a sampler also reads ``/proc`` every 50 ms and keeps the peak
of the whole process tree's summed RSS, and of its summed PSS (``smaps_rollup``): forked
workers share most of their pages with their parent, which summed RSS counts once per process
and PSS divides among them, so PSS is what the tree really holds.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True, slots=True)
class Run:
    """What one command cost."""

    wall: float  # seconds
    cpu: float  # user + system seconds, the child and its waited-for descendants
    peak_rss_mb: float  # largest single process (ru_maxrss)
    tree_rss_mb: float  # summed RSS of the process tree, sampled peak
    tree_pss_mb: float  # summed PSS of the process tree, sampled peak (shared pages split)
    returncode: int
    stdout: str
    stderr: str


def _tree_memory(root: int) -> tuple[int, int]:
    """(RSS, PSS) bytes of ``root`` and all its descendants, now."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rpartition(b")")[2].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        rss[pid] = int(fields[21]) * _PAGE
    total, proportional, todo = 0, 0, [root]
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        proportional += _pss(pid)
        todo.extend(children.get(pid, ()))
    return total, proportional


def _pss(pid: int) -> int:
    """Proportional set size of ``pid`` in bytes (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run(
    command: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdin: bytes | None = None,
) -> Run:
    """Run ``command`` to the end and measure it (output captured to temporary files)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [os.fspath(part) for part in command],
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
        peak = peak_pss = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, peak_pss
            while not done.wait(0.05):
                rss, pss = _tree_memory(process.pid)
                peak, peak_pss = max(peak, rss), max(peak_pss, pss)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        if stdin is not None and process.stdin is not None:
            process.stdin.write(stdin)
            process.stdin.close()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            wall=wall,
            cpu=usage.ru_utime + usage.ru_stime,
            peak_rss_mb=usage.ru_maxrss / 1024,
            tree_rss_mb=peak / 2**20,
            tree_pss_mb=peak_pss / 2**20,
            returncode=process.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


def median(values: Sequence[float]) -> float:
    """The median (a single run is its own median)."""
    return statistics.median(values)


def machine_line() -> str:
    """Date, machine, Python and load: the header every table carries."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{datetime.now().astimezone():%Y-%m-%d %H:%M %z} — {platform.node()} — {cpu}, "
        f"{os.cpu_count()} cores — Python {platform.python_version()} — load avg {load}"
    )


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table, first column left-aligned, the rest right-aligned."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])
