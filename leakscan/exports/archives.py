"""ZIP, tar (plain, gzip, bzip2, xz), 7z and single-file gzip/bzip2/xz, read in memory under limits.

Members are never written to disk: each is read into memory, so a member
named ``../../etc/passwd`` cannot land anywhere, but such names are still
refused, since no honest export holds them. Every limit below is checked on
the bytes actually produced, not on the sizes an archive declares, because a
crafted archive lies about those.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO

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


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds that stop decompression bombs; each applies to one archive as given.

    Nested archives share their outermost archive's budget, so ``42.zip``
    style bombs run into ``max_total_bytes`` however they are nested.
    """

    #: Uncompressed bytes of one member (as for files on disk: larger ones are skipped).
    max_member_bytes: int = 256 << 20
    #: Uncompressed bytes of everything below one archive, nested archives included.
    max_total_bytes: int = 8 << 30
    #: Uncompressed/compressed size of a member (or a whole gzip/bzip2/xz stream) over 1 MiB.
    max_ratio: int = 200
    #: Members below one archive, nested archives included.
    max_members: int = 100_000
    #: Archives within archives: a.zip!b.zip!c.pdf is depth 2.
    max_depth: int = 8

    def __post_init__(self) -> None:
        for name in ("max_member_bytes", "max_total_bytes", "max_ratio", "max_members"):
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"archive limit {name} must be positive")
        if self.max_depth < 1:
            raise ConfigurationError("archive limit max_depth must be at least 1")


_RATIO_FLOOR = 1 << 20  # small members may compress very well; ratios only count above this


@dataclass
class Budget:
    """What one outermost archive may still expand to."""

    limits: ArchiveLimits
    total_bytes: int = 0
    members: int = 0

    def count_member(self) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise _BombError(
                f"refused: more than {self.limits.max_members} members (decompression bomb?)"
            )


@dataclass(frozen=True)
class Member:
    """A regular file read from an archive."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Refused:
    """A member not read: ``error`` True for hostile or damaged ones, False for skips by rule."""

    name: str
    reason: str
    error: bool = True
    mime: str | None = field(default=None)


class _BombError(ExtractionError):
    """The archive expands beyond the limits: reading it stops here."""


class _MemberTooLarge(Exception):
    """One member is over the member limit: skipped, reading goes on."""


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
        handle.seek(0)
        with zipfile.ZipFile(handle) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    finally:
        handle.seek(0)
    return any(name in names for name in _OFFICE_MEMBERS)


def unsafe_name(name: str) -> str | None:
    """Why a member name is hostile (absolute, drive letter, climbs out), or None."""
    if not name:
        return "empty member name"
    if "\x00" in name:
        return "member name holds a NUL byte"
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        return "absolute member name (path traversal)"
    if ".." in PurePosixPath(posix).parts:
        return "member name climbs out of the archive with '..' (path traversal)"
    return None


Select = Callable[[str], bool]


def _all(_name: str) -> bool:
    return True


def read_archive(
    kind: str, handle: IO[bytes], name: str, size: int, budget: Budget, select: Select = _all
) -> Iterator[Member | Refused]:
    """Members of one archive in their stored order; raises ExtractionError when it
    cannot go on (damaged, truncated, encrypted headers, over the limits), after
    yielding what it could read. Members whose name ``select`` rejects are
    passed over unread and unreported.
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
    try:
        yield from readers[kind](handle, name, size, budget, select)
    except ExtractionError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError, lzma.LZMAError) as exc:
        raise ExtractionError(f"damaged or truncated {kind} archive: {exc}") from exc


def _read_limited(
    stream: IO[bytes] | io.BufferedIOBase, budget: Budget, compressed: int | None
) -> bytes:
    """Read one member's bytes, stopping as soon as a limit is passed."""
    limits = budget.limits
    parts: list[bytes] = []
    got = 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return b"".join(parts)
        got += len(chunk)
        budget.total_bytes += len(chunk)
        if budget.total_bytes > limits.max_total_bytes:
            raise _BombError(
                f"refused: expands beyond the {limits.max_total_bytes}-byte total limit "
                "(decompression bomb?)"
            )
        if (
            compressed is not None
            and got > _RATIO_FLOOR
            and got > limits.max_ratio * max(1, compressed)
        ):
            raise _BombError(
                f"refused: a member expands more than {limits.max_ratio}:1 (decompression bomb?)"
            )
        if got > limits.max_member_bytes:
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
    problem = unsafe_name(member)
    if problem:
        return Refused(member, f"refused: {problem}")
    if encrypted:
        return Refused(member, "password-protected member: not read")
    if size > budget.limits.max_member_bytes:
        return _too_large(member, budget.limits)
    return True


def _too_large(name: str, limits: ArchiveLimits) -> Refused:
    return Refused(name, f"larger than the {limits.max_member_bytes}-byte limit", error=False)


def _read_zip(
    handle: IO[bytes], _name: str, _size: int, budget: Budget, select: Select
) -> Iterator[Member | Refused]:
    try:
        archive = zipfile.ZipFile(handle)
    except zipfile.BadZipFile as exc:
        raise ExtractionError(
            f"damaged or truncated ZIP (its central directory cannot be read): {exc}"
        ) from exc
    limits = budget.limits
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            member = info.filename
            verdict = _screen(
                member,
                budget,
                select,
                size=info.file_size,
                link=stat.S_ISLNK(info.external_attr >> 16),
                encrypted=bool(info.flag_bits & 0x1),
            )
            if verdict is not True:
                if verdict:
                    yield verdict
                continue
            if info.file_size > _RATIO_FLOOR and info.file_size > limits.max_ratio * max(
                1, info.compress_size
            ):
                yield Refused(
                    member,
                    f"refused: declares a {info.file_size // max(1, info.compress_size)}:1 "
                    f"compression ratio, over the {limits.max_ratio}:1 limit "
                    "(decompression bomb?)",
                )
                continue
            try:
                with archive.open(info) as stream:
                    data = _read_limited(stream, budget, info.compress_size)
            except _MemberTooLarge:
                yield _too_large(member, limits)
                continue
            except NotImplementedError as exc:
                yield Refused(member, f"cannot read: {exc}")
                continue
            except (zipfile.BadZipFile, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
                yield Refused(member, f"damaged member: {exc}")
                continue
            yield Member(member, data)


def _read_tar(
    handle: IO[bytes], _name: str, size: int, budget: Budget, select: Select
) -> Iterator[Member | Refused]:
    limits = budget.limits
    try:
        archive = tarfile.open(fileobj=handle, mode="r:*")  # noqa: SIM115 - closed below
    except tarfile.ReadError as exc:
        raise ExtractionError(f"not a readable tar archive: {exc}") from exc
    with archive:
        for info in archive:
            if info.isdir():
                continue
            member = info.name
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
                continue
            stream = archive.extractfile(info)
            if stream is None:  # pragma: no cover - regular files always have a stream
                continue
            try:
                # The whole stream's ratio counts: a tar.gz bomb is one compressed stream.
                data = _read_limited(stream, budget, None)
            except _MemberTooLarge:
                yield _too_large(member, limits)
                continue
            if budget.total_bytes > _RATIO_FLOOR and budget.total_bytes > limits.max_ratio * max(
                1, size
            ):
                raise _BombError(
                    f"refused: expands more than {limits.max_ratio}:1 (decompression bomb?)"
                )
            yield Member(member, data)


def _read_compressed(
    handle: IO[bytes], name: str, size: int, budget: Budget, select: Select
) -> Iterator[Member | Refused]:
    """A single gzip/bzip2/xz file: a tar inside is read as a tar, anything else is one member."""
    opener: dict[bytes, Callable[[IO[bytes]], io.BufferedIOBase]] = {
        b"\x1f\x8b": lambda h: gzip.GzipFile(fileobj=h, mode="rb"),
        b"BZh": lambda h: bz2.BZ2File(h, mode="rb"),
        b"\xfd7zXZ\x00": lambda h: lzma.LZMAFile(h, mode="rb"),  # noqa: SIM115
    }
    head = handle.read(6)
    handle.seek(0)
    open_stream = next(f for magic, f in opener.items() if head.startswith(magic))
    with open_stream(handle) as probe:
        block = probe.read(512)
    handle.seek(0)
    if len(block) == 512 and block[257:262] == b"ustar":
        yield from _read_tar(handle, name, size, budget, select)
        return
    inner = PurePosixPath(name.rsplit("!", 1)[-1]).name
    for suffix in (".gz", ".tgz", ".bz2", ".xz"):
        if inner.lower().endswith(suffix):
            inner = inner[: -len(suffix)] + (".tar" if suffix == ".tgz" else "")
            break
    if not select(inner or "data"):
        return
    budget.count_member()
    try:
        with open_stream(handle) as stream:
            data = _read_limited(stream, budget, size)
    except _MemberTooLarge:
        yield _too_large(inner or "data", budget.limits)
        return
    yield Member(inner or "data", data)


def _read_7z(
    handle: IO[bytes], _name: str, _size: int, budget: Budget, select: Select
) -> Iterator[Member | Refused]:
    import py7zr
    from py7zr.exceptions import ArchiveError, PasswordRequired

    limits = budget.limits
    try:
        archive = py7zr.SevenZipFile(handle, mode="r")
    except PasswordRequired as exc:
        raise EncryptedDocumentError("password-protected 7z archive (encrypted names)") from exc
    except (ArchiveError, py7zr.Bad7zFile, lzma.LZMAError, EOFError, KeyError, ValueError) as exc:
        raise ExtractionError(f"damaged or truncated 7z archive: {exc}") from exc
    with archive:
        encrypted = archive.password_protected
        wanted: list[tuple[str, int]] = []
        for info in archive.list():
            if info.is_directory:
                continue
            member = info.filename
            verdict = _screen(
                member,
                budget,
                select,
                size=info.uncompressed,
                link=info.is_symlink,
                encrypted=encrypted,
            )
            if verdict is not True:
                if verdict:
                    yield verdict
                continue
            wanted.append((member, info.uncompressed))
        # Read in batches of about one member limit: bounded memory, few passes
        # over solid blocks.
        batch: list[str] = []
        batch_bytes = 0
        for member, declared in [*wanted, ("", 0)]:
            if batch and (not member or batch_bytes + declared > limits.max_member_bytes):
                yield from _read_7z_batch(archive, batch, budget)
                archive.reset()
                batch, batch_bytes = [], 0
            if member:
                batch.append(member)
                batch_bytes += declared


def _read_7z_batch(archive: object, names: list[str], budget: Budget) -> Iterator[Member | Refused]:
    from py7zr.exceptions import ArchiveError, CrcError, DecompressionError
    from py7zr.io import Py7zIO, WriterFactory

    limits = budget.limits

    class _Capped(Py7zIO):
        def __init__(self) -> None:
            self.buffer = io.BytesIO()
            self.over = False

        def write(self, s: bytes | bytearray) -> int:
            budget.total_bytes += len(s)
            if budget.total_bytes > limits.max_total_bytes:
                raise _BombError(
                    f"refused: expands beyond the {limits.max_total_bytes}-byte total limit "
                    "(decompression bomb?)"
                )
            if self.buffer.tell() + len(s) > limits.max_member_bytes:
                self.over = True
                return len(s)
            return self.buffer.write(s)

        def read(self, size: int | None = None) -> bytes:
            return self.buffer.read(size)

        def seek(self, offset: int, whence: int = 0) -> int:
            return self.buffer.seek(offset, whence)

        def flush(self) -> None:
            pass

        def size(self) -> int:
            return self.buffer.getbuffer().nbytes

    class _Factory(WriterFactory):
        def __init__(self) -> None:
            self.products: dict[str, _Capped] = {}

        def create(self, filename: str) -> Py7zIO:
            product = self.products[filename] = _Capped()
            return product

    factory = _Factory()
    try:
        archive.extract(targets=names, factory=factory)  # type: ignore[attr-defined]
    except _BombError:
        raise
    except (ArchiveError, CrcError, DecompressionError, lzma.LZMAError, EOFError, OSError) as exc:
        raise ExtractionError(f"damaged or truncated 7z archive: {exc}") from exc
    for member in names:
        product = factory.products.get(member)
        if product is None:
            yield Refused(member, "listed in the 7z archive but could not be read")
        elif product.over:
            yield _too_large(member, limits)
        else:
            yield Member(member, product.buffer.getvalue())
