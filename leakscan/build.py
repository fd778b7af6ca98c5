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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .align import encode_alignment
from .errors import ConfigurationError
from .exports.archives import ArchiveLimits
from .exports.expand import Expander, Opened, resume_after
from .exports.folders import FileJob, Walker
from .fingerprint import Fingerprinter, Scheme
from .images import PictureHashes
from .imagescan import PictureIndex, ReadPicture, index_picture
from .index import Index, register_path_builder
from .intake import DEFAULT_MAX_FILE_BYTES, Loaded, examine_item, internal_error
from .isolation import Done, Failure, Isolation, Progress, run_steps
from .names import locator_part
from .ocr import OcrSettings, for_index
from .records import ErrorRecord, ExtractionRecord, NoteRecord, SkippedRecord
from .walk import Item, display_name, hash_evidence

__all__ = ["BuildReport", "build"]

#: A build commits after this many documents, or this many seconds, whichever comes
#: first. Each commit writes the postings B-tree pages its documents touched, and past
#: some 10 million postings a batch touches most of them: few, large commits keep a
#: million-document build linear (``benchmarks/scale.py``); a build that dies loses at
#: most one of them, and the next build picks up what was committed.
COMMIT_DOCUMENTS = 20_000
COMMIT_SECONDS = 60.0


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
    #: Documents read (in part) by OCR in this build, and their pages: recognised now
    #: or taken from the OCR cache.
    ocr_documents: int = 0
    ocr_pages_read: int = 0
    ocr_pages_cached: int = 0

    @property
    def files(self) -> int:
        return self.added + self.replaced + self.unchanged + len(self.errors) + len(self.skipped)

    def summary_line(self) -> str:
        ocr = ""
        if self.ocr_documents:
            ocr = (
                f"; {self.ocr_documents} read by OCR ({self.ocr_pages_read} pages read, "
                f"{self.ocr_pages_cached} from the OCR cache)"
            )
        return (
            f"{self.files} files: {self.added} added, {self.replaced} replaced, "
            f"{self.unchanged} unchanged, {len(self.skipped)} skipped, "
            f"{len(self.errors)} errors; {self.removed} removed{ocr} "
            f"({self.elapsed_seconds:.1f} s)"
        )


@dataclass(frozen=True)
class _BuildJob:
    """A file for a worker: its place below the root, and the content indexed there now."""

    root: str
    file: FileJob
    known_sha256: str | None
    max_bytes: int
    #: Contents indexed now for the members of this file, if it is an archive (path → sha256).
    known_members: dict[str, str] = field(default_factory=dict)
    ocr: OcrSettings | None = None


@dataclass(frozen=True)
class _Fingerprinted:
    mime: str
    hashes: np.ndarray
    starts: np.ndarray
    simhash: int
    n_tokens: int
    #: Pages read by OCR now and from the cache (-1: the text did not come from OCR).
    ocr_pages_read: int = -1
    ocr_pages_cached: int = 0
    #: The text's alignment units, encrypted under the index key.
    alignment: bytes = b""


@dataclass(frozen=True)
class _Document:
    """One document read by a worker: where it goes in the index, and its fingerprint
    (None when its content is the one already indexed at that path)."""

    relative: str
    name: str
    sha256: str
    size: int
    mtime_ns: int
    fingerprinted: _Fingerprinted | None
    #: An archive picture's perceptual hashes (stored beside its text's fingerprints).
    picture: PictureHashes | None = None


def _fingerprint_loaded(
    fingerprinter: Fingerprinter, loaded: Loaded
) -> _Fingerprinted | ErrorRecord | SkippedRecord:
    try:
        extracted = loaded.extracted
        fingerprint = fingerprinter.fingerprint(extracted.text, ocr=extracted.ocr is not None)
    except Exception as exc:
        return internal_error(loaded.item, loaded.sha256, exc)
    ocr = loaded.extracted.ocr
    if fingerprint.n_tokens == 0:
        if ocr is not None:  # a picture without text (a map, a photo): nothing to index
            return SkippedRecord(
                loaded.item.name, "no text found by OCR", loaded.extracted.mime, loaded.sha256
            )
        return ErrorRecord(loaded.item.name, "no words in the extracted text", loaded.sha256)
    return _Fingerprinted(
        loaded.extracted.mime,
        fingerprint.hashes,
        fingerprint.starts,
        fingerprint.simhash,
        fingerprint.n_tokens,
        ocr.pages_read if ocr is not None else -1,
        ocr.pages_cached if ocr is not None else 0,
        encode_alignment(fingerprint, fingerprinter.key, loaded.sha256),
    )


_worker_fingerprinter: Fingerprinter | None = None


def _init_worker(key: bytes, scheme: Scheme) -> None:
    global _worker_fingerprinter
    _worker_fingerprinter = Fingerprinter(key, scheme)


def _work(job: _BuildJob, progress: Progress) -> None:
    """Read one file below an archive root (an archive: each member) and fingerprint it."""
    assert _worker_fingerprinter is not None, "worker not initialised"
    limits = ArchiveLimits(max_member_bytes=job.max_bytes)
    for entry in Expander(limits).stepped(job.file, progress):
        if isinstance(entry, Opened | NoteRecord | ExtractionRecord):
            progress.part(None)
        elif isinstance(entry, Item):
            progress.part(_document(_worker_fingerprinter, job, entry))
        else:
            progress.part(entry)


def _document(
    fingerprinter: Fingerprinter, job: _BuildJob, item: Item
) -> _Document | ErrorRecord | SkippedRecord:
    relative = _relative(item, job.root)
    try:
        mtime_ns = os.stat(item.path).st_mtime_ns
    except OSError:
        mtime_ns = 0
    if item.data is None and job.known_sha256 is not None:
        try:
            sha256, info = hash_evidence(item.path)
        except OSError as exc:
            return ErrorRecord(item.name, f"cannot read: {exc.strerror or exc}")
        if sha256 == job.known_sha256:
            return _Document(relative, item.name, sha256, info.st_size, mtime_ns, None)
    if item.data is not None and relative in job.known_members:
        sha256 = hashlib.sha256(item.data).hexdigest()
        if sha256 == job.known_members[relative]:  # an unchanged member: not read again
            return _Document(relative, item.name, sha256, len(item.data), mtime_ns, None)
    loaded, seen = examine_item(item, job.max_bytes, job.ocr)
    picture = index_picture(item, loaded, job.max_bytes, seen.mime)  # indexed by its look too
    if isinstance(picture, ReadPicture):
        return _picture_document(fingerprinter, item, loaded, picture, relative, mtime_ns)
    if isinstance(loaded, SkippedRecord) and isinstance(picture, ErrorRecord):
        return picture  # a damaged picture says more than "OCR is off"
    if not isinstance(loaded, Loaded):
        return loaded
    size = len(item.data) if item.data is not None else os.stat(item.path).st_size
    fingerprinted = _fingerprint_loaded(fingerprinter, loaded)
    if not isinstance(fingerprinted, _Fingerprinted):
        return fingerprinted  # neither words nor a look to index: the text side's reason
    return _Document(relative, item.name, loaded.sha256, size, mtime_ns, fingerprinted)


def _picture_document(
    fingerprinter: Fingerprinter,
    item: Item,
    loaded: Loaded | ErrorRecord | SkippedRecord,
    picture: ReadPicture,
    relative: str,
    mtime_ns: int,
) -> _Document:
    """A picture: its text's fingerprints when it has words, its hashes in any case."""
    size = len(item.data) if item.data is not None else os.stat(item.path).st_size
    fingerprinted = (
        _fingerprint_loaded(fingerprinter, loaded) if isinstance(loaded, Loaded) else None
    )
    if not isinstance(fingerprinted, _Fingerprinted):  # no words (or no OCR): its look alone
        empty = np.zeros(0, dtype=np.uint64)
        fingerprinted = _Fingerprinted(picture.mime, empty, np.zeros(0, np.int64), 0, 0)
    return _Document(
        relative, item.name, picture.sha256, size, mtime_ns, fingerprinted, picture.hashes
    )


def _root_of(path: Path) -> str:
    """The archive root a given path is indexed under: itself, or a file's folder."""
    resolved = path.resolve()
    return str(resolved.parent if resolved.is_file() else resolved)


def _relative(item: Item, root: str) -> str:
    """The document path below its root; an archive member keeps its ``!member`` tail."""
    relative = locator_part(Path(os.path.relpath(item.path, root)).as_posix())
    holder = display_name(item.path)
    if item.name != holder and item.name.startswith(holder + "!"):
        relative += item.name[len(holder) :]
    return relative


def _resume(job: _BuildJob, done: Done[Any]) -> _BuildJob | None:
    file = resume_after(job.file, done)
    return None if file is None else replace(job, file=file)


def _jobs(
    index: Index,
    roots: Sequence[Path],
    report: BuildReport,
    isolation: Isolation,
    max_bytes: int,
    ocr: OcrSettings,
) -> Iterator[tuple[_BuildJob | ErrorRecord | SkippedRecord, _BuildJob | None]]:
    """Every file below the roots, with what is indexed at its path now."""
    for given in roots:
        root_path = given.resolve()
        targets = [root_path]
        if root_path.is_file():
            targets, root_path = [root_path], root_path.parent
        root = str(root_path)
        for entry in Walker(isolation).jobs(targets):
            if not isinstance(entry, FileJob):
                yield entry, None
                continue
            relative = locator_part(Path(os.path.relpath(entry.path, root)).as_posix())
            existing = index.find_document(relative, root)
            members = index.backend.documents_below(root, relative + "!")
            ids = [d.content_id for d in members] + ([existing.content_id] if existing else [])
            contents = index.contents(ids) if ids else {}
            known = None
            if existing is not None and existing.content_id in contents:
                known = contents[existing.content_id].sha256
            known_members = {
                d.path: contents[d.content_id].sha256 for d in members if d.content_id in contents
            }
            job = _BuildJob(root, entry, known, max_bytes, known_members, ocr)
            yield job, job


def _stopped(job: _BuildJob, done: Done[Any]) -> ErrorRecord:
    assert isinstance(done.result, Failure)
    name = done.step if done.step_kind == "scan" and done.step else job.file.name
    return ErrorRecord(name, done.result.reason)


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
    labels: Sequence[str] | None = None,
    ocr: OcrSettings | None = None,
) -> BuildReport:
    """Fingerprint every readable file below ``roots`` into ``index``.

    Each root gets a label (``labels``, in the order of ``roots``; by default
    the folder's name, or the label it had), which findings carry as
    ``source_label`` so two roots' files of the same relative path stay apart.

    ``public`` marks the documents as public (press releases, published
    reports): their text never raises findings. ``progress`` is called with
    each file's name once it is done. Archives (and e-mails) below the roots
    are opened: their members are indexed as ``archive.zip!member``. Each file
    is read in a worker process under ``isolation``'s time limit and memory
    cap (by default ``jobs`` workers and the default limits). Scans and
    pictures are read by OCR with ``ocr`` (default: on, the cache beside the
    index); ``index stats`` counts the documents read so.
    """
    with index.writing():  # one writer at a time; the index is complete only if this returns
        started = time.monotonic()
        report = BuildReport()
        seen: dict[str, set[str]] = {}
        paths = [Path(r) for r in roots]
        for path in paths:
            if not path.exists():
                raise ConfigurationError(f"archive folder {path} does not exist")
        if labels is not None and len(labels) != len(paths):
            raise ConfigurationError(
                f"{len(labels)} labels for {len(paths)} archive folders: give one --label each"
            )
        known = index.roots()
        for number, path in enumerate(paths):
            root = _root_of(path)
            given = labels[number] if labels is not None else None
            label = given or known.get(root, {}).get("label") or Path(root).name or root
            index.record_root(root, label)  # a clash of labels stops the build before it reads
        pending_writes = 0
        last_commit = time.monotonic()
        isolation = isolation or Isolation(jobs=max(1, jobs))
        pictures = PictureIndex(index)
        ocr_settings = for_index(
            ocr or OcrSettings(), getattr(index.backend, "path", None), isolation.timeout_seconds
        )

        def store(job: _BuildJob, outcome: _Document | ErrorRecord | SkippedRecord) -> None:
            nonlocal pending_writes, last_commit
            root = job.root
            if progress is not None:
                progress(outcome.name if isinstance(outcome, _Document) else outcome.suspect)
            if not isinstance(outcome, _Document):
                # A document that cannot be read now is not pruned: it may be read next time.
                relative = locator_part(Path(os.path.relpath(job.file.path, root)).as_posix())
                if outcome.suspect.startswith(job.file.name):
                    seen.setdefault(root, set()).add(
                        relative + outcome.suspect[len(job.file.name) :]
                    )
                if isinstance(outcome, ErrorRecord):
                    report.errors.append(outcome)
                else:
                    report.skipped.append(outcome)
                return
            seen.setdefault(root, set()).add(outcome.relative)
            existing = index.find_document(outcome.relative, root)
            if existing is not None and (
                outcome.fingerprinted is None
                or index.backend.find_content(outcome.sha256) == existing.content_id
            ):
                report.unchanged += 1
                return
            fingerprinted = outcome.fingerprinted
            if fingerprinted is None:  # changed between the look and the read: read next time
                return
            if fingerprinted.ocr_pages_read >= 0:
                report.ocr_documents += 1
                report.ocr_pages_read += fingerprinted.ocr_pages_read
                report.ocr_pages_cached += fingerprinted.ocr_pages_cached
            index.add_hashes(
                fingerprinted.hashes,
                fingerprinted.starts,
                fingerprinted.simhash,
                fingerprinted.n_tokens,
                path=outcome.relative,
                root=root,
                sha256=outcome.sha256,
                size=outcome.size,
                mtime_ns=outcome.mtime_ns,
                mime=fingerprinted.mime,
                public=public,
                ocr=fingerprinted.ocr_pages_read >= 0,
                alignment=fingerprinted.alignment,
            )
            if outcome.picture is not None:  # (a look-up writes what the backend kept back)
                content_id = index.backend.find_content(outcome.sha256)
                if content_id is not None:
                    pictures.add(content_id, outcome.picture)
            if existing is not None:
                report.replaced += 1
            else:
                report.added += 1
            pending_writes += 1
            now = time.monotonic()
            if pending_writes >= COMMIT_DOCUMENTS or now - last_commit >= COMMIT_SECONDS:
                index.commit()
                pending_writes = 0
                last_commit = now

        for done in run_steps(
            isolation,
            _work,
            _jobs(index, paths, report, isolation, max_file_bytes, ocr_settings),
            initializer=_init_worker,
            initargs=(index.key, index.scheme),
            resume=_resume,
        ):
            entry = done.key
            if not isinstance(entry, _BuildJob):
                if isinstance(entry, ErrorRecord):
                    report.errors.append(entry)
                else:
                    report.skipped.append(entry)
                continue
            seen.setdefault(entry.root, set())
            for part in done.parts:
                if isinstance(part, Done):
                    store(entry, _stopped(entry, part))
                elif part is not None:
                    store(entry, part)
            if isinstance(done.result, Failure):
                store(entry, _stopped(entry, done))
        if prune:
            for root, present in seen.items():
                for document in list(index.documents(root)):
                    if document.path not in present:
                        index.backend.remove_document(document.id)
                        report.removed += 1
        index.commit()
        report.elapsed_seconds = time.monotonic() - started
        return report


def _add_path(index: Index, path: Path, public: bool) -> str:
    return build(index, [path], public=public).summary_line()


register_path_builder(_add_path)
