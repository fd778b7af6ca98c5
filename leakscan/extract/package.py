"""Office packages (ZIPs of XML parts) read part by part, within bounds a hostile file cannot lift.

python-docx, openpyxl and python-pptx load a whole package: every part, however
large, and every part's XML as one tree. A seized file can be built to exploit
that (hundreds of megabytes of junk parts, a 5 GB run of repeated bytes
deflated to 5 MB as the main part, a DTD whose entities expand a billion
times). :meth:`Package.oversized` tells from the ZIP directory whether a package
is safe to hand to those libraries; when it is not, the extractors read only the
parts that hold text, through :class:`PartReader`, which inflates a part itself
and stops at a cap of decompressed bytes (counted as they come, whatever the ZIP
headers declare), when the compression ratio says "bomb", or when the budget of
all the parts of the package is spent. The XML is parsed
as it streams (:func:`parse_stream`, events into a target object, no tree), so
memory stays bounded whatever the part holds; DTDs are removed and entity
references dropped before libxml2 sees them (:class:`EntityFilter`).
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import EncryptedDocumentError, ExtractionError
from . import one_line

__all__ = [
    "DEFAULT_LIMITS",
    "EntityFilter",
    "Limits",
    "Package",
    "PartReader",
    "Target",
    "parse_stream",
    "refused_as_hostile",
]

_MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Bounds on reading one package; tests pass smaller ones."""

    #: decompressed bytes read from one part; the rest of a larger part is not read
    part_bytes: int = 64 * _MiB
    #: decompressed : compressed ratio beyond which a part is taken for a ZIP bomb ...
    ratio: int = 100
    #: ... once this much has been decompressed (small parts compress well legitimately)
    ratio_floor: int = 8 * _MiB
    #: a package larger than this (declared, uncompressed) is not loaded whole by a library
    package_bytes: int = 256 * _MiB
    #: nor one with more parts than this
    members: int = 10_000
    #: small parts (relationships, a workbook's sheet list) are read whole, up to this
    small_part_bytes: int = 4 * _MiB
    #: decompressed bytes read from all the parts of one package together
    total_bytes: int = 256 * _MiB


DEFAULT_LIMITS = Limits()


class Package:
    """One office package opened for reading part by part; all its parts share one budget.

    Use as a context manager. An unreadable ZIP is an ExtractionError naming
    ``kind`` ("not a valid DOCX: ...").
    """

    def __init__(self, data: bytes, kind: str, limits: Limits = DEFAULT_LIMITS) -> None:
        self.data = data
        self.kind = kind
        self.limits = limits
        #: decompressed bytes the parts of this package may still produce
        self.budget = limits.total_bytes
        #: parts not even started because the budget was spent
        self.unread: list[str] = []
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise ExtractionError(
                f"not a valid {kind}: not a ZIP archive, or cut short ({exc})"
            ) from exc
        except Exception as exc:  # zipfile raises OSError, ValueError... on a damaged directory
            raise ExtractionError(
                f"not a valid {kind}: {type(exc).__name__}: {one_line(exc)}"
            ) from exc

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.archive.close()

    def oversized(self) -> str | None:
        """Why this package must not be loaded whole by a library (from its directory), or None."""
        limits = self.limits
        infos = self.archive.infolist()
        if len(infos) > limits.members:
            return f"{len(infos)} parts"
        total = sum(info.file_size for info in infos)
        if total > limits.package_bytes:
            return f"{total / _MiB:.0f} MiB uncompressed in {len(infos)} parts"
        for info in infos:
            if info.file_size > limits.part_bytes:
                return f"{info.filename} is {info.file_size / _MiB:.0f} MiB uncompressed"
            if info.file_size > limits.ratio_floor and info.file_size > limits.ratio * max(
                1, info.compress_size
            ):
                return f"{info.filename} is compressed over {limits.ratio}:1"
        return None

    def info(self, name: str) -> zipfile.ZipInfo | None:
        try:
            return self.archive.getinfo(name)
        except KeyError:
            return None

    def reader(self, info: zipfile.ZipInfo, cap: int | None = None) -> PartReader:
        return PartReader(self, info, cap)

    def read_small(self, name: str) -> bytes | None:
        """A small part (relationships, a sheet list) whole; None if absent or too big."""
        info = self.info(name)
        if info is None:
            return None
        reader = self.reader(info, cap=self.limits.small_part_bytes)
        content = b"".join(reader.chunks())
        return None if reader.cut else content

    def stream(self, target: Target, name: str) -> list[str]:
        """Parse a part into ``target`` as it is inflated (:func:`parse_stream`); notes."""
        info = self.info(name)
        if info is None:
            return [f"{name} is missing"]
        if self.budget <= 0:
            self.unread.append(name)
            return []
        return parse_stream(target, self.reader(info))

    def summary(self) -> list[str]:
        """A note on the parts left unread when the budget ran out (empty if none)."""
        if not self.unread:
            return []
        return [
            f"{len(self.unread)} more parts not read ({self.unread[0]} ...): the "
            f"{self.limits.total_bytes / _MiB:g} MiB read from all of the package's parts ran out"
        ]

    def relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id → (type, part name) of ``part``'s internal targets ("": the package)."""
        return _relationships(self.read_small(_rels_name(part) if part else "_rels/.rels"), part)

    def main_part(self, default: str) -> str:
        """The package's main part (its officeDocument relationship), or ``default``."""
        for kind, name in self.relationships("").values():
            if kind.endswith(_OFFICE_DOCUMENT) and self.info(name) is not None:
                return name
        return default


class PartReader:
    """One part's decompressed bytes in chunks, up to the limits; ``cut`` says why it stopped early.

    Stored and deflated parts (all that office suites write) are inflated here,
    so both the compressed bytes consumed and the bytes produced are counted;
    other methods go through zipfile with the size cap only. A part read to
    its end is checked against its CRC; a mismatch is noted in ``damaged``.
    """

    CHUNK = 1 << 16

    def __init__(self, package: Package, info: zipfile.ZipInfo, cap: int | None = None) -> None:
        self.package = package
        self.data = package.data
        self.info = info
        self.limits = package.limits
        self.cap = package.limits.part_bytes if cap is None else cap
        self.produced = 0
        self.cut: str | None = None
        self.damaged: str | None = None

    def _raw(self) -> memoryview:
        info = self.info
        header = self.data[info.header_offset : info.header_offset + 30]
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise ExtractionError(f"damaged package: {info.filename} has no local header")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        start = info.header_offset + 30 + name_length + extra_length
        return memoryview(self.data)[start : start + info.compress_size]

    def chunks(self) -> Iterator[bytes]:
        """Decompressed bytes of the part, in order; stops at the cap or the ratio limit."""
        if self.info.flag_bits & 0x1:
            raise EncryptedDocumentError(f"{self.info.filename} is encrypted")
        if self.info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            yield from self._inflate()
        else:
            yield from self._through_zipfile()

    def _take(self, chunk: bytes, consumed: int) -> bytes | None:
        """The part of ``chunk`` within the limits (None when nothing more may be read)."""
        package, limits = self.package, self.limits
        room = min(self.cap - self.produced, package.budget)
        if room < len(chunk):
            if package.budget < self.cap - self.produced:
                self.cut = (
                    f"cut where the {limits.total_bytes / _MiB:g} MiB read from all of the "
                    "package's parts ran out"
                )
            else:
                self.cut = f"cut after {self.cap / _MiB:g} MiB"
            if room <= 0:
                return None
            chunk = chunk[:room]
        self.produced += len(chunk)
        package.budget -= len(chunk)
        if self.produced > limits.ratio_floor and self.produced > limits.ratio * max(1, consumed):
            self.cut = (
                f"compressed over {limits.ratio}:1 (a ZIP bomb?): cut after "
                f"{self.produced / _MiB:.0f} MiB"
            )
        return chunk

    def _inflate(self) -> Iterator[bytes]:
        raw = self._raw()
        stored = self.info.compress_type == zipfile.ZIP_STORED
        inflater = None if stored else zlib.decompressobj(-zlib.MAX_WBITS)
        crc = 0
        position = 0
        pending = b""
        while True:
            if inflater is None:
                piece = bytes(raw[position : position + self.CHUNK])
                position += len(piece)
                finished = position >= len(raw)
            else:
                if not pending:
                    pending = bytes(raw[position : position + self.CHUNK])
                    position += len(pending)
                try:
                    piece = inflater.decompress(pending, self.CHUNK)
                except zlib.error as exc:
                    self.damaged = f"damaged compressed data ({exc})"
                    return
                pending = inflater.unconsumed_tail
                finished = inflater.eof or (position >= len(raw) and not pending and not piece)
            if piece:
                taken = self._take(piece, position - len(pending))
                if taken is None:
                    return
                crc = zlib.crc32(taken, crc)
                yield taken
                if self.cut:
                    return
            if finished:
                break
        if crc != self.info.CRC:
            self.damaged = "fails its CRC check"

    def _through_zipfile(self) -> Iterator[bytes]:
        """Other compression methods (bzip2, LZMA): zipfile inflates, the cap still counts."""
        try:
            with (
                zipfile.ZipFile(io.BytesIO(self.data)) as archive,
                archive.open(self.info) as member,
            ):
                while True:
                    piece = member.read(self.CHUNK)
                    if not piece:
                        return
                    taken = self._take(piece, self.info.compress_size)
                    if taken is None:
                        return
                    yield taken
                    if self.cut:
                        return
        except Exception as exc:  # zipfile, bz2 and lzma raise many kinds on damaged data
            self.damaged = f"damaged compressed data ({type(exc).__name__}: {one_line(exc)})"

    def problem(self) -> str | None:
        """A note on this part when it was cut short or damaged, else None."""
        if self.cut:
            return f"{self.info.filename}: {self.cut}; the text after that is not read"
        if self.damaged:
            return f"{self.info.filename}: {self.damaged}"
        return None


# -- XML as it streams -------------------------------------------------------

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


class Target(Protocol):
    """What lxml's target parser calls (see :func:`parse_stream`)."""

    def start(self, tag: str, attrib: dict[str, str]) -> None: ...
    def end(self, tag: str) -> None: ...
    def data(self, data: str) -> None: ...
    def close(self) -> Any: ...


def parse_stream(target: Target, reader: PartReader) -> list[str]:
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


# -- relationships -------------------------------------------------------------

_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_DOCUMENT = "/officeDocument"


def _rels_name(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def _relationships(content: bytes | None, part: str) -> dict[str, tuple[str, str]]:
    from lxml import etree

    if content is None:
        return {}
    entities = EntityFilter()
    content = entities.feed(content) + entities.flush()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=True)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError:
        return {}
    if root is None:
        return {}
    found: dict[str, tuple[str, str]] = {}
    folder = posixpath.dirname(part)
    for relation in root.iter(f"{{{_RELATIONSHIPS}}}Relationship"):
        if relation.get("TargetMode") == "External":
            continue
        target = relation.get("Target") or ""
        name = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        found[relation.get("Id") or ""] = (
            relation.get("Type") or "",
            posixpath.normpath(name).lstrip("/"),
        )
    return found


_HOSTILE_MESSAGE = re.compile(
    r"amplification|entity|excessive depth|resource limit|huge|nested too deep|bad crc",
    re.IGNORECASE,
)


def refused_as_hostile(exc: BaseException) -> bool:
    """True if a library gave up on a whole file for a reason reading part by part survives.

    libxml2 refusing a hostile construct (entity bombs and loops, undeclared
    entities, nesting and text-node limits), or zipfile finding a part whose
    CRC does not match what it read: it stops at the size the ZIP directory
    declares, which may be a lie, where :class:`PartReader` reads the deflate
    stream to its real end (within the cap); or the library running out of
    memory under the worker's cap. A streamed reading keeps the text around the
    trouble, in little memory.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, MemoryError) or _HOSTILE_MESSAGE.search(str(current)):
            return True
        current = current.__cause__ or current.__context__
    return False
