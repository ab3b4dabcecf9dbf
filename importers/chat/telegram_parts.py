"""The parts of a Telegram entry: when it was sent, its text with entities, its media (photo,
file, contact, place, poll, invoice, game), amounts and durations (see
``importers.chat.telegram`` for the decisions).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any, TypeGuard

from importers.chat.base import Malformed, Moment, mime_of
from importers.chat.text import brief
from importers.files import Source
from vault.records import Attachment
from vault.storable import storable_text  # a lone surrogate is valid JSON, not UTF-8

MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024
"""Media files above this stay described in ``extras["media"]`` instead of stored as blobs."""

# Channel posts often open with a text_link on a zero-width space: an invisible link preview.
INVISIBLE = " \t\r\n\u00a0\u115f\u1160\u200b\u200c\u200d\u2060\u3164\ufeff\uffa0"
_MAX_OFFSET = timedelta(hours=14)

_ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "PYG", "XAF", "XOF", "XTR"})
_THREE_DECIMAL = frozenset({"BHD", "KWD", "JOD", "OMR", "TND", "IQD", "LYD"})

_MEDIA_LABELS = {
    "voice_message": "Voice message",
    "video_message": "Video message",
    "animation": "GIF",
    "video_file": "Video",
}


@dataclass(frozen=True, slots=True)
class Media:
    """A message's photo, file, contact, place, poll, invoice or game."""

    kind: str
    description: str
    file: str | None = None
    mime: str | None = None
    detail: str = ""


@dataclass(slots=True)
class Text:
    """A message's text: ``bare`` as Telegram wrote it, ``plain`` with link targets added.

    ``hidden_links`` are the targets of links without visible text, shown below the body.
    """

    bare: str = ""
    plain: str = ""
    hidden_links: list[str] = field(default_factory=list)


# --- times ---------------------------------------------------------------------------------------


def moment_of(message: dict[str, Any], zone: tzinfo) -> Moment:
    """When an entry was sent; see the module docstring."""
    unix = message.get("date_unixtime")
    local = message.get("date")
    if unix is not None:
        seconds = epoch(unix)
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


def epoch(value: Any) -> int:
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


def text_of(message: dict[str, Any]) -> Text:
    """Plain text of ``text`` (a string, or a list of strings and entity objects)."""
    value = message.get("text")
    if value is None:
        value = message.get("text_entities")
    result = Text()
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
    href = string_field(part.get("href"))
    if part.get("type") != "text_link" or not href or href == text.strip():
        return text
    if not text.strip(INVISIBLE):
        hidden_links.append(href)
        return text
    return f"{text} ({href})"


def string_field(value: Any) -> str | None:
    """A non-empty string field, cleaned; None for anything else (null, numbers, "")."""
    if isinstance(value, str) and value:
        return storable_text(value)
    return None


def raw_json(value: Any) -> bytes:
    try:
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):  # nesting deeper than json.dumps will go
        return b""


# --- media ---------------------------------------------------------------------------------------


def media_of(message: dict[str, Any]) -> Media | None:
    for probe in (_photo, _document, _contact, _place, _poll, _invoice, _game):
        media = probe(message)
        if media is not None:
            return media
    return None


def _photo(message: dict[str, Any]) -> Media | None:
    if "photo" not in message:
        return None
    return Media("photo", "Photo", file=string_field(message.get("photo")))


def _document(message: dict[str, Any]) -> Media | None:
    if "file" not in message and "media_type" not in message:
        return None
    media_type = string_field(message.get("media_type"))
    file = string_field(message.get("file"))
    mime = string_field(message.get("mime_type"))
    return Media(
        media_type or "file",
        _document_description(message, media_type, file, mime),
        file=file,
        mime=mime,
    )


def _document_description(
    message: dict[str, Any], media_type: str | None, file: str | None, mime: str | None
) -> str:
    duration = int_field(message.get("duration_seconds"))
    if media_type == "sticker":
        return f"Sticker {string_field(message.get('sticker_emoji')) or ''}".strip()
    if media_type == "audio_file":
        song = " – ".join(
            filter(
                None, (string_field(message.get("performer")), string_field(message.get("title")))
            )
        )
        return f"Audio: {song}" if song else _with_duration("Audio", duration)
    if media_type in _MEDIA_LABELS:
        return _with_duration(_MEDIA_LABELS[media_type], duration)
    # Exports since 2023 add "file_name"; before, only the stored path names the file.
    name = string_field(message.get("file_name"))
    if name is None and _included(file):
        name = PurePosixPath(file).name
    if name:
        return f"File: {name}"
    return f"File ({mime})" if mime else "File"


def _with_duration(label: str, seconds: int | None) -> str:
    return f"{label} ({duration_text(seconds)})" if seconds else label


def _contact(message: dict[str, Any]) -> Media | None:
    info = message.get("contact_information")
    if not isinstance(info, dict):
        return None
    name = " ".join(
        filter(None, (string_field(info.get("first_name")), string_field(info.get("last_name"))))
    )
    shown = ", ".join(filter(None, (name, string_field(info.get("phone_number")))))
    return Media(
        "contact",
        f"Contact: {shown}" if shown else "Contact",
        file=string_field(message.get("contact_vcard")),
        mime="text/vcard",
    )


def _place(message: dict[str, Any]) -> Media | None:
    venue = string_field(message.get("place_name"))
    if venue:
        shown = ", ".join(filter(None, (venue, string_field(message.get("address")))))
        return Media("venue", f"Place: {shown}")
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
        return Media("location", f"{label}: {point['latitude']}, {point['longitude']}")
    return Media("location", label)


def _poll(message: dict[str, Any]) -> Media | None:
    poll = message.get("poll")
    if not isinstance(poll, dict):
        return None
    answers = poll.get("answers")
    if not isinstance(answers, list):
        answers = []
    options = [
        f"- {text}"
        for answer in answers
        if isinstance(answer, dict) and (text := string_field(answer.get("text")))
    ]
    question = string_field(poll.get("question"))
    return Media("poll", f"Poll: {question}" if question else "Poll", detail="\n".join(options))


def _invoice(message: dict[str, Any]) -> Media | None:
    invoice = message.get("invoice_information")
    if not isinstance(invoice, dict):
        return None
    title = string_field(invoice.get("title")) or "Invoice"
    money = money_text(invoice.get("amount"), invoice.get("currency"))
    description = f"Invoice: {title} ({money})" if money else f"Invoice: {title}"
    return Media("invoice", description, detail=string_field(invoice.get("description")) or "")


def _game(message: dict[str, Any]) -> Media | None:
    title = string_field(message.get("game_title"))
    return Media("game", f"Game: {title}") if title else None


def _included(file: str | None) -> TypeGuard[str]:
    # "(File not included. Change data exporting settings to download.)", "(File unavailable,
    # please try again later)", "(File exceeds maximum size. …)" stand in for skipped files.
    return file is not None and bool(file) and not file.startswith("(")


def media_extras(media: Media, *, attached: bool) -> dict[str, Any]:
    extras: dict[str, Any] = {"type": media.kind, "description": media.description}
    if media.file:
        extras["included"] = _included(media.file)
        extras["file" if _included(media.file) else "note"] = media.file
    if media.mime:
        extras["mime_type"] = media.mime
    extras["attached"] = attached
    return extras


def attachment_of(root: Source | None, media: Media) -> Attachment | None:
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


def duration_text(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def money_text(amount: Any, currency: Any) -> str | None:
    """Telegram amounts are in the currency's smallest unit (1999 EUR → "19.99 EUR")."""
    if isinstance(amount, str) and amount.strip().lstrip("-").isdigit():
        amount = int(amount)
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        return None
    code = currency.strip().upper()
    digits = 0 if code in _ZERO_DECIMAL else 3 if code in _THREE_DECIMAL else 2
    value = Decimal(amount).scaleb(-digits)
    return f"{value:.{digits}f} {code}"


def int_field(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
