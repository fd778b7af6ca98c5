"""HTML text with lxml: what a browser shows, one line per block, tabs between table cells.

Scripts, styles, templates and noscript fallbacks are dropped; of the head
only the title has text (it names the page, so it is kept). The encoding comes
from a byte-order mark, then a ``<meta charset>`` or XML declaration in the
first bytes, else the plain-text decoder decides (UTF-8 or a legacy code page
told by content). Malformed HTML is read the way browsers read it: libxml2's
parser recovers.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import replace

from ..errors import ExtractionError
from . import HTML, XHTML, Extracted
from .text import decode_text

__all__ = ["extract", "extract_xhtml"]

_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_DECLARED = re.compile(
    rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([a-zA-Z0-9._:-]{1,40})"""
    rb"""|<\?xml[^>]{0,200}?encoding\s*=\s*["']([a-zA-Z0-9._:-]{1,40})""",
    re.IGNORECASE,
)
#: WHATWG: browsers read these labels as windows-1252, and so must we.
_AS_CP1252 = frozenset({"ascii", "us-ascii", "iso-8859-1", "iso8859-1", "latin1", "l1"})

# Head metadata (meta, link, base) holds no text: dropping these leaves the title.
_DROP = frozenset({"script", "style", "template", "noscript"})
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "dd", "details",
        "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
        "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "html", "legend", "li", "main",
        "nav", "ol", "option", "p", "pre", "section", "summary", "table", "tbody", "tfoot",
        "thead", "title", "tr", "ul",
    }
)  # fmt: skip
_CELLS = frozenset({"td", "th"})
_LINE = "\n"
_CELL = "\t"
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


def _declared_encoding(data: bytes) -> str | None:
    """The codec a ``<meta charset>`` or XML declaration names, if Python knows it."""
    match = _DECLARED.search(data[:4096])
    if match is None:
        return None
    label = (match.group(1) or match.group(2)).decode("ascii").lower()
    if label in _AS_CP1252:
        return "cp1252"
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    # A declaration readable as ASCII cannot be in UTF-16 or UTF-32: browsers ignore it too.
    return None if name.startswith(("utf-16", "utf-32")) else name


def _decode(data: bytes) -> str:
    if data.startswith(_BOMS):
        return decode_text(data)  # the plain-text decoder reads byte-order marks
    declared = _declared_encoding(data)
    if declared is not None:
        try:
            return data.decode(declared)
        except UnicodeDecodeError:
            pass  # a wrong declaration is common: let the content decide
    return decode_text(data)


def _lines(root: object, drop: frozenset[str] = _DROP) -> str:
    """Visible text: runs of white space collapsed (kept in <pre>), blocks on lines of their own."""
    from lxml import etree

    parts: list[str] = []
    pre = 0
    walk = etree.iterwalk(root, events=("start", "end"))

    def add(text: str | None) -> None:
        if text:
            parts.append(text if pre else _SPACES.sub(" ", text))

    for event, element in walk:
        tag = element.tag.lower() if isinstance(element.tag, str) else None
        if event == "start":
            if tag is None or tag in drop:
                walk.skip_subtree()
                continue
            if tag == "pre":
                pre += 1
            if tag in _BLOCKS or tag == "br":
                parts.append(_LINE)
            add(element.text)
        else:
            if tag == "pre":
                pre -= 1
            if tag in _BLOCKS:
                parts.append(_LINE)
            elif tag in _CELLS:
                parts.append(_CELL)
            if element is not root:
                add(element.tail)
    return _tidy("".join(parts))


def _tidy(text: str) -> str:
    """Strip each line and cell, drop empty lines: what remains is what a reader sees."""
    lines = []
    for line in text.split(_LINE):
        cells = [cell.strip(" ") for cell in line.split(_CELL)]
        kept = _CELL.join(cell for cell in cells if cell)
        if kept:
            lines.append(kept)
    return _LINE.join(lines)


def html_to_text(
    markup: str | bytes,
    problems: list[str] | None = None,
    label: str = "HTML",
    *,
    title: bool = True,
) -> str:
    """Visible text of HTML (markup as text, or bytes in UTF-8 or as declared).

    A document's ``<title>`` is text its author wrote and is kept; an e-mail
    body's head is not shown to its reader (``title=False``). Mail HTML can
    be nested very deep: the tree is walked without recursion, and text
    libxml2 had to give up on is noted in ``problems``.

    >>> html_to_text("<p>Hello <b>there</b></p><script>x()</script><div>again<br>and</div>")
    'Hello there\\nagain\\nand'
    """
    import lxml.html
    from lxml import etree

    raw = markup.encode("utf-8") if isinstance(markup, str) else markup
    if not raw.strip():
        return ""
    # huge_tree: without it libxml2 stops at 256 levels of nesting and drops the rest
    parser = lxml.html.HTMLParser(
        encoding="utf-8" if isinstance(markup, str) else None,
        remove_comments=True,
        remove_pis=True,
        no_network=True,
        huge_tree=True,
    )
    try:
        root = lxml.html.document_fromstring(raw, parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return ""
    if problems is not None and any(
        error.type_name == "ERR_RESOURCE_LIMIT" for error in parser.error_log
    ):
        problems.append(f"{label}: nested too deep for the HTML parser; the innermost text is lost")
    return _lines(root, _DROP if title else _DROP | {"head"})


def extract(data: bytes) -> Extracted:
    visible = html_to_text(_decode(data))
    if not visible.strip():
        raise ExtractionError("HTML holds no text")
    return Extracted(visible, HTML)


def extract_xhtml(data: bytes) -> Extracted:
    """XHTML is read as HTML (forgiving of errors), and keeps its own type."""
    return replace(extract(data), mime=XHTML)
