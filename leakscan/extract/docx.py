"""DOCX text: headers, body paragraphs and tables in order, footers.

python-docx reads a normal file. A package too large or too strange to load
whole (see :mod:`leakscan.extract.package`), or one whose XML libxml2 refuses
(an entity bomb, nesting past its limit), is read part by part instead: the
main document and the headers and footers its sections name, each streamed
with a size cap, every paragraph's text as python-docx gives it.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

from ..errors import ExtractionError
from . import DOCX, Extracted, check_not_ole, one_line
from .package import DEFAULT_LIMITS, Limits, Package, library_or_streamed

__all__ = ["extract", "extract_streamed"]

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_BODY, _P, _R, _T, _HYPERLINK = (f"{_W}{name}" for name in ("body", "p", "r", "t", "hyperlink"))
_P_PR, _SECT_PR = f"{_W}pPr", f"{_W}sectPr"
_HEADER_REFERENCE, _FOOTER_REFERENCE = f"{_W}headerReference", f"{_W}footerReference"
_TYPE = f"{_W}type"
# Run content other than w:t, as python-docx's Run.text renders it (w:br: line breaks only).
_RUN_MARKS = {
    f"{_W}tab": "\t",
    f"{_W}ptab": "\t",
    f"{_W}cr": "\n",
    f"{_W}noBreakHyphen": "-",
}
_BR = f"{_W}br"
_KINDS = ("first", "default", "even")


def _paragraph_texts(element: object) -> list[str]:
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    return [
        Paragraph(p, None).text  # type: ignore[arg-type]
        for p in element.iter(qn("w:p"))  # type: ignore[attr-defined]
    ]


def _with_python_docx(data: bytes) -> Extracted:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ExtractionError(f"not a valid DOCX: not a ZIP archive ({exc})") from exc
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise ExtractionError(f"not a valid DOCX: {one_line(exc)}") from exc
    except Exception as exc:  # lxml and zipfile raise many kinds on damaged parts
        raise ExtractionError(f"damaged DOCX: {type(exc).__name__}: {one_line(exc)}") from exc
    parts: list[str] = []
    seen: set[int] = set()

    def add(part: object) -> None:
        # A part linked to the previous section's has no text of its own.
        if not part.is_linked_to_previous:  # type: ignore[attr-defined]
            element = part._element  # type: ignore[attr-defined]
            if id(element) not in seen:
                seen.add(id(element))
                parts.extend(_paragraph_texts(element))

    for section in document.sections:
        for header in (section.first_page_header, section.header, section.even_page_header):
            add(header)
    parts.extend(_paragraph_texts(document.element.body))
    for section in document.sections:
        for footer in (section.first_page_footer, section.footer, section.even_page_footer):
            add(footer)
    text = "\n".join(parts)
    if not text.strip():
        raise ExtractionError("DOCX holds no text")
    return Extracted(text, DOCX)


@dataclass
class _Paragraphs:
    """lxml parser target: every w:p's text in document order, as python-docx's Paragraph.text.

    A paragraph's text is that of the runs directly in it or in its hyperlinks
    (a text box's paragraphs inside a run are paragraphs of their own, after
    it). Section properties of the body are collected for headers and footers.
    """

    lines: list[str] = field(default_factory=list)
    sections: list[dict[tuple[str, str], str]] = field(default_factory=list)
    _open: list[tuple[int, list[str]]] = field(default_factory=list)
    _stack: list[str] = field(default_factory=list)
    _collect: list[str] | None = None
    _section_depth: int = -1

    def _run_parent_ok(self) -> bool:
        stack = self._stack
        if not self._open or len(stack) < 2 or stack[-1] != _R:
            return False
        return stack[-2] == _P or (len(stack) >= 3 and stack[-2] == _HYPERLINK and stack[-3] == _P)

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        stack = self._stack
        self._collect = None  # Element.text ends at the first child
        if tag == _P:
            self.lines.append("")
            self._open.append((len(self.lines) - 1, []))
        elif tag == _T:
            if self._run_parent_ok():
                self._collect = self._open[-1][1]
        elif tag == _BR:
            if self._run_parent_ok() and attrib.get(_TYPE, "textWrapping") == "textWrapping":
                self._open[-1][1].append("\n")
        elif tag in _RUN_MARKS:
            if self._run_parent_ok():
                self._open[-1][1].append(_RUN_MARKS[tag])
        elif tag == _SECT_PR:
            # python-docx's sections: w:body/w:sectPr and w:body/w:p/w:pPr/w:sectPr
            if (stack and stack[-1] == _BODY) or stack[-3:] == [_BODY, _P, _P_PR]:
                self.sections.append({})
                self._section_depth = len(stack)
        elif (
            tag in (_HEADER_REFERENCE, _FOOTER_REFERENCE)
            and len(stack) - 1 == self._section_depth
            and stack[-1] == _SECT_PR
        ):
            key = (tag, attrib.get(_TYPE, "default"))
            self.sections[-1].setdefault(key, attrib.get(_R_ID, ""))
        stack.append(tag)

    def end(self, tag: str) -> None:
        self._stack.pop()
        self._collect = None
        if tag == _P and self._open:
            index, parts = self._open.pop()
            self.lines[index] = "".join(parts)
        elif tag == _SECT_PR and len(self._stack) == self._section_depth:
            self._section_depth = -1

    def data(self, text: str) -> None:
        if self._collect is not None:
            self._collect.append(text)

    def close(self) -> None:
        return None


def _stream_part(package: Package, name: str, notes: list[str]) -> _Paragraphs:
    target = _Paragraphs()
    notes.extend(package.stream(target, name))
    for index, parts in target._open:  # paragraphs left open where the part was cut
        target.lines[index] = "".join(parts)
    return target


def extract_streamed(data: bytes, limits: Limits = DEFAULT_LIMITS, why: str = "") -> Extracted:
    """DOCX text read part by part within ``limits``: how :func:`extract` reads a hostile file."""
    check_not_ole(data, "DOCX", "legacy Word .doc")
    notes: list[str] = []
    if why:
        notes.append(f"DOCX read part by part, only the parts that hold text ({why})")
    with Package(data, "DOCX", limits) as package:
        name = package.main_part("word/document.xml")
        body = _stream_part(package, name, notes)
        related = package.relationships(name)
        lines: dict[str, list[str]] = {"header": [], "footer": []}
        seen: set[str] = set()
        for kind, reference in (("header", _HEADER_REFERENCE), ("footer", _FOOTER_REFERENCE)):
            for section in body.sections:
                for which in _KINDS:
                    rid = section.get((reference, which))
                    part = related.get(rid or "", ("", ""))[1]
                    if part and part not in seen:
                        seen.add(part)
                        lines[kind].extend(_stream_part(package, part, notes).lines)
    notes.extend(package.summary())
    text = "\n".join([*lines["header"], *body.lines, *lines["footer"]])
    if not text.strip():
        raise ExtractionError("DOCX holds no text" + (f" ({'; '.join(notes)})" if notes else ""))
    return Extracted(text, DOCX, notes=tuple(notes))


def extract(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    check_not_ole(data, "DOCX", "legacy Word .doc")
    return library_or_streamed(
        data, "DOCX", limits, "python-docx", _with_python_docx, extract_streamed
    )
