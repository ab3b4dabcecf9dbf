"""Amounts of money as shops and carriers write them: ``12.95``, ``"2,99 €"``, ``EUR 1.234,50``.

schema.org puts a price in many places (``price``, ``totalPrice``, ``totalPaymentDue``, a
``PriceSpecification`` or ``MonetaryAmount`` object, with ``priceCurrency`` beside it or
inside); ``price_of`` reads them all. A currency is taken only where it is stated: an ISO code,
or a symbol that names one currency (``€``, ``£``), never ``$`` (which dollar?).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

_PRICE_KEYS = ("totalPrice", "price", "totalPaymentDue", "priceSpecification")
_NUMBER = re.compile(r"[-−]?\d[\d.,'’\u00a0\u202f ]*")
_CODE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")
_SYMBOLS = {
    "US$": "USD",
    "€": "EUR",
    "£": "GBP",
    "₹": "INR",
    "₺": "TRY",
    "₽": "RUB",
    "zł": "PLN",
    "Kč": "CZK",
}
MAX_DIGITS = 18
"""Longer numbers are not prices (an order number in the price field)."""


def parse_amount(value: Any) -> tuple[Decimal | None, str | None]:
    """(amount, currency stated with it) of a number or a text such as ``"2,99 €"``.

    A separator followed by exactly three digits and nothing else is a thousands separator
    (``1,234``); the last of two different separators is the decimal one (``1.234,50``).
    """
    if isinstance(value, bool) or value is None:
        return None, None
    if isinstance(value, int | float | Decimal):
        return _decimal(str(value)), None
    text = str(value).strip()
    found = _NUMBER.search(text)
    if found is None:
        return None, None
    raw = re.sub(r"['’\u00a0\u202f ]", "", found.group()).replace("−", "-").rstrip(".,")
    marks = [c for c in raw if c in ".,"]
    if marks:
        last = raw.rfind(marks[-1])
        single_group = len(marks) == 1 and len(raw) - last - 1 == 3
        if len(set(marks)) == 1 and (len(marks) > 1 or single_group):
            raw = raw.replace(marks[-1], "")  # only thousands separators
        else:
            raw = raw[:last].replace(".", "").replace(",", "") + "." + raw[last + 1 :]
    return _decimal(raw), _currency_in(text[: found.start()] + " " + text[found.end() :])


def _decimal(text: str) -> Decimal | None:
    if len(text.replace("-", "").replace(".", "")) > MAX_DIGITS:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _currency_in(text: str) -> str | None:
    code = _CODE.search(text)
    if code:
        return code.group(1)
    return next((iso for symbol, iso in _SYMBOLS.items() if symbol in text), None)


def price_of(obj: Any) -> tuple[Decimal | None, str | None]:
    """(amount, currency) of a schema.org object's price, wherever it keeps it."""
    if not isinstance(obj, dict):
        return None, None
    for key in _PRICE_KEYS:
        value = obj.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        stated = obj.get("priceCurrency") or obj.get("currency")
        if isinstance(value, dict):  # a PriceSpecification or a MonetaryAmount
            stated = stated or value.get("priceCurrency") or value.get("currency")
            value = value.get("price", value.get("value"))
        amount, written = parse_amount(value)
        if amount is not None:
            code = stated.strip() if isinstance(stated, str) and stated.strip() else written
            return amount, code.upper() if code else None
    return None, None
