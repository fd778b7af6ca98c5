"""Pages read by OCR (through the cache) put together into an ``Extracted`` with its OcrInfo.

Used by the picture extractor (every page of an image file) and by the PDF
extractor (the pages that have no usable text layer). A page's text is its
words in reading order, a space between words, a newline at the end of a
line and a blank line between paragraphs; pages are separated by a form
feed, as PDF text is. Each word keeps its characters' span, its page and
its box, so a finding can say where on the picture its passage lies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ExtractionError, SkippedByRuleError
from ..extract.ocr_types import OcrInfo, OcrPage, OcrWord
from . import OcrSession, find_tessdata, unavailable_reason
from .cache import cache_at
from .engine import Engine, engine_for, engine_version
from .images import Frame
from .page import PageText, read_page

__all__ = ["PIPELINE_VERSION", "PageReader", "Reading", "assemble"]

#: Bumped whenever the way pages are read changes what comes out: part of every cache key.
PIPELINE_VERSION = 1


@dataclass(frozen=True)
class Reading:
    """One page read by OCR (or taken from the cache)."""

    number: int
    text: PageText
    cached: bool
    dpi: int | None = None


class PageReader:
    """Reads the pages of one file (sha256 of its bytes) with a session's settings."""

    def __init__(self, data: bytes, session: OcrSession, what: str = "pictures") -> None:
        settings = session.settings
        if not settings.enabled:
            raise SkippedByRuleError(f"OCR is off (--no-ocr): {what} are not read")
        self.session = session
        self.settings = settings
        try:
            self.version = engine_version()
        except ImportError as exc:
            reason = unavailable_reason(settings) or "OCR not available"
            raise SkippedByRuleError(reason) from exc
        self.languages = settings.languages
        self.key = (
            f"tesseract {self.version}; {'+'.join(self.languages)}; {settings.cache_key()}; "
            f"pipeline {PIPELINE_VERSION}"
        )
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.cache = cache_at(settings.cache_path)
        self.cached = self.cache.pages(self.sha256, self.key) if self.cache else {}
        self._engine: Engine | None = None

    def engine(self) -> Engine:
        """This process's engine; a missing model skips the item, naming the package."""
        if self._engine is None:
            reason = unavailable_reason(self.settings)
            if reason is not None:
                raise SkippedByRuleError(reason)
            tessdata = find_tessdata(self.settings)
            assert tessdata is not None  # unavailable_reason says so otherwise
            self._engine = engine_for(tessdata)
        return self._engine

    def read(
        self, number: int, make_frame: Callable[[], Frame], dpi: int | None = None
    ) -> Reading | None:
        """Page ``number``: from the cache, else decoded and read; None when the item's
        OCR time budget has run out."""
        found = self.cached.get(number)
        if found is not None:
            return Reading(number, found, True, dpi)
        if self.session.out_of_time():
            return None
        engine = self.engine()
        frame = make_frame()
        text = read_page(engine, frame, self.languages, dpi=dpi or 300)
        if self.cache is not None:
            self.cache.put(self.sha256, self.key, number, text)
        return Reading(number, text, False, dpi)


def _page_text(reading: Reading) -> tuple[str, list[OcrWord]]:
    """A page's text from its words, and each word's span in it."""
    parts: list[str] = []
    words: list[OcrWord] = []
    offset = 0
    for word in reading.text.words:
        words.append(
            OcrWord(offset, offset + len(word.text), reading.number, word.box, word.confidence)
        )
        separator = "\n\n" if word.paragraph_end else "\n" if word.line_end else " "
        parts.extend((word.text, separator))
        offset += len(word.text) + len(separator)
    return "".join(parts).rstrip(), words


def _languages(readings: list[Reading], order: tuple[str, ...]) -> str:
    used = {lang for r in readings for lang in r.text.languages.split("+")}
    return "+".join(lang for lang in order if lang in used) or "+".join(order)


def assemble(
    mime: str,
    texts: list[str],
    readings: list[Reading],
    reader: PageReader,
    notes: list[str],
) -> tuple[str, tuple[int, ...], OcrInfo]:
    """One text from pages (``texts``: each page's text layer, "" for none), the OCR'd
    pages put in their places; with the page starts and the OcrInfo of the words."""
    by_number = {r.number: r for r in readings}
    pieces: list[str] = []
    starts: list[int] = []
    words: list[OcrWord] = []
    offset = 0
    for number, layer in enumerate(texts, start=1):
        starts.append(offset)
        reading = by_number.get(number)
        if reading is not None:
            page_text, page_words = _page_text(reading)
            words.extend(
                OcrWord(w.start + offset, w.end + offset, w.page, w.bbox, w.confidence)
                for w in page_words
            )
        else:
            page_text = layer
        pieces.append(page_text)
        offset += len(page_text) + 1  # the form feed between pages
    counted = sum(len(r.text.words) for r in readings)
    mean = (
        sum(r.text.mean_confidence * len(r.text.words) for r in readings) / counted
        if counted
        else 0.0
    )
    info = OcrInfo(
        engine="tesseract",
        version=reader.version,
        languages=_languages(readings, reader.languages),
        mean_confidence=mean,
        words=tuple(words),
        pages=tuple(
            OcrPage(
                number=r.number,
                width=r.text.width,
                height=r.text.height,
                languages=r.text.languages,
                mean_confidence=r.text.mean_confidence,
                rotation=r.text.rotation,
                skew=r.text.skew,
                dpi=r.dpi,
                words=len(r.text.words),
                cached=r.cached,
            )
            for r in readings
        ),
    )
    if not readings and not any(t.strip() for t in texts):
        why = f": {notes[-1]}" if notes else ""
        raise ExtractionError(f"no page of the {mime} could be read{why}")
    return "\f".join(pieces), tuple(starts) or (0,), info


def out_of_time_note(read: int, total: int, what: str) -> str:
    return (
        f"OCR stopped after {read} of {total} {what}: the item's OCR time budget ran out "
        "(a share of --timeout); the rest was not read"
    )
