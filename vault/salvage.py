"""Reading a damaged vault.db: every row that can still be read, past the pages that cannot.

SQLCipher checks each page's HMAC as it reads it. A page that fails makes the statement fail
("database disk image is malformed") and leaves its connection failing from then on, so every
statement here runs on a connection that is replaced after such a failure. A table is read in
rowid order; where the scan meets a damaged page, seeks ahead (the rowid b-tree's interior pages
lead past a damaged leaf) find the first rowid that reads again, and the range in between is
noted as unreadable. A damaged overflow page (a long body, a large blob) costs only its own row.

``kluis doctor`` counts what is readable with this; ``kluis doctor --salvage DIR`` hands a
``SalvageReader`` to the full export's writer, which reads tables, rows and blobs through it.
Rowids of kluis's tables start at 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlcipher3

from vault.blobs import ZLIB, decoded
from vault.errors import VaultCorrupt
from vault.skeleton import Fetch
from vault.store import PAGE_SIZE, Conn, connect_raw, db_path, execute, is_damage, stream

MAX_ROWID = (1 << 63) - 1
_PROBES = 256
"""Failed seeks in a row, a step apart, before they gallop (doubling the step each time)."""
SEARCH_INDEX_PREFIX = "interaction_fts"
"""The search index's tables: rebuilt from the items, never part of what is salvaged."""

Span = tuple[int, int | None]
"""An unreadable range of rowids, both ends inclusive; ``None``: every rowid from the first on."""


def id_ranges(spans: Sequence[Sequence[int | None]], shown: int | None = None) -> str:
    """Spans of ids for people: "12, 258–265, 301 and up", the first ``shown`` of them."""
    words = [
        f"{first} and up" if last is None else str(first) if first == last else f"{first}–{last}"
        for first, last in spans[:shown]
    ]
    more = len(spans) - len(words)
    return ", ".join(words) + (f" and {more:,} more ranges" if more else "")


@dataclass
class _Link:
    """One connection to the database, replaced after it meets a damaged page."""

    path: Path
    dek: bytes = field(repr=False)
    on_damage: Callable[[], None]
    conn: Conn | None = None

    def get(self) -> Conn:
        if self.conn is None:
            self.conn = connect_raw(self.path, self.dek, salvage=True)
        return self.conn

    def failed(self, exc: sqlcipher3.DatabaseError) -> None:
        """Drop the connection if ``exc`` is damage; anything else is a bug and raised."""
        if not is_damage(exc):
            raise exc
        self.on_damage()
        self.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]] | None:
        try:
            return list(execute(self.get(), sql, params))
        except sqlcipher3.DatabaseError as exc:
            self.failed(exc)
            return None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class SalvageReader:
    """A vault.db that may be damaged, read as far as it can be.

    Raises:
        VaultCorrupt: on opening, when not even the schema can be read (the first pages are
            damaged, or the file is not this vault's database).
    """

    def __init__(self, folder: Path, dek: bytes) -> None:
        self._path, self._dek = db_path(folder), dek
        self.damage_met = False
        """Whether any read so far met a damaged page."""
        self.unreadable: dict[str, list[Span]] = {}
        """Per table, the rowids its last ``rows()`` could not read."""
        self._lookup = self._link()  # checks, seeks, blobs; each table scan has its own
        self._lookup.get()
        self._blob_rowids: dict[str, int] | None = None
        self._blob_select: str | None = None

    def _link(self) -> _Link:
        return _Link(self._path, self._dek, self._damaged)

    def _damaged(self) -> None:
        self.damage_met = True

    def __enter__(self) -> SalvageReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._lookup.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]] | None:
        """Every row of ``sql``, or None when it meets a damaged page."""
        return self._lookup.query(sql, params)

    def check(self, pragma: str) -> list[tuple[Any, ...]] | None:
        """The findings of one of SQLite's check pragmas (``[("ok",)]`` or none when all is
        well), or None if it stopped at a damaged page. A check that reports a bad page leaves
        its connection failing as an error does, so then the connection is replaced too."""
        rows = self.query(pragma)
        if rows and rows != [("ok",)]:
            self._lookup.close()
        return rows

    def table_names(self) -> list[str]:
        """Every table, the search index's too, in the order they were made."""
        rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")
        return [str(row[0]) for row in rows or ()]

    def data_tables(self) -> list[str]:
        """The tables that hold the vault's data (not the search index, which is derived)."""
        return [
            name
            for name in self.table_names()
            if not name.startswith((SEARCH_INDEX_PREFIX, "sqlite_"))
        ]

    def columns(self, table: str) -> list[tuple[str, str]]:
        """The (name, declared type) of each column of ``table``."""
        rows = self.query(f'PRAGMA table_info("{table}")') or []
        return [(str(row[1]), str(row[2])) for row in rows]

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        """Every readable row of ``table`` by column name, in rowid order; what cannot be
        read is skipped and listed in ``unreadable[table]``."""
        self.unreadable[table] = []
        for names, values in self._readable(table, "*", self.unreadable[table]):
            yield dict(zip(names[1:], values[1:], strict=True))

    def count(self, table: str) -> int:
        """How many rows of ``table`` can be read (reading each in full)."""
        return sum(1 for _ in self.rows(table))

    def blob(self, digest: str) -> bytes | None:
        """The bytes stored under ``digest``, or None if they are missing or unreadable (a raw
        mail stored as a skeleton too, where an attachment it is rebuilt from is)."""
        return _unpacked(self._blob_row(digest), digest, self._part)

    def _part(self, digest: str) -> bytes | None:
        """An attachment a skeleton is rebuilt from (never itself a skeleton)."""
        return _unpacked(self._blob_row(digest), digest, None)

    def _blob_row(self, digest: str) -> list[tuple[Any, ...]] | None:
        """The stored bytes and codec of blob ``digest``, found past damaged pages."""
        if self._blob_rowids is None:
            select = f"SELECT {self._blob_columns()} FROM blob WHERE sha256 = ?"
            rows = self.query(select, (digest,))
            if rows is not None:
                return rows
            # The lookup index (or this blob's row) is damaged: from now on find blobs by their
            # rowid, from one scan of the readable rows' digests.
            readable = self._readable("blob", "sha256", [])
            self._blob_rowids = {str(values[1]): int(values[0]) for _, values in readable}
        rowid = self._blob_rowids.get(digest)
        if rowid is None:
            return None
        return self.query(f"SELECT {self._blob_columns()} FROM blob WHERE rowid = ?", (rowid,))

    def _blob_columns(self) -> str:
        """A blob's stored bytes and how they are stored: a vault from before schema 7 has
        no codec column, and every blob of it is zlib."""
        if self._blob_select is None:
            codec = "codec" if "codec" in dict(self.columns("blob")) else f"'{ZLIB}'"
            self._blob_select = f"data, {codec}"
        return self._blob_select

    def _readable(
        self, table: str, columns: str, unreadable: list[Span]
    ) -> Iterator[tuple[list[str], tuple[Any, ...]]]:
        """The column names and values (rowid first) of each readable row of ``table``."""
        listed = [name for name, _ in self.columns(table)] if columns == "*" else [columns]
        names = ["rowid", *listed]
        select = f'SELECT rowid, {columns} FROM "{table}" WHERE rowid'
        scan = self._link()  # its cursor stays open while the caller uses the rows
        rows, size = 0, 0  # read so far, to guess how many rows a page holds
        try:
            start: int | None = 1
            while start is not None:
                try:
                    # One row at a time: a damaged page stops the scan right after the last
                    # good row, and nothing read before it is lost with the failed fetch.
                    rows_from = stream(
                        scan.get(), f"{select} >= ? ORDER BY rowid", (start,), size=1
                    )
                    for (values,) in rows_from:
                        start = int(values[0]) + 1
                        rows, size = rows + 1, size + _size(values)
                        yield names, values
                    return
                except sqlcipher3.DatabaseError as exc:
                    scan.failed(exc)
                following = self._first_from(table, start)
                if following is None:  # the page of the rows from ``start`` is damaged
                    step = max(1, PAGE_SIZE // 3 * rows // max(size, 1))
                    start = self._skip(table, start, step, unreadable)
                elif following:
                    # The driver reads a row ahead, so the scan may have stopped before a whole
                    # row: read it alone. If that fails too, its own overflow pages are damaged.
                    rowid = int(following[0][0])
                    row = self.query(f"{select} = ?", (rowid,))
                    if row:
                        yield names, row[0]
                    else:
                        unreadable.append((rowid, rowid))
                    start = rowid + 1 if rowid < MAX_ROWID else None
                else:
                    start = None
        finally:
            scan.close()

    def _first_from(self, table: str, start: int) -> list[tuple[Any, ...]] | None:
        """[(rowid,)] of the first row from ``start`` on, [] if there is none, None if the
        page it is on (the leaf where ``start`` would be, or the next) cannot be read."""
        return self.query(
            f'SELECT rowid FROM "{table}" WHERE rowid >= ? ORDER BY rowid LIMIT 1', (start,)
        )

    def _skip(self, table: str, start: int, step: int, unreadable: list[Span]) -> int | None:
        """The rows from rowid ``start`` on are on a damaged page: the rowid from which rows
        read again (None: none do), with the rowids skipped added to ``unreadable``.

        Seeks probe ahead ``step`` rowids at a time (a third of a page of rows), so no
        readable page is stepped over; after ``_PROBES`` failures in a row they gallop, since
        the damage may run to the table's end, whose rowid is unknown. A seek lands on the
        page where its rowid would be, so the first rowid that reads is found by bisection.
        """
        low, high, probes = start, min(MAX_ROWID, start + step), 1
        while self._first_from(table, high) is None:
            if high == MAX_ROWID:
                unreadable.append((start, None))
                return None
            probes += 1
            step = step * 2 if probes > _PROBES else step
            low, high = high, min(MAX_ROWID, high + step)
        while high - low > 1:
            middle = (low + high) // 2
            if self._first_from(table, middle) is None:
                low = middle
            else:
                high = middle
        unreadable.append((start, high - 1))
        return high


def _size(values: tuple[Any, ...]) -> int:
    return sum(len(v) if isinstance(v, str | bytes) else 8 for v in values)


def _unpacked(rows: list[tuple[Any, ...]] | None, digest: str, fetch: Fetch | None) -> bytes | None:
    """A blob's bytes from its row (data, codec), or None if they cannot be decoded."""
    if not rows or rows[0][0] is None:
        return None
    try:
        return decoded(rows[0][0], rows[0][1], digest, fetch)
    except VaultCorrupt:
        return None
