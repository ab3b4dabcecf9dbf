"""The demo vault, built through the real importers and ingest (`kluis demo` runs it)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from vault.ingest import Ingestor, Summary
from vault.records import ImportOptions, Item
from vault.store import Store, execute
from vault.unlock import ENV_VAULT, create_vault

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
    from demo.data import demo_sources
    from importers.chat.telegram import parse_export
    from importers.email.message import parse_message

    for source in demo_sources():
        if source.format == "eml":
            yield parse_message(source.data, source.ref, options)
        else:
            yield from parse_export(source.data, source.ref, options)


def is_demo(store: Store) -> bool:
    """True if the vault was built by `kluis demo`."""
    with store.read() as conn:
        return bool(execute(conn, "SELECT value FROM meta WHERE key='demo'").scalar() == "1")


def build_demo(folder: Path) -> tuple[Summary, float]:
    """Create the demo vault in ``folder``; returns the import summary and seconds taken."""
    from demo.data import DEMO_OWNER

    started = time.perf_counter()
    # Everyone knows this passphrase anyway: the demo holds made-up data only.
    store, _ = create_vault(folder, DEMO_PASSPHRASE, allow_weak=True)
    try:
        with store.begin() as conn:
            execute(conn, "INSERT INTO meta(key, value) VALUES ('demo', '1')")
            profile = [("name", DEMO_OWNER.name), ("phone", DEMO_OWNER.phone)]
            profile += [("email", address) for address in DEMO_OWNER.addresses]
            for key, value in profile:
                execute(
                    conn,
                    "INSERT INTO profilefield(key, value, category, updated_at) "
                    "VALUES (:k, :v, 'identity', datetime('now'))",
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
