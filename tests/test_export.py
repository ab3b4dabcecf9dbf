"""Full export: JSON Lines per table plus files, documented, private, readable without kluis."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.share.cli import run
from tests.fixtures.share.vaults import fill_profile, import_share_mail, ingest
from tests.support import mail
from vault.records import Attachment
from vault.store import Store


@pytest.fixture
def filled(store: Store, cli_env: Path) -> Store:
    fill_profile(store)
    import_share_mail(store)
    invoice = mail(20, sender="Shop <billing@shop.example>", title="Invoice")
    invoice.attachments = [
        Attachment("../../etc/passwd", "text/plain", b"not really"),
        Attachment("invoice.pdf", "application/pdf", b"%PDF-1.4 one"),
        Attachment("invoice.pdf", "application/pdf", b"%PDF-1.4 two"),
    ]
    ingest(store, invoice)
    return store


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_export_writes_one_json_lines_file_per_table_and_documents_them(
    filled: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    status, _, err = run(capsys, "export", "--out", str(out))
    assert status == 0, err
    schema = json.loads((out / "schema.json").read_text())
    assert schema["format"] == "kluis-export"
    for table in ("company", "interaction", "attachment", "profilefield", "disclosure",
                  "gdpr_request", "booking"):  # fmt: skip
        assert (out / f"{table}.jsonl").exists()
        assert len(_lines(out / f"{table}.jsonl")) == schema["tables"][table]["rows"]
        assert f"## {table}" in (out / "README.md").read_text()
    assert not (out / "blob.jsonl").exists() and not list(out.glob("interaction_fts*"))
    items = _lines(out / "interaction.jsonl")
    sent = next(i for i in items if i["title"] == "Taart bestellen")
    assert sent["direction"] == "out" and sent["recipients"] == [
        "Bakkerij de Korenschoof <bestel@korenschoof.example>"
    ]
    assert str(sent["occurred_at_iso"]).startswith("2024-05-14T08:30:00+02:00")
    raw = (out / str(sent["raw_file"])).read_bytes()
    assert b"Subject: Taart bestellen" in raw
    profile = {(r["key"], r["value"]) for r in _lines(out / "profilefield.jsonl")}
    assert ("iban", "NL91ABNA0417164300") in profile


def test_attachments_are_files_with_safe_unique_names(
    filled: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    run(capsys, "export", "--out", str(out))
    files = [str(row["file"]) for row in _lines(out / "attachment.jsonl")]
    assert [Path(f).name for f in files] == ["passwd", "invoice.pdf", "invoice (2).pdf"]
    assert [(out / f).read_bytes() for f in files] == [
        b"not really",
        b"%PDF-1.4 one",
        b"%PDF-1.4 two",
    ]
    assert all((out / f).resolve().is_relative_to(out.resolve()) for f in files)


def test_the_export_folder_and_every_file_in_it_are_private(
    filled: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    run(capsys, "export", "--out", str(out))
    for path in [out, *out.rglob("*")]:
        expected = 0o700 if path.is_dir() else 0o600
        assert path.stat().st_mode & 0o777 == expected, path


def test_export_refuses_a_folder_that_is_not_empty(
    filled: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    status, _, err = run(capsys, "export", "--out", str(out))
    assert status == 2 and "not an empty folder" in err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_importing_the_core_loads_no_exporter_or_validation_library() -> None:
    code = (
        "import sys, vault, cli.share, vault.profile, vault.ledger, vault.backup;"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('exports', 'phonenumbers', 'schwifty', 'pyzipper', 'vobject', 'jsonschema')];"
        "print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=Path(__file__).parents[1],
    )  # fmt: skip
    assert result.stdout.strip() == "[]"
