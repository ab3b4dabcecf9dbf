"""TUI latency on a big company: first paint of a 100,000-item timeline and CPU per key.

Builds (once, then reuses) a vault with one company of 100,000 interactions plus a few small
ones, inserted through the real ``Ingestor``. Then drives the real app headless with Textual's
pilot and prints::

    first paint: N ms      (open that company until its first rows are on screen)
    per key: N ms          (process CPU per Down / PageDown, rendering included)

Targets (issue 6): first paint <= 100 ms, per key <= 30 ms. Figures, never a pass/fail.

    python bench/tui_latency.py [--vault DIR] [--rebuild] [--items N]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from tui.app import KluisApp
from vault.ingest import Ingestor
from vault.records import ImportOptions, Interaction, Party
from vault.store import Store
from vault.unlock import PassphraseSource, create_vault, open_vault, vault_exists

PASSPHRASE = "bench"
BIG_DOMAIN = "grootwinkel.example"
SUBJECTS = (
    "Je bestelling {n} is onderweg",
    "Factuur {n}",
    "Re: vraag over retour {n}",
    "Nieuwsbrief week {n}",
    "Bevestiging afspraak {n}",
)


def big_company_items(count: int) -> Iterator[Interaction]:
    """``count`` mails with one shop, spread over eight years, newest last."""
    start = datetime(2018, 1, 1, 8, tzinfo=UTC)
    step = timedelta(days=8 * 365) / count
    for n in range(count):
        outgoing = n % 7 == 0
        shop = Party("Grootwinkel Klantenservice", f"service@{BIG_DOMAIN}")
        me = Party("Me", "me@example.org")
        yield Interaction(
            channel="email",
            direction="out" if outgoing else "in",
            occurred_at=start + step * n,
            title=SUBJECTS[n % len(SUBJECTS)].format(n=n),
            body=f"Beste klant,\n\nDit is bericht nummer {n} over je bestelling.\n" * 3,
            source_ref=f"bench/{n}.eml",
            dedup_key=f"msgid:bench-{n}@{BIG_DOMAIN}",
            sender=me if outgoing else shop,
            recipients=[shop if outgoing else me],
        )


def small_company_items() -> Iterator[Interaction]:
    """A handful of other companies so the list is not a single row."""
    start = datetime(2024, 1, 1, 9, tzinfo=UTC)
    for c in range(20):
        for n in range(25):
            yield Interaction(
                channel="email",
                direction="in",
                occurred_at=start + timedelta(days=c * 7 + n),
                title=f"Bericht {n}",
                body="Hallo",
                source_ref=f"bench/small-{c}-{n}.eml",
                dedup_key=f"msgid:small-{c}-{n}@bench",
                sender=Party(f"Winkel {c}", f"info@winkel{c}.example"),
                recipients=[Party(None, "me@example.org")],
            )


def build(folder: Path, items: int) -> None:
    """Create the bench vault in ``folder``."""
    started = time.perf_counter()
    store, _ = create_vault(folder, PASSPHRASE, allow_weak=True)
    options = ImportOptions(timezone=UTC, me_addresses=frozenset({"me@example.org"}))
    try:
        Ingestor(store, options, "bench", "small").run(small_company_items())
        Ingestor(store, options, "bench", "big", batch_size=2000).run(big_company_items(items))
    finally:
        store.close()
    print(f"built {items:,} items in {time.perf_counter() - started:.1f} s", flush=True)


async def idle(app: KluisApp, pilot: Pilot[KluisApp]) -> None:
    """Every worker done (one replaced by a newer one counts as done) and the screen drawn."""
    while True:
        try:
            await app.workers.wait_for_complete()
            break
        except WorkerCancelled:
            continue
    await pilot.pause()


async def measure(store: Store) -> dict[str, float]:
    """Drive the app headless: open the big company, then press keys."""
    app = KluisApp(store, tz=UTC)
    figures: dict[str, float] = {}
    started = time.perf_counter()
    async with app.run_test(size=(140, 45)) as pilot:
        # The main screen is ready when the companies are listed and a timeline is drawn.
        while not app.main.companies.loaded or app.timeline.first_paint_at is None:
            await asyncio.sleep(0.001)
        figures["start to main screen (headless, unlocked)"] = (
            app.timeline.first_paint_at - started
        ) * 1000
        await idle(app, pilot)
        big = max(app.company_rows(), key=lambda row: row.interactions)
        paints = []
        for _ in range(5):
            timeline = app.timeline
            timeline.first_paint_at = None
            opened = time.perf_counter()
            app.open_company(big.id)
            while timeline.first_paint_at is None:
                await asyncio.sleep(0.001)
            paints.append((timeline.first_paint_at - opened) * 1000)
            await idle(app, pilot)
        figures["first paint"] = statistics.median(paints)
        timeline.focus()
        await pilot.pause()
        for key, presses in (("down", 300), ("pagedown", 100)):
            cpu = time.process_time()
            for _ in range(presses):
                await pilot.press(key)
            figures[f"per key ({key})"] = (time.process_time() - cpu) * 1000 / presses
        # A jump far away: the pages there are not loaded yet.
        jumped = time.perf_counter()
        await pilot.press("end")
        await idle(app, pilot)
        figures["End (jump to oldest, pages loaded)"] = (time.perf_counter() - jumped) * 1000
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vault", type=Path, default=Path("/tmp/kluis-bench-tui"))
    parser.add_argument("--rebuild", action="store_true", help="build the vault anew")
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    if args.rebuild and args.vault.exists():
        shutil.rmtree(args.vault)
    if not vault_exists(args.vault):
        print(f"building a vault with {args.items:,} items at {args.vault} …", flush=True)
        build(args.vault, args.items)
    source = PassphraseSource(prompt=lambda _: PASSPHRASE, allow_env=False, allow_device=False)
    store = open_vault(args.vault, source)
    try:
        figures = asyncio.run(measure(store))
    finally:
        store.close()
    print(f"first paint: {figures['first paint']:.0f} ms")
    per_key = max(figures["per key (down)"], figures["per key (pagedown)"])
    print(f"per key: {per_key:.1f} ms")
    for name, value in figures.items():
        print(f"  {name}: {value:.1f} ms")


if __name__ == "__main__":
    main()
