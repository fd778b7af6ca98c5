"""The writer lock of a PostgreSQL index: one build at a time, from any host.

A session-level advisory lock (``pg_try_advisory_lock``) taken on a
connection of its own, before the index is opened for writing and held
until it is closed. The server drops it when that session ends, however the
writer ends: a killed process's socket closes; a dead host's connection is
found by the server's TCP keepalives, which the session sets to about a
minute. Scanners never take it: they only look in ``pg_locks`` whether
someone holds it. The lock's key is derived from the schema the index lives
in, so two indexes in two schemas of one database have two locks.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable
from typing import Any

import psycopg

from ..errors import LeakscanIndexError
from .base import to_signed
from .pgconn import connect, pg_cause, redact

__all__ = ["AdvisoryLock", "lock_key", "writer_running"]

_POLL_SECONDS = 0.1
_KEEPALIVES = (
    ("tcp_keepalives_idle", 30),
    ("tcp_keepalives_interval", 10),
    ("tcp_keepalives_count", 3),
)

#: Locks this process holds: (host, port, database, schema).
_held: set[tuple[str, str, str, str]] = set()

_HOLDER = """
SELECT a.pid, a.application_name FROM pg_locks l
JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = %s::oid AND l.objid = %s::oid
LIMIT 1
"""


def lock_key(schema: str) -> int:
    """The advisory lock key (signed 64 bits) of the index in this schema.

    >>> lock_key("public") == lock_key("public") != lock_key("case42")
    True
    """
    digest = hashlib.blake2b(f"leakscan writer lock\0{schema}".encode(), digest_size=8).digest()
    return to_signed(int.from_bytes(digest, "big"))


def _holder(connection: psycopg.Connection[Any], key: int) -> str | None:
    """Who holds the lock (as its connection named itself), or None if nobody does."""
    unsigned = key & ((1 << 64) - 1)
    row = connection.execute(_HOLDER, (unsigned >> 32, unsigned & 0xFFFFFFFF)).fetchone()
    if row is None:
        return None
    pid, name = row
    text = str(name or "")
    if text.startswith("leakscan ") and " pid " in text:
        return "pid " + text.split(" pid ", 1)[1]
    return f"server pid {pid}"


def writer_running(connection: psycopg.Connection[Any]) -> bool:
    """Whether some session holds the writer lock of the index this connection reads."""
    schema = connection.execute("SELECT current_schema()").fetchone()
    return _holder(connection, lock_key(str(schema[0] if schema else ""))) is not None


class AdvisoryLock:
    """The writer lock of one PostgreSQL index (same interface as the file lock)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = redact(url)
        self._connection: psycopg.Connection[Any] | None = None
        self._key = 0
        self._place: tuple[str, str, str, str] | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None

    def acquire(
        self, timeout: float | None = None, on_wait: Callable[[str], None] | None = None
    ) -> None:
        """Take the lock, waiting up to ``timeout`` seconds (None: as long as it takes);
        ``on_wait`` is told once, in one line, when another build holds it."""
        if self._connection is not None:
            return
        connection = connect(self.url, autocommit=True, role="index build")
        try:
            # The server notices a dead writer's host within about a minute, and drops its
            # lock (its own keepalives, for this session; ignored on a Unix socket).
            for setting, value in _KEEPALIVES:
                connection.execute(f"SET {setting} = {value}")
            row = connection.execute("SELECT current_schema()").fetchone()
            schema = str(row[0] if row else "")
            info = connection.info
            place = (str(info.host), str(info.port), str(info.dbname), schema)
            if place in _held:
                raise LeakscanIndexError(f"{self.name} is already open for writing in this process")
            self._key = lock_key(schema)
            self._wait(connection, timeout, on_wait)
        except psycopg.Error as exc:
            connection.close()
            raise LeakscanIndexError(
                f"cannot lock index {self.name} for writing: {pg_cause(exc, self.url)}"
            ) from exc
        except BaseException:
            connection.close()
            raise
        self._connection, self._place = connection, place
        _held.add(place)

    def _wait(
        self,
        connection: psycopg.Connection[Any],
        timeout: float | None,
        on_wait: Callable[[str], None] | None,
    ) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        told = False
        while True:
            row = connection.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
            if row is not None and row[0]:
                return
            holder = _holder(connection, self._key) or "holder unknown"
            if deadline is not None and time.monotonic() >= deadline:
                raise LeakscanIndexError(
                    f"another index build on {self.name} ({holder}) is still running; "
                    f"gave up waiting after {timeout:g} s"
                )
            if not told and on_wait is not None:
                on_wait(f"waiting for another index build on {self.name} ({holder}) to finish…")
                told = True
            time.sleep(_POLL_SECONDS)

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._place is not None:
            _held.discard(self._place)
        # Closing the session drops its advisory locks, unlock or not.
        with contextlib.suppress(psycopg.Error):
            connection.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
        connection.close()
