"""WhatsApp chat exports (the ``.txt`` of "Export chat"), read as a stream of messages.

Each message starts with a header line, Android ``07/03/2026, 21:22 - Name: text``
or iOS ``[07/03/2026, 21:22:39] Name: text``; lines without a header continue
the message before. Headers vary by locale (date order and separators, 12-hour
clocks, Arabic-Indic digits, bidi marks anywhere), so they are matched by
structure, and the day/month order is decided once for the whole file: a
first pass over it keeps only counters, a second yields the messages.

    >>> import io
    >>> data = "07/03/2026, 21:22 - Ayesha: The memo: page two\\nand three\\n".encode()
    >>> m = next(iter_messages(io.BytesIO(data)))
    >>> (m.sender, m.sent_at, m.text, m.line, m.end_line)
    ('Ayesha', '2026-03-07T21:22:00', 'The memo: page two\\nand three', 1, 2)

Lines are split at ``\\n`` only (a ``\\r`` before it is not part of the text).
The text is read in linear time and bounded memory, a block of lines at a
time: the header regex is anchored and possessive (it never backtracks over a
long line), a line longer than 64 Ki characters is read in pieces (its header,
sender and attachment marker are looked for in its first), and a message's
text is cut at :data:`~leakscan.exports.chat.MAX_MESSAGE_CHARS`.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from functools import lru_cache
from typing import IO, NamedTuple

from ..extract.text import BOMS, LEGACY_ENCODINGS
from .chat import (
    MAX_MESSAGE_CHARS,
    AttachmentRef,
    Chat,
    ChatFormatError,
    ChatStream,
    Message,
    decode_chunks,
    rewindable,
)

__all__ = ["iter_messages", "looks_like_chat", "parse"]

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
# Bytes read to tell the encoding; characters handled at a time; a longer line is cut up.
_SNIFF_BYTES = 1 << 16
_BLOCK = 1 << 20
_LONG_LINE = 1 << 16

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
    """A header's date and time, read from its text, before the file's day/month order is known."""

    ios: bool
    # (month, day) when the year comes first, else the two fields as written.
    first: int
    second: int
    year_first: bool
    # Written as the US locale writes it (3/7/26, 9:22 PM): month first, when nothing else tells.
    us_style: bool
    # Local time in ISO 8601 read day first, and read month first; None if no such day.
    day_first_at: str | None
    month_first_at: str | None

    def sent_at(self, day_first: bool) -> str | None:
        return self.day_first_at if day_first else self.month_first_at


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
        if match and header is not None and (header.day_first_at or header.month_first_at):
            if ios is None:
                ios = header.ios
            if header.ios == ios and _sender(text, match.end(), end) is not None:
                named = True
        elif seen == 1:
            return False
        pos = end + 1
    return named


def iter_messages(stream: IO[bytes]) -> ChatStream:
    """Messages of a WhatsApp export read from a binary stream, in bounded memory.

    They are those :func:`parse` finds in the decoded file. The bytes are
    decoded as a byte-order mark says (UTF-8, UTF-16, UTF-32), as UTF-16 when
    NUL bytes say so, else as UTF-8, or as a legacy code page when damage
    outnumbers valid UTF-8 in the first 64 KiB; damaged bytes become U+FFFD
    (noted). ``text_start`` counts characters of that decoded text, after any
    byte-order mark. The stream is read twice: once for what decides the
    day/month order (counters only), then for the messages; one that cannot
    seek is copied to a temporary file. ChatFormatError (from ``next()``) if
    the file is not a WhatsApp chat.
    """
    return ChatStream("whatsapp", lambda chat: _read(chat, stream))


def parse(text: str) -> Chat:
    """Messages of a WhatsApp export; raises ChatFormatError if text is not one.

    ``sender`` is the name before the first ": " of a header line, without
    bidi marks; a header line without one is a system notice (``sender`` None,
    ``system`` True, ``text`` the whole notice). ``text`` runs from
    ``text_start`` to the end of the message's last line, line breaks kept,
    trailing empty lines dropped. Non-blank text before the first header
    (a fragment, not an export) is an error rather than silently dropped.

    A header, a sender's name and an attachment marker are looked for in the
    first 64 Ki characters of a line; a message's text is cut after
    :data:`~leakscan.exports.chat.MAX_MESSAGE_CHARS` characters. This holds
    the whole chat in memory: :func:`iter_messages` reads one of any size.
    """
    chat = ChatStream("whatsapp", lambda stream: _messages(stream, lambda notes: _slices(text)))
    messages = tuple(chat)
    return Chat(app="whatsapp", layout=chat.layout or "android", messages=messages)


def _slices(text: str) -> Iterator[str]:
    for start in range(0, len(text), _BLOCK):
        yield text[start : start + _BLOCK]


def _read(chat: ChatStream, stream: IO[bytes]) -> Iterator[Message]:
    source = rewindable(stream)
    try:
        origin = source.tell()
        head = source.read(_SNIFF_BYTES)
        encoding, skip = _encoding(head, chat.notes)

        def texts(notes: list[str] | None) -> Iterator[str]:
            source.seek(origin + skip)
            return decode_chunks(source, encoding, notes, skip)

        yield from _messages(chat, texts)
    finally:
        if source is not stream:
            source.close()


def _encoding(head: bytes, notes: list[str]) -> tuple[str, int]:
    """The file's encoding and the length of its byte-order mark, told by its first bytes."""
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding, len(bom)
    if b"\x00" in head:
        even = head[0::2].count(0) / max(1, len(head[0::2]))
        odd = head[1::2].count(0) / max(1, len(head[1::2]))
        if odd > 0.3 and even < 0.05:
            return "utf-16-le", 0
        if even > 0.3 and odd < 0.05:
            return "utf-16-be", 0
        return "utf-8", 0
    text = codecs.utf_8_decode(head, "replace", False)[0]
    damaged = text.count("\ufffd")
    if damaged and damaged > sum(c > "\x7f" for c in text) - damaged:
        # More damage than UTF-8 characters: a chat re-saved in a Windows code page.
        from charset_normalizer import from_bytes

        best = from_bytes(head, cp_isolation=list(LEGACY_ENCODINGS)).best()
        encoding = LEGACY_ENCODINGS[0] if best is None else best.encoding
        notes.append(f"not UTF-8: read as {encoding}")
        return encoding, 0
    return "utf-8", 0


def _blocks(texts: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """The text in blocks of whole lines, each with whether it starts at a line's start.

    A line longer than _LONG_LINE characters comes in blocks of its own, so
    memory stays bounded: only the first can hold its header.
    """
    carry = ""
    at_line_start = True
    for chunk in texts:
        text = carry + chunk if carry else chunk
        cut = text.rfind("\n") + 1
        if cut:
            yield text[:cut], at_line_start
            carry, at_line_start = text[cut:], True
        else:
            carry = text
        if len(carry) > _LONG_LINE:
            yield carry, at_line_start
            carry, at_line_start = "", False
    if carry:
        yield carry, at_line_start


def _messages(
    chat: ChatStream, texts: Callable[[list[str] | None], Iterable[str]]
) -> Iterator[Message]:
    """Both passes over the text: the day/month order first, then the messages."""
    order = _Order()
    for block, at_line_start in _blocks(texts(chat.notes)):
        for match in _HEADER.finditer(block, 0 if at_line_start else 1):
            header = _header(match)
            if header is not None:
                order.add(header)
    day_first = order.day_first()
    if order.ios is None or not order.valid[day_first]:
        raise ChatFormatError("not a WhatsApp chat: no message header line")
    reader = _Reader(chat, order.ios, day_first)
    for block, at_line_start in _blocks(texts(None)):
        yield from reader.block(block, at_line_start)
    if reader.open is not None:
        yield reader.close(reader.open)


class _Open:
    """The message being read: its text so far (up to the cap) and what its end needs."""

    __slots__ = (
        "attachments",
        "kept",
        "length",
        "line",
        "newlines",
        "parts",
        "sender",
        "sent_at",
        "text_start",
        "trail",
        "trail_newlines",
    )

    def __init__(
        self,
        line: int,
        sender: str | None,
        sent_at: str,
        text_start: int,
        attachments: tuple[AttachmentRef, ...],
    ) -> None:
        self.line = line
        self.sender = sender
        self.sent_at = sent_at
        self.text_start = text_start
        self.attachments = attachments
        self.parts: list[str] = []
        self.kept = 0  # characters in parts
        self.length = 0  # characters read
        self.newlines = 0
        # The run of "\r" and "\n" the text ends with so far: dropped if no text follows.
        self.trail = 0
        self.trail_newlines = 0

    def add(self, text: str) -> None:
        if not text:
            return
        newlines = text.count("\n")
        core = len(text.rstrip("\r\n"))
        if core:
            self.trail = len(text) - core
            self.trail_newlines = text.count("\n", core)
        else:
            self.trail += len(text)
            self.trail_newlines += newlines
        self.newlines += newlines
        self.length += len(text)
        if self.kept < MAX_MESSAGE_CHARS:
            part = text[: MAX_MESSAGE_CHARS - self.kept]
            self.parts.append(part)
            self.kept += len(part)


class _Begun(NamedTuple):
    """A message whose header was read in the block at hand."""

    line: int
    sender: str | None
    sent_at: str
    text_start: int
    attachments: tuple[AttachmentRef, ...]


class _Reader:
    """The second pass: messages from blocks of text, with their lines and offsets.

    A message held whole by one block is sliced from it; one that runs on into
    the next block is gathered in an _Open.
    """

    def __init__(self, chat: ChatStream, ios: bool, day_first: bool) -> None:
        self.chat = chat
        self.ios = ios
        self.day_first = day_first
        self.open: _Open | None = None
        self.offset = 0  # character offset of the block's start
        self.line = 1  # line at position self.counted of the block
        self.counted = 0

    def line_at(self, block: str, pos: int) -> int:
        self.line += block.count("\n", self.counted, pos)
        self.counted = pos
        return self.line

    def block(self, block: str, at_line_start: bool) -> Iterator[Message]:
        pos = 0  # where the text not yet given to a message starts
        begun: _Begun | None = None
        for match in _HEADER.finditer(block, 0 if at_line_start else 1):
            header = _header(match)
            if header is None or header.ios != self.ios:
                continue
            sent_at = header.sent_at(self.day_first)
            if sent_at is None:
                continue
            start, end = match.span()
            if begun is not None:
                yield self.whole(begun, block, pos, start)
            elif self.open is not None:
                self.open.add(block[pos:start])
                self.line_at(block, start)
                yield self.close(self.open)
                self.open = None
            else:
                self.blank(block, pos, start)
                self.line_at(block, start)
                self.chat.layout = "ios" if self.ios else "android"
            line_end = block.find("\n", end)
            if line_end < 0:
                line_end = len(block)
            named = _sender(block, end, line_end)
            sender, pos = (None, end) if named is None else (named[0], named[1] + 2)
            attachments: tuple[AttachmentRef, ...] = ()
            if sender is not None:
                attachments = _attachments(block[pos:line_end].rstrip("\r"))
            begun = _Begun(self.line, sender, sent_at, self.offset + pos, attachments)
        if begun is not None:
            self.open = _Open(*begun)
        if self.open is not None:
            self.open.add(block[pos:])
        else:
            self.blank(block, pos, len(block))
        self.line_at(block, len(block))
        self.counted = 0
        self.offset += len(block)

    def whole(self, begun: _Begun, block: str, start: int, end: int) -> Message:
        """A message whose text is block[start:end] (up to its trailing line ends)."""
        text = block[start:end].rstrip("\r\n")
        self.line = begun.line + block.count("\n", start, end)
        self.counted = end
        if len(text) > MAX_MESSAGE_CHARS:
            open = _Open(*begun)
            open.add(block[start:end])
            return self.close(open)
        return Message(
            begun.line,
            begun.line + text.count("\n"),
            begun.sender,
            begun.sent_at,
            text,
            begun.text_start,
            begun.attachments,
            begun.sender is None,
        )

    def blank(self, block: str, start: int, end: int) -> None:
        """Text before the first message must be blank: else this is no chat (a fragment)."""
        if lead := _NON_BLANK.search(block, start, end):
            line = self.line_at(block, lead.start())
            raise ChatFormatError(f"not a WhatsApp chat: line {line} is text before any message")

    def close(self, open: _Open) -> Message:
        length = open.length - open.trail
        text = "".join(open.parts)
        if len(text) > length:
            text = text[:length]
        if len(text) < length:
            self.chat.notes.append(
                f"line {open.line}: message text cut after {len(text)} characters "
                f"({length - len(text)} more not read)"
            )
        return Message(
            line=open.line,
            end_line=open.line + open.newlines - open.trail_newlines,
            sender=open.sender,
            sent_at=open.sent_at,
            text=text,
            text_start=open.text_start,
            attachments=open.attachments,
            system=open.sender is None,
        )


def _header(match: re.Match[str]) -> _Header | None:
    """A header's fields, or None if its numbers cannot be a date and time in any order."""
    return _header_of(match[0])


@lru_cache(maxsize=1 << 14)
def _header_of(text: str) -> _Header | None:
    """_header of a header's text: read once, as messages sent in one minute repeat it."""
    match = _HEADER.match(text)
    assert match is not None  # the text of a match matches again
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
    if year < 100:
        year += 2000
    time = f"T{hour:02d}:{minute:02d}:{seconds:02d}"
    written = _iso_date(year, first, second)
    swapped = written if year_first else _iso_date(year, second, first)
    return _Header(
        ios=ios is not None,
        first=first,
        second=second,
        year_first=year_first,
        us_style=ampm is not None and ampm[:1] in ("A", "P") and len(d3) == 2 and "/" in text,
        day_first_at=None if swapped is None else swapped + time,
        month_first_at=None if written is None else written + time,
    )


class _Order:
    """What decides a file's day/month order, counted header by header in a first pass.

    A field over 12 must be the day; else the order that keeps time running
    forward; if both do, the locale's way of writing. Only headers of the
    layout (Android or iOS) of the first one count: other lines are text.
    """

    def __init__(self) -> None:
        self.ios: bool | None = None
        self.free = 0  # headers whose year comes last: their order is in question
        self.day_votes = 0
        self.month_votes = 0
        self.us_votes = 0
        # Per order (day first: True): headers with a real date, whether time ran forward.
        self.valid = {True: 0, False: 0}
        self.ordered = {True: True, False: True}
        self.last = {True: "", False: ""}

    def add(self, header: _Header) -> None:
        if self.ios is None:
            self.ios = header.ios
        elif header.ios != self.ios:
            return
        if not header.year_first:
            self.free += 1
            self.day_votes += header.first > 12 >= header.second
            self.month_votes += header.second > 12 >= header.first
            self.us_votes += header.us_style
        for day_first in (True, False):
            stamp = header.sent_at(day_first)
            if stamp is None:
                self.ordered[day_first] = False
                continue
            self.valid[day_first] += 1
            if stamp < self.last[day_first]:
                self.ordered[day_first] = False
            self.last[day_first] = stamp

    def day_first(self) -> bool:
        if self.day_votes or self.month_votes:
            return self.day_votes >= self.month_votes
        day_ordered, month_ordered = self.ordered[True], self.ordered[False]
        if day_ordered and month_ordered and self.free:
            # Truly ambiguous (say, a chat of one day): go by the locale's way of writing.
            return self.us_votes * 2 <= self.free
        return day_ordered or not month_ordered


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
