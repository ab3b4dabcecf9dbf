"""Opening the terminal app on the right first screen.

A vault that opens without asking (``--passphrase-stdin``, ``--passphrase-file``,
``KLUIS_PASSPHRASE``, the remembered device key) starts on the main screen; one that needs its
passphrase on the app's unlock screen; no vault at all on the welcome screen (the demo, or a new
vault). Without a terminal nothing is asked: the vault opens from a script's passphrase or kluis
says how to give one.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from pathlib import Path

from demo.builder import DEMO_PASSPHRASE, build_demo, demo_folder, is_demo
from vault.errors import VaultExists
from vault.unlock import (
    PassphraseSource,
    default_folder,
    open_vault,
    open_vault_without_prompt,
    resolve_folder,
    vault_exists,
)


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


def welcome_demo_folder(folder: Path) -> Path | None:
    """Where the welcome screen builds the demo: the demo's own folder, never the user's vault
    folder (``KLUIS_VAULT`` names both); None lets the app put it beside the vault."""
    demo = demo_folder(None)
    return None if demo.resolve() == folder.resolve() else demo


def launch_app(args: argparse.Namespace) -> int:
    """`kluis` / `kluis tui`: open the app on the main, unlock or welcome screen."""
    folder = resolve_folder(args.vault)
    source = PassphraseSource.from_args(args)
    interactive = sys.stdin.isatty()
    if vault_exists(folder) and not interactive:
        return open_app(folder, source)  # a script's passphrase, or one line saying how to give it
    if not vault_exists(folder) and not interactive:
        print(f"There is no vault at {folder} yet.")
        print("Create yours with `kluis init`, or try `kluis demo` for a realistic demo vault.")
        return 1
    from tui.app import run_app  # type: ignore[import-not-found, unused-ignore]

    if not vault_exists(folder):
        return int(run_app(folder=folder, demo_folder=welcome_demo_folder(folder)))
    store = open_vault_without_prompt(folder, source)
    return int(run_app(store) if store is not None else run_app(folder=folder))


def run_demo(args: argparse.Namespace) -> int:
    """Build (or reuse) the demo vault, then open the app on it or say how to explore it."""
    folder = demo_folder(args.vault)
    source = PassphraseSource(prompt=lambda _: DEMO_PASSPHRASE, allow_env=False, allow_device=False)
    if vault_exists(folder):
        store = open_vault(folder, source)
        try:
            if not is_demo(store):
                raise VaultExists(
                    f"{folder} holds a vault that is not the demo; kluis demo never touches it "
                    "(pass --vault DIR for another folder)"
                )
        finally:
            store.close()
        print(f"The demo vault is already at {folder}.")
    else:
        print(f"Building the demo vault at {folder} …", flush=True)
        summary, seconds = build_demo(folder)
        print(f"Done in {seconds:.1f} s: {summary.new:,} items from 6 years of mail and chats.")
    if args.no_tui or not sys.stdout.isatty():
        print(f'Explore it (passphrase "{DEMO_PASSPHRASE}"):')
        print_cli_hints(folder, DEMO_PASSPHRASE)
        return 0
    return open_app(folder, source, DEMO_PASSPHRASE)
