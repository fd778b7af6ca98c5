"""WhatsApp chat exports (the ``.txt`` of "Export chat"), parsed from their decoded text.

Each message starts with a header line, Android ``07/03/2026, 21:22 - Name: text``
or iOS ``[07/03/2026, 21:22:39] Name: text``; lines without a header continue
the message before. Headers vary by locale (date order and separators, 12-hour
clocks, Arabic-Indic digits, bidi marks anywhere), so they are matched by
structure, and the day/month order is decided once for the whole file.

    >>> chat = parse("07/03/2026, 21:22 - Ayesha: The memo: page two\\nand three\\n")
    >>> m = chat.messages[0]
    >>> (m.sender, m.sent_at, m.text, m.line, m.end_line)
    ('Ayesha', '2026-03-07T21:22:00', 'The memo: page two\\nand three', 1, 2)

Lines are split at ``\\n`` only (a ``\\r`` before it is not part of the text).
The text is read in linear time: the header regex is anchored and possessive
(it never backtracks over a long line), and attachment markers are only
looked for in first lines short enough to be one.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from itertools import pairwise
from typing import NamedTuple

from .chat import AttachmentRef, Chat, ChatFormatError, Message

__all__ = ["looks_like_chat", "parse"]

# Invisible marks exports put around header parts, sender names and markers:
# BOM, LRM, RLM, bidi embeddings/overrides and isolates.
_MARKS = r"\ufeff\u200e\u200f\u202a-\u202e\u2066-\u2069"
# Marks or a space (plain, no-break, narrow no-break): what may separate header parts.
_W = rf"[ \u00a0\u202f{_MARKS}]"

_HEADER = re.compile(
    rf"""
    ^[{_MARKS}]*+
    (?P<ios>\[)?{_W}*+
    (?P<d1>\d{{1,4}}){_W}*+(?P<sep>[./-]){_W}*+(?P<d2>\d{{1,2}}){_W}*+(?P=sep){_W}*+
    (?P<d3>\d{{1,4}})\.?
    {_W}*+[,\u060c]?{_W}*+
    (?P<h>\d{{1,2}})[:.](?P<mi>\d{{2}})(?:[:.](?P<s>\d{{2}}))?
    (?:{_W}*+(?P<ampm>[AaPp]\.?{_W}*+[Mm]\.?|\u0635|\u0645))?
    {_W}*+(?(ios)\]|[-\u2013])[ \u00a0\u202f]?
    """,
    re.MULTILINE | re.VERBOSE,
)
_NON_BLANK = re.compile(rf"[^\s{_MARKS}]")
_MARK = re.compile(f"[{_MARKS}]")

_MARK_CHARS = (
    "\ufeff\u200e\u200f" + "".join(map(chr, range(0x202A, 0x202F))) + "\u2066\u2067\u2068\u2069"
)
_DROP_MARKS = str.maketrans(dict.fromkeys(_MARK_CHARS))
_STRIP = " \t\u00a0\u202f" + _MARK_CHARS

# How many non-empty lines looks_like_chat reads.
_SAMPLE_LINES = 40

# Longest first line that can be an attachment marker.
_MAX_MARKER_LINE = 1024
# Attachment markers. Their words are the app's, localized; the structure around them is fixed.
# Android with media: "IMG-20260307-WA0003.jpg (file attached)" (a document's caption follows).
_FILE_ATTACHED = (
    "file attached|Datei angehängt|archivo adjunto|fichier joint|arquivo anexado|ficheiro anexado"
    "|file allegato|allegato|bestand bijgevoegd|dosya ekli|file terlampir|fail dilampirkan"
    "|файл добавлен|الملف مرفق|پیوستہ فائل|फाइल संलग्न"
)
_ANDROID_ATTACHED = re.compile(rf"(?P<name>.+?){_W}*+\((?:{_FILE_ATTACHED})\)", re.IGNORECASE)
# Android without media: the whole line is "<Media omitted>".
_MEDIA_OMITTED = re.compile(
    r"<(?:Media omitted|Medien ausgeschlossen|Multimedia omitido|Médias omis|Media omessi"
    r"|Mídia oculta|Arquivo de mídia oculto|Media weggelaten|Video message omitted"
    r"|Video note omitted)>",
    re.IGNORECASE,
)
# iOS with media: "<attached: 00000012-PHOTO-2026-03-07-21-22-39.jpg>", after a document's title.
_IOS_ATTACHED = re.compile(
    rf"(?P<pre>.*?){_W}*+<(?:attached|angehängt|Anhang|adjunto|anexo|anexado|pièce jointe"
    rf"|allegato|bijgevoegd|eklendi|прикреплено|المُرفق|پیوستہ): (?P<name>[^<>]+)>",
    re.IGNORECASE,
)
# iOS without media: "image omitted", "Budget memo.pdf • 3 pages document omitted".
_IOS_OMITTED = re.compile(
    rf"(?P<pre>.*?){_W}*+(?:(?P<doc>document omitted|Dokument weggelassen|documento omitido"
    rf"|document absent)|image omitted|video omitted|audio omitted|sticker omitted|GIF omitted"
    rf"|Contact card omitted|Bild weggelassen|Video weggelassen|Audio weggelassen"
    rf"|Sticker weggelassen|GIF weggelassen|imagen omitida|video omitido|vídeo omitido"
    rf"|audio omitido|sticker omitido|GIF omitido|image absente|vidéo absente|audio absent)",
    re.IGNORECASE,
)
_OMITTED_END = re.compile(r"(?:omitted|weggelassen|omitida|omitido|absente?)\Z", re.IGNORECASE)
# Marker words also occur in prose ("notes below (file attached)"): a file name has an extension.
_FILE_NAME = re.compile(r".+\.\w{1,10}")
# A document's page count after its title: "Budget memo.pdf • 3 pages".
_PAGES = re.compile(rf"(?P<name>.*?){_W}*+•{_W}*+(?P<pages>\d+){_W}++\w+")


class _Header(NamedTuple):
    """One header line as matched, before the file's day/month order is known."""

    start: int
    end: int
    ios: bool
    year: int
    # (month, day) when the year comes first, else the two fields as written.
    first: int
    second: int
    year_first: bool
    time: str  # "21:22:39"
    # Written as the US locale writes it (3/7/26, 9:22 PM): month first, when nothing else tells.
    us_style: bool = False


def looks_like_chat(text: str) -> bool:
    """Whether text is a WhatsApp export, from its first non-empty lines only.

    The first non-empty line must be a header with a valid date and time, and
    some header among the first 40 non-empty lines must name a sender: a log or
    a memo whose lines start with dates lacks one of the two.

    >>> looks_like_chat("[07/03/2026, 21:22:39] Bilal: Ready?\\n")
    True
    >>> looks_like_chat("07/03/2026 21:22:39 sshd[811]: session opened\\n")
    False
    """
    pos, seen, ios, named = 0, 0, None, False
    while seen < _SAMPLE_LINES and (found := _NON_BLANK.search(text, pos)):
        newline = text.rfind("\n", pos, found.start())
        start = pos if newline < 0 else newline + 1
        end = text.find("\n", found.start())
        if end < 0:
            end = len(text)
        seen += 1
        match = _HEADER.match(text, start, end)
        header = _header(match) if match else None
        if header is not None and (
            _sent_at(header, day_first=True) or _sent_at(header, day_first=False)
        ):
            if ios is None:
                ios = header.ios
            if header.ios == ios and _sender(text, header.end, end) is not None:
                named = True
        elif seen == 1:
            return False
        pos = end + 1
    return named


def parse(text: str) -> Chat:
    """Messages of a WhatsApp export; raises ChatFormatError if text is not one.

    ``sender`` is the name before the first ": " of a header line, without
    bidi marks; a header line without one is a system notice (``sender`` None,
    ``system`` True, ``text`` the whole notice). ``text`` runs from
    ``text_start`` to the end of the message's last line, line breaks kept,
    trailing empty lines dropped. Non-blank text before the first header
    (a fragment, not an export) is an error rather than silently dropped.
    """
    headers = _file_headers(text)
    day_first = _day_first(headers)
    kept = [(h, sent) for h in headers if (sent := _sent_at(h, day_first)) is not None]
    if not kept:
        raise ChatFormatError("not a WhatsApp chat: no message header line")
    if lead := _NON_BLANK.search(text, 0, kept[0][0].start):
        line = 1 + text.count("\n", 0, lead.start())
        raise ChatFormatError(f"not a WhatsApp chat: line {line} is text before any message")
    messages: list[Message] = []
    line = 1 + text.count("\n", 0, kept[0][0].start)
    for i, (header, sent_at) in enumerate(kept):
        following = kept[i + 1][0].start if i + 1 < len(kept) else len(text)
        line_end = text.find("\n", header.end, following)
        if line_end < 0:
            line_end = following
        named = _sender(text, header.end, line_end)
        sender, start = (None, header.end) if named is None else (named[0], named[1] + 2)
        end = following
        while end > start and text[end - 1] in "\r\n":
            end -= 1
        end_line = line + text.count("\n", header.start, end)
        attachments: tuple[AttachmentRef, ...] = ()
        if sender is not None:
            attachments = _attachments(text[start : min(line_end, end)].rstrip("\r"))
        messages.append(
            Message(
                line=line,
                end_line=end_line,
                sender=sender,
                sent_at=sent_at,
                text=text[start:end],
                text_start=start,
                attachments=attachments,
                system=sender is None,
            )
        )
        line = end_line + text.count("\n", end, following)
    layout = "ios" if kept[0][0].ios else "android"
    return Chat(app="whatsapp", layout=layout, messages=tuple(messages))


def _header(match: re.Match[str]) -> _Header | None:
    """A header's fields, or None if its numbers cannot be a date and time in any order."""
    ios, d1, d2, d3, h, mi, sec, ampm = match.group("ios", "d1", "d2", "d3", "h", "mi", "s", "ampm")
    year_first = len(d1) == 4
    if year_first:
        if len(d3) > 2:
            return None
        year, first, second = int(d1), int(d2), int(d3)
    elif len(d1) <= 2 and len(d3) in (2, 4):
        year, first, second = int(d3), int(d1), int(d2)
    else:
        return None
    hour, minute, seconds = int(h), int(mi), int(sec) if sec else 0
    if ampm is not None:
        if hour > 12:
            return None
        pm = ampm == "\u0645" or ampm[0] in "Pp"
        hour = hour % 12 + (12 if pm else 0)
    if hour > 23 or minute > 59 or seconds > 59:
        return None
    return _Header(
        start=match.start(),
        end=match.end(),
        ios=ios is not None,
        year=year + 2000 if year < 100 else year,
        first=first,
        second=second,
        year_first=year_first,
        time=f"{hour:02d}:{minute:02d}:{seconds:02d}",
        us_style=ampm is not None and ampm[:1] in ("A", "P") and len(d3) == 2 and "/" in match[0],
    )


def _file_headers(text: str) -> list[_Header]:
    """Header lines of the layout (Android or iOS) of the first one; other lines are text."""
    headers: list[_Header] = []
    for match in _HEADER.finditer(text):
        header = _header(match)
        if header is not None and (not headers or header.ios == headers[0].ios):
            headers.append(header)
    return headers


def _day_first(headers: list[_Header]) -> bool:
    """The file's date order: a field over 12 must be the day; else keep time running forward."""
    free = [h for h in headers if not h.year_first]
    day_votes = sum(h.first > 12 >= h.second for h in free)
    month_votes = sum(h.second > 12 >= h.first for h in free)
    if day_votes or month_votes:
        return day_votes >= month_votes
    day_ordered = _in_order(headers, day_first=True)
    month_ordered = _in_order(headers, day_first=False)
    if day_ordered and month_ordered and free:
        # Truly ambiguous (say, a chat of one day): go by the locale's way of writing.
        return sum(h.us_style for h in free) * 2 <= len(free)
    return day_ordered or not month_ordered


def _in_order(headers: list[_Header], day_first: bool) -> bool:
    """Whether the timestamps never go back under this date order."""
    stamps = [_sent_at(h, day_first) or "" for h in headers]
    return "" not in stamps and all(a <= b for a, b in pairwise(stamps))


def _sent_at(header: _Header, day_first: bool) -> str | None:
    """ISO 8601 local time of a header under a date order, or None if that date does not exist."""
    if header.year_first or not day_first:
        day = _iso_date(header.year, header.first, header.second)
    else:
        day = _iso_date(header.year, header.second, header.first)
    return None if day is None else f"{day}T{header.time}"


@lru_cache(maxsize=4096)
def _iso_date(year: int, month: int, day: int) -> str | None:
    """``2026-03-07``, or None if there is no such day (a chat has few distinct days)."""
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _sender(text: str, start: int, line_end: int) -> tuple[str, int] | None:
    """The sender's name and the position of the ": " ending it, or None (a system line)."""
    colon = text.find(": ", start, line_end)
    if colon < 0:
        return None
    name = _clean_name(text[start:colon])
    return (name, colon) if name else None


def _clean_name(name: str) -> str:
    """A sender's name without the bidi marks and spaces exports wrap it in."""
    if _MARK.search(name):
        name = name.translate(_DROP_MARKS)
    return name.strip(_STRIP)


def _attachments(first_line: str) -> tuple[AttachmentRef, ...]:
    """The file a message's first line announces, in any of the app's marker forms.

    Every marker ends the line, so its last characters choose the one pattern
    worth trying; a marker line holds at most two file names (255 characters
    each), so a longer line is text and costs nothing.
    """
    line = first_line.strip(_STRIP)
    if len(line) > _MAX_MARKER_LINE:
        return ()
    if line.endswith(">"):
        if _MEDIA_OMITTED.fullmatch(line):
            return (AttachmentRef(name="", included=False),)
        if match := _IOS_ATTACHED.fullmatch(line):
            pages = _titled(match["pre"])[1]
            return (AttachmentRef(name=match["name"].strip(_STRIP), included=True, pages=pages),)
    elif line.endswith(")"):
        if match := _ANDROID_ATTACHED.fullmatch(line):
            name, pages = _titled(match["name"])
            if _FILE_NAME.fullmatch(name):
                return (AttachmentRef(name=name, included=True, pages=pages),)
    elif _OMITTED_END.search(line, max(0, len(line) - 12)) and (
        match := _IOS_OMITTED.fullmatch(line)
    ):
        if not match["doc"]:
            return () if match["pre"] else (AttachmentRef(name="", included=False),)
        name, pages = _titled(match["pre"])
        if not name or _FILE_NAME.fullmatch(name):
            return (AttachmentRef(name=name, included=False, pages=pages),)
    return ()


def _titled(title: str) -> tuple[str, int | None]:
    """A document's name and page count from "Budget memo.pdf • 3 pages"."""
    if match := _PAGES.fullmatch(title.strip(_STRIP)):
        return match["name"].strip(_STRIP), int(match["pages"])
    return title.strip(_STRIP), None
