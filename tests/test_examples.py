"""The bundled example: what the README's demo shows must stay true."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakscan import ErrorRecord, Finding, Index, Scanner, SkippedRecord, Summary, build

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

EXPECTED = {
    "Downloads/scan_0042.pdf": ("ops/port-surveillance-plan.pdf", "exact-copy"),
    "Documents/creek_notes.txt": (
        "incidents/zarnapur-creek-incident-assessment.docx",
        "exact-copy",
    ),
    "Documents/letter_to_sana.docx": ("sources/informant-handling-directive.txt", "excerpt"),
    "Documents/radio_budget_draft.txt": (
        "procurement/radio-procurement-memo.docx",
        "near-duplicate",
    ),
    "Documents/gasht_hidayat.txt": ("urdu/harbour-night-patrol-orders.docx", "exact-copy"),
    # pictures of pages, read by OCR: a phone photo of the radar report's page, and the
    # Urdu jetty-passes memo scanned to a PDF with no text layer
    "Phone/Camera/IMG_20240309_181522.jpg": (
        "ops/velmora-point-radar-gap-report.pdf",
        "near-duplicate",
    ),
    "Downloads/scan_jetty_passes.pdf": ("urdu/jetty-access-passes.pdf", "near-duplicate"),
}
CHAT_ZIP = "Phone/WhatsApp Chat with Imran Qureshi.zip"
CHAT = f"{CHAT_ZIP}!WhatsApp Chat with Imran Qureshi.txt"
EXPECTED_IN_CHAT = {
    # the directive's paragraph 4, pasted into one message
    f"{CHAT}#L6": ("sources/informant-handling-directive.txt", "excerpt"),
    # the boat memo's paragraph 3, sent in two messages
    f"{CHAT}#L12": ("urdu/boat-registration-memo.txt", "excerpt"),
    # the radar report, attached as a PDF under another name
    f"{CHAT_ZIP}!Velmora radar note.pdf": (
        "ops/velmora-point-radar-gap-report.pdf",
        "exact-copy",
    ),
    # a file the export left out, named like an archive document
    f"{CHAT}#L14": ("urdu/jetty-access-passes.pdf", "attachment-name"),
}
EXTRACTION = "Phone/extraction"
MSGSTORE = f"{EXTRACTION}/data/data/com.whatsapp/databases/msgstore.db"
RECEIVED_PDF = (
    f"{EXTRACTION}/sdcard/Android/media/com.whatsapp/WhatsApp/"
    "Media/WhatsApp Documents/DOC-20240306-WA0004.pdf"
)
EXPECTED_IN_EXTRACTION = {
    # the directive's paragraph 6, pasted into a message (row 3 of WhatsApp's database)
    f"{MSGSTORE}#message=3": ("sources/informant-handling-directive.txt", "excerpt"),
    # the jetty passes the text export dropped, still on the phone's shared storage
    RECEIVED_PDF: ("urdu/jetty-access-passes.pdf", "exact-copy"),
}


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> list[object]:
    location = tmp_path_factory.mktemp("index") / "index.sqlite"
    with Index.create(location) as index:
        report = build(index, [EXAMPLES / "archive"])
        assert report.errors == [] and report.skipped == []
        assert report.added == len(list((EXAMPLES / "archive").rglob("*.*")))
        return list(Scanner(index).scan([EXAMPLES / "export"]))


def relative(name: str) -> str:
    return Path(name).relative_to(EXAMPLES / "export").as_posix()


def test_every_planted_copy_is_found_with_its_source_and_nothing_else(
    records: list[object],
) -> None:
    found = {relative(r.suspect): (r.source, r.kind) for r in records if isinstance(r, Finding)}
    expected = EXPECTED | EXPECTED_IN_CHAT | EXPECTED_IN_EXTRACTION
    assert found == expected
    assert sum(isinstance(r, Finding) for r in records) == len(expected)


def test_phone_extraction_findings_name_the_message_and_what_sent_the_file(
    records: list[object],
) -> None:
    found = {relative(r.suspect): r for r in records if isinstance(r, Finding)}
    pasted = found[f"{MSGSTORE}#message=3"]
    assert (pasted.sender, pasted.from_me, pasted.app) == ("(device owner)", True, "WhatsApp")
    assert pasted.conversation == "Imran Qureshi" and pasted.sent_at == "2024-03-06T19:05:00Z"
    received = found[RECEIVED_PDF]
    assert received.sent_in is not None
    assert relative(received.sent_in) == f"{MSGSTORE}#message=5"
    summary = records[-1]
    assert isinstance(summary, Summary)
    assert summary.chat_messages_by_app["whatsapp-android"] == 5


def test_whatsapp_findings_name_sender_time_and_messages(records: list[object]) -> None:
    chat = {relative(r.suspect): r for r in records if isinstance(r, Finding)}
    pasted = chat[f"{CHAT}#L6"]
    assert (pasted.sender, pasted.sent_at) == ("Bilal", "2024-03-05T21:09:00")
    assert pasted.passages[0].tokens >= 80
    split = chat[f"{CHAT}#L12"]
    assert [relative(m) for m in split.messages] == [f"{CHAT}#L12", f"{CHAT}#L13"]
    attached = chat[f"{CHAT_ZIP}!Velmora radar note.pdf"]
    assert attached.sent_in is not None and relative(attached.sent_in) == f"{CHAT}#L8"
    assert chat[f"{CHAT}#L14"].score < 0.5 < min(pasted.score, split.score, attached.score)


def test_pictures_of_pages_are_read_by_ocr_and_located(records: list[object]) -> None:
    found = {relative(r.suspect): r for r in records if isinstance(r, Finding)}
    photo = found["Phone/Camera/IMG_20240309_181522.jpg"]
    scan = found["Downloads/scan_jetty_passes.pdf"]
    assert photo.ocr is not None and photo.ocr["languages"] == "eng+urd"
    assert scan.ocr is not None and scan.ocr["languages"] == "urd"
    assert photo.passages[0].page == 1 and photo.passages[0].bbox is not None
    assert {p.page for p in scan.passages} <= {1, 2} and all(p.bbox for p in scan.passages)
    summary = records[-1]
    assert isinstance(summary, Summary) and summary.ocr_items == 2


def test_excerpt_passage_is_the_pasted_paragraph(records: list[object]) -> None:
    [letter] = [
        r for r in records if isinstance(r, Finding) and r.suspect.endswith("letter_to_sana.docx")
    ]
    [passage] = letter.passages
    pasted = (EXAMPLES / "archive" / "sources" / "informant-handling-directive.txt").read_text(
        encoding="utf-8"
    )
    # Quoted exactly from the suspect, and all of it from the pasted paragraph; winnowing
    # may leave up to k + w - 2 words at either end unclaimed, never claims extra ones.
    assert " ".join(passage.text.split()) in " ".join(pasted.split())
    assert 70 <= passage.tokens <= 86


def test_bad_and_unreadable_items_are_accounted_for(records: list[object]) -> None:
    errors = {relative(r.suspect) for r in records if isinstance(r, ErrorRecord)}
    skipped = {relative(r.suspect) for r in records if isinstance(r, SkippedRecord)}
    assert errors == {"Downloads/broken.pdf"}
    assert skipped == {"Desktop/notes.bin", f"{EXTRACTION}/data/data/com.whatsapp/databases/wa.db"}
    summary = records[-1]
    assert isinstance(summary, Summary)
    files = [p for p in (EXAMPLES / "export").rglob("*") if p.is_file()]
    # the chat zip is opened: its two members are items in its place
    assert summary.items == len(files) - 1 + 2 and summary.containers == 1
