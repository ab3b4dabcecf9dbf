"""Any bytes in, records or quarantine out: every parser, fed by hypothesis.

The strategies mix pure noise with mutations of a valid input (the interesting bugs sit just
past the happy path). Examples are bounded so the whole file stays a few seconds; set
``KLUIS_HARDENING_LONG=1`` for a hundred times more.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from importers.bookings import bcbp, ics, pkpass
from importers.bookings.schemaorg import bookings_in_page
from importers.chat import telegram, whatsapp
from importers.chat.meta_thread import Page, ThreadReader
from importers.email.message import parse_message
from tests.hardening.generate import (
    boarding_pass_json,
    booking_page,
    flight_jsonld,
    ics_events,
    mail_bytes,
    meta_message,
    meta_thread,
    pkpass_zip,
    telegram_export,
    telegram_message,
    whatsapp_text,
)
from tests.hardening.harness import LONG
from tests.support import options
from vault.errors import MalformedInput
from vault.records import Booking, Checkpoint, Interaction, Note, Quarantined

EXAMPLES = 4000 if LONG else 40
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
OPTIONS = options("sanne@example.org")


def mutated(seed: bytes) -> st.SearchStrategy[bytes]:
    """``seed`` with a slice replaced by random bytes, cut short, or doubled; or pure noise."""

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        start = draw(st.integers(0, len(seed)))
        end = draw(st.integers(start, min(len(seed), start + 64)))
        junk = draw(st.binary(max_size=64))
        how = draw(st.sampled_from(["splice", "cut", "double", "noise"]))
        if how == "splice":
            return seed[:start] + junk + seed[end:]
        if how == "cut":
            return seed[:start]
        if how == "double":
            return seed[:end] + seed[start:]
        return junk

    return mutate()


def assert_only_records(items: Iterable[object]) -> None:
    """Every item is an interaction, a quarantine entry, a checkpoint or a note; nothing else."""
    for item in items:
        assert isinstance(item, Interaction | Quarantined | Checkpoint | Note), item
        if isinstance(item, Quarantined):
            assert "\n" not in item.reason and item.reason


@FUZZ
@given(mutated(mail_bytes(1) + b"\n--\n<b>html</b>\n"))
def test_any_mail_bytes_become_a_mail_or_a_quarantine_entry(raw: bytes) -> None:
    assert_only_records([parse_message(raw, "fuzz.eml", OPTIONS)])


@FUZZ
@given(mutated(telegram_export([telegram_message(n, f"bericht {n}") for n in range(3)]).encode()))
def test_any_telegram_export_bytes_become_records_or_quarantine(data: bytes) -> None:
    assert_only_records(telegram.parse_export(data, "result.json", OPTIONS))


@FUZZ
@given(
    st.one_of(
        mutated(whatsapp_text(4).encode()).map(lambda b: b.decode("utf-8", "replace")),
        st.text(max_size=300),
    )
)
def test_any_whatsapp_text_becomes_records_or_quarantine(text: str) -> None:
    assert_only_records(whatsapp.parse_chat(text, "chat.txt", OPTIONS, chat_name="Jansen"))


@FUZZ
@given(mutated(meta_thread([meta_message(n, f"bericht {n}") for n in range(3)]).encode()))
def test_any_messenger_thread_bytes_become_records_or_quarantine(data: bytes) -> None:
    pages = [Page("message_1.json", data)]
    assert_only_records(ThreadReader(OPTIONS, "messenger").items(pages, folder="shop_1"))


@FUZZ
@given(mutated(ics_events(2).encode()))
def test_any_calendar_bytes_become_records_or_quarantine(raw: bytes) -> None:
    assert_only_records(ics.items_of(raw, "fuzz.ics", OPTIONS))


VALID_BCBP = b"M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 100"


@FUZZ
@given(mutated(VALID_BCBP))
def test_any_barcode_decodes_or_is_a_clear_error(raw: bytes) -> None:
    try:
        boarding_pass = bcbp.parse(bcbp.text_of(raw))
    except MalformedInput as exc:
        assert "\n" not in str(exc)
        return
    legs = bcbp.leg_bookings(boarding_pass, datetime(2024, 6, 1, tzinfo=UTC).date())
    assert all(isinstance(b, Booking) for b in legs)


@FUZZ
@given(
    st.one_of(
        mutated(booking_page(flight_jsonld()).encode()),
        mutated(json.dumps(flight_jsonld()).encode()).map(
            lambda b: b'<script type="application/ld+json">' + b + b"</script>schema.org"
        ),
    ).map(lambda b: b.decode("utf-8", "replace"))
)
def test_any_page_gives_bookings_or_none(page: str) -> None:
    assert all(isinstance(b, Booking) for b in bookings_in_page(page))


@FUZZ
@given(mutated(pkpass_zip(boarding_pass_json())))
# Found by this test: a zip whose first byte is gone made zipfile seek to -1 (ValueError).
@example(pkpass_zip(boarding_pass_json())[1:])
def test_any_pkpass_bytes_become_a_pass_or_a_clear_error(data: bytes) -> None:
    received = datetime(2024, 3, 1, tzinfo=UTC)
    try:
        item = pkpass.pass_interaction(data, "fuzz.pkpass", OPTIONS, received)
    except MalformedInput as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(item, Interaction)
