"""FIFOs, devices, sockets and endless or giant inputs end in seconds, in flat memory.

A FIFO, ``/dev/zero`` or a socket named on the command line is a one-line error (exit 2) before
the vault is unlocked; found inside a folder (or linked to from it) it is quarantined with the
reason and the rest is imported. A giant mail header (``To:`` with millions of addresses, in the
mail, in a MIME part, in a forwarded mail) and a giant line of a chat or a calendar are
quarantined with the reason while memory stays flat: the peak is measured (VmHWM of the CLI and
of its parse workers) and must not grow with the input. ``make test`` uses 20 MB inputs,
``make hardening`` 50 MB headers and a 200 MB line.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.hardening.generate import (
    ics_events,
    mail_bytes,
    meta_message,
    meta_thread,
    whatsapp_text,
)
from tests.hardening.harness import (
    IMPORTED,
    LONG,
    Kluis,
    Measured,
    assert_clean_failure,
    count,
    record_peak,
    snapshot,
)

FLAT_MB = 200
"""The peak memory (of any one process) an import may reach when the giant item is read past
(a line): start-up and the store, whatever the item's size."""

KEPT_COPIES = 5
"""A quarantined mail keeps its bytes (DESIGN: never dropped), so a giant one is in memory a
few times on its way to the store (split, sent to a parse worker and back, compressed): its
size times this, on top of ``FLAT_MB``. Parsing it took ten times and more."""

ERROR_SECONDS = 15.0
"""A refusal takes a CLI start-up, nothing more: seconds, never a hang."""

HEADER_MB = 50 if LONG else 20
LINE_MB = 200 if LONG else 20
CALENDAR_LINE_MB = 100 if LONG else 20  # a calendar file is read up to 200 MB in all
MB = 1024 * 1024


@contextmanager
def listening_socket(path: Path) -> Iterator[Path]:
    """A Unix socket at ``path`` (what ``open`` cannot read at all)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        yield path
    finally:
        server.close()


def measured_failure(kluis: Kluis, *args: str) -> tuple[str, Measured]:
    """``kluis ARGS``, which must end in a one-line error (exit 2) within seconds."""
    run = kluis.measure(*args, timeout=60)
    line = assert_clean_failure(run.done, 2)
    assert run.seconds < ERROR_SECONDS, (args, run.seconds)
    assert run.peak_mb < FLAT_MB, (args, run.peak_mb)
    return line, run


def measured_import(
    kluis: Kluis, path: Path, fmt: str, what: str, *, kept_mb: int = 0
) -> dict[str, Any]:
    """``kluis import PATH --format FMT --json``, which must end with a summary, in flat memory
    (plus ``KEPT_COPIES`` times ``kept_mb``, the largest item whose bytes are kept)."""
    run = kluis.measure("import", str(path), "--format", fmt, "--json", timeout=300)
    stderr = run.done.stderr.decode(errors="replace")
    assert run.done.returncode in IMPORTED and "Traceback" not in stderr, stderr[-2000:]
    summary: dict[str, Any] = json.loads(run.done.stdout)
    assert summary["errors"] == 0, summary
    record_peak(what, run.peak_mb)
    limit = FLAT_MB + KEPT_COPIES * kept_mb
    assert run.peak_mb < limit, f"{what}: peak {run.peak_mb} MB ({run.seconds:.1f} s)"
    return summary


# --- named on the command line -------------------------------------------------------------------


def test_a_fifo_a_device_or_a_socket_to_import_is_a_one_line_error_in_seconds(
    kluis: Kluis, tmp_path: Path
) -> None:
    fifo = tmp_path / "inbox"  # no suffix: --format auto asks the mbox sniffer, which opens it
    os.mkfifo(fifo)
    before = snapshot(kluis.vault)
    cases = [(str(fifo), fmt, "FIFO") for fmt in ("auto", "eml", "mbox", "whatsapp")]
    cases += [
        ("/dev/zero", fmt, "device")
        for fmt in ("auto", "eml", "mbox", "whatsapp", "telegram", "ics", "messenger")
    ]
    with listening_socket(tmp_path / "s") as sock:
        cases.append((str(sock), "auto", "socket"))
        for path, fmt, kind in cases:
            line, run = measured_failure(kluis, "import", path, "--format", fmt)
            assert kind in line and path in line, line
            record_peak(f"import {kind} --format {fmt}", run.peak_mb)
    assert snapshot(kluis.vault) == before  # refused before the vault was even opened
    count("hostile", "FIFOs, devices, sockets", len(cases))


def test_a_link_to_dev_zero_as_an_exports_only_file_is_a_one_line_error(
    kluis: Kluis, tmp_path: Path
) -> None:
    telegram = tmp_path / "telegram"
    telegram.mkdir()
    (telegram / "result.json").symlink_to("/dev/zero")
    calendar = tmp_path / "trips.ics"
    calendar.symlink_to("/dev/zero")

    for path, fmt in ((telegram, "telegram"), (calendar, "ics"), (calendar, "auto")):
        line, _ = measured_failure(kluis, "import", str(path), "--format", fmt)
        assert "character device" in line or "leads out of the source folder" in line, line
    count("hostile", "FIFOs, devices, sockets", 3)


# --- found inside a folder -----------------------------------------------------------------------


def test_fifos_devices_and_sockets_in_a_folder_are_quarantined_and_the_rest_imported(
    kluis: Kluis, tmp_path: Path
) -> None:
    mail = tmp_path / "mail"
    mail.mkdir()
    (mail / "good.eml").write_bytes(mail_bytes(1))
    os.mkfifo(mail / "pipe.eml")
    (mail / "zero.eml").symlink_to("/dev/zero")
    maildir = tmp_path / "Maildir"
    (maildir / "cur").mkdir(parents=True)
    (maildir / "new").mkdir()
    (maildir / "cur" / "1700000000.1.host:2,S").write_bytes(mail_bytes(2))
    os.mkfifo(maildir / "cur" / "1700000001.2.host:2,S")
    (maildir / "new" / "1700000002.3.host").symlink_to("/dev/zero")
    thread = tmp_path / "facebook-x" / "messages" / "inbox" / "garagesmit_4fe2a"
    (thread / "photos").mkdir(parents=True)
    os.mkfifo(thread / "photos" / "pipe.png")
    uri = "messages/inbox/garagesmit_4fe2a/photos/pipe.png"
    (thread / "message_1.json").write_text(
        meta_thread([{**meta_message(1, "a photo"), "photos": [{"uri": uri}]}])
    )
    os.mkfifo(thread / "message_2.json")

    with listening_socket(mail / "socket.eml"):
        eml = measured_import(kluis, mail, "eml", "a folder of mail with a FIFO, zero, socket")
    mails = measured_import(kluis, maildir, "maildir", "a Maildir with a FIFO and zero")
    chat = measured_import(kluis, thread.parents[2], "messenger", "a Messenger FIFO page")

    assert (eml["new"], eml["quarantined"]) == (1, 3), eml
    assert (mails["new"], mails["quarantined"]) == (1, 2), mails
    assert (chat["new"], chat["quarantined"]) == (1, 1), chat
    count("hostile", "FIFOs, devices, sockets", 6)


# --- giant items ---------------------------------------------------------------------------------


def giant_header_mails() -> list[bytes]:
    """A ``To:`` list of ``HEADER_MB``, the same in a MIME part's header and in a forwarded
    mail's headers."""
    addresses = b"a@b.example.com, " * (HEADER_MB * MB // 17)
    top = b"From: Shop <s@shop.example.com>\nSubject: many\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n"
    multipart = b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n--B\n'
    return [
        top + b"Message-ID: <to@x>\nTo: " + addresses + b"\n\nbody\n",
        top + b"Message-ID: <part@x>\n" + multipart + b"X-List: " + addresses + b"\n\nx\n--B--\n",
        top
        + b"Message-ID: <fwd@x>\n"
        + multipart
        + b"Content-Type: message/rfc822\n\nFrom: a@b.c\nTo: "
        + addresses
        + b"\n\ninner\n--B--\n",
    ]


def test_giant_mail_headers_are_quarantined_in_flat_memory(kluis: Kluis, tmp_path: Path) -> None:
    one = tmp_path / "giant.eml"
    one.write_bytes(giant_header_mails()[0])
    mbox = tmp_path / "giant.mbox"
    with mbox.open("wb") as out:
        for mail in [mail_bytes(1), *giant_header_mails(), mail_bytes(2)]:
            out.write(b"From shop@example.com Mon Jan  1 12:00:00 2024\n" + mail + b"\n")

    what = f"{HEADER_MB} MB To: header (eml)"
    eml = measured_import(kluis, one, "eml", what, kept_mb=HEADER_MB)
    what = f"3 x {HEADER_MB} MB headers in an mbox"
    box = measured_import(kluis, mbox, "mbox", what, kept_mb=HEADER_MB)

    assert (eml["new"], eml["quarantined"]) == (0, 1), eml
    assert (box["new"], box["quarantined"]) == (2, 3), box
    count("hostile", "giant headers and lines", 4)


def test_a_giant_chat_or_calendar_line_is_quarantined_in_flat_memory(
    kluis: Kluis, tmp_path: Path
) -> None:
    chat = tmp_path / "WhatsApp Chat with Jansen.txt"
    with chat.open("w") as out:
        out.write("1/2/24, 9:00 AM - Jansen: ")
        for _ in range(LINE_MB):
            out.write("x" * MB)
        out.write("\n" + whatsapp_text(2, contact="Jansen"))
    calendar = tmp_path / "trips.ics"
    events = ics_events(2)
    with calendar.open("w") as out:
        head, _, rest = events.partition("BEGIN:VEVENT")
        out.write(head + "BEGIN:VEVENT\r\nDESCRIPTION:")
        for _ in range(CALENDAR_LINE_MB):
            out.write("y" * MB)
        out.write(rest)  # starts with the line end of the giant line

    whatsapp = measured_import(kluis, chat, "whatsapp", f"{LINE_MB} MB one-line WhatsApp")
    ics = measured_import(kluis, calendar, "ics", f"{CALENDAR_LINE_MB} MB calendar line")

    assert (whatsapp["new"], whatsapp["quarantined"]) == (2, 1), whatsapp
    assert ics["new"] == 2 and ics["quarantined"] == 1, ics
    count("hostile", "giant headers and lines", 2)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory from /proc")
def test_the_memory_fence_measures_something(kluis: Kluis) -> None:
    """The peaks asserted above are real readings: a CLI start-up shows its megabytes."""
    run = kluis.measure("--help")
    assert run.done.returncode == 0
    assert 10 < run.peak_mb < FLAT_MB, run.peak_mb
