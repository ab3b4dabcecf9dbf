"""One clock: the app and every command show a time in the user's zone (``--timezone``, else
``kluis config timezone``, else the machine's), with the sender's or the place's own clock
beside it where it differs. Before, the app moved times to the machine's zone while the CLI
kept the sender's offset, so one flight had two hours."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.hardening.harness import Kluis, make_vault, open_for_test
from tests.support import FIXTURES
from tests.tui_support import SIZE, plain, settle
from tui.app import KluisApp
from tui.detail import render_item

# Sent Sun 10 Jan 2027 14:03 +01:00; the flight leaves Amsterdam 20 Feb 2027 09:40 +01:00.
KLM = FIXTURES / "bookings" / "klm-K7M2WQ-confirmed.eml"
# Mon 11 Jan 2027 00:30 in Amsterdam is still Sun 10 Jan (23:30) in UTC.
LATE = """From: Bol.com <klantenservice@bol.com>
To: sanne@example.org
Subject: Je bestelling is onderweg
Date: Mon, 11 Jan 2027 00:30:00 +0100
Message-ID: <late-night@bol.com>
Content-Type: text/plain; charset=utf-8

Je pakket komt morgen.
"""


@pytest.fixture(scope="module")
def vault_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clock")
    kluis = Kluis(root / "vault", root, root)
    make_vault(kluis.vault)
    sources = root / "sources"
    sources.mkdir()
    shutil.copy(KLM, sources / KLM.name)
    (sources / "late.eml").write_text(LATE)
    done = kluis.run("import", str(sources))
    assert done.returncode == 0, done.stderr
    return kluis.vault


@pytest.fixture
def kluis(vault_template: Path, tmp_path: Path) -> Kluis:
    shutil.copytree(vault_template, tmp_path / "vault")
    return Kluis(tmp_path / "vault", tmp_path, tmp_path)


def out(kluis: Kluis, *args: str) -> str:
    done = kluis.run(*args)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def klm_item(kluis: Kluis) -> int:
    (row,) = kluis.json("timeline", "klm.com")
    return int(row["id"])


def test_the_app_and_every_command_show_the_chosen_zones_hour(kluis: Kluis) -> None:
    assert "now on" in out(kluis, "config", "timezone", "Asia/Tokyo")
    assert "2027-01-10 22:03" in out(kluis, "timeline", "klm.com")  # 14:03 +01:00 in Tokyo
    shown = out(kluis, "show", str(klm_item(kluis)))
    assert "2027-01-10 22:03 +09:00 (sent 2027-01-10 14:03 +01:00)" in shown
    assert "2027-02-20 17:40 (09:40 local)" in out(kluis, "bookings")
    assert "2027-01-10 22:03" in out(kluis, "search", "K7M2WQ")

    store = open_for_test(kluis.vault)
    try:
        app = KluisApp(store)  # no zone given: the vault's choice, as the CLI reads it

        async def run() -> str:
            async with app.run_test(size=SIZE) as pilot:
                await settle(pilot)
                return _klm_card(app)

        card = asyncio.run(run())
    finally:
        store.close()
    assert app.zone == ZoneInfo("Asia/Tokyo")
    assert "Sun 10 Jan 2027, 22:03 (+09:00; sent 14:03 +01:00)" in card
    assert "Sat 20 Feb 2027, 17:40 (+09:00; 09:40 local)" in card


def _klm_card(app: KluisApp) -> str:
    """The KLM mail's item pane as the app renders it."""
    from vault import queries

    with app.store.reader() as conn:
        company = queries.find_company(conn, "klm.com")[0]
        (row,) = queries.timeline(conn, queries.TimelineFilter(company), limit=5)
        item = queries.show(conn, row.id)
    return plain(render_item(item, [], app.main.zone))


def test_timezone_option_wins_over_the_setting(kluis: Kluis) -> None:
    out(kluis, "config", "timezone", "Asia/Tokyo")
    assert "2027-01-10 13:03" in out(kluis, "timeline", "klm.com", "--timezone", "UTC")
    assert "2027-02-20 08:40 (09:40 local)" in out(kluis, "bookings", "--timezone", "UTC")
    out(kluis, "config", "timezone", "--unset")
    assert "not set" in out(kluis, "config", "timezone")


def test_a_place_in_the_users_zone_shows_one_time(kluis: Kluis) -> None:
    listed = out(kluis, "bookings", "--timezone", "Europe/Amsterdam")
    assert "2027-02-20 09:40" in listed and "local" not in listed


def test_dates_typed_by_the_user_are_days_in_the_users_zone(kluis: Kluis) -> None:
    in_amsterdam = ("--timezone", "Europe/Amsterdam")
    # 00:30 on the 11th in Amsterdam: not on or before the 10th there …
    assert not kluis.json("timeline", "bol.com", "--until", "2027-01-10", *in_amsterdam)
    assert kluis.json("timeline", "bol.com", "--since", "2027-01-11", *in_amsterdam)
    # … but the 10th in UTC.
    assert kluis.json("timeline", "bol.com", "--until", "2027-01-10", "--timezone", "UTC")
    hits = out(kluis, "search", "pakket", "before:2027-01-11", *in_amsterdam)
    assert hits.strip() == "Nothing found."
    assert "2027-01-11 00:30" in out(kluis, "search", "pakket", "after:2027-01-10", *in_amsterdam)


@pytest.mark.parametrize(
    "args",
    [
        ("config", "timezone", "Mars/Olympus_Mons"),
        ("timeline", "klm.com", "--timezone", "Mars/Olympus_Mons"),
        ("config", "timezone", "UTC", "--unset"),
    ],
)
def test_a_wrong_zone_is_one_line_and_exit_2(kluis: Kluis, args: tuple[str, ...]) -> None:
    done = kluis.run(*args)
    error = done.stderr.decode()
    assert done.returncode == 2, error
    assert error.count("\n") == 1 and error.startswith("kluis: ") and "Traceback" not in error
    assert "not set" in out(kluis, "config", "timezone")  # nothing was kept
