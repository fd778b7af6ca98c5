"""ZIP, tar (plain, gzip, bzip2, xz), 7z and single-file gzip/bzip2/xz, read in memory under limits.

Members are never written to disk: each is read into memory, so a member
named ``../../etc/passwd`` cannot land anywhere. Such a name is a fact about
the evidence, not a reason to look away: the member is read and its
:attr:`Member.notes` say what is odd about its name. Every limit
(:class:`ArchiveLimits`) is checked on the bytes actually produced, not on
the sizes an archive declares, because a crafted archive lies about those.

Nothing a hostile archive holds stops a scan: any failure to parse becomes a
:class:`Refused` member (reading goes on) or an
:class:`~leakscan.errors.ExtractionError` for the archive, raised after the
members that could be read were yielded. The structures are parsed by these
modules, not by :mod:`zipfile` (which reads a whole central directory,
however large it claims to be, and does not see overlapping members), and
:mod:`tarfile` runs with a checked header class (extended headers are
bounded before it reads them). Data that no member claims (bytes before, between or after archives,
a second archive appended to the first) is read too, so padding and
concatenation hide nothing.

This module is the public face of the family: :func:`archive_kind` tells an
archive's kind and :func:`read_archive` hands it to that kind's reader
(:mod:`.zip_reader` with :mod:`.zip_directory`, :mod:`.tar_reader`,
:mod:`.stream_reader`, :mod:`.sevenzip_reader`). What they share (limits,
budget, members, screening, metered reading) is in :mod:`._archive_common`,
bounded decompression in :mod:`._archive_decompress`. Dependencies point one
way: common, then decompression, then the readers, then this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO

from ..errors import ConfigurationError, ExtractionError
from ._archive_common import (
    ArchiveLimits,
    Budget,
    Member,
    Refused,
    Select,
    _describe,
    unsafe_name,
)
from .sevenzip_reader import _read_7z
from .stream_reader import _read_compressed
from .tar_reader import _read_tar
from .zip_directory import _is_office_zip
from .zip_reader import _read_zip

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


_OFFICE_SUFFIXES = (
    ".docx",
    ".docm",
    ".xlsx",
    ".xlsm",
    ".pptx",
    ".pptm",
    ".odt",
    ".ods",
    ".odp",
    ".epub",
)


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
