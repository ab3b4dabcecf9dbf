"""Timelines (order, keyset paging, filters), item details and full-text search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.support import mail, options
from vault import queries
from vault.errors import UsageError
from vault.ingest import Ingestor
from vault.queries import TimelineFilter
from vault.records import Attachment
from vault.search import parse_query, search
from vault.store import Store

AMSTERDAM_SUMMER = timezone(timedelta(hours=2))


@pytest.fixture
def klm(store: Store) -> int:
    base = datetime(2023, 6, 1, 9, tzinfo=AMSTERDAM_SUMMER)
    items = [
        mail(
            n,
            "KLM <info@klm.com>",
            when=base + timedelta(days=n),
            title=f"Trip {n}",
            body=f"Your trip number {n} to Málaga",
        )
        for n in range(120)
    ]
    Ingestor(store, options(), "test", "t").run(items)
    with store.read() as conn:
        return queries.find_company(conn, "KLM")[0]


def test_timeline_is_newest_first_and_keeps_the_sources_offset(store: Store, klm: int) -> None:
    with store.read() as conn:
        rows = queries.timeline(conn, TimelineFilter(klm), limit=3)
    assert [r.title for r in rows] == ["Trip 119", "Trip 118", "Trip 117"]
    assert rows[0].occurred_at.utcoffset() == timedelta(hours=2)
    assert rows[0].to_json()["occurred_at"].endswith("+02:00")


def test_keyset_pages_cover_everything_once_in_order(store: Store, klm: int) -> None:
    seen: list[int] = []
    key = None
    with store.read() as conn:
        while True:
            page = queries.timeline(conn, TimelineFilter(klm), limit=25, after_key=key)
            if not page:
                break
            seen += [r.id for r in page]
            last = page[-1]
            key = (int(last.occurred_at.timestamp()), last.id)
    assert len(seen) == 120 and len(set(seen)) == 120
    assert seen == sorted(seen, reverse=True)


def test_items_at_the_same_second_page_without_loss(store: Store) -> None:
    when = datetime(2024, 5, 5, 12, tzinfo=UTC)
    Ingestor(store, options(), "test", "t").run([mail(n, when=when) for n in range(10)])
    with store.read() as conn:
        company = queries.find_company(conn, "klm.com")[0]
        first = queries.timeline(conn, TimelineFilter(company), limit=4)
        key = (int(when.timestamp()), first[-1].id)
        rest = queries.timeline(conn, TimelineFilter(company), limit=100, after_key=key)
    assert len(first) + len(rest) == 10


def test_timeline_date_and_channel_filters(store: Store, klm: int) -> None:
    since = int(datetime(2023, 7, 1, tzinfo=UTC).timestamp())
    until = int(datetime(2023, 7, 11, tzinfo=UTC).timestamp())
    with store.read() as conn:
        rows = queries.timeline(conn, TimelineFilter(klm, since=since, until=until), limit=100)
        chats = queries.timeline(conn, TimelineFilter(klm, channel="chat"))
    assert len(rows) == 10 and chats == []


def test_show_has_body_recipients_attachments_and_thread_case(store: Store) -> None:
    first = mail(1, title="Complaint", thread="root@x")
    reply = mail(2, title="Re: Complaint", thread="root@x")
    reply.attachments.append(Attachment("case.pdf", "application/pdf", b"%PDF-1.4"))
    Ingestor(store, options(), "test", "t").run([first, reply])
    with store.read() as conn:
        company = queries.find_company(conn, "KLM")[0]
        newest = queries.timeline(conn, TimelineFilter(company))[0]
        item = queries.show(conn, newest.id)
        with pytest.raises(UsageError, match="no item"):
            queries.show(conn, 9999)
    assert item["title"] == "Re: Complaint"
    assert item["attachments"] == [{"filename": "case.pdf", "mime": "application/pdf", "size": 8}]
    assert item["recipients"] == ["me@example.org"]
    assert len(item["case"]) == 1 and item["case"][0] != newest.id


def test_search_words_phrases_prefixes_and_exclusions(store: Store) -> None:
    items = [
        mail(1, "KLM <a@klm.com>", body="Your boarding pass for Amsterdam"),
        mail(2, "NS <a@ns.nl>", body="Pass the boarding of the train"),
        mail(3, "Bol <a@bol.com>", body="Refund for your order"),
        mail(4, "Bol <a@bol.com>", body="Refunded: weekly newsletter"),
    ]
    Ingestor(store, options(), "test", "t").run(items)
    with store.read() as conn:

        def titles(query: str, **kw: str) -> list[str]:
            return [r["title"] for r in search(conn, query, **kw)]

        assert titles('"boarding pass"') == ["Mail 1"]
        assert titles("boarding pass") == ["Mail 2", "Mail 1"]  # newest first
        assert titles("refund*") == ["Mail 4", "Mail 3"]
        assert titles("refund* -newsletter") == ["Mail 3"]
        assert titles("boarding company:NS") == ["Mail 2"]
        assert titles("boarding", company="klm") == ["Mail 1"]
        assert titles("amsterdam OR train") == ["Mail 2", "Mail 1"]
        assert titles("after:2024-01-01 before:2024-01-01T16:00 channel:email") == [
            "Mail 3",
            "Mail 2",
            "Mail 1",
        ]
        hit = search(conn, "amsterdam")[0]
        assert "«Amsterdam»" in hit["snippet"] and hit["company"]["name"] == "KLM"


def test_search_accepts_any_typed_text_without_fts_syntax_errors(store: Store) -> None:
    Ingestor(store, options(), "test", "t").run([mail(1, body='Order "AB-12" (NEAR) ok')])
    with store.read() as conn:
        for query in ['"AB-12', "NEAR(", "AND OR NOT", 'a"b', "*", "AB-12", "(NEAR)"]:
            search(conn, query, channel="email")  # must not raise


def test_search_with_nothing_to_look_for_is_a_usage_error(store: Store) -> None:
    with store.read() as conn, pytest.raises(UsageError):
        search(conn, "   ")
    with pytest.raises(UsageError, match="unknown channel"):
        parse_query("channel:pigeon")
    with pytest.raises(UsageError, match="only excluded"):
        parse_query("-spam")


def test_a_case_gathers_mail_and_chat_naming_its_reference_numbers(store: Store) -> None:
    from vault.records import Booking

    order = mail(1, "Coolblue <a@coolblue.nl>", title="Bedankt voor je bestelling 9010944335")
    order.bookings.append(Booking("order", "9010944335"))
    complaint = mail(
        2,
        "Me <me@example.org>",
        title="Wasmachine lekt – bestelling 9010944335",
        to="klantenservice@coolblue.nl",
        direction="out",
    )
    reply = mail(3, "Coolblue <k@coolblue.nl>", title="Re: Wasmachine lekt [CB-65609899]")
    chat = mail(4, "Coolblue <k@coolblue.nl>", title="Hoi", body="Je case CB-65609899 is opgelost")
    chat.channel = "chat"
    chat.occurred_at = datetime(2026, 3, 1, tzinfo=UTC)  # two years on: another index period
    unrelated = mail(5, "Coolblue <a@coolblue.nl>", title="Nieuwsbrief 2024-05")
    Ingestor(store, options("me@example.org"), "test", "t").run(
        [order, complaint, reply, chat, unrelated]
    )
    with store.read() as conn:
        hits = search(conn, "channel:email") + search(conn, "channel:chat")
        ids = {r["title"]: r["id"] for r in hits}
        assert set(queries.show(conn, ids["Wasmachine lekt – bestelling 9010944335"])["case"]) == {
            ids["Bedankt voor je bestelling 9010944335"]
        }
        assert set(queries.show(conn, ids["Re: Wasmachine lekt [CB-65609899]"])["case"]) == {
            ids["Hoi"]
        }
