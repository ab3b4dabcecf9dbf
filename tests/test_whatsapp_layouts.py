"""WhatsApp exports of every phone, locale and generation, read as the user wrote them.

Line layouts follow those the public test files of other parsers cover (whatsapp-chat-parser's
``tests/unit/parser.test.ts`` format list, whatstk's header formats, chat-miner's samples); the
chats themselves are written for kluis.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from importers.chat import whatsapp
from tests.support import interactions
from vault.records import ImportOptions, Interaction, Item, Note

UTC = ZoneInfo("UTC")
L = "\u200e"  # LEFT-TO-RIGHT MARK, which iOS puts before notices and inside the bracket


def parse(text: str, *, me: str | None = None, **kwargs: Any) -> list[Item]:
    names = frozenset({me.casefold()}) if me else frozenset()
    options = ImportOptions(timezone=UTC, me_names=names)
    return list(whatsapp.parse_chat(text, "chat.txt", options, **kwargs))


def notes(items: list[Item]) -> list[str]:
    return [item.text for item in items if isinstance(item, Note)]


def dates(items: list[Item]) -> list[str]:
    return [item.occurred_at.date().isoformat() for item in interactions(items)]


# --- line layouts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("3/6/18, 1:55 p.m. - Loes: hoi", datetime(2018, 3, 6, 13, 55)),
        ("03-06-2018, 01.55 PM - Loes: hoi", datetime(2018, 6, 3, 13, 55)),
        ("13.06.18 21.25.15: Loes: hoi", datetime(2018, 6, 13, 21, 25, 15)),  # Finnish
        ("[06.13.18 21:25:15] Loes: hoi", datetime(2018, 6, 13, 21, 25, 15)),
        ("13.6.2018 klo 21.25.15 - Loes: hoi", datetime(2018, 6, 13, 21, 25, 15)),
        ("13. 6. 2018. 21:25:15 Loes: hoi", datetime(2018, 6, 13, 21, 25, 15)),
        ("[3/6/18 1:55:00 p. m.] Loes: hoi", datetime(2018, 3, 6, 13, 55)),
        (f"{L}[{L}3/6/18 1:55:00 p. m.{L}] Loes: hoi", datetime(2018, 3, 6, 13, 55)),
        ("\ufeff[2018/06/13, 21:25:15] Loes: hoi", datetime(2018, 6, 13, 21, 25, 15)),
        ("13.06.18, 13:34. - Loes: hoi", datetime(2018, 6, 13, 13, 34)),
        ("\u200f13/06/2018, 13:34 \u200f- \u200fLoes: hoi", datetime(2018, 6, 13, 13, 34)),
        ("\u202b13/06/2018, 13:34\u202c - Loes: hoi", datetime(2018, 6, 13, 13, 34)),
        ("13.06.18, 1:34 nachm. - Loes: hoi", datetime(2018, 6, 13, 13, 34)),
        ("13.06.18, 11:34 vorm. - Loes: hoi", datetime(2018, 6, 13, 11, 34)),
        ("2018/06/13 午後1:34 - Loes: hoi", datetime(2018, 6, 13, 13, 34)),
        ("2018/06/13 午前12:05 - Loes: hoi", datetime(2018, 6, 13, 0, 5)),
        ("6/13/18, 1:34\u202fPM - Loes: hoi", datetime(2018, 6, 13, 13, 34)),
        ("[13/06/2018, 13:34:05] Loes: hoi", datetime(2018, 6, 13, 13, 34, 5)),
        ("2018-06-13 13:34 - Loes: hoi", datetime(2018, 6, 13, 13, 34)),
    ],
)
def test_every_layout_gives_the_time_sender_and_text(line: str, expected: datetime) -> None:
    [item] = interactions(parse(line))
    assert item.occurred_at == expected.replace(tzinfo=UTC)
    assert item.sender is not None and item.sender.name == "Loes"
    assert item.body == "hoi"


def test_finnish_lines_are_each_a_message_not_glued_to_the_one_above() -> None:
    text = (
        "13.06.18 21.25.15: Pyöräkorjaamo: Pyöräsi on valmis.\n"
        "13.06.18 21.26.02: Sanne: Kiitos\n"
        "14.06.18 09.03.40: Pyöräkorjaamo: Auki klo 10-18.\nLasku 45,00 €."
    )
    found = interactions(parse(text))
    assert [item.body for item in found] == [
        "Pyöräsi on valmis.",
        "Kiitos",
        "Auki klo 10-18.\nLasku 45,00 €.",
    ]


# --- the order of day and month ------------------------------------------------------------------

IOS_DECEMBER = [
    f"[{d}/12/24, {h}:05:00 {m}] {who}: {text}"
    for d, h, m, who, text in [
        (1, 9, "AM", "Garage Smit", "Tuesday at 8:30 works"),
        (2, 5, "PM", "Sanne", "See you Tuesday"),
        (3, 8, "AM", "Sanne", f"{L}<attached: 00000004-PHOTO-2024-12-03-08-05-00.jpg>"),
        (4, 11, "AM", "Garage Smit", "The car is ready"),
    ]
]


def test_an_ios_12_hour_chat_is_read_by_its_media_dates_not_as_us_month_first() -> None:
    items = parse("\n".join(IOS_DECEMBER), me="Sanne")
    assert dates(items) == ["2024-12-01", "2024-12-02", "2024-12-03", "2024-12-04"]
    [note] = notes(items)
    assert "day first (1 December 2024)" in note and "00000004-PHOTO-2024-12-03" in note


def test_android_media_names_decide_the_order() -> None:
    lines = [
        "5/3/24, 9:00 AM - Shop: Your order",
        "6/3/24, 9:00 AM - Shop: IMG-20240306-WA0003.jpg (file attached)",
        "7/3/24, 9:00 AM - Shop: Delivered",
    ]
    items = parse("\n".join(lines))
    assert dates(items) == ["2024-03-05", "2024-03-06", "2024-03-07"]
    assert "IMG-20240306-WA0003" in notes(items)[0]


def test_without_media_the_closest_dates_win_over_the_us_habit() -> None:
    lines = [
        line.replace(f"{L}<attached: 00000004-PHOTO-2024-12-03-08-05-00.jpg>", "Photo")
        for line in IOS_DECEMBER
    ]
    items = parse("\n".join(lines), me="Sanne")
    assert dates(items) == ["2024-12-01", "2024-12-02", "2024-12-03", "2024-12-04"]
    assert "closest together" in notes(items)[0]


def test_lines_that_only_run_forward_one_way_decide() -> None:
    # Day first, 10 December, 11 December, 12 January would run back in time.
    lines = ["10/12/23, 09:00 - A: x", "11/12/23, 09:00 - A: y", "12/1/23, 09:00 - A: z"]
    items = parse("\n".join(lines), me="A")
    assert dates(items) == ["2023-10-12", "2023-11-12", "2023-12-01"]
    assert "forward" in notes(items)[0]


def test_german_clock_words_mean_day_first_for_monthly_messages() -> None:
    lines = [f"3.{m}.24, 2:00 nachm. - Verein: Beitrag für Monat {m}" for m in (1, 2, 3)]
    items = parse("\n".join(lines))
    assert dates(items) == ["2024-01-03", "2024-02-03", "2024-03-03"]
    assert "locale" in notes(items)[0]


def test_a_day_above_12_decides_without_a_note() -> None:
    items = parse("1/2/24, 10:00 - A: x\n13/2/24, 10:00 - A: y")
    assert dates(items) == ["2024-02-01", "2024-02-13"]
    assert notes(items) == []


def test_a_two_digit_year_first_is_read_when_no_other_order_can_be() -> None:
    items = parse("24. 12. 3. 오후 2:05 - 민지: 안녕하세요\n24. 12. 4. 오전 9:10 - 민지: 네")
    found = interactions(items)
    assert [item.occurred_at for item in found] == [
        datetime(2024, 12, 3, 14, 5, tzinfo=UTC),
        datetime(2024, 12, 4, 9, 10, tzinfo=UTC),
    ]


def test_a_day_of_one_date_the_same_either_way_needs_no_note() -> None:
    assert notes(parse("5/5/24, 10:00 PM - A: x\n5/5/24, 10:01 PM - B: y", me="A")) == []


# --- system lines and who said what --------------------------------------------------------------


@pytest.mark.parametrize(
    "notice",
    [
        "Messages and calls are end-to-end encrypted. No one outside of this chat can read them.",
        "Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt.",
        "Berichten en oproepen worden end-to-end versleuteld.",
        "Les messages et les appels sont chiffrés de bout en bout.",
        "Los mensajes y las llamadas están cifrados de extremo a extremo.",
        "Viestit ja puhelut ovat päästä päähän salattuja.",
        "Mesajlar ve aramalar uçtan uca şifrelidir.",
        "Сообщения и звонки защищены сквозным шифрованием.",
    ],
)
def test_the_encryption_notice_under_a_groups_name_is_a_system_line(notice: str) -> None:
    text = (
        f"[14/06/2023, 18:02:11] Buurtclub: {notice}\n"
        "[14/06/2023, 18:05:40] Ahmed: Welkom!\n"
        "[14/06/2023, 18:06:00] Femke: Dank je\n"
        "[14/06/2023, 18:07:00] Sanne: Hoi allemaal"
    )
    found = interactions(parse(text))
    assert found[0].direction == "system"
    assert {item.thread_title for item in found} == {"Buurtclub"}
    assert {item.hints.chat_kind for item in found} == {"group"}
    assert [item.sender.name for item in found[1:] if item.sender] == ["Ahmed", "Femke", "Sanne"]


def test_a_person_asking_about_encryption_still_speaks() -> None:
    text = (
        "14/06/2023, 18:02 - Anna: Is this chat end-to-end encrypted?\n"
        "14/06/2023, 18:05 - Sanne: Yes it is"
    )
    found = interactions(parse(text, me="Sanne"))
    assert [item.direction for item in found] == ["in", "out"]
    assert {item.thread_title for item in found} == {"Anna"}


@pytest.mark.parametrize(
    "line",
    [
        "Your security code with Anna changed. Tap to learn more.",
        'Anna changed the subject from "Oud" to "Buurtclub"',
        'Ahmed created group "Buurtclub"',
        "Anna changed their phone number to a new number. Tap to message or add the new number.",
        "Anna added Femke",
        "Femke left",
    ],
)
def test_android_event_lines_are_system_lines(line: str) -> None:
    text = f"14/06/2023, 18:02 - {line}\n14/06/2023, 18:05 - Anna: Hallo"
    first = interactions(parse(text, chat_name="Buurtclub"))[0]
    assert first.direction == "system" and first.sender is not None
    assert first.sender.name == "Buurtclub"


def test_a_group_without_a_file_name_takes_its_latest_subject() -> None:
    text = (
        '14/06/2023, 18:02 - Ahmed created group "Straat"\n'
        '15/06/2023, 18:02 - Anna changed the subject from "Straat" to "Buurtclub"\n'
        "15/06/2023, 18:05 - Anna: Hallo"
    )
    assert {item.thread_title for item in interactions(parse(text))} == {"Buurtclub"}


@pytest.mark.parametrize(
    "media",
    [
        "<Media omitted>",
        "‹Médias omis›",
        "<Medien ausgeschlossen>",
        "<Media weggelaten>",
        "<Multimedia omitido>",
        f"{L}image omitted",
        f"{L}Bild weggelassen",
    ],
)
def test_media_left_out_keeps_its_author(media: str) -> None:
    text = f"14/06/2023, 18:02 - Anna: {media}\n14/06/2023, 18:05 - Sanne: Mooi!"
    [omitted, reply] = interactions(parse(text, me="Sanne"))
    assert omitted.direction == "in" and omitted.extras["media_omitted"] is True
    assert omitted.sender is not None and omitted.sender.name == "Anna"
    assert reply.direction == "out"


def test_an_attached_file_line_keeps_its_author() -> None:
    text = (
        f"[14/06/2023, 18:02:00] Anna: {L}<attached: 00000003-PHOTO-2023-06-14-18-02-00.jpg>\n"
        "[14/06/2023, 18:05:00] Sanne: Mooi!"
    )
    [photo, _] = interactions(parse(text, me="Sanne"))
    assert photo.direction == "in" and photo.sender is not None and photo.sender.name == "Anna"


# --- the chat's name -----------------------------------------------------------------------------

PRIVATE = "14/06/2023, 18:02 - Garage Smit: Auto is klaar\n14/06/2023, 18:05 - Sanne: Top!"


@pytest.mark.parametrize("folder", ["export", "WhatsApp Chat - Backup 2023", "Sanne's phone"])
def test_a_one_to_one_chat_is_named_after_the_other_participant(folder: str) -> None:
    found = interactions(parse(PRIVATE, me="Sanne", fallback_name=folder))
    assert {item.thread_title for item in found} == {"Garage Smit"}
    assert [item.direction for item in found] == ["in", "out"]


def test_an_ios_chat_is_named_after_whom_the_encryption_notice_names() -> None:
    text = (
        f"[14/06/2023, 18:01:00] Garage Smit: {L}Messages and calls are end-to-end encrypted.\n"
        "[14/06/2023, 18:02:00] Garage Smit: Auto is klaar\n"
        "[14/06/2023, 18:05:00] Sanne: Top!"
    )
    found = interactions(parse(text, fallback_name="export"))
    assert {item.thread_title for item in found} == {"Garage Smit"}
    assert [item.direction for item in found] == ["system", "in", "out"]


def test_an_ios_chat_where_only_i_wrote_is_named_after_the_contact() -> None:
    text = (
        f"[14/06/2023, 18:01:00] Garage Smit: {L}Messages and calls are end-to-end encrypted.\n"
        "[14/06/2023, 18:05:00] Sanne: Is the car ready?"
    )
    found = interactions(parse(text, fallback_name="export"))
    assert {item.thread_title for item in found} == {"Garage Smit"}
    assert [item.direction for item in found] == ["system", "out"]


def test_a_chat_whose_other_side_cannot_be_told_says_so() -> None:
    items = parse(PRIVATE, fallback_name="export")
    assert {item.thread_title for item in interactions(items)} == {"export"}
    [note] = notes(items)
    assert "--me" in note and "Garage Smit" in note


def test_keys_of_a_chat_named_by_its_file_do_not_change_with_me() -> None:
    def keys(me: str | None) -> list[str]:
        found = parse(PRIVATE, me=me, chat_name="Garage Smit")
        return [item.dedup_key for item in found if isinstance(item, Interaction)]

    assert keys(None) == keys("Sanne")
