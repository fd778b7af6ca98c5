"""A mail message's MIME structure, cut by byte offsets; and whether bytes look like one at all.

The stdlib parser keeps a message as lines of text (six and more copies of a
big attachment's size) and recurses into every nested part and forwarded
message. Here a message is cut by offsets into its own bytes: the stdlib only
parses each part's header block (its fields cut to fixed bounds first), bodies
are decoded one at a time when they are needed (base64 a block at a time), and
a forwarded message is passed on as bytes without being parsed. What the parts
mean is for the reader in :mod:`.eml`; :func:`looks_like_eml`, the content
check for mails libmagic misses, reads the same header lines.
"""

from __future__ import annotations

import binascii
import codecs
import email.errors
import email.policy
import io
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from typing import NamedTuple

__all__ = ["looks_like_eml"]


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


# --- MIME structure -----------------------------------------------------------

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
