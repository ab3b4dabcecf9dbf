"""What a mail says was paid or is due: from its schema.org markup, else from the one line of
its text that states a total ("Totaal € 49,95", "Total: $12.99", "Gesamtbetrag 12,90 €",
"Montant TTC : 8,50 €").

A total read from words is marked ``guessed``; it is taken only from an order confirmation,
an invoice or a receipt (its subject or text says which), only from a line that names a total
or an amount due, never from a subtotal, a discount or a line before tax, and never converted.
A lone ``$`` is read as US dollars (still guessed); other dollars say which.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from importers.bookings.money import parse_amount
from vault.records import Booking, Money

_PURCHASE = re.compile(
    r"\b(order|bestelling|bestellung|commande|invoice|factuur|rechnung|facture|receipt|"
    r"kassabon|bon|quittung|beleg|reçu|recu|betaalbewijs|payment|betaling|zahlung|paiement|"
    r"aankoop|purchase|kauf|achat|abonnement|subscription)\b",
    re.IGNORECASE,
)
_TOTAL = re.compile(
    r"^\W{0,4}(?P<label>"
    r"(?:order |grand |invoice |amount )?total(?: amount| due| paid| charged| to pay)?|amount due"
    r"|amount paid|balance due|totaal(?:bedrag)?(?: te betalen| incl\.? btw| betaald)?"
    r"|te betalen|totaalprijs|gesamt(?:betrag|summe|preis)|rechnungsbetrag|endbetrag|zu zahlen"
    r"|summe|total ttc|montant ttc|montant total|total à payer|net à payer|montant à payer"
    r"|total payé|montant payé"
    r")\b(?P<rest>.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_NOT_A_TOTAL = re.compile(
    r"sub-?tota|subtotaal|zwischensumme|sous-total|\bHT\b|excl|ohne mwst|netto|korting|rabatt"
    r"|remise|discount|savings|bespaard|gespart|économisé",
    re.IGNORECASE,
)
_TAX = re.compile(r"^\W*(?:vat|btw|mwst|ust|tva|tax|taxes)\b", re.IGNORECASE)
"""A total of tax ("Total VAT", "Totaal btw") is not what was paid."""
_MONEY_MARK = re.compile(r"[€£$]|\b(?:EUR|USD|GBP|CHF|SEK|NOK|DKK|PLN|CZK)\b")
MAX_LINES = 4000


def markup_money(bookings: Iterable[Booking]) -> Money | None:
    """The total the mail's markup states: each reservation or order's price once (segments of
    one reservation share it), in the first currency stated."""
    seen: set[tuple[str | None, Decimal]] = set()
    total: Decimal | None = None
    currency: str | None = None
    for booking in bookings:
        if booking.price is None or booking.price <= 0:
            continue
        if total is not None and booking.currency != currency:
            continue
        key = (booking.reference, booking.price)
        if key in seen:
            continue
        seen.add(key)
        currency = booking.currency
        total = booking.price + (total or Decimal(0))
    return Money(total, currency) if total is not None else None


def stated_total(subject: str, body: str) -> Money | None:
    """The total a purchase mail's text states, guessed; None for any other mail."""
    if not (_PURCHASE.search(subject) or _PURCHASE.search(body[:2000])):
        return None
    lines = body.splitlines()[:MAX_LINES]
    found: Money | None = None
    for n, line in enumerate(lines):
        match = _TOTAL.match(line.strip())
        if match is None or _TAX.match(match.group("rest")):
            continue
        if _NOT_A_TOTAL.search(match.group("label") + match.group("rest")[:20]):
            continue
        rest = match.group("rest")
        if not _MONEY_MARK.search(rest) and n + 1 < len(lines):
            rest = lines[n + 1]  # "Totaal" on one line, "€ 49,95" on the next
        money = _money_in(rest)
        if money is not None:
            found = money  # the last total line wins: a grand total comes after the others
    return found


def _money_in(text: str) -> Money | None:
    if not _MONEY_MARK.search(text) or not re.search(r"\d", text):
        return None
    value, currency = parse_amount(text)
    if value is None or value <= 0:
        return None
    if currency is None and "$" in text:
        currency = "USD"
    return Money(value, currency, guessed=True)
