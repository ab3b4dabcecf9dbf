"""Hostile folders and Apple Mail files: the walk file by file never hangs, never leaves the
folder, never stops at one bad file, and names or quarantines each thing it does not read.

Cases: a link leading out (to a file and to a folder), a link looping back into the folder, a
FIFO named ``.eml``, a 0-byte file, random bytes named ``.eml``, nesting deeper than the walk
goes; ``.emlx`` files with a lying byte count, no byte count, an entity-bomb plist, absurd plist
values; and a wide folder of thousands of files (``make hardening``: 20,000).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import text

from importers.folder import MAX_DEPTH
from tests.hardening.generate import mail_bytes
from tests.hardening.harness import (
    LONG,
    Kluis,
    count,
    import_summary,
    open_for_test,
    record_peak,
)

CANARY = "kluis-canary-" + secrets.token_hex(12)


def imported(kluis: Kluis, path: Path) -> dict[str, Any]:
    return import_summary(kluis.run("import", str(path), "--json", "--me", "me@example.org"))


def vault_rows(kluis: Kluis, query: str) -> list[tuple[Any, ...]]:
    store = open_for_test(kluis.vault)
    try:
        with store.read() as conn:
            return [tuple(row) for row in conn.execute(text(query))]
    finally:
        store.close()


def quarantine(kluis: Kluis) -> dict[str, str]:
    rows = vault_rows(kluis, "SELECT source_ref, reason FROM quarantine")
    return {str(ref): str(reason) for ref, reason in rows}


def test_a_hostile_folder_reads_what_it_can_and_names_or_quarantines_the_rest(
    kluis: Kluis, tmp_path: Path
) -> None:
    outside = tmp_path / "someone-else"
    outside.mkdir()
    (outside / "secret.eml").write_bytes(mail_bytes(90, body=CANARY))
    folder = tmp_path / "dump"
    folder.mkdir()
    (folder / "good.eml").write_bytes(mail_bytes(1))
    (folder / "secret.eml").symlink_to(outside / "secret.eml")
    (folder / "elsewhere").symlink_to(outside)
    (folder / "loop").symlink_to(folder)
    os.mkfifo(folder / "pipe.eml")
    (folder / "empty.eml").write_bytes(b"")
    (folder / "photo.eml").write_bytes(secrets.token_bytes(4096))
    shallow = folder.joinpath(*["d"] * 5)
    shallow.mkdir(parents=True)
    (shallow / "kept.eml").write_bytes(mail_bytes(2))
    deep = folder.joinpath(*["d"] * (MAX_DEPTH + 8))
    deep.mkdir(parents=True)
    (deep / "too-deep.eml").write_bytes(mail_bytes(3))

    summary = imported(kluis, folder)

    assert (summary["new"], summary["quarantined"]) == (2, 4), summary
    skipped = {entry["path"]: entry["reason"] for entry in summary["skipped"]}
    too_deep = str(folder.joinpath(*["d"] * (MAX_DEPTH + 1)))
    assert skipped == {
        str(folder / "empty.eml"): "an empty file",
        str(folder / "loop"): "a link to a folder: not followed (its target is read where it lies)",
        too_deep: f"more than {MAX_DEPTH} folders deep: not read",
    }, skipped
    refused = quarantine(kluis)
    assert set(refused) == {
        str(folder / name) for name in ("secret.eml", "elsewhere", "pipe.eml", "photo.eml")
    }, refused
    assert "leads out of the source folder" in refused[str(folder / "secret.eml")]
    assert "leads out of the source folder" in refused[str(folder / "elsewhere")]
    assert "FIFO" in refused[str(folder / "pipe.eml")]
    assert "not an RFC 822 mail" in refused[str(folder / "photo.eml")]
    assert vault_rows(kluis, f"SELECT count(*) FROM interaction WHERE body LIKE '%{CANARY}%'") == [
        (0,)
    ]
    count("hostile", "hostile folder entries", 7)


def emlx(mail: bytes, trailer: bytes = b"", declared: int | None = None) -> bytes:
    size = len(mail) if declared is None else declared
    return b"%d\n" % size + mail + trailer


ENTITY_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE plist [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(b'<!ENTITY %c "%s">' % (98 + n, b"&%c;" % (97 + n) * 10) for n in range(8))
    + b"]>\n<plist><dict><key>flags</key><string>&i;</string></dict></plist>\n"
)
ABSURD = (
    b'<?xml version="1.0"?>\n<plist version="1.0"><dict><key>flags</key><string>all</string>'
    b"<key>date-received</key><real>1e300</real></dict></plist>\n"
)


def test_hostile_emlx_files_are_quarantined_with_a_reason_or_read_without_their_plist(
    kluis: Kluis, tmp_path: Path
) -> None:
    messages = tmp_path / "Mail" / "V10" / "ACCOUNT" / "INBOX.mbox" / "Data" / "Messages"
    messages.mkdir(parents=True)
    (messages / "1.emlx").write_bytes(emlx(mail_bytes(1), declared=10_000_000))
    (messages / "2.emlx").write_bytes(b"From: x\n" + mail_bytes(2))
    (messages / "3.emlx").write_bytes(emlx(mail_bytes(3), ENTITY_BOMB))
    (messages / "4.emlx").write_bytes(emlx(mail_bytes(4), ABSURD))
    (messages / "5.emlx").write_bytes(emlx(b"", b"<plist/>"))
    (messages / "6.partial.emlx").write_bytes(emlx(mail_bytes(6)))
    (messages.parent / "Attachments" / "6" / "2").mkdir(parents=True)
    (messages.parent / "Attachments" / "6" / "2" / "stolen").symlink_to("/etc/passwd")

    summary = imported(kluis, tmp_path / "Mail")

    assert (summary["new"], summary["quarantined"]) == (3, 3), summary
    reasons = quarantine(kluis)
    assert "truncated .emlx" in reasons[str(messages / "1.emlx")]
    assert "no byte count" in reasons[str(messages / "2.emlx")]
    assert "empty" in reasons[str(messages / "5.emlx")]
    assert vault_rows(kluis, "SELECT count(*) FROM attachment") == [(0,)]
    count("hostile", "hostile emlx files", 6)


def test_a_wide_folder_of_many_files_is_walked_in_bounded_time_and_memory(
    kluis: Kluis, tmp_path: Path
) -> None:
    files = 20_000 if LONG else 600
    folder = tmp_path / "wide"
    folder.mkdir()
    for n in range(files):
        if n % 3 == 0:
            (folder / f"{n:05d}").write_bytes(mail_bytes(n))
        else:
            (folder / f"{n:05d}.dat").write_bytes(b"\x00binary junk %d" % n)

    measured = kluis.measure("import", str(folder), "--json", "--me", "me@example.org")

    assert measured.done.returncode == 0, measured.done.stderr.decode(errors="replace")
    summary = json.loads(measured.done.stdout)
    mails = len(range(0, files, 3))
    assert summary["new"] == mails
    assert len(summary["skipped"]) + summary["skipped_more"] == files - mails
    record_peak(f"folder walk of {files:,} files", measured.peak_mb)
    count("hostile", "files walked in a wide folder", files)
