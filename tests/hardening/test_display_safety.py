"""Hidden and direction-changing characters from a source are shown, never obeyed.

A mail whose subject, sender name and attachment name carry a right-to-left override
(``invoice⟨U+202E⟩fdp.exe`` draws as ``invoiceexe.pdf``), whose body is laced with zero-width,
bidi-isolate, tag and ESC characters, imported from a file whose own name holds an ESC
sequence, a newline and an override; a mail whose subject is Rich markup; a WhatsApp chat whose
author names carry overrides. Through the real CLI and the real app, none of these characters
reaches the terminal raw: each shows as ``⟨U+202E⟩``, messages escape names as ``repr`` does,
``--json`` keeps the exact text as JSON escapes, and saved attachments stay in their folder
with no override in their name.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from tests.hardening.harness import (
    IMPORTED,
    Kluis,
    assert_clean_failure,
    open_for_test,
    run_in_process,
)
from tests.tui_support import lines, make_app, plain, settle, until
from vault.attachments import list_attachments, save_attachment

RLO = "\u202e"
SHOWN_RLO = "⟨U+202E⟩"
EMOJI = "👩\u200d💻"  # a joiner that does a job: kept
SUBJECT = f"invoice{RLO}fdp.exe ready"
MARKUP = "[bold red]ALERT[/] [link=https://evil.example]click[/link]"
HIDDEN_BODY = (
    "Your invoice\u200bis attached.\n"
    "Total\u2060due: \ufeff12,00 \u2066EUR\u2069 \u200eleft\u200f \u061cmark \u180esep "
    "tag\U000e0041\U000e0042 osc\x1b]52;c;cHdu\x07 csi\x9b31m bel\x07 end\n"
)
SOURCE_NAME = f"Factuur \x1b[31mrood\nregel{RLO}.eml"
FILES = {f"invoice{RLO}fdp.exe": b"MZ not really", f"../../outside\u2066{RLO}.txt": b"hello"}
CONTACT = f"Fietsen{RLO}Jansen"

# What must not reach a terminal raw, by class (tab and newline are allowed).
CLASSES = {
    "ESC": re.compile("\x1b"),
    "C0": re.compile("[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]"),
    "C1": re.compile("[\x80-\x9f]"),
    "bidi": re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"),
    "zero-width": re.compile("[\u180e\u200b-\u200d\u2060-\u2064\ufeff\U000e0000-\U000e007f]"),
}


def reaching(output: str) -> dict[str, int]:
    """How many characters of each class are in ``output`` (the emoji's own joiner aside)."""
    rest = output.replace(EMOJI, "")
    return {name: len(pattern.findall(rest)) for name, pattern in CLASSES.items()}


NONE = dict.fromkeys(CLASSES, 0)


def invoice_mail() -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Winkel{RLO}leKniW <billing@winkel.example>"
    mail["To"] = "Sanne de Vries <sanne@example.org>"
    mail["Subject"] = SUBJECT
    mail["Date"] = "Mon, 06 Mar 2023 10:00:00 +0100"
    mail["Message-ID"] = "<invoice-1@winkel.example>"
    mail.set_content(HIDDEN_BODY)
    for name, data in FILES.items():
        mail.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return mail.as_bytes()


def markup_mail() -> bytes:
    mail = EmailMessage()
    mail["From"] = "Winkel <billing@winkel.example>"
    mail["To"] = "Sanne de Vries <sanne@example.org>"
    mail["Subject"] = MARKUP
    mail["Date"] = "Tue, 07 Mar 2023 10:00:00 +0100"
    mail["Message-ID"] = "<markup-1@winkel.example>"
    mail.set_content(f"{MARKUP}\n[blink]still text[/blink]\n")
    return mail.as_bytes()


def whatsapp_chat() -> str:
    return (
        f"3/6/23, 9:15 AM - {CONTACT}: Je fiets is klaar {EMOJI}\u200b\n"
        f"3/6/23, 9:16 AM - Sanne de Vries: Top, ik kom om 5 uur\n"
        f"3/6/23, 9:17 AM - {CONTACT}: Tot straks{RLO}!\n"
    )


@pytest.fixture
def hostile(kluis: Kluis, tmp_path: Path) -> Kluis:
    """A vault holding the three sources above, imported through the CLI."""
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / SOURCE_NAME).write_bytes(invoice_mail())
    (sources / "markup.eml").write_bytes(markup_mail())
    chat = sources / f"WhatsApp Chat with {CONTACT}.txt"
    chat.write_text(whatsapp_chat(), encoding="utf-8")
    for path, fmt in (
        (sources / SOURCE_NAME, "eml"),
        (sources / "markup.eml", "eml"),
        (chat, "whatsapp"),
    ):
        done = run_in_process(
            kluis, "import", str(path), "--format", fmt, "--me", "sanne@example.org"
        )
        assert done.returncode in IMPORTED, done.stderr
    return kluis


def views(kluis: Kluis) -> dict[str, list[str]]:
    """Every view of the vault by kind: the company list, timelines, items, searches."""
    companies = [str(c["id"]) for c in kluis.json("companies")]
    items = [str(r["id"]) for c in companies for r in kluis.json("timeline", c)]
    assert len(items) == 5, items
    return {
        "companies": ["companies"],
        **{f"timeline {c}": ["timeline", c] for c in companies},
        **{f"show {i}": ["show", i] for i in items},
        "search invoice": ["search", "invoice"],
        "search fiets": ["search", "fiets"],
        "search straks": ["search", "straks"],
    }


def human(kluis: Kluis, args: list[str]) -> str:
    done = run_in_process(kluis, *args)
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout.decode()


def test_no_hidden_or_control_character_reaches_the_terminal(hostile: Kluis) -> None:
    outputs = {name: human(hostile, args) for name, args in views(hostile).items()}
    for name, output in outputs.items():
        assert reaching(output) == NONE, (name, reaching(output), output[:2000])
    everything = "\n".join(outputs.values())
    assert "invoice⟨U+202E⟩fdp.exe ready" in everything  # the subject, in timeline and search
    assert f"Fietsen{SHOWN_RLO}Jansen" in outputs["companies"]  # the chat's author
    assert EMOJI in everything  # a joiner between emoji is kept
    shown = next(
        out for name, out in outputs.items() if out.startswith("invoice⟨U+202E⟩fdp.exe ready")
    )
    for expected in (
        "Winkel⟨U+202E⟩leKniW",  # the sender's name
        "Attached: invoice⟨U+202E⟩fdp.exe",
        "invoice⟨U+200B⟩is attached",
        "⟨U+2060⟩due: ⟨U+FEFF⟩12,00 ⟨U+2066⟩EUR⟨U+2069⟩ ⟨U+200E⟩left⟨U+200F⟩",
        "⟨U+061C⟩mark ⟨U+180E⟩sep tag⟨U+E0041⟩⟨U+E0042⟩",
        "Factuur rood regel⟨U+202E⟩.eml",  # the source file's name, ESC and newline gone
    ):
        assert expected in shown, (expected, shown)


def test_timeline_and_search_show_the_override_in_the_row(hostile: Kluis) -> None:
    company = next(c for c in hostile.json("companies") if "winkel" in c["domains"][0])
    timeline = human(hostile, ["timeline", str(company["id"])])
    assert "invoice⟨U+202E⟩fdp.exe ready" in timeline
    assert MARKUP in timeline  # markup is text on a terminal, shown as it is
    search = human(hostile, ["search", "straks"])
    assert f"Tot straks{SHOWN_RLO}!" in search and f"Fietsen{SHOWN_RLO}Jansen" in search


def test_json_keeps_the_exact_text_escaped(hostile: Kluis) -> None:
    for name, args in views(hostile).items():
        done = run_in_process(hostile, *args, "--json")
        assert done.returncode == 0, (name, done.stderr)
        raw = done.stdout.decode()
        assert reaching(raw.replace("\n", "")) == NONE, (name, raw[:2000])
        json.loads(raw)
    item = next(
        hostile.json("show", str(r["id"]))
        for c in hostile.json("companies")
        for r in hostile.json("timeline", str(c["id"]))
        if r["title"] == SUBJECT
    )
    assert item["title"] == SUBJECT
    assert "invoice\u200bis attached" in item["body"]
    assert "tag\U000e0041\U000e0042" in item["body"]
    # The mail importer keeps a name's last part; the rest of it is exact.
    assert sorted(a["filename"] for a in item["attachments"]) == sorted(Path(n).name for n in FILES)


@pytest.mark.parametrize("exists", [False, True], ids=["missing", "unreadable"])
def test_a_file_name_in_an_error_is_one_line_with_its_controls_escaped(
    kluis: Kluis, tmp_path: Path, exists: bool
) -> None:
    path = tmp_path / f"bad \x1b[2J\x1b]52;c;cHdu\x07name\nsecond line{RLO}.bin"
    if exists:
        path.write_bytes(b"\x00\x01 nothing kluis reads\n")
    done = kluis.run("import", str(path))  # a subprocess: stderr exactly as a user sees it
    line = assert_clean_failure(done, 2)
    assert "\\x1b[2J\\x1b]52;c;cHdu\\x07name\\nsecond line\\u202e.bin" in line, line
    assert reaching(done.stderr.decode()) == NONE


def test_a_saved_attachment_stays_in_its_folder_without_an_override(
    hostile: Kluis, tmp_path: Path
) -> None:
    downloads = tmp_path / "home" / "Downloads"
    downloads.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"the user's own file")
    store = open_for_test(hostile.vault)
    try:
        with store.read() as conn:
            item = next(
                r.id
                for r in conn.exec_driver_sql("SELECT id, title FROM interaction")
                if r.title == SUBJECT
            )
            attachments = list_attachments(conn, item)
            invoice = next(a for a in attachments if a.filename.startswith("invoice"))
            # Someone who can write to the folder plants the temporary name as a link outward:
            # the save is refused rather than written through it.
            planted = downloads / f".invoicefdp.exe.{os.getpid()}.tmp"
            planted.symlink_to(outside)
            with pytest.raises(OSError):
                save_attachment(conn, invoice.id, downloads)
            planted.unlink()
            saved = [save_attachment(conn, a.id, downloads) for a in attachments]
    finally:
        store.close()
    assert outside.read_bytes() == b"the user's own file"
    assert not (tmp_path / "home" / "outside.txt").exists()
    assert sorted(path.name for path in downloads.iterdir()) == ["invoicefdp.exe", "outside.txt"]
    assert all(path.parent == downloads for path in saved)
    assert (downloads / "invoicefdp.exe").read_bytes() == FILES[f"invoice{RLO}fdp.exe"]


def test_the_app_shows_the_markers_and_no_markup(hostile: Kluis) -> None:
    store = open_for_test(hostile.vault)
    app = make_app(store)
    seen: dict[str, Any] = {}

    async def story(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        companies = app.main.companies
        seen["companies"] = lines(companies)
        winkel = next(e for e in app.company_rows() if "winkel.example" in e.domains)
        companies.select_company(winkel.id)
        await settle(pilot)
        await until(pilot, lambda: any("ALERT" in line for line in lines(app.timeline)))
        seen["timeline"] = lines(app.timeline)
        detail = app.main.detail
        await pilot.press("tab")  # the newest first: the markup mail, then the invoice
        await until(pilot, lambda: detail.item is not None and detail.item["title"] == MARKUP)
        seen["detail markup"] = plain(detail.query_one("#detail-body", Static).content)
        await pilot.press("down")
        await until(pilot, lambda: detail.item is not None and detail.item["title"] == SUBJECT)
        seen["detail"] = plain(detail.query_one("#detail-body", Static).content)

    async def run() -> None:
        async with app.run_test(size=(140, 40)) as pilot:
            await story(pilot)

    try:
        asyncio.run(run())
    finally:
        store.close()
    assert any(f"Fietsen{SHOWN_RLO}Jan" in line for line in seen["companies"]), seen  # cut to fit
    assert any("invoice⟨U+202E⟩fdp.exe ready" in line for line in seen["timeline"])
    assert any(MARKUP in line for line in seen["timeline"])
    detail = seen["detail"]
    for expected in (
        "invoice⟨U+202E⟩fdp.exe ready",
        "Winkel⟨U+202E⟩leKniW",
        "invoice⟨U+202E⟩fdp.exe",
        "invoice⟨U+200B⟩is attached",
        "⟨U+2066⟩EUR⟨U+2069⟩",
    ):
        assert expected in detail, (expected, detail)
    assert MARKUP in seen["detail markup"] and "[blink]still text[/blink]" in seen["detail markup"]
    for name, text in seen.items():
        shown = "\n".join(text) if isinstance(text, list) else text
        assert reaching(shown) == NONE, (name, shown)


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        (f"invoice{RLO}fdp.exe", "invoice⟨U+202E⟩fdp.exe"),
        ("pay\u200cpal \u200dx", "pay⟨U+200C⟩pal ⟨U+200D⟩x"),  # joiners between Latin letters
        ("🏳️\u200d🌈 👍🏽", "🏳️\u200d🌈 👍🏽"),  # emoji sequences are kept whole
        ("می\u200cخواهم", "می\u200cخواهم"),  # Persian needs its non-joiner
        ("✈️ x\ufe0f\ufe0f\ufe0f", "✈️ x\ufe0f⟨U+FE0F⟩⟨U+FE0F⟩"),  # a run of selectors hides data
        (
            "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
            "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
        ),
        ("lone \udfff", "lone ⟨U+DFFF⟩"),
        ("\u3164", "⟨U+3164⟩"),
    ],
)
def test_which_hidden_characters_are_kept(source: str, shown: str) -> None:
    from vault.text import visible

    assert visible(source) == shown
