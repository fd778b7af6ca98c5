"""mbox mailboxes scanned end to end: a finding names the message (``Inbox.mbox#msg=3``) or
what it carried (``Inbox.mbox#msg=5!memo.pdf``), with the mail's sender and time.

The mailboxes are written with Python's :mod:`mailbox` or by hand (Takeout);
the people, messages and documents are invented.
"""

from __future__ import annotations

import hashlib
import io
import json
import mailbox
import os
import subprocess
import sys
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from leakscan import ErrorRecord, Finding, Index, Scanner, ScanOptions, Summary
from leakscan.exports.mail import read_eml
from leakscan.records import SkippedRecord
from tests.factories import make_docx, make_pdf
from tests.indexes import build_text_index
from tests.test_mbox import TAKEOUT, mboxrd, message
from tests.texts import prose, urdu_prose

KEY = b"b" * 32
SOURCE = prose(71, 600)
URDU = urdu_prose(72, 400)
NADIA = "نادیہ قریشی <nadia@example.org>"
OMAR = "Omar Baig <omar@example.net>"


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mbox-index")
    return build_text_index(folder, {"plan.txt": SOURCE, "harbour-urdu.txt": URDU}, KEY)


def scan(index_path: Path, *targets: Path, **options: int) -> list[object]:
    with Index.open(index_path, key=KEY, readonly=True) as index:
        records = list(Scanner(index, ScanOptions(**options)).scan(targets))  # type: ignore[arg-type]
    summary = records[-1]
    assert isinstance(summary, Summary)
    assert summary.items == summary.scanned + summary.skipped + summary.errors
    return records


def words(text: str, start: int, stop: int) -> str:
    return " ".join(text.split()[start:stop])


def mail(
    subject: str,
    body: str,
    *,
    sender: str = NADIA,
    date: str = "Tue, 05 Mar 2024 09:15:00 +0500",
    cte: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = OMAR if sender == NADIA else NADIA
    message["Date"] = date
    message["Subject"] = subject
    message["Message-ID"] = f"<{abs(hash(subject))}@example.org>"
    message.set_content(body, cte=cte)
    return message


def attach(message: EmailMessage, name: str, data: bytes, mime: str) -> None:
    maintype, subtype = mime.split("/")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)


def write_mbox(path: Path, messages: list[EmailMessage]) -> None:
    box = mailbox.mbox(path)
    for item in messages:
        box.add(item)
    box.flush()
    box.close()


def by_suspect(records: list[object]) -> dict[str, Finding]:
    return {r.suspect: r for r in records if isinstance(r, Finding)}


def test_an_inbox_from_python_mailbox(
    tmp_path: Path, index_path: Path, needs_soffice: None
) -> None:
    planted_qp = f"سلام عمر، {words(URDU, 60, 180)} والسلام"
    planted_b64 = f"{words(URDU, 220, 330)}"
    pdf = make_pdf(tmp_path / "made" / "memo.pdf", [words(SOURCE, 0, 200)]).read_bytes()
    docx = make_docx(tmp_path / "made" / "memo.docx", [words(SOURCE, 200, 400)]).read_bytes()
    innocent = mail("Friday", "Lunch on Friday at the harbour cafe? Omar will bring the tea.")
    innocent.add_attachment(prose(73, 300).encode(), "text", "plain", filename="menu.txt")
    with_files = mail(
        "the three files",
        "See the three files attached.",
        sender=OMAR,
        date="Wed, 06 Mar 2024 14:02:10 +0000",
    )
    attach(with_files, "memo.pdf", pdf, "application/pdf")
    attach(with_files, "memo.docx", docx, "application/octet-stream")
    attach(with_files, "memo.txt", words(SOURCE, 400, 560).encode(), "text/plain")
    path = tmp_path / "evidence" / "Inbox.mbox"
    path.parent.mkdir()
    write_mbox(
        path,
        [
            mail("hello", "Hello Omar, the tide is late today."),
            mail("شام", urdu_prose(91, 80), cte="quoted-printable"),
            mail("نوٹ", planted_qp, cte="quoted-printable"),
            mail("بندرگاہ منصوبہ کا مسودہ", planted_b64, cte="base64"),
            with_files,
            innocent,
        ],
    )
    raw = path.read_bytes()
    # Really encoded: the Urdu is nowhere in the mailbox as UTF-8.
    assert planted_qp.split()[3].encode() not in raw and b"=D8" in raw
    assert "بندرگاہ".encode() not in raw and b"Subject: =?utf-8?b?" in raw
    before = (hashlib.sha256(raw).hexdigest(), path.stat().st_mtime_ns, os.listdir(path.parent))

    records = scan(index_path, path.parent)
    found = by_suspect(records)
    mbox = str(path)
    assert set(found) == {
        f"{mbox}#msg=3",
        f"{mbox}#msg=4",
        f"{mbox}#msg=5!memo.pdf",
        f"{mbox}#msg=5!memo.docx",
        f"{mbox}#msg=5!memo.txt",
    }
    body = found[f"{mbox}#msg=3"]
    assert (body.source, body.sender, body.sent_at, body.sent_in) == (
        "harbour-urdu.txt",
        NADIA,
        "2024-03-05T09:15:00+05:00",
        None,
    )
    # Quoted from the decoded text: no soft line breaks, no =XX escapes.
    assert body.passages and all(p.text in planted_qp for p in body.passages)
    assert body.to_dict()["sender"] == NADIA and "sent_in" not in body.to_dict()
    assert found[f"{mbox}#msg=4"].source == "harbour-urdu.txt"
    for name in ("memo.pdf", "memo.docx", "memo.txt"):
        attached = found[f"{mbox}#msg=5!{name}"]
        assert attached.source == "plan.txt"
        assert (attached.sent_in, attached.sender, attached.sent_at) == (
            f"{mbox}#msg=5",
            OMAR,
            "2024-03-06T14:02:10Z",
        )
        assert attached.suspect_sha256 == before[0]
    assert found[f"{mbox}#msg=5!memo.pdf"].member_sha256 == hashlib.sha256(pdf).hexdigest()
    summary = records[-1]
    assert isinstance(summary, Summary)
    # Six messages and four attachments are items; the mailbox and each message were opened.
    assert (summary.items, summary.containers, summary.errors, summary.findings) == (10, 7, 0, 5)
    assert not [r for r in records if isinstance(r, (ErrorRecord, SkippedRecord))]
    after = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    assert after == before[:2] and os.listdir(path.parent) == before[2]

    box = mailbox.mbox(path)
    text = read_eml(box.get_bytes(box.keys()[3])).text
    box.close()
    assert "\nSubject: بندرگاہ منصوبہ کا مسودہ\n" in text and "=?" not in text


def takeout_mailbox() -> bytes:
    """A Takeout mailbox: Gmail headers, CRLF, a planted text file in message 2, a
    planted body in message 3."""
    memo = mail("memo", "The memo, as asked.")
    attach(memo, "memo.txt", words(SOURCE, 100, 260).encode(), "text/plain")
    messages = [
        message(1),
        b"X-GM-THRID: 1792650433333333333\nX-Gmail-Labels: Sent\n" + memo.as_bytes(),
        message(3, words(SOURCE, 300, 450)),
        message(4),
    ]
    return mboxrd(*messages, separator=TAKEOUT.replace(b"\r\n", b"\n"))


def test_a_takeout_mailbox_inside_its_zip(tmp_path: Path, index_path: Path) -> None:
    inside = "Takeout/Mail/All mail Including Spam and Trash.mbox"
    path = tmp_path / "takeout-20240306T101010Z-001.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Takeout/archive_browser.html", "<html>Takeout</html>")
        archive.writestr(inside, takeout_mailbox())
    records = scan(index_path, path)
    found = by_suspect(records)
    mbox = f"{path}!{inside}"
    assert set(found) == {f"{mbox}#msg=2!memo.txt", f"{mbox}#msg=3"}
    assert found[f"{mbox}#msg=3"].sender == "Nadia Qureshi <nadia@example.org>"
    assert found[f"{mbox}#msg=3"].sent_at == "2024-03-05T09:13:00+05:00"
    assert found[f"{mbox}#msg=2!memo.txt"].sent_in == f"{mbox}#msg=2"
    summary = records[-1]
    assert isinstance(summary, Summary)
    # The html, four messages and one attachment; the zip, the mailbox and four messages opened.
    assert (summary.items, summary.containers, summary.errors) == (6, 6, 0)


def test_an_apple_mail_export_folder(tmp_path: Path, index_path: Path) -> None:
    folder = tmp_path / "Mail export" / "Inbox.mbox"
    folder.mkdir(parents=True)
    (folder / "table_of_contents").write_bytes(b"\x00\x01binary index of the mailbox")
    (folder / "mbox").write_bytes(mboxrd(message(1), message(2, words(SOURCE, 0, 150))))
    found = by_suspect(scan(index_path, tmp_path / "Mail export"))
    assert list(found) == [f"{folder}/mbox#msg=2"]


def test_the_size_limit_applies_to_each_message_not_to_the_mailbox(
    tmp_path: Path, index_path: Path
) -> None:
    path = tmp_path / "Archive"
    big = message(2, "padding line of an oversized note\n" * 200)
    path.write_bytes(mboxrd(message(1), big, message(3, words(SOURCE, 0, 150))))
    assert path.stat().st_size > 6000
    records = scan(index_path, path, max_file_bytes=6000)
    assert list(by_suspect(records)) == [f"{path}#msg=3"]
    skipped = [r for r in records if isinstance(r, SkippedRecord)]
    assert [(r.suspect, r.reason) for r in skipped] == [
        (f"{path}#msg=2", f"larger than the 6000-byte limit ({len(big)} bytes)")
    ]


_MEASURE = r"""
import json, sys
from leakscan import Index, Scanner
from leakscan.records import Finding, SkippedRecord

with Index.open(sys.argv[1], key=sys.argv[2].encode(), readonly=True) as index:
    records = Scanner(index).scan_path(sys.argv[3])
with open("/proc/self/status") as status:  # VmHWM: ru_maxrss is inherited from the parent
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({
    "peak_kib": peak,
    "findings": [r.suspect for r in records if isinstance(r, Finding)],
    "skipped": [[r.suspect, r.reason] for r in records if isinstance(r, SkippedRecord)],
}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
def test_a_one_gib_mailbox_is_not_read_into_memory(tmp_path: Path, index_path: Path) -> None:
    path = tmp_path / "All mail Including Spam and Trash.mbox"
    with path.open("wb") as out:
        out.write(mboxrd(message(1, words(SOURCE, 0, 150))))
        out.write(TAKEOUT + message(2).rstrip(b"\n"))
        out.seek(1 << 30, io.SEEK_CUR)  # a hole: a gigabyte of zeros in message 2's body
        out.write(b"\n\n" + mboxrd(message(3, words(SOURCE, 200, 350))))
    assert path.stat().st_blocks * 512 < 1 << 20  # sparse: almost nothing stored
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(index_path), KEY.decode(), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(root)},
        check=False,
    )
    path.unlink()
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["findings"] == [f"{path}#msg=1", f"{path}#msg=3"]
    limit = ScanOptions().max_file_bytes
    second = len(message(2).rstrip(b"\n")) + (1 << 30) + 1  # up to the blank line
    assert result["skipped"] == [
        [f"{path}#msg=2", f"larger than the {limit}-byte limit ({second} bytes)"]
    ]
    # About 42 MiB here; holding message 2 whole, or even the 256 MiB of it the limit allows,
    # would pass this bound.
    assert result["peak_kib"] < 128 << 10, f"peak {result['peak_kib'] >> 10} MiB"
