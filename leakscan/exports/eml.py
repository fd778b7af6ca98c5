"""Reading .eml files: an RFC 822 / MIME message turned into a :class:`~.mail_parts.Mail`.

One walk over the entities :mod:`.mime` splits out: the headers a person reads
and the body texts (plain text chosen over HTML, charsets decoded, a guess
noted) become the text to scan; attachments and forwarded messages are handed
back as parts (one over the size bound marked too large, not decoded);
signatures are skipped and an encrypted body refused; defects, damaged parts
and what lies beyond the bounds on parts and nesting become notes. Lenient like
the mail clients it stands in for: a truncated or damaged message gives what
can be read.
"""

from __future__ import annotations

import binascii
import codecs
import contextlib
import email.errors
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import EmailMessage
from typing import Any

from ..errors import EncryptedDocumentError, ExtractionError
from ..extract.html import html_to_text
from .mail_parts import (
    _ENCRYPTED_DER,
    Mail,
    MailPart,
    _decode_text,
    _decode_undeclared,
    _extension,
    _is_text_codec,
    _iso_date,
    _normalize_newlines,
    _safe_stem,
    _unfold,
)
from .mime import (
    _BLOCK,
    _HEADER_LINE,
    _MAIL_FIELDS,
    _MAX_HEADER_BYTES,
    _cte,
    _decode_base64,
    _Entity,
    _entity,
    _split_multipart,
)

__all__ = ["read_eml"]

# The headers a person reads; the others are routing noise for a text scan.
_SHOWN_HEADERS = ("From", "To", "Cc", "Bcc", "Date", "Subject")


_SIGNATURE_TYPES = frozenset(
    {"application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature"}
)
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
        sender = ", ".join(reader.header_values(top.headers, "From")) or None
        dates = reader.header_values(top.headers, "Date")
        reader.walk()
    except ExtractionError:
        raise
    except Exception as exc:  # the email package raises many kinds on odd input
        raise ExtractionError(f"damaged e-mail: {type(exc).__name__}: {exc}") from exc
    body = "\n\n".join(reader.bodies)
    text = f"{head}\n{body}" if head else body
    return Mail(
        text,
        tuple(reader.attachments),
        tuple(dict.fromkeys(reader.problems)),
        sender=sender,
        sent_at=_iso_date(dates[0]) if dates else None,
    )
