"""Hostile archives (issue 13): crafted inputs read without crashing, bombs refused fast.

Every input here is built by the test, with zipfile/tarfile/gzip/py7zr or
byte by byte from the public specs (PKWARE APPNOTE for ZIP, POSIX pax for
tar), small or sparse on disk. Where the standard library itself fails on
an input (an exception, a hang, gigabytes of memory), a check shows it does,
so each test proves it exercises the attack it names.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
import signal
import struct
import tarfile
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import py7zr
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leakscan.errors import ConfigurationError, ExtractionError
from leakscan.exports.archives import (
    ArchiveLimits,
    Budget,
    Member,
    Refused,
    archive_kind,
    read_archive,
    unsafe_name,
)
from tests import bomb_factories as bombs

# Fictional text: what a leak looks like in these tests.
LEAK = (
    b"The night ferry manifest for Kestrel Bay lists forty sealed crates of turbine "
    b"blades, signed off by the harbour warden at half past two."
)
OTHER = b"Minutes of the allotment society: the compost rota moves to Thursdays."
MIB = 1 << 20


# -- helpers -------------------------------------------------------------------------------


def read(
    kind: str, data: bytes | Path, limits: ArchiveLimits | None = None
) -> tuple[list[Member | Refused], ExtractionError | None]:
    """Everything read_archive yields, and the ExtractionError it ends with (if any)."""
    budget = Budget(limits or ArchiveLimits())
    items: list[Member | Refused] = []
    with contextlib.ExitStack() as stack:
        if isinstance(data, Path):
            handle = stack.enter_context(open(data, "rb"))
            size = os.fstat(handle.fileno()).st_size
        else:
            handle, size = io.BytesIO(data), len(data)
        try:
            for item in read_archive(kind, handle, "evidence", size, budget):
                assert isinstance(item, (Member, Refused))
                items.append(item)
        except ExtractionError as exc:
            return items, exc
    return items, None


def members(items: list[Member | Refused]) -> dict[str, bytes]:
    return {item.name: item.data for item in items if isinstance(item, Member)}


def refused(items: list[Member | Refused]) -> dict[str, str]:
    return {item.name: item.reason for item in items if isinstance(item, Refused)}


@dataclass
class Cost:
    seconds: float = 0.0
    peak_bytes: int = 0


class Hang(BaseException):
    """Raised into a block that runs too long (a BaseException: nothing may swallow it)."""


@contextlib.contextmanager
def measured(limit_seconds: float = 20.0) -> Iterator[Cost]:
    """Wall time and peak Python memory of the block; a hang becomes a failure."""

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise Hang(f"still running after {limit_seconds} s")

    cost = Cost()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit_seconds)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        yield cost
    finally:
        cost.seconds = time.perf_counter() - start
        cost.peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Raw:
    """One ZIP entry as written byte by byte (APPNOTE 4.3.7 and 4.3.12)."""

    name: bytes
    data: bytes
    method: int = 8
    flags: int = 0
    version: int = 20
    mode: int = 0o100644


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def craft_zip(entries: list[Raw]) -> bytes:
    body, central = io.BytesIO(), io.BytesIO()
    for entry in entries:
        payload = deflate(entry.data) if entry.method == 8 else entry.data
        crc, offset = zlib.crc32(entry.data), body.tell()
        sizes = (crc, len(payload), len(entry.data), len(entry.name))
        body.write(
            struct.pack(
                "<4s5H3L2H", b"PK\x03\x04", entry.version, entry.flags, entry.method, 0, 0x21,
                *sizes, 0,
            )
            + entry.name
            + payload
        )  # fmt: skip
        central.write(
            struct.pack(
                "<4s6H3L5H2L", b"PK\x01\x02", 0x031E, entry.version, entry.flags, entry.method, 0,
                0x21, *sizes, 0, 0, 0, 0, entry.mode << 16, offset,
            )
            + entry.name
        )  # fmt: skip
    cd = central.getvalue()
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(cd), body.tell(), 0
    )
    return body.getvalue() + cd + end


def zip_bytes(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_entry(name: str, data: bytes) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info.tobuf(tarfile.USTAR_FORMAT) + data + bytes(-len(data) % 512)


def pax_record(keyword: str, value: str) -> bytes:
    body = f" {keyword}={value}\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length += 1
    return f"{length}{body}".encode()


def pax_header(records: bytes, *, size: int | None = None) -> bytes:
    info = tarfile.TarInfo("././@PaxHeader")
    info.type = tarfile.XHDTYPE
    info.size = len(records) if size is None else size
    return info.tobuf(tarfile.USTAR_FORMAT) + records + bytes(-len(records) % 512)


def tar_of(*blocks: bytes) -> bytes:
    return b"".join(blocks) + bytes(1024)


def tar_bytes(files: dict[str, bytes], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def stdlib_tar_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return [member.name for member in archive]


# -- 1. no exception escapes ---------------------------------------------------------------


def test_corrupt_deflate_in_one_zip_member_refuses_it_and_reads_the_others() -> None:
    data = bytearray(zip_bytes({"a.txt": OTHER * 50, "b.txt": LEAK * 50, "c.txt": OTHER * 40}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("b.txt")
        start = info.header_offset + 30 + len(info.filename)
    data[start : start + 8] = b"\xff" * 8  # an invalid deflate block type
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive, pytest.raises(zlib.error):
        archive.read("b.txt")  # what used to crash the whole scan
    items, error = read("zip", bytes(data))
    assert error is None
    assert members(items) == {"a.txt": OTHER * 50, "c.txt": OTHER * 40}
    assert refused(items)["b.txt"].startswith("damaged member")


LEDGER = b"".join(b"%d kestrel ledger line " % n for n in range(40_000))


def corrupt_deflate(whole: bytes) -> bytes:
    """The first corruption, from two thirds in, that zlib finds invalid (not just a bad CRC)."""
    for at in range(len(whole) * 2 // 3, len(whole) - 16, 97):
        data = whole[:at] + b"\x00\xff" * 8 + whole[at + 16 :]
        try:
            zlib.decompressobj(31).decompress(data)
        except zlib.error as exc:
            if "incorrect data check" not in str(exc):
                return data
    raise AssertionError("no corruption found")


@pytest.mark.parametrize("where", ["gz", "tar.gz"])
def test_corrupt_gzip_stream_ends_in_an_extraction_error(where: str) -> None:
    if where == "gz":
        data = corrupt_deflate(gzip.compress(LEAK * 20 + LEDGER, mtime=0))
        with pytest.raises((zlib.error, gzip.BadGzipFile)):
            gzip.decompress(data)
    else:
        data = corrupt_deflate(tar_bytes({"first.txt": LEAK * 3, "second.txt": LEDGER}, "w:gz"))
        with tarfile.open(fileobj=io.BytesIO(data)) as archive, pytest.raises(zlib.error):
            for member in archive:
                archive.extractfile(member).read()  # type: ignore[union-attr]
    items, error = read("gzip", data)
    assert error is not None and "damaged gzip data" in str(error)
    if where == "tar.gz":
        assert members(items) == {"first.txt": LEAK * 3}
    else:  # what came before the damage is still read, and says so
        (partial,) = items
        assert isinstance(partial, Member) and partial.data.startswith(LEAK * 20)
        assert 0 < len(partial.data) < len(LEAK * 20 + LEDGER)
        assert "damaged gzip data" in partial.notes[0]


def test_gzip_with_a_bad_header_is_an_extraction_error() -> None:
    data = bytearray(gzip.compress(LEAK))
    data[2] = 7  # compression method: not deflate
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(bytes(data))
    items, error = read("gzip", bytes(data))
    assert items == [] and error is not None


def test_zip_name_flagged_utf8_that_is_not_is_read_under_an_escaped_name() -> None:
    data = craft_zip(
        [
            Raw(b"before.txt", OTHER),
            Raw(b"caf\xe9-\xff.txt", LEAK, flags=0x800),
            Raw(b"after.txt", OTHER),
        ]
    )
    with pytest.raises(UnicodeDecodeError):
        zipfile.ZipFile(io.BytesIO(data))  # the whole archive used to be lost
    items, error = read("zip", data)
    assert error is None
    assert members(items) == {"before.txt": OTHER, "caf\\xe9-\\xff.txt": LEAK, "after.txt": OTHER}
    (odd,) = [item for item in items if isinstance(item, Member) and item.notes]
    assert "not valid UTF-8" in odd.notes[0] or "flagged UTF-8" in odd.notes[0]


def test_unsupported_zip_version_and_method_do_not_stop_the_archive() -> None:
    data = craft_zip(
        [
            Raw(b"future.txt", LEAK, version=99),  # "needs ZIP 9.9": zipfile refuses the archive
            Raw(b"deflate64.bin", b"\x00" * 40, method=9),
            Raw(b"zstd.bin", b"\x00" * 40, method=93),
            Raw(b"plain.txt", OTHER),
        ]
    )
    with pytest.raises(NotImplementedError):
        zipfile.ZipFile(io.BytesIO(data))
    items, error = read("zip", data)
    assert error is None
    assert members(items) == {"future.txt": LEAK, "plain.txt": OTHER}
    reasons = refused(items)
    assert "Deflate64" in reasons["deflate64.bin"] and "not supported" in reasons["deflate64.bin"]
    assert "Zstandard" in reasons["zstd.bin"]


def test_malformed_pax_sparse_map_is_reported_and_the_next_members_read() -> None:
    records = (
        pax_record("GNU.sparse.major", "0")
        + pax_record("GNU.sparse.minor", "1")
        + pax_record("GNU.sparse.map", "0,12,x,y")
    )
    data = tar_of(
        tar_entry("first.txt", OTHER),
        pax_header(records),
        tar_entry("sparse.bin", b"\x00" * 12),
        tar_entry("leak.txt", LEAK),
    )
    with pytest.raises(ValueError):
        stdlib_tar_names(data)
    items, error = read("tar", data)
    assert error is None
    assert members(items)["first.txt"] == OTHER and members(items)["leak.txt"] == LEAK
    assert any(name.startswith("<damaged tar header") for name in refused(items))


def test_absurd_pax_record_length_is_refused() -> None:
    data = tar_of(
        pax_header(b"99999999999999999999 path=elsewhere.txt\n"),
        tar_entry("named.txt", OTHER),
        tar_entry("leak.txt", LEAK),
    )
    items, error = read("tar", data)
    assert error is None
    assert "past the header's end" in refused(items)["<damaged tar header at offset 0>"]
    assert members(items)["leak.txt"] == LEAK


def test_negative_pax_size_which_loops_the_stdlib_forever_is_refused() -> None:
    # size=-1536 sends tarfile back to the pax header itself: the stdlib yields
    # "second.txt" forever (CVE-2025-8194's class of bug).
    data = tar_of(
        tar_entry("first.txt", OTHER),
        pax_header(pax_record("size", "-1536")),
        tar_entry("second.txt", LEAK),
        tar_entry("third.txt", OTHER),
    )
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        seen = [member.name for _, member in zip(range(6), archive, strict=False)]
    assert seen.count("second.txt") > 3
    with measured(5) as cost:
        items, error = read("tar", data)
    assert error is None and cost.seconds < 2
    assert next(iter(members(items))) == "first.txt"
    assert members(items)["second.txt"] == LEAK and members(items)["third.txt"] == OTHER
    assert any("negative size" in reason for reason in refused(items).values())


def test_pax_header_that_makes_the_stdlib_backtrack_is_refused_fast() -> None:
    # tarfile (3.11.7) searches pax data with a regex that is quadratic in a run of digits.
    payload = pax_record("comment", "7" * 200_000)
    data = tar_of(pax_header(payload), tar_entry("after.txt", LEAK))
    started = time.perf_counter()
    probe = tar_of(pax_header(pax_record("comment", "7" * 8_000)), tar_entry("x", b""))
    stdlib_tar_names(probe)
    stdlib_seconds = time.perf_counter() - started  # 4% of the digits, already slow
    with measured(5) as cost:
        items, error = read("tar", data)
    assert cost.seconds < min(1.0, stdlib_seconds)
    assert error is None and members(items)["after.txt"] == LEAK
    assert "digits" in next(iter(refused(items).values()))


# -- 2. memory bounded while listing ------------------------------------------------------


def test_huge_pax_header_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = bombs.huge_pax_tar(tmp_path, header_bytes=3 << 30)
    assert path.stat().st_size > 3 << 30 and path.stat().st_blocks * 512 < MIB  # sparse
    with measured(5) as cost:
        items, error = read("tar", path)
    assert error is None
    header, rest = items
    assert isinstance(header, Refused) and header.name == "<damaged tar header at offset 0>"
    assert "extended header of 3221225472 bytes" in header.reason
    assert isinstance(rest, Refused) and "not read, larger than" in rest.reason
    assert cost.seconds < 1 and cost.peak_bytes < 8 * MIB


def test_huge_gnu_long_name_is_refused_and_reading_resumes() -> None:
    info = tarfile.TarInfo("././@LongLink")
    info.type = tarfile.GNUTYPE_LONGNAME
    info.size = 2 << 30  # declared, not present: tarfile would try to read it all
    data = tar_of(
        tar_entry("first.txt", OTHER), info.tobuf(tarfile.GNU_FORMAT), tar_entry("leak.txt", LEAK)
    )
    with measured(5) as cost:
        items, error = read("tar", data)
    assert error is None and cost.peak_bytes < 8 * MIB
    assert members(items) == {"first.txt": OTHER, "leak.txt": LEAK}
    assert "over the 1048576-byte limit" in next(iter(refused(items).values()))


def test_zip_declaring_millions_of_entries_reads_up_to_the_limit_and_says_how_many_not(
    tmp_path: Path,
) -> None:
    path = bombs.many_entries_zip(tmp_path, entries=3000, declared=4_000_000)
    with measured(10) as cost:
        items, error = read("zip", path, ArchiveLimits(max_members=1000))
    assert len(members(items)) == 1000 and list(members(items))[:2] == ["0", "1"]
    assert error is not None and "more than 1000 members" in str(error)
    assert "3999000 of the 4000000 entries" in str(error)
    assert cost.seconds < 5 and cost.peak_bytes < 32 * MIB


def test_zip_directory_larger_than_the_member_limit_is_listed_lazily(tmp_path: Path) -> None:
    """zipfile builds a ZipInfo per entry of the whole directory before anything else."""
    path = bombs.many_entries_zip(tmp_path, entries=40_000)
    with measured(10) as cost:
        items, error = read("zip", path, ArchiveLimits(max_members=100))
    assert len(items) == 100 and error is not None and "39900 of the 40000" in str(error)
    assert cost.peak_bytes < 16 * MIB


def test_tar_listing_memory_does_not_grow_with_the_number_of_headers() -> None:
    def peak(count: int) -> int:
        data = tar_bytes({f"f{n}.txt": b"x" for n in range(count)})
        budget = Budget(ArchiveLimits())
        with measured(20) as cost:
            seen = sum(1 for _ in read_archive("tar", io.BytesIO(data), "t", len(data), budget))
        assert seen == count
        return cost.peak_bytes

    # tarfile alone keeps a TarInfo per header: about 450 bytes each, 1.5 MB more here.
    assert peak(4000) - peak(500) < 256 << 10


# -- 3. overlapping ZIP entries -----------------------------------------------------------


def test_overlapping_zip_entries_are_refused_before_decompressing(tmp_path: Path) -> None:
    kernel = b"".join(b"%06d kestrel bay ledger line; " % n for n in range(40_000))  # ~1.3 MB
    path = bombs.overlapping_zip_bomb(tmp_path, files=300, kernel=kernel)
    data = path.read_bytes()
    # It is a real bomb: the first member's data quotes the second's header and
    # runs on through every later one into the shared kernel.
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        first, second = infos[0], infos[1]
        start = 30 + len(first.filename)
        expanded = zlib.decompress(data[start : start + first.compress_size], -15)
        assert expanded.startswith(data[second.header_offset : second.header_offset + 30])
        assert len(expanded) == first.file_size and zlib.crc32(expanded) == first.CRC
        assert sum(info.file_size for info in infos) > 300 * len(kernel) // 2
    with measured(10) as cost:
        items, error = read("zip", path)
    assert error is None and len(items) == 300 and not members(items)
    assert set(refused(items).values()) == {
        "refused: overlaps another member's data: a crafted ZIP (zip bomb?)"
    }
    assert cost.seconds < 2 and cost.peak_bytes < 16 * MIB


def test_entries_sharing_one_local_header_are_refused_and_others_read() -> None:
    data = bytearray(craft_zip([Raw(b"shared.txt", LEAK), Raw(b"own.txt", OTHER)]))
    directory = data.index(b"PK\x01\x02")
    entry = bytes(data[directory : directory + 46 + len(b"shared.txt")])
    copy = entry.replace(b"shared.txt", b"copy1.txt!")
    end = data.index(b"PK\x05\x06")
    data[end:end] = copy
    count, cd_size = struct.unpack_from("<HL", data, end + len(copy) + 10)
    struct.pack_into("<HHL", data, end + len(copy) + 8, count + 1, count + 1, cd_size + len(copy))
    items, error = read("zip", bytes(data))
    assert error is None and members(items) == {"own.txt": OTHER}
    assert set(refused(items)) == {"shared.txt", "copy1.txt!"}


# -- 4. bombs refused fast under the default limits --------------------------------------


def test_default_limits_and_their_validation() -> None:
    limits = ArchiveLimits()
    assert (limits.max_total_bytes, limits.max_total_ratio, limits.max_depth) == (400 * MIB, 50, 17)
    assert (limits.max_member_bytes, limits.max_ratio, limits.max_members) == (
        256 * MIB,
        200,
        100_000,
    )
    assert Budget(limits).allowed_total == 400 * MIB
    assert Budget(limits, on_disk=10 << 30).allowed_total == 500 << 30
    for bad in (
        {"max_total_ratio": 0},
        {"max_bomb_members": -1},
        {"max_total_bytes": 0},
        {"max_depth": 2.5},
        {"max_depth": True},
        {"max_members": True},
    ):
        with pytest.raises(ConfigurationError):
            ArchiveLimits(**bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        Budget(limits, on_disk=-1)


def test_total_limit_grows_with_the_size_on_disk() -> None:
    files = {f"part{n}.txt": LEDGER[n * 20_000 : (n + 1) * 20_000] for n in range(12)}
    data = zip_bytes(files)
    ratio = sum(len(v) for v in files.values()) / len(data)
    assert ratio > 3
    low, high = int(ratio / 2), int(ratio) + 1
    items, error = read("zip", data, ArchiveLimits(max_total_bytes=1000, max_total_ratio=low))
    assert error is not None and f"{low * len(data)}-byte total limit" in str(error)
    assert 0 < len(items) < 12
    items, error = read("zip", data, ArchiveLimits(max_total_bytes=1000, max_total_ratio=high))
    assert error is None and members(items) == files


def test_a_fresh_budget_takes_the_archive_size_as_its_size_on_disk() -> None:
    data = zip_bytes({"a.txt": LEAK})
    budget = Budget(ArchiveLimits())
    list(read_archive("zip", io.BytesIO(data), "a.zip", len(data), budget))
    assert budget.on_disk == len(data)
    nested = Budget(ArchiveLimits(), members=3, on_disk=0)  # already counting: not the outermost
    list(read_archive("zip", io.BytesIO(data), "a.zip", len(data), nested))
    assert nested.on_disk == 0


def test_nested_zip_bomb_is_refused_in_seconds(tmp_path: Path) -> None:
    from leakscan.exports.expand import Expander
    from leakscan.records import ErrorRecord

    path = bombs.nested_zip_bomb(tmp_path, levels=4, fanout=16, leaf_bytes=4 << 30)
    assert path.stat().st_size < 100_000  # 16**4 leaves of 4 GiB each
    with measured(20) as cost:
        entries = list(Expander(ArchiveLimits()).expand([path]))
    errors = [e for e in entries if isinstance(e, ErrorRecord)]
    assert errors and errors[-1].suspect == str(path)
    assert "decompression bomb" in errors[-1].error
    assert cost.seconds < 3 and cost.peak_bytes < 64 * MIB


@pytest.mark.parametrize("declared", [None, 1000], ids=["honest-header", "lying-header"])
def test_single_huge_ratio_member_is_refused_in_seconds(
    tmp_path: Path, declared: int | None
) -> None:
    path = bombs.ratio_zip_bomb(tmp_path, size=2 << 30, declared=declared)
    with measured(10) as cost:
        items, error = read("zip", path)
    (item,) = items
    assert isinstance(item, Refused) and "decompression bomb" in item.reason and item.error
    assert error is None and cost.seconds < 2 and cost.peak_bytes < 64 * MIB


def test_tar_gz_bomb_is_refused_in_seconds(tmp_path: Path) -> None:
    path = bombs.tar_gz_bomb(tmp_path, member_bytes=4 << 30)
    with measured(10) as cost:
        items, error = read("gzip", path)
    assert items == [] and error is not None and "decompression bomb" in str(error)
    assert cost.seconds < 2 and cost.peak_bytes < 32 * MIB
    # Members under the member limit, together over the ratio: stopped by the stream's ratio.
    path = bombs.tar_gz_bomb(tmp_path, member_bytes=100 << 20, members=20)
    with measured(10) as cost:
        items, error = read("gzip", path)
    assert error is not None and "decompression bomb" in str(error)
    assert cost.seconds < 3


def test_solid_7z_bomb_is_refused_without_decompressing(tmp_path: Path) -> None:
    path = bombs.solid_7z_bomb(tmp_path, members=64, member_bytes=64 << 20)
    with measured(10) as cost:
        items, error = read("7z", path)
    assert error is None and len(items) == 64 and not members(items)
    assert all("compression ratio" in reason for reason in refused(items).values())
    assert cost.seconds < 2 and cost.peak_bytes < 32 * MIB


def test_solid_7z_built_by_hand_is_a_valid_archive(tmp_path: Path) -> None:
    path = bombs.solid_7z_bomb(tmp_path, members=3, member_bytes=2 << 20)
    items, error = read("7z", path, ArchiveLimits(max_ratio=100_000))
    assert error is None and members(items) == {
        f"zeros-{n:03d}.bin": bytes(2 << 20) for n in range(3)
    }


def test_many_bomb_members_refuse_the_whole_archive() -> None:
    bomb = bombs.deflate_zeros(2 * MIB)
    entries = [
        (f"z{n}.bin".encode(), 8, bomb, bombs.crc32_zeros(2 * MIB), 2 * MIB) for n in range(70)
    ]
    entries.append((b"leak.txt", 0, LEAK, zlib.crc32(LEAK), len(LEAK)))
    items, error = read("zip", bombs.zip_of(entries))
    assert len(items) == 65 and all(isinstance(item, Refused) for item in items)
    assert error is not None and "more than 64 members are decompression bombs" in str(error)


def test_crc32_helpers_of_the_factories_agree_with_zlib() -> None:
    for count in (0, 1, 4095, MIB, 3 * MIB + 17):
        assert bombs.crc32_zeros(count) == zlib.crc32(bytes(count))
        assert bombs.crc32_zeros(count, zlib.crc32(LEAK)) == zlib.crc32(LEAK + bytes(count))
    assert zlib.decompress(bombs.deflate_zeros(3 * MIB + 5, b"head", b"tail"), -15) == (
        b"head" + bytes(3 * MIB + 5) + b"tail"
    )


# -- 5. concatenated archives are read whole ----------------------------------------------


def test_second_tar_appended_to_the_first_is_read() -> None:
    first = tar_bytes({"a.txt": OTHER, "b.txt": OTHER[::-1]})
    second = tar_bytes({"hidden/leak.txt": LEAK})
    data = first + second
    assert stdlib_tar_names(data) == ["a.txt", "b.txt"]  # tarfile stops at the first end
    items, error = read("tar", data)
    assert error is None
    assert list(members(items)) == ["a.txt", "b.txt", "hidden/leak.txt"]
    assert members(items)["hidden/leak.txt"] == LEAK


def test_concatenated_tar_gz_is_read_whole() -> None:
    data = tar_bytes({"a.txt": OTHER}, "w:gz") + tar_bytes({"hidden/leak.txt": LEAK}, "w:gz")
    items, error = read("gzip", data)
    assert error is None and list(members(items)) == ["a.txt", "hidden/leak.txt"]


@pytest.mark.parametrize(
    "between", [b"", b"\x00" * 3000, b"junk " * 40], ids=["cat", "zeros", "junk"]
)
def test_zip_appended_to_another_zip_is_read_in_file_order(between: bytes) -> None:
    first = zip_bytes({"hidden/leak.txt": LEAK, "hidden/more.txt": OTHER})
    second = zip_bytes({"visible.txt": OTHER})
    data = first + between + second
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["visible.txt"]  # zipfile only sees the last directory
    items, error = read("zip", data)
    assert error is None
    names = [item.name for item in items]
    assert names[:2] == ["hidden/leak.txt", "hidden/more.txt"] and names[-1] == "visible.txt"
    assert members(items)["hidden/leak.txt"] == LEAK
    if between.strip(b"\x00"):
        (junk,) = [i for i in items if i.name.startswith("<")]
        assert isinstance(junk, Member) and junk.data == between


def test_zip_after_junk_yields_the_junk_as_data_of_its_own() -> None:
    junk = b"%PDF-1.4 pretend cover page\n" + LEAK * 3
    data = junk + zip_bytes({"visible.txt": OTHER})
    items, error = read("zip", data)
    assert error is None
    first, second = items
    assert isinstance(first, Member) and first.data == junk and first.name.startswith("<")
    assert "before the ZIP archive" in first.notes[0]
    assert isinstance(second, Member) and second.name == "visible.txt"


def test_multi_member_gzip_is_one_member_with_both_parts() -> None:
    data = gzip.compress(OTHER) + gzip.compress(LEAK)
    items, error = read("gzip", data)
    assert error is None
    (item,) = items
    assert isinstance(item, Member) and item.data == OTHER + LEAK
    assert item.notes == ("2 concatenated gzip streams",)


@pytest.mark.parametrize("kind", ["bzip2", "xz"])
def test_concatenated_bzip2_and_xz_streams_are_read_whole(kind: str) -> None:
    compress = bz2.compress if kind == "bzip2" else lzma.compress
    data = compress(OTHER) + (b"\x00" * 8 if kind == "xz" else b"") + compress(LEAK)
    items, error = read(kind, data)
    assert error is None and [m.data for m in items if isinstance(m, Member)] == [OTHER + LEAK]


def test_data_appended_to_a_gzip_file_is_reported() -> None:
    data = gzip.compress(OTHER) + b"appended: " + LEAK
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(data)
    items, error = read("gzip", data)
    assert error is None
    assert [m.data for m in items if isinstance(m, Member)] == [OTHER, b"appended: " + LEAK]


def test_data_in_a_gap_between_zip_members_is_reported() -> None:
    data = bytearray(craft_zip([Raw(b"a.txt", OTHER), Raw(b"b.txt", OTHER)]))
    second = data.index(b"PK\x03\x04", 4)
    hidden = b"between the members: " + LEAK
    data[second:second] = hidden
    # Move the second member's offset and the directory's.
    directory = data.index(b"PK\x01\x02")
    entry2 = data.index(b"PK\x01\x02", directory + 4)
    struct.pack_into("<L", data, entry2 + 42, second + len(hidden))
    end = data.index(b"PK\x05\x06")
    struct.pack_into("<L", data, end + 16, directory)
    items, error = read("zip", bytes(data))
    assert error is None
    assert [i.name for i in items][0::2] == ["a.txt", "b.txt"]  # in file order
    gap = items[1]
    assert isinstance(gap, Member) and gap.data == hidden and "between" in gap.notes[0]


# -- 6. suspicious names are facts, not reasons to skip -----------------------------------


def test_suspicious_zip_names_are_read_and_noted() -> None:
    names = [
        b"../x.pdf",
        b"/etc/x",
        b"C:\\Users\\warden\\Desktop\\x.docx",
        b"nul\x00byte.txt",
        b"",
        b"same.txt",
        b"same.txt",
    ]
    data = craft_zip([Raw(name, LEAK + bytes([n])) for n, name in enumerate(names)])
    items, error = read("zip", data)
    assert error is None and all(isinstance(item, Member) for item in items)
    shown = [(item.name, item.data[-1], item.notes) for item in items if isinstance(item, Member)]
    assert [name for name, _, _ in shown] == [
        "../x.pdf",
        "/etc/x",
        "C:\\Users\\warden\\Desktop\\x.docx",
        "nul\\x00byte.txt",
        "<unnamed member 5>",
        "same.txt",
        "same.txt",
    ]
    assert [n for _, n, _ in shown] == list(range(7))  # duplicates are separate members
    for name, _, notes in shown[:5]:
        assert notes and notes[0].startswith("suspicious member name"), name
    assert "path traversal" in shown[0][2][0] and "empty member name" in shown[4][2][0]
    assert not shown[5][2]


def test_suspicious_tar_and_7z_names_are_read(tmp_path: Path) -> None:
    data = tar_bytes({"../../climb.txt": LEAK, "/abs/path.txt": OTHER})
    items, _ = read("tar", data)
    assert members(items) == {"../../climb.txt": LEAK, "/abs/path.txt": OTHER}
    assert all("path traversal" in item.notes[0] for item in items if isinstance(item, Member))
    seven = tmp_path / "names.7z"
    with py7zr.SevenZipFile(seven, "w") as archive:
        archive.writestr(LEAK, "dup.txt")
        archive.writestr(OTHER, "dup.txt")
    items, error = read("7z", seven)
    assert error is None and [m.data for m in items if isinstance(m, Member)] == [LEAK, OTHER]


def test_links_and_passwords_stay_unread() -> None:
    data = craft_zip(
        [
            Raw(b"link", b"/etc/passwd", method=0, mode=0o120777),
            Raw(b"locked.txt", b"\x00" * 40, method=0, flags=0x1),
            Raw(b"open.txt", OTHER),
        ]
    )
    items, error = read("zip", data)
    assert error is None and members(items) == {"open.txt": OTHER}
    reasons = refused(items)
    assert "not followed" in reasons["link"] and "password-protected" in reasons["locked.txt"]


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_an_error_in_the_callers_select_is_not_taken_for_damage(kind: str) -> None:
    data = zip_bytes({"a.txt": LEAK}) if kind == "zip" else tar_bytes({"a.txt": LEAK})

    def select(name: str) -> bool:
        raise KeyError(name)

    budget = Budget(ArchiveLimits())
    with pytest.raises(KeyError):
        list(read_archive(kind, io.BytesIO(data), "a", len(data), budget, select))


def test_unsafe_name_still_says_why() -> None:
    assert unsafe_name("../x") and "path traversal" in (unsafe_name("C:\\x") or "")
    assert unsafe_name("a/../../b") and unsafe_name("") == "empty member name"
    assert unsafe_name("a/b..c/d") is None and unsafe_name("...") is None


# -- 7. sparse and huge input -------------------------------------------------------------


def test_sparse_file_that_looks_like_a_zip_is_called_damaged_at_once(tmp_path: Path) -> None:
    path = bombs.sparse_fake_zip(tmp_path, apparent=6 << 30)
    assert path.stat().st_size == 6 << 30 and path.stat().st_blocks * 512 < MIB
    with open(path, "rb") as handle:
        assert archive_kind(handle.read(8192), handle, path.name) == "zip"
    with measured(10) as cost:
        items, error = read("zip", path)
    assert items == [] and error is not None and "damaged or truncated ZIP" in str(error)
    assert cost.seconds < 1 and cost.peak_bytes < 8 * MIB


@pytest.mark.parametrize("kind", ["tar", "gzip"])
def test_sparse_tail_after_an_archive_is_not_read(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"sparse.{kind}"
    path.write_bytes(tar_bytes({"leak.txt": LEAK}) if kind == "tar" else gzip.compress(LEAK))
    os.truncate(path, 5 << 30)
    with measured(10) as cost:
        items, error = read(kind, path)
    assert error is None and [m.data for m in items if isinstance(m, Member)] == [LEAK]
    assert cost.seconds < 1


# -- fuzzing: whatever the bytes, only Member, Refused or ExtractionError ------------------


def _seeds() -> dict[str, tuple[str, bytes]]:
    files = {"docs/a.txt": LEAK * 4, "b.bin": bytes(range(256)) * 4, "c.txt": OTHER}
    seeds = {
        f"zip-{label}": ("zip", zip_bytes(files, method))
        for label, method in (
            ("stored", zipfile.ZIP_STORED),
            ("deflated", zipfile.ZIP_DEFLATED),
            ("bzip2", zipfile.ZIP_BZIP2),
            ("lzma", zipfile.ZIP_LZMA),
        )
    }
    seeds["tar"] = ("tar", tar_bytes(files))
    seeds["tar-pax"] = ("tar", tar_bytes({"ü/" + ("long" * 40): LEAK, "x": OTHER}, "w"))
    seeds["tar.gz"] = ("gzip", tar_bytes(files, "w:gz"))
    seeds["gz"] = ("gzip", gzip.compress(LEAK * 4))
    seeds["bz2"] = ("bzip2", bz2.compress(LEAK * 4))
    seeds["xz"] = ("xz", lzma.compress(LEAK * 4))
    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(data, name)
    seeds["7z"] = ("7z", buffer.getvalue())
    return seeds


SEEDS = _seeds()

_mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 16), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 16)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 16), st.binary(min_size=1, max_size=40)),
    st.tuples(
        st.just("splice"), st.integers(0, 1 << 16), st.integers(0, 1 << 16), st.integers(1, 600)
    ),
)


def mutate(data: bytes, mutations: list[tuple[object, ...]]) -> bytes:
    out = bytearray(data)
    for mutation in mutations:
        if not out:
            break
        op, at = mutation[0], int(mutation[1]) % len(out)  # type: ignore[call-overload]
        if op == "flip":
            out[at] ^= int(mutation[2])  # type: ignore[call-overload]
        elif op == "truncate":
            del out[at:]
        elif op == "insert":
            out[at:at] = mutation[2]  # type: ignore[assignment]
        else:
            source, length = int(mutation[2]) % len(out), int(mutation[3])  # type: ignore[call-overload]
            out[at : at + length] = out[source : source + length]
    return bytes(out)


@settings(
    max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(seed=st.sampled_from(sorted(SEEDS)), mutations=st.lists(_mutation, min_size=1, max_size=4))
def test_mutated_archives_only_yield_members_refusals_or_an_extraction_error(
    seed: str, mutations: list[tuple[object, ...]]
) -> None:
    kind, original = SEEDS[seed]
    data = mutate(original, mutations)
    started = time.perf_counter()
    with measured(20):
        archive_kind(data[:8192], io.BytesIO(data), "evidence")
        items, error = read(kind, data, ArchiveLimits(max_member_bytes=4 * MIB))
    assert all(isinstance(item, (Member, Refused)) for item in items)
    assert error is None or isinstance(error, ExtractionError)
    assert time.perf_counter() - started < 5
