"""Where an index's fingerprint key comes from: given bytes, a key file, or (old indexes) its meta.

Precedence: the ``key`` bytes given, then the ``key_file`` given, then the
file named by ``LEAKSCAN_KEY_FILE``, then ``<index file>.key`` beside a
SQLite index. An index at a URL (PostgreSQL) has no "beside": its key file
must be given. ``memory://`` indexes keep their key in memory (a given key
file is used, the environment is not). The index's meta holds only the key
id; indexes made before key files hold the key itself under ``key`` until
``leakscan index migrate-key`` moves it out.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from ..errors import KeyFileError, KeyMismatchError, LeakscanIndexError, MissingKeyError
from ..fingerprint import key_id
from ..keyfile import KEY_BYTES, new_key_file, read_key_file, write_key_file

__all__ = [
    "ENV_KEY_FILE",
    "KEY_FILE_SUFFIX",
    "META_KEY",
    "FoundKey",
    "key_file_beside",
    "key_for_new_index",
    "key_of_index",
    "key_search",
]

ENV_KEY_FILE = "LEAKSCAN_KEY_FILE"
#: The default key file of a SQLite index is the index file's name plus this.
KEY_FILE_SUFFIX = ".key"
#: The meta entry in which indexes made before key files keep their key (hex).
META_KEY = "key"


@dataclass(frozen=True)
class FoundKey:
    """An index's key and where it came from."""

    #: None: not found (only when the caller said it needs no key).
    key: bytes | None
    #: The key file it was read from or written to; None for given bytes or meta.
    key_file: str | None = None
    #: The index's meta still holds the key (an index made before key files).
    in_index: bool = False
    #: Why there is no key (raised when the key is used).
    missing: MissingKeyError | None = None


def key_file_beside(file: str) -> str:
    """The default key file of the SQLite index ``file``."""
    return file + KEY_FILE_SUFFIX


def key_search(
    location: str, file: str | None, key_file: str | os.PathLike[str] | None
) -> tuple[str | None, str]:
    """The key file to use for an index, and how it was chosen (for messages);
    ``(None, reason)`` when there is none to look at."""
    if key_file is not None:
        return os.fspath(key_file), "given"
    if location.startswith("memory:"):
        return None, "an index in memory keeps its key in memory"
    env = os.environ.get(ENV_KEY_FILE)
    if env:
        return env, f"from {ENV_KEY_FILE}"
    if file is not None:
        return key_file_beside(file), "beside the index"
    return None, (
        "an index at a URL has no key file beside it: give one with --key-file FILE "
        f"or {ENV_KEY_FILE}"
    )


def key_for_new_index(
    location: str, file: str | None, key: bytes | None, key_file: str | os.PathLike[str] | None
) -> FoundKey:
    """The key of an index being created, its key file made if there is none yet.

    Given bytes are stored in the key file when it does not exist (an index
    must never outlive its only copy of the key) and must match it when it
    does. Without bytes, an existing key file's key is used (several indexes
    may share one on purpose), else a new random key is written to it.
    """
    path, how = key_search(location, file, key_file)
    if path is None:
        if key is not None or location.startswith("memory:"):
            return FoundKey(key if key is not None else secrets.token_bytes(KEY_BYTES))
        raise MissingKeyError(f"cannot create {location}: {how}")
    if not os.path.lexists(path):
        try:
            if key is None:
                return FoundKey(new_key_file(path), path)
            write_key_file(path, key)
            return FoundKey(key, path)
        except KeyFileError:
            if not os.path.lexists(path):
                raise
            # Another creator made it first (it appears whole): use it as if it had been there.
    stored = read_key_file(path)
    if key is not None and stored != key:
        raise KeyMismatchError(
            f"key file {path} ({how}) holds key id {key_id(stored)}, not the key given "
            f"(key id {key_id(key)}): give another --key-file for {location}"
        )
    return FoundKey(stored, path)


def key_of_index(
    meta: dict[str, str],
    location: str,
    file: str | None,
    key: bytes | None,
    key_file: str | os.PathLike[str] | None,
    *,
    need_key: bool = True,
) -> FoundKey:
    """The key of an existing index, checked against the key id its meta records.

    A key that is found but has another id is a :class:`KeyMismatchError`
    (never silently wrong results). No key anywhere is a
    :class:`MissingKeyError` naming the index, its key id and where the key
    was looked for, unless ``need_key`` is false (then the error is kept in
    :attr:`FoundKey.missing`, for whoever uses the key later).
    """
    wanted = meta["key_id"]
    in_index = META_KEY in meta
    if key is not None:
        if key_id(key) != wanted:
            raise KeyMismatchError(
                f"the key given does not match {location} (index key id {wanted}, "
                f"given {key_id(key)})"
            )
        return FoundKey(key, in_index=in_index)
    path, how = key_search(location, file, key_file)
    if path is not None and (os.path.lexists(path) or not in_index):
        if not os.path.lexists(path):
            missing = MissingKeyError(
                f"{location}: its key (key id {wanted}) is not in the index and there is no "
                f"key file {path} ({how}): give the index's key file with --key-file FILE "
                f"or {ENV_KEY_FILE}"
            )
            if need_key:
                raise missing
            return FoundKey(None, missing=missing)
        stored = read_key_file(path)
        if key_id(stored) != wanted:
            raise KeyMismatchError(
                f"key file {path} ({how}) holds key id {key_id(stored)}, but {location} was "
                f"built with key id {wanted}: give the index's own key file"
            )
        return FoundKey(stored, path, in_index=in_index)
    if in_index:
        return FoundKey(_key_in_meta(meta, location), in_index=True)
    missing = MissingKeyError(f"{location}: its key (key id {wanted}) is not in the index: {how}")
    if need_key:
        raise missing
    return FoundKey(None, missing=missing)


def _key_in_meta(meta: dict[str, str], location: str) -> bytes:
    """The key an index made before key files keeps in its meta, checked against its id."""
    try:
        stored = bytes.fromhex(meta[META_KEY])
    except ValueError:
        stored = b""
    if not stored or key_id(stored) != meta["key_id"]:
        raise LeakscanIndexError(f"{location}: the key stored in the index is damaged")
    return stored
