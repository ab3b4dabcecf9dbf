"""kill -9 mid-import leaves the search index in step with the store: every stored item found
by a search exactly once, none missing, none indexed twice.

The writer fills the search index once per batch, at the batch's end and in its transaction
(``vault.search_index.index_new``), no longer by a trigger per item: a kill between an item's
insert and its index rows must not be able to leave it unfindable or, after the import resumes,
indexed twice. The mails span twelve years (about twelve period tables) in shuffled order, so
each batch fills several periods. After every kill: ``kluis doctor`` (its search index check
counts each period's entries against its items), FTS5's own integrity check of every period,
and ``kluis search`` for a word every mail holds, from a
subprocess, which must list exactly the stored items.
"""

from __future__ import annotations

import random
import re
import shutil
import time
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy import text

from tests.hardening.generate import START, mail_bytes, write_mbox_of
from tests.hardening.harness import (
    LONG,
    TIMEOUT,
    Kluis,
    assert_exactly_once,
    import_summary,
    make_vault,
    open_for_test,
)
from tests.hardening.test_crash_safety import SEED
from vault import search_index

MAILS = 6000 if LONG else 3000
KILLS = 10 if LONG else 2
BODY = "Thank you for shopping with us.\n" * 60  # ~2 KB a mail: an import of several seconds


def _mbox_over_twelve_years(path: Path, count: int) -> Path:
    """An mbox of ``count`` shop mails dated over twelve years, not in date order."""
    order = list(range(count))
    random.Random(SEED).shuffle(order)
    step = timedelta(days=12 * 365) / count

    def dated(n: int) -> bytes:
        when = format_datetime(START - timedelta(days=6 * 365) + step * n)
        mail = mail_bytes(n, body=f"Order {n}\n{BODY}")
        return re.sub(rb"(?m)^Date: .*$", f"Date: {when}".encode(), mail, count=1)

    return write_mbox_of(path, (dated(n) for n in order))


def _stored(kluis: Kluis) -> int:
    store = open_for_test(kluis.vault)
    try:
        with store.reader() as conn:
            return int(conn.execute("SELECT count(*) FROM interaction").fetchone()[0])
    finally:
        store.close()


def _index_matches_store(kluis: Kluis) -> int:
    """FTS5's integrity check on every period, and a search listing every stored item once;
    returns how many items are stored."""
    store = open_for_test(kluis.vault)
    try:
        with store.begin() as conn:
            stored = {int(r[0]) for r in conn.execute(text("SELECT id FROM interaction"))}
            for period in search_index.periods(conn):
                table = search_index.period_table(period)
                conn.execute(text(f"INSERT INTO {table}({table}) VALUES ('integrity-check')"))
    finally:
        store.close()
    found = [item["id"] for item in kluis.json("search", "confirmed", "--all")]
    assert len(found) == len(set(found)), "an item was found twice"
    assert set(found) == stored, (len(found), len(stored))
    return len(stored)


def test_killing_an_import_leaves_every_stored_item_found_by_search_exactly_once(
    kluis: Kluis, tmp_path: Path
) -> None:
    mbox = _mbox_over_twelve_years(tmp_path / "years.mbox", MAILS)
    rng = random.Random(SEED)
    print(f"kill moments from seed {SEED} (KLUIS_HARDENING_SEED repeats them)")
    landed = 0
    while landed < KILLS:
        before = _stored(kluis)
        if before == MAILS:  # the last round's import ended before its kill: start afresh
            shutil.rmtree(kluis.vault)
            make_vault(kluis.vault)
            before = 0
        process = kluis.popen("import", str(mbox), "--format", "mbox")
        deadline = time.monotonic() + TIMEOUT
        while _stored(kluis) == before:  # kill once a batch is in, so the kill is mid-import
            assert process.poll() is None and time.monotonic() < deadline, "nothing stored"
            time.sleep(0.1)
        time.sleep(rng.uniform(0, 0.5))
        process.kill()
        process.wait()
        kluis.doctor()  # its search index check: each period holds one entry per item
        stored = _index_matches_store(kluis)
        assert before < stored <= MAILS
        landed += stored < MAILS
    import_summary(kluis.run("import", str(mbox), "--format", "mbox", "--json"))
    kluis.doctor()
    assert _index_matches_store(kluis) == MAILS
    assert_exactly_once(kluis, MAILS)
    with open_for_test(kluis.vault).reader() as conn:
        assert len(search_index.periods(conn)) >= 10  # each batch filled several periods
