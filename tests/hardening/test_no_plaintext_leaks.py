"""What is imported exists in plaintext nowhere but where the user exports it.

One canary string goes in through every importer; afterwards no file of the vault folder
(``vault.db`` itself, its WAL and SHM, ``keys.json``), of the TMPDIR given to kluis, or of the
HOME it ran with may hold it, in UTF-8 or UTF-16. After ``kluis export --out DIR`` it is in DIR,
where the user asked for it, and still nowhere else.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.hardening.generate import (
    boarding_pass_json,
    booking_page,
    flight_jsonld,
    ics_events,
    mail_bytes,
    meta_message,
    meta_thread,
    pkpass_zip,
    telegram_export,
    telegram_message,
    whatsapp_text,
    write_meta_export,
)
from tests.hardening.harness import IMPORTED, Kluis, count

CANARY = "KANARIEzq7vw3"
FORMS = (CANARY.encode(), CANARY.encode("utf-16-le"), CANARY.lower().encode())


def sources(root: Path) -> dict[str, Path]:
    """One export per importer, each carrying the canary."""
    root.mkdir()
    mail = mail_bytes(1, subject=f"Order {CANARY}", body=f"Code {CANARY}\n")
    (root / "single.eml").write_bytes(mail)
    (root / "box").write_bytes(
        b"From x@y Mon Jan  1 12:00:00 2024\n" + mail_bytes(2, body=f"mbox {CANARY}\n")
    )
    for sub in ("cur", "new", "tmp"):
        (root / "Maildir" / sub).mkdir(parents=True)
    (root / "Maildir" / "cur" / "1700000000.1.host:2,S").write_bytes(
        mail_bytes(3, body=f"maildir {CANARY}\n")
    )
    (root / "telegram").mkdir()
    (root / "telegram" / "result.json").write_text(
        telegram_export([telegram_message(1, f"telegram {CANARY}")])
    )
    whatsapp = whatsapp_text(3, contact="Jansen").replace("message 1", f"whatsapp {CANARY}")
    (root / "WhatsApp Chat with Jansen.txt").write_text(whatsapp)
    thread = meta_thread([meta_message(1, f"meta {CANARY}")])
    messenger = write_meta_export(root / "fb", "facebook", thread)
    instagram = write_meta_export(root / "ig", "instagram", thread)
    (root / "dinner.ics").write_text(ics_events(1, summary=f"Table {CANARY}"))
    (root / "flight.pkpass").write_bytes(
        pkpass_zip({**boarding_pass_json(), "description": CANARY})
    )
    (root / "booking.html").write_text(booking_page(flight_jsonld(reference=CANARY)))
    (root / "booking.jsonld").write_text(json.dumps(flight_jsonld(reference=f"J{CANARY}")))
    return {
        "eml": root / "single.eml",
        "mbox": root / "box",
        "maildir": root / "Maildir",
        "telegram": root / "telegram" / "result.json",
        "whatsapp": root / "WhatsApp Chat with Jansen.txt",
        "messenger": messenger,
        "instagram": instagram,
        "ics": root / "dinner.ics",
        "pkpass": root / "flight.pkpass",
        "html": root / "booking.html",
        "jsonld": root / "booking.jsonld",
    }


def hits(folder: Path) -> list[str]:
    """Files under ``folder`` that hold the canary in plaintext (zips looked into too)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if any(form in data for form in FORMS):
            found.append(str(path))
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                if any(CANARY.encode() in archive.read(i) for i in archive.infolist()):
                    found.append(f"{path} (inside the zip)")
    return found


def test_the_canary_is_nowhere_on_disk_but_inside_the_encrypted_vault(
    kluis: Kluis, tmp_path: Path
) -> None:
    inputs = sources(tmp_path / "inputs")
    for format_name, path in inputs.items():
        done = kluis.run("import", str(path), "--format", format_name, "--json")
        assert done.returncode in IMPORTED, (format_name, done.stderr.decode())
        summary = json.loads(done.stdout)
        assert summary["new"] >= 1, (format_name, summary)
    # Every importer really stored it: it is found by searching the vault.
    found = kluis.json("search", CANARY, "--limit", "100")
    assert len(found) >= len(inputs) - 1, found  # the jsonld reference is glued to a "J"

    scanned = {"vault folder": kluis.vault, "TMPDIR": kluis.tmp, "HOME": kluis.home}
    leaks = {name: hits(folder) for name, folder in scanned.items()}
    for name in scanned:
        count("canary", f"{name} after 11 imports", len(leaks[name]))
    assert leaks == {name: [] for name in scanned}
    assert (kluis.vault / "vault.db").stat().st_size > 0

    out = tmp_path / "export"
    done = kluis.run("export", "--out", str(out))
    assert done.returncode == 0, done.stderr.decode()
    assert hits(out), "the export is where the user asked for the plaintext"
    leaks = {name: hits(folder) for name, folder in scanned.items()}
    for name in scanned:
        count("canary", f"{name} after export", len(leaks[name]))
    assert leaks == {name: [] for name in scanned}
