"""ZIP, tar (plain, gzip, bzip2, xz), 7z and single-file gzip/bzip2/xz, read in memory under limits.

Members are never written to disk: each is read into memory, so a member
named ``../../etc/passwd`` cannot land anywhere. Such a name is a fact about
the evidence, not a reason to look away: the member is read and its
:attr:`Member.notes` say what is odd about its name. Every limit below is
checked on the bytes actually produced, not on the sizes an archive declares,
because a crafted archive lies about those.

Nothing a hostile archive holds stops a scan: any failure to parse becomes a
:class:`Refused` member (reading goes on) or an
:class:`~leakscan.errors.ExtractionError` for the archive, raised after the
members that could be read were yielded. The structures are parsed here, not
by :mod:`zipfile` (which reads a whole central directory, however large it
claims to be, and does not see overlapping members), and :mod:`tarfile` runs
with a checked header class (extended headers are bounded before it reads
them). Data that no member claims (bytes before, between or after archives,
a second archive appended to the first) is read too, so padding and
concatenation hide nothing.
"""

from __future__ import annotations

import bz2
import errno
import io
import lzma
import os
import re
import stat
import struct
import tarfile
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any, cast

from ..errors import ConfigurationError, EncryptedDocumentError, ExtractionError

__all__ = [
    "ARCHIVE_KINDS",
    "ArchiveLimits",
    "Budget",
    "Member",
    "Refused",
    "archive_kind",
    "read_archive",
    "unsafe_name",
]

_CHUNK = 1 << 20
_RATIO_FLOOR = 1 << 20  # small members may compress very well; ratios only count above this
#: A tar extended header (pax, GNU long name) larger than this is refused before it is read.
_MAX_EXTENDED_HEADER = 1 << 20
#: Extended headers in a row before one tar member (honest archives have one or two).
_MAX_HEADER_CHAIN = 8
#: Regions in one sparse tar member's map.
_MAX_SPARSE_REGIONS = 1 << 16
#: Bytes read while looking for structures beyond the obvious place (an earlier ZIP's
#: end record, the next tar header, the end of a run of zeros).
_SCAN_LIMIT = 64 << 20
#: Bytes of ZIP member names held while listing one file's central directories.
_MAX_NAME_BYTES = 64 << 20
#: Stray data shorter than this (a data descriptor, alignment) is not reported.
_MIN_STRAY = 64
#: ZIP archives looked for in one file (the last one and those hidden before it).
_MAX_ZIP_SECTIONS = 16
#: Decompressed bytes a stream keeps behind its read position (tarfile seeks back a little).
_HISTORY = 4 << 20
_PIECE = 256 << 10
_ZIP_INPUT = 64 << 10
_STREAM_INPUT = 64 << 10
_RUNNING_RATIO_FLOOR = 64 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds that stop decompression bombs; each applies to one archive as given.

    Nested archives share their outermost archive's budget, so ``42.zip``
    style bombs run into the total limit however they are nested. The total
    grows with the archive: ``max(max_total_bytes, max_total_ratio × its
    size on disk)`` (see :attr:`Budget.allowed_total`). The defaults are
    close to clamscan's (about 400 MB scanned per file, recursion depth 17).
    """

    #: Uncompressed bytes of one member (as for files on disk: larger ones are skipped).
    max_member_bytes: int = 256 << 20
    #: Uncompressed bytes of everything below one archive, nested archives included
    #: (the floor of the total limit).
    max_total_bytes: int = 400 << 20
    #: Uncompressed/compressed size of a member (or a whole gzip/bzip2/xz/7z stream) over 1 MiB.
    max_ratio: int = 200
    #: Members below one archive, nested archives included.
    max_members: int = 100_000
    #: Archives within archives: a.zip!b.zip!c.pdf is depth 2.
    max_depth: int = 17
    #: The total limit grows to this many times the outermost archive's size on disk.
    max_total_ratio: int = 50
    #: Members refused as decompression bombs below one archive before the whole of it
    #: is refused (a nested bomb holds thousands; each costs little, all of them a lot).
    max_bomb_members: int = 64

    def __post_init__(self) -> None:
        for name in (
            "max_member_bytes",
            "max_total_bytes",
            "max_ratio",
            "max_members",
            "max_total_ratio",
            "max_bomb_members",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ConfigurationError(f"archive limit {name} must be a positive integer")
        if self.max_depth < 1:
            raise ConfigurationError("archive limit max_depth must be at least 1")


@dataclass
class Budget:
    """What one outermost archive may still expand to.

    ``on_disk`` is the outermost archive's size on disk: the caller sets it
    (``Budget(limits, on_disk=size)``); a budget left at 0 takes the size of
    the first archive read under it, so nested archives, which read under
    their outer archive's budget, do not change it.
    """

    limits: ArchiveLimits
    total_bytes: int = 0
    members: int = 0
    on_disk: int = 0
    #: Members refused as decompression bombs so far.
    bombs: int = 0

    def __post_init__(self) -> None:
        for name in ("total_bytes", "members", "on_disk", "bombs"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ConfigurationError(f"archive budget {name} must be a non-negative integer")

    @property
    def allowed_total(self) -> int:
        """Uncompressed bytes allowed below the outermost archive, nested ones included."""
        return max(self.limits.max_total_bytes, self.limits.max_total_ratio * self.on_disk)

    def count_member(self) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise _TooManyMembers(
                f"refused: more than {self.limits.max_members} members (decompression bomb?)"
            )
        if self.bombs > self.limits.max_bomb_members:
            raise _BombError(
                f"refused: more than {self.limits.max_bomb_members} members are decompression "
                "bombs: the rest was not read"
            )

    def bomb(self, refusal: Refused) -> Refused:
        """Count a member refused as a decompression bomb (too many stop the archive)."""
        self.bombs += 1
        return refusal

    def count_bytes(self, count: int) -> None:
        """Count bytes brought into memory; over the total limit the archive stops."""
        self.total_bytes += count
        if self.total_bytes > self.allowed_total:
            raise _BombError(
                f"refused: expands beyond the {self.allowed_total}-byte total limit "
                "(decompression bomb?)"
            )


@dataclass(frozen=True)
class Member:
    """A regular file read from an archive (or data no member claims, named ``<…>``).

    ``notes`` says what is odd about it without having stopped its reading:
    a suspicious name (``../x``, ``/etc/x``, ``C:\\x``, NUL bytes, undecodable
    bytes shown as ``\\xNN``), a checksum mismatch, data hidden outside any
    member. An empty name is shown as ``<unnamed member N>`` (N: its position
    in the archive's listing, from 1); names may repeat, each copy is its own
    member.
    """

    name: str
    data: bytes
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refused:
    """A member not read: ``error`` True for hostile or damaged ones, False for skips by rule."""

    name: str
    reason: str
    error: bool = True
    mime: str | None = field(default=None)


class _BombError(ExtractionError):
    """The archive expands beyond the limits: reading it stops here."""


class _TooManyMembers(_BombError):
    """More members than the limit: reading stops here."""


class _Damaged(ExtractionError):
    """A compressed stream is damaged or truncated: reading the archive stops here."""


class _MemberTooLarge(Exception):
    """One member is over the member limit: skipped, reading goes on."""


class _TarHeaderError(Exception):
    """A tar header is refused before tarfile reads it (too large, malformed, crafted)."""


class _CallerFailure(BaseException):
    """The caller's ``select`` raised: carried past the handlers for hostile input."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(original)
        self.original = original


ARCHIVE_KINDS = ("zip", "tar", "7z", "gzip", "bzip2", "xz")

_MAGIC = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # empty ZIP
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)

# A ZIP that is really an office document is read by its extractor, not opened.
_OFFICE_MEMBERS = ("[Content_Types].xml", "mimetype", "META-INF/manifest.xml")


_OFFICE_SUFFIXES = (".docx", ".docm", ".xlsx", ".xlsm", ".pptx", ".odt", ".ods", ".odp", ".epub")


def archive_kind(head: bytes, handle: IO[bytes] | None = None, name: str = "") -> str | None:
    """Which archive format the content is, from its first bytes; None if not an archive.

    With a seekable ``handle`` a ZIP is looked inside, so DOCX, XLSX, ODT and
    friends (which are ZIPs) stay documents. A damaged ZIP named as an office
    document is left to that document's extractor, whose error says more.
    """
    kind = next((k for magic, k in _MAGIC if head.startswith(magic)), None)
    if kind is None and len(head) > 262 and head[257:262] == b"ustar":
        kind = "tar"
    if kind == "zip" and handle is not None:
        office = _is_office_zip(handle)
        if office or (office is None and name.lower().endswith(_OFFICE_SUFFIXES)):
            return None
    return kind


def _is_office_zip(handle: IO[bytes]) -> bool | None:
    """Whether a ZIP is an office document's package; None if it does not open."""
    try:
        size = handle.seek(0, os.SEEK_END)
        found = _find_directory(handle, 0, size, (1 << 16) + 22)[0]
        if found is None or found.problem:
            return None
        entries, _problem, _more = _list_directory(handle, found, 1, _ListBudget(100_000))
    except (OSError, ValueError, struct.error):
        return None
    finally:
        handle.seek(0)
    return any(entry.name in _OFFICE_MEMBERS for entry in entries)


def unsafe_name(name: str) -> str | None:
    """Why a member name is hostile (absolute, drive letter, climbs out), or None."""
    if not name:
        return "empty member name"
    if "\x00" in name:
        return "member name holds a NUL byte"
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        return "absolute member name (path traversal)"
    if ".." in posix.split("/"):  # as PurePosixPath(posix).parts, at a tenth of the cost
        return "member name climbs out of the archive with '..' (path traversal)"
    return None


def _shown_name(name: str, number: int, notes: list[str]) -> str:
    """The name a member is reported under, with notes on what is odd about it."""
    problem = unsafe_name(name)
    if problem:
        notes.append(f"suspicious member name: {problem}; read in memory only")
    if not name:
        return f"<unnamed member {number}>"
    shown = name.replace("\x00", "\\x00")
    try:
        shown.encode("utf-8")
    except UnicodeEncodeError:
        shown = "".join(_escape_surrogate(ch) for ch in shown)
        notes.append("member name is not valid text: undecodable bytes shown as \\xNN")
    return shown


def _escape_surrogate(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if 0xD800 <= code <= 0xDFFF:
        return f"\\u{code:04x}"
    return ch


Select = Callable[[str], bool]


def _all(_name: str) -> bool:
    return True


def read_archive(
    kind: str, handle: IO[bytes], name: str, size: int, budget: Budget, select: Select = _all
) -> Iterator[Member | Refused]:
    """Members of one archive in file order; raises ExtractionError when it
    cannot go on (damaged, truncated, encrypted headers, over the limits), after
    yielding what it could read. Members whose name ``select`` rejects are
    passed over unread and unreported. No other exception escapes.

    ``size`` is the archive's size (of the file on disk, or of the member
    holding it). A fresh ``budget`` with ``on_disk`` 0 takes ``size`` as the
    outermost archive's size on disk.
    """
    readers: dict[
        str, Callable[[IO[bytes], str, int, Budget, Select], Iterator[Member | Refused]]
    ] = {
        "zip": _read_zip,
        "tar": _read_tar,
        "7z": _read_7z,
        "gzip": _read_compressed,
        "bzip2": _read_compressed,
        "xz": _read_compressed,
    }
    if kind not in readers:
        raise ConfigurationError(f"unknown archive kind {kind!r}")
    if budget.on_disk == 0 and budget.total_bytes == 0 and budget.members == 0:
        budget.on_disk = max(0, size)

    def chosen(member: str) -> bool:
        try:
            return select(member)
        except Exception as exc:  # the caller's bug is not a damaged archive
            raise _CallerFailure(exc) from exc

    try:
        handle.seek(0)
        yield from readers[kind](handle, name, size, budget, chosen)
    except _CallerFailure as failure:
        raise failure.original from None
    except ExtractionError:
        raise
    except MemoryError as exc:
        raise ExtractionError(f"refused: reading this {kind} archive ran out of memory") from exc
    except Exception as exc:  # a hostile archive must not stop the scan
        raise ExtractionError(f"damaged or truncated {kind} archive: {_describe(exc)}") from exc


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "…"


def _read_limited(
    stream: IO[bytes] | io.BufferedIOBase, budget: Budget, *, count: bool = True
) -> bytes:
    """Read one member's bytes, stopping as soon as a limit is passed (``count``: the
    bytes are new to the budget, not already counted by a decompressing stream)."""
    limit = budget.limits.max_member_bytes
    parts: list[bytes] = []
    got = 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return b"".join(parts)
        got += len(chunk)
        if count:
            budget.count_bytes(len(chunk))
        if got > limit:
            raise _MemberTooLarge
        parts.append(chunk)


def _screen(
    member: str,
    budget: Budget,
    select: Select,
    *,
    size: int,
    link: bool = False,
    special: bool = False,
    encrypted: bool = False,
) -> Refused | bool:
    """What to do with a listed member before reading it: True read it, False pass
    over it unreported (not selected), or the Refused record saying why not."""
    if not select(member):
        return False
    budget.count_member()
    if link:
        return Refused(
            member, "symbolic link or hard link in the archive (not followed)", error=False
        )
    if special:
        return Refused(member, "not a regular file (device or FIFO entry)", error=False)
    if encrypted:
        return Refused(member, "password-protected member: not read")
    if size > budget.limits.max_member_bytes:
        return _too_large(member, budget.limits)
    return True


def _too_large(name: str, limits: ArchiveLimits) -> Refused:
    return Refused(name, f"larger than the {limits.max_member_bytes}-byte limit", error=False)


def _ratio_refusal(name: str, declared: int, compressed: int, limits: ArchiveLimits) -> Refused:
    return Refused(
        name,
        f"refused: declares a {declared // max(1, compressed)}:1 compression ratio, over the "
        f"{limits.max_ratio}:1 limit (decompression bomb?)",
    )


# -- reading raw bytes: holes, zeros, stray data ------------------------------------


def _next_data(handle: IO[bytes], pos: int) -> int | None:
    """Where data (not a hole) begins at or after ``pos`` in a sparse file, -1 if none
    follows; None when the file cannot tell (not a real file, no SEEK_DATA)."""
    seek_data = getattr(os, "SEEK_DATA", None)
    if seek_data is None:
        return None
    try:
        fd = handle.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    try:
        saved = os.lseek(fd, 0, os.SEEK_CUR)
    except OSError:
        return None
    try:
        return os.lseek(fd, pos, seek_data)
    except OSError as exc:
        return -1 if exc.errno == errno.ENXIO else None
    finally:
        # The Python file object caches the position: leave the descriptor where it was.
        os.lseek(fd, saved, os.SEEK_SET)


def _skip_zeros(handle: IO[bytes], pos: int, end: int) -> tuple[int, bool]:
    """The first non-zero byte at or after ``pos`` (``end`` if none), holes skipped
    without reading; False with the position reached when the scan limit ran out."""
    scanned = 0
    while pos < end:
        data_at = _next_data(handle, pos)
        if data_at is not None:
            if data_at < 0 or data_at >= end:
                return end, True
            pos = max(pos, data_at)
        handle.seek(pos)
        chunk = handle.read(min(_CHUNK, end - pos))
        if not chunk:
            return end, True
        rest = chunk.lstrip(b"\x00")
        if rest:
            return pos + len(chunk) - len(rest), True
        pos += len(chunk)
        scanned += len(chunk)
        if scanned >= _SCAN_LIMIT:
            return pos, False
    return end, True


def _stray(
    handle: IO[bytes],
    start: int,
    end: int,
    budget: Budget,
    select: Select,
    note: str,
) -> Iterator[Member | Refused]:
    """Bytes of the file that no member claims, as a member of their own (zeros skipped)."""
    start, known = _skip_zeros(handle, start, end)
    if end - start < _MIN_STRAY:
        return
    name = f"<{end - start} unlisted bytes at offset {start}>"
    if not select(name):
        return
    budget.count_member()
    limits = budget.limits
    if end - start > limits.max_member_bytes:
        what = note if known else f"{note} (zeros or holes up to there not all examined)"
        yield Refused(
            name, f"{what}: not read, larger than the {limits.max_member_bytes}-byte limit", False
        )
        return
    handle.seek(start)
    data = handle.read(end - start)
    budget.count_bytes(len(data))
    if len(data) >= _MIN_STRAY and data.strip(b"\x00"):
        yield Member(name, data, (note,))


# -- compressed streams ----------------------------------------------------------------


_Engine = Any  # zlib's Decompress, bz2.BZ2Decompressor or lzma.LZMADecompressor


class _Decoder:
    """One compressed stream, decoded a bounded piece at a time (zlib, bz2, lzma alike)."""

    def __init__(self, engine: _Engine) -> None:
        self._engine = engine
        self._zlib = not isinstance(engine, (bz2.BZ2Decompressor, lzma.LZMADecompressor))
        self._tail = b""

    def decode(self, data: bytes, limit: int) -> bytes:
        if self._zlib:
            if self._tail:
                data = self._tail + data
            out: bytes = self._engine.decompress(data, limit)
            self._tail = self._engine.unconsumed_tail
            return out
        result: bytes = self._engine.decompress(data, limit)
        return result

    @property
    def eof(self) -> bool:
        return bool(self._engine.eof)

    @property
    def needs_input(self) -> bool:
        if self._zlib:
            return not self._tail
        return bool(self._engine.needs_input)

    @property
    def unused_data(self) -> bytes:
        unused: bytes = self._engine.unused_data
        return unused


_STREAM_MAGIC = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "xz": b"\xfd7zXZ\x00"}
_DECODE_ERRORS = (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError, MemoryError)


def _stream_decoder(fmt: str) -> _Decoder:
    if fmt == "gzip":
        return _Decoder(zlib.decompressobj(31))
    if fmt == "bzip2":
        return _Decoder(bz2.BZ2Decompressor())
    return _Decoder(lzma.LZMADecompressor(lzma.FORMAT_XZ))


class _Expanding(io.RawIOBase):
    """The decompressed bytes of a gzip/bzip2/xz file (all its concatenated streams).

    Read forward (and a little back, as tarfile does); every byte produced is
    counted against the budget and the whole stream's ratio, so skipping over
    a member costs what decompressing it costs and a bomb stops early. Where
    data that is not another stream follows the last one, ``trailing_at``
    says where (an offset in the file).
    """

    def __init__(self, handle: IO[bytes], fmt: str, size: int, budget: Budget) -> None:
        super().__init__()
        self._handle = handle
        self._fmt = fmt
        self._size = size
        self._budget = budget
        handle.seek(0)
        self._decoder = _stream_decoder(fmt)
        self._input = b""
        self._read_in = 0
        self._buffer = bytearray()
        self._buffer_start = 0
        self._end = 0
        self._pos = 0
        self._finished = False
        self.streams = 1
        self.trailing_at: int | None = None
        self.produced = 0
        self._failure: _Damaged | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            target = offset
        elif whence == os.SEEK_CUR:
            target = self._pos + offset
        else:
            raise OSError(f"cannot seek from the end of a {self._fmt} stream")
        if target < self._buffer_start:
            raise OSError(f"cannot go back {self._pos - target} bytes in a {self._fmt} stream")
        while self._end < target and self._more():
            self._pos = min(target, self._end)
            self._trim()
        self._pos = target
        self._trim()
        return target

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = len(view)
        if self._failure is not None and self._pos >= self._end:
            raise self._failure
        try:
            while self._end - self._pos < wanted and self._more():
                pass
        except _Damaged as exc:
            if self._pos >= self._end:
                raise
            self._failure = exc  # what came before the damage is read first
        if self._pos >= self._end:
            return 0
        start = self._pos - self._buffer_start
        got = min(wanted, self._end - self._pos)
        view[:got] = self._buffer[start : start + got]
        self._pos += got
        self._trim()
        return got

    @property
    def failure(self) -> _Damaged | None:
        """The damage that cut the stream short, once the bytes before it were read."""
        return self._failure

    def account(self, count: int) -> None:
        """Count bytes produced beyond the stream (a sparse member's holes)."""
        self.produced += count
        self._budget.count_bytes(count)
        limits = self._budget.limits
        if self.produced > _RATIO_FLOOR and self.produced > limits.max_ratio * max(1, self._size):
            raise _BombError(
                f"refused: expands more than {limits.max_ratio}:1 (decompression bomb?)"
            )
        # A stream declares no sizes: past 64 MiB, the ratio of what it has read so far
        # counts too (zeros up front in an honest archive rarely run that long).
        if self.produced > _RUNNING_RATIO_FLOOR and self.produced > limits.max_ratio * max(
            1, self._read_in
        ):
            raise _BombError(
                f"refused: its first {self.produced} bytes came from {self._read_in} "
                f"compressed bytes, more than {limits.max_ratio}:1 (decompression bomb?)"
            )

    def allowance(self) -> int:
        """Bytes the stream may still produce before a limit stops it."""
        by_ratio = max(_RATIO_FLOOR, self._budget.limits.max_ratio * max(1, self._size))
        by_total = self._budget.allowed_total - self._budget.total_bytes
        return max(0, min(by_ratio - self.produced, by_total))

    def finish(self) -> None:
        """Read to the end of the last stream, so that ``trailing_at`` is known."""
        while self._more():
            self._pos = self._end
            self._trim()

    def _trim(self) -> None:
        keep_from = self._pos - _HISTORY
        if keep_from - self._buffer_start > _HISTORY:
            del self._buffer[: keep_from - self._buffer_start]
            self._buffer_start = keep_from

    def _more(self) -> bool:
        if self._finished:
            return False
        piece = self._produce()
        if not piece:
            return False
        self._buffer += piece
        self._end += len(piece)
        self.account(len(piece))
        return True

    def _produce(self) -> bytes:
        while True:
            decoder = self._decoder
            if decoder.eof:
                if not self._next_stream():
                    self._finished = True
                    return b""
                continue
            data = b""
            if decoder.needs_input:
                data, self._input = self._input, b""
                if not data:
                    # Small input pieces: output comes (and counts) before damage further on.
                    data = self._handle.read(_STREAM_INPUT)
                    self._read_in += len(data)
                if not data:
                    raise _Damaged(
                        f"truncated {self._fmt} data: it ends before its end-of-stream marker"
                    )
            try:
                out = decoder.decode(data, _PIECE)
            except _DECODE_ERRORS as exc:
                raise _Damaged(
                    f"damaged {self._fmt} data near byte {self._read_in}: {_describe(exc)}"
                ) from exc
            if out:
                return out
            if not data and not decoder.eof:  # no progress: a decoder that wants nothing
                raise _Damaged(f"damaged {self._fmt} data near byte {self._read_in}")

    def _next_stream(self) -> bool:
        """After one stream's end: start the next concatenated one, or note what follows."""
        rest = self._decoder.unused_data + self._input
        self._input = b""
        rest = rest.lstrip(b"\x00")
        if not rest:
            at, known = _skip_zeros(self._handle, self._read_in, self._size)
            if at >= self._size and known:
                return False
            self._handle.seek(at)
            rest = self._handle.read(_CHUNK)
            self._read_in = at + len(rest)
            if not known or not rest:
                self.trailing_at = at if rest else None
                return False
        magic = _STREAM_MAGIC[self._fmt]
        if len(rest) < len(magic):
            more = self._handle.read(len(magic))
            self._read_in += len(more)
            rest += more
        if rest.startswith(magic):
            self._decoder = _stream_decoder(self._fmt)
            self._input = rest
            self.streams += 1
            return True
        self.trailing_at = self._read_in - len(rest)
        return False


def _read_compressed(
    handle: IO[bytes], name: str, size: int, budget: Budget, select: Select
) -> Iterator[Member | Refused]:
    """A single gzip/bzip2/xz file: a tar inside is read as a tar, anything else is one
    member (concatenated streams, as in ``cat a.gz b.gz``, are one member's data)."""
    head = handle.read(6)
    fmt = next((k for k, magic in _STREAM_MAGIC.items() if head.startswith(magic)), None)
    if fmt is None:
        raise ExtractionError("not a gzip, bzip2 or xz file")
    stream = _Expanding(handle, fmt, size, budget)
    block = stream.read(512)
    stream.seek(0)
    if len(block) == 512 and block[257:262] == b"ustar":
        yield from _tar_members(stream, None, budget, select, stream)
        stream.finish()
    else:
        yield from _compressed_member(stream, fmt, name, budget, select)
    if stream.trailing_at is not None:
        yield from _stray(
            handle,
            stream.trailing_at,
            size,
            budget,
            select,
            f"data after the end of the {fmt} stream (appended data?)",
        )


def _compressed_member(
    stream: _Expanding, fmt: str, name: str, budget: Budget, select: Select
) -> Iterator[Member | Refused]:
    inner = PurePosixPath(name.rsplit("!", 1)[-1]).name
    for suffix in (".gz", ".tgz", ".bz2", ".xz"):
        if inner.lower().endswith(suffix):
            inner = inner[: -len(suffix)] + (".tar" if suffix == ".tgz" else "")
            break
    inner = inner or "data"
    if not select(inner):
        return
    budget.count_member()
    parts: list[bytes] = []
    got = 0
    try:
        while chunk := stream.read(_CHUNK):
            got += len(chunk)
            if got > budget.limits.max_member_bytes:
                yield _too_large(inner, budget.limits)
                return
            parts.append(chunk)
    except _Damaged as exc:
        if got:  # what came before the damage is evidence too
            note = f"damaged {fmt} data: only the first {got} bytes could be read"
            yield Member(inner, b"".join(parts), (note,))
        raise ExtractionError(f"{exc} (the first {got} bytes were read)") from exc
    notes = (f"{stream.streams} concatenated {fmt} streams",) if stream.streams > 1 else ()
    yield Member(inner, b"".join(parts), notes)


# -- tar ----------------------------------------------------------------------------------

_EXTENDED_TYPES = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)
_PAX_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)
_LONG_DIGITS = re.compile(rb"[0-9]{65}")


def _pax_problem(buf: bytes) -> str | None:
    """Why a pax extended header is malformed, found in linear time, or None.

    tarfile's own parser (Python 3.11.7) backtracks quadratically on long runs
    of digits and trusts each record's length; this is checked first.
    """
    if _LONG_DIGITS.search(buf):
        return "a run of more than 64 digits"
    pos = 0
    while pos < len(buf) and buf[pos] != 0:
        space = buf.find(b" ", pos, pos + 21)
        if space <= pos or not buf[pos:space].isdigit():
            return "a record does not start with its length"
        length = int(buf[pos:space])
        if length < space - pos + 4 or pos + length > len(buf):
            return f"a record claims {length} bytes, past the header's end"
        record = buf[space + 1 : pos + length]
        if not record.endswith(b"\n") or b"=" not in record or record.startswith(b"="):
            return "a record is not keyword=value"
        pos += length
    return None


def _checked_tarinfo() -> type[tarfile.TarInfo]:
    """A TarInfo class that bounds what tarfile reads for each header (one per archive)."""

    class _Checked(tarfile.TarInfo):
        chain = 0

        @classmethod
        def fromtarfile(cls, tar: tarfile.TarFile) -> _Checked:
            start = tar.fileobj.tell()  # type: ignore[union-attr]
            cls.chain += 1
            try:
                if cls.chain > _MAX_HEADER_CHAIN:
                    raise _TarHeaderError(
                        f"more than {_MAX_HEADER_CHAIN} extended headers in a row (crafted?)"
                    )
                info = super().fromtarfile(tar)
            finally:
                cls.chain -= 1
            if info.size < 0 or tar.offset <= start:
                raise _TarHeaderError("a header gives a negative size (crafted?)")
            if info.sparse is not None and len(info.sparse) > _MAX_SPARSE_REGIONS:
                raise _TarHeaderError(f"a sparse map of more than {_MAX_SPARSE_REGIONS} regions")
            return info

        def _proc_member(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
            extended = self.type in _EXTENDED_TYPES or self.type in _PAX_TYPES
            if extended and not 0 <= self.size <= _MAX_EXTENDED_HEADER:
                raise _TarHeaderError(
                    f"an extended header of {self.size} bytes, over the "
                    f"{_MAX_EXTENDED_HEADER}-byte limit (crafted?)"
                )
            if self.type in _PAX_TYPES:
                fileobj = tar.fileobj
                here = fileobj.tell()  # type: ignore[union-attr]
                problem = _pax_problem(fileobj.read(self.size))  # type: ignore[union-attr]
                fileobj.seek(here)  # type: ignore[union-attr]
                if problem:
                    raise _TarHeaderError(f"malformed pax header: {problem}")
            info: tarfile.TarInfo = super()._proc_member(tar)  # type: ignore[misc]
            if self.type == tarfile.XGLTYPE:
                held = sum(len(k) + len(v) for k, v in tar.pax_headers.items())
                if held > _MAX_EXTENDED_HEADER:
                    raise _TarHeaderError("global pax headers over 1 MiB in all (crafted?)")
            return info

        def _proc_sparse(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
            # tarfile's loop has no bound (and fails with IndexError at the end of data).
            structs, extended, original = self._sparse_structs  # type: ignore[attr-defined]
            del self._sparse_structs  # type: ignore[attr-defined]
            while extended:
                if len(structs) > _MAX_SPARSE_REGIONS:
                    raise _TarHeaderError("an old GNU sparse map that goes on (crafted?)")
                buf = tar.fileobj.read(tarfile.BLOCKSIZE)  # type: ignore[union-attr]
                if len(buf) < tarfile.BLOCKSIZE:
                    raise _TarHeaderError("truncated sparse header")
                for pos in range(0, 21 * 24, 24):
                    try:
                        offset = tarfile.nti(buf[pos : pos + 12])  # type: ignore[attr-defined]
                        count = tarfile.nti(buf[pos + 12 : pos + 24])  # type: ignore[attr-defined]
                    except ValueError:
                        break
                    if offset and count:
                        structs.append((offset, count))
                extended = bool(buf[504])
            self.sparse = structs
            self.offset_data = tar.fileobj.tell()  # type: ignore[union-attr]
            tar.offset = self.offset_data + self._block(self.size)  # type: ignore[attr-defined]
            self.size = original
            return self

        def _proc_gnusparse_10(
            self, following: tarfile.TarInfo, _pax: dict[str, str], tar: tarfile.TarFile
        ) -> None:
            # tarfile's version trusts the region count and joins lines without bound.
            numbers: list[int] = []
            expected: int | None = None
            buf = b""
            while expected is None or len(numbers) < 2 * expected:
                if b"\n" not in buf:
                    if len(buf) > 64:
                        raise _TarHeaderError("malformed GNU sparse map")
                    block = tar.fileobj.read(tarfile.BLOCKSIZE)  # type: ignore[union-attr]
                    if not block:
                        raise _TarHeaderError("truncated GNU sparse map")
                    buf += block
                    continue
                line, buf = buf.split(b"\n", 1)
                value = int(line)
                if expected is None:
                    if not 0 <= value <= _MAX_SPARSE_REGIONS:
                        raise _TarHeaderError(f"a sparse map of {value} regions (crafted?)")
                    expected = value
                else:
                    numbers.append(value)
            following.offset_data = tar.fileobj.tell()  # type: ignore[union-attr]
            following.sparse = list(zip(numbers[::2], numbers[1::2], strict=True))  # type: ignore[assignment]

    return _Checked


#: A plain tar's file, or the decompressed stream of a compressed one.
_Source = IO[bytes] | _Expanding


def _read_tar(
    handle: IO[bytes], _name: str, size: int, budget: Budget, select: Select
) -> Iterator[Member | Refused]:
    yield from _tar_members(handle, size, budget, select, None)


def _valid_tar_header(block: bytes) -> bool:
    try:
        tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    except Exception:  # any way a block is not a header
        return False
    return True


def _tar_members(
    source: _Source,
    end: int | None,
    budget: Budget,
    select: Select,
    expanding: _Expanding | None,
) -> Iterator[Member | Refused]:
    """Members of a tar and of any tar appended to it; ``end`` is the size of a plain
    tar (None for a decompressed stream, read forward); damaged headers are reported
    and reading resumes at the next valid header."""
    limits = budget.limits
    headers = 0
    produced = 0
    pos: int | None = 0
    first = True
    while pos is not None:
        source.seek(pos)
        resume_at: int
        try:
            archive = tarfile.TarFile(
                fileobj=source,
                mode="r",
                tarinfo=_checked_tarinfo(),
                encoding="utf-8",
                errors="surrogateescape",
            )
        except ExtractionError:
            raise
        except Exception as exc:
            if first and isinstance(exc, tarfile.ReadError):  # not a tar header at all
                raise ExtractionError(f"not a readable tar archive: {_describe(exc)}") from exc
            first = False
            yield Refused(f"<damaged tar header at offset {pos}>", f"damaged: {_describe(exc)}")
            pos = yield from _after_tar(source, pos + tarfile.BLOCKSIZE, end, budget, select)
            continue
        first = False
        with archive:
            try:
                while True:
                    at = archive.offset
                    info = archive.next()
                    if info is None:
                        resume_at = archive.offset
                        break
                    archive.members.clear()  # type: ignore[attr-defined]  # else it keeps every header
                    headers += 1
                    if headers > 10 * limits.max_members:
                        raise _TooManyMembers(
                            f"refused: more than {10 * limits.max_members} entries in the tar "
                            "archive (padding?): the rest was not read"
                        )
                    if info.isdir():
                        continue
                    for item in _tar_member(archive, info, headers, budget, select, expanding):
                        if isinstance(item, Member):
                            produced += len(item.data)
                        yield item
                    if (
                        expanding is None
                        and produced > _RATIO_FLOOR
                        and produced > limits.max_ratio * max(1, end or 0)
                    ):
                        raise _BombError(
                            f"refused: expands more than {limits.max_ratio}:1 (decompression bomb?)"
                        )
            except ExtractionError:
                raise
            except tarfile.ReadError as exc:
                if expanding is not None and expanding.failure is not None:
                    raise expanding.failure from exc
                if str(exc) != "unexpected end of data":
                    raise _Damaged(f"damaged tar archive: {_describe(exc)}") from exc
                raise ExtractionError(
                    f"truncated tar archive: it ends inside the member at offset {at}"
                ) from exc
            except Exception as exc:  # a header tarfile (or our checks) refused
                yield Refused(f"<damaged tar header at offset {at}>", f"damaged: {_describe(exc)}")
                resume_at = at + tarfile.BLOCKSIZE
        pos = yield from _after_tar(source, resume_at, end, budget, select)


def _tar_member(
    archive: tarfile.TarFile,
    info: tarfile.TarInfo,
    number: int,
    budget: Budget,
    select: Select,
    expanding: _Expanding | None,
) -> Iterator[Member | Refused]:
    notes: list[str] = []
    member = _shown_name(info.name, number, notes)
    if expanding is not None and info.isreg():
        # Reading or skipping a member of a compressed tar decompresses all its bytes:
        # one that declares more than the limits still allow is refused now.
        allowance = expanding.allowance()
        if info.size > allowance:
            raise _BombError(
                f"refused: member {member!r} declares {info.size} bytes; going past it "
                f"would expand beyond the limits ({allowance} bytes left; decompression bomb?)"
            )
    link = info.issym() or info.islnk()
    verdict = _screen(
        member,
        budget,
        select,
        size=info.size,
        link=link,
        special=not link and not info.isreg(),
    )
    if verdict is not True:
        if verdict:
            yield verdict
        return
    try:
        stream = archive.extractfile(info)
        if stream is None:  # pragma: no cover - regular files always have a stream
            return
        data = _read_limited(stream, budget, count=expanding is None)
    except _MemberTooLarge:
        yield _too_large(member, budget.limits)
        return
    except (_BombError, _Damaged):
        raise
    except tarfile.ReadError as exc:  # the data ends early: truncated or damaged
        if expanding is not None and expanding.failure is not None:
            raise expanding.failure from exc
        raise ExtractionError(f"truncated tar archive: {_describe(exc)}") from exc
    except Exception as exc:
        yield Refused(member, f"damaged member: {_describe(exc)}")
        return
    if expanding is not None and info.sparse:
        # A sparse member's holes are made here, not decompressed: count them too.
        regions = cast(list[tuple[int, int]], info.sparse)
        stored = sum(max(0, count) for _offset, count in regions)
        expanding.account(max(0, len(data) - stored))
    yield Member(member, data, tuple(notes))


def _after_tar(
    source: _Source, pos: int, end: int | None, budget: Budget, select: Select
) -> Generator[Member | Refused, None, int | None]:
    """What follows a tar's end (or a damaged header): zeros are skipped, another
    archive's header is where reading goes on (returned), anything else is
    reported as stray data. Returns None at the end of the data."""
    start = pos
    if expanding := (end is None):
        source.seek(pos)
        while True:
            chunk = source.read(_CHUNK)
            rest = chunk.lstrip(b"\x00")
            if rest:
                pos += len(chunk) - len(rest)
                break
            pos += len(chunk)
            if not chunk:
                return None
    else:
        assert end is not None and not isinstance(source, _Expanding)
        pos, known = _skip_zeros(source, pos, end)
        if pos >= end:
            return None
        if not known:
            yield Refused(
                f"<{end - pos} unlisted bytes at offset {pos}>",
                "zeros or holes after the end of the tar archive, not all examined",
                error=False,
            )
            return None
    block_at = start + (pos - start) // tarfile.BLOCKSIZE * tarfile.BLOCKSIZE
    source.seek(block_at)
    if _valid_tar_header(source.read(tarfile.BLOCKSIZE)):
        return block_at
    limits = budget.limits
    following, stray, stop = _next_tar_header(source, block_at, end, limits.max_member_bytes)
    note = "data after the end of the tar archive or in place of a header (appended or damaged)"
    if following is None and end is not None and stop < end:
        note += "; the bytes after it were not examined (scan limit)"
    name = f"<{stop - block_at} unlisted bytes at offset {block_at}>"
    if stop - block_at >= _MIN_STRAY and select(name):
        budget.count_member()
        if stray is None:
            limit = limits.max_member_bytes
            yield Refused(name, f"{note}: not read, larger than the {limit}-byte limit", False)
        else:
            if not expanding:
                budget.count_bytes(len(stray))
            if stray.strip(b"\x00"):
                yield Member(name, stray, (note,))
    return following


def _next_tar_header(
    source: _Source, pos: int, end: int | None, keep: int
) -> tuple[int | None, bytes | None, int]:
    """The next valid ustar header after ``pos`` (None if none within the scan limit),
    the bytes before it (None if more than ``keep``), and where the scan stopped.
    Holes of a sparse file are skipped, not read."""
    held: bytearray | None = bytearray()  # the bytes from pos on, while they fit in keep
    offset = pos
    scanned = 0
    tail = b""
    disk = None if isinstance(source, _Expanding) else source
    while scanned < max(_SCAN_LIMIT, keep) and (end is None or offset < end):
        if disk is not None:
            data_at = _next_data(disk, offset)
            if data_at is not None and (data_at < 0 or (end is not None and data_at >= end)):
                stop = end if end is not None else offset
                if held is not None and len(held) + stop - offset > keep:
                    held = None
                elif held is not None:
                    held += bytes(stop - offset)
                offset = stop
                break
            if data_at is not None and data_at > offset:
                if held is not None and len(held) + data_at - offset <= keep:
                    held += bytes(data_at - offset)
                else:
                    held = None
                offset, tail = data_at, b""
        source.seek(offset)
        chunk = source.read(_CHUNK)
        if not chunk:
            break
        window = tail + chunk  # "ustar" may straddle two chunks
        window_start = offset - len(tail)
        look = 0
        while (hit := window.find(b"ustar", look)) >= 0:
            look = hit + 1
            candidate = window_start + hit - 257
            if candidate <= pos:
                continue
            source.seek(candidate)
            if _valid_tar_header(source.read(tarfile.BLOCKSIZE)):
                if held is None:
                    return candidate, None, candidate
                before = (bytes(held) + chunk)[: candidate - pos]
                return candidate, before if len(before) <= keep else None, candidate
        offset += len(chunk)
        scanned += len(chunk)
        tail = chunk[-4:]
        if held is not None:
            held += chunk
            if len(held) > keep:
                held = None
    stop = offset if end is None else min(offset, end)
    if held is not None:
        del held[stop - pos :]
    return None, bytes(held) if held is not None else None, stop


# -- ZIP --------------------------------------------------------------------------------

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_END = b"PK\x05\x06"
_END64 = b"PK\x06\x06"
_LOCATOR64 = b"PK\x06\x07"
_CENTRAL_FORMAT = struct.Struct("<4s6H3L5H2L")
_END_FORMAT = struct.Struct("<4s4H2LH")
_END64_FORMAT = struct.Struct("<4sQ2H2L4Q")
_LOCATOR64_FORMAT = struct.Struct("<4sLQL")
_METHOD_NAMES = {
    1: "Shrink",
    6: "Implode",
    9: "Deflate64",
    93: "Zstandard",
    95: "XZ",
    96: "JPEG",
    97: "WavPack",
    98: "PPMd",
    99: "AES",
}
_OVERLAP = "refused: overlaps another member's data: a crafted ZIP (zip bomb?)"


@dataclass
class _Directory:
    """One ZIP archive's end record and where its central directory lies."""

    base: int  # where the archive's offsets count from
    cd_start: int
    cd_size: int
    end: int  # just after the end record and its comment
    declared: int  # entries the end record declares
    problem: str | None = None


@dataclass
class _Entry:
    """One central directory entry, with its member's data range once the local header is read."""

    number: int
    name: str
    raw_name: bytes
    notes: list[str]
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    offset: int  # absolute, of the local header
    mode: int
    data_start: int = -1
    problem: str | None = None

    @property
    def data_end(self) -> int:
        start = self.data_start if self.data_start >= 0 else self.offset + 30 + len(self.raw_name)
        return start + self.csize

    @property
    def is_dir(self) -> bool:
        # A "directory" that holds data is read: data is not hidden behind a slash.
        return self.name.endswith("/") and self.usize == 0 and self.csize <= 2


@dataclass
class _ListBudget:
    """What listing may still hold, over all the central directories of one file."""

    entries: int
    name_bytes: int = _MAX_NAME_BYTES


def _find_directory(
    handle: IO[bytes], lo: int, hi: int, allowance: int
) -> tuple[_Directory | None, int]:
    """The last ZIP end record in [lo, hi) that leads to a central directory, looking
    back from ``hi`` through at most ``allowance`` bytes; and the bytes read."""
    read = 0
    pos = hi
    carry = b""  # the start of the block looked at before: a record may straddle the two
    step = (1 << 16) + 22  # where zipfile looks; most records are in the last 22 bytes
    while pos > lo and read < allowance:
        start = max(lo, pos - step)
        handle.seek(start)
        block = handle.read(pos - start)
        read += len(block)
        joined = block + carry
        at = joined.rfind(_END, 0, len(block) + 3)
        while at >= 0:
            found = _directory_at(handle, start + at, lo, hi)
            if found is not None:
                return found, read
            at = joined.rfind(_END, 0, at + 3)
        carry = block[:3]
        pos = start
        step = _CHUNK
    return None, read


def _directory_at(handle: IO[bytes], at: int, lo: int, hi: int) -> _Directory | None:
    """The archive whose end record is at ``at``, if the record leads to a central directory."""
    handle.seek(at)
    record = handle.read(_END_FORMAT.size)
    if len(record) < _END_FORMAT.size or at + _END_FORMAT.size > hi:
        return None
    _sig, disk, cd_disk, _here, declared, cd_size, cd_offset, comment = _END_FORMAT.unpack(record)
    cd_end = at
    if at - lo >= _LOCATOR64_FORMAT.size:
        handle.seek(at - _LOCATOR64_FORMAT.size)
        locator = handle.read(_LOCATOR64_FORMAT.size)
        if locator[:4] == _LOCATOR64:
            _s, _d, recorded, _disks = _LOCATOR64_FORMAT.unpack(locator)
            for where in (at - _LOCATOR64_FORMAT.size - _END64_FORMAT.size, recorded):
                if lo <= where <= at - _LOCATOR64_FORMAT.size - _END64_FORMAT.size:
                    handle.seek(where)
                    record64 = handle.read(_END64_FORMAT.size)
                    if record64[:4] == _END64:
                        (_s, _n, _m, _v, disk, cd_disk, _here, declared, cd_size, cd_offset) = (
                            _END64_FORMAT.unpack(record64)
                        )
                        cd_end = where
                        break
    cd_start = cd_end - cd_size
    base = cd_start - cd_offset
    if cd_start < lo or base < 0:
        return None
    if declared or cd_size:
        handle.seek(cd_start)
        if handle.read(4) != _CENTRAL:
            return None
    found = _Directory(base, cd_start, cd_size, min(hi, at + _END_FORMAT.size + comment), declared)
    if disk or cd_disk:
        found.problem = "a ZIP split across several disks (volumes): not supported"
    return found


def _list_directory(
    handle: IO[bytes], found: _Directory, first_number: int, budget: _ListBudget
) -> tuple[list[_Entry], str | None, bool]:
    """Entries of one central directory, read a chunk at a time: at most what the
    budget allows (True when some were left unlisted), and why the listing
    stopped early if the directory is damaged."""
    handle.seek(found.cd_start)
    remaining = found.cd_size
    buf = b""
    pos = 0
    entries: list[_Entry] = []

    def fill(count: int) -> bool:
        nonlocal buf, pos, remaining
        if len(buf) - pos >= count:
            return True
        more = handle.read(min(max(_CHUNK, count), remaining)) if remaining > 0 else b""
        remaining -= len(more)
        buf = buf[pos:] + more
        pos = 0
        return len(buf) >= count

    while remaining > 0 or pos < len(buf):
        number = first_number + len(entries)
        if not fill(_CENTRAL_FORMAT.size):
            return entries, f"damaged central directory: entry {number} is cut short", False
        fields = _CENTRAL_FORMAT.unpack_from(buf, pos)
        if fields[0] != _CENTRAL:
            return entries, f"damaged central directory: entry {number} has no header", False
        name_length, extra_length, comment_length = fields[10:13]
        whole = _CENTRAL_FORMAT.size + name_length + extra_length + comment_length
        if not fill(whole):
            return entries, f"damaged central directory: entry {number} is cut short", False
        if budget.entries <= 0 or budget.name_bytes < name_length:
            return entries, None, True
        start = pos + _CENTRAL_FORMAT.size
        raw = buf[start : start + name_length]
        extra = buf[start + name_length : start + name_length + extra_length]
        entries.append(_entry(fields, raw, extra, number, found.base))
        budget.entries -= 1
        budget.name_bytes -= name_length
        pos += whole
    return entries, None, False


def _entry(fields: tuple[Any, ...], raw: bytes, extra: bytes, number: int, base: int) -> _Entry:
    (_sig, _made, _needed, flags, method, _t, _d, crc, csize, usize) = fields[:10]
    offset, attributes = fields[16], fields[15]
    notes: list[str] = []
    problem = None
    if 0xFFFFFFFF in (usize, csize, offset):
        values = _extra_field(extra, 0x0001)
        wanted = [usize == 0xFFFFFFFF, csize == 0xFFFFFFFF, offset == 0xFFFFFFFF]
        numbers = [
            struct.unpack_from("<Q", values, 8 * i)[0] for i in range(min(3, len(values) // 8))
        ]
        if len(numbers) < sum(wanted):
            problem = "damaged member: its ZIP64 sizes are missing"
        else:
            taken = iter(numbers)
            usize = next(taken) if wanted[0] else usize
            csize = next(taken) if wanted[1] else csize
            offset = next(taken) if wanted[2] else offset
    if flags & 0x800:
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            name = raw.decode("utf-8", "backslashreplace")
            notes.append(
                "member name is flagged UTF-8 but is not: undecodable bytes shown as \\xNN"
            )
    else:
        name = _unicode_path(raw, extra) or raw.decode("cp437")
    shown = _shown_name(name, number, notes)
    return _Entry(
        number,
        shown,
        raw,
        notes,
        flags,
        method,
        crc,
        csize,
        usize,
        base + offset,
        attributes >> 16,
        problem=problem,
    )


def _extra_field(extra: bytes, wanted: int) -> bytes:
    pos = 0
    while pos + 4 <= len(extra):
        kind, length = struct.unpack_from("<2H", extra, pos)
        if kind == wanted:
            return extra[pos + 4 : pos + 4 + length]
        pos += 4 + length
    return b""


def _unicode_path(raw: bytes, extra: bytes) -> str | None:
    """Info-ZIP's Unicode Path field (0x7075), when it belongs to this very name."""
    field_data = _extra_field(extra, 0x7075)
    if len(field_data) < 5 or field_data[0] != 1:
        return None
    if struct.unpack_from("<L", field_data, 1)[0] != zlib.crc32(raw):
        return None
    try:
        return field_data[5:].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _read_local_header(handle: IO[bytes], entry: _Entry, size: int) -> None:
    """Where the member's data begins; notes a local header that disagrees."""
    if entry.problem:
        return
    if entry.offset + 30 > size:
        entry.problem = f"damaged member: its local header at byte {entry.offset} is past the end"
        return
    handle.seek(entry.offset)
    header = handle.read(30)
    if len(header) < 30 or header[:4] != _LOCAL:
        entry.problem = f"damaged member: no local header at byte {entry.offset}"
        return
    name_length, extra_length = struct.unpack_from("<2H", header, 26)
    local_name = handle.read(name_length)
    entry.data_start = entry.offset + 30 + name_length + extra_length
    if local_name != entry.raw_name:
        shown = local_name.decode("utf-8", "backslashreplace")[:200]
        entry.notes.append(f"its local header gives another name: {shown!r}")


def _mark_overlaps(entries: list[_Entry]) -> None:
    """Refuse members whose byte ranges overlap (the non-recursive zip bomb shares one
    compressed kernel among many entries); found from the directory, before any
    decompression."""
    ordered = sorted(
        (e for e in entries if e.problem is None), key=lambda e: (e.offset, e.data_end)
    )
    reach: _Entry | None = None
    for entry in ordered:
        if reach is not None and entry.offset < reach.data_end:
            entry.problem = _OVERLAP
            reach.problem = _OVERLAP
            if entry.data_end > reach.data_end:
                reach = entry
        elif reach is None or entry.data_end > reach.data_end:
            reach = entry


@dataclass
class _Zip:
    """What one file holds: its ZIP archives in file order, their entries, unclaimed bytes."""

    directories: list[_Directory]
    entries: list[list[_Entry]]
    problems: list[str]
    unlisted: int  # entries declared but left unlisted (over the member limit)
    declared: int


def _survey_zip(handle: IO[bytes], size: int, max_entries: int) -> _Zip:
    """Find every ZIP archive in the file (the last one, as zipfile would, and any other
    in bytes that no archive claims) and list their entries."""
    found, read = _find_directory(handle, 0, size, _SCAN_LIMIT)
    if found is None:
        raise ExtractionError(
            "damaged or truncated ZIP: no end-of-central-directory record (its central "
            "directory cannot be read)"
        )
    listing = _ListBudget(max_entries + 1)
    survey = _Zip([], [], [], 0, 0)
    searched: set[tuple[int, int]] = set()
    while found is not None:
        _add_directory(handle, size, found, survey, listing)
        found = None
        if len(survey.directories) >= _MAX_ZIP_SECTIONS or read >= _SCAN_LIMIT:
            break
        for lo, hi in _unclaimed(survey, size):
            if (lo, hi) in searched or hi - lo < _END_FORMAT.size:
                continue
            searched.add((lo, hi))
            found, spent = _find_directory(handle, lo, hi, _SCAN_LIMIT - read)
            read += spent
            if found is not None:
                break
    order = sorted(range(len(survey.directories)), key=lambda i: _first_byte(survey, i))
    survey.directories = [survey.directories[i] for i in order]
    survey.entries = [survey.entries[i] for i in order]
    _mark_overlaps([e for listed in survey.entries for e in listed])
    return survey


def _add_directory(
    handle: IO[bytes], size: int, found: _Directory, survey: _Zip, listing: _ListBudget
) -> None:
    survey.declared += found.declared
    if found.problem:
        survey.directories.append(found)
        survey.entries.append([])
        survey.problems.append(found.problem)
        return
    first = 1 + sum(len(listed) for listed in survey.entries)
    entries, problem, more = _list_directory(handle, found, first, listing)
    if problem:
        survey.problems.append(problem)
    if more:
        survey.unlisted += max(1, found.declared - len(entries))
    for entry in entries:
        _read_local_header(handle, entry, size)
        if entry.problem is None and entry.data_end > found.cd_start:
            entry.problem = (
                "damaged member: its data runs into the central directory (truncated or crafted)"
            )
    survey.directories.append(found)
    survey.entries.append(entries)


def _first_byte(survey: _Zip, index: int) -> int:
    offsets = [e.offset for e in survey.entries[index]]
    return min([survey.directories[index].cd_start, *offsets])


def _unclaimed(survey: _Zip, size: int) -> list[tuple[int, int]]:
    """Byte ranges of the file that no member's data and no directory claim."""
    claimed = [(d.cd_start, d.end) for d in survey.directories]
    claimed += [(e.offset, e.data_end) for listed in survey.entries for e in listed]
    claimed.sort()
    gaps: list[tuple[int, int]] = []
    pos = 0
    for start, stop in claimed:
        if start > pos:
            gaps.append((pos, min(start, size)))
        pos = max(pos, stop)
    if pos < size:
        gaps.append((pos, size))
    return [(lo, hi) for lo, hi in gaps if hi > lo]


def _read_zip(
    handle: IO[bytes], _name: str, size: int, budget: Budget, select: Select
) -> Iterator[Member | Refused]:
    limits = budget.limits
    survey = _survey_zip(handle, size, limits.max_members)
    gaps = [gap for gap in _unclaimed(survey, size) if not _apk_signing_block(handle, *gap)]
    total = sum(len(listed) for listed in survey.entries)
    done = 0

    def gaps_before(position: int) -> Iterator[Member | Refused]:
        while gaps and gaps[0][0] < position:
            lo, hi = gaps.pop(0)
            yield from _stray(handle, lo, hi, budget, select, _gap_note(survey, lo, hi))

    for listed in survey.entries:
        for entry in listed:
            yield from gaps_before(entry.offset)
            done += 1
            try:
                result = _zip_entry(handle, entry, budget, select)
            except _TooManyMembers as exc:
                unread = total - done + 1 + survey.unlisted
                raise _TooManyMembers(
                    f"{exc}: {unread} of the {total + survey.unlisted} entries the ZIP lists "
                    "were not read"
                ) from None
            if result is not None:
                yield result
    yield from gaps_before(size)
    if survey.unlisted:
        raise _TooManyMembers(
            f"refused: more than {limits.max_members} members (decompression bomb or padding?): "
            f"{survey.unlisted} of the {total + survey.unlisted} entries the ZIP lists were "
            "not read"
        )
    if survey.problems:
        raise ExtractionError("; ".join(dict.fromkeys(survey.problems)))


def _gap_note(survey: _Zip, lo: int, hi: int) -> str:
    starts = [_first_byte(survey, i) for i in range(len(survey.directories))]
    if hi <= min(starts):
        return "data before the ZIP archive that no member claims (junk or a hidden file)"
    if lo >= max(d.end for d in survey.directories):
        return "data after the end of the ZIP archive (appended data?)"
    return "data between the ZIP's members that no member claims (hidden data?)"


def _apk_signing_block(handle: IO[bytes], lo: int, hi: int) -> bool:
    """Android's signing block sits between the last member and the directory, by design."""
    if hi - lo < 32:
        return False
    handle.seek(hi - 16)
    return handle.read(16) == b"APK Sig Block 42"


def _zip_entry(
    handle: IO[bytes], entry: _Entry, budget: Budget, select: Select
) -> Member | Refused | None:
    if entry.is_dir:
        return None
    if entry.name.endswith("/"):
        entry.notes.append("a directory entry that holds data")
    limits = budget.limits
    bomb = entry.usize > _RATIO_FLOOR and entry.usize > limits.max_ratio * max(1, entry.csize)
    verdict = _screen(
        entry.name,
        budget,
        select,
        size=0 if entry.problem or bomb else entry.usize,
        link=stat.S_ISLNK(entry.mode),
        encrypted=bool(entry.flags & 0x41),
    )
    if verdict is not True:
        return verdict or None
    if entry.problem:
        return Refused(entry.name, entry.problem)
    if bomb:
        return budget.bomb(_ratio_refusal(entry.name, entry.usize, entry.csize, limits))
    if entry.method not in (0, 8, 12, 14):
        method = _METHOD_NAMES.get(entry.method, "unknown")
        return Refused(
            entry.name, f"cannot read: compression method {entry.method} ({method}) not supported"
        )
    try:
        data, crc = _zip_data(handle, entry, budget)
    except _MemberTooLarge:
        return _too_large(entry.name, limits)
    except _RatioExceeded as exc:
        return budget.bomb(Refused(entry.name, f"refused: {exc} (decompression bomb?)"))
    except _BombError:
        raise
    except (*_DECODE_ERRORS, struct.error, _TruncatedMember) as exc:
        return Refused(entry.name, f"damaged member: {_describe(exc)}")
    notes = entry.notes
    if crc != entry.crc:
        notes.append("CRC-32 mismatch: the member is damaged or was altered")
    if len(data) != entry.usize:
        notes.append(f"holds {len(data)} bytes where its directory entry says {entry.usize}")
    return Member(entry.name, data, tuple(notes))


class _RatioExceeded(Exception):
    """A member expands beyond the ratio limit while decompressing."""


class _TruncatedMember(Exception):
    """A member's data ends before its declared compressed size."""


def _zip_decoder(handle: IO[bytes], method: int) -> tuple[_Decoder | None, int]:
    """The decoder for a member's method, and how many bytes of its data it used to start."""
    if method == 0:
        return None, 0
    if method == 8:
        return _Decoder(zlib.decompressobj(-15)), 0
    if method == 12:
        return _Decoder(bz2.BZ2Decompressor()), 0
    # LZMA in ZIP: version (2 bytes), properties size (2), then LZMA1 properties.
    header = handle.read(4)
    if len(header) < 4:
        raise _TruncatedMember("truncated LZMA header")
    properties = handle.read(struct.unpack_from("<H", header, 2)[0])
    if len(properties) < 5:
        raise _TruncatedMember("truncated LZMA properties")
    shape, dict_size = properties[0], struct.unpack_from("<L", properties, 1)[0]
    if shape >= 9 * 5 * 5:
        raise ValueError("invalid LZMA properties")
    filters = [
        {
            "id": lzma.FILTER_LZMA1,
            "dict_size": dict_size,
            "lc": shape % 9,
            "lp": shape // 9 % 5,
            "pb": shape // 45,
        }
    ]
    return _Decoder(lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters)), 4 + len(properties)


def _zip_data(handle: IO[bytes], entry: _Entry, budget: Budget) -> tuple[bytes, int]:
    """A member's bytes and their CRC-32, decoded under the limits."""
    limits = budget.limits
    handle.seek(entry.data_start)
    decoder, used = _zip_decoder(handle, entry.method)
    remaining = entry.csize - used
    parts: list[bytes] = []
    got = 0
    crc = 0
    while True:
        if decoder is None:
            if remaining <= 0:
                break
            piece = handle.read(min(_CHUNK, remaining))
            if not piece:
                raise _TruncatedMember("its data ends before its declared size")
            remaining -= len(piece)
        else:
            if decoder.eof:
                break
            data = b""
            if decoder.needs_input:
                if remaining <= 0:
                    break  # the data is used up without an end marker (LZMA may do this)
                # Small input pieces: the ratio so far is known early.
                data = handle.read(min(_ZIP_INPUT, remaining))
                if not data:
                    raise _TruncatedMember("its data ends before its declared size")
                remaining -= len(data)
            piece = decoder.decode(data, _CHUNK)
            if not piece and not data:
                break
        got += len(piece)
        budget.count_bytes(len(piece))
        if got > _RATIO_FLOOR:
            if got > limits.max_ratio * max(1, entry.csize):
                raise _RatioExceeded(f"expands more than {limits.max_ratio}:1")
            # Past its declared size a member's header lies: then the ratio so far counts.
            consumed = entry.csize - remaining
            if got > entry.usize and got > limits.max_ratio * max(1, consumed):
                raise _RatioExceeded(
                    f"declares {entry.usize} bytes but expands more than {limits.max_ratio}:1 "
                    "past them (a lying header)"
                )
        if got > limits.max_member_bytes:
            raise _MemberTooLarge
        crc = zlib.crc32(piece, crc)
        parts.append(piece)
    return b"".join(parts), crc


# -- 7z ---------------------------------------------------------------------------------


def _read_7z(
    handle: IO[bytes], _name: str, size: int, budget: Budget, select: Select
) -> Iterator[Member | Refused]:
    import py7zr
    from py7zr.exceptions import PasswordRequired

    limits = budget.limits
    try:
        archive = py7zr.SevenZipFile(handle, mode="r")
    except PasswordRequired as exc:
        raise EncryptedDocumentError("password-protected 7z archive (encrypted names)") from exc
    except Exception as exc:
        raise ExtractionError(f"damaged or truncated 7z archive: {_describe(exc)}") from exc
    with archive:
        encrypted = archive.password_protected
        wanted: list[tuple[int, str, list[str], int]] = []
        for number, info in enumerate(archive.files, 1):
            if info.is_directory:
                continue
            notes: list[str] = []
            member = _shown_name(info.filename or "", number, notes)
            block = _7z_block_ratio(info)
            bomb = block is not None and block[0] > max(
                _RATIO_FLOOR, limits.max_ratio * max(1, block[1])
            )
            verdict = _screen(
                member,
                budget,
                select,
                size=0 if bomb else info.uncompressed or 0,
                link=info.is_symlink,
                special=bool(getattr(info, "is_socket", False)),
                encrypted=encrypted,
            )
            if verdict is not True:
                if verdict:
                    yield verdict
                continue
            if block is not None and bomb:
                # Reading any member of a solid block decompresses the block up to it.
                yield budget.bomb(_ratio_refusal(member, block[0], block[1], limits))
                continue
            wanted.append((info.id, member, notes, info.uncompressed or 0))
        # Read in batches of about one member limit: bounded memory, few passes
        # over solid blocks. Every byte decompressed (skipped ones too) counts
        # against the budget and against the whole archive's ratio.
        spent = [0]
        batch: list[tuple[int, str, list[str], int]] = []
        batch_bytes = 0
        for item in [*wanted, None]:
            if batch and (item is None or batch_bytes + item[3] > limits.max_member_bytes):
                yield from _read_7z_batch(archive, batch, budget, size, spent)
                archive.reset()
                batch, batch_bytes = [], 0
            if item is not None:
                batch.append(item)
                batch_bytes += item[3]


def _7z_block_ratio(info: Any) -> tuple[int, int] | None:
    """The declared unpacked and packed sizes of the (solid) block holding a 7z member."""
    folder = getattr(info, "folder", None)
    if folder is None:
        return None
    try:
        unpacked = max(int(size) for size in folder.unpacksizes)
        packed = sum(int(size) for size in info._get_property("packsizes") or ())
    except (AttributeError, TypeError, ValueError):
        return None
    return unpacked, packed


def _read_7z_batch(
    archive: Any,
    batch: list[tuple[int, str, list[str], int]],
    budget: Budget,
    size: int,
    spent: list[int],
) -> Iterator[Member | Refused]:
    from py7zr.exceptions import DecompressionBombError
    from py7zr.io import MemIO, Py7zIO, WriterFactory

    limits = budget.limits

    class _Capped(Py7zIO):
        def __init__(self) -> None:
            self.buffer = io.BytesIO()
            self.over = False
            self.done = False

        def write(self, s: bytes | bytearray) -> int:
            if self.over or self.buffer.tell() + len(s) > limits.max_member_bytes:
                self.over = True
                return len(s)
            return self.buffer.write(s)

        def read(self, size: int | None = None) -> bytes:
            return self.buffer.read(size)

        def seek(self, offset: int, whence: int = 0) -> int:
            return self.buffer.seek(offset, whence)

        def flush(self) -> None:
            pass

        def close(self) -> None:
            self.done = True

        def size(self) -> int:
            return self.buffer.getbuffer().nbytes

    class _Factory(WriterFactory):
        def __init__(self) -> None:
            self.products: dict[str, _Capped] = {}

        def create(self, filename: str) -> Py7zIO:
            product = self.products[filename] = _Capped()
            return product

    factory = _Factory()
    worker = archive.worker
    targets = {file_id for file_id, *_ in batch}
    for info in archive.files:
        # Registered by id, not by name: names may repeat or be hostile paths,
        # and py7zr's own name checks are for writing to disk.
        if info.id in targets:
            worker.register_filelike(info.id, MemIO(str(info.id), factory))
        else:
            worker.register_filelike(info.id, None)
    by_ratio = max(_RATIO_FLOOR, limits.max_ratio * max(1, size)) - spent[0]
    by_total = budget.allowed_total - budget.total_bytes
    worker.max_extract_size = max(0, min(by_ratio, by_total))
    failure: Exception | None = None
    try:
        worker.extract(archive.fp, None, parallel=False)
    except DecompressionBombError as exc:
        failure = _BombError(
            f"refused: expands more than {limits.max_ratio}:1 or beyond the total limit "
            "(decompression bomb?)"
        )
        failure.__cause__ = exc
    except Exception as exc:
        failure = ExtractionError(f"damaged or truncated 7z archive: {_describe(exc)}")
        failure.__cause__ = exc
    produced = int(getattr(worker, "_total_extracted", 0))
    spent[0] += produced
    budget.total_bytes += produced
    for file_id, member, notes, _declared in batch:
        product = factory.products.get(str(file_id))
        if product is None or not product.done:
            if failure is None:
                yield Refused(member, "listed in the 7z archive but could not be read")
        elif product.over:
            yield _too_large(member, limits)
        else:
            yield Member(member, product.buffer.getvalue(), tuple(notes))
    if failure is not None:
        raise failure
    if budget.total_bytes > budget.allowed_total:
        raise _BombError(
            f"refused: expands beyond the {budget.allowed_total}-byte total limit "
            "(decompression bomb?)"
        )
