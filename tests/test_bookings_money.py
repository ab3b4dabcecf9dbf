"""Prices with their currency on every booking, order and invoice; parcels by tracking number;
orders dated by their mail rather than by the import."""

from __future__ import annotations

from decimal import Decimal

import pytest

from importers.bookings import jsonld
from importers.bookings.money import parse_amount
from importers.bookings.schemaorg import bookings_from
from importers.email.message import parse_message
from tests.support import FIXTURES, options
from vault import queries
from vault.ingest import Ingestor
from vault.records import Interaction
from vault.store import Store

BOOKINGS = FIXTURES / "bookings"


@pytest.mark.parametrize(
    ("written", "amount", "currency"),
    [
        ("2,99 €", "2.99", "EUR"),
        ("EUR 1.249,00", "1249.00", "EUR"),
        ("1,234.50", "1234.50", None),
        ("£12", "12", "GBP"),
        ("189.40", "189.40", None),
        (39.98, "39.98", None),
        ("free", None, None),
    ],
)
def test_amounts_as_shops_write_them(
    written: object, amount: str | None, currency: str | None
) -> None:
    assert parse_amount(written) == (Decimal(amount) if amount else None, currency)


def test_an_orders_price_written_as_text_is_kept_with_its_currency() -> None:
    name = "order-kruidvat-10023.eml"
    item = parse_message((BOOKINGS / name).read_bytes(), name, options())
    assert isinstance(item, Interaction)
    (order,) = item.bookings
    assert (order.price, order.currency) == (Decimal("2.99"), "EUR")  # before: dropped


def test_an_order_without_a_date_is_dated_by_its_mail_not_by_the_import(store: Store) -> None:
    name = "order-kruidvat-10023.eml"
    item = parse_message((BOOKINGS / name).read_bytes(), name, options())
    Ingestor(store, options(), "test", name).run([item])
    with store.read() as conn:
        (row,) = queries.list_bookings(conn)
    assert row["start"] == "2027-03-02T09:41:00+01:00"  # before: none, listed as undated


def test_an_invoice_prices_its_order_and_a_parcel_is_known_by_its_tracking_link(
    store: Store,
) -> None:
    path = BOOKINGS / "order-invoice-parcel.jsonld"
    Ingestor(store, options(), "test", str(path)).run(jsonld.read(path, options()))
    with store.read() as conn:
        rows = {row["kind"]: row for row in queries.list_bookings(conn)}
    order, parcel = rows["order"], rows["parcel"]
    # The order states no price; its invoice's total due is it, without making it "changed".
    assert (order["reference"], order["status"]) == ("BOL-4471-2290", "confirmed")
    assert (order["price"], order["currency"]) == ("39.98", "EUR")
    assert parcel["reference"] == "3SBOL44712290"  # read from the tracking URL


@pytest.mark.parametrize(
    "price",
    [
        {"price": "34.99", "priceCurrency": "EUR"},
        {"totalPrice": 34.99, "priceCurrency": "EUR"},
        {"totalPrice": {"@type": "PriceSpecification", "price": "34.99", "priceCurrency": "EUR"}},
        {
            "priceSpecification": [
                {"@type": "UnitPriceSpecification", "price": "34,99", "priceCurrency": "EUR"}
            ]
        },
        {"totalPaymentDue": {"@type": "MonetaryAmount", "value": "34.99", "currency": "EUR"}},
    ],
)
def test_every_place_schema_org_keeps_a_price(price: dict[str, object]) -> None:
    stated = {"priceCurrency": "EUR"} if "priceSpecification" in price else {}
    (order,) = bookings_from([{"@type": "Order", "orderNumber": "A-1", **stated, **price}])
    assert (order.price, order.currency) == (Decimal("34.99"), "EUR")
