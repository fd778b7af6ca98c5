"""Moving the key of an index made before key files out of the index (``index migrate-key``).

Such an index keeps its key in its meta as ``key`` (hex), so a copy of the
file alone confirms guessed text. Migrating writes the key file first (mode
0600; an existing one must hold the same key), and only then removes the key
from the index so that no copy survives in the file: deleted with SQLite's
``secure_delete``, every page rewritten by ``VACUUM``, the WAL truncated.
The writer lock is held throughout, so no build runs meanwhile.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ConfigurationError
from ..fingerprint import key_id
from ..keyfile import write_key_file
from . import DEFAULT_INDEX, Index
from .keys import META_KEY, key_search
from .sqlite import SQLiteBackend

__all__ = ["KeyMigration", "migrate_key"]


@dataclass(frozen=True)
class KeyMigration:
    """What migrating an index's key did."""

    location: str
    key_id: str
    key_file: str
    #: The key file was written now (False: it existed, with the same key).
    wrote_key_file: bool
    #: The index held its key until now (False: it had been migrated already).
    key_was_in_index: bool

    def summary_line(self) -> str:
        if not self.key_was_in_index:
            return (
                f"{self.location} holds no key (key id {self.key_id}, key file "
                f"{self.key_file}): nothing to migrate; its free space was scrubbed again"
            )
        how = "written to" if self.wrote_key_file else "already in"
        return (
            f"{self.location}: key (key id {self.key_id}) {how} {self.key_file} and removed "
            "from the index; keep the key file apart from the index, and back it up: "
            "without it the index cannot be used"
        )


def migrate_key(
    location: str | os.PathLike[str] = DEFAULT_INDEX,
    *,
    key_file: str | os.PathLike[str] | None = None,
    lock_timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> KeyMigration:
    """Move an index's key from its meta to a key file (``key_file``, else
    ``LEAKSCAN_KEY_FILE``, else ``<index file>.key``), leaving no copy in the index.

    Idempotent: an index without the key is scrubbed again (useful when the
    last run could not truncate the WAL because a scan had the index open).
    """
    where = os.fspath(location)
    index = Index._open(
        where,
        create=False,
        key=None,
        key_file=key_file,
        scheme=None,
        readonly=False,
        writer=True,
        lock_timeout=lock_timeout,
        on_wait=on_wait,
        allow_incomplete=True,
        need_key=True,
    )
    with index:
        backend = index.backend
        if not isinstance(backend, SQLiteBackend):
            raise ConfigurationError(f"{where}: only SQLite index files can hold their key")
        held = index.key_in_index
        target, how = key_search(where, os.fspath(backend.path), key_file)
        if target is None:  # not reached for a SQLite file: it always has a "beside"
            raise ConfigurationError(f"{where}: {how}")
        wrote = False
        if index.key_file is None:  # the key came from the meta: no key file yet
            write_key_file(target, index.key)
            wrote = True
        backend.erase_meta([META_KEY])
        return KeyMigration(
            location=where,
            key_id=key_id(index.key),
            key_file=index.key_file or target,
            wrote_key_file=wrote,
            key_was_in_index=held,
        )
