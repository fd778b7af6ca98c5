"""The messages of a Cellebrite report's ``<decodedData>``, read as an lxml target (no tree).

Decoded data is grouped by ``<modelType type=…>``; each ``<model type=… id=…
deleted_state=…>`` holds ``<field name=…><value type=…>`` values,
``<multiField>`` lists, and models of its own in ``<modelField>`` (one) and
``<multiModelField>`` (many). Messages are:

- ``InstantMessage`` models in a ``Chat``'s ``Messages`` (the chat's ``Name``,
  ``Source`` and ``Participants`` come before them), or alone;
- ``SMS``, ``MMS`` and ``Email`` models.

A message's sender is its ``From`` party (a ``Party`` model in
``<modelField name="From">``, or in ``Parties`` with ``Role`` "From"; older
MMS reports write ``From`` as a plain field). Attachments are ``Attachment``
models whose ``file_id`` attribute or ``attachment_extracted_path`` names a
tagged file, and ``<jumptargets>`` to files.

Only what a message needs is kept, and only while its model is open: a chat
of a million messages costs what one message does. Anything else (calls,
contacts, locations, a message's quoted copy of another) is stepped over,
and counted in the notes.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Protocol

from ._ufdr_xml import UfdrFormatError, local_name
from .chat import MAX_MESSAGE_CHARS, AttachmentRef, Message

__all__ = ["MESSAGE_TYPES", "MessageReader", "iso_time", "normalize_path"]

#: Model types read as messages.
MESSAGE_TYPES = frozenset(("InstantMessage", "SMS", "MMS", "Email"))
#: A field value other than a body is cut after this many characters.
MAX_VALUE_CHARS = 4096

# Kept per model: more are counted, not kept.
_MAX_VALUES = 16  # values of one multiField
_MAX_PARTIES = 64  # parties of a message
_MAX_PARTICIPANTS = 256  # participants of a chat
_MAX_ATTACHMENTS = 256
_MAX_TARGETS = 64
_MAX_NAMED = 8  # participants named in a conversation's name
_MAX_CUT_NOTES = 10  # messages named in the note on cut texts

# The fields read, per kind of model.
_FIELDS = {
    "chat": frozenset(("Name", "Id", "Source")),
    "message": frozenset(
        (
            "Body",
            "Snippet",
            "Subject",
            "TimeStamp",
            "SourceApplication",
            "Source",
            "Folder",
            "Status",
            "From",
            "To",
            "attachment_extracted_path",
        )
    ),
    "party": frozenset(("Identifier", "Name", "IsPhoneOwner", "Role")),
    "attachment": frozenset(("Filename", "attachment_extracted_path")),
}
_PARTY_SLOTS = frozenset(("From", "To", "Cc", "Bcc", "Parties", "Participants"))
_ATTACHMENT_SLOTS = frozenset(("Attachments", "Attachment"))
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


def _yes(value: str) -> bool | None:
    lowered = value.strip().lower()
    return True if lowered == "true" else False if lowered == "false" else None


class _Model:
    """A model being read: its fields and the models kept from its model fields."""

    __slots__ = (
        "_conversation",
        "attachments",
        "chat",
        "deleted",
        "field",
        "fields",
        "file_id",
        "id",
        "kind",
        "parties",
        "slot",
        "targets",
        "type",
    )

    def __init__(self, kind: str, attrib: Mapping[str, str], chat: _Model | None) -> None:
        self.kind = kind
        self.type = attrib.get("type", "")[:64]
        self.id = attrib.get("id", "")[:128]
        self.deleted = attrib.get("deleted_state", "").strip().lower() == "deleted"
        self.file_id = attrib.get("file_id", "")[:128]
        self.chat = chat
        self.fields: dict[str, list[str]] = {}
        self.parties: list[tuple[str, _Model]] = []  # (model field, party)
        self.attachments: list[_Model] = []
        self.targets: list[str] = []  # jump targets to files
        self.field: str | None = None  # the field being read
        self.slot: str | None = None  # the model field being read
        self._conversation: str | None = None

    def first(self, name: str) -> str:
        values = self.fields.get(name)
        return values[0] if values else ""

    def label(self) -> str | None:
        """A party as findings name it: "Name (Identifier)", or whichever it has."""
        name, ident = self.first("Name"), self.first("Identifier")
        if name and ident and name != ident:
            return f"{name} ({ident})"
        return name or ident or None

    def with_role(self, role: str) -> list[_Model]:
        """Parties in the model field ``role``, or in ``Parties`` with that ``Role``."""
        return [
            p
            for slot, p in self.parties
            if slot == role or (slot in ("Parties", "Participants") and p.first("Role") == role)
        ]

    def conversation(self) -> str | None:
        """A chat's name, else its participants other than the phone's owner, else its id."""
        if self._conversation is None:
            name = self.first("Name")
            if not name:
                others = [p for _, p in self.parties if _yes(p.first("IsPhoneOwner")) is not True]
                name = _names(others) or self.first("Id")
            self._conversation = name
        return self._conversation or None

    def owners(self) -> set[str]:
        """Identifiers of a chat's participants that are the phone's owner."""
        return {
            p.first("Identifier")
            for _, p in self.parties
            if _yes(p.first("IsPhoneOwner")) and p.first("Identifier")
        }


def _names(parties: list[_Model]) -> str:
    labels = [label for p in parties if (label := p.label())]
    if len(labels) > _MAX_NAMED:
        return ", ".join(labels[:_MAX_NAMED]) + f" +{len(labels) - _MAX_NAMED} more"
    return ", ".join(labels)


class MessageReader:
    """lxml target turning a report's message models into Messages, collected for :meth:`take`.

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
        notes: list[str],
    ) -> None:
        self._files = files
        self._by_path = files_by_local_path
        self._members = members
        self._notes = notes
        self._ready: list[Message] = []
        self._stack: list[str] = []
        self._models: list[_Model] = []
        self._skip = 0
        self._text: list[str] | None = None
        self._text_len = 0
        self._text_cap = 0
        self._skipped: Counter[str] = Counter()  # models not read as messages, by type
        self._embedded = 0
        self._over: Counter[str] = Counter()  # what was past a bound
        self._cut: list[str] = []  # models whose text was cut
        self._cut_count = 0
        self._values_cut = 0
        self._bad_times = 0
        self._html_problems = 0

    def take(self) -> list[Message]:
        """The messages completed since the last call."""
        ready, self._ready = self._ready, []
        return ready

    def summary(self) -> list[str]:
        """Notes on what was stepped over or cut, for the end of the reading."""
        notes = []
        if self._skipped:
            kinds = ", ".join(f"{t or '?'} {n}" for t, n in self._skipped.most_common(12))
            notes.append(
                f"report.xml: {self._skipped.total()} models not read as messages ({kinds})"
            )
        if self._embedded:
            notes.append(
                f"report.xml: {self._embedded} quoted or forwarded copies of messages inside "
                "other messages were not read as messages of their own"
            )
        if self._cut_count:
            named = ", ".join(f"model={i}" for i in self._cut)
            more = (
                f" and {self._cut_count - len(self._cut)} more"
                if self._cut_count > len(self._cut)
                else ""
            )
            notes.append(f"message text cut after {MAX_MESSAGE_CHARS} characters: {named}{more}")
        for what, count in self._over.items():
            notes.append(f"report.xml: {count} {what} past the bound, not read")
        if self._values_cut:
            notes.append(
                f"report.xml: {self._values_cut} values cut at {MAX_VALUE_CHARS} characters"
            )
        if self._bad_times:
            notes.append(
                f"report.xml: {self._bad_times} timestamps not in ISO 8601, kept as written"
            )
        if self._html_problems:
            notes.append(
                f"report.xml: {self._html_problems} HTML e-mail bodies read by stripping tags"
            )
        return notes

    # -- the lxml target ------------------------------------------------------------

    def start(self, tag: str, attrib: Mapping[str, str]) -> None:
        if self._skip:
            self._skip += 1
            return
        name = local_name(tag)
        stack = self._stack
        depth = len(stack)
        if depth < 3:
            expected = ("project", "decodedData", "modelType")[depth]
            if name != expected:
                if depth == 0:
                    raise UfdrFormatError(
                        f"report.xml's root is <{name[:40]}>, not <project>: "
                        "not a Cellebrite report"
                    )
                self._skip = 1
                return
        elif not self._open(name, attrib, depth):
            self._skip = 1
            return
        stack.append(name)

    def end(self, tag: str) -> None:
        if self._skip:
            self._skip -= 1
            return
        name = self._stack.pop()
        if not self._models:
            return
        model = self._models[-1]
        if name == "value":
            value = self._end_text()
            values = model.fields.setdefault(model.field or "", [])
            if value and len(values) < _MAX_VALUES:
                values.append(value)
        elif name == "targetid":
            value = self._end_text().strip()
            if value and len(model.targets) < _MAX_TARGETS:
                model.targets.append(value)
        elif name in ("field", "multiField"):
            model.field = None
        elif name in ("modelField", "multiModelField"):
            model.slot = None
        elif name == "model":
            self._models.pop()
            if model.kind == "message":
                self._ready.append(self._message(model))

    def data(self, data: str) -> None:
        if self._text is None or self._skip:
            return
        room = self._text_cap - self._text_len
        if room > 0:
            piece = data[:room]
            self._text.append(piece)
        self._text_len += len(data)

    def close(self) -> None:
        return None

    def _open(self, name: str, attrib: Mapping[str, str], depth: int) -> bool:
        """Start an element inside a modelType; False to step over it."""
        current = self._models[-1] if self._models else None
        if name == "model":
            model = self._child(current, attrib, depth)
            if model is None:
                return False
            self._models.append(model)
            return True
        if current is None:
            return False
        parent = self._stack[-1]
        if name in ("field", "multiField"):
            field = attrib.get("name", "")
            if field not in _FIELDS[current.kind]:
                return False
            current.field = field
        elif name in ("modelField", "multiModelField"):
            current.slot = attrib.get("name", "")
        elif name == "value" and parent in ("field", "multiField") and current.field:
            cap = MAX_MESSAGE_CHARS if current.field == "Body" else MAX_VALUE_CHARS
            self._begin_text(cap)
        elif name == "jumptargets" and current.kind == "message" and parent == "model":
            pass
        elif name == "targetid" and parent == "jumptargets":
            if attrib.get("ismodel", "").strip().lower() == "true":
                return False
            self._begin_text(256)
        else:
            return False
        return True

    def _child(self, parent: _Model | None, attrib: Mapping[str, str], depth: int) -> _Model | None:
        """The model starting here if it is read (kept on its parent), else None (counted)."""
        kind_of = attrib.get("type", "")
        if parent is None:
            if depth != 3:
                return None
            if kind_of == "Chat":
                return _Model("chat", attrib, None)
            if kind_of in MESSAGE_TYPES:
                return _Model("message", attrib, None)
            self._skipped[kind_of[:64]] += 1
            return None
        slot = parent.slot
        if parent.kind == "chat":
            if slot == "Messages":
                if kind_of in MESSAGE_TYPES:
                    return _Model("message", attrib, parent)
                self._skipped[kind_of[:64]] += 1
            elif slot == "Participants" and kind_of == "Party":
                return self._keep_party(parent, slot, attrib, _MAX_PARTICIPANTS)
            return None
        if parent.kind != "message" or slot is None:
            return None
        if slot in _PARTY_SLOTS and kind_of == "Party":
            return self._keep_party(parent, slot, attrib, _MAX_PARTIES)
        if slot in _ATTACHMENT_SLOTS and kind_of == "Attachment":
            if len(parent.attachments) >= _MAX_ATTACHMENTS:
                self._over["attachments of a message"] += 1
                return None
            attachment = _Model("attachment", attrib, None)
            parent.attachments.append(attachment)
            return attachment
        if kind_of in MESSAGE_TYPES:
            self._embedded += 1
        return None

    def _keep_party(
        self, parent: _Model, slot: str, attrib: Mapping[str, str], bound: int
    ) -> _Model | None:
        if len(parent.parties) >= bound:
            self._over[f"parties of a {parent.kind}"] += 1
            return None
        party = _Model("party", attrib, None)
        parent.parties.append((slot, party))
        return party

    def _begin_text(self, cap: int) -> None:
        self._text = []
        self._text_len = 0
        self._text_cap = cap

    def _end_text(self) -> str:
        text = "".join(self._text or ())
        if self._text_len > self._text_cap:
            model = self._models[-1]
            if model.kind == "message" and model.field == "Body":
                self._cut_count += 1
                if len(self._cut) < _MAX_CUT_NOTES:
                    self._cut.append(model.id)
            else:
                self._values_cut += 1
        self._text = None
        return text

    # -- messages -------------------------------------------------------------------

    def _message(self, model: _Model) -> Message:
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

    def _text_of(self, model: _Model) -> str:
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

    def _attachments(self, model: _Model) -> tuple[AttachmentRef, ...]:
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
                refs.setdefault(file.local_path, AttachmentRef(file.local_path, included=True))
        # A file named once unresolved and once found is only the found one.
        found = {posixpath.basename(name) for name, ref in refs.items() if ref.included}
        return tuple(
            ref for ref in refs.values() if ref.included or not ref.name or ref.name not in found
        )

    def _attachment(self, attachment: _Model) -> AttachmentRef:
        file = self._files.get(attachment.file_id) if attachment.file_id else None
        if file is not None and file.local_path:
            return AttachmentRef(file.local_path, included=True)
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
        if not path:
            return None
        if path in self._by_path or (self._members is not None and path in self._members):
            return AttachmentRef(path, included=True)
        return None


def _from_me(model: _Model, sender: _Model | None) -> bool | None:
    if sender is not None:
        owner = _yes(sender.first("IsPhoneOwner"))
        if owner is not None:
            return owner
        ident = sender.first("Identifier")
        owners = model.chat.owners() if model.chat is not None else set()
        if ident and owners:
            return ident in owners
    for party in model.with_role("To"):
        if _yes(party.first("IsPhoneOwner")):
            return False
    if sender is not None:
        return None
    # No sender party: the folder or status says which way it went (as IPED reads them).
    folder, status = model.first("Folder"), model.first("Status")
    if folder in _OUTGOING_FOLDERS or status in ("Sent", "Unsent"):
        return True
    if folder == "Inbox" or status in ("Read", "Unread"):
        return False
    return None


def _counterpart(model: _Model, sender: _Model | None, from_me: bool | None) -> str | None:
    """Who a message outside chats was exchanged with: its recipients if sent, else its sender."""
    if from_me:
        named = _names(model.with_role("To"))
        if named:
            return named
        to = model.fields.get("To", [])
        return ", ".join(to[:_MAX_NAMED]) or None
    if sender is not None:
        return sender.label()
    return model.first("From") or None
