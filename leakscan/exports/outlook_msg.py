"""Reading Outlook .msg files (OLE containers) with extract-msg, in memory only.

The headers, the body (plain, else HTML as visible text, else RTF stripped) and
the attachments come back as a :class:`~.mail_parts.Mail`, embedded Outlook
messages as .msg bytes for the caller to recurse into. extract-msg is imported
only when a .msg is read, is given a stream and never a path, and its warnings
and log lines are silenced meanwhile; what it cannot read becomes a note, and a
damaged container an :class:`~leakscan.errors.ExtractionError`.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ..errors import EncryptedDocumentError, ExtractionError, UnsupportedFormatError
from ..extract import OLE_MAGIC
from ..extract.html import html_to_text
from .mail_parts import (
    _ENCRYPTED_DER,
    Mail,
    MailPart,
    _decode_text,
    _extension,
    _iso_date,
    _iso_time,
    _normalize_newlines,
    _safe_stem,
    _unfold,
)

__all__ = ["read_msg"]


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


def _msg_date(msg: Any, problems: list[str]) -> tuple[str | None, str | None]:
    """The Date line as the message shows it, and as ISO 8601 (see :func:`_iso_date`)."""
    header = _attribute(msg, "header", "message", problems)
    if header is not None and _attribute(msg, "headerText", "message", problems):
        value = header.get("Date")
        if value:
            shown = _unfold(str(value))
            return shown, _iso_date(shown)
    date = _attribute(msg, "date", "message", problems)
    if not isinstance(date, datetime):
        return None, None
    import email.utils

    if date.tzinfo:
        return email.utils.format_datetime(date), _iso_time(date)
    return date.isoformat(sep=" "), date.isoformat()


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
            date, sent_at = _msg_date(msg, problems)
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
    sender = next((line[6:-1] for line in lines if line.startswith("From: ")), None)
    return Mail(
        text,
        tuple(attachments),
        tuple(dict.fromkeys(problems)),
        sender=sender,
        sent_at=sent_at,
    )
