"""The HTML report: one self-contained file an examiner can hand over.

No network, no external fonts, scripts or styles: it opens on an air-gapped
workstation and reads with JavaScript off (findings fold with
``<details>``; a small inline script only adds filtering). Findings are
grouped by source document, strongest first; every passage is shown side by
side with the source's own text, re-read from the archive and checked by its
sha256 (:mod:`leakscan.report.sources`). Rendered by Jinja2 with
autoescaping, so nothing in the evidence can write markup.

Findings are spooled to a temporary file as they arrive and rendered at
``close``, one source group at a time, straight into the output stream.
Leads (weak matches of one source in one item, added up) are few and small:
they are kept in memory and listed after the findings, each source's group
pointing at its own.
"""

from __future__ import annotations

import heapq
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..names import parse_locator
from ..records import (
    AlsoAtRecord,
    ErrorRecord,
    ExtractionRecord,
    Finding,
    LeadRecord,
    NoteRecord,
    Record,
    SkippedRecord,
    Summary,
)
from .marks import Shown, language_of, mark_pair
from .options import ReportOptions
from .saved import record_from_dict
from .sources import Quoted, SourceQuoter, SourceText, Unquoted
from .spool import FindingSpool, SourceGroup

__all__ = ["HtmlWriter"]


@dataclass(frozen=True)
class PassageView:
    """One passage as the template shows it: both sides marked, and where each lies."""

    number: int
    suspect: Shown
    source: Shown | None
    suspect_where: str
    source_where: str
    #: Why this passage's source text is not shown, when the source itself was read.
    source_missing: str | None


@dataclass(frozen=True)
class FindingView:
    """One finding as the template shows it: its place in the report, its locator taken apart."""

    number: int
    anchor: str
    opened: bool
    f: Finding
    chain: list[str]
    place: str | None
    passages: list[PassageView]
    #: False: listed with its numbers only (past ``ReportOptions.detailed``).
    detailed: bool = True


@dataclass(frozen=True)
class LeadView:
    """One lead as the template shows it: its item taken apart, its matches named briefly
    (a line of the lead's own chat as ``line 12``), and the source's group when it has one."""

    number: int
    anchor: str
    lead: LeadRecord
    chain: list[str]
    place: str | None
    matches: list[str]
    #: Matches past MAX_LEAD_MATCHES_SHOWN, counted only (the JSONL lists them all).
    more: int
    #: The anchor of the source's findings in this report, if it has any.
    group_anchor: str | None
    lang: str | None


@dataclass
class GroupView:
    """One source document with its findings, and what came of reading it again."""

    group: SourceGroup
    anchor: str
    lang: str | None
    quoted: SourceText | Unquoted | None
    findings: list[FindingView] = field(default_factory=list)
    #: Findings of this source listed without their passages.
    brief: int = 0
    #: Leads of this source (listed after the findings).
    leads: list[LeadView] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        """Where the source was read again, when it was found unchanged."""
        return self.quoted.location if isinstance(self.quoted, SourceText) else None

    @property
    def unquoted(self) -> str | None:
        """Why the source was not quoted, when it was looked for and not quoted."""
        return self.quoted.reason if isinstance(self.quoted, Unquoted) else None


@dataclass
class _Bucket:
    """Items not examined for one reason: a MIME type for skips, the error's kind."""

    title: str
    items: list[SkippedRecord | ErrorRecord] = field(default_factory=list)


#: Findings of every source shown with their passages, however many others are.
_DETAILED_PER_SOURCE = 3
#: Matches of one lead named in the report (a lead of a long chat may have hundreds).
MAX_LEAD_MATCHES_SHOWN = 200
_ERROR_HEAD = re.compile(r"^([^:(;]{1,80})")


def error_kind(message: str) -> str:
    """What an error is, for grouping: its first clause, without names and numbers.

    >>> error_kind("corrupt or truncated PDF: Syntax Error: no trailer")
    'corrupt or truncated PDF'
    >>> error_kind("cannot read: Permission denied")
    'cannot read'
    """
    found = _ERROR_HEAD.match(message.strip())
    head = found.group(1).strip() if found else ""
    return re.sub(r"\d+", "N", head) or "other"


def _chain(suspect: str) -> tuple[list[str], str | None]:
    """A locator as the file on disk, the members below it, and the place in the last one."""
    try:
        parsed = parse_locator(suspect)
    except ValueError:
        return [suspect], None
    chain = [parsed.path + (f" (#{parsed.path_anchor})" if parsed.path_anchor else "")]
    chain += [
        m.name + (f" (copy {m.occurrence})" if m.occurrence > 1 else "") for m in parsed.members
    ]
    place = None
    if parsed.line is not None:
        place = f"line {parsed.line}"
    elif parsed.anchor is not None:
        key, _, value = parsed.anchor.partition("=")
        place = f"{key.replace('_', ' ')} {value}"
    return chain, place


def _match_name(item_chain: list[str], locator: str) -> str:
    """A lead's match as briefly as it is unambiguous: ``line 12`` of the lead's own item.

    >>> _match_name(["chat.txt"], "chat.txt#L12"), _match_name(["chat.txt"], "mail.eml!a.pdf")
    ('line 12', 'mail.eml!a.pdf')
    """
    chain, place = _chain(locator)
    return place if place is not None and chain == item_chain else locator


def lead_views(leads: list[LeadRecord], groups: list[SourceGroup]) -> list[LeadView]:
    """Leads strongest first, numbered, each pointing at its source's findings if any."""
    anchors = {(g.source, g.source_sha256): f"source-{g.number}" for g in groups}
    ordered = sorted(leads, key=lambda lead: (-round(lead.score, 4), lead.suspect, lead.source))
    views = []
    for number, lead in enumerate(ordered, start=1):
        chain, place = _chain(lead.suspect)
        shown = [_match_name(chain, m) for m in lead.matches[:MAX_LEAD_MATCHES_SHOWN]]
        views.append(
            LeadView(
                number=number,
                anchor=f"lead-{number}",
                lead=lead,
                chain=chain,
                place=place,
                matches=shown,
                more=max(0, len(lead.matches) - MAX_LEAD_MATCHES_SHOWN),
                group_anchor=anchors.get((lead.source, lead.source_sha256)),
                lang=language_of(lead.source),
            )
        )
    return views


class HtmlWriter:
    """Buffers the records of a scan and renders the HTML report at ``close``."""

    def __init__(self, stream: TextIO, options: ReportOptions | None = None) -> None:
        self.stream = stream
        self.options = options or ReportOptions()
        self._spool = FindingSpool()
        self._skipped: dict[str, _Bucket] = {}
        self._errors: dict[str, _Bucket] = {}
        self._notes: list[NoteRecord] = []
        self._leads: list[LeadRecord] = []
        self._also_at: list[AlsoAtRecord] = []
        self._extractions: list[ExtractionRecord] = []
        self._summary: Summary | None = None

    def write(self, record: Record) -> None:
        if isinstance(record, Finding):
            self._spool.add(record)
        elif isinstance(record, LeadRecord):
            # as the JSONL keeps it (rounded), so a report made again from it is the same
            self._leads.append(_as_saved(record))
        elif isinstance(record, SkippedRecord):
            kind = record.mime or error_kind(record.reason)
            self._skipped.setdefault(kind, _Bucket(kind)).items.append(record)
        elif isinstance(record, ErrorRecord):
            kind = error_kind(record.error)
            self._errors.setdefault(kind, _Bucket(kind)).items.append(record)
        elif isinstance(record, NoteRecord):
            self._notes.append(record)
        elif isinstance(record, AlsoAtRecord):
            self._also_at.append(record)
        elif isinstance(record, ExtractionRecord):
            self._extractions.append(record)
        elif isinstance(record, Summary):
            self._summary = record

    def close(self) -> None:
        from .template import render

        try:
            with SourceQuoter(self.options.index, self.options.archive_dirs) as quoter:
                groups = self._spool.groups()
                for chunk in render(self._context(groups, quoter)):
                    self.stream.write(chunk)
            self.stream.flush()
        finally:
            self._spool.close()

    # -- what the template is given

    def _context(self, groups: list[SourceGroup], quoter: SourceQuoter) -> dict[str, Any]:
        summary = self._summary
        run = _run_view(summary.run if summary is not None else {})
        leads = lead_views(self._leads, groups)
        case = {
            "case": self.options.case or run.get("case"),
            "examiner": self.options.examiner or run.get("examiner"),
            "note": self.options.note or run.get("note"),
        }
        return {
            "case": case,
            "run": run,
            "summary": summary,
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "findings_total": len(self._spool),
            "groups_toc": [(g, f"source-{g.number}", language_of(g.source)) for g in groups],
            "groups": self._group_views(groups, quoter, leads),
            "leads": leads,
            "skipped": sorted(self._skipped.values(), key=lambda b: (-len(b.items), b.title)),
            "errors": sorted(self._errors.values(), key=lambda b: (-len(b.items), b.title)),
            "notes": self._notes,
            "also_at": self._also_at,
            "extractions": self._extractions
            or [_extraction_of(e) for e in (summary.extractions if summary else [])],
            "archive_dirs": self.options.archive_dirs,
            "quoting": self.options.quote_sources,
            "detailed_limit": self.options.detailed,
            "expanded": self.options.expanded,
        }

    def _detailed(self, groups: list[SourceGroup]) -> set[tuple[int, int]]:
        """The findings shown with their passages: the strongest ``options.detailed`` of all,
        and the strongest few of every source, so that each source shows its evidence."""
        limit = self.options.detailed
        every = ((e[0], e[1], g.number, e[2]) for g in groups for e in g.entries)
        chosen = every if limit <= 0 else heapq.nsmallest(limit, every)
        keys = {(number, offset) for _, _, number, offset in chosen}
        for group in groups:
            keys.update((group.number, e[2]) for e in group.entries[:_DETAILED_PER_SOURCE])
        return keys

    def _group_views(
        self, groups: list[SourceGroup], quoter: SourceQuoter, leads: list[LeadView]
    ) -> Iterator[GroupView]:
        detailed = self._detailed(groups)
        by_source: dict[str | None, list[LeadView]] = {}
        for lead in leads:
            by_source.setdefault(lead.group_anchor, []).append(lead)
        number = 0
        for group in groups:
            findings = [
                (f, (group.number, entry[2]) in detailed)
                for f, entry in zip(self._spool.findings(group), group.entries, strict=True)
            ]
            spans = [(p.source_start, p.source_end) for f, d in findings if d for p in f.passages]
            quoted: SourceText | Unquoted | None = None
            if self.options.quote_sources and spans:
                names = (group.source, *group.also_at)
                quoted = quoter.quote(names, group.source_sha256, spans)
            anchor = f"source-{group.number}"
            view = GroupView(group, anchor, language_of(group.source), quoted)
            view.leads = by_source.get(anchor, [])
            quotes = iter(quoted.quotes if isinstance(quoted, SourceText) else ())
            for f, shown in findings:
                number += 1
                view.findings.append(self._finding_view(number, f, quotes, quoted, shown))
                view.brief += not shown
            yield view

    def _finding_view(
        self,
        number: int,
        f: Finding,
        quotes: Iterator[Quoted | None],
        quoted: SourceText | Unquoted | None,
        detailed: bool,
    ) -> FindingView:
        passages = []
        for index, p in enumerate(f.passages if detailed else (), start=1):
            quote = next(quotes, None)
            missing = None
            if isinstance(quoted, SourceText) and quote is None:
                missing = "this passage lies beyond the source's text as read now"
            left, right = mark_pair(p.text, quote.text if quote is not None else None)
            where = f"characters {p.suspect_start}–{p.suspect_end}"
            if p.bbox is not None:
                x0, y0, x1, y1 = p.bbox
                where = f"box x {x0}–{x1}, y {y0}–{y1} px, {where}"
            if p.page is not None:
                where = f"page {p.page}, {where}"
            source_where = f"words {p.source_start + 1}–{p.source_end}"
            if quote is not None and quote.page is not None:
                source_where = f"page {quote.page}, {source_where}"
            if quote is not None and quote.cut:
                source_where += f" (the last {quote.cut} characters not shown)"
            passages.append(PassageView(index, left, right, where, source_where, missing))
        chain, place = _chain(f.suspect)
        opened = number <= self.options.expanded
        return FindingView(number, f"finding-{number}", opened, f, chain, place, passages, detailed)


def _as_saved(lead: LeadRecord) -> LeadRecord:
    saved = record_from_dict(lead.to_dict())
    assert isinstance(saved, LeadRecord)
    return saved


def _extraction_of(data: dict[str, Any]) -> ExtractionRecord:
    return ExtractionRecord(
        suspect=str(data.get("suspect", "")),
        tool=str(data.get("tool", "")),
        case={str(k): str(v) for k, v in dict(data.get("case") or {}).items()},
        device={str(k): str(v) for k, v in dict(data.get("device") or {}).items()},
        suspect_sha256=data.get("suspect_sha256"),
    )


_RUN_FIELDS = ("command_line", "cwd", "host", "user", "started_at", "finished_at", "inventory")
_TARGET_FIELDS = ("path", "absolute", "kind", "size", "sha256", "error")


def _run_view(run: dict[str, Any]) -> dict[str, Any]:
    """The run record with every field the template reads (None where not recorded):
    a saved stream may come from an older leakscan, or have been edited."""
    view: dict[str, Any] = {key: _text_or_none(run.get(key)) for key in _RUN_FIELDS}
    for key in ("case", "examiner", "note"):
        view[key] = _text_or_none(run.get(key))
    targets = run.get("targets")
    view["targets"] = [
        {key: t.get(key) for key in _TARGET_FIELDS}
        for t in (targets if isinstance(targets, list) else [])
        if isinstance(t, dict)
    ]
    for target in view["targets"]:
        if not isinstance(target["size"], int):
            target["size"] = None
        for key in ("path", "absolute", "kind", "sha256", "error"):
            target[key] = _text_or_none(target[key])
    return view


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)
