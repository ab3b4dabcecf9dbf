"""``kluis watch DIR``: import the exports dropped into a folder, once each.

Every ``--interval`` seconds the folder is looked at (polling: the standard library only,
and it works on every file system, network shares included). A file is imported when it has
stopped growing (``vault.watching.SettledFiles``), unless a file with the same content was
handled before (recorded in the vault, so a restart or a second copy imports nothing). A
file kluis cannot read is named once and recorded, not retried. Ctrl-C ends with exit 130,
SIGTERM with exit 0; an import cut short resumes from its checkpoint the next time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cli.watch import Terminated, ended_by_sigterm, say
from vault.errors import ImportFailed, InputError, UsageError, VaultError
from vault.text import visible_line
from vault.watching import SettledFiles, content_hash, handled, record

if TYPE_CHECKING:
    from vault.records import ImportOptions
    from vault.store import Store


def cmd_watch(args: argparse.Namespace) -> int:
    """Run ``kluis watch DIR`` until Ctrl-C (exit 130) or SIGTERM (exit 0).

    Raises:
        UsageError: DIR is not a folder.
    """
    from cli.commands import opened
    from vault.imports import import_options

    folder = Path(args.folder).expanduser()
    if not folder.is_dir():
        raise UsageError(f"{visible_line(str(folder))} is not a folder")
    with opened(args) as store:
        options = import_options(store, args.me, args.timezone)
        files = SettledFiles(folder, args.settle)
        say(f"watching {visible_line(str(folder))} for exports")
        try:
            with ended_by_sigterm():
                while True:
                    for path in files.scan():
                        options = _take(store, path, options)
                    time.sleep(args.interval)
        except Terminated:
            say("stopped")
            return 0


def _take(store: Store, path: Path, options: ImportOptions) -> ImportOptions:
    """Import one settled file unless its content was handled before; returns the options
    for the next one (an import may learn the mailbox owner's address)."""
    import importers
    from vault.imports import detect_format, import_source
    from vault.store import is_damage

    name = visible_line(path.name)
    try:
        sha256 = content_hash(path)
    except OSError as exc:  # removed or unreadable right after it settled
        say(f"{name}: cannot read it ({exc.strerror or exc})")
        return options
    before = handled(store, sha256)
    if before is not None:
        if before.get("outcome") == "imported":  # one that could not be read was named already
            say(f"{name}: already imported")
        return options
    try:
        format_name = detect_format(importers, path)
        summary, options = import_source(store, importers, path, format_name, options, notice=say)
    except (InputError, ImportFailed) as exc:
        return _refused(store, sha256, path, str(exc), options)
    except Exception as exc:
        # A file that trips a fault in a reader must not stop the watch, nor be retried at
        # every restart; the vault's own trouble (damage, a lock) still ends it.
        if isinstance(exc, VaultError) or is_damage(exc):
            raise
        return _refused(store, sha256, path, f"unexpected error: {exc}", options)
    record(store, sha256, path, "imported", format_name)
    say(
        f"{name}: imported as {format_name}: {summary.new} new, {summary.duplicate} already in "
        f"the vault, {summary.quarantined} quarantined"
    )
    return options


def _refused(
    store: Store, sha256: str, path: Path, reason: str, options: ImportOptions
) -> ImportOptions:
    """Name a file kluis cannot import, once, and remember it so it is not tried again."""
    record(store, sha256, path, "refused", reason)
    say(f"{visible_line(path.name)}: not imported: {reason}")
    return options
