"""Hostile variants of the older Facebook and the Instagram HTML downloads end in quarantine or
a bounded import, never a traceback, a hang or unbounded memory.

The cases of ``test_hostile_inputs`` for the generations added later: a 2016 ``messages.htm``
nested 10,000 deep, cut off mid-message, or holding many threads (a long variant with
``make hardening``); a 2017 zip whose member leaves the archive; an Instagram HTML page nested
10,000 deep; a 2018 ``message.json`` with a trailing comma, cut off, or nested 10,000 deep;
and ``src``/``href``/``uri`` of all three naming files outside the export's ``messages`` folder
(``..``, absolute, ``file://``, a link pointing out), which are never read.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.hardening.generate import nested_json
from tests.hardening.harness import LONG, Kluis, count
from tests.hardening.test_hostile_inputs import Case, run_cases, write
from tests.hardening.test_source_confinement import (
    exported,
    imported,
    media_notes,
    rows,
    secret_home,
)

ME = "Sanne de Vries"


def legacy_message(n: int, text: str, sender: str = "Garage Smit") -> str:
    minute = n % 60
    return (
        f'<div class="message"><div class="message_header"><span class="user">{sender}</span>'
        f'<span class="meta">Tuesday, 3 January 2017 at {10 + n // 60 % 12}:{minute:02d} UTC+01'
        f"</span></div></div><p>{text}</p>"
    )


def legacy_page(threads: list[str]) -> str:
    """A 2016 ``messages.htm`` holding ``threads`` (each a ``div.thread``'s inside)."""
    body = "".join(f'<div class="thread">{thread}</div>' for thread in threads)
    return (
        '<html><head><meta charset="UTF-8" /><title>Sanne de Vries - Messages</title></head>'
        f'<body><div class="contents"><h1>{ME}</h1><div>{body}</div></div></body></html>'
    )


def legacy_export(root: Path, page: str) -> Path:
    write(root / "html" / "messages.htm", page)
    return root


def instagram_page(boxes: str) -> str:
    return (
        '<html><head><meta charset="utf-8" /><title>Garage Smit</title></head><body>'
        f'<div class="_a706" role="main">{boxes}</div></body></html>'
    )


def instagram_box(n: int, text: str) -> str:
    return (
        '<div class="pam _3-95 _2ph- _a6-g uiBoxWhite noborder">'
        '<h2 class="_3-95 _2pim _a6-h _a6-i">Garage Smit</h2>'
        f'<div class="_3-95 _a6-p"><div><div></div><div>{text}</div></div></div>'
        f'<div class="_3-94 _a6-o">Jun 01, 2024 9:{n % 60:02d} am</div></div>'
    )


def test_hostile_2016_messages_htm_is_quarantined_or_read_in_bounds(
    kluis: Kluis, tmp_path: Path
) -> None:
    good = "Garage Smit, Sanne de Vries" + legacy_message(1, "Uw auto is klaar.")
    deep = "Garage Smit, Sanne de Vries" + legacy_message(2, "<div>" * 10_000 + "diep")
    deep_threads = '<div class="thread">' * 10_000 + legacy_message(3, "binnenin")
    whole = legacy_page([good, deep])
    cut = whole[: whole.index("diep") - 2000]
    many = 20_000 if LONG else 2_000
    big = [
        f"Winkel {n}, Sanne de Vries" + legacy_message(n, f"bericht {n}", f"Winkel {n}")
        for n in range(many)
    ]
    cases = [
        Case(
            "10,000 deep message", legacy_export(tmp_path / "a", whole), "messenger", "kept", new=2
        ),
        Case(
            "10,000 nested threads",
            legacy_export(tmp_path / "b", legacy_page([good, deep_threads])),
            "messenger",
            "kept",
            new=1,
        ),
        Case("cut off mid-message", legacy_export(tmp_path / "c", cut), "messenger", "kept", new=1),
        Case(
            f"{many:,} threads",
            legacy_export(tmp_path / "d", legacy_page(big)),
            "messenger",
            "kept",
            new=many,
            timeout=300.0,
        ),
    ]
    run_cases(kluis, "hostile 2016-2017 Facebook HTML", cases)


def test_a_2017_zip_member_leaving_the_archive_is_quarantined(kluis: Kluis, tmp_path: Path) -> None:
    thread = '<div class="thread">Participants: Garage Smit' + legacy_message(1, "ok") + "</div>"
    page = f"<html><body>{thread}</body></html>"
    archive = tmp_path / "facebook-sanne.zip"
    with zipfile.ZipFile(archive, "w") as opened:
        opened.writestr("messages/1204.html", page)
        opened.writestr("../../outside/messages/1377.html", page)
    case = Case("zip slip", archive, "messenger", "kept", new=1, quarantined=1)
    run_cases(kluis, "hostile 2016-2017 Facebook HTML", [case], fenced=False)


def test_hostile_instagram_html_and_older_json_are_quarantined_or_read(
    kluis: Kluis, tmp_path: Path
) -> None:
    thread = "instagram-sanne/your_instagram_activity/messages/inbox/garagesmit_1/message_1.html"
    deep_page = instagram_page(instagram_box(1, "ok") + instagram_box(2, "<div>" * 10_000))

    def page_2018(text: str) -> str:
        good = {"sender_name": "Garage Smit", "timestamp": 1525514400, "content": text}
        return json.dumps({"participants": ["Garage Smit"], "messages": [good, good]})

    json_path = "facebook-sanne/messages/GarageSmit_1/message.json"
    cases = [
        Case(
            "instagram 10,000 deep", write(tmp_path / thread, deep_page), "instagram", "kept", new=1
        ),
        Case(
            "2018 trailing comma",
            write(tmp_path / "a" / json_path, page_2018("komma").replace("}]", "},]")),
            "messenger",
            "kept",
            new=2,
        ),
        Case(
            "2018 cut off",
            write(tmp_path / "b" / json_path, page_2018("afgebroken")[:-40]),
            "messenger",
            "kept",
            new=1,
            quarantined=1,
        ),
        Case(
            "2018 10,000 deep",
            write(
                tmp_path / "c" / json_path,
                '{"participants": [], "messages": [' + nested_json(10_000) + "]}",
            ),
            "messenger",
            "refused",  # nothing else in it: --format messenger recognises nothing, one line
        ),
    ]

    def chat(text: str) -> dict[str, object]:
        message = {"sender": "garagesmit", "created_at": "2019-06-01T09:00:00+00:00", "text": text}
        return {"participants": ["garagesmit", "sannedevries"], "conversation": [message]}

    chats = [
        {
            "participants": ["garagesmit", "sannedevries"],
            "conversation": [
                {"sender": "garagesmit", "created_at": "2019-05-31T18:40:12+00:00", "text": "ok"},
                "not a message",
                {"sender": "garagesmit", "created_at": None, "text": ["no", "text"]},
            ],
        },
        "not a chat",
    ]
    listed = json.dumps(chats)
    cases += [
        Case(
            "2019 odd values",
            write(tmp_path / "d" / "messages.json", listed),
            "instagram",
            "kept",
            new=1,
            quarantined=3,
        ),
        Case(
            "2019 cut off",
            write(
                tmp_path / "e" / "messages.json", json.dumps([chat("eerste"), chat("tweede")])[:-30]
            ),
            "instagram",
            "kept",
            new=1,
            quarantined=1,
            total=2,  # the first chat read, the rest quarantined
        ),
        Case(
            "2019 10,000 deep",
            write(tmp_path / "f" / "messages.json", "[" + nested_json(10_000) + "]"),
            "instagram",
            "refused",  # nothing else in it: one line saying it is nested too deeply
        ),
    ]
    run_cases(kluis, "hostile Instagram HTML and 2018 JSON", cases, fenced=False)


def test_older_exports_never_read_a_file_outside_their_messages_folder(
    kluis: Kluis, tmp_path: Path
) -> None:
    home = tmp_path / "sanne"
    key = secret_home(home)
    links = [".ssh/id_rsa", "../../.ssh/id_rsa", str(key), f"file://{key}", "messages/key.png"]
    # 2017, unpacked into the home folder itself: its root is home, its media only messages/.
    (home / "messages").mkdir()
    (home / "messages" / "key.png").symlink_to(key)
    paragraphs = "".join(
        legacy_message(n, f'<img src="{link}" /><a href="{link}">bijlage</a>')
        for n, link in enumerate(links)
    )
    write(home / "messages" / "1204.html", f'<div class="thread">Participants: X{paragraphs}</div>')
    # 2018 JSON and Instagram's HTML, in Downloads, naming the same files.
    downloads = home / "Downloads"
    json_thread = downloads / "facebook-sanne-2018" / "messages" / "GarageSmit_1" / "message.json"
    json_messages = [
        {"sender_name": "Garage Smit", "timestamp": 1525514400 + n, "files": [{"uri": link}]}
        for n, link in enumerate(links)
    ]
    write(json_thread, json.dumps({"participants": ["Garage Smit"], "messages": json_messages}))
    boxes = "".join(
        instagram_box(n, f'<img src="{link}" /><a href="{link}">bijlage</a>')
        for n, link in enumerate(links)
    )
    instagram = downloads / "instagram-sanne" / "your_instagram_activity" / "messages" / "inbox"
    write(instagram / "garagesmit_1" / "message_1.html", instagram_page(boxes))

    for source in (home / "messages", json_thread.parents[2], instagram.parents[2]):
        assert imported(kluis, source)["new"] == len(links), source

    files = exported(kluis, tmp_path / "export")
    assert rows(files, "attachment") == []
    refused = [note for note in media_notes(files) if note.get("missing")]
    assert len(refused) >= 3 * 3, media_notes(files)
    assert all("\n" not in note["missing"] for note in refused)
    count("hostile", "paths leading out of a source", 3 * len(links))
