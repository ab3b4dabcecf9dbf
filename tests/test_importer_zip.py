"""Zip archives of exports, told as what a user importing ``export.zip`` sees."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

import importers
from cli.main import main
from importers import archive
from importers.chat import telegram
from tests.test_importer_mbox import (
    INBOX,
    MAILS,
    ME,
    TAKEOUT,
    cli_import,
    ingest,
    killed_after,
    mails_of,
    resumed,
    stored_keys,
)
from vault.errors import ImportFailed, MalformedInput, UnsupportedFormat
from vault.records import Checkpoint, Interaction, Item, Quarantined
from vault.store import Store

FIXTURES = Path(__file__).parent / "fixtures"
MIXED = FIXTURES / "zip" / "mixed_export.zip"
UNSAFE = FIXTURES / "zip" / "unsafe_members.zip"
TELEGRAM = FIXTURES / "telegram" / "full_export" / "result.json"
CHATS = len(mails_of(telegram.parse_export(TELEGRAM.read_bytes(), "result.json", ME)))


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as handle:
        for name, data in members.items():
            handle.writestr(name, data)
    return path


def read_all(path: Path, only: str | None = None) -> list[Item]:
    return list(archive.read_zip(path, ME, only))


def refs(items: list[Item]) -> list[str]:
    return [item.source_ref for item in items if isinstance(item, Interaction)]


# --- what is read from a zip -------------------------------------------------------------------


def test_a_zip_of_eml_mbox_maildir_and_telegram_exports_imports_each_mail_once(
    store: Store,
) -> None:
    summary = ingest(store, archive.read(MIXED, ME), "zip")

    # The mbox and the Maildir inside are twins: each of their mails is stored once.
    assert summary.new == 1 + MAILS + CHATS
    assert summary.duplicate == MAILS
    assert summary.quarantined == 2  # the note in the mbox and in the Maildir
    keys = stored_keys(store)
    assert len(keys) == len(set(keys))


def test_members_are_named_in_their_source_refs_and_maildir_folders_kept() -> None:
    items = read_all(MIXED)
    mails = mails_of(items)

    assert f"{MIXED}!saved/lunch.eml" in refs(items)
    assert f"{MIXED}!mail/inbox.mbox#0" in refs(items)
    sent = [m for m in mails if m.extras.get("folder") == "Sent"]
    assert len(sent) == 2 and all(
        m.source_ref.startswith(f"{MIXED}!backup/Maildir/.Sent/cur/") for m in sent
    )
    assert any(
        m.extras.get("folder") == "INBOX" and m.extras["flags"] == ["replied", "seen"]
        for m in mails
    )


INSIDE = [
    pytest.param("eml", 1),
    ("mbox", MAILS),
    ("maildir", MAILS),
    pytest.param("telegram", CHATS),
]


@pytest.mark.parametrize(("fmt", "mails"), INSIDE)
def test_a_format_given_for_a_zip_reads_only_that_format_inside(fmt: str, mails: int) -> None:
    items = list(importers.load(fmt).read(MIXED, ME))

    assert len(mails_of(items)) == mails
    assert all(f"{MIXED}!" in item.source_ref for item in items if not isinstance(item, Checkpoint))


@pytest.mark.parametrize(
    ("fmt", "mails"), [("eml", 1), ("mbox", MAILS), ("maildir", MAILS), ("telegram", CHATS)]
)
def test_the_zip_reader_reads_only_the_format_asked_for(fmt: str, mails: int) -> None:
    assert len(mails_of(read_all(MIXED, fmt))) == mails


def test_a_takeout_zip_is_recognised_and_keeps_gmails_labels(tmp_path: Path) -> None:
    name = "Takeout/Mail/All mail Including Spam and Trash.mbox"
    export = make_zip(tmp_path / "takeout-20240301T101010Z-001.zip", {name: TAKEOUT.read_bytes()})

    assert importers.detect(export) == "takeout"
    spam = [
        m
        for m in mails_of(importers.load("takeout").read(export, ME))
        if m.title == "You have won!"
    ]
    assert spam[0].extras["labels"] == ["Spam"]


def test_a_gmail_mbox_in_any_zip_keeps_its_labels(tmp_path: Path) -> None:
    export = make_zip(tmp_path / "backup.zip", {"gmail.mbox": TAKEOUT.read_bytes()})

    assert importers.detect(export) == "zip"
    assert all("labels" in m.extras for m in mails_of(read_all(export)))
    assert not any("labels" in m.extras for m in mails_of(read_all(export, "mbox")))


MSG_FILES = sorted((FIXTURES / "msg").glob("*.msg"))
SMS_BACKUPS = sorted((FIXTURES / "sms").glob("*.xml"))


def test_outlook_msg_files_and_sms_backups_inside_a_zip_are_read(tmp_path: Path) -> None:
    members = {f"Outlook/{path.name}": path.read_bytes() for path in MSG_FILES}
    members |= {f"Phone/{path.name}": path.read_bytes() for path in SMS_BACKUPS}
    members["Phone/settings.xml"] = b"<?xml version='1.0'?><settings/>"  # not a backup
    export = make_zip(tmp_path / "backup.zip", members)

    items = read_all(export)
    mails = [m for m in mails_of(items) if m.channel == "email"]
    texts = [m for m in mails_of(items) if m.channel != "email"]
    assert sorted({m.source_ref.rpartition("!")[2] for m in mails}) == [
        f"Outlook/{path.name}" for path in MSG_FILES
    ]
    unpacked = [m for path in MSG_FILES for m in mails_of(importers.load("msg").read(path, ME))]
    assert sorted(m.title for m in mails) == sorted(m.title for m in unpacked)
    unpacked = [m for path in SMS_BACKUPS for m in mails_of(importers.load("sms").read(path, ME))]
    assert sorted(m.dedup_key for m in texts) == sorted(m.dedup_key for m in unpacked)
    assert not any(
        "settings.xml" in item.source_ref for item in items if hasattr(item, "source_ref")
    )


@pytest.mark.parametrize("fmt", ["msg", "sms"])
def test_msg_or_sms_given_for_a_zip_reads_only_those_members(fmt: str, tmp_path: Path) -> None:
    members = {path.name: path.read_bytes() for path in [*MSG_FILES, *SMS_BACKUPS]}
    export = make_zip(tmp_path / "backup.zip", members)

    items = mails_of(importers.load(fmt).read(export, ME))
    suffix = ".msg" if fmt == "msg" else ".xml"
    members_read = {m.source_ref.rpartition("!")[2].partition("#")[0] for m in items}
    assert members_read and all(name.endswith(suffix) for name in members_read)


def test_a_zip_with_nothing_known_inside_says_so(tmp_path: Path) -> None:
    photos = make_zip(tmp_path / "photos.zip", {"IMG_0001.jpg": b"\xff\xd8\xff"})
    empty = make_zip(tmp_path / "empty.zip", {})

    assert importers.detect(empty) == "zip"
    with pytest.raises(UnsupportedFormat, match="no mail or chat export inside"):
        read_all(photos)
    chat = make_zip(tmp_path / "chat.zip", {"result.json": TELEGRAM.read_bytes()})
    with pytest.raises(UnsupportedFormat, match="no eml files inside"):
        read_all(chat, "eml")


def test_a_broken_or_fake_zip_is_a_clear_error(tmp_path: Path) -> None:
    truncated = tmp_path / "cut.zip"
    truncated.write_bytes(MIXED.read_bytes()[:3000])
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"not a zip at all")

    with pytest.raises(MalformedInput, match="not a readable zip archive"):
        read_all(truncated)
    with pytest.raises(UnsupportedFormat):
        importers.detect(fake)


def test_a_corrupt_member_is_quarantined_and_the_others_read(tmp_path: Path) -> None:
    data = bytearray(MIXED.read_bytes())
    with zipfile.ZipFile(MIXED) as handle:
        info = handle.getinfo("saved/lunch.eml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(bytes(data))

    items = read_all(corrupt)
    held = [q for q in items if isinstance(q, Quarantined) and q.source_ref.endswith("lunch.eml")]

    assert len(held) == 1 and held[0].reason.startswith("cannot read zip member")
    assert len(mails_of(items)) == 2 * MAILS + CHATS


# --- unsafe archives ---------------------------------------------------------------------------


def test_zip_slip_member_is_refused() -> None:
    items = read_all(UNSAFE)
    held = {q.source_ref: q.reason for q in items if isinstance(q, Quarantined)}
    assert all(
        q.reason.startswith("zip member not read: ") for q in items if isinstance(q, Quarantined)
    )
    held = {ref: reason.removeprefix("zip member not read: ") for ref, reason in held.items()}

    assert held == {
        f"{UNSAFE}!../../outside.eml": "its name leads out of the source (..)",
        f"{UNSAFE}!/etc/cron.d/evil.eml": "its name is an absolute path",
        f"{UNSAFE}!mail/link.eml": "it is a symbolic link",
    }
    assert refs(items) == [f"{UNSAFE}!mail/good.eml"]


@pytest.mark.parametrize("name", ["..\\..\\evil.eml", "C:/Windows/evil.eml", "a/../../evil.eml"])
def test_windows_and_nested_escapes_are_refused_too(name: str) -> None:
    assert archive.unsafe_reason(zipfile.ZipInfo(name)) is not None


def test_zip_bomb_is_refused_with_a_clear_reason(tmp_path: Path) -> None:
    bomb = make_zip(tmp_path / "mail.zip", {"inbox.mbox": bytes(20 * 1024 * 1024)})

    with pytest.raises(MalformedInput) as refused:
        read_all(bomb)
    message = str(refused.value)
    assert message.startswith(f"{bomb}: refused, this looks like a zip bomb: 'inbox.mbox' unpacks")
    assert "to 20 MB, more than 100×" in message and "\n" not in message


def test_an_archive_promising_more_than_twenty_times_its_size_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive, "MIN_TOTAL_BYTES", 0)
    monkeypatch.setattr(archive, "MAX_RATIO", 10_000)
    bomb = make_zip(tmp_path / "mail.zip", {"inbox.mbox": bytes(2 * 1024 * 1024)})

    with pytest.raises(MalformedInput, match=r"it would unpack to 2 MB, more than 20×"):
        read_all(bomb)


def test_too_many_members_or_overlapping_members_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(archive, "MAX_MEMBERS", 10)
    with pytest.raises(MalformedInput, match="members \\(the limit is 10\\)"):
        read_all(MIXED)

    one, two = zipfile.ZipInfo("a.eml"), zipfile.ZipInfo("b.eml")
    one.compress_size = two.compress_size = 600  # both claim the same 600 bytes of a 1 KB file
    with pytest.raises(MalformedInput, match="members overlap"):
        archive.check_bomb(Path("x.zip"), [one, two], 1024)


def test_nothing_from_the_zip_is_written_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("plaintext must not touch the disk")

    for name in (
        "mkstemp",
        "mkdtemp",
        "NamedTemporaryFile",
        "TemporaryFile",
        "SpooledTemporaryFile",
    ):
        monkeypatch.setattr(tempfile, name, refuse)
    monkeypatch.setattr(zipfile.ZipFile, "extract", refuse)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", refuse)
    monkeypatch.chdir(tmp_path)

    assert len(mails_of(read_all(MIXED))) == 1 + 2 * MAILS + CHATS
    assert list(tmp_path.iterdir()) == []


# --- resuming ----------------------------------------------------------------------------------


def test_killed_zip_import_resumes_inside_its_mbox(store: Store, tmp_path: Path) -> None:
    export = make_zip(
        tmp_path / "mail.zip",
        {
            "a.eml": (FIXTURES / "email" / "plain_from_friend.eml").read_bytes(),
            "b/inbox.mbox": INBOX.read_bytes(),
        },
    )
    with pytest.raises(ImportFailed, match="killed"):
        ingest(store, killed_after(archive.read(export, ME), 25), "zip", batch_size=4)
    cursor = resumed(store).cursors[f"zip:{export.resolve()}"]
    assert cursor["unit"] == 1 and 0 < cursor["offset"] < INBOX.stat().st_size
    kept = len(stored_keys(store))

    again = ingest(store, archive.read(export, resumed(store)), "zip")

    assert (again.new, again.duplicate) == (1 + MAILS - kept, 0)
    keys = stored_keys(store)
    assert len(keys) == len(set(keys)) == 1 + MAILS
    assert list(archive.read(export, resumed(store))) == []


def test_a_changed_zip_is_read_again_from_the_start(store: Store, tmp_path: Path) -> None:
    export = make_zip(tmp_path / "mail.zip", {"inbox.mbox": INBOX.read_bytes()})
    ingest(store, archive.read(export, ME), "zip")
    make_zip(
        export,
        {
            "inbox.mbox": INBOX.read_bytes(),
            "more.eml": (FIXTURES / "email" / "outbound_from_me.eml").read_bytes(),
        },
    )

    again = ingest(store, archive.read(export, resumed(store)), "zip")

    assert (again.new, again.duplicate) == (1, MAILS)


# --- the command line --------------------------------------------------------------------------


def test_zip_import_through_the_cli(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = cli_import(capsys, MIXED, "--me", "sanne@example.org")

    assert (summary["new"], summary["duplicate"], summary["quarantined"]) == (
        1 + MAILS + CHATS,
        MAILS,
        2,
    )


def test_maildir_format_on_a_zip_through_the_cli(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = cli_import(capsys, MIXED, "--format", "maildir")

    assert (summary["new"], summary["quarantined"]) == (MAILS, 1)


def test_zip_bomb_through_the_cli_is_one_line_and_exit_2(
    cli_env: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bomb = make_zip(tmp_path / "export.zip", {"x.eml": bytes(8 * 1024 * 1024)})
    assert main(["init"]) == 0
    capsys.readouterr()

    status = main(["import", str(bomb)])
    err = capsys.readouterr().err

    assert status == 2
    assert err.count("\n") == 1 and "looks like a zip bomb" in err
