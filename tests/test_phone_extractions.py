"""Phone extractions end to end: apps' databases in a file-system dump, as a folder and zipped.

A seized phone's dump holds WhatsApp's ``msgstore.db`` (with ``wa.db`` for
names) under ``data/data/com.whatsapp/databases/`` and its media far away on
shared storage; an iPhone's ``ChatStorage.sqlite`` names media below its app
group; SMS sit in ``mmssms.db``/``sms.db``. Each message is a suspect
(``msgstore.db#message=<_id>``, with conversation, sender, time and from-me),
and a file a message sent is scanned as its attachment, found wherever the
extraction holds it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leakscan import (
    ErrorRecord,
    Finding,
    Index,
    NoteRecord,
    Scanner,
    ScanOptions,
    SkippedRecord,
    Summary,
)
from tests import phone_factories as phone
from tests.factories import make_docx
from tests.indexes import build_text_index
from tests.texts import prose, urdu_prose

KEY = b"p" * 32
MEMO = prose(301, 500)
URDU_ORDERS = urdu_prose(302, 400)
WHEN = datetime(2024, 3, 11, 21, 13, 5, tzinfo=UTC)

ANDROID_DB = "data/data/com.whatsapp/databases"
ANDROID_MEDIA = "sdcard/Android/media/com.whatsapp/WhatsApp"


def words(text: str, start: int, count: int) -> str:
    return " ".join(text.split()[start : start + count])


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("phone-index")
    return build_text_index(
        folder, {"memos/harbour memo.txt": MEMO, "urdu/orders.txt": URDU_ORDERS}, KEY
    )


def leaked_messages() -> list[phone.PhoneMessage]:
    """Small talk, a pasted memo paragraph, an Urdu paste in a group, a document sent."""
    return [
        phone.PhoneMessage(phone.AYESHA, WHEN, "Are you free tomorrow?", sender=phone.AYESHA),
        phone.PhoneMessage(
            phone.AYESHA, WHEN.replace(minute=20), words(MEMO, 100, 70), sender=None
        ),
        phone.PhoneMessage(
            phone.GROUP, WHEN.replace(minute=25), words(URDU_ORDERS, 50, 60), sender=phone.BILAL
        ),
        phone.PhoneMessage(phone.GROUP, WHEN.replace(minute=26), "ٹھیک ہے", sender=phone.ZARA),
        phone.PhoneMessage(
            phone.AYESHA,
            WHEN.replace(minute=30),
            None,
            sender=phone.AYESHA,
            media=phone.DOCUMENT_PATH,
            media_name="district-budget-2024.pdf",
        ),
        phone.PhoneMessage(
            phone.AYESHA,
            WHEN.replace(minute=31),
            None,
            sender=phone.AYESHA,
            media="Media/WhatsApp Documents/never-downloaded.docx",
            media_name="never-downloaded.docx",
        ),
    ]


def android_dump(root: Path) -> list[int]:
    """An Android file-system dump: databases in app storage, media on shared storage."""
    ids = phone.write_msgstore(root / ANDROID_DB / "msgstore.db", leaked_messages())
    phone.write_wa_db(root / ANDROID_DB / "wa.db")
    document = root / ANDROID_MEDIA / phone.DOCUMENT_PATH
    document.parent.mkdir(parents=True, exist_ok=True)
    make_docx(document, [words(MEMO, 300, 150)])  # a DOCX saved under the .pdf name it was sent as
    other = root / "sdcard/Download/unrelated.txt"
    other.parent.mkdir(parents=True, exist_ok=True)
    other.write_text(prose(303, 200), encoding="utf-8")
    return ids


def scan(index_path: Path, *targets: Path, jobs: int = 1) -> list[object]:
    with Index.open(index_path, key=KEY, readonly=True) as index:
        records = list(Scanner(index, ScanOptions(jobs=jobs)).scan(targets))
    summary = records[-1]
    assert isinstance(summary, Summary)
    assert summary.items == summary.scanned + summary.skipped + summary.errors
    return records


def findings(records: list[object]) -> list[Finding]:
    return [r for r in records if isinstance(r, Finding)]


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("jobs", [1, 2])
def test_android_dump_folder_messages_and_media_are_suspects(
    index_path: Path, tmp_path: Path, jobs: int
) -> None:
    root = tmp_path / "dump"
    ids = android_dump(root)
    before = snapshot(root)
    records = scan(index_path, root, jobs=jobs)
    found = findings(records)
    database = f"{root}/{ANDROID_DB}/msgstore.db"

    pasted = [f for f in found if f.suspect == f"{database}#message={ids[1]}"]
    assert len(pasted) == 1 and pasted[0].source == "memos/harbour memo.txt"
    assert pasted[0].from_me is True and pasted[0].app == "WhatsApp"
    assert pasted[0].sent_at == "2024-03-11T21:20:05Z"
    assert pasted[0].conversation and "Ayesha" in pasted[0].conversation
    assert pasted[0].message_text == words(MEMO, 100, 70)  # the whole message, for the report

    urdu = [f for f in found if f.suspect == f"{database}#message={ids[2]}"]
    assert len(urdu) == 1 and urdu[0].source == "urdu/orders.txt"
    assert urdu[0].sender == "Bilal Ahmed"  # named from wa.db
    assert urdu[0].from_me is False and urdu[0].conversation == phone.GROUP

    attached = [f for f in found if f.suspect.endswith(phone.DOCUMENT_PATH)]
    assert len(attached) == 1, found
    assert attached[0].source == "memos/harbour memo.txt"
    assert attached[0].sent_in == f"{database}#message={ids[4]}"
    assert attached[0].sender == "Ayesha Khan" and attached[0].from_me is False

    # Innocent messages and files give nothing; every finding is one of the above.
    assert len(found) == 3
    notes = [r for r in records if isinstance(r, NoteRecord) and r.suspect == database]
    assert any(
        "never-downloaded.docx" in n.note and "not in the extraction" in n.note for n in notes
    )
    skipped = {r.suspect: r.reason for r in records if isinstance(r, SkippedRecord)}
    assert "WhatsApp contacts database" in skipped[f"{root}/{ANDROID_DB}/wa.db"]
    summary = records[-1]
    assert isinstance(summary, Summary)
    assert summary.chat_messages_by_app == {"whatsapp-android": summary.chat_messages}
    assert summary.chat_messages >= 5
    assert snapshot(root) == before  # evidence untouched
    assert not list((root / ANDROID_DB).glob("*-journal")) and not list(
        (root / ANDROID_DB).glob("*-shm")
    )


def test_android_dump_zipped_links_media_inside_the_zip(index_path: Path, tmp_path: Path) -> None:
    root = tmp_path / "dump"
    ids = android_dump(root)
    archive = tmp_path / "extraction.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                out.write(path, str(path.relative_to(root)))
    found = findings(scan(index_path, archive))
    database = f"{archive}!{ANDROID_DB}/msgstore.db"
    suspects = {f.suspect for f in found}
    assert f"{database}#message={ids[1]}" in suspects
    assert f"{database}#message={ids[2]}" in suspects
    attached = [f for f in found if f.suspect.endswith(phone.DOCUMENT_PATH)]
    assert len(attached) == 1 and attached[0].sent_in == f"{database}#message={ids[4]}"
    named = [f for f in found if f.sender == "Bilal Ahmed"]
    assert named, "wa.db inside the zip names the senders"


def test_wal_rows_are_read_and_evidence_keeps_its_wal(index_path: Path, tmp_path: Path) -> None:
    """Messages still only in the write-ahead log are scanned; nothing is checkpointed."""
    root = tmp_path / "dump"
    database = root / ANDROID_DB / "msgstore.db"
    phone.write_msgstore(database, leaked_messages()[:1])
    writer = sqlite3.connect(database)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    chat = writer.execute("SELECT chat_row_id FROM message ORDER BY _id DESC LIMIT 1").fetchone()[0]
    writer.execute(
        "INSERT INTO message (chat_row_id, from_me, key_id, timestamp, message_type, text_data) "
        "VALUES (?, 1, 'k-wal', ?, 0, ?)",
        (chat, phone.android_ms(WHEN), words(MEMO, 200, 60)),
    )
    writer.commit()
    keep = tmp_path / "copy"
    shutil.copytree(root, keep)  # the dump as imaged: main file and log, the writer gone
    writer.close()
    before = snapshot(keep)
    assert f"{ANDROID_DB}/msgstore.db-wal" in before
    found = findings(scan(index_path, keep))
    assert [f.source for f in found] == ["memos/harbour memo.txt"]
    assert snapshot(keep) == before  # no file changed, none added (no checkpoint, no -shm)


def test_iphone_whatsapp_and_sms_databases(index_path: Path, tmp_path: Path) -> None:
    root = tmp_path / "iphone"
    group = root / "private/var/mobile/Containers/Shared/AppGroup/ABC-123"
    messages = leaked_messages()[:4]
    wa_ids = phone.write_chat_storage(group / "ChatStorage.sqlite", messages)
    sms = [replace(m, chat=phone.ZARA) for m in messages if m.chat != phone.GROUP]
    sms_ids = phone.write_sms_db(
        root / "private/var/mobile/Library/SMS/sms.db", sms, attributed=True
    )
    records = scan(index_path, root)
    found = findings(records)
    assert f"{group}/ChatStorage.sqlite#message={wa_ids[1]}" in {f.suspect for f in found}
    assert f"{group}/ChatStorage.sqlite#message={wa_ids[2]}" in {f.suspect for f in found}
    sms_suspects = {f.suspect for f in found if "sms.db" in f.suspect}
    assert sms_suspects == {f"{root}/private/var/mobile/Library/SMS/sms.db#message={sms_ids[1]}"}
    summary = records[-1]
    assert isinstance(summary, Summary)
    assert set(summary.chat_messages_by_app) == {"whatsapp-ios", "sms-ios"}


def test_android_sms_database(index_path: Path, tmp_path: Path) -> None:
    root = tmp_path / "android"
    ids = phone.write_mmssms(
        root / "data/data/com.android.providers.telephony/databases/mmssms.db", leaked_messages()
    )
    found = findings(scan(index_path, root))
    suspects = {f.suspect.rsplit("#", 1)[-1] for f in found}
    assert suspects == {f"message={ids['sms'][1]}"}


def test_unreadable_databases_are_named_never_passed_silently(
    index_path: Path, tmp_path: Path
) -> None:
    root = tmp_path / "dump"
    databases = root / ANDROID_DB
    databases.mkdir(parents=True)
    other = sqlite3.connect(databases / "settings.db")  # another app's database
    other.execute("CREATE TABLE preferences (name TEXT, value TEXT)")
    other.commit()
    other.close()
    (databases / "msgstore.db.crypt14").write_bytes(os.urandom(4096))
    broken = databases / "msgstore.db"
    phone.write_msgstore(broken, leaked_messages())
    broken.write_bytes(broken.read_bytes()[:3000])  # cut short
    renamed = root / "sdcard/backup.bin"  # a database by content, whatever its name
    renamed.parent.mkdir(parents=True)
    phone.write_msgstore(renamed, leaked_messages()[:2])
    records = scan(index_path, root)
    by_item = {getattr(r, "suspect", None): r for r in records if not isinstance(r, NoteRecord)}
    settings = by_item[f"{databases}/settings.db"]
    assert isinstance(settings, SkippedRecord) and "preferences" in settings.reason
    crypt = by_item[f"{databases}/msgstore.db.crypt14"]
    assert isinstance(crypt, ErrorRecord) and "crypt14" in crypt.error
    assert any(isinstance(r, ErrorRecord) and r.suspect == str(broken) for r in records), (
        "a damaged database is an error, named"
    )
    assert any(
        isinstance(r, Finding) and r.suspect.startswith(f"{renamed}#message=") for r in records
    )


def test_cellebrite_report_messages_files_and_case(index_path: Path, tmp_path: Path) -> None:
    """A UFDR: messages are suspects (``x.ufdr!report.xml#model=<id>``), tagged files are
    items named with their device path and checked against the report's hashes, a file a
    message carries names that message, and the case goes into the summary."""
    from leakscan import ExtractionRecord
    from tests import ufdr_factories as ufed

    ali = ufed.UfedParty("923001112233@s.whatsapp.net", "Ali Raza")
    memo = ufed.UfedFile(
        "DOC-20260307-WA0003.txt",
        words(MEMO, 250, 120).encode(),
        "/storage/emulated/0/WhatsApp/Media/WhatsApp Documents/DOC-20260307-WA0003.txt",
    )
    tampered = ufed.UfedFile(
        "notes.txt",
        b"shopping list: rice, tea, sugar",
        "/storage/emulated/0/Download/notes.txt",
        sha256="0" * 64,
    )
    chat = ufed.UfedChat(
        "WhatsApp",
        (ali, ufed.OWNER),
        (
            ufed.UfedMessage(ali, ufed.WHEN, "Did it arrive?"),
            ufed.UfedMessage(ufed.OWNER, ufed.WHEN, words(URDU_ORDERS, 120, 60), key="urdu"),
            ufed.UfedMessage(
                ufed.OWNER,
                ufed.WHEN,
                "the file",
                attachments=(ufed.UfedAttachment(memo.name, memo, "text/plain"),),
                key="file",
            ),
        ),
    )
    report = tmp_path / "Kingfisher.ufdr"
    ufed.write_ufdr(report, files=(memo, tampered), chats=(chat,))
    records = scan(index_path, report)
    found = findings(records)
    urdu = [f for f in found if f.source == "urdu/orders.txt"]
    assert len(urdu) == 1 and urdu[0].suspect.startswith(f"{report}!report.xml#model=")
    assert urdu[0].app == "WhatsApp" and urdu[0].from_me is True
    attached = [f for f in found if f.suspect == f"{report}!{memo.local_path}"]
    assert len(attached) == 1 and attached[0].source == "memos/harbour memo.txt"
    assert attached[0].device_path == memo.device_path
    assert attached[0].sent_in and attached[0].sent_in.startswith(f"{report}!report.xml#model=")
    assert len(found) == 2
    notes = [r for r in records if isinstance(r, NoteRecord)]
    assert any(r.suspect == f"{report}!{tampered.local_path}" and "SHA256" in r.note for r in notes)
    assert not any(r.suspect == f"{report}!{memo.local_path}" for r in notes)
    extraction = [r for r in records if isinstance(r, ExtractionRecord)]
    assert len(extraction) == 1 and extraction[0].suspect == str(report)
    assert ufed.CASE.case_number in extraction[0].case.values()
    summary = records[-1]
    assert isinstance(summary, Summary)
    assert summary.extractions and summary.extractions[0]["tool"] == "Cellebrite UFDR"
    assert summary.chat_messages_by_app.get("ufdr") == 3
