"""One item from disk to text, every failure turned into a record instead of an exception.

Shared by scanning and index building, so both treat a bad file alike:
too large → ``skipped``; unreadable, corrupt, encrypted, empty →
``error``; no text extractor for its type → ``skipped`` with the type.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .errors import LeakscanError, UnsupportedFormatError
from .extract import Extracted, detect_mime, extract
from .records import ErrorRecord, SkippedRecord
from .walk import Item, read_evidence

__all__ = ["Loaded", "internal_error", "load_item"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    """An item's extracted text and the sha256 of the file holding it."""

    item: Item
    sha256: str
    extracted: Extracted


def internal_error(item: Item, sha256: str | None, exc: Exception) -> ErrorRecord:
    """A bug met on one crafted file must not end the run: it becomes that item's error."""
    log.debug("unexpected failure on %s", item.name, exc_info=True)
    return ErrorRecord(item.name, f"internal error: {type(exc).__name__}: {exc}", sha256)


def load_item(item: Item, max_bytes: int) -> Loaded | ErrorRecord | SkippedRecord:
    """Read (read-only), type and extract one item."""
    try:
        data, sha256, _ = read_evidence(item.path, max_bytes)
    except ValueError as exc:
        return SkippedRecord(item.name, str(exc))
    except OSError as exc:
        return ErrorRecord(item.name, f"cannot read: {exc.strerror or exc}")
    mime = None
    try:
        if data:  # extract() reports an empty file itself
            mime = detect_mime(data)
        return Loaded(item, sha256, extract(data, item.name, mime))
    except UnsupportedFormatError as exc:
        return SkippedRecord(item.name, str(exc), mime, sha256)
    except LeakscanError as exc:
        return ErrorRecord(item.name, str(exc), sha256)
    except Exception as exc:
        return internal_error(item, sha256, exc)
