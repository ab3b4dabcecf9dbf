"""`kluis doctor`: is the vault whole, are its keys consistent, are its files private?"""

from __future__ import annotations

import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from vault import keys as keymod
from vault.device import load_device_key
from vault.errors import VaultError
from vault.fsutil import FILE_MODE, FOLDER_MODE
from vault.store import open_store
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

    @property
    def ok(self) -> bool:
        """True if every check passed."""
        return all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        """Record a check."""
        self.checks.append(Check(name, ok, detail))

    def to_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "ok": self.ok,
            "checks": [vars(c) for c in self.checks],
            "counts": self.counts,
            "last_imports": self.last_imports,
        }

    def print(self) -> None:
        """The report for a person."""
        out = sys.stdout
        for check in self.checks:
            out.write(f"{'✓' if check.ok else '✗'} {check.name}: {check.detail}\n")
        if self.counts:
            out.write("Counts: " + ", ".join(f"{v:,} {k}" for k, v in self.counts.items()) + "\n")
        for run in self.last_imports:
            out.write(
                f"Import {run['started_at'][:16]} {run['format']} {run['status']}: "
                f"{run['new']:,} new, {run['duplicate']:,} duplicate, "
                f"{run['quarantined']:,} quarantined\n"
            )
        out.write("The vault is healthy.\n" if self.ok else "Problems found (see ✗ above).\n")


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


def _check_references(conn: Connection, report: Report) -> None:
    """Every reference points to a row: an item's company, thread and blobs, a booking's items."""
    dangling = conn.execute(text("PRAGMA foreign_key_check")).all()
    tables = ", ".join(sorted({str(row[0]) for row in dangling}))
    rows = "1 row refers" if len(dangling) == 1 else f"{len(dangling):,} rows refer"
    report.add(
        "references",
        not dangling,
        f"{rows} to rows that do not exist (in {tables})"
        if dangling
        else "every row a row refers to exists",
    )


def run_checks(folder: Path, source: PassphraseSource) -> Report:
    """Run every check on the vault in ``folder``."""
    report = Report()
    keyfile, dek = unlock_key(folder, source)
    _check_keys(keyfile, report)
    store = open_store(folder, dek, keyfile.vault_id)
    try:
        with store.read() as conn:
            integrity = [r[0] for r in conn.execute(text("PRAGMA integrity_check"))]
            report.add("integrity_check", integrity == ["ok"], "; ".join(integrity[:5]))
            cipher = [r[0] for r in conn.execute(text("PRAGMA cipher_integrity_check"))]
            report.add(
                "cipher_integrity_check",
                not cipher,
                "every page authenticates" if not cipher else "; ".join(cipher[:5]),
            )
            _check_references(conn, report)
            for table in COUNTED_TABLES:
                report.counts[table] = int(
                    conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                )
            rows = (
                conn.execute(
                    text(
                        "SELECT format, started_at, finished_at, status, new, duplicate, updated, "
                        "quarantined, errors FROM importrun ORDER BY id DESC LIMIT 5"
                    )
                )
                .mappings()
                .all()
            )
            report.last_imports = [dict(r) for r in rows]
    finally:
        store.close()
    _check_modes(folder, report)
    return report
