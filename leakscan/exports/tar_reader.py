"""tar archives (plain, gzip, bzip2, xz), read by :mod:`tarfile` with checked headers.

tarfile runs with a checked header class: extended headers (pax, GNU long
names, sparse maps) are bounded before it reads them, since its own parsers
trust their lengths and counts. A damaged header is reported and reading
resumes at the next valid header; what follows a tar's end (zeros skipped,
another tar appended, stray data) is read too. A compressed tar is read
from :mod:`._archive_decompress`'s stream, which counts every byte it
produces; :mod:`.stream_reader` hands it over.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Generator, Iterator
from typing import IO, cast

from ..errors import ExtractionError
from ._archive_common import (
    _CHUNK,
    _MIN_STRAY,
    _RATIO_FLOOR,
    _SCAN_LIMIT,
    Budget,
    Member,
    Refused,
    Select,
    _BombError,
    _Damaged,
    _describe,
    _MemberTooLarge,
    _next_data,
    _read_limited,
    _screen,
    _shown_name,
    _skip_zeros,
    _too_large,
    _TooManyMembers,
)
from ._archive_decompress import _Expanding

#: A tar extended header (pax, GNU long name) larger than this is refused before it is read.
_MAX_EXTENDED_HEADER = 1 << 20
#: Extended headers in a row before one tar member (honest archives have one or two).
_MAX_HEADER_CHAIN = 8
#: Regions in one sparse tar member's map.
_MAX_SPARSE_REGIONS = 1 << 16


class _TarHeaderError(Exception):
    """A tar header is refused before tarfile reads it (too large, malformed, crafted)."""


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
