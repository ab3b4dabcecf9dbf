"""The Maildir importer, told as what a user importing a mail folder sees."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import importers
from importers.email import eml, maildir, mbox
from tests.test_importer_mbox import (
    INBOX,
    MAILS,
    ME,
    cli_import,
    ingest,
    mails_of,
    resumed,
    stored_extras,
    stored_keys,
    write,
)
from vault.errors import UnsupportedFormat
from vault.records import Checkpoint, ImportOptions, Interaction, Item, Quarantined
from vault.store import Store

MAILDIR = Path(__file__).parent / "fixtures" / "maildir" / "Maildir"
PLAIN = b"From: a@example.com\nDate: Mon, 1 Jul 2024 10:00:00 +0000\nSubject: %s\n\nHi\n"


def read_all(path: Path = MAILDIR) -> list[Item]:
    return list(maildir.read(path, ME))


def by_title(items: list[Item]) -> dict[str, Interaction]:
    return {mail.title: mail for mail in mails_of(items)}


def test_folders_and_flags_go_into_the_extras() -> None:
    mails = by_title(read_all())

    lunch = mails["Lunch on Friday?"]
    assert (lunch.extras["folder"], lunch.extras["flags"]) == ("INBOX", ["replied", "seen"])
    assert mails["Re: Lunch on Friday?"].extras["folder"] == "Sent"
    assert mails["Re: Lunch on Friday?"].direction == "out"
    assert mails["Je factuur van Coolblue"].extras["folder"] == "Archive/2023"
    assert mails["Offerte zonnepanelen"].extras["flags"] == ["flagged", "seen"]
    unseen = mails["Je pakket komt vandaag"]  # still in new/
    assert (unseen.extras["folder"], unseen.extras["flags"]) == ("INBOX", [])


def test_every_mail_is_read_once_and_tmp_is_left_alone() -> None:
    items = read_all()

    assert len(mails_of(items)) == MAILS
    assert [q.reason for q in items if isinstance(q, Quarantined)] == [
        "not an RFC 822 mail: no From, Date, Subject, Received or Message-ID header"
    ]
    refs = [item.source_ref for item in items if not isinstance(item, Checkpoint)]
    # Relative to the Maildir, so a checkout that itself lives under /tmp does not matter.
    assert refs and not any("/tmp/" in ref.removeprefix(str(MAILDIR)) for ref in refs)


def test_each_folder_ends_with_its_checkpoint_in_sorted_order() -> None:
    items = read_all()
    checkpoints = [item for item in items if isinstance(item, Checkpoint)]
    root = MAILDIR.resolve()

    assert [c.source for c in checkpoints] == [
        f"maildir:{root}",
        f"maildir:{root / '.Archive.2023'}",
        f"maildir:{root / '.Sent'}",
    ]
    assert checkpoints[0].state["files"] == 17  # 16 in cur/ and 1 in new/
    assert isinstance(items[-1], Checkpoint)
    refs = [item.source_ref for item in items if isinstance(item, Interaction)][:16]
    assert refs == sorted(refs, key=lambda ref: Path(ref).name)


@pytest.mark.parametrize(
    ("name", "flags"),
    [
        ("1700000000.M1P2.host,S=120:2,FRS", ["flagged", "replied", "seen"]),
        ("1700000000.M1P2.host:2,DPT", ["draft", "passed", "trashed"]),
        ("1700000000.M1P2.host;2,S", ["seen"]),  # Windows-safe separators
        ("1700000000.M1P2.host!2,Sab", ["seen"]),  # a, b: Dovecot keywords
        ("1700000000.M1P2.host", []),
        ("1700000000.M1P2.host:1,experimental", []),
    ],
)
def test_flags_come_from_the_file_name(name: str, flags: list[str]) -> None:
    assert maildir.flags(name) == flags


def test_plain_nested_maildirs_are_named_by_their_path(tmp_path: Path) -> None:
    mail = tmp_path / "Mail"
    write(mail / "INBOX" / "cur" / "1:2,S", PLAIN % b"In the inbox")
    write(mail / "Work" / "Projects" / "new" / "2", PLAIN % b"A project")
    write(mail / "Work" / "cur" / "3:2,", PLAIN % b"At work")
    mails = by_title(read_all(mail))

    assert {title: m.extras["folder"] for title, m in mails.items()} == {
        "In the inbox": "INBOX",
        "A project": "Work/Projects",
        "At work": "Work",
    }


def test_a_single_plain_maildir_keeps_its_own_name(tmp_path: Path) -> None:
    write(tmp_path / "Receipts" / "cur" / "1:2,S", PLAIN % b"Receipt")

    assert by_title(read_all(tmp_path / "Receipts"))["Receipt"].extras["folder"] == "Receipts"


def test_a_maildir_is_recognised_and_not_taken_for_eml_files(tmp_path: Path) -> None:
    write(tmp_path / "Mail" / "Work" / "cur" / "1.eml:2,S", PLAIN % b"x")

    assert maildir.sniff(MAILDIR)
    assert maildir.sniff(MAILDIR.parent)  # the folder that holds it
    assert maildir.sniff(tmp_path / "Mail")
    assert not eml.sniff(tmp_path / "Mail" / "Work")
    assert not maildir.sniff(tmp_path)
    assert not maildir.sniff(INBOX)
    assert importers.detect(MAILDIR) == "maildir"
    with pytest.raises(UnsupportedFormat, match="no Maildir"):
        read_all(tmp_path / "Mail" / "Work" / "cur")


def test_mbox_and_its_maildir_twin_give_one_copy_of_each_mail(store: Store) -> None:
    first = ingest(store, mbox.read(INBOX, ME))
    twin = ingest(store, maildir.read(MAILDIR, ME), "maildir")
    again = ingest(store, mbox.read(INBOX, ME))

    assert (first.new, twin.new, again.new) == (MAILS, 0, 0)
    assert twin.duplicate == again.duplicate == MAILS
    keys = stored_keys(store)
    assert len(keys) == len(set(keys)) == MAILS
    # The mail without Message-ID is the same bytes in both: one copy by content hash.
    assert sum(key.startswith("sha256:") for key in keys) == 1


def test_the_maildir_first_keeps_its_folders_and_the_mbox_adds_nothing(store: Store) -> None:
    ingest(store, maildir.read(MAILDIR, ME), "maildir")
    again = ingest(store, mbox.read(INBOX, ME))

    assert (again.new, again.duplicate) == (0, MAILS)
    assert stored_extras(store)["Je factuur van Coolblue"]["folder"] == "Archive/2023"


def test_unchanged_folders_are_skipped_and_a_new_mail_reopens_only_its_folder(
    tmp_path: Path,
) -> None:
    copy = tmp_path / "Maildir"
    shutil.copytree(MAILDIR, copy)
    cursors = {c.source: c.state for c in read_all(copy) if isinstance(c, Checkpoint)}
    opts = ImportOptions(timezone=ME.timezone, me_addresses=ME.me_addresses, cursors=cursors)

    assert list(maildir.read(copy, opts)) == []

    write(copy / ".Sent" / "new" / "1712500000.M1P9.host", PLAIN % b"Sent later")
    items = list(maildir.read(copy, opts))
    assert [m.title for m in mails_of(items)] == [
        "Re: Lunch on Friday?",
        "Seat change for booking QXR8TL",
        "Sent later",
    ]
    assert [c.source for c in items if isinstance(c, Checkpoint)] == [
        f"maildir:{(copy / '.Sent').resolve()}"
    ]


def test_a_big_maildir_parsed_by_the_workers_gives_what_reading_it_here_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "Maildir"
    shutil.copytree(MAILDIR, copy)
    letter = b"Beste klant, hierbij uw overzicht. " * 400
    for n in range(400):  # 5 MiB in the inbox and in Sent: the pool reads them
        folder = copy / ("cur" if n % 2 else ".Sent/cur")
        write(folder / f"17000{n:05}.M{n}P1.host:2,S", PLAIN % b"Overzicht %d" % n + letter)
    assert sum(f.stat().st_size for f in copy.rglob("*") if f.is_file()) > mbox.POOL_MIN_BYTES

    pooled = read_all(copy)
    monkeypatch.setattr(maildir, "POOL_MIN_BYTES", 1 << 40)
    here = read_all(copy)

    assert pooled == here  # same records and checkpoints, in the same order
    assert len(mails_of(pooled)) == MAILS + 400
    assert all(m.raw_packed is not None for m in mails_of(pooled))


def test_reimporting_an_unchanged_maildir_through_the_vault_reads_nothing(store: Store) -> None:
    ingest(store, maildir.read(MAILDIR, ME), "maildir")

    assert list(maildir.read(MAILDIR, resumed(store))) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_an_unreadable_mail_is_quarantined_and_its_folder_read_again_next_time(
    tmp_path: Path,
) -> None:
    locked = write(tmp_path / "box" / "cur" / "1:2,S", PLAIN % b"Locked")
    write(tmp_path / "box" / "cur" / "2:2,S", PLAIN % b"Open")
    locked.chmod(0)
    try:
        items = read_all(tmp_path / "box")
    finally:
        locked.chmod(0o600)

    assert [type(item) for item in items] == [Quarantined, Interaction]


def test_maildir_import_through_the_cli(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = cli_import(capsys, MAILDIR, "--me", "sanne@example.org")

    assert (summary["new"], summary["quarantined"], summary["errors"]) == (MAILS, 1, 0)
