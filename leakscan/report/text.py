"""A readable report: one block per finding, one line per error or skip, then a summary.

Every name, reason and quote is printed through :mod:`leakscan.names`, so a
hostile file name cannot forge report lines or rewrite the terminal.
"""

from __future__ import annotations

import textwrap
from typing import TextIO

from ..names import printable, printable_passage
from ..records import (
    ErrorRecord,
    ExtractionRecord,
    Finding,
    LeadRecord,
    Record,
    SkippedRecord,
    Summary,
)

__all__ = ["TextWriter"]

_QUOTE_CHARS = 160


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > _QUOTE_CHARS:
        flat = flat[: _QUOTE_CHARS - 1].rstrip() + "…"
    return f"“{printable_passage(flat)}”"


def _message_context(f: Finding) -> str:
    """What follows a message's sender: its conversation, app and deleted mark, if known."""
    parts = []
    if f.conversation:
        parts.append(f" in “{printable(f.conversation)}”")
    if f.app:
        parts.append(f" via {printable(f.app)}")
    if f.deleted:
        parts.append(" (marked deleted)")
    return "," + "".join(parts) if parts else ""


class TextWriter:
    """For a person at a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def _line(self, text: str = "") -> None:
        self.stream.write(text + "\n")

    def write(self, record: Record) -> None:
        if isinstance(record, Finding):
            self._finding(record)
        elif isinstance(record, LeadRecord):
            self._lead(record)
        elif isinstance(record, ErrorRecord):
            self._line(f"ERROR   {printable(record.suspect)}: {printable(record.error)}")
        elif isinstance(record, SkippedRecord):
            self._line(f"SKIPPED {printable(record.suspect)}: {printable(record.reason)}")
        elif isinstance(record, ExtractionRecord):
            self._extraction(record)
        elif isinstance(record, Summary):
            self._summary(record)
        self.stream.flush()

    def _finding(self, f: Finding) -> None:
        self._line(f"FOUND   {printable(f.suspect)}")
        source = printable(f"{f.source_label}/{f.source}" if f.source_label else f.source)
        if f.kind == "attachment-name":
            pages = f", {f.attachment_pages} pages" if f.attachment_pages else ""
            self._line(
                f"        names a dropped attachment “{printable(f.attachment or '')}”{pages}, "
                f"the name of {source}  (score {f.score:.2f}: a name only, no text compared)"
            )
            self._sent(f)
            return
        if f.image is not None:
            left, top, right, bottom = f.image.region
            self._line(
                f"        shows the picture {source}  (score {f.score:.2f}: perceptual hashes "
                f"{f.image.phash_distance} and {f.image.dhash_distance} bits apart, in pixels "
                f"{left},{top}-{right},{bottom} of this picture)"
            )
            self._sent(f)
            return
        self._line(
            f"        contains {printable(f.kind)} of {source}  (score {f.score:.2f}, "
            f"{f.containment:.0%} of the source, {f.coverage:.0%} of this item, "
            f"{f.matched_tokens} words in {len(f.passages)} passage(s))"
        )
        if f.ocr is not None:
            self._line(
                f"        read by OCR ({printable(str(f.ocr.get('engine', '')))} "
                f"{printable(str(f.ocr.get('version', '')))}, "
                f"{printable(str(f.ocr.get('languages', '')))}, "
                f"mean confidence {f.ocr.get('mean_confidence', 0):.0f}%)"
            )
        longest = sorted(f.passages, key=lambda p: p.suspect_end - p.suspect_start)[-1:]
        for passage in longest:
            where = f"chars {passage.suspect_start}-{passage.suspect_end}"
            if passage.bbox is not None:
                x0, y0, x1, y1 = passage.bbox
                where = f"box x {x0}-{x1}, y {y0}-{y1} px, " + where
            if passage.page is not None:
                where = f"page {passage.page}, " + where
            self._line(f"        longest passage ({where}):")
            self._line(textwrap.indent(_quote(passage.text), " " * 10))
        if f.messages:
            lines = ", ".join("#" + printable(m.rsplit("#", 1)[-1]) for m in f.messages)
            self._line(f"        spread over {len(f.messages)} messages: {lines}")
        self._sent(f)

    def _lead(self, lead: LeadRecord) -> None:
        source = printable(
            f"{lead.source_label}/{lead.source}" if lead.source_label else lead.source
        )
        self._line(f"LEAD    {printable(lead.suspect)}")
        self._line(
            f"        {len(lead.matches)} matches of {source} add up  (score {lead.score:.2f}, "
            f"{lead.evidence:.1f} words of evidence; {lead.below_min_score} of them below "
            "--min-score on their own)"
        )
        where = ", ".join(
            printable(m.rsplit("#", 1)[-1]) if "#" in m else printable(m) for m in lead.matches[:12]
        )
        more = f" and {len(lead.matches) - 12} more" if len(lead.matches) > 12 else ""
        self._line(f"        at {where}{more}")
        if lead.senders:
            self._line(f"        sent by {', '.join(printable(s) for s in lead.senders)}")

    def _extraction(self, record: ExtractionRecord) -> None:
        facts = ", ".join(
            f"{printable(key)}: {printable(value)}"
            for key, value in (*record.case.items(), *record.device.items())
        )
        self._line(f"EXTRACTION {printable(record.suspect)} ({printable(record.tool)})")
        if facts:
            self._line(textwrap.indent(textwrap.fill(facts, 90), " " * 8))

    def _sent(self, f: Finding) -> None:
        sender = printable(f.sender) if f.sender else None
        when = f" at {printable(f.sent_at)}" if f.sent_at else ""
        context = _message_context(f)
        if f.sent_in:
            self._line(
                f"        attached to {printable(f.sent_in)}, sent by {sender}{when}{context}"
            )
        elif f.sent_at or f.sender:
            self._line(f"        sent by {sender or 'the chat'}{when}{context}")
        if f.device_path:
            self._line(f"        on the device at {printable(f.device_path)}")

    def _summary(self, s: Summary) -> None:
        self._line()
        self._line(
            f"{s.items} items: {s.scanned} scanned, {s.skipped} skipped, {s.errors} errors; "
            f"{s.findings} findings in {s.suspects_with_findings} items "
            f"({s.elapsed_seconds:.1f} s)"
        )
        opened = []
        if s.containers:
            opened.append(f"{s.containers} archives or e-mails opened")
        if s.chat_messages:
            apps = ", ".join(
                f"{n} {printable(app)}" for app, n in sorted(s.chat_messages_by_app.items())
            )
            opened.append(f"{s.chat_messages} messages checked" + (f" ({apps})" if apps else ""))
        if s.ocr_items:
            opened.append(
                f"{s.ocr_items} read by OCR ({s.ocr_pages_read} pages read, "
                f"{s.ocr_pages_cached} from the OCR cache)"
            )
        if opened:
            self._line("; ".join(opened))
        if s.leads:
            self._line(f"{s.leads} leads: weak matches of one source in one item, added up")
        if s.hidden_findings:
            below = f" {s.min_score:g}" if s.min_score is not None else ""
            self._line(
                f"{s.hidden_findings} weaker match{'es' if s.hidden_findings != 1 else ''} "
                f"hidden by --min-score{below} "
                "(lower it to see them)"
            )
        if s.skipped_by_type:
            kinds = ", ".join(
                f"{n} {printable(kind)}" for kind, n in sorted(s.skipped_by_type.items())
            )
            self._line(f"not examined: {kinds}")

    def close(self) -> None:
        self.stream.flush()
