"""The benchmark scripts still run (on tiny inputs); their figures are never asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import mailgen  # noqa: E402


def test_the_generated_mailbox_is_the_same_every_time_and_its_maildir_twin_matches(
    tmp_path: Path,
) -> None:
    first = mailgen.generate(tmp_path / "a", 60)
    mailgen.generate(tmp_path / "b", 60)
    mbox = (tmp_path / "a" / "mailbox.mbox").read_bytes()
    assert mbox == (tmp_path / "b" / "mailbox.mbox").read_bytes()
    files = sorted((tmp_path / "a" / "Maildir" / "cur").iterdir())
    assert len(files) == 60 == mbox.count(b"\nFrom bench@mailgen ") + 1
    assert sum(f.stat().st_size for f in files) == first["bytes"]


def test_the_second_shape_is_mostly_small_plain_mail_with_some_large_attachments(
    tmp_path: Path,
) -> None:
    mailgen.generate(tmp_path / "c", 200)
    mailgen.generate(tmp_path / "p", 200, shape="plain")
    mailgen.generate(tmp_path / "q", 200, shape="plain")
    plain = sorted((tmp_path / "p" / "Maildir" / "cur").iterdir())
    mails = [f.read_bytes() for f in plain]
    assert mails == [f.read_bytes() for f in sorted((tmp_path / "q" / "Maildir" / "cur").iterdir())]
    html = sum(b"Content-Type: text/html" in mail for mail in mails)
    commercial = (tmp_path / "c" / "Maildir" / "cur").iterdir()
    assert (
        html
        < len(mails) // 3
        < sum(b"Content-Type: text/html" in f.read_bytes() for f in commercial)
    )
    assert sum(b"Content-Type: multipart" not in mail for mail in mails) > len(mails) // 2
    assert any(
        len(mail) > 50_000 and b"Content-Transfer-Encoding: base64" in mail for mail in mails
    )
    assert b"blauwshop" not in b"".join(mails)  # other senders than the first shape


def _bench(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_import_bench_imports_every_generated_mail(tmp_path: Path) -> None:
    out = _bench(
        "import_mail.py",
        "--mails",
        "40",
        "--repeat",
        "1",
        "--tools",
        "kluis",
        "--data",
        str(tmp_path / "mail"),
    )
    for shape in ("commercial", "plain"):
        rows = out.split(f"{shape} set (medians of 1)")[1].splitlines()
        assert rows[2].startswith("kluis import mbox (SQLCipher)") and " 40 " in rows[2]


def test_the_floor_bench_stores_every_mail_in_each_variant(tmp_path: Path) -> None:
    out = _bench("import_floor.py", "--mails", "40", "--designs", "--data", str(tmp_path / "mail"))
    rows = [line for line in out.splitlines() if line.startswith("store: ")]
    assert len(rows) == 6 and all(" 40 " in row for row in rows)
    assert rows[-1].startswith("store: index in index.db") and rows[-1].count(" 40 ") == 2
    assert "floor on " in out


def test_the_search_bench_runs_its_fifty_queries(tmp_path: Path) -> None:
    out = _bench("search.py", "--items", "400", "--repeat", "1", "--data", str(tmp_path / "s"))
    assert "50 queries" in out and "p95" in out and "2-letter prefix" in out


def test_the_chat_bench_imports_every_generated_message() -> None:
    out = _bench("import_chat.py", "--messages", "300")
    assert "whatsapp 300 messages:" in out
    assert "0 quarantined" in out and "305 new items" in out


def test_the_profile_bench_prices_each_kind_of_mail(tmp_path: Path) -> None:
    out = _bench(
        "profile_kinds.py",
        "--mails",
        "20",
        "--repeat",
        "1",
        "--shapes",
        "commercial",
        "--data",
        str(tmp_path / "mail"),
    )
    assert "20 stored" in out and "function (own time)" in out
    priced = [line for line in out.splitlines() if line.startswith(("plain text ", "text + HTML "))]
    assert len(priced) == 2


def test_the_imap_bench_syncs_every_generated_mail(tmp_path: Path) -> None:
    if os.environ.get("KLUIS_SKIP_IMAP") == "1":
        pytest.skip("KLUIS_SKIP_IMAP=1: the IMAP bench needs a real dovecot")
    out = _bench(
        "import_imap.py",
        "--mails",
        "40",
        "--repeat",
        "1",
        "--tools",
        "kluis",
        "--data",
        str(tmp_path / "mail"),
    )
    rows = out.split("IMAP, 40 mails (medians of 1)")[1].splitlines()
    assert rows[2].startswith("kluis sync imap") and " 40 " in rows[2]


def test_the_raw_mail_bench_reads_every_mail_back(tmp_path: Path) -> None:
    out = _bench("raw_mail.py", "--mails", "40", "--repeat", "1", "--data", str(tmp_path / "mail"))
    assert "this tree: reading every raw mail back" in out and "40 raw mails" in out
    assert "(skeleton)" in _bench("raw_mail.py", "--parts", "--repeat", "1")
