"""A PDF's text and the barcodes on its pages, with pypdfium2 (PDFium), in the reader child."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from importers.scan import MAX_PAGES, MAX_TEXT, SCAN_PIXELS, TIME_BUDGET, Barcode, Scan
from importers.scan.images import MAX_SIDE, add_barcodes, barcodes_in

if TYPE_CHECKING:
    from PIL.Image import Image as PilImage

RENDER_DPI = 200
"""Enough for the PDF417 of a boarding pass (modules of about 0.3 mm) to be read."""

_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")
_BLANK_LINES = re.compile(r"\n{3,}")


def read_pdf(data: bytes, deadline: float) -> Scan:
    """The text of the first pages and the barcodes on them; limits reached become notes."""
    import pypdfium2 as pdfium

    scan = Scan()
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        # "Failed to load document (PDFium: Data format error)."
        reason = str(exc).partition("PDFium: ")[2].rstrip(").").casefold() or str(exc)
        scan.notes.append(
            "not read: it is protected by a password"
            if "password" in reason
            else f"not read: not a readable PDF ({reason})"
        )
        return scan
    try:
        pages = len(document)
        texts: list[str] = []
        reduced: list[str] = []
        for index in range(min(pages, MAX_PAGES)):
            page = _read_page(document[index], deadline)
            texts.append(page.text)
            add_barcodes(scan.barcodes, page.barcodes)
            if page.searched == "reduced":
                reduced.append(str(index + 1))
            if page.searched == "stopped":
                scan.notes.append(
                    f"stopped at page {index + 1} of {pages:,}: the {TIME_BUDGET:.0f} s a "
                    "document may take were spent"
                )
                break
        else:
            if pages > MAX_PAGES:
                scan.notes.append(f"read the first {MAX_PAGES} of {pages:,} pages")
        if reduced:
            scan.notes.append(
                f"page {', '.join(reduced)} searched for barcodes at a lower resolution (too large)"
            )
        scan.text = "\n\n".join(t for t in texts if t)
        if len(scan.text) > MAX_TEXT:
            scan.text = scan.text[:MAX_TEXT]
            scan.notes.append(f"text cut at {MAX_TEXT:,} characters")
    finally:
        document.close()
    return scan


@dataclass(slots=True)
class _Page:
    text: str
    barcodes: list[Barcode]
    searched: Literal["full", "reduced", "stopped"]
    """Searched for barcodes at ``RENDER_DPI``, at less (a huge page), or not (time ran out)."""


def _read_page(page: Any, deadline: float) -> _Page:
    """The text and barcodes of one page."""
    try:
        textpage = page.get_textpage()
        text = clean_text(textpage.get_text_range())[:MAX_TEXT]
        textpage.close()
        if time.monotonic() > deadline:
            return _Page(text, [], "stopped")
        width, height = page.get_size()
        full = RENDER_DPI / 72
        scale = full
        if width > 0 and height > 0:
            scale = min(
                full, math.sqrt(SCAN_PIXELS / (width * height)), MAX_SIDE / width, MAX_SIDE / height
            )
        if width * scale < 1 or height * scale < 1:
            return _Page(text, [], "reduced")
        image = _render(page, math.ceil(width * scale), math.ceil(height * scale), deadline)
        if image is None:
            return _Page(text, [], "stopped")
        return _Page(text, barcodes_in(image), "full" if scale >= full else "reduced")
    finally:
        page.close()


def _render(page: Any, width: int, height: int, deadline: float) -> PilImage | None:
    """The page in gray, ``width`` × ``height`` pixels; None if ``deadline`` came first.

    PDFium's progressive rendering asks between drawing steps whether to pause: a page of a
    million strokes (a few kilobytes compressed) would otherwise draw for minutes.
    """
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    bitmap = pdfium.PdfBitmap.new_native(width, height, pdfium_c.FPDFBitmap_Gray)
    bitmap.fill_rect((255, 255, 255, 255), 0, 0, width, height)
    pause = pdfium_c.IFSDK_PAUSE(version=1)
    pause.NeedToPauseNow = type(pause.NeedToPauseNow)(lambda _: time.monotonic() > deadline)
    flags = pdfium_c.FPDF_GRAYSCALE | pdfium_c.FPDF_ANNOT
    status = pdfium_c.FPDF_RenderPageBitmap_Start(
        bitmap, page, 0, 0, width, height, 0, flags, pause
    )
    while status == pdfium_c.FPDF_RENDER_TOBECONTINUED and time.monotonic() <= deadline:
        status = pdfium_c.FPDF_RenderPage_Continue(page, pause)
    pdfium_c.FPDF_RenderPage_Close(page)
    image = bitmap.to_pil() if status == pdfium_c.FPDF_RENDER_DONE else None
    bitmap.close()
    return image


def clean_text(text: str) -> str:
    """Extracted text fit to store and show: controls but tab and newline removed, every line
    stripped, runs of blank lines cut to one."""
    text = _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
