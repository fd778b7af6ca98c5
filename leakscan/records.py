"""The records a scan produces: findings, errors, skips and the closing summary.

Their ``to_dict`` output is the JSONL contract of DESIGN.md: fields and
record types may be added, and readers ignore what they do not know; a
field removed or renamed bumps :data:`SCHEMA_VERSION`, which the summary
declares (``"schema": 1``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "OUTCOMES",
    "SCHEMA_VERSION",
    "AlsoAtRecord",
    "ErrorRecord",
    "ExtractionRecord",
    "Finding",
    "ImageMatch",
    "ItemRecord",
    "LeadRecord",
    "NoteRecord",
    "Passage",
    "Record",
    "SkippedRecord",
    "Summary",
    "item_outcome",
    "outcome_of",
]

#: The version of the record stream's schema (see the module docstring).
SCHEMA_VERSION = 1

#: What became of an item, as an inventory says it: read with nothing found, read with
#: findings, passed over by rule, not readable, or a container opened (its members follow).
OUTCOMES = ("clean", "finding", "skipped", "error", "opened")


@dataclass(frozen=True)
class Passage:
    """A stretch of suspect text found in a source document.

    Suspect offsets are characters of the suspect's extracted text; source
    offsets are token positions of the source (the index holds no text).
    For text read by OCR, ``bbox`` is the box (x0, y0, x1, y1) holding the
    passage's words on page ``page`` of the picture, in pixels of the picture
    as stored (of the rendering at the page's dpi for a scanned PDF page).
    """

    suspect_start: int
    suspect_end: int
    source_start: int
    source_end: int
    text: str
    tokens: int = 0
    page: int | None = None
    bbox: tuple[int, int, int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "suspect_start": self.suspect_start,
            "suspect_end": self.suspect_end,
            "source_start": self.source_start,
            "source_end": self.source_end,
            "text": self.text,
            "tokens": self.tokens,
        }
        if self.page is not None:
            data["page"] = self.page
        if self.bbox is not None:
            data["bbox"] = list(self.bbox)
        return data


@dataclass(frozen=True)
class ImageMatch:
    """How a suspect picture matches an archive picture (``image-near-duplicate``).

    Distances are bits of 64 between the two pictures' pHashes and dHashes, for the
    best-matching pair of views; ``region`` is the box (left, top, right, bottom) of the
    suspect's view in pixels of the picture as stored, EXIF orientation applied.
    """

    phash_distance: int
    dhash_distance: int
    suspect_view: str
    source_view: str
    region: tuple[int, int, int, int]
    suspect_size: tuple[int, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "hashes": "phash+dhash",
            "distances": {"phash": self.phash_distance, "dhash": self.dhash_distance},
            "suspect_view": self.suspect_view,
            "source_view": self.source_view,
            "region": list(self.region),
            "suspect_size": list(self.suspect_size),
        }


@dataclass(frozen=True)
class Finding:
    """Source text found in a suspect item."""

    suspect: str
    suspect_sha256: str
    source: str
    source_sha256: str
    kind: str
    score: float
    containment: float
    coverage: float
    simhash_distance: int
    matched_tokens: int
    passages: tuple[Passage, ...] = ()
    source_also_at: tuple[str, ...] = ()
    sender: str | None = None
    sent_at: str | None = None
    #: The member's own hash, when the suspect lies inside an archive or e-mail.
    member_sha256: str | None = None
    #: For an attachment: the chat message that sent it ("<chat>#L<line>").
    sent_in: str | None = None
    #: For a passage spread over several chat messages: all of them, in order.
    messages: tuple[str, ...] = ()
    #: For ``attachment-name``: the file name (and page count) the chat kept.
    attachment: str | None = None
    attachment_pages: int | None = None
    #: For a message (or what a message sent): its conversation, whether the
    #: device's owner sent it, whether the source marks it deleted, and the app
    #: that carried it, as the source (a database, a forensic report) says.
    conversation: str | None = None
    from_me: bool | None = None
    deleted: bool | None = None
    app: str | None = None
    #: Where a forensic extraction says the suspect file lay on the device.
    device_path: str | None = None
    #: The label of the archive root ``source`` lies under, when the index has several.
    source_label: str | None = None
    #: For text read by OCR: engine, version, languages and mean confidence (0-100).
    ocr: dict[str, Any] | None = None
    #: For a chat or database message: the whole text of the message(s) the passages
    #: are in, as the source keeps it (cut after MESSAGE_TEXT_CHARS characters).
    message_text: str | None = None
    #: For ``image-near-duplicate``: the perceptual hashes' distances and the matched region.
    image: ImageMatch | None = None
    #: For a text match: the evidence behind ``score`` (matched words weighted by how
    #: much they say, see leakscan.rarity), and the matched words counted as nothing
    #: because they are boilerplate of the archive or text of a public document.
    evidence: float | None = None
    discounted_tokens: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "finding",
            "suspect": self.suspect,
            "suspect_sha256": self.suspect_sha256,
            "source": self.source,
            "source_sha256": self.source_sha256,
            "kind": self.kind,
            "score": round(self.score, 4),
            "containment": round(self.containment, 4),
            "coverage": round(self.coverage, 4),
            "simhash_distance": self.simhash_distance,
            "matched_tokens": self.matched_tokens,
            "passages": [p.to_dict() for p in self.passages],
        }
        if self.source_also_at:
            data["source_also_at"] = list(self.source_also_at)
        if self.sender is not None:
            data["sender"] = self.sender
        if self.sent_at is not None:
            data["sent_at"] = self.sent_at
        optional = {
            "member_sha256": self.member_sha256,
            "sent_in": self.sent_in,
            "messages": list(self.messages) or None,
            "attachment": self.attachment,
            "attachment_pages": self.attachment_pages,
            "conversation": self.conversation,
            "from_me": self.from_me,
            "deleted": self.deleted,
            "app": self.app,
            "device_path": self.device_path,
            "source_label": self.source_label,
            "ocr": dict(self.ocr) if self.ocr is not None else None,
            "message_text": self.message_text,
            "evidence": round(self.evidence, 3) if self.evidence is not None else None,
            "discounted_tokens": self.discounted_tokens,
        }
        data.update((key, value) for key, value in optional.items() if value is not None)
        if self.image is not None:  # simhash_distance holds the same pHash distance
            data["image_distance"] = self.image.phash_distance
            data["image"] = self.image.to_dict()
        return data


@dataclass(frozen=True)
class LeadRecord:
    """Several matches of one source document in one item (a chat, a mailbox, a
    database): weak one by one, together one lead. ``evidence`` sums theirs, each
    source passage counted once, and ``score`` is its confidence."""

    suspect: str
    suspect_sha256: str
    source: str
    source_sha256: str
    score: float
    evidence: float
    #: Where the matches are (``<chat>#L<line>`` for messages), in order.
    matches: tuple[str, ...]
    #: Their senders, when known, in order of first appearance.
    senders: tuple[str, ...] = ()
    #: How many of the matches are below --min-score (not reported on their own).
    below_min_score: int = 0
    source_label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "lead",
            "suspect": self.suspect,
            "suspect_sha256": self.suspect_sha256,
            "source": self.source,
            "source_sha256": self.source_sha256,
            "score": round(self.score, 4),
            "evidence": round(self.evidence, 3),
            "matches": list(self.matches),
            "below_min_score": self.below_min_score,
        }
        if self.senders:
            data["senders"] = list(self.senders)
        if self.source_label is not None:
            data["source_label"] = self.source_label
        return data


@dataclass(frozen=True)
class ErrorRecord:
    """An item that could not be read: never silently dropped."""

    suspect: str
    error: str
    suspect_sha256: str | None = None
    #: For a chat's attachment: the message that sent it.
    sent_in: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "error", "suspect": self.suspect, "error": self.error}
        if self.suspect_sha256 is not None:
            data["suspect_sha256"] = self.suspect_sha256
        if self.sent_in is not None:
            data["sent_in"] = self.sent_in
        return data


@dataclass(frozen=True)
class SkippedRecord:
    """An item passed over by rule (too large, not a regular file, no readable text)."""

    suspect: str
    reason: str
    mime: str | None = None
    suspect_sha256: str | None = None
    #: For a chat's attachment: the message that sent it.
    sent_in: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "skipped", "suspect": self.suspect, "reason": self.reason}
        if self.mime is not None:
            data["mime"] = self.mime
        if self.suspect_sha256 is not None:
            data["suspect_sha256"] = self.suspect_sha256
        if self.sent_in is not None:
            data["sent_in"] = self.sent_in
        return data


@dataclass(frozen=True)
class NoteRecord:
    """A fact about an item the report must keep, whatever else came of it.

    A member named to climb out of its archive, damaged bytes replaced in a
    text, a parser limit that cut a document short: the item is still
    scanned, and this says how far its reading can be trusted.
    """

    suspect: str
    note: str
    suspect_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "note", "suspect": self.suspect, "note": self.note}
        if self.suspect_sha256 is not None:
            data["suspect_sha256"] = self.suspect_sha256
        return data


@dataclass(frozen=True)
class ExtractionRecord:
    """A forensic extraction found among the evidence (a Cellebrite report): the case
    and device it says it came from, as its tool wrote them, for the report's header."""

    suspect: str
    tool: str
    case: dict[str, str] = field(default_factory=dict)
    device: dict[str, str] = field(default_factory=dict)
    suspect_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "extraction",
            "suspect": self.suspect,
            "tool": self.tool,
            "case": dict(self.case),
            "device": dict(self.device),
        }
        if self.suspect_sha256 is not None:
            data["suspect_sha256"] = self.suspect_sha256
        return data


@dataclass(frozen=True)
class AlsoAtRecord:
    """Content already scanned under another path, seen again here (``watch``): not
    scanned twice, but reported at the new path with what the first scan found."""

    suspect: str
    suspect_sha256: str
    first_seen_as: str
    findings: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "also-at",
            "suspect": self.suspect,
            "suspect_sha256": self.suspect_sha256,
            "first_seen_as": self.first_seen_as,
            "findings": self.findings,
        }


@dataclass(frozen=True)
class ItemRecord:
    """One item examined, whatever came of it: a line of an inventory (``--inventory``).

    ``sha256`` and ``size`` are of the item's own bytes (an archive member's,
    uncompressed); ``containers`` the locator and sha256 of each container it
    lies in, outermost first (the first is the file on disk). ``outcome`` is
    one of :data:`OUTCOMES`; ``examined_at`` the UTC time its reading began.
    Fields are None where not known (a file never opened, a member refused
    before it was decompressed, an item whose worker was stopped).
    """

    suspect: str
    outcome: str
    examined_at: str
    size: int | None = None
    sha256: str | None = None
    mime: str | None = None
    containers: tuple[tuple[str, str | None], ...] = ()
    #: For an opened container, what it is: ``zip``, ``tar``, ``mbox``, ``e-mail``…
    container: str | None = None
    findings: int = 0
    #: Why it was skipped or not readable (the ``skipped`` or ``error`` record's words).
    reason: str | None = None
    #: For a chat: the app that wrote it and the messages checked.
    app: str | None = None
    messages: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "item",
            "suspect": self.suspect,
            "outcome": self.outcome,
            "size": self.size,
            "sha256": self.sha256,
            "mime": self.mime,
            "containers": [{"suspect": name, "sha256": sha} for name, sha in self.containers],
            "examined_at": self.examined_at,
        }
        optional = {
            "container": self.container,
            "findings": self.findings or None,
            "reason": self.reason,
            "app": self.app,
            "messages": self.messages,
        }
        data.update((key, value) for key, value in optional.items() if value is not None)
        return data


@dataclass
class Summary:
    """The last record of a scan: what was looked at and what came of it."""

    items: int = 0
    scanned: int = 0
    #: Items scanned with nothing found (``scanned`` less those with findings).
    clean: int = 0
    skipped: int = 0
    errors: int = 0
    findings: int = 0
    suspects_with_findings: int = 0
    #: Matches weaker than --min-score, not reported (nor part of a lead reported).
    hidden_findings: int = 0
    #: Grouped weak matches reported (``lead`` records).
    leads: int = 0
    #: The --min-score the scan ran with (None: not recorded).
    min_score: float | None = None
    elapsed_seconds: float = 0.0
    skipped_by_type: dict[str, int] = field(default_factory=dict)
    #: Archives and e-mails opened (their members are counted as items).
    containers: int = 0
    #: Chat messages checked, in the chat files among the items.
    chat_messages: int = 0
    #: The same, by the app that wrote them ("whatsapp", "sms-android", "ufdr"…).
    chat_messages_by_app: dict[str, int] = field(default_factory=dict)
    bytes_scanned: int = 0
    index: dict[str, Any] = field(default_factory=dict)
    tool_version: str = ""
    #: Items with notes (flagged names, damaged text read with replacement).
    notes: int = 0
    #: The scan was stopped (Ctrl-C) before every item was read: it is incomplete.
    interrupted: bool = False
    #: Forensic extractions met (their case and device, see ExtractionRecord).
    extractions: list[dict[str, Any]] = field(default_factory=list)
    #: Items whose text was (partly) read by OCR, and their pages: recognised in this
    #: scan, or taken from the OCR cache of an earlier run.
    ocr_items: int = 0
    ocr_pages_read: int = 0
    ocr_pages_cached: int = 0
    #: How the scan was run, for the report's header (the CLI fills it in): command
    #: line, host, user, start and end times, targets with their sha256, and the
    #: case, examiner and note given.
    run: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "summary",
            "schema": SCHEMA_VERSION,
            "items": self.items,
            "scanned": self.scanned,
            "clean": self.clean,
            "skipped": self.skipped,
            "errors": self.errors,
            "findings": self.findings,
            "suspects_with_findings": self.suspects_with_findings,
            "hidden_findings": self.hidden_findings,
            "leads": self.leads,
            **({"min_score": self.min_score} if self.min_score is not None else {}),
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "skipped_by_type": dict(sorted(self.skipped_by_type.items())),
            "containers": self.containers,
            "chat_messages": self.chat_messages,
            "chat_messages_by_app": dict(sorted(self.chat_messages_by_app.items())),
            "bytes_scanned": self.bytes_scanned,
            "index": self.index,
            "tool_version": self.tool_version,
            "notes": self.notes,
            **({"interrupted": True} if self.interrupted else {}),
            **({"extractions": self.extractions} if self.extractions else {}),
            **(
                {
                    "ocr": {
                        "items": self.ocr_items,
                        "pages_read": self.ocr_pages_read,
                        "pages_from_cache": self.ocr_pages_cached,
                    }
                }
                if self.ocr_items
                else {}
            ),
            **({"run": self.run} if self.run else {}),
        }


Record = (
    Finding
    | LeadRecord
    | ErrorRecord
    | SkippedRecord
    | NoteRecord
    | AlsoAtRecord
    | ExtractionRecord
    | ItemRecord
    | Summary
)


def outcome_of(records: list[Record]) -> str:
    """What became of the one item these records are about: error, skipped or scanned."""
    if any(isinstance(r, ErrorRecord) for r in records):
        return "error"
    if any(isinstance(r, SkippedRecord) for r in records):
        return "skipped"
    return "scanned"


def item_outcome(records: list[Record]) -> str:
    """:func:`outcome_of` as an inventory says it: a scanned item is ``finding`` or ``clean``."""
    outcome = outcome_of(records)
    if outcome != "scanned":
        return outcome
    found = any(isinstance(r, (Finding, LeadRecord)) for r in records)
    return "finding" if found else "clean"
