"""Tickets in PDFs and images: boarding passes become flights, PDF text is searchable."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import importers
from importers.email.mbox import POOL_MIN_BYTES
from importers.scan import Scan, kind_of, sandbox, scan_document, with_scans
from tests.hardening.generate import mail_bytes, write_mbox_of
from tests.hardening.harness import make_vault, open_for_test
from tests.support import PASSPHRASE
from tests.test_cli import kluis, kluis_json
from vault.store import execute

FIXTURES = Path(__file__).parent / "fixtures" / "tickets"
BARCODE = (Path(__file__).parent / "fixtures" / "bcbp" / "klm-ams-vie.txt").read_text().rstrip()


@pytest.fixture
def vault(cli_env: Path) -> Path:
    """A real, empty vault, its key wrapped with the cheapest Argon2id keys.json accepts."""
    make_vault(cli_env, PASSPHRASE)
    return cli_env


def import_file(capsys: pytest.CaptureFixture[str], name: str, *args: str) -> dict[str, int]:
    summary = kluis_json(capsys, "import", str(FIXTURES / name), "--timezone", "UTC", *args)
    assert isinstance(summary, dict)
    return summary


def the_klm_flight(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    bookings = kluis_json(capsys, "bookings")
    assert isinstance(bookings, list) and len(bookings) == 1, bookings
    flight = bookings[0]
    assert isinstance(flight, dict)
    assert (flight["kind"], flight["reference"], flight["number"]) == ("flight", "K2X9QZ", "KL1275")
    assert (flight["origin"], flight["destination"]) == ("AMS", "VIE")
    assert flight["start"] == "2026-06-19"  # day 170 of the mail's year: a date, no time invented
    assert flight["seat"] == "12A"
    assert flight["travellers"] == ["Sanne Devries"]
    return flight


@pytest.mark.parametrize("attached", ["pdf", "png"])
def test_a_boarding_pass_mailed_as_pdf_or_png_becomes_the_flight(
    vault: Path, capsys: pytest.CaptureFixture[str], attached: str
) -> None:
    summary = import_file(capsys, f"klm-boarding-pass-{attached}.eml")
    assert (summary["new"], summary["quarantined"], summary["errors"]) == (1, 0, 0)
    the_klm_flight(capsys)
    companies = kluis_json(capsys, "companies")
    assert isinstance(companies, list)
    assert [c["name"] for c in companies] == ["KLM Royal Dutch Airlines"]
    timeline = kluis_json(capsys, "timeline", "1")
    assert isinstance(timeline, list) and len(timeline) == 1
    shown = kluis_json(capsys, "show", str(timeline[0]["id"]))
    assert isinstance(shown, dict)
    assert shown["attachments"][0]["filename"] == f"BoardingPass_KL1275.{attached}"
    assert f"PDF417 barcode: {BARCODE}" in shown["body"]
    assert shown["bookings"][0]["reference"] == "K2X9QZ"


def test_the_barcode_text_is_kept_in_the_booking(
    vault: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_file(capsys, "klm-boarding-pass-pdf.eml")
    store = open_for_test(vault, PASSPHRASE)
    try:
        with store.reader() as conn:
            ((details,),) = execute(conn, "SELECT details FROM booking").all()
    finally:
        store.close()
    assert json.loads(details)["barcode"] == BARCODE


def test_the_text_of_an_attached_pdf_is_found_by_search(
    vault: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_file(capsys, "klm-boarding-pass-pdf.eml")
    import_file(capsys, "klm-boarding-pass-png.eml")
    # "Schwechat" is printed only in the PDF, never in the mails' own text.
    hits = kluis_json(capsys, "search", "Schwechat")
    assert isinstance(hits, list) and len(hits) == 1
    assert hits[0]["title"] == "Your boarding pass for KL1275 to Vienna"
    shown = kluis_json(capsys, "show", str(hits[0]["id"]))
    assert isinstance(shown, dict)
    assert "── BoardingPass_KL1275.pdf ──" in shown["body"]
    assert "Wien-Schwechat (VIE)" in shown["body"]
    assert shown["body"].startswith("Dear Ms De Vries,")


def test_the_same_pass_as_pdf_and_png_in_two_mails_is_one_flight(
    vault: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_file(capsys, "klm-boarding-pass-pdf.eml")
    summary = import_file(capsys, "klm-boarding-pass-png.eml")
    assert summary["new"] == 1
    the_klm_flight(capsys)


@pytest.mark.parametrize("name", ["scanned-boarding-pass.pdf", "boarding-pass.png"])
def test_a_boarding_pass_file_on_its_own_is_detected_and_imported(
    vault: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    saved = tmp_path / name
    saved.write_bytes((FIXTURES / name).read_bytes())
    os.utime(saved, (time.time(), 1781000000))  # saved on 2026-06-09: the pass's year
    assert importers.detect(saved) == "ticket"
    summary = kluis_json(capsys, "import", str(saved))
    assert isinstance(summary, dict) and (summary["new"], summary["errors"]) == (1, 0)
    the_klm_flight(capsys)
    again = kluis_json(capsys, "import", str(saved), "--format", "ticket")
    assert isinstance(again, dict) and again["new"] == 0


def test_a_pdf_without_a_ticket_on_its_own_is_a_clear_error(
    vault: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    letter = tmp_path / "letter.pdf"
    letter.write_bytes((FIXTURES / "boarding-pass.pdf").read_bytes().replace(b"/Image", b"/Nope"))
    status, _, err = kluis(capsys, "import", str(letter))
    assert status == 2
    assert err.startswith("kluis: ") and "no ticket kluis can read" in err
    assert err.count("\n") == 1


def test_a_pdf_and_an_image_are_told_by_their_first_bytes_not_their_names() -> None:
    pdf = (FIXTURES / "boarding-pass.pdf").read_bytes()
    png = (FIXTURES / "boarding-pass.png").read_bytes()
    assert kind_of("scan.bin", "application/octet-stream", pdf) == "pdf"
    assert kind_of("image001", "application/octet-stream", png) == "image"
    assert kind_of("ticket.pdf", "application/octet-stream", b"junk") == "pdf"  # read: a note
    assert kind_of("notes.txt", "text/plain", b"hello") is None


def test_scans_join_the_body_under_their_file_name_and_say_what_was_not_read() -> None:
    scans = [
        Scan("a.pdf", text="Page one"),
        Scan("logo.png"),
        Scan("b.pdf", notes=["read the first 10 of 12 pages"]),
    ]
    body = with_scans("Hello", scans)
    assert body == (
        "Hello\n\n── a.pdf ──\nPage one\n\n── b.pdf ──\nNote: read the first 10 of 12 pages"
    )
    assert with_scans("", scans[:1]) == "── a.pdf ──\nPage one"


def test_a_broken_pdf_gets_a_note_never_an_error() -> None:
    good = (FIXTURES / "boarding-pass.pdf").read_bytes()
    scan = scan_document(good[: len(good) // 3], "pdf", "cut.pdf")
    assert scan.text == "" and scan.barcodes == []
    assert scan.notes and scan.notes[0].startswith("not read: not a readable PDF")


def test_reading_a_ticket_loads_no_decoder_into_kluis_and_gives_the_reader_no_secret(
    tmp_path: Path,
) -> None:
    script = f"""
import os, sys
from importers.email.message import parse_message
from importers.scan import sandbox
from tests.support import options
raw = open({str(FIXTURES / "klm-boarding-pass-pdf.eml")!r}, "rb").read()
item = parse_message(raw, "bp.eml", options())
assert [b.number for b in item.bookings] == ["KL1275"], item.bookings
heavy = [m for m in sys.modules if m.split(".")[0] in ("PIL", "pypdfium2", "zxingcpp")]
child = sandbox._READER.process
environ = open(f"/proc/{{child.pid}}/environ", "rb").read()
print(heavy, b"KLUIS_PASSPHRASE" in environ, b"hunter2" in environ)
"""
    env = dict(os.environ, KLUIS_PASSPHRASE="hunter2")
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parents[1],
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "False", "False"]


def test_boarding_passes_in_a_big_mbox_are_read_by_every_parse_worker(
    vault: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Past POOL_MIN_BYTES the mails after the first 320 are parsed in worker processes, which
    # start readers of their own.
    passes = {
        3: (FIXTURES / "klm-boarding-pass-pdf.eml").read_bytes(),
        350: (FIXTURES / "klm-boarding-pass-png.eml").read_bytes(),
        399: (FIXTURES / "klm-boarding-pass-pdf.eml")
        .read_bytes()
        .replace(b"bp-pdf-kl1275", b"bp-pdf-again"),
    }
    filler = "Thank you for your order.\n" * 420
    mails = [passes.get(n) or mail_bytes(n, body=filler) for n in range(400)]
    mbox = write_mbox_of(tmp_path / "inbox.mbox", mails)
    assert mbox.stat().st_size >= POOL_MIN_BYTES

    summary = kluis_json(capsys, "import", str(mbox), "--format", "mbox")
    assert isinstance(summary, dict) and (summary["new"], summary["errors"]) == (400, 0)
    the_klm_flight(capsys)
    hits = kluis_json(capsys, "search", "M1DEVRIES")
    assert isinstance(hits, list) and len(hits) == 3


def test_a_forked_parse_worker_never_shares_its_parents_reader() -> None:
    png = (FIXTURES / "boarding-pass.png").read_bytes() + b"\0fork"  # not a remembered scan
    assert scan_document(png, "image", "a.png").barcodes
    assert sandbox._READER.process is not None
    pid = os.fork()
    if pid == 0:  # a worker, as ProcessPoolExecutor forks it
        os._exit(0 if sandbox._READER.process is None else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert scan_document(png + b"\0", "image", "b.png").barcodes  # the parent's still answers


@pytest.mark.parametrize(
    ("form", "mode"),
    [("JPEG", "L"), ("JPEG", "RGB"), ("GIF", "P"), ("WEBP", "RGB"), ("PNG", "LA"), ("PNG", "1")],
)
def test_a_boarding_pass_picture_is_read_in_every_image_format(form: str, mode: str) -> None:
    from PIL import Image, ImageOps

    code = Image.open(FIXTURES / "boarding-pass.png").convert("L")
    photo = ImageOps.expand(code.resize((code.width * 2, code.height * 2)), 200, fill=255)
    if mode == "LA":  # black bars on nothing, as barcode generators draw them
        photo = Image.merge("LA", [photo.point(lambda _: 0), ImageOps.invert(photo)])
    else:
        photo = photo.convert(mode)
    data = io.BytesIO()
    photo.save(data, form, quality=90)

    scan = scan_document(data.getvalue(), "image", f"pass.{form.lower()}")
    assert [c.text for c in scan.barcodes] == [BARCODE] and scan.notes == []


def test_a_reader_child_left_without_work_is_ended_and_the_next_file_starts_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Once the parse pool takes over a big import, the importing process's own reader would
    # otherwise sit idle, holding its memory, until the import ends.
    monkeypatch.setattr(sandbox, "IDLE_SECONDS", 0.5)
    png = (FIXTURES / "boarding-pass.png").read_bytes()
    assert scan_document(png + b"\0idle", "image", "a.png").barcodes
    child = sandbox._READER.process
    assert child is not None
    child.wait(timeout=10)  # ended by kluis, not killed: its stdin was closed
    assert child.returncode == 0 and sandbox._READER.process is None
    assert scan_document(png + b"\0again", "image", "b.png").barcodes
