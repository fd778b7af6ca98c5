"""What the readers of phone databases share: bounded queries, forgiving values, UTC times.

A phone's databases are evidence and may be hostile: any column may hold
NULL, a number where text belongs, bytes that are not UTF-8, a timestamp a
million years out, or a text of hundreds of megabytes. Nothing here raises on
such a value: it becomes None or "", and a :class:`Tally` notes it once, with
how many rows had it. Only damage SQLite itself cannot read past (a malformed
page, a step that runs out of time) stops a reading, as :class:`DatabaseError`.

Connections read with ``text_factory = bytes`` (a TEXT value that is not UTF-8
would otherwise fail the whole query), so every text goes through :func:`text`.

    >>> unix_ms(1710191585000)
    '2024-03-11T21:13:05Z'
    >>> cocoa_seconds(731884385.5)
    '2024-03-11T21:13:05Z'
    >>> cocoa_seconds(731884385_000_000_000)  # nanoseconds, as iOS 11 and later store them
    '2024-03-11T21:13:05Z'
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from .chat import MAX_MESSAGE_CHARS, AttachmentRef, ChatFormatError, ChatStream, Message

__all__ = [
    "MAX_ATTACHMENTS",
    "MAX_VALUE_BYTES",
    "OWNER",
    "TEXT_SQL",
    "DatabaseError",
    "GuardedConnection",
    "Tally",
    "cocoa_seconds",
    "column",
    "columns",
    "db_message",
    "flag",
    "grouped",
    "integer",
    "message_text",
    "require",
    "rows",
    "table_names",
    "text",
    "time_or_note",
    "unix_ms",
    "unix_seconds",
]

#: The sender of a message the device's owner sent (the databases do not name the owner).
OWNER = "(device owner)"
#: Attachments kept for one message; more are noted and left out.
MAX_ATTACHMENTS = 256
#: SQLite refuses to load a single value larger than this (the whole reading then stops).
MAX_VALUE_BYTES = 128 << 20
#: Rows fetched from SQLite at a time.
BATCH_ROWS = 256

_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COCOA_EPOCH = datetime(2001, 1, 1, tzinfo=UTC)
# Above this a Cocoa timestamp is in nanoseconds (iOS 11+), below it in seconds: seconds
# since 2001 stay under 10**10 for three centuries, nanoseconds pass 10**10 after 10 s.
_COCOA_NANOSECONDS = 10**11


class DatabaseError(ChatFormatError):
    """A phone database leakscan cannot read: not SQLite, encrypted, damaged, or a schema
    it does not know. A ChatFormatError, so a scan keeps the messages read before the damage."""


class GuardedConnection(sqlite3.Connection):
    """A connection whose SQLite work between two calls of :meth:`arm` is bounded in time.

    A progress handler interrupts any statement still running ``step_seconds``
    after the last ``arm()``; :func:`rows` arms before each fetch, so the time a
    consumer spends on the rows it got is not counted, only SQLite's own.
    """

    step_seconds: float = 60.0
    _deadline: float = math.inf

    def arm(self) -> None:
        """Start the clock for the next step."""
        self._deadline = time.monotonic() + self.step_seconds

    def over_time(self) -> int:
        """The progress handler: non-zero interrupts the running statement."""
        return 1 if time.monotonic() > self._deadline else 0


def table_names(connection: sqlite3.Connection) -> list[str]:
    """The database's tables (not views, not SQLite's own), sorted."""
    found = rows(connection, "SELECT name FROM sqlite_master WHERE type = 'table'")
    names = {name for (value,) in found if (name := text(value)) and not name.startswith("sqlite_")}
    return sorted(names)


def columns(connection: sqlite3.Connection, table: str) -> set[str]:
    """The column names of a table (lower case), empty if there is no such table.

    A view of that name is no table: read, it could compute forever."""
    real = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE"
    if next(rows(connection, real, (table,)), None) is None:
        return set()
    quoted = table.replace('"', '""')
    return {
        (text(row[1]) or "").lower()
        for row in rows(connection, f'PRAGMA table_info("{quoted}")')
        if len(row) > 1
    }


def require(connection: sqlite3.Connection, what: str, needed: dict[str, set[str]]) -> None:
    """Raise DatabaseError naming the tables found unless every needed table has its columns."""
    missing = [
        f"{table}.{name}"
        for table, names in needed.items()
        for name in sorted(names - columns(connection, table))
    ]
    if missing:
        found = table_names(connection)
        listed = ", ".join(found[:40]) + (f" and {len(found) - 40} more" if len(found) > 40 else "")
        raise DatabaseError(
            f"not a {what} database of a schema leakscan reads (lacks {', '.join(missing[:6])}; "
            f"tables: {listed or 'none'})"
        )


def column(available: set[str], alias: str, name: str, template: str = "{}") -> str:
    """``alias.name`` in SQL (put into ``template``) when the table has that column, else NULL."""
    return template.format(f"{alias}.{name}") if name.lower() in available else "NULL"


#: How much of a text column a query fetches: one character more than a message keeps.
TEXT_SQL = f"substr({{}}, 1, {MAX_MESSAGE_CHARS + 1})"


def rows(
    connection: sqlite3.Connection, sql: str, parameters: Sequence[Any] = ()
) -> Iterator[tuple[Any, ...]]:
    """The rows of a query, fetched a batch at a time, each fetch bounded in time.

    SQLite's errors become DatabaseError with one line saying what went wrong.
    """
    arm = getattr(connection, "arm", None)
    try:
        if arm is not None:
            arm()
        cursor = connection.execute(sql, parameters)
        while True:
            if arm is not None:
                arm()
            batch = cursor.fetchmany(BATCH_ROWS)
            if not batch:
                return
            yield from batch
    except sqlite3.Error as exc:
        raise DatabaseError(_reason(connection, exc)) from exc


def _reason(connection: sqlite3.Connection, exc: sqlite3.Error) -> str:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "interrupted" in message:
        seconds = getattr(connection, "step_seconds", 0.0)
        return f"reading the database took longer than {seconds:g} s at one step: given up"
    if "too big" in message:
        return f"the database holds a value larger than {MAX_VALUE_BYTES >> 20} MiB: given up"
    if "not a database" in message or "malformed" in message or "corrupt" in message:
        return f"damaged or encrypted SQLite database: {message}"
    return f"SQLite cannot read the database: {message}"


class Tally:
    """Notes about a stream's rows, one per kind, counted: "3 messages …, the first message=7"."""

    def __init__(self, stream: ChatStream) -> None:
        self._notes = stream.notes
        # what -> (note index, messages counted, the first one's anchor, the last one's)
        self._seen: dict[str, tuple[int, int, str, str]] = {}

    def add(self, what: str, anchor: str) -> None:
        """The message at ``anchor`` had ``what`` (a phrase such as "no readable time");
        a message is counted once per phrase however often it has it."""
        index, count, first, last = self._seen.get(what, (len(self._notes), 0, anchor, ""))
        if count and anchor == last:
            return
        if count == 0:
            self._notes.append("")
        self._seen[what] = (index, count + 1, first, anchor)
        self._notes[index] = self._line(what, count + 1, first)

    @staticmethod
    def _line(what: str, count: int, first: str) -> str:
        if count == 1:
            return f"1 message {what} (at {first})"
        return f"{count:,} messages {what} (the first at {first})"


def text(value: object, tally: Tally | None = None, anchor: str = "") -> str | None:
    """A column's value as text: bytes decoded as UTF-8 (damage replaced, noted), numbers
    written out, None kept."""
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            if tally is not None:
                tally.add("had bytes that are not UTF-8 (replaced by U+FFFD)", anchor)
            return value.decode("utf-8", "replace")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def message_text(value: object, tally: Tally, anchor: str) -> str:
    """A message's text, cut after MAX_MESSAGE_CHARS characters (noted)."""
    found = text(value, tally, anchor) or ""
    if len(found) > MAX_MESSAGE_CHARS:
        tally.add(f"had a text longer than {MAX_MESSAGE_CHARS:,} characters (cut)", anchor)
        return found[:MAX_MESSAGE_CHARS]
    return found


def integer(value: object) -> int | None:
    """A column's value as an integer, None when it is not one (text digits are accepted)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, bytes | str):
        raw = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        raw = raw.strip()
        if 0 < len(raw) <= 40 and raw.isascii():
            try:
                return int(raw)
            except ValueError:
                return None
    return None


def flag(value: object) -> bool | None:
    """A 0/1 column as a bool, None when it holds anything else."""
    number = integer(value)
    return None if number not in (0, 1) else bool(number)


def _iso(epoch: datetime, seconds: float) -> str | None:
    try:
        moment = epoch + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        return None
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif (whole := integer(value)) is not None:
        number = float(whole)
    else:
        return None
    return number if math.isfinite(number) and number != 0 else None


def unix_ms(value: object) -> str | None:
    """Milliseconds since 1970 (Android) as UTC ``…Z``; None for 0, NULL or nonsense."""
    number = _number(value)
    return None if number is None else _iso(_UNIX_EPOCH, number / 1000)


def unix_seconds(value: object) -> str | None:
    """Seconds since 1970 (Android MMS) as UTC ``…Z``; None for 0, NULL or nonsense."""
    number = _number(value)
    return None if number is None else _iso(_UNIX_EPOCH, number)


def cocoa_seconds(value: object) -> str | None:
    """Seconds (or, from iOS 11 on, nanoseconds) since 2001-01-01 UTC as UTC ``…Z``."""
    number = _number(value)
    if number is None:
        return None
    if abs(number) >= _COCOA_NANOSECONDS:
        number /= 1e9
    return _iso(_COCOA_EPOCH, number)


def time_or_note(value: str | None, tally: Tally, anchor: str) -> str:
    """A converted time, or "" noted when the row has none that can be read."""
    if value is None:
        tally.add("had no readable time", anchor)
        return ""
    return value


def grouped(found: Iterator[tuple[Any, ...]], width: int) -> Iterator[list[tuple[Any, ...]]]:
    """Consecutive rows whose first ``width`` values agree, together: one message with a row
    per file it sent. A group keeps at most MAX_ATTACHMENTS + 1 rows (so more can be told)."""
    group: list[tuple[Any, ...]] = []
    for row in found:
        if group and row[:width] != group[0][:width]:
            yield group
            group = []
        if len(group) <= MAX_ATTACHMENTS:
            group.append(row)
    if group:
        yield group


def db_message(
    anchor: str,
    *,
    conversation: str | None,
    sender: str | None,
    sent_at: str,
    text: str,
    attachments: Sequence[AttachmentRef] = (),
    from_me: bool | None = None,
    system: bool = False,
    via: str | None = None,
) -> Message:
    """A message read from a database row: no line, located by ``anchor`` (``message=17``)."""
    return Message(
        line=0,
        end_line=0,
        sender=sender,
        sent_at=sent_at,
        text=text,
        text_start=-1,
        attachments=tuple(attachments),
        system=system,
        anchor=anchor,
        conversation=conversation,
        from_me=from_me,
        via=via,
    )
