"""HTML text with lxml: what a browser shows, one line per block, tabs between table cells.

Scripts, styles, templates and noscript fallbacks are dropped; of the head
only the title has text (it names the page, so it is kept). The encoding comes
from a byte-order mark, then a ``<meta charset>`` or XML declaration in the
first bytes, else the plain-text decoder decides (UTF-8 or a legacy code page
told by content). Malformed HTML is read the way browsers read it: libxml2's
parser recovers.

libxml2 stops at 2,048 levels of nesting (and drops everything after that
point); markup nested deeper, or that it refuses outright, is read instead by
a tag-stripping tokenizer that runs in linear time whatever the input, and a
note says so: a hostile page costs layout, never its text.
"""

from __future__ import annotations

import codecs
import html
import re
from dataclasses import replace

from ..errors import ExtractionError
from . import HTML, XHTML, Extracted, one_line
from .text import decode_with_notes

__all__ = ["extract", "extract_xhtml", "html_to_text", "strip_tags"]

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


def _decode(data: bytes) -> tuple[str, tuple[str, ...]]:
    """The markup as text, with notes on damaged bytes replaced."""
    if data.startswith(_BOMS):
        return decode_with_notes(data)  # the plain-text decoder reads byte-order marks
    declared = _declared_encoding(data)
    if declared is not None:
        try:
            return data.decode(declared), ()
        except UnicodeDecodeError:
            pass  # a wrong declaration is common: let the content decide
    return decode_with_notes(data)


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
    body's head is not shown to its reader (``title=False``). Markup nested
    deeper than libxml2 goes, or that it refuses, is read by a linear
    tag-stripping fallback; ``problems`` gets a note when that happens.

    >>> html_to_text("<p>Hello <b>there</b></p><script>x()</script><div>again<br>and</div>")
    'Hello there\\nagain\\nand'
    """
    import lxml.html
    from lxml import etree

    raw = markup.encode("utf-8", "replace") if isinstance(markup, str) else markup
    if not raw.strip():
        return ""
    drop = _DROP if title else _DROP | {"head"}
    # huge_tree: without it libxml2 stops at 256 levels of nesting (with it, at 2,048)
    parser = lxml.html.HTMLParser(
        encoding="utf-8" if isinstance(markup, str) else None,
        remove_comments=True,
        remove_pis=True,
        no_network=True,
        huge_tree=True,
    )
    why = ""
    try:
        root = lxml.html.document_fromstring(raw, parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        root, why = None, f"the HTML parser refused it ({one_line(exc)})"
    if root is not None and any(
        error.type_name == "ERR_RESOURCE_LIMIT" for error in parser.error_log
    ):
        root, why = None, "nested deeper than the HTML parser goes"
    if root is not None:
        return _lines(root, drop)
    text = strip_tags(markup if isinstance(markup, str) else _as_text(markup), drop)
    if problems is not None and text:
        problems.append(f"{label}: {why}; text read by stripping tags, layout may differ")
    return text


def _as_text(data: bytes) -> str:
    try:
        return _decode(data)[0]
    except ExtractionError:
        return data.decode("utf-8", "replace")


# The tokenizer below scans forward only: its tag pattern searches no further than
# the last ">" (so a tag it starts always ends, without backtracking), and searches
# for end tags and comment ends remember where they found nothing. No input makes
# it go over the same text again and again: linear time, where the standard
# library's parser has had quadratic cases.
_MARKUP = re.compile(
    r"<(?:(?P<closing>/)?(?P<name>[a-zA-Z][^\s/>]{0,64})[^>]*>|(?P<comment>!--)|[!?/][^>]*>)"
)
_RAW_TEXT = frozenset({"script", "style"})  # content is not markup: skip to the end tag


class _Ahead:
    """Where a needle next occurs at or after a position, remembering the last answer."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.found: dict[str, tuple[int, int]] = {}  # needle -> (searched from, found at)
        self.folded: dict[str, re.Pattern[str]] = {}

    def find(self, needle: str, start: int, *, fold: bool = False) -> int:
        searched = self.found.get(needle)
        if searched is not None:
            origin, where = searched
            if origin <= start and (where == -1 or where >= start):
                return where
        if fold:
            pattern = self.folded.get(needle)
            if pattern is None:
                pattern = self.folded[needle] = re.compile(re.escape(needle), re.IGNORECASE)
            match = pattern.search(self.text, start)
            where = -1 if match is None else match.start()
        else:
            where = self.text.find(needle, start)
        self.found[needle] = (start, where)
        return where


def _first(*positions: int) -> int:
    found = [position for position in positions if position != -1]
    return min(found) if found else -1


def strip_tags(markup: str, drop: frozenset[str] = _DROP) -> str:
    """Visible text of HTML without building a tree: the fallback for hostile markup.

    Blocks and line breaks start lines, table cells are tab-separated, and the
    content of script, style and the other dropped elements is skipped up to
    their end tag. Entities are decoded. A tag, comment or element that is
    never closed is read as text: hidden or not, it is in the file.

    >>> strip_tags("<div><div><p>One &amp; <b>two</b></div><script>x<y</script><td>a<td>b")
    'One & two\\na\\tb'
    """
    ahead = _Ahead(markup)
    parts: list[str] = []
    pre = 0
    position = 0
    # Past the last ">" no tag can end: the tag pattern only searches before it, so
    # its "[^>]*>" always succeeds where it starts, and nothing is scanned twice.
    limit = markup.rfind(">") + 1
    while True:
        match = _MARKUP.search(markup, position, limit)
        if match is None:
            break
        if match.start() > position:
            chunk = html.unescape(markup[position : match.start()])
            parts.append(chunk if pre else _SPACES.sub(" ", chunk))
        position = match.end()
        name = match.group("name")
        if match.group("comment"):  # skipped if it ends, else read as text
            end = ahead.find("-->", position)
            if end == -1:
                parts.append(match.group())
            else:
                position = end + 3
            continue
        if name is None:  # a declaration, processing instruction or bogus end tag: no text
            continue
        name = name.lower()
        closing = match.group("closing") is not None
        _tag(name, closing, parts)
        if name == "pre":
            pre = max(0, pre + (-1 if closing else 1))
        if not closing and (name in _RAW_TEXT or name in drop):
            stop = ahead.find(f"</{name}", position, fold=True)
            if name == "head":  # a head without its end tag ends where the body starts
                stop = _first(stop, ahead.find("<body", position, fold=True))
            if stop != -1:
                position = stop
    if position < len(markup):
        chunk = html.unescape(markup[position:])
        parts.append(chunk if pre else _SPACES.sub(" ", chunk))
    return _tidy("".join(parts))


def _tag(name: str, closing: bool, parts: list[str]) -> None:
    """The line or cell break a tag makes (a cell's start too: end tags are often left out)."""
    if name in _BLOCKS or (name == "br" and not closing):
        parts.append(_LINE)
    elif name in _CELLS:
        parts.append(_CELL)


def extract(data: bytes) -> Extracted:
    markup, notes = _decode(data)
    problems = list(notes)
    visible = html_to_text(markup, problems)
    if not visible.strip():
        raise ExtractionError("HTML holds no text")
    return Extracted(visible, HTML, notes=tuple(problems))


def extract_xhtml(data: bytes) -> Extracted:
    """XHTML is read as HTML (forgiving of errors), and keeps its own type."""
    return replace(extract(data), mime=XHTML)
