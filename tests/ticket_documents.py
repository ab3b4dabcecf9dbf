"""Ticket PDFs and pictures made at test time, in the shapes senders use.

A barcode drawn by zxing-cpp's writer is placed on a page the way airlines, railways and
event sellers do: as an embedded picture (alone, in a form, as a stencil mask, inline), as
vector rectangles (one path per bar, or one path of them all), on a rotated or cropped page,
after pages of text; and in photos. ``corpus()`` names them all with the barcode text each
holds, so a test (or a before/after count) can check that every one is still found.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from demo.data import pdf_document

BOARDING_PASS = (
    (Path(__file__).parent / "fixtures" / "bcbp" / "klm-ams-vie.txt").read_text().rstrip("\r\n")
)
"""The fixtures' KLM boarding pass, one IATA BCBP line."""
A4 = (595.0, 842.0)
TEXT = [f"Line {n}: terms and conditions of carriage apply to this journey." for n in range(40)]


def code_modules(text: str, symbology: str) -> list[list[bool]]:
    """The dark modules of ``text`` encoded as ``symbology`` (zxing-cpp's name), row by row."""
    import zxingcpp

    code = zxingcpp.create_barcode(text, getattr(zxingcpp.BarcodeFormat, symbology))
    bitmap = zxingcpp.write_barcode_to_image(code, scale=1, add_quiet_zones=False)
    height, width = bitmap.shape
    pixels = bytes(memoryview(bitmap))
    return [[pixels[y * width + x] < 128 for x in range(width)] for y in range(height)]


def code_image(text: str, symbology: str, scale: int = 3, border: int = 4) -> bytes:
    """The code as 8-bit gray pixels (row-major) with a white border; see ``code_size``."""
    rows = code_modules(text, symbology)
    width = (len(rows[0]) + 2 * border) * scale
    out = bytearray(b"\xff" * width * border * scale)
    for row in rows:
        line = bytearray(b"\xff" * border * scale)
        for dark in row:
            line += (b"\x00" if dark else b"\xff") * scale
        line += b"\xff" * border * scale
        out += bytes(line) * scale
    out += b"\xff" * width * border * scale
    return bytes(out)


def code_size(text: str, symbology: str, scale: int = 3, border: int = 4) -> tuple[int, int]:
    """Pixel width and height of ``code_image`` with the same arguments."""
    rows = code_modules(text, symbology)
    return (len(rows[0]) + 2 * border) * scale, (len(rows) + 2 * border) * scale


@dataclass
class Page:
    """One page: its content stream, its images (name → image object) and page dict extras."""

    content: bytes
    images: dict[str, bytes] = field(default_factory=dict)
    forms: dict[str, bytes] = field(default_factory=dict)
    extra: bytes = b""
    box: tuple[float, float] = A4


def pdf(pages: Sequence[Page]) -> bytes:
    """A PDF of ``pages`` with Helvetica as /F1 on each."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    font = len(objects) + 1
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    kids = []
    for page in pages:
        names = []
        for name, body in {**page.images, **page.forms}.items():
            objects.append(body)
            names.append(b"/%s %d 0 R" % (name.encode(), len(objects)))
        objects.append(_stream(b"", page.content))
        contents = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Contents %d 0 R "
            b"/Resources << /Font << /F1 %d 0 R >> /XObject << %s >> >> %s >>"
            % (*page.box, contents, font, b" ".join(names), page.extra)
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    return pdf_document(objects)


def _stream(head: bytes, data: bytes) -> bytes:
    packed = zlib.compress(data)
    return b"<< %s /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (
        head,
        len(packed),
        packed,
    )


def gray_image(pixels: bytes, size: tuple[int, int], *, mask: bool = False) -> bytes:
    """An image XObject of 8-bit gray ``pixels`` (as a 1-bit stencil mask if ``mask``)."""
    width, height = size
    if not mask:
        head = b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
        return _stream(head % (width, height) + b"/BitsPerComponent 8", pixels)
    bits = bytearray()
    for y in range(height):
        row = pixels[y * width : (y + 1) * width]
        for x in range(0, width, 8):
            byte = 0
            for bit, value in enumerate(row[x : x + 8]):
                byte |= (value < 128) << (7 - bit)
            bits.append(byte)
    head = b"/Type /XObject /Subtype /Image /Width %d /Height %d /ImageMask true "
    return _stream(head % (width, height) + b"/BitsPerComponent 1 /Decode [1 0]", bytes(bits))


def text_ops(lines: Sequence[str], top: float = 800.0, size: int = 10) -> bytes:
    """Helvetica lines from ``top`` down."""
    shown = b" ".join(b"(%s) Tj 0 -14 Td" % line.encode("latin-1") for line in lines)
    return b"BT /F1 %d Tf 50 %g Td %s ET\n" % (size, top, shown)


def placed(name: str, x: float, y: float, width: float, height: float) -> bytes:
    """Draw XObject ``name`` in the box at (x, y) of ``width`` × ``height`` points."""
    return b"q %g 0 0 %g %g %g cm /%s Do Q\n" % (width, height, x, y, name.encode())


def vector_code(
    text: str, symbology: str, x: float, top: float, module: float, *, one_path: bool
) -> bytes:
    """The code drawn as black rectangles, one per run of dark modules: filled one by one
    (``one_path`` False) or all in one path."""
    rows = code_modules(text, symbology)
    rects = []
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            y = top - (r + 1) * module
            rects.append(
                b"%.2f %.2f %.2f %.2f re" % (x + start * module, y, (c - start) * module, module)
            )
    fill = b"\n" if one_path else b" f\n"
    return b"0 g\n" + fill.join(rects) + b" f\n"


def barcode_page(text: str, symbology: str, how: str) -> Page:
    """A ticket page: the traveller's text and the code placed as ``how`` says."""
    words = text_ops(["Your ticket", "Show this code at the gate.", *TEXT[:8]])
    size = code_size(text, symbology)
    pixels = code_image(text, symbology)
    width = size[0] * 72 / 200 * 1.5  # printed at about 133 dpi
    height = width * size[1] / size[0]
    if how == "image":
        return Page(
            words + placed("Im1", 60, 300, width, height), {"Im1": gray_image(pixels, size)}
        )
    if how == "mask":
        return Page(
            words + b"0 g\n" + placed("Im1", 60, 300, width, height),
            {"Im1": gray_image(pixels, size, mask=True)},
        )
    if how == "form":
        form = (
            b"/Type /XObject /Subtype /Form /BBox [0 0 1 1] "
            b"/Resources << /XObject << /Im1 %d 0 R >> >>"
        )
        # The form's image is the object just before it (see ``pdf``: images come first).
        return Page(
            words + placed("Fm1", 60, 300, width, height),
            {"Im1": gray_image(pixels, size)},
            {"Fm1": _stream(form % 4, b"q 1 0 0 1 0 0 cm /Im1 Do Q")},
        )
    if how == "inline":
        inline = b"BI /W %d /H %d /CS /G /BPC 8 /F /Fl ID\n%s\nEI\n" % (
            *size,
            zlib.compress(pixels),
        )
        return Page(words + b"q %g 0 0 %g 60 300 cm\n%s Q\n" % (width, height, inline))
    if how in ("vector", "vector-one-path"):
        module = 1.2 if symbology != "PDF417" else 0.9
        return Page(words + vector_code(text, symbology, 60, 500, module, one_path=how != "vector"))
    if how == "rotated":
        return Page(
            words + placed("Im1", 400, 80, width, height),
            {"Im1": gray_image(pixels, size)},
            extra=b"/Rotate 90",
        )
    if how == "cropped":
        return Page(
            words + placed("Im1", 300, 120, width, height),
            {"Im1": gray_image(pixels, size)},
            extra=b"/CropBox [200 50 595 500]",
        )
    raise ValueError(how)


def text_page(n: int) -> Page:
    """A page of terms and conditions: text and one rule under the heading."""
    return Page(text_ops([f"Conditions, page {n}", *TEXT]) + b"0.5 w 50 790 m 545 790 l S\n")


def photo_with_code(text: str, symbology: str, size: tuple[int, int], corner: bool) -> bytes:
    """A JPEG photo (smooth noise) of ``size`` with the code pasted in a corner or the middle."""
    import random

    from PIL import Image, ImageFilter

    rng = random.Random(7)
    width, height = size
    small = Image.frombytes(
        "RGB", (width // 40, height // 40), rng.randbytes(3 * (width // 40) * (height // 40))
    )
    photo = small.resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(2))
    code = Image.frombytes("L", code_size(text, symbology, scale=4), code_image(text, symbology, 4))
    at = (
        (width - code.width - 40, height - code.height - 40)
        if corner
        else (
            (width - code.width) // 2,
            (height - code.height) // 2,
        )
    )
    photo.paste(code.convert("RGB"), at)
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=85)
    return out.getvalue()


def corpus() -> dict[str, tuple[str, bytes, str]]:
    """name → (kind, bytes, the barcode text a reader must find)."""
    found: dict[str, tuple[str, bytes, str]] = {}
    qr = "https://tickets.example.com/t/8842-1177-0031"
    codes = {
        "PDF417": BOARDING_PASS,
        "QRCode": qr,
        "Aztec": "UIC-TEST 0080 ICE 1521",
        "DataMatrix": qr,
    }
    for symbology, text in codes.items():
        for how in (
            "image",
            "mask",
            "form",
            "inline",
            "vector",
            "vector-one-path",
            "rotated",
            "cropped",
        ):
            found[f"{symbology} {how}"] = ("pdf", pdf([barcode_page(text, symbology, how)]), text)
        smallest = vector_code("A1", symbology, 60, 500, 2.0, one_path=False)
        found[f"{symbology} smallest, vector"] = ("pdf", pdf([Page(smallest)]), "A1")
        found[f"{symbology} on page 3"] = (
            "pdf",
            pdf([text_page(1), text_page(2), barcode_page(text, symbology, "image")]),
            text,
        )
        found[f"{symbology} photo corner"] = (
            "image",
            photo_with_code(text, symbology, (3000, 2000), corner=True),
            text,
        )
    return found
