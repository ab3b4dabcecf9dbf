"""The WhatsApp chat export importer, told as what a user importing their chats sees."""

from __future__ import annotations

import random
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import importers
from importers.chat import whatsapp
from tests.conformance.compare import count_matches, times_match
from tests.support import (
    case_me,
    corpus_case_or_skip,
    corpus_params,
    interactions,
    item_matches,
    quarantined,
)
from vault.records import Checkpoint, ImportOptions, Interaction, Item, Note, Quarantined

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"
GERMAN_IOS = FIXTURES / "WhatsApp Chat - KLM"
US_ANDROID = FIXTURES / "WhatsApp Chat with Fietsenwinkel Jansen.txt"
DUTCH_GROUP = FIXTURES / "WhatsApp-chat met Buren Eikstraat.txt"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

UTC = ZoneInfo("UTC")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def options(*, me: str | None = None, zone: str = "UTC", **kwargs: Any) -> ImportOptions:
    names = frozenset({me.casefold()}) if me else frozenset()
    return ImportOptions(timezone=ZoneInfo(zone), me_names=names, **kwargs)


def read(path: Path, opts: ImportOptions | None = None) -> list[Interaction]:
    return interactions(list(whatsapp.read(path, opts or options())))


def parse(text: str, opts: ImportOptions | None = None, **kwargs: Any) -> list[Item]:
    return list(whatsapp.parse_chat(text, "chat.txt", opts or options(), **kwargs))


def titled(found: list[Interaction], start: str) -> Interaction:
    [item] = [item for item in found if item.title.startswith(start)]
    return item


# --- recognising an export -----------------------------------------------------------------------


def test_chat_texts_folders_and_zips_are_recognised(tmp_path: Path) -> None:
    archive = tmp_path / "WhatsApp Chat - KLM.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(GERMAN_IOS / "_chat.txt", "_chat.txt")
    assert whatsapp.sniff(US_ANDROID)
    assert whatsapp.sniff(GERMAN_IOS)
    assert whatsapp.sniff(FIXTURES)
    assert whatsapp.sniff(archive)
    assert importers.detect(US_ANDROID) == "whatsapp"
    assert importers.detect(archive) == "whatsapp"


def test_other_text_files_are_not_taken_for_whatsapp(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Boodschappen:\n- melk\n12/03/2024, 10:00 - ergens in de tekst\n")
    other_zip = tmp_path / "photos.zip"
    with zipfile.ZipFile(other_zip, "w") as zipped:
        zipped.writestr("readme.txt", "just a readme")
    assert not whatsapp.sniff(notes)
    assert not whatsapp.sniff(other_zip)
    assert not whatsapp.sniff(tmp_path / "missing.txt")
    assert not whatsapp.sniff(tmp_path)


@pytest.mark.parametrize(
    ("file_name", "chat"),
    [
        ("WhatsApp Chat with KLM.txt", "KLM"),
        ("WhatsApp Chat - Fietsenwinkel Jansen.zip", "Fietsenwinkel Jansen"),
        ("WhatsApp Chat mit Fahrradladen Müller.txt", "Fahrradladen Müller"),
        ("WhatsApp-chat met Buren Eikstraat.txt", "Buren Eikstraat"),
        ("Chat de WhatsApp con Hotel Sol.txt", "Hotel Sol"),
        ("Discussion WhatsApp avec SNCF.txt", "SNCF"),
        ("WhatsApp Chat with +31 6 12345678 (1).txt", "+31 6 12345678"),
        ("_chat.txt", None),
        ("notes.txt", None),
    ],
)
def test_the_chat_is_named_after_its_file_in_every_language(file_name: str, chat: str) -> None:
    assert whatsapp.chat_name_from_path(file_name) == chat


# --- dates and times -----------------------------------------------------------------------------


def test_whatsapp_german_ios_export_keeps_multiline_messages() -> None:
    found = read(GERMAN_IOS)
    question = titled(found, "Guten Morgen, ich habe")
    assert question.body == (
        "Guten Morgen, ich habe eine Frage zu meiner Buchung XK7P2Q.\n"
        "Der Rückflug am 22.03. passt leider nicht mehr.\n"
        "Kann ich auf den 24.03. umbuchen?"
    )
    assert question.occurred_at == datetime(2024, 3, 14, 9, 12, 41, tzinfo=UTC)
    assert found[-1].body.endswith("Diese Nachricht wurde gelöscht.")


def test_us_android_12_hour_clock_with_narrow_spaces_and_no_day_above_12() -> None:
    found = read(US_ANDROID, options(zone="Europe/Amsterdam"))
    ready = titled(found, "Hi! Your bike")
    # 3/4/24 is read month first: dates run forward either way, and AM/PM with slashes is US.
    assert ready.occurred_at == datetime(2024, 3, 4, 9, 6, tzinfo=AMSTERDAM)
    assert titled(found, "Great, I'll").occurred_at.hour == 12
    assert found[-2].occurred_at == datetime(2024, 3, 5, 0, 2, tzinfo=AMSTERDAM)  # "12:02 am"
    assert found[-1].occurred_at == datetime(2024, 3, 5, 8, 15, tzinfo=AMSTERDAM)  # "8:15 a.m."
    assert not ready.tz_known


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["01/02/23, 10:00 - A: x", "13/02/23, 10:00 - A: y"], datetime(2023, 2, 1, 10)),
        (["01/02/23, 10:00 - A: x", "02/13/23, 10:00 - A: y"], datetime(2023, 1, 2, 10)),
        (["2023-02-01 10:00 - A: x"], datetime(2023, 2, 1, 10)),
        (["01.02.2023, 10:00 - A: x"], datetime(2023, 2, 1, 10)),
        (["01-02-2023 10:00 - A: x"], datetime(2023, 2, 1, 10)),
        (["[01/02/2023, 10:00:07] A: x"], datetime(2023, 2, 1, 10, 0, 7)),
        (["1/2/23, 10:00\u202fPM - A: x"], datetime(2023, 1, 2, 22)),
        (["\u200e[1/2/23, 12:00:00\u202fAM] A: x"], datetime(2023, 1, 2, 0)),
        (["01/02/2023, 10:00 p. m. - A: x"], datetime(2023, 1, 2, 22)),
        # Dates only read forward one way: 10/12 → 11/12 day first, not 12 Oct → 12 Nov.
        (["12/10/23, 09:00 - A: x", "12/11/23, 09:00 - A: y", "01/12/23, 09:00 - A: z"], None),
    ],
)
def test_date_order_is_inferred_from_the_whole_file(
    lines: list[str], expected: datetime | None
) -> None:
    found = interactions(parse("\n".join(lines)))
    assert len(found) == len(lines)
    if expected is None:
        assert [item.occurred_at.date().isoformat() for item in found] == [
            "2023-10-12",
            "2023-11-12",
            "2023-12-01",
        ]
    else:
        assert found[0].occurred_at.replace(tzinfo=None) == expected


def test_a_layout_switch_mid_file_is_read_per_layout() -> None:
    text = "6/30/23, 16:14 - A: before\n30/6/2023, 16:15 - A: after\n1/7/2023, 09:00 - A: next"
    found = interactions(parse(text))
    assert [item.occurred_at.date().isoformat() for item in found] == [
        "2023-06-30",
        "2023-06-30",
        "2023-07-01",
    ]


def test_dedup_keys_do_not_depend_on_the_chosen_timezone() -> None:
    utc = [item.dedup_key for item in read(US_ANDROID, options(zone="UTC"))]
    tokyo = [item.dedup_key for item in read(US_ANDROID, options(zone="Asia/Tokyo"))]
    assert utc == tokyo


# --- system lines --------------------------------------------------------------------------------


def test_media_left_out_of_the_export_stays_the_message_of_its_sender() -> None:
    omitted = titled(read(US_ANDROID), "<Media omitted>")
    assert omitted.direction == "in"
    assert omitted.extras["media_omitted"] is True
    assert omitted.sender is not None and omitted.sender.name == "Fietsenwinkel Jansen"
    image = titled(read(GERMAN_IOS), "Bild weggelassen")
    assert image.direction == "out" and image.extras["media_omitted"] is True


def test_notices_are_system_items_never_a_person_speaking() -> None:
    found = read(GERMAN_IOS)
    system = [item for item in found if item.direction == "system"]
    assert [item.title.split(": ", 1)[1][:30] for item in system] == [
        "Nachrichten und Anrufe sind En",
        "Dieses Unternehmen nutzt einen",
        "Diese Nachricht wurde gelöscht",
    ]
    # The chat is their sender, so a notice about my message never makes me a company.
    assert {item.sender.name for item in system if item.sender} == {"KLM"}


def test_group_events_make_a_group_named_after_the_file() -> None:
    found = read(DUTCH_GROUP, options(me="Sanne de Vries"))
    assert {item.hints.chat_kind for item in found} == {"group"}
    assert {item.thread_title for item in found} == {"Buren Eikstraat"}
    events = [item.title for item in found if item.direction == "system"]
    assert 'Ahmed El Amrani heeft groep "Buren Eikstraat" aangemaakt' in events
    assert "Femke Jansen is vertrokken" in events
    mine = titled(found, "Ik heb er ook een")
    assert mine.direction == "out"
    assert [party.name for party in mine.recipients] == ["Buren Eikstraat"]


def test_a_group_without_a_chat_name_takes_the_created_group_name() -> None:
    text = '20/06/20, 00:08 - +12 345 578 created group "Wandelclub"\n21/06/20, 10:00 - A: hoi'
    found = interactions(parse(text))
    assert {item.thread_title for item in found} == {"Wandelclub"}


def test_a_business_notice_makes_the_chat_a_company() -> None:
    found = read(GERMAN_IOS)
    assert {item.hints.chat_kind for item in found} == {"business"}
    assert {item.hints.organisation for item in found} == {"KLM"}
    android = "1/2/24, 10:00 - This business uses a secure service from Meta to manage this chat.\n"
    android += "1/2/24, 10:01 - Bol: Uw pakket komt vandaag"
    assert {item.hints.chat_kind for item in interactions(parse(android))} == {"business"}


def test_an_edited_message_loses_the_edit_marker() -> None:
    edited = titled(read(US_ANDROID), "Great, I'll come by at 5")
    assert edited.body == "Great, I'll come by at 5"
    assert edited.extras["edited"] is True


# --- who speaks ----------------------------------------------------------------------------------


def test_in_a_chat_named_after_its_contact_the_other_sender_is_me() -> None:
    found = read(US_ANDROID)
    assert titled(found, "Great").direction == "out"
    assert titled(found, "Hi! Your bike").direction == "in"
    assert titled(found, "Great").recipients[0].name == "Fietsenwinkel Jansen"


def test_me_decides_direction_and_matches_phone_numbers_by_digits() -> None:
    text = "1/2/24, 10:00 - +31 6 1234 5678: hallo\n1/2/24, 10:01 - Garage Smit: dag"
    found = interactions(parse(text, options(me="+31612345678")))
    assert [item.direction for item in found] == ["out", "in"]


def test_a_lone_group_without_me_is_all_incoming() -> None:
    assert {item.direction for item in read(DUTCH_GROUP)} == {"in", "system"}


def test_the_sender_in_every_chat_of_a_folder_is_the_owner(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("1/2/24, 10:00 - Sanne: hoi\n1/2/24, 10:01 - Bol: dag\n")
    (tmp_path / "b.txt").write_text("1/2/24, 11:00 - KLM: hallo\n1/2/24, 11:01 - Sanne: ok\n")
    found = read(tmp_path)
    assert {item.sender.name for item in found if item.direction == "out" and item.sender} == {
        "Sanne"
    }
    assert len([item for item in found if item.direction == "out"]) == 2


# --- attachments and zips ------------------------------------------------------------------------


def test_attached_files_next_to_the_text_become_attachments() -> None:
    photo = titled(read(US_ANDROID), "The new brake pads")
    [attachment] = photo.attachments
    assert attachment.filename == "IMG-20240304-WA0003.jpg"
    assert attachment.mime == "image/jpeg"
    assert attachment.data == (FIXTURES / "IMG-20240304-WA0003.jpg").read_bytes()
    assert photo.body == "The new brake pads\n[Photo: IMG-20240304-WA0003.jpg]"


def test_ios_attached_marker_is_linked_to_the_file() -> None:
    photo = titled(read(GERMAN_IOS), "Photo: 00000007-PHOTO")
    assert [a.filename for a in photo.attachments] == ["00000007-PHOTO-2024-03-14-09-15-02.jpg"]
    assert photo.direction == "out"


def zip_export(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in members.items():
            zipped.writestr(name, data)
    return path


def test_a_zip_export_reads_media_from_the_zip_and_dedups_with_the_text(tmp_path: Path) -> None:
    archive = zip_export(
        tmp_path / "WhatsApp Chat - KLM.zip",
        {
            "_chat.txt": (GERMAN_IOS / "_chat.txt").read_bytes(),
            "00000007-PHOTO-2024-03-14-09-15-02.jpg": b"\xff\xd8 zipped photo",
        },
    )
    from_zip = read(archive)
    photo = titled(from_zip, "Photo: 00000007-PHOTO")
    assert photo.attachments[0].data == b"\xff\xd8 zipped photo"
    assert photo.source_ref.startswith(f"{archive.resolve()}!_chat.txt#line=")
    assert [item.dedup_key for item in from_zip] == [item.dedup_key for item in read(GERMAN_IOS)]


def test_zip_members_that_leave_the_export_are_never_read(tmp_path: Path) -> None:
    chat = b"1/2/24, 10:00 - Shop: ../secret.jpg (file attached)\n1/2/24, 10:01 - Shop: x\n"
    archive = zip_export(
        tmp_path / "WhatsApp Chat with Shop.zip",
        {"chat.txt": chat, "../secret.jpg": b"secret", "/etc/evil.txt": chat},
    )
    found = read(archive)
    assert len(found) == 2
    assert all(item.attachments == [] for item in found)


def test_a_zip_bomb_member_is_refused_unread(tmp_path: Path) -> None:
    archive = zip_export(
        tmp_path / "WhatsApp Chat with Shop.zip",
        {
            "WhatsApp Chat with Shop.txt": b"1/2/24, 10:00 - Shop: IMG-1.jpg (file attached)\n",
            "IMG-1.jpg": b"\0" * (8 * 1024 * 1024),
        },
    )
    [photo] = read(archive)
    assert photo.attachments == []
    assert photo.extras["media"]["attached"] is False


def test_a_broken_zip_is_quarantined_not_raised(tmp_path: Path) -> None:
    broken = tmp_path / "WhatsApp Chat with Shop.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    items = list(whatsapp.read(broken, options()))
    assert isinstance(items[0], Quarantined) and "zip" in items[0].reason
    assert isinstance(items[-1], Checkpoint)


# --- broken input and re-imports -----------------------------------------------------------------


def test_an_impossible_date_is_quarantined_and_the_rest_imported() -> None:
    items = parse("31/01/24, 10:00 - A: ok\n31/02/24, 10:00 - A: nope\n01/03/24, 10:00 - A: ok")
    [bad] = quarantined(items)
    assert bad.source_ref == "chat.txt#line=2"
    assert bad.raw == b"31/02/24, 10:00 - A: nope"
    assert "not valid" in bad.reason
    assert len(interactions(items)) == 2


def test_text_without_any_message_line_is_quarantined() -> None:
    [item] = parse("hello\nworld")
    assert isinstance(item, Quarantined)
    assert item.reason == "text before the first WhatsApp message line"


def test_identical_messages_in_one_minute_get_distinct_keys() -> None:
    found = read(US_ANDROID)
    oks = [item for item in found if item.body == "ok"]
    assert len(oks) == 2 and oks[0].dedup_key != oks[1].dedup_key
    assert len({item.dedup_key for item in found}) == len(found)


def test_reimport_adds_nothing() -> None:
    first = list(whatsapp.read(US_ANDROID, options()))
    checkpoint = first[-1]
    assert isinstance(checkpoint, Checkpoint)
    assert checkpoint.source == str(US_ANDROID.resolve())
    again = options(cursors={checkpoint.source: dict(checkpoint.state)})
    assert list(whatsapp.read(US_ANDROID, again)) == []


def test_a_newer_export_that_overlaps_gives_the_same_keys_for_old_messages() -> None:
    old = "1/2/24, 10:00 - Shop: a\n1/2/24, 10:00 - Shop: a\n"
    new = old + "1/2/24, 10:00 - Shop: a\n13/2/24, 09:00 - Shop: b\n"
    old_keys = [item.dedup_key for item in interactions(parse(old, chat_name="Shop"))]
    new_keys = [item.dedup_key for item in interactions(parse(new, chat_name="Shop"))]
    assert new_keys[:2] == old_keys and len(set(new_keys)) == 4


def test_every_item_keeps_its_raw_lines_and_where_it_came_from() -> None:
    item = titled(read(GERMAN_IOS), "Guten Morgen, ich habe")
    assert item.raw is not None and item.raw.decode().startswith("[14.03.24, 09:12:41] Sanne")
    assert item.source_ref == f"{(GERMAN_IOS / '_chat.txt').resolve()}#line=3"
    assert item.thread_key == "whatsapp:klm"


def test_no_input_makes_the_importer_raise() -> None:
    seed = "\n".join(
        path.read_text(encoding="utf-8")
        for path in (US_ANDROID, DUTCH_GROUP, GERMAN_IOS / "_chat.txt")
    )
    rng = random.Random(20240314)
    samples = [
        "",
        "\ufeff",
        "[",
        "99/99/99, 99:99 - x",
        "1/2/24, 10:00 - ",
        "1/2/9999, 23:59 - A: x",
    ]
    for _ in range(300):
        start = rng.randrange(len(seed))
        chunk = list(seed[start : start + rng.randrange(1, 2000)])
        for _ in range(rng.randrange(0, 8)):
            chunk[rng.randrange(len(chunk))] = chr(rng.randrange(0x20, 0x3000))
        samples.append("".join(chunk))
    plus_14 = ImportOptions(timezone=ZoneInfo("Pacific/Kiritimati"))
    for text in samples:
        items = list(whatsapp.parse_chat(text, "fuzz", plus_14))
        assert all(isinstance(item, Interaction | Quarantined | Note) for item in items)
        assert all("\n" not in item.reason for item in quarantined(items))


def test_a_large_export_imports_at_a_useful_rate() -> None:
    start = datetime(2023, 1, 1, 8, 0)
    lines = []
    for n in range(20_000):
        when = start + timedelta(minutes=n)
        sender = "Sanne de Vries" if n % 3 else "Fietsenwinkel Jansen"
        lines.append(f"{when:%d/%m/%Y, %H:%M} - {sender}: bericht {n}")
    found = interactions(parse("\n".join(lines)))
    assert len(found) == 20_000


# --- the shared conformance corpus ---------------------------------------------------------------


@pytest.fixture(params=corpus_params("whatsapp"))
def corpus_case(request: pytest.FixtureRequest) -> dict[str, Any]:
    return corpus_case_or_skip(request.param)


def import_case(case: dict[str, Any]) -> list[Item]:
    me = case_me(case)
    return [item for path in case["paths"] for item in whatsapp.read(CORPUS / path, options(me=me))]


def test_corpus_files_are_recognised(corpus_case: dict[str, Any]) -> None:
    assert all(whatsapp.sniff(CORPUS / path) for path in corpus_case["paths"])


def test_corpus_counts_time_span_and_items(corpus_case: dict[str, Any]) -> None:
    expect = corpus_case["expect"]
    items = import_case(corpus_case)
    found, bad = interactions(items), quarantined(items)
    assert count_matches(expect["interactions"], len(found))
    assert count_matches(expect["quarantined"], len(bad))
    first = min(found, key=lambda item: item.occurred_at).occurred_at
    last = max(found, key=lambda item: item.occurred_at).occurred_at
    assert times_match(expect["first_at"], first.isoformat())
    assert times_match(expect["last_at"], last.isoformat())
    missing = [
        item
        for item in expect.get("items", [])
        if not any(item_matches(item, candidate) for candidate in found)
    ]
    assert missing == []


def test_corpus_system_lines_never_come_from_the_owner(corpus_case: dict[str, Any]) -> None:
    found = interactions(import_case(corpus_case))
    me = [arg for arg in corpus_case.get("args", []) if not arg.startswith("--")]
    for item in found:
        if item.direction == "system" and me:
            assert item.sender is not None and item.sender.name != me[0]
