"""The message models of a Cellebrite report's ``<decodedData>``, read as an lxml target (no tree).

Decoded data is grouped by ``<modelType type=…>``; each ``<model type=… id=…
deleted_state=…>`` holds ``<field name=…><value type=…>`` values,
``<multiField>`` lists, and models of its own in ``<modelField>`` (one) and
``<multiModelField>`` (many). Messages are:

- ``InstantMessage`` models in a ``Chat``'s ``Messages`` (the chat's ``Name``,
  ``Source`` and ``Participants`` come before them), or alone;
- ``SMS``, ``MMS`` and ``Email`` models.

A message's parties are ``Party`` models (``<modelField name="From">``,
``<multiModelField name="To">``, or ``Parties`` with a ``Role``), its
attachments ``Attachment`` models, and its ``<jumptargets>`` name files;
:mod:`._ufdr_messages` makes a Message of it.

Only what a message needs is kept, and only while its model is open: a chat
of a million messages costs what one message does. Anything else (calls,
contacts, locations, a message's quoted copy of another) is stepped over,
and counted in the notes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from ._ufdr_xml import MAX_DEPTH, UfdrFormatError, local_name, too_deep
from .chat import MAX_MESSAGE_CHARS

__all__ = ["MAX_VALUE_CHARS", "MESSAGE_TYPES", "Model", "ModelReader", "yes"]

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
_MAX_NAMED = 8  # parties named in a conversation's name
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


def yes(value: str) -> bool | None:
    """A Boolean field's value: "True", "False", or None for anything else."""
    lowered = value.strip().lower()
    return True if lowered == "true" else False if lowered == "false" else None


class Model:
    """A model as read: its fields, and the models kept from its model fields."""

    __slots__ = (
        "_conversation",
        "_owners",
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

    def __init__(self, kind: str, attrib: Mapping[str, str], chat: Model | None) -> None:
        self.kind = kind
        self.type = attrib.get("type", "")[:64]
        self.id = attrib.get("id", "")[:128]
        self.deleted = attrib.get("deleted_state", "").strip().lower() == "deleted"
        self.file_id = attrib.get("file_id", "")[:128]
        self.chat = chat
        self.fields: dict[str, list[str]] = {}
        self.parties: list[tuple[str, Model]] = []  # (model field, party)
        self.attachments: list[Model] = []
        self.targets: list[str] = []  # jump targets to files
        self.field: str | None = None  # the field being read
        self.slot: str | None = None  # the model field being read
        self._conversation: str | None = None
        self._owners: frozenset[str] | None = None

    def first(self, name: str) -> str:
        """The first value of a field, "" if it has none."""
        values = self.fields.get(name)
        return values[0] if values else ""

    def label(self) -> str | None:
        """A party as findings name it: "Name (Identifier)", or whichever it has."""
        name, ident = self.first("Name"), self.first("Identifier")
        if name and ident and name != ident:
            return f"{name} ({ident})"
        return name or ident or None

    def with_role(self, role: str) -> list[Model]:
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
                others = (
                    p.label() for _, p in self.parties if yes(p.first("IsPhoneOwner")) is not True
                )
                name = names(others) or self.first("Id")
            self._conversation = name
        return self._conversation or None

    def owners(self) -> frozenset[str]:
        """Identifiers of a chat's participants that are the phone's owner."""
        if self._owners is None:
            self._owners = frozenset(
                p.first("Identifier")
                for _, p in self.parties
                if yes(p.first("IsPhoneOwner")) and p.first("Identifier")
            )
        return self._owners


def names(labels: Iterable[str | None]) -> str:
    """Names of parties, the first few of them, to name a conversation by."""
    named = [label for label in labels if label]
    if len(named) > _MAX_NAMED:
        return ", ".join(named[:_MAX_NAMED]) + f" +{len(named) - _MAX_NAMED} more"
    return ", ".join(named)


class ModelReader:
    """lxml target collecting a report's message models, complete, for :meth:`take`.

    A message in a chat keeps the chat (its name, source and participants)
    as ``chat``; the chat keeps none of its messages.
    """

    def __init__(self) -> None:
        self._ready: list[Model] = []
        self._stack: list[str] = []
        self._models: list[Model] = []
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

    def take(self) -> list[Model]:
        """The message models completed since the last call."""
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
        return notes

    # -- the lxml target ------------------------------------------------------------

    def start(self, tag: str, attrib: Mapping[str, str]) -> None:
        if self._skip:
            self._skip += 1
            if self._skip + len(self._stack) > MAX_DEPTH:
                raise too_deep()
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
                self._ready.append(model)

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
            many = parent == "multiField"
            if len(current.fields.get(current.field, ())) >= (_MAX_VALUES if many else 1):
                return False  # a field has one value; a list, a few
            body = current.field == "Body" and not many
            self._begin_text(MAX_MESSAGE_CHARS if body else MAX_VALUE_CHARS)
        elif name == "jumptargets" and current.kind == "message" and parent == "model":
            pass
        elif name == "targetid" and parent == "jumptargets":
            if attrib.get("ismodel", "").strip().lower() == "true":
                return False
            self._begin_text(256)
        else:
            return False
        return True

    def _child(self, parent: Model | None, attrib: Mapping[str, str], depth: int) -> Model | None:
        """The model starting here if it is read (kept on its parent), else None (counted)."""
        kind_of = attrib.get("type", "")
        if parent is None:
            if depth != 3:
                return None
            if kind_of == "Chat":
                return Model("chat", attrib, None)
            if kind_of in MESSAGE_TYPES:
                return Model("message", attrib, None)
            self._skipped[kind_of[:64]] += 1
            return None
        slot = parent.slot
        if parent.kind == "chat":
            if slot == "Messages":
                if kind_of in MESSAGE_TYPES:
                    return Model("message", attrib, parent)
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
            attachment = Model("attachment", attrib, None)
            parent.attachments.append(attachment)
            return attachment
        if kind_of in MESSAGE_TYPES:
            self._embedded += 1
        return None

    def _keep_party(
        self, parent: Model, slot: str, attrib: Mapping[str, str], bound: int
    ) -> Model | None:
        if len(parent.parties) >= bound:
            self._over[f"parties of a {parent.kind}"] += 1
            return None
        party = Model("party", attrib, None)
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
