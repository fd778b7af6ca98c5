"""What OCR tells about a text it read: engine, languages, confidence, and where each word
lies on its picture, so a finding can point at the matched lines.

Kept apart from the OCR machinery (:mod:`leakscan.ocr`) so that :class:`Extracted`
can carry it without importing Pillow or tesseract: text came from OCR exactly when
``extracted.ocr is not None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BBox", "OcrInfo", "OcrPage", "OcrWord", "union_box"]

#: (x0, y0, x1, y1): left, top, right, bottom, in pixels of the picture as stored
#: (for a PDF page: of the page rendered at the page's ``dpi``), x1 and y1 exclusive.
BBox = tuple[int, int, int, int]


@dataclass(frozen=True)
class OcrWord:
    """One word: its characters ``text[start:end]`` of the extracted text, its page
    (1-based) and its box on that page."""

    start: int
    end: int
    page: int
    bbox: BBox
    confidence: float = 0.0


@dataclass(frozen=True)
class OcrPage:
    """How one page (an image, a TIFF frame, a PDF page) was read.

    ``width`` and ``height`` are the stored picture's size in pixels (what boxes
    are measured in); ``dpi`` is set for PDF pages, which have no stored pixels and
    are rendered at that resolution. ``rotation`` is the quarter turn (degrees,
    clockwise) and ``skew`` the small correction (degrees, counter-clockwise) that
    made its lines level; ``languages`` the model that read it (``eng+urd``, ``urd``).
    """

    number: int
    width: int
    height: int
    languages: str
    mean_confidence: float
    rotation: int = 0
    skew: float = 0.0
    dpi: int | None = None
    words: int = 0
    cached: bool = False


@dataclass(frozen=True)
class OcrInfo:
    """OCR facts of an extracted text: the engine, what it read, and every word's place."""

    engine: str
    version: str
    languages: str
    mean_confidence: float
    words: tuple[OcrWord, ...] = ()
    pages: tuple[OcrPage, ...] = field(default=())

    @property
    def pages_read(self) -> int:
        """Pages the engine recognised in this run (not taken from the OCR cache)."""
        return sum(not page.cached for page in self.pages)

    @property
    def pages_cached(self) -> int:
        """Pages whose OCR came from the cache."""
        return sum(page.cached for page in self.pages)

    def summary(self) -> dict[str, Any]:
        """What a finding says about the OCR (see records.Finding.ocr)."""
        return {
            "engine": self.engine,
            "version": self.version,
            "languages": self.languages,
            "mean_confidence": round(self.mean_confidence, 1),
        }

    def words_in(self, start: int, end: int) -> list[OcrWord]:
        """The words overlapping characters ``start:end`` of the text, in text order."""
        found = []
        for word in self.words:  # in text order; a page holds hundreds, not millions
            if word.end <= start:
                continue
            if word.start >= end:
                break
            found.append(word)
        return found

    def region(self, start: int, end: int) -> tuple[int, BBox] | None:
        """Page and box of the words holding characters ``start:end`` (the page where
        most of them lie, when they straddle a page break); None if no word does."""
        words = self.words_in(start, end)
        if not words:
            return None
        pages: dict[int, list[OcrWord]] = {}
        for word in words:
            pages.setdefault(word.page, []).append(word)
        page, on_page = max(pages.items(), key=lambda item: (len(item[1]), -item[0]))
        return page, union_box([w.bbox for w in on_page])


def union_box(boxes: Sequence[BBox]) -> BBox:
    """The smallest box holding all ``boxes``.

    >>> union_box([(10, 20, 30, 40), (5, 25, 15, 50)])
    (5, 20, 30, 50)
    """
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
