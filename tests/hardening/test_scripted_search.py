"""A scripted ``kluis search`` (issue 21): it loads only what a search needs, and the parser of
its one command reads every command line exactly as the whole command tree does."""

from __future__ import annotations

import pytest

from cli.help import subparsers
from cli.main import READ_COMMANDS, VALUE_OPTIONS, _global_options, _read_command, build_parser
from tests.hardening.harness import Kluis, modules_loaded
from vault.errors import UsageError

# What other commands need and a search does not (keyring, which a remembered key needs, brings
# its own http and ssl, so those are not listed).
NOT_NEEDED = (
    "cli.accounts",
    "cli.oauth",
    "cli.sync",
    "cli.importing",
    "cli.money",
    "cli.quarantine",
    "vault.records",
    "vault.ingest",
    "sqlalchemy",
    "textual",
    "tui",
    "importers",
    "exports",
    "argcomplete",
    # Measuring the terminal for help (argparse), and what a read command imports lazily and
    # never runs (cli.main.READ_LAZILY), seen by what running it would import: inspect's
    # tokenize, subprocess's _posixsubprocess, traceback's textwrap.
    "shutil",
    "tokenize",
    "_posixsubprocess",
    "textwrap",
    "calendar",  # only the message for a day that does not exist needs it
)


@pytest.mark.parametrize("command", [["search", "factuur"], ["companies", "--json"]])
def test_a_scripted_read_loads_no_other_commands_code(kluis: Kluis, command: list[str]) -> None:
    output, stderr = modules_loaded(kluis.env(), NOT_NEEDED, *command)
    assert output[-1] == "0 []", (output, stderr)


@pytest.mark.parametrize(
    "argv",
    [
        ["search", "wasmachine"],
        ["--vault", "/tmp/v", "search", '"nieuwe wasmachine"', "company:Coolblue", "--json"],
        ["search", "factuur", "--channel", "email", "--limit", "5", "--timezone", "UTC"],
        ["--passphrase-file", "search", "companies", "--all"],
        ["--debug", "timeline", "KLM", "--since", "2024-01-01", "--offset", "10"],
        ["show", "12", "--json"],
        ["bookings", "--upcoming", "--company", "KLM"],
    ],
)
def test_a_read_commands_own_parser_reads_the_line_as_the_whole_tree(argv: list[str]) -> None:
    only = _read_command(argv)
    assert only in READ_COMMANDS
    assert vars(build_parser(only).parse_args(argv)) == vars(build_parser().parse_args(argv))


@pytest.mark.parametrize(
    "argv", [["search"], ["search", "x", "--bogus"], ["show", "twelve"], ["--nope", "companies"]]
)
def test_a_read_commands_own_parser_refuses_as_the_whole_tree(argv: list[str]) -> None:
    messages = []
    for parser in (build_parser(_read_command(argv)), build_parser()):
        with pytest.raises(UsageError) as refused:
            parser.parse_args(argv)
        messages.append(str(refused.value))
    assert messages[0] == messages[1]


def test_a_read_commands_own_help_is_the_same() -> None:
    whole = dict(subparsers(build_parser()))
    for name in READ_COMMANDS:
        [(words, own)] = list(subparsers(build_parser(name)))
        assert words == name and own.format_help() == whole[name].format_help()


@pytest.mark.parametrize(
    "argv",
    [
        ["--help", "search"],
        ["-h"],
        ["--version"],
        ["import", "search"],
        ["--vault", "search", "import"],
        [],
        ["--", "search"],
    ],
)
def test_lines_that_need_the_whole_tree_get_it(argv: list[str]) -> None:
    assert _read_command(argv) is None


def test_every_global_option_with_a_value_is_known_to_the_command_finder() -> None:
    actions = _global_options(top_level=True)._actions
    taking = {option for a in actions if a.nargs != 0 for option in a.option_strings}
    assert taking == set(VALUE_OPTIONS)
