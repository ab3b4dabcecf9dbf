"""Hostile PDFs and images attached to mail: the import finishes within seconds, in bounded
memory, every mail imported with its file kept as it is and a one-line note on what was not read.

The CLI runs fenced (1.5 GB address space, a timeout); the decoders run in kluis's reader child,
which limits itself further. Nothing here may end in a traceback, a quarantined mail or a hang.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from importers.scan import MAX_ATTACHMENTS, MAX_BYTES
from tests.hardening.documents import (
    huge_pages,
    inflating_page,
    mail_with_files,
    many_pages,
    png_bomb,
    slow_pages,
)
from tests.hardening.harness import IMPORTED, LONG, Kluis, count, open_for_test
from vault.store import execute

FIXTURES = Path(__file__).parents[1] / "fixtures" / "tickets"
PDF = "application/pdf"


def import_mails(kluis: Kluis, folder: Path, mails: list[bytes]) -> tuple[dict[str, int], float]:
    """Import ``mails`` as .eml files of one folder; (the summary, the seconds it took)."""
    folder.mkdir()
    for n, raw in enumerate(mails):
        (folder / f"{n:02}.eml").write_bytes(raw)
    started = time.monotonic()
    done = kluis.run("import", str(folder), "--format", "eml", "--json")
    seconds = time.monotonic() - started
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode in IMPORTED and "Traceback" not in stderr, stderr[-2000:]
    return json.loads(done.stdout), seconds


def bodies(kluis: Kluis) -> dict[str, tuple[str, list[str]]]:
    """Every stored mail's subject → (body, attachment file names)."""
    store = open_for_test(kluis.vault)
    try:
        with store.reader() as conn:
            rows = execute(conn, "SELECT id, title, body FROM interaction").all()
            files = execute(conn, "SELECT interaction_id, filename FROM attachment").all()
    finally:
        store.close()
    return {
        title: (body, [name for owner, name in files if owner == id_]) for id_, title, body in rows
    }


def test_hostile_pdfs_and_images_cost_a_note_never_the_import(kluis: Kluis, tmp_path: Path) -> None:
    good = (FIXTURES / "boarding-pass.pdf").read_bytes()
    # subject: (attached file, its MIME type, its bytes, what its note must say)
    cases = {
        "many pages": ("a.pdf", PDF, many_pages(200_000 if LONG else 20_000), "the first 10 of"),
        "huge pages": ("b.pdf", PDF, huge_pages(3), "at a lower resolution (too large)"),
        "inflating": ("c.pdf", PDF, inflating_page(3000 if LONG else 1500), "more than 512 MB"),
        "slow pages": ("d.pdf", PDF, slow_pages(10, 20_000), "s a document may take were spent"),
        "broken pdf": ("e.pdf", PDF, good[: len(good) // 2], "not a readable PDF"),
        "pixel bomb": ("f.png", "image/png", png_bomb(60_000 if LONG else 30_000), "megapixels"),
    }
    mails = [
        mail_with_files(n, subject, [(name, mime, data)])
        for n, (subject, (name, mime, data, _)) in enumerate(cases.items())
    ]
    summary, seconds = import_mails(kluis, tmp_path / "mails", mails)

    assert (summary["new"], summary["quarantined"], summary["errors"]) == (len(cases), 0, 0)
    stored = bodies(kluis)
    for subject, (name, _, _, note) in cases.items():
        body, files = stored[subject]
        assert files == [name]  # the file itself is kept as it is
        notes = [line for line in body.splitlines() if line.startswith("Note: ")]
        assert len(notes) == 1 and note in notes[0], (subject, body[-500:])
    # Each file's reading is bounded (5 s budget, 10 s alarm); all six together well under a
    # minute even on a loaded machine.
    assert seconds < 60, seconds
    count("hostile", "pdf and image attachments", len(cases))


def test_a_mail_full_of_pdfs_reads_only_the_first_ones(kluis: Kluis, tmp_path: Path) -> None:
    page = (FIXTURES / "boarding-pass.pdf").read_bytes()
    files = [(f"ticket-{n}.pdf", PDF, page + b"%" + bytes([n])) for n in range(30)]
    summary, seconds = import_mails(kluis, tmp_path / "mails", [mail_with_files(1, "many", files)])

    assert summary["new"] == 1
    body, kept = bodies(kluis)["many"]
    assert len(kept) == 30
    unread = body.count(f"Note: not read: kluis reads the first {MAX_ATTACHMENTS} PDFs")
    assert unread == 30 - MAX_ATTACHMENTS
    assert body.count("PDF417 barcode: M1DEVRIES/SANNE") == MAX_ATTACHMENTS
    assert seconds < 60, seconds


def test_a_pdf_too_big_to_read_is_kept_with_a_note(kluis: Kluis, tmp_path: Path) -> None:
    big = b"%PDF-1.4\n%" + bytes(MAX_BYTES + 1)
    mail = mail_with_files(1, "big", [("big.pdf", PDF, big)])
    summary, _ = import_mails(kluis, tmp_path / "mails", [mail])

    assert summary["new"] == 1
    body, kept = bodies(kluis)["big"]
    assert kept == ["big.pdf"]
    assert f"Note: not read: {len(big):,} bytes is more than the 20 MB kluis reads" in body
