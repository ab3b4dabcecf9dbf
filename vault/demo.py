"""`kluis demo`: a realistic demo vault, built through the real importers and ingest."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from vault.errors import VaultExists
from vault.ingest import Ingestor, Summary
from vault.launch import open_app, print_cli_hints
from vault.records import ImportOptions, Item
from vault.store import Store
from vault.unlock import ENV_VAULT, PassphraseSource, create_vault, open_vault, vault_exists

DEMO_PASSPHRASE = "demo"


def demo_folder(option: str | None) -> Path:
    """``--vault``, else ``KLUIS_VAULT``, else a demo folder beside (never in) the real vault."""
    chosen = option or os.environ.get(ENV_VAULT)
    if chosen:
        return Path(chosen).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("kluis-demo"))


def demo_items(options: ImportOptions) -> Iterator[Item]:
    """Every demo source, parsed by the importer of its format."""
    from importers.chat.telegram import parse_export
    from importers.email.message import parse_message
    from vault.demo_data import demo_sources

    for source in demo_sources():
        if source.format == "eml":
            yield parse_message(source.data, source.ref, options)
        else:
            yield from parse_export(source.data, source.ref, options)


def is_demo(store: Store) -> bool:
    """True if the vault was built by `kluis demo`."""
    with store.read() as conn:
        return conn.execute(text("SELECT value FROM meta WHERE key='demo'")).scalar() == "1"


def build_demo(folder: Path) -> tuple[Summary, float]:
    """Create the demo vault in ``folder``; returns the import summary and seconds taken."""
    from vault.demo_data import DEMO_OWNER

    started = time.perf_counter()
    # Everyone knows this passphrase anyway: the demo holds made-up data only.
    store, _ = create_vault(folder, DEMO_PASSPHRASE, allow_weak=True)
    try:
        with store.begin() as conn:
            conn.execute(text("INSERT INTO meta(key, value) VALUES ('demo', '1')"))
            profile = [("name", DEMO_OWNER.name), ("phone", DEMO_OWNER.phone)]
            profile += [("email", address) for address in DEMO_OWNER.addresses]
            for key, value in profile:
                conn.execute(
                    text(
                        "INSERT INTO profilefield(key, value, category, updated_at) "
                        "VALUES (:k, :v, 'identity', datetime('now'))"
                    ),
                    {"k": key, "v": value},
                )
        options = ImportOptions(
            timezone=ZoneInfo("Europe/Amsterdam"),
            me_addresses=frozenset(a.casefold() for a in DEMO_OWNER.addresses),
            me_names=frozenset({DEMO_OWNER.name.casefold()}),
        )
        summary = Ingestor(store, options, "demo", "kluis demo").run(demo_items(options))
    finally:
        store.close()
    return summary, time.perf_counter() - started


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
