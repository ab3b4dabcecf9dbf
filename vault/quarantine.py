"""What imports could not read: listed, shown, saved as the raw bytes, and read again.

Every item an importer could not parse is kept in the ``quarantine`` table with its raw bytes
and a one-line reason, never dropped. After an upgrade, ``retry`` hands the stored bytes to the
importers again: an item that now parses is stored and leaves the quarantine; one that still
fails keeps its entry with the new reason. Reading is the importers' work and the core never
imports them: the face passes them in as a ``Rereader`` (the ``importers`` package is one).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from vault.errors import InputError, UnsupportedFormat, UsageError
from vault.fsutil import FILE_MODE, make_private_folder
from vault.store import execute
from vault.text import one_line

if TYPE_CHECKING:
    from vault.imports import Notice
    from vault.records import ImportOptions, Item
    from vault.store import Conn, Store

SUFFIXES = {
    "eml": "eml",
    "mbox": "eml",
    "maildir": "eml",
    "takeout": "eml",
    "imap": "eml",
    "ics": "ics",
    "pkpass": "pkpass",
    "html": "html",
    "jsonld": "json",
    "telegram": "json",
    "messenger": "json",
    "instagram": "json",
    "whatsapp": "txt",
    "bcbp": "txt",
}
"""The file name suffix of a saved item, by the format of the import that quarantined it."""


class Rereader(Protocol):
    """What reads one quarantined item's stored bytes again (the ``importers`` package)."""

    def reread(
        self, raw: bytes, format_name: str, source_ref: str, options: ImportOptions
    ) -> Iterator[Item]:
        """The records in ``raw``, an item of a ``format_name`` source.

        Raises:
            UnsupportedFormat: items of that format cannot be read on their own.
        """
        ...


@dataclass(frozen=True, slots=True)
class Entry:
    """One quarantined item as ``kluis quarantine`` lists it."""

    id: int
    source: str
    ref: str
    format: str
    reason: str
    size: int
    at: str

    def to_json(self) -> dict[str, Any]:
        """The contract's object: id, source, ref, format, reason, size (bytes), at."""
        return asdict(self)


_ENTRY = (
    "SELECT q.id, coalesce(s.locator, '') AS source, q.source_ref, coalesce(r.format, '') "
    "AS format, q.reason, coalesce(b.size, 0) AS size, q.created_at, q.blob_sha "
    "FROM quarantine q LEFT JOIN importrun r ON r.id = q.import_run_id "
    "LEFT JOIN source s ON s.id = r.source_id LEFT JOIN blob b ON b.sha256 = q.blob_sha"
)


def _entry(row: Any) -> Entry:
    return Entry(
        id=int(row.id),
        source=one_line(row.source, 500),
        ref=one_line(row.source_ref, 500),
        format=str(row.format),
        reason=one_line(row.reason, 500),
        size=int(row.size),
        at=str(row.created_at),
    )


def entries(conn: Conn, ids: Sequence[int] = ()) -> list[Entry]:
    """The quarantined items, newest first; only ``ids`` when given.

    Raises:
        UsageError: one of ``ids`` is not in the quarantine.
    """
    rows = execute(conn, f"{_ENTRY} ORDER BY q.id DESC").all() if not ids else _rows(conn, ids)
    return [_entry(row) for row in rows]


def _rows(conn: Conn, ids: Sequence[int]) -> list[Any]:
    rows = []
    for item_id in dict.fromkeys(ids):
        row = execute(conn, f"{_ENTRY} WHERE q.id = :i", {"i": item_id}).first()
        if row is None:
            raise UsageError(f"no quarantined item {item_id} (see `kluis quarantine`)")
        rows.append(row)
    return rows


def raw_bytes(conn: Conn, item_id: int) -> bytes:
    """The stored bytes of quarantined item ``item_id`` (empty when the source gave none).

    Raises:
        UsageError: there is no such item.
    """
    from vault.blobs import get_blob

    row = _rows(conn, [item_id])[0]
    return get_blob(conn, row.blob_sha) or b""


def save(conn: Conn, item_id: int, folder: Path) -> Path:
    """Write item ``item_id``'s raw bytes into ``folder`` (made 0700 if new) as a new 0600
    file, ``quarantine-ID.SUFFIX``; an existing file is never replaced.

    Raises:
        UsageError: there is no such item.
        InputError: the item has no bytes, ``folder`` is not a folder, or the file exists.
    """
    entry = _entry(_rows(conn, [item_id])[0])
    data = raw_bytes(conn, item_id)
    if not data:
        raise InputError(
            f"quarantined item {item_id} kept no bytes ({entry.reason}); import {entry.ref} again"
        )
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is not a folder")
    if not folder.exists():
        make_private_folder(folder)
    target = folder / f"quarantine-{item_id}.{SUFFIXES.get(entry.format, 'bin')}"
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    except FileExistsError:
        raise InputError(f"{target} already exists; kluis never replaces a file") from None
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return target


@dataclass
class Retried:
    """What a retry did: the ids stored now, and those still kept with their reason."""

    stored: list[int] = field(default_factory=list)
    kept: list[tuple[int, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """``{"stored": [ids], "kept": [{"id", "reason"}]}``."""
        return {
            "stored": self.stored,
            "kept": [{"id": item_id, "reason": reason} for item_id, reason in self.kept],
        }


def retry(
    store: Store,
    reader: Rereader,
    ids: Sequence[int] = (),
    *,
    options: ImportOptions | None = None,
    notice: Notice | None = None,
) -> Retried:
    """Read quarantined items (``ids``, else all) again with today's importers.

    Each item that now parses is stored as an import of its source would store it (a
    duplicate counts as stored) and leaves the quarantine; each that still fails keeps its
    entry, with the new reason. Waits for another import or sync writing to the vault.
    """
    from vault.imports import import_options
    from vault.writelock import writer_lock

    options = options or import_options(store)
    result = Retried()
    with store.read() as conn:
        chosen = entries(conn, ids)
    with writer_lock(store.folder, "import", wait=True, notice=notice or _silent):
        groups: dict[tuple[str, str], list[Entry]] = {}
        for entry in reversed(chosen):  # oldest first, as they were read
            groups.setdefault((entry.format, entry.source), []).append(entry)
        for (format_name, source), group in groups.items():
            _retry_group(store, reader, format_name, source, group, options, result)
    return result


def _silent(_: str) -> None:
    """A notice nobody asked to hear."""


def _retry_group(
    store: Store,
    reader: Rereader,
    format_name: str,
    source: str,
    group: list[Entry],
    options: ImportOptions,
    result: Retried,
) -> None:
    """Retry the items of one source through one ``Ingestor`` run."""
    from vault.ingest import Ingestor

    parsed: list[tuple[int, list[str]]] = []  # (entry id, dedup keys of its records)
    reasons: dict[int, str] = {}
    items = _reread(store, reader, group, options, parsed, reasons)
    Ingestor(store, options, format_name, source).run(items)
    with store.begin() as conn:
        for item_id, keys in parsed:
            if all(_stored(conn, key) for key in keys):
                execute(conn, "DELETE FROM quarantine WHERE id = :i", {"i": item_id})
                result.stored.append(item_id)
            else:
                reasons[item_id] = "read, but the vault refused to store it"
        for item_id, reason in reasons.items():
            execute(
                conn,
                "UPDATE quarantine SET reason = :r WHERE id = :i",
                {"r": one_line(reason, 500), "i": item_id},
            )
            result.kept.append((item_id, reason))


def _reread(
    store: Store,
    reader: Rereader,
    group: Iterable[Entry],
    options: ImportOptions,
    parsed: list[tuple[int, list[str]]],
    reasons: dict[int, str],
) -> Iterator[Item]:
    """The records of every entry of ``group`` that now parses, one entry at a time; notes
    which entry gave which records (``parsed``) and why the rest still fail (``reasons``)."""
    from vault.records import Interaction, Quarantined

    for entry in group:
        with store.read() as conn:
            raw = raw_bytes(conn, entry.id)
        if not raw:
            reasons[entry.id] = f"{entry.reason} (no bytes kept: import the source again)"
            continue
        try:
            items = list(reader.reread(raw, entry.format, entry.ref, options))
        except UnsupportedFormat as exc:
            reasons[entry.id] = f"{entry.reason} (not retried: {exc})"
            continue
        failed = [item.reason for item in items if isinstance(item, Quarantined)]
        records = [item for item in items if isinstance(item, Interaction)]
        if failed or not records:
            reasons[entry.id] = failed[0] if failed else "still nothing readable in it"
            continue
        parsed.append((entry.id, [record.dedup_key for record in records]))
        yield from records


def _stored(conn: Conn, dedup_key: str) -> bool:
    row = execute(conn, "SELECT 1 FROM interaction WHERE dedup_key = :k", {"k": dedup_key})
    return row.first() is not None
