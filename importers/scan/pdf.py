"""A PDF's text and the barcodes on its pages, with pypdfium2 (PDFium), in the reader child."""

from __future__ import annotations

import ctypes
import math
import re
import time
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from importers.scan.found import MAX_PAGES, MAX_TEXT, SCAN_PIXELS, TIME_BUDGET, Barcode, Scan
from importers.scan.images import MAX_SIDE, add_barcodes, barcodes_in
from importers.scan.regions import Box, barcode_boxes

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
            scan.areas += page.areas
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


Searched = Literal["full", "reduced", "stopped", "none"]
"""How a page was searched for barcodes: at ``RENDER_DPI``, at less (a huge page), not at all
(time ran out), or not needed (nothing on it can be a barcode)."""


class _Page(NamedTuple):
    text: str
    barcodes: list[Barcode]
    searched: Searched
    areas: int = 0
    """How many areas of the page were drawn and searched."""


def _read_page(page: Any, deadline: float) -> _Page:
    """The text of one page, and the barcodes where ``barcode_boxes`` says one can be."""
    try:
        textpage = page.get_textpage()
        text = clean_text(textpage.get_text_range())[:MAX_TEXT]
        textpage.close()
        if time.monotonic() > deadline:
            return _Page(text, [], "stopped")
        boxes = barcode_boxes(page.raw, deadline)
        if boxes is None:
            return _Page(text, [], "stopped")
        barcodes: list[Barcode] = []
        searched: Searched = "none"
        areas = 0
        for box in boxes:
            image, how = _render_box(page, box, deadline)
            if how == "stopped":
                searched = how
                break
            if searched != "reduced":
                searched = how
            if image is not None:
                areas += 1
                add_barcodes(barcodes, barcodes_in(image))
        return _Page(text, barcodes, searched, areas)
    finally:
        page.close()


def _render_box(page: Any, box: Box, deadline: float) -> tuple[PilImage | None, Searched]:
    """``box`` of the page drawn in gray at ``RENDER_DPI``, or at less if that would be more
    than ``SCAN_PIXELS`` or ``MAX_SIDE`` (None if not even one pixel would be left, or if
    ``deadline`` came first)."""
    import pypdfium2.raw as pdfium_c

    full = RENDER_DPI / 72
    width, height = box.right - box.left, box.top - box.bottom
    scale = min(full, math.sqrt(SCAN_PIXELS / box.area), MAX_SIDE / width, MAX_SIDE / height)
    searched: Searched = "full" if scale >= full else "reduced"
    page_width, page_height = page.get_size()
    size = (math.ceil(page_width * scale), math.ceil(page_height * scale))
    xs, ys = [], []
    for x, y in ((box.left, box.bottom), (box.right, box.top)):
        device_x, device_y = ctypes.c_int(), ctypes.c_int()
        pdfium_c.FPDF_PageToDevice(page.raw, 0, 0, *size, 0, x, y, device_x, device_y)
        xs.append(min(max(device_x.value, 0), size[0]))
        ys.append(min(max(device_y.value, 0), size[1]))
    area = (min(xs), min(ys), max(xs), max(ys))
    if area[2] - area[0] < 1 or area[3] - area[1] < 1:
        return None, searched
    image = _render(page, area, size, deadline)
    return image, searched if image is not None else "stopped"


def _render(
    page: Any, area: tuple[int, int, int, int], size: tuple[int, int], deadline: float
) -> PilImage | None:
    """``area`` (device pixels: left, top, right, bottom) of the page drawn at ``size``, in
    gray; None if ``deadline`` came first.

    PDFium's progressive rendering asks between drawing steps whether to pause: a page of a
    million strokes (a few kilobytes compressed) would otherwise draw for minutes.
    """
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    width, height = area[2] - area[0], area[3] - area[1]
    bitmap = pdfium.PdfBitmap.new_native(width, height, pdfium_c.FPDFBitmap_Gray)
    bitmap.fill_rect((255, 255, 255, 255), 0, 0, width, height)
    pause = pdfium_c.IFSDK_PAUSE(version=1)
    pause.NeedToPauseNow = type(pause.NeedToPauseNow)(lambda _: time.monotonic() > deadline)
    flags = pdfium_c.FPDF_GRAYSCALE | pdfium_c.FPDF_ANNOT
    status = pdfium_c.FPDF_RenderPageBitmap_Start(
        bitmap, page, -area[0], -area[1], *size, 0, flags, pause
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
