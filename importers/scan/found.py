"""What reading a PDF or image found (``Scan``, ``Barcode``) and the limits both sides keep.

The reader child (``importers.scan.child``) imports this module and not the package: the
package brings kluis's record model, and this module nothing but ``typing`` (which Pillow and
pypdfium2 load anyway), so a reader starts with little more than the interpreter. For the same
reason the classes here are a ``NamedTuple`` and a class of slots, not dataclasses (whose
import costs the child more than all of kluis's own modules it runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import Any

MAX_BYTES = 20 * 1024 * 1024
MAX_ATTACHMENTS = 10
MAX_PAGES = 10
MAX_TEXT = 100_000
MAX_IMAGE_PIXELS = 50_000_000
SCAN_PIXELS = 8_000_000
MAX_BARCODES = 20
MAX_BARCODE_CHARS = 4096
TIME_BUDGET = 5.0
MAIL_SECONDS = 10.0
READ_SECONDS = 10
READER_MEMORY = 512 * 1024 * 1024


class Barcode(NamedTuple):
    """One barcode found in a file."""

    symbology: str
    """``PDF417``, ``Aztec``, ``QRCode`` or ``DataMatrix``."""
    text: str | None
    """What it encodes, or None for binary content (a UIC rail ticket's compressed data)."""
    size: int
    """How many bytes it encodes."""

    def line(self) -> str:
        """The barcode as one line of the item's text."""
        content = self.text if self.text is not None else f"binary data, {self.size:,} bytes"
        return f"{self.symbology} barcode: {content}"


class Scan:
    """What reading one PDF or image gave: text, barcodes, and notes on what was not read.

    ``areas`` is how many page areas and pictures were searched for barcodes (a figure, not
    shown)."""

    __slots__ = ("areas", "barcodes", "filename", "notes", "text")

    def __init__(
        self,
        filename: str = "",
        text: str = "",
        barcodes: list[Barcode] | None = None,
        notes: list[str] | None = None,
        areas: int = 0,
    ) -> None:
        self.filename = filename
        self.text = text
        self.barcodes: list[Barcode] = [] if barcodes is None else barcodes
        self.notes: list[str] = [] if notes is None else notes
        self.areas = areas

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"Scan({fields})"

    def section(self) -> str:
        """The file's part of its item's text: a heading, the text, the barcodes, the notes."""
        lines = [self.text.strip()] if self.text.strip() else []
        lines += [code.line() for code in self.barcodes]
        lines += [f"Note: {note}" for note in self.notes]
        return f"── {self.filename} ──\n" + "\n".join(lines) if lines else ""

    def to_json(self) -> dict[str, Any]:
        """The scan as the reader child sends it."""
        return {
            "text": self.text,
            "barcodes": [list(code) for code in self.barcodes],
            "notes": self.notes,
            "areas": self.areas,
        }

    @classmethod
    def from_json(cls, data: Any, filename: str) -> Scan:
        """A scan from the reader's reply; anything not of the agreed shape is dropped."""
        if not isinstance(data, dict):
            return cls(filename, notes=["the reader's reply was not understood"])
        text = data.get("text")
        codes = data.get("barcodes")
        notes = data.get("notes")
        areas = data.get("areas")
        return cls(
            filename=filename,
            text=text[:MAX_TEXT] if isinstance(text, str) else "",
            barcodes=[
                Barcode(
                    str(c[0]), c[1][:MAX_BARCODE_CHARS] if isinstance(c[1], str) else None, c[2]
                )
                for c in (codes if isinstance(codes, list) else [])[:MAX_BARCODES]
                if isinstance(c, list) and len(c) == 3 and isinstance(c[2], int)
            ],
            notes=[n for n in (notes if isinstance(notes, list) else []) if isinstance(n, str)],
            areas=areas if isinstance(areas, int) else 0,
        )
