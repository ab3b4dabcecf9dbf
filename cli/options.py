"""Options several commands share, defined once: who "me" is, and how to reach a mail server."""

from __future__ import annotations

import argparse

SECURITY = (
    ("--tls", "tls", "TLS from the start (the default)"),
    (
        "--starttls",
        "starttls",
        "a plain connection upgraded with STARTTLS (port 143); refused if the server lacks it",
    ),
    ("--plain", "plain", "no encryption: only to a loopback address"),
)


def add_me(parser: argparse.ArgumentParser, default: str = "") -> None:
    """``--me NAME_OR_ADDRESS`` (repeatable); ``default`` says what it is without one."""
    parser.add_argument(
        "--me",
        action="append",
        default=[],
        metavar="NAME_OR_ADDRESS",
        help="you, as a name or mail address (repeatable"
        + (f"; default: {default})" if default else ")"),
    )


def add_security(parser: argparse.ArgumentParser) -> None:
    """``--tls``, ``--starttls`` or ``--plain``, into ``args.security``."""
    security = parser.add_mutually_exclusive_group()
    for flag, value, meaning in SECURITY:
        security.add_argument(
            flag, dest="security", action="store_const", const=value, help=meaning
        )


def keep_parent_values(sub: argparse.ArgumentParser, parent: argparse.ArgumentParser) -> None:
    """Options ``sub`` shares with ``parent`` keep what was given before ``sub``'s name.

    argparse copies every value of a subcommand's namespace over its parent's, defaults too,
    so without this ``kluis sync --watch imap`` would lose ``--watch``. An option given after
    the subcommand's name still wins.
    """
    shared = {action.dest for action in parent._actions if action.dest != "help"}
    for action in sub._actions:
        if action.dest in shared:
            action.default = argparse.SUPPRESS
