"""`make bench`: the foundation's figures on this machine, printed as a table.

Builds the demo vault in a temporary folder (through the real importers and ingest), then
measures unlock, the company list, a timeline page and searches. Figures, never a pass/fail.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from demo.builder import DEMO_PASSPHRASE, build_demo
from vault import queries
from vault.search import search
from vault.unlock import PassphraseSource, open_vault

QUERIES = [
    "factuur",
    "refund*",
    '"boarding pass"',
    "bestelling",
    "company:KLM vlucht",
    "channel:chat",
    "pakket -newsletter",
    "after:2024-01-01 korting",
    "hotel",
    "storing",
]


def timed(action: Callable[[], object], repeat: int = 1) -> list[float]:
    """Milliseconds per run of ``action``."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        runs.append((time.perf_counter() - started) * 1000)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="kluis-bench-") as tmp:
        folder = Path(tmp) / "vault"
        summary, seconds = build_demo(folder)
        rows.append(("demo build (import through importers)", f"{seconds:.1f} s"))
        rows.append(("demo items", f"{summary.new:,}"))
        rows.append(("import rate", f"{summary.new / seconds:,.0f} items/s"))
        size = sum(p.stat().st_size for p in folder.iterdir())
        rows.append(("vault size on disk", f"{size / 2**20:.1f} MiB"))
        source = PassphraseSource(
            prompt=lambda _: DEMO_PASSPHRASE, allow_env=False, allow_device=False
        )
        unlock = timed(lambda: open_vault(folder, source).close(), repeat=3)
        rows.append(("unlock (Argon2id 64 MiB, t=3) + open", f"{statistics.median(unlock):.0f} ms"))
        store = open_vault(folder, source)
        with store.read() as conn:
            companies = queries.list_companies(conn)
            rows.append(("companies", f"{len(companies)}"))
            listing = timed(lambda: queries.list_companies(conn), repeat=5)
            rows.append(("company list", f"{statistics.median(listing):.1f} ms"))
            biggest = max(companies, key=lambda c: c.interactions)
            biggest_only = queries.TimelineFilter(biggest.id)
            page = timed(lambda: queries.timeline(conn, biggest_only, limit=50), repeat=20)
            rows.append(
                (
                    f"timeline page of 50 ({biggest.interactions:,} items)",
                    f"{statistics.median(page):.1f} ms",
                )
            )
            latencies = sorted(
                ms for q in QUERIES for ms in timed(lambda q=q: search(conn, q), repeat=5)
            )
            rows.append(
                (
                    "search p50 / p95 (10 queries x 5)",
                    f"{latencies[len(latencies) // 2]:.1f} / "
                    f"{latencies[int(len(latencies) * 0.95)]:.1f} ms",
                )
            )
            count = conn.execute(text("SELECT count(*) FROM interaction")).scalar_one()
            rows.append(("interactions stored", f"{count:,}"))
        store.close()
    print(
        f"kluis bench — {datetime.now(UTC):%Y-%m-%d} — {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


if __name__ == "__main__":
    main()
