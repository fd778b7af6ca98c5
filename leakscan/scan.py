"""Orchestration: items → extract → fingerprint → match → records, one item at a time.

Each item is isolated: whatever goes wrong with it becomes an ``error``
record and the scan goes on. With ``jobs > 1`` items are worked on by a pool
of processes, each with its own read-only connection to the index; results
come back in the order the items were found, with a bounded number in flight,
so memory stays bounded however large the export.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field

from ._version import __version__
from .errors import LeakscanError
from .extract import Extracted
from .fingerprint import Fingerprint
from .index import DEFAULT_INDEX, Index
from .intake import Loaded, internal_error, load_item
from .match import Matcher, MatchParams, SourceMatch
from .records import Finding, Passage, Record, SkippedRecord, Summary, outcome_of
from .walk import Item, walk

__all__ = ["DEFAULT_MAX_FILE_BYTES", "ScanOptions", "Scanner", "scan"]


#: Files larger than this are skipped with a record (adjustable with --max-file-size).
DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class ScanOptions:
    """What a scan reports and how hard it works."""

    min_score: float = 0.5
    jobs: int = 1
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    params: MatchParams = field(default_factory=MatchParams)


def findings_for(
    name: str,
    sha256: str,
    extracted: Extracted,
    fingerprint: Fingerprint,
    matches: Iterable[SourceMatch],
    min_score: float,
) -> list[Finding]:
    """Turn source matches into finding records quoting the suspect's original text."""
    tokens = fingerprint.tokens
    findings = []
    for match in matches:
        if match.score < min_score:
            continue
        passages = []
        for p in match.passages:
            start = int(tokens.starts[p.suspect_start])
            end = int(tokens.ends[p.suspect_end - 1])
            passages.append(
                Passage(
                    suspect_start=start,
                    suspect_end=end,
                    source_start=p.source_start,
                    source_end=p.source_end,
                    text=extracted.text[start:end],
                    tokens=p.suspect_end - p.suspect_start,
                    page=extracted.page_at(start) if len(extracted.pages) > 1 else None,
                )
            )
        paths = match.content.paths or ("<removed>",)
        findings.append(
            Finding(
                suspect=name,
                suspect_sha256=sha256,
                source=paths[0],
                source_sha256=match.content.sha256,
                kind=match.kind,
                score=match.score,
                containment=match.containment,
                coverage=match.coverage,
                simhash_distance=match.simhash_distance,
                matched_tokens=match.matched_tokens,
                passages=tuple(passages),
                source_also_at=tuple(paths[1:]),
            )
        )
    return findings


class Scanner:
    """Checks suspect items against an index; the CLI and the library both use it."""

    def __init__(self, index: Index, options: ScanOptions | None = None) -> None:
        self.index = index
        self.options = options or ScanOptions()
        self.matcher = Matcher(index, self.options.params)

    def scan_text(self, text: str, name: str = "<text>", sha256: str = "") -> list[Finding]:
        """Findings for a text held in memory (no file involved)."""
        fingerprint = self.index.fingerprinter.fingerprint(text)
        extracted = Extracted(text, "text/plain")
        matches = self.matcher.match(fingerprint)
        return findings_for(name, sha256, extracted, fingerprint, matches, self.options.min_score)

    def scan_item(self, item: Item) -> list[Record]:
        """All records for one item; never raises for a bad item."""
        loaded = load_item(item, self.options.max_file_bytes)
        if not isinstance(loaded, Loaded):
            return [loaded]
        try:
            fingerprint = self.index.fingerprinter.fingerprint(loaded.extracted.text)
            matches = self.matcher.match(fingerprint)
        except LeakscanError:
            raise  # the index failed, not the item: that ends the scan
        except Exception as exc:
            return [internal_error(item, loaded.sha256, exc)]
        return list(
            findings_for(
                item.name,
                loaded.sha256,
                loaded.extracted,
                fingerprint,
                matches,
                self.options.min_score,
            )
        )

    def scan(self, targets: Sequence[str | os.PathLike[str]]) -> Iterator[Record]:
        """Records for every item below the targets, then a Summary."""
        started = time.monotonic()
        summary = Summary(index=self.index.describe(), tool_version=__version__)
        for records in self._outcomes(targets):
            _count(summary, records)
            yield from records
        summary.elapsed_seconds = time.monotonic() - started
        yield summary

    def _outcomes(self, targets: Sequence[str | os.PathLike[str]]) -> Iterator[list[Record]]:
        """One list of records per item, in the order the items were found."""
        jobs = max(1, self.options.jobs)
        location = getattr(self.index.backend, "path", None)
        if jobs == 1 or location is None:
            for entry in walk(targets):
                yield self.scan_item(entry) if isinstance(entry, Item) else [entry]
            return
        with ProcessPoolExecutor(
            max_workers=jobs,
            initializer=_init_worker,
            initargs=(str(location), self.index.key, self.options),
        ) as pool:
            pending: deque[Future[list[Record]] | list[Record]] = deque()
            for entry in walk(targets):
                pending.append(pool.submit(_work, entry) if isinstance(entry, Item) else [entry])
                while len(pending) > 4 * jobs:
                    yield _settle(pending.popleft())
            while pending:
                yield _settle(pending.popleft())


def _settle(entry: Future[list[Record]] | list[Record]) -> list[Record]:
    return entry.result() if isinstance(entry, Future) else entry


def _count(summary: Summary, records: list[Record]) -> None:
    """Every item is counted once: scanned, skipped or in error."""
    summary.items += 1
    findings = sum(isinstance(r, Finding) for r in records)
    summary.findings += findings
    summary.suspects_with_findings += bool(findings)
    outcome = outcome_of(records)
    if outcome == "error":
        summary.errors += 1
    elif outcome == "skipped":
        summary.skipped += 1
        kind = next(r.mime for r in records if isinstance(r, SkippedRecord)) or "other"
        summary.skipped_by_type[kind] = summary.skipped_by_type.get(kind, 0) + 1
    else:
        summary.scanned += 1


_worker: Scanner | None = None


def _init_worker(location: str, key: bytes, options: ScanOptions) -> None:
    global _worker
    _worker = Scanner(Index.open(location, key=key, readonly=True), options)


def _work(item: Item) -> list[Record]:
    assert _worker is not None, "worker not initialised"
    return _worker.scan_item(item)


def scan(
    targets: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    index: Index | str | os.PathLike[str] = DEFAULT_INDEX,
    *,
    min_score: float = 0.5,
    jobs: int = 1,
) -> Iterator[Record]:
    """Scan files and folders against an index: yields Finding, ErrorRecord and
    SkippedRecord records, then one Summary. Sugar over :class:`Scanner`."""
    if isinstance(targets, (str, os.PathLike)):
        targets = [targets]
    own = not isinstance(index, Index)
    opened = Index.open(index, readonly=True) if not isinstance(index, Index) else index
    try:
        yield from Scanner(opened, ScanOptions(min_score=min_score, jobs=jobs)).scan(targets)
    finally:
        if own:
            opened.close()
