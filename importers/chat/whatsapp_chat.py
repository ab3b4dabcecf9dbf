"""A WhatsApp chat's messages as items: the chat's name, kind and owner, notices, media
and edits (see ``importers.chat.whatsapp`` for the decisions).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC
from typing import Any, NamedTuple

from importers.chat.base import Chat, MediaLookup, Message, Moment, mime_of
from importers.chat.text import title_of
from importers.chat.whatsapp_text import (
    BIDI,
    PHONE,
    Entry,
    Line,
    Parsed,
    Said,
    fold,
    split_entries,
    wall_time,
)
from importers.files import long_line_reason
from vault.errors import RefusedInput
from vault.records import (
    Attachment,
    ChatKind,
    ImportOptions,
    Interaction,
    Item,
    Note,
    Party,
    Quarantined,
)
from vault.text import one_line

SOURCE = "whatsapp"
# Android: "IMG-20230630-WA0000.jpg (file attached)" with the caption on the lines below.
_ANDROID_FILE = re.compile(
    r"^(?P<file>[^\n/\\]+?\.[A-Za-z0-9]{1,6}) \((?:file attached|datei angehängt"
    r"|bestand bijgevoegd|archivo adjunto|fichier joint|file allegato|arquivo anexado"
    r"|dosya ekli|plik załączony)\)",
    re.IGNORECASE,
)
# iOS: "‎<attached: 00000012-PHOTO-2023-03-12-10-15-30.jpg>" (a document adds "• 3 pages").
_IOS_FILE = re.compile(
    r"<(?:attached|anhang|bijgevoegd|adjunto|pièce jointe|allegato|anexo|anexado)\s?:\s?"
    r"(?P<file>[^<>/\\\n]+?)>",
    re.IGNORECASE,
)
# Android 2.23+ appends this to an edited message's text.
_EDITED = re.compile(
    r"\s*<(?:This message was edited|Diese Nachricht wurde bearbeitet|Dit bericht is bewerkt"
    r"|Se editó este mensaje|Ce message a été modifié|Questo messaggio è stato modificato"
    r"|Essa mensagem foi editada)>$",
    re.IGNORECASE,
)
# Media left out of a text-only export; the line keeps its author (Android "<Media omitted>",
# French "‹Médias omis›", iOS "‎image omitted").
_OMITTED = re.compile(
    r"^(?:[<‹](?:media omitted|medien ausgeschlossen|media weggelaten|multimedia omitido"
    r"|médias omis|media omessi|mídia oculta|arquivo de mídia oculto|medya dahil edilmedi"
    r"|media tidak disertakan|без медиафайлов|pominięto multimedia|media jätetty pois"
    r"|media utelämnad)[>›]"
    r"|(?:image|video|audio|sticker|gif|document|contact card) omitted"
    r"|(?:bild|video|audio|sticker|gif|dokument|kontaktkarte) weggelassen"
    r"|(?:afbeelding|video|audio|sticker|gif|document|contactkaart) weggelaten)$",
    re.IGNORECASE,
)
_NOTICE = re.compile(
    r"^(?:this message was deleted|you deleted this message|diese nachricht wurde gelöscht"
    r"|du hast diese nachricht gelöscht|dit bericht is verwijderd|je hebt dit bericht verwijderd"
    r"|se eliminó este mensaje|eliminaste este mensaje|ce message a été supprimé"
    r"|vous avez supprimé ce message|questo messaggio è stato eliminato"
    r"|essa mensagem foi apagada|missed (?:voice|video) call|verpasster (?:sprach|video)anruf"
    r"|gemiste (?:spraak|video)oproep)\.?$"
    r"|updated the message timer|turned (?:on|off) disappearing messages"
    r"|uses a default timer for disappearing messages|new messages will disappear",
    re.IGNORECASE,
)
_BUSINESS = re.compile(
    r"business account|this business|secure service from meta|official business"
    r"|zakelijk account|dit bedrijf|unternehmenskonto|business-konto|dieses unternehmen"
    r"|cuenta de empresa|esta empresa|compte professionnel|cette entreprise|account aziendale"
    r"|questa azienda|conta comercial",
    re.IGNORECASE,
)
_GROUP_EVENT = re.compile(
    r"\b(?:created group|created this group|added|removed|left|joined using"
    r"|changed the subject|changed the group|changed this group|were added"
    r"|hat die gruppe|hinzugefügt|hat .* entfernt|heeft groep|toegevoegd|is vertrokken"
    r"|creó el grupo|añadió|a créé le groupe|a ajouté|ha creato il gruppo|ha aggiunto"
    r"|criou o grupo|adicionou)\b",
    re.IGNORECASE,
)
# Lines only WhatsApp writes, whoever the export says "sent" them: the encryption notice (in
# the phone's language), a group's creation or new subject, a changed security code or number.
_SYSTEM_ONLY = re.compile(
    r"end-to-end|ende-zu-ende|extremo a extremo|bout en bout|ponta a ponta|päästä päähän"
    r"|uçtan uca|сквозным шифрованием|エンドツーエンド|端到端|végponttól végpontig"
    r"|szyfrowane end-to-end|koncově šifrované"
    r"|security code (?:with .+ )?changed|sicherheitsnummer .*geändert|beveiligingscode .*gewijzigd"
    r"|code de sécurité .*changé|código de seguridad .*cambió"
    r"|changed (?:their|his|her) phone number"
    r"|(?:created group|changed the subject (?:from .+ )?to|hat die gruppe|heeft groep"
    r"|a créé le groupe|creó el grupo|ha creato il gruppo|criou o grupo) [\"“„«]",
    re.IGNORECASE,
)
_GROUP_CREATED = re.compile(
    r"(?:created group|hat die gruppe|heeft groep|a créé le groupe|creó el grupo"
    r"|ha creato il gruppo|criou o grupo) [\"“„«](?P<name>.+?)[\"”“»]"
)
_SUBJECT_CHANGED = re.compile(
    r"(?:changed the subject (?:from .+ )?to|changed the group name (?:from .+ )?to"
    r"|änderte den betreff (?:von .+ )?zu|wijzigde de groepsnaam (?:van .+ )?naar) "
    r"[\"“„«](?P<name>.+?)[\"”“»]",
    re.IGNORECASE,
)
_HEAD = 500
"""Notices are short: only this much of a text is searched for one (a huge line costs no more)."""
_MEDIA_KINDS = (
    ("PTT-", "Voice message"),
    ("STK-", "Sticker"),
    ("IMG-", "Photo"),
    ("VID-", "Video"),
    ("AUD-", "Audio"),
    ("-PHOTO-", "Photo"),
    ("-VIDEO-", "Video"),
    ("-AUDIO-", "Audio"),
    ("-STICKER-", "Sticker"),
)


def parse_chat(
    text: str | Iterable[Line],
    source_ref: str,
    options: ImportOptions,
    media: MediaLookup | None = None,
    *,
    chat_name: str | None = None,
    fallback_name: str | None = None,
    owner: str | None = None,
) -> Iterator[Item]:
    """Parse one chat's text; never raises for bad content.

    Args:
        text: the chat as exported (UTF-8 decoded; a leading BOM is ignored), or its lines
            split at ``\n`` only, where a line over the limit stands as a ``LongLine`` (its
            message is quarantined with the reason).
        source_ref: where the text came from; each item's ``source_ref`` adds ``#line=N``.
        options: the zone of the wall-clock times and who "me" is.
        media: finds the files that attached-file lines name (a zip's members, a folder's
            files); without it they are only described in ``extras["media"]``.
        chat_name: the chat's name, when the caller knows it (``whatsapp.chat_name_from_path``).
        fallback_name: what names the chat when nothing in it does (the folder or zip name).
        owner: the export owner's name as the chat writes it, when ``--me`` is not given.
    """
    lines = text.split("\n") if isinstance(text, str) else text
    parsed = split_entries(lines)
    for number, line in parsed.long_lines:
        yield Quarantined(f"{source_ref}#line={number}", line.head, long_line_reason(number, line))
    if parsed.preamble:
        reason = "text before the first WhatsApp message line"
        yield Quarantined(f"{source_ref}#line=1", "\n".join(parsed.preamble).encode(), reason)
    if not parsed.entries:
        if not parsed.preamble and not parsed.long_lines:
            yield Quarantined(source_ref, b"", "no WhatsApp message lines in this text")
        return
    chat, system, notes = _chat(parsed, options, chat_name, fallback_name, owner)
    for note in [*parsed.notes, *notes]:
        yield Note(source_ref, note)
    reading = _Reading(parsed, chat, system, options, media)
    for entry, said in zip(parsed.entries, parsed.said, strict=True):
        ref = f"{source_ref}#line={entry.line}"
        if entry.too_long is not None:
            yield Quarantined(ref, entry.raw(), entry.too_long)
            continue
        try:
            yield _interaction(entry, said, reading, ref)
        except (ValueError, OverflowError) as exc:  # Malformed among them
            yield Quarantined(ref, entry.raw(), one_line(str(exc)))


class _Reading(NamedTuple):
    """What every message of one chat text is read with."""

    parsed: Parsed
    chat: Chat
    system: frozenset[str]
    """Folded names that only ever "send" WhatsApp's own lines (iOS: the group's name)."""
    options: ImportOptions
    media: MediaLookup | None


# --- the chat ------------------------------------------------------------------------------------


def _chat(
    parsed: Parsed,
    options: ImportOptions,
    chat_name: str | None,
    fallback_name: str | None,
    owner: str | None,
) -> tuple[Chat, frozenset[str], list[str]]:
    """The chat, the names that only "send" notices, and what the user should hear about its
    name. A group is named by its file, else its subject lines, else the name iOS writes its
    notices under; a one-to-one chat by the other participant wherever that is known."""
    system = _system_senders(parsed.said)
    speakers = _senders(parsed.said, system)
    if len(speakers) < 2:  # only a group has a name that sends nothing but notices
        system = frozenset()
        speakers = _senders(parsed.said, system)
    notices = [said.text[:_HEAD] for said in parsed.said if _is_system_line(said, system)]
    business = any(_BUSINESS.search(text) for text in notices)
    group = len(speakers) > 2 or any(_GROUP_EVENT.search(text) for text in notices)
    notes: list[str] = []
    if group and not business:
        named_by = [
            said.sender for said in parsed.said if said.sender and fold(said.sender) in system
        ]
        title = chat_name or _group_name(notices) or next(iter(named_by), None)
    else:
        me = _known_me(speakers, options, owner)
        title = _contact(speakers, me, chat_name, parsed.said) or chat_name
    title = title or fallback_name or "WhatsApp chat"
    if not group and not chat_name and len(speakers) == 2 and title not in speakers:
        notes.append(
            f"chat named {title!r}: kluis cannot tell which of {speakers[0]} and {speakers[1]}"
            " is you, and so who the other is (tell it with --me)"
        )
    kind: ChatKind = "business" if business else "group" if group else "private"
    chat = Chat(
        source=SOURCE,
        key=f"whatsapp:{fold(title)}",
        title=title,
        kind=kind,
        party=_party(title, group=kind == "group"),
        owner=_me(speakers, options, title, owner, kind),
    )
    return chat, system, notes


def _is_system_line(said: Said, system: frozenset[str]) -> bool:
    """A line WhatsApp wrote, not a person: no sender, an iOS notice, or a notice-only name's."""
    if said.sender is None:
        return True
    return (said.marked and _is_ios_notice(said.text)) or fold(said.sender) in system


def _system_senders(said: list[Said]) -> frozenset[str]:
    """Names all of whose lines are WhatsApp's own (the encryption notice, a group created):
    iOS writes a group's notices under the group's name, and a copied text may have lost the
    U+200E that marks them."""
    only: dict[str, bool] = {}
    for entry in said:
        if entry.sender and only.setdefault(name := fold(entry.sender), True):
            # WhatsApp's notices are one line: a person's message that mentions the words is not.
            single = "\n" not in entry.text[:_HEAD]
            only[name] = (single and bool(_SYSTEM_ONLY.search(entry.text[:200]))) or (
                entry.marked and _is_ios_notice(entry.text)
            )
    return frozenset(name for name, alone in only.items() if alone)


def _senders(said: list[Said], system: frozenset[str]) -> list[str]:
    """Who speaks in the chat, in order of first appearance, one spelling each."""
    seen: dict[str, str] = {}
    for entry in said:
        if entry.sender is None or fold(entry.sender) in system:
            continue
        # iOS notices come "from" the group itself, marked with U+200E; marked media do not.
        notice = entry.marked and not (_IOS_FILE.search(entry.text) or _OMITTED.match(entry.text))
        if not notice and fold(entry.sender) not in seen:
            seen[fold(entry.sender)] = entry.sender
    return list(seen.values())


def _group_name(notices: Iterable[str]) -> str | None:
    """The group's latest subject, else the name it was created with."""
    created = subject = None
    for text in notices:
        found = _GROUP_CREATED.search(text)
        created = created or (found["name"] if found else None)
        changed = _SUBJECT_CHANGED.search(text)
        subject = changed["name"] if changed else subject
    return subject or created


def _known_me(speakers: list[str], options: ImportOptions, owner: str | None) -> str | None:
    """The owner's folded name as ``--me``, the profile or the other chats give it."""
    if options.me_names:
        wanted = {fold(name) for name in options.me_names}
        return next((fold(name) for name in speakers if fold(name) in wanted), None)
    return fold(owner) if owner is not None else None


def _contact(
    speakers: list[str], me: str | None, chat_name: str | None, said: list[Said]
) -> str | None:
    """The other participant of a one-to-one chat: the one speaker who is not me, else the one
    iOS writes the encryption notice under, else the one the file is named after."""
    others = [name for name in speakers if fold(name) != me] if me else []
    if len(others) == 1:
        return others[0]
    spoken = {fold(name): name for name in speakers}
    notified = {
        fold(s.sender): s.sender for s in said if s.sender and s.marked and _is_ios_notice(s.text)
    }
    if len(notified) == 1:
        ((folded, name),) = notified.items()
        return spoken.get(folded, name)  # the contact, even one who never wrote
    if chat_name and fold(chat_name) in spoken:
        return chat_name
    return speakers[0] if len(speakers) == 1 and chat_name is None and me is None else None


def _me(
    senders: list[str], options: ImportOptions, title: str, owner: str | None, kind: ChatKind
) -> str | None:
    """The owner's folded identity in this chat, if known; see the module docstring."""
    known = _known_me(senders, options, owner)
    if known is not None or options.me_names:
        return known
    others = [name for name in senders if fold(name) != fold(title)]
    if kind != "group" and len(senders) <= 2 and len(others) == 1:
        return fold(others[0])
    return None


def _party(name: str, *, group: bool = False) -> Party:
    if PHONE.match(name) and not group:
        return Party(name=name, address=fold(name), kind="phone")
    return Party(name=name, kind="chat_handle")


# --- messages ------------------------------------------------------------------------------------


def _interaction(entry: Entry, said: Said, reading: _Reading, ref: str) -> Interaction:
    chat = reading.chat
    wall = wall_time(entry.match, reading.parsed.orders[entry.shape])
    occurred_at = wall.replace(tzinfo=reading.options.timezone)
    occurred_at.astimezone(UTC)  # year 9999 plus an offset leaves datetime's range: quarantine
    if _is_notice(said, chat, reading.system):
        message = _notice(said)
    else:
        message = _message(said, reading.media)
    if message.direction != "system" and said.sender and chat.owner == fold(said.sender):
        message.direction = "out"
    return chat.record(message, Moment(occurred_at, wall, tz_known=False), ref, entry.raw())


def _is_notice(said: Said, chat: Chat, system: frozenset[str]) -> bool:
    if said.sender is None or fold(said.sender) in system:
        return True
    first_line = said.text.split("\n", 1)[0].strip()
    if _NOTICE.search(first_line):
        return True
    # iOS writes its notices as if the chat itself spoke, the text led by U+200E; media left
    # out ("‎image omitted") and attached ("‎<attached: …>") are marked too, and are the sender's.
    if not said.marked or _IOS_FILE.search(said.text) or _OMITTED.match(first_line):
        return False
    return fold(said.sender) == fold(chat.title or "") or _is_ios_notice(said.text)


def _is_ios_notice(text: str) -> bool:
    head = text[:_HEAD]
    return bool(_BUSINESS.search(head) or _SYSTEM_ONLY.search(head) or _GROUP_EVENT.search(head))


def _notice(said: Said) -> Message:
    text = said.text.strip()
    extras: dict[str, Any] = {"notice": True}
    if said.sender:
        extras["actor"] = said.sender
    shown = f"{said.sender}: {text}" if said.sender else text
    return Message(
        "system", title_of(shown, BIDI), shown, said.sender or "", said.text, extras=extras
    )


def _message(said: Said, media: MediaLookup | None) -> Message:
    key_sender, sender = said.sender or "", _party(said.sender) if said.sender else None
    text, edited = _EDITED.subn("", said.text)
    extras: dict[str, Any] = {"edited": True} if edited else {}
    file_name, caption = _attached_file(text)
    if file_name is None:
        if _OMITTED.match(text.strip()):
            extras["media_omitted"] = True  # a text-only export left the file out
        title = title_of(text, BIDI)
        return Message("in", title, text, key_sender, said.text, sender, extras=extras)
    label = _media_label(file_name)
    extras["media"] = {"type": label, "file": file_name}
    try:
        data = media(file_name) if media is not None else None
    except RefusedInput as exc:
        data, extras["media"]["missing"] = None, exc.reason
    attachments = [Attachment(file_name, mime_of(file_name), data)] if data is not None else []
    extras["media"]["attached"] = bool(attachments)
    described = f"[{label}: {file_name}]"
    body = f"{caption}\n{described}" if caption else described
    title = title_of(caption or f"{label}: {file_name}", BIDI)
    return Message("in", title, body, key_sender, said.text, sender, attachments, extras)


def _attached_file(text: str) -> tuple[str | None, str]:
    """The attached file's name, and the caption without the marker."""
    first, _, more = text.partition("\n")
    android = _ANDROID_FILE.match(first.strip(BIDI))
    if android:
        caption = "\n".join(filter(None, (first[android.end() :].strip(), more.strip())))
        return android["file"].strip(BIDI + " "), caption
    ios = _IOS_FILE.search(text)
    if ios:
        caption = (text[: ios.start()] + text[ios.end() :]).strip(BIDI + " \n")
        # iOS describes a document before its marker: "Invoice.pdf • 3 pages <attached: …>".
        return ios["file"].strip(), caption
    return None, text


def _media_label(file_name: str) -> str:
    upper = file_name.upper()
    for marker, label in _MEDIA_KINDS:
        if marker in upper:
            return label
    mime = mime_of(file_name)
    for prefix, label in (("image/", "Photo"), ("video/", "Video"), ("audio/", "Audio")):
        if mime.startswith(prefix):
            return label
    return "File"
