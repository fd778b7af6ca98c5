"""ODT text with lxml: styles.xml headers, content.xml paragraphs in order, then footers.

Every paragraph and heading becomes one line, wherever it sits (lists, tables,
sections, text boxes, footnotes), as the DOCX reader does, so a document saved
as ODT and as DOCX gives the same text. Deleted tracked changes, comments and
index templates are not text of the document and are left out.

A seized file may be built to attack its reader. Entities are never expanded:
a DTD is removed before parsing and entity references dropped, with a note
(libxml2 would otherwise refuse a "billion laughs" part whole). Parts are read
with a cap on decompressed bytes (:mod:`leakscan.extract.package`); a
content.xml over it, or nested past libxml2's limits, is read as it streams,
up to the cap, with a note.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import EncryptedDocumentError, ExtractionError
from . import ODT, Extracted, one_line
from .package import DEFAULT_LIMITS, Limits, Package, refused_as_hostile
from .xmlstream import EntityFilter

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["extract"]

_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_SVG = "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
_MANIFEST = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"

_BLOCKS = frozenset({f"{{{_TEXT}}}p", f"{{{_TEXT}}}h"})
_SKIP = frozenset(
    {
        f"{{{_TEXT}}}tracked-changes",  # deleted text kept for change tracking
        f"{{{_TEXT}}}note-citation",  # the footnote number, glued to the word before it
        f"{{{_OFFICE}}}annotation",  # comments, with author and date
        f"{{{_SVG}}}title",
        f"{{{_SVG}}}desc",
        *(
            f"{{{_TEXT}}}{index}-source"  # templates of tables of contents and indexes
            for index in (
                "table-of-content",
                "illustration-index",
                "table-index",
                "object-index",
                "user-index",
                "alphabetical-index",
                "bibliography",
            )
        ),
    }
)
_SPACE = f"{{{_TEXT}}}s"
_TAB = f"{{{_TEXT}}}tab"
_LINE_BREAK = f"{{{_TEXT}}}line-break"
_HEADERS = tuple(f"{{{_STYLE}}}header{kind}" for kind in ("-first", "", "-left"))
_FOOTERS = tuple(f"{{{_STYLE}}}footer{kind}" for kind in ("-first", "", "-left"))


def _parser() -> etree.XMLParser:
    from lxml import etree

    # No DTD, entity or network access: a seized file may be built to attack its reader.
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


def _spaces(count: str | None) -> str:
    """``<text:s text:c="3"/>``: that many spaces (one if the count is missing or odd)."""
    try:
        return " " * min(max(1, int(count or 1)), 1000)
    except ValueError:
        return " "


def _inline(paragraph: etree._Element) -> str:
    """Text of one paragraph; nested paragraphs (text boxes, notes) are lines of their own."""
    from lxml import etree

    parts: list[str] = []
    walk = etree.iterwalk(paragraph, events=("start", "end"))
    for event, element in walk:
        if element is paragraph:
            if event == "start" and element.text:
                parts.append(element.text)
            continue
        tag = element.tag
        if event == "start":
            if not isinstance(tag, str) or tag in _SKIP or tag in _BLOCKS:
                walk.skip_subtree()
            elif tag == _SPACE:
                parts.append(_spaces(element.get(f"{{{_TEXT}}}c")))
            elif tag == _TAB:
                parts.append("\t")
            elif tag == _LINE_BREAK:
                parts.append("\n")
            elif element.text:
                parts.append(element.text)
        elif element.tail:  # the tail is the parent's text, after this element
            parts.append(element.tail)
    return "".join(parts)


def _lines(root: etree._Element) -> list[str]:
    """One line per paragraph or heading under ``root``, in document order."""
    from lxml import etree

    lines: list[str] = []
    walk = etree.iterwalk(root, events=("start",))
    for _, element in walk:
        if element.tag in _SKIP:
            walk.skip_subtree()
        elif element.tag in _BLOCKS:
            lines.append(_inline(element))
    return lines


def _without_entities(data: bytes, name: str, notes: list[str]) -> bytes:
    entities = EntityFilter()
    cleaned = entities.feed(data) + entities.flush()
    if entities.declared or entities.dropped:
        notes.append(
            f"{name}: a DTD declaring {entities.declared} entities was ignored and "
            f"{entities.dropped} entity references were not expanded"
        )
    return cleaned


def _parse(data: bytes, name: str) -> etree._Element:
    from lxml import etree

    try:
        return etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise ExtractionError(
            f"damaged ODT: {name} is not well-formed XML ({one_line(exc)})"
        ) from exc


def _is_encrypted(manifest: bytes | None) -> bool:
    if manifest is None:
        return False
    try:
        root = _parse(_without_entities(manifest, "manifest", []), "META-INF/manifest.xml")
    except ExtractionError:
        return b"encryption-data" in manifest  # a damaged manifest still says so
    return root.find(f".//{{{_MANIFEST}}}encryption-data") is not None


def _header_footer_lines(styles: etree._Element, kinds: tuple[str, ...]) -> list[str]:
    """Lines of the visible headers (or footers) of every master page, each text once."""
    lines: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for page in styles.iter(f"{{{_STYLE}}}master-page"):
        for element in page:
            if element.tag in kinds and element.get(f"{{{_STYLE}}}display") != "false":
                text = tuple(_lines(element))
                if text not in seen:
                    seen.add(text)
                    lines.extend(text)
    return lines


@dataclass
class _BodyLines:
    """lxml parser target: the lines :func:`_lines` gives for office:body, without a tree.

    Used when content.xml is too large or too deep to hold as a tree: text is
    taken as it streams, each paragraph a line in document order (nested ones
    after the text of the paragraph holding them, as the tree walk gives them).
    """

    lines: list[str] = field(default_factory=list)
    _open: list[tuple[int, list[str]]] = field(default_factory=list)
    _body = 0
    _skip = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == f"{{{_OFFICE}}}body":
            self._body += 1
        if not self._body or self._skip:
            self._skip += bool(self._skip)
            return
        if tag in _SKIP:
            self._skip = 1
        elif tag in _BLOCKS:
            self.lines.append("")
            self._open.append((len(self.lines) - 1, []))
        elif self._open:
            parts = self._open[-1][1]
            if tag == _SPACE:
                parts.append(_spaces(attrib.get(f"{{{_TEXT}}}c")))
            elif tag == _TAB:
                parts.append("\t")
            elif tag == _LINE_BREAK:
                parts.append("\n")

    def end(self, tag: str) -> None:
        if self._skip:
            self._skip -= 1
            return
        if tag in _BLOCKS and self._open and self._body:
            index, parts = self._open.pop()
            self.lines[index] = "".join(parts)
        elif tag == f"{{{_OFFICE}}}body":
            self._body -= 1

    def data(self, data: str) -> None:
        if self._open and not self._skip:
            self._open[-1][1].append(data)

    def close(self) -> None:
        return None

    def finish(self) -> list[str]:
        for index, parts in self._open:  # paragraphs left open where the part was cut
            self.lines[index] = "".join(parts)
        return self.lines


def _streamed_body(package: Package, notes: list[str]) -> list[str]:
    target = _BodyLines()
    notes.extend(package.stream(target, "content.xml"))
    return target.finish()


def _read_whole(package: Package, info: zipfile.ZipInfo, notes: list[str]) -> bytes | None:
    """A part's bytes if they fit the limits (else None), DTD and entity references removed."""
    reader = package.reader(info)
    content = b"".join(reader.chunks())
    if reader.cut:
        return None
    if reader.damaged:
        raise ExtractionError(f"damaged ODT: {info.filename} {reader.damaged}")
    return _without_entities(content, info.filename, notes)


def _body_lines(package: Package, notes: list[str]) -> list[str]:
    info = package.info("content.xml")
    if info is None:
        raise ExtractionError("not a valid ODT: the ZIP archive has no content.xml")
    content = _read_whole(package, info, notes)
    if content is None:
        return _streamed_body(package, notes)
    try:
        root = _parse(content, "content.xml")
    except ExtractionError as exc:
        if not refused_as_hostile(exc):
            raise
        notes.append(f"content.xml read as it streams: {exc}")
        return _streamed_body(package, [])
    body = root.find(f"{{{_OFFICE}}}body")
    if body is None:
        raise ExtractionError("damaged ODT: content.xml has no office:body")
    return _lines(body)


def _master_styles(package: Package, notes: list[str]) -> etree._Element | None:
    """styles.xml as a tree, or None: without it only headers and footers are lost."""
    info = package.info("styles.xml")
    if info is None:
        return None
    try:
        styles = _read_whole(package, info, notes)
        if styles is None:
            notes.append("styles.xml is over the size limit: headers and footers not read")
            return None
        return _parse(styles, "styles.xml")
    except ExtractionError:
        return None


def extract(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    notes: list[str] = []
    with Package(data, "ODT", limits) as package:
        try:
            if _is_encrypted(package.read_small("META-INF/manifest.xml")):
                raise EncryptedDocumentError("ODT is password-protected (its parts are encrypted)")
            body = _body_lines(package, notes)
            master = _master_styles(package, notes)
        except ExtractionError:
            raise
        except Exception as exc:  # zipfile and zlib raise many kinds on damaged members
            raise ExtractionError(f"damaged ODT: {type(exc).__name__}: {one_line(exc)}") from exc
    lines: list[str] = []
    if master is not None:
        lines.extend(_header_footer_lines(master, _HEADERS))
    lines.extend(body)
    if master is not None:
        lines.extend(_header_footer_lines(master, _FOOTERS))
    text = "\n".join(lines)
    if not text.strip():
        raise ExtractionError("ODT holds no text")
    return Extracted(text, ODT, notes=tuple(notes))
