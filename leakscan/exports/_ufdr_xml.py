"""A Cellebrite ``report.xml`` fed to libxml2 as it streams in, after the repairs real reports need.

Physical Analyzer writes characters XML 1.0 forbids (``&#x1;``, ``&#xB;``,
raw control bytes from a message's text), which libxml2 refuses outright:
one such byte would cost every message after it. :class:`ByteCleaner` fixes
the bytes on the way, in bounded memory, counting what it changed:

- character references to forbidden characters become ``&#xFFFD;``, and raw
  forbidden control bytes become U+FFFD;
- bytes that are not UTF-8 become U+FFFD (when the report is UTF-8, as
  Physical Analyzer writes it);
- references to entities (a report declares none) are dropped, a lone ``&``
  becomes ``&amp;``; a DOCTYPE is cut out by
  :class:`~leakscan.extract.xmlstream.EntityFilter`'s prolog reader, so no
  entity is ever declared, expanded or fetched;
- a CDATA section (every value of a report is one) is cut after
  :data:`MAX_CDATA_BYTES`: libxml2 holds a CDATA section whole, and refuses
  one over 10 MB, which would end the reading.

Outside CDATA, text reaches the target in pieces (the target caps what it
keeps); libxml2's own limits (no ``huge_tree``) bound names and attribute values,
the targets bound nesting (:data:`MAX_DEPTH`); a report past them ends
with an error.
"""

from __future__ import annotations

import codecs
import re
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO, Any

from ..extract import one_line
from ..extract.xmlstream import EntityFilter, Target
from .chat import CHUNK_BYTES, ChatFormatError

__all__ = [
    "MAX_CDATA_BYTES",
    "MAX_DEPTH",
    "ByteCleaner",
    "UfdrFormatError",
    "feed_report",
    "local_name",
    "too_deep",
]

#: A CDATA section is cut after this many bytes: past a message's text cap in
#: UTF-8 for Latin and Arabic script (so the message notes its cut), under
#: libxml2's limit of 10,000,000 for one section.
MAX_CDATA_BYTES = 9_000_000

#: Elements nested deeper than this end the reading (a report's go some 15 deep).
MAX_DEPTH = 256

_LOCAL_NAMES: dict[str, str] = {}
# Physical Analyzer's "protected" report.xml starts with these bytes (as IPED reads it).
_PROTECTED = b"\x2d\x06\x52\x6d"
_CDATA_OPEN = b"<![CDATA["
_CDATA_CLOSE = b"]]>"
# Control characters XML 1.0 forbids (tab, line feed and carriage return are allowed).
_CONTROL = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_CONTROL_RE = re.compile(b"[" + re.escape(_CONTROL) + b"]")
# A reference (&name; or &#...;), or an ampersand that starts none.
_REFERENCE = re.compile(rb"&(?:([^\s&;<>\"']{1,64});)?")
_PREDEFINED = frozenset((b"amp", b"lt", b"gt", b"quot", b"apos"))
# An "&" that may need a repair (anything but XML's own entities): the data is then scanned.
_SUSPECT = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos);)")
_REPLACEMENT = "\ufffd".encode()
_DECLARED_ENCODING = re.compile(rb"<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._-]{1,40})")
_UTF8_NAMES = frozenset(("utf-8", "utf8", "us-ascii", "ascii"))
_UTF16_HEADS = (b"\xff\xfe", b"\xfe\xff", b"\x00<", b"<\x00")
# What reading a report's member of a zip can raise besides our own errors.
_READ_ERRORS = (OSError, EOFError, zlib.error, zipfile.BadZipFile, RuntimeError)


class UfdrFormatError(ChatFormatError):
    """Not a Cellebrite report, or a damaged one (truncated, broken XML, protected)."""


def local_name(tag: Any) -> str:
    """An element's name without its namespace (``{ns}model`` -> ``model``)."""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = tag.rpartition("}")[2] if isinstance(tag, str) else ""
        if len(_LOCAL_NAMES) < 1024:  # a report uses a few dozen names
            _LOCAL_NAMES[tag] = name
    return name


def too_deep(label: str = "report.xml") -> UfdrFormatError:
    """The error for elements nested past MAX_DEPTH (libxml2's push parser sets no bound)."""
    return UfdrFormatError(f"{label}: elements nested deeper than {MAX_DEPTH} levels")


class _PrologFilter(EntityFilter):
    """EntityFilter cutting only the DOCTYPE: references are ByteCleaner's (it knows CDATA)."""

    def _drop_references(self, chunk: bytes) -> bytes:
        return chunk


def _legal_char(code: int) -> bool:
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


class ByteCleaner:
    """Repairs a report's bytes so that libxml2 reads them (see the module's docstring).

    ``feed`` returns the repaired bytes that are ready (a tail that may be an
    unfinished reference, CDATA marker or UTF-8 sequence is held back);
    ``flush`` returns the rest. The counters say what was changed.

    >>> c = ByteCleaner()
    >>> c.feed(b"<b>a&#x1;b\\x0bc &nbsp;AT&T</b><v><![CDATA[&#x1; &nbsp;]]></v>") + c.flush()
    b'<b>a&#xFFFD;b\\xef\\xbf\\xbdc AT&amp;T</b><v><![CDATA[&#x1; &nbsp;]]></v>'
    >>> (c.char_refs, c.controls, c.entities, c.ampersands)
    (1, 1, 1, 1)
    """

    def __init__(self, utf8: bool = True) -> None:
        self.utf8 = utf8
        self.char_refs = 0  # references to forbidden characters replaced
        self.controls = 0  # raw forbidden control bytes replaced
        self.entities = 0  # entity references dropped
        self.ampersands = 0  # lone "&" escaped
        self.bad_utf8 = 0  # chunks with bytes that are not UTF-8
        self.first_bad_utf8: int | None = None  # offset of the first such byte
        self.cdata_cut = 0  # CDATA sections cut at MAX_CDATA_BYTES
        self._in_cdata = False
        self._cdata_bytes = 0
        self._pending = b""  # bytes held back, already UTF-8-repaired
        self._undecoded = b""  # an unfinished UTF-8 sequence
        self._offset = 0  # bytes of input seen before the current chunk

    def feed(self, chunk: bytes) -> bytes:
        return self._clean(self._repair(chunk, final=False), final=False)

    def flush(self) -> bytes:
        return self._clean(self._repair(b"", final=True), final=True)

    def _repair(self, chunk: bytes, final: bool) -> bytes:
        """The chunk as valid UTF-8, damaged bytes replaced (noted), an unfinished sequence held."""
        data = self._undecoded + chunk if self._undecoded else chunk
        start = self._offset - len(self._undecoded)
        self._offset += len(chunk)
        self._undecoded = b""
        if not self.utf8 or data.isascii():
            return data
        try:
            _, used = codecs.utf_8_decode(data, "strict", final)
        except UnicodeDecodeError as exc:
            text, used = codecs.utf_8_decode(data, "replace", final)
            self.bad_utf8 += 1
            if self.first_bad_utf8 is None:
                self.first_bad_utf8 = start + exc.start
            self._undecoded = data[used:]
            return text.encode()
        self._undecoded = data[used:]
        return data[:used] if used < len(data) else data

    def _clean(self, data: bytes, final: bool) -> bytes:
        if self._pending:
            data = self._pending + data
        stop = len(data) if final else _safe_end(data)
        data, self._pending = data[:stop], data[stop:]
        data = self._controls(data)  # refused anywhere: no need to know where they are
        if _SUSPECT.search(data) is None and (
            not self._in_cdata or self._cdata_bytes + len(data) <= MAX_CDATA_BYTES
        ):
            self._track(data)  # nothing to change: only follow the CDATA sections
            return data
        return self._scan(data)

    def _track(self, data: bytes) -> None:
        """Whether the data leaves a CDATA section open, and how long it is so far."""
        last_open = data.rfind(_CDATA_OPEN)
        last_close = data.rfind(_CDATA_CLOSE)
        if last_open > last_close:
            self._in_cdata = True
            self._cdata_bytes = len(data) - last_open - len(_CDATA_OPEN)
        elif last_close > last_open:
            self._in_cdata = False
        elif self._in_cdata:
            self._cdata_bytes += len(data)

    def _scan(self, data: bytes) -> bytes:
        """The data section by section: references fixed outside CDATA, long sections cut."""
        out: list[bytes] = []
        pos = 0
        size = len(data)
        while pos < size:
            if self._in_cdata:
                end = data.find(_CDATA_CLOSE, pos)
                if end == -1:
                    out.append(self._cdata(data[pos:]))
                    break
                out.append(self._cdata(data[pos:end]))
                out.append(_CDATA_CLOSE)
                self._in_cdata = False
                pos = end + len(_CDATA_CLOSE)
            else:
                start = data.find(_CDATA_OPEN, pos)
                if start == -1:
                    out.append(self._markup(data[pos:]))
                    break
                out.append(self._markup(data[pos:start]))
                out.append(_CDATA_OPEN)
                self._in_cdata = True
                self._cdata_bytes = 0
                pos = start + len(_CDATA_OPEN)
        return b"".join(out)

    def _controls(self, data: bytes) -> bytes:
        if len(data.translate(None, _CONTROL)) == len(data):
            return data
        fixed, count = _CONTROL_RE.subn(_REPLACEMENT if self.utf8 else b"?", data)
        self.controls += count
        return fixed

    def _cdata(self, data: bytes) -> bytes:
        """CDATA content, cut past MAX_CDATA_BYTES (at a UTF-8 character's start)."""
        room = MAX_CDATA_BYTES - self._cdata_bytes
        self._cdata_bytes += len(data)
        if room <= 0:
            return b""
        if len(data) > room:
            self.cdata_cut += 1
            while room > 0 and 0x80 <= data[room] <= 0xBF:
                room -= 1
            data = data[:room]
        return data

    def _markup(self, data: bytes) -> bytes:
        if b"&" not in data:
            return data
        return _REFERENCE.sub(self._reference, data)

    def _reference(self, match: re.Match[bytes]) -> bytes:
        name = match.group(1)
        if name is None:
            self.ampersands += 1
            return b"&amp;"
        if name in _PREDEFINED:
            return match.group()
        if name.startswith(b"#"):
            digits = name[1:]
            hexa = digits[:1] in (b"x", b"X")
            digits = digits[1:] if hexa else digits
            valid = re.fullmatch(rb"[0-9a-fA-F]{1,8}" if hexa else rb"[0-9]{1,8}", digits)
            if valid and _legal_char(int(digits, 16 if hexa else 10)):
                return match.group()
            self.char_refs += 1
            return b"&#xFFFD;"
        self.entities += 1
        return b""

    def notes(self, label: str) -> list[str]:
        """What was repaired, one note per kind of repair."""
        notes = []
        if self.char_refs or self.controls:
            notes.append(
                f"{label}: {self.char_refs + self.controls} characters XML does not allow "
                "(control characters) replaced by U+FFFD"
            )
        if self.bad_utf8:
            notes.append(
                f"{label}: bytes that are not UTF-8 replaced by U+FFFD "
                f"(the first at byte {self.first_bad_utf8})"
            )
        if self.entities:
            notes.append(f"{label}: {self.entities} references to undeclared entities dropped")
        if self.ampersands:
            notes.append(f"{label}: {self.ampersands} bare '&' read as text")
        if self.cdata_cut:
            notes.append(f"{label}: {self.cdata_cut} values over {MAX_CDATA_BYTES} bytes cut there")
        return notes


def _safe_end(data: bytes) -> int:
    """Where data can be cleaned up to: before an unfinished reference or CDATA marker."""
    end = len(data)
    amp = data.rfind(b"&", max(0, end - 80))
    if amp != -1 and b";" not in data[amp:]:
        end = amp
    for marker in (_CDATA_OPEN, _CDATA_CLOSE):
        for k in range(len(marker) - 1, 0, -1):
            if data.endswith(marker[:k]):
                end = min(end, len(data) - k)
                break
    return end


def _check_head(head: bytes, label: str) -> bool:
    """Raise for a report we cannot read at all; whether its bytes are UTF-8."""
    if head.startswith(_PROTECTED):
        raise UfdrFormatError(
            f"{label} is protected (encrypted by Physical Analyzer): "
            "export the UFDR again with protection off"
        )
    if head.startswith(_UTF16_HEADS) or head.startswith(b"\x00\x00\xfe\xff"):
        raise UfdrFormatError(f"{label} is not in UTF-8 (UTF-16 or UTF-32): not read")
    declared = _DECLARED_ENCODING.search(head[:400])
    return declared is None or declared.group(1).decode().lower() in _UTF8_NAMES


def feed_report(
    stream: IO[bytes], target: Target, notes: list[str], label: str = "report.xml"
) -> Iterator[None]:
    """Feed the report's XML to ``target`` a chunk at a time, yielding after each chunk.

    The caller takes what the target made of a chunk at each yield, and may
    stop there. Broken XML raises UfdrFormatError (after the yield of the
    chunk before it); what was repaired on the way is added to ``notes``
    when the feeding ends, whichever way it ends.
    """
    from lxml import etree

    parser = etree.XMLParser(
        target=target, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    prolog = _PrologFilter()
    cleaner: ByteCleaner | None = None
    closing = False
    try:
        while True:
            try:
                chunk = stream.read(CHUNK_BYTES)
            except _READ_ERRORS as exc:
                raise UfdrFormatError(f"{label} cannot be read: {_one_line(exc)}") from None
            if cleaner is None:
                cleaner = ByteCleaner(utf8=_check_head(chunk, label))
            if not chunk:
                break
            data = cleaner.feed(prolog.feed(chunk))
            if data:
                parser.feed(data)
            yield
        closing = True
        rest = cleaner.feed(prolog.flush()) + cleaner.flush()
        if rest:
            parser.feed(rest)
        parser.close()
    except etree.XMLSyntaxError as exc:
        line = exc.lineno
        message = _one_line(exc).rsplit(", line ", 1)[0]
        if closing:
            raise UfdrFormatError(
                f"{label} ends early (truncated?) near line {line}: {message}"
            ) from None
        raise UfdrFormatError(f"{label}: damaged XML near line {line}: {message}") from None
    finally:
        if prolog.declared:
            notes.append(f"{label}: a DTD declaring {prolog.declared} entities was ignored")
        if cleaner is not None:
            notes.extend(cleaner.notes(label))


def _one_line(exc: BaseException) -> str:
    return one_line(exc)[:300] or type(exc).__name__
