"""Control sequences in what others wrote are inert in every CLI view.

A subject, a sender's name, a body, an attachment name, a chat message and a booking carry
OSC 52 (set the clipboard), OSC 8 (a disguised link), CSI clear-screen, BEL and the 8-bit CSI
(U+009B). No ESC, BEL or C0/C1 control byte may reach stdout in the human output of companies,
timeline, show, search and bookings; with ``--json`` they arrive escaped (``\\u001b``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.hardening.generate import flight_jsonld, telegram_export, telegram_message
from tests.hardening.harness import IMPORTED, Kluis, run_in_process

OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"
OSC8 = "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"
CLEAR = "\x1b[2J\x1b[H"
C1_CSI = "\x9b31m"
BEL = "\x07"
EVIL = f"{OSC52}{OSC8}{CLEAR}{C1_CSI}{BEL}"

# C0 controls but tab and newline, DEL, and C1 controls (as UTF-8: C2 80 to C2 9F).
UNSAFE = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


def evil_mail() -> bytes:
    return (
        f"From: =?utf-8?B?S0xN?= {EVIL} <service@klm.com>\n"
        "To: sanne@example.org\n"
        f"Subject: Boarding {EVIL} pass\n"
        "Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
        "Message-ID: <evil-1@klm.com>\n"
        'Content-Type: multipart/mixed; boundary="B"\n\n'
        "--B\nContent-Type: text/plain; charset=utf-8\n\n"
        f"Your flight {EVIL} boards at 10:00.\n"
        "--B\nContent-Type: application/pdf\n"
        f'Content-Disposition: attachment; filename="a{EVIL}.pdf"\n\n%PDF\n--B--\n'
    ).encode()


@pytest.fixture
def evil_vault(kluis: Kluis, tmp_path: Path) -> Kluis:
    """A vault holding a mail, a chat and a booking laced with control sequences."""
    (tmp_path / "evil.eml").write_bytes(evil_mail())
    chat = tmp_path / "tg" / "result.json"
    chat.parent.mkdir()
    chat.write_text(telegram_export([telegram_message(1, f"chat {EVIL}", f"K{EVIL}LM")]))
    booking = flight_jsonld(name=f"Sanne {EVIL}", reference=f"RX{EVIL}")
    booking["reservationFor"]["departureAirport"]["name"] = f"Schiphol {EVIL}"  # type: ignore[index]
    booking["reservationFor"]["departureAirport"].pop("iataCode")  # type: ignore[union-attr]
    (tmp_path / "evil.jsonld").write_text(json.dumps(booking))
    for path, fmt in (
        (tmp_path / "evil.eml", "eml"),
        (chat, "telegram"),
        (tmp_path / "evil.jsonld", "jsonld"),
    ):
        done = run_in_process(kluis, "import", str(path), "--format", fmt)
        assert done.returncode in IMPORTED, done.stderr
    return kluis


def views(kluis: Kluis) -> list[list[str]]:
    """Every view of the vault: the company list, each timeline, each item, search, bookings."""
    companies = [
        str(c["id"]) for c in json.loads(run_in_process(kluis, "companies", "--json").stdout)
    ]
    items = [
        str(row["id"])
        for company in companies
        for row in json.loads(run_in_process(kluis, "timeline", company, "--json").stdout)
    ]
    assert len(items) >= 3, items
    return [
        ["companies"],
        *[["timeline", company] for company in companies],
        *[["show", item] for item in items],
        ["search", "boarding"],
        ["search", "chat"],
        ["bookings"],
    ]


def test_control_sequences_never_reach_the_terminal_in_human_output(evil_vault: Kluis) -> None:
    for args in views(evil_vault):
        done = run_in_process(evil_vault, *args)
        assert done.returncode == 0, (args, done.stderr)
        assert done.stdout.strip(), args
        unsafe = UNSAFE.findall(done.stdout)
        assert not unsafe, (args, unsafe, done.stdout[:2000])


def test_json_output_escapes_control_sequences(evil_vault: Kluis) -> None:
    for args in views(evil_vault):
        done = run_in_process(evil_vault, *args, "--json")
        assert done.returncode == 0, (args, done.stderr)
        unsafe = UNSAFE.findall(done.stdout.replace(b"\n", b""))
        assert not unsafe, (args, unsafe, done.stdout[:2000])
        json.loads(done.stdout)  # still valid JSON
