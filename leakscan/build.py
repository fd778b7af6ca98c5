"""Index building: fingerprint every readable file below archive folders, incrementally.

A file whose content (sha256) is already indexed at its path is skipped; a
changed file replaces its old fingerprints; with ``prune`` documents whose
files are gone are dropped. Extraction and fingerprinting run in worker
processes with ``jobs > 1``; the one writer is this process.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ConfigurationError
from .exports.archives import ArchiveLimits
from .exports.expand import Expander, Opened
from .fingerprint import Fingerprinter, Scheme
from .index import Index, builds_index
from .intake import Loaded, internal_error, load_item
from .isolation import Failure, Isolation, run_isolated
from .records import ErrorRecord, SkippedRecord
from .scan import DEFAULT_MAX_FILE_BYTES
from .walk import Item, display_name, hash_evidence

__all__ = ["BuildReport", "build"]

_COMMIT_EVERY = 1000  # documents per transaction: postings are written sorted per batch


@dataclass
class BuildReport:
    """What an index build did, file by file where it matters."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    removed: int = 0
    errors: list[ErrorRecord] = field(default_factory=list)
    skipped: list[SkippedRecord] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    @property
    def files(self) -> int:
        return self.added + self.replaced + self.unchanged + len(self.errors) + len(self.skipped)

    def summary_line(self) -> str:
        return (
            f"{self.files} files: {self.added} added, {self.replaced} replaced, "
            f"{self.unchanged} unchanged, {len(self.skipped)} skipped, "
            f"{len(self.errors)} errors; {self.removed} removed "
            f"({self.elapsed_seconds:.1f} s)"
        )


@dataclass(frozen=True)
class _Job:
    root: str
    relative: str
    item: Item
    sha256: str
    size: int
    mtime_ns: int
    replaces: bool


@dataclass(frozen=True)
class _Fingerprinted:
    mime: str
    hashes: np.ndarray
    starts: np.ndarray
    simhash: int
    n_tokens: int


def _fingerprint_file(
    fingerprinter: Fingerprinter, item: Item, max_bytes: int
) -> _Fingerprinted | ErrorRecord | SkippedRecord:
    loaded = load_item(item, max_bytes)
    if not isinstance(loaded, Loaded):
        return loaded
    try:
        fingerprint = fingerprinter.fingerprint(loaded.extracted.text)
    except Exception as exc:
        return internal_error(item, loaded.sha256, exc)
    if fingerprint.n_tokens == 0:
        return ErrorRecord(item.name, "no words in the extracted text", loaded.sha256)
    return _Fingerprinted(
        loaded.extracted.mime,
        fingerprint.hashes,
        fingerprint.starts,
        fingerprint.simhash,
        fingerprint.n_tokens,
    )


_worker_fingerprinter: Fingerprinter | None = None


def _init_worker(key: bytes, scheme: Scheme) -> None:
    global _worker_fingerprinter
    _worker_fingerprinter = Fingerprinter(key, scheme)


def _work(job: tuple[Item, int]) -> _Fingerprinted | ErrorRecord | SkippedRecord:
    assert _worker_fingerprinter is not None, "worker not initialised"
    item, max_bytes = job
    return _fingerprint_file(_worker_fingerprinter, item, max_bytes)


def _relative(item: Item, root: str) -> str:
    """The document path below its root; an archive member keeps its ``!member`` tail."""
    relative = Path(os.path.relpath(item.path, root)).as_posix()
    holder = display_name(item.path)
    if item.name != holder and item.name.startswith(holder + "!"):
        relative += item.name[len(holder) :]
    return relative


def _jobs(
    index: Index,
    roots: Sequence[Path],
    report: BuildReport,
    seen: dict[str, set[str]],
    max_bytes: int,
) -> Iterator[_Job]:
    """Files that need fingerprinting; unchanged ones are counted and passed over."""
    for given in roots:
        root_path = given.resolve()
        targets = [root_path]
        if root_path.is_file():
            targets, root_path = [root_path], root_path.parent
        root = str(root_path)
        seen.setdefault(root, set())
        for entry in Expander(ArchiveLimits(max_member_bytes=max_bytes)).expand(targets):
            if isinstance(entry, Opened):
                continue
            if isinstance(entry, ErrorRecord):
                report.errors.append(entry)
                continue
            if isinstance(entry, SkippedRecord):
                report.skipped.append(entry)
                continue
            relative = _relative(entry, root)
            seen[root].add(relative)
            if entry.data is not None:
                sha256 = hashlib.sha256(entry.data).hexdigest()
                size = len(entry.data)
                try:
                    mtime_ns = os.stat(entry.path).st_mtime_ns
                except OSError:
                    mtime_ns = 0
            else:
                try:
                    sha256, info = hash_evidence(entry.path)
                except OSError as exc:
                    report.errors.append(ErrorRecord(entry.name, f"cannot read: {exc.strerror}"))
                    continue
                size, mtime_ns = info.st_size, info.st_mtime_ns
            if size > max_bytes:
                limit = f"larger than the {max_bytes}-byte limit ({size} bytes)"
                report.skipped.append(SkippedRecord(entry.name, limit))
                continue
            existing = index.find_document(relative, root)
            if existing is not None and index.backend.find_content(sha256) == existing.content_id:
                report.unchanged += 1
                continue
            yield _Job(
                root,
                relative,
                entry,
                sha256,
                size,
                mtime_ns,
                replaces=existing is not None,
            )


@builds_index  # one writer at a time; the index is marked complete only if this returns
def build(
    index: Index,
    roots: Sequence[str | os.PathLike[str]],
    *,
    jobs: int = 1,
    prune: bool = False,
    public: bool = False,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    progress: Callable[[str], None] | None = None,
    isolation: Isolation | None = None,
) -> BuildReport:
    """Fingerprint every readable file below ``roots`` into ``index``.

    ``public`` marks the documents as public (press releases, published
    reports): their text never raises findings. ``progress`` is called with
    each file's name once it is done. Archives (and e-mails) below the roots
    are opened: their members are indexed as ``archive.zip!member``. Each file
    is read in a worker process under ``isolation``'s time limit and memory
    cap (by default ``jobs`` workers and the default limits).
    """
    started = time.monotonic()
    report = BuildReport()
    seen: dict[str, set[str]] = {}
    paths = [Path(r) for r in roots]
    for path in paths:
        if not path.exists():
            raise ConfigurationError(f"archive folder {path} does not exist")
    pending_writes = 0

    def store(job: _Job, outcome: _Fingerprinted | ErrorRecord | SkippedRecord) -> None:
        nonlocal pending_writes
        if progress is not None:
            progress(job.item.name)
        if isinstance(outcome, ErrorRecord):
            report.errors.append(outcome)
            return
        if isinstance(outcome, SkippedRecord):
            report.skipped.append(outcome)
            return
        index.add_hashes(
            outcome.hashes,
            outcome.starts,
            outcome.simhash,
            outcome.n_tokens,
            path=job.relative,
            root=job.root,
            sha256=job.sha256,
            size=job.size,
            mtime_ns=job.mtime_ns,
            mime=outcome.mime,
            public=public,
        )
        if job.replaces:
            report.replaced += 1
        else:
            report.added += 1
        pending_writes += 1
        if pending_writes >= _COMMIT_EVERY:
            index.commit()
            pending_writes = 0

    work = (
        (job, (job.item, max_file_bytes))
        for job in _jobs(index, paths, report, seen, max_file_bytes)
    )
    for job, outcome in run_isolated(
        isolation or Isolation(jobs=max(1, jobs)),
        _work,
        work,
        initializer=_init_worker,
        initargs=(index.key, index.scheme),
    ):
        if isinstance(outcome, Failure):
            outcome = ErrorRecord(job.item.name, outcome.reason, job.sha256)
        assert outcome is not None
        store(job, outcome)
    if prune:
        for root, present in seen.items():
            for document in list(index.documents(root)):
                if document.path not in present:
                    index.backend.remove_document(document.id)
                    report.removed += 1
    index.commit()
    report.elapsed_seconds = time.monotonic() - started
    return report
