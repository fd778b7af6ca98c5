"""E-mail messages (.eml, Outlook .msg) read as containers: the readable text, and attachments.

A leaked document usually travels as an attachment, so a message is not one
item but several: :attr:`Mail.text` (the headers a person reads, then the body)
is scanned as the message itself, and each :class:`MailPart` is handed back to
the caller to detect and scan on its own (a forwarded message is one of them,
as raw bytes, so the caller recurses with the same limits it applies to archives).

Nothing that cannot be decoded is dropped in silence: it becomes a one-line
note in :attr:`Mail.problems`, which the caller records with the item. A
hostile message (parts nested hundreds deep, a header of a million encoded
words, a huge attachment) is read within fixed bounds, what lies beyond them
noted; only :class:`~leakscan.errors.ExtractionError` is ever raised.
"""

from __future__ import annotations

import binascii
import codecs
import contextlib
import email.errors
import email.policy
import io
import logging
import mimetypes
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, NamedTuple

from ..errors import EncryptedDocumentError, ExtractionError, UnsupportedFormatError
from ..extract import OLE_MAGIC
from ..extract.html import html_to_text

__all__ = ["Mail", "MailPart", "looks_like_eml", "read_eml", "read_msg"]


@dataclass(frozen=True)
class MailPart:
    """One attachment or embedded message.

    ``name`` is exactly what the message gives (decoded, path parts and all:
    the caller decides what to refuse), or ``part-N.<ext>`` when it gives none.

    A part whose decoded size would pass the reader's ``max_attachment_bytes``
    is not decoded: ``too_large`` is set, ``data`` is empty and ``size`` holds
    the decoded size (for base64, estimated from the encoded length), so the
    caller can report it as skipped, by name, like a member over the limit.
    """

    name: str
    data: bytes
    content_type: str
    too_large: bool = False
    #: Bytes the decoded part would have; only given when ``too_large``.
    size: int | None = None


@dataclass(frozen=True)
class Mail:
    """What a message holds: text to scan, attachments to scan separately, what went wrong.

    ``text`` is the From, To, Cc, Bcc, Date and Subject lines the message has
    (``"Subject: …\\n"``, in that order), a blank line, then the body texts
    separated by blank lines: evidence quoted from a mail shows who sent it.
    """

    text: str
    attachments: tuple[MailPart, ...]
    problems: tuple[str, ...]


# The headers a person reads; the others are routing noise for a text scan.
_SHOWN_HEADERS = ("From", "To", "Cc", "Bcc", "Date", "Subject")


# --- content check ----------------------------------------------------------

_FIELD_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")
# Field names that occur in mail headers; a text file starting with a
# "Subject:" line is not yet a mail, so one of _STRONG_FIELDS must be there too.
_MAIL_FIELDS = frozenset(
    {
        b"from",
        b"to",
        b"cc",
        b"bcc",
        b"date",
        b"subject",
        b"sender",
        b"reply-to",
        b"message-id",
        b"in-reply-to",
        b"references",
        b"received",
        b"return-path",
        b"delivered-to",
        b"mime-version",
        b"content-type",
        b"content-transfer-encoding",
        b"x-mailer",
        b"user-agent",
        b"dkim-signature",
        b"arc-seal",
        b"authentication-results",
        b"thread-topic",
        b"thread-index",
        b"importance",
        b"x-originating-ip",
    }
)
_STRONG_FIELDS = frozenset(
    {b"from", b"message-id", b"received", b"return-path", b"delivered-to", b"mime-version"}
)


def looks_like_eml(data: bytes) -> bool:
    """Whether the bytes start with an RFC 822 header block (libmagic misses some mails).

    Every line up to the first blank one must be a header field or its
    continuation, and the fields must include two that mail uses, one of them
    a field only mail has (From, Message-ID, Received, MIME-Version, …).

    >>> looks_like_eml(b"From: a@example.org\\r\\nSubject: hello\\r\\n\\r\\nbody")
    True
    >>> looks_like_eml(b"Subject: minutes\\nDate: today\\n\\nnot a mail")
    False
    """
    window = 16384
    head = data[:window].removeprefix(codecs.BOM_UTF8).lstrip(b"\r\n")
    lines = head.splitlines()
    if len(data) > window and lines:
        lines.pop()  # the window may cut the last line
    if lines and lines[0].startswith(b"From ") and not _FIELD_LINE.match(lines[0]):
        lines.pop(0)  # an mbox separator line
    names: set[bytes] = set()
    for number, line in enumerate(lines):
        if not line.strip():
            break
        if line[:1] in (b" ", b"\t"):
            if number == 0:
                return False
            continue
        match = _FIELD_LINE.match(line)
        if match is None:
            return False
        names.add(match.group().rstrip(b" \t:").lower())
    known = names & _MAIL_FIELDS
    return len(known) >= 2 and bool(known & _STRONG_FIELDS)


# --- text decoding ----------------------------------------------------------


def _is_text_codec(name: str) -> bool:
    """Whether Python can decode bytes to text by this name (not "zlib", "base64", "rot13")."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        return False
    return bool(getattr(info, "_is_text_encoding", True))


def _decode_undeclared(data: bytes, fallbacks: tuple[str, ...]) -> tuple[str, str]:
    """Text whose charset nobody declared: the first fallback that decodes it strictly."""
    for encoding in fallbacks:
        try:
            return data.decode(encoding), encoding
        except (UnicodeError, LookupError):
            continue
    return data.decode("cp1252", errors="replace"), "cp1252 (undecodable bytes replaced)"


def _decode_text(
    data: bytes, charset: str | None, fallbacks: tuple[str, ...], label: str, problems: list[str]
) -> str:
    """Text of a part in its declared charset; a guess is only made when it must be, and noted."""
    if charset and charset not in ("us-ascii", "ascii"):
        if not _is_text_codec(charset):
            text, used = _decode_undeclared(data, fallbacks)
            problems.append(f"{label}: unknown charset {charset!r}; read as {used}")
            return text
        try:
            return data.decode(charset)
        except UnicodeError as exc:
            failure = exc
        if codecs.lookup(charset).name != "utf-8":
            with contextlib.suppress(UnicodeError):
                text = data.decode("utf-8")
                problems.append(f"{label}: not valid {charset}; read as utf-8")
                return text
        where = ""
        if isinstance(failure, UnicodeDecodeError):
            where = f" (byte 0x{data[failure.start]:02x} at offset {failure.start})"
        problems.append(f"{label}: not valid {charset}{where}; undecodable bytes replaced")
        try:
            return data.decode(charset, errors="replace")
        except UnicodeError:
            return data.decode("cp1252", errors="replace")
    if data.isascii():
        return data.decode("ascii")
    text, used = _decode_undeclared(data, fallbacks)
    declared = f"declared {charset}" if charset else "no charset declared"
    problems.append(f"{label}: 8-bit text with {declared}; read as {used}")
    return text


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff")


# --- .eml -------------------------------------------------------------------

_SIGNATURE_TYPES = frozenset(
    {"application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature"}
)
_ENCRYPTED_DER = (
    b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x03",  # PKCS #7 envelopedData
    b"\x06\x0b\x2a\x86\x48\x86\xf7\x0d\x01\x09\x10\x01\x17",  # authEnvelopedData
)
_EXTENSIONS = {
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/zip": ".zip",
    "application/octet-stream": ".bin",
    "application/ms-tnef": ".dat",
    "application/vnd.ms-outlook": ".msg",
    "message/rfc822": ".eml",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "image/jpeg": ".jpg",
    "image/png": ".png",
}
_DEFECT_NOTES: dict[type[email.errors.MessageDefect], str] = {
    email.errors.CloseBoundaryNotFoundDefect: "ends before its closing MIME boundary (truncated?)",
    email.errors.StartBoundaryNotFoundDefect: "declares parts but its boundary never occurs",
    email.errors.NoBoundaryInMultipartDefect: "is multipart without a boundary; read as one part",
    email.errors.MissingHeaderBodySeparatorDefect: (
        "has a malformed header line; the rest was read as body"
    ),
    email.errors.FirstHeaderLineIsContinuationDefect: "starts with a continuation line",
}
_SILENT_DEFECTS = (email.errors.MultipartInvariantViolationDefect,)
_KNOWN_CTES = frozenset({"", "7bit", "8bit", "binary", "quoted-printable", "base64"})
_UUENCODE = frozenset({"x-uuencode", "uuencode", "uue", "x-uue"})


def _safe_stem(text: str) -> str:
    """A file-name stem made from a subject: no path separators or control characters."""
    stem = re.sub(r"[\x00-\x1f\x7f/\\]+", "_", " ".join(text.split())).strip(" .")
    return stem[:120].rstrip(" .")


def _extension(content_type: str) -> str:
    if content_type in _EXTENSIONS:
        return _EXTENSIONS[content_type]
    return mimetypes.guess_extension(content_type, strict=False) or ".bin"


def _unfold(value: str) -> str:
    return re.sub(r"\s*\r?\n[ \t]*", " ", value).strip()


# --- MIME structure -----------------------------------------------------------
# The stdlib parser keeps a message as lines of text (six and more copies of a
# big attachment's size) and recurses into every nested part and forwarded
# message. Here a message is cut by offsets into its own bytes: the stdlib only
# parses each part's header block, bodies are decoded one at a time when they
# are needed, and a forwarded message is passed on as bytes without being parsed.

# A header line (RFC 5322 field, continuation, or mbox "From " line), as the
# stdlib parser tells them; the first other line ends the header block.
_HEADER_LINE = re.compile(rb"From |[\x21-\x39\x3b-\x7e]*:|[ \t]")
_FIRST_OTHER_LINE = re.compile(rb"(?:(?<=\n)|(?<=\r)(?!\n))(?!From |[\x21-\x39\x3b-\x7e]*:|[ \t])")
_FIELD_END = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?![ \t])")
# Header bounds: the stdlib's header parser is slow on long values (a 550 kB
# Subject of encoded words takes seconds), so fields are cut short, with a note.
_MAX_FIELD_BYTES = 32 << 10
_MAX_FIELDS = 1000
_MAX_HEADER_BYTES = 1 << 20
_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_NOT_B64 = bytes(b for b in range(256) if b not in _B64_ALPHABET)
_SPACE = b" \t\r\n\x0b\x0c"
_BLOCK = 1 << 20


@dataclass(eq=False)
class _Entity:
    """One MIME entity: its header fields (parsed by the stdlib) and where its body lies.

    ``data`` is the buffer holding the body: the message as given, or the
    decoded body of an encoded message/rfc822 part. ``children`` are the parts
    of a multipart (or the message inside the top-level message/*), ``None``
    for a leaf or for a multipart that was not split.
    """

    headers: EmailMessage
    data: bytes
    start: int
    end: int
    depth: int
    notes: list[str]
    children: list[_Entity] | None = None
    #: A multipart below the depth bound: neither split nor read.
    cut: bool = False


def _header_block(data: bytes, start: int, end: int) -> tuple[int, int, bool]:
    """Where the header block ends, where the body starts, and whether the blank line is missing."""
    if start >= end or not _HEADER_LINE.match(data, start, end):
        stop = start
    else:
        found = _FIRST_OTHER_LINE.search(data, start + 1, end)
        stop = end if found is None else found.start()
    if stop >= end:
        return end, end, False
    if data[stop] == 0x0A:
        return stop, stop + 1, False
    if data[stop] == 0x0D:
        return stop, stop + (2 if data[stop + 1 : stop + 2] == b"\n" else 1), False
    return stop, stop, True


def _bounded_fields(data: bytes, start: int, end: int) -> tuple[bytes, list[str]]:
    """The header block ``data[start:end]``, each field cut to a bound, and notes on the cuts."""
    if end - start <= _MAX_FIELD_BYTES:
        return data[start:end], []
    kept: list[bytes] = []
    notes: list[str] = []
    total = 0
    position = start
    while position < end:
        if len(kept) >= _MAX_FIELDS or total >= _MAX_HEADER_BYTES:
            notes.append(f"header fields after the first {len(kept)} ({total} bytes) were not read")
            break
        found = _FIELD_END.search(data, position, end)
        stop = end if found is None else found.end()
        field = data[position : min(stop, position + _MAX_FIELD_BYTES + 1)]
        if stop - position > _MAX_FIELD_BYTES:
            name = field[:60].split(b":", 1)[0].decode("ascii", "replace")
            notes.append(
                f"header {name}: {stop - position} bytes long;"
                f" only the first {_MAX_FIELD_BYTES} were read"
            )
            # Cut where a word ends, so that no encoded word is cut in two.
            cut = max(field.rfind(space, 0, _MAX_FIELD_BYTES) for space in b" \t\r\n")
            field = field[: cut if cut > 0 else _MAX_FIELD_BYTES].rstrip(b"\r\n") + b"\r\n"
        position = stop
        kept.append(field)
        total += len(field)
    return b"".join(kept), notes


def _parse_fields(block: bytes, notes: list[str]) -> EmailMessage:
    """The header block parsed; a field the stdlib cannot parse is left out, with a note.

    (A comment nested thousands deep in Content-Type exhausts the stack of
    the stdlib's recursive header parser, which reads Content-Type when it
    closes a message.)
    """
    parser = BytesParser(policy=email.policy.default)
    try:
        return parser.parsebytes(block, headersonly=True)
    except Exception:
        pass
    raw = BytesParser(policy=email.policy.compat32).parsebytes(block, headersonly=True)
    kept = []
    for name, value in raw.raw_items():
        try:
            str(email.policy.default.header_fetch_parse(name, str(value)))
        except Exception as exc:
            notes.append(f"header {name} unreadable ({type(exc).__name__}); left out")
            continue
        kept.append(f"{name}: {value}\r\n".encode("ascii", "surrogateescape"))
    try:
        return parser.parsebytes(b"".join(kept), headersonly=True)
    except Exception as exc:
        notes.append(f"headers unreadable ({type(exc).__name__}); left out")
        return EmailMessage()


def _entity(data: bytes, start: int, end: int, depth: int, default: str | None = None) -> _Entity:
    """The entity at ``data[start:end]``: its header block parsed, its body located."""
    header_end, body_start, separator_missing = _header_block(data, start, end)
    block, notes = _bounded_fields(data, start, header_end)
    headers = _parse_fields(block, notes)
    if separator_missing:
        headers.defects.append(email.errors.MissingHeaderBodySeparatorDefect())
    if default is not None:
        headers.set_default_type(default)
    return _Entity(headers, data, body_start, end, depth, notes)


def _before_line_break(data: bytes, start: int, end: int) -> int:
    """``end``, less the line break just before it (CRLF, LF or CR)."""
    if end - start >= 2 and data[end - 2 : end] == b"\r\n":
        return end - 2
    if end > start and data[end - 1] in (0x0A, 0x0D):
        return end - 1
    return end


class _Split(NamedTuple):
    """Where a multipart's parts lie, and how its list of parts ends."""

    ranges: list[tuple[int, int]]
    #: A closing boundary line was found.
    closed: bool
    #: The search stopped at its bound: what follows the last range was not split.
    cut: bool


def _split_multipart(
    data: bytes, start: int, end: int, boundary: bytes, limit: int
) -> _Split | None:
    """The body ranges of a multipart's parts; ``None`` if its boundary never occurs.

    As RFC 2046 (and the stdlib) has it, the line break before a boundary
    line belongs to the boundary, and text before the first and after the
    last boundary (preamble, epilogue) is not part of any part. At most
    ``limit`` boundary lines are looked for.
    """
    separator = re.escape(b"--" + boundary)
    # The separator, then a look back that it starts a line (a body always
    # starts a line, so the look back never needs to see past the buffer):
    # the search runs on the literal however often it occurs inside lines.
    boundary_line = re.compile(
        separator + rb"(?<=[\r\n]" + separator + rb")(--)?[ \t]*(?:\r\n|\r|\n|\Z)"
    )
    lines: list[tuple[int, int, bool]] = []  # where a boundary line starts, ends, closes
    for match in boundary_line.finditer(data, start, end):
        lines.append((match.start(), match.end(), bool(match.group(1))))
        if match.group(1) or len(lines) > limit:
            break
    if not lines:
        return None
    closed = lines[-1][2]
    cut = len(lines) > limit and not closed
    ranges: list[tuple[int, int]] = []
    for (_, body_start, _), following in zip(lines, [*lines[1:], None], strict=True):
        if following is None:
            if not closed and not cut:
                ranges.append((body_start, end))
        elif following[0] > body_start:  # two boundary lines in a row make no part
            ranges.append((body_start, _before_line_break(data, body_start, following[0])))
    return _Split(ranges, closed, cut)


def _cte(headers: EmailMessage) -> str:
    return str(headers.get("content-transfer-encoding", "")).strip().lower()


class _EmlReader:
    """One walk over a message's entities; collects the body texts, parts and problems."""

    def __init__(self, top: _Entity, max_parts: int, max_depth: int, max_bytes: int) -> None:
        self.top = top
        self.max_parts = max_parts
        self.max_depth = max_depth
        self.max_bytes = max_bytes
        self.problems: list[str] = []
        self.bodies: list[str] = []
        self.attachments: list[MailPart] = []
        self.forwarded = 0
        self.too_many = False  # more parts than max_parts: some were not read
        self.split()
        # Undeclared 8-bit text: UTF-8 first (what modern clients send), then a
        # charset the same message declares elsewhere (a client writing
        # Windows-1256 bodies writes Windows-1256 headers), then Windows-1252.
        fallbacks = ["utf-8"]
        for entity in self.entities():
            with contextlib.suppress(Exception):
                charset = entity.headers.get_content_charset()
                if (
                    charset
                    and charset not in ("utf-8", "us-ascii", "ascii")
                    and _is_text_codec(charset)
                ):
                    fallbacks.append(charset)
                    break
        fallbacks.append("cp1252")
        self.fallbacks = tuple(dict.fromkeys(fallbacks))

    # structure

    def entities(self) -> Iterator[_Entity]:
        """All entities split out, in the order they are read (depth first, in message order)."""
        stack = [self.top]
        while stack:
            entity = stack.pop()
            yield entity
            stack.extend(reversed(entity.children or ()))

    def split(self) -> None:
        """Split the entities out, as many as the bounds allow."""
        count = 0
        stack = [self.top]
        while stack:
            entity = stack.pop()
            count += 1
            if count > self.max_parts:
                self.too_many = True
                return
            try:
                self.split_one(entity, self.max_parts - count)
            except Exception as exc:  # the stdlib's header classes raise on odd values
                entity.notes.append(f"structure unreadable: {type(exc).__name__}: {exc}")
                entity.children = None
            stack.extend(reversed(entity.children or ()))

    def split_one(self, entity: _Entity, room: int) -> None:
        headers = entity.headers
        maintype = headers.get_content_maintype()
        if maintype not in ("multipart", "message"):
            return
        if maintype == "message" and entity is not self.top:
            return  # a forwarded message: handed on as bytes
        if entity.depth >= self.max_depth:
            entity.cut = True
            self.problems.append(
                f"MIME parts nested more than {self.max_depth} levels deep: "
                "what lies deeper was not read"
            )
            return
        if maintype == "message":
            data, start, end = self.message_bytes(entity, "message")
            entity.children = [_entity(data, start, end, entity.depth + 1)]
            return
        boundary = headers.get_boundary()
        if boundary is None:
            headers.defects.append(email.errors.NoBoundaryInMultipartDefect())
            return
        if _cte(headers) not in ("", "7bit", "8bit", "binary"):
            headers.defects.append(email.errors.InvalidMultipartContentTransferEncodingDefect())
        found = _split_multipart(
            entity.data,
            entity.start,
            entity.end,
            boundary.encode("utf-8", "surrogateescape"),
            room + 1,
        )
        if found is None:
            headers.defects.append(email.errors.StartBoundaryNotFoundDefect())
            return
        ranges, closed, cut = found
        if cut:
            self.too_many = True
        elif not closed:
            headers.defects.append(email.errors.CloseBoundaryNotFoundDefect())
        default = "message/rfc822" if headers.get_content_subtype() == "digest" else None
        entity.children = [
            _entity(entity.data, start, end, entity.depth + 1, default) for start, end in ranges
        ]

    # headers

    def header_text(self) -> str:
        lines = []
        for name in _SHOWN_HEADERS:
            values = self.header_values(self.top.headers, name)
            if values:
                lines.append(f"{name}: {', '.join(values)}\n")
        return "".join(lines)

    def header_values(self, message: EmailMessage, name: str) -> list[str]:
        """Decoded values of one header; raw 8-bit values decoded like undeclared text."""
        raw_values = [value for key, value in message.raw_items() if key.lower() == name.lower()]
        try:
            parsed: list[Any] = list(message.get_all(name) or [])
        except Exception:  # the header parser fails on some malformed values
            parsed = []
        values: list[str] = []
        for number, raw in enumerate(raw_values):
            try:
                text = str(parsed[number])
                defects = getattr(parsed[number], "defects", ())
            except Exception:
                text, defects = "\ufffd", ()
            if "\ufffd" in text or any(
                isinstance(d, (email.errors.CharsetError, email.errors.UndecodableBytesDefect))
                for d in defects
            ):
                text = self.decode_raw_header(name, str(raw))
            text = _unfold(text)
            if text:
                values.append(text)
        return values

    def decode_raw_header(self, name: str, raw: str) -> str:
        data = raw.encode("ascii", "surrogateescape")
        if data.isascii():
            decoded, used = data.decode("ascii"), "ascii"
        else:
            decoded, used = _decode_undeclared(data, self.fallbacks)
            if used != "utf-8":
                self.problems.append(f"header {name}: 8-bit text without a charset; read as {used}")
        if "=?" in decoded:
            try:
                decoded = str(make_header(decode_header(_unfold(decoded))))
            except (LookupError, UnicodeDecodeError, binascii.Error, ValueError):
                self.problems.append(f"header {name}: undecodable encoded words; kept as written")
        return decoded

    # body and parts

    def walk(self) -> None:
        stack: list[tuple[_Entity, bool]] = [(self.top, True)]
        count = 0
        while stack:
            entity, read_text = stack.pop()
            count += 1
            if count > self.max_parts:
                break
            label = "message" if entity is self.top else f"part {count}"
            try:
                children = self.read(entity, count, label, read_text)
            except ExtractionError:
                raise
            except Exception as exc:  # one odd part is a note, not the end of the message
                self.problems.append(f"{label} unreadable: {type(exc).__name__}: {exc}")
                continue
            stack.extend(reversed(children))
        if self.too_many or count > self.max_parts:
            self.problems.append(
                f"more than {self.max_parts} MIME parts: the rest of the message was not read"
            )

    def read(
        self, entity: _Entity, count: int, label: str, read_text: bool
    ) -> list[tuple[_Entity, bool]]:
        """Read one entity; the children still to read, and whether their text counts."""
        self.problems.extend(f"{label}: {note}" for note in entity.notes)
        part = entity.headers
        self.note_defects(part, label)
        content_type = part.get_content_type()
        if entity is not self.top and content_type.startswith("message/"):
            self.add_message_part(entity, count)
        elif entity.children is not None:
            if content_type == "multipart/alternative":
                chosen = self.choose_alternative(entity.children)
                return [(c, read_text and c is chosen) for c in entity.children]
            return [(c, read_text) for c in entity.children]
        elif entity.cut:
            pass  # noted when the structure was split
        elif content_type in _SIGNATURE_TYPES:
            pass  # a signature, not content
        elif _is_body_text(part):
            if read_text:
                self.add_body(entity, count, label)
        else:
            self.add_attachment(entity, count, label)
        return []

    def note_defects(self, part: EmailMessage, label: str) -> None:
        for defect in part.defects:
            if isinstance(defect, _SILENT_DEFECTS):
                continue
            note = _DEFECT_NOTES.get(type(defect))
            if note is None:
                note = f"is damaged ({type(defect).__name__})"
            self.problems.append(f"{label} {note}")

    def decoded_size(self, entity: _Entity) -> int:
        """The decoded body's size: exact, or for base64 and uuencode estimated from its length."""
        data, start, end = entity.data, entity.start, entity.end
        cte = _cte(entity.headers)
        if cte == "base64" or cte in _UUENCODE:
            not_data = sum(
                data.count(byte, start, end) for byte in (b"\n", b"\r", b" ", b"\t", b"=")
            )
            return (end - start - not_data) * 3 // 4
        return end - start

    def payload(self, entity: _Entity, label: str, problems: list[str] | None = None) -> bytes:
        """The decoded body; a damaged base64 body gives what can be decoded, and a note."""
        problems = self.problems if problems is None else problems
        data, start, end = entity.data, entity.start, entity.end
        cte = _cte(entity.headers)
        if cte == "base64":
            return _decode_base64(data, start, end, label, problems)
        if cte == "quoted-printable":
            return binascii.a2b_qp(data[start:end])
        if cte in _UUENCODE:
            part = entity.headers
            part.set_payload(data[start:end].decode("ascii", "surrogateescape"))
            decoded = part.get_payload(decode=True)
            return decoded if isinstance(decoded, bytes) else b""
        if cte not in _KNOWN_CTES:
            problems.append(f"{label}: unknown transfer encoding {cte!r}; kept as is")
        if start == 0 and end == len(data):
            return data
        return data[start:end]

    def add_body(self, entity: _Entity, count: int, label: str) -> None:
        part = entity.headers
        if self.decoded_size(entity) > self.max_bytes:
            name = f"part-{count}{_extension(part.get_content_type())}"
            self.add_part(entity, name, part.get_content_type(), label)
            return
        data = self.payload(entity, label)
        text = _decode_text(data, part.get_content_charset(), self.fallbacks, label, self.problems)
        if part.get_content_type() == "text/html":
            text = html_to_text(text, self.problems, label, title=False)
        text = _normalize_newlines(text).strip("\n")
        if text.strip():
            self.bodies.append(text)

    def add_attachment(self, entity: _Entity, count: int, label: str) -> None:
        part = entity.headers
        content_type = part.get_content_type()
        name = self.filename(part, label) or f"part-{count}{_extension(content_type)}"
        if content_type == "application/ms-tnef" or name.lower() == "winmail.dat":
            self.problems.append(
                f"{label} ({name}): an Outlook TNEF wrapper; attachments inside it are not unpacked"
            )
        self.add_part(entity, name, content_type, f"{label} ({name})")

    def add_part(self, entity: _Entity, name: str, content_type: str, label: str) -> None:
        """An attachment decoded, or marked too large without being decoded."""
        size = self.decoded_size(entity)
        if size <= self.max_bytes:
            data = self.payload(entity, label)
            size = len(data)
            if size <= self.max_bytes:
                self.attachments.append(MailPart(name, data, content_type))
                return
        self.attachments.append(MailPart(name, b"", content_type, too_large=True, size=size))

    def filename(self, part: EmailMessage, label: str) -> str | None:
        try:
            name = part.get_filename()
        except Exception:  # a malformed RFC 2231 parameter can upset the parser
            self.problems.append(f"{label}: undecodable attachment file name")
            return None
        if name is None:
            return None
        if "\ufffd" in name or any(0xDC80 <= ord(c) <= 0xDCFF for c in name):
            self.problems.append(f"{label}: attachment file name has undecodable bytes")
            name = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return name.strip() or None

    def message_bytes(self, entity: _Entity, label: str) -> tuple[bytes, int, int]:
        """Where the message inside a message/* entity lies, decoded if it had to be.

        An encoded message/rfc822 body is not allowed, but some mailers send
        one: it is decoded when it does not start with a header line.
        """
        data, start, end = entity.data, entity.start, entity.end
        cte = _cte(entity.headers)
        if cte in ("base64", "quoted-printable") and not _HEADER_LINE.match(data, start, end):
            decoded = self.payload(entity, label)
            return decoded, 0, len(decoded)
        return data, start, end

    def add_message_part(self, entity: _Entity, count: int) -> None:
        """A forwarded message: its own bytes, named by its file name or its subject."""
        label = f"part {count}"
        self.forwarded += 1
        content_type = entity.headers.get_content_type()
        name = self.filename(entity.headers, label)
        size = self.decoded_size(entity)
        if size <= self.max_bytes:
            data, start, end = self.message_bytes(entity, label)
            size = end - start
        else:  # an encoded forward too large to decode: named from what is at hand
            data, start, end = entity.data, entity.start, entity.end
        if name is None:
            inner = _entity(data, start, min(end, start + _MAX_HEADER_BYTES), 0)
            subject = ", ".join(self.header_values(inner.headers, "Subject"))
            stem = _safe_stem(subject) if subject else ""
            name = f"{stem or f'forwarded-{self.forwarded}'}.eml"
        if size > self.max_bytes:
            part = MailPart(name, b"", content_type, too_large=True, size=size)
        else:
            part = MailPart(
                name, data if end - start == len(data) else data[start:end], content_type
            )
        self.attachments.append(part)

    def choose_alternative(self, children: list[_Entity]) -> _Entity | None:
        """Plain text if it says something, else the HTML (or a part holding either)."""

        def has_text(child: _Entity) -> bool:
            if child.end - child.start > _BLOCK:
                return True
            try:
                return bool(self.payload(child, "", []).strip())
            except Exception:
                return True

        by_type = [(c.headers.get_content_type(), c) for c in children]
        for wanted in ("text/plain", "multipart/", "text/html"):
            for content_type, child in by_type:
                if content_type.startswith(wanted) and (
                    wanted == "multipart/" or (_is_body_text(child.headers) and has_text(child))
                ):
                    return child
        return children[-1] if children else None


def _decode_base64(data: bytes, start: int, end: int, label: str, problems: list[str]) -> bytes:
    """Base64 decoded a block at a time, so a big attachment is held once, decoded.

    Characters outside the alphabet are skipped (and counted in a note); some
    mailers join separately padded chunks, so each chunk is decoded on its own.
    """
    out = io.BytesIO()
    carry = b""  # characters of the current chunk not yet decoded (fewer than four)
    aliens = 0
    short = False  # the last chunk ended one character short of a byte
    breaks: list[str] = []
    for at in range(start, end, _BLOCK):
        block = data[at : min(at + _BLOCK, end)]
        cleaned = block.translate(None, _NOT_B64)
        if len(cleaned) != len(block):
            aliens += len(block.translate(None, _SPACE)) - len(cleaned)
        pieces = re.split(rb"=+", cleaned) if b"=" in cleaned else (cleaned,)
        for number, piece in enumerate(pieces):
            if number:  # padding: the chunk before it is complete
                short = len(carry) == 1 or (short and not carry)
                if len(carry) > 1:
                    out.write(binascii.a2b_base64(carry + b"=" * (4 - len(carry))))
                carry = b""
            if not piece:
                continue
            if short:
                breaks.append(f"{label}: base64 breaks off mid-byte (truncated?)")
                short = False
            joined = carry + piece
            whole = len(joined) - len(joined) % 4
            out.write(binascii.a2b_base64(joined[:whole]))
            carry = joined[whole:]
    if len(carry) > 1:
        out.write(binascii.a2b_base64(carry + b"=" * (4 - len(carry))))
    if short or len(carry) == 1:
        breaks.append(f"{label}: base64 ends mid-byte (truncated?)")
    if aliens:
        problems.append(f"{label}: {aliens} characters that are not base64 skipped (damaged?)")
    problems.extend(dict.fromkeys(breaks))
    return out.getvalue()


def _is_body_text(part: EmailMessage) -> bool:
    """Inline text/plain or text/html without a file name: the message's own words."""
    if part.get_content_type() not in ("text/plain", "text/html"):
        return False
    if part.get_content_disposition() == "attachment":
        return False
    try:
        return part.get_filename() is None
    except Exception:
        return False


def _check_not_encrypted(top: _Entity) -> None:
    message = top.headers
    content_type = message.get_content_type()
    if content_type == "multipart/encrypted":
        protocol = message.get_param("protocol") or "unknown protocol"
        raise EncryptedDocumentError(
            f"e-mail body is encrypted ({protocol}); only its headers are readable"
        )
    if content_type in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
        smime_type = str(message.get_param("smime-type") or "").lower()
        if smime_type in ("enveloped-data", "authenveloped-data"):
            raise EncryptedDocumentError(
                "e-mail body is S/MIME-encrypted; only its headers are readable"
            )
        if not smime_type:
            end = min(top.end, top.start + 4096)
            if _cte(message) == "base64":
                head = _decode_base64(top.data, top.start, end, "", [])
            else:
                head = top.data[top.start : end]
            if any(oid in head[:64] for oid in _ENCRYPTED_DER):
                raise EncryptedDocumentError(
                    "e-mail body is S/MIME-encrypted; only its headers are readable"
                )


def read_eml(
    data: bytes,
    *,
    max_parts: int = 10_000,
    max_depth: int = 50,
    max_attachment_bytes: int = 256 << 20,
) -> Mail:
    """Read an RFC 822 / MIME message: its text, attachments and forwarded messages.

    Lenient like the mail clients it stands in for: a truncated or damaged
    message gives what can be read, and :attr:`Mail.problems` says what could not.
    Signature parts (S/MIME, PGP) are skipped: they hold no content.

    Bounded whatever the input: at most ``max_parts`` MIME parts are read and
    multiparts nested more than ``max_depth`` deep are not opened (both with a
    note; everything above the cut is kept). A forwarded message is not parsed
    here but handed back as a :class:`MailPart`, for the caller to recurse into
    under its own nesting limit. A part whose decoded size would pass
    ``max_attachment_bytes`` is not decoded: it comes back with
    ``too_large=True``, empty ``data`` and its (estimated) ``size``. Memory is
    about the input plus the largest decoded part.
    """
    if not data:
        raise ExtractionError("empty file (0 bytes)")
    # Some exporters put a byte-order mark or blank lines before the headers.
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    while start < len(data) and data[start] in (0x0A, 0x0D):
        start += 1
    try:
        top = _entity(data, start, len(data), 0)
    except Exception as exc:  # the header parser is lenient; this is for the unforeseen
        raise ExtractionError(f"cannot parse the e-mail: {type(exc).__name__}: {exc}") from exc
    names = {key.lower().encode("ascii", "replace") for key in top.headers}
    if not names & _MAIL_FIELDS:
        raise ExtractionError("not an e-mail message: no mail headers at the start")
    try:
        _check_not_encrypted(top)
        reader = _EmlReader(top, max_parts, max_depth, max_attachment_bytes)
        head = reader.header_text()
        reader.walk()
    except ExtractionError:
        raise
    except Exception as exc:  # the email package raises many kinds on odd input
        raise ExtractionError(f"damaged e-mail: {type(exc).__name__}: {exc}") from exc
    body = "\n\n".join(reader.bodies)
    text = f"{head}\n{body}" if head else body
    return Mail(text, tuple(reader.attachments), tuple(dict.fromkeys(reader.problems)))


# --- Outlook .msg -----------------------------------------------------------

_QUIET_LOGGERS = ("extract_msg", "RTFDE", "olefile", "compressed_rtf")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No warnings or log lines from extract_msg and its helpers while a .msg is read."""
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.CRITICAL + 1)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def _open_msg(data: bytes) -> Any:
    """The extract_msg object; given a stream, never a path, so it touches no file on disk."""
    import extract_msg
    from extract_msg.enums import ErrorBehavior
    from extract_msg.exceptions import (
        InvalidFileFormatError,
        UnrecognizedMSGTypeError,
        UnsupportedMSGTypeError,
    )

    tolerant = (
        ErrorBehavior.ATTACH_SUPPRESS_ALL | ErrorBehavior.RTFDE | ErrorBehavior.NAMED_NAME_STREAM
    )
    try:
        return extract_msg.openMsg(io.BytesIO(data), delayAttachments=True, errorBehavior=tolerant)
    except InvalidFileFormatError as exc:
        raise ExtractionError(
            "not an Outlook .msg: an OLE container without a message (a legacy Office file?)"
        ) from exc
    except (UnsupportedMSGTypeError, UnrecognizedMSGTypeError) as exc:
        kind = re.search(r'"([^"]*)"', str(exc))
        raise UnsupportedFormatError(
            f"Outlook item of type {kind.group(1) if kind else 'unknown'} is not read"
        ) from exc
    except Exception as exc:  # olefile raises OSError, struct.error, … on damaged containers
        raise ExtractionError(
            f"damaged Outlook .msg (OLE container unreadable): {type(exc).__name__}: {exc}"
        ) from exc


def _attribute(obj: Any, name: str, label: str, problems: list[str]) -> Any:
    """One property of an extract_msg object; a failure is a note, not the end of the message."""
    try:
        return getattr(obj, name, None)
    except Exception as exc:
        problems.append(f"{label}: cannot read {name}: {type(exc).__name__}: {exc}")
        return None


def _check_msg_not_encrypted(msg: Any) -> None:
    class_type = str(getattr(msg, "classType", "") or "").lower()
    if "rpmsg" in class_type:
        raise EncryptedDocumentError("Outlook message is rights-protected (IRM): body encrypted")
    try:
        raw = getattr(msg, "rawAttachments", None)
        attachments = list(msg.attachments if raw is None else raw)
    except Exception:  # _msg_attachments notes it
        return
    for attachment in attachments:
        name = str(getattr(attachment, "longFilename", None) or "").lower()
        if name == "message.rpmsg":
            raise EncryptedDocumentError(
                "Outlook message is rights-protected (IRM): body encrypted"
            )
        if class_type.endswith(".smime") or name == "smime.p7m":
            payload = getattr(attachment, "data", None)
            if isinstance(payload, bytes) and any(oid in payload[:64] for oid in _ENCRYPTED_DER):
                raise EncryptedDocumentError(
                    "Outlook message is S/MIME-encrypted; only its headers are readable"
                )


def _msg_date(msg: Any, problems: list[str]) -> str | None:
    header = _attribute(msg, "header", "message", problems)
    if header is not None and _attribute(msg, "headerText", "message", problems):
        value = header.get("Date")
        if value:
            return _unfold(str(value))
    date = _attribute(msg, "date", "message", problems)
    if date is None:
        return None
    import email.utils

    return email.utils.format_datetime(date) if date.tzinfo else date.isoformat(sep=" ")


def _html_bytes_to_text(html: bytes, label: str, problems: list[str]) -> str:
    declared = re.search(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", html[:4096])
    charset = declared.group(1).decode("ascii").lower() if declared else None
    text = _decode_text(html, charset, ("utf-8", "cp1252"), label, problems)
    return html_to_text(text, problems, label, title=False)


def _msg_body(msg: Any, problems: list[str]) -> str:
    """Plain body, else the HTML body as visible text, else the RTF body stripped."""
    body = _attribute(msg, "body", "message body", problems)
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str) and body.strip():
        return _normalize_newlines(body).strip("\n")
    html = _attribute(msg, "htmlBody", "message body", problems)
    if isinstance(html, str):
        html = html.encode("utf-8")
    if isinstance(html, bytes) and html.strip():
        text = _html_bytes_to_text(html, "message HTML body", problems)
        if text.strip():
            return _normalize_newlines(text)
    rtf = _attribute(msg, "rtfBody", "message body", problems)
    if isinstance(rtf, bytes) and rtf.strip():
        from striprtf.striprtf import rtf_to_text

        try:
            text = rtf_to_text(rtf.decode("latin-1"))  # type: ignore[no-untyped-call]
            return _normalize_newlines(str(text)).strip("\n")
        except Exception as exc:
            problems.append(f"message RTF body unreadable: {type(exc).__name__}: {exc}")
    return ""


def _sized(name: str, data: bytes, content_type: str, max_bytes: int) -> MailPart:
    if len(data) > max_bytes:
        return MailPart(name, b"", content_type, too_large=True, size=len(data))
    return MailPart(name, data, content_type)


def _msg_attachments(
    msg: Any, max_parts: int, max_bytes: int, problems: list[str]
) -> list[MailPart]:
    from extract_msg.enums import AttachmentType

    try:
        attachments = list(msg.attachments)
    except Exception as exc:
        problems.append(f"attachments unreadable: {type(exc).__name__}: {exc}")
        return []
    parts: list[MailPart] = []
    forwarded = 0
    for number, attachment in enumerate(attachments, start=1):
        if number > max_parts:
            problems.append(f"more than {max_parts} attachments: the rest were not read")
            break
        label = f"attachment {number}"
        kind = _attribute(attachment, "type", label, problems)
        given = None
        for field in ("longFilename", "shortFilename", "displayName"):
            value = _attribute(attachment, field, label, problems)
            if isinstance(value, str) and value.strip():
                given = value
                break
        mimetype = _attribute(attachment, "mimetype", label, problems)
        content_type = str(mimetype).lower() if mimetype else "application/octet-stream"
        if kind == AttachmentType.MSG:
            forwarded += 1
            content_type = "application/vnd.ms-outlook"
            try:
                data = attachment.data.exportBytes()
            except Exception:
                try:
                    data = attachment.data.exportBytes(allowBadEmbed=True)
                except Exception as exc:
                    problems.append(
                        f"{label} ({given or 'embedded message'}): embedded Outlook message "
                        f"cannot be copied out: {type(exc).__name__}: {exc}"
                    )
                    continue
            if not (given and given.lower().endswith(".msg")):
                stem = _safe_stem(given or "") or f"forwarded-{forwarded}"
                given = f"{stem}.msg"
            parts.append(_sized(given, data, content_type, max_bytes))
            continue
        if kind in (AttachmentType.SIGNED, AttachmentType.SIGNED_EMBEDDED):
            data = _attribute(attachment, "asBytes", label, problems)
        elif kind in (AttachmentType.DATA, AttachmentType.CUSTOM):
            data = _attribute(attachment, "data", label, problems)
        elif kind == AttachmentType.WEB:
            where = _attribute(attachment, "longPathname", label, problems) or "a web address"
            problems.append(
                f"{label} ({given or 'unnamed'}): a link to {where}, not in the message"
            )
            continue
        else:
            problems.append(f"{label} ({given or 'unnamed'}): damaged or unsupported attachment")
            continue
        if not isinstance(data, bytes):
            problems.append(f"{label} ({given or 'unnamed'}): no data")
            continue
        name = given or f"part-{number}{_extension(content_type)}"
        parts.append(_sized(name, data, content_type, max_bytes))
    return parts


def read_msg(
    data: bytes, *, max_parts: int = 10_000, max_attachment_bytes: int = 256 << 20
) -> Mail:
    """Read an Outlook .msg (an OLE container) with extract_msg, in memory only.

    Embedded Outlook messages come back as .msg bytes for the caller to recurse into.
    An attachment larger than ``max_attachment_bytes`` comes back marked
    ``too_large``, without its data (extract_msg has read it by then: the
    bound keeps it from being passed on, not from being read). A damaged
    container raises :class:`~leakscan.errors.ExtractionError`, never anything else.
    """
    if not data:
        raise ExtractionError("empty file (0 bytes)")
    if not data.startswith(OLE_MAGIC):
        raise ExtractionError("not an Outlook .msg: no OLE container signature at the start")
    problems: list[str] = []
    with _quiet():
        msg = _open_msg(data)
        try:
            _check_msg_not_encrypted(msg)
            lines = []
            for name, field in (("From", "sender"), ("To", "to"), ("Cc", "cc"), ("Bcc", "bcc")):
                value = _attribute(msg, field, "message", problems)
                if value:
                    lines.append(f"{name}: {_unfold(str(value))}\n")
            date = _msg_date(msg, problems)
            if date:
                lines.append(f"Date: {date}\n")
            subject = _attribute(msg, "subject", "message", problems)
            if subject:
                lines.append(f"Subject: {_unfold(str(subject))}\n")
            body = _msg_body(msg, problems)
            attachments = _msg_attachments(msg, max_parts, max_attachment_bytes, problems)
        except ExtractionError:
            raise
        except Exception as exc:  # extract_msg raises many kinds on damaged files
            raise ExtractionError(f"damaged Outlook .msg: {type(exc).__name__}: {exc}") from exc
        finally:
            with contextlib.suppress(Exception):
                msg.close()
    head = "".join(lines)
    text = f"{head}\n{body}" if head else body
    return Mail(text, tuple(attachments), tuple(dict.fromkeys(problems)))
