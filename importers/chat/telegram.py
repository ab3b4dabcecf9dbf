"""Telegram Desktop "Export chat history" (JSON) → chat interactions.

Telegram Desktop writes one ``result.json``: either a single chat (top-level ``name``, ``type``,
``id``, ``messages``) or the whole account (``personal_information``, ``chats.list``,
``left_chats.list``, contacts, sessions, …), with media in folders beside it. The file is one JSON
document, so it is read whole (up to ``MAX_EXPORT_BYTES``); every message becomes an
``Interaction(channel="chat")`` and service entries (group created, call, pin, …) become
``direction="system"`` items with a readable title.

This module reads the export and walks its chats; ``importers.chat.telegram_entries`` makes the
items of a chat's messages and service entries, and ``importers.chat.telegram_parts`` reads an
entry's time, text and media.

Decisions worth knowing:

- Times come from ``date_unixtime`` (exports since 2022) and keep the exporting machine's offset,
  which the zone-less ``date`` beside it implies. Older exports only have ``date``, local time
  without a zone: ``options.timezone`` is attached and ``tz_known`` is False.
- Dedup keys hash (chat id, time, sender id, text, ordinal) — the time in UTC when known, else the
  wall-clock time as written, so a re-import with another ``--timezone`` still matches. Media
  count only by kind: file paths depend on the chat's position in the export (``chat_07/``).
- Saved Messages are the owner's notes to self: ``direction="out"`` with no recipient, so they
  never become a company of their own.
- Chat handles follow Telegram's own ``from_id`` spelling (``user123``, ``chat123``,
  ``channel123``), so a channel's posts and the channel itself resolve to one company.
- Media are read only inside the export folder (``importers.files.Source``): a ``file`` with
  ``..``, an absolute path or a link leading out stays unread, the reason in
  ``extras["media"]["missing"]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from importers.archive import zip_aware
from importers.chat.base import Malformed
from importers.chat.telegram_entries import Context, TelegramChat, entry_item, is_owner, party_of
from importers.chat.telegram_parts import raw_json, string_field
from importers.files import Source, peek, unchanged
from vault.errors import InputError, RefusedInput
from vault.records import ChatKind, Checkpoint, ImportOptions, Item, Party, Quarantined
from vault.text import one_line

RESULT_NAME = "result.json"
"""The file name Telegram Desktop gives every JSON export."""

MAX_EXPORT_BYTES = 512 * 1024 * 1024
"""Larger exports are quarantined instead of loaded: the JSON is parsed in one piece."""

SNIFF_BYTES = 8192

CHAT_KINDS: Mapping[str, ChatKind] = {
    "personal_chat": "private",
    "saved_messages": "private",
    "bot_chat": "bot",
    "public_channel": "channel",
    "private_channel": "channel",
    "private_group": "group",
    "private_supergroup": "group",
    "public_supergroup": "group",
}
"""Telegram's chat ``type`` → ``CompanyHints.chat_kind`` (bots and channels mean a company)."""

_SNIFF_CONTAINER = re.compile(rb'"(?:messages|chats|personal_information)"\s*:')
_SNIFF_TELEGRAM = re.compile(
    rb'"(?:personal_information|date_unixtime|from_id|actor_id|text_entities)"'
    rb'|"type"\s*:\s*"(?:message|service|personal_chat|bot_chat|saved_messages|private_group'
    rb'|private_supergroup|public_supergroup|private_channel|public_channel)"'
)
# Telegram Desktop writes control characters other than \n \r \t as "\xHH", which is not JSON.
_BAD_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\x([0-9A-Fa-f]{2})")


# --- the module protocol -------------------------------------------------------------------------


def sniff(path: Path) -> bool:
    """True for a ``result.json``, a folder holding one, or a ``.json`` that starts like an export.

    Only the first ``SNIFF_BYTES`` of a ``.json`` file are read: an export names its messages or
    chats and uses Telegram's own keys (``date_unixtime``, ``from_id``, chat types) early on.
    """
    try:
        if path.is_dir():
            return (path / RESULT_NAME).is_file()
        if not path.is_file():
            return False
        if path.name == RESULT_NAME:
            return True
        if path.suffix.lower() != ".json":
            return False
    except OSError:
        return False
    head = peek(path, SNIFF_BYTES)
    return bool(_SNIFF_CONTAINER.search(head) and _SNIFF_TELEGRAM.search(head))


@zip_aware("telegram")
def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Stream the interactions of a Telegram export file, or of the ``result.json`` in a folder.

    Ends with one ``Checkpoint`` keyed by the resolved ``result.json`` path, with its size and
    mtime; an unchanged file (same cursor in ``options.cursors``) yields nothing. Media files
    referenced by messages are attached when they exist inside the export folder.

    Raises:
        InputError: the file cannot be opened or read (missing, no permission).
        RefusedInput: it is not a regular file, or a ``result.json`` leading out of the folder.
    """
    file = path / RESULT_NAME if path.is_dir() else path
    source = str(file.resolve())
    try:
        stat = file.stat()
    except OSError as exc:
        raise InputError(f"{file}: cannot read: {exc.strerror or exc}") from exc
    state = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if unchanged(options.cursors.get(source), state):
        return
    within = Source(path)
    try:
        data = within.read(file, MAX_EXPORT_BYTES)
    except OSError as exc:
        raise InputError(f"{file}: cannot read: {exc.strerror or exc}") from exc
    except RefusedInput as exc:
        if stat.st_size <= MAX_EXPORT_BYTES:
            raise
        yield Quarantined(source, b"", f"{exc.reason}: the Telegram export is not read")
    else:
        yield from _parse(data, source, options, within)
    yield Checkpoint(source=source, state=state)


def parse_export(data: bytes, source_ref: str, options: ImportOptions) -> Iterator[Item]:
    """Parse the bytes of a ``result.json``; never raises for bad content.

    Without a folder there are no media files, so no attachments: media stay described in
    ``extras["media"]``. Invalid JSON or JSON that is not a Telegram export gives one
    ``Quarantined`` item; a malformed chat or message gives one ``Quarantined`` for itself only.

    Args:
        data: the file's bytes (UTF-8, as Telegram Desktop writes it).
        source_ref: where the bytes came from; each item's ``source_ref`` extends it.
        options: the user's zone for zone-less times and who "me" is.
    """
    return _parse(data, source_ref, options, None)


# --- the export as a whole -----------------------------------------------------------------------


def _parse(
    data: bytes, source_ref: str, options: ImportOptions, media_root: Source | None
) -> Iterator[Item]:
    try:
        document = _load(data)
        chats = _chat_list(document)
    except Malformed as exc:
        yield Quarantined(source_ref, data, str(exc))
        return
    context = Context(source_ref, options, _owner(document), media_root)
    for chat in chats:
        yield from _chat_items(chat, context)


def _load(data: bytes) -> dict[str, Any]:
    try:
        document = _decode(data)
    except json.JSONDecodeError as exc:
        # Retry with Telegram Desktop's "\xHH" control-character escapes made valid.
        repaired = _BAD_ESCAPE.sub(rb"\1\\u00\2", data)
        if repaired == data:
            raise Malformed(_json_reason(exc)) from exc
        try:
            document = _decode(repaired)
        except ValueError:
            raise Malformed(_json_reason(exc)) from exc
    if not isinstance(document, dict):
        raise Malformed(f"not a Telegram export: the JSON is a {type(document).__name__}")
    return document


def _decode(data: bytes) -> Any:
    try:
        return json.loads(data)
    except json.JSONDecodeError:
        raise
    except UnicodeDecodeError as exc:
        reason = f"not valid JSON: not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise Malformed(reason) from exc
    except (ValueError, RecursionError) as exc:  # e.g. a 5000-digit number, nesting too deep
        reason = f"not valid JSON: {one_line(str(exc) or type(exc).__name__)}"
        raise Malformed(reason) from exc


def _json_reason(exc: json.JSONDecodeError) -> str:
    return f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"


def _chat_list(document: dict[str, Any]) -> list[Any]:
    """The chats of a single-chat export (the document itself) or of an account export."""
    if "messages" in document:
        return [document]
    if not any(key in document for key in ("chats", "left_chats", "personal_information")):
        raise Malformed("not a Telegram export: no 'messages' or 'chats'")
    chats: list[Any] = []
    for key in ("chats", "left_chats"):
        section = document.get(key)
        if section is None:
            continue
        listed = section.get("list") if isinstance(section, dict) else None
        if not isinstance(listed, list):
            raise Malformed(f"not a Telegram export: '{key}' has no list of chats")
        chats.extend(listed)
    return chats


def _owner(document: dict[str, Any]) -> str | None:
    """The exporting account as a ``from_id`` (``user<id>``), from ``personal_information``."""
    info = document.get("personal_information")
    if not isinstance(info, dict):
        return None
    user_id = info.get("user_id")
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        return f"user{user_id}"
    if isinstance(user_id, str) and user_id.strip().isdigit():
        return f"user{user_id.strip()}"
    return None


# --- chats ---------------------------------------------------------------------------------------


def _chat_items(raw_chat: Any, context: Context) -> Iterator[Item]:
    chat_ref = _chat_ref(raw_chat)
    try:
        chat, messages = _chat(raw_chat, chat_ref, context)
    except (ValueError, TypeError) as exc:  # Malformed, or a value of an unforeseen type
        ref = f"{context.source_ref}#chat={chat_ref}"
        yield Quarantined(ref, raw_json(raw_chat), one_line(str(exc) or type(exc).__name__))
        return
    for position, message in enumerate(messages):
        ref = f"{context.source_ref}#chat={chat_ref}&message={_message_ref(message, position)}"
        try:
            yield entry_item(message, chat, context, ref)
        except (ValueError, TypeError, OverflowError) as exc:  # Malformed among them
            yield Quarantined(ref, raw_json(message), one_line(str(exc) or type(exc).__name__))


def _chat(raw_chat: Any, ref: str, context: Context) -> tuple[TelegramChat, list[Any]]:
    if not isinstance(raw_chat, dict):
        raise Malformed(f"chat is a {type(raw_chat).__name__}, not an object")
    messages = raw_chat.get("messages")
    if not isinstance(messages, list):
        raise Malformed("chat has no list of messages")
    chat_type = string_field(raw_chat.get("type"))
    name = string_field(raw_chat.get("name"))
    chat = TelegramChat(
        source="telegram",
        key=f"telegram:{ref}",
        key_thread=ref,
        title=name or _UNNAMED_TITLES.get(chat_type or ""),
        kind=CHAT_KINDS.get(chat_type or ""),
        party=_counterpart(raw_chat, messages, context),
        type=chat_type,
    )
    return chat, messages


# Telegram Desktop writes no "name" for these two chats.
_UNNAMED_TITLES = {"saved_messages": "Saved Messages", "replies": "Replies"}


def _chat_ref(raw_chat: Any) -> str:
    """The chat's id; a trimmed export without one (chat-miner's sample) falls back to its name."""
    if not isinstance(raw_chat, dict):
        return "unknown"
    chat_id = raw_chat.get("id")
    if isinstance(chat_id, int | str) and not isinstance(chat_id, bool) and str(chat_id):
        return str(chat_id)
    name = string_field(raw_chat.get("name"))
    return f"name:{name}" if name else "unknown"


def _counterpart(raw_chat: dict[str, Any], messages: list[Any], context: Context) -> Party | None:
    """Who the owner's messages in this chat go to: the other person, the bot, the group."""
    name = string_field(raw_chat.get("name"))
    chat_id = raw_chat.get("id")
    chat_type = string_field(raw_chat.get("type"))
    if chat_type == "saved_messages":
        return None
    if chat_type in ("personal_chat", "bot_chat"):
        # 2020-era exports number personal chats differently from the user ids in from_id,
        # so the other side's handle is taken from their own messages where possible.
        other = _first_other_sender(messages, context)
        if other is not None:
            return Party(name=name or other.name, address=other.address, kind="chat_handle")
        address = _prefixed("user", chat_id)
    elif chat_type in _CHANNEL_TYPES:
        address = _prefixed("channel", chat_id)
    else:
        address = _prefixed("chat", chat_id)
    if name is None and address is None:
        return None
    return Party(name=name, address=address, kind="chat_handle")


# Telegram keeps supergroups as channels: their members' posts "as the group" say "channel<id>".
_CHANNEL_TYPES = frozenset(
    {"public_channel", "private_channel", "public_supergroup", "private_supergroup"}
)


def _first_other_sender(messages: list[Any], context: Context) -> Party | None:
    for message in messages:
        if not isinstance(message, dict) or message.get("type") == "service":
            continue
        sender = party_of(message, "from")
        if sender.address and not is_owner(sender, context):
            return sender
    return None


def _prefixed(prefix: str, chat_id: Any) -> str | None:
    if isinstance(chat_id, int | str) and not isinstance(chat_id, bool) and str(chat_id):
        return f"{prefix}{chat_id}"
    return None


def _message_ref(message: Any, position: int) -> str:
    if isinstance(message, dict):
        message_id = message.get("id")
        if isinstance(message_id, int | str) and not isinstance(message_id, bool):
            return str(message_id)
    return f"@{position}"
