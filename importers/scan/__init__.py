"""What is inside attached PDFs and images: their text and their barcodes.

Boarding passes, rail tickets and invoices often come only as a PDF or a picture. ``scan``
reads such a file: the text of a PDF's pages (for search and the detail view) and the barcodes
(PDF417, Aztec, QR, DataMatrix) on its pages or in the image, which ``importers.bookings.tickets``
turns into bookings.

Reading untrusted PDFs and images is the riskiest work kluis does: a few kilobytes can inflate
to gigabytes, ask for a billion pixels or send a decoder into a loop, and a PDF engine that runs
out of memory aborts its process. So the decoders (pypdfium2, Pillow, zxing-cpp) never run in
kluis's own processes: a reader child (``importers.scan.child``) does the work under a memory
limit and an alarm, and this side waits for it with a deadline (``importers.scan.sandbox``). The
heavy libraries are loaded only there, and only when a PDF or image is met. A PDF page's text is
always read; the page is drawn and searched for barcodes only where something on it could be one
(``importers.scan.regions``): most attached PDFs are text, and drawing is nearly all the cost.

Limits (``importers.scan.found``), each ending in a note rather than an error (the file itself is
always kept as it is):

- files over ``MAX_BYTES`` are not read; of one mail, at most ``MAX_ATTACHMENTS`` files are,
  and no more once ``MAIL_SECONDS`` were spent on its files;
- a PDF is read up to its first ``MAX_PAGES`` pages and ``MAX_TEXT`` characters;
- images over ``MAX_IMAGE_PIXELS`` are refused before anything is decoded; pages and images are
  searched for barcodes at ``SCAN_PIXELS`` at most;
- a document's reading stops between pages once ``TIME_BUDGET`` seconds are spent, the reader
  is ended after ``READ_SECONDS``, and it may use ``READER_MEMORY`` bytes.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Literal

from importers.scan.found import MAIL_SECONDS, MAX_ATTACHMENTS, MAX_BYTES, Barcode, Scan
from vault.records import Attachment

__all__ = [
    "MAIL_SECONDS",
    "MAX_ATTACHMENTS",
    "MAX_BYTES",
    "Barcode",
    "Kind",
    "Scan",
    "kind_of",
    "scan_attachments",
    "scan_document",
    "with_scans",
]

Kind = Literal["pdf", "image"]

_PDF_MAGIC = b"%PDF-"
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
_PDF_TYPES = ("application/pdf", "application/x-pdf")
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/pjpeg", "image/gif", "image/webp")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
_CACHE_BYTES = 4 * 1024 * 1024
"""What the remembered scans may hold, their text counted with ``_ENTRY_BYTES`` each."""
_ENTRY_BYTES = 512
# The same logo or pass comes with many mails: what it held is remembered by its hash, in each
# process (a parse worker starts with its parent's), the least recently used forgotten first.
_cache: OrderedDict[tuple[Kind, str], Scan] = OrderedDict()
_cache_lock = threading.Lock()
_cached_bytes = 0


def kind_of(filename: str, mime: str, data: bytes) -> Kind | None:
    """``pdf`` or ``image`` if the file is one by its first bytes or by what it claims to be."""
    name = filename.casefold()
    if _PDF_MAGIC in data[:1024] or mime in _PDF_TYPES or name.endswith(".pdf"):
        return "pdf"
    if data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return "image"
    if mime in _IMAGE_TYPES or name.endswith(_IMAGE_SUFFIXES):
        return "image"
    return None


def scan_document(data: bytes, kind: Kind, filename: str) -> Scan:
    """Read one PDF or image in the reader child; never raises (trouble becomes a note)."""
    if len(data) > MAX_BYTES:
        return Scan(filename, notes=[_too_big(len(data))])
    key = (kind, hashlib.sha256(data).hexdigest())
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return Scan(
                filename, cached.text, list(cached.barcodes), list(cached.notes), cached.areas
            )
    from importers.scan.sandbox import ReaderFailed, read_in_sandbox

    try:
        scan = Scan.from_json(read_in_sandbox(kind, data), filename)
    except ReaderFailed as exc:
        return Scan(filename, notes=[f"not read: {exc}"])
    _remember(key, scan)
    return scan


def _remember(key: tuple[Kind, str], scan: Scan) -> None:
    """Keep ``scan`` for ``key``, forgetting the oldest past ``_CACHE_BYTES``."""
    global _cached_bytes
    with _cache_lock:
        if key in _cache:
            return
        _cache[key] = scan
        _cached_bytes += _size(scan)
        while _cached_bytes > _CACHE_BYTES and _cache:
            _cached_bytes -= _size(_cache.popitem(last=False)[1])


def _size(scan: Scan) -> int:
    return _ENTRY_BYTES + len(scan.text) + sum(len(code.text or "") for code in scan.barcodes)


def scan_attachments(attachments: list[Attachment]) -> list[Scan]:
    """The scans of a mail's PDFs and images, in order. Past ``MAX_ATTACHMENTS`` files or
    ``MAIL_SECONDS`` of reading, the rest get only a note."""
    scans: list[Scan] = []
    started = time.monotonic()
    for attachment in attachments:
        kind = kind_of(attachment.filename, attachment.mime, attachment.data)
        if kind is None:
            continue
        if len(scans) >= MAX_ATTACHMENTS:
            note = f"not read: kluis reads the first {MAX_ATTACHMENTS} PDFs and images of a mail"
        elif time.monotonic() - started > MAIL_SECONDS:
            note = f"not read: the {MAIL_SECONDS:.0f} s kluis gives one mail's files were spent"
        else:
            scans.append(scan_document(attachment.data, kind, attachment.filename))
            continue
        scans.append(Scan(attachment.filename, notes=[note]))
    return scans


def with_scans(body: str, scans: list[Scan]) -> str:
    """``body`` followed by what the scans found, so that search finds it too."""
    sections = [section for scan in scans if (section := scan.section())]
    return "\n\n".join([body, *sections] if body.strip() else sections)


def _too_big(size: int) -> str:
    return f"not read: {size:,} bytes is more than the {MAX_BYTES // 2**20} MB kluis reads"
