"""One Messenger or Instagram thread's pages, read, as chat items: the JSON of each page
(mojibake repaired), the chat (title, kind, owner) and each message (text, media, shares,
reactions, calls, unsent messages), in time order. ``importers.chat.meta`` finds the threads
and says why each decision is what it is; Messenger's HTML pages come here as ``Document``s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, Literal

from importers.chat import meta_json
from importers.chat.base import Chat, Malformed, MediaLookup, Message, Moment, mime_of
from importers.chat.text import brief, title_of
from vault.errors import RefusedInput
from vault.records import (
    Attachment,
    ChatKind,
    ImportOptions,
    Interaction,
    Item,
    Party,
    Quarantined,
)
from vault.text import one_line

App = Literal["messenger", "instagram"]
"""The apps whose exports share this format: each item's dedup namespace and thread prefix."""

REQUEST_FOLDERS = frozenset({"message_requests", "filtered_threads"})
"""Categories whose threads were never accepted: strangers, shops and spam."""

_MEDIA_KEYS = (
    ("photos", "Photo"),
    ("videos", "Video"),
    ("audio_files", "Audio"),
    ("gifs", "GIF"),
    ("files", "File"),
)
_SYSTEM_TYPES = frozenset({"Call", "Subscribe", "Unsubscribe"})
# Instagram 2022+ logs a reaction as a message of its own.
_REACTION_LINE = re.compile(r"^(?:Reacted .+ to your message|Liked a message)$", re.DOTALL)


@dataclass(slots=True)
class Page:
    """One ``message_N.json`` of a thread: where it came from and its bytes."""

    ref: str
    data: bytes


@dataclass(slots=True)
class Document:
    """One page, read: ``fields`` as ``_normalised`` makes them, and each message paired with
    its original (the JSON value, or the HTML bytes) for ``raw``."""

    ref: str
    fields: dict[str, Any]
    messages: list[tuple[Any, Any]]
    problems: list[Quarantined] = field(default_factory=list)
    """What of the page could not be read though the page was (a JSON page cut off)."""


Clock = Callable[[dict[str, Any]], Moment]
"""Reads a message's time; raises ``ValueError`` (the quarantine reason) when it cannot."""

PageReader = Callable[[Page], Document]
"""Reads one page of a thread; raises ``Malformed`` (the quarantine reason) when it cannot."""


def participants_in(data: bytes) -> set[str]:
    """Who is in a thread, from one of its JSON pages: participants and senders."""
    try:
        document = meta_json.load(data).document
    except Malformed:
        return set()
    if not isinstance(document, dict):
        return set()
    fields = _normalised(document)
    return set(fields["participants"]) | {
        name for message in fields["messages"] if (name := _sender_name(message))
    }


# --- parsing a thread from bytes -----------------------------------------------------------------


def json_document(page: Page) -> Document:
    """A ``message_N.json`` page, read; raises ``Malformed`` when it is not one."""
    loaded = meta_json.load(page.data)
    document = loaded.document
    if not isinstance(document, dict) or not isinstance(document.get("messages"), list):
        raise Malformed("not a message export: no list of 'messages'")
    originals = document["messages"]
    fields = _normalised(document)
    messages = list(zip(originals, fields["messages"], strict=True))
    problems = []
    if loaded.cut:
        problems.append(Quarantined(f"{page.ref}#rest", loaded.cut, loaded.cut_reason))
    return Document(page.ref, fields, messages, problems)


def _normalised(document: dict[str, Any]) -> dict[str, Any]:
    """Mojibake repaired (the DYI format only) and participants as a list of names."""
    secure_storage = "threadName" in document or any(
        isinstance(m, dict) and "senderName" in m for m in document.get("messages", [])[:5]
    )
    fields = document if secure_storage else repair_all(document)
    participants = fields.get("participants")
    names = []
    for person in participants if isinstance(participants, list) else []:
        name = person.get("name") if isinstance(person, dict) else person
        if isinstance(name, str) and name:
            names.append(name)
    messages = fields.get("messages")
    return {
        "participants": names,
        "messages": messages if isinstance(messages, list) else [],
        "title": _string(fields.get("title")) or _string(fields.get("threadName")),
        "thread_path": _string(fields.get("thread_path")),
        "thread_type": _string(fields.get("thread_type")),
    }


def repair(text: str) -> str:
    """Facebook DYI 2018+: UTF-8 bytes escaped as ``\\u00XX``; undone exactly, or left alone."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def repair_all(value: Any) -> Any:
    """``value`` with every string in it (keys too) repaired."""
    if isinstance(value, str):
        return repair(value)
    if isinstance(value, list):
        return [repair_all(item) for item in value]
    if isinstance(value, dict):
        return {repair(str(key)): repair_all(item) for key, item in value.items()}
    return value


def _in_time_order(documents: Sequence[Document], clock: Clock) -> list[tuple[str, Any, Any]]:
    """Every message of every page, oldest first (pages and messages are newest first)."""
    ordered: list[tuple[str, Any, Any]] = []
    for document in reversed(documents):
        count = len(document.messages)
        for index in reversed(range(count)):
            original, message = document.messages[index]
            ordered.append((f"{document.ref}#message={index}", original, message))
    return sorted(ordered, key=lambda entry: _sort_time(entry[2], clock))


def _sort_time(message: Any, clock: Clock) -> datetime:
    if not isinstance(message, dict):
        return _NEVER  # quarantined in its turn
    try:
        return clock(message).at.astimezone(UTC)
    except (TypeError, ValueError, OverflowError):
        return _NEVER


_NEVER = datetime.min.replace(tzinfo=UTC)


def json_moment(message: dict[str, Any]) -> Moment:
    """The time of a JSON message: ``timestamp_ms`` (``timestamp`` in secure storage), UTC."""
    when = datetime.fromtimestamp(_millis(message) / 1000, UTC)
    return Moment(when, when)


@dataclass(frozen=True, slots=True)
class ThreadReader:
    """How the threads of one export become items: who "me" is, the app, the export's owner
    and liked pages, and how a page and a message's time are read (JSON unless Messenger's HTML
    export gives its own ``read_page`` and ``clock``)."""

    options: ImportOptions
    app: App
    """``messenger`` or ``instagram``: the dedup namespace and thread key prefix."""
    owner: str | None = None
    """The export owner's name (casefolded), when ``--me`` is not given."""
    page_names: frozenset[str] = frozenset()
    """Casefolded names of the pages the user liked or follows."""
    read_page: PageReader = json_document
    clock: Clock = json_moment

    def items(
        self,
        pages: Sequence[Page],
        *,
        folder: str,
        category: str | None = None,
        media: MediaLookup | None = None,
    ) -> Iterator[Item]:
        """The items of one thread's pages, merged in time order; never raises for bad content.
        A page or message that cannot be read is quarantined.

        Args:
            pages: the thread's ``message_N`` pages, any order.
            folder: the thread's folder name (``shop_1234``), or a file stem for a loose file.
            category: the folder above it (``inbox``, ``message_requests``, …), if known.
            media: opens an attachment ``uri``; without it attachments are only described.
        """
        documents: list[Document] = []
        for page in pages:
            try:
                documents.append(self.read_page(page))
            except Malformed as exc:
                yield Quarantined(page.ref, page.data, str(exc))
            else:
                yield from documents[-1].problems
        if not documents:
            return
        chat = _chat(documents, self, folder, category)
        for ref, original, message in _in_time_order(documents, self.clock):
            try:
                yield _interaction(message, chat, self.options, media, ref, original, self.clock)
            except (ValueError, TypeError, OverflowError) as exc:  # Malformed among them
                yield Quarantined(ref, _raw(original), one_line(str(exc) or type(exc).__name__))


# --- the chat ------------------------------------------------------------------------------------


def _chat(
    documents: list[Document], reader: ThreadReader, folder: str, category: str | None
) -> Chat:
    first = documents[0].fields
    participants = list(dict.fromkeys(p for d in documents for p in d.fields["participants"]))
    senders = list(
        dict.fromkeys(name for d in documents for _, m in d.messages if (name := _sender_name(m)))
    )
    everyone = list(dict.fromkeys(participants + senders))
    me = _me(everyone, reader.options, reader.owner)
    others = [name for name in everyone if name.casefold() != me]
    title = first["title"] or ", ".join(others) or folder
    thread_path = first["thread_path"]
    if thread_path and "/" in thread_path:
        category = category or thread_path.split("/", 1)[0]
        folder = thread_path.rstrip("/").rsplit("/", 1)[-1]
    group = first["thread_type"] == "RegularGroup" or len(everyone) > 2
    kind = _kind(category, group, title, others, reader.page_names)
    return Chat(
        source=reader.app,
        key=f"{reader.app}:{folder}",
        title=title,
        kind=kind,
        party=Party(name=title, kind="chat_handle"),
        owner=me,
    )


def _me(everyone: list[str], options: ImportOptions, owner: str | None) -> str | None:
    if options.me_names:
        return next((n.casefold() for n in everyone if n.casefold() in options.me_names), None)
    return owner


def _kind(
    category: str | None, group: bool, title: str, others: list[str], page_names: frozenset[str]
) -> ChatKind:
    if category in REQUEST_FOLDERS:
        return "request"
    if title.casefold() in page_names or any(name.casefold() in page_names for name in others):
        return "page"
    return "group" if group else "private"


# --- messages ------------------------------------------------------------------------------------


def _interaction(
    message: Any,
    chat: Chat,
    options: ImportOptions,
    media: MediaLookup | None,
    ref: str,
    original: Any,
    clock: Clock,
) -> Interaction:
    if not isinstance(message, dict):
        raise Malformed(f"message is a {type(message).__name__}, not an object")
    moment = clock(message)
    sender_name = _sender_name(message) or ""
    content = _content(message, sender_name, media)
    if content.direction == "in" and sender_name and sender_name.casefold() == chat.owner:
        content.direction = "out"
    if content.direction == "system" and sender_name:
        content.extras["actor"] = sender_name
    return chat.record(content, moment, ref, _raw(original))


def _person(name: str) -> Party:
    return Party(name=name, kind="chat_handle")


def _millis(message: dict[str, Any]) -> int:
    value = message.get("timestamp_ms", message.get("timestamp"))
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise Malformed(f"timestamp {brief(value)} is not a number")
    if "timestamp_ms" not in message and abs(value) < 100_000_000_000:
        value *= 1000  # Facebook DYI early 2018: "timestamp" in seconds (secure storage: ms)
    if abs(value) >= 253_402_300_800_000:
        raise Malformed(f"timestamp {brief(value)} is out of range")
    millis = int(value)
    if not 0 < millis < 253_402_300_800_000:  # year 9999
        raise Malformed(f"timestamp {millis} is out of range")
    return millis


def _sender_name(message: Any) -> str | None:
    if not isinstance(message, dict):
        return None
    return _string(message.get("sender_name")) or _string(message.get("senderName"))


def _content(message: dict[str, Any], sender: str, media: MediaLookup | None) -> Message:
    text = _string(message.get("content")) or _string(message.get("text")) or ""
    files = _media_files(message)
    share = message.get("share") if isinstance(message.get("share"), dict) else None
    extras: dict[str, Any] = {}
    reactions = _reactions(message)
    if reactions:
        extras["reactions"] = reactions
    key_text = "\x1e".join([text, *(PurePosixPath(uri).name for _, uri in files)])
    if message.get("is_unsent") or message.get("isUnsent"):
        extras["unsent"] = True
        shown = text or f"{sender or 'Someone'} unsent a message"
        return Message("system", title_of(shown), shown, sender, key_text, extras=extras)
    if _string(message.get("type")) in _SYSTEM_TYPES or "call_duration" in message:
        shown = _call_or_event(message, text, extras)
        return Message("system", title_of(shown), shown, sender, key_text, extras=extras)
    if _REACTION_LINE.match(text):
        return Message("system", title_of(text), text, sender, key_text, extras=extras)
    lines = [text] if text else []
    attachments, described, missing = _attachments(files, media)
    lines += described
    if share is not None:
        lines += _share_lines(share)
        extras["share"] = {k: v for k, v in share.items() if isinstance(v, str)}
    if reactions:
        lines.append("Reactions: " + ", ".join(f"{r['reaction']} {r['actor']}" for r in reactions))
    if files:
        extras["media"] = [
            {
                "type": label,
                "uri": uri,
                "attached": any(a.filename == PurePosixPath(uri).name for a in attachments),
                **({"missing": missing[uri]} if uri in missing else {}),
            }
            for label, uri in files
        ]
    title = text or (described[0].strip("[]") if described else "") or _share_title(share)
    return Message(
        "in",
        title_of(title or "Message"),
        "\n".join(lines),
        sender,
        key_text,
        _person(sender) if sender else None,
        attachments,
        extras,
    )


def _call_or_event(message: dict[str, Any], text: str, extras: dict[str, Any]) -> str:
    """What a call or another event shows; a call's length goes to ``extras``."""
    duration = message.get("call_duration")
    if isinstance(duration, int) and not isinstance(duration, bool):
        extras["call_duration"] = duration
        return text or (f"Call ({duration} s)" if duration else "Missed call")
    return text or str(message.get("type", "Event"))


def _media_files(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, uri) of every photo, video, audio file, GIF, file and sticker of a message."""
    found: list[tuple[str, str]] = []
    for key, label in (*_MEDIA_KEYS, ("media", "Media")):
        items = message.get(key)
        for item in items if isinstance(items, list) else []:
            uri = _string(item.get("uri")) if isinstance(item, dict) else None
            if uri:
                found.append((label, uri))
    sticker = message.get("sticker")
    if isinstance(sticker, dict) and (uri := _string(sticker.get("uri"))):
        found.append(("Sticker", uri))
    return found


def _attachments(
    files: list[tuple[str, str]], media: MediaLookup | None
) -> tuple[list[Attachment], list[str], dict[str, str]]:
    """The files found, a line describing each, and why each refused ``uri`` was not read."""
    attachments: list[Attachment] = []
    described: list[str] = []
    missing: dict[str, str] = {}
    for label, uri in files:
        name = PurePosixPath(uri).name
        described.append(f"[{label}: {name}]")
        try:
            data = media(uri) if media is not None else None
        except RefusedInput as exc:
            missing[uri] = exc.reason
            continue
        if data is not None:
            attachments.append(Attachment(name, mime_of(name), data))
    return attachments, described, missing


def _share_lines(share: dict[str, Any]) -> list[str]:
    lines = []
    text = _string(share.get("share_text"))
    link = _string(share.get("link"))
    if text:
        lines.append(text)
    if link:
        lines.append(f"Link: {link}")
    return lines


def _share_title(share: dict[str, Any] | None) -> str:
    if share is None:
        return ""
    link = _string(share.get("link"))
    return _string(share.get("share_text")) or (f"Link: {link}" if link else "")


def _reactions(message: dict[str, Any]) -> list[dict[str, str]]:
    reactions = message.get("reactions")
    found = []
    for reaction in reactions if isinstance(reactions, list) else []:
        if isinstance(reaction, dict):
            emoji = _string(reaction.get("reaction")) or ""
            actor = _string(reaction.get("actor")) or ""
            if emoji or actor:
                found.append({"reaction": emoji, "actor": actor})
    return found


# --- small helpers -------------------------------------------------------------------------------


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _raw(value: Any) -> bytes:
    # The message as exported, escapes kept: raw is the source, not kluis's repair of it.
    if isinstance(value, bytes):
        return value  # an HTML message, as written
    try:
        return json.dumps(value).encode("ascii")
    except (ValueError, RecursionError, TypeError):
        return b""
