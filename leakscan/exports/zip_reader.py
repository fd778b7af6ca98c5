"""ZIP members read under the limits, from the listing :mod:`.zip_directory` makes.

Stored, Deflate, bzip2 and LZMA members are decoded a bounded piece at a
time (:mod:`._archive_decompress`); a member that declares, or turns out to
have, a ratio over the limit is refused as a decompression bomb; a CRC-32
mismatch or a size that disagrees with the directory is noted, not fatal;
and bytes no member claims (before, between or after the archives, an
Android signing block aside) are read as stray data.
"""

from __future__ import annotations

import bz2
import lzma
import stat
import struct
import zlib
from collections.abc import Iterator
from typing import IO

from ..errors import ExtractionError
from ._archive_common import (
    _CHUNK,
    _RATIO_FLOOR,
    Budget,
    Member,
    Refused,
    Select,
    _BombError,
    _describe,
    _MemberTooLarge,
    _ratio_refusal,
    _screen,
    _stray,
    _too_large,
    _TooManyMembers,
)
from ._archive_decompress import _DECODE_ERRORS, _Decoder
from .zip_directory import _Entry, _first_byte, _survey_zip, _unclaimed, _Zip

_ZIP_INPUT = 64 << 10
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
