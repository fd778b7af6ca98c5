"""One tesseract per worker process, loaded on first use and kept (tesserocr's C++ API).

Measured against starting the ``tesseract`` program for every picture (see
``benchmarks/ocr.py`` and the README): the same pages, the same models, one
core each. A process per page pays for loading the models every time; the
loaded API does not, and hands word boxes and confidences back without a TSV
round trip. tesseract's OpenMP threads are limited to one
(``OMP_THREAD_LIMIT=1``, set before the library is loaded): parallel workers
already use the cores, and OpenMP threads across them slow everything down
many times over.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from . import load_tesserocr

__all__ = ["Engine", "RawWord", "Recognition", "engine_for", "engine_version"]

#: Page segmentation "a single uniform block of text": measured against automatic
#: segmentation (README, OCR), which split ragged-right memo pages into columns and
#: so shuffled their lines; photos of one page of text are what this reads.
_PSM_SINGLE_BLOCK = 6
#: tesseract's LSTM recogniser only (the traineddata Debian ships are LSTM models).
_OEM_LSTM_ONLY = 1


@dataclass(frozen=True)
class RawWord:
    """A word as the engine gives it: text, confidence (0-100), box in the pixels of
    the image it was given, and whether a line or a paragraph ends after it."""

    text: str
    confidence: float
    box: tuple[int, int, int, int]
    line_end: bool
    paragraph_end: bool


@dataclass(frozen=True)
class Recognition:
    """What one pass over one image gave: its words in reading order and mean confidence."""

    words: tuple[RawWord, ...]
    mean_confidence: float
    languages: str

    @property
    def letters(self) -> int:
        return sum(ch.isalpha() for w in self.words for ch in w.text)


def engine_version() -> str:
    """The tesseract library's version (``5.5.4``): part of every cache key."""
    tesserocr = load_tesserocr()
    first = str(tesserocr.tesseract_version()).split("\n", 1)[0]
    return first.removeprefix("tesseract ").strip()


class Engine:
    """tesseract with its models loaded, for one process; ``calls`` counts recognitions."""

    name = "tesseract"

    def __init__(self, tessdata: Path) -> None:
        load_tesserocr()  # here, not at the top: ``import leakscan`` stays light
        self.tessdata = tessdata
        self.version = engine_version()
        self.calls = 0
        self._apis: dict[str, Any] = {}

    def _api(self, languages: str) -> Any:
        api = self._apis.get(languages)
        if api is None:
            api = load_tesserocr().PyTessBaseAPI(
                path=str(self.tessdata).rstrip("/") + "/",
                lang=languages,
                psm=_PSM_SINGLE_BLOCK,
                oem=_OEM_LSTM_ONLY,
                init=True,
            )
            # tesseract's own messages ("Estimating resolution as …") go nowhere.
            api.SetVariable("debug_file", "/dev/null")
            self._apis[languages] = api
        return api

    def recognize(self, image: Image.Image, languages: str, dpi: int = 300) -> Recognition:
        """Read one greyscale image with the model(s) ``languages`` (``eng+urd``)."""
        grey = image if image.mode == "L" else image.convert("L")
        api = self._api(languages)
        self.calls += 1
        api.SetImageBytes(grey.tobytes(), grey.width, grey.height, 1, grey.width)
        api.SetSourceResolution(dpi)
        try:
            api.Recognize()
            words = _words(api.GetTSVText(0))
            mean = float(api.MeanTextConf())
        finally:
            api.Clear()
        return Recognition(tuple(words), mean if words else 0.0, languages)

    def close(self) -> None:
        for api in self._apis.values():
            api.End()
        self._apis.clear()


#: Direction marks tesseract puts where a line changes direction: not part of any word.
_BIDI_MARKS = dict.fromkeys([0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def _words(tsv: str) -> list[RawWord]:
    """Words in reading order from tesseract's TSV (level 5 rows: page, block, paragraph,
    line, word, left, top, width, height, confidence, text).

    TSV rather than tesserocr's result iterator: that iterator's word texts come back
    in visual order, so right-to-left words (Urdu) read backwards; TSV is built by
    tesseract's own reading-order iterator.
    """
    rows: list[tuple[tuple[str, str, str], str, float, tuple[int, int, int, int]]] = []
    for line in tsv.splitlines():
        fields = line.split("\t")
        if len(fields) < 12 or fields[0] != "5":
            continue
        text = " ".join(fields[11].translate(_BIDI_MARKS).split())
        if not text:
            continue
        try:
            left, top, width, height = (int(v) for v in fields[6:10])
            confidence = float(fields[10])
        except ValueError:
            continue
        rows.append(
            (
                (fields[2], fields[3], fields[4]),
                text,
                confidence,
                (left, top, left + width, top + height),
            )
        )
    words: list[RawWord] = []
    for number, (place, text, confidence, box) in enumerate(rows):
        following = rows[number + 1][0] if number + 1 < len(rows) else None
        words.append(
            RawWord(
                text,
                max(0.0, confidence),
                box,
                line_end=following != place,
                paragraph_end=following is None or following[:2] != place[:2],
            )
        )
    return words


_ENGINES: dict[tuple[int, str], Engine] = {}


def engine_for(tessdata: Path) -> Engine:
    """This process's engine (a forked worker loads its own, never its parent's)."""
    key = (os.getpid(), str(tessdata))
    engine = _ENGINES.get(key)
    if engine is None:
        engine = _ENGINES[key] = Engine(tessdata)
    return engine
