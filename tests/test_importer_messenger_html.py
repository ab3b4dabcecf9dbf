"""The Messenger HTML export, told as what a user importing their Facebook download sees."""

from __future__ import annotations

import json
import random
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import importers
from cli.main import main
from importers.chat import instagram, messenger
from tests.support import chat_options, interactions, quarantined
from vault.records import Checkpoint, ImportOptions, Interaction, Item, Quarantined

FIXTURES = Path(__file__).parent / "fixtures"
EXPORT = FIXTURES / "messenger_html" / "facebook-sannedevries-2024-05-10-Qr56St78"
MESSAGES = EXPORT / "your_facebook_activity" / "messages"
ENERGIE = MESSAGES / "inbox" / "energiedirect_10158427731"
BOL = MESSAGES / "inbox" / "bolcom_3391"
OLD_DUTCH = FIXTURES / "messenger_html" / "facebook-2020"
KAPSALON = OLD_DUTCH / "messages" / "inbox" / "kapsalonlotte_4fe2a"
JSON_EXPORT = FIXTURES / "messenger" / "facebook-sannedevries-2024-04-02-Ab12Cd34"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

NEW_BOX = (
    '<div class="_3-95 _a6-g"><div class="_2ph_ _a6-h _a6-i">{sender}</div>'
    '<div class="_2ph_ _a6-p"><div><div></div><div>{text}</div><div></div><div></div></div></div>'
    '<div class="_3-94 _a6-o"><div class="_a72d">{time}</div></div></div>'
)
OLD_BOX = (
    '<div class="pam _3-95 _2pi0 _2lej uiBoxWhite noborder">'
    '<div class="_3-96 _2pio _2lek _2lel">{sender}</div>'
    '<div class="_3-96 _2let"><div><div></div><div>{text}</div><div></div><div></div></div></div>'
    '<div class="_3-94 _2lem">{time}</div></div>'
)


def read(path: Path, opts: ImportOptions | None = None) -> list[Item]:
    return list(messenger.read(path, opts or chat_options(zone="Europe/Amsterdam")))


def titled(found: list[Interaction], start: str) -> Interaction:
    [item] = [item for item in found if item.title.startswith(start)]
    return item


def page(title: str, boxes: list[str], participants: str = "") -> bytes:
    header = f'<div class="_2lek">Participants: {participants}</div>' if participants else ""
    return (
        f'<html><head><meta charset="utf-8" /><title>{title}</title></head><body>'
        f'<div role="main">{header}{"".join(boxes)}</div></body></html>'
    ).encode()


def thread(tmp_path: Path, folder: str, *pages: bytes, category: str = "inbox") -> Path:
    where = tmp_path / "messages" / category / folder
    where.mkdir(parents=True)
    for number, data in enumerate(pages, start=1):
        (where / f"message_{number}.html").write_bytes(data)
    return where


def zipped(folder: Path, target: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder).as_posix())
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return target


# --- recognising an export -----------------------------------------------------------------------


def test_html_exports_are_recognised_in_both_layouts_and_as_a_zip(tmp_path: Path) -> None:
    assert importers.detect(EXPORT) == "messenger"
    assert importers.detect(OLD_DUTCH) == "messenger"
    assert importers.detect(ENERGIE / "message_2.html") == "messenger"
    assert importers.detect(zipped(EXPORT, tmp_path / "facebook-sanne.zip")) == "messenger"
    assert not instagram.sniff(EXPORT)
    assert importers.detect(JSON_EXPORT) == "messenger"  # the JSON export still reads as JSON


def test_other_html_is_not_taken_for_messenger(tmp_path: Path) -> None:
    other = tmp_path / "message_1.html"
    other.write_text("<html><body><p>Order confirmation</p></body></html>")
    assert not messenger.sniff(other)
    assert not messenger.sniff(tmp_path)
    instagram_zip = tmp_path / "instagram-sanne-2024.zip"
    with zipfile.ZipFile(instagram_zip, "w") as archive:
        archive.writestr("your_instagram_activity/messages/inbox/a_1/message_1.html", page("a", []))
    assert not messenger.sniff(instagram_zip)


# --- what a message says -------------------------------------------------------------------------


def test_newer_markup_gives_sender_text_and_wall_clock_time_in_the_chosen_zone() -> None:
    found = interactions(read(EXPORT))
    first = titled(found, "Goedemorgen")
    assert first.sender is not None and first.sender.name == "Sanne de Vries"
    assert first.occurred_at == datetime(2024, 3, 1, 9, 0, 12, tzinfo=AMSTERDAM)
    assert first.occurred_at.utcoffset() is not None and not first.tz_known
    assert first.thread_title == "Energie Direct"
    assert first.thread_key == "messenger:energiedirect_10158427731"  # the JSON export's key


def test_pages_of_one_thread_are_merged_in_time_order() -> None:
    energie = [item for item in interactions(read(EXPORT)) if item.thread_title == "Energie Direct"]
    assert len(energie) == 7
    times = [item.occurred_at for item in energie]
    assert times == sorted(times)
    assert energie[0].title.startswith("Goedemorgen")  # message_2.html holds the oldest


def test_entities_and_line_breaks_are_real_text() -> None:
    item = titled(interactions(read(EXPORT)), "Crème brûlée")
    assert (
        item.body
        == "Crème brûlée & taart: “€ 120 per maand” is te veel 😊\nKunnen jullie dat verlagen?"
    )
    assert "Zullen we zaterdag naar de markt? À bientôt!" in [
        i.body for i in interactions(read(EXPORT))
    ]


def test_older_markup_with_dutch_dates_and_the_old_layout() -> None:
    found = interactions(
        read(OLD_DUTCH, chat_options(me="Sanne de Vries", zone="Europe/Amsterdam"))
    )
    assert [item.occurred_at for item in found][:3] == [
        datetime(2020, 1, 3, 12, 0, tzinfo=AMSTERDAM),
        datetime(2020, 1, 5, 15, 4, tzinfo=AMSTERDAM),
        datetime(2020, 1, 5, 15, 5, tzinfo=AMSTERDAM),
    ]
    question = titled(found, "Hallo! Hebben jullie")
    assert question.direction == "out"
    assert [party.name for party in question.recipients] == ["Kapsalon Lotte"]
    assert titled(found, "Dinsdag 14 januari").direction == "in"
    assert {item.thread_title for item in found} == {"Kapsalon Lotte"}


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Jan 05, 2020, 3:04 PM", datetime(2020, 1, 5, 15, 4)),
        ("Jan 05, 2024 3:04:05 pm", datetime(2024, 1, 5, 15, 4, 5)),
        ("Jul 12, 2024 12:55:32am", datetime(2024, 7, 12, 0, 55, 32)),
        ("5 mrt. 2021 09:07", datetime(2021, 3, 5, 9, 7)),
        ("17 mei 2022 om 21:30", datetime(2022, 5, 17, 21, 30)),
        ("3. Okt. 2023, 08:15", datetime(2023, 10, 3, 8, 15)),
    ],
)
def test_dates_in_each_language_facebook_writes(
    tmp_path: Path, written: str, expected: datetime
) -> None:
    box = NEW_BOX.format(sender="Shop", text="Hallo", time=written)
    [item] = interactions(read(thread(tmp_path, "shop_1", page("Shop", [box]))))
    assert item.occurred_at == expected.replace(tzinfo=AMSTERDAM)


def test_all_number_dates_take_their_order_from_the_whole_page(tmp_path: Path) -> None:
    boxes = [
        OLD_BOX.format(sender="Shop", text="later", time="25/02/2021, 10:00"),
        OLD_BOX.format(sender="Shop", text="earlier", time="03/02/2021, 09:00"),
    ]
    found = interactions(read(thread(tmp_path, "shop_1", page("Shop", boxes))))
    assert [item.occurred_at.date().isoformat() for item in found] == ["2021-02-03", "2021-02-25"]


# --- media, shares, reactions, unsent, calls -----------------------------------------------------


def test_photos_files_and_stickers_inside_the_export_become_attachments() -> None:
    found = interactions(read(EXPORT))
    photo = titled(found, "Hier is je jaaroverzicht")
    [attachment] = photo.attachments
    assert (attachment.filename, attachment.mime) == ("jaaroverzicht_2023.png", "image/png")
    assert attachment.data == (ENERGIE / "photos" / "jaaroverzicht_2023.png").read_bytes()
    invoice = titled(found, "File: factuur_maart.pdf")
    assert [a.filename for a in invoice.attachments] == ["factuur_maart.pdf"]
    old = interactions(read(OLD_DUTCH))
    sticker = titled(old, "Sticker: 369239263222822.png")
    assert [a.filename for a in sticker.attachments] == ["369239263222822.png"]
    haircut = titled(old, "Zo wil ik hem graag")
    assert [a.filename for a in haircut.attachments] == ["10158227731_kapsel.png"]
    assert haircut.body.startswith("Zo wil ik hem graag 🙂\n[Photo: 10158227731_kapsel.png]")


def test_paths_leading_out_of_the_export_are_never_read() -> None:
    invoice = titled(interactions(read(EXPORT)), "File: factuur_maart.pdf")
    assert "[File: passwd]" in invoice.body
    assert [m["attached"] for m in invoice.extras["media"]] == [True, False]


def test_shares_reactions_unsent_messages_and_calls() -> None:
    found = interactions(read(EXPORT))
    share = titled(found, "Dat kan hier:")
    assert share.body == "Dat kan hier:\nLink: https://www.energiedirect.example/voorschot"
    photo = titled(found, "Hier is je jaaroverzicht")
    assert photo.extras["reactions"] == [{"reaction": "👍", "actor": "Sanne de Vries"}]
    assert "Reactions: 👍 Sanne de Vries" in photo.body
    unsent = titled(found, "Sanne de Vries unsent a message")
    assert unsent.direction == "system" and unsent.extras["unsent"] is True
    assert unsent.sender is not None and unsent.sender.name == "Energie Direct"
    call = titled(interactions(read(OLD_DUTCH)), "Kapsalon Lotte heeft je gebeld")
    assert call.direction == "system"
    reaction = titled(interactions(read(OLD_DUTCH)), "Zo wil ik hem graag")
    assert reaction.extras["reactions"] == [{"reaction": "❤", "actor": "Kapsalon Lotte"}]


def test_reactions_after_the_time_belong_to_the_message(tmp_path: Path) -> None:
    box = NEW_BOX.format(sender="Shop", text="Uw pakket is onderweg", time="Jun 03, 2023 4:10 pm")
    box = box.removesuffix("</div>") + (
        '<div><ul class="_a6-q"><li><span>❤️Sanne de Vries</span></li></ul></div></div>'
    )
    [item] = interactions(read(thread(tmp_path, "shop_1", page("Shop", [box]))))
    assert item.extras["reactions"] == [{"reaction": "❤️", "actor": "Sanne de Vries"}]
    assert item.body == "Uw pakket is onderweg\nReactions: ❤️ Sanne de Vries"


# --- companies and who speaks --------------------------------------------------------------------


def test_message_requests_and_liked_pages_are_companies() -> None:
    found = interactions(read(EXPORT))
    assert titled(found, "Je bestelling FP-20931").hints.chat_kind == "request"
    assert {i.hints.chat_kind for i in found if i.thread_title == "Energie Direct"} == {"page"}
    assert {i.hints.chat_kind for i in found if i.thread_title == "Joris Bakker"} == {"private"}


def test_the_participant_in_every_thread_is_the_owner() -> None:
    found = interactions(read(EXPORT))
    assert titled(found, "Goedemorgen").direction == "out"
    assert titled(found, "Hoi Joris!").direction == "out"
    assert titled(found, "Zullen we zaterdag").direction == "in"


def test_a_single_thread_without_me_is_all_incoming() -> None:
    found = interactions(read(OLD_DUTCH))
    assert {item.direction for item in found} == {"in", "system"}


# --- unknown markup, broken pages ----------------------------------------------------------------


def test_unknown_class_names_are_read_by_the_shape_of_the_boxes(tmp_path: Path) -> None:
    box = (
        '<div class="_x1"><div class="_x2">Garage Smit</div><div class="_x3"><div>'
        'Uw auto is klaar.</div></div><div class="_x4">Jun 03, 2023 4:10:00 pm</div></div>'
    )
    [item] = interactions(read(thread(tmp_path, "garage_1", page("Garage Smit", [box]))))
    assert item.sender is not None and item.sender.name == "Garage Smit"
    assert item.body == "Uw auto is klaar."
    assert item.occurred_at == datetime(2023, 6, 3, 16, 10, tzinfo=AMSTERDAM)


def test_a_truncated_page_imports_what_is_readable_and_quarantines_the_rest() -> None:
    items = read(BOL)
    found = interactions(items)
    assert [item.title for item in found] == [
        "Waar blijft mijn pakket?",
        "Je pakket 3SBOL0042 wordt vandaag bezorgd tussen 14:00 en 16:00.",
    ]
    [cut] = quarantined(items)
    assert cut.reason == "the message has no date (the page may be cut off)"
    assert b"Bedankt voor je bestelling" in cut.raw
    assert cut.source_ref.endswith("bolcom_3391/message_1.html#message=2")


def test_an_unreadable_date_is_quarantined_with_the_date_in_the_reason(tmp_path: Path) -> None:
    boxes = [
        NEW_BOX.format(sender="Shop", text="ok", time="Jun 03, 2023 4:10:00 pm"),
        NEW_BOX.format(sender="Shop", text="odd", time="gisteren"),
    ]
    items = read(thread(tmp_path, "shop_1", page("Shop", boxes)))
    assert [item.body for item in interactions(items)] == ["ok"]
    assert [item.reason for item in quarantined(items)] == [
        "date 'gisteren' is not a date kluis can read"
    ]


def test_a_page_without_messages_is_quarantined_whole(tmp_path: Path) -> None:
    where = thread(tmp_path, "shop_1", page("Shop", []), b"\x00\xff binary \x89PNG")
    items = read(where)
    assert [item.reason for item in quarantined(items)] == [
        "no messages found in this page (not an export page, or cut off)"
    ] * 2
    assert isinstance(items[-1], Checkpoint)


def test_no_input_makes_the_importer_raise(tmp_path: Path) -> None:
    seed = (ENERGIE / "message_1.html").read_bytes() + (KAPSALON / "message_1.html").read_bytes()
    rng = random.Random(20240510)
    for number in range(120):
        chunk = bytearray(seed[: rng.randrange(1, len(seed))])
        for _ in range(rng.randrange(0, 8)):
            chunk[rng.randrange(len(chunk))] = rng.randrange(256)
        where = tmp_path / f"t{number}" / "messages" / "inbox" / "x_1"
        where.mkdir(parents=True)
        (where / "message_1.html").write_bytes(bytes(chunk))
        items = read(where)
        assert all(isinstance(item, Interaction | Quarantined | Checkpoint) for item in items)


# --- re-imports ----------------------------------------------------------------------------------


def test_reimport_adds_nothing_and_keys_do_not_depend_on_the_timezone() -> None:
    first = read(EXPORT)
    cursors = {item.source: dict(item.state) for item in first if isinstance(item, Checkpoint)}
    assert len(cursors) == 5  # one per message_N.html
    assert read(EXPORT, chat_options(zone="Europe/Amsterdam", cursors=cursors)) == []
    keys = [item.dedup_key for item in interactions(first)]
    again = [i.dedup_key for i in interactions(read(EXPORT, chat_options(zone="America/New_York")))]
    assert again == keys and len(set(keys)) == len(keys)


# --- through `kluis import` into a real vault ----------------------------------------------------


def kluis(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    status = main([*args, "--json"])
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert status == (3 if args[0] == "import" and result["quarantined"] else 0), err
    return result


@pytest.fixture
def vault(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["init"]) == 0
    capsys.readouterr()
    return cli_env


def test_kluis_import_shows_companies_and_timelines(
    vault: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = kluis(capsys, "import", str(EXPORT), "--timezone", "Europe/Amsterdam")
    assert (summary["new"], summary["quarantined"]) == (12, 1)
    companies = {row["name"]: row for row in kluis(capsys, "companies")}
    assert companies["Energie Direct"]["kind"] == "company"
    assert companies["Fietsplaats Utrecht"]["kind"] == "company"
    assert companies["Joris Bakker"]["kind"] == "person"
    timeline = kluis(capsys, "timeline", "Energie Direct")
    assert len(timeline) == 7
    assert timeline[-1]["occurred_at"] == "2024-03-01T09:00:12+01:00"
    assert timeline[-1]["direction"] == "out"
    photo = next(row for row in timeline if row["title"] == "Hier is je jaaroverzicht")
    shown = kluis(capsys, "show", str(photo["id"]))
    assert [a["filename"] for a in shown["attachments"]] == ["jaaroverzicht_2023.png"]


def test_kluis_import_of_the_zip_then_the_folder_adds_nothing(
    vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = zipped(EXPORT, tmp_path / "facebook-sannedevries-2024-05-10-Qr56St78.zip")
    summary = kluis(capsys, "import", str(archive), "--timezone", "Europe/Amsterdam")
    assert (summary["new"], summary["quarantined"]) == (12, 1)
    photo = next(
        row
        for row in kluis(capsys, "timeline", "Energie Direct")
        if row["title"] == "Hier is je jaaroverzicht"
    )
    assert kluis(capsys, "show", str(photo["id"]))["attachments"][0]["size"] == len(
        (ENERGIE / "photos" / "jaaroverzicht_2023.png").read_bytes()
    )
    again = kluis(capsys, "import", str(archive), "--format", "messenger")
    assert again["new"] == 0
    folder = kluis(capsys, "import", str(EXPORT), "--timezone", "UTC")
    assert (folder["new"], folder["duplicate"]) == (0, 12)


def test_zip_members_leaving_the_archive_are_quarantined_unread(
    vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    box = NEW_BOX.format(sender="Shop", text="Hallo", time="Jun 03, 2023 4:10:00 pm")
    archive = zipped(
        OLD_DUTCH,
        tmp_path / "facebook-export.zip",
        {"messages/inbox/../../evil_1/message_1.html": page("Evil", [box])},
    )
    summary = kluis(capsys, "import", str(archive), "--me", "Sanne de Vries")
    assert (summary["new"], summary["quarantined"]) == (6, 1)


def test_a_zip_bomb_is_refused_in_one_line(
    vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = zipped(
        OLD_DUTCH,
        tmp_path / "facebook-export.zip",
        {"messages/inbox/kapsalonlotte_4fe2a/photos/huge.png": b"\0" * (80 * 1024 * 1024)},
    )
    status = main(["import", str(archive)])
    _, err = capsys.readouterr()
    assert status == 2
    assert err.startswith("kluis: ") and "zip bomb" in err and len(err.splitlines()) == 1
