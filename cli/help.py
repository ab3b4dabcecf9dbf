"""What ``kluis --help`` and ``kluis CMD --help`` say beyond the options: examples per command,
the environment variables kluis reads, the exit statuses, and shell completion.

Plain text only: nothing here imports more than argparse, so ``--help`` stays cheap.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from cli.exits import exit_status_text

EXAMPLES: dict[str, tuple[str, ...]] = {
    "init": ("kluis init", "kluis --vault ~/other-vault init"),
    "import": (
        "kluis import ~/Downloads/mail/*.eml --me me@example.org",
        "kluis import ~/Downloads/Telegram/DataExport_2026-11-01",
        "kluis import takeout.zip --timezone Europe/Amsterdam --json",
    ),
    "sync": ("kluis sync", "kluis sync --watch         # keep running: new mail as it arrives"),
    "sync imap": (
        "KLUIS_IMAP_PASSWORD=… kluis sync imap --host imap.example.org --user me@example.org",
        "kluis sync imap            # later: the account is remembered",
    ),
    "watch": ("kluis watch ~/Downloads", "kluis watch ~/Downloads --settle 10"),
    "account list": ("kluis account list", "kluis account list --json"),
    "account test": ("kluis account test me@gmail.com",),
    "account remove": ("kluis account remove me@gmail.com",),
    "account add": (
        "kluis account add gmail --user me@gmail.com --client-id ID.apps.googleusercontent.com",
        "kluis account add outlook --user me@outlook.com --client-id APP-ID --device",
        "kluis account add imap --user me@example.org --host imap.example.org",
    ),
    "companies": ("kluis companies", "kluis companies --limit 20", "kluis companies --json"),
    "timeline": (
        'kluis timeline "KLM" --since 2024-01-01',
        "kluis timeline Bol.com --channel email --limit 100 --offset 100",
        "kluis timeline 12 --all --json > klm.json",
    ),
    "show": ("kluis show 1234", "kluis show 1234 --json"),
    "search": (
        "kluis search 'refund* company:bol.com after:2024-06'",
        "kluis search factuur --all",
        "kluis search '\"boarding pass\"' --channel email --json",
    ),
    "bookings": (
        "kluis bookings --upcoming",
        "kluis bookings --company KLM --json",
        "kluis bookings --ics trips.ics",
    ),
    "company rename": ('kluis company rename klm.com "KLM"',),
    "company merge": ("kluis company merge 'KLM Cargo' --into KLM",),
    "company alias": ("kluis company alias KLM klm-mail.com",),
    "company split": ("kluis company split Google youtube.com --name YouTube",),
    "company undo": ("kluis company undo",),
    "company suggest": ("kluis company suggest", "kluis company suggest --json"),
    "company accept": ("kluis company accept 12-34",),
    "company reject": ("kluis company reject 12-34",),
    "people": ("kluis people", "kluis people --json"),
    "people suggest": ("kluis people suggest",),
    "people accept": ("kluis people accept 12-34",),
    "people reject": ("kluis people reject 12-34",),
    "passwd": ("kluis passwd",),
    "recover": ("kluis recover",),
    "remember": ("kluis remember",),
    "forget": ("kluis forget",),
    "doctor": ("kluis doctor", "kluis doctor --salvage ~/rescued"),
    "demo": ("kluis demo", "kluis demo --no-tui --vault /tmp/demo-vault"),
    "config": (
        "kluis config",
        "kluis config timezone Europe/Amsterdam",
        "kluis config timezone --unset",
    ),
    "spending": (
        "kluis spending",
        "kluis spending --by year",
        "kluis spending --by month --since 2024-01-01 --json",
    ),
    "contracts": ("kluis contracts", "kluis contracts --json"),
    "contracts end": (
        "kluis contracts end Netflix --on 2025-03-31",
        "kluis contracts end Ziggo --notice 30",
    ),
    "contracts letter": (
        "kluis contracts letter Netflix --out opzegging.txt --lang nl",
        "kluis contracts letter Ziggo --on 2025-06-30",
    ),
    "quarantine": ("kluis quarantine", "kluis quarantine --json"),
    "quarantine show": ("kluis quarantine show 3",),
    "quarantine save": ("kluis quarantine save 3 ~/quarantined",),
    "quarantine retry": ("kluis quarantine retry", "kluis quarantine retry 3 7"),
    "profile set": (
        'kluis profile set address.home "Oudegracht 12, 3511 AB Utrecht"',
        "kluis profile set iban --stdin",
    ),
    "profile unset": ("kluis profile unset phone +31612345678",),
    "profile show": ("kluis profile show", "kluis profile show --reveal"),
    "share": (
        'kluis share Coolblue --fields name,email,address.home --purpose "Delivery" '
        "--out coolblue.zip",
    ),
    "disclosures": ("kluis disclosures", "kluis disclosures Coolblue --json"),
    "revoke": ("kluis revoke 1 --out erasure.txt",),
    "knows": ("kluis knows Coolblue",),
    "gdpr request": ("kluis gdpr request KLM --type access --out klm.txt",),
    "gdpr status": ("kluis gdpr status",),
    "gdpr answered": ("kluis gdpr answered 2 --date 2026-11-30",),
    "consent": ("kluis consent", "kluis consent --json"),
    "export": ("kluis export --out ~/kluis-export",),
    "backup": ("kluis backup --out vault.kluisbak",),
    "restore": ("kluis restore vault.kluisbak --vault ~/restored",),
    "tui": ("kluis", "kluis tui --vault ~/other-vault"),
    "help": ("kluis help import", "kluis help company merge"),
    "completion": (
        "kluis completion bash > ~/.local/share/bash-completion/completions/kluis",
        "kluis completion zsh > ~/.zfunc/_kluis",
        "kluis completion fish > ~/.config/fish/completions/kluis.fish",
    ),
}
"""Examples per command, keyed by the command's words after ``kluis``."""

ENVIRONMENT = (
    ("KLUIS_VAULT", "the vault folder (as --vault; default: the platform's data folder)"),
    ("KLUIS_PASSPHRASE", "the passphrase, for scripts (as restic's RESTIC_PASSWORD)"),
    ("KLUIS_PASSPHRASE_FILE", "a file whose first line is the passphrase"),
    ("KLUIS_IMAP_PASSWORD", "the IMAP password of `kluis sync imap`"),
    ("KLUIS_OAUTH_CLIENT_SECRET", "an OAuth2 app's client secret (Google asks one)"),
    ("XDG_DATA_HOME", "where the default vault folder lives on Linux (…/kluis)"),
    ("PYTHON_KEYRING_BACKEND", "the OS keyring used by `kluis remember` (keyring's own)"),
)
"""(variable, meaning) of every environment variable kluis reads. kluis takes the secret
ones out of its environment at once: no process it starts inherits them."""

COMPLETION_SHELLS = ("bash", "zsh", "fish")


def environment_text() -> str:
    """The ENVIRONMENT section of ``kluis --help``."""
    width = max(len(name) for name, _ in ENVIRONMENT)
    return "environment:\n" + "\n".join(
        f"  {name:<{width}}  {meaning}" for name, meaning in ENVIRONMENT
    )


def examples_text(command: str) -> str | None:
    """The examples section of ``kluis COMMAND --help``; None when it has none."""
    lines = EXAMPLES.get(command)
    if not lines:
        return None
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def top_epilog() -> str:
    """What ``kluis --help`` says after the commands."""
    return "\n\n".join(
        [
            "`kluis help COMMAND` (or `kluis COMMAND --help`) explains one command, with examples.",
            environment_text(),
            exit_status_text(),
            "shell completion: `kluis completion bash|zsh|fish` prints the script to install.",
        ]
    )


def subparsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command below ``parser`` as (its words after ``kluis``, its parser), depth first."""
    for action in parser._actions:  # argparse keeps no public list of its subparsers
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield name, child
                for words, grandchild in subparsers(child):
                    yield f"{name} {words}", grandchild


def add_examples(parser: argparse.ArgumentParser) -> None:
    """Put each command's examples under its own help (after an epilog it already has)."""
    for words, child in subparsers(parser):
        examples = examples_text(words)
        if examples:
            child.epilog = f"{child.epilog}\n\n{examples}" if child.epilog else examples


def completion_script(shell: str) -> str:
    """The completion script of ``shell`` for ``kluis`` (argcomplete: completing runs
    ``kluis`` itself, which answers before it opens any vault)."""
    from argcomplete.shell_integration import shellcode

    return str(shellcode(["kluis"], shell=shell))
