"""Barcodes in images (Pillow to decode, zxing-cpp to find), in the reader child."""

from __future__ import annotations

import io
import math
import warnings
from typing import TYPE_CHECKING

from importers.scan.found import (
    MAX_BARCODE_CHARS,
    MAX_BARCODES,
    MAX_IMAGE_PIXELS,
    SCAN_PIXELS,
    Barcode,
    Scan,
)

if TYPE_CHECKING:
    from PIL.Image import Image

MAX_SIDE = 10_000
"""The longest side, in pixels, of what is searched for barcodes."""
FORMATS = ["PNG", "JPEG", "GIF", "WEBP"]
"""The only decoders Pillow may use: a file claiming another format is not read."""
_NAMES = {"QRCode": "QR"}


def read_image(data: bytes) -> Scan:
    """The barcodes in a PNG, JPEG, GIF (first frame) or WebP image; a note only when a limit
    stopped the reading."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS  # Pillow's own guard, behind the check below
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    scan = Scan()
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                scan.notes.append(_too_many_pixels((width, height)))
                return scan
            factor = _reduction(width, height)
            # JPEG decodes straight to gray at 1/2, 1/4 or 1/8 of its size: less work and memory.
            image.draft("L", (width // factor, height // factor))
            gray = _gray(image, _reduction(*image.size))
    except Image.DecompressionBombError:
        scan.notes.append(_too_many_pixels())
        return scan
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        # No note: a picture is searched only for a barcode, and one that cannot be decoded
        # (truncated, an unsupported variant, not an image at all) hides nothing else.
        return scan
    scan.barcodes = barcodes_in(gray)
    scan.areas = 1
    return scan


def barcodes_in(image: Image) -> list[Barcode]:
    """The PDF417, Aztec, QR and DataMatrix codes in ``image``, each once."""
    import zxingcpp

    formats = zxingcpp.BarcodeFormat
    found = zxingcpp.read_barcodes(
        image,
        formats=zxingcpp.BarcodeFormats(
            [formats.PDF417, formats.Aztec, formats.QRCode, formats.DataMatrix]
        ),
        text_mode=zxingcpp.TextMode.Plain,
    )
    codes: list[Barcode] = []
    add_barcodes(
        codes,
        [
            Barcode(
                symbology=_NAMES.get(code.format.name, code.format.name),
                text=None
                if code.content_type == zxingcpp.ContentType.Binary
                else code.text[:MAX_BARCODE_CHARS],
                size=len(code.bytes),
            )
            for code in found
        ],
    )
    return codes


def add_barcodes(codes: list[Barcode], new: list[Barcode]) -> None:
    """Add the ``new`` codes not in ``codes`` yet, up to ``MAX_BARCODES``."""
    for code in new:
        if code not in codes and len(codes) < MAX_BARCODES:
            codes.append(code)


def _reduction(width: int, height: int) -> int:
    """The factor that brings an image within ``SCAN_PIXELS`` and ``MAX_SIDE``."""
    by_area = math.sqrt(width * height / SCAN_PIXELS)
    return max(1, math.ceil(by_area), math.ceil(max(width, height) / MAX_SIDE))


def _gray(image: Image, factor: int) -> Image:
    """``image`` in 8-bit gray, made ``factor`` times smaller, transparent parts white (barcode
    PNGs are often drawn on nothing, which would otherwise turn black)."""
    import PIL.Image

    transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    mode = "RGBA" if transparent else "L"
    if image.mode != mode:  # convert() to the same mode would copy it, a 200 MB copy at 50 MP
        image = image.convert(mode)
    if factor > 1:
        image = image.reduce(factor)
    if transparent:
        white = PIL.Image.new("RGBA", image.size, "white")
        image = PIL.Image.alpha_composite(white, image).convert("L")
    # Still the opened file (gray already, small enough): its pixels, in a plain image zxing
    # takes (at most SCAN_PIXELS bytes).
    return image if type(image) is PIL.Image.Image else image.copy()


def _too_many_pixels(size: tuple[int, int] | None = None) -> str:
    pixels = f"{size[0]:,} × {size[1]:,} pixels is" if size else "it has"
    return f"not read: {pixels} more than the {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels kluis decodes"
