"""Orchestration: targets → items → extract → fingerprint → match → records.

Each item is isolated: whatever goes wrong with it becomes an ``error``
record and the scan goes on. Items are worked on by ``jobs`` worker
processes, each with its own read-only connection to the index, each item
under a time limit and a memory cap; results come back in the order the
items were found, with a bounded number in flight, so memory stays bounded
however large the export.

With ``inventory=True`` a scan also yields an :class:`~leakscan.records.ItemRecord`
for every item examined and every container opened, just before that item's
records (see :mod:`leakscan.inventory`).
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ._version import __version__
from .chatscan import scan_chat
from .errors import ExtractionError, LeakscanError
from .exports.archives import ArchiveLimits
from .exports.chat_apps import DATABASE, UFDR, NoMessages
from .exports.expand import Expander, Opened, resume_after
from .exports.folders import FileJob, Walker
from .extract import Extracted
from .fingerprint import Fingerprint
from .imagescan import PictureMatcher
from .index import DEFAULT_INDEX, Index
from .intake import (
    DEFAULT_MAX_FILE_BYTES,
    ItemBytes,
    Loaded,
    examine_item,
    internal_error,
    read_item_stream,
)
from .inventory import (
    container_facts,
    enclosing,
    hash_unread,
    item_facts,
    record_facts,
    stream_mime,
    utc_now,
)
from .isolation import DEFAULT_ISOLATION, Done, Failure, Isolation, Progress, run_steps
from .leads import ExportLeads, Screened, screen
from .match import Matcher, MatchParams, SourceMatch
from .ocr import OcrSettings, for_index
from .records import (
    ErrorRecord,
    ExtractionRecord,
    Finding,
    ItemRecord,
    LeadRecord,
    NoteRecord,
    Passage,
    Record,
    SkippedRecord,
    Summary,
    outcome_of,
)
from .walk import Item

__all__ = ["DEFAULT_MAX_FILE_BYTES", "ScanOptions", "Scanner", "scan"]

log = logging.getLogger(__name__)


DEFAULT_MAX_CHAT_BYTES = 16 << 30
Tick = Callable[[], None]


@dataclass(frozen=True)
class ScanOptions:
    """What a scan reports, how hard it works, and the limits that keep hostile input in check."""

    min_score: float = 0.5
    jobs: int = 1
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    params: MatchParams = field(default_factory=MatchParams)
    #: Seconds one item may take in its worker before it is stopped (an ``error`` record).
    timeout_seconds: float = DEFAULT_ISOLATION.timeout_seconds
    #: Address-space cap of each worker process, in bytes (0: none; None: a share of
    #: the machine's memory, see :func:`leakscan.isolation.default_worker_memory`).
    worker_memory_bytes: int | None = None
    archive_limits: ArchiveLimits | None = None
    #: Chat exports are streamed, so only an absurd size is refused.
    max_chat_bytes: int = DEFAULT_MAX_CHAT_BYTES
    #: Whether and how pictures and scanned pages are read (OCR); the cache defaults
    #: to a file beside the index.
    ocr: OcrSettings = field(default_factory=OcrSettings)

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
    labels: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Turn source matches into finding records quoting the suspect's original text;
    ``labels`` name the archive roots (given when an index holds several). Text read by
    OCR gives each passage its page and box on the picture, and the finding its ``ocr``."""
    tokens = fingerprint.tokens
    ocr = extracted.ocr
    findings = []
    for match in matches:
        kind, score = match.kind, match.score
        if sha256 and sha256 == match.content.sha256:  # the same bytes as the source
            kind, score = "exact-copy", 1.0
        if score < min_score:
            continue
        passages = []
        for p in match.passages:
            start = int(tokens.starts[p.suspect_start])
            end = int(tokens.ends[p.suspect_end - 1])
            page = extracted.page_at(start) if len(extracted.pages) > 1 else None
            region = ocr.region(start, end) if ocr is not None else None
            passages.append(
                Passage(
                    suspect_start=start,
                    suspect_end=end,
                    source_start=p.source_start,
                    source_end=p.source_end,
                    text=extracted.text[start:end],
                    tokens=p.suspect_end - p.suspect_start,
                    page=region[0] if region is not None else page,
                    bbox=region[1] if region is not None else None,
                )
            )
        read_by_ocr = ocr is not None and (
            not passages or any(p.bbox is not None for p in passages)
        )
        paths = match.content.paths or ("<removed>",)
        roots = match.content.roots
        findings.append(
            Finding(
                suspect=name,
                suspect_sha256=sha256,
                source=paths[0],
                source_sha256=match.content.sha256,
                kind=kind,
                score=score,
                containment=match.containment,
                coverage=match.coverage,
                simhash_distance=match.simhash_distance,
                matched_tokens=match.matched_tokens,
                passages=tuple(passages),
                source_also_at=tuple(paths[1:]),
                source_label=labels.get(roots[0]) if labels and roots else None,
                ocr=ocr.summary() if read_by_ocr and ocr is not None else None,
                evidence=match.evidence,
                discounted_tokens=match.discounted_tokens,
            )
        )
    return findings


@dataclass(frozen=True)
class Outcome:
    """What one entry of a file job came to: an item's records, or a container opened."""

    records: tuple[Record, ...] = ()
    #: False for a container opened (its members are the items) and for a note about one.
    item: bool = True
    container: bool = False
    chat_messages: int = 0
    chat_app: str = ""
    bytes_scanned: int = 0
    #: Pages of the item read by OCR now and taken from the OCR cache (-1: no OCR).
    ocr_pages_read: int = -1
    ocr_pages_cached: int = 0
    #: Matches below --min-score left out of the records (and of any lead).
    hidden: int = 0
    #: Those worth adding up across an export's items, and the text matches reported.
    weak: tuple[Finding, ...] = ()
    #: The item's (or container's) inventory line, made where it was read.
    facts: ItemRecord | None = None


class Scanner:
    """Checks suspect items against an index; the CLI and the library both use it."""

    def __init__(self, index: Index, options: ScanOptions | None = None) -> None:
        self.index = index
        self.options = options or ScanOptions()
        self.matcher = Matcher(index, self.options.params)
        #: OCR settings with the cache beside the index (none for an index in memory).
        self.ocr = for_index(
            self.options.ocr, getattr(index.backend, "path", None), self.options.timeout_seconds
        )
        labels = index.root_labels()
        #: Archive roots' labels, when there are several to tell apart.
        self.labels = labels if len(labels) > 1 else {}
        self.pictures = PictureMatcher(index, self.labels, max_bytes=self.options.max_file_bytes)

    def scan_text(
        self, text: str, name: str = "<text>", sha256: str = "", *, ocr: bool = False
    ) -> list[Finding]:
        """Findings for a text held in memory (no file involved); ``ocr``: it was read
        by OCR, so misread letters are allowed for (every shingle is looked up)."""
        fingerprint = self.index.fingerprinter.fingerprint(text, ocr=ocr)
        extracted = Extracted(text, "text/plain")
        matches = self.matcher.match(fingerprint)
        return findings_for(
            name, sha256, extracted, fingerprint, matches, self.options.min_score, self.labels
        )

    def scan_item(self, item: Item) -> list[Record]:
        """All records for one item; never raises for a bad item."""
        return list(self._item_outcome(item)[0].records)

    def _item_outcome(self, item: Item, tick: Tick | None = None) -> tuple[Outcome, ItemBytes]:
        """The item's outcome and what was learnt of its bytes; with ``tick`` (an inventory
        was asked for) a file skipped for its size is hashed all the same."""
        if item.chat is not None:
            return self._chat_outcome(item, tick)
        loaded, seen = examine_item(item, self.options.max_file_bytes, self.ocr)
        picture = self.pictures.check(item, loaded, seen.mime)  # compared by its look too
        if not isinstance(loaded, Loaded):
            if tick is not None and seen.sha256 is None and isinstance(loaded, SkippedRecord):
                seen = hash_unread(item, tick, self.options.max_file_bytes)
            if picture is not None and picture.instead is not None:
                loaded = picture.instead  # a damaged picture says more than a skip by rule
            if item.sent_in is not None and item.sent_in.message != item.name:
                loaded = replace(loaded, sent_in=item.sent_in.message)
            looks = (
                () if picture is None else (*picture.records, *self._sent(item, picture.findings))
            )
            return Outcome((*_notes(item, None, ()), loaded, *looks)), seen
        notes: tuple[Record, ...] = _notes(item, loaded.holder_sha256, loaded.extracted.notes)
        try:
            found = self._find(item.name, loaded.extracted, loaded)
        except LeakscanError:
            raise  # the index failed, not the item: that ends the scan
        except Exception as exc:
            return Outcome((*notes, internal_error(item, loaded.holder_sha256, exc))), seen
        if picture is not None:
            notes, found = (*notes, *picture.records), [*found, *picture.findings]
        screened = self._screen(item.name, loaded.holder_sha256, self._sent(item, found))
        ocr = loaded.extracted.ocr
        outcome = Outcome(
            (*notes, *screened.findings, *screened.leads),
            hidden=screened.hidden,
            weak=tuple(screened.weak),
            bytes_scanned=_size_of(item),
            ocr_pages_read=ocr.pages_read if ocr is not None else -1,
            ocr_pages_cached=ocr.pages_cached if ocr is not None else 0,
        )
        return outcome, seen

    def _sent(self, item: Item, found: list[Finding]) -> list[Finding]:
        """Findings given where the device kept the item and the message that sent it."""
        if item.device_path is not None:
            found = [replace(f, device_path=item.device_path) for f in found]
        sent = item.sent_in
        if sent is not None:
            found = [
                replace(
                    f,
                    sent_in=sent.message if sent.message != item.name else None,
                    sender=sent.sender,
                    sent_at=sent.sent_at,
                    conversation=sent.conversation,
                    from_me=sent.from_me,
                    app=sent.app,
                )
                for f in found
            ]
        return found

    def _chat_outcome(self, item: Item, tick: Tick | None) -> tuple[Outcome, ItemBytes]:
        """A chat export, streamed message by message (its size costs no attribution)."""
        assert item.chat is not None
        outcome, seen = self._chat_records(item)
        too_large = outcome.records and isinstance(outcome.records[-1], SkippedRecord)
        if tick is not None and seen.sha256 is None and too_large:
            seen = hash_unread(item, tick, self.options.max_chat_bytes)
        return outcome, seen

    def _chat_records(self, item: Item) -> tuple[Outcome, ItemBytes]:
        assert item.chat is not None
        read = read_item_stream(item, self.options.max_chat_bytes)
        if not isinstance(read, tuple):
            return Outcome((read,)), ItemBytes()
        stream, sha256, size = read
        seen = ItemBytes(size, sha256, stream_mime(stream))
        holder = item.holder_sha256 or sha256
        member = sha256 if item.holder_sha256 else None
        notes = _notes(item, holder, ())
        try:
            with stream:
                result = scan_chat(
                    item.name,
                    item.chat,
                    stream,
                    self.index,
                    holder,
                    member,
                    lambda extracted: self._find_text(item.name, extracted, holder, member),
                )
        except NoMessages as exc:  # a database of another app: passed over, by rule
            skipped = SkippedRecord(item.name, str(exc), "application/vnd.sqlite3", holder)
            return Outcome((*notes, skipped)), seen
        except LeakscanError as exc:
            if not isinstance(exc, ExtractionError):
                raise
            return Outcome((*notes, ErrorRecord(item.name, str(exc), holder))), seen
        except Exception as exc:
            return Outcome((*notes, internal_error(item, holder, exc))), seen
        screened = self._screen(item.name, holder, result.findings)
        records: list[Record] = [*notes, *screened.findings, *screened.leads]
        records.extend(NoteRecord(item.name, note, holder) for note in result.notes)
        if item.chat.app in (DATABASE, UFDR) and item.chat.missing:
            records.append(NoteRecord(item.name, _missing_media(item.chat.missing), holder))
        if result.error is not None:  # damaged past a point: what came before was scanned
            records.append(ErrorRecord(item.name, result.error, holder))
        outcome = Outcome(
            tuple(records),
            hidden=screened.hidden,
            weak=tuple(screened.weak),
            chat_messages=result.messages,
            chat_app=result.app,
            bytes_scanned=size,
        )
        return outcome, seen

    def _screen(self, name: str, sha256: str, found: list[Finding]) -> Screened:
        return screen(name, sha256, found, self.options.min_score, self.options.params)

    def _find(self, name: str, extracted: Extracted, loaded: Loaded) -> list[Finding]:
        return self._find_text(name, extracted, loaded.holder_sha256, loaded.member_sha256)

    def _find_text(
        self, name: str, extracted: Extracted, holder_sha256: str, member_sha256: str | None
    ) -> list[Finding]:
        fingerprint = self.index.fingerprinter.fingerprint(
            extracted.text, ocr=extracted.ocr is not None
        )
        matches = self.matcher.match(fingerprint)
        found = findings_for(
            name,
            holder_sha256,
            extracted,
            fingerprint,
            matches,
            0.0,  # weak matches too: screen() groups them into leads, and counts the rest
            self.labels,
        )
        if member_sha256 is not None:
            found = [replace(f, member_sha256=member_sha256) for f in found]
        return found

    def run_job(self, job: FileJob, progress: Progress, *, inventory: bool = False) -> None:
        """Read one file on disk and every item in it, reporting an Outcome per entry.

        Runs in a worker: each entry is a step of its own (its time limit
        starts when the step is announced), so a member that hangs costs that
        member, and the job can be resumed after it (``job.skip``). With
        ``inventory`` each Outcome carries its inventory line (containers
        inside others are hashed for it, and files skipped for their size).
        """
        expander = Expander(self.options.limits, hash_containers=inventory)
        entries = expander.located(job, progress)
        while True:
            examined_at = utc_now() if inventory else ""
            try:
                entry, containers = next(entries, (None, ()))
            except Exception as exc:  # a bug met on one crafted container
                reason = f"internal error while reading it: {type(exc).__name__}: {exc}"
                error = ErrorRecord(job.name, " ".join(reason.split()))
                progress.part(Outcome((error,), facts=record_facts((error,))))
                return
            if entry is None:
                return
            if isinstance(entry, Opened):
                facts = container_facts(entry, containers, examined_at) if inventory else None
                progress.part(Outcome(item=False, container=True, facts=facts))
            elif isinstance(entry, NoteRecord | ExtractionRecord):
                progress.part(Outcome((entry,), item=False))
            elif isinstance(entry, Item):
                tick = functools.partial(progress.step, entry.name, "scan") if inventory else None
                outcome, seen = self._item_outcome(entry, tick)
                if not inventory:
                    progress.part(outcome)
                    continue
                facts = item_facts(
                    entry.name,
                    outcome.records,
                    seen,
                    containers,
                    examined_at,
                    app=outcome.chat_app,
                    messages=outcome.chat_messages,
                )
                progress.part(replace(outcome, facts=facts))
            elif inventory:
                facts = record_facts((entry,), containers)
                progress.part(Outcome((entry,), facts=replace(facts, examined_at=examined_at)))
            else:
                progress.part(Outcome((entry,)))

    def scan_path(self, path: str) -> list[Record]:
        """Records of every item in one file (an archive's members, a chat's messages),
        in this process: a watcher runs it in a worker for each file that arrives."""
        records: list[Record] = []
        for job in Walker().jobs([path]):
            if not isinstance(job, FileJob):
                records.append(job)
                continue
            progress = Progress()
            self.run_job(job, progress)
            for part in progress.parts:
                records.extend(part.records)
        return records

    def scan(
        self,
        targets: Sequence[str | os.PathLike[str]],
        progress: Callable[[Summary, str], None] | None = None,
        *,
        inventory: bool = False,
    ) -> Generator[Record, None, None]:
        """Records for every item below the targets, then a Summary.

        ``progress`` is called after each item with the counts so far and the
        file on disk being read (an archive while its members are read).
        With ``inventory``, each item examined and each container opened is
        first announced by an :class:`~leakscan.records.ItemRecord` (its size,
        sha256, MIME type, containers, outcome and time), and files skipped
        for their size are hashed for it. Stopped by Ctrl-C (or a
        KeyboardInterrupt thrown into the generator), every worker is killed
        at once and the Summary says ``interrupted``.
        """
        started = time.monotonic()
        summary = Summary(
            index=self.index.describe(),
            tool_version=__version__,
            min_score=self.options.min_score,
        )
        spread = ExportLeads(self.options.min_score, self.options.params)
        roots = [os.path.abspath(os.fspath(t)) for t in targets]
        try:
            for holder, outcome in self._outcomes(targets, inventory):
                _count(summary, outcome)
                found = [r for r in outcome.records if isinstance(r, Finding)]
                if outcome.weak or found:
                    spread.add(_target_of(holder, roots), [*found, *outcome.weak])
                if progress is not None:
                    summary.elapsed_seconds = time.monotonic() - started
                    progress(summary, holder)
                if inventory and (outcome.item or outcome.container):
                    yield outcome.facts or record_facts(outcome.records)
                yield from outcome.records
        except KeyboardInterrupt:
            summary.interrupted = True
        leads, taken = spread.leads()
        summary.leads += len(leads)
        summary.hidden_findings -= taken
        yield from leads
        summary.elapsed_seconds = time.monotonic() - started
        yield summary

    def _outcomes(
        self, targets: Sequence[str | os.PathLike[str]], inventory: bool = False
    ) -> Iterator[tuple[str, Outcome]]:
        """Outcomes of every entry, in the order the files were found, with the name of
        the file on disk each came from.

        With an index on disk every file is read in an isolated worker process
        (see :mod:`leakscan.isolation`); an in-memory index can only be
        scanned in this process, without time limits.
        """
        jobs = Walker(self.options.isolation).jobs(targets)
        # an index file, or a database's URL (workers open their own connections to it)
        location = getattr(self.index.backend, "path", None) or getattr(
            self.index.backend, "conninfo", None
        )
        if location is None:
            for job in jobs:
                if not isinstance(job, FileJob):
                    yield job.suspect, Outcome((job,))
                    continue
                progress = Progress()
                self.run_job(job, progress, inventory=inventory)
                for part in progress.parts:
                    yield job.name, part
            return
        for done in run_steps(
            self.options.isolation,
            _work,
            ((job, job if isinstance(job, FileJob) else None) for job in jobs),
            initializer=_init_worker,
            initargs=(str(location), self.index.key, self.options, inventory),
            resume=resume_after,
        ):
            job = done.key
            if not isinstance(job, FileJob):
                yield job.suspect, Outcome((job,))
                continue
            for part in done.parts:
                yield job.name, part if isinstance(part, Outcome) else _failed(job, part)
            if isinstance(done.result, Failure):
                yield job.name, _failed(job, done)
            log.info("read %s", job.name)


def _target_of(holder: str, roots: list[str]) -> str:
    """The scan target (as given, made absolute) a file on disk was found under."""
    path = os.path.abspath(holder)
    for root in roots:
        if path == root or path.startswith(root.rstrip(os.sep) + os.sep):
            return root
    return path


def _size_of(item: Item) -> int:
    """The item's own bytes (a member's uncompressed size), as ``bytes_scanned`` counts them."""
    if item.data is not None:
        return len(item.data)
    try:
        return os.stat(item.path).st_size
    except OSError:
        return 0


def _missing_media(missing: frozenset[str]) -> str:
    """The note on a database or report whose messages name media the extraction lacks."""
    shown = sorted(missing)
    more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
    return (
        f"{len(shown)} media file(s) its messages name are not in the extraction: "
        + ", ".join(shown[:5])
        + more
    )


def _notes(item: Item, sha256: str | None, extracted: tuple[str, ...]) -> tuple[NoteRecord, ...]:
    return tuple(NoteRecord(item.name, note, sha256) for note in (*item.notes, *extracted))


def _failed(job: FileJob, done: Done[Any]) -> Outcome:
    """The record of the step a worker was stopped in."""
    assert isinstance(done.result, Failure)
    reason = done.result.reason
    if done.step_kind == "scan" and done.step:
        error = ErrorRecord(done.step, reason)
        return Outcome(
            (error,),
            facts=record_facts(
                (error,),
                enclosing(done.step, [p.facts for p in done.parts if isinstance(p, Outcome)]),
            ),
        )
    if job.skip or done.parts:
        reason += "; the rest of it was not read"
    error = ErrorRecord(job.name, reason)
    return Outcome((error,), facts=record_facts((error,)))


def _count(summary: Summary, outcome: Outcome) -> None:
    """Every item is counted once: scanned, skipped or in error."""
    records = list(outcome.records)
    if not outcome.item:
        summary.containers += outcome.container
        summary.extractions.extend(
            {k: v for k, v in r.to_dict().items() if k != "type"}
            for r in records
            if isinstance(r, ExtractionRecord)
        )
        return
    summary.items += 1
    summary.chat_messages += outcome.chat_messages
    if outcome.chat_app and outcome.chat_messages:
        by_app = summary.chat_messages_by_app
        by_app[outcome.chat_app] = by_app.get(outcome.chat_app, 0) + outcome.chat_messages
    findings = sum(isinstance(r, Finding) for r in records)
    leads = sum(isinstance(r, LeadRecord) for r in records)
    summary.findings += findings
    summary.leads += leads
    summary.hidden_findings += outcome.hidden
    findings += leads
    summary.suspects_with_findings += bool(findings)
    summary.notes += any(isinstance(r, NoteRecord) for r in records)
    result = outcome_of(records)
    if result == "error":
        summary.errors += 1
    elif result == "skipped":
        summary.skipped += 1
        kind = next(r.mime for r in records if isinstance(r, SkippedRecord)) or "other"
        summary.skipped_by_type[kind] = summary.skipped_by_type.get(kind, 0) + 1
    else:
        summary.scanned += 1
        summary.clean += not findings
        summary.bytes_scanned += outcome.bytes_scanned
    if outcome.ocr_pages_read >= 0:
        summary.ocr_items += 1
        summary.ocr_pages_read += outcome.ocr_pages_read
        summary.ocr_pages_cached += outcome.ocr_pages_cached


_worker: Scanner | None = None
_worker_inventory = False


def _init_worker(location: str, key: bytes, options: ScanOptions, inventory: bool = False) -> None:
    global _worker, _worker_inventory
    _worker = Scanner(Index.open(location, key=key, readonly=True), options)
    _worker_inventory = inventory


def _work(job: FileJob, progress: Progress) -> None:
    assert _worker is not None, "worker not initialised"
    _worker.run_job(job, progress, inventory=_worker_inventory)


def _work_path(path: str) -> list[Record]:
    assert _worker is not None, "worker not initialised"
    return _worker.scan_path(path)


def scan(
    targets: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    index: Index | str | os.PathLike[str] = DEFAULT_INDEX,
    *,
    min_score: float = 0.5,
    jobs: int = 1,
    inventory: bool = False,
    key_file: str | os.PathLike[str] | None = None,
) -> Iterator[Record]:
    """Scan files and folders against an index: yields Finding, ErrorRecord and
    SkippedRecord records (and with ``inventory`` an ItemRecord before each item's),
    then one Summary. Sugar over :class:`Scanner`; an index given by location is opened
    with its key file (``key_file``, else ``LEAKSCAN_KEY_FILE``, else beside it)."""
    if isinstance(targets, (str, os.PathLike)):
        targets = [targets]
    own = not isinstance(index, Index)
    opened = (
        Index.open(index, key_file=key_file, readonly=True)
        if not isinstance(index, Index)
        else index
    )
    try:
        scanner = Scanner(opened, ScanOptions(min_score=min_score, jobs=jobs))
        yield from scanner.scan(targets, inventory=inventory)
    finally:
        if own:
            opened.close()
