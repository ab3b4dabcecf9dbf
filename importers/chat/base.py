"""The skeleton every chat importer shares: a chat, a message read from it, its record.

WhatsApp, Telegram and Meta's Messenger/Instagram exports are read in their own ways, but each
message ends the same way: one ``Interaction(channel="chat")`` in its chat's thread, with a
dedup key of (source, thread, time, sender, text hash, ordinal) (DESIGN, ingest rules). The
ordinal counts the chat's earlier messages with the same time, sender and text, so two
identical "ok" at one minute stay two messages, and a re-import of the same export finds every
key again. An importer reads a chat into a ``Chat`` and each message into a ``Message`` and a
``Moment``; ``Chat.record`` makes the record.
"""

from __future__ import annotations

import mimetypes
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, NamedTuple

from vault.records import (
    Attachment,
    Channel,
    ChatKind,
    CompanyHints,
    Direction,
    Interaction,
    Party,
    chat_key,
)

MediaLookup = Callable[[str], bytes | None]
"""Finds an attached file by the name or ``uri`` the chat gives it; None if it is not in the
export. Raises ``RefusedInput`` for a file that is there but must not be read."""

ORGANISATION_KINDS: frozenset[ChatKind] = frozenset({"business", "bot", "channel"})
"""Chats that speak for an organisation: their name is the organisation's name."""

_EXTRA_MIME = {
    ".opus": "audio/ogg",
    ".webp": "image/webp",
    ".vcf": "text/vcard",
    ".aac": "audio/aac",
}
"""Media types of chat attachments that some systems' ``mimetypes`` do not know."""


class Malformed(ValueError):
    """A chat, page or message that cannot be read; its text is the one-line quarantine reason."""


class Moment(NamedTuple):
    """When a message was sent: the instant, the time its dedup key uses, and whether the
    zone was in the source. A wall-clock time read in ``--timezone`` keys by the time as
    written, so a re-import with another ``--timezone`` still matches. (A tuple: one is made
    for every message.)"""

    at: datetime
    key: datetime
    tz_known: bool = True


@dataclass(slots=True)
class Message:
    """One message as its importer read it: what its record does not take from the chat.

    ``key_sender`` and ``key_text`` feed the dedup key: the sender and the text as the export
    writes them, never kluis's rendering, so a change in how titles or bodies are worded never
    changes a key. A message without a ``sender`` is the chat's own (a notice).
    """

    direction: Direction
    title: str
    body: str
    key_sender: str
    key_text: str
    sender: Party | None = None
    attachments: list[Attachment] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Chat:
    """What every message of one chat shares, and the count of the keys given so far."""

    source: str
    """The dedup namespace: ``whatsapp``, ``telegram``, ``messenger`` or ``instagram``."""
    key: str
    """The thread's key in the vault (``whatsapp:klm``, ``messenger:shop_1234``)."""
    title: str | None
    kind: ChatKind | None
    party: Party | None
    """The chat as the other side: the sender of its notices, the recipient of what the owner
    writes in it."""
    owner: str | None = None
    """Who the owner is in this chat, folded as the importer compares senders; None: unknown."""
    key_thread: str | None = None
    """The thread as dedup keys name it where that is not ``key`` (Telegram: the bare id)."""
    channel: Channel = "chat"
    """The channel of its items: ``chat``, or ``sms``/``call`` for a phone's own messages."""
    _seen: Counter[tuple[str, str, str]] = field(
        default_factory=Counter, init=False, repr=False, compare=False
    )

    def record(self, message: Message, when: Moment, source_ref: str, raw: bytes) -> Interaction:
        """The chat item of ``message``, keyed after the messages recorded before it."""
        fingerprint = (when.key.isoformat(), message.key_sender, message.key_text)
        ordinal = self._seen[fingerprint]
        self._seen[fingerprint] += 1
        thread = self.key if self.key_thread is None else self.key_thread
        organisation = self.title if self.kind in ORGANISATION_KINDS else None
        return Interaction(
            channel=self.channel,
            direction=message.direction,
            occurred_at=when.at,
            title=message.title,
            body=message.body,
            source_ref=source_ref,
            dedup_key=chat_key(
                self.source, thread, when.key, message.key_sender, message.key_text, ordinal
            ),
            sender=self.party if message.sender is None else message.sender,
            recipients=[self.party] if message.direction == "out" and self.party else [],
            raw=raw,
            thread_key=self.key,
            thread_title=self.title,
            tz_known=when.tz_known,
            attachments=message.attachments,
            hints=CompanyHints(chat_kind=self.kind, organisation=organisation),
            extras=message.extras,
        )


def mime_of(name: str) -> str:
    """The media type of an attached file, by its name."""
    suffix = PurePosixPath(name).suffix.lower()
    return _EXTRA_MIME.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
