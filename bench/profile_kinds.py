"""Which mails cost kluis more than mu: a profile per generated shape, and a cost per mail kind.

For each of bench/mailgen.py's shapes (``commercial`` and ``plain``, --mails each, the caches
import_mail.py uses):

1. **profile**: cProfile of kluis's mbox import run in this one process with no parse pool
   (parse and store on one thread, so every function shows), into a fresh SQLCipher vault;
   prints the top functions by own time and the own time summed per module. PDFs and images
   are read in a sandboxed child (importers/scan): its CPU is not in the profile, where the
   wait for it shows as ``select.select``; the per-kind figures below include it.
2. **kinds**: the shape's Maildir sorted by kind of mail (plain text; text + HTML; the same with
   JSON-LD booking markup; a small PDF; a 50–400 KB image; a 1–5 MB scan), each kind hard-linked
   into its own Maildir, then ``kluis import`` and ``mu index`` of each as separate processes
   (interleaved, --repeat times, medians). An empty Maildir's run is each tool's fixed cost,
   taken off before dividing by the mails, so a kind's figure is what one more such mail costs;
   the last column is kluis's CPU per mail over mu's (above 1: kluis spends more on that kind).
   A kind under 4 MiB is parsed without kluis's pool, so compare CPU, not wall, across kinds.

Figures, not a test. mu is skipped with a note when it is not installed.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

import import_mail
import mailgen
from measure import Run, machine_line, median, run, table

import importers
from importers.email import mbox
from vault.ingest import Ingestor
from vault.records import ImportOptions
from vault.unlock import create_vault

KINDS = (
    "plain text",
    "text + HTML",
    "text + HTML + JSON-LD",
    "small PDF (2–4 KB)",
    "image 50–400 KB",
    "scan 1–5 MB",
)


def kind_of(raw: bytes) -> str:
    """The kind of a generated mail, from its top-level content type, markup and size."""
    head = raw.split(b"\n\n", 1)[0]
    if b"Content-Type: multipart/mixed" in head:
        if len(raw) >= 1 << 20:
            return KINDS[5]
        return KINDS[4] if len(raw) >= 40_000 else KINDS[3]
    if b"Content-Type: multipart/alternative" in head:
        return KINDS[2] if b"ld+json" in raw else KINDS[1]
    return KINDS[0]


def profile(data: Path, mails: int, top: int) -> None:
    """cProfile of one in-process, single-threaded import of ``data``'s mbox."""
    options = ImportOptions(
        timezone=ZoneInfo("Europe/Amsterdam"), me_addresses=frozenset({mailgen.OWNER})
    )
    saved = mbox.POOL_MIN_BYTES
    mbox.POOL_MIN_BYTES = 1 << 62  # bench-only: parse on this thread, where cProfile sees it
    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory(prefix="kluis-profile-") as tmp:
        vault, _ = create_vault(Path(tmp) / "vault", import_mail.PASSPHRASE)
        try:
            records = importers.load("mbox").read(data / "mailbox.mbox", options)
            profiler.enable()
            summary = Ingestor(vault, options, "mbox", "bench").run(records)
            profiler.disable()
        finally:
            vault.close()
            mbox.POOL_MIN_BYTES = saved
    stats = pstats.Stats(profiler, stream=io.StringIO())
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for _, _, tt, _, _ in entries.values())
    print(
        f"  {summary.new:,} stored; {total:.1f} s of own time profiled, {1000 * total / mails:.2f} ms/mail"
    )
    by_function = sorted(entries.items(), key=lambda kv: -kv[1][2])[:top]
    print(
        table(
            ["function (own time)", "s", "%", "calls"],
            [
                [_where(key), f"{tt:.2f}", f"{100 * tt / total:.0f}", f"{calls:,}"]
                for key, (_, calls, tt, _, _) in by_function
            ],
        )
    )
    modules: dict[str, float] = defaultdict(float)
    for key, (_, _, tt, _, _) in entries.items():
        modules[_module(key[0])] += tt
    print(
        table(
            ["module (own time summed)", "s", "%"],
            [
                [name, f"{tt:.2f}", f"{100 * tt / total:.0f}"]
                for name, tt in sorted(modules.items(), key=lambda kv: -kv[1])[:top]
            ],
        )
    )


def _module(filename: str) -> str:
    if filename == "~":
        return "C builtins (sqlite3, re, zlib, …)"
    parts = Path(filename).parts
    for anchor in ("vault", "importers", "email", "selectolax", "sqlalchemy", "sqlcipher3"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) :])
    return Path(filename).name


def _where(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    return name if filename == "~" else f"{_module(filename)}:{line} {name}"


def sort_kinds(data: Path, into: Path) -> dict[str, int]:
    """Hard-link each mail of ``data``'s Maildir into ``into/<kind number>/Maildir``."""
    counts = dict.fromkeys(KINDS, 0)
    for number in range(len(KINDS) + 1):  # the last one stays empty: the fixed cost
        for sub in ("cur", "new", "tmp"):
            (into / str(number) / "Maildir" / sub).mkdir(parents=True)
    for file in (data / "Maildir" / "cur").iterdir():
        kind = kind_of(file.read_bytes())
        counts[kind] += 1
        os.link(file, into / str(KINDS.index(kind)) / "Maildir" / "cur" / file.name)
    return counts


def per_kind(data: Path, repeat: int) -> None:
    """kluis and mu on each kind of ``data``'s mail, fixed cost taken off, per mail."""
    tools = {"kluis": import_mail.TOOLS["kluis-maildir"]}
    if shutil.which("mu"):
        tools["mu"] = import_mail.TOOLS["mu"]
    else:
        print("  mu: not installed (apt-get install maildir-utils), kluis alone")
    with tempfile.TemporaryDirectory(prefix="kluis-kinds-") as tmp:
        counts = sort_kinds(data, Path(tmp))
        runs: dict[tuple[str, int], list[Run]] = defaultdict(list)
        for _ in range(repeat):
            for number in range(len(KINDS) + 1):
                if number < len(KINDS) and not counts[KINDS[number]]:
                    continue
                for name, tool in tools.items():
                    with tempfile.TemporaryDirectory(prefix=f"kluis-kind-{name}-") as work:
                        command, env = tool.prepare(Path(work), Path(tmp) / str(number))
                        done = run(command, env=env)
                    if done.returncode not in (0, 3):
                        print(f"  {name} on {number}: exit {done.returncode}: {done.stderr[-300:]}")
                        continue
                    runs[name, number].append(done)
    fixed = {name: _cost(runs[name, len(KINDS)]) for name in tools}
    rows = []
    for number, kind in enumerate(KINDS):
        mails = counts[kind]
        if not mails or not runs["kluis", number]:
            continue
        cost = {
            name: [
                (a - b) * 1000 / mails
                for a, b in zip(_cost(runs[name, number]), fixed[name], strict=True)
            ]
            for name in tools
            if runs[name, number]
        }
        row = [kind, f"{mails:,}", *(f"{c:.2f}" for c in cost["kluis"])]
        if "mu" in cost:
            # CPU, not wall: a kind's few mails leave wall times in the noise of a shared VM.
            ratio = cost["kluis"][1] / cost["mu"][1] if cost["mu"][1] > 0 else float("inf")
            row += [*(f"{c:.2f}" for c in cost["mu"]), f"{ratio:.2f}×"]
        rows.append(row)
    header = ["kind", "mails", "kluis wall ms/mail", "kluis CPU ms/mail"]
    if "mu" in tools:
        header += ["mu wall ms/mail", "mu CPU ms/mail", "kluis CPU ÷ mu CPU"]
    print(table(header, rows))
    print(
        "  fixed cost per run (empty Maildir), taken off above: "
        + ", ".join(f"{n} {w:.2f} s wall, {c:.2f} s CPU" for n, (w, c) in fixed.items())
    )


def _cost(runs: list[Run]) -> tuple[float, float]:
    return median([r.wall for r in runs]), median([r.cpu for r in runs])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=3000, help="per shape")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool and kind")
    parser.add_argument("--top", type=int, default=15, help="rows of each profile table")
    parser.add_argument("--shapes", default=",".join(mailgen.SHAPES))
    parser.add_argument("--data", type=Path, help="the generated mailboxes' cache folder")
    args = parser.parse_args(argv)
    print(machine_line())
    for shape in [s.strip() for s in args.shapes.split(",") if s.strip()]:
        data = import_mail.mailbox(shape, args.mails, args.data, ["kluis-maildir"])
        print(f"\n== {shape}: profile of one in-process import (no pool) ==")
        profile(data, args.mails, args.top)
        print(f"\n== {shape}: cost per kind of mail (medians of {args.repeat}) ==")
        per_kind(data, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
