"""importers.files: what every importer may open, and how much of it it reads."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from importers.files import LongLine, Source, capped_lines, name_reason, open_file, read_at_most
from vault.errors import RefusedInput


def test_lines_are_given_as_written_and_a_long_one_only_by_its_size_and_head() -> None:
    text = b"short\r\n" + b"x" * 100 + b"\n" + b"y" * 10 + b"\nlast without a line end"

    lines = list(capped_lines(io.BytesIO(text), total=1000, what="chat", limit=10))

    assert lines == [
        b"short\r\n",
        LongLine(100, b"x" * 11),
        b"y" * 10 + b"\n",
        LongLine(23, b"last withou"),
    ]


def test_a_line_of_exactly_the_limit_is_kept() -> None:
    lines = list(capped_lines(io.BytesIO(b"0123456789\n0123456789"), total=100, what="x", limit=10))

    assert lines == [b"0123456789\n", b"0123456789"]


def test_a_stream_over_its_total_is_refused_even_when_it_says_nothing_of_its_size() -> None:
    endless = io.BufferedReader(io.BytesIO(b"line\n" * 1000))  # no fileno: no size to trust

    with pytest.raises(RefusedInput, match="over the 1 KB limit"):
        list(capped_lines(endless, total=1024, what="chat"))
    with pytest.raises(RefusedInput, match="over the 1 KB limit"):
        read_at_most(io.BytesIO(b"z" * 5000), 1024, "member")


def test_a_file_that_reports_no_size_is_read_to_its_end_and_no_further() -> None:
    with open_file(Path("/proc/self/status")) as handle:  # st_size 0, content a few KB
        data = read_at_most(handle, 1024 * 1024, "status")

    assert b"VmHWM" in data


def test_devices_fifos_and_links_out_are_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "source").mkdir()
    (tmp_path / "secret").write_bytes(b"not yours")
    (tmp_path / "source" / "link").symlink_to(tmp_path / "secret")
    source = Source(tmp_path / "source")

    for path, reason in (
        (Path("/dev/zero"), "a character device, not a regular file"),
        (fifo, "a FIFO (named pipe), not a regular file"),
    ):
        with pytest.raises(RefusedInput, match=re.escape(reason)):
            open_file(path)
    with pytest.raises(RefusedInput, match="leads out of the source folder"):
        source.read(tmp_path / "source" / "link", 100)


def test_the_chosen_file_may_be_a_link_and_links_inside_are_followed(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.eml").write_bytes(b"chosen")
    folder = tmp_path / "export"
    (folder / "photos").mkdir(parents=True)
    (folder / "photos" / "a.png").write_bytes(b"photo")
    (folder / "alias.png").symlink_to(folder / "photos" / "a.png")
    (folder / "chosen.eml").symlink_to(tmp_path / "elsewhere.eml")

    assert Source(folder / "chosen.eml").read(folder / "chosen.eml", 100) == b"chosen"
    assert Source(folder).read(folder / "alias.png", 100) == b"photo"
    with pytest.raises(RefusedInput):
        Source(folder).read(folder / "chosen.eml", 100)  # not chosen when the folder is


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("https://example.com/a.png", "URL"),
        ("/etc/passwd", "absolute"),
        ("C:\\Users\\x", "absolute"),
        ("photos/../../x", ".."),
        ("photos\\..\\..\\x", ".."),
        ("a\x00b", "NUL"),
    ],
)
def test_names_a_file_gives_that_lead_anywhere_else_are_refused(name: str, reason: str) -> None:
    assert reason in (name_reason(name) or "")
    assert name_reason("messages/inbox/shop_1/photos/a.png") is None
