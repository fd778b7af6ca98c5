"""Targets → items: the files below folders, in a stable order, read-only.

Anything that is not a regular file (FIFOs, sockets, devices, symbolic
links) is reported as skipped and never opened, so a scan cannot hang on a
pipe or wander out of the target through a link.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import ConfigurationError
from .exports.chat import ChatContext, SentIn
from .names import locator_part
from .records import ErrorRecord, SkippedRecord

__all__ = [
    "Item",
    "classify",
    "display_name",
    "hash_evidence",
    "open_evidence",
    "read_evidence",
    "walk",
    "walk_entries",
    "walk_target",
]


@dataclass(frozen=True)
class Item:
    """One thing to scan: ``name`` as reported, ``path`` the file on disk holding it.

    An archive member carries its bytes in ``data`` (``path`` is then the
    archive on disk, ``holder_sha256`` that file's hash); an e-mail body
    carries its ``text``. ``sent_in`` names the chat message or e-mail that
    sent an attachment; an e-mail's own text has a ``sent_in`` naming the item
    itself, which gives its findings the sender and time but no ``sent_in``.
    ``chat`` marks a chat export file, scanned message by message.
    ``notes`` are facts found on the way that a report must keep (a member
    named to climb out of its archive, a chat file that did not parse).
    """

    name: str
    path: str
    data: bytes | None = None
    text: str | None = None
    holder_sha256: str | None = None
    sent_in: SentIn | None = None
    chat: ChatContext | None = None
    notes: tuple[str, ...] = ()
    #: Where a forensic extraction says the file lay on the device.
    device_path: str | None = None


def display_name(path: str) -> str:
    """A path as the first part of a locator: undecodable bytes escaped (``\\xff``), and
    ``%``, ``!`` and ``#`` percent-escaped so that a file named ``x.zip!a.txt`` cannot pass
    for an archive member nor ``chat#L5.txt`` for a chat line (see :mod:`leakscan.names`)."""
    return locator_part(os.fsencode(path).decode("utf-8", "backslashreplace"))


def walk(targets: Sequence[str | os.PathLike[str]]) -> Iterator[Item | SkippedRecord | ErrorRecord]:
    """Every item below the targets; a missing target is a usage error."""
    for target in targets:
        for entry in walk_target(os.fspath(target)):
            yield Item(display_name(entry), entry) if isinstance(entry, str) else entry


def walk_target(path: str) -> Iterator[str | SkippedRecord | ErrorRecord]:
    """The regular files (paths) of one target, a folder or a file, and records for the
    rest; a target that cannot be looked at is a usage error (ConfigurationError)."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise ConfigurationError(f"cannot read target {path}: {exc.strerror}") from exc
    if stat.S_ISDIR(info.st_mode):
        yield from walk_entries(path)
    else:
        yield classify(path, info)


def classify(path: str, info: os.stat_result) -> str | SkippedRecord:
    """A regular file's path, or the record of what else it is (never opened)."""
    if stat.S_ISREG(info.st_mode):
        return path
    if stat.S_ISLNK(info.st_mode):
        return SkippedRecord(display_name(path), "symbolic link (not followed)")
    kind = (
        "FIFO"
        if stat.S_ISFIFO(info.st_mode)
        else "socket"
        if stat.S_ISSOCK(info.st_mode)
        else "device"
        if stat.S_ISBLK(info.st_mode) or stat.S_ISCHR(info.st_mode)
        else "special file"
    )
    return SkippedRecord(display_name(path), f"not a regular file ({kind})")


def walk_entries(folder: str) -> Iterator[str | SkippedRecord | ErrorRecord]:
    """Regular files below a folder (paths) and records for everything else, in a stable
    order (names sorted as bytes, depth first), iteratively: no folder depth exhausts the stack.
    """
    stack: list[str | SkippedRecord | ErrorRecord | tuple[str]] = [(folder,)]
    while stack:
        entry = stack.pop()
        if not isinstance(entry, tuple):
            yield entry
            continue
        (current,) = entry
        try:
            with os.scandir(current) as scanner:
                entries = sorted(scanner, key=lambda e: os.fsencode(e.name))
        except OSError as exc:
            yield ErrorRecord(display_name(current), f"cannot list folder: {exc.strerror}")
            continue
        below: list[str | SkippedRecord | ErrorRecord | tuple[str]] = []
        for item in entries:
            try:
                info = item.stat(follow_symlinks=False)
            except OSError as exc:
                below.append(ErrorRecord(display_name(item.path), f"cannot stat: {exc.strerror}"))
                continue
            below.append((item.path,) if stat.S_ISDIR(info.st_mode) else classify(item.path, info))
        stack.extend(reversed(below))


def open_evidence(path: str | Path) -> BinaryIO:
    """Open a regular file without changing it: read-only, no links followed, no atime update.

    Opened non-blocking, so a FIFO or device swapped in after a look at the
    folder cannot hang the open, and refused (OSError) unless it is a regular file.
    """
    flags = (
        os.O_RDONLY
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_CLOEXEC", 0)
        | getattr(os, "O_NONBLOCK", 0)
    )
    try:
        fd = os.open(path, flags | getattr(os, "O_NOATIME", 0))
    except PermissionError:
        fd = os.open(path, flags)  # O_NOATIME needs ownership
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file (never read)")
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def hash_evidence(path: str | Path) -> tuple[str, os.stat_result]:
    """sha256 and stat of a file, read in blocks (memory stays small however large it is).

    Raises OSError.
    """
    digest = hashlib.sha256()
    with open_evidence(path) as handle:
        info = os.fstat(handle.fileno())
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest(), info


def read_evidence(path: str | Path, max_bytes: int) -> tuple[bytes, str, os.stat_result]:
    """Read a file without changing it (see :func:`open_evidence`).

    Returns (data, sha256, stat). Raises OSError, or ValueError if over max_bytes.
    """
    with open_evidence(path) as handle:
        info = os.fstat(handle.fileno())
        if info.st_size > max_bytes:
            raise ValueError(f"larger than the {max_bytes}-byte limit ({info.st_size} bytes)")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"larger than the {max_bytes}-byte limit")
    return data, hashlib.sha256(data).hexdigest(), info
