"""E-mail in exports, end to end: bodies and attachments scanned as items of their own."""

from __future__ import annotations

import hashlib
import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from leakscan import ErrorRecord, Finding, Index, Scanner, ScanOptions, Summary
from leakscan.records import NoteRecord
from tests.indexes import build_text_index
from tests.test_mail import build_msg, make_docx
from tests.texts import prose

KEY = b"m" * 32
SOURCE = prose(61, 500)
OTHER = prose(62, 400)


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mail-index")
    return build_text_index(folder, {"plan.txt": SOURCE, "budget.txt": OTHER}, KEY)


def scan(index_path: Path, *targets: Path) -> list[object]:
    with Index.open(index_path, key=KEY, readonly=True) as index:
        records = list(Scanner(index, ScanOptions()).scan(targets))
    summary = records[-1]
    assert isinstance(summary, Summary)
    assert summary.items == summary.scanned + summary.skipped + summary.errors
    return records


def test_eml_body_and_attachments_are_found(tmp_path: Path, index_path: Path) -> None:
    pasted = " ".join(OTHER.split()[100:180])
    mail = EmailMessage()
    mail["From"] = "Nadia <nadia@example.org>"
    mail["To"] = "omar@example.net"
    mail["Date"] = "Tue, 05 Mar 2024 09:15:00 +0500"
    mail["Subject"] = "notes"
    mail["Message-ID"] = "<n-1@example.org>"
    mail.set_content(f"Hi Omar, as promised:\n\n{pasted}\n\nN.")
    document = make_docx(SOURCE)
    mail.add_attachment(
        document,
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="survey draft.docx",
    )
    mail.add_attachment(b"../../x", maintype="text", subtype="plain", filename="../../evil.txt")
    path = tmp_path / "Inbox" / "notes.eml"
    path.parent.mkdir()
    path.write_bytes(mail.as_bytes())
    records = scan(index_path, tmp_path / "Inbox")
    findings = {r.suspect: r for r in records if isinstance(r, Finding)}
    body = findings[str(path)]
    assert body.source == "budget.txt" and body.kind == "excerpt"
    # The mail's own text says who sent it and when; what it carried says which mail too.
    assert (body.sender, body.sent_at, body.sent_in) == (
        "Nadia <nadia@example.org>",
        "2024-03-05T09:15:00+05:00",
        None,
    )
    attached = findings[f"{path}!survey draft.docx"]
    assert attached.source == "plan.txt" and attached.kind == "exact-copy"
    assert (attached.sent_in, attached.sender, attached.sent_at) == (
        str(path),
        "Nadia <nadia@example.org>",
        "2024-03-05T09:15:00+05:00",
    )
    assert attached.suspect_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert attached.member_sha256 == hashlib.sha256(document).hexdigest()
    # A traversal name is a fact to record, not a reason to leave the attachment unread.
    notes = {r.suspect: r.note for r in records if isinstance(r, NoteRecord)}
    assert "path traversal" in notes[f"{path}!../../evil.txt"]
    assert f"{path}!../../evil.txt" not in {
        r.suspect for r in records if isinstance(r, ErrorRecord)
    }
    summary = records[-1]
    assert isinstance(summary, Summary) and summary.containers == 1


def test_outlook_msg_attachment_is_found(tmp_path: Path, index_path: Path) -> None:
    data = build_msg(
        {
            "subject": "harbour",
            "body": "See the attached file.\r\n",
            "headers": "From: a@example.org\r\nTo: b@example.net\r\nSubject: harbour\r\n"
            "Date: Wed, 06 Mar 2024 14:02:10 -0300\r\n",
            "attachments": [{"name": "plan copy.txt", "data": SOURCE.encode()}],
        }
    )
    path = tmp_path / "harbour.msg"
    path.write_bytes(data)
    records = scan(index_path, path)
    (finding,) = [r for r in records if isinstance(r, Finding)]
    assert finding.suspect == f"{path}!plan copy.txt" and finding.source == "plan.txt"
    assert (finding.sent_in, finding.sender, finding.sent_at) == (
        str(path),
        "a@example.org",
        "2024-03-06T14:02:10-03:00",
    )


def test_crafted_mail_with_too_many_parts_keeps_what_it_read(
    tmp_path: Path, index_path: Path
) -> None:
    boundary = "b"
    pasted = " ".join(SOURCE.split(" ")[100:180])
    first = f"--{boundary}\nContent-Type: text/plain\n\n{pasted}\n"
    parts = first + "".join(f"--{boundary}\nContent-Type: text/plain\n\nx\n" for _ in range(10_050))
    path = tmp_path / "crafted.eml"
    path.write_text(
        "From: a@example.org\nMessage-ID: <c@example.org>\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n{parts}--{boundary}--\n',
        encoding="utf-8",
    )
    records = scan(index_path, path)
    assert not [r for r in records if isinstance(r, ErrorRecord)]
    assert [r.suspect for r in records if isinstance(r, Finding)] == [str(path)]
    (note,) = [r for r in records if isinstance(r, NoteRecord)]
    assert note.suspect == str(path) and "10000" in note.note.replace(",", "")


def test_what_a_mail_carries_is_tied_to_the_mail_that_sent_it(
    tmp_path: Path, index_path: Path
) -> None:
    forwarded = EmailMessage()
    forwarded["From"] = "Bilal Chaudhry <bilal@example.com>"  # and no Date
    forwarded["Subject"] = "old memo"
    forwarded["Message-ID"] = "<old@example.com>"
    forwarded.set_content("The old memo, attached.")
    forwarded.add_attachment(SOURCE.encode(), "text", "plain", filename="memo.txt")
    papers = io.BytesIO()
    with zipfile.ZipFile(papers, "w") as archive:
        archive.writestr("papers/budget copy.txt", OTHER)
    mail = EmailMessage()
    mail["From"] = "Nadia <nadia@example.org>"
    mail["Date"] = "Tue, 05 Mar 2024 09:15:00 +0500"
    mail["Subject"] = "two things"
    mail["Message-ID"] = "<two@example.org>"
    mail.set_content("Both below.")
    mail.add_attachment(forwarded)
    mail.add_attachment(papers.getvalue(), "application", "zip", filename="papers.zip")
    path = tmp_path / "two.eml"
    path.write_bytes(mail.as_bytes())
    findings = {r.suspect: r for r in scan(index_path, path) if isinstance(r, Finding)}
    # A file in a ZIP the mail attached came with the mail.
    zipped = findings[f"{path}!papers.zip!papers/budget copy.txt"]
    assert (zipped.sent_in, zipped.sender, zipped.sent_at) == (
        str(path),
        "Nadia <nadia@example.org>",
        "2024-03-05T09:15:00+05:00",
    )
    # A forwarded mail's attachment came with the forwarded mail: its sender, no time known.
    memo = findings[f"{path}!old memo.eml!memo.txt"]
    assert (memo.sent_in, memo.sender, memo.sent_at) == (
        f"{path}!old memo.eml",
        "Bilal Chaudhry <bilal@example.com>",
        None,
    )
    assert "sent_at" not in memo.to_dict()
