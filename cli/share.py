"""The "customer decides" commands: profile, share, disclosures, revoke, knows, gdpr, consent,
export, backup and restore (DESIGN, "CLI contract").

``add_commands`` hangs their parsers on the top-level subparsers and ``COMMANDS`` maps each
name to its function. Everything heavy (exports, phonenumbers, schwifty, pyzipper) is
imported inside the functions, so ``kluis --help`` and ``import vault`` stay light.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault.errors import UsageError
from vault.text import visible_line

if TYPE_CHECKING:
    from exports.sharing import LetterResult
    from vault.leftovers import Swept
    from vault.store import Store

HISTORY_HELP = (
    "none (default), bookings, payments (what you paid or got back, with amounts), all, "
    "or since:YYYY-MM-DD"
)


def _keys(values: list[str]) -> list[str]:
    """``--fields a,b --fields c`` → [a, b, c]."""
    return [key.strip() for value in values for key in value.split(",") if key.strip()]


@contextmanager
def _opened(args: argparse.Namespace) -> Iterator[Store]:
    from cli.commands import opened

    with opened(args) as store:
        yield store


def _print_json(data: Any) -> None:
    from cli.render import print_json

    print_json(data)


def _view(
    args: argparse.Namespace,
    rows: list[dict[str, Any]],
    empty: str,
    headers: list[str],
    cells: Callable[[dict[str, Any]], list[str]],
) -> int:
    """A list view: JSON with ``--json``, else a table (or ``empty`` when there is nothing)."""
    from cli.render import table

    if args.json:
        _print_json(rows)
    elif not rows:
        print(empty)
    else:
        table([cells(row) for row in rows], headers)
    return 0


# --- profile ----------------------------------------------------------------------------------


def cmd_profile(args: argparse.Namespace) -> int:
    """``kluis profile set|unset|show`` (``kluis profile`` alone shows it)."""
    from vault import profile

    if args.profile_action in (None, "show"):
        with _opened(args) as store, store.read() as conn:
            values = profile.load_profile(conn)
        if args.json:
            _print_json([v.to_json() for v in values])
        elif not values:
            print("Your profile is empty. Add to it with `kluis profile set KEY VALUE`.")
        else:
            from cli.render import table

            table(
                (
                    [v.key, v.category, v.sensitivity, v.value if args.reveal else profile.mask(v)]
                    for v in values
                ),
                ["KEY", "CATEGORY", "SENSITIVITY", "VALUE"],
            )
        return 0
    profile.spec_for(args.key)  # an unknown key is a usage error before any unlocking
    if args.profile_action == "set" and (args.value is None) == (not args.stdin):
        raise UsageError("give the value, or --stdin to read it from standard input")
    with _opened(args) as store:
        value = args.value
        if args.profile_action == "set" and args.stdin:
            # Read after unlocking: with --passphrase-stdin the passphrase is the first line.
            value = sys.stdin.readline().rstrip("\r\n")
        with store.begin() as conn:
            if args.profile_action == "set":
                stored = profile.set_value(conn, args.key, value, region=args.region)
                spec = profile.spec_for(args.key)
                hidden = args.stdin and spec.sensitivity == "sensitive"
                print(f"Set {args.key} = {'(hidden)' if hidden else stored}")
            else:
                removed = profile.unset_value(conn, args.key, value, region=args.region)
                print(f"Removed {removed} value{'s' if removed != 1 else ''} of {args.key}")
    return 0


# --- share, disclosures, revoke, knows ---------------------------------------------------------


def cmd_share(args: argparse.Namespace) -> int:
    """``kluis share COMPANY --fields … --out PATH``."""
    from exports.share import ShareRequest, check_request
    from exports.sharing import share_package

    request = ShareRequest(
        company=args.company,
        keys=_keys(args.fields),
        history=args.history,
        purpose=args.purpose,
        expires=args.expires,
        format=args.format,
        out=Path(args.out).expanduser(),
        encrypt=args.encrypt,
        force=args.force,
    )
    check_request(request)
    with _opened(args) as store:
        result = share_package(store, request)
    if args.json:
        _print_json(
            {
                "disclosure_id": result.disclosure_id,
                "company": result.company,
                "path": str(result.path),
                "sha256": result.sha256,
                "fields": result.fields,
                "interactions": result.items,
                "bookings": result.bookings,
                "password": result.password,
            }
        )
        return 0
    print(
        f"Wrote {result.path} for {visible_line(result.company)}: {', '.join(result.fields)}"
        + (f", {result.items} items" if result.items else "")
        + (f", {result.bookings} bookings" if result.bookings else "")
        + f" (disclosure {result.disclosure_id}; `kluis revoke {result.disclosure_id}` "
        "takes it back)"
    )
    if result.password:
        print()
        print("Password of the zip (shown only this once; send it another way than the file):")
        print()
        print(f"    {result.password}")
    return 0


def cmd_disclosures(args: argparse.Namespace) -> int:
    """``kluis disclosures [COMPANY]``."""
    from vault.ledger import list_disclosures
    from vault.queries import find_company

    with _opened(args) as store, store.read() as conn:
        company_id, name = find_company(conn, args.company) if args.company else (None, "")
        rows = list_disclosures(conn, company_id)
    shared = f" with {visible_line(name)}" if name else ""
    return _view(
        args,
        rows,
        f"Nothing shared{shared} yet. `kluis share COMPANY --fields …` writes a package.",
        ["ID", "SHARED", "STATUS", "EXPIRES", "COMPANY", "FIELDS — PURPOSE"],
        lambda r: [
            str(r["id"]),
            r["shared_at"][:10],
            r["status"].upper() if r["status"] != "active" else "active",
            (r["expires_at"] or "—")[:10],
            r["company"],
            ", ".join(sorted(r["fields"])) + f" — {r['purpose'] or ''}",
        ],
    )


def _letter_target(args: argparse.Namespace) -> Path | None:
    """The letter's file (None: standard output), refused early if it exists without --force."""
    from exports.sharing import check_target

    if args.out is None:
        return None
    out = Path(args.out).expanduser()
    check_target(out, args.force)
    return out


def _note_unsigned(result: LetterResult) -> None:
    """Say on stderr what the letter's signature lacks, and how to add it."""
    if result.unsigned:
        missing = ", ".join(result.unsigned)
        print(
            f"kluis: note: the letter is signed without your {missing}: your profile has none "
            f"(`kluis profile set {result.unsigned[0]} …`, then write the letter again)",
            file=sys.stderr,
        )


def cmd_revoke(args: argparse.Namespace) -> int:
    """``kluis revoke ID``: mark the disclosure revoked and write the Art. 17 letter."""
    from exports.sharing import revoke

    out = _letter_target(args)
    with _opened(args) as store:
        result = revoke(
            store,
            args.id,
            language=args.lang,
            keys=_keys(args.fields),
            out=out,
            fmt=args.format,
            force=args.force,
        )
    if out is None:
        sys.stdout.write(result.body)
    _note_unsigned(result)
    message = (
        f"Revoked disclosure {args.id} to {visible_line(result.company)}; erasure request "
        f"{result.request_id} is due within a month (`kluis gdpr status`)."
    )
    if out is not None:
        print(f"{message} Letter: {out}")
    else:
        print(message, file=sys.stderr)
    return 0


def cmd_knows(args: argparse.Namespace) -> int:
    """``kluis knows COMPANY``: what it has about me, with evidence."""
    from vault.ledger import knows
    from vault.queries import find_company

    with _opened(args) as store, store.read() as conn:
        company_id, name = find_company(conn, args.company)
        rows = knows(conn, company_id)
    if args.json:
        _print_json(rows)
        return 0
    name = visible_line(name)
    if not rows:
        print(f"No evidence that {name} has any of your profile fields.")
        return 0
    print(f"{name} has {len(rows)} of your profile values:")
    for row in rows:
        print(f"\n  {row['key']}: {visible_line(row['value'])}  ({row['sensitivity']})")
        for evidence in row["evidence"]:
            where = (
                f"disclosure {evidence['disclosure_id']}"
                if evidence["disclosure_id"]
                else f"item {evidence['interaction_id']}"
                if evidence["interaction_id"]
                else f"booking {evidence.get('booking_id')}"
            )
            print(f"    {(evidence['at'] or '')[:10]}  {where}: {visible_line(evidence['how'])}")
            if evidence["excerpt"]:
                print(f"        “{visible_line(evidence['excerpt'])}”")
        if row["evidence_count"] > len(row["evidence"]):
            print(f"    … and {row['evidence_count'] - len(row['evidence'])} more")
    return 0


# --- gdpr, consent ----------------------------------------------------------------------------


def cmd_gdpr(args: argparse.Namespace) -> int:
    """``kluis gdpr request|status|answered``."""
    from vault.ledger import gdpr_status, mark_answered
    from vault.timefmt import now_utc

    if args.gdpr_action == "request":
        from exports.sharing import request_letter

        out = _letter_target(args)
        with _opened(args) as store:
            result = request_letter(
                store,
                args.company,
                args.type,
                language=args.lang,
                keys=_keys(args.fields),
                out=out,
                fmt=args.format,
                force=args.force,
            )
        _note_unsigned(result)
        print(
            f"Wrote {out}: {args.type} request {result.request_id} to "
            f"{visible_line(result.company)}, "
            "due within a month."
        )
        return 0
    if args.gdpr_action == "answered":
        when = now_utc()
        if args.date:
            from vault.timefmt import parse_user_date

            when = datetime.fromtimestamp(parse_user_date(args.date), UTC)
        with _opened(args) as store, store.begin() as conn:
            mark_answered(conn, args.id, when)
        print(f"Request {args.id} marked answered.")
        return 0
    with _opened(args) as store, store.read() as conn:
        rows = gdpr_status(conn)
    return _view(
        args,
        rows,
        "No GDPR requests yet. `kluis gdpr request COMPANY --type access --out FILE`.",
        ["ID", "SENT", "DUE", "STATUS", "COMPANY", "REQUEST"],
        lambda r: [
            str(r["id"]),
            r["sent_at"][:10],
            r["due_at"],
            r["status"].upper() if r["status"] == "overdue" else r["status"],
            r["company"],
            f"{r['type']} ({r['article']})",
        ],
    )


def cmd_consent(args: argparse.Namespace) -> int:
    """``kluis consent``: who mails me marketing (and where to unsubscribe), which accounts are
    dormant."""
    import io

    from cli.render import table
    from vault.ledger import consent_view, unsubscribe_link

    with _opened(args) as store, store.read() as conn:
        rows = consent_view(conn)
    if args.json or not rows:
        return _view(args, rows, "No companies yet.", [], lambda r: [])
    drawn = io.StringIO()
    table(
        [
            [
                "yes" if r["marketing"] else "no",
                f"{r['per_month']:.1f}",
                (r["last_contact_at"] or "never")[:10],
                (r["last_service_at"] or "never")[:10],
                "DORMANT" if r["dormant"] else "",
                r["company"] + (f" — {r['suggestion']}" if r["suggestion"] else ""),
            ]
            for r in rows
        ],
        ["MARKETING", "PER MONTH", "YOU LAST", "SERVICE LAST", "", "COMPANY"],
        drawn,
    )
    header, *lines = drawn.getvalue().splitlines()
    print(header)
    for row, line in zip(rows, lines, strict=True):
        print(line)
        link = unsubscribe_link(row["unsubscribe"]) if row["marketing"] else None
        if link:
            print(f"    unsubscribe: {visible_line(link, 200)}")
    return 0


# --- export, backup, restore ------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    """``kluis export --out DIR``."""
    from exports.full import check_folder, export_all

    folder = Path(args.out).expanduser()
    check_folder(folder)  # before unlocking
    with _opened(args) as store, store.read() as conn:
        summary = export_all(conn, folder)
    rows = sum(summary.rows.values())
    print(f"Exported {rows:,} rows in {len(summary.rows)} tables and {summary.files:,} files to")
    print(f"{folder} (unencrypted: keep it safe; README.md explains the files)")
    _say_swept(summary.swept, "exports")
    return 0


def _say_swept(swept: Swept, what: str) -> None:
    if swept.count:
        print(f"Removed {swept} that interrupted {what} had left there.")


def cmd_backup(args: argparse.Namespace) -> int:
    """``kluis backup --out FILE``."""
    from vault.backup import create_backup
    from vault.fsutil import check_output
    from vault.unlock import PassphraseSource, resolve_folder, unlock_key

    out = Path(args.out).expanduser()
    check_output(out, force=args.force)  # before the passphrase is asked
    folder = resolve_folder(args.vault)
    keyfile, dek = unlock_key(folder, PassphraseSource.from_args(args))
    summary = create_backup(folder, keyfile, dek, out, force=args.force)
    print(
        f"Backup written to {summary.path} ({summary.size / 1e6:.1f} MB, sha256 "
        f"{summary.sha256[:16]}…). It opens with this vault's passphrase."
    )
    _say_swept(summary.swept, "backups")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """``kluis restore FILE [--vault DIR]``: never over an existing vault."""
    from vault.backup import restore_backup
    from vault.unlock import PassphraseSource, resolve_folder

    target = resolve_folder(args.vault)
    source = PassphraseSource.from_args(args, allow_device=False)
    vault_id = restore_backup(Path(args.file).expanduser(), target, source)
    print(f"Restored vault {vault_id[:8]}… to {target}. Open it with its passphrase.")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "profile": cmd_profile,
    "share": cmd_share,
    "disclosures": cmd_disclosures,
    "revoke": cmd_revoke,
    "knows": cmd_knows,
    "gdpr": cmd_gdpr,
    "consent": cmd_consent,
    "export": cmd_export,
    "backup": cmd_backup,
    "restore": cmd_restore,
}


# --- parsers ----------------------------------------------------------------------------------


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (stable field names)")


def _letter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=("en", "nl"), default="en", help="letter language")
    parser.add_argument(
        "--format", choices=("text", "html"), help="default: html for .html/.htm, else text"
    )
    parser.add_argument("--force", action="store_true", help="replace an existing file")


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register this module's commands on the top-level subparsers ``commands``.

    Args:
        commands: what ``ArgumentParser.add_subparsers`` returned for the top level.
        common: the parent parser with the global options (``--vault`` …).
    """
    parser_class = type(common)  # OneLineParser, without importing cli.main (a cycle)

    def command(name: str, help_text: str, under: Any = None) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = (under or commands).add_parser(
            name, help=help_text, description=help_text, parents=[common]
        )
        return parser

    p = command("profile", "your own profile: what you may share (alone: show it)")
    p.set_defaults(reveal=False, json=False)  # `kluis profile` alone is `kluis profile show`
    actions = p.add_subparsers(dest="profile_action", metavar="ACTION", parser_class=parser_class)
    a = command("set", "set a field (several values for email, phone, iban)", actions)
    a.add_argument("key", metavar="KEY", help="name, email, phone, address.home, iban, …")
    a.add_argument("value", metavar="VALUE", nargs="?", help="the value (or --stdin)")
    a.add_argument(
        "--stdin",
        action="store_true",
        help="read the value from standard input (keeps passport or IBAN out of shell history)",
    )
    a.add_argument("--region", default="NL", help="country of national phone numbers")
    a = command("unset", "remove a field (or one of its values)", actions)
    a.add_argument("key", metavar="KEY", help="the field (see `kluis profile show`)")
    a.add_argument("value", metavar="VALUE", nargs="?", help="only this value (default: all)")
    a.add_argument("--region", default="NL", help="country of a national phone number")
    a = command("show", "show the profile", actions)
    a.add_argument("--reveal", action="store_true", help="show sensitive values in full")
    _json(a)

    p = command("share", "write a package of chosen fields for a company, with a receipt")
    p.add_argument("company", metavar="COMPANY", help="id or name")
    p.add_argument(
        "--fields", action="append", required=True, metavar="K1,K2", help="profile keys to share"
    )
    p.add_argument("--history", default="none", metavar="SCOPE", help=HISTORY_HELP)
    p.add_argument("--purpose", required=True, metavar="TEXT", help="why you share (specific)")
    p.add_argument("--expires", metavar="DATE", help="consent ends after this day")
    p.add_argument(
        "--format",
        choices=("zip", "vcard", "jsonld", "html"),
        default="zip",
        help="zip (default: all of them with the receipt), vcard, jsonld or html",
    )
    p.add_argument("--out", required=True, metavar="PATH", help="the file to write")
    p.add_argument("--encrypt", action="store_true", help="AES-encrypted zip, password shown once")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    _json(p)

    p = command("disclosures", "what you shared with whom (expired shares flagged)")
    p.add_argument("company", metavar="COMPANY", nargs="?", help="only this company")
    _json(p)

    p = command("revoke", "revoke a disclosure and write the erasure request (Art. 17 GDPR)")
    p.add_argument("id", type=int, metavar="ID", help="disclosure id (see `kluis disclosures`)")
    p.add_argument("--out", metavar="PATH", help="letter file (default: standard output)")
    p.add_argument(
        "--fields", action="append", default=[], metavar="K1,K2", help="details to identify you"
    )
    _letter_options(p)

    p = command("knows", "what a company knows about you, with evidence")
    p.add_argument("company", metavar="COMPANY", help="id or name")
    _json(p)

    p = command("gdpr", "GDPR requests (access, erasure, rectification, portability)")
    actions = p.add_subparsers(
        dest="gdpr_action", metavar="ACTION", required=True, parser_class=parser_class
    )
    a = command("request", "write a request letter and track its deadline", actions)
    a.add_argument("company", metavar="COMPANY", help="id or name")
    a.add_argument(
        "--type",
        required=True,
        choices=("access", "erasure", "rectification", "portability"),
        help="the right you use: Art. 15, 17, 16 or 20 GDPR",
    )
    a.add_argument("--out", required=True, metavar="PATH", help="the letter file to write")
    a.add_argument(
        "--fields", action="append", default=[], metavar="K1,K2", help="details to identify you"
    )
    _letter_options(a)
    a = command("status", "requests with their one-month deadline", actions)
    _json(a)
    a = command("answered", "record that a request was answered", actions)
    a.add_argument("id", type=int, metavar="ID", help="request id (see `kluis gdpr status`)")
    a.add_argument("--date", metavar="DATE", help="when (default: today)")

    p = command("consent", "who mails you marketing, how often; dormant accounts")
    _json(p)

    p = command("export", "everything as JSON Lines and files, readable without kluis")
    p.add_argument("--out", required=True, metavar="DIR", help="a new or empty folder")

    p = command("backup", "the vault in one encrypted, integrity-checked file")
    p.add_argument("--out", required=True, metavar="FILE", help="the backup file to write")
    p.add_argument("--force", action="store_true", help="replace an existing file")

    p = command("restore", "restore a backup into a new vault folder (--vault DIR)")
    p.add_argument("file", metavar="FILE", help="a file `kluis backup` wrote")
