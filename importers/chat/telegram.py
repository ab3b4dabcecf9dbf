"""Telegram Desktop "Export chat history" (JSON) → chat interactions.

Telegram Desktop writes one ``result.json``: either a single chat (top-level ``name``, ``type``,
``id``, ``messages``) or the whole account (``personal_information``, ``chats.list``,
``left_chats.list``, contacts, sessions, …), with media in folders beside it. The file is one JSON
document, so it is read whole (up to ``MAX_EXPORT_BYTES``); every message becomes an
``Interaction(channel="chat")`` and service entries (group created, call, pin, …) become
``direction="system"`` items with a readable title.

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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any, TypeGuard

from importers.archive import zip_aware
from importers.chat.base import Chat, Malformed, Message, Moment, mime_of
from importers.chat.text import TITLE_CHARS, brief, title_of
from importers.files import Source, peek, unchanged
from vault.errors import InputError, RefusedInput
from vault.records import (
    Attachment,
    ChatKind,
    Checkpoint,
    Direction,
    ImportOptions,
    Interaction,
    Item,
    Party,
    Quarantined,
)
from vault.storable import storable_text  # a lone surrogate is valid JSON, not UTF-8
from vault.text import one_line

RESULT_NAME = "result.json"
"""The file name Telegram Desktop gives every JSON export."""

MAX_EXPORT_BYTES = 512 * 1024 * 1024
"""Larger exports are quarantined instead of loaded: the JSON is parsed in one piece."""

MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024
"""Media files above this stay described in ``extras["media"]`` instead of stored as blobs."""

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
# Channel posts often open with a text_link on a zero-width space: an invisible link preview.
_INVISIBLE = " \t\r\n\u00a0\u115f\u1160\u200b\u200c\u200d\u2060\u3164\ufeff\uffa0"
# Telegram Desktop 1.x wrote "edited" on every message; midnight 1970 (local) means "never".
_NOT_EDITED_PREFIX = "1970-01-01"
_MAX_OFFSET = timedelta(hours=14)

_ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "PYG", "XAF", "XOF", "XTR"})
_THREE_DECIMAL = frozenset({"BHD", "KWD", "JOD", "OMR", "TND", "IQD", "LYD"})

_MEDIA_LABELS = {
    "voice_message": "Voice message",
    "video_message": "Video message",
    "animation": "GIF",
    "video_file": "Video",
}

_SERVICE_TITLES = {
    "create_group": "{actor} created group “{title}”",
    "create_channel": "{actor} created channel “{title}”",
    "edit_group_title": "{actor} renamed the group to “{title}”",
    "edit_group_photo": "{actor} changed the group photo",
    "delete_group_photo": "{actor} removed the group photo",
    "invite_members": "{actor} added {members}",
    "join_group_by_link": "{actor} joined the group via an invite link",
    "join_group_by_request": "{actor} joined the group",
    "migrate_to_supergroup": "{actor} upgraded the group to a supergroup",
    "migrate_from_group": "Group “{title}” was upgraded to a supergroup",
    "pin_message": "{actor} pinned a message",
    "clear_history": "{actor} cleared the chat history",
    "take_screenshot": "{actor} took a screenshot",
    "joined_telegram": "{actor} joined Telegram",
    "score_in_game": "{actor} scored {score} in a game",
    "group_call": "{actor} started a video chat",
    "group_call_scheduled": "{actor} scheduled a video chat",
    "invite_to_group_call": "{actor} invited {members} to a video chat",
    "set_messages_ttl": "{actor} changed the auto-delete timer",
    "edit_chat_theme": "{actor} changed the chat theme",
    "topic_created": "{actor} created topic “{title}”",
    "suggest_profile_photo": "{actor} suggested a profile photo",
    "set_chat_wallpaper": "{actor} changed the chat wallpaper",
    "requested_phone_number": "{actor} asked for a phone number",
    "allow_sending_messages": "The bot may now send messages",
    "send_passport_values": "Telegram Passport data sent",
    "send_webview_data": "Data sent from a web app",
}


@dataclass(frozen=True, slots=True)
class _Chat(Chat):
    """A chat with Telegram's own word for its kind (``personal_chat``, ``saved_messages``, …)."""

    type: str | None = None

    @property
    def notes_to_self(self) -> bool:
        """Saved Messages: the owner's notes to self."""
        return self.type == "saved_messages"


@dataclass(frozen=True, slots=True)
class _Context:
    """What every chat of one export shares."""

    source_ref: str
    options: ImportOptions
    owner: str | None
    media_root: Source | None


@dataclass(frozen=True, slots=True)
class _Media:
    """A message's photo, file, contact, place, poll, invoice or game."""

    kind: str
    description: str
    file: str | None = None
    mime: str | None = None
    detail: str = ""


@dataclass(slots=True)
class _Text:
    """A message's text: ``bare`` as Telegram wrote it, ``plain`` with link targets added.

    ``hidden_links`` are the targets of links without visible text, shown below the body.
    """

    bare: str = ""
    plain: str = ""
    hidden_links: list[str] = field(default_factory=list)


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
    context = _Context(source_ref, options, _owner(document), media_root)
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


def _chat_items(raw_chat: Any, context: _Context) -> Iterator[Item]:
    chat_ref = _chat_ref(raw_chat)
    try:
        chat, messages = _chat(raw_chat, chat_ref, context)
    except (ValueError, TypeError) as exc:  # Malformed, or a value of an unforeseen type
        ref = f"{context.source_ref}#chat={chat_ref}"
        yield Quarantined(ref, _raw(raw_chat), one_line(str(exc) or type(exc).__name__))
        return
    for position, message in enumerate(messages):
        ref = f"{context.source_ref}#chat={chat_ref}&message={_message_ref(message, position)}"
        try:
            yield _interaction(message, chat, context, ref)
        except (ValueError, TypeError, OverflowError) as exc:  # Malformed among them
            yield Quarantined(ref, _raw(message), one_line(str(exc) or type(exc).__name__))


def _chat(raw_chat: Any, ref: str, context: _Context) -> tuple[_Chat, list[Any]]:
    if not isinstance(raw_chat, dict):
        raise Malformed(f"chat is a {type(raw_chat).__name__}, not an object")
    messages = raw_chat.get("messages")
    if not isinstance(messages, list):
        raise Malformed("chat has no list of messages")
    chat_type = _string(raw_chat.get("type"))
    name = _string(raw_chat.get("name"))
    chat = _Chat(
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
    name = _string(raw_chat.get("name"))
    return f"name:{name}" if name else "unknown"


def _counterpart(raw_chat: dict[str, Any], messages: list[Any], context: _Context) -> Party | None:
    """Who the owner's messages in this chat go to: the other person, the bot, the group."""
    name = _string(raw_chat.get("name"))
    chat_id = raw_chat.get("id")
    chat_type = _string(raw_chat.get("type"))
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


def _first_other_sender(messages: list[Any], context: _Context) -> Party | None:
    for message in messages:
        if not isinstance(message, dict) or message.get("type") == "service":
            continue
        sender = _party(message, "from")
        if sender.address and not _is_owner(sender, context):
            return sender
    return None


def _prefixed(prefix: str, chat_id: Any) -> str | None:
    if isinstance(chat_id, int | str) and not isinstance(chat_id, bool) and str(chat_id):
        return f"{prefix}{chat_id}"
    return None


# --- messages ------------------------------------------------------------------------------------


def _interaction(message: Any, chat: _Chat, context: _Context, ref: str) -> Interaction:
    if not isinstance(message, dict):
        raise Malformed(f"message is a {type(message).__name__}, not an object")
    entry_type = message.get("type", "message")
    if entry_type == "unsupported":
        raise Malformed("Telegram Desktop could not export this message (type 'unsupported')")
    when = _when(message, context.options.timezone)
    if entry_type == "service":
        content = _service(message, chat, context)
    else:
        content = _message(message, chat, context)
    content.extras = _common_extras(message, chat) | content.extras
    return chat.record(content, when, ref, _raw(message))


def _message(message: dict[str, Any], chat: _Chat, context: _Context) -> Message:
    text = _text(message)
    media = _media(message)
    sender = _party(message, "from")
    direction = _direction(sender, chat, context)
    forwarded = _string(message.get("forwarded_from"))
    extras = _message_extras(message)
    attachments: list[Attachment] = []
    if media is not None:
        try:
            attachment, missing = _attachment(context.media_root, media), None
        except RefusedInput as exc:
            attachment, missing = None, exc.reason
        if attachment is not None:
            attachments.append(attachment)
        extras["media"] = _media_extras(media, attached=attachment is not None)
        if missing is not None:
            extras["media"]["missing"] = missing
    fallback = media.description if media else "Message"
    return Message(
        direction=direction,
        title=title_of(text.plain, _INVISIBLE) or fallback,
        body=_body(text, media, forwarded),
        key_sender=sender.address or sender.name or "",
        key_text=text.bare + (f"\x1e{media.kind}" if media else ""),
        sender=sender,
        attachments=attachments,
        extras=extras,
    )


def _direction(sender: Party, chat: _Chat, context: _Context) -> Direction:
    if chat.notes_to_self or _is_owner(sender, context):
        return "out"
    return "in"


def _is_owner(party: Party, context: _Context) -> bool:
    if context.owner is not None and party.address == context.owner:
        return True
    return context.options.is_me(party)


def _party(message: Mapping[str, Any], role: str) -> Party:
    """The ``from``/``from_id`` (or ``actor``/``actor_id``) of an entry as a chat handle."""
    return Party(
        name=_string(message.get(role)),
        address=_handle(message.get(f"{role}_id")),
        kind="chat_handle",
    )


def _handle(value: Any) -> str | None:
    # Telegram Desktop before 2.x wrote bare numeric user ids; later "user123"/"channel123".
    if isinstance(value, int) and not isinstance(value, bool):
        return f"user{value}"
    return _string(value)


def _body(text: _Text, media: _Media | None, forwarded: str | None) -> str:
    lines = []
    if forwarded:
        lines.append(f"Forwarded from {forwarded}:")
    if text.plain.strip(_INVISIBLE):
        lines.append(text.plain)
    if media is not None:
        lines.append(f"[{media.description}]")
        if media.detail:
            lines.append(media.detail)
    lines.extend(f"Link: {href}" for href in text.hidden_links)
    return "\n".join(lines)


def _common_extras(message: dict[str, Any], chat: _Chat) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    message_id = message.get("id")
    if isinstance(message_id, int | str) and not isinstance(message_id, bool):
        extras["telegram_message_id"] = message_id
    if chat.type:
        extras["chat_type"] = chat.type
    edited = _edited(message)
    if edited:
        extras["edited"] = edited
    if message.get("reactions"):
        extras["reactions"] = message["reactions"]
    if chat.notes_to_self:
        extras["notes_to_self"] = True
    return extras


def _edited(message: dict[str, Any]) -> str | None:
    unix = message.get("edited_unixtime")
    if unix is not None:
        try:
            return datetime.fromtimestamp(_epoch(unix), UTC).isoformat()
        except (Malformed, ValueError, OverflowError, OSError):
            pass
    edited = _string(message.get("edited"))
    if edited is None or edited.startswith(_NOT_EDITED_PREFIX):
        return None
    return edited


def _message_extras(message: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "forwarded_from",
        "saved_from",
        "reply_to_message_id",
        "reply_to_peer_id",
        "via_bot",
        "author",
    )
    return {key: message[key] for key in keys if message.get(key) is not None}


def _message_ref(message: Any, position: int) -> str:
    if isinstance(message, dict):
        message_id = message.get("id")
        if isinstance(message_id, int | str) and not isinstance(message_id, bool):
            return str(message_id)
    return f"@{position}"


# --- times ---------------------------------------------------------------------------------------


def _when(message: dict[str, Any], zone: tzinfo) -> Moment:
    """When an entry was sent; see the module docstring."""
    unix = message.get("date_unixtime")
    local = message.get("date")
    if unix is not None:
        seconds = _epoch(unix)
        try:
            utc = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise Malformed(f"date_unixtime {brief(unix)} is out of range") from exc
        return Moment(_in_local_offset(utc, local), utc)
    if local is None:
        raise Malformed("message has no date")
    wall = _iso(local)
    if wall.tzinfo is not None:
        return Moment(wall, _checked_utc(wall))
    occurred_at = wall.replace(tzinfo=zone)
    _checked_utc(occurred_at)
    return Moment(occurred_at, wall, tz_known=False)


def _checked_utc(moment: datetime) -> datetime:
    # Year 1 or 9999 plus an offset leaves datetime's range; the store works in UTC.
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise Malformed(f"date {moment.isoformat()} is out of range") from exc


def _epoch(value: Any) -> int:
    # date_unixtime is written as a string of digits ("1479387460"); accept a number too.
    if isinstance(value, bool):
        raise Malformed("date_unixtime is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
        return int(value)
    raise Malformed(f"date_unixtime {brief(value)} is not a number")


def _iso(value: Any) -> datetime:
    if not isinstance(value, str):
        raise Malformed(f"date {brief(value)} is not a string")
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise Malformed(f"date {brief(value)} is not an ISO date") from exc


def _in_local_offset(utc: datetime, local: Any) -> datetime:
    """``utc`` in the exporting machine's offset, which the zone-less ``date`` beside it implies."""
    try:
        wall = _iso(local)
    except Malformed:
        return utc
    if wall.tzinfo is not None:
        return utc.astimezone(wall.tzinfo)
    offset = wall - utc.replace(tzinfo=None)
    if abs(offset) > _MAX_OFFSET or offset % timedelta(minutes=15):
        return utc
    return utc.astimezone(timezone(offset))


# --- text ----------------------------------------------------------------------------------------


def _text(message: dict[str, Any]) -> _Text:
    """Plain text of ``text`` (a string, or a list of strings and entity objects)."""
    value = message.get("text")
    if value is None:
        value = message.get("text_entities")
    result = _Text()
    if value is None:
        return result
    if isinstance(value, str):
        result.bare = result.plain = storable_text(value)
        return result
    if not isinstance(value, list):
        raise Malformed(f"text is neither a string nor a list ({type(value).__name__})")
    result.plain = "".join(_entity_text(part, result.hidden_links) for part in value)
    result.bare = "".join(
        storable_text(part if isinstance(part, str) else part.get("text", "")) for part in value
    )
    return result


def _entity_text(part: Any, hidden_links: list[str]) -> str:
    if isinstance(part, str):
        return storable_text(part)
    if not isinstance(part, dict) or not isinstance(part.get("text", ""), str):
        raise Malformed("text holds an entity that is neither a string nor {type, text}")
    text = storable_text(part.get("text", ""))
    href = _string(part.get("href"))
    if part.get("type") != "text_link" or not href or href == text.strip():
        return text
    if not text.strip(_INVISIBLE):
        hidden_links.append(href)
        return text
    return f"{text} ({href})"


def _string(value: Any) -> str | None:
    """A non-empty string field, cleaned; None for anything else (null, numbers, "")."""
    if isinstance(value, str) and value:
        return storable_text(value)
    return None


def _raw(value: Any) -> bytes:
    try:
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):  # nesting deeper than json.dumps will go
        return b""


# --- media ---------------------------------------------------------------------------------------


def _media(message: dict[str, Any]) -> _Media | None:
    for probe in (_photo, _document, _contact, _place, _poll, _invoice, _game):
        media = probe(message)
        if media is not None:
            return media
    return None


def _photo(message: dict[str, Any]) -> _Media | None:
    if "photo" not in message:
        return None
    return _Media("photo", "Photo", file=_string(message.get("photo")))


def _document(message: dict[str, Any]) -> _Media | None:
    if "file" not in message and "media_type" not in message:
        return None
    media_type = _string(message.get("media_type"))
    file = _string(message.get("file"))
    mime = _string(message.get("mime_type"))
    return _Media(
        media_type or "file",
        _document_description(message, media_type, file, mime),
        file=file,
        mime=mime,
    )


def _document_description(
    message: dict[str, Any], media_type: str | None, file: str | None, mime: str | None
) -> str:
    duration = _int(message.get("duration_seconds"))
    if media_type == "sticker":
        return f"Sticker {_string(message.get('sticker_emoji')) or ''}".strip()
    if media_type == "audio_file":
        song = " – ".join(
            filter(None, (_string(message.get("performer")), _string(message.get("title"))))
        )
        return f"Audio: {song}" if song else _with_duration("Audio", duration)
    if media_type in _MEDIA_LABELS:
        return _with_duration(_MEDIA_LABELS[media_type], duration)
    # Exports since 2023 add "file_name"; before, only the stored path names the file.
    name = _string(message.get("file_name"))
    if name is None and _included(file):
        name = PurePosixPath(file).name
    if name:
        return f"File: {name}"
    return f"File ({mime})" if mime else "File"


def _with_duration(label: str, seconds: int | None) -> str:
    return f"{label} ({_duration(seconds)})" if seconds else label


def _contact(message: dict[str, Any]) -> _Media | None:
    info = message.get("contact_information")
    if not isinstance(info, dict):
        return None
    name = " ".join(filter(None, (_string(info.get("first_name")), _string(info.get("last_name")))))
    shown = ", ".join(filter(None, (name, _string(info.get("phone_number")))))
    return _Media(
        "contact",
        f"Contact: {shown}" if shown else "Contact",
        file=_string(message.get("contact_vcard")),
        mime="text/vcard",
    )


def _place(message: dict[str, Any]) -> _Media | None:
    venue = _string(message.get("place_name"))
    if venue:
        shown = ", ".join(filter(None, (venue, _string(message.get("address")))))
        return _Media("venue", f"Place: {shown}")
    if "location_information" not in message:
        return None
    point = message.get("location_information")
    live = "live_location_period_seconds" in message
    label = "Live location" if live else "Location"
    if (
        isinstance(point, dict)
        and _is_number(point.get("latitude"))
        and _is_number(point.get("longitude"))
    ):
        return _Media("location", f"{label}: {point['latitude']}, {point['longitude']}")
    return _Media("location", label)


def _poll(message: dict[str, Any]) -> _Media | None:
    poll = message.get("poll")
    if not isinstance(poll, dict):
        return None
    answers = poll.get("answers")
    if not isinstance(answers, list):
        answers = []
    options = [
        f"- {text}"
        for answer in answers
        if isinstance(answer, dict) and (text := _string(answer.get("text")))
    ]
    question = _string(poll.get("question"))
    return _Media("poll", f"Poll: {question}" if question else "Poll", detail="\n".join(options))


def _invoice(message: dict[str, Any]) -> _Media | None:
    invoice = message.get("invoice_information")
    if not isinstance(invoice, dict):
        return None
    title = _string(invoice.get("title")) or "Invoice"
    money = _money(invoice.get("amount"), invoice.get("currency"))
    description = f"Invoice: {title} ({money})" if money else f"Invoice: {title}"
    return _Media("invoice", description, detail=_string(invoice.get("description")) or "")


def _game(message: dict[str, Any]) -> _Media | None:
    title = _string(message.get("game_title"))
    return _Media("game", f"Game: {title}") if title else None


def _included(file: str | None) -> TypeGuard[str]:
    # "(File not included. Change data exporting settings to download.)", "(File unavailable,
    # please try again later)", "(File exceeds maximum size. …)" stand in for skipped files.
    return file is not None and bool(file) and not file.startswith("(")


def _media_extras(media: _Media, *, attached: bool) -> dict[str, Any]:
    extras: dict[str, Any] = {"type": media.kind, "description": media.description}
    if media.file:
        extras["included"] = _included(media.file)
        extras["file" if _included(media.file) else "note"] = media.file
    if media.mime:
        extras["mime_type"] = media.mime
    extras["attached"] = attached
    return extras


def _attachment(root: Source | None, media: _Media) -> Attachment | None:
    """The media file if it lies inside the export folder; never a path outside it.

    Raises:
        RefusedInput: the file is named but must not be read (outside, not a regular file,
            too large).
    """
    if root is None or not _included(media.file):
        return None
    try:
        data = root.read(root.join(media.file), MAX_ATTACHMENT_BYTES)
    except (OSError, ValueError):
        return None
    name = PurePosixPath(media.file).name
    return Attachment(filename=name, mime=media.mime or mime_of(name), data=data)


# --- service entries -----------------------------------------------------------------------------


def _service(message: dict[str, Any], chat: _Chat, context: _Context) -> Message:
    actor = _party(message, "actor")
    action = _string(message.get("action"))
    title = one_line(_service_title(message, action, actor, chat), TITLE_CHARS)
    text = _text(message).plain
    extras: dict[str, Any] = {"action": action} if action else {}
    if actor.name or actor.address:
        extras["actor"] = actor.display()
    # A system item's counterpart is its sender: what the owner did in a chat (cleared it,
    # called) belongs to the other side of that chat, never to a company named after the owner.
    # Payments (send_payment) have no actor at all: they too belong to the chat's other side.
    sender = actor
    anonymous = not (actor.name or actor.address)
    if chat.party is not None and (anonymous or _is_owner(actor, context)):
        sender = chat.party
    for key in (
        "duration_seconds",
        "discard_reason",
        "members",
        "message_id",
        "amount",
        "currency",
        "invoice_message_id",
    ):
        if message.get(key) is not None:
            extras[key] = message[key]
    return Message(
        direction="system",
        title=title,
        body="\n".join(filter(None, (title, text))),
        key_sender=actor.address or actor.name or "",
        key_text=f"\x1eservice:{action or ''}",
        sender=sender,
        extras=extras,
    )


def _service_title(message: dict[str, Any], action: str | None, actor: Party, chat: _Chat) -> str:
    who = actor.name or "Someone"
    members = _members(message)
    if action == "phone_call":
        return _call_title(message)
    if action == "remove_members":
        return f"{who} left the group" if members == who else f"{who} removed {members}"
    if action == "send_payment":
        money = _money(message.get("amount"), message.get("currency"))
        return f"Payment of {money} sent" if money else "Payment sent"
    template = _SERVICE_TITLES.get(action or "")
    if template is None:
        custom = _string(message.get("information_text"))
        return custom or (f"{who}: {action.replace('_', ' ')}" if action else "Service message")
    fields = {
        "actor": who,
        "title": _string(message.get("title")) or chat.title or "",
        "members": members,
        "score": message.get("score", "?"),
    }
    return template.format_map(fields)


def _members(message: dict[str, Any]) -> str:
    members = message.get("members")
    if not isinstance(members, list):
        members = []
    names = [name for member in members if (name := _string(member))]
    # Deleted accounts are exported as null members (2023 export: "members": [null]).
    return ", ".join(names) or "someone"


def _call_title(message: dict[str, Any]) -> str:
    seconds = _int(message.get("duration_seconds"))
    if seconds:
        return f"Phone call ({_duration(seconds)})"
    reason = message.get("discard_reason")
    if reason == "missed":
        return "Missed call"
    if reason == "busy":
        return "Declined call"
    return "Phone call"


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def _money(amount: Any, currency: Any) -> str | None:
    """Telegram amounts are in the currency's smallest unit (1999 EUR → "19.99 EUR")."""
    if isinstance(amount, str) and amount.strip().lstrip("-").isdigit():
        amount = int(amount)
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        return None
    code = currency.strip().upper()
    digits = 0 if code in _ZERO_DECIMAL else 3 if code in _THREE_DECIMAL else 2
    value = Decimal(amount).scaleb(-digits)
    return f"{value:.{digits}f} {code}"


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
