"""From an item's matches to what is reported: strong ones, leads, and a count of the rest.

One sentence pasted into a chat is weak evidence on its own; three sentences
of one memo pasted by one person over a week are not. The matches of one
source document in one item (a chat, a database, a mailbox message with its
attachments) are therefore added up into a ``lead`` record, each source
passage counted once however often it was pasted. A match below
``--min-score`` is not reported on its own, but is counted (``hidden``),
and is listed in a lead that reaches the score.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from .match import MatchParams, confidence
from .records import Finding, LeadRecord

__all__ = ["ExportLeads", "Screened", "screen"]

#: Weak matches below this score are chance (a few function words), not kept for leads.
WEAK_FLOOR = 0.05
#: Matches of one source kept per scan target for export-wide leads.
MAX_KEPT_PER_SOURCE = 200

#: Kinds scored from text evidence: the ones --min-score and leads apply to.
TEXT_KINDS = frozenset({"excerpt", "near-duplicate", "exact-copy"})


@dataclass(frozen=True)
class Screened:
    """What an item's matches come to."""

    findings: list[Finding]
    leads: list[LeadRecord]
    #: Matches below --min-score that are neither reported nor part of a lead.
    hidden: int
    #: Those of them worth adding up across the items of an export (passage texts dropped).
    weak: list[Finding] = field(default_factory=list)


def _source_spans(finding: Finding) -> list[tuple[int, int]]:
    return [(p.source_start, p.source_end) for p in finding.passages]


def _novel_share(spans: list[tuple[int, int]], taken: list[tuple[int, int]]) -> float:
    """The share of ``spans`` (source token ranges) not inside ``taken``."""
    total = sum(end - start for start, end in spans)
    if total <= 0:
        return 0.0
    inside = 0
    for start, end in spans:
        for t_start, t_end in taken:
            inside += max(0, min(end, t_end) - max(start, t_start))
    return max(0.0, 1.0 - inside / total)


def _lead(
    item: str, item_sha256: str, group: list[Finding], min_score: float, params: MatchParams
) -> LeadRecord:
    """Sum the group's evidence, a source passage counted once however often it recurs."""
    taken: list[tuple[int, int]] = []
    evidence = 0.0
    for finding in sorted(group, key=lambda f: (-(f.evidence or 0.0), f.suspect)):
        spans = _source_spans(finding)
        evidence += (finding.evidence or 0.0) * _novel_share(spans, taken)
        taken.extend(spans)
    senders = tuple(dict.fromkeys(f.sender for f in group if f.sender))
    first = group[0]
    return LeadRecord(
        suspect=item,
        suspect_sha256=item_sha256,
        source=first.source,
        source_sha256=first.source_sha256,
        score=confidence(evidence, params),
        evidence=evidence,
        matches=tuple(f.suspect for f in group),
        senders=senders,
        below_min_score=sum(f.score < min_score for f in group),
        source_label=first.source_label,
    )


def screen(
    item: str,
    item_sha256: str,
    found: Sequence[Finding],
    min_score: float,
    params: MatchParams | None = None,
) -> Screened:
    """Keep matches at ``min_score`` or above; group two or more matches of one source in
    this item into a lead, reported when its summed evidence reaches ``min_score``."""
    by_source: dict[str, list[Finding]] = defaultdict(list)
    for finding in found:
        if finding.kind in TEXT_KINDS and finding.evidence is not None:
            by_source[finding.source_sha256].append(finding)
    leads = []
    in_lead: set[int] = set()
    for group in by_source.values():
        if len(group) < 2:
            continue
        lead = _lead(item, item_sha256, group, min_score, params or MatchParams())
        if lead.score >= min_score and lead.score > max(f.score for f in group):
            leads.append(lead)
            in_lead.update(id(f) for f in group)
    kept = []
    weak = []
    hidden = 0
    for finding in found:
        if finding.kind in TEXT_KINDS and finding.score < min_score:
            if id(finding) not in in_lead:
                hidden += 1
                if finding.score >= WEAK_FLOOR:
                    weak.append(_slim(finding))
        else:
            kept.append(finding)
    return Screened(kept, leads, hidden, weak)


def _slim(finding: Finding) -> Finding:
    """A weak match as export-wide leads need it: where, which source, which passages."""
    return replace(
        finding,
        message_text=None,
        passages=tuple(replace(p, text="") for p in finding.passages),
    )


def _item_of(locator: str) -> str:
    """The item a match lies in: a chat message's chat, a member's own path."""
    return locator.split("#", 1)[0]


class ExportLeads:
    """Weak matches of one source spread over several items of one scan target (three
    files, each with one sentence of a memo) added up into one lead for the target."""

    def __init__(self, min_score: float, params: MatchParams | None = None) -> None:
        self.min_score = min_score
        self.params = params or MatchParams()
        self._found: dict[tuple[str, str], list[Finding]] = defaultdict(list)

    def add(self, target: str, findings: Sequence[Finding]) -> None:
        """Text matches of one item (reported ones and weak ones) under this target."""
        for finding in findings:
            if finding.kind not in TEXT_KINDS or finding.evidence is None:
                continue
            kept = self._found[(target, finding.source_sha256)]
            if len(kept) < MAX_KEPT_PER_SOURCE:
                kept.append(_slim(finding))

    def leads(self) -> tuple[list[LeadRecord], int]:
        """The leads that reach --min-score over two items or more, and how many weak
        matches they took in (no longer hidden)."""
        found = []
        taken = 0
        for (target, _), group in sorted(self._found.items()):
            weak = [f for f in group if f.score < self.min_score]
            if not weak or len({_item_of(f.suspect) for f in group}) < 2:
                continue
            lead = _lead(target, "", group, self.min_score, self.params)
            if lead.score >= self.min_score and lead.score > max(f.score for f in group):
                found.append(lead)
                taken += len(weak)
        return found, taken
