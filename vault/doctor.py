"""`kluis doctor`: is the vault whole, are its keys consistent, are its files private?

The report is always made, also for a damaged vault: every query runs through a
``SalvageReader``, so a page that fails its check becomes a finding (which pages, which tables
and indexes, how many rows are still readable) instead of an error that ends the run.
"""

from __future__ import annotations

import re
import stat
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vault import keys as keymod
from vault.blobs import SKELETON
from vault.device import load_device_key
from vault.errors import VaultCorrupt, VaultDamaged, VaultError
from vault.fsutil import FILE_MODE, FOLDER_MODE
from vault.salvage import SEARCH_INDEX_PREFIX, SalvageReader, id_ranges
from vault.search_index import ID_BITS, PERIODS, key_sql, period_keys, period_table
from vault.store import DB_FILE, PAGE_SIZE, db_path
from vault.unlock import PassphraseSource, unlock_key

COUNTED_TABLES = (
    "company",
    "interaction",
    "attachment",
    "blob",
    "booking",
    "quarantine",
    "importrun",
)
_IMPORT_COLUMNS = (
    "format",
    "started_at",
    "finished_at",
    "status",
    "new",
    "duplicate",
    "updated",
    "quarantined",
    "errors",
)
_PAGE = re.compile(r"page (\d+)")
_TREE_PAGE = re.compile(r"Tree (\d+) page (\d+)")
_TREE = re.compile(r"^Tree \d+ ")
_SHOWN = 12  # pages or problems listed in a detail line before "and N more"


def after_salvage(folder: str = "DIR") -> str:
    """What to do once what was readable is saved in ``folder``."""
    return (
        "Then restore a backup (`kluis restore FILE --vault NEW`), or make a new vault "
        f"(`kluis init --vault NEW`) and import your sources again ({folder}/raw holds the "
        "saved mails)."
    )


SALVAGE_STEPS = [
    "To save what is readable: `kluis doctor --salvage DIR` writes every readable row and file "
    "in the format of `kluis export`.",
    after_salvage(),
]


@dataclass
class Check:
    """One line of the report."""

    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    """Everything the doctor found."""

    checks: list[Check] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    last_imports: list[dict[str, Any]] = field(default_factory=list)
    damaged: bool = False
    """vault.db (or keys.json) is damaged on disk: exit status 13."""
    damaged_pages: list[int] = field(default_factory=list)
    readable: dict[str, dict[str, Any]] = field(default_factory=dict)
    """For a damaged vault, per table: rows readable and the ids that are not."""
    next_steps: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if every check passed."""
        return all(c.ok for c in self.checks)

    @property
    def exit_code(self) -> int:
        """0 healthy, 13 damaged (``VaultDamaged``), 1 any other problem."""
        if self.damaged:
            return VaultDamaged.exit_code
        return 0 if self.ok else 1

    def add(self, name: str, ok: bool, detail: str) -> None:
        """Record a check."""
        self.checks.append(Check(name, ok, detail))

    def to_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "ok": self.ok,
            "damaged": self.damaged,
            "checks": [vars(c) for c in self.checks],
            "counts": self.counts,
            "damaged_pages": self.damaged_pages,
            "readable": self.readable,
            "last_imports": self.last_imports,
            "next_steps": self.next_steps,
        }

    def print(self) -> None:
        """The report for a person."""
        out = sys.stdout
        for check in self.checks:
            out.write(f"{'✓' if check.ok else '✗'} {check.name}: {check.detail}\n")
        if self.counts:
            label = "Readable" if self.damaged else "Counts"
            out.write(f"{label}: " + ", ".join(f"{v:,} {k}" for k, v in self.counts.items()) + "\n")
        for run in self.last_imports:
            out.write(
                f"Import {run['started_at'][:16]} {run['format']} {run['status']}: "
                f"{run['new']:,} new, {run['duplicate']:,} duplicate, "
                f"{run['quarantined']:,} quarantined\n"
            )
        if self.damaged:
            out.write("The vault is damaged (see ✗ above).\n")
        else:
            out.write("The vault is healthy.\n" if self.ok else "Problems found (see ✗ above).\n")
        for step in self.next_steps:
            out.write(step + "\n")


def _listed(items: list[str], separator: str = ", ") -> str:
    more = len(items) - _SHOWN
    return separator.join(items[:_SHOWN]) + (f" and {more:,} more" if more > 0 else "")


def _check_modes(folder: Path, report: Report) -> None:
    wrong = []
    if stat.S_IMODE(folder.stat().st_mode) != FOLDER_MODE:
        wrong.append(f"{folder.name}/ is {oct(stat.S_IMODE(folder.stat().st_mode))}")
    for path in sorted(folder.iterdir()):
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_file() and mode & ~FILE_MODE:
            wrong.append(f"{path.name} is {oct(mode)}")
    report.add(
        "file modes",
        not wrong,
        "folder 0700, files 0600" if not wrong else "; ".join(wrong) + " (want 0600/0700)",
    )


def _check_keys(keyfile: keymod.KeyFile, report: Report) -> None:
    slots = sorted(keyfile.wraps)
    missing = [s for s in ("passphrase", "recovery") if s not in keyfile.wraps]
    report.add(
        "keys.json",
        not missing,
        f"slots: {', '.join(slots)}" if not missing else f"missing: {', '.join(missing)}",
    )
    if "device" in keyfile.wraps:
        device_key = load_device_key(keyfile.vault_id)
        remembered = False
        if device_key is not None:
            try:
                keymod.unwrap_with_device_key(keyfile, device_key)
                remembered = True
            except VaultError:
                remembered = False
        report.add(
            "remembered device",
            remembered,
            "the keyring key opens the vault"
            if remembered
            else "keys.json has a device slot the keyring cannot open (`kluis forget`)",
        )


def _check_identity(reader: SalvageReader, vault_id: str, report: Report) -> None:
    rows = reader.query("SELECT key, value FROM meta WHERE key IN ('vault_id', 'schema_version')")
    if rows is None:
        report.add(DB_FILE, False, "its vault id cannot be read (a damaged page)")
        return
    meta = {str(key): str(value) for key, value in rows}
    if meta.get("vault_id") != vault_id:
        report.add(DB_FILE, False, "it does not belong to this vault's keys.json")
    else:
        report.add(DB_FILE, True, f"schema {meta.get('schema_version', '?')}, this vault's")


def _check_pages(reader: SalvageReader, size: int, report: Report) -> None:
    """SQLCipher's HMAC of every page: what was changed on disk since kluis wrote it."""
    rows = reader.check("PRAGMA cipher_integrity_check")
    if rows is None:
        report.add("cipher_integrity_check", False, "could not run (a damaged page)")
        return
    pages = sorted({int(m[1]) for (line,) in rows for m in _PAGE.finditer(str(line))})
    report.damaged_pages = pages
    listed, found = _listed([str(p) for p in pages]), []
    if len(pages) == 1:
        found.append(f"page {listed} fails its check")
    elif pages:
        found.append(f"{len(pages):,} pages fail their check: {listed}")
    elif rows:
        found += [str(r[0]) for r in rows[:5]]
    if size % PAGE_SIZE:  # a file cut short; one cut at a page boundary shows as lost rows
        found.append(f"the file ends part-way through page {size // PAGE_SIZE + 1}: cut short?")
    report.add("cipher_integrity_check", not found, "; ".join(found) or "every page authenticates")


def _object(name: str, trees: dict[int, tuple[str, str, str]], tree: int | None) -> str:
    kind, object_name, table = trees.get(tree or -1, ("table", name, name))
    what = f"index {object_name} of {table}" if kind == "index" else object_name
    return f"search index ({what})" if table.startswith(SEARCH_INDEX_PREFIX) else what


def _check_structure(reader: SalvageReader, report: Report) -> tuple[bool, set[str]]:
    """SQLite's integrity_check; when it fails, again per table to name what is damaged.
    Returns whether the structure is whole, and the tables found damaged."""
    if reader.check("PRAGMA integrity_check") == [("ok",)]:
        report.add("integrity_check", True, "ok")
        return True, set()
    schema = reader.query("SELECT rootpage, type, name, tbl_name FROM sqlite_master") or []
    trees = {int(root): (str(kind), str(name), str(table)) for root, kind, name, table in schema}
    problems, damaged = [], set()
    for name in reader.table_names():
        rows = reader.check(f'PRAGMA integrity_check("{name}")')
        if rows == [("ok",)]:
            continue
        damaged.add(name)
        if rows is None:  # name the table's trees whose root page is damaged, if any
            roots = [p for p in report.damaged_pages if trees.get(p, ("", "", ""))[2] == name]
            problems += [f"{_object(name, trees, p)} (page {p})" for p in roots] or [
                f"{_object(name, trees, None)} (its check stops at a damaged page)"
            ]
            continue
        lines = [line for line in str(rows[0][0]).splitlines() if not line.startswith("***")]
        first = (lines or ["damaged"])[0]
        # Only the first finding counts: after one bad page, SQLCipher fails every later read.
        match = _TREE_PAGE.match(first)
        what = _object(name, trees, int(match[1]) if match else None)
        if match and int(match[2]) in report.damaged_pages:
            problems.append(f"{what} (page {match[2]})")
        else:  # e.g. "Tree 29 page 29 cell 0: invalid page number 2469": a file cut short
            problems.append(f"{what}: {_TREE.sub('', first)[:120]}")
    found = _listed(problems, "; ") or "the free-page list is damaged"
    report.add("integrity_check", False, found)
    return False, damaged


def _check_references(reader: SalvageReader, tables: list[str], report: Report) -> None:
    """Every reference points to a row: an item's company, thread and blobs, a booking's items."""
    dangling = reader.check("PRAGMA foreign_key_check")
    unchecked = []
    if dangling is None:  # a damaged page stopped it: table by table, to check the others
        dangling = []
        for table in tables:
            found = reader.check(f'PRAGMA foreign_key_check("{table}")')
            if found is None:
                unchecked.append(table)
            else:
                dangling += found
    details = []
    if dangling:
        rows = "1 row refers" if len(dangling) == 1 else f"{len(dangling):,} rows refer"
        in_tables = ", ".join(sorted({str(row[0]) for row in dangling}))
        details.append(f"{rows} to rows that do not exist (in {in_tables})")
    if unchecked:
        details.append(f"not checked in {', '.join(unchecked)} (a damaged page)")
    report.add("references", not details, "; ".join(details) or "every row a row refers to exists")


def _month(key: int) -> str:
    return datetime.fromtimestamp(key >> ID_BITS, UTC).strftime("%Y-%m")


def _check_search_index(reader: SalvageReader, damaged: set[str], report: Report) -> None:
    """Each period's FTS table is whole and holds one entry per item of its period."""
    if PERIODS not in reader.table_names():
        return  # a vault of schema 3 or older: integrity_check covers its one index
    rows = reader.query(f"SELECT id FROM {PERIODS} ORDER BY id")
    if rows is None:
        report.add("search index", False, "its list of periods cannot be read")
        return
    problems, items = [], 0
    for (period,) in rows:
        low, high = period_keys(int(period))
        table = period_table(int(period))
        indexed = reader.query(f'SELECT count(*) FROM "{table}_docsize"')
        stored = reader.query(
            f"SELECT count(*) FROM interaction WHERE {key_sql()} BETWEEN ? AND ?", (low, high)
        )
        span = f"{_month(low)} to {_month(high)}"
        if indexed is None or stored is None:
            problems.append(f"{span} cannot be read")
        elif any(name == table or name.startswith(f"{table}_") for name in damaged):
            problems.append(f"{span} damaged: searches there fail")
        elif indexed[0][0] != stored[0][0]:
            problems.append(f"{span}: {indexed[0][0]:,} of {stored[0][0]:,} items indexed")
        else:
            items += int(stored[0][0])
    report.add(
        "search index",
        not problems,
        _listed(problems, "; ") or f"{items:,} items in {len(rows)} period(s), each indexed once",
    )


def _check_skeletons(reader: SalvageReader, report: Report) -> None:
    """Each raw mail stored without its attachments' base64 (``vault.skeleton``) is rebuilt
    from its attachments' blobs and checked against its SHA-256."""
    if "codec" not in dict(reader.columns("blob")):
        return  # a vault of schema 6 or older: every blob is zlib
    rows = reader.query("SELECT sha256 FROM blob WHERE codec = ?", (SKELETON,))
    if rows is None:
        report.add("raw mails", False, "the list of those stored as skeletons cannot be read")
        return
    if not rows:
        report.add("raw mails", True, "each stored whole")
        return
    broken = [f"{str(sha)[:12]}…" for (sha,) in rows if reader.blob(str(sha)) is None]
    detail = f"{len(rows):,} stored without their attachments' bytes"
    report.add(
        "raw mails",
        not broken,
        f"{detail}: each rebuilt and equal to its SHA-256"
        if not broken
        else f"{len(broken):,} of {detail} cannot be rebuilt: {_listed(broken)}",
    )


def _count(reader: SalvageReader, tables: list[str], report: Report) -> None:
    for table in COUNTED_TABLES:
        if table in tables:
            rows = reader.query(f'SELECT count(*) FROM "{table}"')
            if rows is not None:
                report.counts[table] = int(rows[0][0])


def _count_readable(reader: SalvageReader, tables: list[str], report: Report) -> None:
    """Read every row of every table, to count what a salvage would save."""
    lost = []
    for table in tables:
        rows = reader.count(table)
        spans = reader.unreadable[table]
        report.readable[table] = {"rows": rows, "unreadable_ids": [list(s) for s in spans]}
        if spans:
            lost.append(f"{table}: {rows:,} readable, not ids {id_ranges(spans, shown=8)}")
    report.counts = {t: report.readable[t]["rows"] for t in COUNTED_TABLES if t in tables}
    report.add(
        "readable rows",
        not lost,
        _listed(lost, "; ") if lost else "every row of every table reads",
    )


def _last_imports(reader: SalvageReader, report: Report) -> None:
    columns = ", ".join(_IMPORT_COLUMNS)
    rows = reader.query(f"SELECT {columns} FROM importrun ORDER BY id DESC LIMIT 5")
    report.last_imports = [dict(zip(_IMPORT_COLUMNS, row, strict=True)) for row in rows or ()]


def _check_database(folder: Path, dek: bytes, vault_id: str, report: Report) -> None:
    path = db_path(folder)
    if not path.exists() or path.stat().st_size == 0:
        state = "missing" if not path.exists() else "empty"
        report.add(DB_FILE, False, f"{state}: keys.json is there but the database is not")
        report.damaged = True
        return
    try:
        reader = SalvageReader(folder, dek)
    except VaultCorrupt as exc:
        report.add(DB_FILE, False, f"{exc}: nothing in it can be read")
        report.damaged = True
        report.next_steps = [
            "Restore a backup (`kluis restore FILE --vault NEW`); if vault.db came from another "
            "vault, put back the keys.json that belongs with it."
        ]
        return
    with reader:
        _check_identity(reader, vault_id, report)
        _check_pages(reader, path.stat().st_size, report)
        whole, damaged_tables = _check_structure(reader, report)
        tables = reader.data_tables()
        _check_references(reader, tables, report)
        _check_search_index(reader, damaged_tables, report)
        _last_imports(reader, report)
        if whole and not report.damaged_pages:
            _count(reader, tables, report)
            _check_skeletons(reader, report)
        report.damaged = bool(report.damaged_pages) or not whole or reader.damage_met
        if report.damaged:
            _count_readable(reader, tables, report)
    if report.damaged:
        report.next_steps = list(SALVAGE_STEPS)


def run_checks(folder: Path, source: PassphraseSource) -> Report:
    """Run every check on the vault in ``folder``; a damaged vault gives a report too."""
    report = Report()
    try:
        keyfile, dek = unlock_key(folder, source)
    except VaultCorrupt as exc:  # keys.json itself is damaged
        report.add("keys.json", False, str(exc))
        report.damaged = True
        report.next_steps = ["Restore a backup of the vault (`kluis restore FILE --vault NEW`)."]
    else:
        _check_keys(keyfile, report)
        _check_database(folder, dek, keyfile.vault_id, report)
    _check_modes(folder, report)
    return report
