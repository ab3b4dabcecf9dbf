"""Where an import's memory is: the peak PSS of each process in its tree, by role.

Runs ``kluis import`` of bench/mailgen.py's mailbox (cached as bench/import_mail.py caches it)
into a fresh vault, --repeat times, and samples every 50 ms the PSS (``smaps_rollup``) of each
process under it: the importing process, the parse pool's fork server, its workers, the scan
readers (``importers.scan.child``) and multiprocessing's resource tracker. Prints per role the
largest count of processes seen at once, the peak PSS of one process and of the role summed, and
the tree's summed peak with each role's share at that moment (medians over the runs), besides
wall and CPU time; and per role how many processes it started and their CPU seconds (the last
sample's user+sys of each: a process's last 50 ms, or one shorter-lived, are missed).
``--src`` runs another checkout (before/after), as in import_mail.py. Figures, not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import import_mail
from measure import _pss, machine_line, median

ROLES = ("importer", "fork server", "worker", "scan reader", "resource tracker", "other")


def _tree(root: int) -> dict[int, tuple[int, str]]:
    """pid → (parent pid, command line) of ``root`` and its descendants."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as handle:
                    parents[int(entry.name)] = int(handle.read().rpartition(b")")[2].split()[1])
            except OSError:
                continue
    children: dict[int, list[int]] = defaultdict(list)
    for pid, parent in parents.items():
        children[parent].append(pid)
    found: dict[int, tuple[int, str]] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        found[pid] = (parents.get(pid, 0), command)
        todo.extend(children.get(pid, ()))
    return found


def _role(pid: int, root: int, tree: dict[int, tuple[int, str]]) -> str:
    parent, command = tree[pid]
    if pid == root:
        return "importer"
    if "importers.scan.child" in command:
        return "scan reader"
    if "resource_tracker" in command:
        return "resource tracker"
    if "multiprocessing.forkserver" in command:
        # The server's children are forked from it: they keep its command line.
        return (
            "worker"
            if "multiprocessing.forkserver" in tree.get(parent, (0, ""))[1]
            else ("fork server")
        )
    if "multiprocessing" in command:  # spawn_main: a spawned worker
        return "worker"
    return "other"


def _cpu_ticks(pid: int) -> int:
    """User + system CPU of ``pid`` in clock ticks (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rpartition(b")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat


def sample(command: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run ``command`` and return its figures: wall, cpu, tree peak and per-role peaks (MB)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    figures: dict[str, float] = defaultdict(float)
    ticks: dict[int, tuple[str, int]] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            tree = _tree(process.pid)
            by_role: dict[str, float] = defaultdict(float)
            counts: dict[str, int] = defaultdict(int)
            for pid in tree:
                role = _role(pid, process.pid, tree)
                pss = _pss(pid) / 2**20
                # An ended process reads as "other": it keeps the role it was seen in.
                before = ticks.get(pid, (role, 0))
                kept = before[0] if role == "other" else role
                ticks[pid] = (kept, max(before[1], _cpu_ticks(pid)))
                by_role[role] += pss
                counts[role] += 1
                figures[f"one {role}"] = max(figures[f"one {role}"], pss)
            total = sum(by_role.values())
            for role, value in by_role.items():
                figures[f"sum {role}"] = max(figures[f"sum {role}"], value)
                figures[f"count {role}"] = max(figures[f"count {role}"], counts[role])
            if total > figures["tree"]:
                figures["tree"] = total
                for role in ROLES:
                    figures[f"at peak {role}"] = by_role.get(role, 0.0)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(process.pid, 0)
    figures["wall"] = time.perf_counter() - started
    figures["cpu"] = usage.ru_utime + usage.ru_stime
    done.set()
    watcher.join()
    for role, count in ticks.values():
        figures[f"started {role}"] += 1
        figures[f"cpu {role}"] += count / os.sysconf("SC_CLK_TCK")
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(process.stderr.read().decode() if process.stderr else "failed")
    return figures


def main(argv: list[str] | None = None) -> int:
    """Print the per-role memory of the import."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=5000)
    parser.add_argument("--shape", default="commercial")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, help="the mailbox cache (as import_mail.py's)")
    parser.add_argument("--src", type=Path, help="run kluis from this source tree")
    args = parser.parse_args(argv)
    import_mail.SOURCE_TREE = args.src.resolve() if args.src else None
    print(machine_line())
    data = import_mail.mailbox(args.shape, args.mails, args.data, ["kluis"])
    runs: list[dict[str, float]] = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="kluis-poolmem-") as folder:
            command, env = import_mail.TOOLS["kluis"].prepare(Path(folder), data)
            runs.append(sample(command, env))
    keys = sorted({key for run in runs for key in run})

    def mid(key: str) -> float:
        return median([run.get(key, 0.0) for run in runs])

    print(
        f"{args.shape} {args.mails:,}, medians of {len(runs)}: wall {mid('wall'):.2f} s, "
        f"CPU {mid('cpu'):.2f} s, tree PSS peak {mid('tree'):.0f} MB"
    )
    print(
        f"{'role':<17} {'at once':>7} {'one peak':>9} {'sum peak':>9} {'at tree peak':>13} "
        f"{'started':>7} {'CPU':>7}"
    )
    for role in ROLES:
        if f"count {role}" not in keys:
            continue
        print(
            f"{role:<17} {mid(f'count {role}'):>7.0f} {mid(f'one {role}'):>6.0f} MB "
            f"{mid(f'sum {role}'):>6.0f} MB {mid(f'at peak {role}'):>10.0f} MB "
            f"{mid(f'started {role}'):>7.0f} {mid(f'cpu {role}'):>5.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
