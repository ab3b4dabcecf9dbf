"""OFX and QFX bank statements (``--format ofx``): version 1 (SGML, leaf tags left open) and
version 2 (XML) alike, as US, Canadian, French and some Dutch banks export them.

Only what a statement transaction says is read (``<STMTTRN>``: ``DTPOSTED``, ``TRNAMT``,
``FITID``, ``NAME``/``PAYEE``, ``MEMO``, ``TRNTYPE``), with the statement's ``CURDEF`` and
account; nothing is fetched and no entity is expanded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from importers.bank.common import Entry, Transaction, clean, statement_items
from importers.files import peek, read_source
from vault.errors import MalformedInput
from vault.records import ImportOptions, Item, Quarantined

SUFFIXES = (".ofx", ".qfx")
MAX_BYTES = 256 * 1024 * 1024
_TRANSACTION = re.compile(
    r"<STMTTRN>(.*?)(?:</STMTTRN>|(?=<STMTTRN>)|(?=</BANKTRANLIST>))", re.S | re.I
)
_LEAF = re.compile(r"<([A-Z0-9.]+)>([^<]*)", re.I)
_KINDS = {
    "DIRECTDEBIT": "direct debit",
    "DIRECTDEP": "transfer received",
    "XFER": "transfer",
    "POS": "card payment",
    "ATM": "cash withdrawal",
    "FEE": "bank charges",
    "SRVCHG": "bank charges",
    "PAYMENT": "payment",
    "REPEATPMT": "standing order",
    "CHECK": "cheque",
    "INT": "interest",
    "DIV": "dividend",
}


def sniff(path: Path) -> bool:
    """A file with an OFX header or root element near its start."""
    head = peek(path, 4096).lstrip(b"\xef\xbb\xbf \r\n\t")
    named = path.suffix.casefold() in SUFFIXES
    return head.startswith(b"OFXHEADER") or (named and b"<OFX>" in head.upper())


def _leaves(block: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for tag, value in _LEAF.findall(block):
        if value.strip():
            found.setdefault(tag.upper(), value.strip())
    return found


def _day(value: str | None) -> date | None:
    digits = re.match(r"(\d{4})(\d{2})(\d{2})", value or "")
    if digits is None:
        return None
    try:
        return date(*map(int, digits.groups()))
    except ValueError:
        return None


def _amount(value: str | None) -> Decimal | None:
    text = (value or "").strip().replace(",", ".")  # some European banks write a comma
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def transaction(fields: dict[str, str], currency: str | None, account: str | None) -> Transaction:
    """One ``<STMTTRN>`` as a transaction.

    Raises:
        MalformedInput: it has no readable amount or date.
    """
    amount = _amount(fields.get("TRNAMT"))
    day = _day(fields.get("DTPOSTED") or fields.get("DTUSER"))
    if amount is None or day is None:
        raise MalformedInput("a transaction without a readable amount or posting date")
    memo = clean(fields.get("MEMO")) or ""
    return Transaction(
        booked=day,
        amount=amount,
        currency=clean(fields.get("CURRENCY")) or currency,
        name=clean(fields.get("NAME") or fields.get("PAYEEID")),
        iban=clean(fields.get("ACCTID")),  # BANKACCTTO's: the counterparty's, where given
        description=memo,
        reference=clean(fields.get("FITID")),
        account=account,
        kind=_KINDS.get((fields.get("TRNTYPE") or "").upper()),
    )


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Every statement transaction in the file, as payments."""
    return statement_items(path, options, _entries(path))


def _entries(path: Path) -> Iterator[Entry]:
    raw = read_source(path, MAX_BYTES)
    text = raw.decode("utf-8", "replace") if b"1252" not in raw[:512] else raw.decode("cp1252")
    if re.search(r"<!(DOCTYPE|ENTITY)", text[:65536], re.I):
        raise MalformedInput(f"{path}: an XML document type declaration is refused in a statement")
    head = _leaves(text[: text.upper().find("<STMTTRN>")] if "<STMTTRN>" in text.upper() else "")
    currency = clean(head.get("CURDEF"))
    account = clean(head.get("ACCTID"))
    blocks = _TRANSACTION.findall(text)
    if not blocks:
        raise MalformedInput(f"{path}: no statement transactions in this OFX file")
    for n, block in enumerate(blocks, 1):
        ref = f"{path}#transaction-{n}"
        try:
            yield ref, transaction(_leaves(block), currency, account)
        except MalformedInput as exc:
            yield ref, Quarantined(ref, block[:65536].encode(), str(exc))
