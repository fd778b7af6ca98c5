"""ZIP structures found and listed by hand: end records, central directories, local headers.

Parsed here rather than by :mod:`zipfile`, which reads a whole central
directory however large it claims to be and does not see overlapping
members. Here listing is bounded, every ZIP archive in the file is found
(the last one, as zipfile would, and those hidden before it in bytes no
archive claims), and members whose data overlap (the non-recursive zip bomb)
are refused from the directory, before any decompression.
:func:`_is_office_zip` uses the same listing to keep DOCX, XLSX, ODT and
friends documents. Read by :mod:`.zip_reader` and :mod:`.archives`.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from typing import IO, Any

from ..errors import ExtractionError
from ._archive_common import _CHUNK, _SCAN_LIMIT, _shown_name

#: Bytes of ZIP member names held while listing one file's central directories.
_MAX_NAME_BYTES = 64 << 20
#: ZIP archives looked for in one file (the last one and those hidden before it).
_MAX_ZIP_SECTIONS = 16

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_END = b"PK\x05\x06"
_END64 = b"PK\x06\x06"
_LOCATOR64 = b"PK\x06\x07"
_CENTRAL_FORMAT = struct.Struct("<4s6H3L5H2L")
_END_FORMAT = struct.Struct("<4s4H2LH")
_END64_FORMAT = struct.Struct("<4sQ2H2L4Q")
_LOCATOR64_FORMAT = struct.Struct("<4sLQL")
_OVERLAP = "refused: overlaps another member's data: a crafted ZIP (zip bomb?)"


# A ZIP that is really an office document is read by its extractor, not opened.
_OFFICE_MEMBERS = ("[Content_Types].xml", "mimetype", "META-INF/manifest.xml")


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
