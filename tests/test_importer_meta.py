"""The Messenger and Instagram importers, told as what a user importing their Meta export sees."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import importers
from importers.chat import instagram, messenger
from importers.chat.meta_thread import Page, ThreadReader, repair
from tests.conformance.compare import count_matches, times_match
from tests.support import (
    corpus_case_or_skip,
    corpus_params,
    interactions,
    quarantined,
)
from vault.records import Checkpoint, ImportOptions, Interaction, Item, Quarantined

FIXTURES = Path(__file__).parent / "fixtures"
FACEBOOK = FIXTURES / "messenger" / "facebook-sannedevries-2024-04-02-Ab12Cd34"
MESSAGES = FACEBOOK / "your_facebook_activity" / "messages"
ENERGIE = MESSAGES / "inbox" / "energiedirect_10158427731"
JORIS = MESSAGES / "inbox" / "jorisbakker_8812004"
REQUEST = MESSAGES / "message_requests" / "fietsplaats_22310045"
OLD_LAYOUT = FIXTURES / "messenger" / "facebook-2019"
INSTAGRAM = FIXTURES / "instagram" / "instagram-sannedevries-2024-04-02-Xy98"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def options(*, me: str | None = None, **kwargs: Any) -> ImportOptions:
    names = frozenset({me.casefold()}) if me else frozenset()
    return ImportOptions(timezone=ZoneInfo("UTC"), me_names=names, **kwargs)


def facebook() -> list[Interaction]:
    return interactions(list(messenger.read(FACEBOOK, options())))


def titled(found: list[Interaction], start: str) -> Interaction:
    [item] = [item for item in found if item.title.startswith(start)]
    return item


def thread(messages: list[Any], **fields: Any) -> bytes:
    return json.dumps({"participants": [], "messages": messages, **fields}).encode()


def parse(data: bytes, opts: ImportOptions | None = None) -> list[Item]:
    reader = ThreadReader(opts or options(), "messenger")
    return list(reader.items([Page("t.json", data)], folder="t"))


# --- recognising an export -----------------------------------------------------------------------


def test_messenger_and_instagram_exports_are_told_apart() -> None:
    assert messenger.sniff(FACEBOOK) and not instagram.sniff(FACEBOOK)
    assert messenger.sniff(ENERGIE / "message_1.json")
    assert instagram.sniff(INSTAGRAM) and not messenger.sniff(INSTAGRAM)
    assert importers.detect(FACEBOOK) == "messenger"
    assert importers.detect(INSTAGRAM) == "instagram"
    assert importers.detect(OLD_LAYOUT) == "messenger"


def test_telegram_and_other_json_are_not_taken_for_meta(tmp_path: Path) -> None:
    other = tmp_path / "data.json"
    other.write_text('{"messages": [{"from": "x", "date_unixtime": "1"}]}')
    assert not messenger.sniff(other)
    assert not messenger.sniff(tmp_path)
    assert not messenger.sniff(FIXTURES / "telegram" / "full_export")


# --- text ----------------------------------------------------------------------------------------


def test_messenger_mojibake_is_repaired_exactly() -> None:
    found = facebook()
    assert titled(found, "Crème brûlée").body.startswith("Crème brûlée of niet")
    assert "€ 120" in titled(found, "Crème brûlée").body
    assert titled(found, "Hoi Sanne!").body.endswith("samen bekijken? 😊")
    assert titled(found, "Zullen we zaterdag").body.endswith("À bientôt!")


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("\u00c3\u00a9", "é"),
        ("\u00e2\u0082\u00ac 5", "€ 5"),
        ("\u00f0\u009f\u0098\u008a", "😊"),
        ("é", "é"),  # already text: not valid UTF-8 as bytes, so left alone
        ("€ 5", "€ 5"),  # outside latin-1: cannot be mojibake, left alone
        ("plain", "plain"),
    ],
)
def test_repair_is_exact_or_leaves_the_text_alone(stored: str, shown: str) -> None:
    assert repair(stored) == shown


def test_the_raw_message_keeps_the_escapes_of_the_export() -> None:
    item = titled(facebook(), "Crème brûlée")
    assert b"\\u00c3\\u00a8" in (item.raw or b"")
    assert json.loads(item.raw or b"")["timestamp_ms"] == 1709283500000


def test_secure_storage_download_is_real_utf8_and_not_repaired() -> None:
    data = json.dumps(
        {
            "participants": ["Sanne de Vries", "Bakkerij Lenferink"],
            "threadName": "Bakkerij Lenferink",
            "messages": [
                {
                    "senderName": "Bakkerij Lenferink",
                    "text": "Ã© is hier gewoon tekst",
                    "timestamp": 1709280000000,
                    "type": "text",
                    "isUnsent": False,
                    "media": [],
                    "reactions": [],
                }
            ],
        }
    ).encode()
    [item] = interactions(parse(data, options(me="Sanne de Vries")))
    assert item.body == "Ã© is hier gewoon tekst"
    assert item.thread_title == "Bakkerij Lenferink"
    assert item.direction == "in"


# --- threads, pages and time ---------------------------------------------------------------------


def test_pages_of_one_thread_are_merged_in_time_order() -> None:
    energie = [item for item in facebook() if item.thread_title == "Energie Direct"]
    times = [item.occurred_at for item in energie]
    assert times == sorted(times)
    assert energie[0].title.startswith("Goedemorgen")  # message_2.json holds the oldest
    assert energie[0].occurred_at == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    assert energie[0].tz_known


def test_thread_keys_leave_out_the_folder_so_accepted_requests_keep_their_keys() -> None:
    request = titled(facebook(), "Je bestelling FP-20931")
    assert request.thread_key == "messenger:fietsplaats_22310045"
    assert request.source_ref.endswith(
        "message_requests/fietsplaats_22310045/message_1.json#message=0"
    )


def test_message_requests_and_liked_pages_are_companies() -> None:
    found = facebook()
    assert titled(found, "Je bestelling FP-20931").hints.chat_kind == "request"
    assert {item.hints.chat_kind for item in found if item.thread_title == "Energie Direct"} == {
        "page"
    }
    assert {item.hints.chat_kind for item in found if item.thread_title == "Joris Bakker"} == {
        "private"
    }


# --- who speaks ----------------------------------------------------------------------------------


def test_the_profile_name_is_the_owner() -> None:
    found = facebook()
    mine = titled(found, "Goedemorgen")
    assert mine.direction == "out"
    assert [party.name for party in mine.recipients] == ["Energie Direct"]
    assert titled(found, "Hoi Sanne!").direction == "in"


def test_the_participant_in_every_thread_is_the_owner(tmp_path: Path) -> None:
    for folder, other in (("a_1", "Bol"), ("b_2", "KLM")):
        page = tmp_path / "messages" / "inbox" / folder / "message_1.json"
        page.parent.mkdir(parents=True)
        page.write_bytes(
            thread(
                [{"sender_name": "Sanne", "timestamp_ms": 1709280000000, "content": "hoi"}],
                participants=[{"name": other}, {"name": "Sanne"}],
            )
        )
    found = interactions(list(messenger.read(tmp_path, options())))
    assert [item.direction for item in found] == ["out", "out"]


def test_a_single_thread_without_me_is_all_incoming() -> None:
    found = interactions(list(messenger.read(OLD_LAYOUT, options())))
    assert {item.direction for item in found} == {"in", "system"}
    mine = interactions(list(messenger.read(OLD_LAYOUT, options(me="Sanne de Vries"))))
    assert mine[0].hints.chat_kind == "private"


# --- media, shares, reactions, unsent, calls -----------------------------------------------------


def test_photos_and_stickers_inside_the_export_become_attachments() -> None:
    found = facebook()
    photo = titled(found, "Hier is je jaaroverzicht")
    [attachment] = photo.attachments
    assert attachment.filename == "jaaroverzicht_2023.png"
    assert attachment.mime == "image/png"
    assert attachment.data == (ENERGIE / "photos" / "jaaroverzicht_2023.png").read_bytes()
    sticker = titled(found, "Sticker: 369239263222822.png")
    assert [a.filename for a in sticker.attachments] == ["369239263222822.png"]


def test_paths_leading_out_of_the_export_are_never_read() -> None:
    escaped = titled(facebook(), "File: passwd")
    assert escaped.attachments == []
    assert escaped.extras["media"][0]["attached"] is False


def test_shares_reactions_and_unsent_messages_are_kept() -> None:
    found = facebook()
    share = titled(found, "Dat kan hier:")
    assert "Link: https://www.energiedirect.example/voorschot" in share.body
    assert share.extras["share"]["share_text"] == "Voorschot aanpassen"
    photo = titled(found, "Hier is je jaaroverzicht")
    assert photo.extras["reactions"] == [{"reaction": "👍", "actor": "Sanne de Vries"}]
    assert "Reactions: 👍 Sanne de Vries" in photo.body
    unsent = titled(found, "Sanne de Vries unsent a message")
    assert unsent.direction == "system"
    assert unsent.extras["unsent"] is True
    assert unsent.sender is not None and unsent.sender.name == "Energie Direct"


def test_calls_in_the_old_layout_are_system_items() -> None:
    found = interactions(list(messenger.read(OLD_LAYOUT, options(me="Sanne de Vries"))))
    call = titled(found, "Garage Smit called you.")
    assert call.direction == "system"
    assert call.extras["call_duration"] == 0


def test_instagram_dms_read_like_messenger() -> None:
    found = interactions(list(instagram.read(INSTAGRAM, options())))
    assert [item.direction for item in found] == ["out", "in", "system"]
    assert found[1].body.startswith("Olá Sanne! A sua reserva está confirmada: 12–14 abril")
    assert "Vista do terraço 🌅" in found[0].body
    assert found[2].title == "Reacted ❤️ to your message"
    assert {item.thread_key for item in found} == {"instagram:hotelaurora_17890321"}


# --- broken input and re-imports -----------------------------------------------------------------


def test_a_broken_message_is_quarantined_and_the_rest_imported() -> None:
    items = list(messenger.read(ENERGIE, options()))
    [bad] = quarantined(items)
    assert bad.reason == "timestamp 'gisteren' is not a number"
    assert json.loads(bad.raw)["content"] == "Tot ziens!"
    assert len(interactions(items)) == 7


def test_invalid_json_is_quarantined_not_raised() -> None:
    [item] = parse(b'{"messages": [')
    assert isinstance(item, Quarantined)
    assert item.reason.startswith("not valid JSON:")
    [other] = parse(b'{"participants": []}')
    assert isinstance(other, Quarantined) and other.reason.startswith("not a message export")


def test_reimport_adds_nothing() -> None:
    first = list(messenger.read(FACEBOOK, options()))
    cursors = {item.source: dict(item.state) for item in first if isinstance(item, Checkpoint)}
    assert len(cursors) == 4  # one per message_N.json
    assert list(messenger.read(FACEBOOK, options(cursors=cursors))) == []
    again = [item.dedup_key for item in interactions(list(messenger.read(FACEBOOK, options())))]
    assert again == [item.dedup_key for item in interactions(first)]
    assert len(set(again)) == len(again)


def test_no_input_makes_the_importer_raise() -> None:
    seed = (ENERGIE / "message_1.json").read_bytes() + (INSTAGRAM / "x").as_posix().encode()
    rng = random.Random(20240301)
    samples = [b"", b"[]", b'{"messages": 5}', b'{"messages": [null, 1, "x", {}]}']
    samples += [
        thread([{"timestamp_ms": 1, "photos": "x", "share": [], "reactions": [None, 3]}]),
        thread([{"timestamp_ms": True}, {"timestamp_ms": 10**20}, {"timestamp_ms": -5}]),
        thread([{"sender_name": 5, "timestamp_ms": 1, "sticker": {"uri": None}, "files": [1]}]),
    ]
    for _ in range(200):
        chunk = bytearray(seed[: rng.randrange(1, len(seed))])
        for _ in range(rng.randrange(0, 6)):
            chunk[rng.randrange(len(chunk))] = rng.randrange(256)
        samples.append(bytes(chunk))
    for data in samples:
        items = parse(data)
        assert all(isinstance(item, Interaction | Quarantined) for item in items)


# --- the shared conformance corpus ---------------------------------------------------------------


@pytest.fixture(params=corpus_params("instagram", "messenger"))
def corpus_case(request: pytest.FixtureRequest) -> dict[str, Any]:
    return corpus_case_or_skip(request.param)


def test_corpus_counts_time_span_and_items(corpus_case: dict[str, Any]) -> None:
    module = instagram if corpus_case["format"] == "instagram" else messenger
    expect = corpus_case["expect"]
    items = [
        item for path in corpus_case["paths"] for item in module.read(CORPUS / path, options())
    ]
    found = interactions(items)
    assert count_matches(expect["interactions"], len(found))
    assert count_matches(expect["quarantined"], len(quarantined(items)))
    first = min(item.occurred_at for item in found)
    last = max(item.occurred_at for item in found)
    assert times_match(expect["first_at"], first.isoformat())
    assert times_match(expect["last_at"], last.isoformat())
    for expected in expect.get("items", []):
        assert any(
            expected["sender_contains"] in (item.sender.display() if item.sender else "")
            and times_match(expected["occurred_at"], item.occurred_at.isoformat())
            and all(part in item.body for part in expected["text_contains"])
            for item in found
        ), expected
