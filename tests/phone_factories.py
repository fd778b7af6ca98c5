"""Phone databases as the apps write them, filled with fictional messages.

Every person, number and message here is invented for these tests. The
tables are the apps' own, with the real table and column names and types
(trimmed to the columns forensic tools read, as ALEAPP, iLEAPP, IPED and
WhatsApp Chat Exporter query them), and the apps' conventions: WhatsApp JIDs
(``923000000101@s.whatsapp.net``, groups ``…@g.us``), Android times in
milliseconds since 1970, Apple times since 2001-01-01 (Messages in
nanoseconds), the placeholder row msgstore.db starts with, Android MMS parts
(SMIL layout, text part, file in ``app_parts``), an iOS ``attributedBody`` in
Apple's typedstream format.

    >>> when = datetime(2024, 3, 11, 21, 13, 5, tzinfo=UTC)
    >>> android_ms(when), cocoa_seconds(when)
    (1710191585000, 731884385.0)
    >>> attributed_body("Hi")[:13]
    b'\\x04\\x0bstreamtyped'
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "AYESHA",
    "BILAL",
    "CONTACT_NAMES",
    "DOCUMENT_PATH",
    "ENGLISH",
    "GROUP",
    "GROUP_JID",
    "IMAGE_PATH",
    "MMS_PARTS",
    "OBJECT_REPLACEMENT",
    "SAMPLE",
    "URDU",
    "ZARA",
    "PhoneMessage",
    "android_ms",
    "attributed_body",
    "cocoa_seconds",
    "jid",
    "sample_messages",
    "write_chat_storage",
    "write_mmssms",
    "write_msgstore",
    "write_msgstore_legacy",
    "write_sms_db",
    "write_wa_db",
]

AYESHA = "+923000000101"
BILAL = "+923000000102"
ZARA = "+923000000103"
#: Names the owner saved for them (wa.db display_name).
CONTACT_NAMES = {AYESHA: "Ayesha Khan", BILAL: "Bilal Ahmed", ZARA: "زارا ملک"}
GROUP = "Budget Team"
GROUP_JID = "923000000101-1710000000@g.us"
ENGLISH = "The revised budget figures for the northern district are in the attached memo."
URDU = "کل صبح نو بجے میٹنگ ہے، براہ کرم نئی فائل ساتھ لائیں۔"
IMAGE_PATH = "Media/WhatsApp Images/IMG-20240311-WA0007.jpg"
DOCUMENT_PATH = "Media/WhatsApp Documents/district-budget-2024.pdf"

_UNIX = datetime(1970, 1, 1, tzinfo=UTC)
_COCOA = datetime(2001, 1, 1, tzinfo=UTC)


def android_ms(when: datetime) -> int:
    """Milliseconds since 1970 UTC, as Android stores times."""
    return round((when - _UNIX).total_seconds() * 1000)


def cocoa_seconds(when: datetime) -> float:
    """Seconds since 2001-01-01 UTC, as Core Data (ChatStorage.sqlite) stores times."""
    return (when - _COCOA).total_seconds()


def jid(number: str) -> str:
    """A person's WhatsApp JID from a phone number: ``923000000101@s.whatsapp.net``."""
    return number.lstrip("+") + "@s.whatsapp.net"


@dataclass(frozen=True)
class PhoneMessage:
    """One message to write.

    ``chat`` is the other party's number for a one-to-one chat, or :data:`GROUP`.
    ``sender`` is the number of who sent it, None for the device's owner.
    ``media`` is a file path as the database stores it; ``media_name`` the file's
    own name (documents); ``caption`` the text sent with the file.
    """

    chat: str
    when: datetime
    text: str | None = None
    sender: str | None = None
    media: str | None = None
    media_name: str | None = None
    caption: str | None = None
    pages: int | None = None
    system: bool = False

    @property
    def from_me(self) -> bool:
        return self.sender is None and not self.system

    @property
    def group(self) -> bool:
        return self.chat == GROUP


def sample_messages() -> list[PhoneMessage]:
    """A small conversation set: one-to-one and group, English and Urdu, a photo with a
    caption, a document, a system notice; deliberately not in time order."""
    t = datetime(2024, 3, 11, 21, 13, 5, tzinfo=UTC)

    def at(minutes: int) -> datetime:
        return t.replace(minute=13 + minutes)

    return [
        PhoneMessage(AYESHA, at(2), "Received, thank you.", sender=None),
        PhoneMessage(AYESHA, at(0), ENGLISH, sender=AYESHA),
        PhoneMessage(
            AYESHA, at(1), None, sender=AYESHA, media=IMAGE_PATH, caption="Page 2 of the memo"
        ),
        PhoneMessage(GROUP, at(3), None, system=True),
        PhoneMessage(GROUP, at(4), URDU, sender=BILAL),
        PhoneMessage(GROUP, at(5), "ٹھیک ہے", sender=ZARA),
        PhoneMessage(
            GROUP,
            at(6),
            None,
            sender=None,
            media=DOCUMENT_PATH,
            media_name="district-budget-2024.pdf",
            pages=12,
        ),
    ]


SAMPLE = sample_messages()


def _write(path: Path, schema: str) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    connection.executescript(schema)
    return connection


# ---------------------------------------------------------------------------
# WhatsApp for Android: msgstore.db (current schema) and wa.db
# ---------------------------------------------------------------------------

MSGSTORE_SCHEMA = """
CREATE TABLE jid (_id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, server TEXT NOT NULL,
  agent INTEGER, device INTEGER, type INTEGER, raw_string TEXT);
CREATE TABLE jid_map (lid_row_id INTEGER PRIMARY KEY NOT NULL, jid_row_id INTEGER NOT NULL,
  sort_id INTEGER);
CREATE TABLE chat (_id INTEGER PRIMARY KEY AUTOINCREMENT, jid_row_id INTEGER UNIQUE, hidden INTEGER,
  subject TEXT, created_timestamp INTEGER, display_message_row_id INTEGER,
  last_message_row_id INTEGER, last_read_message_row_id INTEGER, archived INTEGER,
  sort_timestamp INTEGER, group_type INTEGER NOT NULL DEFAULT 0);
CREATE TABLE message (_id INTEGER PRIMARY KEY AUTOINCREMENT, chat_row_id INTEGER NOT NULL,
  from_me INTEGER NOT NULL, key_id TEXT NOT NULL, sender_jid_row_id INTEGER, status INTEGER,
  broadcast INTEGER, recipient_count INTEGER, participant_hash TEXT, origination_flags INTEGER,
  origin INTEGER, timestamp INTEGER, received_timestamp INTEGER, receipt_server_timestamp INTEGER,
  message_type INTEGER, text_data TEXT, starred INTEGER, lookup_tables INTEGER,
  sort_id INTEGER NOT NULL DEFAULT 0, message_add_on_flags INTEGER, view_mode INTEGER,
  translated_text TEXT, view_replies_thread_id INTEGER);
CREATE TABLE message_media (message_row_id INTEGER PRIMARY KEY, chat_row_id INTEGER,
  autotransfer_retry_enabled INTEGER, multicast_id TEXT, media_job_uuid TEXT, transferred INTEGER,
  transcoded INTEGER, file_path TEXT, file_size INTEGER, suspicious_content INTEGER,
  trim_from INTEGER, trim_to INTEGER, face_x INTEGER, face_y INTEGER, media_key BLOB,
  media_key_timestamp INTEGER, width INTEGER, height INTEGER, has_streaming_sidecar INTEGER,
  gif_attribution INTEGER, thumbnail_height_width_ratio REAL, direct_path TEXT,
  first_scan_sidecar BLOB, first_scan_length INTEGER, message_url TEXT, mime_type TEXT,
  file_length INTEGER, media_name TEXT, file_hash TEXT, media_duration INTEGER,
  page_count INTEGER, enc_file_hash TEXT, partial_media_hash TEXT, partial_media_enc_hash TEXT,
  is_animated_sticker INTEGER, original_file_hash TEXT, mute_video INTEGER DEFAULT 0,
  media_caption TEXT);
CREATE TABLE message_system (message_row_id INTEGER PRIMARY KEY, action_type INTEGER NOT NULL);
CREATE TABLE props (_id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE, value TEXT);
CREATE INDEX message_chat_id_index ON message (chat_row_id,_id);
"""

# message_type of a message: text, image, document, system notice.
_TYPE_TEXT, _TYPE_IMAGE, _TYPE_DOCUMENT, _TYPE_SYSTEM = 0, 1, 9, 7


def _kind(message: PhoneMessage) -> int:
    if message.system:
        return _TYPE_SYSTEM
    if message.media is None and message.media_name is None:
        return _TYPE_TEXT
    return _TYPE_DOCUMENT if (message.media_name or "").endswith(".pdf") else _TYPE_IMAGE


def write_msgstore(
    path: Path,
    messages: Sequence[PhoneMessage] = SAMPLE,
    *,
    caption_column: bool = False,
    lid_senders: bool = False,
) -> list[int]:
    """An Android msgstore.db (current schema) holding the messages; returns their ``_id``\\ s.

    Captions go into ``message.text_data`` as WhatsApp writes them, or with
    ``caption_column`` into ``message_media.media_caption``. ``lid_senders``
    names group senders by ``…@lid`` JIDs mapped in ``jid_map``, as newer versions do.
    """
    db = _write(path, MSGSTORE_SCHEMA)
    jids: dict[str, int] = {}

    def jid_row(raw: str, kind: int) -> int:
        if raw not in jids:
            user, _, server = raw.partition("@")
            cursor = db.execute(
                "INSERT INTO jid (user, server, agent, device, type, raw_string) "
                "VALUES (?, ?, 0, 0, ?, ?)",
                (user, server, kind, raw),
            )
            jids[raw] = int(cursor.lastrowid or 0)
        return jids[raw]

    def sender_row(number: str) -> int:
        row = jid_row(jid(number), 0)
        if not lid_senders:
            return row
        lid = jid_row(number.lstrip("+")[-6:] + "770011@lid", 17)
        db.execute("INSERT OR IGNORE INTO jid_map VALUES (?, ?, 0)", (lid, row))
        return lid

    chats: dict[str, int] = {}
    # The placeholder row every msgstore.db starts with.
    db.execute(
        "INSERT INTO message (_id, chat_row_id, from_me, key_id, timestamp, message_type, status) "
        "VALUES (1, -1, 0, '-1', 0, -1, -1)"
    )
    ids = []
    for number, message in enumerate(messages):
        if message.chat not in chats:
            group = message.group
            chat_jid = jid_row(GROUP_JID if group else jid(message.chat), 1 if group else 0)
            cursor = db.execute(
                "INSERT INTO chat (jid_row_id, hidden, subject, created_timestamp, archived, "
                "sort_timestamp) VALUES (?, 0, ?, ?, 0, ?)",
                (chat_jid, GROUP if group else None, android_ms(message.when), 0),
            )
            chats[message.chat] = int(cursor.lastrowid or 0)
        sender = None
        if message.group and message.sender is not None:
            sender = sender_row(message.sender)
        text = message.text
        if message.caption is not None and not caption_column:
            text = message.caption
        cursor = db.execute(
            "INSERT INTO message (chat_row_id, from_me, key_id, sender_jid_row_id, status, "
            "broadcast, recipient_count, origination_flags, origin, timestamp, received_timestamp, "
            "message_type, text_data, starred, sort_id) VALUES (?, ?, ?, ?, ?, 0, ?, 0, 0, ?, ?, "
            "?, ?, 0, ?)",
            (
                chats[message.chat],
                int(message.from_me),
                f"3EB0{number:012X}",
                sender,
                6 if message.system else 13 if message.from_me else 0,
                2 if message.group else 0,
                android_ms(message.when),
                android_ms(message.when) + 900,
                _kind(message),
                text,
                number + 2,
            ),
        )
        row = int(cursor.lastrowid or 0)
        ids.append(row)
        if message.system:
            db.execute("INSERT INTO message_system VALUES (?, 12)", (row,))
        if message.media is not None or message.media_name is not None:
            db.execute(
                "INSERT INTO message_media (message_row_id, chat_row_id, transferred, file_path, "
                "file_size, mime_type, media_name, page_count, media_caption) "
                "VALUES (?, ?, ?, ?, 48213, ?, ?, ?, ?)",
                (
                    row,
                    chats[message.chat],
                    int(message.media is not None),
                    message.media,
                    "application/pdf" if _kind(message) == _TYPE_DOCUMENT else "image/jpeg",
                    message.media_name,
                    message.pages,
                    message.caption if caption_column else None,
                ),
            )
    db.commit()
    db.close()
    return ids


WA_DB_SCHEMA = """
CREATE TABLE wa_contacts (_id INTEGER PRIMARY KEY AUTOINCREMENT, jid TEXT NOT NULL,
  is_whatsapp_user BOOLEAN NOT NULL, status TEXT, status_timestamp INTEGER, number TEXT,
  raw_contact_id INTEGER, display_name TEXT, phone_type INTEGER, phone_label TEXT,
  unseen_msg_count INTEGER, photo_ts INTEGER, thumb_ts INTEGER, photo_id_timestamp INTEGER,
  given_name TEXT, family_name TEXT, wa_name TEXT, sort_name TEXT, nickname TEXT, company TEXT,
  title TEXT, status_autodownload_disabled INTEGER, keep_timestamp INTEGER,
  is_spam_reported INTEGER, is_sidelist_synced BOOLEAN DEFAULT 0,
  is_business_synced BOOLEAN DEFAULT 0);
CREATE INDEX jid_index ON wa_contacts(jid);
"""


def write_wa_db(path: Path, names: Mapping[str, str] = CONTACT_NAMES) -> None:
    """An Android wa.db naming the given numbers (display_name as the owner saved them)."""
    db = _write(path, WA_DB_SCHEMA)
    for number, name in names.items():
        given, _, family = name.partition(" ")
        db.execute(
            "INSERT INTO wa_contacts (jid, is_whatsapp_user, status, number, display_name, "
            "given_name, family_name, wa_name) VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
            (jid(number), "Available", number, name, given, family or None, given.lower()),
        )
    db.commit()
    db.close()


# ---------------------------------------------------------------------------
# WhatsApp for Android: legacy msgstore.db (messages, chat_list)
# ---------------------------------------------------------------------------

LEGACY_SCHEMA = """
CREATE TABLE messages (_id INTEGER PRIMARY KEY AUTOINCREMENT, key_remote_jid TEXT NOT NULL,
  key_from_me INTEGER, key_id TEXT NOT NULL, status INTEGER, needs_push INTEGER, data TEXT,
  timestamp INTEGER, media_url TEXT, media_mime_type TEXT, media_wa_type TEXT,
  media_size INTEGER, media_name TEXT, media_caption TEXT, media_hash TEXT,
  media_duration INTEGER, origin INTEGER, latitude REAL, longitude REAL, thumb_image TEXT,
  remote_resource TEXT, received_timestamp INTEGER, send_timestamp INTEGER,
  receipt_server_timestamp INTEGER, receipt_device_timestamp INTEGER,
  read_device_timestamp INTEGER, played_device_timestamp INTEGER, raw_data BLOB,
  recipient_count INTEGER, participant_hash TEXT, starred INTEGER, quoted_row_id INTEGER,
  mentioned_jids TEXT, multicast_id TEXT, edit_version INTEGER, media_enc_hash TEXT);
CREATE UNIQUE INDEX messages_key_index on messages (key_remote_jid, key_from_me, key_id);
CREATE TABLE chat_list (_id INTEGER PRIMARY KEY AUTOINCREMENT, key_remote_jid TEXT UNIQUE,
  message_table_id INTEGER, subject TEXT, creation INTEGER, last_read_message_table_id INTEGER,
  last_read_receipt_sent_message_table_id INTEGER, archived INTEGER, sort_timestamp INTEGER,
  mod_tag INTEGER, gen REAL, my_messages INTEGER, plaintext_disabled BOOLEAN,
  last_message_table_id INTEGER, unseen_message_count INTEGER,
  unseen_missed_calls_count INTEGER, unseen_row_count INTEGER, vcard_ui_dismissed INTEGER);
CREATE TABLE props (_id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE, value TEXT);
"""


def write_msgstore_legacy(path: Path, messages: Sequence[PhoneMessage] = SAMPLE) -> list[int]:
    """A legacy Android msgstore.db (``messages`` and ``chat_list``); returns the ``_id``\\ s.

    Files are named by ``media_name`` (the legacy schema keeps no local path in a column);
    captions are in ``media_caption``; system notices have ``status`` 6.
    """
    db = _write(path, LEGACY_SCHEMA)
    db.execute(
        "INSERT INTO messages (_id, key_remote_jid, key_from_me, key_id, status, needs_push, data, "
        "timestamp, media_wa_type, media_size) VALUES (1, '-1', 0, '-1', -1, 0, NULL, 0, NULL, -1)"
    )
    listed: set[str] = set()
    ids = []
    for number, message in enumerate(messages):
        chat = GROUP_JID if message.group else jid(message.chat)
        if chat not in listed:
            db.execute(
                "INSERT INTO chat_list (key_remote_jid, subject, creation, archived, "
                "sort_timestamp) VALUES (?, ?, ?, 0, 0)",
                (chat, GROUP if message.group else None, android_ms(message.when)),
            )
            listed.add(chat)
        member = jid(message.sender) if message.group and message.sender else None
        media = message.media is not None or message.media_name is not None
        cursor = db.execute(
            "INSERT INTO messages (key_remote_jid, key_from_me, key_id, status, needs_push, data, "
            "timestamp, media_wa_type, media_size, media_name, media_caption, remote_resource, "
            "received_timestamp, recipient_count) "
            "VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                chat,
                int(message.from_me),
                f"{number:016X}",
                6 if message.system else 13 if message.from_me else 0,
                message.text,
                android_ms(message.when),
                str(_kind(message)) if not message.system else "0",
                48213 if media else 0,
                (message.media_name or (message.media or "").rsplit("/", 1)[-1]) or None,
                message.caption,
                member,
                android_ms(message.when) + 900,
                2 if message.group else 0,
            ),
        )
        ids.append(int(cursor.lastrowid or 0))
    db.commit()
    db.close()
    return ids


# ---------------------------------------------------------------------------
# WhatsApp for iOS: ChatStorage.sqlite
# ---------------------------------------------------------------------------

CHAT_STORAGE_SCHEMA = """
CREATE TABLE ZWACHATSESSION ( Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZARCHIVED INTEGER, ZCONTACTABID INTEGER, ZFLAGS INTEGER, ZHIDDEN INTEGER,
  ZMESSAGECOUNTER INTEGER, ZREMOVED INTEGER, ZSESSIONTYPE INTEGER, ZSPOTLIGHTSTATUS INTEGER,
  ZUNREADCOUNT INTEGER, ZGROUPINFO INTEGER, ZLASTMESSAGE INTEGER, ZPROPERTIES INTEGER,
  ZLASTMESSAGEDATE TIMESTAMP, ZLOCATIONSHARINGENDDATE TIMESTAMP, ZCONTACTIDENTIFIER VARCHAR,
  ZCONTACTJID VARCHAR, ZETAG VARCHAR, ZLASTMESSAGETEXT VARCHAR, ZPARTNERNAME VARCHAR,
  ZSAVEDINPUT VARCHAR );
CREATE TABLE ZWAMESSAGE ( Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZCHILDMESSAGESDELIVEREDCOUNT INTEGER, ZCHILDMESSAGESPLAYEDCOUNT INTEGER,
  ZCHILDMESSAGESREADCOUNT INTEGER, ZDATAITEMVERSION INTEGER, ZDOCID INTEGER,
  ZENCRETRYCOUNT INTEGER, ZFILTEREDRECIPIENTCOUNT INTEGER, ZFLAGS INTEGER,
  ZGROUPEVENTTYPE INTEGER, ZISFROMME INTEGER, ZMESSAGEERRORSTATUS INTEGER,
  ZMESSAGESTATUS INTEGER, ZMESSAGETYPE INTEGER, ZSORT INTEGER, ZSPOTLIGHTSTATUS INTEGER,
  ZSTARRED INTEGER, ZCHATSESSION INTEGER, ZGROUPMEMBER INTEGER, ZLASTSESSION INTEGER,
  ZMEDIAITEM INTEGER, ZMESSAGEINFO INTEGER, ZPARENTMESSAGE INTEGER, ZMESSAGEDATE TIMESTAMP,
  ZSENTDATE TIMESTAMP, ZFROMJID VARCHAR, ZMEDIASECTIONID VARCHAR, ZPHASH VARCHAR,
  ZPUSHNAME VARCHAR, ZSTANZAID VARCHAR, ZTEXT VARCHAR, ZTOJID VARCHAR );
CREATE TABLE ZWAMEDIAITEM ( Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZCLOUDSTATUS INTEGER, ZFILESIZE INTEGER, ZMEDIAORIGIN INTEGER, ZMOVIEDURATION INTEGER,
  ZMESSAGE INTEGER, ZASPECTRATIO FLOAT, ZHACCURACY FLOAT, ZLATITUDE FLOAT, ZLONGITUDE FLOAT,
  ZMEDIAURLDATE TIMESTAMP, ZAUTHORNAME VARCHAR, ZCOLLECTIONNAME VARCHAR,
  ZMEDIALOCALPATH VARCHAR, ZMEDIAURL VARCHAR, ZTHUMBNAILLOCALPATH VARCHAR, ZTITLE VARCHAR,
  ZVCARDNAME VARCHAR, ZVCARDSTRING VARCHAR, ZXMPPTHUMBPATH VARCHAR, ZMEDIAKEY BLOB,
  ZMETADATA BLOB );
CREATE TABLE ZWAGROUPMEMBER ( Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZCONTACTABID INTEGER, ZISACTIVE INTEGER, ZISADMIN INTEGER, ZSENDERKEYSENT INTEGER,
  ZCHATSESSION INTEGER, ZRECENTGROUPCHAT INTEGER, ZCONTACTIDENTIFIER VARCHAR,
  ZCONTACTNAME VARCHAR, ZFIRSTNAME VARCHAR, ZMEMBERJID VARCHAR );
CREATE TABLE ZWAPROFILEPUSHNAME ( Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZJID VARCHAR, ZPUSHNAME VARCHAR );
CREATE TABLE Z_PRIMARYKEY (Z_ENT INTEGER PRIMARY KEY, Z_NAME VARCHAR, Z_SUPER INTEGER,
  Z_MAX INTEGER);
CREATE TABLE Z_METADATA (Z_VERSION INTEGER PRIMARY KEY, Z_UUID VARCHAR(255), Z_PLIST BLOB);
CREATE INDEX ZWAMESSAGE_ZCHATSESSION_INDEX ON ZWAMESSAGE (ZCHATSESSION);
CREATE INDEX ZWAMEDIAITEM_ZMESSAGE_INDEX ON ZWAMEDIAITEM (ZMESSAGE);
"""

# ZMESSAGETYPE: text, image, document, group event.
_IOS_TEXT, _IOS_IMAGE, _IOS_DOCUMENT, _IOS_SYSTEM = 0, 1, 8, 6


def write_chat_storage(
    path: Path,
    messages: Sequence[PhoneMessage] = SAMPLE,
    names: Mapping[str, str] = CONTACT_NAMES,
) -> list[int]:
    """An iOS ChatStorage.sqlite holding the messages; returns their ``Z_PK``\\ s.

    One-to-one sessions are named (``ZPARTNERNAME``) as the owner saved the
    person; group members by ``ZWAGROUPMEMBER.ZCONTACTNAME``. Files live under
    ``Media/<chat JID>/…`` (``ZMEDIALOCALPATH``) with the caption in ``ZTITLE``.
    """
    db = _write(path, CHAT_STORAGE_SCHEMA)
    sessions: dict[str, int] = {}
    members: dict[str, int] = {}
    ids = []
    for number, message in enumerate(messages, start=1):
        chat_jid = GROUP_JID if message.group else jid(message.chat)
        if message.chat not in sessions:
            sessions[message.chat] = len(sessions) + 1
            db.execute(
                "INSERT INTO ZWACHATSESSION (Z_PK, Z_ENT, Z_OPT, ZARCHIVED, ZSESSIONTYPE, "
                "ZCONTACTJID, ZPARTNERNAME, ZLASTMESSAGEDATE) VALUES (?, 6, 1, 0, ?, ?, ?, ?)",
                (
                    sessions[message.chat],
                    1 if message.group else 0,
                    chat_jid,
                    GROUP if message.group else names.get(message.chat, message.chat),
                    cocoa_seconds(message.when),
                ),
            )
        member = None
        if message.group and message.sender is not None:
            if message.sender not in members:
                members[message.sender] = len(members) + 1
                name = names.get(message.sender)
                db.execute(
                    "INSERT INTO ZWAGROUPMEMBER (Z_PK, Z_ENT, Z_OPT, ZISACTIVE, ZCHATSESSION, "
                    "ZCONTACTNAME, ZFIRSTNAME, ZMEMBERJID) VALUES (?, 8, 1, 1, ?, ?, ?, ?)",
                    (
                        members[message.sender],
                        sessions[message.chat],
                        name,
                        (name or "").split(" ")[0] or None,
                        jid(message.sender),
                    ),
                )
            member = members[message.sender]
        has_media = message.media is not None or message.media_name is not None
        kind = _IOS_SYSTEM if message.system else _IOS_TEXT
        if has_media:
            kind = _IOS_DOCUMENT if _kind(message) == _TYPE_DOCUMENT else _IOS_IMAGE
        sender_jid = None if message.from_me else jid(message.sender or message.chat)
        db.execute(
            "INSERT INTO ZWAMESSAGE (Z_PK, Z_ENT, Z_OPT, ZISFROMME, ZMESSAGESTATUS, ZMESSAGETYPE, "
            "ZSORT, ZCHATSESSION, ZGROUPMEMBER, ZMEDIAITEM, ZMESSAGEDATE, ZSENTDATE, ZFROMJID, "
            "ZSTANZAID, ZTEXT, ZTOJID) VALUES (?, 9, 1, ?, 8, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                number,
                int(message.from_me),
                kind,
                number,
                sessions[message.chat],
                member,
                number if has_media else None,
                cocoa_seconds(message.when),
                cocoa_seconds(message.when),
                sender_jid if not message.group else chat_jid,
                f"3A{number:018X}",
                message.text,
                chat_jid if message.from_me else None,
            ),
        )
        if has_media:
            local = None
            if message.media is not None:
                name = message.media.rsplit("/", 1)[-1]
                local = f"Media/{chat_jid}/4/2/4a2c9e7d-{number:04d}/{name}"
            db.execute(
                "INSERT INTO ZWAMEDIAITEM (Z_PK, Z_ENT, Z_OPT, ZFILESIZE, ZMESSAGE, "
                "ZMEDIALOCALPATH, ZTITLE) VALUES (?, 7, 1, 48213, ?, ?, ?)",
                (number, number, local, message.caption),
            )
        ids.append(number)
    db.commit()
    db.close()
    return ids


# ---------------------------------------------------------------------------
# Android SMS/MMS: mmssms.db
# ---------------------------------------------------------------------------

MMSSMS_SCHEMA = """
CREATE TABLE canonical_addresses (_id INTEGER PRIMARY KEY AUTOINCREMENT,address TEXT);
CREATE TABLE threads (_id INTEGER PRIMARY KEY AUTOINCREMENT,date INTEGER DEFAULT 0,
  message_count INTEGER DEFAULT 0,recipient_ids TEXT,snippet TEXT,snippet_cs INTEGER DEFAULT 0,
  read INTEGER DEFAULT 1,type INTEGER DEFAULT 0,error INTEGER DEFAULT 0,
  has_attachment INTEGER DEFAULT 0);
CREATE TABLE sms (_id INTEGER PRIMARY KEY,thread_id INTEGER,address TEXT,person INTEGER,
  date INTEGER,date_sent INTEGER DEFAULT 0,protocol INTEGER,read INTEGER DEFAULT 0,
  status INTEGER DEFAULT -1,type INTEGER,reply_path_present INTEGER,subject TEXT,body TEXT,
  service_center TEXT,locked INTEGER DEFAULT 0,error_code INTEGER DEFAULT 0,
  seen INTEGER DEFAULT 0);
CREATE TABLE pdu (_id INTEGER PRIMARY KEY,thread_id INTEGER,date INTEGER,
  date_sent INTEGER DEFAULT 0,msg_box INTEGER,read INTEGER DEFAULT 0,m_id TEXT,sub TEXT,
  sub_cs INTEGER,ct_t TEXT,ct_l TEXT,exp INTEGER,m_cls TEXT,m_type INTEGER,v INTEGER,
  m_size INTEGER,pri INTEGER,rr INTEGER,rpt_a INTEGER,resp_st INTEGER,st INTEGER,tr_id TEXT,
  retr_st INTEGER,retr_txt TEXT,retr_txt_cs INTEGER,read_status INTEGER,ct_cls INTEGER,
  resp_txt TEXT,d_tm INTEGER,d_rpt INTEGER,locked INTEGER DEFAULT 0,seen INTEGER DEFAULT 0);
CREATE TABLE addr (_id INTEGER PRIMARY KEY,msg_id INTEGER,contact_id INTEGER,address TEXT,
  type INTEGER,charset INTEGER);
CREATE TABLE part (_id INTEGER PRIMARY KEY,mid INTEGER,seq INTEGER DEFAULT 0,ct TEXT,
  name TEXT,chset INTEGER,cd TEXT,fn TEXT,cid TEXT,cl TEXT,ctt_s INTEGER,ctt_t TEXT,
  _data TEXT,text TEXT);
CREATE INDEX typeThreadIdIndex ON sms (type, thread_id);
"""

_SMIL = (
    '<smil><head><layout><root-layout/><region id="Image" fit="meet" top="0" left="0" '
    'height="80%" width="100%"/></layout></head><body><par dur="5000ms">'
    '<img src="{name}" region="Image"/></par></body></smil>'
)
MMS_PARTS = "/data/user_de/0/com.android.providers.telephony/app_parts"


def write_mmssms(path: Path, messages: Sequence[PhoneMessage] = SAMPLE) -> dict[str, list[int]]:
    """An Android mmssms.db: a message with a file becomes an MMS (SMIL, text and file
    parts, its file under ``app_parts``), any other an SMS. Group messages are left out
    (SMS threads here are one-to-one). Returns ``{"sms": ids, "mms": ids}``."""
    db = _write(path, MMSSMS_SCHEMA)
    threads: dict[str, int] = {}
    found: dict[str, list[int]] = {"sms": [], "mms": []}
    for message in messages:
        if message.group or message.system:
            continue
        if message.chat not in threads:
            address = db.execute(
                "INSERT INTO canonical_addresses (address) VALUES (?)", (message.chat,)
            ).lastrowid
            threads[message.chat] = int(
                db.execute(
                    "INSERT INTO threads (date, message_count, recipient_ids, snippet, read) "
                    "VALUES (?, 0, ?, '', 1)",
                    (android_ms(message.when), str(address)),
                ).lastrowid
                or 0
            )
        thread = threads[message.chat]
        if message.media is None:
            cursor = db.execute(
                "INSERT INTO sms (thread_id, address, date, date_sent, protocol, read, type, "
                "body, seen) VALUES (?, ?, ?, ?, 0, 1, ?, ?, 1)",
                (
                    thread,
                    message.chat,
                    android_ms(message.when),
                    android_ms(message.when) - 2000,
                    2 if message.from_me else 1,
                    message.text,
                ),
            )
            found["sms"].append(int(cursor.lastrowid or 0))
            continue
        seconds = android_ms(message.when) // 1000
        cursor = db.execute(
            "INSERT INTO pdu (thread_id, date, date_sent, msg_box, read, m_id, sub, ct_t, m_type, "
            "v, tr_id, seen) VALUES (?, ?, ?, ?, 1, ?, NULL, 'application/vnd.wap.multipart."
            "related', ?, 18, ?, 1)",
            (
                thread,
                seconds,
                seconds - 2,
                2 if message.from_me else 1,
                f"mid{seconds}",
                128 if message.from_me else 132,
                f"T{seconds:x}",
            ),
        )
        pdu = int(cursor.lastrowid or 0)
        found["mms"].append(pdu)
        name = message.media.rsplit("/", 1)[-1]
        stored = f"{MMS_PARTS}/PART_{android_ms(message.when)}_{name}"
        db.execute(
            "INSERT INTO part (mid, seq, ct, cid, cl, text) VALUES (?, -1, 'application/smil', "
            "'<smil>', 'smil.xml', ?)",
            (pdu, _SMIL.format(name=name)),
        )
        db.execute(
            "INSERT INTO part (mid, seq, ct, name, cid, cl, _data) VALUES (?, 0, 'image/jpeg', ?, "
            "?, ?, ?)",
            (pdu, name, f"<{name}>", name, stored),
        )
        if message.caption is not None:
            db.execute(
                "INSERT INTO part (mid, seq, ct, chset, cid, cl, text) VALUES (?, 0, "
                "'text/plain', 106, '<text_0>', 'text_0.txt', ?)",
                (pdu, message.caption),
            )
        sender, receiver = ("insert-address-token", message.chat)
        if not message.from_me:
            sender, receiver = message.chat, "+923000000100"
        db.execute(
            "INSERT INTO addr (msg_id, address, type, charset) VALUES (?, ?, 137, 106)",
            (pdu, sender),
        )
        db.execute(
            "INSERT INTO addr (msg_id, address, type, charset) VALUES (?, ?, 151, 106)",
            (pdu, receiver),
        )
    db.commit()
    db.close()
    return found


# ---------------------------------------------------------------------------
# iOS Messages: sms.db
# ---------------------------------------------------------------------------

SMS_DB_SCHEMA = """
CREATE TABLE _SqliteDatabaseProperties (key TEXT, value TEXT, UNIQUE(key));
CREATE TABLE handle (ROWID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, id TEXT NOT NULL,
  country TEXT, service TEXT NOT NULL, uncanonicalized_id TEXT, UNIQUE (id, service));
CREATE TABLE message (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL,
  text TEXT, replace INTEGER DEFAULT 0, service_center TEXT, handle_id INTEGER DEFAULT 0,
  subject TEXT, country TEXT, attributedBody BLOB, version INTEGER DEFAULT 0,
  type INTEGER DEFAULT 0, service TEXT, account TEXT, account_guid TEXT,
  error INTEGER DEFAULT 0, date INTEGER, date_read INTEGER, date_delivered INTEGER,
  is_delivered INTEGER DEFAULT 0, is_finished INTEGER DEFAULT 0, is_emote INTEGER DEFAULT 0,
  is_from_me INTEGER DEFAULT 0, is_empty INTEGER DEFAULT 0, is_delayed INTEGER DEFAULT 0,
  is_auto_reply INTEGER DEFAULT 0, is_prepared INTEGER DEFAULT 0, is_read INTEGER DEFAULT 0,
  is_system_message INTEGER DEFAULT 0, is_sent INTEGER DEFAULT 0,
  has_dd_results INTEGER DEFAULT 0, is_service_message INTEGER DEFAULT 0,
  is_forward INTEGER DEFAULT 0, was_downgraded INTEGER DEFAULT 0, is_archive INTEGER DEFAULT 0,
  cache_has_attachments INTEGER DEFAULT 0, cache_roomnames TEXT,
  was_data_detected INTEGER DEFAULT 0, was_deduplicated INTEGER DEFAULT 0,
  is_audio_message INTEGER DEFAULT 0, is_played INTEGER DEFAULT 0, date_played INTEGER,
  item_type INTEGER DEFAULT 0, other_handle INTEGER DEFAULT 0, group_title TEXT,
  group_action_type INTEGER DEFAULT 0, share_status INTEGER DEFAULT 0,
  share_direction INTEGER DEFAULT 0, is_expirable INTEGER DEFAULT 0,
  expire_state INTEGER DEFAULT 0, message_action_type INTEGER DEFAULT 0,
  message_source INTEGER DEFAULT 0, associated_message_guid STRING DEFAULT NULL,
  balloon_bundle_id STRING DEFAULT NULL, payload_data BLOB,
  associated_message_type INTEGER DEFAULT 0, expressive_send_style_id STRING DEFAULT NULL,
  associated_message_range_location INTEGER DEFAULT 0,
  associated_message_range_length INTEGER DEFAULT 0,
  time_expressive_send_played INTEGER DEFAULT 0, message_summary_info BLOB DEFAULT NULL);
CREATE TABLE chat (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL,
  style INTEGER, state INTEGER, account_id TEXT, properties BLOB, chat_identifier TEXT,
  service_name TEXT, room_name TEXT, account_login TEXT, is_archived INTEGER DEFAULT 0,
  last_addressed_handle TEXT, display_name TEXT, group_id TEXT, is_filtered INTEGER,
  successful_query INTEGER);
CREATE TABLE attachment (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL,
  created_date INTEGER DEFAULT 0, start_date INTEGER DEFAULT 0, filename TEXT, uti TEXT,
  mime_type TEXT, transfer_state INTEGER DEFAULT 0, is_outgoing INTEGER DEFAULT 0,
  user_info BLOB, transfer_name TEXT, total_bytes INTEGER DEFAULT 0,
  is_sticker INTEGER DEFAULT 0, sticker_user_info BLOB, attribution_info BLOB,
  hide_attachment INTEGER DEFAULT 0);
CREATE TABLE chat_handle_join (chat_id INTEGER REFERENCES chat (ROWID) ON DELETE CASCADE,
  handle_id INTEGER REFERENCES handle (ROWID) ON DELETE CASCADE, UNIQUE(chat_id, handle_id));
CREATE TABLE chat_message_join (chat_id INTEGER REFERENCES chat (ROWID) ON DELETE CASCADE,
  message_id INTEGER REFERENCES message (ROWID) ON DELETE CASCADE,
  PRIMARY KEY (chat_id, message_id));
CREATE TABLE message_attachment_join (message_id INTEGER REFERENCES message (ROWID)
  ON DELETE CASCADE, attachment_id INTEGER REFERENCES attachment (ROWID) ON DELETE CASCADE,
  UNIQUE(message_id, attachment_id));
"""

#: iOS's object replacement character: Messages' text for an attachment's place.
OBJECT_REPLACEMENT = "\ufffc"


def write_sms_db(
    path: Path,
    messages: Sequence[PhoneMessage] = SAMPLE,
    *,
    attributed: bool = False,
    nanoseconds: bool = True,
    service: str = "iMessage",
) -> list[int]:
    """An iOS sms.db holding the messages; returns their ``ROWID``\\ s.

    ``attributed`` keeps each text only in ``attributedBody`` (``text`` NULL), as
    recent iOS versions do; ``nanoseconds`` False stores dates in seconds, as
    iOS 10 and earlier did. Files are ``~/Library/SMS/Attachments/…``. The
    group is a chat with a display name; system notices are ``item_type`` 2.
    """
    db = _write(path, SMS_DB_SCHEMA)
    handles: dict[str, int] = {}
    chats: dict[str, int] = {}
    ids = []
    for number, message in enumerate(messages, start=1):
        for person in filter(None, (message.sender, None if message.group else message.chat)):
            if person not in handles:
                handles[person] = int(
                    db.execute(
                        "INSERT INTO handle (id, country, service, uncanonicalized_id) "
                        "VALUES (?, 'pk', ?, ?)",
                        (person, service, person),
                    ).lastrowid
                    or 0
                )
        if message.chat not in chats:
            ident = f"chat{number:015d}" if message.group else message.chat
            chats[message.chat] = int(
                db.execute(
                    "INSERT INTO chat (guid, style, state, chat_identifier, service_name, "
                    "display_name) VALUES (?, ?, 3, ?, ?, ?)",
                    (
                        f"{service};{'+' if message.group else '-'};{ident}",
                        43 if message.group else 45,
                        ident,
                        service,
                        GROUP if message.group else "",
                    ),
                ).lastrowid
                or 0
            )
        words = message.text if message.text is not None else message.caption
        if message.media is not None and words is None:
            words = OBJECT_REPLACEMENT
        seconds = cocoa_seconds(message.when)
        handle = handles.get(message.sender or ("" if message.group else message.chat), 0)
        cursor = db.execute(
            "INSERT INTO message (guid, text, handle_id, attributedBody, service, account, date, "
            "date_read, is_delivered, is_finished, is_from_me, is_read, is_sent, item_type, "
            "group_action_type, cache_has_attachments) "
            "VALUES (?, ?, ?, ?, ?, 'e:', ?, 0, 1, 1, ?, 1, ?, ?, 0, ?)",
            (
                f"6F1C2E4A-{number:04d}-4B7D-9C1E-2A3B4C5D6E7F",
                None if attributed else words,
                handle,
                attributed_body(words) if attributed and words is not None else None,
                service,
                int(seconds * 1_000_000_000) if nanoseconds else int(seconds),
                int(message.from_me),
                int(message.from_me),
                2 if message.system else 0,
                int(message.media is not None),
            ),
        )
        row = int(cursor.lastrowid or 0)
        ids.append(row)
        db.execute("INSERT INTO chat_message_join VALUES (?, ?)", (chats[message.chat], row))
        if message.media is not None:
            name = message.media.rsplit("/", 1)[-1]
            attachment = db.execute(
                "INSERT INTO attachment (guid, created_date, filename, uti, mime_type, "
                "transfer_state, is_outgoing, transfer_name, total_bytes) "
                "VALUES (?, ?, ?, 'public.jpeg', 'image/jpeg', 5, ?, ?, 48213)",
                (
                    f"at_0_{number:04d}",
                    int(seconds),
                    f"~/Library/SMS/Attachments/4a/10/at_0_{number:04d}/{name}",
                    int(message.from_me),
                    name,
                ),
            ).lastrowid
            db.execute("INSERT INTO message_attachment_join VALUES (?, ?)", (row, attachment))
    db.commit()
    db.close()
    return ids


def _ts_int(value: int) -> bytes:
    """A typedstream integer: one byte when it fits outside the tag range, else a tag and
    two or four little-endian bytes."""
    if -110 <= value <= 127:
        return (value & 0xFF).to_bytes(1, "little")
    if -(1 << 15) <= value < 1 << 15:
        return b"\x81" + value.to_bytes(2, "little", signed=True)
    return b"\x82" + value.to_bytes(4, "little", signed=True)


def attributed_body(text: str) -> bytes:
    """``text`` as an NSAttributedString archived the way Messages archives one in
    ``message.attributedBody``: a typedstream holding the NSString (UTF-8 bytes) and one
    attribute run over all of it, ``__kIMMessagePartAttributeName`` = 0."""
    raw = text.encode("utf-8")
    units = len(text.encode("utf-16-le")) // 2  # NSString lengths count UTF-16 units
    return (
        b"\x04\x0bstreamtyped\x81\xe8\x03"
        b"\x84\x01@\x84\x84\x84\x12NSAttributedString\x00\x84\x84\x08NSObject\x00\x85"
        b"\x92\x84\x84\x84\x08NSString\x01\x94\x84\x01+" + _ts_int(len(raw)) + raw + b"\x86"
        b"\x84\x02iI\x01" + _ts_int(units) + b"\x92\x84\x84\x84\x0cNSDictionary\x00\x94"
        b"\x84\x01i\x01\x92\x84\x96\x96\x1d__kIMMessagePartAttributeName\x86"
        b"\x92\x84\x84\x84\x08NSNumber\x00\x84\x84\x07NSValue\x00\x94\x84\x01*\x84\x99\x99\x00"
        b"\x86\x86\x86"
    )
