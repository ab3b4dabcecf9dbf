"""The terminal app, driven headless with Textual's pilot on a small fixed vault.

The vault is built once per module through the real ingest path (KLM with a flight booking,
bol.com, a chat with Lotte, and a sender with a hostile subject). Times are shown in UTC so
the snapshots do not depend on the machine's zone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from textual.binding import Binding
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, Static

from tests.support import PASSPHRASE, mail, options
from tests.tui_support import SIZE, drive, lines, make_app, plain, settle, workers_done
from tui.app import KluisApp, help_sections
from tui.company_list import CompanyList
from tui.detail import DetailPane, render_item
from tui.help import HelpScreen
from tui.main_screen import MainScreen
from tui.search import TYPING_DELAY, SearchResults, SearchScreen
from tui.timeline import Timeline
from tui.virtual_list import VirtualList
from vault.ingest import Ingestor
from vault.records import Attachment, Booking, Interaction, Party, Place
from vault.store import Store
from vault.unlock import create_vault

BASE = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
HOSTILE_TITLE = "[bold red]pwned[/] \x1b]52;c;aGVsbG8=\x07now \x1b[2Jgone"
HOSTILE_BODY = "[link=https://evil.example]click[/link] \x1b[31mred\x1b[0m \x9b2J"


def _chat(n: int) -> Interaction:
    incoming = n % 2 == 0
    lotte = Party("Lotte Jansen", "lotte", kind="chat_handle")
    me = Party("Me", "me", kind="chat_handle")
    text = f"Bericht {n}: zin in koffie?" if incoming else f"Bericht {n}: ja, leuk!"
    return Interaction(
        channel="chat",
        direction="in" if incoming else "out",
        occurred_at=BASE - timedelta(days=2, minutes=30 - n),
        title=text,
        body=text,
        source_ref=f"chat/lotte/{n}",
        dedup_key=f"chat:lotte:{n}",
        sender=lotte if incoming else me,
        recipients=[me if incoming else lotte],
        thread_key="chat:lotte",
        thread_title="Lotte Jansen",
    )


def fixture_items() -> list[Interaction]:
    """The fixed vault's content."""
    klm = [
        mail(
            n,
            "KLM <noreply@klm.com>",
            when=BASE - timedelta(days=4 * n, hours=n % 5),
            title=f"Flying Blue nieuws {n}",
            body=f"Beste reiziger,\n\nDit is nieuwsbrief {n} van KLM.\n\nGroet, KLM",
        )
        for n in range(1, 40)
    ]
    flight = mail(
        0,
        "KLM <noreply@klm.com>",
        when=BASE,
        title="Je boekingsbevestiging ABC123: Amsterdam – Lissabon",
        body="Beste Sanne,\n\nBedankt voor je boeking. Je boarding pass zit in de bijlage.",
    )
    flight.bookings = [
        Booking(
            kind="flight",
            reference="ABC123",
            number="KL1693",
            start=datetime(2024, 4, 12, 7, 5, tzinfo=UTC),
            end=datetime(2024, 4, 12, 10, 0, tzinfo=UTC),
            origin=Place("Amsterdam", "AMS"),
            destination=Place("Lissabon", "LIS"),
            travellers=["Sanne de Vries"],
            seat="12A",
            price=Decimal("189.00"),
            currency="EUR",
        )
    ]
    flight.attachments = [Attachment("boarding-pass.pdf", "application/pdf", b"%PDF-1.4 x" * 300)]
    bol = [
        mail(
            100 + n,
            "bol.com <service@bol.com>",
            when=BASE - timedelta(days=9 * n + 1, hours=3),
            title=f"Je bestelling {n} is onderweg",
            body="Je pakket komt morgen.",
        )
        for n in range(8)
    ]
    order = mail(
        150,
        "bol.com <service@bol.com>",
        when=BASE - timedelta(days=20),
        title="Bestelling 4021 geplaatst",
        body="Bedankt voor je bestelling.",
    )
    order.channel = "order"
    hostile = mail(
        300,
        "Evil Shop <x@evil.example>",
        when=BASE - timedelta(days=40),
        title=HOSTILE_TITLE,
        body=HOSTILE_BODY,
    )
    return [flight, *klm, *bol, order, hostile, *(_chat(n) for n in range(12))]


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The fixed vault, built once for the module."""
    store, _ = create_vault(Path(tmp_path_factory.mktemp("tui")) / "vault", PASSPHRASE)
    Ingestor(store, options("me@example.org", "me"), "test", "fixture").run(fixture_items())
    yield store
    store.close()


async def searched(pilot: Pilot[Any]) -> None:
    """Wait until the typed query has run, then settle.

    Polled rather than slept: on a loaded machine the typing delay's timer fires late.
    """
    await pilot.pause(TYPING_DELAY + 0.05)
    for _ in range(200):
        await workers_done(pilot)
        screen = pilot.app.screen
        if not (isinstance(screen, SearchScreen) and screen.busy):
            break
        await pilot.pause(0.05)
    await settle(pilot)


def company_id(app: KluisApp, name: str) -> int:
    """The id of the company the list calls ``name``."""
    return next(e.id for e in app.company_rows() if e.name == name)


def screen_lines(widget: Widget) -> str:
    """What ``widget`` puts on the terminal, as text."""
    strips = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return "\n".join(strip.text.rstrip() for strip in strips)


# ---- the main screen ------------------------------------------------------------------------


def test_companies_are_listed_most_recent_contact_first(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        companies = app.main.companies
        assert [e.name for e in companies.shown] == ["KLM", "bol.com", "Lotte Jansen", "Evil Shop"]
        first = lines(companies)[0]
        assert first.startswith("■ KLM") and " 40 " in first
        assert app.focused is companies

    drive(vault, story)


def test_highlighted_company_shows_its_timeline_under_month_separators(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        timeline = app.timeline
        assert timeline.company_name == "KLM" and timeline.row_count == 40
        shown = lines(timeline)
        assert shown[0].startswith("── March 2024")
        assert "01 Mar 09:30 ✉ ← Je boekingsbevestiging ABC123" in shown[1]
        assert any(line.startswith("── February 2024") for line in shown)
        # The detail pane previews the item under the cursor.
        assert app.main.detail.item is not None
        assert app.main.detail.item["title"].startswith("Je boekingsbevestiging")

    drive(vault, story)


def test_down_in_the_company_list_switches_the_timeline(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("down")
        await settle(pilot)
        assert app.timeline.company_name == "bol.com"
        assert app.timeline.row_count == 9

    drive(vault, story)


def test_typing_filters_companies_and_escape_clears(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        companies = app.main.companies
        await pilot.press("l", "o", "t")
        await settle(pilot)
        assert [e.name for e in companies.shown] == ["Lotte Jansen"]
        assert app.timeline.company_name == "Lotte Jansen"
        await pilot.press("backspace", "backspace", "backspace", "b", "o", "l")
        assert [e.name for e in companies.shown] == ["bol.com"]
        await pilot.press("escape")
        assert len(companies.shown) == 4 and companies.filter == ""
        await pilot.press("x", "y", "z", "z")
        assert companies.shown == [] and "No company matches" in lines(companies)[1]

    drive(vault, story)


def test_filter_matches_mail_domains(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        for key in "evil.ex":
            await pilot.press(key)
        assert [e.name for e in app.main.companies.shown] == ["Evil Shop"]

    drive(vault, story)


def test_ctrl_s_cycles_the_company_order(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        companies = app.main.companies
        await pilot.press("ctrl+s")
        assert companies.sort == "count"
        assert [e.name for e in companies.shown] == ["KLM", "Lotte Jansen", "bol.com", "Evil Shop"]
        await pilot.press("ctrl+s")
        assert [e.name for e in companies.shown] == ["bol.com", "Evil Shop", "KLM", "Lotte Jansen"]
        assert companies.current_id == company_id(app, "KLM")  # the cursor kept its company
        await pilot.press("ctrl+s")
        assert companies.sort == "recent"

    drive(vault, story)


def test_enter_opens_the_item_with_its_booking_card(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("enter")  # into the timeline
        assert app.focused is app.timeline
        await pilot.press("enter")  # open the item
        await settle(pilot)
        detail = app.main.detail
        assert app.focused is detail
        assert detail.item is not None
        text = plain(render_item(detail.item, [], UTC))
        assert "Flight KL1693 · confirmed" in text
        assert "AMS → LIS" in text
        assert "Fri 12 Apr 2024, 07:05 (+00:00)" in text
        assert "boarding-pass.pdf" in text and "application/pdf" in text
        assert "Bedankt voor je boeking" in text
        await pilot.press("escape")
        assert app.focused is app.timeline
        await pilot.press("escape")
        assert app.focused is app.main.companies

    drive(vault, story)


def test_moving_the_timeline_cursor_previews_each_item(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("tab", "down", "down")
        await settle(pilot)
        item = app.main.detail.item
        assert item is not None and item["title"] == "Flying Blue nieuws 2"
        await pilot.press("end")
        await settle(pilot)
        item = app.main.detail.item
        assert item is not None and item["title"] == "Flying Blue nieuws 39"

    drive(vault, story)


def test_chat_item_shows_the_thread_around_it(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        app.main.companies.select_company(company_id(app, "Lotte Jansen"))
        await settle(pilot)
        await pilot.press("tab", "down", "down", "down", "enter")
        await settle(pilot)
        detail = app.main.detail
        assert detail.item is not None and detail.item["title"] == "Bericht 8: zin in koffie?"
        text = plain(detail.query_one("#detail-body", Static).content)
        assert "▶" in text and "Bericht 3: ja, leuk!" in text and "Bericht 11: ja, leuk!" in text

    drive(vault, story)


def test_channel_filter_cycles_and_clears(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        timeline = app.timeline
        await pilot.press("tab", "c")
        assert timeline.channel is None  # KLM only mails: nothing to filter
        app.main.companies.select_company(company_id(app, "bol.com"))
        await settle(pilot)
        assert timeline.channels == {"email": 8, "order": 1}
        assert app.focused is timeline
        await pilot.press("c")
        await settle(pilot)
        assert (timeline.channel, timeline.row_count) == ("email", 8)
        await pilot.press("c")
        await settle(pilot)
        assert (timeline.channel, timeline.row_count) == ("order", 1)
        assert "Bestelling 4021" in lines(timeline)[1]
        assert "order only" in str(timeline.border_subtitle)
        await pilot.press("c")
        await settle(pilot)
        assert (timeline.channel, timeline.row_count) == (None, 9)
        await pilot.press("c", "a")
        await settle(pilot)
        assert (timeline.channel, timeline.row_count) == (None, 9)

    drive(vault, story)


def test_zoom_fills_the_screen_with_the_item(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("tab", "z")
        assert app.screen.maximized is app.main.detail
        await pilot.press("z")
        assert app.screen.maximized is None

    drive(vault, story)


def test_clicking_a_row_selects_it(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        # Row 3 of the company list (inside its border: y = 1 + 2).
        await pilot.click(CompanyList, offset=(4, 3))
        await settle(pilot)
        assert app.main.companies.current_id == company_id(app, "Lotte Jansen")
        assert app.timeline.company_name == "Lotte Jansen"
        await pilot.click(Timeline, offset=(10, 4))
        await settle(pilot)
        assert app.focused is app.timeline and app.timeline.cursor == 2

    drive(vault, story)


def test_lists_are_virtual_not_a_widget_per_row(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        assert len(app.screen.query("*")) < 25

    drive(vault, story)


# ---- search -----------------------------------------------------------------------------------


def test_search_finds_across_companies_and_jumps_to_the_item(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("slash")
        assert isinstance(app.screen, SearchScreen)
        for key in "pakket":
            await pilot.press(key)
        await searched(pilot)
        results = app.screen.query_one(SearchResults)
        assert results.row_count == 8
        assert {r["company"]["name"] for r in results.results} == {"bol.com"}
        await pilot.press("enter")  # into the results
        assert app.focused is results
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.timeline.company_name == "bol.com"
        assert app.focused is app.timeline
        item = app.timeline.current_item
        assert item is not None and item.title == "Je bestelling 2 is onderweg"
        assert app.main.detail.item is not None
        assert app.main.detail.item["id"] == item.id
        assert app.main.companies.current_id == company_id(app, "bol.com")

    drive(vault, story)


def test_search_explains_a_bad_query_and_escape_closes(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("slash", "minus", "n", "o")
        await searched(pilot)
        status = app.screen.query_one("#search-status", Static)
        assert "at least one word" in plain(status.content)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        await pilot.press("slash")  # the query is kept for next time
        assert app.screen.query_one("#search-input", Input).value == "-no"

    drive(vault, story)


def test_search_jump_clears_a_filter_that_hides_the_company(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("k", "l", "m", "slash")
        for key in "koffie":
            await pilot.press(key)
        await searched(pilot)
        await pilot.press("enter", "enter")
        await settle(pilot)
        assert app.main.companies.filter == ""
        assert app.timeline.company_name == "Lotte Jansen"

    drive(vault, story)


# ---- help, bindings, quitting ---------------------------------------------------------------


def all_bindings() -> list[Binding]:
    """Every binding the app declares, in every place."""
    found = []
    for section in help_sections():
        found += [b for b in section.bindings if isinstance(b, Binding)]
    return found


def test_every_binding_has_an_id_and_a_description() -> None:
    bindings = all_bindings()
    assert len(bindings) > 25
    for binding in bindings:
        assert binding.id, binding
        assert binding.description, binding
    declared = [
        *KluisApp.BINDINGS,
        *MainScreen.BINDINGS,
        *CompanyList.BINDINGS,
        *Timeline.BINDINGS,
        *DetailPane.BINDINGS,
        *SearchScreen.BINDINGS,
        *SearchResults.BINDINGS,
        *VirtualList.BINDINGS,
        *HelpScreen.BINDINGS,
    ]
    assert all(isinstance(b, Binding) and b.id for b in declared)


def test_help_lists_every_binding(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = plain(app.screen.query_one("#help-text", Static).content)
        for binding in all_bindings():
            assert binding.description in text
        assert "✉ mail" in text and "Sparkline" in text
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)

    drive(vault, story)


def test_command_palette_offers_the_apps_actions(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in (
            "Search",
            "Help",
            "Sort companies",
            "Filter timeline by channel",
            "Zoom item",
        ):
            assert title in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "CommandPalette"

    drive(vault, story)


def test_q_quits_from_the_timeline_but_types_in_the_filter(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("q")
        assert app.is_running and app.main.companies.filter == "q"
        await pilot.press("escape", "tab", "q")
        await pilot.pause()

    app = drive(vault, story)
    assert app.return_code == 0


# ---- safety -----------------------------------------------------------------------------------


def test_hostile_subject_is_shown_literally_and_inert(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        app.main.companies.select_company(company_id(app, "Evil Shop"))
        await pilot.press("tab", "enter")
        await settle(pilot)
        row = lines(app.timeline)[1]
        assert "[bold red]pwned[/]" in row
        assert "\x1b" not in row and "\x07" not in row and "52;c" not in row
        detail = app.main.detail
        assert detail.item is not None
        text = screen_lines(detail.query_one("#detail-body", Static))
        assert "[bold red]pwned[/] now gone" in text
        assert "[link=https://evil.example]click[/link] red" in text
        assert not any(c in text for c in "\x1b\x07\x9b")

    drive(vault, story)


def test_rendered_item_never_interprets_markup_from_the_vault() -> None:
    item = {
        "id": 1,
        "title": "[blink]x[/blink]",
        "channel": "email",
        "direction": "in",
        "sender": "[red]Boss[/red] <a@b.c>",
        "recipients": ["[b]me[/b]"],
        "occurred_at": "2024-01-01T10:00:00+01:00",
        "company": {"id": 1, "name": "[i]Co[/i]"},
        "attachments": [{"filename": "[u]f.pdf[/u]\x1b[2J", "mime": "x/y", "size": 10}],
        "bookings": [
            {"kind": "flight", "number": "[b]KL1[/b]", "status": "confirmed", "origin": "[x]"}
        ],
        "body": "[bold]body[/bold]",
        "source_ref": "[s]ref[/s]",
    }
    text = plain(render_item(item, [], UTC))
    for literal in (
        "[blink]x[/blink]",
        "[red]Boss[/red]",
        "[b]me[/b]",
        "[i]Co[/i]",
        "[u]f.pdf[/u]",
        "[b]KL1[/b]",
        "[x] → ?",
        "[bold]body[/bold]",
        "[s]ref[/s]",
    ):
        assert literal in text
    assert "\x1b" not in text


# ---- snapshots ------------------------------------------------------------------------------


def test_snapshot_main_screen(vault: Store, snap_compare: Any) -> None:
    assert snap_compare(make_app(vault), terminal_size=SIZE, run_before=settle)


def test_snapshot_open_item(vault: Store, snap_compare: Any) -> None:
    async def open_item(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("enter", "enter")
        await settle(pilot)

    assert snap_compare(make_app(vault), terminal_size=SIZE, run_before=open_item)


def test_snapshot_search_results(vault: Store, snap_compare: Any) -> None:
    async def search(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("slash", *"boeking")
        # The search box's cursor blinks: a snapshot must not depend on when it was taken.
        pilot.app.screen.query_one(Input).cursor_blink = False
        await searched(pilot)

    assert snap_compare(make_app(vault), terminal_size=SIZE, run_before=search)


def test_snapshot_help(vault: Store, snap_compare: Any) -> None:
    async def help_screen(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(make_app(vault), terminal_size=SIZE, run_before=help_screen)
