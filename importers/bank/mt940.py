"""SWIFT MT940 bank statements (``--format mt940``): ``.sta``, ``.940``, ``.mt940``, ``.swi``.

The ``mt-940`` library reads the records (``:61:`` amounts, dates, references; BSD licence);
this module reads what banks put in ``:86:``: the Dutch and Belgian ``/TAG/value`` fields
(``/CSID/``, ``/NAME/``, ``/CNTP/``, ``/REMI/``) and the German ``?NN`` subfields (``?32`` name,
``?31`` IBAN, ``CRED+`` creditor id, ``MREF+`` mandate, ``SVWZ+`` purpose).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from importers.bank.common import (
    Entry,
    Transaction,
    clean,
    labelled,
    sepa_fields,
    statement_items,
)
from importers.files import peek, read_source
from vault.errors import MalformedInput
from vault.records import ImportOptions, Item, Quarantined
from vault.text import one_line

SUFFIXES = (".sta", ".940", ".mt940", ".swi", ".txt")
MAX_BYTES = 256 * 1024 * 1024
_RECORD = re.compile(rb"^:(20|25|28C|60F|61):", re.MULTILINE)
_GERMAN = re.compile(r"\?(\d\d)")
_SEPA_PREFIX = re.compile(r"(EREF|MREF|CRED|SVWZ|ABWA|ABWE|KREF|DEBT)\+")
_KINDS = {
    "DDT": "direct debit",
    "TRF": "transfer",
    "CHG": "bank charges",
    "CHK": "cheque",
    "MSC": "other",
    "INT": "interest",
    "STO": "standing order",
    "BOE": "bill of exchange",
    "005": "direct debit",
    "105": "direct debit",
    "020": "transfer",
    "166": "transfer received",
}


def sniff(path: Path) -> bool:
    """A file with the MT940 records ``:20:``, ``:25:`` and ``:61:`` near its start."""
    if path.suffix.casefold() not in SUFFIXES:
        return False
    head = peek(path, 8192)
    found = {m.group(1) for m in _RECORD.finditer(head)}
    return {b"20", b"25"} <= found and bool(found & {b"60F", b"61", b"28C"})


def german_fields(text: str) -> dict[str, str]:
    """The ``?NN`` subfields of a German ``:86:`` as name, IBAN, purpose, creditor id, …"""
    raw: dict[str, str] = {}
    for number, value in labelled(_GERMAN, text):
        raw[number] = raw.get(number, "") + value
    purpose = "".join(
        raw.get(f"{k}", "") for k in [*map(str, range(20, 30)), "60", "61", "62", "63"]
    )
    parts = {prefix: value.strip() for prefix, value in labelled(_SEPA_PREFIX, purpose)}
    found = {
        "NAME": (raw.get("32", "") + raw.get("33", "")).strip(),
        "IBAN": raw.get("31", "").strip(),
        "REMI": parts.get("SVWZ") or (purpose if not parts else ""),
        "CSID": parts.get("CRED", ""),
        "MARF": parts.get("MREF", ""),
        "EREF": parts.get("EREF", ""),
        "TRTP": raw.get("00", "").strip(),
    }
    return {key: value for key, value in found.items() if value}


def _details(text: str) -> dict[str, str]:
    """The fields of a ``:86:``; structured ones were cut into 65-character lines anywhere,
    even inside a word, so their lines join without a space."""
    joined = text.replace("\r", "").replace("\n", "")
    if _GERMAN.search(joined[:8]) or (joined[:3].isdigit() and "?" in joined[:6]):
        return german_fields(joined)
    fields = sepa_fields(joined)
    if not fields:  # free text: a shop and a place, as a card payment says it
        return {"REMI": " ".join(text.split())}
    return fields


def transaction(data: dict[str, Any], account: str | None) -> Transaction:
    """One ``:61:`` record and its ``:86:`` as a transaction.

    Raises:
        MalformedInput: it has no readable amount or date.
    """
    amount = data.get("amount")
    day = data.get("entry_date") or data.get("date")
    if amount is None or not isinstance(day, date):
        raise MalformedInput("a record without a readable amount or date")
    value = Decimal(str(amount.amount))
    details = _details(str(data.get("transaction_details") or ""))
    code = str(data.get("id") or "")[-3:]
    reference = data.get("bank_reference") or details.get("EREF")
    return Transaction(
        booked=date(day.year, day.month, day.day),
        amount=value,
        currency=clean(amount.currency) or clean(data.get("currency")),
        name=details.get("NAME"),
        iban=details.get("IBAN"),
        description=details.get("REMI", ""),
        creditor_id=details.get("CSID"),
        mandate=details.get("MARF"),
        reference=None if reference in (None, "NONREF") else str(reference),
        account=account,
        kind=details.get("TRTP") or _KINDS.get(code),
    )


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Every transaction of every statement in the file, as payments."""
    return statement_items(path, options, _entries(path))


def _entries(path: Path) -> Iterator[Entry]:
    import mt940

    # The library logs what it cannot match, raw bytes and all, to stderr: its findings reach
    # the user as quarantine reasons instead.
    library_log = logging.getLogger("mt940")
    library_log.addHandler(logging.NullHandler())
    library_log.propagate = False

    raw = read_source(path, MAX_BYTES)
    text = raw.decode("utf-8") if _is_utf8(raw) else raw.decode("latin-1")
    # The :86: text as written: its fields are read here, for Dutch and German banks alike.
    statements = mt940.models.Transactions(processors={"post_transaction_details": []})
    try:
        statements.parse(text)
    except Exception as exc:  # the library raises bare errors of many kinds on bad records
        reason = one_line(str(exc), 120)
        raise MalformedInput(f"{path}: not a readable MT940 statement ({reason})") from None
    account = clean(statements.data.get("account_identification"))
    if not statements.transactions:
        raise MalformedInput(f"{path}: no transactions in this MT940 file")
    for n, record in enumerate(statements.transactions, 1):
        ref = f"{path}#transaction-{n}"
        try:
            yield ref, transaction(record.data, account)
        except (MalformedInput, ArithmeticError, TypeError, ValueError) as exc:
            yield ref, Quarantined(ref, str(record.data)[:65536].encode(), str(exc))


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
