"""Cellebrite UFDR reports: case, device and tagged files (first pass), then messages (second).

Reports are written by tests/ufdr_factories.py in Physical Analyzer 7.x's
structure, or by hand for older (3.x) and damaged ones.
"""

from __future__ import annotations

import hashlib
import io
import re
import socket
import tracemalloc
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from leakscan.errors import ExtractionError
from leakscan.exports import ufdr
from leakscan.exports._ufdr_models import ModelReader
from leakscan.exports._ufdr_xml import MAX_CDATA_BYTES, MAX_DEPTH, ByteCleaner, feed_report
from leakscan.exports.chat import MAX_MESSAGE_CHARS, AttachmentRef, ChatFormatError, Message
from leakscan.exports.ufdr import UfdrFormatError, iter_messages, read_report
from tests.ufdr_factories import (
    NS,
    OWNER,
    PKT,
    WHEN,
    UfedAttachment,
    UfedChat,
    UfedEmail,
    UfedFile,
    UfedMessage,
    UfedParty,
    UfedSms,
    model_id,
    report_xml,
    write_ufdr,
)

ALI = UfedParty("923001112233@s.whatsapp.net", "Ali Raza")
ZARA = UfedParty("923455556677@s.whatsapp.net", "Zara Baig")
BILAL = UfedParty("+923214445566", "Bilal Khan", owner=None)
URDU = "کل صبح دفتر میں ملاقات ہوگی، فائل ساتھ لے آنا۔"
PLAN = b"%PDF-1.4 fictional plan of the new terminal\n"
BUDGET = b"PK\x03\x04 fictional budget workbook"
PHOTO = b"\xff\xd8\xff\xe0 fictional photo of page 3"
MINUTES = b"Minutes of the fictional meeting, item 4: procurement."

PLAN_FILE = UfedFile(
    "Terminal plan.pdf", PLAN, "/data/media/0/WhatsApp/Media/WhatsApp Documents/Terminal plan.pdf"
)
BUDGET_FILE = UfedFile(
    "Budget-2026.xlsx",
    BUDGET,
    "/data/media/0/Download/Budget-2026.xlsx",
    sha256="0" * 64,  # the report states a hash the bytes do not have
    md5="f" * 32,
)
PHOTO_FILE = UfedFile(
    "IMG-20260307-WA0003.jpg",
    PHOTO,
    "/data/media/0/WhatsApp/Media/WhatsApp Images/IMG-20260307-WA0003.jpg",
    category="Image",
    deleted=True,
    sha256="",
    md5="",
)
MINUTES_FILE = UfedFile(
    "minutes.txt", MINUTES, "/data/data/com.google.android.gm/cache/minutes.txt", in_zip=False
)
FILES = (PLAN_FILE, BUDGET_FILE, PHOTO_FILE, MINUTES_FILE)

ONE_ON_ONE = UfedChat(
    "WhatsApp",
    (ALI, OWNER),
    (
        UfedMessage(
            ALI,
            WHEN,
            "Salam, plan bhej raha hoon",
            (UfedAttachment("Terminal plan.pdf", PLAN_FILE),),
        ),
        UfedMessage(OWNER, WHEN.astimezone(PKT) + timedelta(minutes=2), URDU),
        UfedMessage(
            ALI,
            WHEN + timedelta(minutes=3),
            "budget bhi dekh lo",
            (
                # Only the extracted path names the file; no file_id, no jump target.
                UfedAttachment("Budget-2026.xlsx", BUDGET_FILE, file_id=False, jumptarget=False),
                # Never downloaded: the report keeps the name only.
                UfedAttachment("Tender notes.docx", None),
            ),
            deleted=True,
        ),
        UfedMessage(
            OWNER,
            WHEN + timedelta(minutes=5),
            "page 3 ki photo",
            # Only the jump target names the file.
            (
                UfedAttachment(
                    "IMG-20260307-WA0003.jpg", PHOTO_FILE, file_id=False, extracted_path=False
                ),
            ),
            quoted=UfedMessage(ALI, WHEN, "Salam, plan bhej raha hoon"),
        ),
    ),
)
GROUP = UfedChat(
    "Telegram",
    (OWNER, ALI, ZARA),
    (UfedMessage(ZARA, WHEN + timedelta(hours=1), "meeting kal 10 baje"),),
    name="Terminal committee",
)
SMS = (
    UfedSms(BILAL, outgoing=False, sent_at=WHEN, body="Call me when you are free"),
    UfedSms(BILAL, outgoing=True, sent_at=WHEN + timedelta(minutes=1), body="ٹھیک ہے، شام کو"),
)
EMAILS = (
    UfedEmail(
        UfedParty("ali.raza.1988@mail.example", "Ali Raza"),
        (UfedParty("kamran.qureshi.77@gmail.example", "Kamran Qureshi", owner=True),),
        "Minutes",
        "<html><head><title>x</title></head>"
        "<body><p>Please see the <b>minutes</b>.</p></body></html>",
        WHEN.astimezone(PKT),
        (UfedAttachment("minutes.txt", MINUTES_FILE, content_type="text/plain"),),
    ),
)


def _write(tmp_path: Path, **kwargs: object) -> Path:
    args: dict[str, object] = {
        "files": FILES,
        "chats": (ONE_ON_ONE, GROUP),
        "sms": SMS,
        "emails": EMAILS,
    }
    args.update(kwargs)
    return write_ufdr(tmp_path / "phone.ufdr", **args)  # type: ignore[arg-type]


def _report_bytes(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read("report.xml")


def _read(
    xml: bytes, members: set[str] | None = None
) -> tuple[ufdr.Report, list[Message], list[str]]:
    report = read_report(io.BytesIO(xml))
    stream = iter_messages(io.BytesIO(xml), report, members=members)
    messages = list(stream)
    return report, messages, stream.notes


def _messages_until_error(xml: bytes) -> tuple[list[Message], ExtractionError, list[str]]:
    stream = iter_messages(io.BytesIO(xml), ufdr.Report())
    messages: list[Message] = []
    with pytest.raises(UfdrFormatError) as caught:
        for message in stream:
            messages.append(message)
    return messages, caught.value, stream.notes


@pytest.fixture(scope="module")
def standard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("ufdr"))


@pytest.fixture(scope="module")
def read_standard(standard: Path) -> tuple[ufdr.Report, list[Message], list[str]]:
    with zipfile.ZipFile(standard) as archive:
        members = set(archive.namelist())
        with archive.open("report.xml") as first:
            report = read_report(first)
        with archive.open("report.xml") as second:
            stream = iter_messages(second, report, members=members)
            messages = list(stream)
    return report, messages, stream.notes


def _by_text(messages: list[Message]) -> dict[str, Message]:
    return {m.text: m for m in messages}


# -- recognising a report -----------------------------------------------------------


def test_looks_like_report(standard: Path) -> None:
    assert ufdr.looks_like_report(_report_bytes(standard)[:8192])
    assert not ufdr.looks_like_report(b'<?xml version="1.0"?><project xmlns="urn:other"/>')
    assert not ufdr.looks_like_report(b"PK\x03\x04" + NS.encode())
    assert ufdr.report_member(["files/Image/a.jpg", "Report.xml", "report.xml"]) == "report.xml"
    assert ufdr.report_member(["files/report.xml"]) is None


# -- first pass: case, device, tagged files -----------------------------------------


def test_case_device_and_project(
    read_standard: tuple[ufdr.Report, list[Message], list[str]],
) -> None:
    report, _, _ = read_standard
    assert report.case == {
        "Case number": "FIA/CCW/2026/117",
        "Case name": "Operation Kingfisher",
        "Evidence number": "EV-0042",
        "Examiner name": "Inspector Sana Mir",
        "Department": "Cyber Crime Wing",
        "Location": "Islamabad",
    }
    assert report.device["IMEI"] == "356938035643809"
    assert report.device["DeviceInfoOwnerName"] == "Kamran Qureshi"
    assert report.device["Extraction start date/time"] == "2026-03-10T09:12:00+05:00"
    assert report.project["reportVersion"] == "7.60.0.103"
    assert report.extractions["0"]["type"] == "FileSystem"
    assert report.notes == []


def test_tagged_files_by_id_and_local_path(
    read_standard: tuple[ufdr.Report, list[Message], list[str]],
) -> None:
    report, _, _ = read_standard
    assert set(report.files) == {f.id for f in FILES}
    plan = report.files[PLAN_FILE.id]
    assert plan == ufdr.TaggedFile(
        id=PLAN_FILE.id,
        device_path=PLAN_FILE.device_path,
        local_path="files/Document/Terminal plan.pdf",
        size=len(PLAN),
        sha256=hashlib.sha256(PLAN).hexdigest(),
        md5=hashlib.md5(PLAN).hexdigest(),
        deleted=False,
        fs="Samsung SM-A515F",
    )
    assert report.files_by_local_path["files/Document/Terminal plan.pdf"] is plan
    # A wrong hash is kept as the report states it: checking it is the caller's job.
    budget = report.files_by_local_path["files/Document/Budget-2026.xlsx"]
    assert (budget.sha256, budget.md5) == ("0" * 64, "f" * 32)
    assert budget.sha256 != hashlib.sha256(BUDGET).hexdigest()
    photo = report.files[PHOTO_FILE.id]
    assert (photo.deleted, photo.sha256, photo.md5) == (True, None, None)
    # Listed without its bytes in the zip: still a tagged file.
    assert report.files[MINUTES_FILE.id].local_path == "files/Document/minutes.txt"


def test_first_pass_stops_at_decoded_data(standard: Path) -> None:
    """The header pass does not read the messages: damage there is the second pass's."""
    xml = _report_bytes(standard).replace(b"</decodedData>", b"</decodedDatum>")
    report = read_report(io.BytesIO(xml))
    assert len(report.files) == len(FILES) and report.notes == []
    with pytest.raises(UfdrFormatError, match="damaged XML"):
        list(iter_messages(io.BytesIO(xml), report))


def test_older_and_localised_case_fields() -> None:
    xml = f"""<?xml version="1.0" encoding="utf-8"?>
<project id="p" name="Handset" reportVersion="3.0" xmlns="{NS}">
  <caseInformation>
    <field name="Fall-Nummer" isSystem="True" fieldType="CaseNumber">KA-19/2026</field>
    <field name="Name d. Ermittlers" isSystem="False" fieldType="None">Petra Lang</field>
  </caseInformation>
  <metadata section="Additional Fields">
    <item name="Evidence number"><![CDATA[B-7]]></item>
    <item name="Notes"><![CDATA[]]></item>
  </metadata>
  <metadata section="Device Info">
    <item name="IMEI" sourceExtraction="0"><![CDATA[356938035643809]]></item>
    <item name="IMEI" sourceExtraction="1"><![CDATA[356938035643817]]></item>
    <item name="IMEI" sourceExtraction="2"><![CDATA[356938035643809]]></item>
  </metadata>
  <taggedFiles>
    <file fs="Media" path="/DCIM/a.jpg" size="12" deleted="false" embedded="false">
      <metadata section="File">
        <item name="Local Path"><![CDATA[files\\Image\\a.jpg]]></item>
        <item name="SHA256"><![CDATA[not a hash]]></item>
      </metadata>
    </file>
  </taggedFiles>
</project>
""".encode()
    report = read_report(io.BytesIO(xml))
    assert report.case == {
        "Fall-Nummer": "KA-19/2026",
        "Case number": "KA-19/2026",
        "Name d. Ermittlers": "Petra Lang",
        "Evidence number": "B-7",
    }
    assert report.device["IMEI"] == "356938035643809; 356938035643817"
    # Reports before 7.x give files no id: they are known by local path only.
    assert report.files == {}
    assert report.files_by_local_path["files/Image/a.jpg"].sha256 is None


def test_max_files_is_a_bound_with_a_note(standard: Path) -> None:
    xml = _report_bytes(standard)
    report = read_report(io.BytesIO(xml), max_files=2)
    assert len(report.files) == len(report.files_by_local_path) == 2
    assert any("2 tagged files past the first 2" in note for note in report.notes)
    # Files without ids (reports before 7.x) count too.
    no_ids = re.sub(rb' id="[0-9a-f-]+" extractionId', b" extractionId", xml)
    report = read_report(io.BytesIO(no_ids), max_files=3)
    assert (len(report.files), len(report.files_by_local_path)) == (0, 3)


# -- second pass: messages ------------------------------------------------------------


def test_chat_messages(read_standard: tuple[ufdr.Report, list[Message], list[str]]) -> None:
    _, messages, _ = read_standard
    first = messages[0]
    assert first == Message(
        line=0,
        end_line=0,
        sender="Ali Raza (923001112233@s.whatsapp.net)",
        sent_at="2026-03-07T21:22:39Z",
        text="Salam, plan bhej raha hoon",
        text_start=-1,
        attachments=(AttachmentRef("files/Document/Terminal plan.pdf", included=True),),
        anchor=f"model={model_id('im', ONE_ON_ONE.id, 0, '')}",
        conversation="Ali Raza (923001112233@s.whatsapp.net)",
        from_me=False,
        deleted=False,
        via="WhatsApp",
    )
    urdu = _by_text(messages)[URDU]
    assert urdu.sender == "Kamran Qureshi (923339876543@s.whatsapp.net)"
    assert urdu.from_me is True
    assert urdu.sent_at == "2026-03-08T02:24:39+05:00"  # the report's offset is kept
    assert urdu.locator("phone.ufdr!report.xml").startswith("phone.ufdr!report.xml#model=")


def test_messages_in_report_order_each_once(
    read_standard: tuple[ufdr.Report, list[Message], list[str]],
) -> None:
    _, messages, notes = read_standard
    assert [m.text for m in messages] == [
        "Salam, plan bhej raha hoon",
        URDU,
        "budget bhi dekh lo",
        "page 3 ki photo",
        "meeting kal 10 baje",
        "Call me when you are free",
        "ٹھیک ہے، شام کو",
        "Minutes\n\nPlease see the minutes.",
    ]
    assert len({m.anchor for m in messages}) == len(messages)
    # The quoted copy inside the fourth message is no message of its own; calls and
    # contacts are no messages: both are counted.
    assert any("1 quoted or forwarded copies" in note for note in notes)
    assert any("2 models not read as messages (Call 1, Contact 1)" in note for note in notes)


def test_attachments_resolved_every_way_a_report_names_them(
    read_standard: tuple[ufdr.Report, list[Message], list[str]],
) -> None:
    messages = _by_text(read_standard[1])
    budget = messages["budget bhi dekh lo"]
    assert budget.deleted is True
    assert budget.attachments == (
        AttachmentRef("files/Document/Budget-2026.xlsx", included=True),  # extracted path
        AttachmentRef("Tender notes.docx", included=False),  # name only
    )
    photo = messages["page 3 ki photo"]
    assert photo.attachments == (AttachmentRef("files/Image/IMG-20260307-WA0003.jpg", True),)
    # The e-mail's file is a tagged file the zip lacks.
    email = messages["Minutes\n\nPlease see the minutes."]
    assert email.attachments == (AttachmentRef("files/Document/minutes.txt", included=False),)


def test_without_members_a_tagged_file_counts_as_included(standard: Path) -> None:
    _, messages, _ = _read(_report_bytes(standard))
    email = _by_text(messages)["Minutes\n\nPlease see the minutes."]
    assert email.attachments == (AttachmentRef("files/Document/minutes.txt", included=True),)


def test_group_chat_sms_and_email(
    read_standard: tuple[ufdr.Report, list[Message], list[str]],
) -> None:
    messages = _by_text(read_standard[1])
    group = messages["meeting kal 10 baje"]
    assert (group.conversation, group.via, group.from_me) == (
        "Terminal committee",
        "Telegram",
        False,
    )
    received = messages["Call me when you are free"]
    assert (received.sender, received.from_me, received.via) == (
        "Bilal Khan (+923214445566)",
        False,  # no IsPhoneOwner: the Inbox folder says it
        "Phone",
    )
    assert received.conversation == "Bilal Khan (+923214445566)"
    sent = messages["ٹھیک ہے، شام کو"]
    assert (sent.sender, sent.from_me, sent.conversation) == (
        None,
        True,
        "Bilal Khan (+923214445566)",
    )
    email = messages["Minutes\n\nPlease see the minutes."]
    assert email.sender == "Ali Raza (ali.raza.1988@mail.example)"
    assert (email.from_me, email.conversation, email.via) == (False, "Minutes", "Gmail")
    assert email.sent_at == "2026-03-08T02:22:39+05:00"


def test_owner_known_from_chat_participants() -> None:
    """A sender party without IsPhoneOwner is the owner if the chat's owner participant is."""
    me = UfedParty(OWNER.identifier, OWNER.name, owner=None)
    chat = UfedChat("WhatsApp", (ALI, OWNER), (UfedMessage(me, WHEN, "theek hai"),))
    _, messages, _ = _read(report_xml(chats=(chat,)))
    assert messages[0].from_me is True


def _old_field(name: str, value: str | None, kind: str = "String", tag: str = "field") -> str:
    """A field as reports before 7.x write it (a TimeStamp value without CDATA)."""
    if value is None:
        return f'<{tag} name="{name}" type="{kind}"><empty /></{tag}>'
    text = value if kind == "TimeStamp" else f"<![CDATA[{value}]]>"
    return f'<{tag} name="{name}" type="{kind}"><value type="{kind}">{text}</value></{tag}>'


OLD_MMS_PATH = r"mms\message_0_attachments\page3.jpg"


def test_older_mms_and_sms() -> None:
    """Reports before 7.x: MMS ``From`` as a plain field and the extracted path on the message."""
    xml = f"""<?xml version="1.0" encoding="utf-8"?>
<project id="p" name="Handset" reportVersion="3.0" xmlns="{NS}">
  <decodedData>
    <modelType type="MMS">
      <model type="MMS" id="mms-1" deleted_state="Intact">
        {_old_field("Folder", "Inbox")}
        {_old_field("From", "+923214445566")}
        <multiField name="To" type="String" />
        {_old_field("Subject", "")}
        {_old_field("Body", None)}
        {_old_field("TimeStamp", "2012-03-14T19:51:12+00:00", "TimeStamp")}
        <multiModelField name="Attachments" type="Attachment">
          <model type="Attachment" id="a-1" deleted_state="Intact">
            {_old_field("Filename", "page3.jpg")}
            <dataField name="Data" type="MemoryRange"><source length="18323" /></dataField>
          </model>
        </multiModelField>
        {_old_field("attachment_extracted_path", OLD_MMS_PATH)}
      </model>
      <model type="MMS" id="mms-2" deleted_state="Deleted">
        {_old_field("Folder", "Sent")}
        {_old_field("To", "+923455556677", tag="multiField")}
        {_old_field("Body", "Got it")}
        {_old_field("TimeStamp", "3/15/2012 10:24:25 AM(UTC+0)", "TimeStamp")}
      </model>
    </modelType>
  </decodedData>
</project>
""".encode()
    report = read_report(io.BytesIO(xml))
    _, with_zip, _ = _read(xml, members={"mms/message_0_attachments/page3.jpg"})
    _, without_zip, notes = _read(xml)
    assert (with_zip[0].sender, with_zip[0].from_me, with_zip[0].via) == (
        "+923214445566",
        False,
        "MMS",
    )
    assert with_zip[0].attachments == (
        AttachmentRef("mms/message_0_attachments/page3.jpg", included=True),
    )
    assert without_zip[0].attachments == (AttachmentRef("page3.jpg", included=False),)
    sent = with_zip[1]
    assert (sent.from_me, sent.conversation, sent.deleted) == (True, "+923455556677", True)
    assert (
        sent.sent_at == "3/15/2012 10:24:25 AM(UTC+0)"
    )  # not ISO 8601: kept as written, and noted
    assert any("1 timestamps not in ISO 8601" in note for note in notes)
    assert report.files == {}


def test_unknown_namespace_is_read_with_a_note() -> None:
    xml = report_xml(chats=(GROUP,)).replace(NS.encode(), b"urn:example:other")
    report, messages, _ = _read(xml)
    assert [m.text for m in messages] == ["meeting kal 10 baje"]
    assert any("not in Cellebrite's namespace" in note for note in report.notes)


def test_a_stream_that_cannot_seek_is_enough(standard: Path) -> None:
    class Once(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    xml = _report_bytes(standard)
    report = read_report(Once(xml))  # type: ignore[arg-type]
    assert len(list(iter_messages(Once(xml), report))) == 8  # type: ignore[arg-type]


# -- what real reports do wrong -------------------------------------------------------


def test_forbidden_character_references_are_tolerated() -> None:
    chat = UfedChat(
        "WhatsApp",
        (ALI, OWNER),
        (
            UfedMessage(ALI, WHEN, "before\x01after\x0bend"),  # written as &#x1; and &#xB;
            UfedMessage(ALI, WHEN, "next one", key="2"),
        ),
    )
    xml = report_xml(chats=(chat,))
    assert b"&#x1;" in xml and b"&#xB;" in xml
    _, messages, notes = _read(xml)
    assert [m.text for m in messages] == ["before\ufffdafter\ufffdend", "next one"]
    assert any("2 characters XML does not allow" in note for note in notes)


def test_raw_control_bytes_and_broken_utf8_are_tolerated() -> None:
    chat = UfedChat(
        "WhatsApp",
        (ALI, OWNER),
        (
            UfedMessage(ALI, WHEN, "RAW"),
            UfedMessage(ALI, WHEN, "BROKEN"),
            UfedMessage(ALI, WHEN, URDU),
        ),
    )
    xml = report_xml(chats=(chat,))
    xml = xml.replace(b"<![CDATA[RAW]]>", b"<![CDATA[r\x02w]]>").replace(b"BROKEN", b"br\xffken")
    _, messages, notes = _read(xml)
    assert [m.text for m in messages] == ["r\ufffdw", "br\ufffdken", URDU]
    assert any("not UTF-8 replaced by U+FFFD" in note for note in notes)


def test_undeclared_entities_and_bare_ampersands_outside_cdata() -> None:
    chat = UfedChat("WhatsApp", (ALI, OWNER), (UfedMessage(ALI, WHEN, "X"),))
    xml = report_xml(chats=(chat,)).replace(
        b"<![CDATA[X]]>", b"AT&T &amp; R&D&nbsp;team <![CDATA[&nbsp; kept]]>"
    )
    _, messages, notes = _read(xml)
    assert messages[0].text == "AT&T & R&Dteam &nbsp; kept"
    assert any("1 references to undeclared entities dropped" in note for note in notes)


def test_huge_bodies_are_cut_with_a_note() -> None:
    big = "ب" * (MAX_MESSAGE_CHARS + 1000)  # two bytes each: past the CDATA cut too
    chat = UfedChat(
        "WhatsApp",
        (ALI, OWNER),
        (UfedMessage(ALI, WHEN, big), UfedMessage(ALI, WHEN, "after the big one")),
    )
    _, messages, notes = _read(report_xml(chats=(chat,)))
    assert len(messages[0].text) == MAX_MESSAGE_CHARS
    assert set(messages[0].text) == {"ب"}
    assert messages[1].text == "after the big one"
    assert any(f"text cut after {MAX_MESSAGE_CHARS} characters: model=" in n for n in notes)


def test_a_body_past_libxml2s_cdata_limit_does_not_end_the_reading() -> None:
    body = "x" * 12_000_000  # libxml2 refuses a CDATA section over 10 MB
    chat = UfedChat(
        "WhatsApp", (ALI, OWNER), (UfedMessage(ALI, WHEN, body), UfedMessage(ALI, WHEN, "next"))
    )
    _, messages, notes = _read(report_xml(chats=(chat,)))
    assert [len(m.text) for m in messages] == [MAX_MESSAGE_CHARS, 4]
    assert any(f"1 values over {MAX_CDATA_BYTES} bytes cut" in note for note in notes)


def test_byte_cleaner_across_chunk_boundaries() -> None:
    """References, CDATA markers and UTF-8 sequences cut by a chunk boundary are held back."""
    data = "<v>a&#x1;b&amp;<![CDATA[ب&#x1;]]>&nbsp;ت</v>".encode()
    for size in range(1, 12):
        cleaner = ByteCleaner()
        out = b"".join(cleaner.feed(data[i : i + size]) for i in range(0, len(data), size))
        out += cleaner.flush()
        assert out.decode() == "<v>a&#xFFFD;b&amp;<![CDATA[ب&#x1;]]>ت</v>", size


_PIECES = st.sampled_from(
    [
        b"<v>",
        b"</v>",
        b"text ",
        "کاغذ".encode(),
        b"&amp;",
        b"&#x1;",
        b"&#xB;",
        b"&#65;",
        b"&#xD800;",
        b"&nbsp;",
        b"&",
        b"AT&T",
        b"]",
        b"]]",
        b"\x01",
        b"\x0b",
        b"\xff",
        b"\xd8",
    ]
)
_CDATA = st.lists(_PIECES.filter(lambda p: p not in (b"<v>", b"</v>")), max_size=6).map(
    lambda parts: b"<![CDATA[" + b"".join(parts) + b"]]>"
)


@settings(max_examples=300)
@given(
    st.lists(st.one_of(_PIECES, _CDATA), max_size=30),
    st.lists(st.integers(min_value=1, max_value=40), max_size=20),
)
def test_byte_cleaner_does_not_depend_on_the_chunks(parts: list[bytes], cuts: list[int]) -> None:
    """However the bytes arrive, the cleaner makes the same of them, and XML libxml2 takes."""
    data = b"".join(parts)
    whole = ByteCleaner()
    expected = whole.feed(data) + whole.flush()
    cleaner = ByteCleaner()
    pieces, pos = [], 0
    for size in cuts:
        pieces.append(cleaner.feed(data[pos : pos + size]))
        pos += size
    pieces.append(cleaner.feed(data[pos:]))
    assert b"".join(pieces) + cleaner.flush() == expected
    assert not set(expected) & set(range(0x20)) - {0x09, 0x0A, 0x0D}
    expected.decode("utf-8")  # whatever came in
    etree.fromstring(b"<r>" + expected.replace(b"<v>", b"").replace(b"</v>", b"") + b"</r>")


# -- damaged and hostile reports ------------------------------------------------------


def test_truncated_report_gives_the_messages_before_the_cut(standard: Path) -> None:
    xml = _report_bytes(standard)
    cut = xml.index(b"meeting kal 10 baje")
    messages, error, _ = _messages_until_error(xml[:cut])
    assert [m.text for m in messages][-1] == "page 3 ki photo"
    assert len(messages) == 4
    assert "ends early (truncated?)" in str(error)
    assert isinstance(error, ChatFormatError)


def test_truncated_in_the_tagged_files_keeps_those_before(standard: Path) -> None:
    xml = _report_bytes(standard)
    cut = xml.index(PHOTO_FILE.device_path.encode())
    report = read_report(io.BytesIO(xml[:cut]))
    assert set(report.files) == {PLAN_FILE.id, BUDGET_FILE.id}
    assert any("ends early" in note for note in report.notes)


def test_damaged_xml_gives_the_messages_before_the_damage(standard: Path) -> None:
    xml = _report_bytes(standard).replace(b"meeting kal 10 baje]]></value>", b"x]]></valve>")
    messages, error, _ = _messages_until_error(xml)
    assert len(messages) == 4
    assert "damaged XML near line" in str(error)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "ends early"),
        (b"not xml at all", "damaged XML"),
        (b'<?xml version="1.0"?><pom xmlns="urn:maven"><project/></pom>', "root is <pom>"),
        (b"\x2d\x06\x52\x6d" + bytes(range(200)), "protected"),
        ('<?xml version="1.0" encoding="utf-16"?><project/>'.encode("utf-16"), "UTF-16"),
    ],
    ids=["empty", "not-xml", "other-root", "protected", "utf-16"],
)
def test_not_a_report(data: bytes, why: str) -> None:
    with pytest.raises(UfdrFormatError, match=why):
        read_report(io.BytesIO(data))
    with pytest.raises(UfdrFormatError, match=why):
        list(iter_messages(io.BytesIO(data), ufdr.Report()))


def test_read_errors_of_the_zip_become_extraction_errors(standard: Path, tmp_path: Path) -> None:
    data = bytearray(standard.read_bytes())
    with zipfile.ZipFile(standard) as archive:
        info = archive.getinfo("report.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF  # damage the deflated report
    broken = tmp_path / "broken.ufdr"
    broken.write_bytes(bytes(data))
    with (
        zipfile.ZipFile(broken) as archive,
        archive.open("report.xml") as stream,
        pytest.raises(ExtractionError),
    ):
        list(iter_messages(stream, ufdr.Report()))


LAUGHS = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE project [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
  <!ENTITY xxe SYSTEM "file:///etc/passwd">
]>
"""


def _with_prolog(prolog: bytes, body: bytes) -> bytes:
    chat = UfedChat("WhatsApp", (ALI, OWNER), (UfedMessage(ALI, WHEN, "X"),))
    xml = report_xml(chats=(chat,)).replace(b"<![CDATA[X]]>", body)
    return prolog + xml.split(b"?>", 1)[1]


def test_billion_laughs_and_external_entities_are_not_expanded() -> None:
    xml = _with_prolog(LAUGHS, b"a&lol9;b&xxe;c")
    report, messages, notes = _read(xml)
    assert messages[0].text == "abc"
    assert any("a DTD declaring 10 entities was ignored" in note for note in report.notes)
    assert any("2 references to undeclared entities dropped" in note for note in notes)


def test_no_network_for_an_external_dtd() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.3)
        port = server.getsockname()[1]
        prolog = (
            b'<?xml version="1.0"?>\n'
            b'<!DOCTYPE project SYSTEM "http://127.0.0.1:%d/report.dtd" [\n'
            b'  <!ENTITY %% remote SYSTEM "http://127.0.0.1:%d/x.dtd"> %%remote;\n'
            b'  <!ENTITY fetched SYSTEM "http://127.0.0.1:%d/secret">\n]>\n' % (port, port, port)
        )
        _, messages, _ = _read(_with_prolog(prolog, b"one&fetched;two"))
        assert messages[0].text == "onetwo"
        with pytest.raises(TimeoutError):
            server.accept()


@pytest.mark.parametrize("levels", [300, 200_000])
def test_deep_nesting_is_an_error_after_the_messages_before(levels: int) -> None:
    chat = UfedChat(
        "WhatsApp", (ALI, OWNER), (UfedMessage(ALI, WHEN, "first"), UfedMessage(ALI, WHEN, "X"))
    )
    deep = b"<n>" * levels + b"</n>" * levels
    xml = report_xml(chats=(chat,)).replace(b"<![CDATA[X]]>", deep)
    messages, error, _ = _messages_until_error(xml)
    assert [m.text for m in messages] == ["first"]
    assert f"nested deeper than {MAX_DEPTH} levels" in str(error)
    # In the header, the same ends the first pass with a note.
    report = read_report(io.BytesIO(xml.replace(b"</taggedFiles>", deep + b"</taggedFiles>")))
    assert any("nested deeper" in note for note in report.notes)


def test_bounds_on_participants_and_attachments() -> None:
    crowd = tuple(UfedParty(f"92300{n:07d}@s.whatsapp.net", f"Member {n}") for n in range(300))
    many = tuple(UfedAttachment(f"scan-{n}.jpg", None) for n in range(300))
    chat = UfedChat("WhatsApp", (*crowd, OWNER), (UfedMessage(ALI, WHEN, "hi", many),))
    _, messages, notes = _read(report_xml(chats=(chat,)))
    assert len(messages[0].attachments) == 256
    assert messages[0].conversation is not None
    assert messages[0].conversation.endswith("+248 more")  # 256 kept, 8 named
    assert any("45 parties of a chat past the bound" in note for note in notes)
    assert any("44 attachments of a message past the bound" in note for note in notes)


def test_a_field_keeps_one_value_and_a_list_a_few() -> None:
    """A hostile report repeating a body's value cannot make a message hold many bodies."""
    chat = UfedChat("WhatsApp", (ALI, OWNER), (UfedMessage(ALI, WHEN, "X"),))
    repeated = b"</value>" + b'<value type="String"><![CDATA[again]]></value>' * 1000 + b"<value>"
    to = b'<multiField name="To" type="String">' + b"<value>+92300</value>" * 1000
    xml = report_xml(chats=(chat,)).replace(b"<![CDATA[X]]>", b"first" + repeated)
    xml = xml.replace(b'<multiModelField name="To" type="Party" />', to + b"</multiField>")
    reader = ModelReader()
    for _ in feed_report(io.BytesIO(xml), reader, []):
        pass
    (model,) = reader.take()
    assert model.fields["Body"] == ["first"]
    assert len(model.fields["To"]) == 16


def test_system_messages() -> None:
    system = UfedParty("System Message", "System Message", owner=None)
    chat = UfedChat("WhatsApp", (ALI, OWNER), (UfedMessage(system, WHEN, "Ali Raza joined"),))
    _, messages, _ = _read(report_xml(chats=(chat,)))
    assert (messages[0].system, messages[0].sender) == (True, "System Message")


def test_memory_stays_bounded_however_large_the_report() -> None:
    """A report of 20 MB is read holding a chunk and a message at a time."""
    messages = tuple(
        UfedMessage(ALI, WHEN, f"message {n} " + "کاغذ " * 2000, key=str(n)) for n in range(1000)
    )
    data = io.BytesIO(report_xml(chats=(UfedChat("WhatsApp", (ALI, OWNER), messages),)))
    assert len(data.getbuffer()) > 20_000_000
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_messages(data, ufdr.Report()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 1000
    assert peak < 10_000_000  # some chunks of 1 MB, not the report
