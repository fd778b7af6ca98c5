"""ODT text with lxml: styles.xml headers, content.xml paragraphs in order, then footers.

Every paragraph and heading becomes one line, wherever it sits (lists, tables,
sections, text boxes, footnotes), as the DOCX reader does, so a document saved
as ODT and as DOCX gives the same text. Deleted tracked changes, comments and
index templates are not text of the document and are left out.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from typing import TYPE_CHECKING

from ..errors import EncryptedDocumentError, ExtractionError
from . import ODT, Extracted, one_line

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["extract"]

#: Largest XML part read (uncompressed): a bigger one is a ZIP bomb, not a document.
MAX_PART_BYTES = 256 << 20

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


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_PART_BYTES:
        raise ExtractionError(
            f"ODT {name} is {info.file_size} bytes uncompressed, over the "
            f"{MAX_PART_BYTES >> 20} MiB limit: not read"
        )
    with archive.open(info) as member:
        return member.read(MAX_PART_BYTES + 1)


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
        root = _parse(manifest, "META-INF/manifest.xml")
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


def _read(data: bytes) -> tuple[bytes, bytes | None]:
    """(content.xml, styles.xml) of the package; errors as ExtractionError."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if _is_encrypted(_read_part(archive, "META-INF/manifest.xml")):
                raise EncryptedDocumentError("ODT is password-protected (its parts are encrypted)")
            content = _read_part(archive, "content.xml")
            styles = _read_part(archive, "styles.xml")
    except zipfile.BadZipFile as exc:
        raise ExtractionError(f"not a valid ODT: not a ZIP archive, or cut short ({exc})") from exc
    except ExtractionError:
        raise
    except Exception as exc:  # zipfile and zlib raise many kinds on damaged members
        raise ExtractionError(f"damaged ODT: {type(exc).__name__}: {one_line(exc)}") from exc
    if content is None:
        raise ExtractionError("not a valid ODT: the ZIP archive has no content.xml")
    return content, styles


def extract(data: bytes) -> Extracted:
    content, styles = _read(data)
    body = _parse(content, "content.xml").find(f"{{{_OFFICE}}}body")
    if body is None:
        raise ExtractionError("damaged ODT: content.xml has no office:body")
    master = None
    if styles is not None:
        # a damaged styles.xml loses the headers and footers; the body is still worth reading
        with contextlib.suppress(ExtractionError):
            master = _parse(styles, "styles.xml")
    lines: list[str] = []
    if master is not None:
        lines.extend(_header_footer_lines(master, _HEADERS))
    lines.extend(_lines(body))
    if master is not None:
        lines.extend(_header_footer_lines(master, _FOOTERS))
    text = "\n".join(lines)
    if not text.strip():
        raise ExtractionError("ODT holds no text")
    return Extracted(text, ODT)
