"""Opening the terminal app: unlock first, and on a machine with no vault offer the demo."""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from pathlib import Path

from vault.unlock import (
    PassphraseSource,
    default_folder,
    open_vault,
    resolve_folder,
    vault_exists,
)


def _ask_yes(question: str) -> bool:
    answer = input(f"{question} [Y/n] ").strip().casefold()
    return answer in ("", "y", "yes", "j", "ja")


def command_name() -> str:
    """How the user can call kluis: ``kluis`` when it is on PATH, else the script's own path."""
    if shutil.which("kluis"):
        return "kluis"
    script = Path(sys.argv[0])
    return str(script) if script.name == "kluis" else f"{sys.executable} -m vault"


def print_cli_hints(folder: Path, passphrase: str | None = None) -> None:
    """Tell the user how to explore the vault in ``folder`` from the command line."""
    kluis = command_name()
    settings = []
    if folder != default_folder():
        settings.append(f"KLUIS_VAULT={folder}")
    if passphrase:
        settings.append(f"KLUIS_PASSPHRASE={passphrase}")
    if settings:
        print(f"  export {' '.join(settings)}")
    print(f"  {kluis} companies")
    print(f"  {kluis} timeline KLM          (a company's history, newest first)")
    print(f'  {kluis} search wasmachine     (words, "phrases", prefix*, company:, after:)')
    print(f"  {kluis} show ID               (one item in full; every view also takes --json)")


def open_app(folder: Path, source: PassphraseSource, passphrase_hint: str | None = None) -> int:
    """Run the Textual app on the vault in ``folder`` (or say how to use the CLI until it lands)."""
    store = open_vault(folder, source)
    if importlib.util.find_spec("tui.app") is None:
        store.close()
        print(
            f"The vault at {folder} is unlocked. The terminal app is not part of this version "
            "yet; explore it from the command line:"
        )
        print_cli_hints(folder, passphrase_hint)
        return 0
    from tui.app import run_app  # type: ignore[import-not-found, unused-ignore]

    return int(run_app(store))


def launch_app(args: argparse.Namespace) -> int:
    """`kluis` / `kluis tui`: open the app, offering the demo vault when there is none."""
    folder = resolve_folder(args.vault)
    if vault_exists(folder):
        return open_app(folder, PassphraseSource(from_stdin=args.passphrase_stdin))
    print(f"There is no vault at {folder} yet.")
    if not sys.stdin.isatty():
        print("Create yours with `kluis init`, or try `kluis demo` for a realistic demo vault.")
        return 1
    if _ask_yes("Open the demo vault (6 years of a made-up person's mail and chats)?"):
        from vault.demo import run_demo

        return run_demo(argparse.Namespace(vault=None, no_tui=False))
    print("Create your own with `kluis init`, then `kluis import PATH`.")
    return 0
