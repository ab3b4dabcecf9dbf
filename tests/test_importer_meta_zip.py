"""Messenger and Instagram JSON exports read straight from the zip that Facebook delivers."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import importers
from cli.main import main
from importers.chat import instagram, messenger
from importers.chat.meta_zip import sibling_parts
from tests.support import chat_options, interactions, quarantined
from vault.errors import MalformedInput, UnsupportedFormat
from vault.records import Checkpoint, ImportOptions, Item

FIXTURES = Path(__file__).parent / "fixtures"
FACEBOOK = FIXTURES / "messenger" / "facebook-sannedevries-2024-04-02-Ab12Cd34"
ENERGIE = FACEBOOK / "your_facebook_activity" / "messages" / "inbox" / "energiedirect_10158427731"
PHOTO = ENERGIE / "photos" / "jaaroverzicht_2023.png"
OLD_LAYOUT = FIXTURES / "messenger" / "facebook-2019"
INSTAGRAM = FIXTURES / "instagram" / "instagram-sannedevries-2024-04-02-Xy98"
HTML_EXPORT = FIXTURES / "messenger_html" / "facebook-sannedevries-2024-05-10-Qr56St78"
ENERGIE_MEMBER = "your_facebook_activity/messages/inbox/energiedirect_10158427731"


def zipped(
    folder: Path,
    target: Path,
    *,
    extra: dict[str, bytes] | None = None,
    keep: Callable[[str], bool] = lambda name: True,
    top: str = "",
) -> Path:
    """``folder`` as the zip Facebook delivers (optionally inside a ``top`` folder)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            name = file.relative_to(folder).as_posix()
            if file.is_file() and keep(name):
                archive.write(file, top + name)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return target


def read(module: Any, path: Path, opts: ImportOptions | None = None) -> list[Item]:
    return list(module.read(path, opts or chat_options()))


def seen_by_user(items: list[Item]) -> list[tuple[Any, ...]]:
    """Everything of the interactions a user sees or dedup uses; not where they were read."""
    return [
        (
            item.dedup_key,
            item.direction,
            item.occurred_at,
            item.title,
            item.body,
            item.sender,
            item.recipients,
            item.thread_key,
            item.thread_title,
            item.hints,
            item.extras,
            item.raw,
            [(a.filename, a.mime, a.data) for a in item.attachments],
        )
        for item in interactions(items)
    ]


# --- recognising an export -----------------------------------------------------------------------


def test_json_export_zips_are_recognised_for_each_app(tmp_path: Path) -> None:
    facebook = zipped(FACEBOOK, tmp_path / "facebook-sanne.zip")
    insta = zipped(INSTAGRAM, tmp_path / "instagram-sanne.zip")
    # Member names decide, whatever the zip is called.
    renamed = zipped(INSTAGRAM, tmp_path / "download.zip")
    old = zipped(OLD_LAYOUT, tmp_path / "facebook-2019.zip")
    assert importers.detect(facebook) == "messenger" and not instagram.sniff(facebook)
    assert importers.detect(insta) == "instagram" and not messenger.sniff(insta)
    assert importers.detect(renamed) == "instagram"
    assert importers.detect(old) == "messenger"


def test_a_zip_of_other_json_is_not_taken_for_a_meta_export(tmp_path: Path) -> None:
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("data/message_1.json", b'{"messages": []}')
    assert not messenger.sniff(other) and not instagram.sniff(other)


# --- the same records as the unpacked folder -----------------------------------------------------


@pytest.mark.parametrize(
    ("module", "folder", "top"),
    [
        (messenger, FACEBOOK, ""),
        (messenger, FACEBOOK, "facebook-sannedevries-2024-04-02-Ab12Cd34/"),
        (messenger, OLD_LAYOUT, ""),
        (instagram, INSTAGRAM, ""),
    ],
    ids=["messenger", "messenger-in-a-top-folder", "messenger-2019", "instagram"],
)
def test_the_zip_gives_exactly_the_records_of_the_unpacked_folder(
    tmp_path: Path, module: Any, folder: Path, top: str
) -> None:
    from_folder = read(module, folder)
    from_zip = read(module, zipped(folder, tmp_path / f"{folder.name}.zip", top=top))
    assert seen_by_user(from_zip) == seen_by_user(from_folder)
    assert [q.reason for q in quarantined(from_zip)] == [q.reason for q in quarantined(from_folder)]


def test_liked_pages_requests_mojibake_and_media_come_from_the_zip(
    tmp_path: Path,
) -> None:
    found = interactions(read(messenger, zipped(FACEBOOK, tmp_path / "facebook-sanne.zip")))
    assert {i.hints.chat_kind for i in found if i.thread_title == "Energie Direct"} == {"page"}
    request = next(item for item in found if item.title.startswith("Je bestelling FP-20931"))
    assert request.hints.chat_kind == "request"
    assert any(item.body.startswith("Crème brûlée of niet") for item in found)
    photo = next(item for item in found if item.title.startswith("Hier is je jaaroverzicht"))
    assert [(a.filename, a.data) for a in photo.attachments] == [
        ("jaaroverzicht_2023.png", PHOTO.read_bytes())
    ]
    escaped = next(item for item in found if item.title.startswith("File: passwd"))
    assert escaped.attachments == []


def test_the_profile_file_in_the_zip_names_the_owner_of_a_single_thread(tmp_path: Path) -> None:
    archive = zipped(
        FACEBOOK,
        tmp_path / "facebook-sanne.zip",
        keep=lambda name: "messages/" not in name or name.startswith(ENERGIE_MEMBER),
    )
    found = interactions(read(messenger, archive))
    mine = next(item for item in found if item.title.startswith("Goedemorgen"))
    assert mine.direction == "out"
    assert [party.name for party in mine.recipients] == ["Energie Direct"]


def test_json_pages_win_over_html_pages_in_one_zip(tmp_path: Path) -> None:
    bol = "your_facebook_activity/messages/inbox/bolcom_3391/message_1.html"
    both = zipped(
        FACEBOOK,
        tmp_path / "facebook-both.zip",
        extra={bol: (HTML_EXPORT / bol).read_bytes()},
    )
    assert importers.detect(both) == "messenger"
    assert seen_by_user(read(messenger, both)) == seen_by_user(read(messenger, FACEBOOK))


def test_an_unchanged_zip_is_skipped_thread_by_thread(tmp_path: Path) -> None:
    archive = zipped(FACEBOOK, tmp_path / "facebook-sanne.zip")
    first = read(messenger, archive)
    cursors = {item.source: dict(item.state) for item in first if isinstance(item, Checkpoint)}
    assert len(cursors) == 3  # one per thread
    assert read(messenger, archive, chat_options(cursors=cursors)) == []


# --- broken and hostile zips ---------------------------------------------------------------------


def test_a_truncated_json_page_is_quarantined_and_the_rest_imported(tmp_path: Path) -> None:
    page = f"{ENERGIE_MEMBER}/message_1.json"
    data = (ENERGIE / "message_1.json").read_bytes()
    archive = zipped(
        FACEBOOK,
        tmp_path / "facebook-cut.zip",
        keep=lambda name: name != page,
        extra={page: data[: len(data) // 2]},
    )
    items = read(messenger, archive)
    [cut] = quarantined(items)
    # The messages before the cut are read; the rest is kept in quarantine, saying why.
    assert cut.source_ref == f"{archive}!{page}#rest"
    assert "breaks off" in cut.reason and cut.raw
    titles = [item.title for item in interactions(items)]
    assert any(title.startswith("Goedemorgen") for title in titles)  # from message_2.json
    assert any(title.startswith("Hier is je jaaroverzicht") for title in titles)


def test_a_member_leaving_the_archive_is_quarantined_unread(tmp_path: Path) -> None:
    evil = "your_facebook_activity/messages/inbox/../../../evil_1/message_1.json"
    archive = zipped(
        FACEBOOK,
        tmp_path / "facebook-slip.zip",
        extra={evil: (ENERGIE / "message_1.json").read_bytes()},
    )
    items = read(messenger, archive)
    refused = (f"{archive}!{evil}", "zip member not read: its name leads out of the source (..)")
    assert refused in [(q.source_ref, q.reason) for q in quarantined(items)]
    assert seen_by_user(items) == seen_by_user(read(messenger, FACEBOOK))


def test_a_zip_bomb_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    archive = zipped(
        FACEBOOK,
        tmp_path / "facebook-bomb.zip",
        extra={f"{ENERGIE_MEMBER}/photos/huge.png": b"\0" * (8 * 1024 * 1024)},
    )
    with pytest.raises(MalformedInput, match="zip bomb"):
        read(messenger, archive)


def test_instagram_html_in_a_zip_is_read_as_instagram(tmp_path: Path) -> None:
    archive = tmp_path / "instagram-sanne.zip"
    with zipfile.ZipFile(archive, "w") as opened:
        opened.writestr("your_instagram_activity/messages/inbox/a_1/message_1.html", "<html/>")
    assert importers.detect(archive) == "instagram"
    [empty] = quarantined(read(instagram, archive))
    assert empty.reason == "no messages found in this page (not an export page, or cut off)"


def test_a_zip_without_messages_says_so(tmp_path: Path) -> None:
    archive = zipped(FACEBOOK, tmp_path / "facebook-sanne.zip", keep=lambda n: "messages" not in n)
    with pytest.raises(UnsupportedFormat, match="no Messenger export inside this zip"):
        read(messenger, archive)


# --- a download split in parts -------------------------------------------------------------------


def split_download(folder: Path) -> tuple[Path, Path]:
    """The export in two parts: part 1 has most pages, part 2 one page, all media, the profile
    and the liked pages."""
    stem = folder / "facebook-sannedevries-2024-04-02-Ab12Cd34"
    in_first = {
        f"{ENERGIE_MEMBER}/message_1.json",
        "your_facebook_activity/messages/inbox/jorisbakker_8812004/message_1.json",
        "your_facebook_activity/messages/message_requests/fietsplaats_22310045/message_1.json",
    }
    first = zipped(FACEBOOK, Path(f"{stem}-1.zip"), keep=lambda name: name in in_first)
    second = zipped(FACEBOOK, Path(f"{stem}-2.zip"), keep=lambda name: name not in in_first)
    return first, second


def test_parts_are_found_by_name_and_a_date_is_not_a_part_number(tmp_path: Path) -> None:
    names = [
        "facebook-sanne-2024-05-10-Ab12-1.zip",
        "facebook-sanne-2024-05-10-Ab12-2.zip",
        "facebook-sanne-2024-05-10-Cd34-1.zip",
        "facebook-sanne-2024-05-10.zip",
        "facebook-sanne-2024-05-03.zip",
    ]
    for name in names:
        zipped(INSTAGRAM, tmp_path / name)
    assert [p.name for p in sibling_parts(tmp_path / names[0])] == [names[1]]
    assert sibling_parts(tmp_path / names[3]) == []


def test_a_part_finds_pages_media_and_liked_pages_in_the_other_part(
    tmp_path: Path,
) -> None:
    first, second = split_download(tmp_path / "downloads")
    assert importers.detect(second) == "messenger"  # a part with one page
    assert seen_by_user(read(messenger, first)) == seen_by_user(read(messenger, FACEBOOK))
    assert read(messenger, second) == []  # its page belongs to a thread that starts in part 1


# --- through `kluis import` into a real vault ----------------------------------------------------


def kluis(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    status = main([*args, "--json"])
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert status == (3 if args[0] == "import" and result["quarantined"] else 0), err
    return result


@pytest.fixture
def vault(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["init"]) == 0
    capsys.readouterr()
    return cli_env


def photo_size(capsys: pytest.CaptureFixture[str]) -> int:
    timeline = kluis(capsys, "timeline", "Energie Direct")
    photo = next(row for row in timeline if row["title"].startswith("Hier is je jaaroverzicht"))
    [attachment] = kluis(capsys, "show", str(photo["id"]))["attachments"]
    return int(attachment["size"])


def test_kluis_import_of_the_folder_then_the_zip_adds_nothing(
    vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = kluis(capsys, "import", str(FACEBOOK))
    assert (folder["new"], folder["quarantined"]) == (10, 1)
    archive = zipped(FACEBOOK, tmp_path / "facebook-sannedevries-2024-04-02-Ab12Cd34.zip")
    again = kluis(capsys, "import", str(archive))
    assert (again["new"], again["duplicate"]) == (0, 10)
    companies = {row["name"]: row["kind"] for row in kluis(capsys, "companies")}
    assert companies["Energie Direct"] == "company"
    assert companies["Joris Bakker"] == "person"


def test_kluis_import_of_the_zip_then_the_folder_adds_nothing(
    vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = zipped(INSTAGRAM, tmp_path / "instagram-sannedevries-2024-04-02-Xy98.zip")
    first = kluis(capsys, "import", str(archive), "--format", "instagram")
    assert (first["new"], first["quarantined"]) == (3, 0)
    assert kluis(capsys, "import", str(archive))["new"] == 0  # unchanged: nothing read
    folder = kluis(capsys, "import", str(INSTAGRAM))
    assert (folder["new"], folder["duplicate"]) == (0, 3)
    facebook = zipped(FACEBOOK, tmp_path / "facebook-sannedevries-2024-04-02-Ab12Cd34.zip")
    assert kluis(capsys, "import", str(facebook), "--format", "messenger")["new"] == 10
    assert photo_size(capsys) == PHOTO.stat().st_size


def test_kluis_import_of_both_parts_or_their_folder_finds_everything(
    vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = split_download(tmp_path / "downloads")
    parts = kluis(capsys, "import", str(first), str(second))
    assert (parts["new"], parts["quarantined"]) == (10, 1)
    assert photo_size(capsys) == PHOTO.stat().st_size
    assert kluis(capsys, "import", str(first.parent))["new"] == 0
    assert kluis(capsys, "import", str(FACEBOOK))["new"] == 0


def test_kluis_import_of_the_folder_of_parts_reads_them_all(
    vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = split_download(tmp_path / "downloads")
    zipped(INSTAGRAM, first.parent / "instagram-sannedevries-2024-04-02-Xy98.zip")
    summary = kluis(capsys, "import", str(first.parent))
    assert (summary["new"], summary["quarantined"]) == (13, 1)
    assert photo_size(capsys) == PHOTO.stat().st_size


def test_kluis_refuses_a_zip_bomb_in_one_line(
    vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = zipped(
        FACEBOOK,
        tmp_path / "facebook-bomb.zip",
        extra={f"{ENERGIE_MEMBER}/photos/huge.png": b"\0" * (8 * 1024 * 1024)},
    )
    status = main(["import", str(archive)])
    _, err = capsys.readouterr()
    assert status == 2
    assert err.startswith("kluis: ") and "zip bomb" in err and len(err.splitlines()) == 1


def test_kluis_import_quarantines_a_slip_member_and_a_cut_page_without_a_traceback(
    vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = f"{ENERGIE_MEMBER}/message_1.json"
    archive = zipped(
        FACEBOOK,
        tmp_path / "facebook-broken.zip",
        keep=lambda name: name != page,
        extra={
            page: (ENERGIE / "message_1.json").read_bytes()[:900],
            "../outside/message_1.json": b"{}",
        },
    )
    summary = kluis(capsys, "import", str(archive))
    assert summary["quarantined"] == 2
    # The folder's 10 less the 4 of the cut page after its first message (the rest quarantined).
    assert summary["new"] == 6
