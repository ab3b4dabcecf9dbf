"""Where a mail import's time goes, and the floor no parser speed-up can go under.

Issue 9 asks for an import twice as fast as ``mbox-to-sqlite``. This bench splits kluis's
import of the bench mailbox (bench/mailgen.py, 20,000 mails by default, the cache that
import_mail.py uses) into its two halves and measures each alone, in this one process:

1. **parse**: the mbox importer's records collected in memory (its process pool included),
2. **store**: those records written by the real ``Ingestor`` into a fresh vault (SQLCipher,
   the FTS5 index, companies, blobs): the writer with no parsing left to wait for,
3. the same store with the full-text index left out, and again into plaintext SQLite without
   it (bench-only switches, so the index's and the encryption's shares show),
4. ``mbox-to-sqlite`` on the same mbox, as a separate process.

``--designs`` adds the index designs of issue 21 to the store rows: the FTS5 prefix index
with 3-letter prefixes only and with none (today: 2 and 3), and the index in its own file
written by a second thread (``index_designs.py``, a prototype).

Then the arithmetic: on a machine with C cores, an import cannot end sooner than
max(store wall, (parse CPU + store CPU) / C), since the writer is one thread (SQLite has one
writer per database) and the two halves share the cores. Figures, not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mailgen
from index_designs import SideIndex, indexed, prefix
from measure import machine_line, run, table
from plain_kluis import plaintext

import importers
from vault import ingest, search_index
from vault.ingest import Ingestor
from vault.records import ImportOptions
from vault.unlock import create_vault

PASSPHRASE = "bench-passphrase"


def _cpu() -> float:
    """CPU seconds of this process and of its waited-for children (the parse pool)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@contextmanager
def _timed(into: dict[str, float]) -> Iterator[None]:
    wall, cpu = time.perf_counter(), _cpu()
    yield
    into["wall"], into["cpu"] = time.perf_counter() - wall, _cpu() - cpu


@contextmanager
def _without_index() -> Iterator[None]:
    """Bench-only: no period tables are made or filled; the guard trigger is dropped on create."""
    saved = ingest.ensure_periods, ingest.index_new
    ingest.ensure_periods = ingest.index_new = lambda *_: None  # type: ignore[assignment]
    try:
        yield
    finally:
        ingest.ensure_periods, ingest.index_new = saved


def _store(
    records: list[Any], options: ImportOptions, folder: Path, index: bool, side: bool = False
) -> dict[str, float]:
    vault, _ = create_vault(folder, PASSPHRASE)
    if not index:
        with vault.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER interaction_fts_guard")
    figures: dict[str, float] = {}
    try:
        with _timed(figures):
            beside = SideIndex(folder, vault._dek) if side else None
            progress = beside.committed if beside is not None else None
            summary = Ingestor(vault, options, "mbox", "bench", progress=progress).run(records)
            if beside is not None:
                beside.finish()
        if beside is not None:
            figures["indexed"] = indexed(folder, vault._dek)
    finally:
        vault.close()
    figures["stored"] = summary.new
    figures["size"] = sum(p.stat().st_size for p in folder.iterdir())
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=20_000)
    parser.add_argument("--data", type=Path, help="the generated mailbox's cache folder")
    parser.add_argument(
        "--designs", action="store_true", help="also store with the index designs of issue 21"
    )
    args = parser.parse_args(argv)
    data = args.data or Path(tempfile.gettempdir()) / "kluis-bench" / f"mail-{args.mails}"
    mailgen.ensure(data, args.mails, maildir=False)
    mbox = data / "mailbox.mbox"
    cores = os.cpu_count() or 1
    print(machine_line())
    print(f"mailbox: {args.mails:,} mails, {mbox.stat().st_size / 2**20:.0f} MiB: {mbox}")
    options = ImportOptions(
        timezone=ZoneInfo("Europe/Amsterdam"), me_addresses=frozenset({mailgen.OWNER})
    )
    parse: dict[str, float] = {}
    with _timed(parse):
        records = list(importers.load("mbox").read(mbox, options))
    rows: dict[str, dict[str, float]] = {"parse (mbox importer, its pool included)": parse}
    today = search_index.PREFIX_INDEX
    variants = [  # (label, with the full-text index, encrypted, prefix lengths, second file)
        ("store: SQLCipher + full-text index (what kluis does)", True, True, today, False),
        ("store: SQLCipher, no full-text index", False, True, today, False),
        ("store: plain SQLite, no full-text index", False, False, today, False),
    ]
    if args.designs:
        variants += [
            ("store: full-text index, prefix='3'", True, True, "3", False),
            ("store: full-text index, no prefix index", True, True, "", False),
            ("store: index in index.db by a 2nd thread", False, True, today, True),
        ]
    with tempfile.TemporaryDirectory(prefix="kluis-floor-") as tmp:
        for number, (label, index, encrypted, lengths, side) in enumerate(variants):
            with (
                nullcontext() if index else _without_index(),
                nullcontext() if encrypted else plaintext(),
                nullcontext() if lengths == today else prefix(lengths),
            ):
                rows[label] = _store(records, options, Path(tmp) / f"v{number}", index, side)
        tool = shutil.which("mbox-to-sqlite") or str(Path(sys.executable).parent / "mbox-to-sqlite")
        m2s = None
        if Path(tool).exists():
            done = run([tool, "mbox", str(Path(tmp) / "mail.db"), str(mbox)])
            if done.returncode == 0:
                m2s = {"wall": done.wall, "cpu": done.cpu}
                rows["mbox-to-sqlite (separate process)"] = m2s
    store_run = rows[variants[0][0]]
    print(
        table(
            ["stage", "wall s", "CPU s", "msg/s (wall)", "stored", "in index.db", "vault MiB"],
            [
                [
                    label,
                    f"{f['wall']:.1f}",
                    f"{f['cpu']:.2f}",
                    f"{args.mails / f['wall']:,.0f}",
                    f"{f['stored']:,.0f}" if "stored" in f else "",
                    f"{f['indexed']:,.0f}" if "indexed" in f else "",
                    f"{f['size'] / 2**20:.0f}" if "size" in f else "",
                ]
                for label, f in rows.items()
            ],
        )
    )
    floor = max(store_run["wall"], (parse["cpu"] + store_run["cpu"]) / cores)
    print(
        f"floor on {cores} cores: max(store wall {store_run['wall']:.1f} s, "
        f"(parse CPU {parse['cpu']:.1f} + store CPU {store_run['cpu']:.1f}) / {cores}) = "
        f"{floor:.1f} s = {args.mails / floor:,.0f} msg/s at best"
    )
    if m2s is not None:
        budget = m2s["wall"] / 2
        print(
            f"2× mbox-to-sqlite needs {budget:.1f} s ({2 * args.mails / m2s['wall']:,.0f} msg/s): "
            + (
                "within the floor"
                if floor <= budget
                else f"under kluis's floor by {floor - budget:.1f} s; the store alone "
                f"takes {store_run['wall'] / budget:.1f}× that budget"
            )
        )
    else:
        print("mbox-to-sqlite: not installed (pip install mbox-to-sqlite), no budget printed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
