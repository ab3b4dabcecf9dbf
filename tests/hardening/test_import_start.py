"""What an import loads (issue 21): the writer works on plain DB-API connections, so a ``kluis
import`` loads neither SQLAlchemy (a quarter of a second of the importing process's start,
before the first mail was parsed) nor the app."""

from __future__ import annotations

import json
from pathlib import Path

from importers.email.message import FULL_RECORD_MODULES
from tests.hardening.generate import mail_bytes, write_mbox, write_mbox_of
from tests.hardening.harness import Kluis, modules_loaded

NOT_NEEDED = ("sqlalchemy", "sqlmodel", "textual", "tui")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_an_import_loads_neither_sqlalchemy_nor_the_app(kluis: Kluis, tmp_path: Path) -> None:
    mbox = write_mbox(tmp_path / "shops.mbox", 40)
    (*output, loaded), stderr = modules_loaded(
        kluis.env(), NOT_NEEDED, "import", str(mbox), "--json"
    )
    assert loaded == "0 []", (output, stderr)
    assert json.loads("\n".join(output))["new"] == 40


def test_a_pooled_imports_own_process_leaves_the_booking_parsers_to_its_workers(
    kluis: Kluis, tmp_path: Path
) -> None:
    # The importing process hands a big mailbox's mails to the parse workers and reads only
    # whom the first ones are to: it used to load every booking parser too (7 MB, 0.08 s).
    journey = (FIXTURES / "bookings" / "db-journey-ics-attached.eml").read_bytes()
    mails = [mail_bytes(n, body="Thank you.\n" * 400) for n in range(1100)]  # 5 MB: pooled
    mbox = write_mbox_of(tmp_path / "inbox.mbox", [*mails, journey])
    (*output, loaded), stderr = modules_loaded(
        kluis.env(), (*FULL_RECORD_MODULES, "icalendar"), "import", str(mbox), "--json"
    )
    assert loaded == "0 []", (output, stderr)
    assert json.loads("\n".join(output))["new"] == 1101
    bookings = json.loads(kluis.run("bookings", "--json").stdout)
    assert {booking["number"] for booking in bookings} >= {"ICE 513", "ICE 591"}
