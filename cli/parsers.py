"""The parsers of the commands whose code lives in modules of their own (``kluis account``,
``spending``, ``contracts``, ``watch``): argparse and a few constants only, so ``kluis --help``
and the parsing of any command load none of those commands' code (OAuth's HTTP server, the
contracts' rules, the folder watcher)."""

from __future__ import annotations

import argparse
from typing import Any

from cli.options import add_me, add_security
from cli.watch import seconds
from vault.watching import SETTLE_SECONDS

INTERVAL_SECONDS = 2.0
"""Default seconds between two looks at a watched folder (``kluis watch``)."""


def add_money_commands(command: Any, add_json: Any, add_zone: Any) -> None:
    """The parsers of ``spending`` and ``contracts`` (``command(name, help)`` makes one)."""
    p = command(
        "spending", "what you paid each company (bank statements, else invoices and orders)"
    )
    p.epilog = (
        "Totals are outgoing-positive (a refund lowers them), one row per currency: amounts are "
        "never converted. A company's bank payments count where there are any, else the totals "
        "its invoices and order mails state (those read from words are counted as guessed)."
    )
    p.add_argument(
        "--by",
        choices=["company", "year", "month"],
        default="company",
        help="one row per company (the default), per year or per month",
    )
    p.add_argument("--since", metavar="DATE", help="from this day on (YYYY-MM-DD)")
    p.add_argument("--until", metavar="DATE", help="up to and including this day (YYYY-MM-DD)")
    add_zone(p)
    add_json(p)

    p = command("contracts", "subscriptions and contracts found in your payments")
    p.epilog = (
        "A contract is a company you pay a steady amount on a regular period (weekly, monthly, "
        "quarterly, yearly), price changes included; one whose payments stopped has ended."
    )
    actions = p.add_subparsers(dest="contract_action", metavar="ACTION")
    e = actions.add_parser("end", help="say when a contract ends (and its notice period)")
    e.add_argument("company", metavar="COMPANY", help="id or name")
    e.add_argument("--on", metavar="DATE", help="the day it ends (YYYY-MM-DD)")
    e.add_argument("--notice", type=int, metavar="DAYS", help="the notice period in days")
    e.add_argument("--clear", action="store_true", help="forget what you said of it")
    e = actions.add_parser("letter", help="write the letter that cancels a contract")
    e.add_argument("company", metavar="COMPANY", help="id or name")
    e.add_argument("--lang", choices=["en", "nl"], default="en", help="the letter's language")
    e.add_argument("--on", metavar="DATE", help="the end asked for (default: notice from today)")
    e.add_argument("--out", metavar="FILE", help="write the letter here (default: print it)")
    e.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    add_zone(p)
    add_json(p)


def add_watch_command(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register ``kluis watch DIR`` on the top-level subparsers ``commands``."""
    help_text = "import exports dropped into a folder (e.g. Downloads), once each, until stopped"
    p = commands.add_parser("watch", help=help_text, description=help_text, parents=[common])
    p.add_argument("folder", metavar="DIR", help="the folder to watch")
    p.add_argument(
        "--settle",
        type=seconds,
        default=SETTLE_SECONDS,
        metavar="SECONDS",
        help=f"a file counts as complete once unchanged this long (default {SETTLE_SECONDS:.0f})",
    )
    p.add_argument(
        "--interval",
        type=seconds,
        default=INTERVAL_SECONDS,
        metavar="SECONDS",
        help=f"how often to look (default {INTERVAL_SECONDS:.0f})",
    )
    add_me(p)
    p.add_argument("--timezone", metavar="ZONE", help="zone of sources without one")


def add_account_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register ``kluis account`` on the top-level subparsers ``commands``.

    Args:
        commands: what ``ArgumentParser.add_subparsers`` returned for the top level.
        common: the parent parser with the global options (``--vault`` …).
    """
    parser_class = type(common)  # OneLineParser, without importing cli.main (a cycle)
    text = "mail accounts: add (password or OAuth2 sign-in), list, test, remove"
    top = commands.add_parser("account", help=text, description=text, parents=[common])
    actions = top.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=parser_class
    )
    json_help = "print JSON (stable field names)"
    p = actions.add_parser(
        "list", help="the accounts and every address kluis talks to", parents=[common]
    )
    p.add_argument("--json", action="store_true", help=json_help)
    p = actions.add_parser(
        "test", help="log in to each account (or one) and out again", parents=[common]
    )
    p.add_argument("account", nargs="?", metavar="ACCOUNT", help="user@host:port or user")
    p.add_argument("--json", action="store_true", help=json_help)
    p = actions.add_parser(
        "remove", help="revoke the sign-in and forget it (the mail stays)", parents=[common]
    )
    p.add_argument("account", metavar="ACCOUNT", help="user@host:port or user")
    p = actions.add_parser(
        "add", help="add an account: sign in once, then `kluis sync`", parents=[common]
    )
    p.add_argument(
        "provider",
        choices=("gmail", "outlook", "oauth", "imap"),
        help="gmail, outlook (Outlook.com, Microsoft 365), oauth (another OAuth2 provider), "
        "imap (a password)",
    )
    p.add_argument("--user", required=True, help="the mail address or login name")
    p.add_argument("--host", help="IMAP server (gmail and outlook know theirs)")
    p.add_argument("--port", type=int, help="default 993 (TLS), 143 (STARTTLS or plain)")
    add_security(p)
    p.add_argument("--folder", action="append", default=[], metavar="F", help="only these")
    p.add_argument("--client-id", help="the OAuth2 app's client id (see the README)")
    p.add_argument("--issuer", metavar="URL", help="find the endpoints by OpenID discovery")
    p.add_argument("--authorize-url", metavar="URL", help="authorization endpoint (no --issuer)")
    p.add_argument("--token-url", metavar="URL", help="token endpoint (no --issuer)")
    p.add_argument("--device-url", metavar="URL", help="device authorization endpoint")
    p.add_argument("--revoke-url", metavar="URL", help="token revocation endpoint")
    p.add_argument("--scope", action="append", default=[], help="repeatable")
    p.add_argument(
        "--mechanism",
        choices=("xoauth2", "oauthbearer"),
        default="xoauth2",
        help="SASL mechanism for the token (default xoauth2)",
    )
    p.add_argument("--device", action="store_true", help="sign in on another device (a code)")
    p.add_argument(
        "--no-browser", action="store_true", help="only print the sign-in address, open nothing"
    )
