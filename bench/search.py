"""Search latency at scale: 1,000,000 generated interactions, 50 realistic queries.

Builds (once; cached under --data) a vault of N generated mails and chat messages written
through the real ingest path (``vault.ingest.Ingestor`` with ``vault.records.Interaction``
records: companies resolved, FTS5 filled by the triggers), in four "sources" that each span
the whole ten years, so insertion order is not time order (an mbox, then an archive, a chat
export, another account). Then runs 50 queries (words, phrases, prefixes, company filter,
negation, OR, dates) through ``vault.search.search(conn, query, limit=50)``, --repeat times
each, and prints p50/p95/p99 and the slowest queries. Figures, not a test.

``--variant`` times bench-side rewrites of the search SQL on the same vault against
``vault.search`` (add them to VARIANTS while they are measured).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mailgen
from measure import machine_line, table
from sqlalchemy import Connection, text

from vault.ingest import Ingestor
from vault.records import CompanyHints, ImportOptions, Interaction, Party
from vault.store import Store
from vault.unlock import PassphraseSource, create_vault, open_vault

PASSPHRASE = "bench-passphrase"
SOURCES = 4
START = datetime(2015, 6, 1, tzinfo=UTC)
SPAN = timedelta(days=3650)
OWNER = Party(mailgen.OWNER_NAME, mailgen.OWNER)


def _records(count: int, seed: int = mailgen.SEED) -> Iterator[Interaction]:
    """``count`` interactions: mail from several hundred companies and persons, and chats.

    Bodies are drawn from a pool of generated paragraphs (so building 1M stays fast) plus a
    unique reference, so there are common words, rarer words and one-off tokens to find.
    """
    rng = random.Random(seed)
    companies = mailgen.companies(seed)
    weights = [c.weight for c in companies]
    pool = [mailgen.paragraph(rng, rng.randint(2, 5)) for _ in range(4000)]
    subjects = [s for group in mailgen._SUBJECTS.values() for s in group]
    persons = [(f"{rng.choice(mailgen._FIRST)} {rng.choice(mailgen._LAST)}", i) for i in range(300)]
    per_source = count // SOURCES
    for number in range(count):
        source, index = divmod(number, per_source)
        source = min(source, SOURCES - 1)
        when = START + SPAN * ((index + rng.random()) / per_source)
        ref = f"{rng.choice('ABCDEFGHKLMNPRSTXZ')}{rng.randint(10**6, 10**7 - 1)}"
        body = "\n\n".join(rng.choices(pool, k=rng.randint(2, 6)))
        if source == 2 or rng.random() < 0.05:  # a chat export
            name, i = rng.choice(persons)
            yield Interaction(
                channel="chat",
                direction="in",
                occurred_at=when,
                title=body[:60],
                body=body[:400],
                source_ref=f"chat#{number}",
                dedup_key=f"bench:{number}",
                sender=Party(name, f"tg:{i}", kind="chat_handle"),
                recipients=[OWNER],
                thread_key=f"chat:{i}",
                thread_title=name,
            )
            continue
        company = rng.choices(companies, weights)[0]
        subject = rng.choice(subjects).format(
            name=company.name,
            ref=ref,
            w=rng.choice(mailgen._TOPICAL),
            w2=rng.choice(mailgen._TOPICAL),
        )
        sender = Party(company.name, f"info@{company.sender}")
        yield Interaction(
            channel="email",
            direction="in",
            occurred_at=when,
            title=subject,
            body=f"Referentie {ref}\n\n{body}",
            source_ref=f"mbox{source}#{number}",
            dedup_key=f"bench:{number}",
            sender=sender,
            recipients=[OWNER],
            hints=CompanyHints(),
            extras={"message_id": f"{number}@{company.sender}"},
        )


def build(folder: Path, count: int) -> float:
    """A vault of ``count`` interactions in ``folder``; returns the seconds it took."""
    started = time.perf_counter()
    store, _ = create_vault(folder, PASSPHRASE)
    try:
        options = ImportOptions(timezone=UTC, me_addresses=frozenset({mailgen.OWNER}))
        last = [started]

        def progress(summary: Any) -> None:
            now = time.perf_counter()
            if now - last[0] > 30:
                last[0] = now
                rate = summary.new / (now - started)
                print(f"  built {summary.new:,} ({rate:,.0f}/s)", flush=True)

        Ingestor(store, options, "bench", "search", batch_size=2000, progress=progress).run(
            _records(count)
        )
    finally:
        store.close()
    return time.perf_counter() - started


def queries(conn: Connection, seed: int = mailgen.SEED) -> list[str]:
    """50 queries a person would type: words, phrases, prefixes, a company, filters."""
    rng = random.Random(seed + 1)
    top = conn.execute(
        text(
            "SELECT c.id, c.name FROM company c JOIN interaction i ON i.company_id = c.id "
            "WHERE c.kind = 'company' GROUP BY c.id ORDER BY count(*) DESC LIMIT 60"
        )
    ).all()
    picks = [top[0], top[1], top[5], top[20], top[40], top[59]] if len(top) >= 60 else top[:6]
    ref = conn.execute(
        text(
            "SELECT substr(body, 12, 8) FROM interaction WHERE body LIKE 'Referentie %' "
            "ORDER BY id DESC LIMIT 1"
        )
    ).scalar_one()
    words = [
        "factuur",
        "bestelling",
        "pakket",
        "korting",
        "hotel",
        "storing",
        "refund",
        "invoice",
        "wachtwoord",
        "abonnement",
        "jaarafrekening",
        "tandarts",
        "de",
        "retour",
        "vlucht",
    ]
    found = list(words)
    found += [
        "factuur energie",
        "pakket bezorging",
        "hotel reservering",
        "refund order",
        "wachtwoord account",
        "storing internet",
        "korting zomer collectie",
        "polis schade",
    ]
    found += [
        '"boarding pass"',
        '"eigen risico"',
        '"je bestelling"',
        '"nieuwe factuur"',
        '"security alert"',
        '"met vriendelijke groet"',
        '"jaar maand"',
        '"verzending gratis"',
    ]
    found += ["refund*", "factu*", "bestel*", "verzek*", "abon*", "stor*", "wacht*"]
    for (_company_id, name), word in zip(
        picks, ["factuur", "bestelling", "korting", "pakket", "account", "de"], strict=False
    ):
        label = f'"{name}"' if " " in name else name
        found.append(f"company:{label} {word}")
    found += [
        ref,
        "pakket -nieuwsbrief",
        "hotel OR vlucht",
        "after:2024-01-01 korting",
        "channel:chat graag",
        f"{mailgen._FIRST[3]} {rng.choice(mailgen._LAST)}",
    ]
    return found[:50]


Searcher = Callable[[Connection, str], list[dict[str, Any]]]


def _current(conn: Connection, query: str) -> list[dict[str, Any]]:
    from vault.search import search

    return search(conn, query, limit=50)


VARIANTS: dict[str, Searcher] = {"current": _current}
"""Search implementations to time; a proposed rewrite goes here beside ``current`` while it is
measured, and into ``vault.search`` once it wins (the time-index paging did: 2026-11-23)."""


def percentile(sorted_ms: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    index = max(0, min(len(sorted_ms) - 1, round(p / 100 * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[index]


def measure(conn: Connection, search: Searcher, found: list[str], repeat: int) -> dict[str, Any]:
    """Per-query medians and the distribution of every timed run."""
    every: list[float] = []
    per_query: list[tuple[float, str, int]] = []
    for query in found:
        started = time.perf_counter()
        search(conn, query)  # warm the page cache for this query
        # A query slower than a second is timed once more, not --repeat times.
        times = repeat if time.perf_counter() - started < 1 else 1
        runs = []
        for _ in range(times):
            started = time.perf_counter()
            hits = search(conn, query)
            runs.append((time.perf_counter() - started) * 1000)
        every.extend(runs)
        per_query.append((sorted(runs)[len(runs) // 2], query, len(hits)))
    every.sort()
    return {
        "p50": percentile(every, 50),
        "p95": percentile(every, 95),
        "p99": percentile(every, 99),
        "max": every[-1],
        "slowest": sorted(per_query, reverse=True)[:8],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", type=Path, help="where the built vault is cached")
    parser.add_argument(
        "--variant",
        action="append",
        choices=list(VARIANTS),
        help="search implementations to time (default: current)",
    )
    args = parser.parse_args(argv)
    folder = args.data or Path(tempfile.gettempdir()) / "kluis-bench" / f"search-{args.items}"
    manifest = folder / "BENCH.json"
    print(machine_line())
    if manifest.exists() and json.loads(manifest.read_text()).get("items") == args.items:
        built = json.loads(manifest.read_text())
        print(
            f"vault: {args.items:,} interactions, cached ({built['seconds']:.0f} s to build): {folder}"
        )
    else:
        shutil.rmtree(folder, ignore_errors=True)
        seconds = build(folder / "vault", args.items)
        manifest.write_text(json.dumps({"items": args.items, "seconds": seconds}))
        print(
            f"vault: {args.items:,} interactions built in {seconds:.0f} s "
            f"({args.items / seconds:,.0f}/s through Ingestor): {folder}"
        )
    size = sum(p.stat().st_size for p in (folder / "vault").iterdir())
    source = PassphraseSource(prompt=lambda _: PASSPHRASE, allow_env=False, allow_device=False)
    store: Store = open_vault(folder / "vault", source)
    rows = []
    details = []
    try:
        with store.read() as conn:
            found = queries(conn)
            for name in args.variant or ["current"]:
                result = measure(conn, VARIANTS[name], found, args.repeat)
                rows.append(
                    [
                        name,
                        f"{result['p50']:.1f}",
                        f"{result['p95']:.1f}",
                        f"{result['p99']:.1f}",
                        f"{result['max']:.1f}",
                    ]
                )
                details.append((name, result["slowest"]))
                if name != "current":
                    differ = [
                        q
                        for q in found
                        if [r["id"] for r in VARIANTS[name](conn, q)]
                        != [r["id"] for r in _current(conn, q)]
                    ]
                    print(
                        f"  {name}: {len(found) - len(differ)}/{len(found)} queries give the "
                        f"same ids as current" + (f"; differ: {differ}" if differ else "")
                    )
    finally:
        store.close()
    print(
        f"vault size {size / 2**30:.2f} GiB; {len(found)} queries × {args.repeat} runs "
        "(1 for a query over 1 s), limit=50, after one warm-up run each"
    )
    print()
    print(table(["search (ms)", "p50", "p95", "p99", "max"], rows))
    for name, slowest in details:
        print(
            f"  slowest ({name}): "
            + "; ".join(f"{q!r} {ms:.0f} ms ({n} hits)" for ms, q, n in slowest)
        )
    print("target: p95 ≤ 50 ms at 1,000,000 interactions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
