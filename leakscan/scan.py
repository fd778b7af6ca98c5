"""Orchestration: targets → items → extract → fingerprint → match → records.

Each item is isolated: whatever goes wrong with it becomes an ``error``
record and the scan goes on. Items are worked on by ``jobs`` worker
processes, each with its own read-only connection to the index, each item
under a time limit and a memory cap; results come back in the order the
items were found, with a bounded number in flight, so memory stays bounded
however large the export.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from ._version import __version__
from .chatscan import scan_chat
from .errors import LeakscanError
from .exports.archives import ArchiveLimits
from .exports.expand import Expander, Opened
from .extract import Extracted
from .fingerprint import Fingerprint
from .index import DEFAULT_INDEX, Index
from .intake import Loaded, internal_error, load_item
from .isolation import DEFAULT_ISOLATION, Failure, Isolation, run_isolated
from .match import Matcher, MatchParams, SourceMatch
from .records import ErrorRecord, Finding, Passage, Record, SkippedRecord, Summary, outcome_of
from .walk import Item

__all__ = ["DEFAULT_MAX_FILE_BYTES", "ScanOptions", "Scanner", "scan"]


#: Files larger than this are skipped with a record (adjustable with --max-file-size).
DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class ScanOptions:
    """What a scan reports, how hard it works, and the limits that keep hostile input in check."""

    min_score: float = 0.5
    jobs: int = 1
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    params: MatchParams = field(default_factory=MatchParams)
    #: Seconds one item may take in its worker before it is stopped (an ``error`` record).
    timeout_seconds: float = DEFAULT_ISOLATION.timeout_seconds
    #: Address-space cap of each worker process, in bytes (0: none).
    worker_memory_bytes: int = DEFAULT_ISOLATION.memory_bytes
    archive_limits: ArchiveLimits | None = None

    @property
    def isolation(self) -> Isolation:
        return Isolation(max(1, self.jobs), self.timeout_seconds, self.worker_memory_bytes)

    @property
    def limits(self) -> ArchiveLimits:
        """Archive limits; a member is held to the same size limit as a file."""
        if self.archive_limits is not None:
            return self.archive_limits
        return ArchiveLimits(max_member_bytes=self.max_file_bytes)


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
            if item.chat is not None:
                return list(
                    scan_chat(
                        item.name,
                        item.chat,
                        self.index,
                        loaded.holder_sha256,
                        loaded.member_sha256,
                        lambda extracted: self._find(item.name, extracted, loaded),
                    )
                )
            found = self._find(item.name, loaded.extracted, loaded)
        except LeakscanError:
            raise  # the index failed, not the item: that ends the scan
        except Exception as exc:
            return [internal_error(item, loaded.holder_sha256, exc)]
        sent = item.sent_in
        if sent is not None:
            found = [
                replace(f, sent_in=sent.message, sender=sent.sender, sent_at=sent.sent_at)
                for f in found
            ]
        return list(found)

    def _find(self, name: str, extracted: Extracted, loaded: Loaded) -> list[Finding]:
        fingerprint = self.index.fingerprinter.fingerprint(extracted.text)
        matches = self.matcher.match(fingerprint)
        found = findings_for(
            name, loaded.holder_sha256, extracted, fingerprint, matches, self.options.min_score
        )
        if loaded.member_sha256 is not None:
            found = [replace(f, member_sha256=loaded.member_sha256) for f in found]
        return found

    def scan_path(self, path: str) -> list[Record]:
        """Records of every item in one file (an archive's members, a chat's messages),
        in this process: a watcher runs it in a worker for each file that arrives."""
        records: list[Record] = []
        for entry in Expander(self.options.limits).expand([path]):
            if isinstance(entry, Item):
                records.extend(self.scan_item(entry))
            elif not isinstance(entry, Opened):
                records.append(entry)
        return records

    def scan(self, targets: Sequence[str | os.PathLike[str]]) -> Iterator[Record]:
        """Records for every item below the targets, then a Summary."""
        started = time.monotonic()
        summary = Summary(index=self.index.describe(), tool_version=__version__)
        for item, records in self._outcomes(targets, summary):
            _count(summary, item, records)
            yield from records
        summary.elapsed_seconds = time.monotonic() - started
        yield summary

    def _entries(
        self, targets: Sequence[str | os.PathLike[str]], summary: Summary
    ) -> Iterator[tuple[Item | None, list[Record]]]:
        """(item to work on, or None with the records already known) for every entry."""
        for entry in Expander(self.options.limits).expand(targets):
            if isinstance(entry, Opened):
                summary.containers += 1
            elif isinstance(entry, Item):
                yield entry, []
            else:
                yield None, [entry]

    def _outcomes(
        self, targets: Sequence[str | os.PathLike[str]], summary: Summary
    ) -> Iterator[tuple[Item | None, list[Record]]]:
        """One list of records per item, in the order the items were found.

        With an index on disk every item is read in an isolated worker
        process (see :mod:`leakscan.isolation`); an in-memory index can only
        be scanned in this process, without time limits.
        """
        location = getattr(self.index.backend, "path", None)
        entries = self._entries(targets, summary)
        if location is None:
            for item, known in entries:
                yield item, known if item is None else self.scan_item(item)
            return
        for (item, known), result in run_isolated(
            self.options.isolation,
            _work,
            (((item, known), item) for item, known in entries),
            initializer=_init_worker,
            initargs=(str(location), self.index.key, self.options),
        ):
            if isinstance(result, Failure):
                assert item is not None
                yield item, [ErrorRecord(item.name, result.reason, item.holder_sha256)]
            else:
                yield item, known if result is None else result


def _count(summary: Summary, item: Item | None, records: list[Record]) -> None:
    """Every item is counted once: scanned, skipped or in error."""
    summary.items += 1
    if item is not None and item.chat is not None:
        summary.chat_messages += sum(not m.system for m in item.chat.chat.messages)
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
        if item is not None:
            summary.bytes_scanned += _size_of(item)


def _size_of(item: Item) -> int:
    if item.data is not None:
        return len(item.data)
    try:
        return os.stat(item.path).st_size
    except OSError:
        return 0


_worker: Scanner | None = None


def _init_worker(location: str, key: bytes, options: ScanOptions) -> None:
    global _worker
    _worker = Scanner(Index.open(location, key=key, readonly=True), options)


def _work(item: Item) -> list[Record]:
    assert _worker is not None, "worker not initialised"
    return _worker.scan_item(item)


def _work_path(path: str) -> list[Record]:
    assert _worker is not None, "worker not initialised"
    return _worker.scan_path(path)


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
