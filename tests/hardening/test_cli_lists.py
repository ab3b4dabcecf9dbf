"""A list cut by --limit says so: every list command tells stderr how many more there are,
pages with --offset, lists everything with --all or --limit 0, and keeps --json a list."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.hardening.harness import LONG, Kluis, make_vault, record_peak

MAILS = 120


def mbox(path: Path, count: int, sender: str = "shop@bol.com", word: str = "factuur") -> Path:
    """``count`` mails from ``sender``, each with ``word`` in it, one a minute."""
    mails = [
        f"From {sender} Mon Jan  1 00:00:00 2024\nFrom: Shop <{sender}>\nTo: me@example.org\n"
        f"Subject: {word} {n}\nDate: Mon, 1 Jan 2024 {n // 60 % 24:02d}:{n % 60:02d}:00 +0100\n"
        f"Message-ID: <m{n}.{sender}>\n\nUw {word} nummer {n}.\n"
        for n in range(count)
    ]
    path.write_text("\n".join(mails))
    return path


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Kluis:
    """One vault with MAILS mails from bol.com and 2 from coolblue.nl."""
    root = tmp_path_factory.mktemp("lists")
    vault, home, tmp = root / "vault", root / "home", root / "tmp"
    make_vault(vault)
    home.mkdir()
    tmp.mkdir()
    kluis = Kluis(vault, home, tmp)
    for name, sender, count in (("bol", "shop@bol.com", MAILS), ("cb", "info@coolblue.nl", 2)):
        done = kluis.run(
            "import", str(mbox(root / f"{name}.mbox", count, sender)), "--me", "me@example.org"
        )
        assert done.returncode == 0, done.stderr
    return kluis


def ids(done: object) -> list[int]:
    assert getattr(done, "returncode") == 0, getattr(done, "stderr")  # noqa: B009
    return [row["id"] for row in json.loads(getattr(done, "stdout"))]  # noqa: B009


def test_a_timeline_cut_by_its_limit_says_how_many_more_on_stderr(filled: Kluis) -> None:
    done = filled.run("timeline", "bol.com")
    assert done.returncode == 0
    assert done.stdout.decode().count("Uw factuur") == 50
    note = done.stderr.decode().strip()
    assert note == f"… {MAILS - 50} more (--offset 50 for the next 50, --all for everything)"


def test_search_json_stays_a_list_and_the_note_goes_to_stderr(filled: Kluis) -> None:
    done = filled.run("search", "factuur", "--limit", "30", "--json")
    assert len(ids(done)) == 30
    assert f"… {MAILS + 2 - 30} more" in done.stderr.decode()


def test_all_and_limit_0_list_everything_and_say_nothing_more(filled: Kluis) -> None:
    for args in (["--all"], ["--limit", "0"]):
        timeline = filled.run("timeline", "bol.com", *args, "--json")
        assert len(set(ids(timeline))) == MAILS and timeline.stderr == b""
        search = filled.run("search", "factuur", *args, "--json")
        assert len(set(ids(search))) == MAILS + 2 and search.stderr == b""


def test_offset_pages_through_without_a_gap_or_a_repeat(filled: Kluis) -> None:
    every = ids(filled.run("search", "factuur", "--all", "--json"))
    for command in (["search", "factuur"], ["timeline", "bol.com"]):
        whole = every if command[0] == "search" else ids(filled.run(*command, "--all", "--json"))
        pages = []
        for offset in range(0, len(whole), 50):
            pages += ids(filled.run(*command, "--offset", str(offset), "--json"))
        assert pages == whole


def test_a_complete_list_says_nothing_on_stderr(filled: Kluis) -> None:
    done = filled.run("timeline", "coolblue")
    assert done.returncode == 0 and done.stderr == b""
    done = filled.run("search", "factuur", "--offset", str(MAILS), "--json")
    assert len(ids(done)) == 2 and done.stderr == b""


def test_companies_and_bookings_page_too(filled: Kluis) -> None:
    done = filled.run("companies", "--limit", "1", "--json")
    assert len(ids(done)) == 1
    assert "… 1 more (--offset 1 for the next 1" in done.stderr.decode()
    assert len(ids(filled.run("companies", "--json"))) == 2
    assert filled.run("bookings", "--limit", "1").returncode == 0


@pytest.mark.parametrize(
    "args",
    [["--limit", "-1"], ["--limit", "many"], ["--offset", "-5"], ["--limit", "5", "--all"]],
)
def test_bad_paging_is_a_one_line_usage_error(filled: Kluis, args: list[str]) -> None:
    done = filled.run("timeline", "bol.com", *args)
    err = done.stderr.decode()
    assert done.returncode == 2 and len(err.splitlines()) == 1, err
    assert "see `kluis timeline --help`" in err and "Traceback" not in err


@pytest.mark.skipif(not LONG, reason="long: KLUIS_HARDENING_LONG=1")
def test_all_streams_a_long_history_in_bounded_memory(
    filled: Kluis, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("long")
    shutil.copytree(filled.vault, root / "vault")
    big = Kluis(root / "vault", filled.home, filled.tmp)
    assert (
        big.run("import", str(mbox(root / "big.mbox", 20_000, "news@big.example"))).returncode == 0
    )
    small = big.measure("timeline", "big.example", "--json")
    whole = big.measure("timeline", "big.example", "--all", "--json")
    assert whole.done.returncode == 0 and len(json.loads(whole.done.stdout)) == 20_000
    record_peak("timeline --json (first 50)", small.peak_mb)
    record_peak("timeline --all --json (20,000)", whole.peak_mb)
    assert whole.peak_mb < small.peak_mb + 40, (small.peak_mb, whole.peak_mb)
