"""Reading text from pictures of pages (tesseract through tesserocr), in scans and in the index.

The extractors (images, scanned PDF pages) take their bytes only; how to OCR
comes from the :class:`OcrSettings` of the running session (:func:`session`,
entered by :func:`leakscan.intake.load_item` for each item), so a scan, an
index build and a one-off ``extract_file`` can each say whether to OCR and where
the cache lies without every extractor growing parameters.

Pieces: :mod:`.images` decodes pictures within limits, :mod:`.geometry` finds
line direction and skew, :mod:`.engine` holds one tesseract per worker process,
:mod:`.page` reads one page (orientation, language, word boxes), :mod:`.cache`
keeps results, and :mod:`.reader` puts pages together into an ``Extracted``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_LANGUAGES",
    "OcrSession",
    "OcrSettings",
    "current",
    "find_tessdata",
    "for_index",
    "load_tesserocr",
    "session",
    "unavailable_reason",
]

#: English and Urdu (tesseract's ``urd`` model reads Naskh and Nastaliq).
DEFAULT_LANGUAGES = ("eng", "urd")

#: Where distributions put tesseract's language models, newest layout first.
_TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
)


@dataclass(frozen=True)
class OcrSettings:
    """Whether and how pictures are read; the limits that keep a hostile picture in check."""

    enabled: bool = True
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    #: The folder of ``*.traineddata`` files (None: $TESSDATA_PREFIX, else the system's).
    tessdata: str | None = None
    #: The OCR cache (SQLite); None: beside the index (:func:`for_index`), if ``use_cache``.
    cache_path: str | None = None
    use_cache: bool = True
    #: A picture (one frame) with more pixels is not decoded at all: skipped with a record.
    max_pixels: int = 80_000_000
    #: A picture with more pixels is scaled down before OCR (a 48-megapixel phone photo
    #: holds no more legible text than a 12-megapixel copy, and costs four times as much).
    work_pixels: int = 12_000_000
    #: Pages (TIFF frames, scanned PDF pages) OCR'd at most in one document.
    max_pages: int = 300
    #: Seconds of OCR one item may use: later pages are left out with a note, so a long
    #: scanned PDF gives what it could instead of a time-out (None: no budget).
    time_budget_seconds: float | None = None
    #: Resolution scanned PDF pages are rendered at (lowered for huge pages).
    pdf_dpi: int = 300

    def cache_key(self) -> str:
        """The settings that change what OCR reads (part of every cache key)."""
        return f"work={self.work_pixels};dpi={self.pdf_dpi}"


@dataclass
class OcrSession:
    """The settings of the item being read, and when its OCR time budget runs out."""

    settings: OcrSettings
    deadline: float | None = None

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline


_CURRENT: ContextVar[OcrSession | None] = ContextVar("leakscan_ocr_session", default=None)


def current() -> OcrSession:
    """The session of the item being read (default settings when none was entered)."""
    found = _CURRENT.get()
    return found if found is not None else OcrSession(OcrSettings())


@contextmanager
def session(settings: OcrSettings | None) -> Iterator[OcrSession]:
    """Read one item with these OCR settings (None: the defaults); its budget starts now."""
    chosen = settings or OcrSettings()
    budget = chosen.time_budget_seconds
    entered = OcrSession(chosen, None if budget is None else time.monotonic() + budget)
    token = _CURRENT.set(entered)
    try:
        yield entered
    finally:
        _CURRENT.reset(token)


#: The share of the per-item time limit OCR may use, leaving time to match what it read.
BUDGET_SHARE = 0.8


def for_index(
    settings: OcrSettings, index_file: str | os.PathLike[str] | None, timeout_seconds: float
) -> OcrSettings:
    """The settings a scan or build uses: the cache beside the index file
    (``<index>.ocr-cache.sqlite``; none for an index in memory), and an OCR time budget
    of :data:`BUDGET_SHARE` of the per-item time limit."""
    changes: dict[str, object] = {}
    if settings.use_cache and settings.cache_path is None and index_file is not None:
        changes["cache_path"] = str(Path(index_file).with_suffix(".ocr-cache.sqlite"))
    if settings.time_budget_seconds is None:
        changes["time_budget_seconds"] = timeout_seconds * BUDGET_SHARE
    return replace(settings, **changes)  # type: ignore[arg-type]


def find_tessdata(settings: OcrSettings) -> Path | None:
    """The folder holding the language models: the setting, $TESSDATA_PREFIX (the folder
    itself, or its parent as tesseract 3 had it), else the first system folder that exists."""
    given = settings.tessdata or os.environ.get("TESSDATA_PREFIX")
    if given:
        path = Path(given)
        if not any(path.glob("*.traineddata")) and (path / "tessdata").is_dir():
            return path / "tessdata"
        return path
    return next((Path(d) for d in _TESSDATA_DIRS if Path(d).is_dir()), None)


def unavailable_reason(settings: OcrSettings) -> str | None:
    """Why pictures cannot be read with these settings (one line), or None if they can."""
    if not settings.enabled:
        return "OCR is off (--no-ocr)"
    return _missing(settings.languages, str(find_tessdata(settings)))


def load_tesserocr() -> Any:
    """The tesserocr module, imported with OpenMP held to one thread (``OMP_THREAD_LIMIT``
    is read once, when libtesseract loads: it must be set before the first import, in
    whichever process that happens; forked workers inherit it)."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    import tesserocr

    return tesserocr


def _missing(languages: tuple[str, ...], tessdata: str) -> str | None:
    try:
        load_tesserocr()
    except ImportError:
        return "OCR not available: the Python package tesserocr is not installed"
    folder = Path(tessdata)
    for language in languages:
        if not (folder / f"{language}.traineddata").is_file():
            return (
                f"OCR not available: install tesseract-ocr-{language} "
                f"(no {language}.traineddata in {folder})"
            )
    return None
