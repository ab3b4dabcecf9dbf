"""A Telegram chat's entries as items: messages and service entries (group created, call,
pin, payment, …), who sent each, and its title (see ``importers.chat.telegram`` for the
decisions; ``telegram_parts`` reads an entry's time, text and media).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from importers.chat.base import Chat, Malformed, Message
from importers.chat.telegram_parts import (
    INVISIBLE,
    Media,
    Text,
    attachment_of,
    duration_text,
    epoch,
    int_field,
    media_extras,
    media_of,
    moment_of,
    money_text,
    raw_json,
    string_field,
    text_of,
)
from importers.chat.text import TITLE_CHARS, title_of
from importers.files import Source
from vault.errors import RefusedInput
from vault.records import Attachment, Direction, ImportOptions, Interaction, Party
from vault.text import one_line

# Telegram Desktop 1.x wrote "edited" on every message; midnight 1970 (local) means "never".
_NOT_EDITED_PREFIX = "1970-01-01"

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
class TelegramChat(Chat):
    """A chat with Telegram's own word for its kind (``personal_chat``, ``saved_messages``, …)."""

    type: str | None = None

    @property
    def notes_to_self(self) -> bool:
        """Saved Messages: the owner's notes to self."""
        return self.type == "saved_messages"


@dataclass(frozen=True, slots=True)
class Context:
    """What every chat of one export shares."""

    source_ref: str
    options: ImportOptions
    owner: str | None
    media_root: Source | None


# --- messages ------------------------------------------------------------------------------------


def entry_item(message: Any, chat: TelegramChat, context: Context, ref: str) -> Interaction:
    if not isinstance(message, dict):
        raise Malformed(f"message is a {type(message).__name__}, not an object")
    entry_type = message.get("type", "message")
    if entry_type == "unsupported":
        raise Malformed("Telegram Desktop could not export this message (type 'unsupported')")
    when = moment_of(message, context.options.timezone)
    if entry_type == "service":
        content = _service(message, chat, context)
    else:
        content = _message(message, chat, context)
    content.extras = _common_extras(message, chat) | content.extras
    return chat.record(content, when, ref, raw_json(message))


def _message(message: dict[str, Any], chat: TelegramChat, context: Context) -> Message:
    text = text_of(message)
    media = media_of(message)
    sender = party_of(message, "from")
    direction = _direction(sender, chat, context)
    forwarded = string_field(message.get("forwarded_from"))
    extras = _message_extras(message)
    attachments: list[Attachment] = []
    if media is not None:
        try:
            attachment, missing = attachment_of(context.media_root, media), None
        except RefusedInput as exc:
            attachment, missing = None, exc.reason
        if attachment is not None:
            attachments.append(attachment)
        extras["media"] = media_extras(media, attached=attachment is not None)
        if missing is not None:
            extras["media"]["missing"] = missing
    fallback = media.description if media else "Message"
    return Message(
        direction=direction,
        title=title_of(text.plain, INVISIBLE) or fallback,
        body=_body(text, media, forwarded),
        key_sender=sender.address or sender.name or "",
        key_text=text.bare + (f"\x1e{media.kind}" if media else ""),
        sender=sender,
        attachments=attachments,
        extras=extras,
    )


def _direction(sender: Party, chat: TelegramChat, context: Context) -> Direction:
    if chat.notes_to_self or is_owner(sender, context):
        return "out"
    return "in"


def is_owner(party: Party, context: Context) -> bool:
    if context.owner is not None and party.address == context.owner:
        return True
    return context.options.is_me(party)


def party_of(message: Mapping[str, Any], role: str) -> Party:
    """The ``from``/``from_id`` (or ``actor``/``actor_id``) of an entry as a chat handle."""
    return Party(
        name=string_field(message.get(role)),
        address=_handle(message.get(f"{role}_id")),
        kind="chat_handle",
    )


def _handle(value: Any) -> str | None:
    # Telegram Desktop before 2.x wrote bare numeric user ids; later "user123"/"channel123".
    if isinstance(value, int) and not isinstance(value, bool):
        return f"user{value}"
    return string_field(value)


def _body(text: Text, media: Media | None, forwarded: str | None) -> str:
    lines = []
    if forwarded:
        lines.append(f"Forwarded from {forwarded}:")
    if text.plain.strip(INVISIBLE):
        lines.append(text.plain)
    if media is not None:
        lines.append(f"[{media.description}]")
        if media.detail:
            lines.append(media.detail)
    lines.extend(f"Link: {href}" for href in text.hidden_links)
    return "\n".join(lines)


def _common_extras(message: dict[str, Any], chat: TelegramChat) -> dict[str, Any]:
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
            return datetime.fromtimestamp(epoch(unix), UTC).isoformat()
        except (Malformed, ValueError, OverflowError, OSError):
            pass
    edited = string_field(message.get("edited"))
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


# --- service entries -----------------------------------------------------------------------------


def _service(message: dict[str, Any], chat: TelegramChat, context: Context) -> Message:
    actor = party_of(message, "actor")
    action = string_field(message.get("action"))
    title = one_line(_service_title(message, action, actor, chat), TITLE_CHARS)
    text = text_of(message).plain
    extras: dict[str, Any] = {"action": action} if action else {}
    if actor.name or actor.address:
        extras["actor"] = actor.display()
    # A system item's counterpart is its sender: what the owner did in a chat (cleared it,
    # called) belongs to the other side of that chat, never to a company named after the owner.
    # Payments (send_payment) have no actor at all: they too belong to the chat's other side.
    sender = actor
    anonymous = not (actor.name or actor.address)
    if chat.party is not None and (anonymous or is_owner(actor, context)):
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


def _service_title(
    message: dict[str, Any], action: str | None, actor: Party, chat: TelegramChat
) -> str:
    who = actor.name or "Someone"
    members = _members(message)
    if action == "phone_call":
        return _call_title(message)
    if action == "remove_members":
        return f"{who} left the group" if members == who else f"{who} removed {members}"
    if action == "send_payment":
        money = money_text(message.get("amount"), message.get("currency"))
        return f"Payment of {money} sent" if money else "Payment sent"
    template = _SERVICE_TITLES.get(action or "")
    if template is None:
        custom = string_field(message.get("information_text"))
        return custom or (f"{who}: {action.replace('_', ' ')}" if action else "Service message")
    fields = {
        "actor": who,
        "title": string_field(message.get("title")) or chat.title or "",
        "members": members,
        "score": message.get("score", "?"),
    }
    return template.format_map(fields)


def _members(message: dict[str, Any]) -> str:
    members = message.get("members")
    if not isinstance(members, list):
        members = []
    names = [name for member in members if (name := string_field(member))]
    # Deleted accounts are exported as null members (2023 export: "members": [null]).
    return ", ".join(names) or "someone"


def _call_title(message: dict[str, Any]) -> str:
    seconds = int_field(message.get("duration_seconds"))
    if seconds:
        return f"Phone call ({duration_text(seconds)})"
    reason = message.get("discard_reason")
    if reason == "missed":
        return "Missed call"
    if reason == "busy":
        return "Declined call"
    return "Phone call"
