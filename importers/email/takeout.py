"""Google Takeout mail: Gmail's mbox with its labels and threads.

Takeout writes ``Takeout/Mail/All mail Including Spam and Trash.mbox`` (or one ``.mbox`` per
chosen label). It is read by ``importers.email.mbox``; each message also carries ``X-GM-LABELS``
(comma-separated, quoted when a label holds a comma, RFC 2047-encoded when not ASCII) and
``X-GM-THRID`` (Gmail's thread id). The labels are kept as ``extras["labels"]``: a mail labelled
only ``Spam`` or ``Trash`` is imported like any other, and its labels say so.

The thread is Gmail's whenever ``X-GM-THRID`` is there, not only for mails without References:
the first mail of a conversation has no References, so a References-first rule would put it in
another thread than its replies, while Gmail's id keeps the conversation the user saw together.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from importers.archive import is_zip, member_names, zip_aware
from importers.email import mbox
from importers.email.decode import decode_encoded_words, unfold_header
from importers.email.message import parse_message
from importers.files import Source, peek
from vault.errors import RefusedInput, UnsupportedFormat
from vault.records import ImportOptions, Interaction, Item, Quarantined, Skipped

TAKEOUT_MEMBER = re.compile(r"(?:^|/)Takeout/Mail/[^/]+\.mbox$", re.IGNORECASE)
"""Where Takeout puts Gmail's mbox, inside its zip or its unpacked folder."""

_GMAIL_HEADER = re.compile(rb"^X-GM-(?:THRID|LABELS)[ \t]*:", re.IGNORECASE | re.MULTILINE)
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_HEAD_LIMIT = 65536
_SNIFF_BYTES = 65536


def sniff(path: Path) -> bool:
    """True for a Gmail mbox (its first mail has ``X-GM-THRID`` or ``X-GM-LABELS``), a folder
    holding one (``Takeout/Mail/*.mbox``, ``Mail/*.mbox`` or ``*.mbox``) or any mbox in
    ``Takeout/Mail/`` (by its place, as in the zip), or a Takeout zip."""
    try:
        if is_zip(path):
            return any(TAKEOUT_MEMBER.search(name) for name in member_names(path))
        if path.is_dir():
            return any(
                _is_gmail_mbox(file) or (_named_takeout(file) and mbox.sniff(file))
                for file in _mbox_files(path)
            )
        return _is_gmail_mbox(path)
    except OSError:
        return False


def looks_like_gmail(head: bytes) -> bool:
    """True if the first mail of an mbox (its first bytes, ``head``) has Gmail's headers."""
    _, _, mail = head.partition(b"\n")
    return _GMAIL_HEADER.search(_header_block(mail)) is not None


def parsing_ahead(path: Path) -> AbstractContextManager[None]:
    """The parse pool started now if the biggest Takeout mbox in ``path`` (or ``path``
    itself) is parsed in it (``importers.email.mbox.pool_ahead_for``); none for a zip."""
    if is_zip(path):
        return nullcontext()
    within = Source(path.resolve())
    files = [f for f in _mbox_files(path) if within.contains(f)] if path.is_dir() else [path]
    biggest = 0
    for file in files:
        with contextlib.suppress(OSError):
            biggest = max(biggest, file.stat().st_size)
    return mbox.pool_ahead_for(biggest)


@zip_aware("takeout")
def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Yield the mails of a Takeout mbox, or of every ``.mbox`` in a Takeout folder, with
    Gmail's labels and threads; a ``Checkpoint`` after each mail, as for any mbox.

    An ``.mbox`` in the folder that is a link leading out of it, a FIFO or a device is
    quarantined with the reason, unread.

    Raises:
        UnsupportedFormat: a folder with no ``.mbox`` file in the Takeout places.
        MalformedInput: a file that is not an mbox.
    """
    if not path.is_dir():
        yield from mbox.read_file(path, options, parse_gmail_message, Source(path))
        return
    files = sorted(_mbox_files(path))
    if not files:
        raise UnsupportedFormat(f"{path}: no Takeout mail here (Takeout/Mail/*.mbox)")
    within = Source(path)
    for file in files:
        try:
            yield from mbox.read_file(file, options, parse_gmail_message, within)
        except RefusedInput as exc:
            yield Quarantined(str(file), b"", exc.reason)
    yield from _other_parts(path)


def _other_parts(folder: Path) -> Iterator[Skipped]:
    """The parts of an unpacked Takeout beside its mail (``Chrome``, ``Google Photos``, the
    ``archive_browser.html`` index), and what in ``Mail/`` is not a mailbox: named, not read."""
    top = folder if folder.name == "Takeout" else folder / "Takeout"
    if not top.is_dir():
        return
    for part in sorted(top.iterdir()):
        if part.name != "Mail":
            yield Skipped(
                str(part), f"Google Takeout's {part.name!r} part: kluis reads only its Mail"
            )
    mail = top / "Mail"
    if mail.is_dir():
        for other in sorted(mail.iterdir()):
            if other.suffix.lower() != ".mbox" or other.is_dir():
                yield Skipped(str(other), "in Takeout's Mail part, but not a mailbox (.mbox)")


def parse_gmail_message(
    raw: bytes, source_ref: str, options: ImportOptions
) -> Interaction | Quarantined:
    """``parse_message`` plus Gmail's labels (``extras["labels"]``) and thread."""
    item = parse_message(raw, source_ref, options)
    if not isinstance(item, Interaction):
        return item
    head = _header_block(raw)
    labels = _header(head, b"X-GM-LABELS")
    if labels is not None:
        item.extras["labels"] = split_labels(labels)
    thread = (_header(head, b"X-GM-THRID") or "").strip()
    if thread.isdigit():
        item.extras["gmail_thread"] = thread
        item.thread_key = f"gmail:{thread}"
    return item


def split_labels(value: str) -> list[str]:
    """Gmail's label list: ``Inbox,"Work, old",=?UTF-8?Q?Caf=C3=A9?=`` →
    ``["Inbox", "Work, old", "Café"]`` (each once, in order)."""
    labels: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value + ",":
        if escaped:
            current.append(char)
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            label = decode_encoded_words("".join(current).strip())
            if label and label not in labels:
                labels.append(label)
            current = []
        else:
            current.append(char)
    return labels


def _header(head: bytes, name: bytes) -> str | None:
    """The first header ``name`` in a header block, unfolded; None if absent."""
    pattern = rb"^" + re.escape(name) + rb"[ \t]*:([^\n]*(?:\n[ \t][^\n]*)*)"
    match = re.search(pattern, head, re.IGNORECASE | re.MULTILINE)
    if match is None:
        return None
    return unfold_header(match.group(1).decode("utf-8", "surrogateescape")).strip()


def _header_block(mail: bytes) -> bytes:
    """A mail's bytes up to the first blank line, at most 64 KiB."""
    head = mail[:_HEAD_LIMIT]
    blank = _BLANK_LINE.search(head)
    return head[: blank.start()] if blank else head


def _named_takeout(file: Path) -> bool:
    """An ``.mbox`` in ``Takeout/Mail`` (where Takeout puts mail, whatever its headers)."""
    return TAKEOUT_MEMBER.search(file.as_posix()) is not None


def _is_gmail_mbox(file: Path) -> bool:
    return mbox.sniff(file) and looks_like_gmail(peek(file, _SNIFF_BYTES))


def _mbox_files(folder: Path) -> Iterator[Path]:
    """The ``.mbox`` files in the places Takeout uses: here, ``Mail/``, ``Takeout/Mail/``."""
    for place in (folder, folder / "Mail", folder / "Takeout" / "Mail"):
        if place.is_dir():
            yield from (file for file in place.glob("*.mbox") if not file.is_dir())
