"""Chat exports as WhatsApp and Telegram Desktop write them, made from fictional messages.

Every message, name and number here is invented for these tests. The forms
(header layouts per locale, invisible marks, attachment markers, file names,
folder and zip layout, Telegram's one-space-indented ``result.json``) follow
what the apps write.

    >>> from datetime import datetime
    >>> when = datetime(2026, 3, 7, 21, 22, 39)
    >>> whatsapp_chat_text([WaMessage(when, "Ayesha", "On my way")])
    '07/03/2026, 21:22 - Ayesha: On my way\\n'
    >>> whatsapp_chat_text([WaMessage(when, "Ayesha", "On my way")], layout="ios", locale="en_US")
    '[3/7/26, 9:22:39\\u202fPM] Ayesha: On my way\\n'
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "FILE_NOT_INCLUDED",
    "LRM",
    "NNBSP",
    "RLM",
    "WA_LOCALES",
    "TgChat",
    "TgMessage",
    "WaAttachment",
    "WaLocale",
    "WaMessage",
    "android_media_name",
    "ios_document_name",
    "ios_media_name",
    "telegram_account_json",
    "telegram_chat_json",
    "whatsapp_chat_file_name",
    "whatsapp_chat_text",
    "write_telegram_account_export",
    "write_telegram_export",
    "write_whatsapp_export",
]

LRM = "\u200e"  # LEFT-TO-RIGHT MARK
RLM = "\u200f"  # RIGHT-TO-LEFT MARK
NNBSP = "\u202f"  # NARROW NO-BREAK SPACE, before AM/PM in newer versions

# ---------------------------------------------------------------------------
# WhatsApp
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WaAttachment:
    """A file a WhatsApp message sends; ``name`` is its file name in the export.

    ``kind`` is photo, video, audio, sticker, gif, contact or document;
    ``included`` False writes the text-only-export marker instead.
    """

    name: str
    kind: str = "photo"
    included: bool = True
    pages: int | None = None


@dataclass(frozen=True)
class WaMessage:
    """One message to write; ``sender`` None makes a system line (``text`` is the notice).

    iOS writes most notices after the chat's name (``Budget Team: …``): pass
    that name as ``sender`` to model one.
    """

    sent_at: datetime
    sender: str | None
    text: str = ""
    attachment: WaAttachment | None = None


@dataclass(frozen=True)
class WaLocale:
    """How a phone's language and region shape the export: header format and marker words."""

    date_order: str  # "dmy", "mdy" or "ymd"
    date_sep: str
    pad: bool  # zero-padded day and month
    year_digits: int
    clock: str  # "24h" or "12h"
    am: str = "AM"
    pm: str = "PM"
    ampm_space: str = NNBSP
    date_time_sep: str = ", "
    digits: str = "ascii"  # "ascii", "arabic" (٠-٩) or "urdu" (Extended, ۰-۹)
    field_mark: str = ""  # written after the day and month (RLM in Arabic)
    file_attached: str = "file attached"
    media_omitted: str = "Media omitted"
    attached: str = "attached"
    omitted: Mapping[str, str] = field(
        default_factory=lambda: {
            "photo": "image omitted",
            "video": "video omitted",
            "audio": "audio omitted",
            "sticker": "sticker omitted",
            "gif": "GIF omitted",
            "contact": "Contact card omitted",
            "document": "document omitted",
        }
    )
    pages_word: str = "pages"
    chat_with: str = "WhatsApp Chat with"


_EN_GB = WaLocale("dmy", "/", True, 4, "24h", am="am", pm="pm")

#: Locales whose exports the factory writes. Arabic's marker words are not known
#: here except "(الملف مرفق)" and "<المُرفق: …>", so its other words stay English.
WA_LOCALES: dict[str, WaLocale] = {
    "en_GB": _EN_GB,
    "en_US": WaLocale("mdy", "/", False, 2, "12h"),
    "en_SE": replace(_EN_GB, date_order="ymd", date_sep="-", date_time_sep=" "),
    "de": WaLocale(
        "dmy",
        ".",
        True,
        2,
        "24h",
        file_attached="Datei angehängt",
        media_omitted="Medien ausgeschlossen",
        attached="Anhang",
        omitted={
            "photo": "Bild weggelassen",
            "video": "Video weggelassen",
            "audio": "Audio weggelassen",
            "sticker": "Sticker weggelassen",
            "gif": "GIF weggelassen",
            "document": "Dokument weggelassen",
        },
        pages_word="Seiten",
        chat_with="WhatsApp Chat mit",
    ),
    "es": WaLocale(
        "dmy",
        "/",
        False,
        2,
        "12h",
        am="a.\u00a0m.",
        pm="p.\u00a0m.",
        file_attached="archivo adjunto",
        media_omitted="Multimedia omitido",
        attached="adjunto",
        omitted={
            "photo": "imagen omitida",
            "video": "video omitido",
            "audio": "audio omitido",
            "sticker": "sticker omitido",
            "gif": "GIF omitido",
            "document": "documento omitido",
        },
        pages_word="páginas",
        chat_with="Chat de WhatsApp con",
    ),
    "fr": WaLocale(
        "dmy",
        "/",
        True,
        4,
        "24h",
        date_time_sep=" ",
        file_attached="fichier joint",
        media_omitted="Médias omis",
        attached="pièce jointe",
        omitted={
            "photo": "image absente",
            "video": "vidéo absente",
            "audio": "audio absent",
            "document": "document absent",
        },
        chat_with="Discussion WhatsApp avec",
    ),
    "ar": WaLocale(
        "dmy",
        "/",
        False,
        4,
        "12h",
        am="\u0635",
        pm="\u0645",
        ampm_space=" ",
        date_time_sep="\u060c ",
        digits="arabic",
        field_mark=RLM,
        file_attached="الملف مرفق",
        attached="المُرفق",
    ),
}

_DIGITS = {
    "ascii": str.maketrans({}),
    "arabic": str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"),
    "urdu": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"),
}
_IOS_KINDS = {
    "photo": "PHOTO",
    "video": "VIDEO",
    "audio": "AUDIO",
    "sticker": "STICKER",
    "gif": "GIF",
}
_ANDROID_KINDS = {
    "photo": "IMG",
    "video": "VID",
    "audio": "AUD",
    "voice": "PTT",
    "sticker": "STK",
    "gif": "VID",
    "document": "DOC",
}


def ios_media_name(seq: int, kind: str, sent_at: datetime, ext: str) -> str:
    """iOS media file name: ``00000012-PHOTO-2026-03-07-21-22-39.jpg``."""
    return f"{seq:08d}-{_IOS_KINDS[kind]}-{sent_at:%Y-%m-%d-%H-%M-%S}.{ext}"


def ios_document_name(seq: int, title: str) -> str:
    """iOS file name of a document: its title after a sequence number."""
    return f"{seq:08d}-{title}"


def android_media_name(kind: str, sent_at: datetime, seq: int, ext: str) -> str:
    """Android media file name: ``IMG-20260307-WA0003.jpg``."""
    return f"{_ANDROID_KINDS[kind]}-{sent_at:%Y%m%d}-WA{seq:04d}.{ext}"


def whatsapp_chat_file_name(layout: str, chat_name: str, locale: str = "en_GB") -> str:
    """The chat file's name: ``_chat.txt`` on iOS, ``WhatsApp Chat with <Name>.txt`` on Android."""
    if layout == "ios":
        return "_chat.txt"
    return f"{WA_LOCALES[locale].chat_with} {chat_name}.txt"


def whatsapp_chat_text(
    messages: Sequence[WaMessage],
    *,
    layout: str = "android",
    locale: str = "en_GB",
    clock: str | None = None,
    date_order: str | None = None,
    digits: str | None = None,
    newline: str = "\n",
) -> str:
    """The chat file's text as the app writes it; clock, date_order, digits override the locale.

    ``newline`` ends every line, those inside multi-line messages too.
    """
    loc = WA_LOCALES[locale]
    loc = replace(
        loc,
        clock=clock or loc.clock,
        date_order=date_order or loc.date_order,
        digits=digits or loc.digits,
    )
    lines = [_wa_line(message, layout, loc) for message in messages]
    return "".join(line.replace("\n", newline) + newline for line in lines)


def write_whatsapp_export(
    path: Path,
    messages: Sequence[WaMessage],
    *,
    chat_name: str = "Budget Team",
    layout: str = "android",
    locale: str = "en_GB",
    attachments: Mapping[str, bytes] | None = None,
    zipped: bool = False,
    clock: str | None = None,
    date_order: str | None = None,
    digits: str | None = None,
    newline: str = "\n",
) -> Path:
    """Write an export as the app shares it: the chat file with the attachments beside it.

    ``path`` is the folder to fill (created), or with ``zipped`` the ``.zip``
    to write (files at its root, as in the app's ``WhatsApp Chat - <Name>.zip``
    on iOS, ``WhatsApp Chat with <Name>.zip`` on Android). Returns ``path``.
    Attachments are written as given: leave one out to model a missing file.
    """
    text = whatsapp_chat_text(
        messages,
        layout=layout,
        locale=locale,
        clock=clock,
        date_order=date_order,
        digits=digits,
        newline=newline,
    )
    files = {whatsapp_chat_file_name(layout, chat_name, locale): text.encode("utf-8")}
    files.update(attachments or {})
    if zipped:
        last = max((m.sent_at for m in messages), default=datetime(2026, 1, 1))
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                info = zipfile.ZipInfo(name, date_time=last.timetuple()[:6])
                archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    else:
        path.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (path / name).write_bytes(data)
    return path


def _wa_line(message: WaMessage, layout: str, loc: WaLocale) -> str:
    header = _wa_header(message.sent_at, layout, loc)
    if message.sender is None:
        return header + message.text
    lead = LRM if layout == "ios" and message.attachment else ""
    return f"{lead}{header}{message.sender}: {_wa_body(message, layout, loc)}"


def _wa_header(when: datetime, layout: str, loc: WaLocale) -> str:
    pad = loc.pad or loc.date_order == "ymd"
    day = f"{when.day:02d}" if pad else str(when.day)
    month = f"{when.month:02d}" if pad else str(when.month)
    year = f"{when.year:04d}" if loc.year_digits == 4 else f"{when.year % 100:02d}"
    fields = {"dmy": (day, month, year), "mdy": (month, day, year), "ymd": (year, month, day)}
    date = (loc.field_mark + loc.date_sep).join(fields[loc.date_order])
    if loc.clock == "12h":
        hour, suffix = (
            str(when.hour % 12 or 12),
            loc.ampm_space + (loc.am if when.hour < 12 else loc.pm),
        )
    else:
        hour, suffix = f"{when.hour:02d}", ""
    seconds = f":{when.second:02d}" if layout == "ios" else ""
    stamp = f"{date}{loc.date_time_sep}{hour}:{when.minute:02d}{seconds}{suffix}"
    stamp = stamp.translate(_DIGITS[loc.digits])
    return f"[{stamp}] " if layout == "ios" else f"{stamp} - "


def _wa_body(message: WaMessage, layout: str, loc: WaLocale) -> str:
    """The marker line of an attachment (caption on the next line), or the text."""
    att = message.attachment
    if att is None:
        return message.text
    document = att.kind == "document"
    caption = message.text
    if layout == "android":
        if att.included:
            marker = f"{att.name} ({loc.file_attached})"
            caption = caption or (att.name if document else "")
        else:
            marker = f"<{loc.media_omitted}>"
    elif att.included:
        title = re.sub(r"^\d{8}-", "", att.name) if document else ""
        if document and att.pages is not None:
            title += f" • {LRM}{att.pages} {loc.pages_word}"
        marker = (
            f"{title} {LRM}<{loc.attached}: {att.name}>"
            if title
            else f"{LRM}<{loc.attached}: {att.name}>"
        )
    elif document:
        pages = f" • {LRM}{att.pages} {loc.pages_word}" if att.pages is not None else ""
        marker = f"{LRM}{att.name}{pages} {LRM}{loc.omitted['document']}"
    else:
        marker = f"{LRM}{loc.omitted[att.kind]}"
    return marker + (f"\n{caption}" if caption else "")


# ---------------------------------------------------------------------------
# Telegram Desktop
# ---------------------------------------------------------------------------

#: What Telegram Desktop writes instead of a path for a file it did not export.
FILE_NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"

_MIME = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".txt": "text/plain",
    ".jpg": "image/jpeg",
}


@dataclass(frozen=True)
class TgMessage:
    """One Telegram message; ``action`` makes it a service message with ``sender`` as actor.

    ``text`` is a string or a list of strings and entities such as
    ``{"type": "bold", "text": "…"}``; ``file``/``photo`` are paths relative
    to the export folder (``files/…``, ``photos/…``) or ``FILE_NOT_INCLUDED``.
    """

    sent_at: datetime
    sender: str | None
    text: str | Sequence[str | Mapping[str, str]] = ""
    file: str | None = None
    file_name: str | None = None
    photo: str | None = None
    action: str | None = None
    edited: datetime | None = None
    forwarded_from: str | None = None
    reply_to_message_id: int | None = None


@dataclass(frozen=True)
class TgChat:
    """One chat of an export."""

    name: str
    messages: Sequence[TgMessage]
    type: str = "private_group"
    id: int = 4000000001


def telegram_chat_json(chat: TgChat, files: Mapping[str, bytes] | None = None) -> str:
    """``result.json`` of a one-chat export, pretty-printed as Telegram Desktop does."""
    return _tg_dump(_tg_chat(chat, files or {}, first_id=1))


def telegram_account_json(
    chats: Sequence[TgChat],
    *,
    left_chats: Sequence[TgChat] = (),
    files: Mapping[str, bytes] | None = None,
) -> str:
    """``result.json`` of a whole-account export: personal data, contacts, then the chats."""
    files = files or {}
    listed, first_id = [], 1
    for chat in [*chats, *left_chats]:
        listed.append(_tg_chat(chat, files, first_id))
        first_id += len(chat.messages)
    export: dict[str, object] = {
        "about": "Data exported from a fictional account for tests.",
        "personal_information": {
            "user_id": 5000000001,
            "first_name": "Test",
            "last_name": "Officer",
            "phone_number": "+92 300 0000000",
            "username": "",
            "bio": "",
        },
        "contacts": {
            "about": "Contacts of the account.",
            "list": [
                {"first_name": "Ayesha", "last_name": "Khan", "phone_number": "+92 300 0000001"},
                {"first_name": "Bilal", "last_name": "Qureshi", "phone_number": "+92 300 0000002"},
            ],
        },
        "chats": {"about": "The account's chats.", "list": listed[: len(chats)]},
    }
    if left_chats:
        export["left_chats"] = {"about": "Chats the account left.", "list": listed[len(chats) :]}
    return _tg_dump(export)


def write_telegram_export(
    folder: Path,
    messages: Sequence[TgMessage],
    *,
    files: Mapping[str, bytes] | None = None,
    name: str = "Budget Team",
    chat_type: str = "private_group",
    chat_id: int = 4000000001,
) -> Path:
    """A one-chat export folder: ``result.json`` and the files under their relative paths."""
    chat = TgChat(name, messages, chat_type, chat_id)
    return _tg_write(folder, telegram_chat_json(chat, files), files or {})


def write_telegram_account_export(
    folder: Path,
    chats: Sequence[TgChat],
    *,
    left_chats: Sequence[TgChat] = (),
    files: Mapping[str, bytes] | None = None,
) -> Path:
    """A whole-account export folder; returns the path of its ``result.json``."""
    text = telegram_account_json(chats, left_chats=left_chats, files=files)
    return _tg_write(folder, text, files or {})


def _tg_write(folder: Path, text: str, files: Mapping[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for relpath, data in files.items():
        target = folder / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    result = folder / "result.json"
    result.write_text(text, encoding="utf-8")
    return result


def _tg_dump(export: object) -> str:
    return json.dumps(export, ensure_ascii=False, indent=1) + "\n"


def _tg_chat(chat: TgChat, files: Mapping[str, bytes], first_id: int) -> dict[str, object]:
    messages = [_tg_message(m, first_id + i, files) for i, m in enumerate(chat.messages)]
    return {"name": chat.name, "type": chat.type, "id": chat.id, "messages": messages}


def _tg_message(message: TgMessage, msg_id: int, files: Mapping[str, bytes]) -> dict[str, object]:
    """The message object, keys in Telegram Desktop's order."""
    obj: dict[str, object] = {
        "id": msg_id,
        "type": "service" if message.action else "message",
        "date": message.sent_at.isoformat(timespec="seconds"),
        "date_unixtime": _unixtime(message.sent_at),
    }
    if message.edited:
        obj["edited"] = message.edited.isoformat(timespec="seconds")
        obj["edited_unixtime"] = _unixtime(message.edited)
    role = "actor" if message.action else "from"
    obj[role] = message.sender
    obj[f"{role}_id"] = _peer_id(message.sender)
    if message.action:
        obj["action"] = message.action
    if message.forwarded_from:
        obj["forwarded_from"] = message.forwarded_from
    if message.reply_to_message_id is not None:
        obj["reply_to_message_id"] = message.reply_to_message_id
    if message.file is not None:
        obj["file"] = message.file
        if message.file_name:
            obj["file_name"] = message.file_name
        if message.file in files:
            obj["file_size"] = len(files[message.file])
        suffix = Path(message.file_name or message.file).suffix.lower()
        obj["mime_type"] = _MIME.get(suffix, "application/octet-stream")
    if message.photo is not None:
        obj["photo"] = message.photo
        if message.photo in files:
            obj["photo_file_size"] = len(files[message.photo])
        obj["width"], obj["height"] = 1280, 960
    obj["text"] = message.text if isinstance(message.text, str) else list(message.text)
    obj["text_entities"] = _entities(message.text)
    return obj


def _entities(text: str | Sequence[str | Mapping[str, str]]) -> list[Mapping[str, str]]:
    parts = [text] if isinstance(text, str) else text
    return [{"type": "plain", "text": p} if isinstance(p, str) else p for p in parts if p]


def _unixtime(when: datetime) -> str:
    return str(int(when.replace(tzinfo=UTC).timestamp()))


def _peer_id(name: str | None) -> str | None:
    return None if name is None else f"user{zlib.crc32(name.encode()) % 10**9 + 10**9}"
