"""The types both mail readers return, and the text helpers they share.

:class:`Mail` and :class:`MailPart` are what :mod:`.eml` and :mod:`.outlook_msg`
give back; beside them: text decoded in its declared charset (a guess made only
when it must be, and noted), newlines normalized, folded header values
unfolded, part names made safe and given an extension, and the markers of an
S/MIME-encrypted body both readers refuse. Both readers import this module and
never each other, so the dependencies point one way.
"""

from __future__ import annotations

import codecs
import contextlib
import email.utils
import mimetypes
import re
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Mail", "MailPart"]


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
    #: Who sent it (the From header, decoded), for findings in its text and attachments.
    sender: str | None = None
    #: When (the Date header as ISO 8601 with its offset; ``Z`` for UTC), if it can be read.
    sent_at: str | None = None


# --- sender and time ---------------------------------------------------------


def _iso_time(when: datetime) -> str:
    """ISO 8601 with the offset the mail gave (``Z`` for UTC; none when the zone is unknown)."""
    text = when.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _iso_date(value: str) -> str | None:
    """An RFC 5322 Date value as ISO 8601, or None if it is not a date.

    >>> _iso_date("Tue, 05 Mar 2024 09:15:00 +0500")
    '2024-03-05T09:15:00+05:00'
    >>> _iso_date("Tue, 05 Mar 2024 04:15:00 GMT")
    '2024-03-05T04:15:00Z'
    >>> _iso_date("Tue, 05 Mar 2024 04:15:00 -0000"), _iso_date("soon")
    ('2024-03-05T04:15:00', None)
    """
    try:
        return _iso_time(email.utils.parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


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


# --- part names and markers --------------------------------------------------

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
