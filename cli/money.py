"""What you pay each company: ``kluis spending``, ``kluis contracts`` (and a contract's end and
its cancellation letter)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from cli.render import print_json, table
from vault.contracts import PERIOD_WORDS, money
from vault.errors import UsageError
from vault.text import escaped, visible_line


def _day(value: str | None, end_of_day: bool = False) -> date | None:
    """The day the user typed (``2024-03-01``; ``2024-03`` as its first or, with
    ``end_of_day``, its last day): read and turned back into a day in the same zone, so no
    machine's own offset moves it to the day before."""
    from vault.timefmt import parse_user_date

    if not value:
        return None
    seconds = parse_user_date(value, end_of_day=end_of_day, zone=UTC)
    return datetime.fromtimestamp(seconds - (1 if end_of_day else 0), UTC).date()


def cmd_spending(args: argparse.Namespace) -> int:
    """``kluis spending``."""
    from cli.commands import opened
    from vault.clock import user_zone
    from vault.spending import spending

    with opened(args) as store, store.reader() as conn:
        zone = user_zone(conn, args.timezone)
        rows = spending(conn, zone, args.by, _day(args.since), _day(args.until, True))
    if args.json:
        print_json([row.to_json() for row in rows])
        return 0
    if not rows:
        print("No amounts yet: import a bank statement (CAMT.053, MT940, OFX or your bank's CSV).")
        return 0
    first = args.by.upper()
    table(
        (
            [
                r.key if args.by != "company" else str(r.company_id),
                money(r.total, r.currency),
                f"{r.count:,}",
                f"{r.first} – {r.last}",
                r.source + (f", {r.guessed} guessed" if r.guessed else ""),
                visible_line(r.company or "", 80),
            ]
            for r in rows
        ),
        [
            "ID" if args.by == "company" else first,
            "TOTAL",
            "ITEMS",
            "FROM – TO",
            "SOURCE",
            "COMPANY" if args.by == "company" else "",
        ],
    )
    return 0


def cmd_contracts(args: argparse.Namespace) -> int:
    """``kluis contracts [end|letter]``."""
    if args.contract_action == "end":
        return _end(args)
    if args.contract_action == "letter":
        return _letter(args)
    from cli.commands import opened
    from vault.clock import user_zone
    from vault.spending import contracts

    with opened(args) as store, store.reader() as conn:
        found = contracts(conn, user_zone(conn, args.timezone))
    if args.json:
        print_json([c.to_json() for c in found])
        return 0
    if not found:
        print("No contracts found: import a year of bank statements to find them.")
        return 0
    table(
        (
            [
                str(c.company_id),
                money(c.amount, c.currency) + " " + PERIOD_WORDS[c.period],
                money(c.yearly, c.currency),
                c.since.isoformat(),
                c.status + (f", next {c.next}" if c.next else f", last {c.last}"),
                visible_line(c.company, 60)
                + "".join(f"  ({ch.day:%b %Y}: {ch.old} → {ch.new})" for ch in c.changes),
            ]
            for c in found
        ),
        ["ID", "AMOUNT", "A YEAR", "SINCE", "STATUS", "COMPANY"],
    )
    return 0


def _end(args: argparse.Namespace) -> int:
    from cli.commands import opened
    from vault.contracts_notes import clear_note, set_note
    from vault.queries import find_company

    if not args.clear and args.on is None and args.notice is None:
        raise UsageError(
            "say --on DATE, --notice DAYS or --clear (see `kluis contracts end --help`)"
        )
    ends = _day(args.on)
    with opened(args) as store, store.begin() as conn:
        company_id, name = find_company(conn, args.company)
        if args.clear:
            clear_note(conn, company_id)
            print(f"Forgot what you said of the contract with {visible_line(name)}.")
            return 0
        set_note(conn, company_id, ends, args.notice)
    said = [f"ends on {ends}" if ends else "", f"{args.notice} days' notice" if args.notice else ""]
    print(f"The contract with {visible_line(name)}: {', '.join(filter(None, said))}.")
    return 0


def _letter(args: argparse.Namespace) -> int:
    from cli.commands import opened
    from exports.cancellation import cancellation_letter
    from exports.sharing import check_target, signer_lines
    from vault.clock import user_zone
    from vault.contracts_notes import note_of
    from vault.fsutil import write_atomically
    from vault.profile import load_profile
    from vault.queries import find_company
    from vault.spending import contracts

    out = Path(args.out).expanduser() if args.out else None
    if out is not None:
        check_target(out, args.force)
    today = date.today()
    with opened(args) as store, store.read() as conn:
        company_id, name = find_company(conn, args.company)
        mine = [
            c for c in contracts(conn, user_zone(conn, args.timezone)) if c.company_id == company_id
        ]
        if not mine:
            raise UsageError(
                f"no contract with {name} in your payments (`kluis contracts` lists them)"
            )
        contract = mine[0]
        note = note_of(conn, company_id)
        signer, unsigned = signer_lines(conn)
        details = [
            (p.key, p.key.capitalize(), p.value)
            for p in load_profile(conn)
            if p.key in ("name", "email", "phone")
        ]
    end = _day(args.on) or (note.ends_on if note and note.ends_on else None)
    if end is None:
        from datetime import timedelta

        end = today + timedelta(days=note.notice_days if note and note.notice_days else 30)
    letter = cancellation_letter(
        args.lang,
        company=name,
        since=contract.since,
        amount=contract.amount,
        currency=contract.currency,
        period=contract.period,
        mandate=contract.mandate,
        end=end,
        today=today,
        details=details,
        signer=signer,
    )
    if unsigned:
        print(
            f"kluis: note: the letter is signed without your {', '.join(unsigned)} "
            f"(`kluis profile set {unsigned[0]} …`)",
            file=sys.stderr,
        )
    if out is None:
        sys.stdout.write(letter.text())
        return 0
    write_atomically(out, letter.text().encode())
    print(f"Wrote {escaped(str(out))}: cancels the contract with {visible_line(name)} on {end}.")
    return 0
