"""PPTX text: every slide is a page, its shapes in order, then its notes.

Text frames, table cells (tab-separated, a row per line) and shapes inside
groups are read; charts and SmartArt keep their text in parts python-pptx
does not open, and are left out.

python-pptx reads a normal file. A package too large or too strange to load
(see :mod:`leakscan.extract.package`), or XML libxml2 refuses, is read part by
part instead: each slide and its notes streamed with a size cap, their text
as python-pptx gives it.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..errors import ExtractionError
from . import PPTX, Extracted, check_not_ole, from_pages, one_line
from .package import DEFAULT_LIMITS, Limits, Package, library_or_streamed
from .xmlstream import RelationshipIds

__all__ = ["extract", "extract_streamed"]

_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
_SLIDE_ID, _SHAPE, _SHAPE_TEXT, _PLACEHOLDER = (
    f"{_P}{name}" for name in ("sldId", "sp", "txBody", "ph")
)
_PARAGRAPH, _RUN, _FIELD, _TEXT, _BREAK = (f"{_A}{name}" for name in ("p", "r", "fld", "t", "br"))
_ROW, _CELL, _CELL_TEXT = f"{_A}tr", f"{_A}tc", f"{_A}txBody"


def _frame_text(frame: object) -> str:
    # python-pptx writes a line break inside a paragraph as a vertical tab
    return str(frame.text).replace("\v", "\n")  # type: ignore[attr-defined]


def _shape_texts(shapes: Iterable[object]) -> Iterator[str]:
    """Texts of shapes in order, groups opened in place (a stack, not recursion)."""
    from pptx.shapes.group import GroupShape

    pending: list[Iterator[object]] = [iter(shapes)]
    while pending:
        shape = next(pending[-1], None)
        if shape is None:
            pending.pop()
        elif isinstance(shape, GroupShape):
            pending.append(iter(shape.shapes))
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


def _with_python_pptx(data: bytes) -> Extracted:
    import pptx

    try:
        presentation = pptx.Presentation(io.BytesIO(data))
        texts = [_slide_text(slide) for slide in presentation.slides]
    except zipfile.BadZipFile as exc:
        raise ExtractionError(f"not a valid PPTX: not a ZIP archive, or cut short ({exc})") from exc
    except Exception as exc:  # python-pptx, lxml and zipfile raise many kinds on damaged parts
        raise ExtractionError(f"damaged PPTX: {type(exc).__name__}: {one_line(exc)}") from exc
    return from_pages(texts, PPTX, "PPTX")


# -- streamed ------------------------------------------------------------------


@dataclass
class _Frames:
    """lxml parser target for a slide: text frames and table rows in order, as python-pptx.

    A frame's text is its paragraphs joined by newlines; a paragraph's, its
    runs' and fields' text with line breaks. With ``notes_only`` only the
    first body placeholder counts (python-pptx's notes text frame).
    """

    notes_only: bool = False
    texts: list[str] = field(default_factory=list)
    _stack: list[str] = field(default_factory=list)
    _frame: list[str] | None = None  # paragraphs of the frame being read
    _paragraph: list[str] | None = None
    _collect: list[str] | None = None
    _cells: list[str] | None = None  # cells of the table row being read
    _cell = ""
    _body_shape = False  # the notes placeholder is the shape being read
    _body_found = False

    def _wanted(self) -> bool:
        return not self.notes_only or self._body_shape

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        stack = self._stack
        parent = stack[-1] if stack else ""
        self._collect = None
        if tag == _SHAPE:
            self._body_shape = False
        elif tag == _PLACEHOLDER and self.notes_only and not self._body_found:
            if attrib.get("type") == "body":
                self._body_shape = self._body_found = True
        elif (tag == _SHAPE_TEXT and parent == _SHAPE) or (tag == _CELL_TEXT and parent == _CELL):
            self._frame = []
        elif tag == _PARAGRAPH and self._frame is not None and parent in (_SHAPE_TEXT, _CELL_TEXT):
            self._paragraph = []
        elif tag == _TEXT and parent in (_RUN, _FIELD) and stack[-2:-1] == [_PARAGRAPH]:
            self._collect = self._paragraph
        elif tag == _BREAK and parent == _PARAGRAPH and self._paragraph is not None:
            self._paragraph.append("\n")
        elif tag == _ROW:
            self._cells = []
        elif tag == _CELL:
            self._cell = ""
        stack.append(tag)

    def end(self, tag: str) -> None:
        self._stack.pop()
        self._collect = None
        if tag == _PARAGRAPH and self._paragraph is not None and self._frame is not None:
            self._frame.append("".join(self._paragraph))
            self._paragraph = None
        elif tag == _SHAPE_TEXT and self._frame is not None:
            if self._wanted():
                self.texts.append("\n".join(self._frame))
            self._frame = None
        elif tag == _CELL_TEXT and self._frame is not None:
            self._cell = "\n".join(self._frame)
            self._frame = None
        elif tag == _CELL and self._cells is not None:
            self._cells.append(self._cell)
        elif tag == _ROW and self._cells is not None:
            if self._wanted():
                self.texts.append("\t".join(self._cells))
            self._cells = None
        elif tag == _SHAPE:
            self._body_shape = False

    def data(self, data: str) -> None:
        if self._collect is not None:
            self._collect.append(data)

    def close(self) -> None:
        return None


def _frames(
    package: Package, name: str, notes: list[str], *, notes_only: bool = False
) -> list[str]:
    target = _Frames(notes_only=notes_only)
    notes.extend(package.stream(target, name))
    return target.texts


def extract_streamed(data: bytes, limits: Limits = DEFAULT_LIMITS, why: str = "") -> Extracted:
    """PPTX text read part by part within ``limits``: how :func:`extract` reads a hostile file."""
    check_not_ole(data, "PPTX", "legacy PowerPoint .ppt")
    notes: list[str] = []
    if why:
        notes.append(f"PPTX read part by part, only the parts that hold text ({why})")
    pages: list[str] = []
    with Package(data, "PPTX", limits) as package:
        presentation = package.main_part("ppt/presentation.xml")
        if package.info(presentation) is None:
            raise ExtractionError(f"not a valid PPTX: no {presentation}")
        slide_ids = RelationshipIds(_SLIDE_ID)
        notes.extend(package.stream(slide_ids, presentation))
        related = package.relationships(presentation)
        for rid in slide_ids.ids:
            kind, slide = related.get(rid, ("", ""))
            if not kind.endswith("/slide"):
                continue
            texts = _frames(package, slide, notes)
            for kind, part in package.relationships(slide).values():
                if kind.endswith("/notesSlide"):
                    texts.extend(_frames(package, part, notes, notes_only=True))
                    break
            pages.append("\n".join(text for text in texts if text.strip()))
    notes.extend(package.summary())
    result = from_pages(pages, PPTX, "PPTX")
    return Extracted(result.text, PPTX, result.pages, tuple(notes))


def extract(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    check_not_ole(data, "PPTX", "legacy PowerPoint .ppt")
    return library_or_streamed(
        data, "PPTX", limits, "python-pptx", _with_python_pptx, extract_streamed
    )
