"""The ``kluis`` command line (DESIGN, "CLI contract").

Errors are one line on stderr with the exit status of ``cli.exits``, and a traceback only with
``--debug``. Heavy modules (importers, the TUI) load inside commands.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, get_args

from cli import exits
from cli.help import COMPLETION_SHELLS, add_examples, completion_script, top_epilog
from cli.options import add_me, add_security, keep_parent_values
from vault import __version__
from vault.channels import Channel
from vault.collector import collect_less_often
from vault.errors import UsageError, VaultError
from vault.lazy import lazily
from vault.text import escaped

FORMATS = (
    "auto",
    "mbox",
    "maildir",
    "eml",
    "emlx",
    "takeout",
    "messenger",
    "instagram",
    "whatsapp",
    "telegram",
    "ics",
    "pkpass",
    "html",
    "jsonld",
    "bcbp",
    "ticket",
    "sms",
    "msg",
    "folder",
)


COMMAND_PROG = "_command_prog"
"""The attribute where parsing notes which command's parser ran last (``kluis import``)."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is a single line on stderr (exit 2), as the contract says,
    and no option is ever guessed from its first letters: ``--pass secret`` must never be
    taken for ``--passphrase-file secret`` or ``--passphrase-command secret``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        self._adding = False
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        """argparse's. It makes a help formatter for every argument only to check its metavar,
        and a formatter measures the terminal (importing shutil: ≈ 3 ms of a scripted search):
        that one gets a fixed width. Help and usage are measured as before."""
        self._adding = True
        try:
            return super().add_argument(*args, **kwargs)
        finally:
            self._adding = False

    def _get_formatter(self) -> argparse.HelpFormatter:
        if self._adding:  # only its metavar check, which no width changes
            return argparse.RawDescriptionHelpFormatter(prog=self.prog, width=80)
        return super()._get_formatter()

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """argparse's, remembering the innermost command that parsed (for its own help)."""
        parsed, extras = super().parse_known_args(args, namespace)
        if not hasattr(parsed, COMMAND_PROG):  # an inner command's parser finishes first
            setattr(parsed, COMMAND_PROG, self.prog)
        return parsed, extras

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """argparse's, with an unknown argument blamed on the command it was given to."""
        parsed, extras = self.parse_known_args(args, namespace)
        prog = getattr(parsed, COMMAND_PROG, self.prog)
        delattr(parsed, COMMAND_PROG)
        if extras:
            options = [w for w in extras if w.startswith("-")]
            message = "unrecognized arguments" + (f": {' '.join(options)}" if options else "")
            raise UsageError(f"{message} (see `{prog} --help`)")
        return parsed

    def error(self, message: str) -> NoReturn:
        """Report a usage error in one line, pointing at this command's own help, without
        echoing unknown values (a mistyped ``--password secret`` must not print the secret)."""
        if message.startswith("unrecognized arguments:"):
            options = [w for w in message.split(":", 1)[1].split() if w.startswith("-")]
            message = "unrecognized arguments" + (f": {' '.join(options)}" if options else "")
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _global_options(*, top_level: bool) -> OneLineParser:
    # Subcommands accept the global options too; their defaults are SUPPRESS so that
    # `kluis --vault X companies` keeps X instead of the subparser's default.
    def default(value: object) -> object:
        return value if top_level else argparse.SUPPRESS

    parser = OneLineParser(add_help=False)
    parser.add_argument(
        "--vault",
        metavar="DIR",
        default=default(None),
        help="vault folder (default: $KLUIS_VAULT or the platform's data folder)",
    )
    parser.add_argument(
        "--passphrase-stdin",
        action="store_true",
        default=default(False),
        help="read the passphrase from the first line of standard input",
    )
    parser.add_argument(
        "--passphrase-file",
        metavar="FILE",
        default=default(None),
        help="read the passphrase from the first line of FILE (also $KLUIS_PASSPHRASE_FILE)",
    )
    parser.add_argument(
        "--passphrase-command",
        metavar="CMD",
        default=default(None),
        help="run CMD (no shell) and take the first line it prints as the passphrase",
    )
    parser.add_argument(
        "--debug", action="store_true", default=default(False), help="show tracebacks of errors"
    )
    return parser


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (stable field names)")


def _add_company(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--company", metavar="COMPANY", help="only this company (id or name)")


def _add_channel(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--channel",
        metavar="CHANNEL",
        help=f"only this channel: {', '.join(get_args(Channel))}",
    )


def _add_zone(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        help="show times in ZONE, e.g. Europe/Amsterdam or UTC "
        "(default: `kluis config timezone`, else this machine's)",
    )


def _add_no_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="while another import or sync writes to the vault, fail (exit 11) instead of waiting",
    )


READ_COMMANDS = ("companies", "timeline", "show", "search", "bookings")
"""The commands that only read the vault: what scripts run most, so each builds only its own
parser (``kluis search`` imports nothing the other commands need)."""

READ_LAZILY = ("inspect", "subprocess", "tempfile", "configparser", "traceback")
"""Modules a read command imports and never runs: dataclasses imports inspect (for a class
without a docstring), keyring and what it imports the others (its config file's parser is
needed only when no environment variable names the backend). A read command runs in one
thread, so it loads them lazily (``vault.lazy``). A second ``import`` of one loads it (Python
3.11 reads its ``__spec__``): keyring's jaraco.functools imports inspect again, for one."""

VALUE_OPTIONS = ("--vault", "--passphrase-file", "--passphrase-command")
"""The global options that take a value (the word after them is no command)."""


def _add_read_commands(
    command: Callable[[str, str], argparse.ArgumentParser], only: str | None = None
) -> None:
    """Register the read commands through ``command``: all of them, or only ``only``."""
    from cli.paging import add_paging  # not at import: see READ_LAZILY

    if only in (None, "companies"):
        p = command("companies", "list companies and people, most recent contact first")
        add_paging(p, default=None)
        _add_zone(p)
        _add_json(p)

    if only in (None, "timeline"):
        p = command("timeline", "one company's history, newest first")
        p.add_argument("company", metavar="COMPANY", help="id or name (or a unique part of either)")
        _add_channel(p)
        p.add_argument("--since", metavar="DATE", help="from this day on (YYYY-MM-DD)")
        p.add_argument("--until", metavar="DATE", help="up to and including this day (YYYY-MM-DD)")
        add_paging(p, default=50)
        _add_zone(p)
        _add_json(p)

    if only in (None, "show"):
        p = command("show", "one item in full")
        p.add_argument("id", type=int, metavar="ID", help="an item id (from timeline or search)")
        _add_zone(p)
        _add_json(p)

    if only in (None, "search"):
        p = command(
            "search",
            'search everything (words, "phrases", prefix*, company:, channel:, before:, after:)',
        )
        p.add_argument("query", nargs="+", metavar="QUERY", help="words, filters; see above")
        _add_company(p)
        _add_channel(p)
        add_paging(p, default=50)
        _add_zone(p)
        _add_json(p)

    if only in (None, "bookings"):
        p = command("bookings", "trips, reservations, orders and parcels")
        _add_company(p)
        p.add_argument(
            "--upcoming", action="store_true", help="only those not yet begun (and not cancelled)"
        )
        p.add_argument("--ics", metavar="OUT", help="also write them as an iCalendar file")
        add_paging(p, default=None)
        _add_zone(p)
        _add_json(p)


def build_parser(only: str | None = None) -> OneLineParser:
    """The whole command tree, or only the read command ``only`` (see ``READ_COMMANDS``)."""
    common = _global_options(top_level=False)
    parser = OneLineParser(
        prog="kluis",
        description="Your own CRM: your history with every company, in a local encrypted vault.",
        epilog=top_epilog(),
        parents=[_global_options(top_level=True)],
    )
    parser.add_argument(
        "--version", action="version", version=f"kluis {__version__}", help="show the version"
    )
    # prog: what argparse would work out by formatting the usage, which measures the terminal
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=OneLineParser, prog="kluis"
    )

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_text, description=help_text, parents=[common])

    if only is not None:
        _add_read_commands(command, only)
        add_examples(parser)
        return parser

    from cli.parsers import add_account_commands, add_money_commands, add_watch_command
    from cli.watch import add_watch_options

    def allow_weak(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--allow-weak-passphrase",
            action="store_true",
            help="accept a new passphrase that zxcvbn estimates easy to guess",
        )

    allow_weak(command("init", "create a new vault and show its recovery code once"))

    p = command("import", "import mail, chat exports and bookings into the vault")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or .zip archives")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="auto",
        metavar="FORMAT",
        help=f"read every PATH as this format (default: auto, detected per file): "
        f"{', '.join(FORMATS[1:])}",
    )
    p.add_argument(
        "--timezone",
        metavar="ZONE",
        help="zone of sources without one, e.g. Europe/Amsterdam (default: this machine's)",
    )
    add_me(p)
    p.add_argument(
        "--columns",
        metavar="FIELD=COLUMN,…",
        help="a bank CSV's columns where its header says too little, e.g. "
        "date=Datum,amount=Bedrag,name=Naam,iban=Rekening,description=Omschrijving "
        "(fields: date amount debit credit name iban description currency reference)",
    )
    _add_no_wait(p)
    _add_json(p)

    p = command(
        "sync",
        "fetch new mail from every account, or from one (read-only: nothing is marked read)",
    )
    add_me(p)
    p.add_argument("--timezone", metavar="ZONE", help="zone of mail without a Date offset")
    _add_no_wait(p)
    _add_json(p)
    add_watch_options(p)
    accounts = p.add_subparsers(dest="protocol", metavar="PROTOCOL", parser_class=OneLineParser)
    a = accounts.add_parser("imap", help="an IMAP mailbox", parents=[common])
    a.add_argument("--host", help="server name (remembered after the first sync)")
    a.add_argument("--port", type=int, help="default 993 (TLS), 143 (STARTTLS or plain)")
    a.add_argument("--user", help="login name (remembered after the first sync)")
    add_security(a)
    a.add_argument(
        "--folder",
        action="append",
        default=[],
        metavar="F",
        help="only these folders (repeatable; default: all but Trash/Junk/Spam)",
    )
    add_me(a, "the login and the profile")
    a.add_argument("--timezone", metavar="ZONE", help="zone of mail without a Date offset")
    _add_no_wait(a)
    _add_json(a)
    add_watch_options(a)
    keep_parent_values(a, p)

    _add_read_commands(command)

    p = command("company", "rename, merge, alias or split companies (and undo)")
    edits = p.add_subparsers(dest="edit", metavar="EDIT", required=True, parser_class=OneLineParser)

    def edit(name: str, help_text: str, under: Any = edits) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = under.add_parser(
            name, help=help_text, description=help_text
        )
        return parser

    company_help = "id or name of the company"
    e = edit("rename", "give a company your own name for it")
    e.add_argument("company", help=company_help)
    e.add_argument("name", help="the new name")
    e = edit("merge", "merge a company into another")
    e.add_argument("company", help="the company that disappears into the other")
    e.add_argument("--into", required=True, metavar="COMPANY", help="the company that stays")
    e = edit("alias", "make a domain, address, phone or name belong to a company")
    e.add_argument("company", help=company_help)
    e.add_argument("value", metavar="DOMAIN_ADDRESS_OR_NAME", help="what belongs to it from now on")
    e = edit("split", "move one domain or address out into its own company")
    e.add_argument("company", help=company_help)
    e.add_argument("value", metavar="DOMAIN_OR_ADDRESS", help="what moves out")
    e.add_argument("--name", help="name of the new company")
    edit("undo", "undo the last company edit")
    e = edit("suggest", "companies that may be one: merge suggestions, evidence")
    _add_json(e)
    e = edit("accept", "accept a suggestion: merge (undo takes it back)")
    e.add_argument("suggestion", metavar="ID", help="a suggestion id, e.g. 12-34")
    e = edit("reject", "reject a suggestion: it never comes back")
    e.add_argument("suggestion", metavar="ID", help="a suggestion id, e.g. 12-34")

    p = command("people", "people across mail and chats (and who may be the same person)")
    _add_zone(p)
    _add_json(p)
    actions = p.add_subparsers(dest="people_action", metavar="ACTION", parser_class=OneLineParser)
    e = edit("suggest", "people who may be one person, with the evidence", actions)
    _add_json(e)
    keep_parent_values(e, p)
    e = edit("accept", "accept a suggestion: merge the two", actions)
    e.add_argument("suggestion", metavar="ID", help="a suggestion id, e.g. 12-34")
    e = edit("reject", "reject a suggestion: it never comes back", actions)
    e.add_argument("suggestion", metavar="ID", help="a suggestion id, e.g. 12-34")

    allow_weak(command("passwd", "change the passphrase (the data is not re-encrypted)"))
    allow_weak(command("recover", "set a new passphrase with the recovery code"))
    command("remember", "remember the vault on this device (OS keyring)")
    command("forget", "forget the vault on this device")
    p = command("doctor", "check the vault: integrity, keys, file modes, counts")
    p.epilog = (
        "exit status: 0 healthy; 1 a problem that loses nothing (file modes, the keyring);\n"
        "13 the vault is damaged: the report says what is readable, and --salvage DIR saves it\n"
        "(13 then means some rows could not be read)."
    )
    p.add_argument(
        "--salvage",
        metavar="DIR",
        help="save every readable row and file of a damaged vault into the new folder DIR, "
        "in the format of `kluis export`",
    )
    _add_json(p)

    add_money_commands(command, _add_json, _add_zone)

    p = command("config", "show or change this vault's settings")
    p.epilog = (
        "Settings: timezone, the zone every time is shown in, by the app and every command "
        "(default: this machine's)."
    )
    p.add_argument("setting", nargs="?", choices=["timezone"], help="the setting to show or set")
    p.add_argument("value", nargs="?", metavar="VALUE", help="its new value")
    p.add_argument("--unset", action="store_true", help="go back to the default")

    p = command("demo", 'build a realistic demo vault (passphrase "demo") and open it')
    p.add_argument("--no-tui", action="store_true", help="only build the vault")

    from cli.quarantine import add_commands as add_quarantine_commands
    from cli.share import add_commands as add_share_commands

    add_share_commands(commands, common)
    add_quarantine_commands(command, common)
    add_account_commands(commands, common)
    add_watch_command(commands, common)
    command("tui", "open the terminal app (the default)")
    p = commands.add_parser("help", help="explain a command: `kluis help import`")
    p.add_argument("topic", nargs="*", metavar="COMMAND", help="the command (and its action)")
    p = commands.add_parser("completion", help="print the shell completion script")
    p.add_argument("shell", choices=COMPLETION_SHELLS, help="bash, zsh or fish")
    add_examples(parser)
    return parser


def _read_command(args: list[str]) -> str | None:
    """The read command ``args`` run, when nothing else of the command tree is needed: not
    for ``kluis --help COMMAND`` (the top level's help lists every command), nor completion."""
    if "_ARGCOMPLETE" in os.environ:
        return None
    words = iter(args)
    for word in words:
        if word in VALUE_OPTIONS:
            next(words, None)
        elif word in ("-h", "--help", "--version", "--"):
            return None
        elif not word.startswith("-"):
            return word if word in READ_COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status. Run as the kluis program (``argv`` None: its
    script, ``python -m cli`` or ``python -m vault``), a read command ends the process itself
    (``_end_read``)."""
    os.umask(0o077)  # every file kluis creates is private, whatever the user's umask
    collect_less_often()  # from the first import of a module on: 4 % of a mail import's CPU
    args_list = list(sys.argv[1:] if argv is None else argv)
    only = _read_command(args_list)
    with lazily(READ_LAZILY if only else ()):
        status = _main(args_list, only)
    if only is not None and argv is None:
        _end_read(status)
    return status


def _end_read(status: int) -> None:
    """End a read command's process without the interpreter's teardown, which frees every
    module and object one by one: ≈ 12 ms of CPU, a tenth of a scripted search.

    What the teardown does that a read needs is done here: the output is flushed and the exit
    handlers run (the store is closed and any file written, by then). Where anything is left
    to the normal exit (another thread still runs, or the output cannot be written: its one
    "Exception ignored" line and status 120, as before), this returns and the normal exit
    follows.
    """
    import atexit
    import threading

    if threading.active_count() > 1 or not _flushed():
        return
    atexit._run_exitfuncs()
    if _flushed():
        os._exit(status)


def _flushed() -> bool:
    """Whether stdout and stderr took all that was written to them."""
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: started with that descriptor closed
                stream.flush()
    except (OSError, ValueError):  # a closed reader, a full disk, a closed stream
        return False
    return True


def _main(args_list: list[str], only: str | None) -> int:
    debug = "--debug" in args_list
    try:
        parser = build_parser(only)
        if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions: answer, then exit
            import argcomplete

            argcomplete.autocomplete(parser)
        args = parser.parse_args(args_list)
        if args.command == "help":
            parser.parse_args([*args.topic, "--help"])  # prints the help and exits 0
        if args.command == "completion":
            sys.stdout.write(completion_script(args.shell))
            return 0
        from cli import commands
        from vault import environment

        with environment.withheld():  # nothing kluis starts inherits a secret
            return commands.run(args)
    except VaultError as exc:
        if debug:
            import traceback  # only --debug prints one: not on every command's path

            traceback.print_exc()
        # A file name or a value from a source may hold ESC, newlines, bidi controls: one line.
        print(f"kluis: {escaped(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("kluis: interrupted; what was imported so far is kept", file=sys.stderr)
        return exits.INTERRUPTED
    except BrokenPipeError:
        # `kluis timeline x | head`: the reader left; not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if debug:
            import traceback

            traceback.print_exc()
        from vault.store import damaged, is_damage

        if is_damage(exc):  # a damaged page met outside the store's own connections
            error = damaged(exc)
            print(f"kluis: {escaped(str(error))}", file=sys.stderr)
            return error.exit_code
        print(
            f"kluis: unexpected error: {escaped(str(exc))} (run with --debug for details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
