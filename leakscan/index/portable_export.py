"""``index export``: an index, whatever its backend, to one portable file.

Reads through the backend protocol only (:class:`~leakscan.index.base.IndexBackend`),
in batches, so memory stays flat however large the index; the format is
:mod:`leakscan.index.portable`, the way back :mod:`leakscan.index.portable_import`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .._version import __version__
from ..errors import ConfigurationError, LeakscanIndexError
from . import BUILD_COMPLETE, Index
from .base import DocumentRecord, IndexBackend
from .portable import (
    BATCH_BYTES,
    BATCH_CONTENTS,
    BATCH_DOCUMENT_CHARACTERS,
    BATCH_DOCUMENTS,
    COUNT_FIELDS,
    FORMAT_NAME,
    FORMAT_VERSION,
    FRAME,
    JSON_LENGTH,
    MAX_JSON,
    MAX_PAYLOAD,
    MAX_STORED,
    MAX_TEXT,
    ExportHeader,
    PortableContent,
    Progress,
    carries_meta,
    timestamp,
)

__all__ = ["ExportReport", "ExportWriter", "export_index", "export_to_file"]

log = logging.getLogger(__name__)


def _writable(text: str, what: str) -> None:
    """Refuse to write what no reader would read back: a file must import where it goes."""
    if len(text) > MAX_TEXT:
        raise LeakscanIndexError(f"{what}: a name over {MAX_TEXT} characters cannot be exported")


class ExportWriter:
    """Writes one export to a binary stream, frame by frame, hashing as it goes."""

    def __init__(self, out: BinaryIO, header: ExportHeader, *, level: int = 1) -> None:
        self._out = out
        self._digest = hashlib.sha256()
        self._level = level
        self._batch = 0  # contents in the last contents frame
        self.bytes_written = 0
        self.counts = dict.fromkeys(COUNT_FIELDS, 0)
        self._emit(f"{FORMAT_NAME} {FORMAT_VERSION}\n".encode("ascii"))
        document = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "compression": "zlib",
            "written_at": header.written_at,
            "written_by": header.written_by,
            "meta": header.meta,
            "counts": {"contents": header.contents, "documents": header.documents},
        }
        self._frame(b"H", json.dumps(document, sort_keys=True).encode("utf-8"))

    def _emit(self, data: bytes) -> None:
        self._out.write(data)
        self._digest.update(data)
        self.bytes_written += len(data)

    def _frame(self, kind: bytes, stored: bytes) -> None:
        if len(stored) > MAX_STORED:
            raise LeakscanIndexError(f"an export frame of {len(stored)} bytes is over the limit")
        self._emit(FRAME.pack(kind, len(stored)) + stored)

    def _packed(self, kind: bytes, document: object, *arrays: bytes) -> None:
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        size = JSON_LENGTH.size + len(text) + sum(len(a) for a in arrays)
        if len(text) > MAX_JSON or size > MAX_PAYLOAD:
            raise LeakscanIndexError(
                f"one batch of the export needs {size} bytes, more than the format's "
                f"{MAX_PAYLOAD}: a content too large to export"
            )
        squeeze = zlib.compressobj(self._level)
        parts = [squeeze.compress(JSON_LENGTH.pack(len(text))), squeeze.compress(text)]
        parts.extend(squeeze.compress(array) for array in arrays)
        parts.append(squeeze.flush())
        self._frame(kind, b"".join(parts))

    def write_contents(self, contents: list[PortableContent]) -> None:
        """A batch of contents; documents written next belong to it."""
        entries, hashes, deltas, blobs = [], [], [], []
        for item in contents:
            content = item.content
            positions = np.asarray(content.positions, dtype=np.int64)
            if len(positions) and (positions.min() < 0 or positions.max() > 0x7FFFFFFF):
                raise LeakscanIndexError(f"content {content.sha256}: token position out of range")
            hashes.append(np.asarray(content.hashes, dtype="<i8").tobytes())
            deltas.append(np.diff(positions, prepend=0).astype("<i4").tobytes())
            blobs.append(bytes(content.alignment))
            for view, kind, _ in item.pictures:
                _writable(view, f"content {content.sha256}'s picture")
                _writable(kind, f"content {content.sha256}'s picture")
            entries.append(
                {
                    "sha256": content.sha256,
                    "n_tokens": int(content.n_tokens),
                    "simhash": int(content.simhash),
                    "public": bool(content.public),
                    "ocr": bool(item.ocr),
                    "fingerprints": len(positions),
                    "recompute": bool(content.recomputable),
                    "alignment": len(content.alignment),
                    "pictures": [list(row) for row in item.pictures],
                    "picture_bands": [list(row) for row in item.picture_bands],
                }
            )
            self.counts["fingerprints"] += len(positions)
            self.counts["pictures"] += bool(item.pictures)
            self.counts["ocr"] += bool(item.ocr)
        self._packed(b"C", {"contents": entries}, *hashes, *deltas, *blobs)
        self._batch = len(contents)
        self.counts["contents"] += len(contents)

    def write_documents(self, documents: list[tuple[int, DocumentRecord]]) -> None:
        """Documents of the last contents batch, each with its content's place in it."""
        rows = []
        for place, doc in documents:
            if not 0 <= place < self._batch:
                raise ValueError(f"document {doc.path} names content {place} of {self._batch}")
            for text in (doc.root, doc.path, doc.mime):
                _writable(text, f"document {doc.path[:200]!r}")
            rows.append([place, doc.root, doc.path, int(doc.size), int(doc.mtime_ns), doc.mime])
        self._packed(b"D", {"documents": rows})
        self.counts["documents"] += len(rows)

    def finish(self) -> str:
        """The end frame and the checksum; returns the checksum (hex)."""
        self._packed(b"E", self.counts)
        digest = self._digest.digest()
        self._out.write(digest)
        self.bytes_written += len(digest)
        return digest.hex()


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote."""

    contents: int
    documents: int
    fingerprints: int
    pictures: int
    ocr: int
    bytes: int
    sha256: str
    index_id: str

    def summary_line(self, file: str) -> str:
        return (
            f"exported {self.documents} documents ({self.contents} contents, "
            f"{self.fingerprints} fingerprints, {self.pictures} pictures) of index "
            f"{self.index_id} to {file}: {self.bytes} bytes, sha256 {self.sha256}"
        )


def _snapshot(backend: IndexBackend) -> tuple[dict[str, str], int, int]:
    return backend.read_meta(), backend.count_contents(), backend.count_documents()


def export_index(index: Index, out: BinaryIO, *, progress: Progress | None = None) -> ExportReport:
    """Write ``index`` to ``out`` in the portable format, reading it in batches.

    Refuses an index whose last build did not complete, and one that a build
    changed while it was read (the meta or counts differ at the end): the
    file would hold half of two states.
    """
    backend = index.backend
    before = _snapshot(backend)
    meta, n_contents, n_documents = before
    if meta.get("build_state") not in (None, BUILD_COMPLETE):
        raise LeakscanIndexError(
            f"{index.location}: its last build has not completed: export it once "
            "`leakscan index build` has run to the end"
        )
    header = ExportHeader(
        version=FORMAT_VERSION,
        meta={k: v for k, v in meta.items() if carries_meta(k)},
        contents=n_contents,
        documents=n_documents,
        written_at=timestamp(),
        written_by=f"leakscan {__version__}",
    )
    log.info("exporting %s: %d documents, %d contents", index.location, n_documents, n_contents)
    writer = ExportWriter(out, header)
    batch: list[tuple[int, PortableContent]] = []
    size = 0
    for content_id, content in backend.export_contents():
        batch.append((content_id, PortableContent(content)))
        size += 12 * len(content.hashes) + len(content.alignment)
        if len(batch) >= BATCH_CONTENTS or size >= BATCH_BYTES:
            _export_batch(index, writer, batch, progress, n_documents)
            batch, size = [], 0
    if batch:
        _export_batch(index, writer, batch, progress, n_documents)
    checksum = writer.finish()
    if _snapshot(backend) != before:
        raise LeakscanIndexError(
            f"{index.location} changed while it was exported (a build ran?): export it again"
        )
    counts = writer.counts
    return ExportReport(
        contents=counts["contents"],
        documents=counts["documents"],
        fingerprints=counts["fingerprints"],
        pictures=counts["pictures"],
        ocr=counts["ocr"],
        bytes=writer.bytes_written,
        sha256=checksum,
        index_id=index.index_id,
    )


def _export_batch(
    index: Index,
    writer: ExportWriter,
    batch: list[tuple[int, PortableContent]],
    progress: Progress | None,
    total: int,
) -> None:
    """One contents frame, with the pictures and OCR marks of its contents, then the
    frames of their documents."""
    backend = index.backend
    ids = [content_id for content_id, _ in batch]
    pictures = backend.image_hashes(ids)
    bands = backend.image_bands(ids)
    ocr = backend.ocr_marked([item.content.sha256 for _, item in batch])
    records = backend.contents(ids)
    writer.write_contents(
        [
            PortableContent(
                item.content,
                item.content.sha256 in ocr,
                tuple(pictures.get(content_id, ())),
                tuple(bands.get(content_id, ())),
            )
            for content_id, item in batch
        ]
    )
    documents: list[tuple[int, DocumentRecord]] = []
    characters = 0
    for place, content_id in enumerate(ids):
        record = records.get(content_id)
        if record is None or len(record.roots) != len(record.paths):
            raise LeakscanIndexError(
                f"{index.location} changed while it was exported (a build ran?): export it again"
            )
        for root, path in zip(record.roots, record.paths, strict=True):
            document = backend.find_document(root, path)
            if document is None or document.content_id != content_id:
                raise LeakscanIndexError(
                    f"{index.location} changed while it was exported (a build ran?): "
                    "export it again"
                )
            documents.append((place, document))
            characters += len(root) + len(path) + len(document.mime)
            if len(documents) >= BATCH_DOCUMENTS or characters >= BATCH_DOCUMENT_CHARACTERS:
                writer.write_documents(documents)
                documents, characters = [], 0
                if progress is not None:
                    progress(writer.counts["documents"], total)
    if documents:
        writer.write_documents(documents)
    if progress is not None:
        progress(writer.counts["documents"], total)


def export_to_file(
    index: Index,
    file: str | os.PathLike[str],
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> ExportReport:
    """Export to ``file`` through a temporary file beside it, renamed into place when
    complete: a failed export leaves no file that looks like one. An existing
    ``file`` is refused unless ``force``; the index's own files always are."""
    target = Path(file)
    if target.exists() and _is_index_file(index, target):
        raise ConfigurationError(f"{file} is a file of the index itself: export to another file")
    if target.exists() and not force:
        raise ConfigurationError(f"{file} exists: give --force to overwrite it")
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as out:
            report = export_index(index, out, progress=progress)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except OSError as exc:
        raise LeakscanIndexError(f"cannot write {file}: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return report


def _is_index_file(index: Index, target: Path) -> bool:
    """Whether ``target`` is one of the index's own files (SQLite's, or its key file)."""
    own = [Path(index.key_file)] if index.key_file is not None else []
    path = getattr(index.backend, "path", None)
    if path is not None:
        own += [Path(path), *(Path(f"{path}{tail}") for tail in ("-wal", "-shm", ".lock"))]
    for file in own:
        try:
            if file.exists() and os.path.samefile(file, target):
                return True
        except OSError:
            continue
    return False
