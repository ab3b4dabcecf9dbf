"""Where the reader searches for barcodes: only where one can be, and every ticket still found.

Drawing PDF pages and searching their pixels is nearly all the cost of reading attachments;
``importers.scan.regions`` picks the parts of a page that can hold a code. These tests run the
real reader child on tickets made in the shapes senders use (``tests.ticket_documents``) and
read ``Scan.areas``, the count of page areas and pictures the child searched.
"""

from __future__ import annotations

import base64
import io
from email.utils import format_datetime
from pathlib import Path

import pytest

from importers.email.message import parse_message
from importers.scan import scan_document
from tests.hardening.generate import START
from tests.support import options
from tests.ticket_documents import (
    BOARDING_PASS,
    Page,
    barcode_page,
    code_image,
    code_size,
    corpus,
    pdf,
    photo_with_code,
    text_ops,
    text_page,
)

FIXTURES = Path(__file__).parent / "fixtures" / "tickets"
QR = "https://tickets.example.com/t/8842-1177-0031"


def test_every_ticket_shape_is_still_found() -> None:
    # Pictures (alone, masked, in a form, inline), vector codes (a path per bar or one path),
    # rotated and cropped pages, a code after two pages of text: PDF417, QR, Aztec, DataMatrix.
    missed = [
        name
        for name, (kind, data, text) in corpus().items()
        if kind == "pdf" and text not in [c.text for c in scan_document(data, "pdf", name).barcodes]
    ]
    assert missed == []


def test_a_boarding_pass_on_page_three_is_found_and_only_its_picture_is_searched() -> None:
    document = pdf([text_page(1), text_page(2), barcode_page(BOARDING_PASS, "PDF417", "image")])
    scan = scan_document(document, "pdf", "conditions-and-pass.pdf")
    assert [c.text for c in scan.barcodes] == [BOARDING_PASS]
    assert scan.areas == 1  # the two text pages were read, never drawn
    assert "Conditions, page 2" in scan.text and "Show this code at the gate." in scan.text
    assert scan.notes == []


def test_a_page_of_text_is_read_but_never_drawn() -> None:
    invoice = pdf([Page(text_ops(["Factuur 2024-0117", "Totaal EUR 42,50"]))])
    scan = scan_document(invoice, "pdf", "factuur.pdf")
    assert "Factuur 2024-0117" in scan.text and "Totaal EUR 42,50" in scan.text
    assert (scan.barcodes, scan.areas, scan.notes) == ([], 0, [])


def test_a_vector_code_beside_a_logo_picture_is_searched_in_two_areas() -> None:
    page = barcode_page(QR, "QRCode", "vector")
    logo_pixels = bytes(range(256)) * 40  # 160 x 64 pixels of gradient: a picture
    page.images["Lg"] = (
        b"<< /Type /XObject /Subtype /Image /Width 160 /Height 64 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Length %d >>\nstream\n%s\nendstream"
        % (len(logo_pixels), logo_pixels)
    )
    page.content += b"q 120 0 0 48 400 760 cm /Lg Do Q\n"
    scan = scan_document(pdf([page]), "pdf", "e-ticket.pdf")
    assert [c.text for c in scan.barcodes] == [QR]
    assert scan.areas == 2  # the logo and the code, not the page around them


@pytest.mark.parametrize("symbology", ["PDF417", "QRCode"])
def test_a_large_photo_with_the_code_in_a_corner_is_found(symbology: str) -> None:
    text = BOARDING_PASS if symbology == "PDF417" else QR
    photo = photo_with_code(text, symbology, (3000, 2000), corner=True)
    scan = scan_document(photo, "image", "IMG_2041.jpg")
    assert [c.text for c in scan.barcodes] == [text] and scan.notes == []


def test_a_qr_ticket_inline_in_an_html_mail_is_found() -> None:
    from PIL import Image

    png = Image.frombytes("L", code_size(QR, "QRCode"), code_image(QR, "QRCode"))
    data = io.BytesIO()
    png.save(data, "PNG")
    encoded = base64.encodebytes(data.getvalue()).decode("ascii")
    raw = (
        "From: Tickets <tickets@events.example.com>\nTo: sanne@example.org\n"
        f"Subject: Your ticket\nDate: {format_datetime(START)}\n"
        "Message-ID: <ticket-1@events.example.com>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/related; boundary="=rel="\n\n'
        "--=rel=\nContent-Type: text/html; charset=utf-8\n\n"
        '<html><body><p>Show this at the door.</p><img src="cid:qr@x"></body></html>\n'
        '--=rel=\nContent-Type: image/png; name="ticket-qr.png"\nContent-ID: <qr@x>\n'
        'Content-Disposition: inline; filename="ticket-qr.png"\n'
        f"Content-Transfer-Encoding: base64\n\n{encoded}--=rel=--\n"
    ).encode()
    item = parse_message(raw, "ticket.eml", options())
    assert f"QR barcode: {QR}" in item.body  # type: ignore[union-attr]


def test_a_picture_seen_a_hundred_files_ago_is_remembered_not_read_again() -> None:
    from importers.scan import sandbox

    logo = (FIXTURES / "boarding-pass.png").read_bytes()
    assert scan_document(logo, "image", "pass.png").barcodes
    for n in range(100):  # other pictures: a newsletter's photos, other senders' logos
        scan_document(logo + n.to_bytes(2, "big"), "image", f"photo-{n}.png")
    sandbox._READER.close()
    again = scan_document(logo, "image", "pass-again.png")
    assert [c.text for c in again.barcodes] == [BOARDING_PASS]
    assert again.filename == "pass-again.png"
    assert sandbox._READER.process is None  # answered from memory: no reader was started


def test_text_in_a_barcode_font_is_searched_and_a_page_of_many_pictures_is_drawn_once() -> None:
    font = pdf([Page(text_ops(["ABCDEFGH"]))]).replace(b"/Helvetica", b"/IDAutomationPDF417n3")
    assert scan_document(font, "pdf", "font.pdf").areas == 1
    tiles = b"".join(
        b"q 6 0 0 6 %d %d cm BI /W 8 /H 8 /CS /G /BPC 8 ID\n%s\nEI Q\n"
        % (10 + (n % 90) * 6, 10 + (n // 90) * 6, bytes(64))
        for n in range(3000)
    )
    scan = scan_document(pdf([Page(tiles)]), "pdf", "mosaic.pdf")
    assert (scan.areas, scan.notes) == (1, [])
