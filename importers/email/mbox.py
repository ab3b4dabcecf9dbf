"""The mbox importer: one file of many mails, streamed and resumed by byte offset.

An mbox is a run of messages, each opened by a ``From `` line (the "From_ line": sender and
delivery time). The file is read in chunks and cut at From_ lines, so memory holds one message
plus one chunk, whatever the mailbox size. Body lines that began with ``From `` were quoted by
the writer (mboxo: ``>From``; mboxrd: one more ``>`` on any ``>…From``); one ``>`` is taken off
again. CRLF files and a last message without a trailing newline read like any other.

After each message comes a ``Checkpoint`` (``mbox:<resolved path>``) holding the offset after it
and a short hash of the 64 bytes before that offset. A later import of the same file continues at
that offset when the file is the same or only grew (mail appended); if it shrank or its bytes
before the offset changed (compacted, rewritten), it starts over and dedup keeps duplicates at zero.

``split`` takes any binary stream, so zip members (``importers.archive``) and Google Takeout
(``importers.email.takeout``) share this reader.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any

from importers.archive import zip_aware
from importers.email.message import FULL_RECORD_MODULES, parse_message
from importers.files import Source, peek
from vault.errors import InputError, MalformedInput
from vault.pool import map_in_pool, packed_ahead, workers_ahead
from vault.records import Checkpoint, ImportOptions, Interaction, Item, Position, Quarantined

MAX_MESSAGE_BYTES = 100 * 1024 * 1024
"""A message larger than this is quarantined (without its bytes) instead of held in memory."""

POOL_MIN_BYTES = 4 * 1024 * 1024
"""From this much mail on, parsing runs in a process pool (below it, start-up costs more)."""
CHUNK_BYTES = 1024 * 1024
TAIL_BYTES = 64
"""How many bytes before a resume offset must be unchanged for the import to continue there."""

MessageParser = Callable[[bytes, str, ImportOptions], Interaction | Quarantined]
"""``parse_message`` or a variant of it (Takeout adds Gmail's labels)."""

_SUFFIXES = frozenset({"", ".mbox", ".mbx"})
_SNIFF_BYTES = 4096
_MAX_FROM_LINE = 1024
_SEPARATOR = b"\nFrom "
# A From_ line names a sender (an address, "-" or MAILER-DAEMON) and a delivery time with a
# year, in asctime or RFC 5322 order; a body line that merely starts with "From " rarely does.
_FROM_LINE = re.compile(rb"From \S+[ \t]+(?=[^\n]*\d{1,2}:\d\d)(?=[^\n]*\d{4})")
_HEADER_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")
_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class MboxMessage:
    """One message of an mbox and where it lies in the stream."""

    start: int
    """Offset of its From_ line."""
    end: int
    """Offset just after it: the next From_ line, or the end of the stream."""
    raw: bytes | None
    """The mail without its From_ line and separator, unquoted; None if over the size limit,
    or left in ``file``."""
    tail: str
    """Short hash of the 64 bytes before ``end`` (see ``tail_hash``)."""
    file: MboxFile | None = None
    """Where the mail is to be read (``MboxFile.read``) when ``raw`` was not copied out."""


@dataclass(frozen=True, slots=True)
class MboxFile:
    """The mbox file of a pooled import, as its parse workers read it again.

    The importing process only finds where each mail starts and ends; each worker reads its
    mails from the file itself instead of having every byte sent through a pipe (the mail
    copied out, pickled, written, read and unpickled: on the bench's plain 5,000 mails, with
    large attachments, the import takes 0.93× the time it took so, and the importing
    process's peak is 106 MB instead of 121). The file is opened again only if it is the very
    one the import opened (same device and inode), and a mail is taken only if its bytes are
    still those the import split (a From_ line where it starts, the same hash of its last 64
    bytes)."""

    path: str
    device: int
    inode: int

    def read(self, message: MboxMessage) -> bytes | str:
        """``message``'s mail (as ``MboxMessage.raw``), or why it cannot be read again."""
        lead = max(0, min(message.start, message.end - TAIL_BYTES))
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)  # a FIFO: no wait
        except OSError as exc:
            return f"the mbox could not be opened again: {exc.strerror or exc}"
        try:
            opened = os.fstat(fd)
            if (opened.st_dev, opened.st_ino) != (self.device, self.inode):
                return "the mbox was replaced while it was imported"
            data = os.pread(fd, message.end - lead, lead)
        except OSError as exc:
            return f"the mbox could not be read again: {exc.strerror or exc}"
        finally:
            os.close(fd)
        head = message.start - lead
        if (
            len(data) != message.end - lead
            or tail_hash(data[-TAIL_BYTES:]) != message.tail
            or not is_from_line(data[head : head + _MAX_FROM_LINE])
        ):
            return "the mbox changed while it was imported"
        return unquoted_mail(data, head, len(data))


def sniff(path: Path) -> bool:
    """True for a file (no extension, ``.mbox`` or ``.mbx``) whose first line is a From_ line
    followed by a header, or an Apple Mail ``.mbox`` folder with such an ``mbox`` file inside."""
    file = _mbox_file(path)
    if file.suffix.lower() not in _SUFFIXES and file.name != "mbox":
        return False
    return looks_like_mbox(peek(file, _SNIFF_BYTES))


def looks_like_mbox(head: bytes) -> bool:
    """True if ``head`` (a stream's first bytes) starts with a From_ line and then a header."""
    first, newline, rest = head.partition(b"\n")
    return bool(newline) and is_from_line(first) and _HEADER_LINE.match(rest) is not None


def is_from_line(line: bytes | bytearray) -> bool:
    """True if ``line`` is an mbox separator: ``From sender date``."""
    return _FROM_LINE.match(line) is not None


@zip_aware("mbox")
def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Yield each mail of the mbox at ``path``, each followed by a ``Checkpoint``.

    Raises:
        InputError: the file cannot be opened.
        RefusedInput: it is not a regular file, or (Apple's ``mbox`` in a folder) leads out.
        MalformedInput: the file does not start with a From_ line, so it is not an mbox.
    """
    return read_file(_mbox_file(path), options, parse_message, Source(path))


def parsing_ahead(path: Path) -> AbstractContextManager[None]:
    """The parse pool started now if the mbox at ``path`` is big enough to be parsed in it
    (``vault.pool.workers_ahead``): its workers get ready while the vault is unlocked."""
    try:
        size = _mbox_file(path).stat().st_size
    except OSError:
        size = 0
    return pool_ahead_for(size)


def pool_ahead_for(size: int) -> AbstractContextManager[None]:
    """The parse pool started now if an mbox of ``size`` bytes is parsed in it, else nothing."""
    return (
        workers_ahead(_parsed, preload=FULL_RECORD_MODULES)
        if size >= POOL_MIN_BYTES
        else nullcontext()
    )


def read_file(
    path: Path, options: ImportOptions, parse: MessageParser, within: Source
) -> Iterator[Item]:
    """``read`` with a chosen message parser, of a file ``within`` a source; resumes from
    ``options.cursors`` when it can.

    Raises:
        InputError: the file cannot be opened.
        RefusedInput: it is not a regular file inside ``within``.
        MalformedInput: the file does not start with a From_ line, so it is not an mbox.
    """
    source = f"mbox:{path.resolve()}"
    try:
        handle = within.open(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with handle:
        stat = os.fstat(handle.fileno())
        start = resume_offset(handle, stat.st_size, options.cursors.get(source))
        state = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        parse_one = partial(_parsed, ref=str(path), parse=parse, options=options)
        # Parsing is a third of an import's CPU: on a big mbox it runs in worker processes
        # (DESIGN: a pool of 2) while a thread of this process splits and the ingest writes;
        # the workers read the mails from the file themselves.
        if stat.st_size - start >= POOL_MIN_BYTES and not options.owner_sample:
            file = MboxFile(str(path.resolve()), stat.st_dev, stat.st_ino)
            parsed: Iterator[tuple[Interaction | Quarantined, int, str]] = map_in_pool(
                parse_one, split(handle, start, file), weigh=_size, preload=FULL_RECORD_MODULES
            )
        else:
            parsed = map(parse_one, split(handle, start))
        try:
            for item, end, tail in parsed:
                yield item
                yield Checkpoint(
                    source,
                    {**state, "offset": end, "tail": tail},
                    Position(end, stat.st_size, "bytes", path.name),
                )
        except MalformedInput as exc:
            raise MalformedInput(f"{path}: {exc}") from None


def _parsed(
    message: MboxMessage, *, ref: str, parse: MessageParser, options: ImportOptions
) -> tuple[Interaction | Quarantined, int, str]:
    """One message's record and where the next one starts (picklable, for the pool)."""
    return packed_ahead(message_item(message, ref, parse, options)), message.end, message.tail


def resume_offset(handle: IO[bytes], size: int, cursor: dict[str, Any] | None) -> int:
    """Where to continue reading ``handle``: the cursor's offset if the file before it is
    unchanged and a message (or the end) starts there, else 0."""
    if not cursor:
        return 0
    offset, stored_size = cursor.get("offset"), cursor.get("size")
    if not isinstance(offset, int) or not isinstance(stored_size, int):
        return 0
    if not 0 < offset <= size or size < stored_size:
        return 0
    handle.seek(offset - min(offset, TAIL_BYTES))
    before = handle.read(min(offset, TAIL_BYTES))
    after = handle.read(5)
    if tail_hash(before) != cursor.get("tail") or after not in (b"", b"From "):
        return 0
    return offset


def tail_hash(data: bytes) -> str:
    """A short hash of the bytes before a resume offset."""
    return hashlib.sha256(data).hexdigest()[:16]


def message_item(
    message: MboxMessage, ref: str, parse: MessageParser, options: ImportOptions
) -> Interaction | Quarantined:
    """The record of one message; ``ref#offset`` tells the user where it is in the mbox."""
    source_ref = f"{ref}#{message.start}"
    raw = message.raw if message.file is None else message.file.read(message)
    if isinstance(raw, str):
        return Quarantined(source_ref, b"", raw)
    if raw is None:
        megabytes = (message.end - message.start) // (1024 * 1024)
        limit = MAX_MESSAGE_BYTES // (1024 * 1024)
        return Quarantined(source_ref, b"", f"mail is {megabytes} MB, over the {limit} MB limit")
    return parse(raw, source_ref, options)


def _size(message: MboxMessage) -> int:
    """The bytes of ``message`` in the file: the pool's ``weigh``, the mail not being read."""
    return message.end - message.start


def split(stream: IO[bytes], start: int = 0, file: MboxFile | None = None) -> Iterator[MboxMessage]:
    """Cut a binary stream into mbox messages, from offset ``start`` (a From_ line) on; with
    ``file`` (the stream's file), each mail is left there to be read (``MboxMessage.file``).

    ``stream`` needs to be seekable only when ``start`` is not 0. An empty stream has no
    messages.

    Raises:
        MalformedInput: the stream does not start with a From_ line.
    """
    return _Splitter(stream, start, file).messages()


class _Splitter:
    """Holds the current message (plus one chunk and a 64-byte tail) and nothing more."""

    def __init__(self, stream: IO[bytes], start: int, file: MboxFile | None) -> None:
        self._stream = stream
        self._file = file
        self._buf = bytearray()
        self._base = start  # stream offset of _buf[0]
        self._eof = False
        self._head = 0  # index of the current message's From_ line
        self._scan = 0  # where the search for the next From_ line goes on
        self._start = start  # stream offset of the current message
        self._kept = True  # False once the current message outgrew MAX_MESSAGE_BYTES
        if start:
            # The bytes just before the start feed the tail hash of a short first message.
            before = min(start, TAIL_BYTES)
            stream.seek(start - before)
            self._buf += stream.read(before)
            self._base, self._head = start - before, before

    def messages(self) -> Iterator[MboxMessage]:
        first_end = self._line_end(self._head)
        if first_end == self._head and self._eof:
            return  # an empty mbox, or nothing after the resume offset
        if first_end < 0 or not is_from_line(self._buf[self._head : first_end]):
            raise MalformedInput("not an mbox: it does not start with a 'From ' line")
        self._scan = first_end
        while True:
            hit = self._buf.find(_SEPARATOR, self._scan)
            if hit < 0:
                # The separator may straddle the chunk boundary: search its last bytes again.
                self._scan = max(self._scan, len(self._buf) - len(_SEPARATOR) + 1)
                if not self._read_more():
                    break
                continue
            line_end = self._line_end(hit + 1)
            if line_end >= 0 and is_from_line(self._buf[hit + 1 : line_end]):
                yield self._cut(hit + 1)
                self._scan = line_end
            else:
                self._scan = hit + 1
        yield self._cut(len(self._buf))

    def _line_end(self, pos: int) -> int:
        """Index of the newline ending the line at ``pos`` (or the end of the stream); -1 if
        the line is too long to be a From_ line."""
        while True:
            found = self._buf.find(b"\n", pos, pos + _MAX_FROM_LINE)
            if found >= 0:
                return found
            if len(self._buf) >= pos + _MAX_FROM_LINE:
                return -1
            if self._eof or not self._append():
                return len(self._buf)

    def _append(self) -> bool:
        chunk = self._stream.read(CHUNK_BYTES)
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    def _read_more(self) -> bool:
        """Drop what is no longer needed, then read the next chunk; False at the end."""
        if self._kept and len(self._buf) - self._head > MAX_MESSAGE_BYTES:
            self._kept = False
        # Keep the current message (unless it is too big), and TAIL_BYTES before what is kept.
        keep_from = self._head if self._kept else self._scan
        self._drop(keep_from - TAIL_BYTES)
        return not self._eof and self._append()

    def _drop(self, count: int) -> None:
        if count <= 0:
            return
        del self._buf[:count]
        self._base += count
        self._head = max(0, self._head - count)
        self._scan -= count

    def _cut(self, end: int) -> MboxMessage:
        """The message from the current head to buffer index ``end``; the next starts there."""
        copied = self._kept and self._file is None
        raw = unquoted_mail(self._buf, self._head, end) if copied else None
        tail = tail_hash(bytes(self._buf[max(0, end - TAIL_BYTES) : end]))
        file = self._file if self._kept else None
        message = MboxMessage(self._start, self._base + end, raw, tail, file)
        self._head, self._start, self._kept = end, self._base + end, True
        return message


def unquoted_mail(buf: bytes | bytearray, head: int, end: int) -> bytes:
    """The mail of ``buf`` from its From_ line at ``head`` to ``end``: without the From_ line,
    the separating blank line and the quoting, copied out of the buffer once (a 5 MB mail was
    copied four times, each into fresh pages)."""
    line_end = buf.find(b"\n", head, end)
    if line_end < 0:
        return b""
    start = line_end + 1
    if end - start >= 4 and buf[end - 4 : end] == b"\r\n\r\n":
        end -= 2
    elif end - start >= 2 and buf[end - 2 : end] == b"\n\n":
        end -= 1
    with memoryview(buf) as view:  # released before the buffer is resized again
        mail = bytes(view[start:end])
    if b">From " in mail:
        mail = _QUOTED_FROM.sub(rb"\1", mail)
    return mail


def _mbox_file(path: Path) -> Path:
    """Apple Mail exports a mailbox as a ``Name.mbox`` folder holding a file named ``mbox``."""
    return path / "mbox" if path.is_dir() else path
