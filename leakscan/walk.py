"""Targets → items: the files below folders, in a stable order, read-only.

Anything that is not a regular file (FIFOs, sockets, devices, symbolic
links) is reported as skipped and never opened, so a scan cannot hang on a
pipe or wander out of the target through a link.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import ConfigurationError
from .exports.chat import ChatContext, SentIn
from .records import ErrorRecord, SkippedRecord

__all__ = ["Item", "display_name", "hash_evidence", "open_evidence", "read_evidence", "walk"]


@dataclass(frozen=True)
class Item:
    """One thing to scan: ``name`` as reported, ``path`` the file on disk holding it.

    An archive member carries its bytes in ``data`` (``path`` is then the
    archive on disk, ``holder_sha256`` that file's hash); an e-mail body
    carries its ``text``. ``sent_in`` names the chat message that sent an
    attachment; ``chat`` marks a chat export file, scanned message by message.
    """

    name: str
    path: str
    data: bytes | None = None
    text: str | None = None
    holder_sha256: str | None = None
    sent_in: SentIn | None = None
    chat: ChatContext | None = None


def display_name(path: str) -> str:
    """A path as text a person can read, with undecodable bytes escaped."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def walk(targets: Sequence[str | os.PathLike[str]]) -> Iterator[Item | SkippedRecord | ErrorRecord]:
    """Every item below the targets; a missing target is a usage error."""
    for target in targets:
        path = os.fspath(target)
        try:
            info = os.lstat(path)
        except OSError as exc:
            raise ConfigurationError(f"cannot read target {path}: {exc.strerror}") from exc
        if stat.S_ISDIR(info.st_mode):
            yield from _walk_folder(path)
        else:
            yield _classify(path, info)


def _classify(path: str, info: os.stat_result) -> Item | SkippedRecord:
    if stat.S_ISREG(info.st_mode):
        return Item(display_name(path), path)
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


def _walk_folder(folder: str) -> Iterator[Item | SkippedRecord | ErrorRecord]:
    try:
        with os.scandir(folder) as scanner:
            entries = sorted(scanner, key=lambda e: os.fsencode(e.name))
    except OSError as exc:
        yield ErrorRecord(display_name(folder), f"cannot list folder: {exc.strerror}")
        return
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as exc:
            yield ErrorRecord(display_name(entry.path), f"cannot stat: {exc.strerror}")
            continue
        if stat.S_ISDIR(info.st_mode):
            yield from _walk_folder(entry.path)
        else:
            yield _classify(entry.path, info)


def open_evidence(path: str | Path) -> BinaryIO:
    """Open a file without changing it: read-only, no links followed, no atime update."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_NOATIME", 0))
    except PermissionError:
        fd = os.open(path, flags)  # O_NOATIME needs ownership
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
