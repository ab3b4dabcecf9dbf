"""Importing a source into the vault: the one service both faces call with plain values.

The command line (``kluis import``, ``kluis sync``) and the app's import screen hand it a
path, a format, who "me" is and a time zone, and hear back through callbacks: ``progress``
after every batch, ``notice`` for a sentence worth telling the user, ``stop`` to end early.
Reading a source is the importers' work; the core never imports them, so the face passes
them in as a ``SourceReader`` (the ``importers`` package is one).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from vault.clock import user_zone
from vault.errors import InputError, UnsupportedFormat
from vault.fsutil import require_file_or_folder

if TYPE_CHECKING:
    from vault.ingest import Summary
    from vault.records import ImportOptions, Item
    from vault.store import Store

MAIL_FORMATS = frozenset({"eml", "emlx", "mbox", "maildir", "takeout", "folder"})
"""Formats whose owner kluis guesses from the mail when the user did not say who they are."""

Notice = Callable[[str], None]

UNRECOGNISED_LOOKAHEAD = 64
"""Items read ahead from a source its format did not recognise: without one record among
them, the import is refused before anything is written."""


class SourceReader(Protocol):
    """What turns a file or folder into records (the ``importers`` package)."""

    def detect(self, path: Path) -> str:
        """The format of ``path``; raises ``UnsupportedFormat`` when none recognises it."""
        ...

    def read(self, path: Path, format_name: str, options: ImportOptions) -> Iterator[Item]:
        """The records of ``path`` read as ``format_name``, streamed."""
        ...

    def mismatch(self, path: Path, format_name: str) -> str | None:
        """Why ``format_name`` does not recognise ``path`` (naming what is there), or None."""
        ...


def import_options(
    store: Store, me: Iterable[str] = (), timezone: str | None = None
) -> ImportOptions:
    """Options for an import: who "me" is (addresses and names given, plus the profile's), the
    zone of times that carry none (``timezone``, else the user's zone: ``vault.clock``), and
    the stored cursors a resumed import starts from.

    Raises:
        UsageError: ``timezone`` names no zone.
    """
    from vault.ingest import load_cursors
    from vault.records import ImportOptions
    from vault.store import execute

    given = list(me)
    addresses = {m.casefold() for m in given if "@" in m}
    names = {m.casefold() for m in given if "@" not in m}
    with store.reader() as conn:
        for key, value in execute(
            conn, "SELECT key, value FROM profilefield WHERE key IN ('email', 'name')"
        ):
            (addresses if key == "email" else names).add(str(value).casefold())
        zone = user_zone(conn, timezone)
    return ImportOptions(
        timezone=zone,
        me_addresses=frozenset(addresses),
        me_names=frozenset(names),
        cursors=load_cursors(store),
    )


def _remember_owner(
    store: Store, sample: Iterable[Item], options: ImportOptions, notice: Notice
) -> ImportOptions:
    """Options with the mailbox owner's address guessed from a sample, remembered in the profile.

    Without it every mail the user sent would count as a mail from their own "company".
    """
    from vault.me import most_frequent_recipient
    from vault.store import execute

    address = most_frequent_recipient(sample)
    if address is None:
        return options
    with store.writer() as conn:
        execute(
            conn,
            "INSERT OR IGNORE INTO profilefield(key, value, category, updated_at) "
            "VALUES ('email', :v, 'detected', datetime('now'))",
            {"v": address},
        )
    notice(
        f"Taking {address} as your own address (it received most of this mail); "
        "use --me to say otherwise."
    )
    return replace(options, me_addresses=frozenset({address}))


def detect_format(reader: SourceReader, path: Path) -> str:
    """The format of ``path`` as ``--format auto`` finds it.

    Raises:
        InputError: there is no such file or folder.
        RefusedInput: it is a FIFO, a device or a socket (sniffing it could block forever).
        UnsupportedFormat: kluis does not recognise it.
    """
    require_file_or_folder(path)
    return reader.detect(path)


def _require_a_record(items: Iterator[Item], problem: str) -> None:
    """Read ahead in a source its ``--format`` did not recognise (an mbox named ``.txt`` is
    still read); a record among the first ``UNRECOGNISED_LOOKAHEAD`` items lets it through.

    Raises:
        UnsupportedFormat: ``problem``, when none of them is a record (only files skipped or
            quarantined, or nothing at all): the format recognises nothing in the source.
    """
    from itertools import islice

    from vault.records import Interaction, Quarantined

    refused: str | None = None
    try:
        for item in islice(items, UNRECOGNISED_LOOKAHEAD):
            if isinstance(item, Interaction):
                return
            if isinstance(item, Quarantined) and refused is None:
                refused = item.reason
    except InputError as exc:
        refused = str(exc)
    finally:
        if isinstance(items, Generator):
            items.close()
    raise UnsupportedFormat(f"{problem}: {refused}" if refused else problem)


def _until(stop: Callable[[], bool], items: Iterator[Item]) -> Iterator[Item]:
    try:
        for item in items:
            yield item
            if stop():
                return
    finally:
        if isinstance(items, Generator):
            items.close()  # an mbox reader's process pool shuts down now, not at garbage collection


def _silent(_: str) -> None:
    """A notice nobody asked to hear."""


def import_source(
    store: Store,
    reader: SourceReader,
    path: Path,
    format_name: str,
    options: ImportOptions,
    *,
    progress: Callable[[Summary], None] | None = None,
    stop: Callable[[], bool] | None = None,
    notice: Notice = _silent,
    wait: bool = True,
) -> tuple[Summary, ImportOptions]:
    """Import one file or folder; returns its summary and the options for the next source
    (which know the mailbox owner's address once a mail import detected it).

    ``stop`` is asked after every item: once it says yes, what was read is written and the
    import ends there. Nothing is lost: the next import of the source resumes from its last
    checkpoint and skips what is already in the vault. While another import or sync writes
    to the vault, this one waits its turn (``notice`` says for whom), unless ``wait`` is false.

    Raises:
        VaultBusy: another import or sync is writing and ``wait`` is false, or ``stop`` said
            yes while waiting for it.
        UnsupportedFormat: ``format_name`` recognises nothing in ``path`` (the message says
            what is there); nothing is written.
    """
    from vault.ingest import Ingestor, load_cursors
    from vault.writelock import writer_lock

    require_file_or_folder(path)
    with writer_lock(store.folder, "import", wait=wait, notice=notice, stop=stop):
        # Where the source stands now: an import waited for may have read part of it.
        options = replace(options, cursors=load_cursors(store))
        problem = reader.mismatch(path, format_name)
        if problem is not None:
            _require_a_record(reader.read(path, format_name, options), problem)
        if format_name in MAIL_FORMATS and not options.me_addresses:
            sample = reader.read(path, format_name, replace(options, owner_sample=True))
            options = _remember_owner(store, sample, options, notice)
            del sample  # the sample's reader ends now, not with the import (its buffer, file)
        items = reader.read(path, format_name, options)
        if stop is not None:
            items = _until(stop, items)
        ingestor = Ingestor(store, options, format_name, str(path.resolve()), progress=progress)
        return ingestor.run(items), options


def imported_before(store: Store, path: Path) -> bool:
    """True if ``path``, or a file in it, was read by an import before: a re-import may rightly
    read nothing new, as it resumes where the last one ended (the cursors name their files)."""
    from vault.store import execute

    with store.reader() as conn:
        row = execute(
            conn,
            "SELECT 1 FROM source WHERE locator = :l "
            "UNION ALL SELECT 1 FROM sourcecursor WHERE instr(key, :l) > 0 LIMIT 1",
            {"l": str(path.resolve())},
        ).first()
    return row is not None


def quarantined_items(
    store: Store, paths: Iterable[Path], limit: int = 200
) -> list[tuple[str, str]]:
    """(source reference, reason) of what the imports of ``paths`` could not read, newest first."""
    from vault.store import execute

    locators = [str(path.resolve()) for path in paths]
    marks = ", ".join(f":l{n}" for n in range(len(locators)))
    with store.reader() as conn:
        rows = execute(
            conn,
            "SELECT q.source_ref, q.reason FROM quarantine q "
            "JOIN importrun r ON r.id = q.import_run_id JOIN source s ON s.id = r.source_id "
            f"WHERE s.locator IN ({marks}) ORDER BY q.id DESC LIMIT :limit",
            {"limit": limit, **{f"l{n}": locator for n, locator in enumerate(locators)}},
        ).all()
    return [(str(ref), str(reason)) for ref, reason in rows]
