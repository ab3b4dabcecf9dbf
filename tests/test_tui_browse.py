"""The read queries behind the app's browsing: random access into timelines, months, threads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest

from tests.support import mail, options
from vault import browse, queries
from vault.ingest import Ingestor
from vault.queries import TimelineFilter
from vault.records import Interaction, Party
from vault.store import Store

AMSTERDAM_WINTER = timezone(timedelta(hours=1))


@pytest.fixture
def shop(store: Store) -> int:
    """450 mails from one shop over ~15 months, four of them at the very same second."""
    base = datetime(2023, 1, 1, 9, tzinfo=UTC)
    items = [mail(n, "Shop <info@shop.example>", when=base + timedelta(days=n)) for n in range(446)]
    same_second = base + timedelta(days=200, hours=3)
    items += [
        mail(1000 + n, "Shop <info@shop.example>", when=same_second, title=f"Tie {n}")
        for n in range(4)
    ]
    Ingestor(store, options(), "test", "t").run(items)
    with store.read() as conn:
        return queries.find_company(conn, "shop.example")[0]


def _all_ids(store: Store, company: int) -> list[int]:
    with store.read() as conn:
        return [r.id for r in queries.timeline(conn, TimelineFilter(company), limit=10_000)]


def test_any_page_of_the_index_matches_the_full_timeline(store: Store, shop: int) -> None:
    expected = _all_ids(store, shop)
    with store.read() as conn:
        index = browse.timeline_index(conn, TimelineFilter(shop), zone=UTC)
        assert len(index) == 450 and index.complete
        for start in (0, 1, 99, 100, 245, 246, 247, 248, 249, 400, 449):
            page = browse.timeline_page(conn, index, start, 7)
            assert [r.id for r in page] == expected[start : start + 7], start


def test_months_partition_the_timeline_newest_first(store: Store, shop: int) -> None:
    with store.read() as conn:
        index = browse.timeline_index(conn, TimelineFilter(shop), zone=UTC)
    months = index.months
    assert (months[0].year, months[0].month) == (2024, 3)
    assert (months[-1].year, months[-1].month) == (2023, 1)
    assert months[-1].count == 31
    assert sum(m.count for m in months) == 450
    assert all(a.first + a.count == b.first for a, b in pairwise(months))


def test_months_follow_the_viewers_zone(store: Store) -> None:
    # 23:30 UTC on 31 January is already February in Amsterdam.
    late = datetime(2024, 1, 31, 23, 30, tzinfo=UTC)
    Ingestor(store, options(), "test", "t").run(
        [mail(1, when=late), mail(2, when=late - timedelta(days=3))]
    )
    with store.read() as conn:
        company = queries.find_company(conn, "KLM")[0]
        in_utc = browse.timeline_index(conn, TimelineFilter(company), zone=UTC).months
        in_amsterdam = browse.timeline_index(
            conn, TimelineFilter(company), zone=AMSTERDAM_WINTER
        ).months
    assert [(m.month, m.count) for m in in_utc] == [(1, 2)]
    assert [(m.month, m.count) for m in in_amsterdam] == [(2, 1), (1, 1)]


def test_first_screen_is_partial_but_exact(store: Store, shop: int) -> None:
    expected = _all_ids(store, shop)
    with store.read() as conn:
        start, rows = browse.timeline_start(conn, TimelineFilter(shop), zone=UTC, limit=100)
        full = browse.timeline_index(conn, TimelineFilter(shop), zone=UTC)
        assert [r.id for r in rows] == expected[:100]
        assert len(start) == 450 and start.known == 100 and not start.complete
        assert start.negated == full.negated[:100]
        assert browse.timeline_page(conn, start, 300, 10) == []  # needs the full index
        assert browse.timeline_page(conn, start, 50, 3) == browse.timeline_page(conn, full, 50, 3)


def test_channel_filter_indexes_only_that_channel(store: Store, shop: int) -> None:
    chat = Interaction(
        channel="chat",
        direction="in",
        occurred_at=datetime(2024, 5, 1, tzinfo=UTC),
        title="Hoi",
        body="Hoi",
        source_ref="chat/1",
        dedup_key="chat:1",
        sender=Party("Shop", "info@shop.example"),
    )
    Ingestor(store, options(), "test", "chat").run([chat])
    with store.read() as conn:
        index = browse.timeline_index(conn, TimelineFilter(shop, "chat"), zone=UTC)
        assert len(index) == 1
        assert [r.title for r in browse.timeline_page(conn, index, 0, 5)] == ["Hoi"]
        assert browse.channel_counts(conn, TimelineFilter(shop)) == {"email": 450, "chat": 1}


def test_position_in_timeline_counts_newer_items(store: Store, shop: int) -> None:
    expected = _all_ids(store, shop)
    with store.read() as conn:
        for position in (0, 17, 247, 449):
            assert (
                browse.position_in_timeline(conn, TimelineFilter(shop), expected[position])
                == position
            )
        assert browse.position_in_timeline(conn, TimelineFilter(shop, "chat"), expected[3]) is None


def test_thread_context_is_the_messages_around_one(store: Store) -> None:
    base = datetime(2024, 2, 1, 10, tzinfo=UTC)
    items = [
        Interaction(
            channel="chat",
            direction="in" if n % 2 else "out",
            occurred_at=base + timedelta(minutes=n),
            title=f"Bericht {n}",
            body=f"Bericht {n}\x1b[31m",
            source_ref=f"chat/{n}",
            dedup_key=f"chat:lotte:{n}",
            sender=Party("Lotte", "lotte", kind="chat_handle"),
            thread_key="chat:lotte",
        )
        for n in range(20)
    ]
    Ingestor(store, options(), "test", "chat").run(items)
    with store.read() as conn:
        company = queries.find_company(conn, "Lotte")[0]
        rows = queries.timeline(conn, TimelineFilter(company), limit=50)
        middle = next(r for r in rows if r.title == "Bericht 10")
        context = browse.thread_context(conn, middle.id, before=3, after=2)
    assert [m.title for m in context] == [f"Bericht {n}" for n in range(7, 13)]
    assert all("\x1b" not in m.body for m in context)


def test_monthly_activity_ends_at_the_vaults_newest_month(store: Store, shop: int) -> None:
    with store.read() as conn:
        activity = browse.monthly_activity(conn, months=12)
    assert activity.months[-1] == (2024, 3) and activity.months[0] == (2023, 4)
    assert activity.counts[shop][-1] == 21  # 1-21 March 2024
    assert sum(activity.counts[shop]) == 450 - 31 - 28 - 31
