"""Bank CSV exports (``--format bank-csv``): ING, Rabobank, ABN AMRO (its tab-separated
``.TAB``/``.txt``), bunq, ASN and SNS (de Volksbank) by their own layouts, and any other bank's
CSV by its header (date, amount, name, IBAN, description in Dutch, English, German or French),
or by ``--columns date=Datum,amount=Bedrag,…`` where the header says too little.

Each layout says where a transaction's date, amount (and its sign), counterparty, IBAN,
description and the bank's own reference are; the rest is the same for every bank.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from importers.bank.common import (
    Entry,
    Transaction,
    clean,
    labelled,
    sepa_fields,
    statement_items,
)
from importers.bookings.money import parse_amount
from importers.files import peek, read_source
from vault.errors import MalformedInput, UsageError
from vault.records import ImportOptions, Item, Quarantined

SUFFIXES = (".csv", ".txt", ".tab")
MAX_BYTES = 256 * 1024 * 1024
MAX_FIELD = 64 * 1024
Row = dict[str, str]


@dataclass(frozen=True)
class Layout:
    """How one bank writes its CSV: which header (or column count) says it is this bank, and
    how a row becomes a transaction."""

    name: str
    matches: Callable[[list[str]], bool]
    read_row: Callable[[Row | list[str]], Transaction]
    has_header: bool = True


def _amount(text: str | None) -> Decimal:
    value, _ = parse_amount((text or "").strip().replace("+", ""))
    if value is None:
        raise MalformedInput(f"not an amount: {clean(text)!r}")
    return value


def _date(text: str | None, *layouts: str) -> date:
    value = (text or "").strip()
    for layout in layouts:
        try:
            return datetime.strptime(value, layout).date()
        except ValueError:
            continue
    raise MalformedInput(f"not a date: {clean(value)!r}")


# --- ING (Netherlands) ---------------------------------------------------------------------------

_ING_LABELS = re.compile(
    r"\b(Naam|Omschrijving|IBAN|Kenmerk|Machtiging ID|Incassant ID|Datum/Tijd|Pasvolgnr"
    r"|Transactie|Term|Valutadatum|Apple Pay|Google Pay):\s*"
)


def _ing_note(text: str) -> dict[str, str]:
    """``Naam: Netflix Omschrijving: … IBAN: NL… Machtiging ID: … Incassant ID: …``."""
    found: dict[str, str] = {}
    for label, value in labelled(_ING_LABELS, text):
        found.setdefault(label, value.strip())
    return found


def _ing(row: Row | list[str]) -> Transaction:
    assert isinstance(row, dict)
    note = _ing_note(row.get("Mededelingen", ""))
    value = _amount(row.get("Bedrag (EUR)"))
    return Transaction(
        booked=_date(row.get("Datum"), "%Y%m%d", "%Y-%m-%d", "%d-%m-%Y"),
        amount=-value if row.get("Af Bij", "").strip().casefold() == "af" else value,
        currency="EUR",
        name=clean(row.get("Naam / Omschrijving")) or note.get("Naam"),
        iban=row.get("Tegenrekening") or note.get("IBAN"),
        description=note.get("Omschrijving") or row.get("Mededelingen", ""),
        creditor_id=note.get("Incassant ID"),
        mandate=note.get("Machtiging ID"),
        account=row.get("Rekening"),
        kind=clean(row.get("Mutatiesoort")),
    )


# --- Rabobank ------------------------------------------------------------------------------------


def _rabobank(row: Row | list[str]) -> Transaction:
    assert isinstance(row, dict)
    words = " ".join(row.get(f"Omschrijving-{n}", "") for n in (1, 2, 3))
    sequence = clean(row.get("Volgnr"))
    return Transaction(
        booked=_date(row.get("Datum"), "%Y-%m-%d", "%d-%m-%Y"),
        amount=_amount(row.get("Bedrag")),
        currency=clean(row.get("Munt")) or "EUR",
        name=clean(row.get("Naam tegenpartij")) or clean(row.get("Naam uiteindelijke partij")),
        iban=row.get("Tegenrekening IBAN/BBAN"),
        description=words,
        creditor_id=clean(row.get("Incassant ID")),
        mandate=clean(row.get("Machtigingskenmerk")),
        reference=f"volgnr {sequence}" if sequence else clean(row.get("Transactiereferentie")),
        account=row.get("IBAN/BBAN"),
        kind=clean(row.get("Code")),
    )


# --- ABN AMRO (tab-separated, no header) ---------------------------------------------------------


def _abn_amro(row: Row | list[str]) -> Transaction:
    assert isinstance(row, list)
    account, currency, day, _, _, _, amount, description = row[:8]
    fields = sepa_fields(description)
    card = re.match(
        r"(BEA|GEA|eCom)\b.*?\d\d\.\d\d\.\d\d/\d\d[.:]\d\d\s+(.+?)(?:,PAS\d+|\s{2,}|$)",
        description,
        re.IGNORECASE,
    )
    name = fields.get("NAME") or (card.group(2) if card else None)
    return Transaction(
        booked=_date(day, "%Y%m%d"),
        amount=_amount(amount),
        currency=clean(currency),
        name=name,
        iban=fields.get("IBAN"),
        description=fields.get("REMI") or description,
        creditor_id=fields.get("CSID"),
        mandate=fields.get("MARF"),
        reference=fields.get("EREF") if fields.get("EREF") not in (None, "NOTPROVIDED") else None,
        account=account,
        kind=fields.get("TRTP") or ("card payment" if card else None),
    )


# --- bunq ----------------------------------------------------------------------------------------


def _bunq(row: Row | list[str]) -> Transaction:
    assert isinstance(row, dict)
    return Transaction(
        booked=_date(row.get("Date"), "%Y-%m-%d", "%d-%m-%Y"),
        amount=_amount(row.get("Amount")),
        currency="EUR",
        name=clean(row.get("Name")),
        iban=row.get("Counterparty"),
        description=row.get("Description", ""),
        account=row.get("Account"),
    )


# --- ASN Bank and SNS (de Volksbank): 19 columns, no header ---------------------------------------


def _volksbank(row: Row | list[str]) -> Transaction:
    assert isinstance(row, list)
    sequence = clean(row[15])
    return Transaction(
        booked=_date(row[0], "%d-%m-%Y"),
        amount=_amount(row[10]),
        currency=clean(row[9]) or "EUR",
        name=clean(row[3]),
        iban=row[2],
        description=row[17],
        reference=f"journal {sequence}" if sequence else None,
        account=row[1],
        kind=clean(row[14]),
    )


def _is_volksbank(first: list[str]) -> bool:
    return len(first) == 19 and bool(re.fullmatch(r"\d{2}-\d{2}-\d{4}", first[0].strip()))


def _is_abn_amro(first: list[str]) -> bool:
    return (
        len(first) >= 8
        and bool(re.fullmatch(r"\d{8}", first[2].strip()))
        and bool(re.fullmatch(r"[A-Z]{3}", first[1].strip()))
    )


LAYOUTS = (
    Layout("ING", lambda h: {"Naam / Omschrijving", "Af Bij"} <= set(h), _ing),
    Layout("Rabobank", lambda h: {"IBAN/BBAN", "Volgnr", "Naam tegenpartij"} <= set(h), _rabobank),
    Layout("bunq", lambda h: {"Date", "Amount", "Counterparty", "Name"} <= set(h), _bunq),
    Layout("ABN AMRO", _is_abn_amro, _abn_amro, has_header=False),
    Layout("ASN/SNS", _is_volksbank, _volksbank, has_header=False),
)


# --- any other bank: by its header or the user's --columns ---------------------------------------

FIELDS = (
    "date",
    "amount",
    "debit",
    "credit",
    "name",
    "iban",
    "description",
    "currency",
    "reference",
)
HEADER_WORDS: dict[str, tuple[str, ...]] = {
    "date": (
        "date",
        "datum",
        "boekdatum",
        "buchungstag",
        "buchungsdatum",
        "date opération",
        "date operation",
        "transaction date",
        "posting date",
        "booking date",
    ),
    "amount": ("amount", "bedrag", "betrag", "montant", "value", "umsatz"),
    "debit": ("debit", "af", "soll", "débit", "withdrawal", "paid out"),
    "credit": ("credit", "bij", "haben", "crédit", "deposit", "paid in"),
    "name": (
        "name",
        "naam",
        "payee",
        "counterparty",
        "tegenpartij",
        "empfänger",
        "beguenstigter/zahlungspflichtiger",
        "zahlungsempfänger",
        "bénéficiaire",
        "merchant",
    ),
    "iban": ("iban", "tegenrekening", "counterparty iban", "kontonummer/iban", "iban tegenpartij"),
    "description": (
        "description",
        "omschrijving",
        "verwendungszweck",
        "libellé",
        "libelle",
        "memo",
        "details",
        "mededelingen",
        "reference text",
    ),
    "currency": ("currency", "munt", "valuta", "währung", "devise"),
    "reference": ("reference", "referentie", "transaction id", "kenmerk", "id"),
}
DATE_LAYOUTS = ("%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y", "%Y%m%d", "%d.%m.%y", "%m/%d/%Y")


def columns_from(spec: str) -> dict[str, str]:
    """``date=Datum,amount=Bedrag`` → ``{"date": "Datum", "amount": "Bedrag"}``.

    Raises:
        UsageError: a part is not ``field=Column`` with a known field, or date or amount is missing.
    """
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        field, equals, column = part.partition("=")
        if not equals or field.strip() not in FIELDS or not column.strip():
            raise UsageError(
                f"--columns: {part!r} is not FIELD=COLUMN with FIELD one of {', '.join(FIELDS)}"
            )
        mapping[field.strip()] = column.strip()
    if "date" not in mapping or not ({"amount", "debit", "credit"} & mapping.keys()):
        raise UsageError("--columns needs at least date= and amount= (or debit= and credit=)")
    return mapping


def guess_columns(header: Sequence[str]) -> dict[str, str]:
    """Which column holds which field, by the header's words; empty when no date or amount."""
    mapping: dict[str, str] = {}
    for field, words in HEADER_WORDS.items():
        for column in header:
            if column.strip().casefold() in words and column not in mapping.values():
                mapping[field] = column
                break
    if "date" not in mapping or not ({"amount", "debit", "credit"} & mapping.keys()):
        return {}
    return mapping


def _generic(mapping: dict[str, str], date_layout: str) -> Callable[[Row | list[str]], Transaction]:
    def read_row(row: Row | list[str]) -> Transaction:
        assert isinstance(row, dict)

        def get(field: str) -> str:
            return row.get(mapping.get(field, ""), "") or ""

        if "amount" in mapping:
            amount = _amount(get("amount"))
        else:
            debit, credit = get("debit").strip(), get("credit").strip()
            amount = -abs(_amount(debit)) if debit else abs(_amount(credit))
        return Transaction(
            booked=_date(get("date"), date_layout),
            amount=amount,
            currency=clean(get("currency")),
            name=clean(get("name")),
            iban=get("iban"),
            description=get("description"),
            reference=clean(get("reference")),
        )

    return read_row


def _date_layout(values: list[str]) -> str:
    """The one date layout every value of the date column fits (day-first before month-first)."""
    for layout in DATE_LAYOUTS:
        try:
            for value in values:
                datetime.strptime(value.strip(), layout)
        except ValueError:
            continue
        return layout
    raise MalformedInput("the date column holds dates in no layout kluis knows")


# --- reading -------------------------------------------------------------------------------------


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def _dialect(sample: str) -> str:
    counts = {sep: sample.count(sep) for sep in (";", ",", "\t")}
    return max(counts, key=lambda sep: counts[sep])


def _first_row(text: str) -> list[str]:
    first = text.splitlines()[0] if text else ""
    return next(csv.reader([first], delimiter=_dialect(first)), [])


def layout_of(text: str, columns: dict[str, str] | None = None) -> tuple[Layout, str]:
    """The layout of a CSV's text and its separator.

    Raises:
        MalformedInput: no bank layout and no header kluis can read.
    """
    first = [cell.strip() for cell in _first_row(text)]
    separator = _dialect(text.splitlines()[0] if text else "")
    for layout in LAYOUTS:
        if layout.matches(first):
            return layout, separator
    mapping = columns or guess_columns(first)
    if not mapping:
        raise MalformedInput(
            "not a bank CSV kluis knows: name its columns with "
            "--columns date=COLUMN,amount=COLUMN,name=COLUMN,description=COLUMN"
        )
    missing = [column for column in mapping.values() if column not in first]
    if missing:
        raise MalformedInput(f"no column named {', '.join(map(repr, missing))} in the header")
    reader = csv.DictReader(io.StringIO(text), delimiter=separator)
    dates = [row.get(mapping["date"]) or "" for _, row in zip(range(500), reader, strict=False)]
    read_row = _generic(mapping, _date_layout([d for d in dates if d.strip()]))
    return Layout("CSV", lambda _: True, read_row), separator


def sniff(path: Path) -> bool:
    """A CSV whose first line is a known bank's header or layout, or a header with a date and
    an amount column."""
    if path.suffix.casefold() not in SUFFIXES:
        return False
    head = _text(peek(path, 8192))
    if not head.strip():
        return False
    try:
        layout_of(head.split("\n", 1)[0] + "\n")
    except MalformedInput:
        return False
    return True


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Every row of the CSV as a payment."""
    return statement_items(path, options, _entries(path, options))


def _entries(path: Path, options: ImportOptions) -> Iterator[Entry]:
    text = _text(read_source(path, MAX_BYTES))
    columns = dict(options.columns) if options.columns else None
    try:
        layout, separator = layout_of(text, columns)
    except MalformedInput as exc:
        raise MalformedInput(f"{path}: {exc}") from None
    csv.field_size_limit(MAX_FIELD)
    stream = io.StringIO(text)
    rows: Iterator[Row | list[str]] = (
        csv.DictReader(stream, delimiter=separator)
        if layout.has_header
        else csv.reader(stream, delimiter=separator)
    )
    count = 0
    try:
        for count, row in enumerate(rows, 1):
            ref = f"{path}#row-{count}"
            if not any(row.values() if isinstance(row, dict) else row):
                continue
            try:
                yield ref, layout.read_row(row)
            except (MalformedInput, IndexError, ValueError, ArithmeticError) as exc:
                reason = f"{layout.name} row {count}: {exc or 'too few columns'}"
                yield ref, Quarantined(ref, repr(row)[:65536].encode(), reason)
    except csv.Error as exc:
        raise MalformedInput(f"{path}: row {count + 1} is not CSV: {exc}") from None
    if count == 0:
        raise MalformedInput(f"{path}: no transactions in this CSV")
