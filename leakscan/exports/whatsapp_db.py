"""WhatsApp's own databases: Android's msgstore.db (current and legacy schema), iOS's
ChatStorage.sqlite, and Android's wa.db for the names of contacts.

The schemas are those forensic tools read (ALEAPP, iLEAPP, IPED, WhatsApp Chat
Exporter); only the columns named here are read, and a column a version lacks
is read as NULL.

* msgstore.db, current (2022 on): ``message`` rows in ``chat``\\ s, parties in
  ``jid`` (``raw_string`` is the JID, ``923001234567@s.whatsapp.net``; newer
  databases name people by ``…@lid`` and map them to phone JIDs in ``jid_map``).
  ``message.timestamp`` is milliseconds since 1970 UTC; ``message_type`` 7 is a
  system notice; a file sent is ``message_media.file_path`` (relative to the
  WhatsApp folder: ``Media/WhatsApp Images/IMG-20240311-WA0007.jpg``), its
  caption ``message_media.media_caption`` or, as most versions keep it,
  ``message.text_data``.
* msgstore.db, legacy: one ``messages`` table keyed by ``key_remote_jid``, with
  ``data``, ``key_from_me``, ``timestamp`` (ms), ``status`` 6 for system notices,
  ``media_caption`` and ``media_name``; group subjects in ``chat_list`` (or, in
  the transition years, ``chat``/``jid``), file paths in ``message_media`` when
  that table exists.
* ChatStorage.sqlite (Core Data): ``ZWAMESSAGE`` in ``ZWACHATSESSION``\\ s,
  ``ZMESSAGEDATE`` in seconds since 2001-01-01 UTC, ``ZISFROMME``, ``ZTEXT``,
  ``ZMESSAGETYPE`` 6 a system notice, group senders in ``ZWAGROUPMEMBER``, files
  in ``ZWAMEDIAITEM`` (``ZMEDIALOCALPATH`` relative to the ``Message`` folder,
  caption ``ZTITLE``).
* wa.db: ``wa_contacts`` (``jid``, ``display_name`` as the owner saved it,
  ``wa_name`` as the contact calls themself).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

from .chat import AttachmentRef, ChatStream, Message
from .database_rows import (
    MAX_ATTACHMENTS,
    OWNER,
    TEXT_SQL,
    DatabaseError,
    Tally,
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
)
from .database_rows import cocoa_seconds as cocoa_time

__all__ = ["Contacts", "android_messages", "ios_messages"]

# message_type (current) / media_wa_type (legacy) of messages that carry a file.
_MEDIA_TYPES = frozenset({1, 2, 3, 9, 13, 20, 42, 43})
# Legacy call rows keep "audio"/"video" in media_caption: not a caption.
_CALL_TYPES = frozenset({8, 10})
_SYSTEM_TYPE = 7
_LEGACY_SYSTEM_STATUS = 6
_IOS_SYSTEM_TYPE = 6
_IOS_MEDIA_TYPES = frozenset({1, 2, 3, 8, 11, 15})
# Names looked up in wa.db are kept for reuse, up to this many.
_CACHE_NAMES = 50_000


class Contacts:
    """Display names of WhatsApp contacts by JID, looked up in wa.db as they are needed."""

    def __init__(self, connection: sqlite3.Connection | None, notes: list[str]) -> None:
        self._connection = connection
        self._notes = notes
        self._names: dict[str, str | None] = {}
        self._sql = ""
        if connection is None:
            return
        connection.text_factory = bytes
        try:
            available = columns(connection, "wa_contacts")
        except DatabaseError as exc:
            self._give_up(exc)
            return
        picks = [
            column(available, "c", name)
            for name in ("display_name", "wa_name", "given_name", "family_name")
        ]
        if "jid" not in available:
            notes.append("the contacts database has no wa_contacts table: senders named by JID")
            self._connection = None
            return
        self._sql = f"SELECT {', '.join(picks)} FROM wa_contacts c WHERE c.jid = ? LIMIT 1"

    def name(self, jid: str | None) -> str | None:
        """The contact's name (as the owner saved it, else as they call themself), or None."""
        if not jid or self._connection is None:
            return None
        if jid in self._names:
            return self._names[jid]
        found = None
        try:
            for row in rows(self._connection, self._sql, (jid,)):
                display, push, given, family = (text(value) for value in row)
                joined = " ".join(part for part in (given, family) if part)
                found = next((n.strip() for n in (display, push, joined) if n and n.strip()), None)
        except DatabaseError as exc:
            self._give_up(exc)
            return None
        if len(self._names) >= _CACHE_NAMES:
            self._names.clear()
        self._names[jid] = found
        return found

    def _give_up(self, exc: DatabaseError) -> None:
        """Names are an aid: a contacts database that cannot be read costs them, not the chat."""
        self._connection = None
        self._notes.append(f"contacts not read ({exc}): senders named by JID")

    def label(self, jid: str | None) -> str | None:
        """The contact's name, else the JID itself."""
        return self.name(jid) or jid


def android_messages(
    connection: sqlite3.Connection, contacts: sqlite3.Connection | None = None
) -> ChatStream:
    """Messages of an Android msgstore.db, current schema or legacy, by conversation then time."""
    current = {"_id", "chat_row_id", "from_me", "timestamp"} <= columns(connection, "message")
    legacy = {"key_remote_jid", "data"} <= columns(connection, "messages")
    if legacy and (not current or _empty(connection, "message")):
        require(connection, "WhatsApp (legacy msgstore.db)", _LEGACY_NEEDS)
        return _stream("whatsapp-android", "android-legacy", connection, contacts, _legacy)
    require(connection, "WhatsApp (msgstore.db)", _CURRENT_NEEDS)
    return _stream("whatsapp-android", "android", connection, contacts, _current)


def ios_messages(
    connection: sqlite3.Connection, contacts: sqlite3.Connection | None = None
) -> ChatStream:
    """Messages of an iOS ChatStorage.sqlite, by conversation then time."""
    require(connection, "WhatsApp (ChatStorage.sqlite)", _IOS_NEEDS)
    return _stream("whatsapp-ios", "ios", connection, contacts, _ios)


_CURRENT_NEEDS = {
    "message": {"_id", "chat_row_id", "from_me", "timestamp", "text_data"},
    "chat": {"_id", "jid_row_id"},
    "jid": {"_id", "raw_string"},
}
_LEGACY_NEEDS = {"messages": {"_id", "key_remote_jid", "key_from_me", "timestamp", "data"}}
_IOS_NEEDS = {
    "zwamessage": {"z_pk", "zchatsession", "zisfromme", "zmessagedate", "ztext"},
    "zwachatsession": {"z_pk", "zcontactjid"},
}


def _empty(connection: sqlite3.Connection, table: str) -> bool:
    return next(rows(connection, f"SELECT 1 FROM {table} LIMIT 1"), None) is None


_Read = Callable[[sqlite3.Connection, "Contacts", Tally], Iterator[Message]]


def _stream(
    app: str,
    layout: str,
    connection: sqlite3.Connection,
    contacts: sqlite3.Connection | None,
    read: _Read,
) -> ChatStream:
    connection.text_factory = bytes

    def start(stream: ChatStream) -> Iterator[Message]:
        stream.layout = layout
        return read(connection, Contacts(contacts, stream.notes), Tally(stream))

    return ChatStream(app, start)


def _media(
    path: object, name: object, pages: object, kind: int | None, tally: Tally, anchor: str
) -> list[AttachmentRef]:
    """The file a WhatsApp message sent: its path when the database names one."""
    stored = text(path, tally, anchor)
    count = integer(pages)
    pages_ = count if count is not None and 0 < count < 1 << 31 else None
    if stored:
        return [AttachmentRef(stored, True, pages_)]
    named = text(name, tally, anchor)
    if named or kind in _MEDIA_TYPES:
        return [AttachmentRef(named or "", False, pages_)]
    return []


def _current(connection: sqlite3.Connection, contacts: Contacts, tally: Tally) -> Iterator[Message]:
    m = columns(connection, "message")
    chat = columns(connection, "chat")
    media = columns(connection, "message_media")
    mapped = {"lid_row_id", "jid_row_id"} <= columns(connection, "jid_map")
    lid = "COALESCE({0}p.raw_string, {0}.raw_string)" if mapped else "{0}.raw_string"
    joins = [
        "LEFT JOIN chat c ON c._id = m.chat_row_id",
        "LEFT JOIN jid cj ON cj._id = c.jid_row_id",
        column(m, "m", "sender_jid_row_id", "LEFT JOIN jid sj ON sj._id = {}"),
    ]
    if mapped:
        joins += [
            "LEFT JOIN jid_map cm ON cm.lid_row_id = c.jid_row_id",
            "LEFT JOIN jid cjp ON cjp._id = cm.jid_row_id",
            column(m, "m", "sender_jid_row_id", "LEFT JOIN jid_map sm ON sm.lid_row_id = {}"),
            column(m, "m", "sender_jid_row_id", "LEFT JOIN jid sjp ON sjp._id = sm.jid_row_id"),
        ]
    if "message_row_id" in media:
        joins.append("LEFT JOIN message_media mm ON mm.message_row_id = m._id")
    sender = lid.format("sj") if "sender_jid_row_id" in m else "NULL"
    sql = f"""
        SELECT m._id, m.from_me, m.timestamp, {TEXT_SQL.format("m.text_data")},
            {column(m, "m", "message_type")}, {column(chat, "c", "subject")}, {lid.format("cj")},
            {sender}, {column(media, "mm", "file_path")}, {column(media, "mm", "media_caption")},
            {column(media, "mm", "media_name")}, {column(media, "mm", "page_count")}
        FROM message m {" ".join(j for j in joins if j != "NULL")}
        WHERE NOT (typeof(m.chat_row_id) = 'integer' AND m.chat_row_id < 0)
        ORDER BY m.chat_row_id, m.timestamp, m._id"""
    for row in _unique(rows(connection, sql)):
        pk, from_me, stamp, body, kind_, subject, chat_jid, sender_jid = row[:8]
        path, caption, name, pages = row[8:]
        anchor = f"message={text(pk)}"
        kind = integer(kind_)
        chat_jid_ = text(chat_jid, tally, anchor)
        conversation = text(subject, tally, anchor) or contacts.label(chat_jid_)
        system = kind == _SYSTEM_TYPE
        mine = None if system else flag(from_me)
        words = message_text(caption, tally, anchor)
        if not words.strip():
            words = message_text(body, tally, anchor)
        yield db_message(
            anchor,
            conversation=conversation,
            sender=_sender(system, mine, text(sender_jid, tally, anchor) or chat_jid_, contacts),
            sent_at=time_or_note(unix_ms(stamp), tally, anchor),
            text=words,
            attachments=_media(path, name, pages, kind, tally, anchor),
            from_me=mine,
            system=system,
            via="WhatsApp",
        )


def _sender(system: bool, mine: bool | None, jid: str | None, contacts: Contacts) -> str | None:
    if system:
        return None
    return OWNER if mine else contacts.label(jid)


def _legacy(connection: sqlite3.Connection, contacts: Contacts, tally: Tally) -> Iterator[Message]:
    ms = columns(connection, "messages")
    media = columns(connection, "message_media")
    joins = []
    subject = "NULL"
    if {"key_remote_jid", "subject"} <= columns(connection, "chat_list"):
        joins.append("LEFT JOIN chat_list cl ON cl.key_remote_jid = ms.key_remote_jid")
        subject = "cl.subject"
    elif {"jid_row_id", "subject"} <= columns(connection, "chat") and {
        "_id",
        "raw_string",
    } <= columns(connection, "jid"):
        joins += [
            "LEFT JOIN jid j ON j.raw_string = ms.key_remote_jid",
            "LEFT JOIN chat c ON c.jid_row_id = j._id",
        ]
        subject = "c.subject"
    if "message_row_id" in media:
        joins.append("LEFT JOIN message_media mm ON mm.message_row_id = ms._id")
    sql = f"""
        SELECT ms._id, ms.key_remote_jid, ms.key_from_me, ms.timestamp,
            {TEXT_SQL.format("ms.data")}, {column(ms, "ms", "status")},
            {column(ms, "ms", "media_wa_type")}, {column(ms, "ms", "media_caption", TEXT_SQL)},
            {column(ms, "ms", "media_name")}, {column(ms, "ms", "remote_resource")}, {subject},
            {column(media, "mm", "file_path")}, {column(media, "mm", "page_count")}
        FROM messages ms {" ".join(joins)}
        WHERE ms.key_remote_jid IS NOT '-1'
        ORDER BY ms.key_remote_jid, ms.timestamp, ms._id"""
    for row in _unique(rows(connection, sql)):
        pk, chat_jid, from_me, stamp, body, status, kind_, caption, name, member = row[:10]
        subject_, path, pages = row[10:]
        anchor = f"message={text(pk)}"
        kind = integer(kind_)
        chat_jid_ = text(chat_jid, tally, anchor)
        system = integer(status) == _LEGACY_SYSTEM_STATUS
        mine = None if system else flag(from_me)
        words = message_text(body, tally, anchor)
        if not words.strip() and kind not in _CALL_TYPES:
            words = message_text(caption, tally, anchor)
        yield db_message(
            anchor,
            conversation=text(subject_, tally, anchor) or contacts.label(chat_jid_),
            sender=_sender(system, mine, text(member, tally, anchor) or chat_jid_, contacts),
            sent_at=time_or_note(unix_ms(stamp), tally, anchor),
            text=words,
            attachments=_media(path, name, pages, kind, tally, anchor),
            from_me=mine,
            system=system,
            via="WhatsApp",
        )


def _ios(connection: sqlite3.Connection, contacts: Contacts, tally: Tally) -> Iterator[Message]:
    m = columns(connection, "zwamessage")
    session = columns(connection, "zwachatsession")
    member = columns(connection, "zwagroupmember")
    item = columns(connection, "zwamediaitem")
    joins = ["LEFT JOIN ZWACHATSESSION s ON s.Z_PK = m.ZCHATSESSION"]
    if "zgroupmember" in m and {"z_pk", "zmemberjid"} <= member:
        joins.append("LEFT JOIN ZWAGROUPMEMBER g ON g.Z_PK = m.ZGROUPMEMBER")
    else:
        member = set()
    if "zmessage" in item:
        joins.append("LEFT JOIN ZWAMEDIAITEM i ON i.ZMESSAGE = m.Z_PK")
    elif "zmediaitem" in m and "z_pk" in item:
        joins.append("LEFT JOIN ZWAMEDIAITEM i ON i.Z_PK = m.ZMEDIAITEM")
    else:
        item = set()
    sql = f"""
        SELECT m.Z_PK, m.ZISFROMME, m.ZMESSAGEDATE, {TEXT_SQL.format("m.ZTEXT")},
            {column(m, "m", "ZMESSAGETYPE")}, {column(m, "m", "ZFROMJID")},
            {column(m, "m", "ZPUSHNAME")}, s.ZCONTACTJID, {column(session, "s", "ZPARTNERNAME")},
            {column(member, "g", "ZMEMBERJID")}, {column(member, "g", "ZCONTACTNAME")},
            {column(member, "g", "ZFIRSTNAME")}, {column(item, "i", "ZMEDIALOCALPATH")},
            {column(item, "i", "ZTITLE", TEXT_SQL)}
        FROM ZWAMESSAGE m {" ".join(joins)}
        ORDER BY m.ZCHATSESSION, m.ZMESSAGEDATE, m.Z_PK"""
    for group in grouped(rows(connection, sql), 1):
        pk, from_me, stamp, body, kind_, from_jid, push, chat_jid, partner = group[0][:9]
        member_jid, member_name, first_name = group[0][9:12]
        anchor = f"message={text(pk)}"
        kind = integer(kind_)
        chat_jid_ = text(chat_jid, tally, anchor)
        partner_ = text(partner, tally, anchor)
        system = kind == _IOS_SYSTEM_TYPE
        mine = None if system else flag(from_me)
        known: tuple[str | None, ...]
        if chat_jid_ and chat_jid_.endswith("@g.us"):
            jid = text(member_jid, tally, anchor) or text(from_jid, tally, anchor)
            known = tuple(text(value, tally, anchor) for value in (member_name, first_name, push))
        else:
            jid = chat_jid_ or text(from_jid, tally, anchor)
            known = (partner_,)
        name = contacts.name(jid) or next((n for n in known if n), None) or jid
        words = message_text(body, tally, anchor)
        attachments: list[AttachmentRef] = []
        for row in group[:MAX_ATTACHMENTS]:
            path, title = text(row[12], tally, anchor), row[13]
            if not words.strip() and kind in _IOS_MEDIA_TYPES:
                words = message_text(title, tally, anchor)
            if path or kind in _IOS_MEDIA_TYPES:
                attachments.append(AttachmentRef(path or "", bool(path)))
        if len(group) > MAX_ATTACHMENTS:
            tally.add(f"had more than {MAX_ATTACHMENTS} files (the rest left out)", anchor)
        yield db_message(
            anchor,
            conversation=partner_ or contacts.label(chat_jid_),
            sender=None if system else OWNER if mine else name,
            sent_at=time_or_note(cocoa_time(stamp), tally, anchor),
            text=words,
            attachments=attachments,
            from_me=mine,
            system=system,
            via="WhatsApp",
        )


def _unique(found: Iterator[tuple[object, ...]]) -> Iterator[tuple[object, ...]]:
    """Rows with a primary key other than the row before's (a join may repeat one)."""
    last: object = object()
    for row in found:
        if row[0] != last:
            last = row[0]
            yield row
