"""The phones' own text messages: Android's mmssms.db and iOS's sms.db.

* mmssms.db (Android's telephony provider, as ALEAPP reads it): ``sms`` rows
  (``address``, ``date`` in milliseconds since 1970 UTC, ``type`` 1 received,
  2 sent, 3 draft, 4 outbox, 5 failed, 6 queued; ``body``), grouped by
  ``thread_id``; an MMS is a ``pdu`` (``date`` in seconds, ``msg_box`` as
  ``type``) with its ``part``\\ s (``text`` for text/plain parts, the file in
  ``_data``, application/smil the layout) and its ``addr``\\ esses (type 137 =
  0x89 the sender). A thread's people are ``threads.recipient_ids``, ids of
  ``canonical_addresses``. SMS and MMS of a thread are merged in time order;
  an SMS is ``message=<sms._id>``, an MMS ``mms=<pdu._id>`` (their ids overlap).
* sms.db (iOS Messages, as iLEAPP reads it): ``message`` (``text``; when that is
  NULL, as on recent iOS, the text is in ``attributedBody``, an NSAttributedString
  in Apple's typedstream format; ``date`` in nanoseconds since 2001-01-01 UTC,
  seconds before iOS 11; ``is_from_me``; ``handle_id`` the other party's
  ``handle.id``, a number or e-mail address), in ``chat``\\ s through
  ``chat_message_join``, files in ``attachment`` (``filename`` as stored,
  ``~/Library/SMS/Attachments/…``) through ``message_attachment_join``.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .chat import AttachmentRef, ChatStream, Message
from .database_rows import (
    MAX_ATTACHMENTS,
    OWNER,
    TEXT_SQL,
    Tally,
    cocoa_seconds,
    column,
    columns,
    db_message,
    flag,
    grouped,
    integer,
    message_text,
    require,
    rows,
    text,
    time_or_note,
    unix_ms,
    unix_seconds,
)

__all__ = ["MAX_ATTRIBUTED_BYTES", "android_messages", "attributed_text", "ios_messages"]

#: An attributedBody larger than this is not decoded (noted).
MAX_ATTRIBUTED_BYTES = 16 << 20
# sms.type / pdu.msg_box values of what the owner wrote (sent, draft, outbox, failed, queued).
_OUTGOING = frozenset({2, 3, 4, 5, 6})
_INCOMING = 1
_FROM_ADDRESS = 0x89
# pdu.m_type of delivery and read reports: no message of their own.
_REPORTS = (0x86, 0x88)
_CACHE_THREADS = 50_000
# Messages' text for the place of an attachment (U+FFFC OBJECT REPLACEMENT CHARACTER).
_PLACEHOLDER = "\ufffc \t\r\n"


def android_messages(connection: sqlite3.Connection) -> ChatStream:
    """SMS and MMS of an Android mmssms.db, by thread then time."""
    require(connection, "SMS (mmssms.db)", {"sms": {"_id", "address", "date", "type", "body"}})
    connection.text_factory = bytes

    def start(stream: ChatStream) -> Iterator[Message]:
        stream.layout = "android"
        return _android(connection, Tally(stream))

    return ChatStream("sms-android", start)


def ios_messages(connection: sqlite3.Connection) -> ChatStream:
    """Messages (SMS, iMessage) of an iOS sms.db, by chat then time."""
    require(
        connection,
        "Messages (sms.db)",
        {
            "message": {"rowid", "text", "date", "is_from_me", "handle_id"},
            "handle": {"rowid", "id"},
            "chat_message_join": {"chat_id", "message_id"},
            "chat": {"rowid", "chat_identifier"},
        },
    )
    connection.text_factory = bytes

    def start(stream: ChatStream) -> Iterator[Message]:
        stream.layout = "ios"
        return _ios(connection, Tally(stream))

    return ChatStream("sms-ios", start)


@dataclass(order=True)
class _Row:
    """A message ready to be merged by (thread, time in ms, kind, id)."""

    key: tuple[Any, ...]
    message: Message = field(compare=False)


# Sort keys computed in SQL, so SQLite's order and the merge's agree whatever the columns hold.
def _int_key(expression: str, scale: int = 1) -> str:
    times = f" * {scale}" if scale != 1 else ""
    return (
        f"(CASE WHEN typeof({expression}) IN ('integer', 'real') "
        f"THEN CAST({expression} AS INTEGER){times} ELSE 0 END)"
    )


def _android(connection: sqlite3.Connection, tally: Tally) -> Iterator[Message]:
    threads = _Threads(connection)
    merged = heapq.merge(_sms(connection, threads, tally), _mms(connection, threads, tally))
    for row in merged:
        yield row.message


def _sms(connection: sqlite3.Connection, threads: _Threads, tally: Tally) -> Iterator[_Row]:
    sms = columns(connection, "sms")
    thread = _int_key("thread_id") if "thread_id" in sms else "0"
    when = _int_key("date")
    sql = f"""
        SELECT {thread}, {when}, _id, address, date, type, {TEXT_SQL.format("body")}
        FROM sms ORDER BY 1, 2, _id"""
    for thread_id, ms, pk, address, stamp, kind_, body in rows(connection, sql):
        anchor = f"message={text(pk)}"
        kind = integer(kind_)
        mine = True if kind in _OUTGOING else False if kind == _INCOMING else None
        other = text(address, tally, anchor)
        yield _Row(
            (thread_id, ms, 0, _sortable(pk)),
            db_message(
                anchor,
                conversation=threads.label(thread_id) or other,
                sender=OWNER if mine else other,
                sent_at=time_or_note(unix_ms(stamp), tally, anchor),
                text=message_text(body, tally, anchor),
                from_me=mine,
                via="SMS",
            ),
        )


def _mms(connection: sqlite3.Connection, threads: _Threads, tally: Tally) -> Iterator[_Row]:
    pdu = columns(connection, "pdu")
    if not {"_id", "date"} <= pdu:
        return
    part = columns(connection, "part")
    joins, where = [], ""
    if {"msg_id", "address", "type"} <= columns(connection, "addr"):
        joins.append(
            "LEFT JOIN (SELECT msg_id, MIN(address) AS address FROM addr "
            f"WHERE type = {_FROM_ADDRESS} GROUP BY msg_id) f ON f.msg_id = p._id"
        )
        sender = "f.address"
    else:
        sender = "NULL"
    if "mid" in part:
        joins.append("LEFT JOIN part t ON t.mid = p._id")
    else:
        part = set()
    if "m_type" in pdu:
        where = f"WHERE p.m_type IS NULL OR p.m_type NOT IN {_REPORTS}"
    thread = _int_key("p.thread_id") if "thread_id" in pdu else "0"
    sql = f"""
        SELECT {thread}, {_int_key("p.date", 1000)}, p._id, p.date, {column(pdu, "p", "msg_box")},
            {column(pdu, "p", "sub", TEXT_SQL)}, {sender}, {column(part, "t", "ct")},
            {column(part, "t", "_data")}, {column(part, "t", "text", TEXT_SQL)},
            {column(part, "t", "cl")}, {column(part, "t", "name")}, {column(part, "t", "fn")}
        FROM pdu p {" ".join(joins)} {where}
        ORDER BY 1, 2, p._id, {column(part, "t", "seq")}, {column(part, "t", "_id")}"""
    for group in grouped(rows(connection, sql), 3):
        thread_id, ms, pk, stamp, box, subject, address = group[0][:7]
        anchor = f"mms={text(pk)}"
        kind = integer(box)
        mine = True if kind in _OUTGOING else False if kind == _INCOMING else None
        other = text(address, tally, anchor)
        texts = [message_text(subject, tally, anchor)]
        attachments: list[AttachmentRef] = []
        for row in group:
            kind_of, path = (text(row[7]) or "").lower(), text(row[8], tally, anchor)
            words = message_text(row[9], tally, anchor) if row[9] is not None else None
            if kind_of == "application/smil" or (words or "").lstrip().startswith("<smil"):
                continue  # the slide layout, not what was said
            if words is not None and (kind_of.startswith("text/plain") or not kind_of):
                texts.append(words)
            elif path or kind_of:
                named = next((n for n in (text(v) for v in row[10:13]) if n), "")
                attachments.append(AttachmentRef(path or named, bool(path)))
        if len(group) > MAX_ATTACHMENTS:
            tally.add(f"had more than {MAX_ATTACHMENTS} parts (the rest left out)", anchor)
        yield _Row(
            (thread_id, ms, 1, _sortable(pk)),
            db_message(
                anchor,
                conversation=threads.label(thread_id) or other,
                sender=OWNER if mine else other,
                sent_at=time_or_note(unix_seconds(stamp), tally, anchor),
                text=message_text("\n".join(t for t in texts if t), tally, anchor),
                attachments=attachments[:MAX_ATTACHMENTS],
                from_me=mine,
                via="MMS",
            ),
        )


def _sortable(value: object) -> int:
    number = integer(value)
    return -1 if number is None else number


class _Threads:
    """The people of an Android thread, as its canonical addresses name them."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._usable = {"_id", "recipient_ids"} <= columns(connection, "threads") and {
            "_id",
            "address",
        } <= columns(connection, "canonical_addresses")
        self._labels: dict[object, str | None] = {}

    def label(self, thread_id: object) -> str | None:
        """The thread's addresses, comma-separated, or None if unknown."""
        if not self._usable or not isinstance(thread_id, int) or thread_id <= 0:
            return None
        if thread_id not in self._labels:
            if len(self._labels) >= _CACHE_THREADS:
                self._labels.clear()
            self._labels[thread_id] = self._find(thread_id)
        return self._labels[thread_id]

    def _find(self, thread_id: int) -> str | None:
        sql = "SELECT recipient_ids FROM threads WHERE _id = ?"
        found = next(rows(self._connection, sql, (thread_id,)), (None,))[0]
        ids = [integer(part) for part in (text(found) or "").split()[:64]]
        names = []
        for each in ids:
            sql = "SELECT address FROM canonical_addresses WHERE _id = ?"
            address = next(rows(self._connection, sql, (each,)), (None,))[0]
            if name := text(address):
                names.append(name)
        return ", ".join(names) or None


def _ios(connection: sqlite3.Connection, tally: Tally) -> Iterator[Message]:
    m = columns(connection, "message")
    chat = columns(connection, "chat")
    joins = [
        "LEFT JOIN chat_message_join j ON j.message_id = m.ROWID",
        "LEFT JOIN chat c ON c.ROWID = j.chat_id",
        "LEFT JOIN handle h ON h.ROWID = m.handle_id",
    ]
    attachment = columns(connection, "attachment")
    if {"message_id", "attachment_id"} <= columns(connection, "message_attachment_join") and (
        "rowid" in attachment
    ):
        joins += [
            "LEFT JOIN message_attachment_join aj ON aj.message_id = m.ROWID",
            "LEFT JOIN attachment a ON a.ROWID = aj.attachment_id",
        ]
    else:
        attachment = set()
    body = (
        "CASE WHEN (m.text IS NULL OR m.text = '') AND "
        f"length(m.attributedBody) <= {MAX_ATTRIBUTED_BYTES} THEN m.attributedBody END, "
        "length(m.attributedBody)"
        if "attributedbody" in m
        else "NULL, NULL"
    )
    sql = f"""
        SELECT j.chat_id, m.ROWID, m.date, m.is_from_me, {TEXT_SQL.format("m.text")}, {body},
            {column(m, "m", "service")}, {column(m, "m", "item_type")}, h.id,
            {column(chat, "c", "display_name")}, c.chat_identifier,
            {column(attachment, "a", "filename")}, {column(attachment, "a", "transfer_name")}
        FROM message m {" ".join(joins)}
        ORDER BY j.chat_id, m.date, m.ROWID, {column(attachment, "a", "ROWID")}"""
    for group in grouped(rows(connection, sql), 3):
        _, pk, stamp, from_me, words, blob, size, service, item, handle, title, ident = group[0][
            :12
        ]
        anchor = f"message={text(pk)}"
        system = integer(item) not in (None, 0)
        mine = None if system else flag(from_me)
        other = text(handle, tally, anchor)
        said = message_text(words, tally, anchor)
        if not said.strip():
            said = _attributed(blob, size, tally, anchor)
        if not said.strip(_PLACEHOLDER):
            said = ""  # only the marks where attachments sit: no text of its own
        attachments = []
        for row in group[:MAX_ATTACHMENTS]:
            stored, sent_as = text(row[12], tally, anchor), text(row[13], tally, anchor)
            if stored or sent_as:
                attachments.append(AttachmentRef(stored or sent_as or "", bool(stored)))
        if len(group) > MAX_ATTACHMENTS:
            tally.add(f"had more than {MAX_ATTACHMENTS} attachments (the rest left out)", anchor)
        yield db_message(
            anchor,
            conversation=text(title, tally, anchor) or text(ident, tally, anchor) or other,
            sender=None if system else OWNER if mine else other,
            sent_at=time_or_note(cocoa_seconds(stamp), tally, anchor),
            text=said,
            attachments=attachments,
            from_me=mine,
            system=system,
            via=text(service) or "Messages",
        )


def _attributed(blob: object, size: object, tally: Tally, anchor: str) -> str:
    """The text of a message kept only in its attributedBody ("" if none), damage noted."""
    if blob is None:
        if (integer(size) or 0) > MAX_ATTRIBUTED_BYTES:
            tally.add(f"had an attributedBody larger than {MAX_ATTRIBUTED_BYTES >> 20} MiB", anchor)
        return ""
    found = attributed_text(blob) if isinstance(blob, bytes) else None
    if found is None:
        tally.add("had an attributedBody that is no readable typedstream", anchor)
        return ""
    return message_text(found, tally, anchor)


def attributed_text(blob: bytes) -> str | None:
    """The string of an NSAttributedString archived in Apple's typedstream format
    (iOS Messages' ``attributedBody``), or None if the bytes are not one.

    >>> attributed_text(b"not a typedstream") is None
    True
    """
    import typedstream  # a pure-Python reader, needed only for iOS Messages

    try:
        root = typedstream.unarchive_from_data(blob)
    # A third-party parser meets hostile bytes here: whatever it raises, the blob is unreadable.
    except Exception:
        return None
    strings = typedstream.types.foundation.NSString
    if isinstance(root, strings):
        return _str(root.value)
    for item in getattr(root, "contents", None) or ():
        value = getattr(item, "value", None)
        if isinstance(value, strings):
            return _str(value.value)
    return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
