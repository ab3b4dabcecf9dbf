"""Schema upgrades and the search index they lay out: a v2 or v3 vault upgrades to the index
of v4 (time-keyed, one table per period) and finds the same items, newest first, as a vault
made new; read-only commands run without SQLAlchemy and give what the app's connections give."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support import PASSPHRASE, mail, options, vault_at_schema
from vault import company_edits, migrations, queries, search_index
from vault.ingest import Ingestor
from vault.records import Interaction, Party
from vault.search import search
from vault.store import Store, execute
from vault.unlock import PassphraseSource, create_vault, open_vault

QUERIES = [
    "factuur",
    "factuur bestelling",
    '"nieuwe factuur"',
    "bestel*",
    "fa*",
    "factuur -retour",
    "factuur OR pakket",
    "company:shop1.nl factuur",
    "channel:chat pakket",
    "after:2024-01-20 factuur",
    "before:2024-01-10 pakket",
    "company:shop2.nl",
]
WORDS = ["factuur", "bestelling", "pakket", "retour", "nieuwe", "korting", "fabriek"]


def _items() -> list[Interaction]:
    """Mail from three shops and a chat, inserted out of time order (as several imports are),
    two items at each moment (the id breaks the tie)."""
    base = datetime(2024, 1, 1, 9, tzinfo=UTC)
    items: list[Interaction] = []
    for n in range(90):
        when = base + timedelta(days=(n * 37) % 90 // 2)  # two items share each moment
        body = " ".join(WORDS[(n * k) % len(WORDS)] for k in (1, 2, 3))
        if n % 9 == 0:
            items.append(
                Interaction(
                    channel="chat",
                    direction="in",
                    occurred_at=when,
                    title=body[:20],
                    body=body,
                    source_ref=f"chat#{n}",
                    dedup_key=f"chat:{n}",
                    sender=Party("Anna de Vries", "tg:1", kind="chat_handle"),
                    recipients=[Party("Me", "me@example.org")],
                    thread_key="chat:anna",
                )
            )
        else:
            title = "Nieuwe factuur" if n % 5 == 0 else f"Bericht {n}"
            items.append(
                mail(n, f"Shop{n % 3} <a@shop{n % 3}.nl>", title=title, body=body, when=when)
            )
    return items


def _results(store: Store) -> dict[str, list[tuple[int, str, str | None]]]:
    with store.reader() as conn:
        return {
            q: [(r["id"], r["occurred_at"], r.get("snippet")) for r in search(conn, q, limit=25)]
            for q in QUERIES
        }


def _open(folder: Path) -> Store:
    return open_vault(folder, PassphraseSource(prompt=lambda _: PASSPHRASE, allow_env=False))


def _check_index(store: Store) -> int:
    """FTS5's own integrity check of every period's table; returns how many there are."""
    with store.reader() as conn:
        tables = [search_index.period_table(p) for p in search_index.periods(conn)]
        for table in tables:
            execute(conn, f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
    return len(tables)


@pytest.mark.parametrize("version", [2, 3])
def test_an_older_vault_upgrades_and_finds_what_a_new_vault_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: int
) -> None:
    vault_at_schema(tmp_path / "old", monkeypatch, version, _items())
    upgraded = _open(tmp_path / "old")
    fresh, _ = create_vault(tmp_path / "new", PASSPHRASE)
    Ingestor(fresh, options(), "test", "t").run(_items())
    try:
        with upgraded.reader() as conn:
            assert migrations.current_version(conn) == migrations.SCHEMA_VERSION == 9
            assert execute(conn, "SELECT count(*) FROM sqlite_master WHERE name = "
                           "'interaction_fts'").scalar() == 0  # fmt: skip
        assert _check_index(upgraded) == _check_index(fresh) == 1
        found = _results(upgraded)
        assert found == _results(fresh)
        assert all(found[q] for q in QUERIES)
    finally:
        upgraded.close()
        fresh.close()


def _indexed_once(store: Store) -> int:
    """Check each period's index is whole (FTS5's integrity check) and holds one entry per item
    of the period; returns the items. (The check against the content cannot be asked: every
    period's content is the whole view.)"""
    total = 0
    with store.begin() as conn:
        for period in search_index.periods(conn):
            table = search_index.period_table(period)
            low, high = search_index.period_keys(period)
            execute(conn, f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
            indexed = execute(conn, f"SELECT count(*) FROM {table}_docsize").scalar()
            stored = execute(
                conn,
                f"SELECT count(*) FROM interaction WHERE {search_index.key_sql()} "
                "BETWEEN :low AND :high",
                {"low": low, "high": high},
            ).scalar()
            assert indexed == stored, (period, indexed, stored)
            total += stored
    return int(total)


def test_a_schema_7_vault_drops_its_per_item_index_triggers_and_indexes_new_items_once(
    tmp_path: Path,
) -> None:
    items = _items()
    old_year = mail(500, "Shop1 <a@shop1.nl>", title="Oude factuur", when=datetime(2019, 5, 1))
    store, _ = create_vault(tmp_path / "v", PASSPHRASE)
    Ingestor(store, options(), "test", "first").run(items[:45])
    with store.begin() as conn:  # as schema 7 left it: a trigger per period indexing each item
        for period in search_index.periods(conn):
            table = search_index.period_table(period)
            low, high = search_index.period_keys(period)
            execute(
                conn,
                f"""CREATE TRIGGER {search_index.insert_trigger(period)} AFTER INSERT ON
                interaction WHEN {search_index.key_sql("new.")} BETWEEN {low} AND {high} BEGIN
                INSERT INTO {table}(rowid, title, body, counterpart, scope)
                VALUES ({search_index.fts_values("new.")}); END""",
            )
        execute(conn, "UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    store.close()
    upgraded = _open(tmp_path / "v")
    try:
        with upgraded.reader() as conn:
            assert migrations.current_version(conn) == migrations.SCHEMA_VERSION
            triggers = execute(
                conn, "SELECT name FROM sqlite_master WHERE name GLOB 'interaction_fts_p*_insert'"
            ).all()
            assert triggers == []
        Ingestor(upgraded, options(), "test", "second").run([*items[45:], old_year])
        assert _indexed_once(upgraded) == len(items) + 1
        with upgraded.reader() as conn:
            found = [r["id"] for r in search(conn, "factuur", limit=500)]
        assert found == _expected(upgraded, ["factuur"])
    finally:
        upgraded.close()


def _brute_force(store: Store, match: Callable[[list[str]], bool], where: str = "1=1") -> list[int]:
    """Items whose title and body words ``match``, newest first, ties by id: no index used."""
    with store.reader() as conn:
        rows = execute(
            conn,
            f"SELECT id, lower(title || ' ' || body) AS text FROM interaction i WHERE {where} "
            "ORDER BY occurred_at DESC, id DESC",
        ).all()
    return [r.id for r in rows if match(r.text.split())]


def _expected(store: Store, words: list[str], where: str = "1=1") -> list[int]:
    """Items holding every one of ``words``, newest first (brute force)."""
    return _brute_force(store, lambda text: all(w in text for w in words), where)


def test_search_pages_newest_first_with_every_filter_inside_the_index(store: Store) -> None:
    Ingestor(store, options(), "test", "t").run(_items())
    with store.reader() as conn:
        shop1 = queries.find_company(conn, "shop1.nl")[0]
        after = int(datetime(2024, 1, 20, tzinfo=UTC).timestamp())

        def ids(query: str, limit: int = 200) -> list[int]:
            return [r["id"] for r in search(conn, query, limit=limit)]

        assert ids("factuur bestelling") == _expected(store, ["factuur", "bestelling"])
        assert ids("factuur", limit=7) == _expected(store, ["factuur"])[:7]
        assert ids("company:shop1.nl factuur") == _expected(
            store, ["factuur"], f"company_id = {shop1}"
        )
        assert ids("channel:chat pakket") == _expected(store, ["pakket"], "channel = 'chat'")
        assert ids("after:2024-01-20 factuur") == _expected(
            store, ["factuur"], f"occurred_at >= {after}"
        )
        # The company and channel live in the index's scope column, never in what matches text.
        assert ids("email") == [] and ids(f"c{shop1}") == []
        snippet = search(conn, "company:shop1.nl bestelling", limit=1)[0]["snippet"]
        assert "«bestelling»" in snippet


def _over_the_years() -> list[Interaction]:
    """Mail from two shops over seven years (several index periods), stored out of time order;
    "storing", "stormschade" and "factuur" are spread unevenly over the years."""
    base = datetime(2018, 11, 5, 8, tzinfo=UTC)
    words = ["storing", "stormschade", "factuur", "storing factuur", "stoel"]
    return [
        mail(
            n,
            f"Shop{n % 2} <a@shop{n % 2}.nl>",
            body=f"{words[(n * n) % len(words)]} melding {n}",
            when=base + timedelta(days=(n * 53) % 120 * 21, hours=n),
        )
        for n in range(120)
    ]


def test_search_over_many_periods_pages_newest_first_across_them(store: Store) -> None:
    items = _over_the_years()
    Ingestor(store, options(), "test", "t").run(items)
    periods = {search_index.period_of(int(i.occurred_at.timestamp())) for i in items}
    assert _check_index(store) == len(periods) >= 6

    with store.reader() as conn:
        shop1 = queries.find_company(conn, "shop1.nl")[0]
        june_2021 = int(datetime(2021, 6, 1, tzinfo=UTC).timestamp())
        new_year_2023 = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp())

        def ids(query: str, limit: int) -> list[int]:
            return [r["id"] for r in search(conn, query, limit=limit)]

        def prefix(words: list[str]) -> bool:
            return any(w.startswith("storm") for w in words)

        def storing(words: list[str]) -> bool:
            return "storing" in words

        for limit in (1, 7, 30, 500):  # a page inside the newest period, and across several
            assert ids("storing", limit) == _brute_force(store, storing)[:limit]
            assert ids("storm*", limit) == _brute_force(store, prefix)[:limit]
            assert (
                ids("sto*", limit)
                == _brute_force(store, lambda w: any(x.startswith("sto") for x in w))[:limit]
            )
        assert ids("company:shop1.nl storm*", 500) == _brute_force(
            store, prefix, f"company_id = {shop1}"
        )
        assert ids("after:2021-06-01 before:2023-01-01 storing", 500) == _brute_force(
            store, storing, f"occurred_at >= {june_2021} AND occurred_at < {new_year_2023}"
        )
        assert ids("storing -factuur", 500) == _brute_force(
            store, lambda w: storing(w) and "factuur" not in w
        )


def test_an_item_stored_without_its_period_is_refused_not_left_unfindable(
    store: Store,
) -> None:
    Ingestor(store, options(), "test", "t").run([mail(1)])
    with store.begin() as conn, pytest.raises(Exception, match="no search index for this date"):
        execute(
            conn,
            "INSERT INTO interaction(company_id, channel, direction, occurred_at, title, body, "
            "recipients, source_id, source_ref, dedup_key, extras) SELECT company_id, channel, "
            "direction, 0, title, body, recipients, source_id, 'x', 'y', extras FROM interaction",
        )


def test_a_merged_company_finds_its_new_items_by_company(store: Store) -> None:
    Ingestor(store, options(), "test", "t").run(_items())
    with store.begin() as conn:
        before = len(search(conn, "company:shop2.nl factuur", limit=200))
        moved = len(search(conn, "company:shop1.nl factuur", limit=200))
        company_edits.merge(conn, "shop1.nl", "shop2.nl")
    with store.reader() as conn:
        assert len(search(conn, "company:shop2.nl factuur", limit=200)) == before + moved


def test_items_dated_far_outside_the_key_range_are_stored_and_found_in_order(
    store: Store,
) -> None:
    dates = [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)]
    dates += [datetime(2024, 5, 1, tzinfo=UTC), datetime(1500, 1, 1, tzinfo=UTC)]
    items = [mail(n, body="jaaroverzicht", when=when) for n, when in enumerate(dates)]
    summary = Ingestor(store, options(), "test", "t").run(items)
    assert (summary.new, summary.errors) == (4, 0)
    with store.read() as conn:
        found = [row["title"] for row in search(conn, "jaaroverzicht")]
        recent = [row["title"] for row in search(conn, "jaaroverzicht after:2000")]
    # Newest first; the two before 1833 share the lowest time key, the later-stored first.
    assert found == ["Mail 1", "Mail 2", "Mail 3", "Mail 0"]
    assert recent == ["Mail 1", "Mail 2"]


def test_the_quick_reader_gives_what_the_app_connection_gives(store: Store) -> None:
    Ingestor(store, options(), "test", "t").run(_items())

    def everything(conn: Any) -> Any:
        company = queries.find_company(conn, "shop1.nl")[0]
        first = queries.timeline(conn, queries.TimelineFilter(company), limit=5)
        return (
            [row.to_json() for row in queries.list_companies(conn)],
            [row.to_json() for row in first],
            queries.show(conn, first[0].id),
            queries.list_bookings(conn),
            search(conn, "factuur", limit=10),
        )

    with store.read() as app_conn:
        through_sqlalchemy = everything(app_conn)
    with store.reader() as quick_conn:
        assert everything(quick_conn) == through_sqlalchemy


def test_read_only_commands_do_not_load_sqlalchemy(store: Store, vault_dir: Path) -> None:
    Ingestor(store, options(), "test", "t").run(_items())
    store.close()
    script = (
        "import contextlib, io, sys\n"
        "from cli.main import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    codes = [main(['companies', '--json']), main(['search', 'factuur', '--json'])]\n"
        "print(codes, 'sqlalchemy' in sys.modules, len(out.getvalue()) > 100)\n"
    )
    env = {"KLUIS_VAULT": str(vault_dir), "KLUIS_PASSPHRASE": PASSPHRASE, "PATH": "/usr/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[0, 0] False True", done.stderr
