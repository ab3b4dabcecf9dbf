"""Hostile PDFs and images, made small: what a few kilobytes can ask of a decoder."""

from __future__ import annotations

import base64
import struct
import zlib
from email.utils import format_datetime

from demo.data import pdf_document
from tests.hardening.generate import START


def _pages(count: int, page: bytes, *extra: bytes, box: bytes = b"0 0 595 842") -> bytes:
    """``count`` pages, each the object ``page`` (object 3 onwards), ``extra`` objects after."""
    kids = b" ".join(b"%d 0 R" % (n + 3) for n in range(count))
    return pdf_document(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d /MediaBox [%s] >>" % (kids, count, box),
            *[page] * count,
            *extra,
        ]
    )


def many_pages(count: int) -> bytes:
    """A PDF of ``count`` empty pages (about 60 bytes each)."""
    return _pages(count, b"<< /Type /Page /Parent 2 0 R >>")


def huge_pages(count: int) -> bytes:
    """Pages of 200 × 200 inches (the most PDF allows) with a user unit of 75,000: a page
    rendered at 200 dpi would be billions of pixels. Each holds black squares from corner to
    corner, as many as a vector barcode has, so that the whole page is searched."""
    squares = b"".join(b"%d %d 60 60 re " % (n * 142, n * 142) for n in range(100))
    stream = b"<< /Length %d >>\nstream\n0 g %sf\nendstream" % (len(squares) + 6, squares)
    page = b"<< /Type /Page /Parent 2 0 R /UserUnit 75000 /Contents %d 0 R >>" % (count + 3)
    return _pages(count, page, stream, box=b"0 0 14400 14400")


def inflating_page(megabytes: int) -> bytes:
    """One page whose content stream is a megabyte or two of deflate that inflates to
    ``megabytes``: one flushed block of a megabyte of spaces, repeated (its checksum is wrong,
    which a reader only sees after it has inflated it all)."""
    packer = zlib.compressobj(9)
    first = packer.compress(b" " * (1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(b" " * (1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
    data = first + block * (megabytes - 1) + packer.flush()
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(data), data)
    return _pages(1, b"<< /Type /Page /Parent 2 0 R /Contents %d 0 R >>" % 4, stream)


def slow_pages(count: int, strokes: int) -> bytes:
    """Pages of ``strokes`` page-wide diagonal strokes each: kilobytes that take minutes to
    draw."""
    content = b"0.1 w " + b"0 0 m 595 842 l 595 0 l 0 842 l S " * strokes
    data = zlib.compress(content, 9)
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(data), data)
    page = b"<< /Type /Page /Parent 2 0 R /Contents %d 0 R >>" % (count + 3)
    return _pages(count, page, stream)


def png_bomb(side: int) -> bytes:
    """A valid 1-bit PNG of ``side`` × ``side`` pixels, all black: it compresses about 1,000×."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = bytes(1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def mail_with_files(n: int, subject: str, files: list[tuple[str, str, bytes]]) -> bytes:
    """A shop's mail with ``files`` (name, MIME type, bytes) attached; ``n`` makes it unique."""
    parts = ["--=files=\nContent-Type: text/plain; charset=utf-8\n\nYour documents are attached.\n"]
    for name, mime, data in files:
        encoded = base64.encodebytes(data).decode("ascii")
        parts.append(
            f'--=files=\nContent-Type: {mime}; name="{name}"\n'
            f'Content-Disposition: attachment; filename="{name}"\n'
            f"Content-Transfer-Encoding: base64\n\n{encoded}"
        )
    return (
        "From: Shop <service@shop.example.com>\nTo: sanne@example.org\n"
        f"Subject: {subject}\nDate: {format_datetime(START)}\n"
        f"Message-ID: <documents-{n}@shop.example.com>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="=files="\n\n' + "".join(parts) + "--=files=--\n"
    ).encode()
