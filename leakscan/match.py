"""From a suspect's fingerprints to scored source matches with aligned passages.

Steps: look up how many indexed contents hold each fingerprint and drop the
common ones (letterheads, standard clauses) and those of public documents;
fetch the postings of the rest; per source, chain matching fingerprints that
advance together in suspect and source (allowing small gaps and shifts for
edits) into passages; score by how much text the passages cover. Simhash
near-duplicates are looked up by band and scored too.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

from .fingerprint import Fingerprint, distinct, hamming
from .index import Index
from .index.base import ContentRecord

__all__ = ["MatchParams", "Matcher", "SourceMatch", "TokenPassage", "common_cutoff"]


@dataclass(frozen=True)
class MatchParams:
    """Tunable thresholds of matching; the defaults are what the tests and README measure."""

    #: A fingerprint held by at least common_cutoff(N) of N indexed contents is boilerplate.
    common_min_contents: int = 3
    common_fraction: float = 0.001
    #: Fixed cut-off overriding the rule above (None: use the rule).
    common_contents: int | None = None
    #: Passages bridge runs of unmatched tokens up to this long (edited words, dropped common text).
    max_gap_tokens: int = 24
    #: Allowed drift between suspect and source offsets inside one passage (insertions, deletions).
    max_shift_tokens: int = 10
    #: Shorter passages are noise (shared phrases), not evidence.
    min_passage_tokens: int = 8
    #: Simhash distance at or below which two whole documents are near-duplicates.
    near_duplicate_distance: int = 3
    #: Simhash of fewer shingles than this is too unstable to call near-duplicates.
    near_duplicate_min_shingles: int = 40
    #: Matched tokens giving a score of 0.5; the score rises towards 1 with more.
    score_half_tokens: int = 25
    #: Most postings of one fingerprint in one source that are followed (repetitive texts).
    max_positions_per_source: int = 16


def common_cutoff(contents: int, params: MatchParams = MatchParams()) -> int:
    """Contents a fingerprint must be in to count as boilerplate.

    Text found in three independent documents is standard text, whatever the
    archive's size; in large archives the cut-off grows with a thousandth of it,
    so that a letterhead of one department among many still counts.

    >>> [common_cutoff(n) for n in (2, 8, 3000, 100_000)]
    [3, 3, 3, 100]
    """
    if params.common_contents is not None:
        return params.common_contents
    return max(params.common_min_contents, math.ceil(params.common_fraction * contents))


@dataclass(frozen=True)
class TokenPassage:
    """A matched stretch in token positions: suspect [start, end), source [start, end).

    ``evidence`` counts the suspect tokens covered by rare fingerprints;
    the rest of the passage is bridged by common ones or by small edits.
    """

    suspect_start: int
    suspect_end: int
    source_start: int
    source_end: int
    evidence: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class SourceMatch:
    """One indexed content found in a suspect, with the numbers behind the verdict."""

    content: ContentRecord
    kind: str
    score: float
    containment: float
    coverage: float
    simhash_distance: int
    matched_tokens: int
    evidence_tokens: int
    passages: tuple[TokenPassage, ...]


@dataclass
class _Chain:
    suspect_start: int
    suspect_end: int
    source_start: int
    source_last: int
    last_suspect: int
    evidence: list[tuple[int, int]]

    @property
    def diagonal(self) -> int:
        return self.source_last - self.last_suspect


def _chain(pairs: list[tuple[int, int, int, bool]], params: MatchParams) -> list[TokenPassage]:
    """Group (suspect start, suspect end, source position, rare) hits into aligned passages."""
    pairs.sort()
    closed: list[_Chain] = []
    open_chains: list[_Chain] = []
    for start, end, position, rare in pairs:
        diagonal = position - start
        best: _Chain | None = None
        for chain in open_chains:
            if position < chain.source_last:
                continue
            drift = abs(diagonal - chain.diagonal)
            if drift <= params.max_shift_tokens and (
                best is None or drift < abs(diagonal - best.diagonal)
            ):
                best = chain
        if best is None:
            best = _Chain(start, end, position, position, start, [])
            open_chains.append(best)
        else:
            best.suspect_end = max(best.suspect_end, end)
            best.source_last = position
            best.last_suspect = start
        if rare:
            best.evidence.append((start, end))
        still_open: list[_Chain] = []
        for chain in open_chains:
            gap = start - chain.suspect_end
            (still_open if gap <= params.max_gap_tokens else closed).append(chain)
        open_chains = still_open
    closed.extend(open_chains)
    passages = []
    for chain in sorted(closed, key=lambda c: c.suspect_start):
        if (
            not chain.evidence
            or chain.suspect_end - chain.suspect_start < params.min_passage_tokens
        ):
            continue
        source_end = chain.source_last + (chain.suspect_end - chain.last_suspect)
        passages.append(
            TokenPassage(
                chain.suspect_start,
                chain.suspect_end,
                chain.source_start,
                source_end,
                tuple(chain.evidence),
            )
        )
    return _merge_overlaps(passages)


def _merge_overlaps(passages: list[TokenPassage]) -> list[TokenPassage]:
    merged: list[TokenPassage] = []
    for passage in passages:
        if merged and passage.suspect_start < merged[-1].suspect_end:
            last = merged[-1]
            if passage.suspect_end <= last.suspect_end:
                continue  # contained: a repeated fragment, keep the longer alignment
            merged[-1] = TokenPassage(
                last.suspect_start,
                passage.suspect_end,
                min(last.source_start, passage.source_start),
                max(last.source_end, passage.source_end),
                last.evidence + passage.evidence,
            )
        else:
            merged.append(passage)
    return merged


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _length(spans: list[tuple[int, int]]) -> int:
    return sum(end - start for start, end in _union(spans))


def _minus(spans: list[tuple[int, int]], taken: list[tuple[int, int]]) -> int:
    """Length of ``spans`` outside ``taken`` (both unions of token spans)."""
    outside = 0
    for start, end in _union(spans):
        covered = sum(max(0, min(end, t_end) - max(start, t_start)) for t_start, t_end in taken)
        outside += end - start - covered
    return outside


@dataclass
class Matcher:
    """Matches fingerprints against one index."""

    index: Index
    params: MatchParams = field(default_factory=MatchParams)
    refresh_seconds: float = 30.0
    _contents: int = -1
    _counted_at: float = 0.0

    def cutoff(self) -> int:
        """Current boilerplate cut-off; the content count is re-read now and then."""
        now = time.monotonic()
        if self._contents < 0 or now - self._counted_at > self.refresh_seconds:
            self._contents = self.index.content_count()
            self._counted_at = now
        return common_cutoff(self._contents, self.params)

    def match(self, fingerprint: Fingerprint) -> list[SourceMatch]:
        """Every indexed content found in this fingerprint, best first.

        Only rare fingerprints nominate sources and count as evidence; common
        ones (boilerplate) found in a nominated source fill in its passages,
        so an exact copy still shows its letterhead as part of the copy.
        """
        params = self.params
        unique = distinct(fingerprint.hashes).tolist()
        frequencies = self.index.frequencies(unique) if unique else {}
        cutoff = self.cutoff()
        rare = {h for h, n in frequencies.items() if n < cutoff}
        common = [h for h in frequencies if h not in rare]
        postings = self.index.postings(sorted(rare)) if rare else []
        near: set[int] = set()
        if fingerprint.n_shingles >= params.near_duplicate_min_shingles:
            near = self.index.near_duplicates(fingerprint.simhash)
        candidate_ids = {p.content_id for p in postings} | near
        if not candidate_ids:
            return []
        contents = self.index.contents(sorted(candidate_ids))
        public = {cid for cid, c in contents.items() if c.public}
        public_hashes = {p.hash for p in postings if p.content_id in public}
        candidates = sorted(set(contents) - public)
        if common and candidates:
            postings += self.index.postings(common, candidates)
        by_hash: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for posting in postings:
            if posting.hash not in public_hashes and posting.content_id not in public:
                by_hash[posting.hash].append((posting.content_id, posting.position))
        pairs: dict[int, list[tuple[int, int, int, bool]]] = defaultdict(list)
        starts, ends = fingerprint.starts.tolist(), fingerprint.ends.tolist()
        for i, h in enumerate(fingerprint.hashes.tolist()):
            per_source: dict[int, int] = defaultdict(int)
            is_rare = h in rare
            for cid, position in by_hash.get(h, ()):
                per_source[cid] += 1
                if per_source[cid] <= params.max_positions_per_source:
                    pairs[cid].append((starts[i], ends[i], position, is_rare))
        results = []
        for cid in candidates:
            result = self._score(fingerprint, contents[cid], _chain(pairs.get(cid, []), params))
            if result is not None:
                results.append(result)
        results.sort(key=lambda m: (-m.score, -m.matched_tokens, m.content.paths))
        return self._explain_away(results)

    def _explain_away(self, results: list[SourceMatch]) -> list[SourceMatch]:
        """Drop a weaker source whose evidence is mostly text a stronger source explains.

        Two archive documents sharing a passage (too few to count as
        boilerplate) would otherwise both be reported for a copy of one.
        """
        kept: list[SourceMatch] = []
        taken: list[tuple[int, int]] = []
        for result in results:
            spans = [span for p in result.passages for span in p.evidence]
            novel = _minus(spans, _union(taken))
            if (
                kept
                and result.kind != "near-duplicate"
                and (novel < self.params.score_half_tokens and novel * 2 < result.evidence_tokens)
            ):
                continue
            kept.append(result)
            taken.extend(spans)
        return kept

    def _score(
        self, fingerprint: Fingerprint, content: ContentRecord, passages: list[TokenPassage]
    ) -> SourceMatch | None:
        params = self.params
        distance = hamming(fingerprint.simhash, content.simhash)
        simhash_near = (
            fingerprint.n_shingles >= params.near_duplicate_min_shingles
            and content.n_fingerprints >= params.near_duplicate_min_shingles // 4
            and distance <= params.near_duplicate_distance
        )
        if not passages and not simhash_near:
            return None
        matched = _length([(p.suspect_start, p.suspect_end) for p in passages])
        evidence = _length([span for p in passages for span in p.evidence])
        source_covered = _length([(p.source_start, p.source_end) for p in passages])
        containment = min(1.0, source_covered / content.n_tokens) if content.n_tokens else 0.0
        coverage = min(1.0, matched / fingerprint.n_tokens) if fingerprint.n_tokens else 0.0
        score = evidence / (evidence + params.score_half_tokens)
        if simhash_near:
            score = max(score, 0.9)
        kind = (
            "near-duplicate"
            if simhash_near or (containment >= 0.8 and coverage >= 0.8)
            else "excerpt"
        )
        return SourceMatch(
            content=content,
            kind=kind,
            score=score,
            containment=containment,
            coverage=coverage,
            simhash_distance=distance,
            matched_tokens=matched,
            evidence_tokens=evidence,
            passages=tuple(passages),
        )
