"""PPTX text with python-pptx: every slide is a page, its shapes in order, then its notes.

Text frames, table cells (tab-separated, a row per line) and shapes inside
groups are read; charts and SmartArt keep their text in parts python-pptx
does not open, and are left out.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator

from ..errors import ExtractionError
from . import PPTX, Extracted, check_not_ole, from_pages, one_line

__all__ = ["extract"]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted Office files are OLE containers


def _frame_text(frame: object) -> str:
    # python-pptx writes a line break inside a paragraph as a vertical tab
    return str(frame.text).replace("\v", "\n")  # type: ignore[attr-defined]


def _shape_texts(shapes: Iterable[object]) -> Iterator[str]:
    from pptx.shapes.group import GroupShape

    for shape in shapes:
        if isinstance(shape, GroupShape):
            yield from _shape_texts(shape.shapes)
        elif getattr(shape, "has_table", False):
            for row in shape.table.rows:  # type: ignore[attr-defined]
                yield "\t".join(_frame_text(cell.text_frame) for cell in row.cells)
        elif getattr(shape, "has_text_frame", False):
            yield _frame_text(shape.text_frame)  # type: ignore[attr-defined]


def _slide_text(slide: object) -> str:
    texts = list(_shape_texts(slide.shapes))  # type: ignore[attr-defined]
    if slide.has_notes_slide:  # type: ignore[attr-defined]
        notes = slide.notes_slide.notes_text_frame  # type: ignore[attr-defined]
        if notes is not None:
            texts.append(_frame_text(notes))
    return "\n".join(text for text in texts if text.strip())


def extract(data: bytes) -> Extracted:
    import pptx

    check_not_ole(data, "PPTX", "legacy PowerPoint .ppt")
    try:
        presentation = pptx.Presentation(io.BytesIO(data))
        texts = [_slide_text(slide) for slide in presentation.slides]
    except zipfile.BadZipFile as exc:
        raise ExtractionError(f"not a valid PPTX: not a ZIP archive, or cut short ({exc})") from exc
    except Exception as exc:  # python-pptx, lxml and zipfile raise many kinds on damaged parts
        raise ExtractionError(f"damaged PPTX: {type(exc).__name__}: {one_line(exc)}") from exc
    return from_pages(texts, PPTX, "PPTX")
