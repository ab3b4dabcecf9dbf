"""The .eml importer, told as what a user importing saved mails sees."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

import importers
from importers.email import eml
from importers.email.decode import decode_bytes, html_to_text
from importers.email.message import parse_message
from tests.conformance.compare import count_matches, text_contains, text_equals, times_match
from vault.records import (
    Checkpoint,
    ImportOptions,
    Interaction,
    Item,
    Party,
    Quarantined,
    Skipped,
    content_key,
)

FIXTURES = Path(__file__).parent / "fixtures" / "email"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
ME = ImportOptions(timezone=UTC, me_addresses=frozenset({"me@example.org"}))
CET = timezone(timedelta(hours=1))
CEST = timezone(timedelta(hours=2))


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(raw: bytes, options: ImportOptions = ME) -> Interaction:
    item = parse_message(raw, "test.eml", options)
    assert isinstance(item, Interaction), item
    return item


def quarantine(raw: bytes) -> Quarantined:
    item = parse_message(raw, "test.eml", ME)
    assert isinstance(item, Quarantined), item
    return item


def mail(
    *headers: str, body: str = "Hello.", date: str = "Mon, 1 Jul 2024 10:00:00 +0200"
) -> bytes:
    """A small mail with the given header lines (plus a Date unless one is given)."""
    lines = list(headers)
    if not any(h.lower().startswith("date:") for h in headers):
        lines.append(f"Date: {date}")
    return ("\n".join(lines) + "\n\n" + body + "\n").encode()


# --- a plain mail ------------------------------------------------------------------------------


def test_a_friends_plain_mail_becomes_an_incoming_email() -> None:
    raw = fixture("plain_from_friend.eml")
    item = parse(raw)

    assert item.channel == "email"
    assert item.direction == "in"
    assert item.title == "Lunch on Friday?"
    assert item.sender == Party("Anna de Vries", "anna.devries@gmail.com")
    assert item.recipients == [Party("Me", "me@example.org")]
    assert item.occurred_at == datetime(2024, 5, 14, 11, 12, 3, tzinfo=CEST)
    assert item.occurred_at.utcoffset() == timedelta(hours=2)
    assert item.tz_known
    assert item.raw == raw
    assert item.source_ref == "test.eml"


def test_quoted_printable_body_reads_as_the_sender_wrote_it() -> None:
    body = parse(fixture("plain_from_friend.eml")).body

    assert "het café om de hoek? Ik trakteer – ik heb mijn nieuwe baan." in body
    assert body.endswith("Groetjes,\nAnna")


def test_message_id_is_the_dedup_key_and_the_thread_of_a_first_mail() -> None:
    item = parse(fixture("plain_from_friend.eml"))

    assert item.dedup_key == "msgid:caf7kq=3x_lunch.friday@mail.gmail.com"
    assert item.thread_key == "caf7kq=3x_lunch.friday@mail.gmail.com"
    assert item.extras["message_id"] == "CAF7kq=3x_Lunch.Friday@mail.gmail.com"


def test_a_mail_without_message_id_is_deduplicated_by_its_bytes() -> None:
    raw = mail("From: a@example.com", "Subject: No id")
    item = parse(raw)

    assert item.dedup_key == content_key(raw)
    assert item.thread_key is None


def test_detail_view_gets_the_decoded_headers() -> None:
    headers = parse(fixture("mislabelled_latin1_is_utf8.eml")).extras["headers"]

    assert headers == {
        "From": "Jürgen Müller <juergen@example.de>",
        "To": "me@example.org",
        "Date": "Sun, 7 Jul 2024 18:30:00 +0200",
        "Subject": "Grüße aus München",
    }


# --- direction ---------------------------------------------------------------------------------


def test_a_mail_i_sent_is_outgoing_and_its_counterpart_is_the_recipient() -> None:
    item = parse(fixture("outbound_from_me.eml"))

    assert item.direction == "out"
    assert item.sender == Party("Me Myself", "me@example.org")
    assert item.counterpart == Party("KLM Customer Care", "customercare@klm.com")
    assert [p.address for p in item.recipients] == [
        "customercare@klm.com",
        "partner@example.net",
        "archive@example.org",
    ]


def test_my_address_is_recognised_in_any_case() -> None:
    upper = ImportOptions(timezone=UTC, me_addresses=frozenset({"me@example.org"}))

    assert b"<ME@example.org>" in fixture("outbound_from_me.eml")
    assert parse(fixture("outbound_from_me.eml"), upper).direction == "out"
    assert parse(fixture("outbound_from_me.eml"), ImportOptions(timezone=UTC)).direction == "in"


# --- HTML newsletters from an ESP --------------------------------------------------------------


def test_html_only_newsletter_reads_as_text_line_by_line() -> None:
    body = parse(fixture("newsletter_html_via_esp.eml")).body
    lines = body.splitlines()

    assert "Voorjaarsactie" in lines
    assert "Beste klant," in lines
    assert "Dit weekend krijgt u 20% korting op alle e-bikes." in lines
    assert "Op= op." in lines  # the <br> ends a line
    assert "Gratis bezorging" in lines
    assert "Ophalen in de winkel" in lines  # &nbsp; is a space


def test_newsletter_text_has_no_script_style_or_title() -> None:
    body = parse(fixture("newsletter_html_via_esp.eml")).body

    assert "window.location" not in body
    assert "font-family" not in body
    assert body.count("Voorjaarsactie") == 1  # the <title> is dropped with <head>
    assert "<" not in body


def test_newsletter_via_an_esp_says_who_really_sent_it() -> None:
    item = parse(fixture("newsletter_html_via_esp.eml"))

    assert item.title == "Voorjaarsactie: 20% korting op alle e-bikes 🚲"
    assert item.sender == Party("De Fietsenwinkel", "nieuwsbrief@fietsenwinkel.example")
    assert item.hints.dkim_domains == ["fietsenwinkel.example", "sendgrid.net"]
    assert item.hints.reply_to == ["klantenservice@fietsenwinkel.example"]
    assert item.hints.list_domains == [
        "fietsenwinkel.example",
        "em4821.fietsenwinkel.example",
        "u2291811.ct.sendgrid.net",
    ]


def test_list_headers_are_kept_raw_for_display() -> None:
    extras = parse(fixture("newsletter_html_via_esp.eml")).extras

    assert extras["list_id"] == "Nieuwsbrief De Fietsenwinkel <nieuwsbrief.fietsenwinkel.example>"
    assert extras["list_unsubscribe"].startswith("<mailto:unsubscribe@em4821.fietsenwinkel")
    assert extras["list_unsubscribe"].endswith("data=abc>")
    assert "\n" not in extras["list_unsubscribe"]


# --- attachments -------------------------------------------------------------------------------


def test_pdf_attachment_keeps_its_name_type_and_bytes() -> None:
    item = parse(fixture("invoice_with_pdf.eml"))

    assert len(item.attachments) == 1
    pdf = item.attachments[0]
    assert pdf.filename == "Jaarafrekening 2023.pdf"
    assert pdf.mime == "application/pdf"
    assert pdf.data.startswith(b"%PDF-1.4\n")
    assert pdf.data.endswith(b"%%EOF\n")
    assert "U ontvangt € 112,40 terug." in item.body
    assert "\r" not in item.body  # the file has CRLF line ends
    assert "multi-part message in MIME format" not in item.body


def test_nested_multipart_prefers_plain_text_and_keeps_the_real_files() -> None:
    item = parse(fixture("nested_related_alternative.eml"))

    assert item.body == "Bevestiging van uw proefrit op 12 april om 16:00."
    assert [(a.filename, a.mime) for a in item.attachments] == [
        ("route.png", "image/png"),
        ("part-5.ics", "text/calendar"),
        ("part-6.eml", "message/rfc822"),
        ("part-7.bin", "application/octet-stream"),
    ]
    assert item.attachments[0].data.startswith(b"\x89PNG\r\n")
    assert item.attachments[1].data.startswith(b"BEGIN:VCALENDAR")
    assert item.attachments[3].data == b"\x00\x01\x02\x03\x04"


def test_unnamed_inline_images_of_an_html_mail_are_layout_not_attachments() -> None:
    item = parse(fixture("nested_related_alternative.eml"))

    assert [a.filename for a in item.attachments if a.mime == "image/png"] == ["route.png"]


def test_forwarded_mail_stays_one_attachment_and_does_not_leak_into_the_outer_mail() -> None:
    item = parse(fixture("nested_related_alternative.eml"))
    forwarded = item.attachments[2]

    assert b"Subject: The forwarded one" in forwarded.data
    assert b"Forwarded body text." in forwarded.data
    assert item.title == "Uw proefrit op 12 april"
    assert "Forwarded body text" not in item.body


def test_html_is_the_body_when_the_plain_alternative_is_empty() -> None:
    raw = mail(
        "From: bank@example.com",
        "Subject: Empty plain part",
        'Content-Type: multipart/alternative; boundary="b"',
        body="--b\nContent-Type: text/plain\n\n\n--b\nContent-Type: text/html\n\n"
        "<p>Only <b>here</b></p>\n--b--",
    )

    assert parse(raw).body == "Only here"


def test_attachment_filenames_are_decoded_and_lose_any_directory() -> None:
    raw = mail(
        "From: a@example.com",
        "Subject: Files",
        'Content-Type: multipart/mixed; boundary="b"',
        body="--b\nContent-Type: text/plain\n\nSee attached.\n"
        "--b\nContent-Type: application/pdf\nContent-Disposition: attachment;"
        ' filename="=?UTF-8?Q?Factuur_f=C3=A9vrier.pdf?="\n\n%PDF\n'
        "--b\nContent-Type: text/plain\nContent-Disposition: attachment;"
        ' filename="..\\\\..\\\\evil.txt"\n\nx\n--b--',
    )
    item = parse(raw)

    assert [a.filename for a in item.attachments] == ["Factuur février.pdf", "evil.txt"]
    # The "PDF" is four bytes: kept as it is, with a note why its text is not in the body.
    assert item.body == (
        "See attached.\n\n── Factuur février.pdf ──\n"
        "Note: not read: not a readable PDF (data format error)"
    )


# --- headers: subjects, names, dates -----------------------------------------------------------


def test_encoded_subject_split_inside_a_character_decodes_whole() -> None:
    item = parse(fixture("subject_rfc2047_split_multibyte.eml"))

    assert item.title == "Stadtführung 🏔️ in Zürich – Ihr Ticket"
    assert item.sender == Party("Zürich Tourismus", "info@zuerich.example")


def test_minus_zero_offset_means_utc_with_the_senders_zone_unknown() -> None:
    item = parse(fixture("subject_rfc2047_split_multibyte.eml"))

    assert item.occurred_at == datetime(2024, 7, 19, 8, 0, tzinfo=UTC)
    assert item.occurred_at.tzinfo is not None
    assert not item.tz_known


def test_a_mail_without_subject_gets_a_placeholder_title() -> None:
    assert parse(mail("From: a@example.com")).title == "(no subject)"


def test_comma_inside_an_encoded_display_name_is_one_sender() -> None:
    raw = mail(
        "From: =?iso-8859-1?Q?M=FCller=2C_J=FCrgen?= <J.Mueller@Example.DE>",
        'To: "Doe, John" <john@example.com>, jane@example.com (Jane Roe), undisclosed:;',
        "Subject: Names",
    )
    item = parse(raw)

    assert item.sender == Party("Müller, Jürgen", "j.mueller@example.de")
    assert item.recipients == [
        Party("Doe, John", "john@example.com"),
        Party("Jane Roe", "jane@example.com"),
    ]


def test_display_name_that_is_an_address_is_not_taken_as_the_name() -> None:
    raw = mail("From: alice@example.com <bob@example.com>", "Subject: Who?")

    assert parse(raw).sender == Party(None, "bob@example.com")


def test_raw_utf8_in_an_address_header_is_read_as_utf8() -> None:
    raw = "From: Zoë <zoe@example.com>\nTo: danglüe@example.com\nSubject: x\n".encode()
    item = parse(raw + b"Date: Mon, 1 Jul 2024 10:00:00 +0200\n\nHi\n")

    assert item.sender == Party("Zoë", "zoe@example.com")
    assert item.recipients == [Party(None, "danglüe@example.com")]


def test_reply_threads_under_the_root_of_its_references() -> None:
    item = parse(fixture("reply_with_references.eml"))

    assert item.thread_key == "original-1.xyz@example.org"
    assert item.extras["references"] == ["ORIGINAL-1.XYZ@example.org", "reply-2.ab12@example.org"]
    assert item.extras["in_reply_to"] == "Reply-2.AB12@example.org"
    assert item.thread_title == "Bestelling 4021887766 niet ontvangen"
    assert item.title == "RE: Re: Bestelling 4021887766 niet ontvangen"


def test_reply_without_references_threads_on_in_reply_to() -> None:
    raw = mail(
        "From: a@example.com",
        "Subject: Re: x",
        "Message-ID: <own@example.com>",
        "In-Reply-To: <Parent@Example.com> (Bob's message of Monday)",
    )

    assert parse(raw).thread_key == "parent@example.com"


def test_mail_without_date_takes_the_topmost_received_time() -> None:
    item = parse(fixture("no_date_received_only.eml"))

    assert item.occurred_at == datetime(2024, 1, 3, 8, 15, 30, tzinfo=CET)
    assert item.occurred_at.utcoffset() == timedelta(hours=1)
    assert item.extras["date_from"] == "received"


def test_unparseable_date_falls_back_to_received() -> None:
    raw = mail(
        "Received: from x by y; Tue, 2 Jan 2024 09:00:00 +0000",
        "From: a@example.com",
        "Date: sometime last week",
    )
    item = parse(raw)

    assert item.occurred_at == datetime(2024, 1, 2, 9, 0, tzinfo=UTC)
    assert item.extras["date_from"] == "received"


def test_a_date_keeps_the_senders_offset() -> None:
    moment = datetime(2023, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    item = parse(mail("From: a@example.com", date=format_datetime(moment)))

    assert item.occurred_at == moment
    assert item.occurred_at.utcoffset() == timedelta(hours=-5)
    assert "date_from" not in item.extras


# --- quarantine --------------------------------------------------------------------------------


def test_mail_without_any_date_is_quarantined_with_its_bytes() -> None:
    raw = fixture("no_date_at_all.eml")
    item = quarantine(raw)

    assert item.reason.startswith("no usable date")
    assert item.raw == raw
    assert item.source_ref == "test.eml"


def test_garbage_bytes_are_quarantined_not_raised() -> None:
    raw = fixture("garbage_bytes.eml")
    item = quarantine(raw)

    assert item.raw == raw
    assert "not an RFC 822 mail" in item.reason


def test_a_text_file_without_headers_is_not_a_mail() -> None:
    assert "not an RFC 822 mail" in quarantine(b"Dear diary,\n\nToday: nothing.\n").reason


def test_outlook_msg_bytes_are_quarantined() -> None:
    raw = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"Subject: not really\n"

    assert "Outlook .msg" in quarantine(raw).reason


NASTY_INPUTS = {
    "empty": b"",
    "nul bytes": b"\x00" * 100,
    "headers only": b"From: a@example.com\nDate: Mon, 1 Jul 2024 10:00:00 +0000",
    "deep nesting": b"From: a@b.c\nDate: Mon, 1 Jul 2024 10:00:00 +0000\n"
    + b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(3000)
    ),
    "broken base64": b"From: a@b.c\nDate: Mon, 1 Jul 2024 10:00:00 +0000\n"
    b"Content-Transfer-Encoding: base64\n\n!!!!=\x00",
    "unknown charsets": b"From: =?x-nonsense?Q?abc?= <a@b.c>\nDate: 1 Jul 2024 10:00 +0000\n"
    b"Subject: =?utf-8?B?###?=\nContent-Type: text/plain; charset=x-nonsense\n\n\xff\xfe",
    "date out of range": b"From: a@b.c\nDate: Mon, 45 Foo 99999 99:99:99 +9999\n\nx",
    "unterminated quote": b'From: "Open <a@b.c>\nTo: <<>>, ,,;:\nDate: 1 Jul 2024 10:00 +0000\n\nx',
}


@pytest.mark.parametrize("raw", NASTY_INPUTS.values(), ids=NASTY_INPUTS.keys())
def test_no_bytes_make_the_parser_raise(raw: bytes) -> None:
    item = parse_message(raw, "nasty.eml", ME)

    assert isinstance(item, Interaction | Quarantined)
    if isinstance(item, Quarantined):
        assert item.raw == raw
        assert item.reason and "\n" not in item.reason
    else:
        assert item.sender is None or "<" not in (item.sender.address or "")


def test_nul_bytes_are_stripped_from_the_text_but_kept_in_the_raw_bytes() -> None:
    raw = mail("From: a@example.com", "Subject: Hel\x00lo", body="Wor\x00ld")
    item = parse(raw)

    assert item.title == "Hello"
    assert item.body == "World"
    assert item.raw == raw


# --- charsets ----------------------------------------------------------------------------------


def test_mislabelled_charset_keeps_the_text() -> None:
    item = parse(fixture("mislabelled_latin1_is_utf8.eml"))

    assert item.body == "Schöne Grüße aus München – bis bald!"
    assert item.title == "Grüße aus München"  # correctly labelled Latin-1 stays Latin-1
    assert item.sender == Party("Jürgen Müller", "juergen@example.de")


def test_unlabelled_windows_1252_body_reads_as_french() -> None:
    item = parse(fixture("undeclared_windows1252.eml"))

    assert item.title == "Réservation confirmée"
    assert "Votre réservation pour deux personnes est confirmée. À bientôt au café !" in item.body
    assert "35 €" in item.body


def test_html_charset_from_its_meta_tag_is_used_when_the_header_has_none() -> None:
    html = '<html><head><meta charset="windows-1251"></head><body>Привет</body></html>'
    raw = mail("From: a@example.com", "Content-Type: text/html", body="@BODY@")

    assert parse(raw.replace(b"@BODY@", html.encode("cp1251"))).body == "Привет"


def test_seven_bit_japanese_is_decoded_not_taken_for_ascii() -> None:
    body = "こんにちは、予約を確認しました。".encode("iso2022_jp")
    raw = mail("From: a@example.jp", "Content-Type: text/plain; charset=ISO-2022-JP", body="@")

    assert body.isascii()
    assert parse(raw.replace(b"@\n", body)).body == "こんにちは、予約を確認しました。"


def test_one_broken_sequence_does_not_make_the_rest_a_guess() -> None:
    text = "Быстрее вкладывайте в золото! " * 20
    data = text.encode() + b"\xd0" + text.encode()

    decoded = decode_bytes(data, "utf-8")
    assert decoded.count("\ufffd") == 1
    assert decoded.startswith("Быстрее вкладывайте")


def test_boundary_that_matches_no_delimiter_still_yields_the_text() -> None:
    item = parse(fixture("wrong_boundary.eml"))

    assert item.body == "Grote korting op zonnepanelen!"
    assert item.attachments == []


def test_deeply_nested_html_converts_without_recursion() -> None:
    html = "<div>" * 5000 + "deep" + "</div>" * 5000

    assert html_to_text(html) == "deep"


# --- the importer: sniffing files and folders --------------------------------------------------


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_eml_files_and_folders_of_them_are_recognised(tmp_path: Path) -> None:
    write(tmp_path / "inbox" / "2024" / "a.EML", fixture("plain_from_friend.eml"))

    assert eml.sniff(FIXTURES / "plain_from_friend.eml")
    assert importers.detect(FIXTURES / "plain_from_friend.eml") == "eml"
    # A folder is read file by file, each file in its own format.
    assert importers.detect(tmp_path / "inbox") == "folder"


def test_a_maildir_is_left_to_its_own_importer(tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    write(maildir / "cur" / "1.eml", fixture("plain_from_friend.eml"))

    assert not eml.sniff(maildir)


def test_an_extensionless_file_is_recognised_by_its_headers(tmp_path: Path) -> None:
    saved = write(tmp_path / "message", fixture("plain_from_friend.eml"))
    mbox = write(
        tmp_path / "Inbox", b"From anna@example.com Tue May 14 09:12:07 2024\n" + saved.read_bytes()
    )
    json_file = write(tmp_path / "result", b'{"From": "x", "Date": "y"}')
    ole2 = write(tmp_path / "outlook", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000))

    assert eml.sniff(saved)
    assert not eml.sniff(mbox)
    assert not eml.sniff(json_file)
    assert not eml.sniff(ole2)
    assert not eml.sniff(tmp_path / "missing.eml")
    # Dumps come with odd names (``msg.0001``, ``mail.txt``): the headers decide.
    assert eml.sniff(write(tmp_path / "msg.0001", fixture("plain_from_friend.eml")))
    assert not eml.sniff(write(tmp_path / "notes.txt", b"Shopping: bread, milk\n\nand eggs\n"))


# --- the importer: reading ---------------------------------------------------------------------


def read_all(path: Path, options: ImportOptions = ME) -> list[Item]:
    """What reading ``path`` gives, but the files named as skipped (not mail)."""
    return [item for item in eml.read(path, options) if not isinstance(item, Skipped)]


def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    write(folder / "b.eml", fixture("reply_with_references.eml"))
    write(folder / "a.eml", fixture("plain_from_friend.eml"))
    write(folder / "sub" / "c.eml", fixture("outbound_from_me.eml"))
    write(folder / "notes.txt", b"not a mail")
    return folder


def test_reading_a_folder_yields_each_mail_then_its_checkpoint_in_order(tmp_path: Path) -> None:
    folder = inbox(tmp_path)
    items = read_all(folder)

    assert [type(item) for item in items] == [Interaction, Checkpoint] * 3
    mails = [item for item in items if isinstance(item, Interaction)]
    assert [m.source_ref for m in mails] == [
        str(folder / "a.eml"),
        str(folder / "b.eml"),
        str(folder / "sub" / "c.eml"),
    ]
    assert mails[0].title == "Lunch on Friday?"
    skipped = [item for item in eml.read(folder, ME) if isinstance(item, Skipped)]
    assert skipped == [Skipped(str(folder / "notes.txt"), "not an eml file")]
    checkpoint = items[1]
    assert isinstance(checkpoint, Checkpoint)
    stat = (folder / "a.eml").stat()
    assert checkpoint.source == str((folder / "a.eml").resolve())
    assert checkpoint.state == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def test_reimporting_unchanged_files_reads_nothing_but_a_changed_file_again(
    tmp_path: Path,
) -> None:
    folder = inbox(tmp_path)
    cursors = {c.source: c.state for c in read_all(folder) if isinstance(c, Checkpoint)}
    options = ImportOptions(timezone=UTC, me_addresses=ME.me_addresses, cursors=cursors)

    assert read_all(folder, options) == []

    write(folder / "b.eml", fixture("no_date_received_only.eml"))
    again = read_all(folder, options)
    assert [type(item) for item in again] == [Interaction, Checkpoint]
    assert isinstance(again[0], Interaction)
    assert again[0].title == "Your order has shipped"


def test_a_broken_file_is_quarantined_and_the_others_still_imported(tmp_path: Path) -> None:
    folder = inbox(tmp_path)
    write(folder / "aa-garbage.eml", fixture("garbage_bytes.eml"))
    items = read_all(folder)

    broken = [item for item in items if isinstance(item, Quarantined)]
    assert [q.source_ref for q in broken] == [str(folder / "aa-garbage.eml")]
    assert len([item for item in items if isinstance(item, Interaction)]) == 3
    assert len([item for item in items if isinstance(item, Checkpoint)]) == 4


def test_a_file_over_100_mb_is_quarantined_unread(tmp_path: Path) -> None:
    huge = tmp_path / "huge.eml"
    with huge.open("wb") as handle:
        handle.truncate(eml.MAX_BYTES + 1)  # sparse: nothing is written
    items = read_all(huge)

    assert [type(item) for item in items] == [Quarantined, Checkpoint]
    assert isinstance(items[0], Quarantined)
    assert "100 MB" in items[0].reason


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_an_unreadable_file_is_quarantined_without_a_checkpoint(tmp_path: Path) -> None:
    locked = write(tmp_path / "locked.eml", fixture("plain_from_friend.eml"))
    locked.chmod(0)
    try:
        items = read_all(locked)
    finally:
        locked.chmod(0o600)

    assert [type(item) for item in items] == [Quarantined]


# --- the public conformance corpus -------------------------------------------------------------


def corpus_cases() -> list[Any]:
    """The expected.json cases that are single mails (``emails/``, or ``--format eml``)."""
    expected = CORPUS / "expected.json"
    if not expected.is_file():
        return [pytest.param(None, id="corpus-absent")]
    cases = json.loads(expected.read_text(encoding="utf-8"))["cases"]
    return [
        pytest.param(case, id=case["id"])
        for case in cases
        if case["format"] == "eml" or all(p.startswith("emails/") for p in case["paths"])
    ]


def matches(expected: dict[str, Any], item: Interaction) -> list[str]:
    """The expected item keys that ``item`` does not satisfy."""
    checks = {
        "channel": lambda want: text_equals(want, item.channel),
        "direction": lambda want: text_equals(want, item.direction),
        "title": lambda want: text_equals(want, item.title),
        "sender_contains": lambda want: text_contains(want, item.sender and item.sender.display()),
        "occurred_at": lambda want: times_match(want, item.occurred_at.isoformat()),
        "attachments": lambda want: count_matches(want, len(item.attachments)),
        "text_contains": lambda want: all(
            text_contains(text, f"{item.title}\n{item.body}") for text in want
        ),
    }
    return [key for key, want in expected.items() if key in checks and not checks[key](want)]


@pytest.mark.parametrize("case", corpus_cases())
def test_public_corpus_mail(case: dict[str, Any] | None) -> None:
    if case is None:
        pytest.skip(f"no conformance corpus at {CORPUS}")
    expect = case["expect"]
    items = [item for path in case["paths"] for item in read_all(CORPUS / path)]
    found = [item for item in items if isinstance(item, Interaction)]
    held = [item for item in items if isinstance(item, Quarantined)]

    if expect["outcome"] != "imported":
        # Not a mail we read: auto-detection must pass it by, and forcing it quarantines it.
        assert not any(eml.sniff(CORPUS / path) for path in case["paths"])
        assert found == [] and held, [q.reason for q in held]
        return
    assert len(found) == expect.get("interactions", len(found))
    assert len(held) == expect.get("quarantined", len(held))
    for wanted in expect.get("items", []):
        mismatches = [matches(wanted, item) for item in found]
        assert [] in mismatches, f"{wanted} vs {[(i.title, i.occurred_at) for i in found]}"


def test_the_owner_samples_read_of_a_mail_is_who_it_is_to_and_nothing_costly() -> None:
    # The owner detection reads 300 mails only for their recipients: no content, no scan of
    # the attached boarding pass, no booking; the import proper reads them whole.
    raw = (FIXTURES.parent / "tickets" / "klm-boarding-pass-pdf.eml").read_bytes()
    whole = parse_message(raw, "t.eml", ME)
    sampled = parse_message(raw, "t.eml", replace(ME, owner_sample=True))
    assert isinstance(whole, Interaction) and isinstance(sampled, Interaction)
    assert whole.bookings and whole.attachments and whole.body
    assert sampled.recipients == whole.recipients and sampled.sender == whole.sender
    assert (sampled.bookings, sampled.attachments, sampled.body) == ([], [], "")
