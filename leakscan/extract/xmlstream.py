"""XML parsed as it streams in, with no tree and no entities: for parts a hostile file controls.

:func:`parse_stream` feeds a part's bytes, as :class:`~leakscan.extract.package.PartReader`
inflates them, to lxml's target parser, which calls ``start``, ``end`` and
``data`` on a target object: memory stays bounded whatever the part holds.
Before libxml2 sees the bytes, :class:`EntityFilter` removes the DOCTYPE and
drops entity references, which libxml2 would otherwise refuse (a "billion
laughs" bomb is refused even when entities are not to be expanded, and an
undeclared one is fatal): the part's own text is read around them.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from typing import Any, Protocol

from . import one_line

__all__ = ["R_ID", "EntityFilter", "PartChunks", "RelationshipIds", "Target", "parse_stream"]

#: The attribute naming a relationship (a part this one points to) in Office Open XML.
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"

_PREDEFINED = rb"(?:amp|lt|gt|quot|apos|#[0-9]{1,8}|#x[0-9a-fA-F]{1,8})"
_REFERENCE = re.compile(rb"&(?!" + _PREDEFINED + rb";)[^\s&;<>\"']{1,256};")
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY\s")
# In a prolog: what can stand before the root element.
_PROLOG_ITEM = re.compile(rb"\s+|\xef\xbb\xbf|<\?|<!--|<!DOCTYPE|<!doctype")
_PROLOG_STARTS = (b"<!DOCTYPE", b"<!doctype", b"<!--", b"<?", b"\xef\xbb\xbf")
_SUBSET_STOP = re.compile(rb"[\"'\]]|<!--")


class EntityFilter:
    """Removes the DOCTYPE (and its entity declarations) from XML, and references to entities.

    libxml2 refuses an entity bomb outright even when told not to expand it,
    and an undeclared reference is fatal: both would cost the whole part. Here
    the DOCTYPE is cut out of the prolog and every reference other than XML's
    own (``&amp;`` ..., character references) is dropped, counted in
    ``declared`` and ``dropped``. Data is fed in chunks; a reference cut by a
    chunk boundary is held back until the next one.

    >>> f = EntityFilter()
    >>> f.feed(b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "]>&b;">]><d>x &a; &amp;') + f.flush()
    b'<?xml version="1.0"?><d>x  &amp;'
    >>> f.declared, f.dropped
    (1, 1)
    """

    PROLOG_LIMIT = 1 << 20  # a prolog longer than this is passed on as it is

    def __init__(self) -> None:
        self.declared = 0
        self.dropped = 0
        self._prolog: bytes | None = b""
        self._held = b""

    def feed(self, chunk: bytes) -> bytes:
        if self._prolog is not None:
            self._prolog += chunk
            done = self._strip_prolog()
            if done is None:
                return b""
            chunk = done
        chunk = self._held + chunk
        self._held = b""
        cut = chunk.rfind(b"&")
        if cut != -1 and len(chunk) - cut <= 260 and b";" not in chunk[cut:]:
            chunk, self._held = chunk[:cut], chunk[cut:]
        return self._drop_references(chunk)

    def flush(self) -> bytes:
        rest = b""
        if self._prolog is not None:
            rest, self._prolog = self._prolog, None
        rest = self._held + rest
        self._held = b""
        return self._drop_references(rest)

    def _drop_references(self, chunk: bytes) -> bytes:
        if b"&" not in chunk:
            return chunk
        cleaned, count = _REFERENCE.subn(b"", chunk)
        self.dropped += count
        return cleaned

    def _strip_prolog(self) -> bytes | None:
        """Everything seen so far once the root element starts, DOCTYPE removed; None: need more."""
        data = self._prolog
        assert data is not None
        position = 0
        while True:
            rest = data[position : position + len(b"<!DOCTYPE")]
            if len(rest) < len(b"<!DOCTYPE") and any(
                token.startswith(rest) for token in _PROLOG_STARTS
            ):  # the chunk ends inside the prolog, or in the first bytes of a declaration
                end = -1
            else:
                match = _PROLOG_ITEM.match(data, position)
                if match is None:
                    break  # the root element (or something odd): the prolog is over
                token = match.group()
                if token == b"<?":
                    end = data.find(b"?>", position)
                    end = end + 2 if end != -1 else -1
                elif token == b"<!--":
                    end = data.find(b"-->", position)
                    end = end + 3 if end != -1 else -1
                elif token.upper() == b"<!DOCTYPE":
                    end = _doctype_end(data, position)
                    if end != -1:
                        self.declared += len(_ENTITY_DECLARATION.findall(data, position, end))
                        data = data[:position] + data[end:]
                        continue
                else:
                    end = match.end()
            if end == -1:  # cut by the chunk boundary
                if len(data) > self.PROLOG_LIMIT:
                    break
                self._prolog = data
                return None
            position = end
        self._prolog = None
        return data


def _doctype_end(data: bytes, start: int) -> int:
    """Index just after the DOCTYPE starting at ``start`` (internal subset included), or -1."""
    position = start + len(b"<!DOCTYPE")
    subset = False
    while True:
        if not subset:
            bracket = data.find(b"[", position)
            close = data.find(b">", position)
            if close == -1:
                return -1
            if bracket == -1 or close < bracket:
                return close + 1
            subset, position = True, bracket + 1
            continue
        match = _SUBSET_STOP.search(data, position)
        if match is None:
            return -1
        token = match.group()
        if token == b"]":
            close = data.find(b">", match.end())
            return -1 if close == -1 else close + 1
        terminator = b"-->" if token == b"<!--" else token
        end = data.find(terminator, match.end())
        if end == -1:
            return -1
        position = end + len(terminator)


class PartChunks(Protocol):
    """What :func:`parse_stream` reads a part through (the package's ``PartReader``,
    named here by its shape, so that this lower module does not import the package's)."""

    info: zipfile.ZipInfo
    cut: str | None

    def chunks(self) -> Iterator[bytes]: ...
    def problem(self) -> str | None: ...


class Target(Protocol):
    """What lxml's target parser calls (see :func:`parse_stream`)."""

    def start(self, tag: str, attrib: dict[str, str]) -> None: ...
    def end(self, tag: str) -> None: ...
    def data(self, data: str) -> None: ...
    def close(self) -> Any: ...


class RelationshipIds:
    """Target collecting, in order, the relationship ids of one element: the slides of a
    presentation.xml (``p:sldId``) or the sheets of a workbook.xml (``sheet``)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.ids: list[str] = []

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == self.tag:
            self.ids.append(attrib.get(R_ID, ""))

    def end(self, tag: str) -> None:
        return None

    def data(self, data: str) -> None:
        return None

    def close(self) -> None:
        return None


def parse_stream(target: Target, reader: PartChunks) -> list[str]:
    """Feed a part's XML to ``target`` as it is inflated; notes on what was not read.

    Parsing stops at the reader's limits, or at damaged XML (nesting past
    libxml2's 2,048 levels included): what the target saw before that stands.
    """
    from lxml import etree

    # huge_tree: nesting up to 2,048 levels (not 256). Safe here: there is no tree, entities
    # are gone, and the reader's cap bounds everything libxml2 could hold.
    parser = etree.XMLParser(
        target=target, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True
    )
    entities = EntityFilter()
    problems: list[str] = []
    name = reader.info.filename
    try:
        for chunk in reader.chunks():
            cleaned = entities.feed(chunk)
            if cleaned:
                parser.feed(cleaned)
        rest = entities.flush()
        if rest:
            parser.feed(rest)
        if not reader.cut:
            parser.close()
    except etree.XMLSyntaxError as exc:
        if not reader.cut:  # a cut part ends mid-element: that is no damage
            problems.append(f"{name}: damaged XML ({one_line(exc)}); the text after it is not read")
    problem = reader.problem()
    if problem:
        problems.append(problem)
    if entities.declared or entities.dropped:
        problems.append(
            f"{name}: a DTD declaring {entities.declared} entities was ignored and "
            f"{entities.dropped} entity references were not expanded"
        )
    return problems
