"""The CLI's commands: each takes the parsed arguments and returns the exit status."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from cli.paging import Page
from cli.render import (
    booking_time,
    item_text,
    print_json,
    print_json_list,
    short_time,
    table,
    timeline_lines,
)
from cli.share import COMMANDS as SHARE_COMMANDS
from vault import keys as keymod
from vault import queries
from vault.clock import user_zone
from vault.errors import UsageError, VaultLocked
from vault.passphrase_input import read_stdin_line
from vault.store import Store
from vault.text import capitalised, escaped, visible_line
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


def _source(args: argparse.Namespace) -> PassphraseSource:
    return PassphraseSource.from_args(args)


@contextmanager
def opened(args: argparse.Namespace) -> Iterator[Store]:
    """The unlocked vault named by the arguments, closed afterwards."""
    store = open_vault(resolve_folder(args.vault), _source(args))
    try:
        yield store
    finally:
        store.close()


def ask_new_passphrase(from_stdin: bool, allow_weak: bool, what: str = "New passphrase") -> str:
    """A new passphrase: the next stdin line in scripts, else typed twice at the terminal.

    Either way it is checked (``check_new_passphrase``) before anything changes.
    """
    if from_stdin or not sys.stdin.isatty():
        line = read_stdin_line(what.lower())
        if line is None:
            raise VaultLocked(f"{what.lower()} expected on standard input")
        return check_new_passphrase(line, allow_weak=allow_weak)
    import getpass  # only a terminal's prompt needs it, not a script's read

    first = check_new_passphrase(getpass.getpass(f"{what}: "), allow_weak=allow_weak)
    if getpass.getpass(f"{what} again: ") != first:
        raise UsageError("the two passphrases differ; nothing was changed")
    return first


def cmd_init(args: argparse.Namespace) -> int:
    folder = resolve_folder(args.vault)
    passphrase = _source(args).non_interactive()
    if passphrase is None:
        passphrase = ask_new_passphrase(
            False, args.allow_weak_passphrase, "Passphrase for the new vault"
        )
    store, code = create_vault(folder, passphrase, allow_weak=args.allow_weak_passphrase)
    store.close()
    print(f"Created a vault at {folder}")
    print()
    print("Your recovery code (shown only this once; write it down and keep it safe):")
    print()
    print(f"    {code}")
    print()
    print("With it, `kluis recover` sets a new passphrase if you forget yours.")
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from cli.sync import sync_imap

    return sync_imap(args)


def cmd_account(args: argparse.Namespace) -> int:
    from cli.accounts import cmd_account as run_account

    return run_account(args)


# Commands kept in modules of their own load them only when they run: a scripted
# `kluis search` should not pay for the import's, the money's or the quarantine's code.
def cmd_import(args: argparse.Namespace) -> int:
    from cli.importing import cmd_import as run_import

    return run_import(args)


def cmd_spending(args: argparse.Namespace) -> int:
    from cli.money import cmd_spending as run_spending

    return run_spending(args)


def cmd_contracts(args: argparse.Namespace) -> int:
    from cli.money import cmd_contracts as run_contracts

    return run_contracts(args)


def cmd_quarantine(args: argparse.Namespace) -> int:
    from cli.quarantine import cmd_quarantine as run_quarantine

    return run_quarantine(args)


def cmd_watch(args: argparse.Namespace) -> int:
    from cli.folder_watch import cmd_watch as watch_folder

    return watch_folder(args)


def cmd_companies(args: argparse.Namespace) -> int:
    page = Page.of(args)
    with opened(args) as store, store.reader() as conn:
        every = queries.list_companies(conn)
        zone = user_zone(conn, args.timezone)
    rows = list(page.cut(every))
    page.say_rest(len(rows), lambda: len(every))
    if args.json:
        print_json([row.to_json() for row in rows])
        return 0
    if not rows:
        print("The vault is empty. Import something with `kluis import PATH`.")
        return 0
    table(
        (
            [str(r.id), r.kind, str(r.interactions), short_time(r.last_at, zone)[:10], r.name]
            for r in rows
        ),
        ["ID", "KIND", "ITEMS", "LAST", "NAME"],
    )
    return 0


def cmd_timeline(args: argparse.Namespace) -> int:
    page = Page.of(args)
    with opened(args) as store, store.reader() as conn:
        zone = user_zone(conn, args.timezone)
        since = parse_user_date(args.since, zone=zone) if args.since else None
        until = parse_user_date(args.until, end_of_day=True, zone=zone) if args.until else None
        if since is not None and until is not None and since >= until:
            raise UsageError(
                f"--since {args.since} is after --until {args.until}: nothing is between"
            )
        company_id, name = queries.find_company(conn, args.company)
        scope = queries.TimelineFilter(company_id, args.channel, since, until)
        rows = page.cut(row.to_json() for row in queries.timeline_all(conn, scope))
        if not args.json:
            print(f"{visible_line(name)} — newest first")
        empty = "Nothing" + (" with these filters." if scope.narrowed else " yet.")
        shown = print_rows(rows, args.json, partial(timeline_lines, zone=zone), empty)
        page.say_rest(shown, lambda: queries.timeline_count(conn, scope))
    return 0


def print_rows(
    rows: Iterator[dict[str, Any]],
    as_json: bool,
    lines: Callable[[Iterable[dict[str, Any]]], None],
    empty: str | None = None,
) -> int:
    """Stream ``rows`` to stdout as a JSON list or through ``lines``; returns how many there
    were. Nothing is held but the row at hand, so ``--all`` of a long history stays small."""
    counted = _Counted(rows)
    if as_json:
        print_json_list(counted)
    else:
        lines(counted)
        if not counted.seen and empty:
            print(empty)
    return counted.seen


class _Counted(Iterator[dict[str, Any]]):
    """An iterator that counts what passes through it."""

    def __init__(self, rows: Iterator[dict[str, Any]]) -> None:
        self.rows = rows
        self.seen = 0

    def __next__(self) -> dict[str, Any]:
        row = next(self.rows)
        self.seen += 1
        return row


def cmd_show(args: argparse.Namespace) -> int:
    with opened(args) as store, store.reader() as conn:
        item = queries.show(conn, args.id)
        zone = user_zone(conn, args.timezone)
    if args.json:
        print_json(item)
    else:
        item_text(item, zone)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from vault.search import search_all, search_count

    page = Page.of(args)
    query = " ".join(args.query)
    with opened(args) as store, store.reader() as conn:
        zone = user_zone(conn, args.timezone)
        found = search_all(conn, query, company=args.company, channel=args.channel, zone=zone)
        lines = partial(timeline_lines, zone=zone)
        shown = print_rows(page.cut(found), args.json, lines, "Nothing found.")
        page.say_rest(
            shown,
            lambda: search_count(
                conn, query, company=args.company, channel=args.channel, zone=zone
            ),
        )
    return 0


def cmd_bookings(args: argparse.Namespace) -> int:
    page = Page.of(args)
    with opened(args) as store, store.reader() as conn:
        company_id = queries.find_company(conn, args.company)[0] if args.company else None
        every = queries.list_bookings(conn, company_id=company_id, upcoming=args.upcoming)
        zone = user_zone(conn, args.timezone)
        earlier = len(queries.list_bookings(conn, company_id=company_id)) if not every else 0
    rows = list(page.cut(every))
    page.say_rest(len(rows), lambda: len(every))
    if args.ics:
        from exports.ics import write_bookings_ics

        out = Path(args.ics).expanduser()
        written = write_bookings_ics(every, out)  # the file holds them all, not only the page
        print(f"Wrote {written} bookings to {escaped(str(out))}", file=sys.stderr)
    if args.json:
        print_json(rows)
    elif not rows and earlier:
        again = "kluis bookings" + (
            f" --company {shlex.quote(args.company)}" if args.company else ""
        )
        print(f"No upcoming bookings; {earlier:,} past or cancelled: `{again}`.")
    elif not rows:
        print("No bookings yet.")
    else:
        table(
            (
                [
                    booking_time(r["start"], zone),
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
    print(visible_line(capitalised(message), 1000) + ".")
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
    print(visible_line(capitalised(message), 1000) + ".")
    return 0


def cmd_people(args: argparse.Namespace) -> int:
    if args.people_action == "suggest":
        return show_suggestions(args, "person")
    if args.people_action in ("accept", "reject"):
        return decide_suggestion(args)
    from vault.people import list_people

    with opened(args) as store, store.reader() as conn:
        rows = list_people(conn)
        zone = user_zone(conn, args.timezone)
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
                short_time(r.last_at, zone)[:10],
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
    keyfile, dek = unlock_key(folder, PassphraseSource.from_args(args, allow_device=False))
    _set_new_passphrase(folder, keyfile, dek, args)
    print(
        "Passphrase changed; the old one no longer opens anything kluis keeps (backups made "
        "before keep theirs). The recovery code and remembered devices still work."
    )
    return 0


def _set_new_passphrase(
    folder: Path, keyfile: keymod.KeyFile, dek: bytes, args: argparse.Namespace
) -> None:
    """Ask for a new passphrase and re-wrap the data key under it (the database is untouched)."""
    allow_weak = args.allow_weak_passphrase
    new = ask_new_passphrase(args.passphrase_stdin, allow_weak)
    set_new_passphrase(folder, keyfile, dek, new, allow_weak=allow_weak)


def cmd_recover(args: argparse.Namespace) -> int:
    folder = resolve_folder(args.vault)
    keyfile = keymod.load_keys(folder)
    if sys.stdin.isatty() and not args.passphrase_stdin:
        import getpass

        code = getpass.getpass("Recovery code: ")
    else:
        code = (read_stdin_line("recovery code") or "").strip()
    dek = keymod.unwrap_with_recovery_code(keyfile, code)
    _set_new_passphrase(folder, keyfile, dek, args)
    print(
        "New passphrase set; the old one no longer opens anything kluis keeps. Your recovery "
        "code stays the same."
    )
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

    if args.salvage:
        return _salvage(args, Path(args.salvage).expanduser())
    report = run_checks(resolve_folder(args.vault), _source(args))
    if args.json:
        print_json(report.to_json())
    else:
        report.print()
    return report.exit_code


def _salvage(args: argparse.Namespace, out: Path) -> int:
    """``kluis doctor --salvage DIR``: the full export's writer, fed by a reader that skips
    the rows a damaged vault cannot give."""
    from exports.full import export_all
    from vault.doctor import after_salvage
    from vault.errors import VaultDamaged
    from vault.salvage import SalvageReader, id_ranges

    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} is not an empty folder; salvage into a new one")
    folder = resolve_folder(args.vault)
    _, dek = unlock_key(folder, _source(args))
    with SalvageReader(folder, dek) as reader:
        summary = export_all(reader, out)
        lost = {table: spans for table, spans in reader.unreadable.items() if spans}
    result = {
        "folder": str(out),
        "rows": summary.rows,
        "files": summary.files,
        "unreadable_ids": {table: [list(span) for span in spans] for table, spans in lost.items()},
        "unreadable_files": summary.unreadable_files,
    }
    if args.json:
        print_json(result)
    else:
        print(
            f"Saved {sum(summary.rows.values()):,} rows ({len(summary.rows)} tables) and "
            f"{summary.files:,} files into {out} (unencrypted: keep it safe)."
        )
        for table, spans in lost.items():
            print(f"Not readable: {table} ids {id_ranges(spans, shown=8)}")
        if summary.unreadable_files:
            print(f"Not readable: {summary.unreadable_files:,} files")
        if lost or summary.unreadable_files:
            print(after_salvage(str(out)))
    return VaultDamaged.exit_code if lost or summary.unreadable_files else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from cli.launch import run_demo

    return run_demo(args)


def cmd_tui(args: argparse.Namespace) -> int:
    from cli.launch import launch_app

    return launch_app(args)


def cmd_config(args: argparse.Namespace) -> int:
    from vault.clock import choose_zone, chosen_zone_name

    if args.value is not None and args.unset:
        raise UsageError("give a value or --unset, not both")
    if args.setting is None:
        if args.value is not None or args.unset:
            raise UsageError("name the setting first, e.g. `kluis config timezone --unset`")
        with opened(args) as store, store.reader() as conn:
            name = chosen_zone_name(conn)
        print(f"timezone  {name or 'this machine’s (not set)'}")
        return 0
    if args.value is None and not args.unset:
        with opened(args) as store, store.reader() as conn:
            name = chosen_zone_name(conn)
        print(name or "not set: times are shown in this machine’s zone")
        return 0
    with opened(args) as store:
        choose_zone(store, None if args.unset else args.value)
    if args.unset:
        print("Times are shown in this machine’s zone again.")
    else:
        print(
            f"Times are shown in {escaped(args.value)} from now on, in the app and every command."
        )
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "init": cmd_init,
    "import": cmd_import,
    "sync": cmd_sync,
    "account": cmd_account,
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
    "config": cmd_config,
    "spending": cmd_spending,
    "contracts": cmd_contracts,
    "demo": cmd_demo,
    "tui": cmd_tui,
    "quarantine": cmd_quarantine,
    "watch": cmd_watch,
}


COMMANDS.update(SHARE_COMMANDS)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the command (the app when none is given)."""
    return COMMANDS[args.command or "tui"](args)
