"""Office packages (ZIPs of XML parts) read part by part, within bounds a hostile file cannot lift.

python-docx, openpyxl and python-pptx load a whole package: every part, however
large, and every part's XML as one tree. A seized file can be built to exploit
that (hundreds of megabytes of junk parts, a 5 GB run of repeated bytes
deflated to 5 MB as the main part, a DTD whose entities expand a billion
times). :meth:`Package.oversized` tells from the ZIP directory whether a
package is safe to hand to those libraries; when it is not, the extractors
read only the parts that hold text, through :class:`PartReader`, which inflates
a part itself and stops at a cap of decompressed bytes (counted as they come,
whatever the ZIP headers declare), when the compression ratio says "bomb", or
when the budget shared by all the parts of the package is spent. The XML is
parsed as it streams (:mod:`leakscan.extract.xmlstream`), so memory stays
bounded whatever a part holds.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..errors import EncryptedDocumentError, ExtractionError
from . import Extracted, one_line
from .xmlstream import EntityFilter, Target, parse_stream

__all__ = [
    "DEFAULT_LIMITS",
    "Limits",
    "Package",
    "PartReader",
    "library_or_streamed",
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


def library_or_streamed(
    data: bytes,
    kind: str,
    limits: Limits,
    library: str,
    with_library: Callable[[bytes], Extracted],
    streamed: Callable[[bytes, Limits, str], Extracted],
) -> Extracted:
    """A package through its library when its ZIP directory looks safe, else (or when the
    library refuses it as hostile) part by part; ``streamed`` is told why."""
    with Package(data, kind, limits) as package:
        why = package.oversized()
    if why is None:
        try:
            return with_library(data)
        except ExtractionError as exc:
            if not refused_as_hostile(exc):
                raise
            why = f"{library} refused it: {exc}"
    return streamed(data, limits, why)
