"""``kluis export``: the whole vault as plain files anyone can read without kluis.

One JSON Lines file per table (JSON columns decoded, times kept as stored plus ISO 8601 where
the store keeps epoch seconds), attachments and original items as files, and ``schema.json``
plus ``README.md`` saying what every field means. The folder is 0700 and every file 0600:
the export is as private as the data in it, only no longer encrypted. Until it is whole it is
``FOLDER.partial-PID/FOLDER`` beside a note saying so, and the next export removes it.

``kluis doctor --salvage DIR`` writes the same format from a damaged vault: it hands in a
``vault.salvage.SalvageReader`` as the source, which skips the rows it cannot read and lists them
(``unreadable_ids`` in ``schema.json``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from vault.accounts import without_secrets
from vault.blobs import get_blob
from vault.errors import UsageError
from vault.fsutil import FILE_MODE, check_output, make_private_folder
from vault.leftovers import Swept, partial, sweep
from vault.salvage import id_ranges
from vault.store import Conn, execute, stream
from vault.timefmt import iso, now_iso

FORMAT = "kluis-export"
VERSION = 1
_SKIPPED = re.compile(r"interaction_fts.*|sqlite_.*|blob")  # blobs become files instead
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")
JSON_COLUMNS = {
    "interaction": ("recipients", "extras"),
    "booking": ("travellers", "details"),
    "disclosure": ("fields", "interactions"),
    "gdpr_request": ("fields",),
    "companyedit": ("undo",),
    "source": ("settings",),
    "sourcecursor": ("state",),
}
TABLES: dict[str, str] = {
    "meta": "Facts about the vault: schema version, vault id.",
    "company": "Companies and people you dealt with.",
    "identifier": "What points to a company: mail domains, addresses, phones, chat handles.",
    "displayname": "How often each display name was seen for a company.",
    "companyedit": "Your company edits (rename, merge, alias, split) and how to undo them.",
    "source": "Where items came from (files, folders, mail accounts).",
    "importrun": "Each import: when, what format, and its counts.",
    "sourcecursor": "How far each source has been read.",
    "thread": "Conversations: mail threads and chats.",
    "interaction": "Every mail, chat message, booking document and note.",
    "attachment": "Files that came with an interaction; the bytes are in attachments/.",
    "booking": "Reservations, orders and parcels, one row per segment.",
    "bookingsource": "Which interaction confirmed, changed or cancelled a booking.",
    "profilefield": "Your own profile.",
    "disclosure": "What you shared with whom, why and until when (the ledger).",
    "gdpr_request": "Your GDPR requests and their one-month deadlines.",
    "quarantine": "Items that could not be read; the original bytes are in raw/.",
}
COLUMNS: dict[str, str] = {
    "id": "Row id, unique within the table.",
    "company_id": "Id of the company (company.jsonl).",
    "interaction_id": "Id of the interaction (interaction.jsonl).",
    "occurred_at": "When it happened, UTC seconds since 1970 (occurred_at_iso: ISO 8601).",
    "tz_offset": "The source's UTC offset in minutes, when known.",
    "raw_blob": "SHA-256 of the original bytes; the file is raw_file.",
    "blob_sha": "SHA-256 of the file's bytes; the file is given in file.",
    "extras": "Format-specific details (JSON).",
    "direction": "in (to you), out (from you) or system.",
    "channel": "email, chat, booking, order, call, letter or note.",
    "fields": "The profile values shared or cited, by key (JSON).",
    "expires_at": "When the consent ends (ISO 8601); empty: until revoked.",
    "revoked_at": "When you revoked it (ISO 8601).",
    "due_at": "The Art. 12(3) GDPR deadline: one month after sent_at.",
}
ADDED = {
    "interaction": {
        "occurred_at_iso": "occurred_at as ISO 8601 with the source's offset.",
        "raw_file": "The original item, relative to the export folder.",
    },
    "attachment": {"file": "The attachment, relative to the export folder."},
    "quarantine": {"raw_file": "The bytes that could not be read, relative to the folder."},
}


@dataclass
class ExportSummary:
    """What was written."""

    folder: Path
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    unreadable_files: int = 0
    """Files that rows name but whose bytes could not be read (only from a damaged vault)."""
    swept: Swept = field(default_factory=Swept)
    """What killed exports had left beside ``folder``, removed first."""


@runtime_checkable
class ExportSource(Protocol):
    """Where the export reads the vault from: its tables, their rows, and blobs."""

    @property
    def unreadable(self) -> Mapping[str, Sequence[tuple[int, int | None]]]:
        """Per table, the rowid ranges (inclusive; None: no end) that could not be read."""
        ...

    def table_names(self) -> list[str]:
        """Every table of the database."""
        ...

    def columns(self, table: str) -> list[tuple[str, str]]:
        """The (name, declared type) of each column of ``table``."""
        ...

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        """The rows of ``table`` by column name, in rowid order."""
        ...

    def blob(self, digest: str) -> bytes | None:
        """The bytes stored under ``digest``, or None."""
        ...


class _Vault:
    """A whole vault read in one transaction: the source of ``kluis export``."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    @property
    def unreadable(self) -> Mapping[str, Sequence[tuple[int, int | None]]]:
        return {}  # read whole, or not at all (`kluis export` stops at a damaged page)

    def table_names(self) -> list[str]:
        rows = execute(self.conn, "SELECT name FROM sqlite_master WHERE type='table'")
        return [str(r[0]) for r in rows]

    def columns(self, table: str) -> list[tuple[str, str]]:
        rows = execute(self.conn, f'PRAGMA table_info("{table}")')
        return [(str(r[1]), str(r[2])) for r in rows]

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        for chunk in stream(self.conn, f'SELECT * FROM "{table}" ORDER BY rowid'):
            yield from (row.mapping() for row in chunk)

    def blob(self, digest: str) -> bytes | None:
        return get_blob(self.conn, digest)


def _write_private(path: Path, data: bytes) -> None:
    # O_EXCL: the folder was empty, so any existing file means something raced us.
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def safe_name(name: str, fallback: str = "attachment") -> str:
    """A file name that stays inside its folder: no separators, controls or leading dots."""
    cleaned = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).lstrip(". ").strip()
    return (cleaned or fallback)[:120]


def _tables(source: ExportSource) -> list[str]:
    names = source.table_names()
    ordered = [t for t in TABLES if t in names]
    return ordered + sorted(t for t in names if t not in TABLES and not _SKIPPED.fullmatch(t))


class _Writer:
    """Writes one export folder."""

    def __init__(self, source: ExportSource, folder: Path) -> None:
        self.source = source
        self.folder = folder
        self.summary = ExportSummary(folder)
        self.written: set[str] = set()

    def blob_file(self, sha: str | None, relative: str) -> str | None:
        """Write blob ``sha`` to ``relative`` (once); returns the relative path."""
        if not sha:
            return None
        if relative not in self.written:
            data = self.source.blob(sha)
            if data is None:
                self.summary.unreadable_files += 1
                return None
            path = self.folder / relative
            folder = self.folder
            for part in Path(relative).parts[:-1]:  # each level 0700, not only the last
                folder /= part
                make_private_folder(folder)
            _write_private(path, data)
            self.written.add(relative)
            self.summary.files += 1
        return relative

    def unique(self, relative: str) -> str:
        stem, dot, suffix = relative.rpartition(".")
        if not dot or "/" in suffix:
            stem, suffix = relative, ""
        candidate, n = relative, 1
        while candidate in self.written:
            n += 1
            candidate = f"{stem} ({n}).{suffix}" if suffix else f"{stem} ({n})"
        return candidate

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        json_columns = JSON_COLUMNS.get(table, ())
        for row in self.source.rows(table):
            for column in json_columns:
                with contextlib.suppress(ValueError):  # else kept as the text it is
                    row[column] = json.loads(row[column]) if row.get(column) else row.get(column)
            if table == "source":  # a mail account's sign-in stays inside the vault
                row["settings"] = without_secrets(row.get("settings"))
            elif table == "interaction":
                row["occurred_at_iso"] = iso(row["occurred_at"], row["tz_offset"])
                suffix = ".eml" if row["channel"] == "email" else ".raw"
                row["raw_file"] = self.blob_file(row["raw_blob"], f"raw/{row['raw_blob']}{suffix}")
            elif table == "attachment":
                relative = self.unique(
                    f"attachments/{row['interaction_id']}/{safe_name(row['filename'])}"
                )
                row["file"] = self.blob_file(row["blob_sha"], relative)
            elif table == "quarantine":
                row["raw_file"] = self.blob_file(row["blob_sha"], f"raw/{row['blob_sha']}.raw")
            yield row

    def table(self, table: str) -> None:
        path = self.folder / f"{table}.jsonl"
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
        count = 0
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            for row in self.rows(table):
                handle.write(json.dumps(row, ensure_ascii=False, default=_bytes_hex) + "\n")
                count += 1
        self.summary.rows[table] = count


def _bytes_hex(value: Any) -> str:
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _schema(source: ExportSource, tables: list[str], rows: dict[str, int]) -> dict[str, Any]:
    documented = {}
    for table in tables:
        columns = [
            {"name": name, "type": kind or "ANY", "description": COLUMNS.get(name, "")}
            for name, kind in source.columns(table)
        ]
        columns += [
            {"name": name, "type": "TEXT", "description": about}
            for name, about in ADDED.get(table, {}).items()
        ]
        for column in columns:
            if column["name"] in JSON_COLUMNS.get(table, ()):
                column["type"] = "JSON"
        documented[table] = {
            "file": f"{table}.jsonl",
            "rows": rows.get(table, 0),
            "description": TABLES.get(table, ""),
            "columns": columns,
        }
        if source.unreadable.get(table):
            documented[table]["unreadable_ids"] = [list(span) for span in source.unreadable[table]]
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": now_iso(),
        "tables": documented,
    }


def _readme(schema: dict[str, Any]) -> str:
    lines = [
        "# Your kluis export",
        "",
        "Everything in your vault, unencrypted: keep this folder as safe as the vault itself.",
        "",
        "- `TABLE.jsonl`: one JSON object per line, one file per table (below).",
        "- `attachments/ID/NAME`: the files that came with interaction ID.",
        "- `raw/SHA256.eml` (mail) or `.raw`: the original bytes of every item.",
        "- `schema.json`: the same field list as below, for programs.",
        "",
        "Times are ISO 8601 with offset, except `interaction.occurred_at` (UTC seconds since",
        "1970; `occurred_at_iso` gives the readable form).",
        "",
    ]
    for table, about in schema["tables"].items():
        lines += [f"## {table} ({about['rows']} rows)", "", about["description"], ""]
        if about.get("unreadable_ids"):
            spans = id_ranges(about["unreadable_ids"])
            lines += [f"Salvaged from a damaged vault: rows {spans} could not be read.", ""]
        lines += [
            f"- `{c['name']}` ({c['type']})" + (f": {c['description']}" if c["description"] else "")
            for c in about["columns"]
        ]
        lines.append("")
    return "\n".join(lines)


def export_all(conn: Conn | ExportSource, folder: Path) -> ExportSummary:
    """Write the whole vault to ``folder`` (which must be new or empty), read in one
    transaction on ``conn`` or, from a damaged vault, what a salvage reader can read.

    It is written in ``FOLDER.partial-PID/`` beside an ``INCOMPLETE`` note and moved to
    ``folder`` by one rename at the end, after removing what killed exports left beside it
    (``vault.leftovers``): a killed export leaves a folder that says it is incomplete.

    Raises:
        UsageError: ``folder`` is a file or is not empty.
    """
    check_folder(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    swept = sweep(folder.parent, "export")
    try:
        with partial(folder) as work:
            source = conn if isinstance(conn, ExportSource) else _Vault(conn)
            writer = _Writer(source, work)
            tables = _tables(source)
            for table in tables:
                writer.table(table)
            schema = _schema(source, tables, writer.summary.rows)
            schema_json = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
            _write_private(work / "schema.json", schema_json.encode())
            _write_private(work / "README.md", _readme(schema).encode("utf-8"))
    except OSError:
        check_folder(folder)  # something else filled it meanwhile: say so
        raise
    return ExportSummary(
        folder, writer.summary.rows, writer.summary.files, writer.summary.unreadable_files, swept
    )


def check_folder(folder: Path) -> None:
    """Refuse an export folder that is a file or is not empty.

    Raises:
        UsageError: it is, or its parent folder is missing or not writable.
    """
    check_output(folder, folder=True)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(f"{folder} is not an empty folder; export into a new one")
