"""OLE containers (Compound File Binary) told apart by the streams they hold, and opened bounded.

Legacy Word, Excel and PowerPoint files and Outlook .msg files are all OLE
containers ([MS-CFB]) with the same first eight bytes; only the names of the
streams at the root say which: ``WordDocument``, ``Workbook`` (``Book`` in
Excel 5/95), ``PowerPoint Document``, ``__substg1.0_…`` properties of a
message. Evidence gets renamed, so the suffix decides nothing.
:func:`ole_kind` reads just the header, the FAT entries of the directory's
own sectors and the root's entries, from a seekable handle, every count
bounded: it runs on every OLE file an export holds, in archives too.

:func:`open_streams` is how the extractors read a container's streams
(olefile, given a stream and never a path), each stream read up to a size cap,
after a container whose directory runs past the bound has been refused.

    >>> ole_kind(io.BytesIO(b"not an OLE file"))
"""

from __future__ import annotations

import contextlib
import io
import logging
import struct
import warnings
from collections.abc import Iterator
from typing import IO, Any

from ..errors import ExtractionError
from . import DOC, OLE_MAGIC, PPT, XLS, one_line

__all__ = [
    "MSG",
    "OleStreams",
    "ole_kind",
    "open_streams",
    "quiet",
    "root_names",
]

#: What an Outlook message is named (it has no extractor: exports.expand opens it as mail).
MSG = "application/vnd.ms-outlook"

_FREE, _END_OF_CHAIN = 0xFFFFFFFF, 0xFFFFFFFE
_NO_STREAM = 0xFFFFFFFF
_ROOT_TYPE = 5
#: Directory sectors followed (4 entries each at 512 bytes, 32 at 4096): 1 MiB or 16 MiB.
_MAX_DIRECTORY_SECTORS = 4096
#: Entries at the root looked at; a message has a few hundred, a document a handful.
_MAX_ROOT_ENTRIES = 4096
_MAX_DIFAT_SECTORS = 1 << 16


class _Unreadable(Exception):
    """The container's structure cannot be followed (internal: ole_kind answers None)."""


class _Directory:
    """The header, DIFAT and directory chain of one container, read on demand."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.size = handle.seek(0, io.SEEK_END)
        header = self._read(0, 512)
        if not header.startswith(OLE_MAGIC):
            raise _Unreadable("no OLE signature")
        shift = struct.unpack_from("<H", header, 0x1E)[0]
        if shift not in (9, 12):
            raise _Unreadable(f"sector size 2^{shift}")
        self.sector_size = 1 << shift
        self.per_sector = self.sector_size // 4
        (first_directory,) = struct.unpack_from("<I", header, 0x30)
        self.next_difat, self.difat_count = struct.unpack_from("<II", header, 0x44)
        self.difat = list(struct.unpack_from("<109I", header, 0x4C))
        self.difat_read = 0
        self.chain = self._chain(first_directory)

    def _read(self, offset: int, length: int) -> bytes:
        if offset < 0 or offset + length > self.size:
            raise _Unreadable("a sector lies past the end of the file (truncated?)")
        self.handle.seek(offset)
        data = self.handle.read(length)
        if len(data) != length:
            raise _Unreadable("short read")
        return data

    def _sector(self, number: int, offset: int, length: int) -> bytes:
        return self._read(((number + 1) * self.sector_size) + offset, length)

    def _fat_sector(self, index: int) -> int:
        """The sector holding FAT block ``index``, following the DIFAT chain as far as needed."""
        while index >= len(self.difat):
            if self.difat_read >= min(self.difat_count, _MAX_DIFAT_SECTORS):
                raise _Unreadable("FAT sector beyond the DIFAT")
            if self.next_difat >= _END_OF_CHAIN:
                raise _Unreadable("DIFAT chain ends early")
            block = self._sector(self.next_difat, 0, self.sector_size)
            values = struct.unpack(f"<{self.per_sector}I", block)
            self.difat.extend(values[:-1])
            self.next_difat = values[-1]
            self.difat_read += 1
        return int(self.difat[index])

    def _next(self, sector: int) -> int:
        fat = self._fat_sector(sector // self.per_sector)
        if fat >= _END_OF_CHAIN:
            raise _Unreadable("FAT block missing")
        return int(struct.unpack("<I", self._sector(fat, (sector % self.per_sector) * 4, 4))[0])

    def _chain(self, first: int) -> list[int]:
        chain: list[int] = []
        seen: set[int] = set()
        sector = first
        # A chain that loops back ends there: what it listed so far still names the file.
        while (
            sector != _END_OF_CHAIN and sector not in seen and len(chain) < _MAX_DIRECTORY_SECTORS
        ):
            if sector >= _FREE - 5:
                raise _Unreadable("directory chain broken")
            seen.add(sector)
            chain.append(sector)
            sector = self._next(sector)
        if not chain:
            raise _Unreadable("no directory")
        return chain

    def entry(self, number: int) -> tuple[str, int, int, int, int]:
        """(name, type, left, right, child) of directory entry ``number``."""
        per = self.sector_size // 128
        if number // per >= len(self.chain):
            raise _Unreadable("directory entry out of range")
        raw = self._sector(self.chain[number // per], (number % per) * 128, 128)
        length = min(struct.unpack_from("<H", raw, 64)[0], 64)
        name = raw[: max(length - 2, 0)].decode("utf-16-le", "replace")
        kind = raw[66]
        left, right, child = struct.unpack_from("<III", raw, 68)
        return name, kind, left, right, child


def root_names(handle: IO[bytes]) -> frozenset[str] | None:
    """Names of the streams and storages at the container's root, or None if unreadable.

    The handle is left at its start. At most a bounded number of entries is
    read; a tree that loops or points outside the directory ends the walk.
    """
    try:
        directory = _Directory(handle)
        name, kind, _left, _right, child = directory.entry(0)
        if kind != _ROOT_TYPE:
            return None
        names: set[str] = set()
        pending: list[int] = [child]
        seen: set[int] = set()
        while pending and len(seen) < _MAX_ROOT_ENTRIES:
            number = pending.pop()
            if number == _NO_STREAM or number in seen:
                continue
            seen.add(number)
            name, kind, left, right, _child = directory.entry(number)
            if kind in (1, 2):
                names.add(name)
            pending.extend((left, right))
        return frozenset(names)
    except (_Unreadable, struct.error, ValueError):
        return None
    finally:
        handle.seek(0)


def ole_kind(handle: IO[bytes]) -> str | None:
    """The MIME type an OLE container's root streams declare (Word, Excel, PowerPoint, .msg).

    None for a file that is not an OLE container, is damaged past reading its
    directory, or holds something else (an encrypted OOXML package, Visio…).
    """
    names = root_names(handle)
    if not names:
        return None
    folded = {name.casefold() for name in names}
    if "worddocument" in folded:
        return DOC
    if "workbook" in folded or "book" in folded:
        return XLS
    if "powerpoint document" in folded:
        return PPT
    if any(name.startswith("__substg1.0_") for name in folded):
        return MSG
    return None


# -- reading streams -------------------------------------------------------------


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """olefile and msoffcrypto log every defect they tolerate: their callers note what matters."""
    loggers = [logging.getLogger(name) for name in ("olefile", "msoffcrypto")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


class OleStreams:
    """Root-level streams of one container, read by olefile up to ``max_bytes`` each."""

    def __init__(self, ole: Any, kind: str, max_bytes: int) -> None:
        self._ole = ole
        self.kind = kind
        self.max_bytes = max_bytes
        self.notes: list[str] = []

    def has(self, name: str) -> bool:
        with quiet():
            return bool(self._ole.exists(name))

    def read(self, name: str) -> bytes:
        """One stream's bytes; a stream longer than the cap is cut there, and a note says so."""
        try:
            with quiet():
                size = int(self._ole.get_size(name))
                with self._ole.openstream(name) as stream:
                    data = bytes(stream.read(self.max_bytes))
        except Exception as exc:  # olefile raises OSError, struct.error, … on damaged chains
            raise ExtractionError(
                f"damaged {self.kind}: the {name} stream cannot be read ({one_line(exc)})"
            ) from exc
        if size > self.max_bytes:
            self.notes.append(
                f"{name} stream is {size} bytes: only the first {self.max_bytes} were read"
            )
        return data


@contextlib.contextmanager
def open_streams(data: bytes, kind: str, max_bytes: int) -> Iterator[OleStreams]:
    """The container in ``data`` opened with olefile (in memory, never a path) for reading."""
    import olefile

    if not data.startswith(OLE_MAGIC):
        raise ExtractionError(f"not a {kind}: no OLE container signature at the start")
    with contextlib.suppress(_Unreadable, struct.error, ValueError):  # olefile will say what
        if len(_Directory(io.BytesIO(data)).chain) >= _MAX_DIRECTORY_SECTORS:
            raise ExtractionError(
                f"refused: {kind} whose OLE directory runs past {_MAX_DIRECTORY_SECTORS} "
                "sectors (hostile?)"
            )
    try:
        with quiet():
            # A bytes argument shorter than 1536 would be taken as a file name: always a stream.
            ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as exc:  # olefile raises OSError, struct.error, RecursionError, …
        raise ExtractionError(
            f"corrupt or truncated {kind}: the OLE container cannot be read ({one_line(exc)})"
        ) from exc
    try:
        yield OleStreams(ole, kind, max_bytes)
    finally:
        with contextlib.suppress(Exception):
            ole.close()
