"""One page picture to words: turned upright, levelled, read in the right language.

The steps, each chosen by measurement (README, "OCR"; ``benchmarks/ocr.py``):

1. Line direction and skew from the ink's row profile (:mod:`.geometry`): a page
   lying sideways is turned a quarter, a skew over 0.3° is rotated away.
   (tesseract's orientation detection, OSD, cost as much as a recognition pass
   and misread upright Nastaliq as upside-down Japanese.)
2. Lighting evened out (:func:`.geometry.flatten`): a lamp to one side otherwise
   makes tesseract's global threshold black out half the page.
3. One pass with English and Urdu together (``eng+urd``), which reads English,
   Urdu and pages mixing them. When the confidence is low the page may be
   upside down: it is read turned by a half too, and the better pass is kept.
4. A page that came out mostly in Arabic script is read again with ``urd``
   alone, which reads Urdu better than the combined models do (more so for
   Nastaliq), and that pass is kept.
5. A page read with a mean confidence under :data:`MIN_PAGE_CONFIDENCE` is a
   picture without text: its words (tesseract's guesses at noise) are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from .engine import Engine, RawWord, Recognition
from .geometry import Placement, flatten, line_layout
from .images import Frame

__all__ = ["PageText", "Word", "arabic_share", "read_page"]

#: Below this mean confidence a page is read turned by a half as well.
UPRIGHT_CONFIDENCE = 70.0
#: A page whose letters are at least this share Arabic script is read with ``urd`` alone.
URDU_PAGE_SHARE = 0.7
#: Skews smaller than this (degrees) are left alone: rotating costs sharpness.
MIN_SKEW = 0.3
#: Below this profile strength no line direction was found (a photo, a blank page).
MIN_LAYOUT_STRENGTH = 1.2
#: A page read with a lower mean confidence holds no text: what tesseract makes of
#: noise, grass or a wall (measured: 25-30) rather than of a page (Nastaliq photos,
#: the hardest pages measured, 48 and up).
MIN_PAGE_CONFIDENCE = 40.0


@dataclass(frozen=True)
class Word:
    """A word on the stored picture: text, confidence, box, and what follows it."""

    text: str
    confidence: float
    box: tuple[int, int, int, int]
    line_end: bool
    paragraph_end: bool


@dataclass(frozen=True)
class PageText:
    """What one page gave (see :class:`leakscan.extract.ocr_types.OcrPage` for the fields)."""

    words: tuple[Word, ...]
    languages: str
    mean_confidence: float
    width: int
    height: int
    rotation: int = 0
    skew: float = 0.0


def arabic_share(words: tuple[RawWord, ...] | tuple[Word, ...]) -> float:
    """Share of the letters that are Arabic script (0 when there are none)."""
    letters = arabic = 0
    for word in words:
        for char in word.text:
            if char.isalpha():
                letters += 1
                arabic += "\u0600" <= char <= "\u06ff" or "\u0750" <= char <= "\u077f"
    return arabic / letters if letters else 0.0


@dataclass
class _Candidate:
    image: Image.Image
    placement: Placement
    rotation: int
    result: Recognition


def _turned(
    image: Image.Image, placement: Placement, method: Image.Transpose
) -> tuple[Image.Image, Placement]:
    moved = placement.copy()
    moved.transpose(method)
    return image.transpose(method), moved


def read_page(
    engine: Engine,
    frame: Frame,
    languages: tuple[str, ...],
    *,
    dpi: int = 300,
    strategy: str = "auto",
) -> PageText:
    """Read one page; ``strategy`` other than ``auto`` is for measuring alternatives
    (``combined``: the one eng+urd pass; ``no-geometry``: no turning or levelling)."""
    image, placement = frame.image, frame.placement.copy()
    rotation, skew = 0, 0.0
    if strategy != "no-geometry":
        layout = line_layout(image)
        if layout.strength >= MIN_LAYOUT_STRENGTH:
            if layout.quarter == 90:  # lines run down the picture: turn it clockwise
                image, placement = _turned(image, placement, Image.Transpose.ROTATE_270)
                rotation = 90
            if abs(layout.skew) >= MIN_SKEW:
                skew = layout.skew
                image = image.rotate(
                    skew, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255
                )
                placement.rotate(skew, image.size)
        image = flatten(image)
    combined = "+".join(languages)
    best = _Candidate(image, placement, rotation, engine.recognize(image, combined, dpi))
    if strategy != "no-geometry" and best.result.mean_confidence < UPRIGHT_CONFIDENCE:
        flipped, moved = _turned(image, placement, Image.Transpose.ROTATE_180)
        other = engine.recognize(flipped, combined, dpi)
        if other.mean_confidence > best.result.mean_confidence:
            best = _Candidate(flipped, moved, (rotation + 180) % 360, other)
    if (
        strategy == "auto"
        and len(languages) > 1
        and "urd" in languages
        and arabic_share(best.result.words) >= URDU_PAGE_SHARE
    ):
        best.result = engine.recognize(best.image, "urd", dpi)
    return _page_text(best, skew)


def _page_text(best: _Candidate, skew: float) -> PageText:
    kept = best.result.words if best.result.mean_confidence >= MIN_PAGE_CONFIDENCE else ()
    words = tuple(
        Word(
            w.text,
            w.confidence,
            best.placement.box_on_stored(w.box),
            w.line_end,
            w.paragraph_end,
        )
        for w in kept
    )
    width, height = best.placement.stored
    return PageText(
        words,
        best.result.languages,
        best.result.mean_confidence,
        width,
        height,
        best.rotation,
        round(skew, 2),
    )
