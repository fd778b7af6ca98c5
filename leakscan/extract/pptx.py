"""PPTX text with python-pptx: every slide is a page, its shapes in order, then its notes.

Text frames, table cells (tab-separated, a row per line) and shapes inside
groups are read; charts and SmartArt keep their text in parts python-pptx
does not open, and are left out.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator

from ..errors import EncryptedDocumentError, ExtractionError
from . import PPTX, Extracted

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


def _check_container(data: bytes) -> None:
    if data.startswith(_OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise EncryptedDocumentError("PPTX is password-protected (an encrypted OLE container)")
        raise ExtractionError(
            "not a PPTX: an OLE container (legacy PowerPoint .ppt?), not read yet"
        )


def extract(data: bytes) -> Extracted:
    import pptx

    _check_container(data)
    try:
        presentation = pptx.Presentation(io.BytesIO(data))
        texts = [_slide_text(slide) for slide in presentation.slides]
    except zipfile.BadZipFile as exc:
        raise ExtractionError(f"not a valid PPTX: not a ZIP archive, or cut short ({exc})") from exc
    except Exception as exc:  # python-pptx, lxml and zipfile raise many kinds on damaged parts
        raise ExtractionError(f"damaged PPTX: {type(exc).__name__}: {_one_line(exc)}") from exc
    starts: list[int] = []
    offset = 0
    for text in texts:
        starts.append(offset)
        offset += len(text) + 1  # the newline between slides
    joined = "\n".join(texts)
    if not joined.strip():
        raise ExtractionError("PPTX holds no text")
    return Extracted(joined, PPTX, tuple(starts) or (0,))


def _one_line(text: object) -> str:
    return " ".join(str(text).split())
