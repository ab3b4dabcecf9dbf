"""The ingest pipeline: dedup → company resolution → booking merge → batched writes.

Importers yield items; ``Ingestor.run`` writes them in batches, one transaction per batch,
together with the latest ``Checkpoint`` of that batch, so a killed import resumes where it
stopped with no duplicate and no loss. Items that failed to parse are kept in quarantine.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, TypeVar

from vault.blobs import decoded, put_blob
from vault.bookings import merge_booking
from vault.companies import CompanyResolver, counterpart_of
from vault.errors import ImportFailed, VaultError
from vault.records import (
    Checkpoint,
    ImportOptions,
    Interaction,
    Item,
    Note,
    Position,
    Quarantined,
    Skipped,
    content_key,
)
from vault.search_index import ensure_periods, index_new, last_id
from vault.storable import storable, storable_text
from vault.store import Conn, Store, driver, execute, executemany
from vault.text import one_line
from vault.timefmt import now_iso
from vault.write_behind import WriteBehind

R = TypeVar("R")

DEFAULT_BATCH = 500
"""Records a batch holds at most. Two batches are held at once (``vault.write_behind``): 500
each hold what one of 1,000 did (tree PSS on 20,000 commercial mails: 174 MB, against 168 MB
with one batch of 1,000 and 195 MB with two), at the same speed."""
FIRST_BATCH = 125
"""The first batch's size; each next one doubles, up to the batch size. The writer starts as
soon as the first items are parsed instead of waiting for a whole batch while the parse
workers start: measured on 5,000 mails, the first commit came 0.9 s after the pool began."""
BATCH_BYTES = 8 * 1024 * 1024
"""A batch also ends at its source's next checkpoint once its items hold this many bytes (raw
and attachments): a batch of mails with scans attached would be gigabytes. At 8 MB each (two
are held at once), the importing process's peak on 5,000 plain mails is 105 MB, against 106 MB
with one batch of 16 MB and 126 MB with two."""
MAX_ERROR_MESSAGES = 20
MAX_SKIPPED_LISTED = 10_000
"""Skipped files named in a summary; past this only counted (``skipped_more``)."""


@dataclass
class Summary:
    """What an import did: the counts of DESIGN's contract, plus the first error messages."""

    new: int = 0
    duplicate: int = 0
    updated: int = 0
    quarantined: int = 0
    errors: int = 0
    messages: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the importers said about their sources (``Note``), the first few."""
    position: Position | None = None  # how far the source is read, for progress; not reported
    skipped: list[dict[str, str]] = field(default_factory=list)
    """Files of the source that were not read: ``{"path": ..., "reason": ...}``."""
    skipped_more: int = 0
    """Skipped files past ``MAX_SKIPPED_LISTED``, counted only."""

    def add(self, other: Summary) -> None:
        """Add ``other``'s counts to these."""
        self.new += other.new
        self.duplicate += other.duplicate
        self.updated += other.updated
        self.quarantined += other.quarantined
        self.errors += other.errors
        self.messages.extend(other.messages[: MAX_ERROR_MESSAGES - len(self.messages)])
        room = MAX_SKIPPED_LISTED - len(self.skipped)
        self.skipped.extend(other.skipped[:room])
        self.skipped_more += other.skipped_more + max(0, len(other.skipped) - room)
        self.notes.extend(other.notes[: MAX_ERROR_MESSAGES - len(self.notes)])

    def skip(self, item: Skipped) -> None:
        """Name a file that was not read (the first ``MAX_SKIPPED_LISTED``, then count)."""
        if len(self.skipped) < MAX_SKIPPED_LISTED:
            path, reason = storable_text(item.path), _one_line_reason(item.reason)
            self.skipped.append({"path": path, "reason": reason})
        else:
            self.skipped_more += 1

    def error(self, message: str) -> None:
        """Count an error and keep its message (the first few)."""
        self.errors += 1
        if len(self.messages) < MAX_ERROR_MESSAGES:
            self.messages.append(message)

    def to_json(self) -> dict[str, Any]:
        """The contract's summary object."""
        data = asdict(self)
        data["error_messages"] = data.pop("messages")
        del data["position"]
        return data


def _one_line_reason(message: str) -> str:
    """``message`` fit for a quarantine reason or error line: one line, storable."""
    return one_line(storable_text(message))


def _epoch(item: Interaction) -> int | None:
    """``item``'s time in seconds, or None if it has none (storing it will refuse it)."""
    try:
        return int(item.occurred_at.timestamp())
    except (ValueError, OverflowError, AttributeError):
        return None


class _BatchWriter:
    """Writes one batch of items inside the caller's transaction.

    The fast path (``careful=False``) writes the batch as one transaction and nothing else; if
    the store refuses anything, the caller rolls it back and redoes the batch with a new,
    careful writer, so no state of the failed attempt survives it. A careful writer stores
    each item in a savepoint: an item the store refuses is rolled back and quarantined, and
    the rest of the batch stored. What this writer keeps in memory across items must roll back
    with such an item too: the thread ids and the resolver's identifiers and company kinds are
    caches of rows, dropped when a savepoint rolls back (``_forget``); the resolver's name votes
    are flushed inside each item's savepoint; dedup keys count as stored once the savepoint is
    released.
    """

    def __init__(
        self,
        conn: Conn,
        options: ImportOptions,
        source_id: int,
        run_id: int,
        *,
        careful: bool = True,
    ):
        self.db = driver(conn)
        self.careful = careful
        self.source_id = source_id
        self.run_id = run_id
        self.resolver = CompanyResolver(self.db, options)
        self.threads: dict[str, int] = {}

    def write(self, batch: list[Item], summary: Summary) -> None:
        if self.careful:
            # The one place records enter the store made safe: text the driver cannot encode
            # (lone surrogates) becomes U+FFFD. The fast path fails on such text instead and
            # the batch comes here, so the common case pays nothing for it.
            batch = [storable(item) for item in batch]
        interactions = [item for item in batch if isinstance(item, Interaction)]
        existing = self._existing_keys([item.dedup_key for item in interactions])
        ensure_periods(
            self.db,
            (
                epoch
                for item in interactions
                if item.dedup_key not in existing and (epoch := _epoch(item)) is not None
            ),
        )
        stored_before = last_id(self.db)
        cursors: dict[str, dict[str, Any]] = {}  # the latest checkpoint of each source
        for item in batch:
            if isinstance(item, Checkpoint):
                cursors[item.source] = item.state
            elif isinstance(item, Quarantined):
                self._keep_quarantined(item, summary)
            elif isinstance(item, Skipped):
                summary.skip(item)
            elif isinstance(item, Note):
                if len(summary.notes) < MAX_ERROR_MESSAGES:
                    summary.notes.append(_one_line_reason(f"{item.source_ref}: {item.text}"))
            elif item.dedup_key in existing:
                summary.duplicate += 1
            elif self._store_one(item, summary):
                existing.add(item.dedup_key)
        self.resolver.flush()
        if not self.careful:  # in this transaction: the index commits with the items
            index_new(self.db, stored_before)
        executemany(
            self.db,
            "INSERT OR REPLACE INTO sourcecursor(key, state, updated_at) VALUES (?, ?, ?)",
            [(key, json.dumps(state), now_iso()) for key, state in cursors.items()],
        )

    def _existing_keys(self, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join(f":k{i}" for i in range(len(chunk)))
            rows = execute(
                self.db,
                f"SELECT dedup_key FROM interaction WHERE dedup_key IN ({marks})",
                {f"k{i}": key for i, key in enumerate(chunk)},
            )
            found.update(row[0] for row in rows)
        return found

    def _attempt(self, write: Callable[[], R]) -> R | Exception:
        """``write()``'s result; in careful mode, the exception if the store refused it.

        Careful mode runs ``write`` in a savepoint: a refusal rolls back its rows and this
        writer's memory of them, so the next item starts from what the vault holds. The fast
        path raises, and the caller redoes the batch carefully.
        """
        if not self.careful:
            return write()
        execute(self.db, "SAVEPOINT item")
        try:
            result = write()
        except VaultError:
            raise
        except Exception as exc:  # a record the store refuses: the caller quarantines it
            execute(self.db, "ROLLBACK TO item")
            execute(self.db, "RELEASE item")
            self._forget()
            return exc
        execute(self.db, "RELEASE item")
        return result

    def _forget(self) -> None:
        """Drop every cache of rows: a savepoint was rolled back, maybe with some of them."""
        self.threads.clear()
        self.resolver.forget()

    def _store_one(self, item: Interaction, summary: Summary) -> bool:
        """Store ``item``; False if the store refused it (it is quarantined with the reason)."""
        updated = self._attempt(lambda: self._insert(item))
        if isinstance(updated, Exception):
            reason = _one_line_reason(f"could not be stored: {updated}")
            self._keep_quarantined(Quarantined(item.source_ref, raw_of(item), reason), summary)
            return False
        summary.new += 1
        summary.updated += updated
        return True

    def _keep_quarantined(self, item: Quarantined, summary: Summary) -> None:
        """Keep ``item`` in quarantine; an error if even that is refused (the source has it)."""
        refused = self._attempt(lambda: self._quarantine(item))
        if isinstance(refused, Exception):
            summary.error(
                _one_line_reason(f"{item.source_ref}: could not be quarantined: {refused}")
            )
        else:
            summary.quarantined += 1

    def _thread_id(self, item: Interaction) -> int | None:
        if not item.thread_key:
            return None
        cached = self.threads.get(item.thread_key)
        if cached is not None:
            return cached
        added = execute(
            self.db,
            "INSERT OR IGNORE INTO thread(key, title) VALUES (:k, :t)",
            {"k": item.thread_key, "t": item.thread_title or item.title},
        )
        if added.rowcount == 1 and added.lastrowid:  # a new thread, the common case
            thread_id = added.lastrowid
        else:
            thread_id = int(
                execute(
                    self.db, "SELECT id FROM thread WHERE key=:k", {"k": item.thread_key}
                ).scalar()
            )
        self.threads[item.thread_key] = thread_id
        return thread_id

    def _insert(self, item: Interaction) -> bool:
        """Insert ``item``; True if it updated an existing booking."""
        party = counterpart_of(item, self.resolver.me)
        company_id, identifier_id = self.resolver.resolve(item)
        when = item.occurred_at
        offset = when.utcoffset()
        extras = dict(item.extras)
        if not item.tz_known:
            extras["tz_assumed"] = True
        if item.payment is not None:
            extras["payment"] = {k: v for k, v in asdict(item.payment).items() if v is not None}
        row = {
            "company_id": company_id,
            "resolved_by": identifier_id,
            "channel": item.channel,
            "direction": item.direction,
            "occurred_at": int(when.timestamp()),
            "tz_offset": int(offset.total_seconds() // 60) if offset is not None else None,
            "title": item.title,
            "body": item.body,
            "sender": item.sender.display() if item.sender else None,
            "recipients": json.dumps([p.display() for p in item.recipients], ensure_ascii=False),
            "counterpart": party.display() if party else None,
            "thread_id": self._thread_id(item),
            "source_id": self.source_id,
            "source_ref": item.source_ref,
            "dedup_key": item.dedup_key,
            "raw_blob": _stored_raw(self.db, item),
            "extras": json.dumps(extras, ensure_ascii=False, sort_keys=True, default=str),
        }
        columns = ", ".join(row)
        values = ", ".join(f":{name}" for name in row)
        result = execute(self.db, f"INSERT INTO interaction({columns}) VALUES ({values})", row)
        interaction_id = int(result.lastrowid or 0)
        for attachment in item.attachments:
            execute(
                self.db,
                (
                    "INSERT INTO attachment(interaction_id, filename, mime, size, blob_sha) "
                    "VALUES (:i, :f, :m, :s, :b)"
                ),
                {
                    "i": interaction_id,
                    "f": attachment.filename,
                    "m": attachment.mime,
                    "s": len(attachment.data),
                    "b": put_blob(self.db, attachment.packed or attachment.data),
                },
            )
        if item.money is not None:
            execute(
                self.db,
                "INSERT INTO money(interaction_id, value, currency, guessed) "
                "VALUES (:i, :v, :c, :g)",
                {
                    "i": interaction_id,
                    "v": str(item.money.value),
                    "c": item.money.currency,
                    "g": int(item.money.guessed),
                },
            )
        updated = False
        for booking in item.bookings:
            updated |= merge_booking(self.db, company_id, interaction_id, booking)
        if self.careful:
            self.resolver.flush()  # in the item's savepoint: its name votes roll back with it
            # and its index rows: an item the index refuses is quarantined like any other
            index_new(self.db, interaction_id - 1)
        return updated

    def _quarantine(self, item: Quarantined) -> None:
        digest = put_blob(self.db, item.raw)
        execute(
            self.db,
            (
                "INSERT OR IGNORE INTO quarantine"
                "(import_run_id, source_ref, blob_sha, reason, created_at, dedup_key) "
                "VALUES (:r, :s, :b, :why, :t, :k)"
            ),
            {
                "r": self.run_id,
                "s": item.source_ref,
                "b": digest,
                "why": item.reason,
                "t": now_iso(),
                "k": content_key(item.source_ref.encode() + b"\0" + item.raw),
            },
        )


ProgressCallback = Callable[[Summary], None]


class Ingestor:
    """Runs one import: registers the source and run, writes batches, records the outcome."""

    def __init__(
        self,
        store: Store,
        options: ImportOptions,
        format_name: str,
        locator: str,
        *,
        batch_size: int = DEFAULT_BATCH,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.store = store
        self.options = options
        self.format_name = format_name
        self.locator = locator
        self.batch_size = batch_size
        self.progress = progress

    def _start(self) -> tuple[int, int]:
        locator = storable_text(self.locator)  # a path not in UTF-8 (decoded surrogateescape)
        with self.store.writer() as conn:
            execute(
                conn,
                "INSERT OR IGNORE INTO source(kind, locator, created_at, settings) "
                "VALUES (:k, :l, :t, '{}')",
                {"k": self.format_name, "l": locator, "t": now_iso()},
            )
            source_id = int(
                execute(
                    conn,
                    "SELECT id FROM source WHERE kind=:k AND locator=:l",
                    {"k": self.format_name, "l": locator},
                ).scalar()
            )
            result = execute(
                conn,
                "INSERT INTO importrun(source_id, format, started_at, status) "
                "VALUES (:s, :f, :t, 'running')",
                {"s": source_id, "f": self.format_name, "t": now_iso()},
            )
            return source_id, int(result.lastrowid or 0)

    def _finish(self, run_id: int, summary: Summary, status: str) -> None:
        with self.store.writer() as conn:
            execute(
                conn,
                "UPDATE importrun SET finished_at=:t, status=:st, new=:n, duplicate=:d, "
                "updated=:u, quarantined=:q, errors=:e WHERE id=:id",
                {
                    "t": now_iso(),
                    "st": status,
                    "n": summary.new,
                    "d": summary.duplicate,
                    "u": summary.updated,
                    "q": summary.quarantined,
                    "e": summary.errors,
                    "id": run_id,
                },
            )

    def _commit(self, batch: list[Item], source_id: int, run_id: int, summary: Summary) -> None:
        # A savepoint per item makes SQLite copy every page an item touches into a
        # statement journal (16 KiB pages): write the batch without them, and only when
        # the store refuses an item, roll the batch back and redo it item by item, with a
        # new writer, so nothing the failed attempt remembered carries over.
        done = Summary()
        try:
            with self.store.writer() as conn:
                _BatchWriter(conn, self.options, source_id, run_id, careful=False).write(
                    batch, done
                )
        except VaultError:
            raise
        except Exception:
            done = Summary()
            with self.store.writer() as conn:
                _BatchWriter(conn, self.options, source_id, run_id).write(batch, done)
        summary.add(done)
        summary.position = _last_position(batch) or summary.position
        if self.progress is not None:
            self.progress(summary)

    def run(self, items: Iterable[Item]) -> Summary:
        """Write every item; returns the summary.

        A batch is written in a thread of its own while this one reads the next
        (``vault.write_behind``).

        Raises:
            ImportFailed: the importer or the store failed part-way. Every batch before the
                failure is kept, and the next run resumes from the last checkpoint.
        """
        source_id, run_id = self._start()
        summary = Summary()
        behind: WriteBehind[list[Item]] = WriteBehind(
            lambda batch: self._commit(batch, source_id, run_id, summary)
        )
        batch: list[Item] = []
        records = held = 0  # only records count toward the batch size; bytes they hold
        size = min(FIRST_BATCH, self.batch_size)
        checkpointed = False
        try:
            for item in items:
                if isinstance(item, Checkpoint):
                    checkpointed = True
                    item = _as_it_is_now(item)
                else:
                    records, held = records + 1, held + _bytes_held(item)
                batch.append(item)
                # A full batch ends at the source's next checkpoint, so the stored cursor
                # points just past the last stored item; a source that checkpoints rarely
                # (or never) is cut at four batches so memory stays bounded.
                at_boundary = isinstance(item, Checkpoint) or not checkpointed
                full = max(records / size, held / BATCH_BYTES)
                if (full >= 1 and at_boundary) or full >= 4:
                    behind.hand(batch)
                    batch, records, held = [], 0, 0
                    size = min(2 * size, self.batch_size)
            if batch:
                behind.hand(batch)
            behind.wait()
        except (KeyboardInterrupt, VaultError):
            behind.settle()
            self._finish(run_id, summary, "failed")
            raise
        except Exception as exc:
            # An importer bug or a store error: keep what was written, say where it stopped.
            behind.settle()
            summary.error(str(exc))
            self._finish(run_id, summary, "failed")
            raise ImportFailed(
                f"the {self.format_name} import stopped after {summary.new} new items: {exc}"
            ) from exc
        self._finish(run_id, summary, "done")
        return summary


def _as_it_is_now(checkpoint: Checkpoint) -> Checkpoint:
    """``checkpoint`` with a copy of its state: its batch is written while the importer reads
    on, and an importer that changes the state it yielded must not move the cursor past
    items not written yet."""
    return replace(checkpoint, state=json.loads(json.dumps(checkpoint.state)))


def _stored_raw(db: Conn, item: Interaction) -> str | None:
    """Store ``item``'s raw bytes (packed, where a worker packed them); their digest."""
    stored = item.raw_packed or item.raw
    return put_blob(db, stored) if stored else None


def raw_of(item: Interaction) -> bytes:
    """``item``'s raw bytes: as read, or rebuilt from the packed form a parse worker sent
    instead (``vault.pool.packed_ahead``) and the attachments beside it."""
    packed = item.raw_packed
    if item.raw is not None or packed is None:
        return item.raw or b""
    files = {file.packed.sha256: file.data for file in item.attachments if file.packed}
    return decoded(packed.data, packed.codec, packed.sha256, files.get)


def _bytes_held(item: Item) -> int:
    """The bytes ``item`` brings into a batch: its raw form (packed, where a worker packed
    it) and attachments."""
    if isinstance(item, Interaction):
        raw = len(item.raw_packed.data) if item.raw_packed else len(item.raw or b"")
        return raw + sum(len(file.data) for file in item.attachments)
    return len(item.raw) if isinstance(item, Quarantined) else 0


def _last_position(batch: list[Item]) -> Position | None:
    """The position of the batch's last checkpoint that has one."""
    for item in reversed(batch):
        if isinstance(item, Checkpoint) and item.position is not None:
            return item.position
    return None


def load_cursors(store: Store) -> dict[str, dict[str, Any]]:
    """Every source cursor in the vault, for ``ImportOptions.cursors``."""
    with store.reader() as conn:
        rows = execute(conn, "SELECT key, state FROM sourcecursor").all()
    return {str(key): json.loads(state) for key, state in rows}
