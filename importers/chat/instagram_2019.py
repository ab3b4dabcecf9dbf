"""Instagram's "Download Data" of 2018–2020: one ``messages.json`` with every conversation.

Before Instagram took Messenger's export format (late 2020), its download (a zip named
``<username>_<yyyymmdd>.zip``, sometimes ``…_part_1.zip``) held a ``messages.json``: a list of
``{"participants": ["sannedevries", "hotelaurora"], "conversation": [...]}``, each message with
``sender``, ``created_at`` (ISO 8601 with its offset), and ``text``, or ``heart``,
``media_share_url``/``media_owner``/``media_share_caption``, ``story_share``, ``link``, ``media``
(a URL), ``profile_share_username``, ``likes`` (``[{"username", "date"}]``) and ``action``.
Usernames, not display names; ``profile.json`` beside it names the account (``username``).

Each message becomes the dict a Messenger JSON message would be, and everything after is
``importers.chat.meta_thread``'s. A conversation is keyed by its participants (the format has no
thread id), so ``instagram:hotelaurora_sannedevries``; it cannot match a later export's keys.
Media are URLs on Instagram's servers: described, never fetched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from importers import archive
from importers.chat import meta, meta_json, meta_thread, meta_zip
from importers.chat.base import Malformed, Moment
from importers.files import Source, file_state, peek, unchanged
from vault.errors import RefusedInput
from vault.records import Checkpoint, ImportOptions, Item, Quarantined

NAME = "messages.json"
PROFILE_LIMIT = 1024 * 1024
"""``profile.json`` is small; a larger one is not read."""
_SNIFF = re.compile(rb'^\s*(?:\xef\xbb\xbf)?\[\s*\{\s*"(?:participants|conversation)"\s*:')


def sniff(path: Path) -> bool:
    """True for such a ``messages.json``, a folder holding one, or a zip holding one."""
    if archive.is_zip(path):
        return meta_zip.contents(path).instagram_2019
    try:
        file = path / NAME if path.is_dir() else path
        return file.name == NAME and file.is_file() and _SNIFF.match(peek(file, 256)) is not None
    except OSError:
        return False


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Stream the conversations of ``messages.json`` (a file, its folder or its zip)."""
    if archive.is_zip(path):
        with meta_zip.opened_export(path) as export:
            yield from export.unsafe_members()
            for name in export.readable_names():
                if PurePosixPath(name).name != NAME or name.count("/") > 1:
                    continue
                data = export.member(name)
                profile = export.member(str(PurePosixPath(name).with_name("profile.json")))
                if data is None:
                    yield Quarantined(f"{path}!{name}", b"", "not read: too large or unreadable")
                else:
                    yield from _conversations(data, f"{path}!{name}", options, profile or b"")
        return
    file = path / NAME if path.is_dir() else path
    within = Source(path)
    source, state = file_state(file)
    if unchanged(options.cursors.get(source), state):
        return
    try:
        data = within.read(file, meta.MAX_PAGE_BYTES)
    except RefusedInput as exc:
        yield Quarantined(source, b"", f"not read: {exc.reason}")
    except OSError as exc:
        yield Quarantined(source, b"", f"cannot read: {exc.strerror or exc}")
    else:
        profile = meta.read_or_nothing(within, file.with_name("profile.json"), PROFILE_LIMIT)
        yield from _conversations(data, source, options, profile)
    yield Checkpoint(source=source, state=state)


def _conversations(data: bytes, ref: str, options: ImportOptions, profile: bytes) -> Iterator[Item]:
    try:
        loaded = meta_json.load(data)
    except Malformed as exc:
        yield Quarantined(ref, data[:65536], str(exc))
        return
    listed = loaded.document
    if not isinstance(listed, list):
        yield Quarantined(ref, data[:65536], "not Instagram's messages.json: no list of chats")
        return
    if loaded.cut:
        yield Quarantined(f"{ref}#rest", loaded.cut, loaded.cut_reason)
    pages: list[tuple[str, meta_thread.Page]] = []
    names: list[set[str]] = []
    for number, chat in enumerate(listed):
        people = chat.get("participants") if isinstance(chat, dict) else None
        people = [p for p in people if isinstance(p, str)] if isinstance(people, list) else []
        names.append(set(people))
        key = re.sub(r"\W+", "_", "_".join(sorted(people)).casefold()).strip("_")
        try:
            page = meta_thread.Page(f"{ref}#chat={number}", json.dumps(chat).encode("ascii"))
        except (ValueError, RecursionError):
            yield Quarantined(f"{ref}#chat={number}", b"", "chat nested too deeply to be read")
            continue
        pages.append((key or f"chat_{number}", page))
    owner = None if options.me_names else (_username(profile) or meta.common_name(names))
    reader = meta_thread.ThreadReader(
        options, "instagram", owner, read_page=_document, clock=_moment
    )
    for key, page in pages:
        yield from reader.items([page], folder=key)


def _username(profile: bytes) -> str | None:
    try:
        document = json.loads(profile) if profile else None
    except (ValueError, RecursionError):
        return None
    name = document.get("username") if isinstance(document, dict) else None
    return name.casefold() if isinstance(name, str) and name else None


def _document(page: meta_thread.Page) -> meta_thread.Document:
    """One conversation of ``messages.json`` as ``meta_thread`` reads a JSON page."""
    chat = json.loads(page.data)
    conversation = chat.get("conversation") if isinstance(chat, dict) else None
    if not isinstance(conversation, list):
        raise Malformed("not an Instagram conversation: no list of messages")
    people = chat.get("participants")
    converted = [_message(m) for m in conversation]
    fields: dict[str, Any] = {
        "participants": [p for p in people if isinstance(p, str)]
        if isinstance(people, list)
        else [],
        "messages": converted,
        "title": None,
        "thread_path": None,
        "thread_type": None,
    }
    messages = list(zip(conversation, converted, strict=True))
    return meta_thread.Document(page.ref, fields, messages)


def _moment(message: dict[str, Any]) -> Moment:
    if "date_problem" in message:
        raise Malformed(message["date_problem"])
    return meta_thread.json_moment(message)


def _message(message: Any) -> Any:
    """A 2019 message as a Messenger JSON message; anything else is left for quarantine."""
    if not isinstance(message, dict):
        return message
    found: dict[str, Any] = {"sender_name": message.get("sender")}
    created = message.get("created_at")
    try:
        when = datetime.fromisoformat(created) if isinstance(created, str) else None
    except ValueError:
        when = None
    if when is not None and when.tzinfo is not None:
        found["timestamp_ms"] = round(when.timestamp() * 1000)
    else:
        found["date_problem"] = f"date {str(created)[:40]!r} is not a date kluis can read"
    texts = ("text", "heart", "story_share", "media_share_caption")
    lines = [_text(message.get(key)) for key in texts]
    if profile := _text(message.get("profile_share_username")):
        lines.append(f"Profile: @{profile}")
    if owner := _text(message.get("media_owner")):
        lines.append(f"Post by @{owner}")
    if action := _text(message.get("action")):
        lines.append(action)
    found["content"] = "\n".join(line for line in lines if line)
    for key in ("media_share_url", "link", "media", "voice_media"):
        if link := _text(message.get(key)):
            found["share"] = {"link": link}
            break
    likes = message.get("likes")
    if isinstance(likes, list):
        found["reactions"] = [
            {"reaction": "❤", "actor": like.get("username")}
            for like in likes
            if isinstance(like, dict)
        ]
    return found


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
