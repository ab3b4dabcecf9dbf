"""vCard 4.0 (RFC 6350) of the shared fields, with the consent receipt as an extension property.

Written by hand rather than with a library: vobject writes vCard 3.0, and 4.0 needs only
escaping (§3.4), folding at 75 octets (§3.2) and CRLF line ends.
"""

from __future__ import annotations

import json
import re

from exports.package import Package, split_address

_X_NAME = re.compile(r"[^A-Za-z0-9-]")
_ADDRESS_TYPES = {"address.home": "home", "address.work": "work", "address.delivery": "x-delivery"}


def escape(value: str) -> str:
    """A text value escaped per RFC 6350 §3.4 (backslash, comma, semicolon, newline)."""
    return (
        value.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """A content line folded at 75 octets, never inside a UTF-8 sequence (RFC 6350 §3.2)."""
    out, current, size = [], "", 0
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += ch
        size += width
    out.append(current)
    return "\r\n".join(out)


def vcard(package: Package) -> str:
    """The vCard text (CRLF line ends) holding exactly the package's fields and receipt."""
    lines = ["BEGIN:VCARD", "VERSION:4.0", "PRODID:-//kluis//share//EN"]
    receipt_id = package.receipt.get("consentReceiptID", "")
    if receipt_id:
        lines.append(f"UID:urn:uuid:{receipt_id}")
    # FN is mandatory in vCard 4.0; it stays empty when the name was not chosen.
    lines.append("FN:" + escape(package.first("name") or ""))
    for email in package.values("email"):
        lines.append("EMAIL:" + escape(email))
    for phone in package.values("phone"):
        lines.append(f"TEL;VALUE=uri:tel:{phone}")
    for shared in package.fields:
        if shared.key.startswith("address."):
            parts = split_address(shared.value)
            params = f";TYPE={_ADDRESS_TYPES.get(shared.key, 'x-other')}"
            components = ["", "", parts.street, parts.locality, "", parts.postcode, parts.country]
            lines.append(f"ADR{params}:" + ";".join(escape(c) for c in components))
    birthdate = package.first("birthdate")
    if birthdate:
        lines.append("BDAY:" + birthdate.replace("-", ""))
    extensions = {
        "iban": "X-IBAN",
        "passport": "X-PASSPORT-NUMBER",
        "id_number": "X-ID-CARD-NUMBER",
        "diet": "X-DIETARY-PREFERENCE",
        "seating": "X-SEATING-PREFERENCE",
    }
    for shared in package.fields:
        if shared.key in extensions:
            lines.append(f"{extensions[shared.key]}:" + escape(shared.value))
        elif shared.key.startswith("loyalty."):
            program = _X_NAME.sub("-", shared.key.removeprefix("loyalty.")).upper()
            lines.append(f"X-LOYALTY-{program}:" + escape(shared.value))
        elif shared.key.startswith("free."):
            label = _X_NAME.sub("-", shared.key.removeprefix("free.")).upper()
            lines.append(f"X-NOTE-{label}:" + escape(shared.value))
    lines.append(
        "X-CONSENT-RECEIPT:"
        + escape(json.dumps(package.receipt, ensure_ascii=False, sort_keys=True))
    )
    lines.append("END:VCARD")
    return "".join(fold(line) + "\r\n" for line in lines)
