"""Acting on the vault from the app: company edits (ctrl+e), timeline dates (d), saving files (s).

Each test builds its own small vault (the edits change it) through the real ingest path:
KLM with mail every month from January 2023 to June 2024 and three orders, a second KLM
sender on its own domain that resolves to a company of its own, and bol.com with an invoice
whose file name is hostile. Times are shown in UTC.
"""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from tests.support import mail, options
from tests.tui_support import drive, lines, notices, settle, text_of, until
from tui.app import KluisApp
from tui.company_actions import CompanyActionsMenu
from tui.company_dialogs import (
    AliasScreen,
    EditScreen,
    MergeScreen,
    RenameScreen,
    SplitScreen,
    UndoScreen,
)
from tui.date_range import DateRangeScreen
from tui.forms import sentence
from tui.save_attachment import SaveAttachmentScreen
from vault import browse, company_edits, queries
from vault.attachments import safe_filename
from vault.ingest import Ingestor
from vault.records import Attachment, Interaction
from vault.store import Store

INVOICE_NAME = "../../.factuur\x1b[2J 2024.pdf"
INVOICE_BYTES = b"%PDF-1.7\n" + bytes(range(256)) * 40
RECEIPT_BYTES = b"Bon: 2 x koffie, EUR 5,40\n"


def _klm_mail(n: int, when: datetime, channel: str = "email") -> Interaction:
    item = mail(n, "KLM <noreply@klm.com>", when=when, title=f"KLM {channel} {when:%Y-%m-%d}")
    item.channel = channel  # type: ignore[assignment]
    return item


def items() -> list[Interaction]:
    """The vault's content."""
    klm = [_klm_mail(n, datetime(2023 + n // 12, n % 12 + 1, 15, 9, tzinfo=UTC)) for n in range(18)]
    orders = [
        _klm_mail(100 + n, when, "order")
        for n, when in enumerate(
            [
                datetime(2023, 4, 2, 10, tzinfo=UTC),
                datetime(2023, 5, 20, 10, tzinfo=UTC),
                datetime(2024, 2, 10, 10, tzinfo=UTC),
            ]
        )
    ]
    news = [
        mail(
            200 + n,
            "KLM Royal Dutch <news@klm-mail.com>",
            when=datetime(2023, 7 + n, 3, 8, tzinfo=UTC),
            title=f"Nieuwsbrief {n}",
        )
        for n in range(5)
    ]
    invoice = mail(
        300,
        "bol.com <service@bol.com>",
        when=datetime(2024, 5, 1, 12, tzinfo=UTC),
        title="Je factuur",
    )
    invoice.attachments = [
        Attachment(INVOICE_NAME, "application/pdf", INVOICE_BYTES),
        Attachment("bon.txt", "text/plain", RECEIPT_BYTES),
    ]
    shipped = mail(
        301,
        "bol.com <service@bol.com>",
        when=datetime(2024, 4, 1, 12, tzinfo=UTC),
        title="Onderweg",
    )
    return [*klm, *orders, *news, invoice, shipped]


@pytest.fixture
def vault(store: Store) -> Store:
    """A fresh vault with the content above."""
    Ingestor(store, options("me@example.org"), "t", "t").run(items())
    return store


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Type ``text`` key by key."""
    for character in text:
        await pilot.press(character)


def counts(app: KluisApp) -> dict[str, int]:
    """Company name → items, as the company list shows them."""
    return {e.name: e.interactions for e in app.company_rows()}


def select(app: KluisApp, name: str) -> None:
    """Put the company list's cursor on ``name``."""
    app.main.companies.select_company(next(e.id for e in app.company_rows() if e.name == name))


def assert_vault_untouched(vault: Store) -> None:
    """The companies are as ingested."""
    with vault.read() as conn:
        listed = {r.name: r.interactions for r in queries.list_companies(conn)}
    assert listed == {"KLM": 21, "KLM Royal Dutch": 5, "bol.com": 2}


# ---- company edits --------------------------------------------------------------------------


def test_merge_from_the_menu_moves_every_item_and_undo_takes_it_back(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        select(app, "KLM Royal Dutch")
        await settle(pilot)
        await pilot.press("ctrl+e")
        assert isinstance(app.screen, CompanyActionsMenu)
        assert "KLM Royal Dutch · 5 items" in str(app.screen.query_one("#actions-box").border_title)
        await pilot.press("m")
        assert isinstance(app.screen, MergeScreen)
        await type_text(pilot, "klm")
        targets = app.screen.query_one("#edit-targets", OptionList)
        assert targets.option_count == 1  # itself is no choice, bol.com does not match
        assert text_of(app.screen, "#edit-preview") == (
            "Merge 'KLM Royal Dutch' (5 items) into 'KLM' (21 items)?"
        )
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, MergeScreen))
        assert counts(app) == {"KLM": 26, "bol.com": 2}
        assert app.main.companies.current_id == app.timeline.company_id
        assert (app.timeline.company_name, app.timeline.row_count) == ("KLM", 26)
        assert any(
            "Merged 'KLM Royal Dutch' into 'KLM'; ctrl+e → Undo takes it back" in n
            for n in notices(app)
        )

        await pilot.press("ctrl+e", "u")
        assert isinstance(app.screen, UndoScreen)
        await until(pilot, lambda: "Undo:" in text_of(app.screen, "#edit-prompt"))
        assert text_of(app.screen, "#edit-prompt") == "Undo: merged 'KLM Royal Dutch' into 'KLM'?"
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, UndoScreen))
        assert counts(app) == {"KLM": 21, "KLM Royal Dutch": 5, "bol.com": 2}
        assert app.timeline.row_count == 21
        assert any("Undid: merged 'KLM Royal Dutch'" in n for n in notices(app))

    drive(vault, story)
    assert_vault_untouched(vault)


def test_rename_from_the_timeline_keeps_its_filter_and_cursor(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("tab", "c")  # KLM, mail only
        await settle(pilot)
        await pilot.press("down", "down")
        await settle(pilot)
        item = app.timeline.current_item
        assert item is not None and app.timeline.channel == "email"
        await pilot.press("ctrl+e", "r")
        assert isinstance(app.screen, RenameScreen)
        name = app.screen.query_one("#edit-name", Input)
        assert name.value == "KLM"
        name.value = ""
        await type_text(pilot, "KLM Airlines")
        assert "'KLM' will be called 'KLM Airlines'" in text_of(app.screen, "#edit-preview")
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, RenameScreen))
        assert "KLM Airlines" in counts(app)
        timeline = app.timeline
        assert str(timeline.border_title) == "KLM Airlines · mail · 18 items"
        assert timeline.current_item is not None and timeline.current_item.id == item.id
        assert app.focused is timeline
        # The item pane reads the item again after a short delay, in a worker.
        await until(pilot, lambda: app.main.detail.item is not None)
        assert app.main.detail.item is not None
        assert app.main.detail.item["company"]["name"] == "KLM Airlines"

    drive(vault, story)


def test_alias_brings_another_domains_mail_to_the_company(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+e", "l")
        assert isinstance(app.screen, AliasScreen)
        await type_text(pilot, "news.klm-mail.com")
        await until(pilot, lambda: bool(text_of(app.screen, "#edit-preview")))
        assert text_of(app.screen, "#edit-preview") == (
            "Mail from any address at klm-mail.com will belong to 'KLM', with its items."
        )
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, AliasScreen))
        assert counts(app) == {"KLM": 26, "bol.com": 2}
        assert app.timeline.row_count == 26
        assert any(
            n.startswith("news.klm-mail.com now belongs to 'KLM'; ctrl+e → Undo")
            for n in notices(app)
        )

    drive(vault, story)


def test_split_moves_a_domain_into_a_new_company(vault: Store) -> None:
    with vault.begin() as conn:
        company_edits.merge(conn, "KLM Royal Dutch", "KLM")

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        assert counts(app) == {"KLM": 26, "bol.com": 2}
        await pilot.press("ctrl+e", "s")
        assert isinstance(app.screen, SplitScreen)
        assert "klm-mail.com" in text_of(app.screen, "#edit-hint")
        await type_text(pilot, "klm-mail.com")
        await pilot.press("tab")
        await type_text(pilot, "KLM Nieuws")
        assert text_of(app.screen, "#edit-preview") == (
            "klm-mail.com and its items move out of 'KLM' into a new company 'KLM Nieuws'."
        )
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, SplitScreen))
        assert counts(app) == {"KLM": 21, "KLM Nieuws": 5, "bol.com": 2}
        assert (app.timeline.company_name, app.timeline.row_count) == ("KLM", 21)

    drive(vault, story)


@pytest.mark.parametrize(
    ("keys", "screen", "typed", "error"),
    [
        ("s", SplitScreen, "nope.example", "'KLM' has no identifier 'nope.example' to split off."),
        ("r", RenameScreen, "   ", "A company name cannot be empty."),
        ("l", AliasScreen, "", "Type a domain, mail address, phone number or name."),
        ("u", UndoScreen, None, "There is no company edit to undo."),
        ("m", MergeScreen, "", "Pick the company to merge into."),  # Enter alone merges nothing
    ],
)
def test_a_refused_edit_says_why_in_the_modal_and_changes_nothing(
    vault: Store, keys: str, screen: type[EditScreen], typed: str | None, error: str
) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+e", keys)
        assert isinstance(app.screen, screen)
        if typed is not None:
            field = app.screen.query(Input).first()
            field.value = typed
        await settle(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: not getattr(app.screen, "busy", True))
        assert text_of(app.screen, "#edit-error") == error
        assert isinstance(app.screen, screen)  # still there: fix the input or press esc
        await pilot.press("escape")
        assert not isinstance(app.screen, EditScreen)
        assert counts(app) == {"KLM": 21, "KLM Royal Dutch": 5, "bol.com": 2}

    drive(vault, story)
    assert_vault_untouched(vault)


def test_every_edit_is_in_the_command_palette_and_the_help(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        for title in (
            "Rename company",
            "Merge company into another",
            "Add an alias to company",
            "Split a domain off company",
            "Undo last company edit",
            "Filter timeline by date",
            "Clear timeline filters",
        ):
            assert title in commands
        commands["Merge company into another"].callback()
        await pilot.pause()
        assert isinstance(app.screen, MergeScreen)
        await pilot.press("escape", "question_mark")
        help_text = text_of(app.screen, "#help-text")
        assert "Company edits (ctrl+e)" in help_text and "Merge company into another" in help_text
        assert "Save all files" in help_text and "Dates" in help_text

    drive(vault, story)


# ---- timeline dates -------------------------------------------------------------------------


def test_date_filter_narrows_the_timeline_and_combines_with_the_channel(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        timeline = app.timeline
        await pilot.press("tab", "d")
        assert isinstance(app.screen, DateRangeScreen)
        await type_text(pilot, "2023-03")
        await pilot.press("tab")
        await type_text(pilot, "2023-06")
        await pilot.press("enter")
        await until(pilot, lambda: timeline.row_count == 6)
        assert str(timeline.border_title) == "KLM · 2023-03 → 2023-06 · 6 items"
        shown = lines(timeline)
        separators = [line.split()[1:3] for line in shown if line.startswith("──")]
        assert separators == [
            ["June", "2023"],
            ["May", "2023"],
            ["April", "2023"],
            ["March", "2023"],
        ]
        assert timeline.channels == {"email": 4, "order": 2}

        await pilot.press("c")
        await until(pilot, lambda: timeline.row_count == 4)
        assert str(timeline.border_title) == "KLM · mail · 2023-03 → 2023-06 · 4 items"
        await pilot.press("c")
        await until(pilot, lambda: timeline.row_count == 2)
        assert [r.title for r in (timeline.item_at(0), timeline.item_at(1)) if r] == [
            "KLM order 2023-05-20",
            "KLM order 2023-04-02",
        ]

        await pilot.press("a")
        await until(pilot, lambda: timeline.row_count == 21)
        assert str(timeline.border_title) == "KLM · 21 items"
        assert timeline.channel is None and not timeline.dates.active

    drive(vault, story)


def test_an_open_ended_range_keeps_everything_since_its_start(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("tab", "d")
        await type_text(pilot, "2024")
        await pilot.press("enter")
        await until(pilot, lambda: app.timeline.row_count == 7)  # Jan-Jun 2024 and an order
        assert str(app.timeline.border_title) == "KLM · 2024 → … · 7 items"

    drive(vault, story)


@pytest.mark.parametrize(
    ("start", "end", "error"),
    [
        ("2023-13", "", "From: '2023-13' is not a date; use YYYY, YYYY-MM or YYYY-MM-DD"),
        ("", "gisteren", "To: 'gisteren' is not a date; use YYYY, YYYY-MM or YYYY-MM-DD"),
        ("2024-02", "2023-06", "2024-02 is after 2023-06: put the earlier date first"),
    ],
)
def test_a_bad_date_is_one_line_in_the_box_and_the_timeline_stays(
    vault: Store, start: str, end: str, error: str
) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("tab", "d")
        app.screen.query_one("#dates-from", Input).value = start
        app.screen.query_one("#dates-to", Input).value = end
        await pilot.press("enter")
        assert isinstance(app.screen, DateRangeScreen)
        assert text_of(app.screen, "#dates-error") == error
        await pilot.press("escape")
        await settle(pilot)
        assert app.timeline.row_count == 21 and not app.timeline.dates.active

    drive(vault, story)


def test_date_bounds_page_the_index_like_the_plain_query(vault: Store) -> None:
    since, until_ = 1680307200, 1688169600  # 2023-04-01 .. 2023-07-01
    with vault.read() as conn:
        company = queries.find_company(conn, "KLM")[0]
        dated = queries.TimelineFilter(company, since=since, until=until_)
        expected = [r.id for r in queries.timeline(conn, dated, limit=100)]
        index = browse.timeline_index(conn, dated, zone=UTC)
        start, _ = browse.timeline_start(conn, dated, limit=2)
        assert len(index) == len(start) == len(expected) == 5
        for first in range(5):
            assert [r.id for r in browse.timeline_page(conn, index, first, 2)] == expected[
                first : first + 2
            ]
        assert browse.position_in_timeline(conn, dated, expected[3]) == 3
        before = queries.TimelineFilter(company, until=since)
        assert browse.position_in_timeline(conn, before, expected[0]) is None
        assert browse.channel_counts(conn, dated) == {
            "email": 3,
            "order": 2,
        }


# ---- saving attachments ---------------------------------------------------------------------


def test_saving_files_writes_the_exact_bytes_privately_under_a_safe_new_name(
    vault: Store, tmp_path: Path
) -> None:
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    taken = downloads / "factuur 2024.pdf"
    taken.write_bytes(b"mine, not the vault's")

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        select(app, "bol.com")
        await settle(pilot)
        await pilot.press("tab", "enter")  # the invoice, newest first
        await settle(pilot)
        assert app.focused is app.main.detail
        await pilot.press("s")
        assert isinstance(app.screen, SaveAttachmentScreen)
        await until(pilot, lambda: app.screen.query_one(OptionList).option_count == 2)
        files = app.screen.query_one(OptionList)
        assert "factuur 2024.pdf" in str(files.get_option_at_index(0).prompt)
        assert "bon.txt" in str(files.get_option_at_index(1).prompt)
        app.screen.query_one("#save-folder", Input).value = str(downloads)
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, SaveAttachmentScreen))
        assert any("Saved" in n and "factuur 2024 (2).pdf" in n for n in notices(app))

        await pilot.press("s")
        await until(pilot, lambda: app.screen.query_one(OptionList).option_count == 2)
        app.screen.query_one("#save-folder", Input).value = str(downloads)
        await pilot.press("a")
        await until(pilot, lambda: not isinstance(app.screen, SaveAttachmentScreen))
        assert any("Saved 2 files to" in n for n in notices(app))

    drive(vault, story)
    assert taken.read_bytes() == b"mine, not the vault's"  # never overwritten
    saved = {p.name: p for p in downloads.iterdir()}
    assert sorted(saved) == [
        "bon.txt",
        "factuur 2024 (2).pdf",
        "factuur 2024 (3).pdf",
        "factuur 2024.pdf",
    ]
    assert saved["factuur 2024 (2).pdf"].read_bytes() == INVOICE_BYTES
    assert saved["factuur 2024 (3).pdf"].read_bytes() == INVOICE_BYTES
    assert saved["bon.txt"].read_bytes() == RECEIPT_BYTES
    for name in ("factuur 2024 (2).pdf", "factuur 2024 (3).pdf", "bon.txt"):
        assert stat.S_IMODE(saved[name].stat().st_mode) == 0o600


def test_saving_to_a_missing_folder_says_so_and_writes_nothing(
    vault: Store, tmp_path: Path
) -> None:
    downloads = tmp_path / "Downloads"
    downloads.mkdir()

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        select(app, "bol.com")
        await settle(pilot)
        await pilot.press("tab", "enter")
        await settle(pilot)
        await pilot.press("s")
        await until(pilot, lambda: app.screen.query_one(OptionList).option_count == 2)
        app.screen.query_one("#save-folder", Input).value = str(downloads / "nowhere")
        await pilot.press("a")
        await until(pilot, lambda: "folder" in text_of(app.screen, "#save-status"))
        assert text_of(app.screen, "#save-status") == f"There is no folder {downloads / 'nowhere'}."
        assert isinstance(app.screen, SaveAttachmentScreen)

    drive(vault, story)
    assert list(downloads.iterdir()) == []


def test_save_is_offered_only_for_an_item_with_files(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("tab", "enter")  # a KLM mail: no files
        await settle(pilot)
        await pilot.press("s")
        assert not isinstance(app.screen, SaveAttachmentScreen)
        assert app.main.detail.check_action("save_attachments", ()) is False

    drive(vault, story)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        (INVOICE_NAME, "factuur 2024.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Windows\\evil.bat", "evil.bat"),
        ("docs/", "docs"),
        ('a:b*c?"d"<e>|f.txt', "a_b_c__d__e__f.txt"),
        (".bashrc", "bashrc"),
        ("...", "attachment"),
        ("", "attachment"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
        ("é" * 200 + ".txt", "é" * 116 + ".txt"),
        ("€" * 100 + ".txt", "€" * 78 + ".txt"),
    ],
)
def test_file_names_from_mail_are_made_safe(name: str, safe: str) -> None:
    assert safe_filename(name) == safe
    assert len(safe_filename(name).encode()) <= 240


def test_vault_messages_are_shown_as_one_plain_sentence() -> None:
    assert sentence("not a date: 'x' (use YYYY-MM-DD)") == "Not a date: 'x' (use YYYY-MM-DD)"
    assert sentence("merged 'a' into 'b'") == "Merged 'a' into 'b'."
    assert sentence("klm.nl now belongs to 'KLM'") == "klm.nl now belongs to 'KLM'."
    assert sentence("Saving…") == "Saving…"
    assert sentence("two\nlines \x1b[2J") == "Two lines."
    assert sentence(OSError()) == "OSError"
