"""One item the store cannot take never stops an import, nor bends what comes after it.

Issue 14, class 1: a mail from a new sender whose JSON-LD booking held a lone surrogate made
its batch fail with ``FOREIGN KEY constraint failed``, and an mbox of 1,501 mails imported 0 on
every rerun. The item's savepoint had rolled back its new company while the writer's memory
(the resolver's identifiers and name votes) kept it; a later mail of that sender then pointed
at a company that no longer existed, or at the next new company that reused its id.

Text the driver cannot encode is now made safe where records enter the store, so such an item
is stored; any other item the store refuses is quarantined with its reason, and everything the
writer remembers rolls back with it. The property test injects a refusal into any one item of
any kind, at any position, and compares the vault with one that never saw that item.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

import importers
from tests.hardening.generate import (
    LONE_SURROGATE,
    boarding_pass_json,
    booking_mail,
    booking_page,
    flight_jsonld,
    mail_bytes,
    meta_message,
    meta_thread,
    pkpass_zip,
    write_mbox_of,
    write_meta_export,
)
from tests.hardening.harness import LONG, Kluis, open_for_test, run_in_process
from tests.support import mail, options
from vault import keys as keymod
from vault.ingest import Ingestor, Summary
from vault.records import (
    Attachment,
    Booking,
    CompanyHints,
    ImportOptions,
    Interaction,
    Item,
    Party,
)
from vault.search_index import period_table, periods
from vault.storable import storable
from vault.store import Store, connect_raw, db_path

ME = options("sanne@example.org")
REPLACED = "AB\ufffdC"
"""``LONE_SURROGATE`` as stored: the surrogate replaced by U+FFFD."""


# --- checks shared by every test here --------------------------------------------------------

ORPHANS = {
    "blob": (
        "SELECT count(*) FROM blob WHERE sha256 NOT IN (SELECT raw_blob FROM interaction "
        "WHERE raw_blob IS NOT NULL UNION SELECT blob_sha FROM attachment "
        "UNION SELECT blob_sha FROM quarantine)"
    ),
    "thread": (
        "SELECT count(*) FROM thread WHERE id NOT IN "
        "(SELECT thread_id FROM interaction WHERE thread_id IS NOT NULL)"
    ),
    "company": "SELECT count(*) FROM company WHERE id NOT IN (SELECT company_id FROM interaction)",
    "booking": (
        "SELECT count(*) FROM booking WHERE id NOT IN (SELECT booking_id FROM bookingsource)"
    ),
}
"""Rows nothing refers to: what a rolled-back item would leave if its rollback were partial."""


def assert_whole(store: Store) -> None:
    """No dangling reference, no orphan row, and every search index matching its items."""
    with store.begin() as conn:
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        orphans = {name: conn.execute(text(sql)).scalar_one() for name, sql in ORPHANS.items()}
        assert orphans == dict.fromkeys(ORPHANS, 0)
        for period in periods(conn):
            table = period_table(period)
            conn.execute(text(f"INSERT INTO {table}({table}) VALUES ('integrity-check')"))


def assert_doctor_clean(folder: Path) -> None:
    """``kluis doctor --json`` on ``folder`` finds the vault healthy."""
    home = folder.parent / f"{folder.name}-home"
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    done = run_in_process(Kluis(folder, home, home / "tmp"), "doctor", "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["ok"], report


def imported(folder: Path, fmt: str, path: Path, opts: ImportOptions = ME) -> Summary:
    """``path`` imported as ``fmt`` through the Python import API into the vault in ``folder``."""
    store = open_for_test(folder)
    try:
        return Ingestor(store, opts, fmt, str(path)).run(importers.load(fmt).read(path, opts))
    finally:
        store.close()


def one_value(folder: Path, sql: str) -> Any:
    store = open_for_test(folder)
    try:
        with store.read() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        store.close()


def test_doctor_names_rows_that_refer_to_rows_that_do_not_exist(kluis: Kluis) -> None:
    keyfile = keymod.load_keys(kluis.vault)
    dek = keymod.unwrap_with_passphrase(keyfile, kluis.passphrase)
    with closing(connect_raw(db_path(kluis.vault), dek)) as db:  # as a damaged vault has it
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute("INSERT INTO displayname(company_id, name, seen) VALUES (4711, 'KLM', 1)")

    done = kluis.run("doctor", "--json")

    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert done.returncode == 1
    assert not checks["references"]["ok"]
    detail = checks["references"]["detail"]
    assert detail == "1 row refers to rows that do not exist (in displayname)"


# --- a lone surrogate, end to end --------------------------------------------------------------

ORDINARY = 1_500


def test_a_lone_surrogate_in_a_new_senders_booking_stops_no_import(
    kluis: Kluis, tmp_path: Path
) -> None:
    poisoned = booking_mail(flight_jsonld(reference=LONE_SURROGATE), shop="klm.com")
    ordinary = (mail_bytes(n, shop="klm.com") for n in range(ORDINARY))
    mbox = write_mbox_of(tmp_path / "inbox.mbox", [poisoned, *ordinary])

    first = kluis.json("import", str(mbox))
    again = kluis.json("import", str(mbox))

    assert (first["new"], first["quarantined"], first["errors"]) == (ORDINARY + 1, 0, 0), first
    assert (again["new"], again["quarantined"], again["errors"]) == (0, 0, 0), again
    assert [(c["name"], c["interactions"]) for c in kluis.json("companies")] == [
        ("KLM", ORDINARY + 1)
    ]
    assert [b["reference"] for b in kluis.json("bookings")] == [REPLACED]
    kluis.doctor()


@dataclass(frozen=True)
class Source:
    """A file of some format with lone surrogates in it, and where the safe text must show."""

    format: str
    write: Callable[[Path], Path]
    items: int
    shows: str
    """SQL of one text that holds U+FFFD where the source had a lone surrogate."""


def _messenger(root: Path) -> Path:
    messages = [meta_message(n, f"Uw auto is klaar {n} {LONE_SURROGATE}") for n in range(3)]
    return write_meta_export(root, "facebook", meta_thread(messages, title="Garage Smit"))


def _jsonld(root: Path) -> Path:
    path = root / "booking.jsonld"
    path.write_text(json.dumps([flight_jsonld(reference=LONE_SURROGATE)]))
    return path


def _html(root: Path) -> Path:
    path = root / "booking.html"
    path.write_text(booking_page(flight_jsonld(reference=LONE_SURROGATE)))
    return path


def _pkpass(root: Path) -> Path:
    path = root / "boarding.pkpass"
    path.write_bytes(pkpass_zip(json.dumps(boarding_pass_json(f"Boarding {LONE_SURROGATE}"))))
    return path


def _maildir(root: Path) -> Path:
    folder = root / "Mail"
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True)
    for n in range(4):
        # A file name that is not UTF-8: Python names it with surrogate escapes.
        name = os.fsencode(folder / "cur") + b"/%d.\xff\xfe.host:2,S" % n
        Path(os.fsdecode(name)).write_bytes(mail_bytes(n, shop="klm.com"))
    return folder


SOURCES = [
    Source("messenger", _messenger, 3, "SELECT body FROM interaction ORDER BY id LIMIT 1"),
    Source("jsonld", _jsonld, 1, "SELECT reference FROM booking"),
    Source("html", _html, 1, "SELECT reference FROM booking"),
    Source("pkpass", _pkpass, 1, "SELECT body FROM interaction"),
    Source("maildir", _maildir, 4, "SELECT source_ref FROM interaction ORDER BY id LIMIT 1"),
]


@pytest.mark.parametrize("source", SOURCES, ids=[s.format for s in SOURCES])
def test_lone_surrogates_in_any_kind_of_item_are_stored_made_safe(
    source: Source, kluis: Kluis, tmp_path: Path
) -> None:
    path = source.write(tmp_path)

    first = imported(kluis.vault, source.format, path)
    again = imported(kluis.vault, source.format, path)

    assert (first.new, first.quarantined, first.errors) == (source.items, 0, 0), first
    assert (again.new, again.quarantined, again.errors) == (0, 0, 0), again
    assert "\ufffd" in one_value(kluis.vault, source.shows)
    kluis.doctor()


def test_records_are_made_storable_everywhere_and_copied_only_where_they_change() -> None:
    clean = mail(1)
    loop: list[object] = []
    loop.append(loop)
    dirty = mail(2, f"KLM {LONE_SURROGATE} <noreply@klm.com>", title="\ud83d\ude00 pair")
    dirty.extras = {LONE_SURROGATE: [{"ref": LONE_SURROGATE}], "loop": loop}
    dirty.bookings.append(Booking("flight", LONE_SURROGATE, travellers=[LONE_SURROGATE]))

    made = storable(dirty)

    assert storable(clean) is clean
    assert made is not dirty and dirty.title == "\ud83d\ude00 pair"  # the original untouched
    assert made.title == "\U0001f600 pair"  # a pair is the character it encodes
    assert made.sender == Party(f"KLM {REPLACED}", "noreply@klm.com")
    assert made.extras[REPLACED] == [{"ref": REPLACED}] and made.extras["loop"] is loop
    assert (made.bookings[0].reference, made.bookings[0].travellers) == (REPLACED, [REPLACED])
    assert made.recipients is dirty.recipients  # nothing to change: not copied


# --- any one item refused, as a property -------------------------------------------------------

SENDERS = (
    "KLM <noreply@klm.com>",  # in the vault before the import
    "Transavia <info@transavia.com>",
    "Sunwing Airlines <booking@sunwing.example>",
    "Lotte Jansen <lotte.jansen@gmail.com>",
)
CHATS = ("Garage Smit", "Fietsenwinkel Jansen")
REFERENCES = ("ABC123", "XYZ789")
KINDS = ("mail", "chat", "booking", "document", "attachment", "thread")
"""A ``document`` is a booking that names no one: it joins the company holding its reference."""
REFUSALS = {
    "before insert": (
        "CREATE TRIGGER refuse BEFORE INSERT ON interaction WHEN new.dedup_key = '{key}' "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    ),
    "after insert": (  # after the item's company, identifiers, thread and index rows
        "CREATE TRIGGER refuse AFTER INSERT ON interaction WHEN new.dedup_key = '{key}' "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    ),
    "attachment": (
        "CREATE TRIGGER refuse BEFORE INSERT ON attachment WHEN (SELECT dedup_key FROM "
        "interaction WHERE id = new.interaction_id) = '{key}' "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    ),
    "booking": (
        "CREATE TRIGGER refuse BEFORE INSERT ON bookingsource WHEN (SELECT dedup_key FROM "
        "interaction WHERE id = new.interaction_id) = '{key}' "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    ),
    "value": None,  # a record value the store cannot encode: a JSON loop in its extras
}


def refusals_for(kind: str) -> list[str]:
    """The ways an item of ``kind`` can be refused."""
    extra = {"attachment": ["attachment"], "booking": ["booking"], "document": ["booking"]}
    return ["before insert", "after insert", "value", *extra.get(kind, [])]


@dataclass(frozen=True)
class Spec:
    """One item of a generated import: its kind, who it is with, and what it shares."""

    kind: str
    who: int = 0
    pick: int = 0
    surrogate: bool = False
    """A lone surrogate in its title: the fast path fails and the batch is written carefully."""


def build(n: int, spec: Spec) -> Interaction:
    """The record an importer would yield for ``spec``, the ``n``-th of the import."""
    when = datetime(2019, 1, 1, 9, tzinfo=UTC) + timedelta(days=97 * n)
    title = f"Item {n}" + (LONE_SURROGATE if spec.surrogate else "")
    booking = Booking("flight", REFERENCES[spec.pick % 2], number=f"KL{n}", start=when)
    if spec.kind == "chat":
        name = CHATS[spec.who % len(CHATS)]
        return Interaction(
            channel="chat",
            direction="in",
            occurred_at=when,
            title=title,
            body=f"message {n}",
            source_ref=f"chat/{n}",
            dedup_key=f"chat:{n}",
            sender=Party(name, None, "chat_handle"),
            raw=f"{name}: message {n}".encode(),
            thread_key=f"telegram:{name}",
            thread_title=name,
            hints=CompanyHints(chat_kind="private"),
        )
    if spec.kind == "document":
        return Interaction(
            channel="booking",
            direction="in",
            occurred_at=when,
            title=title,
            body="Your flight",
            source_ref=f"doc/{n}.jsonld",
            dedup_key=f"doc:{n}",
            raw=f"document {n}".encode(),
            bookings=[booking],
        )
    item = mail(n, SENDERS[spec.who % len(SENDERS)], title=title, when=when)
    if spec.kind == "booking":
        item.bookings.append(booking)
    elif spec.kind == "attachment":
        item.attachments.append(Attachment(f"invoice-{spec.pick}.pdf", "application/pdf", b"%PDF"))
    elif spec.kind == "thread":
        item.thread_key = f"<thread-{spec.pick}@klm.com>"
    return item


SEED = [
    mail(900, SENDERS[0]),
    build(901, Spec("booking", who=0, pick=0)),
    build(902, Spec("chat", who=0)),
]
"""What the vault holds before: KLM with a booking, and a chat with Garage Smit."""


@dataclass(frozen=True)
class Scenario:
    specs: list[Spec]
    refused: int
    """The index of the item the store refuses."""
    how: str
    batch: int


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    spec = st.builds(
        Spec,
        st.sampled_from(KINDS),
        st.integers(0, len(SENDERS) - 1),
        st.integers(0, 1),
        st.booleans(),
    )
    specs = draw(st.lists(spec, min_size=1, max_size=12))
    refused = draw(st.integers(0, len(specs) - 1))
    how = draw(st.sampled_from(refusals_for(specs[refused].kind)))
    return Scenario(specs, refused, how, draw(st.integers(1, len(specs) + 1)))


def view(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Everything an import decides, by names and keys (ids differ between vaults)."""
    queries = {
        "items": (
            "SELECT i.dedup_key, c.name, c.kind, r.kind, r.value, t.key, i.title, i.counterpart "
            "FROM interaction i JOIN company c ON c.id = i.company_id "
            "LEFT JOIN identifier r ON r.id = i.resolved_by "
            "LEFT JOIN thread t ON t.id = i.thread_id"
        ),
        "companies": (
            "SELECT c.name, c.kind, i.kind, i.value FROM company c "
            "LEFT JOIN identifier i ON i.company_id = c.id"
        ),
        "names": (
            "SELECT c.name, d.name, d.seen FROM displayname d JOIN company c ON c.id = d.company_id"
        ),
        "attachments": (
            "SELECT i.dedup_key, a.filename, a.blob_sha FROM attachment a "
            "JOIN interaction i ON i.id = a.interaction_id"
        ),
        "bookings": (
            "SELECT c.name, b.kind, b.reference, b.segment, b.status, b.number, b.start_at "
            "FROM booking b JOIN company c ON c.id = b.company_id"
        ),
        "booking sources": (
            "SELECT i.dedup_key, b.reference, s.role FROM bookingsource s "
            "JOIN booking b ON b.id = s.booking_id JOIN interaction i ON i.id = s.interaction_id"
        ),
        "threads": "SELECT key, title FROM thread",
    }
    with store.read() as conn:
        return {
            name: sorted((tuple(row) for row in conn.execute(text(sql))), key=repr)
            for name, sql in queries.items()
        }


@pytest.fixture(scope="module")
def seeded_vault(template_vault: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vault holding ``SEED``, copied for each example."""
    folder = tmp_path_factory.mktemp("seeded") / "vault"
    shutil.copytree(template_vault, folder)
    store = open_for_test(folder)
    try:
        Ingestor(store, ME, "test", "seed").run(SEED)
    finally:
        store.close()
    return folder


@contextmanager
def vault_copy(seeded: Path, folder: Path) -> Iterator[Store]:
    """A copy of the seeded vault in ``folder``, open."""
    shutil.copytree(seeded, folder)
    store = open_for_test(folder)
    try:
        yield store
    finally:
        store.close()


def run(store: Store, items: list[Item], batch: int) -> Summary:
    return Ingestor(store, ME, "test", "generated", batch_size=batch).run(items)


def refuse(store: Store, item: Interaction, how: str) -> None:
    """Make the store refuse ``item``, the way ``how`` says."""
    trigger = REFUSALS[how]
    if trigger is None:
        loop: list[object] = []
        loop.append(loop)
        item.extras["loop"] = loop
        return
    with store.begin() as conn:
        conn.exec_driver_sql(trigger.format(key=item.dedup_key))


PROPERTY = settings(
    max_examples=300 if LONG else 12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
HEADLINE = Scenario(
    [Spec("booking", who=2), Spec("mail", who=2), Spec("mail", who=1), Spec("mail", who=2)],
    refused=0,
    how="after insert",
    batch=10,
)
"""The issue's case: a new sender's first item refused, then more of that sender's mail and
another new sender's, whose company reused the refused company's id."""


@PROPERTY
@given(scenario=scenarios())
@example(scenario=HEADLINE)
@example(scenario=Scenario([Spec("mail", who=2), Spec("mail", who=2)], 0, "value", batch=1))
@example(scenario=Scenario([Spec("thread"), Spec("thread"), Spec("mail", who=1)], 0, "value", 9))
def test_an_item_the_store_refuses_is_quarantined_and_every_other_is_stored_as_without_it(
    scenario: Scenario, seeded_vault: Path
) -> None:
    items = [build(n, spec) for n, spec in enumerate(scenario.specs)]
    refused = items[scenario.refused]
    others = [item for item in items if item is not refused]
    with tempfile.TemporaryDirectory(prefix="kluis-refused-") as tmp:
        with vault_copy(seeded_vault, Path(tmp) / "without") as without:
            run(without, others, scenario.batch)
            expected = view(without)
        with vault_copy(seeded_vault, Path(tmp) / "vault") as store:
            refuse(store, refused, scenario.how)

            first = run(store, items, scenario.batch)
            after_first = view(store)
            again = run(store, items, scenario.batch)

            assert (first.new, first.quarantined, first.errors) == (len(others), 1, 0), first
            assert (again.new, again.duplicate, again.quarantined) == (0, len(others), 1), again
            assert after_first == expected
            assert view(store) == expected
            with store.read() as conn:
                kept = conn.execute(text("SELECT source_ref, reason FROM quarantine")).all()
            assert [ref for ref, _ in kept] == [refused.source_ref]
            reason = kept[0][1]
            assert reason.startswith("could not be stored: ") and "\n" not in reason
            assert ("Circular reference" if scenario.how == "value" else "injected") in reason
            assert_whole(store)
        assert_doctor_clean(Path(tmp) / "vault")
