"""What an import holds in memory that it does not need: each of its processes (the importing
one, every parse worker) pays for what it loads, so tables loaded once per process are kept
to what is used."""

from __future__ import annotations

import base64
import contextlib
import io
import os
import time
import tracemalloc
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

from importers.bookings import airport_zones, airports
from tests.hardening.generate import START, mail_bytes, write_mbox_of
from tests.hardening.harness import Kluis, children, python_script
from tests.hardening.test_parse_workers import wait_for_workers


def test_the_airport_table_holds_only_codes_and_zones() -> None:
    # It used to keep every airport of airportsdata's table as a dict: 7.7 MB in each process.
    tracemalloc.start()
    try:
        table = airport_zones.read_zones()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 2 * 2**20
    assert len(table) > 7000
    assert str(airports.airport_zone("AMS")) == "Europe/Amsterdam"
    assert str(airports.airport_zone(" jfk ")) == "America/New_York"
    assert airports.airport_zone("ZZZ") is None
    assert airports.is_airport("LHR") and not airports.is_airport("")


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PDF_MAILS = 1100  # 5 MB: over POOL_MIN_BYTES, so parsing runs in the pool


def _pdf_mail(n: int, pdf: bytes) -> bytes:
    """A shop mail with ``pdf`` attached, made unique (a comment after the end) so that no
    scan is answered from memory."""
    unique = base64.encodebytes(pdf + f"\n% mail {n}\n".encode()).decode()
    return (
        f"From: KLM <noreply@klm.com>\nTo: Sanne de Vries <sanne@example.org>\n"
        f"Subject: Boarding pass {n}\nDate: {format_datetime(START + timedelta(minutes=n))}\n"
        f"Message-ID: <bp-{n}@klm.com>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"\n\n'
        "--b\nContent-Type: text/plain; charset=utf-8\n\nYour boarding pass.\n"
        '--b\nContent-Type: application/pdf; name="pass.pdf"\n'
        "Content-Transfer-Encoding: base64\n\n"
        f"{unique}--b--\n"
    ).encode()


def _readers_under(pid: int) -> list[int]:
    """The scan reader children of ``pid``."""
    found = []
    for child in children(pid):
        with contextlib.suppress(OSError):
            if b"importers.scan.child" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
    return found


def _mailbox_with_tickets(tmp_path: Path, every: int) -> Path:
    """An mbox big enough for the parse pool, every ``every``-th mail with a PDF ticket."""
    pdf = (FIXTURES / "tickets" / "boarding-pass.pdf").read_bytes()
    mails = (
        _pdf_mail(n, pdf) if n % every == 0 else mail_bytes(n, body="Thank you.\n" * 400)
        for n in range(PDF_MAILS)
    )
    return write_mbox_of(tmp_path / "inbox.mbox", mails)


def test_the_importer_ends_its_scan_reader_once_the_parse_workers_take_over(
    kluis: Kluis, tmp_path: Path
) -> None:
    # The importing process may parse the first mails itself (while the owner is unknown),
    # PDFs among them, so it starts a reader child; it used to keep it (~20 MB) until 5 s after
    # its last file, all through a pooled import, while each worker ran its own.
    mbox = _mailbox_with_tickets(tmp_path, every=4)
    process = kluis.popen("import", str(mbox))
    try:
        workers = wait_for_workers(process.pid)
        # Once the chunk it may be parsing itself is done (the reader idles for 5 s).
        deadline = time.monotonic() + 4
        while _readers_under(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, "the import ended too soon to tell"
        assert _readers_under(process.pid) == []
        deadline = time.monotonic() + 10
        while not any(_readers_under(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(_readers_under(worker) for worker in workers)  # the workers scan
        process.wait(timeout=300)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""


def _resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_the_scan_reader_gives_a_large_pictures_memory_back_after_reading_it() -> None:
    # A 6-megapixel photo decoded and searched: the reader used to keep ~13 MB more after the
    # second one (freed pixels left in its heap), in each reader, for the rest of the import.
    from PIL import Image

    from importers.scan import sandbox, scan_document

    photo = io.BytesIO()
    Image.effect_noise((3000, 2000), 60).convert("RGB").save(photo, "JPEG", quality=85)
    sizes = []
    for n in range(3):
        scan_document(photo.getvalue() + bytes([n]), "image", "photo.jpg")  # not remembered
        assert sandbox._READER.process is not None
        sizes.append(_resident_mb(sandbox._READER.process.pid))
    assert max(sizes) - sizes[0] < 5, sizes


_ORPHANS = """
import ctypes, os, subprocess, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come to us
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
orphans = 0
while True:
    try:
        pid, _ = os.waitpid(-1, 0)
    except ChildProcessError:
        break
    orphans += 1
print(code, orphans)
"""


def test_every_process_a_pooled_import_starts_is_waited_for_by_its_parent(
    kluis: Kluis, tmp_path: Path
) -> None:
    # A process nobody waits for ends as a zombie handed to init, and its CPU time is counted
    # nowhere. The workers' scan readers, the workers and the fork server are waited for.
    mbox = _mailbox_with_tickets(tmp_path, every=20)
    done = python_script(kluis.env(), _ORPHANS, *kluis.command("import", str(mbox)), timeout=300)
    code, orphans = done.stdout.split()
    # At most multiprocessing's resource tracker, which ends on its own after the import
    # (as it did before); the workers' two scan readers used to be left too.
    assert (code, int(orphans) <= 1) == ("0", True), done.stderr


def test_the_owner_detection_sample_lets_go_of_the_mailbox_before_the_import_reads_it(
    kluis: Kluis, tmp_path: Path
) -> None:
    # The sample of the first mails (whose recipient is "me") used to keep its reader to the
    # end of the import: the mbox open twice and its read buffer (a large mail's worth) held.
    mbox = write_mbox_of(
        tmp_path / "inbox.mbox",
        (mail_bytes(n, body="Thank you.\n" * 400) for n in range(PDF_MAILS)),
    )
    process = kluis.popen("import", str(mbox))
    try:
        wait_for_workers(process.pid)
        assert process.poll() is None, "the import ended too soon to tell"
        folder = Path(f"/proc/{process.pid}/fd")
        opened = []
        for fd in os.listdir(folder):
            with contextlib.suppress(OSError):
                opened.append(os.readlink(folder / fd))
        assert opened.count(str(mbox)) == 1
        process.wait(timeout=300)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
