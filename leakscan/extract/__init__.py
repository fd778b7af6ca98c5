"""Text extraction, one module per format family, chosen by content (libmagic), not suffix.

Extractors take the item's bytes, so an archive member is read the same way
as a file on disk, and return an :class:`Extracted`: the raw text exactly as
the format gives it (evidence is quoted from it) and where its pages start.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath

from ..errors import ExtractionError, UnsupportedFormatError

__all__ = [
    "DOCX",
    "EXTRACTORS",
    "Extracted",
    "detect_mime",
    "extract",
    "extractor_for",
]

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

#: MIME type → "module:function" of its extractor, imported on first use.
EXTRACTORS: dict[str, str] = {
    "text/plain": "leakscan.extract.text:extract",
    "application/pdf": "leakscan.extract.pdf:extract",
    DOCX: "leakscan.extract.docx:extract",
}

# A suffix only decides when the content has no readable type: a damaged PDF
# named .pdf should become an error record ("not a PDF"), not a silent skip.
_SUFFIX_HINTS = {
    ".txt": "text/plain",
    ".text": "text/plain",
    ".pdf": "application/pdf",
    ".docx": DOCX,
}

# Text-like types libmagic reports that the plain-text reader handles.
_TEXT_ALIASES = ("text/", "application/csv", "application/json")
_NOT_PLAIN_TEXT = ("text/html", "text/xml", "text/rtf")


@dataclass(frozen=True)
class Extracted:
    """Text of one item; ``pages[i]`` is the character offset where page i + 1 starts."""

    text: str
    mime: str
    pages: tuple[int, ...] = field(default=(0,))

    def page_at(self, offset: int) -> int:
        """1-based page holding a character offset."""
        page = 1
        for number, start in enumerate(self.pages, start=1):
            if start <= offset:
                page = number
        return page


def detect_mime(data: bytes) -> str:
    """MIME type from content (libmagic); the first MiB decides."""
    import magic

    try:
        return str(magic.from_buffer(data[: 1 << 20], mime=True))
    except magic.MagicException as exc:  # pragma: no cover - libmagic internal failure
        raise ExtractionError(f"cannot determine the file type: {exc}") from exc


def extractor_for(mime: str, name: str = "") -> tuple[str, Callable[[bytes], Extracted]] | None:
    """The (MIME type, extractor) that reads content of this type, or None."""
    chosen = mime
    if chosen not in EXTRACTORS:
        if chosen.startswith(_TEXT_ALIASES) and not chosen.startswith(_NOT_PLAIN_TEXT):
            chosen = "text/plain"
        else:
            hint = _SUFFIX_HINTS.get(PurePath(name).suffix.lower())
            if hint is None:
                return None
            chosen = hint
    module_name, _, function = EXTRACTORS[chosen].partition(":")
    module = importlib.import_module(module_name)
    return chosen, getattr(module, function)


def _read_as(
    function: Callable[[bytes], Extracted], data: bytes, chosen: str, detected: str
) -> Extracted:
    """Run an extractor; when the name chose it against the content, say so on failure."""
    try:
        return function(data)
    except ExtractionError as exc:
        if chosen == detected:
            raise
        raise type(exc)(f"{exc} (named as {chosen}, content looks like {detected})") from exc


def extract(data: bytes, name: str = "", mime: str | None = None) -> Extracted:
    """Extract the text of one item; raises ExtractionError if it cannot be read."""
    if not data:
        raise ExtractionError("empty file (0 bytes)")
    detected = mime or detect_mime(data)
    found = extractor_for(detected, name)
    if found is None:
        raise UnsupportedFormatError(f"no text extractor for {detected}")
    chosen, function = found
    result = _read_as(function, data, chosen, detected)
    if chosen != detected:
        return Extracted(result.text, detected, result.pages)
    return result
