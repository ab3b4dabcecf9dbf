"""Helpers for tests: records as an importer would yield them, and shared constants."""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conformance.compare import times_match
from vault import blobs, companies, ingest, migrations, models
from vault.records import CompanyHints, ImportOptions, Interaction, Item, Party, Quarantined
from vault.store import Conn, execute
from vault.unlock import create_vault

PASSPHRASE = "correct horse battery"
SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def packed_pass(folder: str, target_dir: Path) -> Path:
    """A folder of ``fixtures/pkpass`` zipped as a ``.pkpass`` (unsigned: pass.json and
    strings only)."""
    source = FIXTURES / "pkpass" / folder
    target = target_dir / f"{folder}.pkpass"
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(source).as_posix())
    return target


def options(*me: str) -> ImportOptions:
    """Import options in UTC for the given own addresses."""
    return ImportOptions(timezone=UTC, me_addresses=frozenset(m.casefold() for m in me))


def vault_at_schema(
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    version: int,
    items: list[Interaction],
    opts: ImportOptions | None = None,
) -> None:
    """A closed vault in ``folder`` as the kluis of schema ``version`` wrote it, with ``items``."""
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:version])
        patch.setattr(migrations, "SCHEMA_VERSION", version)
        # the models describe the latest schema: an older one is laid out by its migrations
        older = lambda conn: migrations.upgrade(conn, 0, version)  # noqa: E731
        patch.setattr(models, "create_schema", older)
        if version < 4:  # before schema 4 there were no period tables, and triggers indexed
            patch.setattr(ingest, "ensure_periods", lambda *_: None)
            patch.setattr(ingest, "index_new", lambda *_: None)
        if version < 5:  # before schema 5 display names had no brand flag: keep the first names
            patch.setattr(companies.CompanyResolver, "flush", lambda self: None)
        if version < 7:  # before schema 7 every blob was zlib, with no codec column
            patch.setattr(ingest, "put_blob", _zlib_blob)
        store, _ = create_vault(folder, PASSPHRASE)
        ingest.Ingestor(store, opts or options(), "test", "t").run(items)
        with store.read() as conn:
            assert migrations.current_version(conn) == version
        store.close()


def _zlib_blob(db: Conn, data: bytes | blobs.Packed) -> str:
    """``put_blob`` as kluis stored a blob up to schema 6: zlib-compressed, whatever it was."""
    raw = data if isinstance(data, bytes) else blobs.decoded(data.data, data.codec)
    digest = hashlib.sha256(raw).hexdigest()
    execute(
        db,
        "INSERT OR IGNORE INTO blob(sha256, size, data) VALUES (?, ?, ?)",
        (digest, len(raw), zlib.compress(raw, 1)),
    )
    return digest


def mail(
    n: int,
    sender: str = "KLM <noreply@klm.com>",
    *,
    to: str = "me@example.org",
    title: str | None = None,
    body: str = "Hello",
    direction: str = "in",
    when: datetime | None = None,
    hints: CompanyHints | None = None,
    thread: str | None = None,
) -> Interaction:
    """A mail record as an importer would yield it."""
    name, _, address = sender.rpartition("<")
    sender_party = Party(name.strip() or None, address.rstrip(">") or sender)
    return Interaction(
        channel="email",
        direction=direction,  # type: ignore[arg-type]
        occurred_at=when or datetime(2024, 1, 1, 12, tzinfo=UTC) + timedelta(hours=n),
        title=title or f"Mail {n}",
        body=body,
        source_ref=f"test/{n}.eml",
        dedup_key=f"msgid:{n}@test",
        sender=sender_party,
        recipients=[Party(None, to)],
        raw=f"Subject: Mail {n}\n\n{body}".encode(),
        hints=hints or CompanyHints(),
        thread_key=thread,
    )


def chat_options(*, me: str | None = None, zone: str = "UTC", **kwargs: Any) -> ImportOptions:
    """Import options for chat tests: ``me`` is the owner's name, times in ``zone``."""
    names = frozenset({me.casefold()}) if me else frozenset()
    return ImportOptions(timezone=ZoneInfo(zone), me_names=names, **kwargs)


def interactions(items: list[Item]) -> list[Interaction]:
    """The interactions among imported items."""
    return [item for item in items if isinstance(item, Interaction)]


def quarantined(items: list[Item]) -> list[Quarantined]:
    """The quarantined items among imported items."""
    return [item for item in items if isinstance(item, Quarantined)]


def corpus_params(*formats: str) -> list[Any]:
    """One pytest param per shared-corpus case of ``formats``; one that skips if it is absent."""
    expected = SHARED_CORPUS / "expected.json"
    cases = json.loads(expected.read_text(encoding="utf-8"))["cases"] if expected.is_file() else []
    chosen = [pytest.param(case, id=case["id"]) for case in cases if case["format"] in formats]
    return chosen or [pytest.param(None, id="corpus-absent")]


def corpus_case_or_skip(case: dict[str, Any] | None) -> dict[str, Any]:
    """The case, or a skip when the shared corpus is not beside this checkout."""
    if case is None:
        pytest.skip(f"the shared corpus is not at {SHARED_CORPUS}")
    return case


def case_me(case: dict[str, Any]) -> str | None:
    """The ``--me`` argument of a corpus case, if it has one."""
    args = case.get("args", [])
    return str(args[args.index("--me") + 1]) if "--me" in args else None


def item_matches(expected: dict[str, Any], item: Interaction) -> bool:
    """Whether ``item`` is what a corpus case's ``items`` entry describes (record level)."""
    sender = item.sender.display() if item.sender else ""
    text = f"{item.title}\n{item.body}".casefold()
    return all(
        [
            expected.get("channel", item.channel) == item.channel,
            expected.get("direction", item.direction) == item.direction,
            "occurred_at" not in expected
            or times_match(expected["occurred_at"], item.occurred_at.isoformat()),
            expected.get("sender_contains", "").casefold() in sender.casefold(),
            all(part.casefold() in text for part in expected.get("text_contains", [])),
        ]
    )
