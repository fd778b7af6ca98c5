"""The SQLite databases of phone extractions: WhatsApp's and the phones' own messages.

A database found in an extraction is evidence: it is never opened where it
lies (SQLite would create ``-wal``/``-shm``/``-journal`` files beside it, and
a checkpoint would change it). :func:`opened_copy` copies its bytes (and those
of its ``-wal``, so committed rows not yet checkpointed are read too) into a
temporary folder, opens the copy read-only with every step bounded in time,
and deletes it afterwards. :func:`database_app` tells whose database it is by
its tables; :func:`iter_database` streams its messages, by conversation then
time, as :class:`~leakscan.exports.chat.Message`\\ s located by ``#message=<id>``.

    >>> encrypted_backup("msgstore-2024-03-11.1.db.crypt14", b"\\x00\\x01")
    'WhatsApp encrypted backup (crypt14): needs the key from the phone'
    >>> encrypted_backup("msgstore.db", b"SQLite format 3\\x00") is None
    True
"""

from __future__ import annotations

import io
import re
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ..errors import ExtractionError
from . import sms_db, whatsapp_db
from .chat import CHUNK_BYTES, ChatStream, Message
from .database_rows import (
    MAX_VALUE_BYTES,
    OWNER,
    DatabaseError,
    GuardedConnection,
    columns,
    rows,
    table_names,
)

__all__ = [
    "APPS",
    "OWNER",
    "SQLITE_MAGIC",
    "DatabaseError",
    "database_app",
    "encrypted_backup",
    "iter_database",
    "opened_copy",
    "table_names",
]

#: The first 16 bytes of every SQLite 3 database.
SQLITE_MAGIC = b"SQLite format 3\x00"
#: What :func:`database_app` may answer.
APPS = ("whatsapp-android", "whatsapp-ios", "sms-android", "sms-ios", "whatsapp-contacts")

# The two magic numbers a write-ahead log starts with (big- or little-endian checksums).
_WAL_MAGIC = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")
# Read only; no SQL functions run from the schema; pages checked as read; no memory map.
_PRAGMAS = ("query_only = ON", "trusted_schema = OFF", "cell_size_check = ON", "mmap_size = 0")
_CRYPT = re.compile(r"\.crypt(\d{0,2})$", re.IGNORECASE)


@contextmanager
def opened_copy(
    main: IO[bytes],
    *,
    wal: IO[bytes] | bytes | None = None,
    max_bytes: int,
    step_seconds: float = 60.0,
) -> Iterator[sqlite3.Connection]:
    """A connection to a private copy of the database read from ``main`` (and its ``-wal``).

    Raises ExtractionError when the copy would pass ``max_bytes`` (database and
    log together), DatabaseError when the bytes are not a database SQLite can
    read (not SQLite, encrypted, damaged). The connection reads TEXT as bytes
    (``text_factory``) and gives up any step that runs past ``step_seconds``.
    """
    with tempfile.TemporaryDirectory(prefix="leakscan-db-") as folder:
        path = Path(folder) / "evidence.db"
        with path.open("wb") as copy:
            head = main.read(len(SQLITE_MAGIC))
            if head != SQLITE_MAGIC:
                raise DatabaseError(_not_sqlite(head))
            copy.write(head)
            used = _copy(main, copy, len(head), max_bytes)
        if wal is not None:
            log = Path(folder) / "evidence.db-wal"
            with log.open("wb") as copy:
                _copy(io.BytesIO(wal) if isinstance(wal, bytes) else wal, copy, used, max_bytes)
            with log.open("rb") as copied:
                if copied.read(4) not in _WAL_MAGIC:
                    log.unlink()  # not a write-ahead log (SQLite would ignore it too)
        connection = _connect(path, step_seconds)
        try:
            yield connection
        finally:
            connection.close()


def _copy(source: IO[bytes], target: IO[bytes], used: int, max_bytes: int) -> int:
    """Copy the rest of source; ``used`` bytes are copied already. Returns the total."""
    while chunk := source.read(CHUNK_BYTES):
        used += len(chunk)
        if used > max_bytes:
            raise ExtractionError(_too_large(max_bytes))
        target.write(chunk)
    return used


def _too_large(limit: int) -> str:
    return f"database larger than the limit of {limit:,} bytes: not read"


def _not_sqlite(head: bytes) -> str:
    if not head:
        return "empty file: not an SQLite database"
    return "not an SQLite database (no 'SQLite format 3' header; encrypted databases have none)"


def _connect(path: Path, step_seconds: float) -> sqlite3.Connection:
    connection = sqlite3.connect(
        path, factory=GuardedConnection, isolation_level=None, check_same_thread=False
    )
    assert isinstance(connection, GuardedConnection)
    connection.step_seconds = step_seconds
    connection.text_factory = bytes
    connection.set_progress_handler(connection.over_time, 1000)
    connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    try:
        connection.arm()
        for pragma in _PRAGMAS:
            connection.execute(f"PRAGMA {pragma}")
        list(rows(connection, "SELECT count(*) FROM sqlite_master"))
    except (sqlite3.Error, DatabaseError) as exc:
        connection.close()
        if isinstance(exc, DatabaseError):
            raise
        raise DatabaseError(f"damaged or encrypted SQLite database: {exc}") from exc
    return connection


def database_app(connection: sqlite3.Connection) -> str | None:
    """Whose database this is, by its tables and columns (one of :data:`APPS`), or None."""
    tables = {name.lower() for name in table_names(connection)}
    if {"zwamessage", "zwachatsession"} <= tables:
        return "whatsapp-ios"
    if {"message", "handle", "chat_message_join"} <= tables:
        return "sms-ios"
    if {"message", "chat", "jid"} <= tables and "chat_row_id" in columns(connection, "message"):
        return "whatsapp-android"
    if "messages" in tables and "key_remote_jid" in columns(connection, "messages"):
        return "whatsapp-android"
    if "sms" in tables and {"address", "body", "date"} <= columns(connection, "sms"):
        return "sms-android"
    if "wa_contacts" in tables:
        return "whatsapp-contacts"
    return None


def iter_database(
    app: str, connection: sqlite3.Connection, contacts: sqlite3.Connection | None = None
) -> ChatStream:
    """The messages of a database of ``app`` (see :func:`database_app`), streamed.

    Messages come by conversation, then time; each is located by its anchor
    (``message=<primary key>``; an Android MMS ``mms=<pdu id>``), has no line,
    and names its conversation, sender (``OWNER`` for what the device's owner
    sent; for WhatsApp, the name ``contacts``, a wa.db, gives a JID), UTC time
    and files (``AttachmentRef.name`` the path as the database stores it,
    ``included`` when it names a file). Raises DatabaseError, naming the
    tables found, for a schema it does not know; rows with unreadable values
    are read as far as they go and noted in the stream's ``notes``.
    """
    if app == "whatsapp-android":
        return whatsapp_db.android_messages(connection, contacts)
    if app == "whatsapp-ios":
        return whatsapp_db.ios_messages(connection, contacts)
    if app == "sms-android":
        return sms_db.android_messages(connection)
    if app == "sms-ios":
        return sms_db.ios_messages(connection)
    if app == "whatsapp-contacts":
        return ChatStream(app, _contacts_only)
    raise DatabaseError(f"not a database whose messages leakscan reads: {app!r}")


def _contacts_only(stream: ChatStream) -> Iterator[Message]:
    stream.layout = "android"
    stream.notes.append("WhatsApp contacts (wa.db): names for msgstore.db, no messages")
    return iter(())


def encrypted_backup(name: str, head: bytes) -> str | None:
    """Why a file cannot be examined if it is an encrypted WhatsApp backup (``.crypt12``,
    ``.crypt14``, ``.crypt15`` …), judged by its name; None otherwise (and for a file so
    named that is a plain SQLite database)."""
    match = _CRYPT.search(name)
    if match is None or head.startswith(SQLITE_MAGIC):
        return None
    kind = f"crypt{match.group(1)}"
    return f"WhatsApp encrypted backup ({kind}): needs the key from the phone"
