"""From a suspect's fingerprints to scored source matches with aligned passages.

Steps: look up how many indexed contents hold each fingerprint; the common
ones (letterheads, standard clauses) mark boilerplate and nominate nothing.
The rest nominate sources, and so do simhash near-duplicates (looked up by
band). Each nominated source is then aligned with the suspect exactly, on
its stored alignment units (:mod:`leakscan.align`): every shared run long
enough to be found under any key (the scheme's guarantee) counts, runs that
advance together (small gaps and shifts for edits) make one passage, and a
source passage repeated in the suspect, or a suspect passage repeated in the
source, counts once. So passages, ``matched_tokens`` and the score do not
depend on the index key, the build order or the number of jobs.

The score is a confidence that text was copied, from the *evidence*: the
matched words, each weighted by how much it says (:mod:`leakscan.rarity`:
function words little), with boilerplate (common in the archive), text of
public documents, and text several archive documents share counted as
little or nothing. Contents stored by an older leakscan, without alignment
units, are matched by their fingerprints' spans as before.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .align import Run, SourceUnits, common_runs_many
from .fingerprint import Fingerprint, Scheme, distinct, hamming
from .index import Index
from .index.base import ContentRecord, Posting
from .rarity import word_weights

__all__ = [
    "MatchParams",
    "Matcher",
    "SourceMatch",
    "TokenPassage",
    "common_cutoff",
    "confidence",
    "shared_weight",
]


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
    #: Evidence (weighted words, see :func:`confidence`) giving a score of 0.5 ...
    evidence_half: float = 6.0
    #: ... and how fast the score rises around it (evidence words per factor e of odds).
    evidence_scale: float = 1.5
    #: Most postings of one fingerprint in one source that are followed (repetitive texts).
    max_positions_per_source: int = 16
    #: A fingerprint held by more contents than this nominates no source (its text
    #: counts at most 1/k² of a word in each of its k holders): its postings are not read.
    max_nominating_contents: int = 8
    #: Most nominated sources aligned exactly for one suspect, those whose shared
    #: fingerprints are worth most first (each 1/k² for k holders in the archive, as
    #: evidence is counted), simhash near-duplicates always. Only an archive where a
    #: suspect's text recurs in many documents reaches it.
    max_aligned_sources: int = 24
    #: Past the first ``always_aligned`` of them, a source is aligned only if its shared
    #: fingerprints are worth this much (1/k² each): one that three contents hold, at
    #: least. Sources nominated only by text that four or more documents share mostly hold
    #: what the sources ranked first hold; each costs about half a millisecond
    #: (``benchmarks/scale.py``: page p99 at 100k documents 16 -> 10.5 ms, recall equal).
    always_aligned: int = 8
    min_worth: float = 1 / 9
    #: An archive of at most this many contents is aligned whole (see :meth:`Matcher.match`).
    whole_archive: int = 24


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


def shared_weight(holders: np.ndarray, contents: int) -> np.ndarray:
    """What a word held by ``holders`` of ``contents`` archive documents counts for.

    Text in a large share of the archive is standard text more often than not (the
    letterhead of both memos of a two-memo archive counts nothing); text a few
    documents of a large archive share (drafts, threads quoting each other) counts
    fully. Beyond the boilerplate cut-off, text counts nothing anyway.

    >>> shared_weight(np.array([1, 2, 2, 13]), 2).round(2).tolist()
    [1.0, 0.0, 0.0, 0.0]
    >>> shared_weight(np.array([1, 2, 13]), 20_000).round(2).tolist()
    [1.0, 1.0, 1.0]
    >>> [round(float(shared_weight(np.array([2]), n)[0]), 2) for n in (3, 4, 7, 20, 1000)]
    [0.0, 0.04, 0.23, 0.65, 0.99]
    """
    if contents < 2:
        return np.ones(len(holders), dtype=np.float64)
    share = np.clip((np.maximum(holders, 1) - 1) / (contents - 1), 0.0, 1.0)
    weight: np.ndarray = (1.0 - share) ** 8
    return weight


def confidence(evidence: float, params: MatchParams = MatchParams()) -> float:
    """The score of a match with this much evidence (weighted words): a logistic curve,
    0.5 at ``evidence_half``; its parameters are calibrated by ``benchmarks/scores.py``.

    >>> [round(confidence(e), 2) for e in (0, 4, 6, 8, 12)]
    [0.0, 0.21, 0.5, 0.79, 0.98]
    """
    if evidence <= 0:
        return 0.0
    z = (evidence - params.evidence_half) / params.evidence_scale
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


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
    #: Suspect tokens matched by distinctive text (not boilerplate, public or shared).
    evidence_tokens: int
    passages: tuple[TokenPassage, ...]
    #: The weighted evidence behind ``score`` (see :func:`confidence`).
    evidence: float = 0.0
    #: Matched suspect tokens counted as nothing because they are common in the archive
    #: (boilerplate) or in a registered public document.
    discounted_tokens: int = 0


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


@dataclass(frozen=True)
class _Piece:
    """A stretch of equal units, in tokens: suspect [start, end), source [start, end)."""

    suspect_start: int
    suspect_end: int
    source_start: int
    source_end: int


def _disjoint_pieces(
    runs: list[Run], suspect_tokens: np.ndarray, source_tokens: np.ndarray
) -> list[_Piece] | None:
    """The runs as pieces, in their order, when no two overlap on either side (most
    alignments: then no unit is used twice and the greedy walk would keep them all
    whole); None otherwise."""
    if not runs:
        return []
    a = np.fromiter((r.a_start for r in runs), np.int64, len(runs))
    b = np.fromiter((r.b_start for r in runs), np.int64, len(runs))
    n = np.fromiter((r.length for r in runs), np.int64, len(runs))
    for starts in (a, b):
        order = np.argsort(starts, kind="stable")
        if np.any(starts[order][1:] < (starts + n)[order][:-1]):
            return None
    return [
        _Piece(*place)
        for place in zip(
            suspect_tokens[a].tolist(),
            (suspect_tokens[a + n - 1] + 1).tolist(),
            source_tokens[b].tolist(),
            (source_tokens[b + n - 1] + 1).tolist(),
            strict=True,
        )
    ]


def _chain_pieces(pieces: list[_Piece], params: MatchParams) -> list[TokenPassage]:
    """Group exact pieces that advance together in suspect and source into passages.

    Like :func:`_chain`, but each piece knows its own source span, so a passage's
    source offsets are exact.
    """
    open_chains: list[list[_Piece]] = []
    closed: list[list[_Piece]] = []
    for piece in sorted(pieces, key=lambda p: (p.suspect_start, p.source_start)):
        diagonal = piece.source_start - piece.suspect_start
        best: list[_Piece] | None = None
        for chain in open_chains:
            last = chain[-1]
            if piece.source_start < last.source_start:
                continue
            drift = abs(diagonal - (last.source_start - last.suspect_start))
            if drift <= params.max_shift_tokens and (
                best is None
                or drift < abs(diagonal - (best[-1].source_start - best[-1].suspect_start))
            ):
                best = chain
        if best is None:
            open_chains.append([piece])
        else:
            best.append(piece)
        still_open: list[list[_Piece]] = []
        for chain in open_chains:
            gap = piece.suspect_start - max(p.suspect_end for p in chain)
            (still_open if gap <= params.max_gap_tokens else closed).append(chain)
        open_chains = still_open
    closed.extend(open_chains)
    passages = []
    for chain in closed:
        start = min(p.suspect_start for p in chain)
        end = max(p.suspect_end for p in chain)
        if end - start < params.min_passage_tokens:
            continue
        passages.append(
            TokenPassage(
                start,
                end,
                min(p.source_start for p in chain),
                max(p.source_end for p in chain),
                tuple((p.suspect_start, p.suspect_end) for p in chain),
            )
        )
    passages.sort(key=lambda p: (p.suspect_start, p.source_start))
    return _merge_overlaps(passages)


@dataclass(frozen=True)
class _Alignment:
    """One source's passages, whether it is the suspect's whole text, word for word."""

    passages: list[TokenPassage]
    exact: bool = False
    #: Suspect token spans this source holds too, down to one shingle's length (runs too
    #: short to count as evidence still say the text is not this suspect's alone).
    held: list[tuple[int, int]] = field(default_factory=list)


#: Units of sources aligned in one array pass (memory: about 40 bytes a unit).
_BATCH_UNITS = 2_000_000


def _batches(ids: list[int], units: dict[int, SourceUnits]) -> list[list[int]]:
    """Sources in groups of at most _BATCH_UNITS units (a large source alone)."""
    batches: list[list[int]] = []
    size = 0
    for cid in ids:
        length = len(units[cid].codes)
        if not batches or size + length > _BATCH_UNITS:
            batches.append([])
            size = 0
        batches[-1].append(cid)
        size += length
    return batches


def _token_mask(n_tokens: int, spans: list[tuple[int, int]]) -> np.ndarray:
    mask = np.zeros(n_tokens, dtype=bool)
    for start, end in spans:
        mask[max(0, start) : min(n_tokens, end)] = True
    return mask


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

    def minimum_runs(self, ocr: bool) -> tuple[int, int]:
        """Shortest shared runs that count, in words and in Arabic-script letters.

        Typed text: the scheme's guarantees. Then every archive document holding a
        counted run shares a fingerprint with the suspect, so whether a run counts, and
        how many documents hold it (shared text counts less), never depend on which
        shingles winnowing kept. (Counting shorter runs was tried with scheme 3: a 9-word
        letterhead was then nominated in one of two documents holding it, and read as a
        leak.) Text read by OCR (either side) breaks every few letters: runs of one
        shingle's length count, found through its every shingle; runs that long also show
        that a source holds a suspect's text (see :meth:`_align`).
        """
        scheme: Scheme = self.index.scheme
        if ocr:
            return scheme.word_k, scheme.short_k or scheme.char_k
        return scheme.word_guarantee, scheme.letter_guarantee

    def match(self, fingerprint: Fingerprint) -> list[SourceMatch]:
        """Every indexed content found in this fingerprint, best first."""
        params = self.params
        unique = distinct(fingerprint.hashes).tolist()
        cutoff = self.cutoff()
        # A fingerprint of text many documents share is worth 1/k² in each: it fills in
        # passages of sources nominated otherwise, but does not nominate (a bounded read:
        # only the postings of rare fingerprints few contents hold are read).
        nominating_holders = min(cutoff - 1, params.max_nominating_contents)
        frequencies, postings = (
            self.index.look_up(unique, nominating_holders) if unique else ({}, [])
        )
        rare = {h for h, n in frequencies.items() if n < cutoff}
        common = [h for h in frequencies if h not in rare]
        near: set[int] = set()
        if fingerprint.n_shingles >= params.near_duplicate_min_shingles:
            near = self.index.near_duplicates(fingerprint.simhash, params.near_duplicate_distance)
        hits: dict[int, set[int]] = defaultdict(set)
        for posting in postings:
            hits[posting.content_id].add(posting.hash)
        # Text several archive documents share counts 1/k² in each (see _verdicts): rank
        # sources by what their shared fingerprints can still be worth.
        worth = {cid: sum(1.0 / frequencies[h] ** 2 for h in found) for cid, found in hits.items()}
        ranked = sorted(hits, key=lambda cid: (-worth[cid], cid))
        ranked = [
            cid
            for place, cid in enumerate(ranked[: params.max_aligned_sources])
            if place < params.always_aligned or worth[cid] >= params.min_worth
        ]
        candidate_ids = set(ranked) | near
        if not candidate_ids:
            return []
        if self._contents <= params.whole_archive:
            # A small archive is aligned whole once the suspect shares anything with it:
            # a run shorter than the guarantee (a letterhead) nominates only some of the
            # documents holding it, and how many hold it decides what it counts for.
            candidate_ids |= {d.content_id for d in self.index.documents()}
        contents, units = self.index.sources(sorted(candidate_ids))
        alignments = self._align_all(fingerprint, units)
        older = sorted(cid for cid in contents if cid not in units)
        if older:
            alignments.update(self._by_fingerprints(fingerprint, older, postings, rare, common))
        return self._verdicts(fingerprint, contents, alignments, set(common), frequencies)

    # -- exact alignment -------------------------------------------------

    def _align_all(
        self, fingerprint: Fingerprint, units: dict[int, SourceUnits]
    ) -> dict[int, _Alignment]:
        """Align every source at once (:func:`~leakscan.align.common_runs_many`), those
        read by OCR apart: their runs may be shorter."""
        alignments = {}
        letters = np.zeros(len(fingerprint.unit_letters) + 1, dtype=np.int64)
        np.cumsum(fingerprint.unit_letters, dtype=np.int64, out=letters[1:])
        for ocr in (False, True):
            ids = sorted(cid for cid, u in units.items() if (u.ocr or fingerprint.ocr) == ocr)
            if not ids:
                continue
            shortest = min(self.minimum_runs(ocr=True))  # one shingle: what holding takes
            for batch in _batches(ids, units):
                runs = common_runs_many(
                    fingerprint.unit_codes, [units[cid].codes for cid in batch], shortest
                )
                for cid, found in zip(batch, runs, strict=True):
                    alignments[cid] = self._align(fingerprint, units[cid], found, letters)
        return alignments

    def _align(
        self,
        fingerprint: Fingerprint,
        source: SourceUnits,
        runs: list[Run],
        letters: np.ndarray,
    ) -> _Alignment:
        """``letters``: how many of the suspect's units before each place are letters."""
        word_min, letter_min = self.minimum_runs(fingerprint.ocr or source.ocr)
        codes = fingerprint.unit_codes
        if not runs:
            return _Alignment([])
        # Runs of one shingle's length show that the source holds the text too (for
        # sharing evidence out, not as evidence).
        word_hold, letter_hold = self.minimum_runs(ocr=True)
        qualified = []
        held = []
        tokens = fingerprint.unit_tokens
        for run in runs:
            n_letters = int(letters[run.a_start + run.length] - letters[run.a_start])
            words = run.length - n_letters
            if words / word_min + n_letters / letter_min >= 1:
                qualified.append(run)
            if words / word_hold + n_letters / letter_hold >= 1:
                end = run.a_start + run.length - 1
                held.append((int(tokens[run.a_start]), int(tokens[end]) + 1))
        # Longest first, each unit of either text used once: a passage repeated on
        # one side matches once.
        qualified.sort(key=lambda r: (-r.length, r.a_start, r.b_start))
        suspect_tokens, source_tokens = fingerprint.unit_tokens, source.tokens
        pieces = _disjoint_pieces(qualified, suspect_tokens, source_tokens)
        if pieces is None:
            pieces = self._greedy_pieces(qualified, len(codes), suspect_tokens, source)
        whole = (
            bool(qualified)
            and len(codes) == len(source.codes)
            and qualified[0].length == len(codes)
            and qualified[0].a_start == qualified[0].b_start == 0
        )
        return _Alignment(_chain_pieces(pieces, self.params), exact=whole, held=held)

    @staticmethod
    def _greedy_pieces(
        qualified: list[Run], n_units: int, suspect_tokens: np.ndarray, source: SourceUnits
    ) -> list[_Piece]:
        """Runs that overlap on either side: longest first, each unit used once."""
        used_a = np.zeros(n_units, dtype=bool)
        used_b = np.zeros(len(source.codes), dtype=bool)
        source_tokens = source.tokens
        pieces = []
        for run in qualified:
            a, b, n = run.a_start, run.b_start, run.length
            free = ~used_a[a : a + n] & ~used_b[b : b + n]
            if not free.any():
                continue
            used_a[a : a + n] |= free
            used_b[b : b + n] |= free
            if free.all():  # most runs: one piece, no edges to look for
                edges = np.array([0, n])
            else:
                padded = np.zeros(n + 2, dtype=np.int8)
                padded[1:-1] = free
                edges = np.flatnonzero(np.diff(padded))
            for first, stop in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
                pieces.append(
                    _Piece(
                        int(suspect_tokens[a + first]),
                        int(suspect_tokens[a + stop - 1]) + 1,
                        int(source_tokens[b + first]),
                        int(source_tokens[b + stop - 1]) + 1,
                    )
                )
        return pieces

    def _by_fingerprints(
        self,
        fingerprint: Fingerprint,
        content_ids: list[int],
        postings: list[Posting],
        rare: set[int],
        common: list[int],
    ) -> dict[int, _Alignment]:
        """Passages of contents stored without alignment units (an older index): chained
        from shared fingerprints; rare ones give the evidence, common ones fill in."""
        params = self.params
        wanted = set(content_ids)
        found = [p for p in postings if p.content_id in wanted]
        if common:
            found += self.index.postings(common, content_ids)
        by_hash: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for posting in found:
            by_hash[posting.hash].append((posting.content_id, posting.position))
        pairs: dict[int, list[tuple[int, int, int, bool]]] = defaultdict(list)
        starts, ends = fingerprint.starts.tolist(), fingerprint.ends.tolist()
        for i, h in enumerate(fingerprint.hashes.tolist()):
            per_source: dict[int, int] = defaultdict(int)
            for cid, position in by_hash.get(h, ()):
                per_source[cid] += 1
                if per_source[cid] <= params.max_positions_per_source:
                    pairs[cid].append((starts[i], ends[i], position, h in rare))
        return {cid: _Alignment(_chain(pairs.get(cid, []), params)) for cid in content_ids}

    # -- scores ------------------------------------------------------------

    def _verdicts(
        self,
        fingerprint: Fingerprint,
        contents: dict[int, ContentRecord],
        alignments: dict[int, _Alignment],
        common: set[int],
        frequencies: dict[int, int],
    ) -> list[SourceMatch]:
        """Score every aligned source: a matched word counts by its weight, as nothing when
        it is boilerplate or public text, and shared among the sources holding it."""
        n = fingerprint.n_tokens
        # Boilerplate is what common word or 12-letter shingles cover; a common 7-letter
        # shingle is two Urdu function words more often than a letterhead.
        # Winnowing leaves up to w - 1 words at each end of a common run without a common
        # pick over them: the mask reaches that far beyond each pick.
        streams = fingerprint.streams.tolist() or [0] * len(fingerprint.hashes)
        reach = self.index.scheme.word_w - 1
        common_spans: list[tuple[int, int]] = []
        held_spans: list[tuple[int, int, int]] = []
        for h, start, end, stream in zip(
            fingerprint.hashes.tolist(),
            fingerprint.starts.tolist(),
            fingerprint.ends.tolist(),
            streams,
            strict=True,
        ):
            if stream >= 2:
                continue
            if h in common:
                common_spans.append((start - reach, end + reach))
            held = frequencies.get(h, 0)
            if held > 1:
                held_spans.append((start, end, held))
        boilerplate = _token_mask(n, common_spans)
        masks = {
            cid: _token_mask(n, [span for p in a.passages for span in p.evidence])
            for cid, a in alignments.items()
        }
        public = np.zeros(n, dtype=bool)
        holders = np.zeros(n, dtype=np.int64)
        for cid, mask in masks.items():
            if contents[cid].public:
                public |= mask
            else:
                holders += mask | _token_mask(n, alignments[cid].held)
        # Holders of a word the nominated sources do not all show (fewer were aligned, or
        # some were not nominated): as many as hold the shingles around it.
        for start, end, held in held_spans:
            np.maximum(holders[start:end], held, out=holders[start:end])
        discounted = boilerplate | public
        weights = word_weights(fingerprint.tokens.tokens) * shared_weight(holders, self._contents)
        weights[discounted] = 0.0
        results = []
        for cid in sorted(contents):
            content = contents[cid]
            if content.public:
                continue
            alignment = alignments.get(cid, _Alignment([]))
            mask = masks.get(cid, np.zeros(n, dtype=bool))
            result = self._score(fingerprint, content, alignment, mask, weights, discounted)
            if result is not None:
                results.append(result)
        results.sort(key=lambda m: (-m.score, -m.evidence, -m.matched_tokens, m.content.paths))
        return self._explain_away(results)

    def _score(
        self,
        fingerprint: Fingerprint,
        content: ContentRecord,
        alignment: _Alignment,
        mask: np.ndarray,
        weights: np.ndarray,
        discounted: np.ndarray,
    ) -> SourceMatch | None:
        params = self.params
        passages = alignment.passages
        distance = hamming(fingerprint.simhash, content.simhash)
        simhash_near = (
            fingerprint.n_shingles >= params.near_duplicate_min_shingles
            and content.n_fingerprints >= params.near_duplicate_min_shingles // 4
            and distance <= params.near_duplicate_distance
        )
        if not passages and not simhash_near:
            return None
        matched = _length([(p.suspect_start, p.suspect_end) for p in passages])
        source_covered = _length([(p.source_start, p.source_end) for p in passages])
        containment = min(1.0, source_covered / content.n_tokens) if content.n_tokens else 0.0
        coverage = min(1.0, matched / fingerprint.n_tokens) if fingerprint.n_tokens else 0.0
        evidence = float(weights[mask].sum())
        score = confidence(evidence, params)
        if alignment.exact:
            kind, score = "exact-copy", 1.0
        elif simhash_near or (containment >= 0.8 and coverage >= 0.8):
            kind = "near-duplicate"
            if simhash_near:
                score = max(score, 0.9)
        else:
            kind = "excerpt"
        return SourceMatch(
            content=content,
            kind=kind,
            score=score,
            containment=containment,
            coverage=coverage,
            simhash_distance=distance,
            matched_tokens=matched,
            evidence_tokens=int((mask & ~discounted).sum()),
            passages=tuple(passages),
            evidence=evidence,
            discounted_tokens=int((mask & discounted).sum()),
        )

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
                and result.kind not in ("near-duplicate", "exact-copy")
                and novel < self.params.evidence_half * 2
                and novel * 2 < _length(spans)
            ):
                continue
            kept.append(result)
            taken.extend(spans)
        return kept
