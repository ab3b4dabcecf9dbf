"""A chat export imported again, by any later kluis, adds nothing: its dedup keys never change.

The digests below are of the keys the importers gave these fixtures before the chat importers
shared one skeleton (importers/chat/base.py). A change in how a key is made (the thread's name,
the time, the sender, the text hash, the ordinal) would duplicate every message of every chat a
user has imported: such a change must be a deliberate one, with a migration.
"""

from __future__ import annotations

import hashlib

import pytest

import importers
from tests.support import FIXTURES, chat_options
from vault.records import Interaction

KEYS = {
    ("whatsapp/WhatsApp Chat - KLM", "whatsapp"): (8, "80799aa7fb7902ca"),
    ("whatsapp/WhatsApp Chat with Fietsenwinkel Jansen.txt", "whatsapp"): (8, "ecb207082d53c4a2"),
    ("whatsapp/WhatsApp-chat met Buren Eikstraat.txt", "whatsapp"): (7, "ac3d44cf78d04431"),
    ("telegram/full_export", "telegram"): (25, "692698ebb5c8c54a"),
    ("telegram/single_chat_with_broken_message.json", "telegram"): (2, "de4768f566e496f7"),
    ("messenger/facebook-2019", "messenger"): (2, "bb044de53e622d3d"),
    ("messenger/facebook-sannedevries-2024-04-02-Ab12Cd34", "messenger"): (10, "9c3b691667046d3c"),
    ("messenger_html/facebook-2020", "messenger"): (6, "2200d8c96d763074"),
    ("messenger_html/facebook-sannedevries-2024-05-10-Qr56St78", "messenger"): (
        12,
        "bc45c69ed536541d",
    ),
    ("instagram/instagram-sannedevries-2024-04-02-Xy98", "instagram"): (3, "96cda9cdbea54b88"),
}


@pytest.mark.parametrize(("fixture", "format_name"), list(KEYS), ids=[f for f, _ in KEYS])
@pytest.mark.parametrize(("me", "zone"), [(None, "Europe/Amsterdam"), ("Sanne de Vries", "UTC")])
def test_a_chat_export_keeps_its_dedup_keys(
    fixture: str, format_name: str, me: str | None, zone: str
) -> None:
    items = importers.read(FIXTURES / fixture, format_name, chat_options(me=me, zone=zone))
    keys = sorted(item.dedup_key for item in items if isinstance(item, Interaction))
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]
    assert (len(keys), digest) == KEYS[fixture, format_name]
