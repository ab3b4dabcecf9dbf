"""`kluis demo`: a living demo vault built through the real importers, scriptable at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vault.domains import esp_domains


def kluis(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KLUIS_VAULT": str(folder), "KLUIS_PASSPHRASE": "demo"}
    return subprocess.run(
        [sys.executable, "-m", "vault", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def as_json(folder: Path, *args: str) -> Any:
    done = kluis(folder, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "vault"
    done = kluis(folder, "demo", "--no-tui")
    assert done.returncode == 0, done.stderr
    assert "export KLUIS_VAULT=" in done.stdout
    return folder


def test_demo_has_a_realistic_spread_of_companies_and_people(demo: Path) -> None:
    companies = as_json(demo, "companies")
    kinds = [c["kind"] for c in companies]
    assert kinds.count("company") >= 25 and kinds.count("person") >= 3
    assert sum(c["interactions"] for c in companies) >= 8000
    first = min(c["first_at"] for c in companies)
    last = max(c["last_at"] for c in companies)
    assert int(last[:4]) - int(first[:4]) >= 6
    domains = {d for c in companies for d in c["domains"]}
    assert not domains & esp_domains()  # newsletters sent through ESPs belong to their brands
    assert {"klm.com", "ns.nl", "bol.com", "ing.nl", "fietsersbond.nl"} <= domains


def test_demo_chats_land_on_company_and_person_timelines(demo: Path) -> None:
    companies = {c["name"]: c for c in as_json(demo, "companies")}
    # NS's Telegram channel is NS's: one company for its mail and its channel.
    assert "NS Reisinformatie" not in companies
    ns = companies["NS"]
    rows = as_json(demo, "timeline", str(ns["id"]), "--channel", "chat", "--limit", "5")
    assert ns["kind"] == "company" and rows and {r["channel"] for r in rows} == {"chat"}
    lotte = companies["Lotte Jansen"]
    channels = {r["channel"] for r in as_json(demo, "timeline", str(lotte["id"]), "--limit", "600")}
    assert lotte["kind"] == "person" and channels == {"chat", "email"}


def test_demo_outbound_complaint_is_one_case(demo: Path) -> None:
    hits = as_json(demo, "search", "wasmachine", "company:Coolblue", "--limit", "50")
    outbound = [h for h in hits if h["direction"] == "out"]
    assert outbound
    item = as_json(demo, "show", str(outbound[0]["id"]))
    assert len(item["case"]) >= 4


def test_demo_is_reused_and_never_replaces_a_real_vault(demo: Path, tmp_path: Path) -> None:
    again = kluis(demo, "demo", "--no-tui")
    assert again.returncode == 0 and "already" in again.stdout
    real = tmp_path / "mine"
    env_init = kluis(real, "init", "--allow-weak-passphrase")  # "demo", on purpose
    assert env_init.returncode == 0
    refused = subprocess.run(
        [sys.executable, "-m", "vault", "demo", "--no-tui", "--vault", str(real)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "KLUIS_PASSPHRASE": "demo"},
    )
    assert refused.returncode == 2 and "not the demo" in refused.stderr


def test_demo_trips_export_to_a_calendar_file(demo: Path, tmp_path: Path) -> None:
    from icalendar import Calendar

    upcoming = as_json(demo, "bookings", "--upcoming")
    out = tmp_path / "trips.ics"
    done = kluis(demo, "bookings", "--upcoming", "--ics", str(out))
    assert done.returncode == 0, done.stderr
    events = Calendar.from_ical(out.read_bytes()).walk("VEVENT")
    assert len(events) == len(upcoming) >= 4
    assert {str(e["SUMMARY"]).split()[0] for e in events} >= {"Flight", "Train", "Stay"}
    assert out.stat().st_mode & 0o777 == 0o600


def test_the_calendar_file_holds_every_booking_not_only_the_page_shown(
    demo: Path, tmp_path: Path
) -> None:
    from icalendar import Calendar

    every = as_json(demo, "bookings", "--all")
    out = tmp_path / "all.ics"
    done = kluis(demo, "bookings", "--limit", "2", "--ics", str(out))
    assert done.returncode == 0, done.stderr
    assert len(Calendar.from_ical(out.read_bytes()).walk("VEVENT")) == len(every) > 2
    assert f"Wrote {len(every)} bookings" in done.stderr


def test_demo_has_a_cancelled_and_a_changed_trip(demo: Path) -> None:
    statuses = {(b["kind"], b["status"]) for b in as_json(demo, "bookings")}
    assert {
        ("flight", "cancelled"),
        ("flight", "changed"),
        ("order", "confirmed"),
        ("parcel", "confirmed"),
    } <= statuses


def test_the_welcome_never_builds_the_demo_in_the_users_own_vault_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.launch import welcome_demo_folder
    from tui.app import KluisApp

    mine = tmp_path / "my-vault"
    monkeypatch.setenv("KLUIS_VAULT", str(mine))  # names the vault, and so the demo's default
    app = KluisApp(folder=mine, demo_folder=welcome_demo_folder(mine))
    assert app.demo_folder is not None and app.demo_folder.resolve() != mine.resolve()
    monkeypatch.delenv("KLUIS_VAULT")
    assert welcome_demo_folder(mine) is not None  # the platform's demo folder, apart from it
