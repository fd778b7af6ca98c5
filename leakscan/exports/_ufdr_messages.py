"""A message model of a Cellebrite report made a Message: who, when, where, and which files.

The sender is the message's ``From`` party (a ``Party`` model in
``<modelField name="From">``, or in ``Parties`` with ``Role`` "From"; older
MMS reports write ``From`` as a plain field). Attachments are ``Attachment``
models whose ``file_id`` attribute or ``attachment_extracted_path`` names a
tagged file, and ``<jumptargets>`` to files (IPED resolves them in this
order too); an attachment naming no file the report lists keeps its
``Filename``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Protocol

from ._ufdr_models import Model, names, yes
from .chat import MAX_MESSAGE_CHARS, AttachmentRef, Message

__all__ = ["MessageMaker", "iso_time", "normalize_path"]

_OUTGOING_FOLDERS = frozenset(("Sent", "Outbox"))
_SYSTEM_SENDER = "System Message"
_HTML = re.compile(r"\s*<(?:!doctype\s+html|html|head|body|div|p|table|span|br|meta)\b", re.I)


class _Located(Protocol):
    @property
    def local_path(self) -> str | None: ...


def normalize_path(path: str) -> str:
    """A report's local path as a zip member name: "/" for "\\", no blanks around parts.

    Physical Analyzer writes Windows separators, and some versions put spaces
    before path parts that the zip does not have (as IPED found).

    >>> normalize_path(" files\\\\Image\\\\ IMG-20260307-WA0001.jpg")
    'files/Image/IMG-20260307-WA0001.jpg'
    """
    parts = [part.strip() for part in path.replace("\\", "/").split("/")]
    while parts and parts[0] in ("", "."):
        parts.pop(0)
    return "/".join(parts)


def iso_time(value: str) -> str | None:
    """A report's timestamp as ISO 8601 to the second, UTC as "Z"; None if it is none.

    >>> iso_time("2026-03-07T16:22:39.230+00:00"), iso_time("2026-03-07T21:22:39+05:00")
    ('2026-03-07T16:22:39Z', '2026-03-07T21:22:39+05:00')
    """
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    when = when.replace(microsecond=0)
    offset = when.utcoffset()
    if offset == timedelta(0):
        return when.replace(tzinfo=None).isoformat() + "Z"
    return when.isoformat()


class MessageMaker:
    """Makes Messages of a report's message models, naming attachments by the tagged files.

    Messages are anchored ``model=<id>`` (no line: ``line``, ``end_line`` 0,
    ``text_start`` -1). ``text`` is the ``Body`` (``Snippet`` if none; an
    e-mail's ``Subject`` above its body, an HTML body as its text);
    ``sent_at`` the ``TimeStamp`` (ISO 8601, the report's offset kept, UTC as
    "Z"); ``via`` the ``SourceApplication`` (else ``Source``, else the chat's,
    else "SMS", "MMS" or "Email"); ``deleted`` whether ``deleted_state`` is
    "Deleted"; ``from_me`` whether the sender party ``IsPhoneOwner`` (else is
    a chat participant who is, else the ``Folder``/``Status`` say "Sent" or
    "Inbox"/"Read"; None if nothing says). ``conversation`` is the chat's
    name (else its other participants), an e-mail's subject, or the other
    party of a message outside chats.
    """

    def __init__(
        self,
        files: Mapping[str, _Located],
        files_by_local_path: Mapping[str, _Located],
        members: Collection[str] | None,
    ) -> None:
        self._files = files
        self._by_path = files_by_local_path
        self._members = members
        self._bad_times = 0
        self._html_problems = 0

    def summary(self) -> list[str]:
        """Notes on what was read as it could be, for the end of the reading."""
        notes = []
        if self._bad_times:
            notes.append(
                f"report.xml: {self._bad_times} timestamps not in ISO 8601, kept as written"
            )
        if self._html_problems:
            notes.append(
                f"report.xml: {self._html_problems} HTML e-mail bodies read by stripping tags"
            )
        return notes

    def message(self, model: Model) -> Message:
        """The Message a message model makes (see the class)."""
        chat = model.chat
        senders = model.with_role("From")
        sender = senders[0] if senders else None
        from_me = _from_me(model, sender)
        raw_time = model.first("TimeStamp")
        sent_at = iso_time(raw_time) if raw_time else ""
        if sent_at is None:
            self._bad_times += 1
            sent_at = raw_time.strip()[:64]
        via = model.first("SourceApplication") or model.first("Source")
        if not via and chat is not None:
            via = chat.first("Source")
        if chat is not None:
            conversation = chat.conversation()
        elif model.type == "Email":
            conversation = model.first("Subject") or None
        else:
            conversation = _counterpart(model, sender, from_me)
        label = sender.label() if sender is not None else model.first("From") or None
        return Message(
            line=0,
            end_line=0,
            sender=label,
            sent_at=sent_at,
            text=self._text_of(model),
            text_start=-1,
            attachments=self._attachments(model),
            system=sender is not None and _SYSTEM_SENDER in (sender.first("Name"), label),
            anchor=f"model={model.id}",
            conversation=conversation,
            from_me=from_me,
            deleted=model.deleted,
            via=via or (model.type if model.type != "InstantMessage" else None),
        )

    def _text_of(self, model: Model) -> str:
        body = model.first("Body") or model.first("Snippet")
        if model.type != "Email":
            return body
        if _HTML.match(body):
            from ..extract.html import html_to_text

            problems: list[str] = []
            body = html_to_text(body, problems, "e-mail body", title=False)
            self._html_problems += bool(problems)
        subject = model.first("Subject")
        text = f"{subject}\n\n{body}" if subject and body else subject or body
        return text[:MAX_MESSAGE_CHARS]

    def _attachments(self, model: Model) -> tuple[AttachmentRef, ...]:
        refs: dict[str, AttachmentRef] = {}
        for attachment in model.attachments:
            ref = self._attachment(attachment)
            refs.setdefault(ref.name, ref)
        # Older MMS reports name the extracted file on the message itself.
        extracted = model.first("attachment_extracted_path")
        if extracted:
            ref = self._by_local_path(extracted) or AttachmentRef(
                posixpath.basename(normalize_path(extracted)), included=False
            )
            refs.setdefault(ref.name, ref)
        for target in model.targets:
            file = self._files.get(target)
            if file is not None and file.local_path:
                refs.setdefault(file.local_path, self._tagged(file.local_path))
        # A file named once unresolved and once found is only the found one.
        found = {posixpath.basename(name) for name, ref in refs.items() if ref.included}
        return tuple(
            ref for ref in refs.values() if ref.included or not ref.name or ref.name not in found
        )

    def _attachment(self, attachment: Model) -> AttachmentRef:
        file = self._files.get(attachment.file_id) if attachment.file_id else None
        if file is not None and file.local_path:
            return self._tagged(file.local_path)
        extracted = attachment.first("attachment_extracted_path")
        ref = self._by_local_path(extracted) if extracted else None
        if ref is not None:
            return ref
        name = attachment.first("Filename").strip()
        if not name and extracted:
            name = posixpath.basename(normalize_path(extracted))
        return AttachmentRef(name, included=False)

    def _by_local_path(self, raw: str) -> AttachmentRef | None:
        path = normalize_path(raw)
        if path in self._by_path:
            return self._tagged(path)
        if path and self._members is not None and path in self._members:
            return AttachmentRef(path, included=True)
        return None

    def _tagged(self, local_path: str) -> AttachmentRef:
        """A tagged file's attachment: included unless the UFDR's members are known to lack it."""
        included = self._members is None or local_path in self._members
        return AttachmentRef(local_path, included=included)


def _from_me(model: Model, sender: Model | None) -> bool | None:
    if sender is not None:
        owner = yes(sender.first("IsPhoneOwner"))
        if owner is not None:
            return owner
        ident = sender.first("Identifier")
        owners = model.chat.owners() if model.chat is not None else frozenset()
        if ident and owners:
            return ident in owners
    for party in model.with_role("To"):
        if yes(party.first("IsPhoneOwner")):
            return False
    # Else the folder or status says which way it went (as IPED reads them).
    folder, status = model.first("Folder"), model.first("Status")
    if folder in _OUTGOING_FOLDERS or status in ("Sent", "Unsent"):
        return True
    if folder == "Inbox" or status in ("Read", "Unread"):
        return False
    return None


def _counterpart(model: Model, sender: Model | None, from_me: bool | None) -> str | None:
    """Who a message outside chats was exchanged with: its recipients if sent, else its sender."""
    if from_me:
        recipients = names(p.label() for p in model.with_role("To"))
        return recipients or names(model.fields.get("To", ())) or None
    if sender is not None:
        return sender.label()
    return model.first("From") or None
