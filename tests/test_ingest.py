"""The ingest pipeline: dedup, quarantine, batches with checkpoints, resuming a killed import."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from sqlalchemy import text

from importers.email.message import parse_message
from tests.support import mail, options
from vault.blobs import decoded, get_blob
from vault.errors import ImportFailed
from vault.ingest import Ingestor, load_cursors
from vault.pool import map_in_pool, packed_ahead
from vault.records import Attachment, Booking, Checkpoint, Interaction, Item, Quarantined
from vault.store import Store, execute


def count(store: Store, table: str) -> int:
    with store.read() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_reimporting_the_same_items_adds_nothing(store: Store) -> None:
    items = [mail(i) for i in range(30)]
    first = Ingestor(store, options(), "test", "t", batch_size=7).run(items)
    second = Ingestor(store, options(), "test", "t", batch_size=7).run(items)
    assert (first.new, first.duplicate) == (30, 0)
    assert (second.new, second.duplicate) == (0, 30)
    assert count(store, "interaction") == 30


def test_the_first_items_are_stored_before_a_whole_batch_is_read(store: Store) -> None:
    # The progress a user watches moves after the first 125 items, not after 500: the first
    # batch is small and each next one doubles up to the batch size.
    stored: list[int] = []
    Ingestor(
        store, options(), "test", "t", progress=lambda summary: stored.append(summary.new)
    ).run(mail(i) for i in range(3000))
    assert stored == [125, 375, 875, 1375, 1875, 2375, 2875, 3000]
    assert count(store, "interaction") == 3000


def test_a_packed_mail_the_store_refuses_is_quarantined_with_its_exact_bytes(
    store: Store,
) -> None:
    # A parse worker sends the raw mail packed only (here a skeleton: the attachment's base64
    # cut out); when the store refuses the item, its quarantine still holds every byte read.
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "shop@example.com", "me@example.org", "x"
    message["Date"] = "Tue, 03 Dec 2024 10:00:00 +0100"
    message.set_content("Your invoice is attached.")
    message.add_attachment(bytes(range(256)) * 64, "application", "pdf", filename="f.pdf")
    raw = message.as_bytes()
    item = packed_ahead(parse_message(raw, "inbox/1", options()))
    assert isinstance(item, Interaction) and item.raw is None and item.raw_packed is not None
    assert item.raw_packed.codec == "skeleton"
    item.extras["loop"] = loop = []  # the store cannot write it: refused
    loop.append(loop)

    summary = Ingestor(store, options(), "test", "t").run([item])

    assert (summary.new, summary.quarantined) == (0, 1)
    with store.reader() as conn:
        digest = execute(conn, "SELECT blob_sha FROM quarantine").scalar()
        assert get_blob(conn, digest) == raw


def test_the_same_item_twice_in_one_batch_is_stored_once(store: Store) -> None:
    summary = Ingestor(store, options(), "test", "t").run([mail(1), mail(1)])
    assert (summary.new, summary.duplicate) == (1, 1)


def test_quarantine_keeps_the_raw_bytes_and_reason_and_the_import_goes_on(store: Store) -> None:
    broken = Quarantined("inbox/broken.eml", b"\x00\x01 not a mail", "no header lines")
    summary = Ingestor(store, options(), "test", "t").run([mail(1), broken, mail(2)])
    assert (summary.new, summary.quarantined) == (2, 1)
    with store.read() as conn:
        row = conn.execute(
            text(
                "SELECT q.reason, q.source_ref, b.data, b.codec FROM quarantine q "
                "JOIN blob b ON b.sha256 = q.blob_sha"
            )
        ).one()
    assert row.reason == "no header lines"
    assert row.source_ref == "inbox/broken.eml"
    assert decoded(row.data, row.codec) == b"\x00\x01 not a mail"


def test_attachments_with_the_same_content_are_stored_once(store: Store) -> None:
    first, second = mail(1), mail(2)
    for item in (first, second):
        item.attachments.append(Attachment("invoice.pdf", "application/pdf", b"%PDF-1.4 same"))
    Ingestor(store, options(), "test", "t").run([first, second])
    assert count(store, "attachment") == 2
    with store.read() as conn:
        shas = conn.execute(text("SELECT DISTINCT blob_sha FROM attachment")).all()
    assert len(shas) == 1


def _source_with_checkpoints(total: int, crash_at: int | None) -> Iterator[Item]:
    for n in range(total):
        if n == crash_at:
            raise OSError("disk unplugged")
        yield mail(n)
        yield Checkpoint("mbox:/tmp/inbox", {"offset": n + 1})


def _resumed(total: int, cursor: dict[str, object]) -> Iterator[Item]:
    start = int(cursor.get("offset", 0))  # type: ignore[call-overload]
    for n in range(start, total):
        yield mail(n)
        yield Checkpoint("mbox:/tmp/inbox", {"offset": n + 1})


def test_a_killed_import_resumes_from_its_checkpoint_without_loss_or_duplicates(
    store: Store,
) -> None:
    with pytest.raises(ImportFailed, match="disk unplugged"):
        Ingestor(store, options(), "test", "t", batch_size=10).run(
            _source_with_checkpoints(50, crash_at=35)
        )
    committed = count(store, "interaction")
    cursor = load_cursors(store)["mbox:/tmp/inbox"]
    assert committed == 30 and cursor == {"offset": 30}  # three whole batches, none partial
    summary = Ingestor(store, options(), "test", "t", batch_size=10).run(_resumed(50, cursor))
    assert (summary.new, summary.duplicate) == (20, 0)
    assert count(store, "interaction") == 50


def test_a_failed_import_is_recorded_as_failed(store: Store) -> None:
    with pytest.raises(ImportFailed):
        Ingestor(store, options(), "test", "t").run(_source_with_checkpoints(5, crash_at=2))
    with store.read() as conn:
        status = conn.execute(text("SELECT status FROM importrun")).scalar()
    assert status == "failed"


def test_a_cancellation_updates_the_booking_and_links_both_mails(store: Store) -> None:
    confirmed, cancelled = mail(1, title="Your booking"), mail(2, title="Cancelled")
    confirmed.bookings.append(Booking("flight", "ABC123", number="KL1234"))
    cancelled.bookings.append(Booking("flight", "ABC123", status="cancelled"))
    first = Ingestor(store, options(), "test", "t").run([confirmed])
    second = Ingestor(store, options(), "test", "t").run([cancelled])
    assert (first.updated, second.updated) == (0, 1)
    with store.read() as conn:
        status = conn.execute(text("SELECT status, number FROM booking")).one()
        links = conn.execute(text("SELECT role FROM bookingsource ORDER BY interaction_id")).all()
    assert tuple(status) == ("cancelled", "KL1234")
    assert [r[0] for r in links] == ["confirmed", "cancelled"]


def _double(n: int) -> int:
    return n * 2


def test_the_process_pool_hook_keeps_input_order() -> None:
    assert list(map_in_pool(_double, range(100), workers=2, chunksize=7)) == [
        n * 2 for n in range(100)
    ]


def test_every_source_in_a_batch_keeps_its_own_checkpoint(store: Store) -> None:
    items: list[Item] = []
    for n, folder in enumerate(["INBOX", "Archive", "Sent"]):
        items += [mail(n), Checkpoint(f"imap:{folder}", {"last_uid": n + 10})]
    Ingestor(store, options(), "test", "t").run(items)
    cursors = load_cursors(store)
    assert {k: v["last_uid"] for k, v in cursors.items()} == {
        "imap:INBOX": 10,
        "imap:Archive": 11,
        "imap:Sent": 12,
    }


def test_the_next_batch_is_read_while_one_is_written(store: Store) -> None:
    # The parse pool's results are taken while a batch commits, so its workers keep parsing:
    # the importer is asked for the second batch's items before the first batch is stored.
    stored: list[int] = []
    read_while_writing: list[int] = []

    def items() -> Iterator[Item]:
        for n in range(400):
            if n == 200:
                read_while_writing.append(len(stored))
                deadline = time.monotonic() + 60
                while not stored and time.monotonic() < deadline:  # the writer goes on
                    time.sleep(0.001)
            yield mail(n)
            yield Checkpoint("mbox:/tmp/inbox", {"offset": n + 1})

    Ingestor(
        store, options(), "test", "t", progress=lambda summary: stored.append(summary.new)
    ).run(items())
    assert read_while_writing == [0]  # 125 items handed to the writer, none stored yet
    assert stored == [125, 375, 400]
    assert load_cursors(store)["mbox:/tmp/inbox"] == {"offset": 400}


def test_a_checkpoint_is_stored_as_it_was_yielded_not_as_the_importer_changed_it_later(
    store: Store,
) -> None:
    # A batch is written while the importer reads on: an importer that changes the state it
    # yielded must not move the stored cursor past items not written.
    state = {"offset": 0}

    def items() -> Iterator[Item]:
        for n in range(200):
            yield mail(n)
            state["offset"] = n + 1
            yield Checkpoint("mbox:/tmp/inbox", state)
        raise OSError("disk unplugged")

    with pytest.raises(ImportFailed, match="disk unplugged"):
        Ingestor(store, options(), "test", "t", batch_size=125).run(items())
    assert count(store, "interaction") == 125
    assert load_cursors(store)["mbox:/tmp/inbox"] == {"offset": 125}


def test_a_batch_the_store_fails_on_ends_the_import_and_keeps_the_batches_before(
    store: Store,
) -> None:
    # The batch is written in a thread of its own: its failure still ends the import, named,
    # and nothing after it is written (the next import resumes at the last cursor stored).
    with store.writer() as conn:
        execute(
            conn,
            "CREATE TRIGGER full_disk BEFORE INSERT ON sourcecursor "
            "WHEN new.state = '{\"offset\": 375}' BEGIN SELECT RAISE(ABORT, 'disk full'); END",
        )

    with pytest.raises(ImportFailed, match="stopped after 125 new items: disk full"):
        Ingestor(store, options(), "test", "t").run(_resumed(1000, {}))

    assert count(store, "interaction") == 125
    assert load_cursors(store)["mbox:/tmp/inbox"] == {"offset": 125}
    with store.read() as conn:
        status = conn.execute(text("SELECT status, new FROM importrun")).one()
    assert tuple(status) == ("failed", 125)
