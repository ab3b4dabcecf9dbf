"""``kluis quarantine``: what imports could not read, with the reason; ``show``, ``save`` and
``retry`` (after an upgrade) one item or all. The work is ``vault.quarantine``'s."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from cli.exits import PARTIAL
from cli.options import add_me, keep_parent_values
from cli.paging import Page, add_paging
from vault.text import visible, visible_line


def cmd_quarantine(args: argparse.Namespace) -> int:
    """Dispatch ``kluis quarantine [show|save|retry]``."""
    action = args.quarantine_action
    if action == "show":
        return _show(args)
    if action == "save":
        return _save(args)
    if action == "retry":
        return _retry(args)
    return _list(args)


def _list(args: argparse.Namespace) -> int:
    from cli.commands import opened
    from cli.render import print_json, short_time, table
    from vault import quarantine
    from vault.clock import user_zone

    page = Page.of(args)
    with opened(args) as store, store.read() as conn:
        every = quarantine.entries(conn)
        zone = user_zone(conn)
    rows = list(page.cut(every))
    page.say_rest(len(rows), lambda: len(every))
    if args.json:
        print_json([row.to_json() for row in rows])
    elif not every:
        print("Nothing in quarantine: every item imported so far was read.")
    else:
        table(
            (
                [str(r.id), short_time(r.at, zone), f"{r.size:,}", r.ref or r.source, r.reason]
                for r in rows
            ),
            ["ID", "WHEN", "BYTES", "ITEM", "REASON"],
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    from cli.commands import opened
    from cli.render import print_json
    from vault import quarantine

    with opened(args) as store, store.read() as conn:
        entry = quarantine.entries(conn, [args.id])[0]
        raw = quarantine.raw_bytes(conn, args.id)
    if args.json:
        print_json(entry.to_json())
        return 0
    for label, value in (
        ("Item", entry.id),
        ("Source", entry.source),
        ("Where", entry.ref),
        ("Format", entry.format or "—"),
        ("When", entry.at),
        ("Bytes", f"{entry.size:,}"),
        ("Reason", entry.reason),
    ):
        print(f"{label + ':':<8}{visible_line(str(value), 1000)}")
    if raw:
        head = raw[:SHOWN_BYTES].decode("utf-8", "replace")
        print("\n" + visible(head).rstrip())
        if len(raw) > SHOWN_BYTES:
            rest = len(raw) - SHOWN_BYTES
            print(f"\n… {rest:,} more bytes: `kluis quarantine save {entry.id} DIR`")
    return 0


SHOWN_BYTES = 4000
"""How much of a quarantined item ``show`` prints (``save`` writes it all)."""


def _save(args: argparse.Namespace) -> int:
    from cli.commands import opened
    from vault import quarantine

    with opened(args) as store, store.read() as conn:
        target = quarantine.save(conn, args.id, Path(args.folder).expanduser())
    print(f"Saved quarantined item {args.id} to {visible_line(str(target), 1000)} (unencrypted)")
    return 0


def _retry(args: argparse.Namespace) -> int:
    import importers
    from cli.commands import opened
    from cli.importing import import_options, to_stderr
    from cli.render import print_json
    from vault import quarantine

    with opened(args) as store:
        done = quarantine.retry(
            store, importers, args.ids, options=import_options(store, args), notice=to_stderr
        )
    if args.json:
        print_json(done.to_json())
    else:
        print(f"{len(done.stored):,} read and stored now, {len(done.kept):,} still in quarantine")
        for item_id, reason in done.kept:
            print(f"  {item_id}: {visible_line(reason, 300)}")
    return PARTIAL if done.kept else 0


def add_commands(
    command: Callable[[str, str], argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register ``kluis quarantine`` and its actions.

    Args:
        command: makes a top-level command's parser from its name and help.
        common: the parent parser with the global options (``--vault`` …).
    """
    p = command("quarantine", "items that imports could not read, with the reason")
    add_paging(p, default=None)
    p.add_argument("--json", action="store_true", help="print JSON (stable field names)")
    actions = p.add_subparsers(
        dest="quarantine_action", metavar="ACTION", parser_class=type(common)
    )

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(
            name, help=help_text, description=help_text, parents=[common]
        )
        return parser

    a = action("show", "one quarantined item: where from, why, and the start of its bytes")
    a.add_argument("id", type=int, metavar="N", help="the item's id (see `kluis quarantine`)")
    a.add_argument("--json", action="store_true", help="print JSON (stable field names)")
    keep_parent_values(a, p)
    a = action("save", "write an item's raw bytes to a new 0600 file in DIR (never replaces)")
    a.add_argument("id", type=int, metavar="N", help="the item's id (see `kluis quarantine`)")
    a.add_argument("folder", metavar="DIR", help="the folder (made, private, if it is new)")
    a = action("retry", "read items again with this version of kluis (after an upgrade)")
    a.add_argument("ids", type=int, nargs="*", metavar="N", help="these items (default: all)")
    add_me(a, "the profile's")
    a.add_argument("--timezone", metavar="ZONE", help="zone of items without one")
    a.add_argument("--json", action="store_true", help="print JSON: stored ids, kept reasons")
    keep_parent_values(a, p)
