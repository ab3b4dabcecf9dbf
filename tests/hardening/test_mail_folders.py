"""Mail files and folders as people keep them, imported by the real CLI into a real vault.

A folder is read file by file, each file in its own format, and every file not read is named
with its reason (text summary and ``--json``); MH folders and dumps of extension-less mails; a
folder of mboxes; an unpacked Google Takeout; Apple Mail's ``.emlx`` tree and exported
``.mbox`` bundles; ``--format X`` that recognises nothing is an error, not "0 new".
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.hardening.harness import Kluis, import_summary, make_vault, open_for_test
from tests.support import packed_pass

FIXTURES = Path(__file__).parents[1] / "fixtures"
EMAIL = FIXTURES / "email"
APPLE = FIXTURES / "applemail"
ME = ("--me", "sanne@example.org")


def imported(kluis: Kluis, path: Path, *args: str) -> dict[str, Any]:
    """``kluis import PATH --json``, which must end with a summary and no error."""
    return import_summary(kluis.run("import", str(path), "--json", *ME, *args))


def rows(kluis: Kluis, query: str) -> list[tuple[Any, ...]]:
    """What the vault holds, by SQL."""
    store = open_for_test(kluis.vault)
    try:
        with store.read() as conn:
            return [tuple(row) for row in conn.execute(text(query))]
    finally:
        store.close()


def skipped(summary: dict[str, Any]) -> dict[str, str]:
    return {entry["path"]: entry["reason"] for entry in summary["skipped"]}


def mixed_folder(tmp_path: Path) -> Path:
    """A Downloads-like folder: a mail, a calendar, a booking page, a pass, JSON-LD, an mbox,
    a mail in a subfolder, and files kluis does not read."""
    folder = tmp_path / "Downloads"
    (folder / "2024" / "reizen").mkdir(parents=True)
    shutil.copy(EMAIL / "plain_from_friend.eml", folder)
    shutil.copy(FIXTURES / "ics" / "hotel-all-day.ics", folder)
    shutil.copy(FIXTURES / "bookings" / "two-passengers.html", folder)
    shutil.copy(FIXTURES / "bookings" / "order-invoice-parcel.jsonld", folder)
    shutil.copy(APPLE / "Bol.com.mbox" / "mbox", folder / "bol.mbox")
    packed_pass("hotel-stay", folder)
    shutil.copy(EMAIL / "invoice_with_pdf.eml", folder / "2024" / "reizen" / "factuur")
    (folder / "boodschappen.txt").write_text("brood, melk, eieren\n")
    (folder / "notes.md").write_text("# Notes\n\nCall the bank.\n")
    return folder


def test_a_mixed_folder_gives_every_format_and_names_each_file_it_skips(
    kluis: Kluis, tmp_path: Path
) -> None:
    folder = mixed_folder(tmp_path)

    summary = imported(kluis, folder)
    done = kluis.run("import", str(folder), *ME)

    titles = {title for (title,) in rows(kluis, "SELECT title FROM interaction")}
    assert {"Lunch on Friday?", "Uw jaarafrekening 2023", "Je pakket komt vandaag"} <= titles
    refs = rows(kluis, "SELECT source_ref FROM interaction")
    sources = {ref.rsplit("/", 1)[-1].split("#")[0] for (ref,) in refs}
    assert {
        "plain_from_friend.eml",
        "hotel-all-day.ics",
        "two-passengers.html",
        "order-invoice-parcel.jsonld",
        "hotel-stay.pkpass",
        "factuur",
    } <= sources, sources
    assert "bol.mbox" in sources, sources
    assert skipped(summary) == {
        str(folder / "boodschappen.txt"): "not a format kluis reads",
        str(folder / "notes.md"): "not a format kluis reads",
    }
    # The rerun adds nothing, and still names what it does not read, in the text summary too.
    out = done.stdout.decode()
    assert done.returncode == 0 and out.startswith("0 new, 0 already in the vault"), out
    assert "2 files skipped:" in out and f"{folder / 'notes.md'}: not a format kluis reads" in out


def test_a_mixed_folder_rerun_reads_only_what_changed(kluis: Kluis, tmp_path: Path) -> None:
    folder = mixed_folder(tmp_path)
    first = imported(kluis, folder)
    shutil.copy(EMAIL / "reply_with_references.eml", folder / "2024" / "nieuw.eml")

    second = imported(kluis, folder)

    assert first["new"] >= 8
    # Files read before are passed over by their checkpoints: no duplicate is even read.
    assert (second["new"], second["duplicate"]) == (1, 0), second


def test_an_mh_folder_imports_with_and_without_format_eml(kluis: Kluis, tmp_path: Path) -> None:
    first, second = tmp_path / "Mail" / "inbox", tmp_path / "copy" / "inbox"
    shutil.copytree(FIXTURES / "mh" / "inbox", first)
    shutil.copytree(FIXTURES / "mh" / "inbox", second)

    forced = imported(kluis, first, "--format", "eml")
    auto = imported(kluis, second)

    assert (forced["new"], forced["quarantined"]) == (3, 0), forced
    assert skipped(forced) == {str(first / ".mh_sequences"): "a hidden file or folder: not read"}
    assert (auto["new"], auto["duplicate"]) == (0, 3), auto


def test_dumps_of_mails_with_odd_names_are_read_by_their_headers(
    kluis: Kluis, tmp_path: Path
) -> None:
    dump = tmp_path / "export-2019"
    dump.mkdir()
    names = ("msg.0001", "mail_2019-03-01.txt", "12345.", "INBOX;1")
    for name, fixture in zip(
        names,
        (
            "plain_from_friend.eml",
            "invoice_with_pdf.eml",
            "outbound_from_me.eml",
            "reply_with_references.eml",
        ),
        strict=True,
    ):
        shutil.copy(EMAIL / fixture, dump / name)

    summary = imported(kluis, dump)

    assert (summary["new"], summary["skipped"]) == (4, []), summary


def test_a_folder_of_mbox_files_imports_each_mbox(kluis: Kluis, tmp_path: Path) -> None:
    folder = tmp_path / "mail-archive"
    folder.mkdir()
    shutil.copy(FIXTURES / "mbox" / "inbox.mbox", folder / "2023.mbox")
    shutil.copy(APPLE / "Bol.com.mbox" / "mbox", folder / "bol.mbox")

    auto = imported(kluis, folder)
    forced = imported(kluis, folder, "--format", "mbox")

    bol = rows(kluis, "SELECT count(*) FROM interaction WHERE source_ref LIKE '%bol.mbox%'")
    assert auto["new"] > 2 and bol == [(2,)], auto
    assert (forced["new"], forced["duplicate"]) == (0, 0), forced


def test_an_unpacked_takeout_folder_is_recognised_like_its_zip(
    kluis: Kluis, tmp_path: Path
) -> None:
    top = tmp_path / "takeout-20241201T101010Z-001" / "Takeout"
    (top / "Mail").mkdir(parents=True)
    (top / "Chrome").mkdir()
    (top / "Chrome" / "History.json").write_text('{"Browser History": []}')
    (top / "archive_browser.html").write_text("<html><body>Takeout</body></html>")
    shutil.copy(
        FIXTURES / "mbox" / "takeout_all_mail.mbox",
        top / "Mail" / "All mail Including Spam and Trash.mbox",
    )

    summary = imported(kluis, top.parent)

    labels = rows(kluis, "SELECT count(*) FROM interaction WHERE extras LIKE '%\"labels\"%'")
    assert summary["new"] > 0 and labels == [(summary["new"],)], summary
    reasons = skipped(summary)
    assert set(reasons) == {str(top / "Chrome"), str(top / "archive_browser.html")}, reasons
    assert all("Google Takeout" in reason for reason in reasons.values())


def test_apple_mail_tree_keeps_flags_mailboxes_dates_and_stored_attachments(
    kluis: Kluis, tmp_path: Path
) -> None:
    library = tmp_path / "Library" / "Mail"
    shutil.copytree(APPLE / "V10", library / "V10")

    summary = imported(kluis, library)

    assert (summary["new"], summary["quarantined"], summary["skipped"]) == (4, 0, []), summary
    found = {
        title: json.loads(extras)
        for title, extras in rows(kluis, "SELECT title, extras FROM interaction")
    }
    ns = found["Uw NS Flex abonnement is gewijzigd"]
    assert (ns["folder"], ns["flags"]) == ("INBOX", ["seen", "flagged"])
    assert found["Uw jaarnota 2023"]["folder"] == "Archief/2023"
    assert found["Lunch on Friday?"]["flags"] == ["seen", "replied"]
    draft = rows(kluis, "SELECT occurred_at FROM interaction WHERE title LIKE 'Vraag over mijn%'")
    assert draft == [(1717236000,)], draft  # 2024-06-01 10:00 UTC: Apple's date-received
    attachments = rows(kluis, "SELECT filename, size FROM attachment")
    assert attachments == [("Jaarnota 2023.pdf", 142)], attachments


def test_an_exported_mbox_bundle_and_a_loose_emlx_import(kluis: Kluis, tmp_path: Path) -> None:
    bundle = tmp_path / "Bol.com.mbox"
    shutil.copytree(APPLE / "Bol.com.mbox", bundle)
    loose = tmp_path / "saved"
    loose.mkdir()
    messages = next(APPLE.glob("V10/*/INBOX.mbox/*/Data/Messages"))
    shutil.copy(messages / "1201.emlx", loose / "1201.emlx")

    from_bundle = imported(kluis, bundle)
    from_file = imported(kluis, loose / "1201.emlx")

    assert (from_bundle["new"], from_bundle["skipped"]) == (2, []), from_bundle
    assert from_file["new"] == 1, from_file


MISMATCHES = [
    ("whatsapp", "ics/hotel-all-day.ics", "it looks like ics"),
    ("eml", "ics/hotel-all-day.ics", "it looks like ics"),
    ("telegram", "bookings/two-passengers.html", "it looks like html"),
    ("html", "email/plain_from_friend.eml", "it looks like eml"),
    ("maildir", "mh/inbox", "found 3 eml and 1 file kluis does not read"),
    ("ics", "mh/inbox", "found 3 eml and 1 file kluis does not read"),
    ("emlx", "email/plain_from_friend.eml", "it looks like eml"),
]


@pytest.mark.parametrize(("format_name", "source", "found"), MISMATCHES)
def test_a_format_that_recognises_nothing_is_an_error_naming_what_is_there(
    kluis: Kluis, format_name: str, source: str, found: str
) -> None:
    path = FIXTURES / source

    done = kluis.run("import", str(path), "--format", format_name)

    stderr = done.stderr.decode()
    assert done.returncode == 2 and done.stdout == b"", stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert f"--format {format_name} recognises nothing" in stderr and found in stderr, stderr
    assert rows(kluis, "SELECT count(*) FROM interaction") == [(0,)]


def test_a_folder_with_nothing_kluis_reads_is_an_error_naming_what_is_there(
    kluis: Kluis, tmp_path: Path
) -> None:
    folder = tmp_path / "Documenten"
    folder.mkdir()
    (folder / "cv.odt").write_bytes(b"\x00\x01not an export" * 10)
    (folder / "todo.txt").write_text("bellen\n")

    done = kluis.run("import", str(folder))

    stderr = done.stderr.decode()
    assert done.returncode == 2 and stderr.count("\n") == 1, stderr
    assert "kluis reads no file in this folder (found 2 files kluis does not read)" in stderr


def test_a_mixed_folder_import_stopped_part_way_resumes_with_nothing_lost_or_doubled(
    tmp_path: Path,
) -> None:
    import importers
    from vault.imports import import_options, import_source

    folder = mixed_folder(tmp_path)
    counts = []
    for name, stop_after in (("whole", None), ("stopped", 5)):
        make_vault(tmp_path / name)
        store = open_for_test(tmp_path / name)
        try:
            seen = [0]

            def stop(limit: int | None = stop_after, seen: list[int] = seen) -> bool:
                seen[0] += 1
                return limit is not None and seen[0] >= limit

            first, _ = import_source(
                store, importers, folder, "folder", import_options(store, ME[1:]), stop=stop
            )
            second, _ = import_source(
                store, importers, folder, "folder", import_options(store, ME[1:])
            )
            with store.read() as conn:
                stored = conn.execute(text("SELECT count(*) FROM interaction")).scalar_one()
        finally:
            store.close()
        counts.append((first.new, first.new + second.new, stored))

    (_, whole, whole_stored), (before_stop, resumed, resumed_stored) = counts
    assert 0 < before_stop < whole, counts
    assert whole == whole_stored == resumed == resumed_stored >= 8, counts


def test_a_zip_of_apple_mail_reads_the_emlx_inside(kluis: Kluis, tmp_path: Path) -> None:
    archive = tmp_path / "Mail.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for file in sorted((APPLE / "V10").rglob("*")):
            if file.is_file():
                zipped.write(file, file.relative_to(APPLE).as_posix())

    summary = imported(kluis, archive)

    assert (summary["new"], summary["quarantined"]) == (4, 0), summary
    flags = rows(kluis, "SELECT extras FROM interaction WHERE title LIKE 'Uw NS Flex%'")
    assert json.loads(flags[0][0])["flags"] == ["seen", "flagged"]
