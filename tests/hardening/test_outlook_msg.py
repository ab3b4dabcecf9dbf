"""Outlook ``.msg`` files through ``kluis import`` into a real vault: the same mail as an ``.eml``
(original headers, attachments, companies), and hostile compound files quarantined with the
reason, never a traceback, a hang or unbounded memory."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime
from pathlib import Path

from tests import msgfile
from tests.hardening.harness import (
    Kluis,
    assert_clean_failure,
    count,
    open_for_test,
    run_in_process,
)
from vault.store import execute

FIXTURES = Path(__file__).parent.parent / "fixtures" / "msg"
BOL = FIXTURES / "bol-verzonden-headers.msg"
ENECO = FIXTURES / "eneco-jaarnota-ansi.msg"


def imported(kluis: Kluis, *args: str) -> dict[str, int]:
    done = run_in_process(kluis, "import", *args, "--json")
    assert "Traceback" not in done.stderr.decode(), done.stderr.decode()
    assert done.returncode in (0, 3), done.stderr.decode()
    summary: dict[str, int] = json.loads(done.stdout)
    return summary


def only_item(kluis: Kluis, company: str) -> dict[str, object]:
    done = run_in_process(kluis, "timeline", company, "--json")
    assert done.returncode == 0, done.stderr.decode()
    (item,) = json.loads(done.stdout)
    shown: dict[str, object] = kluis.json("show", str(item["id"]))
    return shown


def reasons(kluis: Kluis) -> str:
    store = open_for_test(kluis.vault)
    try:
        with store.reader() as conn:
            rows = execute(conn, "SELECT reason FROM quarantine ORDER BY id").all()
    finally:
        store.close()
    return "\n".join(str(row[0]) for row in rows)


def test_msg_with_transport_headers_is_the_mail_it_was(kluis: Kluis) -> None:
    assert imported(kluis, str(BOL))["new"] == 1
    shown = only_item(kluis, "bol")
    assert shown["title"] == "Je bestelling 4152367890 is verzonden"
    assert shown["occurred_at"] == "2024-12-03T10:15:00+01:00"  # the Date header, its offset kept
    assert "3SABCD1234567" in str(shown["body"])
    files = [(a["filename"], a["mime"]) for a in shown["attachments"]]  # type: ignore[attr-defined]
    assert files == [
        ("factuur-4152367890.pdf", "application/pdf"),
        ("Je bestelling is ontvangen.eml", "message/rfc822"),  # an attached .msg, kept
    ]
    assert [c["domains"] for c in kluis.json("companies")] == [["bol.com"]]


def test_the_same_mail_as_msg_and_as_eml_is_stored_once(kluis: Kluis, tmp_path: Path) -> None:
    eml = tmp_path / "verzonden.eml"
    eml.write_bytes(
        msgfile.HEADERS.replace("multipart/alternative", "text/plain").encode()
        + b"\r\nHoi Anna,\r\n"
    )
    assert imported(kluis, str(eml))["new"] == 1
    summary = imported(kluis, str(BOL))
    assert (summary["new"], summary["duplicate"]) == (0, 1)


def test_msg_without_headers_is_built_from_its_properties(kluis: Kluis) -> None:
    assert imported(kluis, str(ENECO))["new"] == 1
    shown = only_item(kluis, "Eneco")
    assert shown["title"] == "Uw jaarnota 2024 – € 1.234,56 terug"  # 8-bit cp1252 strings
    assert shown["occurred_at"] == "2024-12-05T08:00:00+00:00"  # PR_MESSAGE_DELIVERY_TIME
    recipients = json.dumps(shown["recipients"])
    assert "anna@example.org" in recipients and "bas@example.org" in recipients


def test_msg_with_only_an_html_body_shows_its_text(kluis: Kluis, tmp_path: Path) -> None:
    path = tmp_path / "html.msg"
    nodes = msgfile.message(
        subject="Uw reservering bij De Kas",
        body="",
        html="<html><body><h1>Tot zaterdag!</h1><p>Tafel voor 2 om 19:30.</p></body></html>",
        sender=("Restaurant De Kas", "reserveringen@restaurantdekas.nl"),
        when=datetime(2024, 12, 4, 15, 0, tzinfo=UTC),
    )
    path.write_bytes(msgfile.compound_file([n for n in nodes if n.name != "__substg1.0_1000001F"]))
    assert imported(kluis, str(path))["new"] == 1
    body = str(only_item(kluis, "De Kas")["body"])
    assert "Tafel voor 2 om 19:30." in body and "<p>" not in body


def test_reimporting_msg_files_adds_nothing(kluis: Kluis, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for source in (BOL, ENECO):
        (copy / source.name).write_bytes(source.read_bytes())
    assert imported(kluis, str(copy / BOL.name), str(copy / ENECO.name))["new"] == 2
    (copy / "again.msg").write_bytes(ENECO.read_bytes())  # a copy under another name
    summary = imported(kluis, str(copy / "again.msg"))
    assert (summary["new"], summary["duplicate"]) == (0, 1)


def test_a_folder_of_msg_files_imports_each(kluis: Kluis, tmp_path: Path) -> None:
    folder = tmp_path / "Outlook export" / "2024"
    folder.mkdir(parents=True)
    for source in (BOL, ENECO):
        (folder / source.name).write_bytes(source.read_bytes())
    (folder / "broken.msg").write_bytes(BOL.read_bytes()[:3000])
    summary = imported(kluis, str(tmp_path / "Outlook export"))
    assert (summary["new"], summary["quarantined"]) == (2, 1)


def test_msg_is_recognised_by_content_and_other_ole_files_are_not(
    kluis: Kluis, tmp_path: Path
) -> None:
    renamed = tmp_path / "mail"
    renamed.write_bytes(ENECO.read_bytes())
    assert imported(kluis, str(renamed))["new"] == 1
    word = tmp_path / "report.doc"
    word.write_bytes(msgfile.compound_file([msgfile.Node("WordDocument", b"\x00" * 600)]))
    done = run_in_process(kluis, "import", str(word))
    assert "does not recognise" in assert_clean_failure(done, 2)


# --- hostile compound files ----------------------------------------------------------------------


def hostile(kluis: Kluis, tmp_path: Path, name: str, data: bytes, *, kept: int = 0) -> str:
    """Import ``data`` as a ``.msg`` by the real CLI (timeout, memory limit): it must be
    quarantined (or, ``kept``, read as far as it goes); the reasons."""
    path = tmp_path / name
    path.write_bytes(data)
    done = kluis.run("import", str(path), "--json")
    stderr = done.stderr.decode()
    assert "Traceback" not in stderr and "unexpected error" not in stderr, stderr[-2000:]
    assert done.returncode in (0, 3), (done.returncode, stderr[-2000:])
    summary = json.loads(done.stdout)
    assert (summary["new"], summary["quarantined"]) == (kept, 1 - kept), summary
    count("hostile", "outlook msg")
    return reasons(kluis)


def test_truncated_msg_is_quarantined(kluis: Kluis, tmp_path: Path) -> None:
    data = BOL.read_bytes()
    assert "Outlook .msg" in hostile(kluis, tmp_path, "cut.msg", data[: len(data) // 2])


def test_cyclic_fat_is_read_in_bounded_time_and_memory(kluis: Kluis, tmp_path: Path) -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    data = bytearray(msgfile.msg_bytes(subject="x", body="y" * 9000, when=when))
    fat = 512  # the first FAT sector follows the header
    entries = len(data) // 512 - 1
    for sector in range(1, entries):  # every chain after the FAT loops back on itself
        struct.pack_into("<I", data, fat + 4 * sector, sector)
    # Each stream then repeats one sector up to its declared size: never past the file's size,
    # never more than a few times the file in all. What it says is garbage, but it ends.
    hostile(kluis, tmp_path, "cyclic.msg", bytes(data), kept=1)


def test_a_stream_claiming_gigabytes_is_quarantined(kluis: Kluis, tmp_path: Path) -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    data = bytearray(msgfile.msg_bytes(subject="x", body="y" * 9000, when=when))
    directory = data.find("__substg1.0_1000001F".encode("utf-16-le"))
    struct.pack_into("<Q", data, directory + 120, 3 * 1024**3)  # the body's size field
    assert "Outlook .msg" in hostile(kluis, tmp_path, "huge.msg", bytes(data))


def test_messages_nested_without_end_are_quarantined(kluis: Kluis, tmp_path: Path) -> None:
    inner = msgfile.message(subject="0", body="", top=False)
    for depth in range(1, 12):
        inner = msgfile.message(
            subject=str(depth),
            body="",
            attachments=[msgfile.embedded(0, "m.msg", inner)],
            top=False,
        )
    data = msgfile.compound_file(
        msgfile.message(
            subject="top",
            body="",
            when=datetime(2024, 1, 1, tzinfo=UTC),
            attachments=[msgfile.embedded(0, "m.msg", inner)],
        )
    )
    assert "nest more than" in hostile(kluis, tmp_path, "nested.msg", data)


def test_garbage_named_msg_is_quarantined(kluis: Kluis, tmp_path: Path) -> None:
    data = msgfile.MAGIC + bytes(range(256)) * 8
    assert "Outlook .msg" in hostile(kluis, tmp_path, "garbage.msg", data)


def test_a_real_outlook_2016_file_keeps_its_headers_umlauts_and_images(kluis: Kluis) -> None:
    real = FIXTURES / "mail-parser-outlook-1.msg"  # Apache-2.0, see tests/fixtures/msg/README.md
    assert imported(kluis, str(real))["new"] == 1
    (item,) = kluis.json("search", "Eröffnungsbilanz")
    shown = kluis.json("show", str(item["id"]))
    assert shown["title"] == "Newsletter Prüfung Personalwesen / Prüfung Eröffnungsbilanz"
    assert shown["occurred_at"] == "2017-09-18T12:00:18+02:00"
    assert "Sehr geehrte Frau Gaiser-Schönenborn" in shown["body"]
    assert [a["filename"] for a in shown["attachments"]][:2] == ["newsletter.png", "spacer.gif"]
