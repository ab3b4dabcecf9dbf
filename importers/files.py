"""How importers touch files: only inside the chosen source, only regular files, never unbounded.

Every importer opens what it reads through this module, so three rules hold for all of them:

- **Confined.** A ``Source`` is the folder the user chose (or the folder of the export it lies
  in). A path found inside it, or a name a file gives (a Messenger ``uri``, a WhatsApp or Telegram
  media name), is resolved with every link followed and must stay inside: ``..``, absolute names
  and links leading out are refused with a one-line reason, which the importer quarantines (or
  notes beside a missing attachment) before it goes on.
- **Regular files only.** Files are opened non-blocking and checked with ``fstat`` on the open
  descriptor: a FIFO, a device or a socket, even one swapped in after a listing, is refused at
  once instead of hanging or reading forever. Links inside a source are opened by their resolved
  path with ``O_NOFOLLOW``, and on Linux the opened descriptor's own path is checked again.
- **Bounded.** Reads stop one byte past their limit whatever size the file claims; line-based
  formats read line by line, and a line over ``MAX_LINE_BYTES`` is skipped to its end (only its
  first bytes kept) and reported as a ``LongLine``.

It also keeps a file's identity for resume cursors: a file whose size and modification time match
its stored cursor was imported whole before and is skipped; anything else is read again (dedup
keeps that at zero duplicates).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

from vault.errors import InputError, RefusedInput
from vault.fsutil import file_kind
from vault.records import Checkpoint
from vault.text import byte_size

CHUNK_BYTES = 1024 * 1024
"""Reads go in steps of this size past what a file's size announced."""

MAX_LINE_BYTES = 1024 * 1024
"""A line of a line-based format (a chat text, a calendar) longer than this is not kept."""

LONG_LINE_HEAD = 256
"""How much of a line over the limit is kept: enough to see what it started as."""

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # opening a FIFO must not wait for a writer
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass(frozen=True, slots=True)
class LongLine:
    """A line over the limit, in place of the line: its size and its first bytes."""

    size: int
    head: bytes


# --- reading -------------------------------------------------------------------------------------


def open_file(path: str | Path, *, within: Source | None = None) -> BinaryIO:
    """``path`` opened for reading if it is a regular file (checked on the open descriptor).

    With ``within``, ``path`` must be resolved already (``Source.inside``): its last part is not
    followed if it is a link, and the file opened must be one the source allows.

    Raises:
        RefusedInput: a FIFO, device, socket or link, or (``within``) a file outside the source.
        OSError: the file cannot be opened (missing, no permission).
    """
    try:
        fd = os.open(path, _OPEN_FLAGS | (_NOFOLLOW if within is not None else 0))
    except OSError as exc:
        if exc.errno in (errno.ENXIO, errno.ELOOP, errno.EOPNOTSUPP):  # a socket, a link
            raise RefusedInput(path, _not_regular(_lstat_mode(path))) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise RefusedInput(path, _not_regular(mode))
        if within is not None and not within.allows(_opened_path(fd, path)):
            raise RefusedInput(path, _OUTSIDE)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def open_source(path: Path) -> BinaryIO:
    """The file the user chose to import, opened if it is a regular file.

    Raises:
        RefusedInput: not a regular file.
        InputError: it cannot be opened.
    """
    try:
        return open_file(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def read_source(path: Path, limit: int) -> bytes:
    """The bytes of the file the user chose to import, at most ``limit``.

    Raises:
        RefusedInput: not a regular file, or larger than ``limit``.
        InputError: it cannot be read.
    """
    with open_source(path) as handle:
        try:
            return read_at_most(handle, limit, path)
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def read_at_most(stream: IO[bytes], limit: int, what: object) -> bytes:
    """Read ``stream`` to its end, refusing it once it passes ``limit`` bytes.

    The size a file reports is used to refuse early and to read in one piece, never trusted as
    the end: a file that grows, or a special file that says 0, is read in bounded chunks.

    Raises:
        RefusedInput: more than ``limit`` bytes (``what`` names the stream in the message).
    """
    size = _reported_size(stream)
    if size is not None and size > limit:
        raise RefusedInput(what, too_large(size, limit))
    first = stream.read(min(size if size is not None else CHUNK_BYTES, limit) + 1)
    if size is not None and len(first) <= size:
        return first
    chunks, total = [first], len(first)
    while total <= limit:
        chunk = stream.read(min(CHUNK_BYTES, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
    raise RefusedInput(what, f"over the {byte_size(limit)} limit")


def capped_lines(
    stream: IO[bytes], total: int, what: object, limit: int = MAX_LINE_BYTES
) -> Iterator[bytes | LongLine]:
    """The lines of ``stream`` as written (with their ``\\n``); a line over ``limit`` bytes is
    read past, never held (memory stays at one limit), and given as a ``LongLine``.

    Raises:
        RefusedInput: the stream says or turns out to hold more than ``total`` bytes.
    """
    size = _reported_size(stream)
    if size is not None and size > total:
        raise RefusedInput(what, too_large(size, total))
    seen = 0
    while line := stream.readline(limit + 1):
        seen += len(line)
        if len(line) <= limit or line.endswith(b"\n"):
            kept: bytes | LongLine = line
        else:
            length = len(line)
            while (rest := stream.readline(CHUNK_BYTES)) and not rest.endswith(b"\n"):
                length += len(rest)
                seen += len(rest)
                if seen > total:
                    break
            seen += len(rest)
            kept = LongLine(length + len(rest.rstrip(b"\n")), line[:LONG_LINE_HEAD])
        if seen > total:
            raise RefusedInput(what, f"over the {byte_size(total)} limit")
        yield kept


def peek(path: Path, count: int) -> bytes:
    """The first ``count`` bytes of a regular file, for sniffing; empty for anything else."""
    try:
        with open_file(path) as handle:
            return handle.read(count)
    except (OSError, RefusedInput):
        return b""


def is_file(path: Path) -> bool:
    """True for a regular file (a link to one counts): what sniffing may open."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def named_as(path: Path, suffixes: tuple[str, ...]) -> bool | None:
    """What a path's name tells sniffing: True for a regular file ending in one of ``suffixes``
    (any case), False for anything that is not a regular file, None for a regular file named
    otherwise (its content must tell)."""
    if not is_file(path):
        return False
    return True if path.suffix.casefold() in suffixes else None


def too_large(size: int, limit: int) -> str:
    """The reason for a refusal by size: ``over the 100 MB limit (120.5 MB)``."""
    return f"over the {byte_size(limit)} limit ({byte_size(size)})"


def long_line_reason(number: int, line: LongLine, limit: int = MAX_LINE_BYTES) -> str:
    """The reason a line was left out: ``line 2 is 200.0 MB, over the 1.0 MB limit of a line``."""
    return f"line {number} is {byte_size(line.size)}, over the {byte_size(limit)} limit of a line"


# --- confinement ---------------------------------------------------------------------------------


_OUTSIDE = "leads out of the source folder (a link or a path outside it): not read"


class Source:
    """What an import may read: the path the user chose (a link to it is followed) and
    everything in the folder it is or lies in.

    Paths are compared resolved, every link followed: a file, a folder or a link in the source
    that leads out of it is refused, and so is a name with ``..`` or an absolute one.
    """

    __slots__ = ("_chosen", "_folders", "_prefix", "root")

    def __init__(self, path: Path, *, root: Path | None = None) -> None:
        """The source of ``path``; ``root`` widens it to the export ``path`` lies in (a
        Messenger thread's export folder)."""
        folder = root if root is not None else path if path.is_dir() else path.parent
        self.root = Path(os.path.realpath(folder))
        # Plain strings from here on: pathlib's parsing was most of the cost of a confined read
        # (200 µs a file, now 60), so the os.path spellings below are on purpose.
        self._chosen = os.path.realpath(path)
        self._prefix = os.path.join(self.root, "")  # noqa: PTH118
        self._folders: dict[str, str] = {}

    def resolve(self, path: Path) -> str:
        """``path`` with every link followed, as ``os.path.realpath`` gives it; each folder is
        resolved once (a maildir's 20,000 files share two), the file itself every time."""
        folder, name = os.path.split(path)
        real = self._folders.get(folder)
        if real is None:
            real = self._folders[folder] = os.path.realpath(folder)
        resolved = os.path.join(real, name)  # noqa: PTH118
        return os.path.realpath(resolved) if os.path.islink(resolved) else resolved  # noqa: PTH114

    def allows(self, resolved: str) -> bool:
        """True for a resolved path the source may read."""
        return resolved == self._chosen or f"{resolved}{os.sep}".startswith(self._prefix)

    def contains(self, path: Path) -> bool:
        """True if ``path``, resolved, lies in the source."""
        return self.allows(self.resolve(path))

    def inside(self, path: Path) -> str:
        """``path`` resolved, if it lies in the source.

        Raises:
            RefusedInput: it leads out of the source.
        """
        resolved = self.resolve(path)
        if not self.allows(resolved):
            raise RefusedInput(path, _OUTSIDE)
        return resolved

    def join(self, name: str, base: Path | None = None) -> Path:
        """A name a file of the source gives (a ``uri``, a media file name) as a path in
        ``base`` (the source's folder if not given); ``read`` checks where it leads.

        Raises:
            RefusedInput: the name is absolute, a URL, or has ``..``.
        """
        reason = name_reason(name)
        if reason is not None:
            raise RefusedInput(name, f"{reason}: not read")
        return (base if base is not None else self.root) / name

    def open(self, path: Path) -> BinaryIO:
        """``path`` opened, if it is a regular file inside the source (see ``open_file``).

        Raises:
            RefusedInput: outside the source, or not a regular file.
            OSError: it cannot be opened.
        """
        try:
            return open_file(self.inside(path), within=self)
        except RefusedInput as exc:
            raise RefusedInput(path, exc.reason) from None

    def read(self, path: Path, limit: int) -> bytes:
        """The bytes of a regular file inside the source, at most ``limit``.

        Raises:
            RefusedInput: outside the source, not a regular file, or over ``limit``.
            OSError: it cannot be read.
        """
        with self.open(path) as handle:
            return read_at_most(handle, limit, path)


def name_reason(name: str) -> str | None:
    """Why a relative name from a source (a zip member, a ``uri``) must not be opened, or None:
    empty, a URL, absolute (``/``, ``\\``, a drive), with ``..`` or a NUL byte."""
    if not name:
        return "its name is empty"
    if "://" in name:
        return "its name is a URL"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "its name is an absolute path"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return "its name leads out of the source (..)"
    if "\x00" in name:
        return "its name holds a NUL byte"
    return None


def _opened_path(fd: int, path: str | Path) -> str:
    """Linux: the path the kernel gives the open descriptor, so a folder swapped for a link
    between resolving and opening is caught; elsewhere the path as resolved before opening."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")  # noqa: PTH115
    except OSError:
        return str(path)


def _lstat_mode(path: str | Path) -> int:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return 0


def _not_regular(mode: int) -> str:
    return f"{file_kind(mode)}, not a regular file: not read"


def _reported_size(stream: IO[bytes]) -> int | None:
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return None  # a zip member, a pipe: no size to go by


# --- resume cursors ------------------------------------------------------------------------------


def file_state(path: Path) -> tuple[str, dict[str, int]]:
    """(cursor key, state) of a file: its resolved path, size and mtime.

    Raises:
        InputError: the file cannot be read.
    """
    try:
        info = path.stat()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return str(path.resolve()), {"size": info.st_size, "mtime_ns": info.st_mtime_ns}


def unchanged(cursor: Mapping[str, Any] | None, state: Mapping[str, int]) -> bool:
    """True if the stored cursor records this very state (the file was imported as it is)."""
    return cursor is not None and all(cursor.get(key) == value for key, value in state.items())


def file_checkpoint(path: Path) -> Checkpoint:
    """The checkpoint saying all of ``path`` has been read."""
    return Checkpoint(*file_state(path))
