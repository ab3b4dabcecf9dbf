"""What the user pays each company: totals per company, year or month, and the contracts.

Bank payments are what was paid; where a company has no bank payment in the vault, the amounts
its order, invoice and receipt mails state stand in (``source: "mail"``, with how many of
them were read from words rather than markup: ``guessed``). Never both for one company, so
nothing is counted twice. Currencies are never mixed or converted: one row per currency.
Totals are outgoing-positive: money back (a refund) lowers them; money from a company the user
never paid (a salary, a gift) is income, not spending, and is left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from vault.contracts import Contract, Paid, find_contracts
from vault.contracts_notes import all_notes
from vault.errors import UsageError
from vault.store import Conn, execute

GROUPS = ("company", "year", "month")

_AMOUNTS_SQL = """
SELECT i.company_id, c.name AS company, i.channel, i.direction, i.occurred_at,
       m.value, m.currency, m.guessed,
       json_extract(i.extras, '$.payment.mandate') AS mandate
FROM money m
JOIN interaction i ON i.id = m.interaction_id
JOIN company c ON c.id = i.company_id
ORDER BY i.occurred_at, i.id
"""


@dataclass(frozen=True, slots=True)
class Amount:
    """One stated amount: a bank payment or what a mail says was paid or is due."""

    company_id: int
    company: str
    day: date
    value: Decimal  # outgoing positive
    currency: str | None
    bank: bool
    guessed: bool
    mandate: str | None


@dataclass(slots=True)
class Total:
    """A total of one company (or period) in one currency."""

    key: str
    company_id: int | None
    company: str | None
    currency: str | None
    source: str
    total: Decimal = Decimal(0)
    count: int = 0
    guessed: int = 0
    first: date | None = None
    last: date | None = None
    days: list[date] = field(default_factory=list, repr=False)

    def add(self, amount: Amount) -> None:
        """Count ``amount`` in."""
        self.total += amount.value
        self.count += 1
        self.guessed += amount.guessed
        self.first = min(self.first or amount.day, amount.day)
        self.last = max(self.last or amount.day, amount.day)

    def to_json(self) -> dict[str, Any]:
        """The ``kluis spending --json`` object."""
        return {
            "company_id": self.company_id,
            "company": self.company,
            "period": None if self.company_id is not None else self.key,
            "currency": self.currency,
            "total": str(self.total),
            "count": self.count,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "source": self.source,
            "guessed": self.guessed,
        }


def amounts(conn: Conn, zone: tzinfo | None) -> list[Amount]:
    """Every amount the vault holds, each counted once: bank payments, and for companies
    without any, what their mails state."""
    rows = execute(conn, _AMOUNTS_SQL).all()
    banked = {int(r.company_id) for r in rows if r.channel == "payment"}
    paid = {int(r.company_id) for r in rows if r.channel == "payment" and r.direction == "out"}
    found = []
    for r in rows:
        bank = r.channel == "payment"
        if not bank and int(r.company_id) in banked:
            continue
        if bank and r.direction != "out" and int(r.company_id) not in paid:
            continue  # money from a company never paid (a salary) is income, not a refund
        value = Decimal(str(r.value))
        outgoing = r.direction == "out" if bank else True  # a mail states what is owed
        found.append(
            Amount(
                company_id=int(r.company_id),
                company=str(r.company),
                day=datetime.fromtimestamp(int(r.occurred_at), zone).date(),
                value=value if outgoing else -value,
                currency=r.currency,
                bank=bank,
                guessed=bool(r.guessed),
                mandate=r.mandate,
            )
        )
    return found


def spending(
    conn: Conn,
    zone: tzinfo | None,
    by: str = "company",
    since: date | None = None,
    until: date | None = None,
) -> list[Total]:
    """Totals by company (largest first), or by year or month (newest first).

    Raises:
        UsageError: ``by`` is not company, year or month.
    """
    return totals(amounts(conn, zone), by, since, until)


def totals(
    found: Iterable[Amount],
    by: str = "company",
    since: date | None = None,
    until: date | None = None,
) -> list[Total]:
    """``found`` (from ``amounts``) totalled as ``spending`` does: read once, group many ways
    (the app groups one read by company, year, month and each company's years).

    Raises:
        UsageError: ``by`` is not company, year or month.
    """
    if by not in GROUPS:
        raise UsageError(f"--by {by!r}: use one of {', '.join(GROUPS)}")
    grouped: dict[tuple[str, str | None], Total] = {}
    for amount in found:
        if (since and amount.day < since) or (until and amount.day > until):
            continue
        if by == "company":
            key = str(amount.company_id)
        else:
            key = f"{amount.day:%Y}" if by == "year" else f"{amount.day:%Y-%m}"
        total = grouped.get((key, amount.currency))
        if total is None:
            company = by == "company"
            total = grouped[(key, amount.currency)] = Total(
                key,
                amount.company_id if company else None,
                amount.company if company else None,
                amount.currency,
                "bank" if amount.bank else "mail",
            )
        elif total.source != ("bank" if amount.bank else "mail"):
            total.source = "bank and mail"
        total.add(amount)
    if by == "company":
        return sorted(grouped.values(), key=lambda t: (-t.total, t.company or ""))
    return sorted(grouped.values(), key=lambda t: (t.key, t.currency or ""), reverse=True)


def contracts(
    conn: Conn, zone: tzinfo | None, known: Iterable[Amount] | None = None
) -> list[Contract]:
    """The contracts in the vault's bank payments (``vault.contracts``); ``known``: the
    amounts when already read."""
    paid: defaultdict[int, list[Paid]] = defaultdict(list)
    for amount in amounts(conn, zone) if known is None else known:
        if amount.bank and amount.value > 0:
            paid[amount.company_id].append(
                Paid(
                    amount.company_id,
                    amount.company,
                    amount.day,
                    amount.value,
                    amount.currency,
                    amount.mandate,
                )
            )
    found = find_contracts(p for group in paid.values() for p in group)
    notes = all_notes(conn)
    today = datetime.now(zone).date()
    for contract in found:
        note = notes.get(contract.company_id)
        if note is not None:
            contract.end(note.ends_on, note.notice_days, today)
    return found
