"""The mbox and Google Takeout importers, told as what a user importing a mailbox file sees."""

from __future__ import annotations

import hashlib
import io
import json
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

import importers
from cli.main import main
from importers.email import eml, mbox, takeout
from importers.email.message import parse_message
from tests.support import options
from vault.errors import ImportFailed, MalformedInput
from vault.ingest import Ingestor, Summary, load_cursors, raw_of
from vault.records import Checkpoint, ImportOptions, Interaction, Item, Quarantined
from vault.store import Store

FIXTURES = Path(__file__).parent / "fixtures"
INBOX = FIXTURES / "mbox" / "inbox.mbox"
TAKEOUT = FIXTURES / "mbox" / "takeout_all_mail.mbox"
ME = options("sanne@example.org")
MAILS = 20  # inbox.mbox: 20 mails and one note that is not a mail


# --- helpers shared with the Maildir and zip tests ----------------------------------------------


def ingest(
    store: Store,
    items: Iterable[Item],
    fmt: str = "mbox",
    opts: ImportOptions = ME,
    batch_size: int = 1000,
) -> Summary:
    """Run the real ingest pipeline over ``items``."""
    return Ingestor(store, opts, fmt, "test", batch_size=batch_size).run(items)


def resumed(store: Store) -> ImportOptions:
    """The options of the next import: the cursors the vault holds now."""
    return ImportOptions(
        timezone=ME.timezone, me_addresses=ME.me_addresses, cursors=load_cursors(store)
    )


def killed_after(items: Iterable[Item], count: int) -> Iterator[Item]:
    """The stream of an import that is killed after ``count`` items."""
    for number, item in enumerate(items):
        if number == count:
            raise RuntimeError("killed")
        yield item


def stored_keys(store: Store) -> list[str]:
    """The dedup key of every stored interaction (one per mail if nothing is doubled)."""
    with store.read() as conn:
        return [row[0] for row in conn.execute(text("SELECT dedup_key FROM interaction"))]


def stored_extras(store: Store) -> dict[str, dict[str, Any]]:
    """Each stored interaction's extras by title."""
    with store.read() as conn:
        rows = conn.execute(text("SELECT title, extras FROM interaction")).all()
    return {str(title): json.loads(extras) for title, extras in rows}


def cli_import(capsys: pytest.CaptureFixture[str], path: Path, *args: str) -> dict[str, Any]:
    """``kluis import PATH ARGS --json`` in a vault made by ``kluis init``; its summary."""
    if main(["init"]) != 0:
        raise AssertionError(capsys.readouterr().err)
    capsys.readouterr()
    status = main(["import", str(path), *args, "--timezone", "UTC", "--json"])
    out, err = capsys.readouterr()
    summary: dict[str, Any] = json.loads(out)
    assert status == (3 if summary["quarantined"] or summary["errors"] else 0), err
    return summary


def mails_of(items: Iterable[Item]) -> list[Interaction]:
    return [item for item in items if isinstance(item, Interaction)]


def read_all(path: Path, opts: ImportOptions = ME) -> list[Item]:
    return list(mbox.read(path, opts))


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- reading -----------------------------------------------------------------------------------


def test_each_mail_is_read_in_file_order_and_followed_by_its_checkpoint() -> None:
    items = read_all(INBOX)
    mails = mails_of(items)

    assert len(mails) == MAILS
    assert [type(item) for item in items[:4]] == [Interaction, Checkpoint] * 2
    assert mails[0].title == "Je factuur van Coolblue"
    assert mails[0].source_ref == f"{INBOX}#0"
    assert mails[-1].title == "Je pakket komt vandaag"
    last = items[-1]
    assert isinstance(last, Checkpoint)
    assert last.source == f"mbox:{INBOX.resolve()}"
    assert last.state["offset"] == INBOX.stat().st_size
    assert last.state["size"] == INBOX.stat().st_size


def test_each_source_ref_points_at_the_from_line_of_its_mail() -> None:
    data = INBOX.read_bytes()

    for item in read_all(INBOX):
        if not isinstance(item, Checkpoint):
            offset = int(item.source_ref.rpartition("#")[2])
            assert data[offset : offset + 5] == b"From "


def test_quoted_from_lines_in_bodies_are_unquoted_once() -> None:
    mails = {mail.title: mail for mail in mails_of(read_all(INBOX))}

    assert b">From 9:00 to 17:00" in INBOX.read_bytes()
    offer = mails["Offerte zonnepanelen"].body
    assert "\nFrom 9:00 to 17:00 on 12 March 2024 we are closed.\n" in offer
    assert "\nFrom the desk of Jan de Boer\n" in offer
    # mboxrd: ">>From" in the file was ">From" in the mail.
    assert ">From the desk of Jan de Boer" in mails["Re: Offerte zonnepanelen"].body


def test_a_message_that_is_not_a_mail_is_quarantined_and_the_rest_imported() -> None:
    items = read_all(INBOX)
    held = [item for item in items if isinstance(item, Quarantined)]

    assert len(held) == 1
    assert held[0].raw == b"Shopping list\n\n- bread\n- cheese\n"
    assert "not an RFC 822 mail" in held[0].reason
    assert len(mails_of(items)) == MAILS


def test_crlf_mbox_reads_like_the_lf_one(tmp_path: Path) -> None:
    crlf = write(tmp_path / "inbox.mbox", INBOX.read_bytes().replace(b"\n", b"\r\n"))
    lf_mails = mails_of(read_all(INBOX))
    crlf_mails = mails_of(read_all(crlf))

    assert [m.title for m in crlf_mails] == [m.title for m in lf_mails]
    assert [m.body for m in crlf_mails] == [m.body for m in lf_mails]
    raws = [raw_of(m) for m in crlf_mails]  # the workers send the raw mail packed
    assert all(raw and not raw.endswith(b"\r\n\r\n") for raw in raws)


def test_a_last_mail_without_trailing_newline_is_kept_whole(tmp_path: Path) -> None:
    cut = write(tmp_path / "inbox", INBOX.read_bytes().rstrip(b"\n"))
    mails = mails_of(read_all(cut))

    assert len(mails) == MAILS
    assert mails[-1].body.endswith("tussen 13:00 en 15:00 bezorgd.")


def test_an_unquoted_from_in_a_body_that_is_no_from_line_does_not_split_the_mail(
    tmp_path: Path,
) -> None:
    # mboxo writers that forget to quote: "From what I heard" names no sender and time.
    data = (
        b"From a@example.com Mon Jul  1 10:00:00 2024\n"
        b"From: a@example.com\nDate: Mon, 1 Jul 2024 10:00:00 +0000\nSubject: One\n\n"
        b"Hi,\nFrom what I heard, it is fine.\n\n"
        b"From b@example.com Tue Jul  2 10:00:00 2024\n"
        b"From: b@example.com\nDate: Tue, 2 Jul 2024 10:00:00 +0000\nSubject: Two\n\nHo\n"
    )
    mails = mails_of(read_all(write(tmp_path / "box.mbox", data)))

    assert [m.title for m in mails] == ["One", "Two"]
    assert "From what I heard, it is fine." in mails[0].body


@pytest.mark.parametrize("chunk", [1, 5, 6, 7, 64, 333, 4096])
def test_splitting_does_not_depend_on_where_chunks_end(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = list(mbox.split(io.BytesIO(INBOX.read_bytes())))
    monkeypatch.setattr(mbox, "CHUNK_BYTES", chunk)

    assert list(mbox.split(io.BytesIO(INBOX.read_bytes()))) == expected


def test_a_mail_over_the_size_limit_is_quarantined_without_holding_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mbox, "CHUNK_BYTES", 64)
    monkeypatch.setattr(mbox, "MAX_MESSAGE_BYTES", 500)
    items = read_all(INBOX)
    held = [item for item in items if isinstance(item, Quarantined)]

    assert [q.source_ref for q in held] == [f"{INBOX}#0", f"{INBOX}#8627"]
    assert held[0].raw == b"" and held[0].reason.startswith("mail is 0 MB, over the")
    assert len(mails_of(items)) == MAILS - 1  # the Coolblue mail with its PDF is over 500 bytes
    assert isinstance(items[1], Checkpoint) and items[1].state["offset"] > 500


def _left_in_file(path: Path) -> tuple[mbox.MboxFile, list[mbox.MboxMessage]]:
    """``path`` split as a pooled import splits it: each mail left in the file."""
    stat = path.stat()
    file = mbox.MboxFile(str(path), stat.st_dev, stat.st_ino)
    with path.open("rb") as handle:
        return file, list(mbox.split(handle, 0, file))


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n"])
def test_a_pooled_import_s_workers_read_each_mail_from_the_file_as_it_was_split(
    tmp_path: Path, line_end: bytes
) -> None:
    # The importing process hands its workers offsets: they read the same bytes (quoting
    # undone, the last mail without its newline) that it would have sent them.
    data = INBOX.read_bytes().replace(b"\n", line_end).rstrip(line_end)
    path = write(tmp_path / "inbox.mbox", data)
    with path.open("rb") as handle:
        sent = [message.raw for message in mbox.split(handle)]
    file, located = _left_in_file(path)

    assert all(message.raw is None and message.file == file for message in located)
    assert [file.read(message) for message in located] == sent
    assert len(sent) == MAILS + 1


def test_a_mail_changed_after_the_split_is_quarantined_not_misread(tmp_path: Path) -> None:
    path = write(tmp_path / "inbox.mbox", INBOX.read_bytes())
    _, located = _left_in_file(path)
    second = located[1]
    with path.open("r+b") as handle:  # the mail client rewrote the mail's last bytes
        handle.seek(second.end - 10)
        handle.write(b"0123456789")

    held = mbox.message_item(second, str(path), parse_message, ME)
    assert isinstance(held, Quarantined) and held.raw == b""
    assert held.reason == "the mbox changed while it was imported"
    assert held.source_ref == f"{path}#{second.start}"
    assert isinstance(mbox.message_item(located[0], str(path), parse_message, ME), Interaction)


def test_a_mailbox_replaced_after_the_split_is_not_read_in_its_place(tmp_path: Path) -> None:
    path = write(tmp_path / "inbox.mbox", INBOX.read_bytes())
    file, located = _left_in_file(path)
    write(tmp_path / "other.mbox", INBOX.read_bytes()).replace(path)  # same bytes, new file

    assert file.read(located[0]) == "the mbox was replaced while it was imported"
    path.unlink()
    assert file.read(located[0]).startswith("the mbox could not be opened again: ")


def test_an_empty_mbox_has_no_mails(tmp_path: Path) -> None:
    assert read_all(write(tmp_path / "empty.mbox", b"")) == []


# --- recognising an mbox -----------------------------------------------------------------------


def test_an_mbox_is_recognised_by_its_first_line(tmp_path: Path) -> None:
    data = INBOX.read_bytes()

    assert mbox.sniff(INBOX)
    assert mbox.sniff(write(tmp_path / "Inbox", data))  # Thunderbird: no extension
    assert mbox.sniff(write(tmp_path / "Mail.mbox" / "mbox", data).parent)  # Apple Mail
    assert not mbox.sniff(write(tmp_path / "inbox.txt", data))
    assert not mbox.sniff(FIXTURES / "email" / "plain_from_friend.eml")
    assert not eml.sniff(INBOX)
    assert importers.detect(INBOX) == "mbox"


def test_a_file_that_does_not_start_with_a_from_line_is_not_an_mbox(tmp_path: Path) -> None:
    saved = write(tmp_path / "inbox.mbox", b"\n" + INBOX.read_bytes())

    assert not mbox.sniff(saved)
    with pytest.raises(MalformedInput, match="not an mbox"):
        read_all(saved)


# --- resuming ----------------------------------------------------------------------------------


def test_a_big_mbox_parsed_in_the_pool_keeps_every_mail_byte_for_byte(
    store: Store, tmp_path: Path
) -> None:
    # Over POOL_MIN_BYTES, the workers hash and compress each mail ahead of the writer.
    mails = [
        f"From: Shop <news@shop.nl>\nTo: sanne@example.org\nSubject: Aanbieding {n}\n"
        f"Message-ID: <{n}@shop.nl>\nDate: Mon, 4 Mar 2024 10:00:00 +0100\n\n"
        f"{'Korting op alles. ' * 400}{n}\n"
        for n in range(700)
    ]
    path = tmp_path / "big.mbox"
    path.write_text("".join(f"From news@shop.nl Mon Mar  4 10:00:00 2024\n{m}\n" for m in mails))
    assert path.stat().st_size > mbox.POOL_MIN_BYTES

    assert ingest(store, mbox.read(path, ME)).new == len(mails)

    with store.read() as conn:
        stored = conn.execute(
            text("SELECT i.title, b.sha256, b.size, b.data FROM interaction i "
                 "JOIN blob b ON b.sha256 = i.raw_blob")
        ).all()  # fmt: skip
    raw = {f"Aanbieding {n}": m.encode() for n, m in enumerate(mails)}
    assert len(stored) == len(mails)
    for title, digest, size, data in stored:
        assert zlib.decompress(data) == raw[title]
        assert (digest, size) == (hashlib.sha256(raw[title]).hexdigest(), len(raw[title]))


def test_reimporting_the_same_mbox_reads_nothing(store: Store) -> None:
    ingest(store, mbox.read(INBOX, ME))

    assert read_all(INBOX, resumed(store)) == []


def test_killed_mbox_import_resumes_at_its_offset(store: Store) -> None:
    with pytest.raises(ImportFailed, match="killed"):
        ingest(store, killed_after(mbox.read(INBOX, ME), 25), batch_size=4)
    kept = len(stored_keys(store))
    cursor = load_cursors(store)[f"mbox:{INBOX.resolve()}"]
    assert 4 <= kept < MAILS
    assert cursor["offset"] < INBOX.stat().st_size

    again = ingest(store, mbox.read(INBOX, resumed(store)))

    assert (again.new, again.duplicate) == (MAILS - kept, 0)
    keys = stored_keys(store)
    assert len(keys) == len(set(keys)) == MAILS


def test_mail_appended_to_the_mbox_is_read_from_where_the_last_import_stopped(
    store: Store, tmp_path: Path
) -> None:
    box = write(tmp_path / "inbox.mbox", INBOX.read_bytes())
    ingest(store, mbox.read(box, ME))
    with box.open("ab") as handle:
        handle.write(
            b"From x@example.com Fri Apr  5 10:00:00 2024\nFrom: x@example.com\n"
            b"Date: Fri, 5 Apr 2024 10:00:00 +0000\nSubject: Appended\n\nNew.\n"
        )

    items = read_all(box, resumed(store))

    assert [m.title for m in mails_of(items)] == ["Appended"]


def test_a_rewritten_mbox_is_read_again_from_the_start_without_duplicates(
    store: Store, tmp_path: Path
) -> None:
    box = write(tmp_path / "inbox.mbox", INBOX.read_bytes())
    ingest(store, mbox.read(box, ME))
    # A mail client compacted the box: the first mail is gone, the rest moved up.
    data = box.read_bytes()
    box.write_bytes(data[data.index(b"\nFrom ", 10) + 1 :] + b"\n" + data[:200])

    again = ingest(store, mbox.read(box, resumed(store)))

    assert again.new == 0 and again.duplicate == MAILS - 1
    assert len(stored_keys(store)) == MAILS


def test_mbox_import_through_the_cli(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = cli_import(capsys, INBOX, "--format", "mbox", "--me", "sanne@example.org")

    assert (summary["new"], summary["quarantined"], summary["errors"]) == (MAILS, 1, 0)
    status = main(["import", str(INBOX), "--json"])
    assert status == 0 and json.loads(capsys.readouterr().out)["new"] == 0


# --- Google Takeout ----------------------------------------------------------------------------


def takeout_mails() -> dict[str, Interaction]:
    return {mail.title: mail for mail in mails_of(takeout.read(TAKEOUT, ME))}


def test_takeout_labels_are_kept() -> None:
    mails = takeout_mails()

    assert mails["Check in now for your flight to Lisbon"].extras["labels"] == [
        "Inbox",
        "Important",
        "Category Updates",
        "Opened",
    ]
    # Quoted (with a comma inside), RFC 2047-encoded and folded onto a second line.
    assert mails["Je boarding pass"].extras["labels"] == [
        "Inbox",
        "Reizen, 2024",
        "Belasting & Financiën",
        "Opened",
    ]


def test_spam_and_trash_only_mails_are_imported_and_their_labels_say_so() -> None:
    mails = takeout_mails()

    assert mails["You have won!"].extras["labels"] == ["Spam"]
    assert mails["Nieuwe collectie"].extras["labels"] == ["Trash"]


def test_a_takeout_conversation_stays_one_thread_by_gmails_thread_id() -> None:
    mails = takeout_mails()
    first, reply = mails["Fietsen zaterdag?"], mails["Re: Fietsen zaterdag?"]

    assert first.thread_key == reply.thread_key == "gmail:1790000000000000002"
    assert reply.extras["references"] == ["CAB1x=fiets@mail.gmail.com"]
    assert first.extras["gmail_thread"] == "1790000000000000002"


def test_gmail_label_lists_split_on_commas_outside_quotes() -> None:
    assert takeout.split_labels(r'A,"B, c","D \"q\"",,A, =?UTF-8?B?w6k=?=') == [
        "A",
        "B, c",
        'D "q"',
        "é",
    ]


def test_a_takeout_mbox_is_told_from_a_plain_one(tmp_path: Path) -> None:
    folder = tmp_path / "Takeout" / "Mail"
    write(folder / "All mail Including Spam and Trash.mbox", TAKEOUT.read_bytes())

    assert importers.detect(TAKEOUT) == "takeout"
    assert importers.detect(tmp_path) == "takeout"
    assert importers.detect(tmp_path / "Takeout") == "takeout"
    assert not takeout.sniff(INBOX)
    assert mbox.sniff(TAKEOUT)  # --format mbox still reads it, without the labels


def test_takeout_import_through_the_cli(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = cli_import(capsys, TAKEOUT)

    assert (summary["new"], summary["quarantined"]) == (6, 0)
