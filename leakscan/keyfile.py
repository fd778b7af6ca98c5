"""Key files: the fingerprint key kept apart from the index, readable by its owner only.

Whoever holds an index *and* its key can fingerprint a guessed sentence and
see whether the index holds it; whoever holds only the index cannot. So the
key lives in a file of its own, which can be kept, backed up and handed over
apart from the index.

Format (version 1): one line of ASCII text, ``leakscan-key v1 <hex>\\n``, the
key in lower-case hex (16 to 64 bytes; new keys are 32 random bytes). A key
file is created with mode 0600 from its first instant (``O_CREAT | O_EXCL``)
and is never overwritten. Reading one that others may read works, with a
warning: key files on FAT/exFAT media have no owner-only mode, and a team may
share one through a group on purpose.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

from .errors import KeyFileError
from .fingerprint import key_id

__all__ = [
    "KEY_BYTES",
    "KEY_FILE_MAGIC",
    "KEY_FILE_VERSION",
    "format_key",
    "new_key_file",
    "parse_key",
    "read_key_file",
    "write_key_file",
]

log = logging.getLogger(__name__)

#: Bytes of a new key (blake2b keys may be 16 to 64 bytes: any of those is read).
KEY_BYTES = 32
KEY_FILE_MAGIC = "leakscan-key"
KEY_FILE_VERSION = "v1"
_MIN_KEY, _MAX_KEY = 16, 64
#: A key file is one short line; anything longer is something else (never read whole).
_MAX_FILE_BYTES = 1024


def format_key(key: bytes) -> str:
    """The text of a key file holding ``key``.

    >>> format_key(bytes(range(16)))
    'leakscan-key v1 000102030405060708090a0b0c0d0e0f\\n'
    """
    _check_length(key, "the key")
    return f"{KEY_FILE_MAGIC} {KEY_FILE_VERSION} {key.hex()}\n"


def parse_key(text: str, where: str = "the key file") -> bytes:
    """The key in a key file's text; KeyFileError naming ``where`` if it is not one."""
    parts = text.split()
    if len(parts) != 3 or parts[0] != KEY_FILE_MAGIC:
        raise KeyFileError(
            f"{where} is not a leakscan key file (expected one line "
            f"'{KEY_FILE_MAGIC} {KEY_FILE_VERSION} <hex>')"
        )
    if parts[1] != KEY_FILE_VERSION:
        raise KeyFileError(
            f"{where} is a key file of format {parts[1]!r}; this leakscan reads {KEY_FILE_VERSION}"
        )
    try:
        key = bytes.fromhex(parts[2])
    except ValueError:
        raise KeyFileError(f"{where} holds no valid hex key") from None
    _check_length(key, where)
    return key


def _check_length(key: bytes, where: str) -> None:
    if not _MIN_KEY <= len(key) <= _MAX_KEY:
        raise KeyFileError(
            f"{where} holds a {len(key)}-byte key; a key is {_MIN_KEY} to {_MAX_KEY} bytes"
        )


def read_key_file(path: str | os.PathLike[str]) -> bytes:
    """The key in a key file; KeyFileError (one line) if it is missing, unreadable or
    malformed. Warns when the file's mode lets others than its owner read it."""
    where = os.fspath(path)
    try:
        # O_NONBLOCK: a FIFO named like a key file must not hang the command.
        fd = os.open(where, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise KeyFileError(f"no key file at {where}") from None
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {where}: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"{where} is not a regular file: not a key file")
        if info.st_size > _MAX_FILE_BYTES:
            raise KeyFileError(f"{where} is not a leakscan key file (too large to be one)")
        data = os.read(fd, _MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {where}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    if len(data) > _MAX_FILE_BYTES:
        raise KeyFileError(f"{where} is not a leakscan key file (too large to be one)")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError(f"{where} is not a leakscan key file (not ASCII text)") from None
    key = parse_key(text, where)
    if os.name == "posix" and info.st_mode & 0o077:
        log.warning(
            "key file %s can be read by others than its owner (mode %03o): "
            "run 'chmod 600 %s' unless it is shared on purpose",
            where,
            stat.S_IMODE(info.st_mode),
            where,
        )
    return key


def write_key_file(path: str | os.PathLike[str], key: bytes) -> None:
    """Store ``key`` in a new key file (mode 0600); KeyFileError if ``path`` exists.

    The file appears whole or not at all: it is written under a temporary
    name beside it and hard-linked into place (a link never replaces a file).
    Where the file system has no hard links (FAT), it is created in place
    with ``O_EXCL``.
    """
    data = format_key(key).encode("ascii")
    target = Path(path)
    if target.is_symlink() or target.exists():
        raise KeyFileError(f"{target} exists: a key file is never overwritten")
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        _create_with(temporary, data)
        try:
            os.link(temporary, target)
        except FileExistsError:
            raise KeyFileError(f"{target} exists: a key file is never overwritten") from None
        except OSError:  # no hard links here: create the file itself, exclusively
            try:
                _create_with(target, data)
            except FileExistsError:
                raise KeyFileError(f"{target} exists: a key file is never overwritten") from None
    except OSError as exc:
        raise KeyFileError(f"cannot write key file {target}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
    _sync_folder(target.parent)
    log.info("wrote key file %s (key id %s)", target, key_id(key))


def new_key_file(path: str | os.PathLike[str]) -> bytes:
    """Make a new random key and store it in a new key file at ``path``; returns the key."""
    key = secrets.token_bytes(KEY_BYTES)
    write_key_file(path, key)
    return key


def _create_with(path: Path, data: bytes) -> None:
    """Create ``path`` (never an existing one) owner-only from the start, holding ``data``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def _sync_folder(folder: Path) -> None:
    """Make the new file's name durable too (a lost key loses the index); best effort."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a folder
        pass
    finally:
        os.close(fd)
