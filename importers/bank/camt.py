"""ISO 20022 CAMT.053 bank statements (``--format camt``): the SEPA standard export of Dutch,
German, Belgian, French and most EU banks (versions .001.02 to .001.08 alike).

Streamed: each ``<Ntry>`` is read and dropped, so a statement of 50,000 entries takes little
memory. A document type declaration is refused (no entity of any size is ever expanded).
Only booked entries count (``BOOK``); pending ones are not payments yet. A batch entry with
several transaction details of their own amounts gives one payment per detail.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden
from defusedxml.ElementTree import iterparse

from importers.bank.common import Entry, Transaction, clean, statement_items
from importers.files import open_source, peek
from vault.errors import MalformedInput
from vault.records import ImportOptions, Item, Quarantined

SUFFIXES = (".xml", ".camt", ".053")


def sniff(path: Path) -> bool:
    """An XML file holding a CAMT.053 bank-to-customer statement."""
    if path.suffix.casefold() not in SUFFIXES:
        return False
    head = peek(path, 4096)
    return b"BkToCstmrStmt" in head or b"camt.053" in head


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _find(element: Element | None, *path: str) -> Element | None:
    """The first descendant along ``path`` (tag names without namespace)."""
    for name in path:
        if element is None:
            return None
        element = next((child for child in element if _local(child.tag) == name), None)
    return element


def _text(element: Element | None, *path: str) -> str | None:
    found = _find(element, *path)
    return clean(found.text) if found is not None else None


def _party(details: Element | None, role: str) -> tuple[str | None, str | None, str | None]:
    """(name, IBAN, SEPA creditor id) of the ``Cdtr`` or ``Dbtr`` in a ``TxDtls``."""
    parties = _find(details, "RltdPties")
    party = _find(parties, role)
    name = _text(party, "Nm") or _text(party, "Pty", "Nm")
    ultimate = _text(parties, "Ultmt" + role, "Nm") or _text(parties, "Ultmt" + role, "Pty", "Nm")
    iban = _text(parties, role + "Acct", "Id", "IBAN")
    creditor = None
    if party is not None:
        for other in party.iter():
            if _local(other.tag) == "Othr" and _text(other, "SchmeNm", "Prtry") == "SEPA":
                creditor = _text(other, "Id")
    return name or ultimate, iban, creditor


def _amount(element: Element | None) -> tuple[Decimal, str | None] | None:
    if element is None or not element.text:
        return None
    try:
        value = Decimal(element.text.strip())
    except InvalidOperation:
        return None
    return (value, element.get("Ccy")) if value.is_finite() else None


def _day(entry: Element) -> date | None:
    text = _text(entry, "BookgDt", "Dt") or _text(entry, "BookgDt", "DtTm")
    text = text or _text(entry, "ValDt", "Dt") or _text(entry, "ValDt", "DtTm")
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _kind(entry: Element) -> str | None:
    code = _find(entry, "BkTxCd", "Domn")
    family = _text(code, "Fmly", "Cd")
    sub = _text(code, "Fmly", "SubFmlyCd")
    known = {
        "RDDT": "direct debit",
        "ICDT": "transfer",
        "RCDT": "transfer received",
        "CCRD": "card payment",
        "MCRD": "card payment",
        "CWDL": "cash withdrawal",
    }
    return known.get(family or "") or _text(entry, "BkTxCd", "Prtry", "Cd") or sub


def transactions(entry: Element, account: str | None) -> list[Transaction]:
    """The transactions of one ``<Ntry>``.

    Raises:
        MalformedInput: it has no readable amount or date.
    """
    amount = _amount(_find(entry, "Amt"))
    day = _day(entry)
    if amount is None or day is None:
        raise MalformedInput("an entry without a readable amount or booking date")
    debit = _text(entry, "CdtDbtInd") == "DBIT"
    details = [d for d in (_find(entry, "NtryDtls") or []) if _local(d.tag) == "TxDtls"]
    own_amounts = [_amount(_find(d, "AmtDtls", "TxAmt", "Amt")) for d in details]
    split = len(details) > 1 and all(own_amounts)
    parts = (
        list(zip(details, own_amounts, strict=True))
        if split
        else [(details[0] if details else None, amount)]
    )
    found = []
    for detail, (value, currency) in ((d, a or amount) for d, a in parts):
        name, iban, creditor = _party(detail, "Cdtr" if debit else "Dbtr")
        remittance = " ".join(
            clean(u.text) or "" for u in (_find(detail, "RmtInf") or []) if _local(u.tag) == "Ustrd"
        )
        info = _text(entry, "AddtlNtryInf") or ""
        found.append(
            Transaction(
                booked=day,
                amount=-value if debit else value,
                currency=currency,
                name=name,
                iban=iban,
                description=remittance or info,
                creditor_id=creditor,
                mandate=_text(detail, "Refs", "MndtId"),
                reference=(
                    _text(detail, "Refs", "AcctSvcrRef")
                    if split
                    else _text(entry, "AcctSvcrRef") or _text(detail, "Refs", "AcctSvcrRef")
                ),
                account=account,
                kind=_kind(entry),
            )
        )
    return found


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Every booked entry of the statement, as payments."""
    return statement_items(path, options, _entries(path))


def _entries(path: Path) -> Iterator[Entry]:
    account: str | None = None
    count = 0
    try:
        with open_source(path) as handle:
            for _, element in iterparse(handle, events=("end",), forbid_dtd=True):
                tag = _local(element.tag)
                if tag == "Acct" and account is None:
                    account = _text(element, "Id", "IBAN") or _text(element, "Id", "Othr", "Id")
                if tag != "Ntry":
                    continue
                count += 1
                ref = f"{path}#entry-{count}"
                status = _text(element, "Sts") or _text(element, "Sts", "Cd")
                if status in (None, "BOOK"):
                    try:
                        for txn in transactions(element, account):
                            yield ref, txn
                    except MalformedInput as exc:
                        yield ref, Quarantined(ref, _entry_bytes(element), str(exc))
                element.clear()
    except ParseError as exc:
        raise MalformedInput(f"{path}: not a readable CAMT.053 statement: {exc}") from None
    except (DTDForbidden, EntitiesForbidden):
        raise MalformedInput(
            f"{path}: an XML document type declaration is refused in a statement"
        ) from None
    if count == 0:
        raise MalformedInput(f"{path}: no statement entries in it")


def _entry_bytes(element: Element) -> bytes:
    from xml.etree.ElementTree import tostring

    return tostring(element)[:65536]
