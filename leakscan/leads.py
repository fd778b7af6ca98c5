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
from dataclasses import dataclass

from .match import MatchParams, confidence
from .records import Finding, LeadRecord

__all__ = ["Screened", "screen"]

#: Kinds scored from text evidence: the ones --min-score and leads apply to.
TEXT_KINDS = frozenset({"excerpt", "near-duplicate", "exact-copy"})


@dataclass(frozen=True)
class Screened:
    """What an item's matches come to."""

    findings: list[Finding]
    leads: list[LeadRecord]
    #: Matches below --min-score that are neither reported nor part of a lead.
    hidden: int


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
    hidden = 0
    for finding in found:
        if finding.kind in TEXT_KINDS and finding.score < min_score:
            hidden += id(finding) not in in_lead
        else:
            kept.append(finding)
    return Screened(kept, leads, hidden)
