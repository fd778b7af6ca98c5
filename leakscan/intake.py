"""One item to text, every failure turned into a record instead of an exception.

Shared by scanning and index building, so both treat a bad file alike:
too large → ``skipped``; unreadable, corrupt, encrypted, empty →
``error``; no text extractor for its type → ``skipped`` with the type.
An item is a file on disk, an archive member's bytes, or text a container
already extracted (an e-mail body).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

from .errors import ExtractionError, LeakscanError, UnsupportedFormatError
from .extract import Extracted, detect_mime, extract
from .isolation import Failure, Isolation, Pool
from .ocr import OcrSettings, session
from .records import ErrorRecord, SkippedRecord
from .walk import Item, display_name, open_evidence, read_evidence

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "ItemBytes",
    "Loaded",
    "examine_item",
    "extract_file",
    "internal_error",
    "load_item",
    "read_item",
    "read_item_stream",
]

log = logging.getLogger(__name__)

#: Files larger than this are skipped with a record (adjustable with --max-file-size).
DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Loaded:
    """An item's extracted text, the sha256 of its own bytes and of the file on disk holding it."""

    item: Item
    sha256: str
    extracted: Extracted

    @property
    def holder_sha256(self) -> str:
        """What DESIGN.md calls ``suspect_sha256``: the hash of the file on disk."""
        return self.item.holder_sha256 or self.sha256

    @property
    def member_sha256(self) -> str | None:
        """The item's own hash when it is a member inside another file."""
        return self.sha256 if self.item.holder_sha256 else None


class ItemBytes(NamedTuple):
    """What reading an item learnt of its bytes, whatever came of it (for an inventory):
    their size, sha256 and MIME type (None: not known, e.g. a file too large to read)."""

    size: int | None = None
    sha256: str | None = None
    mime: str | None = None


def internal_error(item: Item, sha256: str | None, exc: Exception) -> ErrorRecord:
    """A bug met on one crafted file must not end the run: it becomes that item's error."""
    if isinstance(exc, MemoryError):
        return ErrorRecord(
            item.name, "ran out of memory while reading it (worker memory cap)", sha256
        )
    log.debug("unexpected failure on %s", item.name, exc_info=True)
    return ErrorRecord(item.name, f"internal error: {type(exc).__name__}: {exc}", sha256)


def read_item(item: Item, max_bytes: int) -> tuple[bytes, str] | ErrorRecord | SkippedRecord:
    """The item's bytes (from memory or read-only from disk) and their sha256."""
    if item.data is not None:
        return item.data, hashlib.sha256(item.data).hexdigest()
    try:
        data, sha256, _ = read_evidence(item.path, max_bytes)
    except ValueError as exc:
        return SkippedRecord(item.name, str(exc))
    except OSError as exc:
        return ErrorRecord(item.name, f"cannot read: {exc.strerror or exc}")
    return data, sha256


def read_item_stream(
    item: Item, max_bytes: int
) -> tuple[BinaryIO, str, int] | ErrorRecord | SkippedRecord:
    """A stream over the item's bytes, their sha256 and size, read in blocks
    (for chat exports, which are parsed streaming whatever their size)."""
    if item.data is not None:
        return io.BytesIO(item.data), hashlib.sha256(item.data).hexdigest(), len(item.data)
    try:
        handle = open_evidence(item.path)
    except OSError as exc:
        return ErrorRecord(item.name, f"cannot read: {exc.strerror or exc}")
    try:
        size = os.fstat(handle.fileno()).st_size
        if size > max_bytes:
            handle.close()
            return SkippedRecord(
                item.name, f"larger than the {max_bytes}-byte limit ({size} bytes)"
            )
        digest = hashlib.sha256()
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
        handle.seek(0)
    except OSError as exc:
        handle.close()
        return ErrorRecord(item.name, f"cannot read: {exc.strerror or exc}")
    return handle, digest.hexdigest(), size


def load_item(
    item: Item, max_bytes: int, ocr: OcrSettings | None = None
) -> Loaded | ErrorRecord | SkippedRecord:
    """Read, type and extract one item; pictures and scanned pages are read by OCR with
    the ``ocr`` settings (None: the defaults, no cache)."""
    return examine_item(item, max_bytes, ocr)[0]


def examine_item(
    item: Item, max_bytes: int, ocr: OcrSettings | None = None
) -> tuple[Loaded | ErrorRecord | SkippedRecord, ItemBytes]:
    """:func:`load_item`, and what was learnt of the item's bytes on the way."""
    read = read_item(item, max_bytes)
    if not isinstance(read, tuple):
        return read, ItemBytes()
    data, sha256 = read
    seen = ItemBytes(len(data), sha256)
    holder = item.holder_sha256 or sha256
    if item.text is not None:
        mail = "message/rfc822"
        return Loaded(item, sha256, Extracted(item.text, mail)), seen._replace(mime=mail)
    if len(data) > max_bytes:
        limit = f"larger than the {max_bytes}-byte limit ({len(data)} bytes)"
        return SkippedRecord(item.name, limit, None, holder), seen
    if not data:
        return SkippedRecord(item.name, "empty file (0 bytes)", None, holder), seen
    mime = None
    try:
        mime = detect_mime(data)
        seen = seen._replace(mime=mime)
        with session(ocr):
            return Loaded(item, sha256, extract(data, item.name, mime)), seen
    except UnsupportedFormatError as exc:
        return SkippedRecord(item.name, str(exc), mime, holder), seen
    except LeakscanError as exc:
        return ErrorRecord(item.name, str(exc), holder), seen
    except Exception as exc:
        return internal_error(item, holder, exc), seen


def _load_file(argument: tuple[str, int]) -> tuple[Extracted, str] | ErrorRecord | SkippedRecord:
    path, max_bytes = argument
    loaded = load_item(Item(display_name(path), path), max_bytes)
    if isinstance(loaded, Loaded):
        return loaded.extracted, loaded.sha256
    return loaded


def extract_file(
    path: str, *, isolation: Isolation | None = None, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> tuple[Extracted, str]:
    """Read and extract one file in a sandboxed worker (time limit, memory cap): its text
    and sha256. Raises ExtractionError with the one-line reason when it cannot be read."""
    with Pool(isolation or Isolation()) as pool:
        pool.submit(path, _load_file, (path, max_bytes))
        (done,) = pool.poll()
    result = done.result
    if isinstance(result, Failure):
        raise ExtractionError(f"{display_name(path)}: {result.reason}")
    if isinstance(result, ErrorRecord):
        raise ExtractionError(f"{result.suspect}: {result.error}")
    if isinstance(result, SkippedRecord):
        raise ExtractionError(f"{result.suspect}: not read: {result.reason}")
    extracted, sha256 = result
    return extracted, sha256
