"""The timeline's model without its widget: what a filter shows, which pages are read, when.

A real vault, no app: the model's reads run here on the test's thread, as the view's workers
run them on theirs, and their results are handed back as the view does.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import mail, options
from tui.timeline_model import NO_DATES, PAGE_ROWS, DateFilter, TimelineModel
from vault import queries
from vault.errors import UsageError
from vault.ingest import Ingestor
from vault.queries import TimelineFilter
from vault.records import Interaction, Party
from vault.store import Store

SHOP = "Shop <info@shop.example>"


def never() -> bool:
    return False


@pytest.fixture
def shop(store: Store) -> int:
    """350 mails from one shop, one a day from 1 January 2023, and two chat messages."""
    base = datetime(2023, 1, 1, 9, tzinfo=UTC)
    items = [mail(n, SHOP, when=base + timedelta(days=n)) for n in range(350)]
    items += [
        Interaction(
            channel="chat",
            direction="in",
            occurred_at=base + timedelta(days=40 + n, hours=2),
            title=f"Hoi {n}",
            body="Hoi",
            source_ref=f"chat/{n}",
            dedup_key=f"chat:{n}",
            sender=Party("Shop", "info@shop.example"),
        )
        for n in range(2)
    ]
    Ingestor(store, options(), "test", "t").run(items)
    with store.read() as conn:
        return queries.find_company(conn, "shop.example")[0]


def newest_first(store: Store, scope: TimelineFilter) -> list[int]:
    with store.read() as conn:
        return [r.id for r in queries.timeline(conn, scope, limit=10_000)]


def opened(
    store: Store, company: int, *, channel: str | None = None, dates: DateFilter = NO_DATES
) -> TimelineModel:
    """A model showing ``company`` with its first screen read, as the app has it at first paint."""
    model = TimelineModel(store, UTC)
    scope = model.open(company, "Shop", channel=channel, dates=dates)
    read = model.read_opening(model.token, scope, None, None, never)
    assert read is not None and model.index_read(read)
    return model


def loaded_ids(model: TimelineModel, rows: range) -> list[int]:
    """The ids of the items at ``rows`` whose page has been read."""
    return [item.id for item in map(model.item_at, rows) if item is not None]


def fetch(model: TimelineModel, page: int) -> None:
    """What drawing a line of ``page`` does: want it, then read what is due."""
    model.want(page)
    request = model.pages_to_fetch()
    if request is not None:
        assert model.pages_read(model.read_pages(request, never))


def test_the_model_loads_without_textual() -> None:
    code = "import sys, tui.timeline_model; print('textual' in sys.modules)"
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert shown.strip() == "False"


def test_a_big_timeline_shows_its_first_screen_before_its_full_index(
    store: Store, shop: int
) -> None:
    expected = newest_first(store, TimelineFilter(shop))
    model = opened(store, shop)
    assert model.index is not None and not model.index.complete
    assert model.row_count == 352 and not model.reading
    assert loaded_ids(model, range(3)) == expected[:3]

    # Further pages wait for the full index: a partial one has no anchors down there.
    fetch(model, 2)
    assert model.item_at(2 * PAGE_ROWS) is None

    read = model.read_full_index(model.token, model.index)
    assert model.index_read(read) and model.index.complete
    fetch(model, 2)
    assert loaded_ids(model, range(2 * PAGE_ROWS, 352)) == expected[2 * PAGE_ROWS :]


def test_a_wanted_page_brings_its_neighbours_in_one_read(store: Store, shop: int) -> None:
    model = opened(store, shop)
    assert model.index is not None
    assert model.index_read(model.read_full_index(model.token, model.index))
    assert model.want(2) is True
    assert model.want(2) is False  # one fetch is due already: it takes this page too
    request = model.pages_to_fetch()
    assert request is not None and request.pages == [1, 2, 3]
    assert model.pages_to_fetch() is None  # being read: not asked twice
    assert model.pages_read(model.read_pages(request, never))
    assert model.item_at(351) is not None and model.item_at(150) is not None


def test_results_for_a_company_no_longer_shown_are_dropped(store: Store, shop: int) -> None:
    model = TimelineModel(store, UTC)
    scope = model.open(shop, "Shop")
    stale = model.read_opening(model.token, scope, None, None, never)
    model.open(shop, "Shop", channel="chat")
    assert stale is not None and not model.index_read(stale)
    assert model.index is None and model.reading and model.row_count == 0


def test_a_cancelled_opening_hands_back_nothing(store: Store, shop: int) -> None:
    model = TimelineModel(store, UTC)
    scope = model.open(shop, "Shop")
    assert model.read_opening(model.token, scope, None, None, lambda: True) is None


def test_reopening_at_an_item_reads_its_page_and_places_the_cursor(store: Store, shop: int) -> None:
    expected = newest_first(store, TimelineFilter(shop))
    model = TimelineModel(store, UTC)
    scope = model.open(shop, "Shop")
    read = model.read_opening(model.token, scope, expected[250], 352, never)
    assert read is not None and read.cursor == 250 and read.index.complete
    assert model.index_read(read)
    item = model.item_at(250)
    assert item is not None and item.id == expected[250]


def test_each_month_has_a_separator_line_above_its_first_item(store: Store, shop: int) -> None:
    model = opened(store, shop)
    assert model.index is not None
    assert model.index_read(model.read_full_index(model.token, model.index))
    months = model.index.months
    assert model.line_count == 352 + len(months) == 352 + 12
    assert model.row_of_line(0) is None and model.line_of_row(0) == 1
    newest = model.month_at(0)
    assert newest is not None and (newest[0].year, newest[0].month, newest[1]) == (2023, 12, True)
    for row in range(model.row_count):
        assert model.row_of_line(model.line_of_row(row)) == row
    first_of_november = months[1].first
    line = model.line_of_row(first_of_november)
    assert model.lines_of_row(first_of_november) == (line - 1, line)
    assert model.row_of_line(line - 1) is None


def test_the_last_month_of_a_first_screen_is_not_counted_yet(store: Store, shop: int) -> None:
    model = opened(store, shop)
    assert model.index is not None
    last = model.line_of_row(PAGE_ROWS - 1)
    assert model.month_at(last) == (model.index.months[-1], False)


def test_channels_cycle_most_used_first_then_all(store: Store, shop: int) -> None:
    model = TimelineModel(store, UTC)
    model.open(shop, "Shop")
    counting = model.counts_wanted()
    assert counting == TimelineFilter(shop)
    assert model.channels_counted(counting, model.read_channels(counting))
    assert model.channels == {"email": 350, "chat": 2}
    shown = []
    for _ in range(3):
        channel = model.next_channel()
        model.open(shop, "Shop", channel=channel)
        assert model.counts_wanted() is None  # the same company and dates: counts kept
        shown.append(model.channel)
    assert shown == ["email", "chat", None]


def test_new_dates_or_a_changed_vault_count_the_channels_again(store: Store, shop: int) -> None:
    model = TimelineModel(store, UTC)
    model.open(shop, "Shop")
    old = model.counts_wanted()
    assert old is not None
    march = DateFilter.parse("2023-03", "2023-03")
    model.open(shop, "Shop", dates=march)
    counting = model.counts_wanted()
    assert counting == TimelineFilter(shop, since=march.since, until=march.until)
    assert not model.channels_counted(old, {"email": 1})  # counts for the old dates arrive late
    assert model.channels == {}
    model.forget_counts()
    assert model.counts_wanted() == counting


def test_dates_narrow_the_index_and_ignore_the_companys_total(store: Store, shop: int) -> None:
    february = DateFilter.parse("2023-02", "2023-02")
    model = TimelineModel(store, UTC)
    scope = model.open(shop, "Shop", dates=february)
    # The company list's total is for every date: it must not size a dated timeline.
    read = model.read_opening(model.token, scope, None, 352, never)
    assert read is not None and model.index_read(read)
    assert model.row_count == 28 + 2  # the mails of February and both chat messages
    assert loaded_ids(model, range(model.row_count)) == newest_first(store, scope)


@pytest.mark.parametrize(
    ("start", "end", "error"),
    [
        ("soon", "", "From: 'soon' is not a date"),
        ("", "2023-13", "To: '2023-13' is not a date"),
        ("2023-06", "2023-01", "2023-06 is after 2023-01"),
    ],
)
def test_a_date_range_that_is_not_one_says_why(start: str, end: str, error: str) -> None:
    with pytest.raises(UsageError, match=error):
        DateFilter.parse(start, end)


def test_a_date_range_reads_inclusively_and_labels_open_sides() -> None:
    june = DateFilter.parse(" 2023-06 ", "2023-06")
    assert june.since == int(datetime(2023, 6, 1, tzinfo=UTC).timestamp())
    assert june.until == int(datetime(2023, 7, 1, tzinfo=UTC).timestamp())
    assert june.label == "2023-06 → 2023-06" and june.active
    assert DateFilter.parse("", "2023").label == "… → 2023"
    assert not NO_DATES.active
