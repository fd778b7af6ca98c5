"""What every archive reader shares: limits, budget, members, names, screening, raw bytes.

Every limit is checked on the bytes actually produced, not on the sizes an
archive declares, because a crafted archive lies about those; nested archives
share their outermost archive's :class:`Budget`. Members are read into memory
only, so a hostile name (``../../etc/passwd``) is a note in
:attr:`Member.notes`, never a path followed. Data that no member claims is
reported as a member of its own (:func:`_stray`, zeros and holes skipped), so
padding hides nothing. Every other module of the family (the readers,
:mod:`._archive_decompress`, :mod:`.zip_directory`, :mod:`.archives`)
imports this one; it imports none of them.
"""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO

from ..errors import ConfigurationError, ExtractionError

__all__ = ["ArchiveLimits", "Budget", "Member", "Refused", "Select", "unsafe_name"]

_CHUNK = 1 << 20
_RATIO_FLOOR = 1 << 20  # small members may compress very well; ratios only count above this
#: Bytes read while looking for structures beyond the obvious place (an earlier ZIP's
#: end record, the next tar header, the end of a run of zeros).
_SCAN_LIMIT = 64 << 20
#: Stray data shorter than this (a data descriptor, alignment) is not reported.
_MIN_STRAY = 64


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
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigurationError(f"archive limit {name} must be a positive integer")
        if not isinstance(self.max_depth, int) or isinstance(self.max_depth, bool):
            raise ConfigurationError("archive limit max_depth must be an integer")
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
