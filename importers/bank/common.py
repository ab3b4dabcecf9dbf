"""What every bank statement format shares: one transaction → one ``payment`` interaction.

A transaction is an interaction with its counterparty (the company paid, or paying back): the
counterparty's name and IBAN, and for a SEPA direct debit the creditor id and mandate, are the
evidence the core's resolver files it by. The amount is stated by the bank, never guessed.
Dedup: the bank's own entry reference where the statement has one; otherwise the transaction's
particulars plus its ordinal among identical ones in the same statement, so two coffees of
€3.00 on one day stay two, and an overlapping second statement adds neither again.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from importers.files import file_state, unchanged
from vault.records import (
    Checkpoint,
    ImportOptions,
    Interaction,
    Item,
    Money,
    Party,
    Payment,
    Quarantined,
)

NOON = time(12)
"""A booking date has no time: noon in the user's zone keeps it that day for any viewer
within eleven hours of it."""

MAX_TEXT = 2000
"""A description longer than this is cut: statements hold short remittance texts."""

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Transaction:
    """One statement entry as a bank format states it (``amount`` negative: money out)."""

    booked: date
    amount: Decimal
    currency: str | None
    name: str | None = None
    iban: str | None = None
    description: str = ""
    creditor_id: str | None = None
    mandate: str | None = None
    reference: str | None = None
    account: str | None = None
    kind: str | None = None


def clean(value: Any) -> str | None:
    """A field's text on one line, or None when empty."""
    if value is None:
        return None
    text = _SPACES.sub(" ", str(value)).strip()
    return text[:MAX_TEXT] or None


def normal_iban(value: str | None) -> str | None:
    """``NL91 abna 0417 1643 00`` → ``NL91ABNA0417164300``; None for something not shaped
    like an IBAN (a domestic account number, a card's masked number)."""
    text = re.sub(r"[\s-]", "", value or "").upper()
    if re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", text):
        return text
    return None


class Ordinals:
    """The n-th time a transaction's particulars occur in one statement."""

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def next(self, particulars: str) -> int:
        """1 for the first occurrence, 2 for the second, …"""
        self._seen[particulars] += 1
        return self._seen[particulars]


Entry = tuple[str, "Transaction | Quarantined"]
"""A statement entry: where it is (``file#entry-12``) and what it says, or why it is unreadable."""


def statement_items(path: Path, options: ImportOptions, entries: Iterator[Entry]) -> Iterator[Item]:
    """The payments of one statement file; nothing when this very file was imported before."""
    source, state = file_state(path)
    if unchanged(options.cursors.get(source), state):
        return
    ordinals = Ordinals()
    for ref, entry in entries:
        if isinstance(entry, Quarantined):
            yield entry
        else:
            yield payment_item(entry, ref, options, ordinals)
    yield Checkpoint(source, state)


def payment_item(
    txn: Transaction, source_ref: str, options: ImportOptions, ordinals: Ordinals
) -> Interaction:
    """The interaction of one transaction."""
    out = txn.amount < 0
    value = -txn.amount if out else txn.amount
    iban = normal_iban(txn.iban)
    account = normal_iban(txn.account) or clean(txn.account)
    name = clean(txn.name)
    who = name or iban or clean(txn.description) or "unknown"
    counterpart = Party(name=name, address=iban, kind="iban") if (name or iban) else None
    money = Money(value, txn.currency)
    shown = f"{txn.currency + ' ' if txn.currency else ''}{value:,.2f}"
    title = f"Paid {shown} to {who}" if out else f"Received {shown} from {who}"
    details = [
        ("Account", account),
        ("Counterparty", " · ".join(filter(None, [name, iban])) or None),
        ("Kind", clean(txn.kind)),
        ("Creditor id", clean(txn.creditor_id)),
        ("Mandate", clean(txn.mandate)),
        ("Reference", clean(txn.reference)),
    ]
    description = clean(txn.description) or ""
    facts = "\n".join(f"{label}: {value}" for label, value in details if value)
    body = "\n\n".join(filter(None, [description, facts]))
    day = txn.booked.isoformat()
    if txn.reference:
        key_text = f"{account}\x1fref\x1f{txn.reference}\x1f{day}\x1f{txn.amount}"
    else:
        parts = (account, day, txn.amount, txn.currency, iban, name, description)
        particulars = "\x1f".join(str(part or "") for part in parts)
        key_text = f"{particulars}\x1f#{ordinals.next(particulars)}"
    dedup_key = "payment:" + hashlib.sha256(key_text.encode()).hexdigest()[:32]
    occurred = datetime.combine(txn.booked, NOON, options.timezone)
    return Interaction(
        channel="payment",
        direction="out" if out else "in",
        occurred_at=occurred,
        title=title[:300],
        body=body,
        source_ref=source_ref,
        dedup_key=dedup_key,
        sender=None if out else counterpart,
        recipients=[counterpart] if out and counterpart else [],
        tz_known=False,
        money=money,
        payment=Payment(
            iban=iban,
            creditor_id=clean(txn.creditor_id),
            mandate=clean(txn.mandate),
            reference=clean(txn.reference),
            account=account,
            kind=clean(txn.kind),
        ),
    )


SEPA_TAGS = (
    "TRTP",
    "CSID",
    "NAME",
    "MARF",
    "REMI",
    "IBAN",
    "BIC",
    "EREF",
    "ORDP",
    "BENM",
    "ADDR",
    "CNTP",
    "PREF",
    "RTRN",
    "ISDT",
    "FX",
    "PURP",
    "ULTC",
    "ULTD",
    "OAMT",
    "COAM",
    "CHGS",
    "SVCL",
)
_SEPA_FIELD = re.compile(r"/(" + "|".join(SEPA_TAGS) + r")/")


def labelled(marker: re.Pattern[str], text: str) -> Iterator[tuple[str, str]]:
    """(label, text up to the next marker) for each match of ``marker`` in ``text``, in order:
    how banks pack fields into one description (``/NAME/…``, ``?32…``, ``SVWZ+…``, ``Naam: …``).
    The label is the marker's first group."""
    marks = list(marker.finditer(text))
    for n, mark in enumerate(marks):
        end = marks[n + 1].start() if n + 1 < len(marks) else len(text)
        yield mark.group(1), text[mark.end() : end]


def sepa_fields(text: str) -> dict[str, str]:
    """The ``/TAG/value`` fields Dutch and Belgian banks write in a description (MT940 :86:,
    ABN AMRO's export): ``/TRTP/SEPA Incasso/CSID/NL12ZZZ…/NAME/Netflix/REMI/…``. ``CNTP``
    (Rabobank's counterparty: ``IBAN/BIC/name/city``) is split into IBAN and NAME."""
    fields: dict[str, str] = {}
    for tag, raw in labelled(_SEPA_FIELD, text):
        value = raw.strip().strip("/").strip()
        if tag == "CNTP":
            parts = raw.split("/")
            if parts and normal_iban(parts[0]):
                fields.setdefault("IBAN", parts[0])
            if len(parts) > 2 and parts[2].strip():
                fields.setdefault("NAME", parts[2].strip())
            continue
        if tag == "REMI" and value.startswith("USTD//"):
            value = value[len("USTD//") :]
        if value and tag not in fields:
            fields[tag] = value
    return fields
