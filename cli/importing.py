"""``kluis import``: its options, its progress line and its summary (``kluis sync`` shares
the last two)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from cli.exits import PARTIAL
from cli.render import print_json, skipped_lines
from vault.fsutil import require_file_or_folder
from vault.text import escaped

if TYPE_CHECKING:
    from vault.ingest import Summary
    from vault.records import ImportOptions
    from vault.store import Store


def import_options(store: Store, args: argparse.Namespace) -> ImportOptions:
    """Import options from ``--me``, ``--timezone``, ``--columns``, the profile and the stored
    cursors."""
    from vault.imports import import_options as options_for

    options = options_for(store, args.me, args.timezone)
    if getattr(args, "columns", None):
        from importers.bank.csv_banks import columns_from

        options = replace(options, columns=tuple(columns_from(args.columns).items()))
    return options


def to_stderr(message: str) -> None:
    """Say ``message`` on stderr (a notice of a command that goes on), on one line."""
    print(escaped(message), file=sys.stderr, flush=True)


def progress_printer() -> Callable[[Summary], None] | None:
    """One line of progress on stderr when it is a terminal, else None: how far the source is
    read (of its size, with a rate and the time left) where the importer knows, then the
    counts."""
    if not sys.stderr.isatty():
        return None
    from vault.progress import ProgressMeter

    meter = ProgressMeter()
    width = 0

    def show(summary: Summary) -> None:
        nonlocal width
        counts = (
            f"{summary.new:,} new · {summary.duplicate:,} already there · "
            f"{summary.quarantined:,} quarantined"
        )
        reading = meter.reading(summary.position)
        line = escaped(f"  {reading} · {counts}" if reading else f"  {counts}")
        sys.stderr.write("\r" + line.ljust(width))  # a shorter line wipes the longer one
        sys.stderr.flush()
        width = len(line)

    return show


def cmd_import(args: argparse.Namespace) -> int:
    """``kluis import PATH…``."""
    import importers
    from cli.commands import opened
    from vault.imports import detect_format, import_source, imported_before
    from vault.ingest import Summary

    paths = [Path(p).expanduser() for p in args.paths]
    for path in paths:
        require_file_or_folder(path)  # before unlocking: a FIFO or a device is refused at once
    # A big mailbox's parse workers start while the passphrase is asked for and the key derived.
    with importers.parsing_ahead(paths[0], args.format), opened(args) as store:
        options = import_options(store, args)
        total = Summary()
        progress = progress_printer()
        fresh = False  # a source never imported before: reading nothing from it is worth a 3
        for path in paths:
            fresh = fresh or not imported_before(store, path)
            format_name = detect_format(importers, path) if args.format == "auto" else args.format
            summary, options = import_source(
                store,
                importers,
                path,
                format_name,
                options,
                progress=progress,
                notice=to_stderr,
                wait=not args.no_wait,
            )
            total.add(summary)
        if progress is not None:
            sys.stderr.write("\n")
    return print_summary(total, as_json=args.json, empty_is_partial=fresh)


def print_summary(summary: Summary, *, as_json: bool, empty_is_partial: bool = False) -> int:
    """The report of an import or sync (the contract's object with ``--json``); returns the
    exit status: 3 when some items were quarantined or failed, or (``empty_is_partial``: an
    import of a new source, not a re-import or a sync that found no new mail) when nothing at
    all was read."""
    empty = not (summary.new + summary.duplicate + summary.updated + summary.quarantined)
    status = PARTIAL if summary.quarantined or summary.errors or (empty_is_partial and empty) else 0
    if summary.quarantined:
        to_stderr(
            f"kluis: {summary.quarantined:,} quarantined (not readable): `kluis quarantine` "
            "lists them with the reason"
        )
    elif status and empty:
        to_stderr("kluis: nothing was read: no item kluis knows in what was given")
    if as_json:
        print_json(summary.to_json())
        return status
    print(
        f"{summary.new:,} new, {summary.duplicate:,} already in the vault, "
        f"{summary.updated:,} updated, {summary.quarantined:,} quarantined, "
        f"{summary.errors:,} errors"
    )
    for message in summary.messages:
        print(f"  error: {escaped(message)}")
    for line in skipped_lines(summary.skipped, summary.skipped_more):
        print(line)
    for note in summary.notes:
        print(f"  note: {escaped(note)}")
    return status
