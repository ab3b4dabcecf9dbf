"""Subscriptions and contracts found in what the user pays: the same company, a similar amount,
a regular period.

A SEPA mandate is one contract with its collector, so a company's payments split by mandate
first; payments without one split by amount (a bol.com Select year beside the orders). A
series is a contract when its gaps are regular (weekly, monthly, quarterly or yearly, most
gaps within the period's tolerance) and its amounts steady: one amount, or a few amounts one
after the other (a price change, "Netflix went from €11.99 to €13.49 in March"); groceries of
a different amount every week are not a contract.

Whether a contract still runs is judged against the newest payment kluis knows of, not the
clock: a statement of last year says nothing about this month. A series whose next payment is
more than half a period overdue by then has ended.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from statistics import median

PERIODS: dict[str, tuple[int, int, int, int]] = {
    # name: (typical days, shortest gap, longest gap, payments a year)
    "weekly": (7, 5, 9, 52),
    "monthly": (30, 25, 36, 12),
    "quarterly": (91, 80, 102, 4),
    "yearly": (365, 340, 390, 1),
}
PERIOD_WORDS = {
    "weekly": "a week",
    "monthly": "a month",
    "quarterly": "a quarter",
    "yearly": "a year",
}
"""How a period reads after an amount: "EUR 13.49 a month"."""
MIN_PAYMENTS = {"weekly": 4, "monthly": 3, "quarterly": 3, "yearly": 2}
REGULAR_SHARE = 0.75
"""The share of gaps that must fit the period (a debit moved by a holiday may not)."""
STEADY = Decimal("0.10")
"""Amounts within 10 % of their neighbour count as the same price."""
MAX_PRICES = 3
"""More different prices than this in one series: amounts that vary, not a price list."""


def money(value: Decimal | str, currency: str | None) -> str:
    """How an amount reads: ``EUR 1,234.50`` (``?`` for a currency nobody stated)."""
    return f"{currency or '?'} {Decimal(value):,.2f}"


@dataclass(frozen=True, slots=True)
class Paid:
    """One payment to a company: day, amount (positive: paid), currency, SEPA mandate."""

    company_id: int
    company: str
    day: date
    amount: Decimal
    currency: str | None
    mandate: str | None = None


@dataclass(frozen=True, slots=True)
class PriceChange:
    """From ``old`` to ``new`` with the payment of ``day``."""

    day: date
    old: Decimal
    new: Decimal


@dataclass(slots=True)
class Contract:
    """A recurring payment: what, how often, since when, and whether it still runs."""

    company_id: int
    company: str
    amount: Decimal
    currency: str | None
    period: str
    since: date
    last: date
    next: date | None
    status: str  # active | ending | ended
    payments: int
    mandate: str | None = None
    changes: list[PriceChange] = field(default_factory=list)
    ends_on: date | None = None  # the end the user said (``kluis contracts end``)
    notice_days: int | None = None

    def end(self, ends_on: date | None, notice_days: int | None, today: date) -> None:
        """Apply what the user said: a contract ended (or ending) on ``ends_on``."""
        self.ends_on, self.notice_days = ends_on, notice_days
        if ends_on is None:
            return
        if ends_on <= today:
            self.status, self.next = "ended", None
        else:
            self.status = "ending"
            if self.next is not None and self.next > ends_on:
                self.next = None

    @property
    def yearly(self) -> Decimal:
        """What a year of it costs at today's price."""
        return self.amount * PERIODS[self.period][3]

    def to_json(self) -> dict[str, object]:
        """The ``kluis contracts --json`` object."""
        return {
            "company_id": self.company_id,
            "company": self.company,
            "amount": str(self.amount),
            "currency": self.currency,
            "period": self.period,
            "since": self.since.isoformat(),
            "last": self.last.isoformat(),
            "next": self.next.isoformat() if self.next else None,
            "yearly": str(self.yearly),
            "status": self.status,
            "payments": self.payments,
            "ends_on": self.ends_on.isoformat() if self.ends_on else None,
            "notice_days": self.notice_days,
            "mandate": self.mandate,
            "price_changes": [
                {"date": c.day.isoformat(), "from": str(c.old), "to": str(c.new)}
                for c in self.changes
            ],
        }


def _period(days: list[date]) -> str | None:
    gaps = [(b - a).days for a, b in pairwise(days)]
    if not gaps:
        return None
    typical = median(gaps)
    for name, (_, low, high, _) in PERIODS.items():
        if low <= typical <= high:
            fitting = sum(low <= gap <= high for gap in gaps)
            if fitting >= REGULAR_SHARE * len(gaps) and len(days) >= MIN_PAYMENTS[name]:
                return name
    return None


def _same_price(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= STEADY * max(a, b)


def _prices(amounts: list[Decimal]) -> list[int] | None:
    """Where the price changes (indexes), or None when amounts vary rather than step."""
    changes = [n for n in range(1, len(amounts)) if not _same_price(amounts[n - 1], amounts[n])]
    return changes if len(changes) < MAX_PRICES else None


def _series(payments: list[Paid]) -> Iterable[list[Paid]]:
    """The payments split into candidate series: by mandate, then by similar amount."""
    by_mandate: dict[str | None, list[Paid]] = defaultdict(list)
    for paid in payments:
        by_mandate[paid.mandate].append(paid)
    for mandate, group in by_mandate.items():
        if mandate is not None:
            yield group
            continue
        clusters: list[list[Paid]] = []
        for paid in sorted(group, key=lambda p: p.amount):
            if clusters and _same_price(clusters[-1][0].amount, paid.amount):
                clusters[-1].append(paid)
            else:
                clusters.append([paid])
        yield from clusters


def find_contracts(payments: Iterable[Paid]) -> list[Contract]:
    """Every contract in ``payments`` (all of them, any company), largest yearly cost first."""
    everything = list(payments)
    if not everything:
        return []
    as_of = max(p.day for p in everything)
    by_company: dict[tuple[int, str | None], list[Paid]] = defaultdict(list)
    for paid in everything:
        by_company[(paid.company_id, paid.currency)].append(paid)
    found: list[Contract] = []
    for group in by_company.values():
        for series in _series(group):
            contract = _contract(sorted(series, key=lambda p: p.day), as_of)
            if contract is not None:
                found.append(contract)
    return sorted(found, key=lambda c: (c.status == "ended", -c.yearly, c.company))


def _contract(series: list[Paid], as_of: date) -> Contract | None:
    period = _period([p.day for p in series])
    amounts = [p.amount for p in series]
    if period is None:
        return None
    changes = _prices(amounts)
    if changes is None:
        return None
    last = series[-1]
    typical = PERIODS[period][0]
    expected = last.day + timedelta(days=typical)
    overdue = (as_of - expected).days > typical // 2
    return Contract(
        company_id=last.company_id,
        company=last.company,
        amount=last.amount,
        currency=last.currency,
        period=period,
        since=series[0].day,
        last=last.day,
        next=None if overdue else expected,
        status="ended" if overdue else "active",
        payments=len(series),
        mandate=last.mandate,
        changes=[PriceChange(series[n].day, amounts[n - 1], amounts[n]) for n in changes],
    )
