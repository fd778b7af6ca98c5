"""The portable index file: what ``leakscan index export`` writes and ``index import`` reads.

An index moves between machines and backends (SQLite to PostgreSQL, a field
laptop to an air-gapped lab) as one file that holds what the index holds:
fingerprints, positions, simhashes, picture hashes, document paths and
metadata, never document text and never the key (only its key id).

Layout (version 2; also in ``fingerprints/README.md``)::

    leakscan-index-export 2\\n              the magic line: format name and version
    frame*                                  kind (1 byte), length (uint32 LE), payload
    sha256                                  32 bytes: SHA-256 of every byte before it

Frames, in this order: one ``H`` (header: JSON, stored as is), then ``C``
(a batch of contents) each followed by its ``D`` frames (documents of that
batch's contents, which they name by their place in it), then one ``E``
(the counts). ``C``, ``D`` and ``E`` payloads are zlib streams of a
uint32 LE JSON length, the JSON, and (``C`` only) binary arrays: every
content's hashes (int64 LE, signed), then its positions as int32 LE
differences (each from the one before it in the content, the first from 0),
then the alignment blobs, in the order of the JSON's contents. A content marked
``recompute`` (version 2: an index of fingerprint scheme 3 keeps its fingerprints only in
its postings) carries none: the import computes them from its alignment blob with the key.

This module defines the format and reads it (:func:`read_export`,
:func:`check_export`); :mod:`.portable_export` writes it and
:mod:`.portable_import` stores what it holds in an index. A reader checks
everything it reads against bounds before it allocates (frame and JSON
sizes, counts against the bytes present, value ranges), so a damaged or
hostile file is refused with one line, and memory stays flat however large
the index: a file is read one frame at a time.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from ..errors import LeakscanIndexError
from .base import DocumentRecord, NewContent

__all__ = [
    "COUNT_FIELDS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "FRAME",
    "JSON_LENGTH",
    "MAX_JSON",
    "MAX_PAYLOAD",
    "MAX_STORED",
    "MAX_TEXT",
    "ContentsFrame",
    "DocumentsFrame",
    "ExportEnd",
    "ExportHeader",
    "PortableContent",
    "Progress",
    "carries_meta",
    "check_export",
    "read_export",
    "timestamp",
]

FORMAT_NAME = "leakscan-index-export"
#: 2 added a content's ``recompute`` mark (fingerprint scheme 3: the file carries no
#: hashes for it, the import computes them from its alignment blob with the key).
FORMAT_VERSION = 2
#: Versions this code reads.
READABLE_VERSIONS = (1, 2)
_MAGIC = FORMAT_NAME.encode("ascii") + b" "
_MAX_MAGIC_LINE = 64
FRAME = struct.Struct("<cI")
JSON_LENGTH = struct.Struct("<I")
#: Bounds on what one frame may make a reader allocate (a writer stays far below them).
MAX_STORED = 128 << 20
MAX_PAYLOAD = 256 << 20
MAX_JSON = 64 << 20
MAX_TEXT = 64 << 10  # one path, root, MIME type, view or kind name
_READ_CHUNK = 1 << 20
_INT64 = (-(1 << 63), (1 << 63) - 1)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_KINDS = (b"H", b"C", b"D", b"E")
#: The writer starts a new contents frame past these (the reader's bounds are far above).
BATCH_CONTENTS = 256
BATCH_BYTES = 16 << 20
BATCH_DOCUMENTS = 5000
BATCH_DOCUMENT_CHARACTERS = 8 << 20  # paths, roots and MIME types of one documents frame
_CONTENT_FIELDS = frozenset(
    {
        "sha256",
        "n_tokens",
        "simhash",
        "public",
        "ocr",
        "fingerprints",
        "alignment",
        "pictures",
        "picture_bands",
    }
)
#: Version 2's content records: a ``recompute`` mark too.
_CONTENT_FIELDS_2 = _CONTENT_FIELDS | {"recompute"}
COUNT_FIELDS = ("contents", "documents", "fingerprints", "pictures", "ocr")


#: Meta an export never carries: the key, and what belongs to one index's storage and builds.
NOT_CARRIED = frozenset(
    {
        "key",
        "format",
        "schema_version",
        "build_state",
        "build_started_at",
        "build_finished_at",
        "build_documents",
    }
)

#: Told (documents done, documents in all) as an export or import goes.
Progress = Callable[[int, int], None]


def carries_meta(meta_key: str) -> bool:
    """Whether an export carries this meta entry (a backend's own schema version, such as
    ``postgres_schema_version``, and the PostgreSQL backend's own ``postgres_…`` entries
    belong to that backend's storage)."""
    return (
        meta_key not in NOT_CARRIED
        and not meta_key.endswith("_schema_version")
        and not meta_key.startswith("postgres_")
    )


def timestamp() -> str:
    """Now, in UTC, as the index's meta writes times."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class ExportHeader:
    """The index an export was made from: its meta (never the key) and its size."""

    version: int
    meta: dict[str, str]
    #: Contents and documents the index held when the export began (for progress).
    contents: int
    documents: int
    written_at: str = ""
    written_by: str = ""


@dataclass(frozen=True)
class PortableContent:
    """One content as the file carries it: its fingerprints and what hangs on it."""

    content: NewContent
    ocr: bool = False
    #: (view, kind, signed hash) and (band, value, view) rows of its picture, if any.
    pictures: tuple[tuple[str, str, int], ...] = ()
    picture_bands: tuple[tuple[int, int, str], ...] = ()


@dataclass(frozen=True)
class ContentsFrame:
    contents: list[PortableContent]


@dataclass(frozen=True)
class DocumentsFrame:
    """Documents of the contents of the frame before: ``(place in it, document)``;
    the documents' ``content_id`` is 0 (ids belong to an index, not to the file)."""

    documents: list[tuple[int, DocumentRecord]]


@dataclass(frozen=True)
class ExportEnd:
    """The counts the writer wrote; a reader has checked them against what it read."""

    counts: dict[str, int] = field(default_factory=dict)


# -- reading -------------------------------------------------------------


class _Reader:
    """Reads exact lengths from a stream in bounded chunks, hashing everything read."""

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self.stream = stream
        self.name = name
        self.digest = hashlib.sha256()
        self.version = FORMAT_VERSION

    def fail(self, problem: str) -> LeakscanIndexError:
        return LeakscanIndexError(f"{self.name}: {problem}; the file is refused")

    def chunk(self, size: int) -> bytes:
        try:
            return self.stream.read(size)
        except OSError as exc:
            raise LeakscanIndexError(f"cannot read {self.name}: {exc.strerror or exc}") from exc

    def read(self, length: int, *, hashed: bool = True) -> bytes:
        """Exactly ``length`` bytes; a chunk at a time, so a length beyond the end of the
        file costs only what the file holds."""
        parts, left = [], length
        while left:
            chunk = self.chunk(min(left, _READ_CHUNK))
            if not chunk:
                raise self.fail("truncated (it ends in the middle of a frame)")
            parts.append(chunk)
            left -= len(chunk)
        data = b"".join(parts)
        if hashed:
            self.digest.update(data)
        return data


def _magic(reader: _Reader) -> int:
    line = b""
    while not line.endswith(b"\n"):
        byte = reader.chunk(1)
        if not byte or len(line) >= _MAX_MAGIC_LINE:
            break
        line += byte
    reader.digest.update(line)
    if not line.startswith(_MAGIC) or not line.endswith(b"\n"):
        raise reader.fail(f"not a leakscan index export (no '{FORMAT_NAME}' line at its start)")
    version = line[len(_MAGIC) : -1]
    if not version.isdigit() or len(version) > 6:
        raise reader.fail(f"unreadable export format version {version[:20]!r}")
    number = int(version)
    if number not in READABLE_VERSIONS:
        raise reader.fail(
            f"export format version {number}; this leakscan reads version "
            f"{', '.join(map(str, READABLE_VERSIONS))}"
            + (": update leakscan" if number > max(READABLE_VERSIONS) else "")
        )
    return number


def _frame(reader: _Reader) -> tuple[bytes, bytes]:
    head = reader.read(FRAME.size)
    kind, length = FRAME.unpack(head)
    if kind not in _KINDS:
        raise reader.fail(f"unknown frame kind {kind!r} (damaged)")
    if length > MAX_STORED:
        raise reader.fail(f"a frame claims {length} bytes, more than the {MAX_STORED} allowed")
    return kind, reader.read(length)


def _unpacked(reader: _Reader, stored: bytes) -> tuple[object, memoryview]:
    """The JSON and the binary part of a compressed payload, within the bounds."""
    inflate = zlib.decompressobj()
    try:
        payload = inflate.decompress(stored, MAX_PAYLOAD + 1)
    except zlib.error as exc:
        raise reader.fail(f"a frame does not decompress ({exc})") from exc
    if len(payload) > MAX_PAYLOAD or inflate.unconsumed_tail:
        raise reader.fail(f"a frame decompresses to more than {MAX_PAYLOAD} bytes")
    if not inflate.eof or inflate.unused_data:
        raise reader.fail("a frame's compressed stream is incomplete or followed by junk")
    if len(payload) < JSON_LENGTH.size:
        raise reader.fail("a frame is too short")
    (length,) = JSON_LENGTH.unpack_from(payload)
    end = JSON_LENGTH.size + length
    if length > MAX_JSON or end > len(payload):
        raise reader.fail("a frame's JSON length is beyond the frame")
    return _json(reader, payload[JSON_LENGTH.size : end]), memoryview(payload)[end:]


def _json(reader: _Reader, text: bytes) -> object:
    try:
        return json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise reader.fail(f"a frame's JSON is damaged ({type(exc).__name__})") from exc


def _int(reader: _Reader, value: object, what: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise reader.fail(f"{what} is {str(value)[:40]!r}, not a whole number in [{low}, {high}]")
    return value


def _text(reader: _Reader, value: object, what: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise reader.fail(f"{what} is not a string of at most {MAX_TEXT} characters")
    return value


def _flag(reader: _Reader, value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise reader.fail(f"{what} is not true or false")
    return value


def _list(reader: _Reader, value: object, what: str, width: int | None = None) -> list[object]:
    if not isinstance(value, list) or (width is not None and len(value) != width):
        shape = "a list" if width is None else f"a list of {width}"
        raise reader.fail(f"{what} is not {shape}")
    return value


def _header(reader: _Reader, version: int, stored: bytes) -> ExportHeader:
    if len(stored) > MAX_JSON:
        raise reader.fail("the header is too large")
    document = _json(reader, stored)
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise reader.fail("the header is not a leakscan index export header")
    if document.get("version") != version or document.get("compression") != "zlib":
        raise reader.fail("the header disagrees with the file's version line or compression")
    meta = document.get("meta")
    if not isinstance(meta, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in meta.items()
    ):
        raise reader.fail("the header's meta is not a table of strings")
    if "key" in meta:
        raise reader.fail("it holds a key (an export never does)")
    for needed in ("key_id", "index_id", "scheme"):
        if needed not in meta:
            raise reader.fail(f"the header's meta lacks {needed}")
    counts = document.get("counts")
    if not isinstance(counts, dict):
        raise reader.fail("the header has no counts")
    return ExportHeader(
        version=version,
        meta=dict(meta),
        contents=_int(reader, counts.get("contents"), "contents count", 0, _INT64[1]),
        documents=_int(reader, counts.get("documents"), "documents count", 0, _INT64[1]),
        written_at=str(document.get("written_at", "")),
        written_by=str(document.get("written_by", "")),
    )


def _content_entry(reader: _Reader, entry: object) -> dict[str, object]:
    fields = _CONTENT_FIELDS if reader.version == 1 else _CONTENT_FIELDS_2
    if not isinstance(entry, dict) or set(entry) != fields:
        raise reader.fail(
            f"a content record's fields are not the ones version {reader.version} has"
        )
    sha = entry["sha256"]
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise reader.fail("a content's sha256 is not 64 lowercase hex digits")
    return entry


def _contents(reader: _Reader, document: object, binary: memoryview) -> ContentsFrame:
    entries = document.get("contents") if isinstance(document, dict) else None
    entries = [_content_entry(reader, e) for e in _list(reader, entries, "contents")]
    sizes = [
        (
            _int(reader, e["fingerprints"], "a fingerprint count", 0, MAX_PAYLOAD),
            _int(reader, e["alignment"], "an alignment length", 0, MAX_PAYLOAD),
        )
        for e in entries
    ]
    total = sum(n for n, _ in sizes)
    if 12 * total + sum(a for _, a in sizes) != len(binary):
        raise reader.fail("a contents frame's arrays do not match its counts")
    hashes = np.frombuffer(binary, dtype="<i8", count=total)
    deltas = np.frombuffer(binary, dtype="<i4", count=total, offset=8 * total)
    blob_at = 12 * total
    fp_at = 0
    contents = []
    for entry, (n, n_align) in zip(entries, sizes, strict=True):
        positions = np.cumsum(deltas[fp_at : fp_at + n], dtype=np.int64)
        if n and (positions.min() < 0 or positions.max() > 0x7FFFFFFF):
            raise reader.fail(f"content {entry['sha256']} has token positions out of range")
        pictures = tuple(
            (
                _text(reader, row[0], "a picture view"),
                _text(reader, row[1], "a picture hash kind"),
                _int(reader, row[2], "a picture hash", *_INT64),
            )
            for row in (
                _list(reader, r, "a picture row", 3)
                for r in _list(reader, entry["pictures"], "pictures")
            )
        )
        bands = tuple(
            (
                _int(reader, row[0], "a picture band", 0, 63),
                _int(reader, row[1], "a picture band value", 0, _INT64[1]),
                _text(reader, row[2], "a picture view"),
            )
            for row in (
                _list(reader, r, "a picture band row", 3)
                for r in _list(reader, entry["picture_bands"], "picture bands")
            )
        )
        content = NewContent(
            sha256=str(entry["sha256"]),
            hashes=hashes[fp_at : fp_at + n].astype(np.int64),
            positions=positions,
            simhash=_int(reader, entry["simhash"], "a simhash", 0, (1 << 64) - 1),
            n_tokens=_int(reader, entry["n_tokens"], "a token count", 0, _INT64[1]),
            public=_flag(reader, entry["public"], "a content's public mark"),
            alignment=bytes(binary[blob_at : blob_at + n_align]),
            recomputable=_flag(reader, entry.get("recompute", False), "a recompute mark"),
        )
        if content.recomputable and (n or not n_align):
            raise reader.fail(
                f"content {entry['sha256']} is marked to be computed again but carries "
                "fingerprints or no alignment units"
            )
        contents.append(
            PortableContent(content, _flag(reader, entry["ocr"], "an OCR mark"), pictures, bands)
        )
        fp_at += n
        blob_at += n_align
    return ContentsFrame(contents)


def _documents(reader: _Reader, document: object, batch: int) -> DocumentsFrame:
    rows = document.get("documents") if isinstance(document, dict) else None
    result = []
    for raw in _list(reader, rows, "documents"):
        row = _list(reader, raw, "a document row", 6)
        place = _int(reader, row[0], "a document's content", 0, batch - 1)
        record = DocumentRecord(
            root=_text(reader, row[1], "a document root"),
            path=_text(reader, row[2], "a document path"),
            content_id=0,
            size=_int(reader, row[3], "a document size", 0, _INT64[1]),
            mtime_ns=_int(reader, row[4], "a document time", *_INT64),
            mime=_text(reader, row[5], "a MIME type"),
        )
        result.append((place, record))
    return DocumentsFrame(result)


def _end(reader: _Reader, document: object, seen: dict[str, int]) -> ExportEnd:
    if not isinstance(document, dict) or set(document) != set(COUNT_FIELDS):
        raise reader.fail("the end frame is damaged")
    counts = {name: _int(reader, document[name], name, 0, _INT64[1]) for name in COUNT_FIELDS}
    if counts != seen:
        raise reader.fail(f"it holds {seen}, its end frame says {counts} (damaged)")
    return ExportEnd(counts)


def read_export(
    stream: BinaryIO, name: str
) -> Iterator[ExportHeader | ContentsFrame | DocumentsFrame | ExportEnd]:
    """The frames of an export, checked one at a time; the end frame comes only after
    the checksum matched and nothing followed it. ``name`` names the file in errors.

    A consumer that writes as it reads must be ready to undo: damage past the
    frames consumed so far shows only later (read the whole file first with
    :func:`check_export`).
    """
    reader = _Reader(stream, name)
    version = reader.version = _magic(reader)
    kind, stored = _frame(reader)
    if kind != b"H":
        raise reader.fail("it does not start with a header frame")
    yield _header(reader, version, stored)
    seen = dict.fromkeys(COUNT_FIELDS, 0)
    batch: int | None = None
    while True:
        kind, stored = _frame(reader)
        if kind == b"H":
            raise reader.fail("a second header frame (damaged)")
        document, binary = _unpacked(reader, stored)
        if kind != b"C" and len(binary):
            raise reader.fail("binary data in a frame that has none")
        if kind == b"C":
            contents = _contents(reader, document, binary)
            batch = len(contents.contents)
            seen["contents"] += batch
            seen["fingerprints"] += sum(len(c.content.hashes) for c in contents.contents)
            seen["pictures"] += sum(bool(c.pictures) for c in contents.contents)
            seen["ocr"] += sum(c.ocr for c in contents.contents)
            yield contents
        elif kind == b"D":
            if batch is None:
                raise reader.fail("documents before any contents (damaged)")
            documents = _documents(reader, document, batch)
            seen["documents"] += len(documents.documents)
            yield documents
        else:
            end = _end(reader, document, seen)
            expected = reader.digest.digest()
            stored_digest = reader.read(32, hashed=False)
            if stored_digest != expected:
                raise reader.fail("its SHA-256 checksum does not match (damaged or altered)")
            if reader.chunk(1):
                raise reader.fail("data after its checksum (damaged or altered)")
            yield end
            return


def check_export(stream: BinaryIO, name: str) -> tuple[ExportHeader, ExportEnd]:
    """Read a whole export without keeping it: its header and counts once every frame,
    bound and the checksum held (memory: one frame at a time)."""
    header: ExportHeader | None = None
    for frame in read_export(stream, name):
        if isinstance(frame, ExportHeader):
            header = frame
        elif isinstance(frame, ExportEnd):
            assert header is not None
            return header, frame
    raise AssertionError("read_export ends with its end frame or raises")
