"""Bench-only designs of the search index, for issue 21's figures (import_floor.py, search.py).

``prefix(lengths)`` makes the period tables with other FTS5 prefix lengths than kluis's.

``SideIndex`` is a prototype of the index in its own encrypted file, written by a second
thread. Issue 9's note proposed it and issue 21 asks to measure it: the store writes items without
FTS5 triggers, and after each batch commits a second thread, on its own connection to
``index.db`` (SQLCipher, the vault's key, 0600) with ``vault.db`` attached, copies the new
items' text into that file's FTS5 tables in one ``INSERT … SELECT`` per period. The
statement runs in C (the driver lets go of the GIL while SQLite steps), so the tokenising
overlaps the next batch's store. Crash consistency would come from the high-water mark
(the last indexed interaction id) committed in ``index.db`` with its rows: the next open
indexes from there. Updates and deletes (company merges, edits) are not carried here; a
product would need a change log in ``vault.db`` for them, and snippets made outside FTS5
when the tables are contentless (``content=''``: FTS5 cannot read a content table in
another file). Bench-only, so the figures price the design before anything is built.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vault import search_index
from vault.fsutil import create_private_file
from vault.store import PAGE_SIZE, connect_raw, db_path

_DONE = -1


@contextmanager
def prefix(lengths: str) -> Iterator[None]:
    """Within: period tables are made with ``prefix=lengths`` ("" for no prefix index)."""
    saved = search_index.period_sql
    today = re.compile(rf",\s*prefix='{search_index.PREFIX_INDEX}'")
    option = f", prefix='{lengths}'" if lengths else ""
    search_index.period_sql = lambda period: [  # type: ignore[assignment]
        today.sub(option, statement) for statement in saved(period)
    ]
    try:
        yield
    finally:
        search_index.period_sql = saved


class SideIndex:
    """A thread indexing ``vault.db``'s new items into ``index.db`` after each commit."""

    def __init__(self, folder: Path, dek: bytes) -> None:
        path = folder / "index.db"
        create_private_file(path)
        self.conn = connect_raw(path, dek)
        # An attached file takes the default cipher settings, not the main file's.
        self.conn.execute(f"PRAGMA cipher_default_page_size = {PAGE_SIZE}")
        self.conn.execute(
            "ATTACH DATABASE ? AS store KEY ?", (str(db_path(folder)), f"x'{dek.hex()}'")
        )
        self.conn.execute("CREATE TABLE IF NOT EXISTS mark (id INTEGER PRIMARY KEY, hw INTEGER)")
        self.conn.execute("INSERT OR IGNORE INTO mark VALUES (1, 0)")
        self.have: set[int] = set()
        self.work: queue.Queue[int] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="side-index", daemon=True)
        self.thread.start()

    def committed(self, _summary: Any = None) -> None:
        """Tell the thread a batch committed (an ``Ingestor`` progress callback)."""
        self.work.put(0)

    def finish(self) -> None:
        """Index what is left and stop the thread."""
        self.work.put(_DONE)
        self.thread.join()
        self.conn.close()

    def _run(self) -> None:
        while True:
            signal = self.work.get()
            while not self.work.empty():  # batches that committed meanwhile: one catch-up
                signal = min(signal, self.work.get())
            self._catch_up()
            if signal == _DONE:
                break

    def _catch_up(self) -> None:
        # Unqualified, "interaction" is vault.db's (index.db has none) and the period tables
        # are index.db's, so kluis's own per-batch fill (``index_new``) serves as it is.
        conn = self.conn
        conn.execute("BEGIN")  # IMMEDIATE would lock vault.db too
        hw = conn.execute("SELECT hw FROM mark").fetchone()[0]
        shift = search_index.PERIOD_BITS + search_index.ID_BITS
        new = conn.execute(
            f"SELECT DISTINCT ({search_index.key_sql()}) >> {shift}, max(id) OVER () "
            "FROM store.interaction WHERE id > ?",
            (hw,),
        ).fetchall()
        for period, _ in new:
            if period not in self.have:
                conn.execute(
                    f"CREATE VIRTUAL TABLE IF NOT EXISTS {search_index.period_table(period)} "
                    "USING fts5(title, body, counterpart, scope, content='', contentless_delete=1, "
                    f"tokenize='unicode61 remove_diacritics 2', prefix='{search_index.PREFIX_INDEX}')"
                )
                self.have.add(period)
        search_index.index_new(conn, hw)
        conn.execute("UPDATE mark SET hw = ?", (max((top for _, top in new), default=hw),))
        conn.execute("COMMIT")


def indexed(folder: Path, dek: bytes) -> int:
    """How many items ``index.db`` holds (to check a run indexed everything)."""
    conn = connect_raw(folder / "index.db", dek)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE name GLOB 'interaction_fts_p*' "
                "AND sql LIKE 'CREATE VIRTUAL%'"
            )
        ]
        return sum(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables)
    finally:
        conn.close()
