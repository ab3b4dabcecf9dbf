"""Fetching a folder's new mail in few round trips: sizes first, then bodies by the batch.

One ``UID FETCH … RFC822.SIZE`` per slice of UIDs says how big each new mail is; the bodies
then come in batches of up to ``BATCH_BYTES`` (and ``BATCH_MAILS``), one ``UID FETCH`` per
batch, so a sync of 20,000 mails costs a few dozen commands instead of 20,000 round trips,
and what a batch holds in memory is bounded by bytes, whatever the mails' sizes. A mail over
``MAX_MESSAGE_BYTES`` is quarantined unfetched.

One mail the server cannot send must not block the others. Dovecot answers a message file it
cannot read with ``* BYE`` and closes the connection; other servers answer ``NO``. Such a batch
is split in halves (over a new connection after a BYE) until the mail is alone; a mail that
fails alone, twice in the BYE case (a server shutting down says BYE too), is refused with the
server's reason. A mail expunged meanwhile comes back without a body (``BODY[] NIL``) or not at
all, and is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from importers.email.maildir import MAX_MESSAGE_BYTES

BATCH_BYTES = 2 * 1024 * 1024
"""Bytes of mail per body FETCH (read at call time); a larger mail comes alone."""

BATCH_MAILS = 500
"""Mails per body FETCH at most (read at call time): the UIDs are listed one by one."""

SIZE_SLICE = 750
"""UIDs per ``RFC822.SIZE`` FETCH, listed one by one: under the 8 KB of command line that
RFC 7162 asks clients to stay within, even with 9-digit UIDs."""

BODY_ITEMS = ("BODY.PEEK[]", "FLAGS", "INTERNALDATE")
"""What a body FETCH asks for. BODY.PEEK[], never BODY[] or RFC822: those set \\Seen."""

FOLDER_FAULT = 4
"""Neighbouring mails that, all refused, count as a fault of the folder: the sync stops."""


class Connection(Protocol):
    """The connection a folder is read over."""

    def current(self) -> IMAPClient:
        """The client, with the folder selected."""

    def reopen(self) -> IMAPClient:
        """A new client with the folder selected again, after the server said BYE."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """One mail as the server sent it, in plain values a parse worker can be handed."""

    uid: int
    raw: bytes
    flags: tuple[str, ...]
    internaldate: str | None


@dataclass(frozen=True, slots=True)
class Refused:
    """A mail that was not fetched, and why."""

    uid: int
    reason: str


def batches(connection: Connection, uids: list[int]) -> Iterator[list[tuple[int, int | None]]]:
    """``uids`` in fetch batches, each UID with its size (None: gone from the server).

    Sizes are asked for ``SIZE_SLICE`` UIDs at a time, so a mailbox of a million new mails
    never has all its sizes in memory.
    """
    for start in range(0, len(uids), SIZE_SLICE):
        part = uids[start : start + SIZE_SLICE]
        sizes = connection.current().fetch(part, ["RFC822.SIZE"])
        batch: list[tuple[int, int | None]] = []
        held = 0
        for uid in part:
            size = sizes.get(uid, {}).get(b"RFC822.SIZE")
            size = size if isinstance(size, int) else None
            if batch and (held + (size or 0) > BATCH_BYTES or len(batch) >= BATCH_MAILS):
                yield batch
                batch, held = [], 0
            batch.append((uid, size))
            held += size or 0
        if batch:
            yield batch


def fetch_batch(
    connection: Connection, batch: list[tuple[int, int | None]]
) -> list[Fetched | Refused]:
    """The mails of ``batch`` that are still there, in UID order, and those refused.

    Raises:
        IMAPClientError: ``FOLDER_FAULT`` or more neighbouring mails were all refused.
        OSError, IMAPClientAbortError: network errors, for the caller to retry.
    """
    wanted = [uid for uid, size in batch if size is not None and size <= MAX_MESSAGE_BYTES]
    limit = MAX_MESSAGE_BYTES // (1024 * 1024)
    large = [
        Refused(uid, f"larger than {limit} MB ({size} bytes): not fetched")
        for uid, size in batch
        if size is not None and size > MAX_MESSAGE_BYTES
    ]
    fetched = _bodies(connection, wanted, first=True)
    return sorted([*fetched, *large], key=lambda entry: entry.uid)


def _bodies(connection: Connection, uids: list[int], *, first: bool) -> list[Fetched | Refused]:
    """``uids`` fetched in one command, or split in halves around a mail the server refuses."""
    if not uids:
        return []
    client = connection.current()
    try:
        answer = client.fetch(uids, list(BODY_ITEMS))
    except IMAPClientAbortError:
        reason = server_goodbye(client)
        if reason is None:
            raise  # the network failed: the caller retries the folder from its cursor
        connection.reopen()
        if len(uids) == 1 and first:  # a shutting-down server says BYE too: try it again
            return _bodies(connection, uids, first=False)
    except IMAPClientError as exc:  # NO or BAD: this connection stays usable
        reason = as_text(exc.args[0]) if exc.args else type(exc).__name__
    else:
        return [_fetched(uid, answer[uid]) for uid in uids if _has_body(answer.get(uid))]
    if len(uids) == 1:
        return [Refused(uids[0], f"the server could not send it: {' '.join(reason.split())}")]
    half = len(uids) // 2
    parts = _bodies(connection, uids[:half], first=True)
    parts += _bodies(connection, uids[half:], first=True)
    if len(uids) >= FOLDER_FAULT and all(isinstance(part, Refused) for part in parts):
        # So many neighbours refused alike is the folder or the server, not a mail.
        raise IMAPClientError(f"the server refused {len(uids)} mails in a row: {reason}")
    return parts


def server_goodbye(client: IMAPClient) -> str | None:
    """The server's ``BYE`` text if it closed the connection itself, None for a network fault."""
    said = getattr(client, "_imap", None)
    bye = getattr(said, "untagged_responses", {}).get("BYE")
    return as_text(bye[-1]) if bye else None


def _has_body(data: dict[bytes, Any] | None) -> bool:
    """True if the answer holds the mail; an expunged one comes back as ``BODY[] NIL``."""
    return data is not None and isinstance(data.get(b"BODY[]"), bytes)


def _fetched(uid: int, data: dict[bytes, Any]) -> Fetched:
    """The values kept of one FETCH answer; ``\\Recent`` belongs to one session, not the mail."""
    flags = tuple(sorted({as_text(flag) for flag in data.get(b"FLAGS", ())} - {"\\Recent"}))
    arrived = data.get(b"INTERNALDATE")
    when = arrived.isoformat() if isinstance(arrived, datetime) else None
    return Fetched(uid, bytes(data[b"BODY[]"]), flags, when)


def as_text(value: bytes | str) -> str:
    """A flag or server message as text."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
