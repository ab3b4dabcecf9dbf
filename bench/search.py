"""Search latency at scale: 1,000,000 generated interactions, 50 realistic queries.

Builds (once; cached under --data) a vault of N generated mails and chat messages written
through the real ingest path (``vault.ingest.Ingestor`` with ``vault.records.Interaction``
records: companies resolved, FTS5 filled by the triggers), in four "sources" that each span
the whole ten years, so insertion order is not time order (an mbox, then an archive, a chat
export, another account). Then runs 50 queries (words, phrases, prefixes, company filter,
negation, OR, dates) through ``vault.search.search(conn, query, limit=50)``, --repeat times
each, and prints p50/p95/p99 per query class (one word, several words, phrase, prefix,
company filter, other) and overall, the slowest queries, the vault's size and how long opening
it took (a migration included). Figures, not a test.

``--mu`` also writes the same items as a Maildir (one plain-text mail each, chats as mail
from ``tg-N@chat.invalid``), indexes it with ``mu`` (cached beside the vault) and times
``mu find --maxnum=50 --sortfield=date --reverse`` for each query mu can express; each run
is a fresh ``mu`` process, so its floor (a query that finds nothing) is printed too.

Eight 1- and 2-letter prefixes ("f*", "re*": what a person types first) are timed apart
from the 50, as their own classes. ``--prefix LENGTHS`` builds the vault (in its own cache
folder) with other FTS5 prefix lengths than kluis's ("3", or "" for none), to price them.

``--variant`` times bench-side rewrites of the search SQL on the same vault against
``vault.search`` (add them to VARIANTS while they are measured). Run with
``PYTHONPATH=<another checkout>`` to time that checkout's ``vault.search`` (before/after).
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mailgen
from index_designs import prefix
from measure import machine_line, table
from sqlalchemy import Connection, text
from targets import report

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


SHORT_PREFIXES = {
    "f*": "1-letter prefix",
    "k*": "1-letter prefix",
    "b*": "1-letter prefix",
    "v*": "1-letter prefix",
    "re*": "2-letter prefix",
    "ba*": "2-letter prefix",
    "pa*": "2-letter prefix",
    "ve*": "2-letter prefix",
}
"""Timed apart from the 50 queries, each as its own class."""


def percentile(sorted_ms: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    index = max(0, min(len(sorted_ms) - 1, round(p / 100 * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[index]


QUERY_CLASSES = (
    "one word",
    "words",
    "phrase",
    "prefix",
    "company",
    "other",
    "1-letter prefix",
    "2-letter prefix",
)


def query_class(query: str) -> str:
    """Which kind of query a person typed: one of QUERY_CLASSES."""
    if "company:" in query:
        return "company"
    if "*" in query:
        return "prefix"
    if '"' in query:
        return "phrase"
    words = query.split()
    if any(":" in w or w.startswith("-") or w == "OR" for w in words) or any(
        c.isdigit() for c in query
    ):
        return "other"
    return "one word" if len(words) == 1 else "words"


Timer = Callable[[str], int]
"""Runs one query and returns its number of hits."""


def _counting(searcher: Searcher, conn: Connection) -> Timer:
    return lambda query: len(searcher(conn, query))


def measure(
    run_query: Timer, found: list[str], repeat: int, classes: dict[str, str] | None = None
) -> dict[str, Any]:
    """Per-query medians and the distribution of every timed run, overall and per class
    (``classes`` maps a query to its class when it is not kluis's own language)."""
    every: list[float] = []
    by_class: dict[str, list[float]] = {}
    per_query: list[tuple[float, str, int]] = []
    for query in found:
        started = time.perf_counter()
        run_query(query)  # warm the page cache for this query
        # A query slower than a second is timed once more, not --repeat times.
        times = repeat if time.perf_counter() - started < 1 else 1
        runs = []
        for _ in range(times):
            started = time.perf_counter()
            hits = run_query(query)
            runs.append((time.perf_counter() - started) * 1000)
        every.extend(runs)
        label = classes[query] if classes else query_class(query)
        by_class.setdefault(label, []).extend(runs)
        per_query.append((sorted(runs)[len(runs) // 2], query, hits))
    return {
        "all": _spread(every),
        "classes": {name: _spread(ms) for name, ms in by_class.items()},
        "slowest": sorted(per_query, reverse=True)[:8],
    }


def _spread(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    return {
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": ms[-1],
        "runs": len(ms),
    }


def rows_of(name: str, result: dict[str, Any]) -> list[list[str]]:
    """Table rows: one per query class, then the overall line."""
    rows = []
    for label in QUERY_CLASSES:
        if label in result["classes"]:
            rows.append(_row(f"{name}: {label}", result["classes"][label]))
    rows.append(_row(f"{name}: all", result["all"]))
    return rows


def _row(label: str, spread: dict[str, float]) -> list[str]:
    return [
        label,
        str(int(spread["runs"])),
        *(f"{spread[key]:.1f}" for key in ("p50", "p95", "p99", "max")),
    ]


# ---- mu on the same items ------------------------------------------------------------------

CHAT_DOMAIN = "chat.invalid"


def write_maildir(box: Path, count: int) -> float:
    """The items of ``_records(count)`` as one plain-text mail each; returns the seconds."""
    started = time.perf_counter()
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True, exist_ok=True)
    owner = f"{mailgen.OWNER_NAME} <{mailgen.OWNER}>"
    for number, item in enumerate(_records(count)):
        sender = item.sender
        assert sender is not None
        address = sender.address
        if sender.kind == "chat_handle":
            address = f"{address.replace(':', '-')}@{CHAT_DOMAIN}"
        mail = (
            f'From: "{sender.name}" <{address}>\nTo: {owner}\n'
            f"Date: {format_datetime(item.occurred_at)}\nSubject: {item.title}\n"
            f"Message-ID: <bench-{number}@kluis.invalid>\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
            f"{item.body}\n"
        )
        (box / "cur" / f"{number}.bench:2,S").write_bytes(mail.encode())
    return time.perf_counter() - started


def mu_init(maildir: Path, home: Path) -> None:
    """A new mu home ``home`` with ``maildir`` indexed."""
    subprocess.run(
        ["mu", "init", f"--maildir={maildir}", f"--muhome={home}"], check=True, capture_output=True
    )
    subprocess.run(["mu", "index", "--quiet", f"--muhome={home}"], check=True)


def mu_index(folder: Path, count: int) -> tuple[Path, str]:
    """A mu home indexing the Maildir twin of the vault (both cached under ``folder``)."""
    home, manifest = folder / "mu", folder / "MU.json"
    if manifest.exists() and json.loads(manifest.read_text()).get("items") == count:
        done = json.loads(manifest.read_text())
    else:
        shutil.rmtree(folder / "Maildir", ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        written = write_maildir(folder / "Maildir", count)
        started = time.perf_counter()
        mu_init(folder / "Maildir", home)
        done = {"items": count, "write": written, "index": time.perf_counter() - started}
        manifest.write_text(json.dumps(done))
    size = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
    return home, (
        f"mu: Maildir written in {done['write']:.0f} s, indexed in {done['index']:.0f} s "
        f"({count / done['index']:,.0f}/s); index {size / 2**30:.2f} GiB"
    )


def mu_query(query: str, domains: dict[str, str]) -> str | None:
    """``query`` in mu's language, or None where mu has no equivalent."""
    parts = []
    for token in shlex.split(query):
        name, colon, value = token.partition(":")
        if colon and name == "company":
            if value not in domains:
                return None
            parts.append(f"from:{domains[value]}")
        elif colon and name == "channel":
            parts.append(f"from:{CHAT_DOMAIN}")
        elif colon and name in ("after", "before"):
            day = value.replace("-", "")
            parts.append(f"date:{day}.." if name == "after" else f"date:..{day}")
        elif token == "OR":
            parts.append("or")
        elif token.startswith("-"):
            parts.append(f"and not {token[1:]}")
        else:
            parts.append(f'"{token}"' if " " in token else token)
    return " ".join(parts)


def mu_timer(home: Path) -> Timer:
    """Runs ``mu find`` for a mu query; returns its number of hits."""

    def find(query: str) -> int:
        done = subprocess.run(
            [
                "mu",
                "find",
                f"--muhome={home}",
                "--maxnum=50",
                "--sortfield=date",
                "--reverse",
                "--fields=i",
                query,
            ],
            capture_output=True,
            text=True,
        )
        return len(done.stdout.splitlines())

    return find


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
    parser.add_argument("--mu", action="store_true", help="also time mu find on the same items")
    parser.add_argument(
        "--prefix", metavar="LENGTHS", help="build with FTS5 prefix=LENGTHS ('' for none)"
    )
    args = parser.parse_args(argv)
    design = "" if args.prefix is None else f"-prefix{args.prefix.replace(' ', '') or 'none'}"
    folder = (
        args.data or Path(tempfile.gettempdir()) / "kluis-bench" / f"search-{args.items}{design}"
    )
    manifest = folder / "BENCH.json"
    print(machine_line())
    if manifest.exists() and json.loads(manifest.read_text()).get("items") == args.items:
        built = json.loads(manifest.read_text())
        print(
            f"vault: {args.items:,} interactions, cached ({built['seconds']:.0f} s to build): {folder}"
        )
    else:
        shutil.rmtree(folder, ignore_errors=True)
        with nullcontext() if args.prefix is None else prefix(args.prefix):
            seconds = build(folder / "vault", args.items)
        manifest.write_text(json.dumps({"items": args.items, "seconds": seconds}))
        print(
            f"vault: {args.items:,} interactions built in {seconds:.0f} s "
            f"({args.items / seconds:,.0f}/s through Ingestor): {folder}"
        )
    size = sum(p.stat().st_size for p in (folder / "vault").iterdir())
    source = PassphraseSource(prompt=lambda _: PASSPHRASE, allow_env=False, allow_device=False)
    started = time.perf_counter()
    store: Store = open_vault(folder / "vault", source)
    opened = time.perf_counter() - started
    rows = []
    details = []
    overall: dict[str, float] = {}  # p95 ms of every query, per variant
    try:
        with store.read() as conn:
            found = queries(conn)
            names = [str(r[0]) for r in conn.execute(text("SELECT name FROM company"))]
            for name in args.variant or ["current"]:
                searcher = VARIANTS[name]
                result = measure(_counting(searcher, conn), found, args.repeat)
                short = measure(
                    _counting(searcher, conn), list(SHORT_PREFIXES), args.repeat, SHORT_PREFIXES
                )
                result["classes"].update(short["classes"])
                rows += rows_of(name, result)
                overall[name] = result["all"]["p95"]
                details.append((name, result["slowest"]))
                if name != "current":
                    differ = [
                        q
                        for q in found
                        if [r["id"] for r in searcher(conn, q)]
                        != [r["id"] for r in _current(conn, q)]
                    ]
                    print(
                        f"  {name}: {len(found) - len(differ)}/{len(found)} queries give the "
                        f"same ids as current" + (f"; differ: {differ}" if differ else "")
                    )
    finally:
        store.close()
    size_after = sum(p.stat().st_size for p in (folder / "vault").iterdir())
    mu_notes = []
    if args.mu and shutil.which("mu"):
        home, note = mu_index(folder, args.items)
        mu_notes.append(note)
        domains = {c.name: c.sender for c in mailgen.companies() if c.name in names}
        translated = {q: mu_query(q, domains) for q in found}
        expressible = {m: query_class(q) for q, m in translated.items() if m is not None}
        skipped = [q for q, m in translated.items() if m is None]
        floor = measure(mu_timer(home), ["zzqqxxnothing"], args.repeat)["all"]["p50"]
        result = measure(mu_timer(home), list(expressible), args.repeat, expressible)
        rows += rows_of("mu find", result)
        details.append(("mu find", result["slowest"]))
        mu_notes.append(
            f"mu find: {len(expressible)} of {len(found)} queries expressible"
            + (f" (not: {skipped})" if skipped else "")
            + f"; a fresh mu process finding nothing takes {floor:.0f} ms (its floor)"
        )
    elif args.mu:
        mu_notes.append("mu: not installed (apt-get install maildir-utils), skipped")
    print(
        f"vault size {size / 2**30:.2f} GiB before opening, {size_after / 2**30:.2f} GiB after; "
        f"opened in {opened:.1f} s (a schema migration included, if one was due); "
        f"{len(found)} queries × {args.repeat} runs "
        "(1 for a query over 1 s), limit=50, after one warm-up run each"
    )
    for note in mu_notes:
        print(note)
    print()
    print(table(["search (ms)", "runs", "p50", "p95", "p99", "max"], rows))
    for name, slowest in details:
        print(
            f"  slowest ({name}): "
            + "; ".join(f"{q!r} {ms:.0f} ms ({n} hits)" for ms, q, n in slowest)
        )
    if "current" in overall:
        report(
            f"search p95 at {args.items:,} items",
            overall["current"],
            10,
            "ms",
            higher_is_better=False,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
