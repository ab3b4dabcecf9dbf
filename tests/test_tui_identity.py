"""Who is who in the app: suggestions (ctrl+t) accepted or rejected, and people (ctrl+n).

The vault: Gazelle by mail, a Telegram bot that only names gazelle.nl in its messages (a
suggestion), Lisa Bakker by mail and as "Lisa" in a chat (a people suggestion), and a
mailing list.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.support import mail, options
from tests.tui_support import drive, notices, settle, text_of, until
from tui.app import KluisApp
from tui.suggestions_screen import SuggestionsScreen
from vault import queries
from vault.ingest import Ingestor
from vault.records import CompanyHints, Interaction, Party
from vault.store import Store


def _chat(n: int, title: str, text: str, kind: str) -> Interaction:
    item = mail(n, body=text)
    item.channel = "chat"
    item.sender = Party(title, f"user{n}", "chat_handle")
    item.thread_key = f"telegram:{title}"
    item.thread_title = title
    item.dedup_key = f"chat:{n}"
    item.hints = CompanyHints(chat_kind=kind)  # type: ignore[arg-type]
    return item


@pytest.fixture
def vault(store: Store) -> Store:
    """Gazelle and its unnamed bot, Lisa twice, a list."""
    items = [
        mail(1, "Gazelle <info@gazelle.nl>", title="Onderhoud"),
        _chat(2, "Fietsservice Noord", "Je fiets is klaar, zie gazelle.nl", "bot"),
        mail(3, "Lisa Bakker <lisa.bakker@gmail.com>", title="Etentje?"),
        _chat(4, "Lisa", "Hoi!", "private"),
        mail(
            5,
            "Timo <tss@iki.fi>",
            title="Re: sieve",
            hints=CompanyHints(list_id="dovecot.dovecot.org", list_post=True),
        ),
    ]
    Ingestor(store, options("me@example.org"), "t", "t").run(items)
    return store


def names(app: KluisApp) -> list[str]:
    """The names the company list shows now."""
    return [e.name for e in app.main.companies.shown]


def table_rows(app: KluisApp) -> int:
    return app.screen.query_one("#suggest-table", DataTable).row_count


def test_people_mode_shows_only_people_and_back(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        assert len(names(app)) == 5
        await pilot.press("ctrl+n")
        assert sorted(names(app)) == ["Fietsservice Noord", "Gazelle"]
        await pilot.press("ctrl+n")
        assert sorted(names(app)) == ["Lisa", "Lisa Bakker"]
        assert "People 2" in str(app.main.companies.border_title)
        await pilot.press("ctrl+n")
        assert names(app) == ["dovecot"]
        await pilot.press("ctrl+n")
        assert len(names(app)) == 5

    drive(vault, story)


def test_suggestions_accept_merges_and_reject_is_remembered(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+t")
        assert isinstance(app.screen, SuggestionsScreen)
        await until(pilot, lambda: table_rows(app) == 1, "the company suggestion")
        assert "Companies that may be one (1)" in text_of(app.screen, "#suggest-title")
        await pilot.press("a")
        await until(pilot, lambda: "Merged" in text_of(app.screen, "#suggest-status"))
        assert "Merged 'Fietsservice Noord' into 'Gazelle'" in text_of(
            app.screen, "#suggest-status"
        )
        await until(pilot, lambda: table_rows(app) == 0, "the list emptied")
        await pilot.press("p")  # people's suggestions
        await until(pilot, lambda: table_rows(app) == 1, "the people suggestion")
        await pilot.press("x")
        await until(pilot, lambda: "stay apart" in text_of(app.screen, "#suggest-status"))
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, SuggestionsScreen)
        assert "Gazelle" in names(app) and "Fietsservice Noord" not in names(app)
        await pilot.press("ctrl+t")
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        assert table_rows(app) == 0  # the rejected one never comes back
        assert not any("error" in n.casefold() for n in notices(app))

    drive(vault, story)
    with vault.read() as conn:
        listed = {r.name: r.interactions for r in queries.list_companies(conn)}
    assert listed == {"Gazelle": 2, "Lisa Bakker": 1, "Lisa": 1, "dovecot": 1}
