"""The scanned pages of a PDF: rendered by pdfium and read by OCR.

A page needs OCR when its text layer is missing or unusable (fewer than
:data:`MIN_LAYER_CHARACTERS` letters and digits, or mostly replacement and
private-use characters, as a font without a Unicode map gives) *and* it holds
a picture: a blank page has nothing to read. Pages are rendered at the
session's ``pdf_dpi`` (lower when a page is so large that it would exceed
``work_pixels``); word boxes are in pixels of that rendering, and each page
records its dpi (divide by dpi/72 for PDF points).

When OCR is off or not installed, a PDF with no text at all is skipped with
the reason; a PDF with some typed pages keeps their text, and a note names the
pages left unread.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

from ..errors import ExtractionError, SkippedByRuleError
from ..ocr import current
from ..ocr.geometry import Placement
from ..ocr.images import Frame
from ..ocr.reader import PageReader, Reading, assemble, out_of_time_note
from . import Extracted, one_line

__all__ = ["MIN_LAYER_CHARACTERS", "ocr_pages", "usable_layer"]

#: A page's text layer with fewer letters and digits than this is taken for none.
MIN_LAYER_CHARACTERS = 20
#: Pages are never rendered below this resolution (a giant page is read coarsely).
_MIN_DPI = 50


def usable_layer(text: str) -> bool:
    """Whether a page's text layer holds readable text (not nothing, not glyph garbage)."""
    readable = sum(ch.isalnum() for ch in text)
    if readable < MIN_LAYER_CHARACTERS:
        return False
    garbage = sum(ch == "\ufffd" or "\ue000" <= ch <= "\uf8ff" for ch in text)
    return garbage * 2 < readable


def _pages_list(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    return shown + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")


def _dpi(page: Any, wanted: int, work_pixels: int) -> int:
    """The resolution a page is rendered at: ``wanted``, lower for a page so large it would
    exceed ``work_pixels``; a page too large even at the lowest is skipped."""
    width_pt, height_pt = page.get_size()
    dpi = float(wanted)
    pixels = (width_pt * dpi / 72) * (height_pt * dpi / 72)
    if pixels > work_pixels:
        dpi = max(_MIN_DPI, dpi * (work_pixels / pixels) ** 0.5)
    if (width_pt * dpi / 72) * (height_pt * dpi / 72) > 4 * work_pixels:
        raise SkippedByRuleError(
            f"a page of {width_pt:.0f}×{height_pt:.0f} points is too large to render for OCR"
        )
    return round(dpi)


def _render(page: Any, number: int, dpi: int) -> Frame:
    """A page as a greyscale picture at ``dpi``."""
    bitmap = page.render(scale=dpi / 72, grayscale=True)
    image = bitmap.to_pil().convert("L")
    return Frame(number, image, Placement(*image.size))


def _has_picture(page: Any) -> bool:
    import pypdfium2.raw as pdfium_c

    return any(True for _ in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3))


def ocr_pages(
    data: bytes, texts: list[str], notes: tuple[str, ...], no_layer: ExtractionError | None
) -> Extracted:
    """The PDF's text with its picture-only pages read by OCR (see the module docstring).

    ``texts`` are the pages' text layers; ``no_layer`` is the error to raise
    when no page has text and none can be read by OCR.
    """
    import pypdfium2 as pdfium

    session = current()
    settings = session.settings
    weak = [n for n, text in enumerate(texts, start=1) if not usable_layer(text)]
    try:
        document = pdfium.PdfDocument(data)
    except Exception as exc:  # the text reader managed; pdfium cannot open it
        if no_layer is not None:
            raise ExtractionError(f"{no_layer}; pdfium cannot open it: {one_line(exc)}") from exc
        note = f"pages {_pages_list(weak)} have no text layer; pdfium cannot render them"
        return _typed_only(texts, (*notes, note))
    notes_out = list(notes)
    readings: list[Reading] = []
    try:
        pages = {n: document[n - 1] for n in weak if n <= len(document)}
        scanned = [n for n, page in pages.items() if _has_picture(page)]
        if not scanned:
            if no_layer is not None:
                raise ExtractionError(
                    f"{no_layer}, but its {len(texts)} page(s) hold no pictures either: "
                    "nothing to OCR"
                )
            return _typed_only(texts, notes)
        try:
            reader = PageReader(data, session, what="scanned PDF pages")
            for position, number in enumerate(scanned):
                page = pages[number]
                dpi = _dpi(page, settings.pdf_dpi, settings.work_pixels)
                reading = reader.read(number, functools.partial(_render, page, number, dpi), dpi)
                if reading is None:
                    notes_out.append(out_of_time_note(position, len(scanned), "scanned pages"))
                    break
                readings.append(reading)
        except SkippedByRuleError as exc:
            if no_layer is not None:
                raise SkippedByRuleError(f"{no_layer}: {exc}") from exc
            note = f"scanned pages {_pages_list(scanned)} were not read: {exc}"
            return _typed_only(texts, (*notes, note))
        finally:
            for page in pages.values():
                page.close()
    finally:
        document.close()
    text, starts, info = assemble("PDF", texts, readings, reader, notes_out)
    return replace(Extracted(text, "application/pdf", starts, tuple(notes_out)), ocr=info)


def _typed_only(texts: list[str], notes: tuple[str, ...]) -> Extracted:
    starts, offset = [], 0
    for text in texts:
        starts.append(offset)
        offset += len(text) + 1
    return Extracted("\f".join(texts), "application/pdf", tuple(starts) or (0,), notes)
