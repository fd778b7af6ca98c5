"""Phone databases read as chat streams: WhatsApp (Android current and legacy, iOS), wa.db
names, Android SMS/MMS, iOS Messages; evidence never touched; hostile databases noted or refused.

Every database is written by tests.phone_factories with the apps' real tables and
columns, filled with fictional messages in English and Urdu.
"""

from __future__ import annotations

import io
import os
import random
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leakscan.errors import ExtractionError
from leakscan.exports.chat import MAX_MESSAGE_CHARS, AttachmentRef, ChatFormatError, Message
from leakscan.exports.database_rows import rows
from leakscan.exports.databases import (
    OWNER,
    SQLITE_MAGIC,
    DatabaseError,
    database_app,
    encrypted_backup,
    iter_database,
    opened_copy,
    table_names,
)
from leakscan.exports.sms_db import attributed_text
from tests.phone_factories import (
    AYESHA,
    BILAL,
    DOCUMENT_PATH,
    ENGLISH,
    GROUP,
    GROUP_JID,
    IMAGE_PATH,
    MMS_PARTS,
    SAMPLE,
    URDU,
    ZARA,
    PhoneMessage,
    android_ms,
    attributed_body,
    jid,
    write_chat_storage,
    write_mmssms,
    write_msgstore,
    write_msgstore_legacy,
    write_sms_db,
    write_wa_db,
)

LIMIT = 1 << 30
T0 = datetime(2024, 3, 11, 21, 13, 5, tzinfo=UTC)


@contextmanager
def opened(path: Path, **options: object) -> Iterator[sqlite3.Connection]:
    """A connection to a private copy of the database file at path."""
    with path.open("rb") as evidence, opened_copy(evidence, max_bytes=LIMIT, **options) as c:  # type: ignore[arg-type]
        yield c


def read(path: Path, contacts: Path | None = None) -> tuple[str | None, list[Message], list[str]]:
    """(app, messages, notes) of the database at path, named by the wa.db at contacts."""
    with ExitStack() as stack:
        connection = stack.enter_context(opened(path))
        names = stack.enter_context(opened(contacts)) if contacts else None
        app = database_app(connection)
        assert app is not None
        stream = iter_database(app, connection, names)
        messages = list(stream)
        return app, messages, stream.notes


def summary(messages: list[Message]) -> list[tuple[object, ...]]:
    return [
        (m.anchor, m.conversation, m.sender, m.sent_at, m.from_me, m.system, m.text)
        for m in messages
    ]


def at(minutes: int) -> str:
    return T0.replace(minute=13 + minutes).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------
# Each app's messages
# ---------------------------------------------------------------------------


def test_msgstore_current_schema_with_wa_db_names(tmp_path: Path) -> None:
    ids = write_msgstore(tmp_path / "msgstore.db")
    write_wa_db(tmp_path / "wa.db")
    app, messages, notes = read(tmp_path / "msgstore.db", tmp_path / "wa.db")
    assert app == "whatsapp-android"
    a = "message={}".format
    # by conversation, then time (the sample is written out of order)
    assert summary(messages) == [
        (a(ids[1]), "Ayesha Khan", "Ayesha Khan", at(0), False, False, ENGLISH),
        (a(ids[2]), "Ayesha Khan", "Ayesha Khan", at(1), False, False, "Page 2 of the memo"),
        (a(ids[0]), "Ayesha Khan", OWNER, at(2), True, False, "Received, thank you."),
        (a(ids[3]), GROUP, None, at(3), None, True, ""),
        (a(ids[4]), GROUP, "Bilal Ahmed", at(4), False, False, URDU),
        (a(ids[5]), GROUP, "زارا ملک", at(5), False, False, "ٹھیک ہے"),
        (a(ids[6]), GROUP, OWNER, at(6), True, False, ""),
    ]
    assert messages[1].attachments == (AttachmentRef(IMAGE_PATH, True),)
    assert messages[6].attachments == (AttachmentRef(DOCUMENT_PATH, True, pages=12),)
    assert all(m.via == "WhatsApp" and m.line == 0 and m.text_start == -1 for m in messages)
    assert messages[1].locator("msgstore.db") == f"msgstore.db#message={ids[2]}"
    assert notes == []


def test_msgstore_without_contacts_names_people_by_jid(tmp_path: Path) -> None:
    write_msgstore(tmp_path / "msgstore.db")
    _, messages, _ = read(tmp_path / "msgstore.db")
    assert [m.sender for m in messages] == [
        jid(AYESHA),
        jid(AYESHA),
        OWNER,
        None,
        jid(BILAL),
        jid(ZARA),
        OWNER,
    ]
    assert messages[0].conversation == jid(AYESHA)
    assert messages[3].conversation == GROUP


def test_unreadable_contacts_cost_the_names_not_the_chat(tmp_path: Path) -> None:
    write_msgstore(tmp_path / "msgstore.db")
    write_wa_db(tmp_path / "wa.db")
    with opened(tmp_path / "msgstore.db") as connection, opened(tmp_path / "wa.db") as names:
        stream = iter_database("whatsapp-android", connection, names)
        first = next(stream)
        assert first.sender == "Ayesha Khan"
        names.close()  # the contacts database fails from here on
        rest = list(stream)
    assert len(rest) == len(SAMPLE) - 1
    assert rest[-1].sender == OWNER
    group = [m.sender for m in rest if m.conversation == GROUP]
    assert group == [None, jid(BILAL), jid(ZARA), OWNER]
    assert len(stream.notes) == 1
    assert (
        stream.notes[0].startswith("contacts not read (")
        and "senders named by JID" in stream.notes[0]
    )


def test_msgstore_skips_its_placeholder_row(tmp_path: Path) -> None:
    write_msgstore(tmp_path / "msgstore.db")
    _, messages, _ = read(tmp_path / "msgstore.db")
    assert "message=1" not in [m.anchor for m in messages]
    assert len(messages) == len(SAMPLE)


def test_msgstore_caption_in_media_column(tmp_path: Path) -> None:
    write_msgstore(tmp_path / "msgstore.db", caption_column=True)
    _, messages, _ = read(tmp_path / "msgstore.db")
    photo = next(m for m in messages if m.attachments and m.attachments[0].name == IMAGE_PATH)
    assert photo.text == "Page 2 of the memo"


def test_msgstore_lid_senders_are_mapped_to_phone_jids(tmp_path: Path) -> None:
    write_msgstore(tmp_path / "msgstore.db", lid_senders=True)
    write_wa_db(tmp_path / "wa.db")
    _, messages, _ = read(tmp_path / "msgstore.db", tmp_path / "wa.db")
    assert [m.sender for m in messages if m.conversation == GROUP] == [
        None,
        "Bilal Ahmed",
        "زارا ملک",
        OWNER,
    ]


def test_msgstore_not_downloaded_file_keeps_its_name_not_included(tmp_path: Path) -> None:
    pending = PhoneMessage(AYESHA, T0, None, sender=AYESHA, media_name="minutes.pdf")
    write_msgstore(tmp_path / "msgstore.db", [pending])
    _, messages, _ = read(tmp_path / "msgstore.db")
    assert messages[0].attachments == (AttachmentRef("minutes.pdf", False),)


def test_legacy_msgstore(tmp_path: Path) -> None:
    ids = write_msgstore_legacy(tmp_path / "msgstore.db")
    write_wa_db(tmp_path / "wa.db")
    app, messages, notes = read(tmp_path / "msgstore.db", tmp_path / "wa.db")
    assert app == "whatsapp-android"
    by_anchor = {m.anchor: m for m in messages}
    assert set(by_anchor) == {f"message={i}" for i in ids}  # not the '-1' placeholder
    english = by_anchor[f"message={ids[1]}"]
    assert (english.sender, english.sent_at, english.text) == ("Ayesha Khan", at(0), ENGLISH)
    photo = by_anchor[f"message={ids[2]}"]
    assert photo.text == "Page 2 of the memo"  # media_caption
    assert photo.attachments == (AttachmentRef("IMG-20240311-WA0007.jpg", False),)
    urdu = by_anchor[f"message={ids[4]}"]
    assert (urdu.conversation, urdu.sender, urdu.text) == (GROUP, "Bilal Ahmed", URDU)
    notice = by_anchor[f"message={ids[3]}"]
    assert notice.system and notice.sender is None
    mine = by_anchor[f"message={ids[0]}"]
    assert (mine.sender, mine.from_me) == (OWNER, True)
    # conversations stay together, each in time order
    conversations = [m.conversation for m in messages]
    assert conversations == sorted(conversations, key=conversations.index)
    for name in set(conversations):
        times = [m.sent_at for m in messages if m.conversation == name]
        assert times == sorted(times)
    assert notes == []


def test_chat_storage_ios(tmp_path: Path) -> None:
    ids = write_chat_storage(tmp_path / "ChatStorage.sqlite")
    app, messages, notes = read(tmp_path / "ChatStorage.sqlite")
    assert app == "whatsapp-ios"
    a = "message={}".format
    assert summary(messages) == [
        (a(ids[1]), "Ayesha Khan", "Ayesha Khan", at(0), False, False, ENGLISH),
        (a(ids[2]), "Ayesha Khan", "Ayesha Khan", at(1), False, False, "Page 2 of the memo"),
        (a(ids[0]), "Ayesha Khan", OWNER, at(2), True, False, "Received, thank you."),
        (a(ids[3]), GROUP, None, at(3), None, True, ""),
        (a(ids[4]), GROUP, "Bilal Ahmed", at(4), False, False, URDU),
        (a(ids[5]), GROUP, "زارا ملک", at(5), False, False, "ٹھیک ہے"),
        (a(ids[6]), GROUP, OWNER, at(6), True, False, ""),
    ]
    path = messages[1].attachments[0]
    assert path.included
    assert path.name.startswith(f"Media/{jid(AYESHA)}/") and path.name.endswith(
        "/IMG-20240311-WA0007.jpg"
    )
    assert messages[6].attachments[0].name.startswith(f"Media/{GROUP_JID}/")
    assert notes == []


def test_chat_storage_member_without_name_falls_back_to_jid(tmp_path: Path) -> None:
    names = {AYESHA: "Ayesha Khan"}
    write_chat_storage(tmp_path / "ChatStorage.sqlite", SAMPLE, names)
    _, messages, _ = read(tmp_path / "ChatStorage.sqlite")
    assert [m.sender for m in messages if m.conversation == GROUP] == [
        None,
        jid(BILAL),
        jid(ZARA),
        OWNER,
    ]
    write_wa_db(tmp_path / "wa.db")  # wa.db names win when given
    _, named, _ = read(tmp_path / "ChatStorage.sqlite", tmp_path / "wa.db")
    assert [m.sender for m in named if m.conversation == GROUP][1] == "Bilal Ahmed"


def test_mmssms_sms_and_mms_merged_by_thread_and_time(tmp_path: Path) -> None:
    ids = write_mmssms(tmp_path / "mmssms.db")
    app, messages, notes = read(tmp_path / "mmssms.db")
    assert app == "sms-android"
    assert summary(messages) == [
        (f"message={ids['sms'][1]}", AYESHA, AYESHA, at(0), False, False, ENGLISH),
        (f"mms={ids['mms'][0]}", AYESHA, AYESHA, at(1), False, False, "Page 2 of the memo"),
        (f"message={ids['sms'][0]}", AYESHA, OWNER, at(2), True, False, "Received, thank you."),
    ]
    assert [m.via for m in messages] == ["SMS", "MMS", "SMS"]
    (image,) = messages[1].attachments  # the SMIL layout part is no attachment
    assert image.included
    assert (
        image.name
        == f"{MMS_PARTS}/PART_{android_ms(T0.replace(minute=14))}_IMG-20240311-WA0007.jpg"
    )
    assert messages[1].locator("mmssms.db") == f"mmssms.db#mms={ids['mms'][0]}"
    assert notes == []


def test_mms_text_parts_in_order_and_urdu(tmp_path: Path) -> None:
    sent = PhoneMessage(BILAL, T0, None, sender=None, media=IMAGE_PATH, caption=URDU)
    write_mmssms(tmp_path / "mmssms.db", [sent])
    _, (message,), _ = read(tmp_path / "mmssms.db")
    assert (message.text, message.sender, message.from_me) == (URDU, OWNER, True)
    assert message.conversation == BILAL


def test_sms_db_ios(tmp_path: Path) -> None:
    ids = write_sms_db(tmp_path / "sms.db")
    app, messages, notes = read(tmp_path / "sms.db")
    assert app == "sms-ios"
    a = "message={}".format
    assert summary(messages) == [
        (a(ids[1]), AYESHA, AYESHA, at(0), False, False, ENGLISH),
        (a(ids[2]), AYESHA, AYESHA, at(1), False, False, "Page 2 of the memo"),
        (a(ids[0]), AYESHA, OWNER, at(2), True, False, "Received, thank you."),
        (a(ids[3]), GROUP, None, at(3), None, True, ""),
        (a(ids[4]), GROUP, BILAL, at(4), False, False, URDU),
        (a(ids[5]), GROUP, ZARA, at(5), False, False, "ٹھیک ہے"),
        (a(ids[6]), GROUP, OWNER, at(6), True, False, ""),  # U+FFFC alone is no text
    ]
    assert messages[1].attachments == (
        AttachmentRef(
            f"~/Library/SMS/Attachments/4a/10/at_0_{ids[2]:04d}/IMG-20240311-WA0007.jpg", True
        ),
    )
    assert {m.via for m in messages} == {"iMessage"}
    assert notes == []


@pytest.mark.parametrize("nanoseconds", [True, False], ids=["ios11-ns", "ios10-seconds"])
def test_sms_db_attributed_body_only(tmp_path: Path, nanoseconds: bool) -> None:
    long = (ENGLISH + " ") * 12  # > 127 bytes: the typedstream length takes three bytes
    texts = [ENGLISH, URDU, long.strip(), "🙂 emoji and اردو"]
    written = [
        PhoneMessage(AYESHA, T0.replace(second=s), t, sender=AYESHA) for s, t in enumerate(texts)
    ]
    write_sms_db(tmp_path / "sms.db", written, attributed=True, nanoseconds=nanoseconds)
    with sqlite3.connect(tmp_path / "sms.db") as check:
        assert check.execute("SELECT count(*) FROM message WHERE text IS NULL").fetchone() == (4,)
    _, messages, notes = read(tmp_path / "sms.db")
    assert [m.text for m in messages] == texts
    assert [m.sent_at for m in messages] == [f"2024-03-11T21:13:0{s}Z" for s in range(4)]
    assert notes == []


def test_attributed_text_reads_the_typedstream() -> None:
    assert attributed_text(attributed_body(URDU)) == URDU
    assert attributed_text(b"\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@\x84") is None
    assert attributed_text(b"") is None


def test_sms_db_damaged_attributed_body_is_noted(tmp_path: Path) -> None:
    write_sms_db(tmp_path / "sms.db", SAMPLE[:2], attributed=True)
    with sqlite3.connect(tmp_path / "sms.db") as db:
        db.execute(
            "UPDATE message SET attributedBody = ? WHERE ROWID = 2",
            (b"\x04\x0bstreamtyped\xff" * 50,),
        )
    _, messages, notes = read(tmp_path / "sms.db")
    assert [m.text for m in messages] == ["", "Received, thank you."]
    assert notes == [
        "1 message had an attributedBody that is no readable typedstream (at message=2)"
    ]


def test_wa_db_alone_is_contacts_not_messages(tmp_path: Path) -> None:
    write_wa_db(tmp_path / "wa.db")
    app, messages, notes = read(tmp_path / "wa.db")
    assert (app, messages) == ("whatsapp-contacts", [])
    assert "no messages" in notes[0]


# ---------------------------------------------------------------------------
# Evidence stays untouched; the write-ahead log is read
# ---------------------------------------------------------------------------

WRITERS: dict[str, Callable[[Path], object]] = {
    "msgstore.db": write_msgstore,
    "legacy-msgstore.db": write_msgstore_legacy,
    "ChatStorage.sqlite": write_chat_storage,
    "mmssms.db": write_mmssms,
    "sms.db": write_sms_db,
    "wa.db": write_wa_db,
}


@pytest.mark.parametrize("name", list(WRITERS))
def test_evidence_bytes_times_and_folder_unchanged(tmp_path: Path, name: str) -> None:
    evidence = tmp_path / "evidence"
    WRITERS[name](evidence / name)
    os.utime(evidence / name, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    before = (evidence / name).read_bytes()
    stat = (evidence / name).stat()
    app, messages, _ = read(evidence / name)
    assert app is not None and (messages or app == "whatsapp-contacts")
    assert (evidence / name).read_bytes() == before
    after = (evidence / name).stat()
    kept = ("st_mtime_ns", "st_ctime_ns", "st_size", "st_mode")
    assert [getattr(after, k) for k in kept] == [getattr(stat, k) for k in kept]
    assert sorted(p.name for p in evidence.iterdir()) == [name]  # no -wal, -shm, -journal


def _wal_evidence(folder: Path) -> tuple[Path, Path]:
    """A msgstore.db whose last message is committed only in its -wal (not checkpointed)."""
    work = folder / "live"
    write_msgstore(work / "msgstore.db", SAMPLE[:2])
    writer = sqlite3.connect(work / "msgstore.db")
    assert writer.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute(
        "INSERT INTO message (chat_row_id, from_me, key_id, timestamp, message_type, text_data) "
        "VALUES (1, 0, 'WAL1', ?, 0, ?)",
        (android_ms(T0), "Only the write-ahead log holds this sentence."),
    )
    writer.commit()
    evidence = folder / "evidence"
    evidence.mkdir()
    (evidence / "msgstore.db").write_bytes((work / "msgstore.db").read_bytes())
    (evidence / "msgstore.db-wal").write_bytes((work / "msgstore.db-wal").read_bytes())
    writer.close()
    return evidence / "msgstore.db", evidence / "msgstore.db-wal"


@pytest.mark.parametrize("as_bytes", [False, True], ids=["stream", "bytes"])
def test_rows_only_in_the_wal_are_read(tmp_path: Path, as_bytes: bool) -> None:
    main, wal = _wal_evidence(tmp_path)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in main.parent.iterdir()}
    with main.open("rb") as evidence, opened_copy(evidence, max_bytes=LIMIT) as connection:
        texts = [m.text for m in iter_database("whatsapp-android", connection)]
    assert "Only the write-ahead log holds this sentence." not in texts
    with (
        main.open("rb") as evidence,
        wal.open("rb") as log,
        opened_copy(evidence, wal=log.read() if as_bytes else log, max_bytes=LIMIT) as connection,
    ):
        texts = [m.text for m in iter_database("whatsapp-android", connection)]
    assert "Only the write-ahead log holds this sentence." in texts
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in main.parent.iterdir()}
    assert after == before


def test_a_wal_that_is_no_log_is_ignored(tmp_path: Path) -> None:
    write_msgstore(tmp_path / "msgstore.db", SAMPLE[:2])
    with (
        (tmp_path / "msgstore.db").open("rb") as evidence,
        opened_copy(evidence, wal=b"not a log" * 100, max_bytes=LIMIT) as connection,
    ):
        assert len(list(iter_database("whatsapp-android", connection))) == 2


def test_the_copy_is_deleted_afterwards(tmp_path: Path) -> None:
    write_msgstore(tmp_path / "msgstore.db", SAMPLE[:1])
    with opened(tmp_path / "msgstore.db") as connection:
        (copy,) = [row[2] for row in connection.execute("PRAGMA database_list")]
        copy_path = Path(copy.decode() if isinstance(copy, bytes) else copy)
        assert copy_path.exists() and copy_path.parent != tmp_path
    assert not copy_path.parent.exists()


def test_too_large_is_refused_before_reading(tmp_path: Path) -> None:
    write_msgstore(tmp_path / "msgstore.db")
    size = (tmp_path / "msgstore.db").stat().st_size
    with (
        (tmp_path / "msgstore.db").open("rb") as evidence,
        pytest.raises(ExtractionError, match="larger than the limit"),
        opened_copy(evidence, max_bytes=size - 1),
    ):
        pass
    with (
        (tmp_path / "msgstore.db").open("rb") as evidence,
        pytest.raises(ExtractionError, match="larger than the limit"),
        opened_copy(evidence, wal=b"\x37\x7f\x06\x82" * 10, max_bytes=size + 8),
    ):
        pass


# ---------------------------------------------------------------------------
# Refused: not a database, encrypted, truncated, unknown schema
# ---------------------------------------------------------------------------


def _refusal(data: bytes) -> str:
    with (
        pytest.raises(DatabaseError) as caught,
        opened_copy(io.BytesIO(data), max_bytes=LIMIT) as connection,
    ):
        app = database_app(connection) or "whatsapp-android"
        list(iter_database(app, connection))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_not_a_database() -> None:
    assert "not an SQLite database" in _refusal(b"Ayesha: see you at 9\n" * 50)
    assert "empty file" in _refusal(b"")


def test_encrypted_database_with_an_sqlite_header() -> None:
    noise = random.Random(7).randbytes(16 * 4096)
    assert "damaged or encrypted" in _refusal(SQLITE_MAGIC + noise)


def test_sqlcipher_like_database_without_a_header() -> None:
    assert "not an SQLite database" in _refusal(random.Random(8).randbytes(8 * 4096))


def test_truncated_database(tmp_path: Path) -> None:
    many = [replace(SAMPLE[1], text=f"{ENGLISH} ({n})") for n in range(3000)]
    write_msgstore(tmp_path / "msgstore.db", many)
    data = (tmp_path / "msgstore.db").read_bytes()
    assert "damaged or encrypted" in _refusal(data[: len(data) // 2])


def test_unknown_schema_is_named_by_its_tables(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "notes.db")
    db.executescript("CREATE TABLE notes (id INTEGER, body TEXT); CREATE TABLE tags (name TEXT);")
    db.close()
    with opened(tmp_path / "notes.db") as connection:
        assert database_app(connection) is None
        assert table_names(connection) == ["notes", "tags"]
        with pytest.raises(DatabaseError, match=r"tables: notes, tags"):
            iter_database("whatsapp-android", connection)
        with pytest.raises(DatabaseError, match="not a database whose messages"):
            iter_database("telegram-desktop", connection)


def test_a_newer_schema_missing_columns_is_refused_by_name(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "msgstore.db")
    db.executescript(
        "CREATE TABLE message (_id INTEGER PRIMARY KEY, chat_row_id INTEGER, from_me INTEGER,"
        " sent_ts INTEGER, body_v2 BLOB); CREATE TABLE chat (_id INTEGER PRIMARY KEY,"
        " jid_row_id INTEGER); CREATE TABLE jid (_id INTEGER PRIMARY KEY, raw_string TEXT);"
    )
    db.close()
    with opened(tmp_path / "msgstore.db") as connection:
        assert database_app(connection) == "whatsapp-android"
        with pytest.raises(DatabaseError) as caught:
            iter_database("whatsapp-android", connection)
    assert "message.text_data" in str(caught.value)
    assert "tables: chat, jid, message" in str(caught.value)


def test_a_view_named_like_a_table_is_not_taken_for_it(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "trap.db")
    db.executescript(
        "CREATE TABLE t (x); CREATE VIEW sms AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
        "SELECT i + 1 FROM n) "
        "SELECT i AS _id, i AS address, i AS date, i AS type, i AS body FROM n;"
    )
    db.close()
    with opened(tmp_path / "trap.db") as connection:
        assert database_app(connection) is None
        with pytest.raises(DatabaseError, match="lacks sms"):
            iter_database("sms-android", connection)


def test_a_step_that_runs_too_long_is_given_up(tmp_path: Path) -> None:
    write_msgstore(tmp_path / "msgstore.db", SAMPLE[:1])
    endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"
    with opened(tmp_path / "msgstore.db", step_seconds=0.5) as connection:
        with pytest.raises(DatabaseError, match=r"longer than 0\.5 s"):
            list(rows(connection, endless))
        # the connection is still usable: each step has its own time
        assert len(list(iter_database("whatsapp-android", connection))) == 1


def test_database_errors_keep_the_messages_before_them() -> None:
    assert issubclass(DatabaseError, ChatFormatError)
    assert issubclass(DatabaseError, ExtractionError)


# ---------------------------------------------------------------------------
# Hostile values: noted, never a crash
# ---------------------------------------------------------------------------


def test_msgstore_hostile_values(tmp_path: Path) -> None:
    ids = write_msgstore(tmp_path / "msgstore.db", SAMPLE[1:3] + SAMPLE[4:6])
    huge = "x" * (MAX_MESSAGE_CHARS + 10)
    with sqlite3.connect(tmp_path / "msgstore.db") as db:
        db.execute(
            "UPDATE message SET text_data = ?, timestamp = NULL WHERE _id = ?", (huge, ids[0])
        )
        db.execute(
            "UPDATE message SET timestamp = 'yesterday', from_me = 'maybe' WHERE _id = ?", (ids[1],)
        )
        db.execute(
            "UPDATE message SET text_data = CAST(x'ff41c3' AS TEXT), timestamp = 1e300 "
            "WHERE _id = ?",
            (ids[2],),
        )
        db.execute(
            "UPDATE message SET message_type = 'image', text_data = 42 WHERE _id = ?", (ids[3],)
        )
        db.execute("UPDATE message_media SET file_path = x'00ff', page_count = 'many'")
        db.execute("UPDATE chat SET subject = x'c3' WHERE subject IS NOT NULL")
    _, messages, notes = read(tmp_path / "msgstore.db")
    by_anchor = {m.anchor: m for m in messages}
    assert len(by_anchor[f"message={ids[0]}"].text) == MAX_MESSAGE_CHARS
    assert by_anchor[f"message={ids[0]}"].sent_at == ""
    wrong = by_anchor[f"message={ids[1]}"]
    assert (wrong.sent_at, wrong.from_me, wrong.sender) == ("", None, jid(AYESHA))
    assert wrong.attachments == (AttachmentRef("\x00\ufffd", True),)
    damaged = by_anchor[f"message={ids[2]}"]
    assert (damaged.text, damaged.sent_at) == ("\ufffdA\ufffd", "")
    assert by_anchor[f"message={ids[3]}"].text == "42"
    assert by_anchor[f"message={ids[3]}"].conversation == "\ufffd"
    assert sorted(notes) == sorted(
        [
            f"1 message had a text longer than {MAX_MESSAGE_CHARS:,} characters (cut)"
            f" (at message={ids[0]})",
            f"3 messages had no readable time (the first at message={ids[0]})",
            f"3 messages had bytes that are not UTF-8 (replaced by U+FFFD)"
            f" (the first at message={ids[1]})",  # a path, a subject and a text
        ]
    )


def test_sms_and_ios_hostile_values(tmp_path: Path) -> None:
    write_mmssms(tmp_path / "mmssms.db", SAMPLE[:3])
    with sqlite3.connect(tmp_path / "mmssms.db") as db:
        db.execute("UPDATE sms SET date = 'soon', type = NULL, thread_id = 'x', body = NULL")
        db.execute("UPDATE pdu SET date = -99999999999999999, msg_box = 9")
        db.execute("UPDATE part SET ct = NULL, _data = NULL")
        db.execute("UPDATE threads SET recipient_ids = 'a b 99'")
    _, messages, notes = read(tmp_path / "mmssms.db")
    assert [m.anchor for m in messages] == ["message=1", "message=2", "mms=1"]
    assert all(m.sent_at == "" and m.from_me is None for m in messages)
    # a part of no declared type still gives its text; the SMIL layout still does not
    assert [m.text for m in messages] == ["", "", "Page 2 of the memo"]
    assert messages[2].attachments == ()
    assert notes == ["3 messages had no readable time (the first at message=1)"]

    write_chat_storage(tmp_path / "ChatStorage.sqlite", SAMPLE[:3])
    with sqlite3.connect(tmp_path / "ChatStorage.sqlite") as db:
        db.execute("UPDATE ZWAMESSAGE SET ZMESSAGEDATE = x'00', ZCHATSESSION = 99 WHERE Z_PK = 1")
        db.execute("UPDATE ZWAMESSAGE SET ZISFROMME = 7, ZTEXT = NULL WHERE Z_PK = 2")
        db.execute("UPDATE ZWAMEDIAITEM SET ZMEDIALOCALPATH = NULL")
    _, messages, notes = read(tmp_path / "ChatStorage.sqlite")
    assert len(messages) == 3
    orphan = next(m for m in messages if m.anchor == "message=1")
    assert (orphan.conversation, orphan.sent_at) == (None, "")
    assert next(m for m in messages if m.anchor == "message=3").attachments == (
        AttachmentRef("", False),
    )
    assert notes == ["1 message had no readable time (at message=1)"]


def test_sms_db_hostile_values(tmp_path: Path) -> None:
    write_sms_db(tmp_path / "sms.db", SAMPLE[:3])
    with sqlite3.connect(tmp_path / "sms.db") as db:
        db.execute("UPDATE message SET date = 10e30, handle_id = 555, text = NULL WHERE ROWID = 1")
        db.execute("DELETE FROM chat_message_join WHERE message_id = 2")
        db.execute("UPDATE attachment SET filename = NULL")
    _, messages, notes = read(tmp_path / "sms.db")
    lost = next(m for m in messages if m.anchor == "message=2")
    assert (lost.conversation, lost.text) == (AYESHA, ENGLISH)  # no chat: named by its handle
    first = next(m for m in messages if m.anchor == "message=1")
    assert (first.sent_at, first.sender, first.text) == ("", OWNER, "")
    photo = next(m for m in messages if m.anchor == "message=3")
    assert photo.attachments == (AttachmentRef("IMG-20240311-WA0007.jpg", False),)
    assert notes == ["1 message had no readable time (at message=1)"]


# ---------------------------------------------------------------------------
# Which app, and encrypted backups
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "app"),
    [
        ("msgstore.db", "whatsapp-android"),
        ("legacy-msgstore.db", "whatsapp-android"),
        ("ChatStorage.sqlite", "whatsapp-ios"),
        ("mmssms.db", "sms-android"),
        ("sms.db", "sms-ios"),
        ("wa.db", "whatsapp-contacts"),
    ],
)
def test_database_app(tmp_path: Path, name: str, app: str) -> None:
    WRITERS[name](tmp_path / name)
    with opened(tmp_path / name) as connection:
        assert database_app(connection) == app


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (
            "msgstore.db.crypt14",
            "WhatsApp encrypted backup (crypt14): needs the key from the phone",
        ),
        (
            "msgstore-2024-03-11.1.db.crypt15",
            "WhatsApp encrypted backup (crypt15): needs the key from the phone",
        ),
        ("wa.db.crypt12", "WhatsApp encrypted backup (crypt12): needs the key from the phone"),
        (
            "MSGSTORE.DB.CRYPT14",
            "WhatsApp encrypted backup (crypt14): needs the key from the phone",
        ),
        ("msgstore.db", None),
        ("notes.crypt14.txt", None),
    ],
)
def test_encrypted_backup_names(name: str, reason: str | None) -> None:
    assert encrypted_backup(name, random.Random(3).randbytes(64)) == reason


def test_a_crypt_name_on_a_plain_database_is_read() -> None:
    assert encrypted_backup("msgstore.db.crypt14", SQLITE_MAGIC + b"\x10\x00") is None
