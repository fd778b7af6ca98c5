"""Chat exports end to end: real WhatsApp (both layouts, zipped and not) and Telegram exports.

Each message is a suspect of its own (``<chat file>#L<line>``, with sender and
time); a paragraph pasted over consecutive messages of one sender is still
found; attachments are scanned and name the message that sent them; a
text-only export's trace of a dropped attachment gives an ``attachment-name``
finding, weaker than any text match.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta
from pathlib import Path

import docx
import pytest

from leakscan import ErrorRecord, Finding, Index, Scanner, ScanOptions, Summary
from leakscan.chatscan import ATTACHMENT_NAME_SCORE
from tests.chat_factories import (
    FILE_NOT_INCLUDED,
    TgMessage,
    WaAttachment,
    WaMessage,
    whatsapp_chat_file_name,
    write_telegram_export,
    write_whatsapp_export,
)
from tests.indexes import build_text_index
from tests.texts import prose, urdu_prose

KEY = b"c" * 32
PLAN = prose(71, 600)
BUDGET = prose(72, 500)
URDU = urdu_prose(73, 400)
START = datetime(2026, 3, 7, 21, 0, 0)


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("chat-index")
    documents = {"ops/harbour plan.txt": PLAN, "Budget memo.txt": BUDGET, "urdu.txt": URDU}
    return build_text_index(folder, documents, KEY)


def scan(index_path: Path, *targets: Path, jobs: int = 1) -> list[object]:
    with Index.open(index_path, key=KEY, readonly=True) as index:
        records = list(Scanner(index, ScanOptions(jobs=jobs)).scan(targets))
    summary = records[-1]
    assert isinstance(summary, Summary)
    assert summary.items == summary.scanned + summary.skipped + summary.errors
    return records


def findings(records: list[object]) -> list[Finding]:
    return [r for r in records if isinstance(r, Finding)]


def words(text: str, start: int, count: int) -> str:
    return " ".join(text.split()[start : start + count])


def docx_bytes(text: str) -> bytes:
    import io

    document = docx.Document()
    for paragraph in text.split("\n\n"):
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def conversation(*middle: WaMessage) -> list[WaMessage]:
    """Small talk around the messages under test, a minute apart."""
    talk = [
        WaMessage(START, None, "Messages here are protected end to end."),
        WaMessage(START, "Ayesha Khan", "Are you coming to the meeting tomorrow?"),
        WaMessage(START, "+92 300 1234567", "Yes, I will bring the tea."),
    ]
    after = [WaMessage(START, "Ayesha Khan", "Thanks, see you then.")]
    stamped = []
    for i, message in enumerate([*talk, *middle, *after]):
        stamped.append(
            WaMessage(
                START + timedelta(minutes=i), message.sender, message.text, message.attachment
            )
        )
    return stamped


@pytest.mark.parametrize(
    ("layout", "locale", "zipped"),
    [
        ("android", "en_GB", True),
        ("android", "en_US", False),
        ("ios", "en_GB", True),
        ("ios", "de", False),
    ],
)
def test_a_paragraph_pasted_into_one_message_is_found(
    tmp_path: Path, index_path: Path, layout: str, locale: str, zipped: bool
) -> None:
    pasted = words(PLAN, 200, 35)
    messages = conversation(
        WaMessage(START, "Bilal Qureshi", "Look at this:"),
        WaMessage(START, "Ayesha Khan", pasted),
    )
    target = tmp_path / ("export.zip" if zipped else "export")
    write_whatsapp_export(target, messages, layout=layout, locale=locale, zipped=zipped)
    before = _snapshot(target)
    records = scan(index_path, target)
    (finding,) = findings(records)
    chat_file = whatsapp_chat_file_name(layout, "Budget Team", locale)
    holder = f"{target}!{chat_file}" if zipped else str(target / chat_file)
    assert finding.suspect == f"{holder}#L5"
    assert finding.source == "ops/harbour plan.txt" and finding.kind == "excerpt"
    assert finding.sender == "Ayesha Khan"
    assert finding.sent_at == (START + timedelta(minutes=4)).isoformat()
    on_disk = target.read_bytes() if zipped else (target / chat_file).read_bytes()
    assert finding.suspect_sha256 == hashlib.sha256(on_disk).hexdigest()
    (passage,) = finding.passages
    assert passage.text.split() == pasted.split()[: len(passage.text.split())]
    assert len(passage.text.split()) >= 30
    summary = records[-1]
    assert isinstance(summary, Summary) and summary.chat_messages == 5
    assert _snapshot(target) == before, "the export is left as it was"


def test_a_passage_spread_over_consecutive_messages_of_one_sender(
    tmp_path: Path, index_path: Path
) -> None:
    parts = [words(BUDGET, 100, 14), words(BUDGET, 114, 12), words(BUDGET, 126, 13)]
    messages = conversation(*(WaMessage(START, "Bilal Qureshi", part) for part in parts))
    target = tmp_path / "split.zip"
    write_whatsapp_export(target, messages, zipped=True)
    (finding,) = findings(scan(index_path, target))
    chat = f"{target}!{whatsapp_chat_file_name('android', 'Budget Team')}"
    assert finding.suspect == f"{chat}#L4" and finding.sender == "Bilal Qureshi"
    assert finding.messages == (f"{chat}#L4", f"{chat}#L5", f"{chat}#L6")
    assert finding.source == "Budget memo.txt"
    assert finding.matched_tokens >= 30


def test_urdu_message_from_an_urdu_sender(tmp_path: Path, index_path: Path) -> None:
    pasted = words(URDU, 50, 40)
    messages = conversation(WaMessage(START, "عمران سلطان", pasted))
    target = tmp_path / "urdu"
    write_whatsapp_export(target, messages, layout="android", locale="en_GB", digits="urdu")
    (finding,) = findings(scan(index_path, target))
    assert finding.source == "urdu.txt" and finding.sender == "عمران سلطان"


def test_attachments_are_scanned_and_name_the_message_that_sent_them(
    tmp_path: Path, index_path: Path
) -> None:
    memo = docx_bytes(BUDGET)
    for layout, name in (("android", "Budget memo.docx"), ("ios", "00000014-Budget memo.docx")):
        messages = conversation(
            WaMessage(START, "Bilal Qureshi", "", WaAttachment(name, "document")),
            WaMessage(START, "Bilal Qureshi", "", WaAttachment("IMG-20260307-WA0003.jpg")),
        )
        folder = tmp_path / layout
        write_whatsapp_export(
            folder,
            messages,
            layout=layout,
            attachments={name: memo, "IMG-20260307-WA0003.jpg": b"\xff\xd8\xff\xe0" + bytes(300)},
        )
        records = scan(index_path, folder, jobs=2)
        (finding,) = findings(records)
        chat = folder / whatsapp_chat_file_name(layout, "Budget Team")
        assert finding.suspect == str(folder / name)
        assert finding.source == "Budget memo.txt" and finding.kind == "exact-copy"
        assert finding.sent_in == f"{chat}#L4"
        assert finding.sender == "Bilal Qureshi"
        assert finding.sent_at == (START + timedelta(minutes=3)).isoformat()
        # the photo is no picture at all: its error names the message that sent it (on
        # Android the document's message takes two lines, its name repeated as the caption)
        line = {"android": 6, "ios": 5}[layout]
        (error,) = [r for r in records if isinstance(r, ErrorRecord)]
        assert error.suspect == str(folder / "IMG-20260307-WA0003.jpg")
        assert error.error.startswith("not a picture") and error.sent_in == f"{chat}#L{line}"
        assert error.to_dict()["sent_in"] == f"{chat}#L{line}"
        summary = records[-1]
        assert isinstance(summary, Summary) and summary.errors == 1


def test_dropped_attachments_leave_attachment_name_findings(
    tmp_path: Path, index_path: Path
) -> None:
    messages = conversation(
        WaMessage(
            START, "Bilal Qureshi", "", WaAttachment("Budget memo.txt", "document", False, 3)
        ),
        WaMessage(START, "Bilal Qureshi", "", WaAttachment("IMG_0042.jpg", "photo", False)),
        WaMessage(START, "Bilal Qureshi", "", WaAttachment("holiday.pdf", "document", False, 2)),
    )
    ios = tmp_path / "ios"
    write_whatsapp_export(ios, messages, layout="ios")
    android_messages = conversation(
        WaMessage(START, "Bilal Qureshi", "", WaAttachment("harbour plan.txt", "document")),
        WaMessage(START, "Bilal Qureshi", "", WaAttachment("IMG_0042.jpg", "photo", False)),
    )
    android = tmp_path / "android.zip"
    write_whatsapp_export(android, android_messages, zipped=True)  # the file is missing
    found = findings(scan(index_path, ios, android))
    by_source = {f.source: f for f in found}
    assert set(by_source) == {"Budget memo.txt", "ops/harbour plan.txt"}
    ios_trace = by_source["Budget memo.txt"]
    assert ios_trace.kind == "attachment-name" and ios_trace.attachment == "Budget memo.txt"
    assert ios_trace.attachment_pages == 3
    assert ios_trace.suspect == f"{ios / '_chat.txt'}#L4" and ios_trace.sender == "Bilal Qureshi"
    android_trace = by_source["ops/harbour plan.txt"]
    assert android_trace.kind == "attachment-name"
    assert android_trace.suspect.startswith(f"{android}!")
    assert all(f.score == ATTACHMENT_NAME_SCORE < 0.5 for f in found)
    assert all(not f.passages and f.matched_tokens == 0 for f in found)


def test_chat_file_is_found_by_its_content_not_its_name(tmp_path: Path, index_path: Path) -> None:
    messages = conversation(WaMessage(START, "Ayesha Khan", words(PLAN, 300, 40)))
    folder = tmp_path / "renamed"
    write_whatsapp_export(folder, messages)
    original = folder / whatsapp_chat_file_name("android", "Budget Team")
    renamed = folder / "chat backup (1).txt"
    os.rename(original, renamed)
    (finding,) = findings(scan(index_path, folder))
    assert finding.suspect == f"{renamed}#L4" and finding.sender == "Ayesha Khan"


def test_an_innocent_chat_gives_nothing(tmp_path: Path, index_path: Path) -> None:
    messages = conversation(
        *(WaMessage(START, "Ayesha Khan", prose(80 + i, 40)) for i in range(20))
    )
    folder = tmp_path / "innocent.zip"
    write_whatsapp_export(folder, messages, zipped=True)
    records = scan(index_path, folder)
    assert findings(records) == []
    summary = records[-1]
    assert isinstance(summary, Summary) and summary.chat_messages == 23 and summary.scanned == 1


def test_telegram_export(tmp_path: Path, index_path: Path) -> None:
    memo = docx_bytes(PLAN)
    messages = [
        TgMessage(START, "Ayesha Khan", "Did you get it?"),
        TgMessage(START, None, "", action="invite_members"),
        TgMessage(
            START + timedelta(minutes=1),
            "Bilal Qureshi",
            [
                "Here: ",
                {"type": "bold", "text": words(BUDGET, 40, 20)},
                " " + words(BUDGET, 60, 20),
            ],
        ),
        TgMessage(START + timedelta(minutes=2), "Bilal Qureshi", "plan", file="files/plan.docx"),
        TgMessage(
            START + timedelta(minutes=3),
            "Bilal Qureshi",
            "",
            file=FILE_NOT_INCLUDED,
            file_name="Budget memo.txt",
        ),
    ]
    folder = tmp_path / "ChatExport_2026-03-08"
    result = write_telegram_export(folder, messages, files={"files/plan.docx": memo})
    found = {f.kind: f for f in findings(scan(index_path, folder))}
    text = found["excerpt"]
    assert text.suspect.startswith(f"{result}#L") and text.sender == "Bilal Qureshi"
    assert text.source == "Budget memo.txt"
    attached = found["exact-copy"]
    assert attached.suspect == str(folder / "files" / "plan.docx")
    assert attached.source == "ops/harbour plan.txt"
    assert attached.sent_in is not None and attached.sent_in.startswith(f"{result}#L")
    trace = found["attachment-name"]
    assert trace.source == "Budget memo.txt" and trace.attachment == "Budget memo.txt"


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    paths = [root] if root.is_file() else sorted(root.rglob("*"))
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in paths if p.is_file()}
