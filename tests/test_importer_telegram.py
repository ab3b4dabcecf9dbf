"""The Telegram Desktop JSON importer, told as what a user importing their export sees."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from importers.chat import telegram
from tests.conformance.compare import count_matches, times_match
from tests.support import (
    case_me,
    corpus_case_or_skip,
    corpus_params,
    interactions,
    item_matches,
    quarantined,
)
from vault.records import (
    Checkpoint,
    ImportOptions,
    Interaction,
    Item,
    Quarantined,
)

FIXTURES = Path(__file__).parent / "fixtures" / "telegram"
FULL_EXPORT = FIXTURES / "full_export"
BROKEN_SINGLE_CHAT = FIXTURES / "single_chat_with_broken_message.json"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

UTC_OPTIONS = ImportOptions(timezone=ZoneInfo("UTC"))
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def options(*, me: str | None = None, zone: str = "UTC", **kwargs: Any) -> ImportOptions:
    names = frozenset({me.casefold()}) if me else frozenset()
    return ImportOptions(timezone=ZoneInfo(zone), me_names=names, **kwargs)


def full_export() -> list[Interaction]:
    return interactions(list(telegram.read(FULL_EXPORT, UTC_OPTIONS)))


def in_thread(found: list[Interaction], chat_id: int) -> list[Interaction]:
    return [item for item in found if item.thread_key == f"telegram:{chat_id}"]


def by_message_id(found: list[Interaction], chat_id: int, message_id: int) -> Interaction:
    [item] = [
        item
        for item in in_thread(found, chat_id)
        if item.extras.get("telegram_message_id") == message_id
    ]
    return item


def parse(document: Any, opts: ImportOptions = UTC_OPTIONS) -> list[Item]:
    data = json.dumps(document, ensure_ascii=False).encode()
    return list(telegram.parse_export(data, "demo.json", opts))


# Chat ids in tests/fixtures/telegram/full_export/result.json
SAVED, BOT, JORIS, CHANNEL, GROUP, LEFT = (
    5550001,
    6100200300,
    5550077,
    1987654321,
    4400123,
    1700200300,
)


# --- recognising an export -----------------------------------------------------------------------


def test_export_folder_and_its_result_json_are_recognised() -> None:
    assert telegram.sniff(FULL_EXPORT)
    assert telegram.sniff(FULL_EXPORT / "result.json")


def test_a_renamed_single_chat_export_is_recognised_by_its_first_bytes(tmp_path: Path) -> None:
    renamed = tmp_path / "chat with shop.json"
    renamed.write_bytes(BROKEN_SINGLE_CHAT.read_bytes())
    assert telegram.sniff(renamed)


def test_other_json_and_other_files_are_not_taken_for_telegram(tmp_path: Path) -> None:
    instagram = tmp_path / "message_1.json"
    instagram.write_text(
        json.dumps(
            {
                "participants": [{"name": "Shop"}],
                "messages": [
                    {"sender_name": "Shop", "timestamp_ms": 1700000000000, "content": "Hi"}
                ],
            }
        )
    )
    notes = tmp_path / "notes.txt"
    notes.write_text('"messages": "from_id"')
    assert not telegram.sniff(instagram)
    assert not telegram.sniff(notes)
    assert not telegram.sniff(tmp_path / "missing.json")
    assert not telegram.sniff(tmp_path)


# --- who and what --------------------------------------------------------------------------------


def test_bot_chat_is_marked_as_a_company_chat() -> None:
    bot = in_thread(full_export(), BOT)
    assert bot and all(item.hints.chat_kind == "bot" for item in bot)
    assert {item.hints.organisation for item in bot} == {"Fietsplaats Bestelbot"}
    assert {item.thread_title for item in bot} == {"Fietsplaats Bestelbot"}


def test_channel_posts_come_in_from_the_channel_itself() -> None:
    post = by_message_id(full_export(), CHANNEL, 2)
    assert post.hints.chat_kind == "channel"
    assert post.direction == "in"
    assert post.sender is not None
    assert post.sender.address == f"channel{CHANNEL}"
    assert post.sender.kind == "chat_handle"


def test_my_messages_go_out_to_the_person_i_chat_with() -> None:
    found = full_export()
    mine = by_message_id(found, JORIS, 503)
    theirs = by_message_id(found, JORIS, 501)
    assert mine.direction == "out"
    assert mine.sender is not None and mine.sender.name == "Sanne de Vries"
    assert [(p.name, p.address) for p in mine.recipients] == [("Joris Bakker", "user5550077")]
    assert theirs.direction == "in"
    assert theirs.counterpart == mine.counterpart
    assert mine.hints.chat_kind == "private"


def test_my_messages_in_a_group_go_out_to_the_group() -> None:
    mine = by_message_id(full_export(), GROUP, 5)
    assert mine.direction == "out"
    assert [(p.name, p.address) for p in mine.recipients] == [("Verhuizing Utrecht", "chat4400123")]
    assert mine.hints.chat_kind == "group"


def test_entity_array_text_becomes_plain_text_with_link_targets() -> None:
    shipped = by_message_id(full_export(), BOT, 104)
    assert shipped.title == "Bestelling FP-20931 is verzonden"
    assert "Totaal: € 49,95" in shipped.body
    assert "Volg je pakket (https://fietsplaats.example/track/FP-20931)" in shipped.body


def test_an_invisible_preview_link_does_not_become_the_title() -> None:
    post = by_message_id(full_export(), CHANNEL, 2)
    assert post.title == "Storing Utrecht – Amersfoort"
    assert "Link: https://spoorwijzer.example/img/storing.jpg" in post.body


def test_a_long_first_line_is_cut_for_the_title() -> None:
    text = "Uw bestelling " + "heel " * 40 + "\nregel twee"
    [item] = interactions(
        parse(
            {
                "name": "Shop",
                "type": "bot_chat",
                "id": 1,
                "messages": [
                    {
                        "id": 1,
                        "type": "message",
                        "date_unixtime": "1700000000",
                        "from": "Shop",
                        "from_id": "user1",
                        "text": text,
                    }
                ],
            }
        )
    )
    assert len(item.title) <= 80
    assert item.title.endswith("…")
    assert item.body == text


def test_forwarded_message_says_where_it_came_from() -> None:
    forwarded = by_message_id(full_export(), JORIS, 504)
    assert forwarded.body.startswith("Forwarded from Spoorwijzer Updates:\n")
    assert forwarded.title == "Storing Utrecht – Amersfoort"
    assert forwarded.extras["forwarded_from"] == "Spoorwijzer Updates"


def test_a_reply_remembers_what_it_answers() -> None:
    assert by_message_id(full_export(), JORIS, 503).extras["reply_to_message_id"] == 501


def test_edits_and_reactions_are_kept() -> None:
    shipped = by_message_id(full_export(), BOT, 104)
    assert shipped.extras["edited"] == "2024-03-02T09:05:00+00:00"
    assert shipped.extras["reactions"] == [{"type": "emoji", "count": 1, "emoji": "👍"}]
    assert shipped.extras["chat_type"] == "bot_chat"


def test_the_1970_edited_date_of_old_exports_means_not_edited() -> None:
    [item] = interactions(
        parse(
            {
                "name": "A",
                "type": "personal_chat",
                "id": 1,
                "messages": [
                    {
                        "id": 1,
                        "type": "message",
                        "date": "2017-01-01T10:00:00",
                        "edited": "1970-01-01T05:00:00",
                        "from": "A",
                        "from_id": 1,
                        "text": "hoi",
                    }
                ],
            }
        )
    )
    assert "edited" not in item.extras


def test_every_item_keeps_its_raw_message_and_where_it_came_from() -> None:
    item = by_message_id(full_export(), JORIS, 501)
    assert json.loads(item.raw or b"")["text"] == "Heb je de fietslampjes al besteld?"
    resolved = (FULL_EXPORT / "result.json").resolve()
    assert item.source_ref == f"{resolved}#chat={JORIS}&message=501"
    assert item.channel == "chat"


# --- times ---------------------------------------------------------------------------------------


def test_times_come_from_unixtime_in_the_exporters_offset() -> None:
    start = by_message_id(full_export(), BOT, 101)
    assert start.occurred_at == datetime(2024, 3, 2, 9, 0, tzinfo=UTC)
    assert start.occurred_at.utcoffset() == timedelta(hours=1)
    assert start.tz_known


OLD_STYLE_CHAT = {
    "name": "Garage Smit",
    "type": "personal_chat",
    "id": 42,
    "messages": [
        {
            "id": 7,
            "type": "message",
            "date": "2019-07-01T09:30:00",
            "from": "Garage Smit",
            "from_id": 4242,
            "text": "Uw auto staat klaar",
        }
    ],
}


def test_old_exports_without_unixtime_take_the_chosen_timezone() -> None:
    [item] = interactions(parse(OLD_STYLE_CHAT, options(zone="Europe/Amsterdam")))
    assert item.occurred_at == datetime(2019, 7, 1, 9, 30, tzinfo=AMSTERDAM)
    assert item.occurred_at.utcoffset() == timedelta(hours=2)
    assert not item.tz_known
    assert item.sender is not None and item.sender.address == "user4242"


def test_dedup_keys_do_not_depend_on_the_chosen_timezone() -> None:
    [utc] = interactions(parse(OLD_STYLE_CHAT, options(zone="UTC")))
    [ams] = interactions(parse(OLD_STYLE_CHAT, options(zone="Europe/Amsterdam")))
    assert utc.dedup_key == ams.dedup_key


# --- media ---------------------------------------------------------------------------------------


def test_photo_in_the_export_folder_becomes_an_attachment() -> None:
    photo = by_message_id(full_export(), JORIS, 502)
    [attachment] = photo.attachments
    assert attachment.filename == "photo_1@02-03-2024_12-01-09.jpg"
    assert attachment.mime == "image/jpeg"
    assert attachment.data == (FULL_EXPORT / "photos" / attachment.filename).read_bytes()
    assert photo.title == "Photo"
    assert photo.extras["media"]["attached"] is True


def test_an_export_read_from_bytes_has_no_attachments() -> None:
    data = (FULL_EXPORT / "result.json").read_bytes()
    found = interactions(list(telegram.parse_export(data, "upload", UTC_OPTIONS)))
    photo = by_message_id(found, JORIS, 502)
    assert photo.attachments == []
    assert photo.extras["media"]["file"] == "photos/photo_1@02-03-2024_12-01-09.jpg"


def test_media_left_out_of_the_export_is_described_not_attached() -> None:
    sticker = by_message_id(full_export(), JORIS, 507)
    assert sticker.title == "Sticker 🚲"
    assert sticker.attachments == []
    assert sticker.extras["media"]["included"] is False
    assert "[Sticker 🚲]" in sticker.body


def test_paths_leading_out_of_the_export_folder_are_never_read(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    (export / "link.txt").symlink_to(secret)
    messages = [
        {
            "id": n,
            "type": "message",
            "date_unixtime": str(1700000000 + n),
            "from": "X",
            "from_id": "user9",
            "file": path,
            "mime_type": "text/plain",
            "text": "",
        }
        for n, path in enumerate(["../secret.txt", str(secret), "link.txt"])
    ]
    (export / "result.json").write_text(
        json.dumps({"name": "X", "type": "personal_chat", "id": 9, "messages": messages})
    )
    found = interactions(list(telegram.read(export, UTC_OPTIONS)))
    assert len(found) == 3
    assert all(item.attachments == [] for item in found)
    assert by_message_id(full_export(), JORIS, 510).attachments == []


# --- service entries -----------------------------------------------------------------------------


def test_service_messages_are_system_items_with_readable_titles() -> None:
    found = full_export()
    titles = {item.title for item in found if item.direction == "system"}
    assert {
        "Sanne de Vries created group “Verhuizing Utrecht”",
        "Femke Jansen pinned a message",
        "Sanne de Vries added Ahmed El Amrani",
        "Phone call (1 min 23 s)",
        "Missed call",
        "Spoorwijzer Updates created channel “Spoorwijzer Updates”",
    } <= titles


def test_what_i_did_in_a_chat_belongs_to_the_other_side_not_to_me() -> None:
    found = full_export()
    created = by_message_id(found, GROUP, 1)
    my_call = by_message_id(found, JORIS, 509)
    their_call = by_message_id(found, JORIS, 508)
    assert created.counterpart is not None and created.counterpart.address == "chat4400123"
    assert created.extras["actor"] == "Sanne de Vries <user5550001>"
    assert my_call.counterpart is not None and my_call.counterpart.name == "Joris Bakker"
    assert their_call.sender is not None and their_call.sender.address == "user5550077"


def test_paying_a_shop_bot_shows_the_amount() -> None:
    found = full_export()
    invoice = by_message_id(found, BOT, 105)
    payment = by_message_id(found, BOT, 106)
    assert invoice.title == "Invoice: Achterlicht FP-LED2 (19.95 EUR)"
    assert "Oplaadbaar achterlicht" in invoice.body
    assert payment.title == "Payment of 19.95 EUR sent"
    assert payment.direction == "system"
    assert payment.counterpart is not None
    assert payment.counterpart.name == "Fietsplaats Bestelbot"


def test_saved_messages_are_notes_to_self_without_a_counterpart() -> None:
    [note] = in_thread(full_export(), SAVED)
    assert note.direction == "out"
    assert note.recipients == []
    assert note.thread_title == "Saved Messages"
    assert note.hints.chat_kind == "private"
    assert note.extras["notes_to_self"] is True


def test_chats_i_left_are_imported_too() -> None:
    [left] = in_thread(full_export(), LEFT)
    assert left.title == "Wie heeft er een ladder te leen?"
    assert left.hints.chat_kind == "group"


def test_a_single_chat_export_has_no_owner_unless_me_is_given() -> None:
    def directions(opts: ImportOptions) -> list[str]:
        return [
            item.direction for item in interactions(list(telegram.read(BROKEN_SINGLE_CHAT, opts)))
        ]

    assert directions(UTC_OPTIONS) == ["in", "in"]
    assert directions(options(me="Sanne de Vries")) == ["out", "in"]


# --- dedup ---------------------------------------------------------------------------------------


def test_identical_messages_in_the_same_second_get_distinct_keys() -> None:
    found = full_export()
    first, second = by_message_id(found, JORIS, 505), by_message_id(found, JORIS, 506)
    assert first.occurred_at == second.occurred_at and first.body == second.body == "ok"
    assert first.dedup_key != second.dedup_key
    assert len({item.dedup_key for item in found}) == len(found)


def test_reimport_gives_the_same_dedup_keys() -> None:
    by_folder = [item.dedup_key for item in full_export()]
    by_file = [
        item.dedup_key
        for item in interactions(list(telegram.read(FULL_EXPORT / "result.json", UTC_OPTIONS)))
    ]
    from_bytes = [
        item.dedup_key
        for item in interactions(
            list(
                telegram.parse_export(
                    (FULL_EXPORT / "result.json").read_bytes(), "elsewhere", UTC_OPTIONS
                )
            )
        )
    ]
    assert by_folder == by_file == from_bytes


def test_the_same_message_in_another_chat_is_another_item() -> None:
    chat = {
        "type": "personal_chat",
        "messages": [
            {
                "id": 1,
                "type": "message",
                "date_unixtime": "1700000000",
                "from": "A",
                "from_id": "user1",
                "text": "hoi",
            }
        ],
    }
    one = interactions(parse({**chat, "name": "A", "id": 1}))
    two = interactions(parse({**chat, "name": "A", "id": 2}))
    assert one[0].dedup_key != two[0].dedup_key


# --- checkpoints ---------------------------------------------------------------------------------


def test_read_ends_with_a_checkpoint_and_skips_an_unchanged_file() -> None:
    items = list(telegram.read(FULL_EXPORT, UTC_OPTIONS))
    checkpoint = items[-1]
    assert isinstance(checkpoint, Checkpoint)
    assert not any(isinstance(item, Checkpoint) for item in items[:-1])
    result = FULL_EXPORT / "result.json"
    assert checkpoint.source == str(result.resolve())
    assert checkpoint.state == {
        "size": result.stat().st_size,
        "mtime_ns": result.stat().st_mtime_ns,
    }
    again = options(cursors={checkpoint.source: dict(checkpoint.state)})
    assert list(telegram.read(FULL_EXPORT, again)) == []
    changed = options(cursors={checkpoint.source: {**checkpoint.state, "size": 1}})
    assert interactions(list(telegram.read(FULL_EXPORT, changed)))


def test_an_export_too_large_to_load_is_quarantined_unread(tmp_path: Path) -> None:
    huge = tmp_path / "result.json"
    with huge.open("wb") as handle:  # sparse: takes no disk space
        handle.truncate(telegram.MAX_EXPORT_BYTES + 1)
    [item, checkpoint] = list(telegram.read(tmp_path, UTC_OPTIONS))
    assert isinstance(item, Quarantined)
    assert "512 MB" in item.reason
    assert isinstance(checkpoint, Checkpoint)


# --- broken input --------------------------------------------------------------------------------


def test_invalid_json_is_quarantined_not_raised() -> None:
    data = b'{\n "name": "Shop",\n "id": 1\n "messages": []\n}'
    [item] = list(telegram.parse_export(data, "broken.json", UTC_OPTIONS))
    assert isinstance(item, Quarantined)
    assert item.raw == data
    assert item.source_ref == "broken.json"
    assert item.reason == "not valid JSON: Expecting ',' delimiter at line 4 column 2"


@pytest.mark.parametrize("document", [[], "text", {"about": "x"}, {"chats": [1, 2]}])
def test_json_that_is_not_a_telegram_export_is_quarantined(document: Any) -> None:
    [item] = parse(document)
    assert isinstance(item, Quarantined)
    assert item.reason.startswith("not a Telegram export")


def test_a_broken_message_is_quarantined_and_the_rest_imported() -> None:
    items = list(telegram.read(BROKEN_SINGLE_CHAT, UTC_OPTIONS))
    bad = quarantined(items)
    assert [item.source_ref.rsplit("&message=", 1)[1] for item in bad] == ["2", "3", "5"]
    assert "no date" in bad[0].reason
    assert "unsupported" in bad[2].reason
    assert all("\n" not in item.reason for item in bad)
    assert json.loads(bad[0].raw)["text"] == "Dat spijt ons!"
    assert len(interactions(items)) == 2


def test_telegram_control_character_escapes_are_repaired() -> None:
    found = interactions(list(telegram.read(BROKEN_SINGLE_CHAT, UTC_OPTIONS)))
    assert found[-1].body == "Een monteur komt op \x0b dinsdag."


@pytest.mark.parametrize(
    "message",
    [
        {"type": "message", "date_unixtime": "soon", "text": "x"},
        {"type": "message", "date": "yesterday", "text": "x"},
        {"type": "message", "date": "0001-01-01T00:00:00", "text": "x"},
        {"type": "message", "date": "0001-01-01T00:00:00+05:00", "text": "x"},
        {"type": "message", "date_unixtime": "999999999999", "text": "x"},
        {"type": "message", "date_unixtime": "1700000000", "text": {"nested": True}},
        {"type": "message", "date_unixtime": "1700000000", "text": [None]},
        "just a string",
        None,
    ],
)
def test_a_malformed_message_gives_one_quarantined_item(message: Any) -> None:
    plus_14 = ImportOptions(timezone=timezone(timedelta(hours=14)))  # year 1 minus 14 h: no date
    [item] = parse({"name": "A", "type": "personal_chat", "id": 1, "messages": [message]}, plus_14)
    assert isinstance(item, Quarantined)
    assert item.source_ref.startswith("demo.json#chat=1&message=")
    assert item.reason and "\n" not in item.reason


def test_no_input_makes_the_importer_raise() -> None:
    seed = (FULL_EXPORT / "result.json").read_bytes() + BROKEN_SINGLE_CHAT.read_bytes()
    rng = random.Random(20240302)
    samples = [
        b"",
        b"\xff\xfe\x00",
        b"[" * 100_000,
        b'{"messages": ' + b"[" * 5000,
        b'{"id": 1' + b"0" * 5000 + b', "messages": []}',
        '{"name": "\ud800"}'.encode("utf-8", "surrogatepass"),
    ]
    for _ in range(300):
        start = rng.randrange(len(seed))
        chunk = bytearray(seed[start : start + rng.randrange(1, 4000)])
        for _ in range(rng.randrange(0, 8)):
            chunk[rng.randrange(len(chunk))] = rng.randrange(256)
        samples.append(b'{"messages": [' + bytes(chunk) if rng.random() < 0.5 else bytes(chunk))
    samples += [json.dumps(weird).encode() for weird in WEIRD_DOCUMENTS]
    for data in samples:
        items = list(telegram.parse_export(data, "fuzz", UTC_OPTIONS))
        assert all(isinstance(item, Interaction | Quarantined) for item in items)


WEIRD_DOCUMENTS: list[Any] = [
    {"messages": "none"},
    {"messages": [{"date_unixtime": "1", "text": [{"type": "bold"}, {"text": None}]}]},
    {"messages": [{"type": "service", "date_unixtime": 1, "action": 5, "members": "x"}]},
    {"messages": [{"date_unixtime": 1.5}, {"date_unixtime": True}, {"date": 20200101}]},
    {"messages": [{"date_unixtime": "1", "photo": 7, "file": [], "poll": {"answers": 3}}]},
    {
        "messages": [
            {
                "date_unixtime": "1",
                "location_information": None,
                "invoice_information": {"amount": "x", "currency": None},
                "contact_information": {"first_name": 1},
            }
        ]
    },
    {
        "messages": [
            {
                "date_unixtime": "1",
                "type": "service",
                "action": "phone_call",
                "duration_seconds": "long",
                "actor_id": {"a": 1},
            }
        ]
    },
    {"chats": {"list": [None, 3, {"messages": None}, {"id": True, "messages": []}]}},
    {"personal_information": {"user_id": [1]}, "chats": {"list": []}},
    {"left_chats": {"list": "x"}},
    {
        "id": "x",
        "type": 5,
        "name": ["n"],
        "messages": [{"date_unixtime": "1", "from_id": 1.5, "reactions": "many", "edited": 3}],
    },
]


# --- the shared conformance corpus ---------------------------------------------------------------


@pytest.fixture(params=corpus_params("telegram"))
def corpus_case(request: pytest.FixtureRequest) -> dict[str, Any]:
    return corpus_case_or_skip(request.param)


def import_case(case: dict[str, Any]) -> list[Item]:
    me = case_me(case)
    return [item for path in case["paths"] for item in telegram.read(CORPUS / path, options(me=me))]


def test_corpus_files_are_recognised(corpus_case: dict[str, Any]) -> None:
    assert all(telegram.sniff(CORPUS / path) for path in corpus_case["paths"])


def test_corpus_counts_and_outcome(corpus_case: dict[str, Any]) -> None:
    expect = corpus_case["expect"]
    items = import_case(corpus_case)
    found, bad = interactions(items), quarantined(items)
    if "interactions" in expect:
        assert count_matches(expect["interactions"], len(found))
    if "quarantined" in expect:
        assert count_matches(expect["quarantined"], len(bad))
    outcomes = expect.get("outcome", [])
    if outcomes == "imported":
        assert not bad
    elif "quarantined" in outcomes:
        assert bad and not found


def test_corpus_time_span(corpus_case: dict[str, Any]) -> None:
    expect = corpus_case["expect"]
    found = interactions(import_case(corpus_case))
    if not found or "first_at" not in expect:
        pytest.skip("no time span to check")
    first = min(found, key=lambda item: item.occurred_at).occurred_at
    last = max(found, key=lambda item: item.occurred_at).occurred_at
    assert times_match(expect["first_at"], first.isoformat())
    assert times_match(expect["last_at"], last.isoformat())


def test_corpus_items_are_found(corpus_case: dict[str, Any]) -> None:
    found = interactions(import_case(corpus_case))
    missing = [
        item
        for item in corpus_case["expect"].get("items", [])
        if not any(item_matches(item, candidate) for candidate in found)
    ]
    assert missing == []
