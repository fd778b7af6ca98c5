"""E-mail messages (.eml, Outlook .msg) read as containers: the readable text, and attachments.

A leaked document usually travels as an attachment, so a message is not one
item but several: :attr:`Mail.text` (the headers a person reads, then the body)
is scanned as the message itself, and each :class:`MailPart` is handed back to
the caller to detect and scan on its own (a forwarded message is one of them,
as raw bytes, so the caller recurses with the same limits it applies to archives).

Nothing that cannot be decoded is dropped in silence: it becomes a one-line
note in :attr:`Mail.problems`, which the caller records with the item.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import email.errors
import email.policy
import io
import logging
import mimetypes
import quopri
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from ..errors import EncryptedDocumentError, ExtractionError, UnsupportedFormatError
from ..extract import OLE_MAGIC
from ..extract.html import html_to_text

__all__ = ["Mail", "MailPart", "looks_like_eml", "read_eml", "read_msg"]


@dataclass(frozen=True)
class MailPart:
    """One attachment or embedded message.

    ``name`` is exactly what the message gives (decoded, path parts and all:
    the caller decides what to refuse), or ``part-N.<ext>`` when it gives none.
    """

    name: str
    data: bytes
    content_type: str


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


class _EmlReader:
    """One walk over a parsed message; collects the body texts, parts and problems."""

    def __init__(self, message: EmailMessage, max_parts: int) -> None:
        self.message = message
        self.max_parts = max_parts
        self.problems: list[str] = []
        self.bodies: list[str] = []
        self.attachments: list[MailPart] = []
        self.forwarded = 0
        # Undeclared 8-bit text: UTF-8 first (what modern clients send), then a
        # charset the same message declares elsewhere (a client writing
        # Windows-1256 bodies writes Windows-1256 headers), then Windows-1252.
        fallbacks = ["utf-8"]
        for part in message.walk():
            charset = part.get_content_charset()
            if (
                charset
                and charset not in ("utf-8", "us-ascii", "ascii")
                and _is_text_codec(charset)
            ):
                fallbacks.append(charset)
                break
        fallbacks.append("cp1252")
        self.fallbacks = tuple(dict.fromkeys(fallbacks))

    # headers

    def header_text(self) -> str:
        lines = []
        for name in _SHOWN_HEADERS:
            values = self.header_values(self.message, name)
            if values:
                lines.append(f"{name}: {', '.join(values)}\n")
        return "".join(lines)

    def header_values(self, message: EmailMessage, name: str) -> list[str]:
        """Decoded values of one header; raw 8-bit values decoded like undeclared text."""
        raw_values = [value for key, value in message.raw_items() if key.lower() == name.lower()]
        values: list[str] = []
        for number, raw in enumerate(raw_values):
            try:
                parsed = message.get_all(name) or []
                text = str(parsed[number])
                defects = getattr(parsed[number], "defects", ())
            except Exception:  # the header parser fails on some malformed values
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
        stack: list[tuple[EmailMessage, bool]] = [(self.message, True)]
        count = 0
        while stack:
            part, read_text = stack.pop()
            count += 1
            if count > self.max_parts:
                self.problems.append(
                    f"more than {self.max_parts} MIME parts: the rest of the message was not read"
                )
                return
            label = "message" if part is self.message else f"part {count}"
            self.note_defects(part, label)
            content_type = part.get_content_type()
            if part is not self.message and content_type.startswith("message/"):
                self.add_message_part(part, count)
            elif part.is_multipart():
                children = [c for c in part.get_payload() if isinstance(c, EmailMessage)]
                if content_type == "multipart/alternative":
                    chosen = _choose_alternative(children)
                    ordered = [(c, read_text and c is chosen) for c in children]
                else:
                    ordered = [(c, read_text) for c in children]
                stack.extend(reversed(ordered))
            elif content_type in _SIGNATURE_TYPES:
                continue  # a signature, not content
            elif _is_body_text(part):
                if read_text:
                    self.add_body(part, label)
            else:
                self.add_attachment(part, count, label)

    def note_defects(self, part: EmailMessage, label: str) -> None:
        for defect in part.defects:
            if isinstance(defect, _SILENT_DEFECTS):
                continue
            note = _DEFECT_NOTES.get(type(defect))
            if note is None:
                note = f"is damaged ({type(defect).__name__})"
            self.problems.append(f"{label} {note}")

    def payload(self, part: EmailMessage, label: str) -> bytes:
        """The decoded payload; a damaged base64 body gives what can be decoded, and a note."""
        cte = str(part.get("content-transfer-encoding", "")).strip().lower()
        if cte == "base64":
            raw = part.get_payload(decode=False)
            if not isinstance(raw, str):
                return b""
            return self.decode_base64(raw.encode("ascii", "surrogateescape"), label)
        if cte not in _KNOWN_CTES and cte not in _UUENCODE:
            self.problems.append(f"{label}: unknown transfer encoding {cte!r}; kept as is")
        data = part.get_payload(decode=True)
        return data if isinstance(data, bytes) else b""

    def decode_base64(self, raw: bytes, label: str) -> bytes:
        cleaned = re.sub(rb"\s+", b"", raw)
        alien = re.findall(rb"[^A-Za-z0-9+/=]", cleaned)
        if alien:
            self.problems.append(
                f"{label}: {len(alien)} characters that are not base64 skipped (damaged?)"
            )
            cleaned = re.sub(rb"[^A-Za-z0-9+/=]", b"", cleaned)
        # Some mailers join separately padded chunks: decode each one.
        chunks = [chunk for chunk in re.split(rb"=+", cleaned) if chunk]
        out = []
        for number, chunk in enumerate(chunks):
            if len(chunk) % 4 == 1:  # one character too many: cut short or damaged
                chunk = chunk[:-1]
                where = "ends" if number == len(chunks) - 1 else "breaks off"
                self.problems.append(f"{label}: base64 {where} mid-byte (truncated?)")
            out.append(base64.b64decode(chunk + b"=" * (-len(chunk) % 4)))
        return b"".join(out)

    def add_body(self, part: EmailMessage, label: str) -> None:
        data = self.payload(part, label)
        text = _decode_text(data, part.get_content_charset(), self.fallbacks, label, self.problems)
        if part.get_content_type() == "text/html":
            text = html_to_text(text, self.problems, label, title=False)
        text = _normalize_newlines(text).strip("\n")
        if text.strip():
            self.bodies.append(text)

    def add_attachment(self, part: EmailMessage, number: int, label: str) -> None:
        content_type = part.get_content_type()
        name = self.filename(part, label) or f"part-{number}{_extension(content_type)}"
        data = self.payload(part, f"{label} ({name})")
        if content_type == "application/ms-tnef" or name.lower() == "winmail.dat":
            self.problems.append(
                f"{label} ({name}): an Outlook TNEF wrapper; attachments inside it are not unpacked"
            )
        self.attachments.append(MailPart(name, data, content_type))

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

    def add_message_part(self, part: EmailMessage, number: int) -> None:
        label = f"part {number}"
        inner = part.get_payload()
        data = b""
        subject = ""
        if isinstance(inner, list) and inner and isinstance(inner[0], EmailMessage):
            cte = str(part.get("content-transfer-encoding", "")).strip().lower()
            encoded = inner[0].get_payload()
            if cte in ("base64", "quoted-printable") and not inner[0].keys():
                # Not allowed for message/rfc822, but some mailers do it: the
                # parser took the encoded text for a message without headers.
                raw = str(encoded).encode("ascii", "surrogateescape")
                if cte == "base64":
                    data = self.decode_base64(raw, label)
                else:
                    data = quopri.decodestring(raw)
                headers = BytesParser(policy=email.policy.default).parsebytes(
                    data, headersonly=True
                )
                subject = ", ".join(self.header_values(headers, "Subject"))
            else:
                data = _flatten(inner[0])
                subject = ", ".join(self.header_values(inner[0], "Subject"))
        else:
            data = self.payload(part, label)
        self.forwarded += 1
        name = self.filename(part, label)
        if name is None:
            stem = _safe_stem(subject) if subject else ""
            name = f"{stem or f'forwarded-{self.forwarded}'}.eml"
        self.attachments.append(MailPart(name, data, part.get_content_type()))


def _flatten(message: EmailMessage) -> bytes:
    """A parsed message as bytes again, its header folding and 8-bit text kept."""
    buffer = io.BytesIO()
    policy = email.policy.default.clone(refold_source="none", linesep="\r\n")
    BytesGenerator(buffer, mangle_from_=False, policy=policy).flatten(message)
    return buffer.getvalue()


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


def _choose_alternative(children: list[EmailMessage]) -> EmailMessage | None:
    """Plain text if it says something, else the HTML (or a part holding either)."""

    def has_text(part: EmailMessage) -> bool:
        try:
            data = part.get_payload(decode=True)
        except Exception:
            return True
        return not isinstance(data, bytes) or bool(data.strip())

    by_type = [(c.get_content_type(), c) for c in children]
    for wanted in ("text/plain", "multipart/", "text/html"):
        for content_type, child in by_type:
            if content_type.startswith(wanted) and (
                wanted == "multipart/" or (_is_body_text(child) and has_text(child))
            ):
                return child
    return children[-1] if children else None


def _check_not_encrypted(message: EmailMessage) -> None:
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
            payload = message.get_payload(decode=True)
            if isinstance(payload, bytes) and any(oid in payload[:64] for oid in _ENCRYPTED_DER):
                raise EncryptedDocumentError(
                    "e-mail body is S/MIME-encrypted; only its headers are readable"
                )


def read_eml(data: bytes, *, max_parts: int = 10_000) -> Mail:
    """Read an RFC 822 / MIME message: its text, attachments and forwarded messages.

    Lenient like the mail clients it stands in for: a truncated or damaged
    message gives what can be read, and :attr:`Mail.problems` says what could not.
    Signature parts (S/MIME, PGP) are skipped: they hold no content.
    """
    if not data:
        raise ExtractionError("empty file (0 bytes)")
    # Some exporters put a byte-order mark or blank lines before the headers.
    data = data.removeprefix(codecs.BOM_UTF8).lstrip(b"\r\n")
    try:
        message = BytesParser(policy=email.policy.default).parsebytes(data)
    except Exception as exc:  # the parser is lenient, but deep nesting can still break it
        raise ExtractionError(f"cannot parse the e-mail: {type(exc).__name__}: {exc}") from exc
    names = {key.lower().encode("ascii", "replace") for key in message}
    if not names & _MAIL_FIELDS:
        raise ExtractionError("not an e-mail message: no mail headers at the start")
    try:
        _check_not_encrypted(message)
        reader = _EmlReader(message, max_parts)
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


def _msg_attachments(msg: Any, max_parts: int, problems: list[str]) -> list[MailPart]:
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
            parts.append(MailPart(given, data, content_type))
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
        parts.append(
            MailPart(given or f"part-{number}{_extension(content_type)}", data, content_type)
        )
    return parts


def read_msg(data: bytes, *, max_parts: int = 10_000) -> Mail:
    """Read an Outlook .msg (an OLE container) with extract_msg, in memory only.

    Embedded Outlook messages come back as .msg bytes for the caller to recurse into.
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
            attachments = _msg_attachments(msg, max_parts, problems)
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
