"""Where on a PDF page a barcode can be, from the page's objects, before anything is drawn.

Drawing a page and searching its pixels is nearly all the cost of reading a PDF; most attached
PDFs (invoices, letters, terms) are text and rules, where no barcode can be. So a page is
searched only where something could draw one, as KDE KItinerary decides it:

- a picture (embedded, inline, a stencil mask, inside a form), but not a line (thinner than
  ``MIN_LINE_PIXELS``) or an icon (under ``MIN_CODE_PIXELS`` both ways): too few pixels for
  the modules of a code;
- dark vector paths of at least ``MIN_PATH_SEGMENTS`` segments together: a vector PDF417, QR
  or Aztec code is hundreds of rectangles; a rule under a heading or a table's lines are fewer.
  A path filled with a pattern (which may repeat a picture) counts on its own;
- text in a barcode font;
- an annotation that draws something of its own (a form field, a stamp).

Each is a box in page space; the boxes that touch are joined, and a page whose boxes cover most
of it, or that has many, is drawn whole. Runs in the reader child (pypdfium2's raw PDFium calls).
"""

from __future__ import annotations

import ctypes
import re
import time
from typing import Any, Literal, NamedTuple

MIN_CODE_PIXELS = 8
"""A picture smaller than this both ways cannot hold a 2D code (the smallest is 10 × 10)."""
MIN_LINE_PIXELS = 3
"""A picture thinner than this is a line, not a code (the flattest PDF417 is 3 rows)."""
MIN_PATH_SEGMENTS = 100
"""Dark path segments on a page from which it may hold a vector barcode (the smallest
DataMatrix, 10 × 10 modules, drawn as rectangles is about 170)."""
MAX_OBJECTS = 200_000
"""Objects looked at on one page; past them the whole page is searched."""
QUIET_POINTS = 9.0
"""White kept around each box (1/8 inch): a code's quiet zone, which zxing needs."""
WHOLE_PAGE_SHARE = 0.6
"""Boxes covering this share of a page or more: the page is drawn whole, once."""
MAX_BOXES = 16
"""More boxes than this on a page (each is drawn on its own): the page is drawn whole, once."""
_CHECK_EVERY = 512
_DEPTH = 16
_BARCODE_FONT = re.compile(
    r"barcode|bar ?code|pdf.?417|aztec|data.?matrix|qr.?code|\bqr\b|idautomation", re.IGNORECASE
)
_OWN_DRAWING = ("FPDF_ANNOT_LINK", "FPDF_ANNOT_POPUP")


class Box(NamedTuple):
    """A rectangle in page space (points, origin bottom left)."""

    left: float
    bottom: float
    right: float
    top: float

    @property
    def area(self) -> float:
        """Its area in square points."""
        return max(0.0, self.right - self.left) * max(0.0, self.top - self.bottom)

    def grown(self, by: float) -> Box:
        """The box with ``by`` points more on each side."""
        return Box(self.left - by, self.bottom - by, self.right + by, self.top + by)

    def touches(self, other: Box) -> bool:
        """Whether the two boxes overlap or meet."""
        return not (
            other.left > self.right
            or other.right < self.left
            or other.bottom > self.top
            or other.top < self.bottom
        )

    def join(self, other: Box) -> Box:
        """The smallest box holding both."""
        return Box(
            min(self.left, other.left),
            min(self.bottom, other.bottom),
            max(self.right, other.right),
            max(self.top, other.top),
        )


class _Walk:
    """One pass over a page's objects, collecting the boxes that may hold a barcode."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.boxes: list[Box] = []
        self.paths: Box | None = None
        self.segments = 0
        self.seen = 0
        self.fonts: dict[int, bool] = {}
        self.whole = False
        self.stopped = False

    def objects(self, count: int, get: Any, parent: Any, form: Box | None, depth: int = 0) -> None:
        """Look at ``count`` objects of ``parent`` (the page, or a form drawn in the page's box
        ``form``: the bounds of what is inside a form are in the form's own space)."""
        import pypdfium2.raw as pdfium_c

        for index in range(count):
            if self.whole or self.stopped:
                return
            self.seen += 1
            if self.seen % _CHECK_EVERY == 0 and time.monotonic() > self.deadline:
                self.stopped = True
                return
            if self.seen > MAX_OBJECTS:
                self.whole = True
                return
            obj = get(parent, index)
            if not obj:
                continue
            kind = pdfium_c.FPDFPageObj_GetType(obj)
            if kind == pdfium_c.FPDF_PAGEOBJ_FORM:
                outer = form or _bounds(obj)
                if outer is not None and depth < _DEPTH:
                    count_in = pdfium_c.FPDFFormObj_CountObjects(obj)
                    self.objects(count_in, pdfium_c.FPDFFormObj_GetObject, obj, outer, depth + 1)
                elif outer is not None:
                    self.boxes.append(outer)  # nested deeper than is looked at: searched whole
            elif kind == pdfium_c.FPDF_PAGEOBJ_IMAGE and _big_enough(obj):
                self._add(form or _bounds(obj))
            elif kind == pdfium_c.FPDF_PAGEOBJ_PATH and (paint := _paint(obj)) != "light":
                box = form or _bounds(obj)
                if paint == "pattern":
                    self._add(box)
                elif box is not None:
                    self.segments += max(0, pdfium_c.FPDFPath_CountSegments(obj))
                    self.paths = box if self.paths is None else self.paths.join(box)
            elif kind == pdfium_c.FPDF_PAGEOBJ_TEXT and self._barcode_font(obj):
                self._add(form or _bounds(obj))

    def _add(self, box: Box | None) -> None:
        if box is not None:
            self.boxes.append(box)

    def _barcode_font(self, obj: Any) -> bool:
        import pypdfium2.raw as pdfium_c

        name_of = getattr(pdfium_c, "FPDFFont_GetBaseFontName", None)
        font = pdfium_c.FPDFTextObj_GetFont(obj)
        if name_of is None or not font:
            return False
        key = ctypes.cast(font, ctypes.c_void_p).value or 0
        if key not in self.fonts:
            buffer = ctypes.create_string_buffer(128)
            size = name_of(font, buffer, len(buffer))
            name = buffer.raw[: max(0, min(size, len(buffer)) - 1)].decode("latin-1")
            self.fonts[key] = bool(_BARCODE_FONT.search(name))
        return self.fonts[key]


def barcode_boxes(page: Any, deadline: float) -> list[Box] | None:
    """The boxes of ``page`` (a raw PDFium page) worth searching for barcodes, joined, grown by
    the quiet zone and cut to the page; [] if nothing on it can be one; None if ``deadline``
    passed while looking."""
    import pypdfium2.raw as pdfium_c

    page_box = _page_box(page)
    if page_box.area <= 0:
        return []  # nothing of it can be seen
    walk = _Walk(deadline)
    walk.objects(pdfium_c.FPDFPage_CountObjects(page), pdfium_c.FPDFPage_GetObject, page, None)
    if walk.stopped:
        return None
    boxes = walk.boxes
    if walk.paths is not None and walk.segments >= MIN_PATH_SEGMENTS:
        boxes.append(walk.paths)
    boxes += _annotation_boxes(page)
    if walk.whole or len(boxes) > MAX_BOXES:
        return [page_box]
    joined = _joined([box.grown(QUIET_POINTS) for box in boxes], page_box)
    if joined and sum(box.area for box in joined) >= WHOLE_PAGE_SHARE * page_box.area:
        return [page_box]
    return joined


def _joined(boxes: list[Box], page_box: Box) -> list[Box]:
    """``boxes`` cut to the page, those that touch joined (until none touch)."""
    pending = [
        Box(
            max(b.left, page_box.left),
            max(b.bottom, page_box.bottom),
            min(b.right, page_box.right),
            min(b.top, page_box.top),
        )
        for b in boxes
    ]
    pending = [b for b in pending if b.area > 0]
    joined: list[Box] = []
    while pending:
        box = pending.pop()
        merged = True
        while merged:
            merged = False
            for other in [o for o in joined if o.touches(box)]:
                joined.remove(other)
                box = box.join(other)
                merged = True
        joined.append(box)
    return joined


def _page_box(page: Any) -> Box:
    """The page's visible area (its crop box, else its media box) in page space."""
    import pypdfium2.raw as pdfium_c

    rect = pdfium_c.FS_RECTF()
    if not pdfium_c.FPDF_GetPageBoundingBox(page, rect):
        width, height = pdfium_c.FPDF_GetPageWidthF(page), pdfium_c.FPDF_GetPageHeightF(page)
        return Box(0.0, 0.0, width, height)
    return Box(
        min(rect.left, rect.right),
        min(rect.bottom, rect.top),
        max(rect.left, rect.right),
        max(rect.bottom, rect.top),
    )


def _bounds(obj: Any) -> Box | None:
    import pypdfium2.raw as pdfium_c

    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    if not pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
        return None
    box = Box(left.value, bottom.value, right.value, top.value)
    return box if box.area > 0 else None


def _big_enough(image: Any) -> bool:
    """A picture with enough pixels for a code (one whose size cannot be read counts)."""
    import pypdfium2.raw as pdfium_c

    width, height = ctypes.c_uint(), ctypes.c_uint()
    if not pdfium_c.FPDFImageObj_GetImagePixelSize(image, width, height):
        return True
    short, long = sorted((width.value, height.value))
    return short >= MIN_LINE_PIXELS and long >= MIN_CODE_PIXELS


def _paint(path: Any) -> Literal["dark", "light", "pattern"]:
    """What ``path`` paints: something dark (a barcode's bars, by fill or stroke), only light
    or nothing, or a pattern or colour that cannot be read (which may draw anything)."""
    import pypdfium2.raw as pdfium_c

    fill_mode, stroke = ctypes.c_int(), ctypes.c_int()
    if not pdfium_c.FPDFPath_GetDrawMode(path, fill_mode, stroke):
        return "pattern"
    colours = []
    if fill_mode.value:
        colours.append(pdfium_c.FPDFPageObj_GetFillColor)
    if stroke.value:
        colours.append(pdfium_c.FPDFPageObj_GetStrokeColor)
    for colour in colours:
        red, green, blue, alpha = (ctypes.c_uint() for _ in range(4))
        if not colour(path, red, green, blue, alpha):
            return "pattern"
        if alpha.value >= 128 and 0.3 * red.value + 0.59 * green.value + 0.11 * blue.value < 128:
            return "dark"
    return "light"


def _annotation_boxes(page: Any) -> list[Box]:
    """The boxes of annotations that draw something of their own (not links or pop-ups)."""
    import pypdfium2.raw as pdfium_c

    skip = {getattr(pdfium_c, name) for name in _OWN_DRAWING}
    boxes = []
    for index in range(min(pdfium_c.FPDFPage_GetAnnotCount(page), _CHECK_EVERY)):
        annot = pdfium_c.FPDFPage_GetAnnot(page, index)
        if not annot:
            continue
        try:
            rect = pdfium_c.FS_RECTF()
            if pdfium_c.FPDFAnnot_GetSubtype(annot) in skip:
                continue
            if pdfium_c.FPDFAnnot_GetRect(annot, rect):
                boxes.append(
                    Box(
                        min(rect.left, rect.right),
                        min(rect.bottom, rect.top),
                        max(rect.left, rect.right),
                        max(rect.bottom, rect.top),
                    )
                )
        finally:
            pdfium_c.FPDFPage_CloseAnnot(annot)
    return boxes
