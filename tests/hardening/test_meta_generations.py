"""Every generation of Facebook's and Instagram's downloads imports through ``kluis import``.

People keep their downloads for years: the 2016–2017 HTML (one ``html/messages.htm`` with every
thread, or ``messages/<n>.html`` per thread), the 2018 JSON (``messages/<thread>/message.json``),
today's JSON and HTML, and Instagram's HTML download all land in a real vault, found by
auto-detection, zipped or unpacked. A JSON page with the defects real files have (a trailing
comma, a byte order mark, ``NaN``, a page cut off) is read, or what cannot be read is
quarantined with a reason a user understands.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.hardening.harness import Kluis, import_summary, open_for_test, run_in_process
from tests.support import FIXTURES

ME = "Sanne de Vries"


def imported(kluis: Kluis, path: Path, *args: str) -> dict[str, Any]:
    """``kluis import PATH --json`` (auto-detected); its summary."""
    summary = import_summary(run_in_process(kluis, "import", str(path), "--json", *args))
    return summary


def vault_rows(kluis: Kluis, query: str) -> list[Any]:
    store = open_for_test(kluis.vault)
    try:
        with store.read() as conn:
            return list(conn.execute(text(query)).all())
    finally:
        store.close()


def messages(kluis: Kluis) -> list[tuple[str, str, str, str]]:
    """(thread, direction, time, body) of every chat message, oldest first."""
    rows = vault_rows(
        kluis,
        "SELECT t.key, i.direction, i.occurred_at, i.body FROM interaction i "
        "JOIN thread t ON t.id = i.thread_id ORDER BY i.occurred_at, i.id",
    )
    return [
        (str(k), str(d), datetime.fromtimestamp(int(at), UTC).isoformat(), str(body))
        for k, d, at, body in rows
    ]


def quarantine(kluis: Kluis) -> list[tuple[str, str]]:
    rows = vault_rows(kluis, "SELECT source_ref, reason FROM quarantine ORDER BY id")
    return [(str(ref), str(reason)) for ref, reason in rows]


def zipped(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder).as_posix())
    return target


# --- 2018: JSON, one message.json per thread --------------------------------------------------

FACEBOOK_2018 = FIXTURES / "messenger" / "facebook-sannedevries-2018-05"
FACEBOOK_2018_INBOX = FIXTURES / "messenger" / "facebook-sannedevries-2018-11"


@pytest.mark.parametrize("zip_it", [False, True], ids=["folder", "zip"])
def test_a_2018_facebook_json_download_imports_with_its_owner_and_text_repaired(
    kluis: Kluis, tmp_path: Path, zip_it: bool
) -> None:
    source = zipped(FACEBOOK_2018, tmp_path / "facebook-sanne.zip") if zip_it else FACEBOOK_2018
    summary = imported(kluis, source)
    assert (summary["new"], summary["quarantined"]) == (4, 0)
    found = messages(kluis)
    # "timestamp" in seconds (2018), not milliseconds: 7 May 2018, not January 1970.
    assert found[-1][0] == "messenger:JorisBakker_a7f3c21e"
    assert found[-1][2].startswith("2018-05-07T15:05")
    # The owner comes from the 2018 profile file; mojibake is repaired as for today's JSON.
    assert found[-1][1] == "out"
    assert found[-1][3] == "Prima, tot zaterdag! Ik neem de crème brûlée mee."
    assert [f[1] for f in found if "Lenferink" in f[0]] == ["out", "in"]
    [photo] = vault_rows(kluis, "SELECT filename FROM attachment")
    assert photo[0] == "31510044_taart.png"
    assert imported(kluis, source)["new"] == 0


def test_a_late_2018_download_with_an_inbox_folder_imports(kluis: Kluis) -> None:
    summary = imported(kluis, FACEBOOK_2018_INBOX, "--me", ME)
    assert (summary["new"], summary["quarantined"]) == (2, 0)
    assert [(f[1], f[3][:12]) for f in messages(kluis)] == [
        ("out", "Is mijn auto"),
        ("in", "Uw auto is k"),
    ]
    assert "€ 89" in messages(kluis)[1][3]


# --- Instagram's HTML download ----------------------------------------------------------------

INSTAGRAM_HTML = FIXTURES / "instagram_html" / "instagram-sannedevries-2024-06-01-Hm45"
INSTAGRAM_HTML_2021 = FIXTURES / "instagram_html" / "instagram-sanne_2021"


@pytest.mark.parametrize("zip_it", [False, True], ids=["folder", "zip"])
def test_instagram_html_download_imports_as_instagram(
    kluis: Kluis, tmp_path: Path, zip_it: bool
) -> None:
    target = tmp_path / "instagram-sannedevries-2024-06-01.zip"
    source = zipped(INSTAGRAM_HTML, target) if zip_it else INSTAGRAM_HTML
    summary = imported(kluis, source, "--me", ME)
    assert (summary["new"], summary["quarantined"]) == (3, 0)
    found = messages(kluis)
    assert {f[0] for f in found} == {"instagram:hotelaurora_17890321"}
    assert [f[1] for f in found] == ["out", "in", "out"]
    assert "kamer 214" in found[1][3]
    [photo] = vault_rows(kluis, "SELECT filename FROM attachment")
    assert photo[0] == "kamer_214.png"


def test_the_older_instagram_html_layout_imports(kluis: Kluis) -> None:
    summary = imported(kluis, INSTAGRAM_HTML_2021, "--me", "sannedevries")
    assert (summary["new"], summary["quarantined"]) == (2, 0)
    assert [(f[0], f[1]) for f in messages(kluis)] == [
        ("instagram:fietsenmakerdebrug_1120331", "out"),
        ("instagram:fietsenmakerdebrug_1120331", "in"),
    ]


# --- JSON pages with the defects real files have ----------------------------------------------


def _page(messages: list[dict[str, Any]]) -> str:
    return json.dumps(
        {"participants": [{"name": "Fietsplaats"}, {"name": ME}], "messages": messages},
        indent=2,
    )


def _message(n: int, text: str) -> dict[str, Any]:
    return {
        "sender_name": "Fietsplaats",
        "timestamp_ms": 1_700_000_000_000 - n * 60_000,
        "content": text,
    }


def _export(tmp_path: Path, name: str, page: bytes) -> Path:
    folder = tmp_path / name / "your_facebook_activity" / "messages" / "inbox" / "fietsplaats_1"
    folder.mkdir(parents=True)
    (folder / "message_1.json").write_bytes(page)
    return tmp_path / name


GOOD_PAGE = _page([_message(n, f"bericht {n}") for n in range(3)])


@pytest.mark.parametrize(
    ("page", "new", "reason"),
    [
        (
            GOOD_PAGE.replace('"bericht 2"\n    }\n  ]', '"bericht 2"\n    },\n  ],').encode(),
            3,
            None,
        ),
        (b"\xef\xbb\xbf" + GOOD_PAGE.encode(), 3, None),
        (GOOD_PAGE.replace("1699999880000", "NaN").encode(), 2, "timestamp nan is not a number"),
        (GOOD_PAGE.replace('"content"', '"type": ["Generic"], "content"').encode(), 3, None),
        (
            GOOD_PAGE[: GOOD_PAGE.index('"bericht 2"') + 5].encode(),
            2,
            "the rest of the page after message 2: not valid JSON: the file breaks off at line "
            "24 (an incomplete download or copy?)",
        ),
        (
            GOOD_PAGE.replace('"participants"', "participants").encode(),
            0,
            "not valid JSON at line 2, column 3: expecting property name enclosed in double quotes",
        ),
    ],
    ids=["trailing-comma", "bom", "nan-time", "type-not-a-string", "cut-off", "broken"],
)
def test_json_pages_with_defects_are_read_or_quarantined_with_a_reason(
    kluis: Kluis, tmp_path: Path, page: bytes, new: int, reason: str | None
) -> None:
    assert page != GOOD_PAGE.encode()
    summary = imported(kluis, _export(tmp_path, "facebook-sanne", page), "--format", "messenger")
    assert (summary["new"], summary["quarantined"]) == (new, 0 if reason is None else 1)
    assert [why for _, why in quarantine(kluis)] == ([] if reason is None else [reason])


# --- 2016–2017: HTML, messages.htm with every thread, or messages/<n>.html ---------------------

LEGACY_2016 = FIXTURES / "messenger_legacy" / "facebook-sannedevries-2017-01"
LEGACY_2017 = FIXTURES / "messenger_legacy" / "facebook-sannedevries-2017-11"


@pytest.mark.parametrize("zip_it", [False, True], ids=["folder", "zip"])
def test_the_2016_messages_htm_imports_every_thread_in_its_locale_and_zone(
    kluis: Kluis, tmp_path: Path, zip_it: bool
) -> None:
    source = zipped(LEGACY_2016, tmp_path / "facebook-sanne.zip") if zip_it else LEGACY_2016
    summary = imported(kluis, source)
    assert (summary["new"], summary["quarantined"]) == (6, 1)
    found = {f[3]: f for f in messages(kluis)}
    # English (UK and US with a named zone), Dutch and German dates, each with its zone.
    assert found["Zaterdag eten bij ons? 😊"][2] == "2017-01-03T13:05:00+00:00"
    assert found["When will my bike be ready?"][2] == "2016-12-12T17:05:00+00:00"
    assert found["Fijne feestdagen!"][2] == "2016-12-27T19:15:00+00:00"
    assert found["Ihre Torte ist fertig."][2] == "2017-01-03T07:15:00+00:00"
    # A conversation split over two div.thread is one thread; the owner is the page's heading.
    same = {found[text][0] for text in ("Zaterdag eten bij ons? 😊", "Fijne feestdagen!")}
    assert same == {"messenger:joris_bakker_sanne_de_vries"}
    assert found["Leuk! Ik neem de crème brûlée mee."][1] == "out"
    assert found["Your bike is ready, € 45 for the new tyre."][1] == "in"
    [(_, reason)] = quarantine(kluis)
    assert reason == "date 'Sometime last year' is not a date kluis can read"
    assert imported(kluis, source)["new"] == 0


@pytest.mark.parametrize("zip_it", [False, True], ids=["folder", "zip"])
def test_the_2017_per_thread_html_imports_with_its_photos(
    kluis: Kluis, tmp_path: Path, zip_it: bool
) -> None:
    source = zipped(LEGACY_2017, tmp_path / "facebook-sanne.zip") if zip_it else LEGACY_2017
    summary = imported(kluis, source)
    assert (summary["new"], summary["quarantined"]) == (5, 0)
    found = messages(kluis)
    assert [(f[0], f[1]) for f in found] == [
        ("messenger:1204", "out"),
        ("messenger:1204", "in"),
        ("messenger:1204", "in"),
        ("messenger:1377", "in"),
        ("messenger:1377", "out"),
    ]
    assert found[0][2] == "2017-11-09T17:40:00+00:00"
    [photo] = vault_rows(kluis, "SELECT filename FROM attachment")
    assert photo[0] == "10155_taart.png"


# --- Instagram 2018–2020: one messages.json -----------------------------------------------------

INSTAGRAM_2019 = FIXTURES / "instagram_2019" / "sannedevries_20190612"


@pytest.mark.parametrize("zip_it", [False, True], ids=["folder", "zip"])
def test_the_2019_instagram_messages_json_imports_with_its_owner(
    kluis: Kluis, tmp_path: Path, zip_it: bool
) -> None:
    source = (
        zipped(INSTAGRAM_2019, tmp_path / "sannedevries_20190612.zip") if zip_it else INSTAGRAM_2019
    )
    summary = imported(kluis, source)
    assert (summary["new"], summary["quarantined"]) == (5, 1)
    found = messages(kluis)
    assert {f[0] for f in found} == {
        "instagram:fietsenmakerdebrug_sannedevries",
        "instagram:hotelaurora_sannedevries",
    }
    # The owner is profile.json's username; times keep their microseconds' milliseconds.
    assert [f[1] for f in found] == ["out", "in", "out", "in", "in"]
    assert found[0][2] == "2019-03-12T09:05:03+00:00"
    assert "Weer als nieuw 🚲" in found[1][3] and "fiets.jpg" in found[1][3]
    [(_, reason)] = quarantine(kluis)
    assert reason == "date 'not a date' is not a date kluis can read"
    assert imported(kluis, source)["new"] == 0


# --- today's layouts stay read: your_activity_across_facebook (2025) ----------------------------

FACEBOOK_2024 = FIXTURES / "messenger" / "facebook-sannedevries-2024-04-02-Ab12Cd34"


def across_facebook(target: Path) -> Path:
    """The 2024 fixture as Facebook lays it out since 2025: ``your_activity_across_facebook``."""
    shutil.copytree(FACEBOOK_2024, target)
    (target / "your_facebook_activity").rename(target / "your_activity_across_facebook")
    for page in target.rglob("*.json"):
        text_ = page.read_text(encoding="utf-8")
        page.write_text(text_.replace("your_facebook_activity", "your_activity_across_facebook"))
    return target


@pytest.mark.parametrize("zip_it", [False, True], ids=["folder", "zip"])
def test_the_2025_layout_keeps_attachments_pages_and_keys(
    kluis: Kluis, tmp_path: Path, zip_it: bool
) -> None:
    folder = across_facebook(tmp_path / "facebook-sannedevries-2025-02-01-Zz11")
    source = (
        zipped(folder, tmp_path / "facebook-sannedevries-2025-02-01-Zz11.zip") if zip_it else folder
    )
    assert imported(kluis, source)["new"] == 10
    attached = sorted(str(row[0]) for row in vault_rows(kluis, "SELECT filename FROM attachment"))
    assert attached == ["369239263222822.png", "jaaroverzicht_2023.png"]
    # The liked page makes Energie Direct a company, as in the 2024 layout.
    kinds = vault_rows(kluis, "SELECT name, kind FROM company WHERE name = 'Energie Direct'")
    assert [str(kind) for _, kind in kinds] == ["company"]
    # The same account's 2024 download is the same messages: nothing new.
    assert imported(kluis, FACEBOOK_2024)["new"] == 0


# --- 2018 HTML: one message.html per thread -------------------------------------------------------

HTML_2020 = FIXTURES / "messenger_html" / "facebook-2020"


def test_a_2018_html_download_with_one_message_html_per_thread_imports(
    kluis: Kluis, tmp_path: Path
) -> None:
    folder = tmp_path / "facebook-sanne-2018-08"
    shutil.copytree(HTML_2020, folder)
    for page in folder.rglob("message_1.html"):
        page.rename(page.with_name("message.html"))
    assert imported(kluis, folder)["new"] == 6
    # The same messages as the later download's message_1.html: nothing new.
    assert imported(kluis, HTML_2020)["new"] == 0
