"""The CLI's commands: each takes the parsed arguments and returns the exit status."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault import keys as keymod
from vault import queries
from vault.errors import InputError, UsageError, VaultLocked
from vault.render import item_text, print_json, short_time, table, timeline_lines
from vault.share_cli import COMMANDS as SHARE_COMMANDS
from vault.store import Store
from vault.text import escaped, visible_line
from vault.timefmt import parse_user_date
from vault.unlock import (
    PassphraseSource,
    check_new_passphrase,
    create_vault,
    open_vault,
    remember_on_device,
    resolve_folder,
    set_new_passphrase,
    unlock_key,
)

if TYPE_CHECKING:
    from vault.ingest import Summary
    from vault.records import ImportOptions, Item


def _source(args: argparse.Namespace) -> PassphraseSource:
    return PassphraseSource(from_stdin=bool(getattr(args, "passphrase_stdin", False)))


@contextmanager
def opened(args: argparse.Namespace) -> Iterator[Store]:
    """The unlocked vault named by the arguments, closed afterwards."""
    store = open_vault(resolve_folder(args.vault), _source(args))
    try:
        yield store
    finally:
        store.close()


def ask_new_passphrase(from_stdin: bool, what: str = "New passphrase") -> str:
    """A new passphrase: the next stdin line in scripts, else typed twice at the terminal."""
    if from_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise VaultLocked(f"{what.lower()} expected on standard input")
        return check_new_passphrase(line.rstrip("\r\n"))
    first = check_new_passphrase(getpass.getpass(f"{what}: "))
    if getpass.getpass(f"{what} again: ") != first:
        raise UsageError("the two passphrases differ; nothing was changed")
    return first


def cmd_init(args: argparse.Namespace) -> int:
    folder = resolve_folder(args.vault)
    passphrase = _source(args).non_interactive()
    if passphrase is None:
        passphrase = ask_new_passphrase(False, "Passphrase for the new vault")
    store, code = create_vault(folder, passphrase)
    store.close()
    print(f"Created a vault at {folder}")
    print()
    print("Your recovery code (shown only this once; write it down and keep it safe):")
    print()
    print(f"    {code}")
    print()
    print("With it, `kluis recover` sets a new passphrase if you forget yours.")
    return 0


def _timezone(name: str | None) -> Any:
    if not name:
        from dateutil import tz

        return tz.tzlocal()
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown time zone {name!r} (use a name like Europe/Amsterdam)") from None


def import_options(store: Store, args: argparse.Namespace) -> ImportOptions:
    """Import options from ``--me``, ``--timezone``, the profile and the stored cursors."""
    from sqlalchemy import text

    from vault.ingest import load_cursors
    from vault.records import ImportOptions

    addresses = {m.casefold() for m in args.me if "@" in m}
    names = {m.casefold() for m in args.me if "@" not in m}
    with store.read() as conn:
        for key, value in conn.execute(
            text("SELECT key, value FROM profilefield WHERE key IN ('email', 'name')")
        ):
            (addresses if key == "email" else names).add(str(value).casefold())
    return ImportOptions(
        timezone=_timezone(args.timezone),
        me_addresses=frozenset(addresses),
        me_names=frozenset(names),
        cursors=load_cursors(store),
    )


MAIL_FORMATS = frozenset({"eml", "mbox", "maildir", "takeout"})


def _to_stderr(message: str) -> None:
    print(escaped(message), file=sys.stderr)


def _detect_me(
    store: Store,
    sample: Iterable[Item],
    options: ImportOptions,
    notice: Callable[[str], None] = _to_stderr,
) -> ImportOptions:
    """Options with the mailbox owner's address guessed from a sample, remembered in the profile.

    Without it every mail the user sent would count as a mail from their own "company".
    """
    from sqlalchemy import text

    from vault.me import most_frequent_recipient

    address = most_frequent_recipient(sample)
    if address is None:
        return options
    with store.begin() as conn:
        conn.execute(
            text(
                "INSERT OR IGNORE INTO profilefield(key, value, category, updated_at) "
                "VALUES ('email', :v, 'detected', datetime('now'))"
            ),
            {"v": address},
        )
    notice(
        f"Taking {address} as your own address (it received most of this mail); "
        "use --me to say otherwise."
    )
    return replace(options, me_addresses=frozenset({address}))


def detect_format(path: Path) -> str:
    """The format of ``path`` as ``--format auto`` finds it.

    Raises:
        InputError: there is no such file or folder.
        UnsupportedFormat: kluis does not recognise it.
    """
    import importers

    if not path.exists():
        raise InputError(f"no such file or folder: {path}")
    return importers.detect(path)


def _until(stop: Callable[[], bool], items: Iterator[Item]) -> Iterator[Item]:
    try:
        for item in items:
            yield item
            if stop():
                return
    finally:
        if isinstance(items, Generator):
            items.close()  # an mbox reader's process pool shuts down now, not at garbage collection


def import_source(
    store: Store,
    path: Path,
    format_name: str,
    options: ImportOptions,
    *,
    progress: Callable[[Summary], None] | None = None,
    stop: Callable[[], bool] | None = None,
    notice: Callable[[str], None] = _to_stderr,
) -> tuple[Summary, ImportOptions]:
    """Import one file or folder; returns its summary and the options for the next source
    (which know the mailbox owner's address once a mail import detected it).

    ``stop`` is asked after every item: once it says yes, what was read is written and the
    import ends there. Nothing is lost: the next import of the source resumes from its last
    checkpoint and skips what is already in the vault.
    """
    import importers
    from vault.ingest import Ingestor

    importer = importers.load(format_name)
    if format_name in MAIL_FORMATS and not options.me_addresses:
        options = _detect_me(store, importer.read(path, options), options, notice)
    items = importer.read(path, options)
    if stop is not None:
        items = _until(stop, items)
    ingestor = Ingestor(store, options, format_name, str(path.resolve()), progress=progress)
    return ingestor.run(items), options


def quarantined_items(
    store: Store, paths: Iterable[Path], limit: int = 200
) -> list[tuple[str, str]]:
    """(source reference, reason) of what the imports of ``paths`` could not read, newest first."""
    from sqlalchemy import text

    locators = [str(path.resolve()) for path in paths]
    marks = ", ".join(f":l{n}" for n in range(len(locators)))
    with store.read() as conn:
        rows = conn.execute(
            text(
                "SELECT q.source_ref, q.reason FROM quarantine q "
                "JOIN importrun r ON r.id = q.import_run_id JOIN source s ON s.id = r.source_id "
                f"WHERE s.locator IN ({marks}) ORDER BY q.id DESC LIMIT :limit"
            ),
            {"limit": limit, **{f"l{n}": locator for n, locator in enumerate(locators)}},
        ).all()
    return [(str(ref), str(reason)) for ref, reason in rows]


def progress_printer() -> Callable[[Summary], None] | None:
    """A one-line progress counter on stderr when it is a terminal, else None."""
    if not sys.stderr.isatty():
        return None

    def show(summary: Summary) -> None:
        sys.stderr.write(
            f"\r  {summary.new:,} new · {summary.duplicate:,} already there · "
            f"{summary.quarantined:,} quarantined "
        )
        sys.stderr.flush()

    return show


def cmd_import(args: argparse.Namespace) -> int:
    from vault.ingest import Summary

    paths = [Path(p).expanduser() for p in args.paths]
    for path in paths:
        if not path.exists():
            raise InputError(f"no such file or folder: {path}")
    with opened(args) as store:
        options = import_options(store, args)
        total = Summary()
        progress = progress_printer()
        for path in paths:
            format_name = detect_format(path) if args.format == "auto" else args.format
            summary, options = import_source(store, path, format_name, options, progress=progress)
            total.add(summary)
        if progress is not None:
            sys.stderr.write("\n")
    print_summary(total, as_json=args.json)
    return 0


def print_summary(summary: Summary, *, as_json: bool) -> None:
    """The report of an import or sync: the contract's object with ``--json``."""
    if as_json:
        print_json(summary.to_json())
        return
    print(
        f"{summary.new:,} new, {summary.duplicate:,} already in the vault, "
        f"{summary.updated:,} updated, {summary.quarantined:,} quarantined, "
        f"{summary.errors:,} errors"
    )
    for message in summary.messages:
        print(f"  error: {escaped(message)}")


def cmd_sync(args: argparse.Namespace) -> int:
    from vault.sync import sync_imap

    return sync_imap(args)


def cmd_companies(args: argparse.Namespace) -> int:
    with opened(args) as store, store.reader() as conn:
        rows = queries.list_companies(conn)
    if args.json:
        print_json([row.to_json() for row in rows])
        return 0
    if not rows:
        print("The vault is empty. Import something with `kluis import PATH`.")
        return 0
    table(
        (
            [str(r.id), r.kind, str(r.interactions), short_time(r.last_at)[:10], r.name]
            for r in rows
        ),
        ["ID", "KIND", "ITEMS", "LAST", "NAME"],
    )
    return 0


def cmd_timeline(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    since = parse_user_date(args.since) if args.since else None
    until = parse_user_date(args.until, end_of_day=True) if args.until else None
    with opened(args) as store, store.reader() as conn:
        company_id, name = queries.find_company(conn, args.company)
        rows = queries.timeline(
            conn, company_id, channel=args.channel, since=since, until=until, limit=args.limit
        )
    if args.json:
        print_json([row.to_json() for row in rows])
    else:
        print(f"{visible_line(name)} — newest first")
        timeline_lines(row.to_json() for row in rows)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with opened(args) as store, store.reader() as conn:
        item = queries.show(conn, args.id)
    if args.json:
        print_json(item)
    else:
        item_text(item)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from vault.search import search

    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    with opened(args) as store, store.reader() as conn:
        rows = search(
            conn, " ".join(args.query), company=args.company, channel=args.channel, limit=args.limit
        )
    if args.json:
        print_json(rows)
    elif not rows:
        print("Nothing found.")
    else:
        timeline_lines(rows)
    return 0


def cmd_bookings(args: argparse.Namespace) -> int:
    with opened(args) as store, store.reader() as conn:
        company_id = queries.find_company(conn, args.company)[0] if args.company else None
        rows = queries.list_bookings(conn, company_id=company_id, upcoming=args.upcoming)
    if args.ics:
        from exports.ics import write_bookings_ics

        out = Path(args.ics).expanduser()
        written = write_bookings_ics(rows, out)
        print(f"Wrote {written} bookings to {escaped(str(out))}", file=sys.stderr)
    if args.json:
        print_json(rows)
    elif not rows:
        print("No bookings yet.")
    else:
        table(
            (
                [
                    short_time(r["start"]),
                    r["kind"],
                    r["status"],
                    r["reference"] or "",
                    " → ".join(filter(None, [r["origin"], r["destination"]])) or r["company"],
                ]
                for r in rows
            ),
            ["START", "KIND", "STATUS", "REFERENCE", "WHAT"],
        )
    return 0


def cmd_company(args: argparse.Namespace) -> int:
    from vault import company_edits

    if args.edit == "suggest":
        return show_suggestions(args, "company")
    if args.edit in ("accept", "reject"):
        return decide_suggestion(args)
    with opened(args) as store, store.begin() as conn:
        if args.edit == "rename":
            message = company_edits.rename(conn, args.company, args.name)
        elif args.edit == "merge":
            message = company_edits.merge(conn, args.company, args.into)
        elif args.edit == "alias":
            message = company_edits.alias(conn, args.company, args.value)
        elif args.edit == "split":
            message = company_edits.split(conn, args.company, args.value, args.name)
        else:
            message = company_edits.undo_last(conn)
    print(visible_line(message[:1].upper() + message[1:], 1000) + ".")
    return 0


def show_suggestions(args: argparse.Namespace, kind: str) -> int:
    """``kluis company suggest`` / ``kluis people suggest``: open suggestions, with evidence."""
    from vault.suggestions import suggestions

    with opened(args) as store, store.reader() as conn:
        rows = suggestions(conn, kind)
    if args.json:
        print_json([row.to_json() for row in rows])
        return 0
    if not rows:
        print("No suggestions: nothing looks like it should be merged.")
        return 0
    for row in rows:
        print(f"{row.id}  merge {visible_line(row.source)!r} into {visible_line(row.target)!r}")
        for evidence in row.evidence:
            print(f"      {visible_line(evidence, 200)}")
    command = "company" if kind == "company" else "people"
    print(f"\nkluis {command} accept ID merges them (undo takes it back); reject ID dismisses.")
    return 0


def decide_suggestion(args: argparse.Namespace) -> int:
    """Accept (merge) or reject one suggestion; either is remembered."""
    from vault import suggestions

    action = getattr(args, "edit", None) or args.people_action
    decide = suggestions.accept if action == "accept" else suggestions.reject
    with opened(args) as store, store.begin() as conn:
        message = decide(conn, args.suggestion)
    print(visible_line(message[:1].upper() + message[1:], 1000) + ".")
    return 0


def cmd_people(args: argparse.Namespace) -> int:
    if args.people_action == "suggest":
        return show_suggestions(args, "person")
    if args.people_action in ("accept", "reject"):
        return decide_suggestion(args)
    from vault.people import list_people

    with opened(args) as store, store.reader() as conn:
        rows = list_people(conn)
    if args.json:
        print_json([row.to_json() for row in rows])
        return 0
    if not rows:
        print("No people yet: import mail or chats first.")
        return 0
    table(
        (
            [
                str(r.id),
                str(r.interactions),
                short_time(r.last_at)[:10],
                r.name,
                ", ".join(r.channels),
            ]
            for r in rows
        ),
        ["ID", "ITEMS", "LAST", "NAME", "CHANNELS"],
    )
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    folder = resolve_folder(args.vault)
    keyfile, dek = unlock_key(
        folder, PassphraseSource(from_stdin=args.passphrase_stdin, allow_device=False)
    )
    _set_new_passphrase(folder, keyfile, dek, args.passphrase_stdin)
    print("Passphrase changed. The recovery code and remembered devices still work.")
    return 0


def _set_new_passphrase(
    folder: Path, keyfile: keymod.KeyFile, dek: bytes, from_stdin: bool
) -> None:
    """Ask for a new passphrase and re-wrap the data key under it (the database is untouched)."""
    set_new_passphrase(folder, keyfile, dek, ask_new_passphrase(from_stdin))


def cmd_recover(args: argparse.Namespace) -> int:
    folder = resolve_folder(args.vault)
    keyfile = keymod.load_keys(folder)
    if sys.stdin.isatty() and not args.passphrase_stdin:
        code = getpass.getpass("Recovery code: ")
    else:
        code = sys.stdin.readline().strip()
    dek = keymod.unwrap_with_recovery_code(keyfile, code)
    _set_new_passphrase(folder, keyfile, dek, args.passphrase_stdin)
    print("New passphrase set. Your recovery code stays the same.")
    return 0


def cmd_remember(args: argparse.Namespace) -> int:
    folder = resolve_folder(args.vault)
    keyfile, dek = unlock_key(folder, _source(args))
    remember_on_device(folder, keyfile, dek)
    print("This device now opens the vault without asking. `kluis forget` undoes it.")
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from vault.device import delete_device_key

    folder = resolve_folder(args.vault)
    keyfile = keymod.load_keys(folder)
    removed = delete_device_key(keyfile.vault_id)
    if "device" in keyfile.wraps:
        del keyfile.wraps["device"]
        keymod.save_keys(folder, keyfile)
        removed = True
    print("Forgotten on this device." if removed else "This device did not remember the vault.")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from vault.doctor import run_checks

    report = run_checks(resolve_folder(args.vault), _source(args))
    if args.json:
        print_json(report.to_json())
    else:
        report.print()
    return 0 if report.ok else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from vault.demo import run_demo

    return run_demo(args)


def cmd_tui(args: argparse.Namespace) -> int:
    from vault.launch import launch_app

    return launch_app(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "init": cmd_init,
    "import": cmd_import,
    "sync": cmd_sync,
    "companies": cmd_companies,
    "timeline": cmd_timeline,
    "show": cmd_show,
    "search": cmd_search,
    "bookings": cmd_bookings,
    "company": cmd_company,
    "people": cmd_people,
    "passwd": cmd_passwd,
    "recover": cmd_recover,
    "remember": cmd_remember,
    "forget": cmd_forget,
    "doctor": cmd_doctor,
    "demo": cmd_demo,
    "tui": cmd_tui,
}


COMMANDS.update(SHARE_COMMANDS)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the command (the app when none is given)."""
    return COMMANDS[args.command or "tui"](args)
